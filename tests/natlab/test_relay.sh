#!/usr/bin/env bash
# tests/natlab/test_relay.sh: lanrage-relay forwarding (docs/RELAY.md) between
# clients behind a symmetric and a port-restricted NAT, driven through
# tests/tools/relay_client: both bind and exchange datagrams both ways intact;
# an unbound sender and a sender with a bad MAC get nothing forwarded; a
# replayed BIND from another address does not steal the binding; a client
# that roams to a new source port rebinds and keeps receiving; PING/PONG;
# STUN still answers. A second relay with a 2 s lifetime and 5 packets/s
# shows the rate limit (counted from the relay's statistics) and idle expiry.
# Each check prints PASS/FAIL.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RELAY=$BUILD/lanrage-relay
CLIENT=$BUILD/tests/relay_client
source "$ROOT/tests/natlab/lib.sh"

nl_init rl$((RANDOM % 1000))
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
LAB

# wait_line NAME PATTERN [COUNT]: up to 5 s for COUNT lines of NAME's log.
wait_line() {
	local n
	for _ in $(seq 100); do
		n=$(grep -c -- "$2" "$TMP/$1.log" 2>/dev/null || true)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.05
	done
	return 1
}
# client NAME NODE RELAY_ADDR RELAY_PUB [KEYFILE]: a relay_client reading
# commands from a FIFO held open on fd FD_NAME.
client() {
	local name=$1 node=$2 addr=$3 pub=$4 key=${5:-}
	mkfifo "$TMP/$name.in"
	nl_spawn "$node" "$TMP/$name.log" sh -c "exec '$CLIENT' --relay $addr --relay-pub $pub \
		${key:+--key $key} <'$TMP/$name.in'" >/dev/null
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

for k in ka kb kc; do (umask 077 && wg genkey >"$TMP/$k"); done
PA=$(wg pubkey <"$TMP/ka") PB=$(wg pubkey <"$TMP/kb")

# --- the relay: key file created 0600, its public key printed
nl_spawn relay "$TMP/relay.log" "$RELAY" --listen 203.0.113.40:51821 --stun 203.0.113.40 \
	--key "$TMP/relay.key" >/dev/null
RPID=${NL_PIDS[-1]}
nl_spawn relay "$TMP/relay2.log" "$RELAY" --listen 203.0.113.40:51822 --no-stun \
	--key "$TMP/relay2.key" --lifetime 2 --rate-pps 5 >/dev/null
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

# --- both bind (BOUND verified by the client against the relay's key)
cmd A bind
cmd B bind
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
check "BIND with a bad MAC refused (code 1)" wait_line C '^refused code=1'
cmd C send "$PA" from-c-badmac
cmd B send "$PA" marker1
wait_line A 'text=marker1' || true
check "unbound and bad-MAC senders: nothing forwarded" \
	bash -c "grep -q 'text=marker1' '$TMP/A.log' && ! grep -q 'from-c' '$TMP/A.log'"
check "relay counted the unbound SENDs" test "$(relay_stat $RPID "$TMP/relay.log" drop_unbound)" -ge 2

# --- a replayed BIND from another address does not steal A's binding
cmd A bind-save "$TMP/a.bind"
wait_line A '^bound' 2 || true
cmd C raw "$TMP/a.bind"
check "replayed BIND refused (code 2)" wait_line C '^refused code=2'
cmd B send "$PA" after-replay
check "A still receives after the replay" wait_line A 'text=after-replay'
check "the replaying host got nothing" bash -c "! grep -q '^deliver' '$TMP/C.log'"

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

# --- the STUN server still runs in the relay
if [ -x "$BUILD/lanrage" ]; then
	check "STUN answers on 3478" bash -c "ip netns exec $(nl_ns b) '$BUILD/lanrage' netcheck \
		--stun 203.0.113.40 --timeout 2 --json | grep -q '\"rtt_ms\": [0-9]'"
fi

# --- rate limit (relay 2: 5 packets/s, burst 5) and idle expiry (2 s)
R2=203.0.113.40:51822
client A2 a $R2 "$RPUB2" "$TMP/ka"
client B2 b $R2 "$RPUB2" "$TMP/kb"
client C2 c $R2 "$RPUB2"
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
cmd C2 raw "$TMP/a2.bind"
check "an expired key's old BIND still cannot be replayed" wait_line C2 '^refused code=2'
cmd A2 bind
wait_line A2 '^bound' 2 || true
cmd B2 send "$PA" revived
check "rebinding after expiry receives again" wait_line A2 'text=revived'

# --- registration with the control server (relay_register with our key)
if [ -x "$BUILD/lanrage-control" ]; then
	nl_spawn relay "$TMP/control.log" "$BUILD/lanrage-control" --listen 203.0.113.40:8667 \
		--db "$TMP/control.db" --relay-secret s3cret >/dev/null
	nl_spawn relay "$TMP/relay3.log" env LANRAGE_RELAY_SECRET=s3cret "$RELAY" \
		--listen 203.0.113.40:51823 --no-stun --key "$TMP/relay.key" \
		--control ws://203.0.113.40:8667 --public-endpoint 203.0.113.40:51823 --name lab-1 >/dev/null
	nl_spawn relay "$TMP/relay4.log" "$RELAY" --listen 203.0.113.40:51824 --no-stun \
		--control ws://203.0.113.40:8667 --relay-secret wrong \
		--public-endpoint 203.0.113.40:51824 --name intruder >/dev/null
	relays=""
	for _ in $(seq 100); do
		relays=$(nl_exec relay curl -s http://203.0.113.40:8667/v1/relays || true)
		grep -q lab-1 <<<"$relays" && break
		sleep 0.1
	done
	check "relay registered with its endpoint and public key" python3 -c '
import json, sys
r = [x for x in json.loads(sys.argv[1])["relays"] if x["name"] == "lab-1"]
sys.exit(not (r and r[0]["endpoint"] == "203.0.113.40:51823" and r[0]["public_key"] == sys.argv[2]))
' "$relays" "$RPUB"
	check "a wrong relay secret is refused and logged" \
		wait_line relay4 'registration .* failed: unauthorized'
	relays=$(nl_exec relay curl -s http://203.0.113.40:8667/v1/relays || true)
	check "and the relay with the wrong secret is not listed" \
		bash -c "grep -q lab-1 <<<'$relays' && ! grep -q intruder <<<'$relays'"
fi

# --- SIGTERM: exit 0 with the statistics
kill -TERM "$RPID"
rc=0
wait "$RPID" || rc=$?
check "SIGTERM exits 0" test "$rc" -eq 0
check "statistics logged at exit" grep -q ' stopping bindings=' "$TMP/relay.log"

[ $FAILS -eq 0 ] || { echo "--- relay log"; cat "$TMP/relay.log"; }
[ $FAILS -eq 0 ] && echo "test_relay: all passed" || echo "test_relay: $FAILS failed"
[ $FAILS -eq 0 ]
