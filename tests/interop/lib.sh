# tests/interop/lib.sh: shared helpers for the interop tests. Source it.
#
# Every test builds its own network namespaces named lr<PID><suffix> and
# cleans them up on every exit path (EXIT/INT/TERM trap): daemons it started
# are killed by PID, namespaces deleted (which removes their veths and TUNs),
# leftover UAPI sockets removed. Traffic stays inside those namespaces.
#
# Underlay: hosts sit on a bridge in a hub namespace, 192.0.2.<n>/24 and
# fd00:2::<n>/64. Tunnel: 10.99.0.<n>/24 and fd99::<n>/64.

set -euo pipefail

LR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LR_WG=${LR_WG:-$LR_ROOT/build/lanrage-wg}
LR_ID=${LR_ID:-$$}
LR_HUB="lr${LR_ID}hub"
LR_NS=()
LR_HOSTS=()
LR_PIDS=()
LR_IFACES=()
LR_TMP=$(mktemp -d /tmp/lrtest.XXXXXX)

lr_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
lr_fail() {
	echo "FAIL: $*" >&2
	lr_dump_state
	exit 1
}

lr_dump_state() {
	for i in "${!LR_IFACES[@]}"; do
		local ns=${LR_NS[$i]} ifc=${LR_IFACES[$i]}
		echo "--- wg show $ifc (ns $ns)" >&2
		wg show "$ifc" 2>&1 | sed 's/^/    /' >&2 || true
		[ -f "$LR_TMP/$ifc.log" ] && tail -20 "$LR_TMP/$ifc.log" | sed 's/^/    log: /' >&2
	done
}

lr_cleanup() {
	local rc=$?
	set +e
	for pid in "${LR_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${LR_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$pid" 2>/dev/null
	done
	for ns in "${LR_HOSTS[@]}" "$LR_HUB"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ifc in "${LR_IFACES[@]}"; do
		rm -f "/var/run/wireguard/$ifc.sock"
	done
	rm -rf "$LR_TMP"
	exit $rc
}
trap lr_cleanup EXIT
trap 'exit 130' INT TERM

# lr_hub: creates the hub namespace with bridge br0.
lr_hub() {
	ip netns add "$LR_HUB"
	ip -n "$LR_HUB" link add br0 type bridge
	ip -n "$LR_HUB" link set br0 up
	ip -n "$LR_HUB" link set lo up
}

# lr_host N: namespace lr<ID>h<N>, attached to the hub bridge, underlay .N.
lr_host() {
	local n=$1 ns
	ns=$(lr_ns "$1")
	ip netns add "$ns"
	LR_HOSTS+=("$ns")
	ip -n "$ns" link set lo up
	ip link add "v$n" netns "$LR_HUB" type veth peer name eth0 netns "$ns"
	ip -n "$LR_HUB" link set "v$n" master br0 up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" addr add "192.0.2.$n/24" dev eth0
	ip -n "$ns" addr add "fd00:2::$n/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
}

lr_ns() { echo "lr${LR_ID}h$1"; }
lr_ifname() { echo "lrw${LR_ID}$1" | cut -c1-15; }

# lr_start IMPL N: starts IMPL (lanrage|wggo) on host N with interface lrw<ID><N>.
lr_start() {
	local impl=$1 n=$2 ns ifc pid
	ns=$(lr_ns "$n")
	ifc=$(lr_ifname "$n")
	rm -f "/var/run/wireguard/$ifc.sock"
	case $impl in
	lanrage)
		ip netns exec "$ns" env LOG_LEVEL="${LR_LOG_LEVEL:-info}" ${LR_ENV:-} \
			"$LR_WG" -f "$ifc" >"$LR_TMP/$ifc.log" 2>&1 &
		pid=$!
		;;
	wggo)
		ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${LR_GO_LOG_LEVEL:-error}" \
			wireguard-go -f "$ifc" >"$LR_TMP/$ifc.log" 2>&1 &
		pid=$!
		;;
	*) lr_fail "unknown implementation $impl" ;;
	esac
	LR_PIDS+=("$pid")
	LR_NS+=("$ns")
	LR_IFACES+=("$ifc")
	for _ in $(seq 100); do
		[ -S "/var/run/wireguard/$ifc.sock" ] && ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || lr_fail "$impl on host $n exited at start: $(cat "$LR_TMP/$ifc.log")"
		sleep 0.05
	done
	[ -S "/var/run/wireguard/$ifc.sock" ] || lr_fail "$impl on host $n: no UAPI socket"
	(umask 077; wg genkey >"$LR_TMP/$n.key")
	wg pubkey <"$LR_TMP/$n.key" >"$LR_TMP/$n.pub"
	wg set "$ifc" private-key "$LR_TMP/$n.key" listen-port $((51820 + n))
	ip -n "$ns" addr add "10.99.0.$n/24" dev "$ifc"
	ip -n "$ns" addr add "fd99::$n/64" dev "$ifc" nodad
	ip -n "$ns" link set "$ifc" mtu "${LR_MTU:-1420}" up
	lr_log "started $impl on host $n ($ifc, pid $pid)"
}

lr_pub() { cat "$LR_TMP/$1.pub"; }

# lr_want_queues: how many queues a lanrage-wg device started here should have:
# one per CPU it may run on, at most 4, and only as many as leave every class
# (CPU % n) with one of those CPUs (so min(nproc, 4) when the CPUs are numbered
# without gaps); 1 when LR_ENV turns multiqueue off.
lr_want_queues() {
	case ${LR_ENV:-} in *LR_WG_DISABLE=*multiqueue*) echo 1; return ;; esac
	python3 -c '
import os
cpus = os.sched_getaffinity(0)
n = min(len(cpus), 4)
while n > 1 and not all(any(c % n == i for c in cpus) for i in range(n)):
    n -= 1
print(n)'
}

# lr_queues N WANT: host N's interface has WANT queues: `ip -d link` shows
# numqueues WANT (a single-queue TUN shows no count), and WANT UDP sockets are
# bound to its listen port (one per queue).
lr_queues() {
	local n=$1 want=$2 ns ifc tun socks
	ns=$(lr_ns "$n")
	ifc=$(lr_ifname "$n")
	tun=$(ip -n "$ns" -d link show "$ifc" | grep -o 'numqueues [0-9]*' | cut -d' ' -f2)
	socks=$(ip netns exec "$ns" ss -Huan "sport = :$((51820 + n))" | wc -l)
	lr_log "host $n: numqueues ${tun:-(none)}, $socks UDP socket(s) on port $((51820 + n)), want $want"
	[ "${tun:-1}" = "$want" ] && [ "$socks" = "$want" ]
}

# lr_peer A B [extra wg set args...]: makes B a peer of A. The endpoint is B's
# IPv4 underlay unless LR_UNDERLAY=6.
lr_peer() {
	local a=$1 b=$2
	shift 2
	local ep="192.0.2.$b:$((51820 + b))"
	[ "${LR_UNDERLAY:-4}" = 6 ] && ep="[fd00:2::$b]:$((51820 + b))"
	wg set "$(lr_ifname "$a")" peer "$(lr_pub "$b")" endpoint "$ep" \
		allowed-ips "10.99.0.$b/32,fd99::$b/128" "$@"
}

# lr_peer_noendpoint A B: B is a peer of A, but A only learns B's endpoint when B talks.
lr_peer_noendpoint() {
	local a=$1 b=$2
	shift 2
	wg set "$(lr_ifname "$a")" peer "$(lr_pub "$b")" allowed-ips "10.99.0.$b/32,fd99::$b/128" "$@"
}

# lr_ping FROM TO [4|6] [size]: in-tunnel ping, succeeds if 3 replies come back
# within LR_PING_WITHIN seconds (default 10).
lr_ping() {
	local from=$1 to=$2 fam=${3:-4} size=${4:-56} dst
	dst="10.99.0.$to"
	[ "$fam" = 6 ] && dst="fd99::$to"
	ip netns exec "$(lr_ns "$from")" ping -"$fam" -c 3 -i 0.2 -W 2 -w "${LR_PING_WITHIN:-10}" -M do -s "$size" "$dst" >"$LR_TMP/ping.out" 2>&1 ||
		{ cat "$LR_TMP/ping.out" >&2; return 1; }
}

lr_no_ping() {
	local from=$1 to=$2
	! ip netns exec "$(lr_ns "$from")" ping -c 2 -i 0.3 -W 1 -w 3 "10.99.0.$to" >/dev/null 2>&1
}

# lr_transfer FROM TO [4|6] [MiB]: TCP transfer of random data, checked by sha256.
lr_transfer() {
	local from=$1 to=$2 fam=${3:-4} mib=${4:-8} dst port=5201
	dst="10.99.0.$to"
	[ "$fam" = 6 ] && dst="fd99::$to"
	head -c $((mib * 1024 * 1024)) /dev/urandom >"$LR_TMP/send.bin"
	rm -f "$LR_TMP/recv.bin"
	ip netns exec "$(lr_ns "$to")" python3 "$LR_ROOT/tests/interop/tcpsink.py" "$fam" "$port" "$LR_TMP/recv.bin" &
	local sink=$!
	LR_PIDS+=("$sink")
	ip netns exec "$(lr_ns "$from")" python3 "$LR_ROOT/tests/interop/tcpsource.py" "$dst" "$port" "$LR_TMP/send.bin" ||
		{ kill "$sink" 2>/dev/null; return 1; }
	wait "$sink" || return 1
	[ "$(sha256sum <"$LR_TMP/send.bin")" = "$(sha256sum <"$LR_TMP/recv.bin")" ] ||
		{ echo "checksum mismatch" >&2; return 1; }
}

# lr_wait_handshake A B: waits until A reports a handshake with B.
lr_wait_handshake() {
	local a=$1 b=$2 t
	for _ in $(seq 100); do
		t=$(wg show "$(lr_ifname "$a")" latest-handshakes | awk -v k="$(lr_pub "$b")" '$1==k {print $2}')
		[ -n "$t" ] && [ "$t" != 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# lr_run NAME CMD...: runs one check inside a test, failing the test on error.
lr_check() {
	local name=$1
	shift
	if "$@"; then
		lr_log "ok: $name"
	else
		lr_fail "$name"
	fi
}
