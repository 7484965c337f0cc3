#!/usr/bin/env bash
# tests/soak/soak.sh: a party of 8 under repeated faults (issue 14), in
# natlab (root). Not part of `make check`: it runs SOAK_SECONDS (default
# 3600). Results go to docs/BENCHMARKS.md by hand, with the date and machine.
#
# Lab: a control server, two relays, eight players (two public, two behind
# port-restricted-cone NATs, two behind symmetric NATs, one behind a full-cone
# and one behind a restricted-cone NAT). Each player pings the next one in a
# ring over the virtual IPs, 5 pings a second, the whole time.
#
# Every FAULT_EVERY seconds (default 240) one fault, in turn:
#   relay    - a relay (r1, then r2, in turn) is killed (SIGKILL) and
#              restarted on the same address with the same key
#   flush    - `conntrack -F` on every NAT router (all mappings lost)
#   control  - lanrage-control killed (SIGKILL) and restarted (same database)
#   readdr   - a symmetric router's public address changes (nat_readdr:
#              the old one deleted and unreachable, its conntrack flushed)
#   loss     - 30 s of 30 % loss each way on every player's uplink
# For each fault it prints the pings lost in the FAULT_EVERY seconds after it
# (all ring pairs together) and the longest gap any one pair saw.
#
# At the start (once the party formed) and at the end it records each
# daemon's open fds, threads and RSS; fd or thread counts that grew, or RSS
# grown by more than 25 %, fail the run (a leak).
#
# Usage: SOAK_SECONDS=600 tests/soak/soak.sh  (BUILD picks the binaries).
# Runs so far (docs/BENCHMARKS.md): 300 s with FAULT_EVERY=55, 660 s with
# FAULT_EVERY=110 and the hour with the default, 2026-12-04.
# Cleanup: nl_down on every exit path (the EXIT trap of e2e_lab).
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../e2e/lib.sh"
e2e_require soak
command -v conntrack >/dev/null || { echo "soak: needs conntrack (apt-get install conntrack)" >&2; exit 1; }
SOAK_SECONDS=${SOAK_SECONDS:-3600}
FAULT_EVERY=${FAULT_EVERY:-240}
PLAYERS=(sa sb sc sd se sf sg sh)
declare -A ROUTER=([sc]=nsc [sd]=nsd [se]=nse [sf]=nsf [sg]=nsg [sh]=nsh)
FAULTS=(relay flush control readdr loss)

e2e_lab es 2 <<'LAB' || { fail "[soak] lab setup"; exit 1; }
public sa
public sb
router nsc port-restricted-cone
host sc nsc
router nsd port-restricted-cone
host sd nsd
router nse symmetric
host se nse
router nsf symmetric
host sf nsf
router nsg full-cone
host sg nsg
router nsh restricted-cone
host sh nsh
LAB

e2e_daemon "${PLAYERS[@]}" || fail "[soak] daemons start"
for n in "${PLAYERS[@]}"; do wait_control "$n" 30 || note "$n: control not connected"; done
ID=$(party_create sa) || { fail "[soak] party create"; exit 1; }
for n in "${PLAYERS[@]:1}"; do party_join "$n" "$ID" || fail "[soak] $n joins"; done
declare -A V
for n in "${PLAYERS[@]}"; do V[$n]=$(vip "$n"); done
for a in "${PLAYERS[@]}"; do
	wait_members "$a" 7 60 || fail "[soak] $a does not see seven members"
	for b in "${PLAYERS[@]}"; do
		[ "$a" = "$b" ] || wait_path "$a" "${V[$b]}" 60 || note "$a: $b still connecting"
	done
done

# usage NODE: "fds threads rss_kib" of NODE's daemon
usage() {
	local pid=${DPID[$1]}
	echo "$(ls "/proc/$pid/fd" | wc -l) $(awk '/^Threads:/ {print $2}' "/proc/$pid/status") $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
}
declare -A U0
for n in "${PLAYERS[@]}"; do U0[$n]=$(usage "$n"); done

# the ring: each player pings the next, 5 a second, timestamped
T_START=$(date +%s)
declare -A PING_PID
for i in "${!PLAYERS[@]}"; do
	a=${PLAYERS[i]} b=${PLAYERS[$(((i + 1) % ${#PLAYERS[@]}))]}
	nl_exec "$a" ping -n -D -O -i 0.2 -W 1 -w "$SOAK_SECONDS" "${V[$b]}" >"$E2E_DIR/ring.$a" 2>&1 &
	PING_PID[$a]=$!
done

loss_burst() { # 30 s of 30 % loss on every uplink
	local n
	for n in "${PLAYERS[@]}"; do
		uplink_loss "$n" "${ROUTER[$n]:-}" 30 lrburst || fail "[soak] loss rules on $n"
	done
	sleep 30
	for n in "${PLAYERS[@]}"; do nl_exec "${ROUTER[$n]:-$n}" nft delete table inet lrburst; done
}

NEXT_PUBLIC=200
RELAY_FAULTS=0
readdr() { # the symmetric router nse moves to a new public address
	local old new=203.0.113.$NEXT_PUBLIC
	NEXT_PUBLIC=$((NEXT_PUBLIC + 1))
	old=$(nl_exec nse ip -4 -o addr show dev wan0 | awk '{print $4}' | head -1)
	nat_readdr nse "$new" || fail "[soak] nse's new address"
	note "nse: ${old%/*} -> $new"
}

fault() {
	local f=$1 n
	case $f in
	relay)
		n=r$((RELAY_FAULTS % 2 + 1)) # r1, then r2, in turn
		RELAY_FAULTS=$((RELAY_FAULTS + 1))
		kill -KILL "${RELAY_PID[$n]}" 2>/dev/null
		wait "${RELAY_PID[$n]}" 2>/dev/null
		e2e_relay_start "$n" || fail "[soak] relay $n restart"
		;;
	flush)
		for n in "${ROUTER[@]}"; do nl_exec "$n" conntrack -F >/dev/null 2>&1; done ;;
	control)
		kill -KILL "$CTL_PID" 2>/dev/null
		wait "$CTL_PID" 2>/dev/null
		e2e_ctl_start || fail "[soak] control restart"
		;;
	readdr) readdr ;;
	loss) loss_burst ;;
	esac
}

declare -a F_NAME F_AT
k=0
while [ $(($(date +%s) - T_START + FAULT_EVERY)) -le "$SOAK_SECONDS" ]; do
	sleep "$FAULT_EVERY"
	f=${FAULTS[$((k % ${#FAULTS[@]}))]}
	F_NAME[k]=$f F_AT[k]=$(date +%s.%N)
	note "$(date -u +%T) fault $k: $f"
	fault "$f"
	k=$((k + 1))
done
for a in "${PLAYERS[@]}"; do wait "${PING_PID[$a]}" 2>/dev/null; done

# lost pings and the longest gap per fault window, from the ping logs
python3 - "$E2E_DIR" "$FAULT_EVERY" "${PLAYERS[*]}" "${F_NAME[*]:-}" "${F_AT[*]:-}" <<'EOF'
import re, sys
d, every, players = sys.argv[1], float(sys.argv[2]), sys.argv[3].split()
names, ats = sys.argv[4].split(), [float(x) for x in sys.argv[5].split()]
events = {}
for p in players:
    ev = []
    for line in open(f"{d}/ring.{p}"):
        m = re.match(r"\[(\d+\.\d+)\] (?:\d+ bytes from|no answer yet)", line)
        if m:
            ev.append((float(m.group(1)), "bytes" in line))
    events[p] = ev
for name, at in zip(names, ats):
    lost = sent = 0
    gap = 0.0
    for p in players:
        last_ok = at
        last_t = at
        for t, ok in events[p]:
            if t < at or t >= at + every:
                continue
            sent += 1
            last_t = t
            if ok:
                gap = max(gap, t - last_ok)
                last_ok = t
            else:
                lost += 1
        gap = max(gap, last_t - last_ok)  # a pair that never came back
    print(f"  fault {name:8s}: {lost} of {sent} ring pings lost, longest gap {gap:.1f} s")
EOF

leaks=0
for n in "${PLAYERS[@]}"; do
	read -r f0 t0 r0 <<<"${U0[$n]}"
	read -r f1 t1 r1 <<<"$(usage "$n")"
	note "$n: fds $f0 -> $f1, threads $t0 -> $t1, RSS $r0 -> $r1 KiB"
	if [ "$f1" -gt "$f0" ] || [ "$t1" -gt "$t0" ] || [ "$r1" -gt $((r0 * 5 / 4)) ]; then
		leaks=$((leaks + 1))
	fi
done
[ $leaks -eq 0 ] && pass "[soak] no daemon grew fds, threads or RSS (> 25 %)" ||
	fail "[soak] $leaks daemons grew"
check "[soak] every daemon exits 0 on SIGTERM" e2e_stop_daemons
echo "soak: $PASSES passed, $FAILS failed over ${SOAK_SECONDS} s, $k faults"
[ "$FAILS" -eq 0 ]
