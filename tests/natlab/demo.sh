#!/usr/bin/env bash
# tests/natlab/demo.sh: what `lanrage demo` runs (root). Builds a natlab with
# a control server, a relay (with STUN) and four players behind different
# NATs (full cone, port-restricted cone, symmetric, symmetric), starts a
# `lanrage daemon` on each, forms a party, shows every player's view (path
# and RTT to each other player), pings every pair over the virtual IPs, then
# shows LAN game discovery: p1 hosts a real OpenArena server
# (openarena-server), the other players search the LAN exactly as the
# OpenArena client does (a broadcast to 255.255.255.255:27960-27963) and get
# its answer through the tunnel, and `lanrage games` lists it. Tears
# everything down (nl_down on every exit path: processes by PID, then the
# namespaces). Exit status 0 when every pair answered and every player found
# the game (the discovery part is skipped, with a note, when openarena-server
# is not installed: scripts/install-deps.sh).
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
CTL_URL=wss://203.0.113.30:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.30:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.20:51821 \
	--stun 203.0.113.20 --stun 203.0.113.21 --key "$TMP/relay.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.20:51821 --name relay1 >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done
echo "control server $CTL_URL (TLS, pin $CTL_PIN), relay 203.0.113.20:51821 (STUN on 203.0.113.20/.21)"

lr() { # PLAYER ARGS...
	local p=$1
	shift
	nl_exec "$p" "$LANRAGE" "$@" --state-dir "$TMP/$p"
}

say "starting a lanrage daemon on each player"
for p in "${PLAYERS[@]}"; do
	mkdir -p "$TMP/$p"
	nl_spawn "$p" "$TMP/$p.log" "$LANRAGE" daemon --control "$CTL_URL" \
		--control-pin "$CTL_PIN" \
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

OA=/usr/games/openarena-server
if [ -x "$OA" ]; then
	say "LAN game discovery: p1 hosts a real OpenArena server (openarena-server, UDP 27960)"
	mkdir -p "$TMP/oa"
	nl_spawn p1 "$TMP/oa.log" env HOME="$TMP/oa" "$OA" +set dedicated 1 +set sv_master1 "" \
		+set sv_master2 "" +set sv_master3 "" +set net_port 27960 \
		+set sv_hostname "demo night arena" +map oa_dm1 >/dev/null
	for _ in $(seq 200); do
		nl_exec p1 ss -ulnH 2>/dev/null | grep -q ':27960 ' && break
		sleep 0.2
	done
	echo "p1 (${VIP[p1]}): openarena-server listening on UDP 27960"
	for p in p2 p3 p4; do
		say "$p searches the LAN like the OpenArena client: getinfo to 255.255.255.255:27960-27963"
		# the client's own query, from an unbound socket, twice; answers for 2 s
		if ! nl_exec "$p" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for _ in range(2):
    for port in range(27960, 27964):
        s.sendto(b"\xff\xff\xff\xffgetinfo xxx", ("255.255.255.255", port))
print("sent: \\xff\\xff\\xff\\xffgetinfo xxx to 255.255.255.255 ports 27960-27963, twice")
end, found = time.time() + 2, 0
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        data, addr = s.recvfrom(4096)
    except socket.timeout:
        break
    if not data.startswith(b"\xff\xff\xff\xffinfoResponse"):
        continue
    kv = data.split(b"\n", 1)[1].decode(errors="replace").split("\\")[1:]
    info = dict(zip(kv[0::2], kv[1::2]))
    print("answer from %s:%d (%s): \"%s\", map %s, %s/%s players" % (addr[0], addr[1],
          "p1, through the tunnel" if addr[0] == sys.argv[1] else "?", info.get("hostname"),
          info.get("mapname"), info.get("clients", "0"), info.get("sv_maxclients")))
    found += addr[0] == sys.argv[1]
sys.exit(0 if found else 1)' "${VIP[p1]}"; then
			echo "$p: no answer from p1's server"
			FAILS=$((FAILS + 1))
		fi
	done
	say "lanrage games on p2: the LAN games seen across the party"
	lr p2 games || FAILS=$((FAILS + 1))
	say "LAN discovery counters on p2 (lanrage status --json, lan_discovery)"
	lr p2 status --json | python3 -c 'import json, sys
d = json.load(sys.stdin).get("lan_discovery") or {}
print(", ".join("%s %s" % (k, json.dumps(d.get(k))) for k in ("enabled", "captured", "forwarded", "copies", "duplicates", "rate_limited", "denied")))'
else
	say "LAN game discovery: skipped, openarena-server is not installed (scripts/install-deps.sh)"
fi

say "leaving: lanrage down on every player"
for p in "${PLAYERS[@]}"; do
	lr "$p" down >/dev/null && echo "$p: daemon stopped, interface removed"
done
if [ "$FAILS" -eq 0 ]; then
	say "demo complete: every player reached every other and found p1's game"
else
	say "demo finished with $FAILS failure(s) (unreachable pairs, games not found); logs were in $TMP"
	for p in "${PLAYERS[@]}"; do echo "-- $p"; tail -15 "$TMP/$p.log"; done
fi
exit "$FAILS"
