#!/usr/bin/env bash
# tests/natlab/demo.sh: what `lanrage demo` runs (root). Builds a natlab with
# a control server, a relay (with STUN) and four players behind different
# NATs (full cone, port-restricted cone, symmetric, symmetric), starts a
# `lanrage daemon` on each, forms a party, shows every player's view (path
# and RTT to each other player), pings every pair over the virtual IPs, and
# tears everything down (nl_down on every exit path: processes by PID, then
# the namespaces). Exit status 0 when every pair answered.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
if [ "$(id -u)" -ne 0 ]; then
	echo "lanrage demo: needs root (it builds network namespaces): sudo $LANRAGE demo" >&2
	exit 1
fi
for b in lanrage lanrage-control lanrage-relay; do
	[ -x "$BUILD/$b" ] || { echo "lanrage demo: $BUILD/$b is missing; build first" >&2; exit 1; }
done
source "$ROOT/tests/natlab/lib.sh"

nl_init demo
TMP=$(mktemp -d /tmp/lrdemo.XXXXXX)
trap 'rc=$?; echo; echo "== tearing down the lab"; nl_down; rm -rf "$TMP"; exit $rc' EXIT
say() { printf '\n== %s\n' "$*"; }

say "building the lab: internet, control server, relay, four NAT routers, four players"
nl_build <<'LAB'
server relay 203.0.113.20 203.0.113.21
server ctl 203.0.113.30
router nat1 full-cone
host p1 nat1
router nat2 port-restricted-cone
host p2 nat2
router nat3 symmetric
host p3 nat3
router nat4 symmetric
host p4 nat4
LAB
PLAYERS=(p1 p2 p3 p4)
declare -A KIND=([p1]=full-cone [p2]=port-restricted-cone [p3]=symmetric [p4]=symmetric)

SECRET=demo-secret-$RANDOM
CTL_URL=ws://203.0.113.30:8667
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.30:8667 \
	--db "$TMP/ctl.db" --relay-secret "$SECRET" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.20:51821 \
	--stun 203.0.113.20 --stun 203.0.113.21 --key "$TMP/relay.key" --control "$CTL_URL" \
	--relay-secret "$SECRET" --public-endpoint 203.0.113.20:51821 --name relay1 >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done
echo "control server $CTL_URL, relay 203.0.113.20:51821 (STUN on 203.0.113.20/.21)"

lr() { # PLAYER ARGS...
	local p=$1
	shift
	nl_exec "$p" "$LANRAGE" "$@" --state-dir "$TMP/$p"
}

say "starting a lanrage daemon on each player"
for p in "${PLAYERS[@]}"; do
	mkdir -p "$TMP/$p"
	nl_spawn "$p" "$TMP/$p.log" "$LANRAGE" daemon --control "$CTL_URL" \
		--state-dir "$TMP/$p" --interface "lr$p" --name "$p" >/dev/null
done
for p in "${PLAYERS[@]}"; do
	for _ in $(seq 100); do
		lr "$p" status >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "$p behind a ${KIND[$p]} NAT: daemon up"
done

say "p1: lanrage party create \"demo night\""
PARTY=$(lr p1 party create "demo night" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["party_id"])') || exit 1
echo "party ID $PARTY"
for p in p2 p3 p4; do
	say "$p: lanrage party join $PARTY"
	lr "$p" party join "$PARTY" || exit 1
done

say "connecting (hole punching; the relay where the NATs forbid a direct path)"
for p in "${PLAYERS[@]}"; do
	lr "$p" status --wait --timeout 60 >/dev/null 2>&1 || echo "$p: some members still connecting"
done
sleep 5 # a few monitoring rounds, so every path has an RTT

for p in "${PLAYERS[@]}"; do
	say "lanrage status on $p (${KIND[$p]})"
	lr "$p" status
done

say "ping across: every player to every other, over the virtual IPs"
declare -A VIP
for p in "${PLAYERS[@]}"; do
	VIP[$p]=$(lr "$p" status --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["self"]["virtual_ip"])')
done
FAILS=0
for a in "${PLAYERS[@]}"; do
	for b in "${PLAYERS[@]}"; do
		[ "$a" = "$b" ] && continue
		if out=$(lr "$a" ping "${VIP[$b]}" --count 8 2>&1); then
			echo "$a -> $b  $out"
		else
			echo "$a -> $b  FAILED: $out"
			FAILS=$((FAILS + 1))
		fi
	done
done

say "leaving: lanrage down on every player"
for p in "${PLAYERS[@]}"; do
	lr "$p" down >/dev/null && echo "$p: daemon stopped, interface removed"
done
if [ "$FAILS" -eq 0 ]; then
	say "demo complete: every player reached every other"
else
	say "demo finished with $FAILS unreachable pair(s); logs were in $TMP"
	for p in "${PLAYERS[@]}"; do echo "-- $p"; tail -15 "$TMP/$p.log"; done
fi
exit "$FAILS"
