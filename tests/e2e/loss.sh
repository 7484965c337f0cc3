#!/usr/bin/env bash
# tests/e2e/loss.sh: a party on lossy links (issue 14 part 7), in natlab (root).
#
# Four players -- one public, one behind a restricted-cone NAT, one behind a
# port-restricted-cone NAT, one behind a symmetric NAT -- with one relay and
# a control server. Every player's uplink drops 10 % of the packets each way
# (nftables `numgen random` in the router's forward hook, or in the public
# player's own input/output hooks: this kernel has no netem). An echo
# round trip between two players crosses two uplinks twice, so about a third
# of the monitor's echoes are lost.
#
# Checks: the party forms (create, three joins, every member sees the three
# others on a path that is not connecting) with the loss on from the start;
# every directed pair pings; and over LOSS_SECONDS (default 300) each
# player's view of each other player changes path at most once (a change is
# a "direct via", a "relay ... (no direct path)" or a "no echo answer ...
# reconnecting" line in the daemon's log). It prints the changes per pair,
# the loss ping measured over the period, and that the drop rules' counters
# moved (the loss was real).
# Cleanup: nl_down on every exit path (EXIT trap set by e2e_lab).
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
e2e_require loss
LOSS_SECONDS=${LOSS_SECONDS:-300}
LOSS_PCT=${LOSS_PCT:-10}
PLAYERS=(lp1 lp2 lp3 lp4)
declare -A ROUTER=([lp2]=nlp2 [lp3]=nlp3 [lp4]=nlp4)

# loss_on NODE: drop LOSS_PCT % each way on NODE's uplink
loss_on() { uplink_loss "$1" "${ROUTER[$1]:-}" "$LOSS_PCT" lrloss; }

# dropped NODE: packets the node's loss rules dropped so far
dropped() {
	local ns=${ROUTER[$1]:-$1}
	nl_exec "$ns" nft list table inet lrloss |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

# all_ping WHAT: every directed pair pings over the virtual IPs
all_ping() {
	pairs_ping ping_lossy "${PLAYERS[@]}" &&
		pass "[loss] $PAIRS_ALL of $PAIRS_ALL directed pairs $1" ||
		fail "[loss] only $PAIRS_OK of $PAIRS_ALL directed pairs $1"
}

# peer_id NODE: the node's own peer ID as the others' logs name it
peer_id() { lr "$1" status --json | jget self.peer_id; }

# path_changes NODE PEER_ID FROM_LINE: path changes of that member in NODE's log after line FROM_LINE
path_changes() {
	tail -n +"$(($3 + 1))" "$E2E_DIR/$1.log" |
		grep -cE "member $2: (direct via|relay .*\(no direct path\)|no echo answer)"
}

e2e_lab el 1 <<'LAB' || { fail "[loss] lab setup"; exit 1; }
public lp1
router nlp2 restricted-cone
host lp2 nlp2
router nlp3 port-restricted-cone
host lp3 nlp3
router nlp4 symmetric
host lp4 nlp4
LAB
for n in "${PLAYERS[@]}"; do loss_on "$n" || fail "[loss] drop rules on $n"; done
e2e_daemon "${PLAYERS[@]}" || fail "[loss] daemons start"
for n in "${PLAYERS[@]}"; do wait_control "$n" 60 || note "$n: control plane not connected after 60 s"; done

# ---- the party forms ----
t0=$SECONDS
ID=$(party_create lp1) || { fail "[loss] party create"; exit 1; }
joined=0
for n in lp2 lp3 lp4; do party_join "$n" "$ID" && joined=$((joined + 1)) || note "$n: join failed"; done
[ $joined -eq 3 ] && pass "[loss] create and three joins with ${LOSS_PCT} % loss each way" ||
	fail "[loss] only $joined of 3 joins"
declare -A V PID
for n in "${PLAYERS[@]}"; do V[$n]=$(vip "$n"); PID[$n]=$(peer_id "$n"); done
formed=1
for a in "${PLAYERS[@]}"; do
	wait_members "$a" 3 60 || { note "$a does not see three members"; formed=0; continue; }
	for b in "${PLAYERS[@]}"; do
		[ "$a" = "$b" ] && continue
		wait_path "$a" "${V[$b]}" 60 || { note "$a: $b still connecting"; formed=0; }
	done
done
[ $formed -eq 1 ] && pass "[loss] the party formed in $((SECONDS - t0)) s" ||
	{ fail "[loss] the party did not form"; dump_logs "${PLAYERS[@]}"; }
all_ping "ping"

# ---- it holds: paths over LOSS_SECONDS ----
declare -A FROM
for a in "${PLAYERS[@]}"; do FROM[$a]=$(wc -l <"$E2E_DIR/$a.log"); done
paths=""
for a in "${PLAYERS[@]}"; do
	for b in "${PLAYERS[@]}"; do
		[ "$a" = "$b" ] || paths+=" $a>$b:$(peer_field "$a" "${V[$b]}" path)"
	done
done
note "paths at the start:$paths"
d0=0
for n in "${PLAYERS[@]}"; do d0=$((d0 + $(dropped "$n"))); done
# one ping a second between the two players farthest apart (symmetric to public)
nl_exec lp4 ping -n -q -i 1 -W 2 -c "$LOSS_SECONDS" "${V[lp1]}" >"$E2E_DIR/ping.out" 2>&1 &
ping_pid=$!
wait "$ping_pid"
note "over ${LOSS_SECONDS} s, lp4 -> lp1: $(grep -o '[0-9.]*% packet loss' "$E2E_DIR/ping.out")"
d1=0
for n in "${PLAYERS[@]}"; do d1=$((d1 + $(dropped "$n"))); done
[ $((d1 - d0)) -gt 0 ] && pass "[loss] the drop rules dropped $((d1 - d0)) packets meanwhile" ||
	fail "[loss] the drop rules dropped nothing: the loss was not real"
worst=0 changes=""
for a in "${PLAYERS[@]}"; do
	for b in "${PLAYERS[@]}"; do
		[ "$a" = "$b" ] && continue
		c=$(path_changes "$a" "${PID[$b]}" "${FROM[$a]}")
		changes+=" $a>$b:$c"
		[ "$c" -gt "$worst" ] && worst=$c
	done
done
note "path changes per pair over ${LOSS_SECONDS} s:$changes"
[ "$worst" -le 1 ] && pass "[loss] no path changed more than once in ${LOSS_SECONDS} s (worst $worst)" ||
	{ fail "[loss] a path changed $worst times in ${LOSS_SECONDS} s"; dump_logs "${PLAYERS[@]}"; }
all_ping "still ping"
check "[loss] every daemon exits 0 on SIGTERM" e2e_stop_daemons
echo "loss: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
