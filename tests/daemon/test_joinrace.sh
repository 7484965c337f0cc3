#!/usr/bin/env bash
# tests/daemon/test_joinrace.sh: a new user's first join must not fail at
# random (root). Four players, each behind its own NAT, one real
# lanrage-control and lanrage-relay for every round:
#
#        ctl 203.0.113.80   relay 203.0.113.70
#                 \          /
#                  [internet]
#       /        /          \          \
#     ra         rb          rc          rd      (full-cone, restricted,
#     |          |           |           |        port-restricted, symmetric)
#     a          b           c           d
#
# Each round starts the four daemons at once, each with a fresh state
# directory (a new key: it registers, as on a first start), waits until
# every API answers and says the control plane is connected, then a creates
# a party and b, c and d join it at the same moment. Every create and join
# must succeed on the first try: nothing here retries, a failure is counted
# and its round's logs are printed. Then the four are stopped (SIGTERM) and
# the next round begins. ROUNDS (default 50; 10 under an ASan build, whose
# daemons start several times slower) sets the count; JOIN_DELAY (seconds)
# waits between the create and the joins, as a user who reads first would;
# CTL_LATE=1 has each NAT refuse the control server's port for the first
# 0.2-1.2 s of a round, so every daemon's first connection attempt fails.
# nl_down (EXIT trap) kills every process by PID and deletes the namespaces.
# Exit status: number of failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"

if [ -z "${ROUNDS:-}" ]; then
	ROUNDS=50
	case $BUILD in *-asan | *-asan/) ROUNDS=10 && echo "ASan build: $ROUNDS rounds" ;; esac
fi
NODES=(a b c d)

nl_init jr$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrjoinrace.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.70 203.0.113.71
server ctl 203.0.113.80
router ra full-cone
host a ra
router rb restricted-cone
host b rb
router rc port-restricted-cone
host c rc
router rd symmetric
host d rd
LAB

SECRET=joinrace-test-secret
CTL_URL=wss://203.0.113.80:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.80:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" --log-level debug >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.70:51821 \
	--stun 203.0.113.70 --stun 203.0.113.71 --key "$TMP/relay.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.70:51821 --name r1 >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done

# Only the servers outlive a round: the daemons' PIDs are forgotten once
# they exited, so the teardown never signals a PID the system reused.
BASE_PIDS=("${NL_PIDS[@]}")
forget_daemons() {
	NL_PIDS=("${BASE_PIDS[@]}")
	printf '%s\n' "${BASE_PIDS[@]}" >"$NL_STATE/pids"
}
declare -A DPID
lr() { # NODE ARGS...: the CLI against NODE's daemon of this round
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/r$ROUND/$node"
}
# up NODE: NODE's daemon answers and says the control plane is connected
# (registered); polled every 20 ms, up to 10 s.
up() {
	for _ in $(seq 500); do
		lr "$1" status 2>/dev/null | grep -q '^control: .*, connected' && return 0
		sleep 0.02
	done
	return 1
}
# stop_all: SIGTERM to every daemon of the round, then wait for them to exit
# (their interfaces go with them, so the next round can take the names).
stop_all() {
	local node
	for node in "${NODES[@]}"; do kill -TERM "${DPID[$node]}" 2>/dev/null; done
	for node in "${NODES[@]}"; do
		for _ in $(seq 100); do kill -0 "${DPID[$node]}" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "${DPID[$node]}" 2>/dev/null
		wait "${DPID[$node]}" 2>/dev/null
	done
}
# ctl_block, ctl_unblock: every NAT refuses (TCP reset) or again forwards
# connections to the control server.
ctl_block() {
	local r
	for r in ra rb rc rd; do
		nl_exec "$r" nft -f - <<'NFT'
table ip joinrace {
	chain block { type filter hook forward priority -10; tcp dport 8667 reject with tcp reset; }
}
NFT
	done
}
ctl_unblock() {
	local r
	for r in ra rb rc rd; do nl_exec "$r" nft delete table ip joinrace; done
}
# show_round: the logs of a failed round, for the report.
show_round() {
	local f
	for f in "$TMP/r$ROUND"/*.log "$TMP/r$ROUND"/*.out; do
		echo "== $f"
		tail -40 "$f"
	done
	echo "== control server, this round"
	sed -n "$((CTL_LINE + 1)),\$p" "$TMP/ctl.log" | tail -80
}

FAILED_JOINS=0
FAILED_ROUNDS=0
TIMES=()
for ROUND in $(seq "$ROUNDS"); do
	T0=$(date +%s%N)
	CTL_LINE=$(wc -l <"$TMP/ctl.log")
	ok=1
	[ -n "${CTL_LATE:-}" ] && ctl_block
	for node in "${NODES[@]}"; do
		mkdir -p "$TMP/r$ROUND/$node"
		nl_spawn "$node" "$TMP/r$ROUND/$node.log" "$LANRAGE" daemon --control "$CTL_URL" \
			--control-pin "$CTL_PIN" --state-dir "$TMP/r$ROUND/$node" \
			--interface "lr$node" --name "$node$ROUND" --log-level debug >/dev/null
		DPID[$node]=${NL_PIDS[-1]}
	done
	[ -n "${CTL_LATE:-}" ] && { sleep "0.$((RANDOM % 10 + 2))"; ctl_unblock; }
	pids=()
	for node in "${NODES[@]}"; do
		up "$node" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { echo "round $ROUND: ${NODES[$i]} never said connected"; ok=0; }
	done
	T1=$(date +%s%N)
	PARTY=""
	if [ $ok = 1 ]; then
		PARTY=$(lr a party create "race $ROUND" --json 2>"$TMP/r$ROUND/a.out" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["party_id"])' 2>/dev/null)
		[ -n "$PARTY" ] || { echo "round $ROUND: create failed: $(cat "$TMP/r$ROUND/a.out")"; ok=0; }
	fi
	T2=$(date +%s%N)
	[ -n "${JOIN_DELAY:-}" ] && sleep "$JOIN_DELAY"
	if [ $ok = 1 ]; then
		pids=()
		for node in b c d; do
			lr "$node" party join "$PARTY" >"$TMP/r$ROUND/$node.out" 2>&1 &
			pids+=($!)
		done
		for i in 0 1 2; do
			node=${NODES[$((i + 1))]}
			if ! wait "${pids[$i]}"; then
				echo "round $ROUND: $node's join failed: $(tail -1 "$TMP/r$ROUND/$node.out")"
				FAILED_JOINS=$((FAILED_JOINS + 1))
				ok=0
			fi
		done
	fi
	T3=$(date +%s%N)
	stop_all
	forget_daemons
	T4=$(date +%s%N)
	ms() { echo $((($2 - $1) / 1000000)); }
	TIMES+=("$(ms "$T0" "$T4")")
	late=""
	[ -n "${CTL_LATE:-}" ] &&
		late=", $(grep -l 'cannot connect to' "$TMP/r$ROUND"/*.log | wc -l) had a refused attempt"
	echo "round $ROUND: $(ms "$T0" "$T4") ms (connected $(ms "$T0" "$T1"), create $(ms "$T1" "$T2"), joins $(ms "$T2" "$T3"), stop $(ms "$T3" "$T4")$late)"
	if [ $ok = 0 ]; then
		FAILED_ROUNDS=$((FAILED_ROUNDS + 1))
		[ "$FAILED_ROUNDS" -le 2 ] && show_round
	fi
done

check "every create and join of $ROUNDS rounds succeeded on the first try" \
	test "$FAILED_ROUNDS" -eq 0
echo "failed joins: $FAILED_JOINS, failed rounds: $FAILED_ROUNDS of $ROUNDS"
echo "round times (ms): ${TIMES[*]}"
echo "$FAILS failure(s)"
exit "$FAILS"
