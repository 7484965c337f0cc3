#!/usr/bin/env bash
# tests/daemon/test_safety.sh: the daemon's own defences (issue 12, "Daemon
# safety"), each by performing the attack in a natlab (root) and showing that
# it fails:
#   - --interface naming a foreign link (a bridge like docker0, another
#     program's TUN) is refused at the daemon's start with the fix named, and
#     the link survives with its address; a stale link LANrage marked is
#     still cleaned up;
#   - a virtual subnet overlapping a route of another link is refused with the
#     route and both ways out named, the route survives; allow_subnet_overlap
#     lets the join through;
#   - a hostile member (tests/tools/safety_tool) publishes and signals
#     127.0.0.1:53, multicast, broadcast, unspecified, link-local, loopback v6
#     and virtual-subnet candidates plus one real one: the daemon never sends
#     a datagram to the bad ones (nftables counters and a listener on
#     127.0.0.1:53 in its namespace count zero) while it probes the real one
#     and still reaches a good member;
#   - the running daemon holds only CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF
#     (effective, permitted, bounding), nothing inheritable or ambient, and
#     NoNewPrivs; it still passes traffic and leaves cleanly;
#   - every file in a daemon's state directory is 0600 and every directory
#     0700 after a join, in remote mode and in local mode (control.db).
#
#        203.0.113.0/24 "internet": ctl (control), relay, e (the hostile member),
#                                   l (a daemon in local mode)
#          ra (full cone) -- a         rb (port-restricted) -- b
#
# Everything runs in the lab's namespaces (nl-dsNNN-*); nl_down (EXIT trap)
# kills every process by PID and deletes them. Exit status: failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
TOOL=$BUILD/tests/safety_tool
source "$ROOT/tests/natlab/lib.sh"

nl_init ds$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrsafety.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.70 203.0.113.71
server ctl 203.0.113.80
router ra full-cone
host a ra
router rb port-restricted-cone
host b rb
public e
public l
LAB
E_IP=$(nl_addr e)

# The control channel as the other daemon suites run it: TLS with a pin when
# this tree has it, else plain ws://.
SECRET=safety-test-secret
if declare -F nl_control_tls >/dev/null && nl_control_tls "$TMP" 2>/dev/null; then
	CTL_URL=wss://203.0.113.80:8667
	CTL_ARGS=(--relay-secret-file "$CTL_SECRET_FILE")
	RELAY_ARGS=(--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE")
	PIN_ARGS=(--control-pin "$CTL_PIN")
else
	CTL_URL=ws://203.0.113.80:8667
	CTL_ARGS=(--relay-secret "$SECRET")
	RELAY_ARGS=(--relay-secret "$SECRET")
	PIN_ARGS=()
fi
echo "control plane: $CTL_URL"
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.80:8667 \
	--db "$TMP/ctl.db" "${CTL_ARGS[@]}" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.70:51821 \
	--stun 203.0.113.70 --stun 203.0.113.71 --key "$TMP/relay.key" --control "$CTL_URL" \
	"${RELAY_ARGS[@]}" --public-endpoint 203.0.113.70:51821 --name r1 >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done

declare -A DPID
# daemon NODE IFNAME [ARGS...]: starts NODE's daemon (state in $TMP/NODE,
# which the daemon creates) and waits for its API
daemon() {
	local node=$1 ifname=$2
	shift 2
	nl_spawn "$node" "$TMP/$node.log" "$LANRAGE" daemon --state-dir "$TMP/$node" \
		--interface "$ifname" --name "$node" --log-level debug "$@" >/dev/null
	DPID[$node]=${NL_PIDS[-1]}
	for _ in $(seq 100); do
		lr "$node" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
remote() { daemon "$@" --control "$CTL_URL" "${PIN_ARGS[@]}"; }
lr() {
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/$node"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }
stopped_ok() {
	local pid=${DPID[$1]}
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"
}
# refused NODE PATTERN CMD...: CMD exits 1 and says PATTERN on stderr
refused() {
	local node=$1 pattern=$2
	shift 2
	lr "$node" "$@" 2>"$TMP/err" >/dev/null
	[ $? -eq 1 ] && grep -q -- "$pattern" "$TMP/err" || { cat "$TMP/err"; return 1; }
}

# ---- 1. foreign interfaces --------------------------------------------------
nl_exec a ip link add docker0 type bridge
nl_exec a ip addr add 172.17.0.1/16 dev docker0
nl_exec a ip link set docker0 up
nl_exec a ip tuntap add dev tun7 mode tun
nl_exec a ip addr add 10.8.0.1/24 dev tun7
# start_refused NODE IFNAME PATTERN: the daemon refuses to start on IFNAME
# (exit 1, PATTERN in its message), at its start rather than at a join
start_refused() {
	local node=$1 ifname=$2 pattern=$3
	nl_exec "$node" timeout 20 "$LANRAGE" daemon --state-dir "$TMP/$node" --interface "$ifname" \
		--control "$CTL_URL" "${PIN_ARGS[@]}" 2>"$TMP/err" >/dev/null
	[ $? -eq 1 ] && grep -q -- "$pattern" "$TMP/err" || { cat "$TMP/err"; return 1; }
}
check "daemon with --interface docker0 refused at start, naming --interface" \
	start_refused a docker0 "LANrage did not create it.*--interface"
check "docker0 survives with its address" \
	bash -c "ip -n $(nl_ns a) -d -4 addr show docker0 | grep -q 'inet 172.17.0.1/16' &&
		ip -n $(nl_ns a) -d link show docker0 | grep -q bridge"
check "daemon with --interface tun7 (another program's TUN) refused at start" \
	start_refused a tun7 "LANrage did not create it"
check "tun7 survives with its address" \
	bash -c "ip -n $(nl_ns a) -4 addr show tun7 | grep -q 'inet 10.8.0.1/24'"
# What a crashed run can leave: a device that outlives it, with our mark.
nl_exec a ip tuntap add dev lra mode tun
nl_exec a ip link set lra alias lanrage

# ---- 2. overlapping subnet --------------------------------------------------
nl_exec a ip link add br66 type bridge
nl_exec a ip addr add 10.66.3.1/24 dev br66
nl_exec a ip link set br66 up
check "daemon a starts on lra" remote a lra
check "subnet overlapping 10.66.3.0/24 on br66 refused, naming both ways out" \
	refused a "overlaps the route 10.66.3.0/24 on br66.*subnet.*allow_subnet_overlap" \
	party create x
check "br66's route survives" \
	bash -c "ip -n $(nl_ns a) route show 10.66.3.0/24 | grep -q 'dev br66'"
check "nothing left after the refusal" \
	bash -c "! ip -n $(nl_ns a) route show | grep -q 'dev lra'"
check "allow_subnet_overlap accepted" lr a settings set allow_subnet_overlap true
OUT=$(lr a party create "safety night" --json)
PARTY=$(jget party_id <<<"$OUT" 2>/dev/null)
check "party create with the override" test -n "$PARTY"
check "the stale marked lra was replaced by ours" \
	bash -c "ip -n $(nl_ns a) -d link show lra | grep -q 'alias lanrage'"
check "br66's route still there beside ours" \
	bash -c "ip -n $(nl_ns a) route show 10.66.3.0/24 | grep -q 'dev br66'"

# ---- 3. member candidates ---------------------------------------------------
# Counters in a's namespace for every datagram to a bad candidate; the port
# 4444 ones are only real at e.
nl_exec a nft -f - <<NFT
table inet dsafety {
	counter loop53 { }
	counter bad4444 { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.0.0/8 udp dport 53 counter name loop53
		ip daddr != $E_IP udp dport 4444 counter name bad4444
		ip6 daddr ::/0 udp dport 4444 counter name bad4444
	}
}
NFT
nl_spawn a "$TMP/listen53.log" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
n = 0
print("listening", flush=True)
while True:
    s.recv(2048)
    n += 1
    open(sys.argv[1], "w").write(str(n))' "$TMP/listen53.count" >/dev/null
echo 0 >"$TMP/listen53.count"
check "daemon b starts" remote b lrb
check "b joins" lr b party join "$PARTY"
VIP_B=$(lr b status --json | jget self.virtual_ip)
nl_spawn e "$TMP/evil.log" "$TOOL" --control "$CTL_URL" "${PIN_ARGS[@]}" --join "$PARTY" \
	--listen 0.0.0.0:4444 --count "$TMP/evil.count" \
	127.0.0.1:53 224.0.0.1:4444 0.0.0.0:4444 255.255.255.255:4444 169.254.1.1:4444 \
	10.66.200.200:4444 "[::1]:4444" "[ff02::1]:4444" "$E_IP:4444" >/dev/null
for _ in $(seq 100); do grep -q '^joined' "$TMP/evil.log" && break; sleep 0.1; done
check "the hostile member joined with its endpoints" grep -q '^joined' "$TMP/evil.log"
# a punches e for punch_timeout_ms at every signal (one every 2 s): wait
# until the real candidate has had probes, then a few rounds more
for _ in $(seq 150); do [ "$(cat "$TMP/evil.count" 2>/dev/null || echo 0)" -gt 5 ] && break; sleep 0.1; done
sleep 4
counter() { nl_exec a nft list counter inet dsafety "$1" | awk '/packets/ {print $2}'; }
check "a probed the hostile member's real candidate" \
	test "$(cat "$TMP/evil.count" 2>/dev/null || echo 0)" -gt 0
check "no datagram to 127.0.0.1:53 (nftables)" test "$(counter loop53)" = 0
check "no datagram reached the listener on 127.0.0.1:53" test "$(cat "$TMP/listen53.count")" = 0
check "no datagram to multicast, broadcast, 0.0.0.0, link-local, ::1, 10.66/16" \
	test "$(counter bad4444)" = 0
check "a's log names the refusals" \
	grep -q "candidate 127.0.0.1:53 refused: loopback" "$TMP/a.log"
check "a still reaches the good member b" lr a ping "$VIP_B" --count 8

# ---- 4. capabilities ----------------------------------------------------------
# CAP_NET_ADMIN (12), CAP_NET_RAW (13), CAP_BPF (39)
WANT=0000008000003000
capline() { awk -v k="$2:" '$1 == k {print $2}' "/proc/${DPID[$1]}/status"; }
check "CapEff is NET_ADMIN+NET_RAW+BPF" test "$(capline a CapEff)" = $WANT
check "CapPrm is the same" test "$(capline a CapPrm)" = $WANT
check "CapBnd is the same" test "$(capline a CapBnd)" = $WANT
check "CapInh and CapAmb empty" \
	test "$(capline a CapInh)$(capline a CapAmb)" = 00000000000000000000000000000000
check "NoNewPrivs set" test "$(capline a NoNewPrivs)" = 1
check "every thread of a has the same sets" bash -c \
	"! grep -h '^CapEff' /proc/${DPID[a]}/task/*/status | grep -v $WANT"
check "b (also reduced) passes traffic to a" lr b ping "$(lr a status --json | jget self.virtual_ip)" --count 2

# ---- 5. file modes ------------------------------------------------------------
# modes NODE: every file 0600 and every directory 0700 under $TMP/NODE
modes() {
	local bad
	bad=$(find "$TMP/$1" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) | head)
	[ -z "$bad" ] || { ls -la $bad; return 1; }
}
check "a's state dir after a join: files 0600, dirs 0700" modes a
check "b's state dir after a join: files 0600, dirs 0700" modes b
check "control server database is 0600" bash -c \
	"[ \$(stat -c %a $TMP/ctl.db) = 600 ] && ! find $TMP -maxdepth 1 -name 'ctl.db*' ! -perm 600 | grep -q ."
# local mode: the embedded control plane's control.db
check "local-mode daemon starts" daemon l lrl
check "local-mode party create" lr l party create solo
check "local-mode state dir (control.db included): files 0600, dirs 0700" modes l
check "local control.db exists" bash -c "ls $TMP/l/ | grep -q '^control.db'"

# ---- leave cleanly ------------------------------------------------------------
check "b leaves" lr b party leave
check "a leaves" lr a party leave
for n in a b l; do
	lr "$n" down >/dev/null 2>&1
	check "daemon $n exits 0" stopped_ok "$n"
done
check "lra removed, br66 and docker0 untouched" bash -c \
	"! ip -n $(nl_ns a) link show lra 2>/dev/null && ip -n $(nl_ns a) link show br66 >/dev/null &&
		ip -n $(nl_ns a) link show docker0 >/dev/null"

if [ "$FAILS" -ne 0 ]; then
	for f in "$TMP"/*.log; do echo "== $f"; tail -30 "$f"; done
fi
echo "$FAILS failure(s)"
exit "$FAILS"
