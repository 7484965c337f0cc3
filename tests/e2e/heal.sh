# tests/e2e/heal.sh: paths that heal in seconds (issue 14), sourced by run.sh
# as the scenario group "heal" (its own lab, with one relay):
#
#   ctl, r1 ---- internet ---+---- nh1 (symmetric) -- h1
#                            +---- nh2 (symmetric) -- h2
#                            +---- nk1 (symmetric) -- k1   clock 2 hours ahead
#                            +---- nd1 (port-restricted) -- d1
#                            +---- nd2 (restricted-cone) -- d2
#                            +---- nm1 (full-cone), no host until d1 moves
#
#   - a daemon whose clock is 2 hours ahead (libfaketime, monotonic clock
#     left alone) binds to the relay with the relay's time (docs/RELAY.md,
#     CLOCK) and its relayed pings are answered;
#   - the relay h1 and h2 (two symmetric NATs) talk through is killed
#     (SIGKILL) and started again on the same address with the same key
#     during a ping every 100 ms: answered again within HEAL_RELAY_MAX_S (5 s);
#   - `conntrack -F` on both NAT routers of a direct pair (d1, d2) during a
#     ping every 100 ms: answered again within HEAL_DIRECT_MAX_S (3 s);
#   - d2's NAT gets a new public address (the old one deleted, its mappings
#     flushed): answered again within HEAL_READDR_MAX_S (8 s: a lost echo
#     sets off a check of the public mapping; 3.5 s measured) and d2's
#     status shows the new address;
#   - d1 unplugged from nd1 and plugged into nm1 (new address, route and
#     NAT): answered again within HEAL_MOVE_MAX_S (10 s; 0.6 s measured) and d1's status
#     shows nm1's address (docs/NET.md "Network changes").
# Each recovery prints the measured time (kill or flush to the first answer,
# and the longest gap between answers). Measured on the 2-core machine: the
# relay restart 0.46-0.70 s (29.8 s before UNBOUND: the 60 s rebind timer); the
# flush 0.11 s, the same before: that pair's NATs keep their ports and every
# side sends within the gap, so this part guards what already works.
HEAL_RELAY_MAX_S=${HEAL_RELAY_MAX_S:-5}
HEAL_WATCH_S=${HEAL_WATCH_S:-12} # how long the pings go on after each fault
HEAL_DIRECT_MAX_S=${HEAL_DIRECT_MAX_S:-3}
HEAL_READDR_MAX_S=${HEAL_READDR_MAX_S:-8}
HEAL_MOVE_MAX_S=${HEAL_MOVE_MAX_S:-10}
HEAL_FAKETIME_LIB=${HEAL_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}

# heal_daemon_skewed NODE OFFSET: like e2e_daemon, its clock OFFSET ahead
# ("+2h"); the monotonic clock is not faked (timers stay right). An ASan
# build is told not to insist on coming first among the preloaded libraries.
heal_daemon_skewed() {
	local node=$1 asan=${ASAN_OPTIONS:-}
	mkdir -p "$E2E_DIR/$node"
	nl_spawn "$node" "$E2E_DIR/$node.log" env LD_PRELOAD="$HEAL_FAKETIME_LIB" \
		FAKETIME="$2" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${asan:+$asan:}verify_asan_link_order=0" \
		"$LANRAGE" daemon --control "$CTL_URL" --control-pin "$CTL_PIN" \
		--state-dir "$E2E_DIR/$node" --interface "lr$node" --name "$node" \
		--log-level debug >/dev/null
	DPID[$node]=${NL_PIDS[-1]}
	for _ in $(seq 150); do
		lr "$node" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# heal_ping_start NODE VIP SECONDS FILE: a ping every 100 ms in the
# background, each answer stamped (-D); sets HEAL_PING_PID
heal_ping_start() {
	nl_exec "$1" ping -D -n -i 0.1 -W 1 -w "$3" "$2" >"$4" 2>&1 &
	HEAL_PING_PID=$!
}

# heal_recovery FILE T0: "FIRST GAP" in ms: from T0 (seconds, fractional) to
# the first answer after it, and the longest gap between two answers from a
# second before T0 on; FIRST is "none" when no answer came after T0
heal_recovery() {
	awk -v t0="$2" -F'[][]' '/bytes from/ {
		t = $2 + 0
		if (t < t0 - 1) next
		if (prev && t - prev > gap) gap = t - prev
		prev = t
		if (!first && t > t0) first = t
	} END {
		printf "%s %d\n", first ? int((first - t0) * 1000) : "none", gap * 1000
	}' "$1"
}

# heal_within WHAT FIRST_MS MAX_S: PASS when FIRST_MS is a number under MAX_S
heal_within() {
	[ "$2" != none ] && [ "$2" -le $(($3 * 1000)) ]
}

heal_skewed_clock() {
	local vh2=$1 stamp ahead
	# the skew is real: the daemon's own log lines are stamped 2 h ahead
	stamp=$(grep -m1 -o '^[0-9T:-]*' "$E2E_DIR/k1.log")
	ahead=$(($(date -u -d "${stamp/T/ }" +%s) - $(date -u +%s)))
	check "[heal/clock] k1's clock runs ${ahead} s ahead (libfaketime)" \
		test "$ahead" -ge 7100 -a "$ahead" -le 7300
	check "[heal/clock] k1 said its clock differs from the relay's" \
		grep -q "clock differs from relay .* by +7[12][0-9][0-9] s; using the relay's time" \
		"$E2E_DIR/k1.log"
	check "[heal/clock] k1 bound on the relay" grep -q 'bound on relay' "$E2E_DIR/k1.log"
	grep -m1 "clock differs" "$E2E_DIR/k1.log" | sed 's/^/    /'
	wait_path k1 "$vh2" 30
	check "[heal/clock] k1 reaches h2 through the relay" \
		test "$(peer_field k1 "$vh2" path)" = relay
	check "[heal/clock] k1 -> h2 ping (relayed)" ping_ok k1 "$vh2"
	check "[heal/clock] h2 -> k1 ping (relayed)" ping_ok h2 "$(vip k1)"
}

heal_relay_restart() {
	local vh1=$1 vh2=$2 t0 t1 res first gap
	check "[heal/relay] h1 sees h2 on the relay" test "$(peer_field h1 "$vh2" path)" = relay
	check "[heal/relay] ping before" ping_ok h1 "$vh2"
	heal_ping_start h1 "$vh2" $((HEAL_WATCH_S + 8)) "$E2E_DIR/ping.relay"
	sleep 2
	t0=$(date +%s.%N)
	kill -KILL "${RELAY_PID[r1]}"
	wait "${RELAY_PID[r1]}" 2>/dev/null
	e2e_relay_start r1 || fail "[heal/relay] relay restart"
	t1=$(date +%s.%N)
	sleep "$HEAL_WATCH_S"
	kill "$HEAL_PING_PID" 2>/dev/null
	wait "$HEAL_PING_PID" 2>/dev/null
	res=$(heal_recovery "$E2E_DIR/ping.relay" "$t0")
	first=${res% *} gap=${res#* }
	echo "  relay restart: relay back (registered) $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%d", (b-a)*1000}') ms after the kill; first answer ${first} ms after the kill; longest gap ${gap} ms"
	if heal_within "relay" "$first" "$HEAL_RELAY_MAX_S"; then
		pass "[heal/relay] answered again ${first} ms after the relay was killed (limit ${HEAL_RELAY_MAX_S} s)"
	else
		fail "[heal/relay] first answer ${first} ms after the kill (limit ${HEAL_RELAY_MAX_S} s)"
		dump_logs h1 h2
	fi
	check "[heal/relay] both daemons were told they were unbound" bash -c \
		"grep -q 'lost our binding' '$E2E_DIR/h1.log' && grep -q 'lost our binding' '$E2E_DIR/h2.log'"
	check "[heal/relay] ping both ways after" both_ping h1 "$vh2" h2 "$vh1"
	check "[heal/clock] k1 (2 h ahead) reaches h2 after the restart" ping_ok k1 "$vh2"
}

heal_conntrack_flush() {
	local vd1=$1 vd2=$2 t0 res first gap
	wait_path d1 "$vd2" 30
	wait_path d2 "$vd1" 30
	sleep 1
	check "[heal/direct] d1 sees d2 direct" test "$(peer_field d1 "$vd2" path)" = direct
	check "[heal/direct] ping before" ping_ok d1 "$vd2"
	heal_ping_start d1 "$vd2" $((HEAL_WATCH_S + 5)) "$E2E_DIR/ping.direct"
	sleep 2
	t0=$(date +%s.%N)
	nl_exec nd1 conntrack -F >/dev/null 2>&1 && nl_exec nd2 conntrack -F >/dev/null 2>&1 ||
		fail "[heal/direct] conntrack -F on the routers"
	sleep "$HEAL_WATCH_S"
	kill "$HEAL_PING_PID" 2>/dev/null
	wait "$HEAL_PING_PID" 2>/dev/null
	res=$(heal_recovery "$E2E_DIR/ping.direct" "$t0")
	first=${res% *} gap=${res#* }
	echo "  conntrack flush: first answer ${first} ms after the flush; longest gap ${gap} ms; d1 sees d2 $(peer_field d1 "$vd2" path)"
	if heal_within "direct" "$gap" "$HEAL_DIRECT_MAX_S" && [ "$first" != none ]; then
		pass "[heal/direct] answered again after conntrack -F: longest gap ${gap} ms (limit ${HEAL_DIRECT_MAX_S} s)"
	else
		fail "[heal/direct] after conntrack -F: first answer ${first} ms, longest gap ${gap} ms (limit ${HEAL_DIRECT_MAX_S} s)"
		dump_logs d1 d2
	fi
	check "[heal/direct] ping both ways after" both_ping d1 "$vd2" d2 "$vd1"
}

# heal_self_has NODE ADDR: ADDR is among the endpoints NODE's status shows
heal_self_has() {
	lr "$1" status --json | jget self.endpoints | grep -q "'$2:"
}

# heal_fault WHAT FROM VIP MAX_S CMD...: a ping every 100 ms from FROM to
# VIP, CMD run 2 s in; PASS when answered again within MAX_S of it (the
# time and the longest gap printed)
heal_fault() {
	local what=$1 from=$2 to=$3 max=$4 t0 res first gap
	shift 4
	heal_ping_start "$from" "$to" $((HEAL_WATCH_S + max + 2)) "$E2E_DIR/ping.$what"
	sleep 2
	t0=$(date +%s.%N)
	"$@" || fail "[heal/$what] the fault itself ($*)"
	sleep $((HEAL_WATCH_S + max - 2))
	kill "$HEAL_PING_PID" 2>/dev/null
	wait "$HEAL_PING_PID" 2>/dev/null
	res=$(heal_recovery "$E2E_DIR/ping.$what" "$t0")
	first=${res% *} gap=${res#* }
	echo "  $what: first answer ${first} ms after the fault; longest gap ${gap} ms"
	if heal_within "$what" "$gap" "$max" && [ "$first" != none ]; then
		pass "[heal/$what] answered again: longest gap ${gap} ms (limit ${max} s)"
	else
		fail "[heal/$what] first answer ${first} ms, longest gap ${gap} ms (limit ${max} s)"
		dump_logs d1 d2
	fi
}

# heal_move HOST ROUTER: HOST's link is unplugged and plugged into ROUTER's
# LAN (a laptop moving to another network): new address, route and NAT
heal_move() {
	local lan
	lan=$(nl_lan_addr "$2")
	nl_exec "$1" ip link del eth0 &&
		ip link add eth0 netns "$(nl_ns "$1")" type veth peer name hmove netns "$(nl_ns "$2")" &&
		ip -n "$(nl_ns "$2")" link set hmove master lan0 up &&
		ip -n "$(nl_ns "$1")" link set eth0 up &&
		ip -n "$(nl_ns "$1")" addr add "${lan%.1}.200/24" brd + dev eth0 &&
		ip -n "$(nl_ns "$1")" route add default via "$lan"
}

heal_nat_readdr() {
	local vd1=$1 vd2=$2 new=203.0.113.250
	wait_path d1 "$vd2" 30
	wait_path d2 "$vd1" 30
	heal_fault readdr d1 "$vd2" "$HEAL_READDR_MAX_S" nat_readdr nd2 "$new"
	check "[heal/readdr] d2 publishes its NAT's new address" heal_self_has d2 "$new"
	grep -m1 "network changed" "$E2E_DIR/d2.log" | sed 's/^/    d2: /'
	check "[heal/readdr] ping both ways after" both_ping d1 "$vd2" d2 "$vd1"
}

heal_host_move() {
	local vd1=$1 vd2=$2 wan
	wan=$(nl_addr nm1)
	heal_fault move d2 "$vd1" "$HEAL_MOVE_MAX_S" heal_move d1 nm1
	check "[heal/move] d1 shows its new public endpoint (${wan})" heal_self_has d1 "$wan"
	grep -m1 "network changed" "$E2E_DIR/d1.log" | sed 's/^/    d1: /'
	echo "  d2 sees d1 $(peer_field d2 "$vd1" path) via $(peer_field d2 "$vd1" endpoint)"
	check "[heal/move] ping both ways after" both_ping d1 "$vd2" d2 "$vd1"
}

scenario_heal() {
	local H D vh1 vh2 vd1 vd2
	if [ ! -r "$HEAL_FAKETIME_LIB" ] || ! command -v conntrack >/dev/null; then
		fail "[heal] needs libfaketime and conntrack (scripts/install-deps.sh)"
		return
	fi
	e2e_lab eh 1 <<'LAB' || { fail "[heal] lab setup"; return; }
router nh1 symmetric
host h1 nh1
router nh2 symmetric
host h2 nh2
router nk1 symmetric
host k1 nk1
router nd1 port-restricted-cone
host d1 nd1
router nd2 restricted-cone
host d2 nd2
router nm1 full-cone
LAB
	e2e_daemon h1 h2 d1 d2 || fail "[heal] daemons start"
	heal_daemon_skewed k1 +2h || fail "[heal] the daemon 2 h ahead starts"
	H=$(party_create h1) && D=$(party_create d1) || { fail "[heal] party create"; return; }
	party_join h2 "$H" && party_join k1 "$H" && party_join d2 "$D" ||
		fail "[heal] party join"
	vh1=$(vip h1) vh2=$(vip h2) vd1=$(vip d1) vd2=$(vip d2)
	wait_path h1 "$vh2" 30
	wait_path h2 "$vh1" 30
	heal_skewed_clock "$vh2"
	heal_relay_restart "$vh1" "$vh2"
	# before the flush, which leaves d1's control connection half-dead
	# (its NAT forgot the mapping) until d1 sends on it
	heal_nat_readdr "$vd1" "$vd2"
	heal_conntrack_flush "$vd1" "$vd2"
	heal_host_move "$vd1" "$vd2"
	check "[heal] every daemon exits 0 on SIGTERM" e2e_stop_daemons
	e2e_lab_down
}
