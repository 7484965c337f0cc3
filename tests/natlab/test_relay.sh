#!/usr/bin/env bash
# tests/natlab/test_relay.sh: lanrage-relay (protocol v2, docs/RELAY.md)
# between clients behind a symmetric and a port-restricted NAT, driven
# through tests/tools/relay_client, which mints tickets with a ticket key made
# here (the relays get its public half with --ticket-key, as lanrage-control
# would give it): both bind (after a COOKIE) and exchange datagrams both ways
# intact; an unbound sender and a sender with a bad MAC get nothing
# forwarded; a replayed BIND from another address gets only a COOKIE and
# steals nothing; a client that roams rebinds and keeps receiving; PING/PONG;
# STUN still answers. A SEND from an unbound address is answered UNBOUND,
# echoing the SEND, with a cookie that binds without a COOKIE round trip; a
# client whose clock is 2 hours ahead gets the relay's time (CLOCK, verified
# against the relay's key) and binds. Attacks: no, expired and forged tickets are refused;
# 65,536 keys made on one host (with valid cookies) bind nothing while a
# member still binds; a STUN flood from one host is cut to the per-source
# limit; 150 players behind one NAT all bind and get every PONG. A second
# relay with a 2 s lifetime and 5 packets/s shows the rate limits (per sender
# and per receiver, counted from the relay's statistics) and idle expiry; a
# third the per-IP binding cap. Last, registration with lanrage-control over
# TLS, and --relay-secret refused on the command line. Each check prints
# PASS/FAIL.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RELAY=$BUILD/lanrage-relay
CLIENT=$BUILD/tests/relay_client
source "$ROOT/tests/natlab/lib.sh"

nl_init ra$((RANDOM % 10000))
TMP=$(mktemp -d /tmp/nlrelay.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.40
router rsym symmetric
host a rsym
router rport port-restricted-cone
host b rport
router rcone full-cone
host c rcone
server evil 203.0.113.66
server vic 203.0.113.70
LAB

# wait_line NAME PATTERN [COUNT [SECONDS]]: up to SECONDS (5) for COUNT
# lines of NAME's log.
wait_line() {
	local n
	for _ in $(seq $((${4:-5} * 20))); do
		n=$(grep -c -- "$2" "$TMP/$1.log" 2>/dev/null || true)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.05
	done
	return 1
}
# client NAME NODE RELAY_ADDR RELAY_PUB [KEYFILE]: a relay_client reading
# commands from a FIFO held open on fd FD_NAME; it mints tickets with the
# lab's ticket key and sends STUN to the first relay.
client() {
	local name=$1 node=$2 addr=$3 pub=$4 key=${5:-}
	mkfifo "$TMP/$name.in"
	nl_spawn "$node" "$TMP/$name.log" sh -c "exec '$CLIENT' --relay $addr --relay-pub $pub \
		${key:+--key $key} --ticket-sk '$TMP/ticket.sk' --stun 203.0.113.40:3478 \
		${CLIENT_ARGS:-} <'$TMP/$name.in'" >/dev/null
	eval "exec {FD_$name}>'$TMP/$name.in'"
}
cmd() { # NAME COMMAND...
	local fd=FD_$1
	shift
	echo "$*" >&"${!fd}"
}
# relay_stat PID LOG KEY...: the values of KEYs (one line) in the relay's
# statistics after a fresh SIGUSR1.
relay_stat() {
	local pid=$1 log=$2 n line k
	shift 2
	n=$(grep -c ' statistics ' "$log" || true)
	kill -USR1 "$pid"
	for _ in $(seq 100); do
		[ "$(grep -c ' statistics ' "$log" || true)" -gt "$n" ] && break
		sleep 0.05
	done
	line=$(grep ' statistics ' "$log" | tail -1)
	for k in "$@"; do
		tr ' ' '\n' <<<"$line" | sed -n "s/^$k=//p"
	done | paste -sd' '
}
# hash_of NAME LEN DIRECTION: the hash a "sent"/"deliver" line gave for LEN bytes.
hash_of() { sed -n "s/^$3.* len=$2 hash=\([0-9a-f]*\).*/\1/p" "$TMP/$1.log" | head -1; }

for k in ka kb kc kv ke kh kk; do (umask 077 && wg genkey >"$TMP/$k"); done
PA=$(wg pubkey <"$TMP/ka") PB=$(wg pubkey <"$TMP/kb") PV=$(wg pubkey <"$TMP/kv")
# the ticket key a control server would hold; relays get its public half
TPUB=$("$CLIENT" --gen-ticket-key "$TMP/ticket.sk" | sed -n 's/^ticket_pub=//p')
check "ticket key made" test -n "$TPUB"

# --- the relay: key file created 0600, its public key printed
nl_spawn relay "$TMP/relay.log" "$RELAY" --listen 203.0.113.40:51821 --stun 203.0.113.40 \
	--key "$TMP/relay.key" --ticket-key "$TPUB" >/dev/null
RPID=${NL_PIDS[-1]}
nl_spawn relay "$TMP/relay2.log" "$RELAY" --listen 203.0.113.40:51822 --no-stun \
	--key "$TMP/relay2.key" --lifetime 2 --rate-pps 5 --ticket-key "$TPUB" >/dev/null
RPID2=${NL_PIDS[-1]}
for _ in $(seq 100); do
	grep -q '^public_key=' "$TMP/relay.log" 2>/dev/null &&
		grep -q '^public_key=' "$TMP/relay2.log" 2>/dev/null && break
	sleep 0.05
done
RPUB=$(sed -n 's/^public_key=//p' "$TMP/relay.log")
RPUB2=$(sed -n 's/^public_key=//p' "$TMP/relay2.log")
check "key file created 0600" test "$(stat -c %a "$TMP/relay.key" 2>/dev/null)" = 600
check "printed public key matches the key file" test -n "$RPUB" -a "$RPUB" = "$(wg pubkey <"$TMP/relay.key")"

R1=203.0.113.40:51821
client A a $R1 "$RPUB" "$TMP/ka"
client B b $R1 "$RPUB" "$TMP/kb"
client C c $R1 "$RPUB" "$TMP/kc"

# --- both bind: a COOKIE first, then BOUND (verified against the relay's key)
cmd A bind
cmd B bind
check "A (symmetric NAT) got a COOKIE first" wait_line A '^cookie'
check "A (symmetric NAT) bound" wait_line A '^bound lifetime=120'
check "B (port-restricted NAT) bound" wait_line B '^bound lifetime=120'

# --- datagrams both ways, payload intact
cmd B send "$PA" hello from b
cmd B sendpat "$PA" 1400
cmd A send "$PB" hello from a
cmd A sendpat "$PB" 1200
check "A receives B's text with B's key" wait_line A "^deliver from=$PB len=12 .* text=hello from b\$"
check "B receives A's text with A's key" wait_line B "^deliver from=$PA len=12 .* text=hello from a\$"
wait_line A 'len=1400' || true
wait_line B 'len=1200' || true
h1=$(hash_of B 1400 sent) h2=$(hash_of A 1400 deliver)
check "1400 random bytes B->A arrive intact" test -n "$h1" -a "$h1" = "$h2"
h1=$(hash_of A 1200 sent) h2=$(hash_of B 1200 deliver)
check "1200 random bytes A->B arrive intact" test -n "$h1" -a "$h1" = "$h2"

# --- an unbound sender and a bad MAC get nothing forwarded
cmd C send "$PA" from-c-unbound
cmd C bind-bad
wait_line C '^cookie' || true
cmd C bind-bad
check "BIND with a bad MAC refused (code 1)" wait_line C '^refused code=1'
cmd C send "$PA" from-c-badmac
cmd B send "$PA" marker1
wait_line A 'text=marker1' || true
check "unbound and bad-MAC senders: nothing forwarded" \
	bash -c "grep -q 'text=marker1' '$TMP/A.log' && ! grep -q 'from-c' '$TMP/A.log'"
check "relay counted the unbound SENDs" test "$(relay_stat $RPID "$TMP/relay.log" drop_unbound)" -ge 2

# --- a replayed BIND from another address does not steal A's binding: the
# cookie in it is for A's address, so the replayer gets only a COOKIE
cmd A bind-save "$TMP/a.bind"
wait_line A '^bound' 2 || true
n=$(grep -c '^cookie' "$TMP/C.log" || true)
cmd C raw "$TMP/a.bind"
check "replayed BIND from another address: only a COOKIE" wait_line C '^cookie' $((n + 1))
cmd A raw "$TMP/a.bind"
check "replayed BIND from its own address refused (code 2)" wait_line A '^refused code=2'
cmd B send "$PA" after-replay
check "A still receives after the replays" wait_line A 'text=after-replay'
check "the replaying host got nothing" bash -c "! grep -q '^deliver' '$TMP/C.log'"

# --- a BIND with a forged source address: host evil (bound itself, so it has a
# cookie for its own address and a valid ticket) sends one from the victim's
# address; the victim gets only a COOKIE (36 bytes for 180) and keeps its binding
CLIENT_ARGS="--port 40000" client V vic $R1 "$RPUB" "$TMP/kv"
client E evil $R1 "$RPUB" "$TMP/ke"
cmd V bind
cmd E bind
wait_line V '^bound' && wait_line E '^bound' || fail "victim and attacker bound"
read -r ev0 ro0 < <(relay_stat $RPID "$TMP/relay.log" evicted roams)
cmd E spoof 203.0.113.70:40000
check "the attacker sent a BIND with the victim's source" wait_line E '^spoofed from=203.0.113.70:40000'
check "the victim received only a COOKIE" wait_line V '^cookie' 2
read -r ev1 ro1 < <(relay_stat $RPID "$TMP/relay.log" evicted roams)
check "nobody was evicted or moved" test "$ev1" -eq "$ev0" -a "$ro1" -eq "$ro0"
cmd B send "$PV" after-spoof
check "the victim still receives" wait_line V 'text=after-spoof'
check "the victim got no REFUSED or BOUND from the forgery" \
	bash -c "[ \$(grep -c '^bound' '$TMP/V.log') -eq 1 ] && ! grep -q '^refused' '$TMP/V.log'"

# --- A roams to a new source port (new mapping on the symmetric NAT)
cmd A roam
wait_line A '^roamed' || true
cmd A bind
check "A rebinds from its new port" wait_line A '^bound' 3
cmd B send "$PA" after-roam
check "A receives at its new address" wait_line A 'text=after-roam'
check "relay counted the roam" test "$(relay_stat $RPID "$TMP/relay.log" roams)" -ge 1
cmd A send "$PB" from-roamed-a
check "B receives from the roamed A" wait_line B 'text=from-roamed-a'

# --- PING needs no binding
cmd C ping
check "PING/PONG" wait_line C '^pong'

# --- tickets: none, expired, signed by someone else
cmd C bind-noticket
check "BIND without a ticket refused (code 5, unauthorized)" wait_line C '^refused code=5'
cmd C bind-expired
check "BIND with an expired ticket refused (code 6)" wait_line C '^refused code=6'
cmd C bind-forged
check "BIND with a forged ticket refused (code 5)" wait_line C '^refused code=5' 2

# --- 65,536 keys made on host c, each BIND with c's valid cookie, half with no
# ticket and half with one c signed itself: nothing binds
read -r binds0 < <(relay_stat $RPID "$TMP/relay.log" binds)
cmd C flood 65536 mixed
check "65,536 BINDs sent from one host" wait_line C '^flooded n=65536' 1 120
sleep 1
read -r binds1 unauth rated < <(relay_stat $RPID "$TMP/relay.log" binds refused_unauthorized \
	drop_bind_rate)
check "none of the 65,536 keys bound ($unauth refused unauthorized, $rated over the rate)" \
	test "$binds1" -eq "$binds0" -a "$unauth" -gt 0
check "no DELIVER, no BOUND reached the flooding host" \
	bash -c "! grep -q '^deliver\|^bound' '$TMP/C.log'"
cmd B bind
check "a member on another host still binds" wait_line B '^bound' 2
sleep 1 # the flood used up host c's BIND budget; it refills at its rate
cmd C bind
check "a member on the flooding host binds too" wait_line C '^bound' 1 10

# --- a STUN flood from one host: answers cut to the per-source burst
cmd B stunflood 5000
check "STUN flood finished" wait_line B '^stun sent=5000' 1 20
answers=$(sed -n 's/^stun sent=5000 answers=//p' "$TMP/B.log" | head -1)
# RELAY_STUN_BURST (800) at once, RELAY_STUN_PPS (50/s) after
check "STUN flood of 5000 got ${answers:-?} answers (some, at most ~900)" \
	test "${answers:-0}" -gt 0 -a "${answers:-0}" -le 900
# (the kernel may drop some of the burst before the relay reads it)
check "relay counted the STUN drops" test "$(relay_stat $RPID "$TMP/relay.log" drop_stun_rate)" -ge 1000

# --- 150 players behind one NAT (host b's address): every one binds, and every
# PING (each player every 5 s) gets its PONG, at the default limits
cmd B swarm 150 20
check "150 players ran" wait_line B '^swarm players=150' 1 40
sw=$(grep '^swarm players=150' "$TMP/B.log" | head -1)
echo "    $sw"
check "150 players behind one NAT all bound" grep -q ' bound=150 ' <<<"$sw"
check "and got every PONG" bash -c "p=\$(sed -n 's/.* pings=\([0-9]*\) .*/\1/p' <<<'$sw'); \
	q=\$(sed -n 's/.* pongs=\([0-9]*\) .*/\1/p' <<<'$sw'); [ \$p -ge 300 ] && [ \$p -eq \$q ]"
check "with no refusal" grep -q ' refused=0$' <<<"$sw"

# --- the STUN server still runs in the relay
if [ -x "$BUILD/lanrage" ]; then
	check "STUN answers on 3478" bash -c "ip netns exec $(nl_ns b) '$BUILD/lanrage' netcheck \
		--stun 203.0.113.40 --timeout 2 --json | grep -q '\"rtt_ms\": [0-9]'"
fi

# --- rate limit (relay 2: 5 packets/s, burst 5) and idle expiry (2 s)
R2=203.0.113.40:51822
client A2 a $R2 "$RPUB2" "$TMP/ka"
client B2 b $R2 "$RPUB2" "$TMP/kb"
client C2 c $R2 "$RPUB2" "$TMP/kc"
cmd A2 bind-save "$TMP/a2.bind"
cmd B2 bind
wait_line A2 '^bound lifetime=2' && wait_line B2 '^bound lifetime=2' || fail "bound to relay 2"
cmd B2 sendn "$PA" 50
wait_line B2 '^sent n=50' || true
fwd=0 drop=0
for _ in $(seq 50); do
	read -r fwd drop < <(relay_stat $RPID2 "$TMP/relay2.log" forwarded drop_rate)
	[ $((fwd + drop)) -ge 50 ] && break
	sleep 0.1
done
check "rate limit dropped some of 50 SENDs ($drop dropped, $fwd forwarded)" \
	test "$drop" -gt 0 -a $((fwd + drop)) -eq 50
check "A2 received exactly the $fwd forwarded" wait_line A2 'text=n-' "$fwd"
check "and no more" test "$(grep -c 'text=n-' "$TMP/A2.log")" -eq "$fwd"

sleep 3 # both bindings idle past their 2 s lifetime
cmd B2 bind
wait_line B2 '^bound' 2 || true
cmd B2 send "$PA" too-late
check "expired binding: UNREACHABLE" wait_line B2 "^unreachable key=$PA"
check "relay counted the expiry" test "$(relay_stat $RPID2 "$TMP/relay2.log" expired)" -ge 1
cmd A2 raw "$TMP/a2.bind"
check "an expired key's old BIND still cannot be replayed" wait_line A2 '^refused code=2'
cmd A2 bind
wait_line A2 '^bound' 2 || true
cmd B2 send "$PA" revived
check "rebinding after expiry receives again" wait_line A2 'text=revived'

# --- per-destination limit: B2 and C2, each within its own 5/s, at A2 at once
cmd C2 bind
wait_line C2 '^bound lifetime=2' || true
sleep 1.2 # buckets full again; all three bindings still live (2 s)
cmd A2 ping
cmd B2 ping
cmd C2 ping
read -r f0 d0 < <(relay_stat $RPID2 "$TMP/relay2.log" forwarded drop_dst_rate)
cmd B2 sendn "$PA" 5
cmd C2 sendn "$PA" 5
wait_line C2 '^sent n=5' || true
sleep 0.3
read -r f1 d1 < <(relay_stat $RPID2 "$TMP/relay2.log" forwarded drop_dst_rate)
check "two senders at one receiver: $((f1 - f0)) forwarded, $((d1 - d0)) dropped by its limit" \
	test $((d1 - d0)) -ge 3 -a $((f1 - f0 + d1 - d0)) -eq 10

# --- per-IP binding cap (relay 5: 3 bindings per IP): 5 players on host c
nl_spawn relay "$TMP/relay5.log" "$RELAY" --listen 203.0.113.40:51825 --no-stun \
	--key "$TMP/relay5.key" --ticket-key "$TPUB" --max-bindings-per-ip 3 >/dev/null
for _ in $(seq 100); do
	grep -q '^public_key=' "$TMP/relay5.log" 2>/dev/null && break
	sleep 0.05
done
client C5 c 203.0.113.40:51825 "$(sed -n 's/^public_key=//p' "$TMP/relay5.log")"
cmd C5 swarm 5 4
check "per-IP cap run" wait_line C5 '^swarm players=5' 1 15
check "only 3 of 5 players on one IP bound, the others refused" \
	grep -q '^swarm players=5 bound=3 .* refused=[1-9]' "$TMP/C5.log"

# --- the relay secret never on the command line
rc=0
"$RELAY" --control wss://203.0.113.40:8667 --relay-secret s3cret \
	--public-endpoint 203.0.113.40:1 >"$TMP/argv.out" 2>&1 || rc=$?
check "--relay-secret on the command line is refused (exit 2)" test "$rc" -eq 2
check "with a message pointing at --relay-secret-file" grep -q -- '--relay-secret-file' "$TMP/argv.out"

# --- registration with the control server over TLS (relay_register with our
# key, the secret from a file, the server's pin); the answer gives the relay
# the control server's ticket key
if [ -x "$BUILD/lanrage-control" ]; then
	(umask 077 && echo s3cret >"$TMP/secret" && echo wrong >"$TMP/wrong")
	# the pin first: it makes the self-signed pair the server then uses
	PIN=$("$BUILD/lanrage-control" --db "$TMP/control.db" --print-pin 2>/dev/null || true)
	nl_spawn relay "$TMP/control.log" "$BUILD/lanrage-control" --listen 203.0.113.40:8667 \
		--db "$TMP/control.db" --relay-secret-file "$TMP/secret" >/dev/null
	for _ in $(seq 100); do
		nl_exec relay curl -sk https://203.0.113.40:8667/v1/relays >/dev/null && break
		sleep 0.1
	done
	check "the control server's pin" test -n "$PIN"
	nl_spawn relay "$TMP/relay3.log" "$RELAY" \
		--listen 203.0.113.40:51823 --no-stun --key "$TMP/relay.key" \
		--control wss://203.0.113.40:8667 --control-pin "$PIN" \
		--relay-secret-file "$TMP/secret" --public-endpoint 203.0.113.40:51823 \
		--name lab-1 >/dev/null
	nl_spawn relay "$TMP/relay4.log" "$RELAY" --listen 203.0.113.40:51824 --no-stun \
		--control wss://203.0.113.40:8667 --control-pin "$PIN" --relay-secret-file "$TMP/wrong" \
		--public-endpoint 203.0.113.40:51824 --name intruder >/dev/null
	relays=""
	for _ in $(seq 100); do
		relays=$(nl_exec relay curl -sk https://203.0.113.40:8667/v1/relays || true)
		grep -q lab-1 <<<"$relays" && break
		sleep 0.1
	done
	check "relay registered with its endpoint and public key" python3 -c '
import json, sys
r = [x for x in json.loads(sys.argv[1])["relays"] if x["name"] == "lab-1"]
sys.exit(not (r and r[0]["endpoint"] == "203.0.113.40:51823" and r[0]["public_key"] == sys.argv[2]))
' "$relays" "$RPUB"
	check "the relay learned the control server's ticket key" \
		wait_line relay3 'ticket key .* from the control server'
	check "a wrong relay secret is refused and logged" \
		wait_line relay4 'refused our relay secret (wrong relay secret)'
	relays=$(nl_exec relay curl -sk https://203.0.113.40:8667/v1/relays || true)
	check "and the relay with the wrong secret is not listed" \
		bash -c "grep -q lab-1 <<<'$relays' && ! grep -q intruder <<<'$relays'"
fi

# --- healing: an unbound sender is told, with a cookie, so it binds in one
# round trip; a client 2 hours ahead binds with the relay's time
client H c $R1 "$RPUB" "$TMP/kh"
client K b $R1 "$RPUB" "$TMP/kk"
cmd H sendpat "$PA" 100
check "an unbound sender gets UNBOUND echoing its SEND" wait_line H '^unbound echo=ours'
cmd H bind
check "its BIND with the UNBOUND's cookie binds" wait_line H '^bound'
check "without a COOKIE round trip" test "$(grep -c '^cookie' "$TMP/H.log")" -eq 0
cmd K skew 7200
cmd K bind
check "a BIND 2 h ahead gets the relay's time once its source showed its cookie" \
	wait_line K '^clock verified=yes skew_s=7[12][0-9][0-9]$'
check "and binds with it" wait_line K '^bound'
check "the COOKIE came before the time" \
	bash -c "grep -n '^cookie\|^clock' '$TMP/K.log' | head -1 | grep -q cookie"
read -r unbound clocks < <(relay_stat $RPID "$TMP/relay.log" unbound clocks)
check "relay counted UNBOUND ($unbound) and CLOCK ($clocks) answers" \
	test "${unbound:-0}" -ge 1 -a "${clocks:-0}" -ge 1

# --- SIGTERM: exit 0 with the statistics
kill -TERM "$RPID"
rc=0
wait "$RPID" || rc=$?
check "SIGTERM exits 0" test "$rc" -eq 0
check "statistics logged at exit" grep -q ' stopping bindings=' "$TMP/relay.log"

[ $FAILS -eq 0 ] || { echo "--- relay log"; cat "$TMP/relay.log"; }
[ $FAILS -eq 0 ] && echo "test_relay: all passed" || echo "test_relay: $FAILS failed"
[ $FAILS -eq 0 ]
