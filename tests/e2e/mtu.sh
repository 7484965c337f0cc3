#!/usr/bin/env bash
# tests/e2e/mtu.sh: every path's MTU fits its path (issue 14 part 1), in
# natlab (root), against a real lanrage-control and lanrage-relay.
#
#   rel: ra - nra (symmetric) -+              +- nrb (symmetric) - rb   relayed, path_mtu on
#   old: oa - noa (symmetric) -+-- internet --+- nob (symmetric) - ob   relayed, path_mtu false
#   dir: da (public) ----------+   relay r1   +- db (public)            direct, 1500 links
#   small: sa - nsa (full-cone) -+            +- nsb (full-cone, uplink MTU 1400) - sb
#   srel:  ta - nta (symmetric) -+            +- ntb (symmetric, uplink MTU 1400) - tb
#
# The four NAT routers of rel and old drop every IP fragment in an nftables
# prerouting chain of priority -450, before conntrack's defragmentation
# (-400): a FORWARD rule would only ever see whole datagrams. One oversize
# UDP datagram sent outside the tunnel proves the rule drops (its counter
# moves). Then, with iperf3 TCP through the tunnel, each relayed pair is
# measured without and with the drop: the pair with path MTU runs at a
# comparable rate and its router's counter does not move (no fragment left
# the host); the old pair (interface MTU 1420 on a relayed path: 1516-byte
# datagrams) crawls or stalls while the counter climbs. Status says 1392 on
# the relayed path, 1420 on the direct one and on the old pair.
# The small pair's router has a 1400-byte uplink (both ends of the veth; the
# internet side drops bigger frames without an ICMP message, a black hole)
# and clamps TCP's MSS as PPPoE routers do, so the control connection works;
# the members' MTU must fall to 1328 on both sides by probing alone, and TCP
# (checksummed transfer and iperf3) must run through the tunnel. The srel
# pair is the same relayed: 1296 on both sides (1400 - 28 - 32 - 36 = 1304,
# in 16-byte steps), TCP runs.
# Prints the rates, MTUs and the probe convergence time.
# Cleanup: nl_down on every exit path (EXIT trap set by e2e_lab).
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
e2e_require mtu
command -v iperf3 >/dev/null || { echo "mtu: iperf3 missing" >&2; exit 1; }

# small_uplink ROUTER MTU: both ends of ROUTER's uplink veth, and MSS clamping
small_uplink() {
	local r=$1 mtu=$2 peer port
	peer=$(nl_exec "$r" ip -o link show wan0 | sed -n 's/.*wan0@if\([0-9]*\).*/\1/p')
	port=$(ip -n "$(nl_ns inet)" -o link | awk -F': ' -v i="$peer" '$1 == i { sub(/@.*/, "", $2); print $2 }')
	[ -n "$port" ] || return 1
	nl_exec "$r" ip link set wan0 mtu "$mtu" &&
		ip -n "$(nl_ns inet)" link set "$port" mtu "$mtu" &&
		nl_exec "$r" nft -f - <<-EOF
		table ip mssclamp {
			chain clamp { type filter hook forward priority 0; policy accept;
				tcp flags syn tcp option maxseg size set $((mtu - 40))
			}
		}
		EOF
}

# wait_mtu NODE VIP WANT SECONDS: the member's mtu reaches WANT
wait_mtu() {
	local end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		[ "$(peer_field "$1" "$2" mtu 2>/dev/null)" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

e2e_lab mtu 1 <<'LAB' || { fail "[mtu] lab setup"; exit 1; }
router nra symmetric
host ra nra
router nrb symmetric
host rb nrb
router noa symmetric
host oa noa
router nob symmetric
host ob nob
public da
public db
router nsa full-cone
host sa nsa
router nsb full-cone
host sb nsb
router nta symmetric
host ta nta
router ntb symmetric
host tb ntb
LAB
for r in nra nrb noa nob; do frag_drop "$r" || fail "[mtu] drop rule on $r"; frag_off "$r"; done
small_uplink nsb 1400 || fail "[mtu] 1400-byte uplink on nsb"
small_uplink ntb 1400 || fail "[mtu] 1400-byte uplink on ntb"
frag_drop nsa && frag_drop nsb || fail "[mtu] drop rules on nsa, nsb"
for n in oa ob; do
	mkdir -p "$E2E_DIR/$n"
	lr "$n" settings set path_mtu false >/dev/null || fail "[mtu] path_mtu false on $n"
done
e2e_daemon ra rb oa ob da db sa sb ta tb || fail "[mtu] daemons start"
for p in "ra rb" "oa ob" "da db" "sa sb" "ta tb"; do
	set -- $p
	id=$(party_create "$1") && party_join "$2" "$id" || fail "[mtu] $1/$2: party"
done
declare -A V
for n in ra rb oa ob da db sa sb ta tb; do V[$n]=$(vip "$n"); done

# ---- relayed pairs: paths and MTUs --------------------------------------------
for p in "ra rb relay 1392" "oa ob relay 1420" "da db direct 1420"; do
	set -- $p
	wait_path "$1" "${V[$2]}" 30
	wait_path "$2" "${V[$1]}" 30
	check "[mtu] $1/$2: $3 path" test "$(peer_field "$1" "${V[$2]}" path)/$(peer_field "$2" "${V[$1]}" path)" = "$3/$3"
	if wait_mtu "$1" "${V[$2]}" "$4" 10 && wait_mtu "$2" "${V[$1]}" "$4" 5; then
		pass "[mtu] $1/$2: mtu $4 both ways"
	else
		fail "[mtu] $1/$2: mtu $(peer_field "$1" "${V[$2]}" mtu)/$(peer_field "$2" "${V[$1]}" mtu), want $4"
		dump_logs "$1" "$2"
	fi
done
note "lanrage status on ra:"
lr ra status | sed 's/^/    /'

# ---- the drop rule works ----------------------------------------------------------
frag_drop nra
c0=$(frag_count nra)
frag_send ra 203.0.113.22
sleep 0.3
c1=$(frag_count nra)
check "[mtu] nra's rule drops an oversize datagram's fragments (counter $c0 -> $c1)" test "$c1" -gt "$c0"
frag_off nra

# ---- TCP through relayed pairs, without and with the fragment drop ----------------
r_free=$(iperf_rate ra rb)
o_free=$(iperf_rate oa ob)
for r in nra nrb noa nob; do frag_drop "$r"; done
cr0=$(( $(frag_count nra) + $(frag_count nrb) ))
co0=$(( $(frag_count noa) + $(frag_count nob) ))
r_drop=$(iperf_rate ra rb)
o_drop=$(iperf_rate oa ob)
cr1=$(( $(frag_count nra) + $(frag_count nrb) ))
co1=$(( $(frag_count noa) + $(frag_count nob) ))
echo "  relayed, path MTU 1392:      $r_free Mbit/s without the drop, $r_drop Mbit/s with it ($((cr1 - cr0)) fragments dropped)"
echo "  relayed, path_mtu false (1420): $o_free Mbit/s without the drop, $o_drop Mbit/s with it ($((co1 - co0)) fragments dropped)"
check "[mtu] path MTU: TCP runs behind fragment-dropping routers" ge_pct "$r_drop" "$r_free" 40
check "[mtu] path MTU: no fragment reached the routers" test "$cr1" -eq "$cr0"
check "[mtu] old MTU: TCP runs where fragments pass (the relay sends on what came fragmented)" \
	ge_pct "$o_free" "$r_free" 20
check "[mtu] old MTU: fragments reached the routers and were dropped" test "$co1" -gt "$co0"
check "[mtu] old MTU: TCP stalls or crawls behind them (under 10 % of the new rate)" \
	bash -c '! python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) / 10 else 1)" "$1" "$2"' _ "$o_drop" "$r_drop"
check "[mtu] path MTU: 2 MiB TCP with checksum behind the drop" tcp_ok ra rb

# ---- direct pair: the 1500-byte path keeps 1420 and runs -----------------------
d_rate=$(iperf_rate da db)
echo "  direct, 1500-byte links: $d_rate Mbit/s, mtu $(peer_field da "${V[db]}" mtu)"

# ---- small uplink: probing finds 1328 -------------------------------------------
wait_path sa "${V[sb]}" 30
wait_path sb "${V[sa]}" 30
check "[mtu] sa/sb: direct path" test "$(peer_field sa "${V[sb]}" path)/$(peer_field sb "${V[sa]}" path)" = direct/direct
if wait_mtu sa "${V[sb]}" 1328 30 && wait_mtu sb "${V[sa]}" 1328 10; then
	pass "[mtu] 1400-byte uplink: mtu 1328 on both sides by probing"
else
	fail "[mtu] 1400-byte uplink: mtu $(peer_field sa "${V[sb]}" mtu)/$(peer_field sb "${V[sa]}" mtu), want 1328"
	dump_logs sa sb
fi
for n in sa sb; do
	line=$(grep -o 'path MTU 1328 ([^)]*)' "$E2E_DIR/$n.log" | tail -1)
	echo "  $n: ${line:-no settled path MTU logged}"
done
note "lanrage status on sb:"
lr sb status | sed 's/^/    /'
check "[mtu] 1400-byte uplink: 2 MiB TCP with checksum sa -> sb" tcp_ok sa sb
check "[mtu] 1400-byte uplink: 2 MiB TCP with checksum sb -> sa" tcp_ok sb sa
s_rate=$(iperf_rate sa sb)
cs=$(( $(frag_count nsa) + $(frag_count nsb) ))
echo "  1400-byte uplink, path MTU 1328: $s_rate Mbit/s ($cs fragments dropped at nsa/nsb)"
check "[mtu] 1400-byte uplink: iperf3 TCP runs" ge_pct "$s_rate" "$r_free" 20
check "[mtu] 1400-byte uplink: no fragment reached the routers" test "$cs" -eq 0

# ---- small uplink, relayed: 1296 ---------------------------------------------------
wait_path ta "${V[tb]}" 30
wait_path tb "${V[ta]}" 30
check "[mtu] ta/tb: relay path" test "$(peer_field ta "${V[tb]}" path)/$(peer_field tb "${V[ta]}" path)" = relay/relay
if wait_mtu ta "${V[tb]}" 1296 30 && wait_mtu tb "${V[ta]}" 1296 10; then
	pass "[mtu] 1400-byte uplink, relayed: mtu 1296 on both sides by probing"
else
	fail "[mtu] 1400-byte uplink, relayed: mtu $(peer_field ta "${V[tb]}" mtu)/$(peer_field tb "${V[ta]}" mtu), want 1296"
	dump_logs ta tb
fi
for n in ta tb; do
	line=$(grep -o 'path MTU 1296 ([^)]*)' "$E2E_DIR/$n.log" | tail -1)
	echo "  $n: ${line:-no settled path MTU logged}"
done
check "[mtu] 1400-byte uplink, relayed: 2 MiB TCP with checksum ta -> tb" tcp_ok ta tb
check "[mtu] 1400-byte uplink, relayed: 2 MiB TCP with checksum tb -> ta" tcp_ok tb ta
t_rate=$(iperf_rate ta tb)
echo "  1400-byte uplink, relayed, path MTU 1296: $t_rate Mbit/s"
check "[mtu] 1400-byte uplink, relayed: iperf3 TCP runs" ge_pct "$t_rate" "$r_free" 40

echo "mtu: $PASSES passed, $FAILS failed ($SECONDS s)"
[ "$FAILS" -eq 0 ]
