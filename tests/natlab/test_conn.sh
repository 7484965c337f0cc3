#!/usr/bin/env bash
# tests/natlab/test_conn.sh: the ConnectionManager (src/conn) end to end, driven
# by tests/tools/conn_tool (net + remote control client + conn) against a real
# lanrage-control and lanrage-relay (with STUN, RFC 5780) on public lab
# addresses. Two parties at once:
#   a (full cone)  + b (symmetric): a direct path (b's probes open a's cone);
#   c (symmetric)  + d (symmetric): no direct path, so the relay;
# and ping over the virtual IPs works on both, both ways. Then the relay is
# killed: c and d report the failure instead of hanging (no other relay).
# Each check prints PASS/FAIL; exit status is the number of failures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RELAY=$BUILD/lanrage-relay
CONTROL=$BUILD/lanrage-control
TOOL=$BUILD/tests/conn_tool
source "$ROOT/tests/natlab/lib.sh"

nl_init cn$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/nlconn.XXXXXX)
# KEEP=1 keeps the logs and status files in $TMP
trap 'rc=$?; nl_down; [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.40 203.0.113.41
server ctl 203.0.113.50
router rfc full-cone
host a rfc
router rs1 symmetric
host b rs1
router rs2 symmetric
host c rs2
router rs3 symmetric
host d rs3
LAB

SECRET=conn-test-secret
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$CONTROL" --listen 203.0.113.50:8667 --db "$TMP/ctl.db" \
	--relay-secret-file "$CTL_SECRET_FILE" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$RELAY" --listen 203.0.113.40:51821 \
	--stun 203.0.113.40 --stun 203.0.113.41 --key "$TMP/relay.key" \
	--control wss://203.0.113.50:8667 --control-pin "$CTL_PIN" \
	--relay-secret-file "$CTL_SECRET_FILE" --public-endpoint 203.0.113.40:51821 --name r1 >/dev/null
RELAY_PID=${NL_PIDS[-1]}
# the relay registered (its id is in relays_list) before anyone measures relays
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done

# tool NODE ROLE PARTYFILE: conn_tool on NODE, status in $TMP/NODE.status
tool() {
	local node=$1 role=$2 pf=$3
	mkdir -p "$TMP/$node"
	nl_spawn "$node" "$TMP/$node.log" "$TOOL" --state "$TMP/$node" --name "$node" \
		--control wss://203.0.113.50:8667 --control-pin "$CTL_PIN" --"$role" "$pf" --status "$TMP/$node.status" \
		--stun 203.0.113.40 --monitor 1000 >/dev/null
}
tool a create "$TMP/party1"
tool c create "$TMP/party2"
tool b join "$TMP/party1"
tool d join "$TMP/party2"

# wait_path NODE PATH [SECONDS]: the member line of NODE's status shows PATH
wait_path() {
	for _ in $(seq $((${3:-30} * 10))); do
		grep -q "^member [a-z] [0-9.]* $2 " "$TMP/$1.status" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
vip_of() { # NODE: the virtual IP its peer's status shows for it
	cat "$TMP"/*.status 2>/dev/null | awk -v n="$1" '$1 == "member" && $2 == n { print $3; exit }'
}
show() { echo "--- $1:"; cat "$TMP/$1.status" 2>/dev/null || true; }

check "a (full cone) reaches b (symmetric) directly" wait_path a direct
check "b (symmetric) reaches a (full cone) directly" wait_path b direct
check "c (symmetric) reaches d (symmetric) through the relay" wait_path c relay 40
check "d (symmetric) reaches c (symmetric) through the relay" wait_path d relay 40
for n in a b c d; do show $n; done
# netcheck ran on the WireGuard socket (RFC 5780 through the relay's STUN)
check "a's NAT is published as full-cone" grep -q "^self nat=full-cone " "$TMP/a.status"
check "b's NAT is published as symmetric" grep -q "^self nat=symmetric " "$TMP/b.status"

VA=$(vip_of a) VB=$(vip_of b) VC=$(vip_of c) VD=$(vip_of d)
echo "virtual IPs: a=$VA b=$VB c=$VC d=$VD"
check "ping a -> b over the direct path" nl_exec a ping -c 3 -i 0.3 -W 3 "$VB"
check "ping b -> a over the direct path" nl_exec b ping -c 3 -i 0.3 -W 3 "$VA"
check "ping c -> d through the relay" nl_exec c ping -c 3 -i 0.3 -W 3 "$VD"
check "ping d -> c through the relay" nl_exec d ping -c 3 -i 0.3 -W 3 "$VC"
check "direct endpoint is b's NAT mapping, not a relay" \
	grep -q "^member b .* direct endpoint=203.0.113" "$TMP/a.status"
# in-tunnel monitoring measured an RTT on both kinds of path
rtt_ok() { grep -q "^member [a-z] .* rtt=[0-9]" "$TMP/$1.status"; }
wait_rtt() { for _ in $(seq 50); do rtt_ok "$1" && return 0; sleep 0.1; done; return 1; }
check "a has an in-tunnel RTT for b" wait_rtt a
check "c has an in-tunnel RTT for d" wait_rtt c

# the only relay dies: the relayed pair notices (no echo answers) and retries
kill "$RELAY_PID"
left_relay() {
	for _ in $(seq 300); do
		grep -Eq "^member d .*detail=(.*failed|punching|relay .*trying direct)" \
			"$TMP/c.status" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
check "c notices the dead relay (reconnecting, not silently up)" left_relay
check "a and b stay direct without the relay" nl_exec a ping -c 2 -i 0.3 -W 3 "$VB"
for n in c; do show $n; done

if [ "$FAILS" -ne 0 ]; then
	for n in a b c d; do echo "--- $n.log (tail)"; tail -25 "$TMP/$n.log"; done
	echo "--- relay.log (tail)"; tail -10 "$TMP/relay.log"
fi
echo "$FAILS failure(s)"
exit "$FAILS"
