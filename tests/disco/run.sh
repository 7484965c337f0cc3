#!/usr/bin/env bash
# tests/disco/run.sh: LAN game discovery across a party, proven with real game
# software in natlab (root; issue 11). One lab for every case: a real
# lanrage-control and lanrage-relay, eleven daemons in four parties, one host
# with no daemon:
#   party A: a (full-cone) + b (port-restricted-cone): a direct pair
#   party S: s1 + s2 (both symmetric): a relayed pair
#   party P: p1..p4 (full-cone, restricted, port-restricted, symmetric)
#   party L: l1 + l2 behind one router (one L2 segment), l3 elsewhere
#   o1: behind its own NAT, no daemon
# Cases (each a PASS/FAIL line), after a check that discovery is on by default
# on every daemon with every status counter present:
#   a. a real openarena-server on a (and on s1); b (s2) sends what the
#      OpenArena client sends (getinfo to 255.255.255.255:27960-27963, twice)
#      and gets infoResponse from the server's virtual IP; direct and relayed;
#      the second round counts as duplicates
#   b. a real OpenTTD 13 dedicated server on a; b sends 03 00 00 to its own
#      LAN's broadcast address on 3979 and gets 03 00 01 from a's virtual IP
#   c. Minecraft's pattern in Java (McAnnounce/McListen here): a announces to
#      224.0.2.60:4445 from a plain socket, b's MulticastSocket(4445) joined
#      without an interface gets each announcement once, from a's virtual IP;
#      `lanrage games` on b lists OpenArena, OpenTTD and Minecraft on a; l3,
#      which did not join the group, gets none of l1's multicast
#   d. four players announce on 6112 (Warcraft III style, source port 6112):
#      each gets every other's announcements exactly once, never its own
#      through the tunnel; o1 (no daemon) and s1 (another party) get nothing
#   e. same LAN: l2 gets l1's broadcast once (the physical one, no tunnel
#      copy), l3 gets the tunnel copy, l1's same_lan counter grows; a
#      broadcast to the virtual subnet reaches both through the tunnel
#   f. a broadcast storm (10 000/s on 6112 for 5 s, from 10 sockets of a): b
#      gets at most what the per-source and the node's limits allow,
#      rate_limited grows, ping a -> b stays
#      answered, a's daemon stays under 50% of a core (CPU_LIMIT_PCT), and
#      discovery works again after it
#   g. mDNS (5353) and DHCP (67) are denied even when in lan_discovery_ports;
#      lan_discovery_allow_system=5353, set live, lets mDNS through; a port of
#      no game (9999) is not forwarded; Minecraft's port to another group is
#      counted in not_game; a datagram over the tunnel's MTU or fragmented is
#      not forwarded
#   h. lan_discovery false/true applies live; a bad value is refused (exit 1)
#      and changes nothing
#   i. lan_discovery_mode 27960-27963=native on b: the query still gets a's
#      OpenArena answer, a counts a native delivery
# Groups of cases that use different daemons run at once (a/i/b/c, a-relay/g/h,
# d, e); the storm runs alone at the end. Ends with "disco: N passed, N
# failed"; exit status 0 only when nothing failed. Cleanup: nl_down on every
# exit path (the EXIT trap e2e_lab sets). KEEP=1 keeps the logs.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../e2e/lib.sh"
e2e_require disco
OA=/usr/games/openarena-server
TTD=/usr/games/openttd
for t in "$OA" "$TTD" /usr/share/games/openttd/baseset/opengfx java javac python3; do
	[ -e "$t" ] || command -v "$t" >/dev/null ||
		{ echo "disco: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done
DG=$HERE/dgram.py
# the interpreter itself: a version manager's shim costs a quarter second a start
PY=$(python3 -c 'import sys; print(sys.executable)')
T0=$SECONDS
# the Java programs compile while the lab comes up
JAVA_DIR=$E2E_TMP/java
mkdir -p "$JAVA_DIR"
javac -nowarn -d "$JAVA_DIR" "$HERE/McAnnounce.java" "$HERE/McListen.java" >"$E2E_TMP/javac.log" 2>&1 &
JAVAC_PID=$!
CPU_LIMIT_PCT=${CPU_LIMIT_PCT:-50}
# the storm comes from this many sockets (sources) at once: with 10 the node's
# limit binds as well as each source's
STORM_SOURCES=${STORM_SOURCES:-10}
OA_QUERY='\xff\xff\xff\xffgetinfo xxx'
A2S_INFO='\xff\xff\xff\xffTSource Engine Query\x00'

# ---- helpers ---------------------------------------------------------------------

# disco NODE FIELD: a field of NODE's lan_discovery status object
# (printed as Python prints it: True, False, numbers; None when absent)
disco() {
	lr "$1" status --json 2>/dev/null |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["lan_discovery"].get(sys.argv[1]))' "$2" 2>/dev/null
}

# disco_dump NODE...: the lan_discovery object and the daemon's disco log lines
disco_dump() {
	local n
	for n in "$@"; do
		echo "  == $n: lan_discovery $(lr "$n" status --json 2>/dev/null |
			python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("lan_discovery")))' 2>&1)"
		grep -iE 'disco|broadcast|multicast' "$E2E_DIR/$n.log" 2>/dev/null | tail -8 | sed 's/^/    /'
	done
}

# dg_spawn NODE OUT ARGS...: dgram.py ARGS in NODE in the background (tracked
# by natlab); waits until it says "ready" when it is a listener. Sets DG_PID.
dg_spawn() {
	local node=$1 out=$2
	shift 2
	nl_spawn "$node" "$out" "$PY" "$DG" "$@" >/dev/null
	DG_PID=${NL_PIDS[-1]}
	case $1 in listen | announce)
		for _ in $(seq 100); do
			grep -q '^ready' "$out" 2>/dev/null && return 0
			sleep 0.05
		done
		note "dgram.py $1 on $node did not start: $(cat "$out")"
		return 1
		;;
	esac
}

dg() { # NODE ARGS...: dgram.py in NODE, in the foreground
	local node=$1
	shift
	nl_exec "$node" "$PY" "$DG" "$@"
}

# dg_stop PID...: listeners done (what is in flight arrives first)
dg_stop() {
	sleep 0.5
	kill "$@" 2>/dev/null
	wait "$@" 2>/dev/null
}

# count FILE REGEX: lines of FILE matching REGEX (extended)
count() {
	local n
	n=$(grep -cE "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

wait_udp() { # NODE PORT SECONDS: something listens on UDP PORT in NODE
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		nl_exec "$1" ss -ulnH 2>/dev/null | grep -q ":$2 " && return 0
		sleep 0.2
	done
	return 1
}

lan_bcast() { # NODE: the broadcast address of its eth0
	nl_exec "$1" ip -4 -o addr show dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "brd") print $(i + 1)}'
}

# oa_start NODE: a real openarena-server on UDP 27960, HOME in a scratch dir
oa_start() {
	local node=$1
	mkdir -p "$E2E_DIR/oa.$node"
	nl_spawn "$node" "$E2E_DIR/oa.$node.log" env HOME="$E2E_DIR/oa.$node" "$OA" \
		+set dedicated 1 +set sv_master1 "" +set sv_master2 "" +set sv_master3 "" \
		+set net_port 27960 +set sv_hostname "lab-$node" +map oa_dm1 >/dev/null
	wait_udp "$node" 27960 40 || { note "openarena-server on $node: no UDP 27960"; tail -5 "$E2E_DIR/oa.$node.log"; return 1; }
}

# oa_query NODE OUT: the OpenArena client's LAN search from NODE
oa_query() { dg "$1" query 255.255.255.255 27960-27963 "$OA_QUERY" 2 2 >"$2" 2>&1; }

# oa_answered OUT VIP: an infoResponse from VIP:27960 in OUT
oa_answered() { grep -qE "^FROM $2 27960 (\\\\xff){4}infoResponse" "$1"; }

# ttd_start NODE: a real OpenTTD dedicated server (small map, no advertising)
ttd_start() {
	local node=$1 home=$E2E_DIR/ttd.$1
	mkdir -p "$home/.config/openttd"
	cat >"$home/.config/openttd/openttd.cfg" <<'CFG'
[misc]
graphicsset = OpenGFX
[network]
server_game_type = local
server_name = lab ttd
client_name = lab host
[game_creation]
map_x = 6
map_y = 6
CFG
	nl_spawn "$node" "$E2E_DIR/ttd.$node.log" env HOME="$home" "$TTD" -D -d net=7 >/dev/null
	# it answers queries once the map is generated
	for _ in $(seq 300); do
		grep -q 'starting game' "$E2E_DIR/ttd.$node.log" 2>/dev/null && return 0
		sleep 0.1
	done
	note "openttd on $node did not start: $(tail -3 "$E2E_DIR/ttd.$node.log")"
	return 1
}

# games_has NODE NAME_REGEX HOST VIP PORT: `lanrage games --json` on NODE
# lists that game hosted by member HOST at VIP:PORT, seen in the last minute
games_has() {
	lr "$1" games --json 2>/dev/null | "$PY" -c '
import json, re, sys
d = json.load(sys.stdin)
ok = any(re.search(sys.argv[1], g.get("game", ""), re.I) and g.get("member") == sys.argv[2]
         and g.get("virtual_ip") == sys.argv[3] and str(g.get("port")) == sys.argv[4]
         and g.get("peer_id") and 0 <= float(g.get("last_seen_s", -1)) < 60
         for g in d.get("games", []))
sys.exit(0 if ok else 1)' "$2" "$3" "$4" "$5" 2>/dev/null
}

vbcast() { # NODE: the broadcast address of NODE's virtual subnet
	nl_exec "$1" ip -4 -o addr show dev "lr$1" | "$PY" -c '
import ipaddress, sys
w = sys.stdin.read().split()
if "brd" in w:
    print(w[w.index("brd") + 1])
else:
    print(ipaddress.ip_interface(w[w.index("inet") + 1]).network.broadcast_address)'
}

# cpu_ticks PID: utime + stime of a process, in clock ticks
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

# ---- the lab ---------------------------------------------------------------------

e2e_lab dsc 1 <<'LAB' || { fail "[disco] lab setup"; echo "disco: $PASSES passed, $FAILS failed"; exit 1; }
router na full-cone
host a na
router nb port-restricted-cone
host b nb
router ns1 symmetric
host s1 ns1
router ns2 symmetric
host s2 ns2
router np1 full-cone
host p1 np1
router np2 restricted-cone
host p2 np2
router np3 port-restricted-cone
host p3 np3
router np4 symmetric
host p4 np4
router nl port-restricted-cone
host l1 nl
host l2 nl
router nl3 full-cone
host l3 nl3
router no symmetric
host o1 no
LAB
note "lab built after $((SECONDS - T0)) s"
NODES=(a b s1 s2 p1 p2 p3 p4 l1 l2 l3)
e2e_daemon "${NODES[@]}" || fail "[disco] daemons start"
note "lab and daemons up after $((SECONDS - T0)) s"
mkparty() { # HOST MEMBER...: HOST creates a party, the others join it
	local host=$1 id m
	shift
	id=$(party_create "$host") || { note "$host: party create failed"; return 1; }
	for m in "$@"; do party_join "$m" "$id" || { note "$m: party join failed"; return 1; }; done
}
mkparty a b &
P1=$!
mkparty s1 s2 &
P2=$!
mkparty p1 p2 p3 p4 &
P3=$!
mkparty l1 l2 l3 &
P4=$!
for p in $P1 $P2 $P3 $P4; do wait "$p" || fail "[disco] parties"; done

# status_all FILE: every daemon's status, one JSON line each (NODE<TAB>JSON);
# the CLI calls run at once
status_all() {
	local n pids=()
	for n in "${NODES[@]}"; do
		lr "$n" status --json 2>/dev/null | tr -d '\n' >"$1.$n" &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: the daemons are children too
	for n in "${NODES[@]}"; do printf '%s\t%s\n' "$n" "$(cat "$1.$n")"; done
}

status_all "$E2E_DIR/st0" >"$E2E_DIR/st0"
declare -A V
for n in "${NODES[@]}"; do
	V[$n]=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["self"]["virtual_ip"])' \
		"$E2E_DIR/st0.$n" 2>/dev/null)
done
"$PY" -c '
import json, sys
COUNTERS = ("captured forwarded copies duplicates rate_limited denied not_game invalid same_lan "
            "native_received native_refused adverts_sent adverts_received").split()
bad = []
for line in sys.stdin:
    n, _, js = line.rstrip("\n").partition("\t")
    try:
        d = json.loads(js).get("lan_discovery") or {}
    except ValueError:
        d = {}
    if not (d.get("enabled") is True and d.get("capturing") is True and d.get("error") is None):
        bad.append("%s(enabled=%s capturing=%s error=%s)" % (n, d.get("enabled"), d.get("capturing"), d.get("error")))
    # the status contract: every counter an integer, groups a list
    miss = [k for k in COUNTERS if not isinstance(d.get(k), int) or isinstance(d.get(k), bool)]
    if not isinstance(d.get("groups"), list):
        miss.append("groups")
    if miss and d:
        bad.append("%s(missing or not a number: %s)" % (n, ",".join(miss)))
print(" ".join(bad))
sys.exit(1 if bad else 0)' <"$E2E_DIR/st0" >"$E2E_DIR/st0.bad"
[ $? -eq 0 ] && pass "[disco] on by default, capturing, every status counter present on all ${#NODES[@]} daemons" ||
	fail "[disco] not capturing: $(cat "$E2E_DIR/st0.bad")"

# every member of every party up (they come up at once; the slowest sets the time)
paths_up() {
	status_all "$E2E_DIR/st1" | "$PY" -c '
import json, sys
want = {"a": 1, "b": 1, "s1": 1, "s2": 1, "l1": 2, "l2": 2, "l3": 2, "p1": 3, "p2": 3, "p3": 3, "p4": 3}
left = []
for line in sys.stdin:
    n, _, js = line.rstrip("\n").partition("\t")
    try:
        ms = json.loads(js).get("members", [])
    except ValueError:
        ms = []
    up = [m for m in ms if m.get("path") not in (None, "connecting")]
    if len(up) < want[n]:
        left.append("%s(%d of %d up)" % (n, len(up), want[n]))
print(" ".join(left))
sys.exit(1 if left else 0)' >"$E2E_DIR/st1.left"
}
end=$((SECONDS + 45))
until paths_up; do
	[ $SECONDS -ge $end ] && { note "still connecting after 45 s: $(cat "$E2E_DIR/st1.left")"; break; }
	sleep 0.5
done
sleep 1 # the LAN grace rounds (l1/l2)
note "every path up after $((SECONDS - T0)) s"
wait "$JAVAC_PID" || fail "[disco] javac: $(cat "$E2E_TMP/javac.log")"

# ---- group 1 (a, b): a direct, i native, b OpenTTD, c Minecraft -------------------------

group_ab() {
	local out=$E2E_DIR/ab t_join mc_pid n na0 na1 fw0 fw1 bc dup0 dup1
	check "[a] a and b are direct" test "$(peer_field b "${V[a]}" path)" = direct
	# c's listener first: b's daemon has to see the group and advertise it
	nl_spawn b "$E2E_DIR/mclisten.log" java -cp "$JAVA_DIR" McListen 70 >/dev/null
	mc_pid=${NL_PIDS[-1]}
	oa_start a || fail "[a] openarena-server starts on a"
	dg a query 127.0.0.1 27960 "$OA_QUERY" 1 1 >"$out.oalocal" 2>&1
	grep -q infoResponse "$out.oalocal" || note "openarena-server on a does not answer even locally"

	# a. over the direct pair
	dup0=$(disco b duplicates)
	oa_query b "$out.oa1"
	dup1=$(disco b duplicates)
	if oa_answered "$out.oa1" "${V[a]}"; then
		pass "[a] direct: b's LAN search gets infoResponse from a's virtual IP ($(count "$out.oa1" infoResponse) answers)"
	else
		fail "[a] direct: no infoResponse from ${V[a]}:27960 on b; b got:"
		sed 's/^/    /' "$out.oa1" | cut -c1-160
		disco_dump a b
	fi
	check "[a] lanrage games on b lists OpenArena on ${V[a]}:27960" games_has b 'arena|quake' a "${V[a]}" 27960
	# the client sends its query twice back to back: one copy goes out
	[ "$((dup1 - dup0))" -ge 4 ] 2>/dev/null &&
		pass "[a] the query's second round counted as duplicates on b ($dup0 -> $dup1)" ||
		fail "[a] b's duplicates counter $dup0 -> $dup1 after two rounds of 4 queries (want +4)"

	# i. native delivery of the query, set live on the sender's side
	na0=$(disco a native_received) fw0=$(disco b forwarded)
	if lr b settings set lan_discovery_mode 27960-27963=native >/dev/null; then
		pass "[i] settings set lan_discovery_mode 27960-27963=native on b"
	else
		fail "[i] settings set lan_discovery_mode 27960-27963=native on b refused"
	fi
	sleep 0.5
	oa_query b "$out.oa2"
	na1=$(disco a native_received) fw1=$(disco b forwarded)
	if oa_answered "$out.oa2" "${V[a]}" && [ "${na1:-0}" -gt "${na0:-0}" ] 2>/dev/null; then
		pass "[i] native: b's query still answered by a ($(count "$out.oa2" infoResponse) answers; a native_received $na0 -> $na1, b forwarded $fw0 -> $fw1)"
	else
		fail "[i] native: answer from a: $(oa_answered "$out.oa2" "${V[a]}" && echo yes || echo no); a native_received $na0 -> $na1, b forwarded $fw0 -> $fw1"
		sed 's/^/    /' "$out.oa2" | cut -c1-160
		disco_dump a b
	fi

	# b. OpenTTD: subnet-directed broadcast of b's own LAN
	bc=$(lan_bcast b)
	ttd_start a || fail "[b] openttd starts on a"
	dg a query 127.0.0.1 3979 '\x03\x00\x00' 1 1 >"$out.ttdlocal" 2>&1
	grep -q 'x03\\x00\\x01' "$out.ttdlocal" || note "openttd on a does not answer even locally"
	dg b query "$bc" 3979 '\x03\x00\x00' 1 2 >"$out.ttd" 2>&1
	if grep -qE "^FROM ${V[a]} 3979 \\\\x03\\\\x00\\\\x01" "$out.ttd"; then
		pass "[b] OpenTTD: b's 03 00 00 to $bc:3979 gets 03 00 01 from a's virtual IP"
	else
		fail "[b] OpenTTD: no 03 00 01 from ${V[a]}:3979 on b (query to $bc); b got:"
		sed 's/^/    /' "$out.ttd"
		disco_dump a b
	fi
	check "[b] lanrage games on b lists OpenTTD on ${V[a]}:3979" games_has b 'openttd' a "${V[a]}" 3979

	# c. Minecraft: b has joined 224.0.2.60; give its advert time to reach a
	for _ in $(seq 50); do
		lr b status --json 2>/dev/null | grep -q '224\.0\.2\.60' && break
		sleep 0.2
	done
	if lr b status --json 2>/dev/null | python3 -c 'import json,sys
sys.exit("224.0.2.60" not in (json.load(sys.stdin).get("lan_discovery") or {}).get("groups", []))'; then
		pass "[c] b's status lists the group its Minecraft client joined (224.0.2.60)"
	else
		fail "[c] b's lan_discovery.groups: $(lr b status --json | jget lan_discovery.groups 2>&1); igmp: $(nl_exec b grep -c 3C0200E0 /proc/net/igmp)"
	fi
	# up to ~12 s from the join (McListen's "joined", the log's last write)
	# until b's advert has reached a
	for _ in $(seq 100); do
		grep -q '^joined' "$E2E_DIR/mclisten.log" 2>/dev/null && break
		sleep 0.2
	done
	grep -q '^joined' "$E2E_DIR/mclisten.log" || note "McListen on b has not joined: $(cat "$E2E_DIR/mclisten.log")"
	t_join=$(stat -c %Y "$E2E_DIR/mclisten.log")
	n=$((t_join + 13 - $(date +%s)))
	[ $n -gt 0 ] && sleep "$n"
	nl_exec a java -cp "$JAVA_DIR" McAnnounce "lab world" 25565 6 >"$out.mcsend" 2>&1
	sleep 1
	kill "$mc_pid" 2>/dev/null
	n=$(count "$E2E_DIR/mclisten.log" "^FROM ${V[a]} [0-9]+ \[MOTD\]lab world\[/MOTD\]\[AD\]25565\[/AD\]$")
	if [ "$n" -eq 6 ]; then
		pass "[c] Minecraft: b's MulticastSocket got all 6 announcements, once each, from a's virtual IP"
	else
		fail "[c] Minecraft: b's MulticastSocket got $n of 6 announcements from ${V[a]} (sent: $(grep -c sent "$out.mcsend")); it printed:"
		sed 's/^/    /' "$E2E_DIR/mclisten.log" | head -12
		disco_dump a b
	fi
	check "[c] lanrage games on b lists Minecraft on ${V[a]}:25565" games_has b 'minecraft' a "${V[a]}" 25565
	if ! games_has b 'minecraft' a "${V[a]}" 25565; then
		lr b games --json 2>&1 | sed 's/^/    /'
	fi
	note "lanrage games on b:"
	lr b games 2>&1 | sed 's/^/    /'
}

# ---- group 2 (s1, s2): a relayed, g denylist, h settings live ------------------------

group_s() {
	local out=$E2E_DIR/s d0 d1 n5 n67 before
	check "[a] s1 and s2 are on a relay" test "$(peer_field s2 "${V[s1]}" path)" = relay
	oa_start s1 || fail "[a] openarena-server starts on s1"
	oa_query s2 "$out.oa"
	if oa_answered "$out.oa" "${V[s1]}"; then
		pass "[a] relayed: s2's LAN search gets infoResponse from s1's virtual IP"
	else
		fail "[a] relayed: no infoResponse from ${V[s1]}:27960 on s2; s2 got:"
		sed 's/^/    /' "$out.oa" | cut -c1-160
		disco_dump s1 s2
	fi

	# g. system ports
	check "[g] settings set lan_discovery_ports 5353,67 on s1" eval 'lr s1 settings set lan_discovery_ports 5353,67 >/dev/null'
	sleep 0.5
	d0=$(disco s1 denied)
	dg_spawn s2 "$out.l5353" listen 5353 30
	local p1=$DG_PID
	dg_spawn s2 "$out.l67" listen 67 30
	local p2=$DG_PID
	dg s1 send 255.255.255.255 5353 'mdns query {i}' 3 0.3
	dg s1 send 255.255.255.255 67 'dhcp discover {i}' 3 0.3 68
	dg_stop "$p1" "$p2"
	d1=$(disco s1 denied)
	n5=$(count "$out.l5353" "^FROM ${V[s1]} ") n67=$(count "$out.l67" "^FROM ${V[s1]} ")
	if [ "$n5" -eq 0 ] && [ "$n67" -eq 0 ] && [ "${d1:-0}" -gt "${d0:-0}" ] 2>/dev/null; then
		pass "[g] mDNS and DHCP broadcasts not forwarded though listed (s1 denied $d0 -> $d1)"
	else
		fail "[g] system ports: s2 got $n5 on 5353 and $n67 on 67 from s1; s1 denied $d0 -> $d1"
		disco_dump s1 s2
	fi
	check "[g] settings set lan_discovery_allow_system 5353 on s1 (live)" eval 'lr s1 settings set lan_discovery_allow_system 5353 >/dev/null'
	sleep 0.5
	dg_spawn s2 "$out.m5353" listen 5353 30
	p1=$DG_PID
	dg_spawn s2 "$out.m67" listen 67 30
	p2=$DG_PID
	dg s1 send 255.255.255.255 5353 'mdns again {i}' 3 0.3
	dg s1 send 255.255.255.255 67 'dhcp again {i}' 3 0.3 68
	dg_stop "$p1" "$p2"
	n5=$(count "$out.m5353" "^FROM ${V[s1]} [0-9]+ mdns again") n67=$(count "$out.m67" "^FROM ${V[s1]} ")
	if [ "$n5" -eq 3 ] && [ "$n67" -eq 0 ]; then
		pass "[g] with lan_discovery_allow_system=5353: mDNS forwarded (3 of 3), DHCP still not"
	else
		fail "[g] with lan_discovery_allow_system=5353: s2 got $n5 of 3 mDNS, $n67 DHCP (want 3 and 0)"
		disco_dump s1 s2
	fi

	# a port in no game's table and not listed: not forwarded either
	dg_spawn s2 "$out.n9999" listen 9999 30
	p1=$DG_PID
	dg s1 send 255.255.255.255 9999 'no game {i}' 2 0.3
	dg_stop "$p1"
	n5=$(count "$out.n9999" "^FROM ${V[s1]} ")
	check "[g] a broadcast to a port of no game (9999) is not forwarded" test "$n5" -eq 0
	# Minecraft's port to a group that is not Minecraft's: counted in not_game
	# (other ports never pass the tap's kernel filter, docs/LAN_DISCOVERY.md)
	d0=$(disco s1 not_game)
	dg s1 send 239.9.9.9 4445 'wrong group {i}' 2 0.3
	d1=$(disco s1 not_game)
	check "[g] a game port's multicast to another group counts in not_game ($d0 -> $d1)" \
		test "${d1:-0}" -ge "$((${d0:-0} + 2))"

	# no fragments, nothing over the tunnel's MTU (1420: a 1392-byte payload
	# fits, 1400 does not); game port 27015
	d0=$(disco s1 invalid)
	dg_spawn s2 "$out.big" listen 27015 30
	p1=$DG_PID
	dg s1 send 255.255.255.255 27015 "fits $(printf %01387d 0)" 1 0
	dg s1 send 255.255.255.255 27015 "over $(printf %01395d 0)" 1 0
	dg s1 send 255.255.255.255 27015 "frag $(printf %02995d 0)" 1 0
	dg_stop "$p1"
	d1=$(disco s1 invalid)
	n5=$(count "$out.big" "^FROM ${V[s1]} [0-9]+ fits ") n67=$(count "$out.big" "^FROM ${V[s1]} [0-9]+ (over|frag) ")
	if [ "$n5" -eq 1 ] && [ "$n67" -eq 0 ] && [ "${d1:-0}" -gt "${d0:-0}" ] 2>/dev/null; then
		pass "[g] size: a 1392-byte payload forwarded, 1400 bytes and a fragmented 3000 not (s1 invalid $d0 -> $d1)"
	else
		fail "[g] size: s2 got $n5 of 1 that fit, $n67 too large or fragmented (want 0); s1 invalid $d0 -> $d1"
		disco_dump s1 s2
	fi

	# h. on/off live; a bad value
	h_round() { # TAG: s1 sends 3 A2S_INFO to 255.255.255.255:27015, prints what s2 got from s1
		dg_spawn s2 "$out.h$1" listen 27015 30 >&2 || return
		local p=$DG_PID
		dg s1 send 255.255.255.255 27015 "$A2S_INFO" 3 0.4
		dg_stop "$p"
		count "$out.h$1" "^FROM ${V[s1]} [0-9]+ (\\\\xff){4}TSource"
	}
	n5=$(h_round on1)
	[ "$n5" -ge 1 ] && pass "[h] baseline: s1's Source query reaches s2 ($n5 of 3)" ||
		{ fail "[h] baseline: s1's Source query (27015) does not reach s2"; disco_dump s1 s2; }
	check "[h] settings set lan_discovery false on s1" eval 'lr s1 settings set lan_discovery false >/dev/null'
	sleep 0.5
	check "[h] status says enabled false" test "$(disco s1 enabled)" = False
	n5=$(h_round off)
	[ "$n5" -eq 0 ] && pass "[h] off: nothing forwarded, without a restart" ||
		fail "[h] off: s2 still got $n5 of 3"
	check "[h] settings set lan_discovery true on s1" eval 'lr s1 settings set lan_discovery true >/dev/null'
	for _ in $(seq 25); do [ "$(disco s1 capturing)" = True ] && break; sleep 0.2; done
	check "[h] status says enabled and capturing again" test "$(disco s1 enabled)/$(disco s1 capturing)" = True/True
	n5=$(h_round on2)
	[ "$n5" -ge 1 ] && pass "[h] on again: forwarded ($n5 of 3)" ||
		{ fail "[h] on again: nothing reaches s2"; disco_dump s1 s2; }
	before=$(lr s1 settings get lan_discovery_ports) || before="(get failed)"
	lr s1 settings set lan_discovery_ports 99999 >"$out.bad" 2>&1
	n67=$?
	if [ "$n67" -eq 1 ] && [ "$(lr s1 settings get lan_discovery_ports)" = "$before" ] &&
		[ "$before" != "(get failed)" ]; then
		pass "[h] lan_discovery_ports 99999 refused (exit 1: $(head -1 "$out.bad")), still '$before'"
	else
		fail "[h] lan_discovery_ports 99999: exit $n67 ($(head -1 "$out.bad")); before '$before', now '$(lr s1 settings get lan_discovery_ports)'"
	fi
	n5=$(h_round after)
	[ "$n5" -ge 1 ] && [ "$(disco s1 error)" = None ] && pass "[h] still forwarding after the refused value" ||
		fail "[h] after the refused value: s2 got $n5, error $(disco s1 error)"
}

# ---- group 3: d, four players announce on 6112 -----------------------------------------

group_p() {
	local out=$E2E_DIR/p r s i n bad=0 leak=0 own=0 pids=() opids=()
	dg_spawn o1 "$out.o1" listen 6112 30 && opids+=("$DG_PID")
	dg_spawn s1 "$out.s1" listen 6112 30 && opids+=("$DG_PID")
	for r in p1 p2 p3 p4; do
		dg_spawn "$r" "$out.$r" announce "$r" 6112 5 0.4 3.5 "$out.go" || bad=1
		pids+=("$DG_PID")
	done
	touch "$out.go"
	wait "${pids[@]}"
	dg_stop "${opids[@]}"
	for r in p1 p2 p3 p4; do
		for s in p1 p2 p3 p4; do
			[ "$r" = "$s" ] && continue
			n=""
			for i in 1 2 3 4 5; do
				n+=" $(count "$out.$r" "^FROM ${V[$s]} 6112 ann $s $i$")"
			done
			[ "$n" = " 1 1 1 1 1" ] || { note "$r got $s's 5 announcements:$n times"; bad=$((bad + 1)); }
		done
		# anything from a virtual IP that is not another member's 5 announcements
		n=$(count "$out.$r" "^FROM 10\.66\.")
		[ "$n" -eq 15 ] || { note "$r got $n datagrams from virtual IPs, want 15"; bad=$((bad + 1)); }
		n=$(count "$out.$r" "^FROM 10\.66\.[0-9.]+ [0-9]+ ann $r ")
		own=$((own + n))
	done
	[ $bad -eq 0 ] && pass "[d] four players: each got each other's 5 announcements exactly once" ||
		{ fail "[d] four players: $bad wrong counts"; disco_dump p1 p2 p3 p4; }
	[ $own -eq 0 ] && pass "[d] nobody got its own announcements back through the tunnel" ||
		fail "[d] $own own announcements came back through the tunnel"
	leak=$(($(count "$out.o1" "ann p") + $(count "$out.s1" "ann p")))
	[ $leak -eq 0 ] && pass "[d] outside the party (o1 without a daemon, s1 in another party): nothing" ||
		{ fail "[d] outsiders got $leak announcements"; grep -h 'ann p' "$out.o1" "$out.s1" | head -5 | sed 's/^/    /'; }
}

# ---- group 4: e, two members on one LAN ------------------------------------------------

group_l() {
	local out=$E2E_DIR/l p2 p3 sl0 sl1 phys tun far ep n
	ep=$(peer_field l1 "${V[l2]}" endpoint)
	if [ "$(peer_field l1 "${V[l2]}" path)" != direct ] || [[ $ep != 192.168.* ]]; then
		fail "[e] l1 and l2 not direct over their LAN (path $(peer_field l1 "${V[l2]}" path) via $ep): same-LAN case not applicable"
		return
	fi
	local l1_lan
	l1_lan=$(nl_addr l1)
	sl0=$(disco l1 same_lan)
	dg_spawn l2 "$out.l2" listen 6112 30 || return
	p2=$DG_PID
	dg_spawn l3 "$out.l3" listen 6112 30 || return
	p3=$DG_PID
	dg l1 send 255.255.255.255 6112 'lan l1 {i}' 5 0.4 6112
	dg_stop "$p2" "$p3"
	sl1=$(disco l1 same_lan)
	phys=$(count "$out.l2" "^FROM ${l1_lan//./\\.} 6112 lan l1 ")
	tun=$(count "$out.l2" "^FROM ${V[l1]} ")
	far=$(count "$out.l3" "^FROM ${V[l1]} 6112 lan l1 ")
	if [ "$phys" -eq 5 ] && [ "$tun" -eq 0 ]; then
		pass "[e] same LAN: l2 got l1's 5 broadcasts once each, physically, no tunnel copy"
	else
		fail "[e] same LAN: l2 got $phys physical and $tun tunnel copies of l1's 5 broadcasts (want 5 and 0)"
		disco_dump l1 l2
	fi
	[ "$far" -eq 5 ] && pass "[e] l3 (another LAN) got the 5 through the tunnel" ||
		{ fail "[e] l3 got $far of 5 through the tunnel"; disco_dump l1 l3; }
	[ "${sl1:-0}" -gt "${sl0:-0}" ] 2>/dev/null && pass "[e] l1's same_lan counter grew ($sl0 -> $sl1)" ||
		fail "[e] l1's same_lan counter: $sl0 -> $sl1"

	# a broadcast into the virtual subnet never went out on the LAN: l2 needs
	# the tunnel copy this time
	local vb
	vb=$(vbcast l1)
	dg_spawn l2 "$out.vl2" listen 6112 30 || return
	p2=$DG_PID
	dg_spawn l3 "$out.vl3" listen 6112 30 || return
	p3=$DG_PID
	dg l1 send "$vb" 6112 'vsub l1 {i}' 3 0.4 6112
	dg_stop "$p2" "$p3"
	tun=$(count "$out.vl2" "^FROM ${V[l1]} 6112 vsub l1 ") far=$(count "$out.vl3" "^FROM ${V[l1]} 6112 vsub l1 ")
	n=$(count "$out.vl2" "vsub l1")
	if [ "$tun" -eq 3 ] && [ "$far" -eq 3 ] && [ "$n" -eq 3 ]; then
		pass "[e] l1's broadcast to the virtual subnet ($vb): 3 of 3 on l2 and on l3, from l1's virtual IP"
	else
		fail "[e] l1's broadcast to $vb: l2 got $tun of 3 from ${V[l1]} ($n in all), l3 got $far of 3"
		disco_dump l1 l2 l3
	fi

	# multicast goes only to members that joined the group: l3 listens on
	# 4445 without joining 224.0.2.60
	sl0=$(disco l1 captured)
	dg_spawn l3 "$out.ml3" listen 4445 30 || return
	p3=$DG_PID
	dg l1 send 224.0.2.60 4445 '[MOTD]nobody joined {i}[/MOTD][AD]25565[/AD]' 3 0.4
	dg_stop "$p3"
	sl1=$(disco l1 captured)
	n=$(count "$out.ml3" "nobody joined")
	[ "$n" -eq 0 ] && [ "$((sl1 - sl0))" -ge 3 ] 2>/dev/null &&
		pass "[c] multicast is not sent to a member that did not join the group (l3; l1 captured $sl0 -> $sl1)" ||
		fail "[c] l3 got $n of l1's multicast announcements without joining 224.0.2.60 (l1 captured $sl0 -> $sl1)"
}

# ---- run the groups at once ------------------------------------------------------------

T1=$SECONDS
group_ab >"$E2E_DIR/out.ab" 2>&1 &
G1=$!
group_s >"$E2E_DIR/out.s" 2>&1 &
G2=$!
group_p >"$E2E_DIR/out.p" 2>&1 &
G3=$!
group_l >"$E2E_DIR/out.l" 2>&1 &
G4=$!
wait $G1 $G2 $G3 $G4
for g in ab s p l; do
	cat "$E2E_DIR/out.$g"
	PASSES=$((PASSES + $(grep -c '^PASS' "$E2E_DIR/out.$g")))
	FAILS=$((FAILS + $(grep -c '^FAIL' "$E2E_DIR/out.$g")))
done
note "cases a-e, g-i took $((SECONDS - T1)) s"

# ---- f. the storm, alone ----------------------------------------------------------------

storm() {
	local out=$E2E_DIR/storm pid hz c0 c1 t0 t1 rl0 rl1 cap0 cap1 got sent secs allow_src allow_all most srcs ping_tx ping_rx lp pp cpu
	pid=${DPID[a]}
	hz=$(getconf CLK_TCK)
	rl0=$(disco a rate_limited) cap0=$(disco a captured)
	dg_spawn b "$out.rx" listen 6112 30 || return
	lp=$DG_PID
	nl_exec a ping -n -i 0.2 -c 30 -W 1 "${V[b]}" >"$out.ping" 2>&1 &
	pp=$!
	c0=$(cpu_ticks "$pid") t0=$(now_ms)
	dg a storm 255.255.255.255 6112 10000 5 "$STORM_SOURCES" >"$out.tx" 2>&1
	c1=$(cpu_ticks "$pid") t1=$(now_ms)
	wait "$pp"
	dg_stop "$lp"
	rl1=$(disco a rate_limited) cap1=$(disco a captured)
	sent=$(awk '/^sent/ {print $2}' "$out.tx")
	secs=$(awk '/^sent/ {print $4}' "$out.tx")
	got=$(count "$out.rx" "^FROM ${V[a]} [0-9]+ storm ")
	# per source: burst 40 + 20/s; the node: burst 200 + 100/s; a second of slack
	read -r allow_src allow_all < <("$PY" -c 'import sys; t = float(sys.argv[1]) + 1
print(int(40 + 20 * t), int(200 + 100 * t))' "${secs:-5}")
	# what b got from each source port (socket) of a
	most=$(awk -v a="${V[a]}" '$1 == "FROM" && $2 == a && $4 == "storm" {n[$3]++}
		END {m = 0; for (p in n) if (n[p] > m) m = n[p]; print m}' "$out.rx")
	srcs=$(awk -v a="${V[a]}" '$1 == "FROM" && $2 == a && $4 == "storm" {n[$3]++} END {print length(n)}' "$out.rx")
	note "storm: a sent ${sent:-?} in ${secs:-?} s from $STORM_SOURCES sockets; a captured $cap0 -> $cap1, rate_limited $rl0 -> $rl1; b got $got from $srcs sources, at most $most from one"
	[ "${sent:-0}" -ge 25000 ] || note "the sender reached only ${sent:-0} datagrams (load)"
	if [ "$got" -ge 1 ] && [ "$most" -le "$allow_src" ] && [ "$got" -le "$allow_all" ] &&
		[ "${rl1:-0}" -gt "${rl0:-0}" ] 2>/dev/null; then
		pass "[f] storm capped: b got $got of ${sent:-?} (node limit about $allow_all), at most $most from one source (limit about $allow_src), rate_limited +$((rl1 - rl0))"
	else
		fail "[f] storm: b got $got of ${sent:-?} (want 1..$allow_all), at most $most from one source (want <= $allow_src), rate_limited $rl0 -> $rl1"
		disco_dump a b
	fi
	ping_tx=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$out.ping")
	ping_rx=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$out.ping")
	if [ -n "$ping_tx" ] && [ "$ping_tx" -gt 0 ] && [ $((ping_rx * 100)) -ge $((ping_tx * 90)) ]; then
		pass "[f] ping a -> b during the storm: $ping_rx of $ping_tx answered"
	else
		fail "[f] ping a -> b during the storm: ${ping_rx:-?} of ${ping_tx:-?} answered"
		tail -3 "$out.ping" | sed 's/^/    /'
	fi
	# the buckets refill: discovery works again
	sleep 2
	dg_spawn b "$out.rx2" listen 6112 30 || return
	lp=$DG_PID
	dg a send 255.255.255.255 6112 'after the storm' 1 0
	dg_stop "$lp"
	check "[f] after the storm a's broadcast reaches b again" grep -q "^FROM ${V[a]} [0-9]* after the storm" "$out.rx2"
	cpu=$(((c1 - c0) * 100000 / hz / (t1 - t0)))
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != lanrage ]; then
		fail "[f] PID $pid is not a's daemon ($(cat "/proc/$pid/comm" 2>&1)): CPU not measured"
	elif [ "$cpu" -lt "$CPU_LIMIT_PCT" ]; then
		pass "[f] a's daemon used $cpu% of a core during the storm (limit $CPU_LIMIT_PCT%)"
	else
		fail "[f] a's daemon used $cpu% of a core during the storm (limit $CPU_LIMIT_PCT%)"
	fi
}
T1=$SECONDS
storm
note "the storm took $((SECONDS - T1)) s"

check "[disco] every daemon exits 0 on SIGTERM" e2e_stop_daemons
echo "disco: $PASSES passed, $FAILS failed ($((SECONDS - T0)) s)"
[ "$FAILS" -eq 0 ]
