#!/usr/bin/env bash
# tests/daemon/test_tls.sh: the control channel under attack, in a natlab
# (root; docs/SECURITY.md):
#
#   ctl 203.0.113.90 (lanrage-control, TLS :8667 and a --insecure one :8668)
#   relay 203.0.113.92/.93 (lanrage-relay: the STUN server daemons learn of)
#   ra (full cone) - a      rb (full cone) - b      rc (full cone) - c
#
#   1. a and b form a party over wss:// with the server's pin while tcpdump
#      records every byte on the control server's side: the capture holds TLS
#      and none of the tokens, the party ID, the peer IDs or the names;
#   2. the same capture method on the --insecure server, used by c, does show
#      c's party ID and token (so the search in 1 can find what it looks for);
#   3. the real server is replaced by an impostor with another key that would
#      send a forged peer_updated (b's ID onto an attacker's key): a and b
#      refuse it during the TLS handshake, every time they reconnect, its
#      forged messages are never read, the members and their WireGuard keys
#      stay as they were and the tunnel still carries traffic;
#   4. a fresh daemon asked to create a party meanwhile fails with an error
#      that names the pin mismatch.
# nl_down (EXIT trap) kills every process by PID and deletes the namespaces.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"
source "$ROOT/tests/lib/check.sh"

nl_init tl$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrtls.XXXXXX)
trap 'rc=$?; nl_down; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; exit $rc' EXIT

nl_build <<'LAB'
server ctl 203.0.113.90
server relay 203.0.113.92 203.0.113.93
router ra full-cone
host a ra
router rb full-cone
host b rb
router rc full-cone
host c rc
host d rc
LAB

SECRET=tls-test-secret
CTL_URL=wss://203.0.113.90:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/tcpdump.log" tcpdump -i any -U -s 0 -w "$TMP/tls.pcap" tcp port 8667 >/dev/null
DUMP_PID=${NL_PIDS[-1]}
nl_spawn ctl "$TMP/tcpdump2.log" tcpdump -i any -U -s 0 -w "$TMP/plain.pcap" tcp port 8668 >/dev/null
DUMP2_PID=${NL_PIDS[-1]}
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.90:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" >/dev/null
CTL_PID=${NL_PIDS[-1]}
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.92:51821 \
	--stun 203.0.113.92 --stun 203.0.113.93 --key "$TMP/relay.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.92:51821 --name r1 >/dev/null
mkdir -p "$TMP/plain"
nl_spawn ctl "$TMP/ctl-plain.log" "$BUILD/lanrage-control" --listen 203.0.113.90:8668 \
	--db "$TMP/plain/ctl.db" --insecure >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done
check "the relay registered over TLS (pinned)" grep -qi 'registered' "$TMP/relay.log"

# daemon NODE [ARGS...]: NODE's daemon on the TLS server (or as ARGS say)
daemon() {
	local node=$1
	shift
	mkdir -p "$TMP/$node"
	[ $# -gt 0 ] || set -- --control "$CTL_URL" --control-pin "$CTL_PIN"
	nl_spawn "$node" "$TMP/$node.log" "$LANRAGE" daemon "$@" --state-dir "$TMP/$node" \
		--interface "lrt$node" --name "tlsnode-$node" --log-level debug >/dev/null
	for _ in $(seq 100); do
		lr "$node" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
lr() { # NODE ARGS...
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/$node"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }
# in_capture FILE STRING: STRING occurs in the raw bytes of FILE
in_capture() { grep -aqF -- "$2" "$1"; }
stop_dump() {
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}

# ---- 1. a party over TLS, captured ------------------------------------------
check "daemon a starts (wss, pinned)" daemon a
check "daemon b starts (wss, pinned)" daemon b
OUT=$(lr a party create "secret night" --json)
PARTY=$(jget party_id <<<"$OUT" 2>/dev/null)
check "a creates a party over TLS" test -n "$PARTY"
OUT=$(lr b party join "$PARTY" --json)
VIP_B=$(jget self.virtual_ip <<<"$OUT" 2>/dev/null)
check "b joins over TLS" test -n "$VIP_B"
check "status --wait settles" lr a status --wait --timeout 40
lr a status; check "a reaches b's virtual IP" nl_exec a ping -c 3 -i 0.3 -W 5 "$VIP_B"
lr a peers --json >"$TMP/peers.before"
MEMBERS_BEFORE=$(jget peers.0.peer_id <"$TMP/peers.before"; jget peers.0.virtual_ip <"$TMP/peers.before")
KEYS_BEFORE=$(nl_exec a wg show lrta peers | sort)
check "a's WireGuard device has b's key" test -n "$KEYS_BEFORE"
stop_dump "$DUMP_PID"
TOKEN_A=$(jget token <"$TMP/a/control.json")
TOKEN_B=$(jget token <"$TMP/b/control.json")
ID_A=$(jget peer_id <"$TMP/a/control.json")
ID_B=$(jget peer_id <"$TMP/b/control.json")
check "the capture holds the control traffic ($(stat -c %s "$TMP/tls.pcap") bytes)" \
	test "$(stat -c %s "$TMP/tls.pcap")" -gt 4000
check "the capture is TLS (handshake records)" in_capture "$TMP/tls.pcap" $'\x16\x03\x01'
for what in "TOKEN_A:$TOKEN_A" "TOKEN_B:$TOKEN_B" "PARTY:$PARTY" "ID_A:$ID_A" "ID_B:$ID_B" \
	"name:tlsnode-a" "name:secret night" "type:peer_joined" "type:register"; do
	check "no ${what%%:*} in clear on the wire" bash -c "[ -n '${what#*:}' ] && \
		! grep -aqF -- '${what#*:}' '$TMP/tls.pcap'"
done

# ---- 2. the same search finds cleartext on the --insecure server ------------
check "daemon c starts (ws://, --control-insecure)" \
	daemon c --control ws://203.0.113.90:8668 --control-insecure
check "a plain ws:// URL without --control-insecure is refused" bash -c \
	"! ip netns exec $(nl_ns d) $LANRAGE daemon --control ws://203.0.113.90:8668 \
	--state-dir $TMP/d0 --interface lrtd0 2>$TMP/err0 >/dev/null; grep -q 'wss://' $TMP/err0"
PARTY_C=$(lr c party create "open night" --json | jget party_id 2>/dev/null)
# tcpdump writes each packet as it comes (-U); give a loaded machine time
for _ in $(seq 50); do
	[ -n "$PARTY_C" ] && in_capture "$TMP/plain.pcap" "$PARTY_C" && break
	sleep 0.1
done
stop_dump "$DUMP2_PID"
check "c created a party over ws://" test -n "$PARTY_C"
check "the insecure capture shows c's party ID in clear" in_capture "$TMP/plain.pcap" "$PARTY_C"
check "the insecure capture shows c's token in clear" \
	in_capture "$TMP/plain.pcap" "$(jget token <"$TMP/c/control.json")"

# ---- 3. an impostor with another key ----------------------------------------
mkdir -p "$TMP/imp"
"$BUILD/lanrage-control" --db "$TMP/imp/ctl.db" --print-pin >"$TMP/imp/pin" 2>/dev/null
check "the impostor's key has another pin" test "$(cat "$TMP/imp/pin")" != "$CTL_PIN"
kill "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
nl_spawn ctl "$TMP/imp.log" python3 "$ROOT/tests/daemon/impostor.py" 203.0.113.90 8667 \
	"$TMP/imp/control-tls.crt" "$TMP/imp/control-tls.key" "$TMP/imp/stats" "$PARTY" "$ID_B" \
	>/dev/null
# the daemons reconnect with backoff (0.25 s doubling): several tries in 8 s
sleep 8
STATS=$(cat "$TMP/imp/stats" 2>/dev/null)
echo "  impostor: $STATS"
check "a and b tried the impostor" test "$(jget accepted <<<"$STATS")" -ge 2
check "no client finished a TLS handshake with the impostor" \
	test "$(jget tls_ok <<<"$STATS")" -eq 0
check "no forged message was delivered" test "$(jget forged_sent <<<"$STATS")" -eq 0
check "a's log names the pin mismatch" grep -q "refusing the control server.*pin" "$TMP/a.log"
lr a peers --json >"$TMP/peers.after"
MEMBERS_AFTER=$(jget peers.0.peer_id <"$TMP/peers.after"; jget peers.0.virtual_ip <"$TMP/peers.after")
check "a still has b, with b's virtual IP ($MEMBERS_AFTER)" \
	test -n "$MEMBERS_BEFORE" -a "$MEMBERS_AFTER" = "$MEMBERS_BEFORE" -a \
	"$(jget peers.0.peer_id <"$TMP/peers.after")" = "$ID_B"
check "a's WireGuard peers (keys) are unchanged" \
	test "$(nl_exec a wg show lrta peers | sort)" = "$KEYS_BEFORE"
check "the tunnel still carries traffic" nl_exec a ping -c 2 -i 0.3 -W 5 "$VIP_B"

# ---- 4. a new player meets the impostor -------------------------------------
check "daemon d starts (real pin)" daemon d
check "d's party create fails naming the pin" bash -c \
	"! ip netns exec $(nl_ns d) $LANRAGE party create x --state-dir $TMP/d 2>$TMP/err; \
	grep -q 'pin' $TMP/err"
cat "$TMP/err" 2>/dev/null | sed 's/^/  /'

echo "tls: $FAILS failure(s)"
[ "$FAILS" -eq 0 ]
