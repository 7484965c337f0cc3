#!/usr/bin/env bash
# The NetworkManager against a real WireGuard peer (root). Two namespaces
# joined by a veth: in A, net_tool (src/net: userspace backend) brings up
# a lanrage0-style interface with 10.66.0.1/16; in B, wireguard-go configured
# with wg has 10.66.0.2. Checks: address, MTU and route over rtnetlink; ping
# both ways and a checksummed TCP transfer; net_status shows the handshake,
# counters, endpoint and keepalive; peer removal; net_down removes interface
# and UAPI socket; keys are reused across runs; a second daemon on the same
# interface is refused while the first lives, and so is one whose subnet
# overlaps the first's route; after SIGKILL the next run
# removes the stale socket and a stale interface (marked as ours; an unmarked
# one of the same name is refused and left as it is); SIGTERM cleans up; without
# CAP_NET_ADMIN net_up fails with a clear message.
#
# Everything started here is killed by PID and the namespaces deleted on
# every exit path (trap). Usage: test_net.sh (BUILD=dir, default build)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
TOOL=$BUILD/tests/net_tool
ID=${LR_ID:-$$}
NSA="lrn${ID}a"
NSB="lrn${ID}b"
IFA=$(echo "lrn${ID}" | cut -c1-13)0 # lanrage0-style; unique: UAPI sockets are global
IFB=$(echo "lrn${ID}" | cut -c1-13)9
IFC=$(echo "lrn${ID}" | cut -c1-13)1 # a second interface, refused
TMP=$(mktemp -d /tmp/lrnet.XXXXXX)
STATE=$TMP/state
PIDS=()
TOOL_PID=
step=start

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
	echo "FAIL ($step): $*" >&2
	for f in "$TMP"/*.out "$TMP"/*.err; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" | sed 's/^/    /' >&2; }
	done
	exit 1
}

cleanup() {
	local rc=$?
	set +e
	exec 3>&- 2>/dev/null
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$pid" 2>/dev/null
	done
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	rm -f "/var/run/wireguard/$IFA.sock" "/var/run/wireguard/$IFB.sock" \
		"/var/run/wireguard/$IFC.sock"
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in wireguard-go wg ip python3 setpriv; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
[ -x "$TOOL" ] || fail "$TOOL not built"

# ---- topology
ip netns add "$NSA"
ip netns add "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip link add eth0 netns "$NSA" type veth peer name eth0 netns "$NSB"
ip -n "$NSA" addr add 192.0.2.1/24 dev eth0
ip -n "$NSB" addr add 192.0.2.2/24 dev eth0
ip -n "$NSA" link set eth0 up
ip -n "$NSB" link set eth0 up

# ---- B: wireguard-go + wg
rm -f "/var/run/wireguard/$IFB.sock"
ip netns exec "$NSB" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IFB" >"$TMP/wggo.err" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "/var/run/wireguard/$IFB.sock" ] && break; sleep 0.05; done
(umask 077; wg genkey >"$TMP/b.key")
PUBB=$(wg pubkey <"$TMP/b.key")
wg set "$IFB" private-key "$TMP/b.key" listen-port 51820
ip -n "$NSB" addr add 10.66.0.2/16 dev "$IFB"
ip -n "$NSB" link set "$IFB" mtu 1420 up

# ---- A: net_tool, fed through a FIFO on fd 3, answering into $TMP/N.out
run=0
tool_start() {
	run=$((run + 1))
	rm -f "$TMP/cmd"
	mkfifo "$TMP/cmd"
	ip netns exec "$NSA" env LOG_LEVEL=info "$TOOL" --state "$STATE" --ifname "$IFA" \
		--addr 10.66.0.1/16 --port 51820 <"$TMP/cmd" >"$TMP/$run.out" 2>"$TMP/$run.err" &
	TOOL_PID=$!
	PIDS+=("$TOOL_PID")
	exec 3>"$TMP/cmd"
	for _ in $(seq 100); do
		grep -q '^up \|^error' "$TMP/$run.out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^up ' "$TMP/$run.out" || fail "net_tool did not come up: $(cat "$TMP/$run.out")"
	PUBA=$(awk '/^up /{print $2}' "$TMP/$run.out")
}

# tool CMD: sends one command, waits for its answer (the last line "ok",
# "error: ..." or "end"), prints the answer block.
tool() {
	local before
	before=$(wc -l <"$TMP/$run.out")
	echo "$*" >&3
	for _ in $(seq 200); do
		if [ "$(wc -l <"$TMP/$run.out")" -gt "$before" ] &&
			tail -1 "$TMP/$run.out" | grep -q '^ok$\|^error\|^end$'; then
			tail -n +$((before + 1)) "$TMP/$run.out"
			return 0
		fi
		sleep 0.05
	done
	fail "no answer to '$*'"
}

tool_ok() {
	local out
	out=$(tool "$@")
	[ "$out" = ok ] || fail "'$*' answered: $out"
}

b_peer() {
	wg set "$IFB" peer "$PUBA" endpoint 192.0.2.1:51820 allowed-ips 10.66.0.1/32
}

ping_both() {
	ip netns exec "$NSA" ping -c 3 -i 0.2 -W 2 10.66.0.2 >/dev/null || fail "ping A->B"
	ip netns exec "$NSB" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null || fail "ping B->A"
}

# ---- run 1: up, configuration, traffic, status, down
step="first start"
tool_start
[ -f "$STATE/keys/private.key" ] || fail "no private key"
[ "$(stat -c %a "$STATE/keys/private.key")" = 600 ] || fail "private key mode"
[ "$(wg pubkey <"$STATE/keys/private.key")" = "$(cat "$STATE/keys/public.key")" ] ||
	fail "public.key is not wg pubkey of private.key"
[ "$PUBA" = "$(cat "$STATE/keys/public.key")" ] || fail "net_tool key differs from public.key"
ip -n "$NSA" -4 addr show dev "$IFA" | grep -q 'inet 10.66.0.1/16' || fail "address"
ip -n "$NSA" link show "$IFA" | grep -q 'mtu 1420' || fail "MTU"
ip -n "$NSA" link show "$IFA" | grep -q ',UP' || fail "link not up"
ip -n "$NSA" route show 10.66.0.0/16 | grep -q "dev $IFA" || fail "no route for 10.66.0.0/16"
[ -S "/var/run/wireguard/$IFA.sock" ] || fail "no UAPI socket"
log "interface configured"

step="peers and traffic"
b_peer
tool_ok peer "$PUBB" 192.0.2.2:51820 10.66.0.2/32 25
ping_both
head -c $((4 * 1024 * 1024)) /dev/urandom >"$TMP/send.bin"
ip netns exec "$NSB" python3 "$ROOT/tests/interop/tcpsink.py" 4 5201 "$TMP/recv.bin" &
sink=$!
PIDS+=("$sink")
ip netns exec "$NSA" python3 "$ROOT/tests/interop/tcpsource.py" 10.66.0.2 5201 "$TMP/send.bin" ||
	fail "TCP source"
wait "$sink" || fail "TCP sink"
[ "$(sha256sum <"$TMP/send.bin")" = "$(sha256sum <"$TMP/recv.bin")" ] || fail "TCP checksum"
log "ping both ways, 4 MiB TCP A->B checked"

step="status"
st=$(tool status)
echo "$st" | grep -q "^public key: $PUBA\$" || fail "status public key: $st"
echo "$st" | grep -q '^listening port: 51820$' || fail "status port: $st"
echo "$st" | grep -q "^peer: $PUBB\$" || fail "status peer: $st"
echo "$st" | grep -q '^  endpoint: 192.0.2.2:51820$' || fail "status endpoint: $st"
echo "$st" | grep -q '^  allowed ip: 10.66.0.2/32$' || fail "status allowed ip: $st"
echo "$st" | grep -q '^  persistent keepalive: 25$' || fail "status keepalive: $st"
hs=$(echo "$st" | awk '/latest handshake:/{print $3}')
[ "$hs" -gt 0 ] || fail "no handshake in status: $st"
now=$(date +%s)
[ $((now - hs)) -lt 120 ] || fail "handshake time $hs is not recent ($now)"
tx=$(echo "$st" | awk '/tx bytes:/{print $3}')
[ "$tx" -gt $((4 * 1024 * 1024)) ] || fail "tx bytes $tx below the 4 MiB sent"
# The stock tool reads the same device through the UAPI socket.
wg show "$IFA" latest-handshakes | grep -q "^$PUBB" || fail "wg show does not see the peer"
log "status: handshake $hs, tx $tx bytes"

step="peer remove"
tool_ok remove "$PUBB"
tool status | grep -q '^peer:' && fail "peer still listed after remove"
tool remove "$PUBB" | grep -q '^error' || fail "removing an unknown peer succeeded"
ip netns exec "$NSA" ping -c 1 -W 1 10.66.0.2 >/dev/null 2>&1 && fail "ping works without the peer"
tool_ok peer "$PUBB" none 10.66.0.2/32 0
tool status | grep -q '^  endpoint: 192.0.2.2:51820$' && fail "endpoint survived remove"
# B initiates (a fresh peer on B too, so it handshakes at once instead of
# waiting out its old session): A learns B's endpoint from the handshake.
wg set "$IFB" peer "$PUBA" remove
b_peer
ip netns exec "$NSB" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null || fail "ping B->A without endpoint"
tool status | grep -q '^  endpoint: 192.0.2.2:51820$' || fail "endpoint not learnt"
log "peer removed and re-added without endpoint (learnt from handshake)"

step="second daemon refused"
out=$(ip netns exec "$NSA" "$TOOL" --state "$STATE" --ifname "$IFA" --addr 10.66.0.1/16 \
	</dev/null 2>&1) && fail "second instance started: $out"
echo "$out" | grep -q 'in use' || fail "no clear message for a busy interface: $out"
ip netns exec "$NSB" ping -c 1 -W 2 10.66.0.1 >/dev/null || fail "first instance broken by second"
log "second instance refused: $(echo "$out" | grep -m1 'in use')"

step="subnet in use"
out=$(ip netns exec "$NSA" "$TOOL" --state "$STATE" --ifname "$IFC" --addr 10.66.9.1/24 \
	--port 0 </dev/null 2>&1) && fail "started on a subnet in use: $out"
echo "$out" | grep -q "virtual subnet 10.66.9.0/24 overlaps the route 10.66.0.0/16 on $IFA" ||
	fail "unclear message: $out"
ip -n "$NSA" link show "$IFC" >/dev/null 2>&1 && fail "interface $IFC left after a failed start"
log "overlapping subnet refused, nothing left behind"

step="port in use"
out=$(ip netns exec "$NSA" "$TOOL" --state "$STATE" --ifname "$IFC" --addr 10.77.0.1/16 \
	--port 51820 </dev/null 2>&1) && fail "started on a port in use: $out"
echo "$out" | grep -q 'listen port 51820): Address already in use' || fail "unclear message: $out"
ip -n "$NSA" link show "$IFC" >/dev/null 2>&1 && fail "interface $IFC left after a failed start"
[ -e "/var/run/wireguard/$IFC.sock" ] && fail "UAPI socket left after a failed start"
log "port in use refused, nothing left behind"

step="down"
tool_ok down
ip -n "$NSA" link show "$IFA" >/dev/null 2>&1 && fail "interface left after net_down"
[ -e "/var/run/wireguard/$IFA.sock" ] && fail "UAPI socket left after net_down"
tool_ok down # idempotent
tool status | grep -q '^error' || fail "status after down should fail"
exec 3>&- # end of input: net_tool exits
wait "$TOOL_PID" || fail "net_tool exit status after down"
log "net_down removed interface and socket; second net_down is a no-op"

# ---- run 2: same keys; SIGKILL; stale socket and stale interface removed
step="restart keeps keys"
first_key=$PUBA
tool_start
[ "$PUBA" = "$first_key" ] || fail "key changed across restarts"
b_peer
tool_ok peer "$PUBB" 192.0.2.2:51820 10.66.0.2/32 25
ping_both
kill -9 "$TOOL_PID"
wait "$TOOL_PID" 2>/dev/null || true
exec 3>&-
[ -S "/var/run/wireguard/$IFA.sock" ] || fail "expected a stale UAPI socket after SIGKILL"
# The kernel removes a TUN with its last fd; what a crash can leave is a
# device that outlives the process (a persistent TUN, a kernel WireGuard
# device). Leave one behind, with an address and our mark, as such a crash
# would. Unmarked, the same device is someone else's and is refused.
ip -n "$NSA" link show "$IFA" >/dev/null 2>&1 ||
	ip -n "$NSA" tuntap add dev "$IFA" mode tun
ip -n "$NSA" addr add 10.66.0.1/16 dev "$IFA"
out=$(ip netns exec "$NSA" "$TOOL" --state "$STATE" --ifname "$IFA" --addr 10.66.0.1/16 \
	</dev/null 2>&1) && fail "an unmarked TUN of that name was taken over"
echo "$out" | grep -q "LANrage did not create it" || fail "unclear refusal: $out"
ip -n "$NSA" -4 addr show dev "$IFA" | grep -q 'inet 10.66.0.1/16' || fail "foreign TUN touched"
ip -n "$NSA" link set "$IFA" alias lanrage
log "killed with SIGKILL; stale socket and interface in place"

step="stale cleanup"
tool_start
grep -q "removing stale interface $IFA" "$TMP/$run.err" || fail "stale interface not reported"
grep -q "removed stale UAPI socket" "$TMP/$run.err" || fail "stale socket not reported"
[ "$PUBA" = "$first_key" ] || fail "key changed after crash"
ip -n "$NSA" -4 addr show dev "$IFA" | grep -c 'inet ' | grep -q '^1$' || fail "addresses"
tool_ok peer "$PUBB" 192.0.2.2:51820 10.66.0.2/32 25
ping_both
log "stale interface and socket removed, traffic flows again"

step="interface deleted under the device"
ip -n "$NSA" link del "$IFA"
for _ in $(seq 60); do tool status | grep -q '^running: no$' && break; sleep 0.1; done
tool status | grep -q '^running: no$' || fail "status does not say the device stopped"
tool_ok down
[ -e "/var/run/wireguard/$IFA.sock" ] && fail "UAPI socket left after the device stopped"
exec 3>&-
wait "$TOOL_PID" || fail "net_tool exit status after the device stopped"
log "interface deleted from outside: status says stopped, net_down cleans up"

step="SIGTERM"
tool_start
kill -TERM "$TOOL_PID"
wait "$TOOL_PID" || fail "net_tool exit status after SIGTERM"
exec 3>&-
ip -n "$NSA" link show "$IFA" >/dev/null 2>&1 && fail "interface left after SIGTERM"
[ -e "/var/run/wireguard/$IFA.sock" ] && fail "UAPI socket left after SIGTERM"
log "SIGTERM removed interface and socket"

# ---- without privileges
step="no privileges"
mkdir -p "$TMP/nobody"
chown 65534:65534 "$TMP/nobody"
chmod 755 "$TMP"
out=$(ip netns exec "$NSA" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$TOOL" --state "$TMP/nobody/state" --ifname "$IFA" \
	--addr 10.66.0.1/16 </dev/null 2>&1) && fail "started without privileges"
echo "$out" | grep -q 'needs root or CAP_NET_ADMIN' || fail "unclear message: $out"
ip -n "$NSA" link show "$IFA" >/dev/null 2>&1 && fail "interface created without privileges"
log "unprivileged: $(echo "$out" | grep -m1 CAP_NET_ADMIN)"
# Root without CAP_NET_ADMIN (as in a locked-down container) is refused too.
out=$(ip netns exec "$NSA" setpriv --bounding-set=-net_admin "$TOOL" --state "$STATE" \
	--ifname "$IFA" --addr 10.66.0.1/16 </dev/null 2>&1) && fail "root without the capability started"
echo "$out" | grep -q 'needs root or CAP_NET_ADMIN' || fail "unclear message: $out"
log "root without CAP_NET_ADMIN refused"

log "PASS test_net"
