# tests/e2e/lib.sh: shared setup for the end-to-end scenarios (source it).
#
#   e2e_require NAME           exits 1 (messages prefixed NAME) unless root and
#                              lanrage, lanrage-control, lanrage-relay are built
#   e2e_lab LAB RELAYS <<DESC  natlab with a control server (203.0.113.30, or
#                              CTL_LISTEN, e.g. [::]:8667 for IPv6 too) and
#                              RELAYS relays r1.. (203.0.113.2N, STUN on .2N
#                              and .2N+100... see below) plus the nodes in DESC
#   e2e_daemon NODE            start `lanrage daemon` on NODE, wait for its API
#   lr NODE ARGS...            the CLI against NODE's daemon
#   jget PATH                  a field of the JSON on stdin (a.0.b)
#   vip NODE                   NODE's virtual IP
#   peer_field NODE VIP FIELD  a field of NODE's member with that virtual IP
#   wait_path NODE VIP S       waits until the member is no longer connecting
#   ping_ok NODE VIP           system ping over the tunnel (retried a few times)
#   ping_lossy NODE VIP        the same for links that lose a third of the pings
#   pairs_ping CHECK NODE...   CHECK (ping_ok, ping_lossy) for every directed pair
#   nat_readdr ROUTER NEW      the NAT's public address becomes NEW
#   uplink_loss NODE ROUTER PCT TABLE  random loss each way on NODE's uplink
#   tcp_ok FROM TO             2 MiB over TCP from FROM to TO's virtual IP,
#                              sha256 compared on both ends
#   iperf_rate FROM TO         Mbit/s of iperf3 TCP (IPERF_S seconds, 4) from
#                              FROM to TO's virtual IP
#   ge_pct A B PCT             true when A is at least PCT % of B
#   frag_drop ROUTER [ip|ip6]  every IPv4 (ip, default) or IPv6 fragment that
#                              arrives at ROUTER dropped and counted, before
#                              conntrack reassembles it; frag_off removes the
#                              rule, frag_count prints its counter
#   frag_send NODE ADDR        one 3000-byte UDP datagram to ADDR (v4 or v6),
#                              left by NODE as fragments
#   pass/fail/check            PASS/FAIL lines, counted in FAILS
#
# Every lab is torn down by nl_down: on EXIT (trap set by e2e_lab) and by
# e2e_lab_down between scenarios.
set -uo pipefail
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$E2E_ROOT/build}
LANRAGE=$BUILD/lanrage
source "$E2E_ROOT/tests/natlab/lib.sh"

E2E_TMP=$(mktemp -d /tmp/lre2e.XXXXXX)
CTL_URL=wss://203.0.113.30:8667
SECRET=e2e-secret-$RANDOM
FAILS=0
PASSES=0
declare -gA DPID RELAY_PID

e2e_require() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1: needs root (network namespaces)" >&2
		exit 1
	fi
	for b in lanrage lanrage-control lanrage-relay; do
		[ -x "$BUILD/$b" ] || { echo "$1: $BUILD/$b missing (make)" >&2; exit 1; }
	done
}

pass() { echo "PASS $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # NAME CMD...
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
note() { echo "  $*"; }

e2e_cleanup() {
	nl_down
	if [ -n "${KEEP:-}" ]; then echo "kept $E2E_TMP"; else rm -rf "$E2E_TMP"; fi
}

# e2e_lab LAB NRELAYS: the description of the players on stdin.
e2e_lab() {
	local lab=$1 nrel=$2 i desc
	desc=$(cat)
	nl_init "$lab$((RANDOM % 1000))" # a random suffix: concurrent runs do not collide
	trap 'rc=$?; e2e_cleanup; exit $rc' EXIT
	mkdir -p "$E2E_TMP/$lab"
	E2E_DIR=$E2E_TMP/$lab
	CTL_PIN= # a new lab's control server has its own certificate
	{
		echo "server ctl 203.0.113.30"
		for i in $(seq "$nrel"); do
			echo "server r$i 203.0.113.$((20 + 2 * i)) 203.0.113.$((21 + 2 * i))"
		done
		echo "$desc"
	} | nl_build || return 1
	e2e_ctl_start || return 1
	for i in $(seq "$nrel"); do e2e_relay_start "r$i" || return 1; done
}

# e2e_stop_daemons: SIGTERM to every daemon at once (each leaves the party
# and removes its interface); true when all exited 0 within 20 s
e2e_stop_daemons() {
	local n pid rc bad=0
	for n in "${!DPID[@]}"; do kill -TERM "${DPID[$n]}" 2>/dev/null; done
	for n in "${!DPID[@]}"; do
		pid=${DPID[$n]}
		for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && { note "daemon $n still running 20 s after SIGTERM"; bad=1; continue; }
		wait "$pid" 2>/dev/null
		rc=$?
		[ "$rc" -eq 0 ] || { note "daemon $n exited with $rc"; bad=1; }
	done
	DPID=()
	return $bad
}

e2e_lab_down() {
	nl_down
	DPID=()
	RELAY_PID=()
}

e2e_ctl_start() {
	# a restart within a lab keeps the certificate beside the database: same pin
	[ -n "${CTL_PIN:-}" ] || nl_control_tls "$E2E_DIR" || return 1
	nl_spawn ctl "$E2E_DIR/ctl.log.$RANDOM" "$BUILD/lanrage-control" --listen "${CTL_LISTEN:-203.0.113.30:8667}" \
		--db "$E2E_DIR/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" >/dev/null
	CTL_PID=${NL_PIDS[-1]}
	for _ in $(seq 50); do
		nl_exec ctl ss -ltnH 2>/dev/null | grep ':8667 ' >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# e2e_relay_start rN: relay N on 203.0.113.(20+2N), STUN on it and the next address
e2e_relay_start() {
	local r=$1 n=${1#r} a b
	a=203.0.113.$((20 + 2 * n))
	b=203.0.113.$((21 + 2 * n))
	nl_spawn "$r" "$E2E_DIR/$r.log" "$BUILD/lanrage-relay" --listen "$a:51821" \
		--stun "$a" --stun "$b" --key "$E2E_DIR/$r.key" --control "$CTL_URL" \
		--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
		--public-endpoint "$a:51821" --name "$r" >/dev/null
	RELAY_PID[$r]=${NL_PIDS[-1]}
	e2e_relay_registered "$r"
}

# e2e_relay_registered rN: waits up to 10 s for the relay to log its registration
e2e_relay_registered() {
	for _ in $(seq 100); do
		grep -qi 'registered' "$E2E_DIR/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

lr() { # NODE ARGS...
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$E2E_DIR/$node"
}

# e2e_daemon NODE...: starts each daemon, then waits for every API
e2e_daemon() {
	local node ok=0
	for node in "$@"; do
		mkdir -p "$E2E_DIR/$node"
		nl_spawn "$node" "$E2E_DIR/$node.log" "$LANRAGE" daemon --control "$CTL_URL" \
			--control-pin "$CTL_PIN" \
			--state-dir "$E2E_DIR/$node" --interface "lr$node" --name "$node" \
			--log-level debug >/dev/null
		DPID[$node]=${NL_PIDS[-1]}
	done
	for node in "$@"; do
		for _ in $(seq 150); do
			lr "$node" status >/dev/null 2>&1 && continue 2
			sleep 0.1
		done
		echo "  daemon $node did not answer" >&2
		ok=1
	done
	return $ok
}

jget() {
	python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"
}

vip() { lr "$1" status --json | jget self.virtual_ip; }

# party_create NODE -> prints the party ID
party_create() { lr "$1" party create "e2e $1" --json | jget party_id; }
party_join() { lr "$1" party join "$2" >/dev/null; }

peer_field() { # NODE VIP FIELD
	lr "$1" status --json | python3 -c 'import json,sys
st = json.load(sys.stdin)
for m in st.get("members", []):
    if m["virtual_ip"] == sys.argv[1]:
        v = m
        for k in sys.argv[2].split("."):
            v = v.get(k) if isinstance(v, dict) else None
        print("" if v is None else v)
        break' "$2" "$3"
}

# wait_path NODE VIP SECONDS: the member is known and no longer connecting
wait_path() {
	local p end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		p=$(peer_field "$1" "$2" path 2>/dev/null)
		[ -n "$p" ] && [ "$p" != connecting ] && return 0
		sleep 0.3
	done
	return 1
}

# wait_members NODE N SECONDS
wait_members() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		[ "$(lr "$1" status --json 2>/dev/null |
			python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("members",[])))')" = "$2" ] &&
			return 0
		sleep 0.3
	done
	return 1
}

# wait_control NODE SECONDS: the daemon is connected to the control plane
wait_control() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		[ "$(lr "$1" status --json 2>/dev/null | jget control.connected 2>/dev/null)" = True ] &&
			return 0
		sleep 0.5
	done
	return 1
}

ping_ok() { # NODE VIP: up to 10 single pings, any 2 in a row answered
	local ok=0
	for _ in $(seq 10); do
		if nl_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; then
			ok=$((ok + 1))
			[ $ok -ge 2 ] && return 0
		else
			ok=0
		fi
	done
	return 1
}

both_ping() { ping_ok "$1" "$2" && ping_ok "$3" "$4"; } # A VIP_B B VIP_A

# nat_readdr ROUTER NEW: the NAT's public address becomes NEW (a new DHCP
# lease): the old one deleted (the new one promoted, not deleted with it as
# a secondary), every mapping forgotten (conntrack -F) and nothing sent to
# the old address arrives any more (the lab's bridge would still deliver it
# to the router, whose restricted-cone rules would forward it)
nat_readdr() {
	local old
	old=$(nl_exec "$1" ip -4 -o addr show dev wan0 | awk '{print $4}' | head -1)
	nl_exec "$1" sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1 &&
		nl_exec "$1" ip addr add "$2/24" dev wan0 && nl_exec "$1" ip addr del "$old" dev wan0 &&
		nl_exec "$1" nft -f - <<EOF && nl_exec "$1" conntrack -F >/dev/null 2>&1
table ip lrold {
 chain pre { type filter hook prerouting priority -300; policy accept;
  ip daddr ${old%/*} counter drop
 }
}
EOF
}

# uplink_loss NODE ROUTER PCT TABLE: PCT % of the packets dropped each way
# on NODE's uplink (nftables `numgen random`: this kernel has no netem), in
# ROUTER's forward hook, or with ROUTER "" in the public NODE's own input
# and output hooks; the rules live in table inet TABLE, with counters
uplink_loss() {
	local node=$1 r=$2 pct=$3 t=$4
	if [ -n "$r" ]; then
		nl_exec "$r" nft -f - <<EOF
table inet $t {
 chain lossfwd { type filter hook forward priority -10; policy accept;
  iifname "wan0" numgen random mod 100 < $pct counter drop
  oifname "wan0" numgen random mod 100 < $pct counter drop
 }
}
EOF
	else
		nl_exec "$node" nft -f - <<EOF
table inet $t {
 chain lossin { type filter hook input priority -10; policy accept;
  iifname "eth0" numgen random mod 100 < $pct counter drop
 }
 chain lossout { type filter hook output priority -10; policy accept;
  oifname "eth0" numgen random mod 100 < $pct counter drop
 }
}
EOF
	fi
}

# ping_lossy NODE VIP: 20 pings 0.2 s apart, at least 5 answered. For links
# that lose a third of the round trips, where ping_ok fails 1 time in 40
# (2 in a row within 10) and 5 of 20 fails 1 time in 25,000.
ping_lossy() {
	local got
	got=$(nl_exec "$1" ping -n -q -c 20 -i 0.2 -W 1 "$2" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
	[ "${got:-0}" -ge 5 ]
}

# pairs_ping CHECK NODE...: CHECK FROM VIP for every directed pair of the
# nodes; notes each pair that fails, sets PAIRS_OK and PAIRS_ALL, and
# returns 0 when every pair answered
pairs_ping() {
	local check=$1 a b
	shift
	PAIRS_OK=0 PAIRS_ALL=0
	for a; do
		for b; do
			[ "$a" = "$b" ] && continue
			PAIRS_ALL=$((PAIRS_ALL + 1))
			"$check" "$a" "$(vip "$b")" && PAIRS_OK=$((PAIRS_OK + 1)) || note "$a -> $b: no answer"
		done
	done
	[ $PAIRS_OK -eq $PAIRS_ALL ]
}

# tcp_ok FROM TO: FROM sends 2 MiB of random bytes to TO's virtual IP
tcp_ok() {
	local from=$1 to=$2 tvip sent got port=$((40000 + RANDOM % 20000))
	tvip=$(vip "$to")
	head -c $((2 * 1024 * 1024)) /dev/urandom >"$E2E_DIR/tcp.$from.$to"
	sent=$(sha256sum <"$E2E_DIR/tcp.$from.$to" | cut -d' ' -f1)
	nl_exec "$to" timeout 30 python3 -c '
import socket, sys, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256()
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b)
print(h.hexdigest())' "$tvip" "$port" >"$E2E_DIR/tcp.$from.$to.sum" 2>&1 &
	local lpid=$!
	# The sink may not listen yet on a loaded machine: a refusal is retried.
	nl_exec "$from" timeout 30 python3 -c '
import socket, sys, time
for i in range(50):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
        break
    except ConnectionRefusedError:
        if i == 49: raise
        time.sleep(0.1)
s.sendall(open(sys.argv[3], "rb").read()); s.close()' "$tvip" "$port" "$E2E_DIR/tcp.$from.$to"
	wait "$lpid"
	got=$(cat "$E2E_DIR/tcp.$from.$to.sum")
	rm -f "$E2E_DIR/tcp.$from.$to"
	[ "$got" = "$sent" ] || { note "tcp $from -> $to: sent $sent got '$got'"; return 1; }
}

# iperf_rate FROM TO -> Mbit/s of TCP from FROM to TO's virtual IP ("0" when
# nothing came through in time)
iperf_rate() {
	local from=$1 to=$2 tvip port=$((5201 + RANDOM % 1000)) out secs=${IPERF_S:-4}
	tvip=$(vip "$to")
	nl_exec "$to" timeout $((secs + 20)) iperf3 -s -1 -B "$tvip" -p "$port" >/dev/null 2>&1 &
	local spid=$!
	sleep 0.5
	out=$(nl_exec "$from" timeout $((secs + 15)) iperf3 -c "$tvip" -p "$port" -t "$secs" \
		--connect-timeout 5000 -J 2>/dev/null)
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	python3 -c 'import json,sys
try:
    print("%.1f" % (json.loads(sys.argv[1])["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("0")' "$out"
}

# ge_pct A B PCT: A is at least PCT percent of B
ge_pct() { python3 -c 'import sys; a, b, p = map(float, sys.argv[1:]); sys.exit(0 if a >= b * p / 100 else 1)' "$@"; }

# frag_drop ROUTER [ip|ip6]: every fragment of that family arriving at ROUTER
# dropped, in a prerouting chain of priority -450 (table FAMILY mtufrag):
# before conntrack's defragmentation (-400), where a forward rule would only
# ever see whole datagrams. An IPv6 router never fragments, so there the
# fragments can only come from the hosts behind it or from the far side.
frag_drop() {
	local match='ip frag-off & 0x3fff != 0'
	[ "${2:-ip}" = ip6 ] && match='exthdr frag exists'
	nl_exec "$1" nft -f - <<EOF
table ${2:-ip} mtufrag {
 chain pre { type filter hook prerouting priority -450; policy accept;
  $match counter drop
 }
}
EOF
}
frag_off() { nl_exec "$1" nft delete table "${2:-ip}" mtufrag 2>/dev/null; }
frag_count() { # ROUTER [ip|ip6] -> packets the drop rule counted
	nl_exec "$1" nft list chain "${2:-ip}" mtufrag pre 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}

# frag_send NODE ADDR: 3000 bytes of UDP to ADDR port 9 (discard), which
# NODE's kernel fragments (IP_MTU_DISCOVER / IPV6_MTU_DISCOVER = DONT)
frag_send() {
	nl_exec "$1" python3 -c 'import socket, sys
a = sys.argv[1]
if ":" in a:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, 23, 0)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 10, 0)
s.sendto(b"x" * 3000, (a, 9))' "$2"
}

# ms since the epoch (for durations)
now_ms() { date +%s%3N; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

# dump_logs NODE...: the tail of each daemon's log (after a failure)
dump_logs() {
	local n
	for n in "$@"; do
		echo "  == $n"
		grep -E 'conn|party' "$E2E_DIR/$n.log" 2>/dev/null | tail -15 | sed 's/^/    /'
	done
}
