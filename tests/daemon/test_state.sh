#!/usr/bin/env bash
# tests/daemon/test_state.sh: the daemon's party state through the traps of
# a first hour (root), in a natlab with two real lanrage-control servers
# (ctl drops a silent member after 10 s) and two players behind NATs:
#   - the sequence that used to leave a daemon stuck between states: SIGKILL
#     in a party, a restart in local mode, `settings set control_server`,
#     `down`, a restart: status, create, join and leave agree, and the other
#     player sees no ghost;
#   - SIGKILL then a plain restart (no flags): control server and name are
#     remembered, the party is resumed with the same virtual IP, once;
#   - SIGKILL then a restart against another control server: idle there,
#     create/leave work, and the first server's members lose the ghost;
#   - a name changed with --name reaches the other players;
#   - a leave while the control server is down (the stored party not yet
#     resumed) is kept: the server is told when it is back;
#   - a second daemon on the same host is refused at start, naming the
#     conflict (interface, UDP port) and the flag to change;
#   - with the control server unreachable the API answers within 1 s of the
#     start, status says why, and a join fails at once with the reason.
# nl_down (EXIT trap) kills every process by PID and deletes the namespaces.
# Exit status: number of failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"

nl_init st$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrstate.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server ctl 203.0.113.80
server ctl2 203.0.113.81
router ra full-cone
host a ra
router rb full-cone
host b rb
LAB

SECRET=state-test-secret
CTL_URL=wss://203.0.113.80:8667
CTL2_URL=wss://203.0.113.81:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
# Both servers use the certificate beside ctl.db (same pin): the switch
# below is about membership, not trust.
ctl_up() {
	nl_spawn ctl "$TMP/ctl.log.$((++CTL_STARTS))" "$BUILD/lanrage-control" \
		--listen 203.0.113.80:8667 --db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" \
		--peer-timeout 10 >/dev/null
	CTL_PID=${NL_PIDS[-1]}
}
CTL_STARTS=0
ctl_up
nl_spawn ctl2 "$TMP/ctl2.log" "$BUILD/lanrage-control" --listen 203.0.113.81:8667 \
	--db "$TMP/ctl.db2" --tls-cert "$TMP/control-tls.crt" --tls-key "$TMP/control-tls.key" \
	--relay-secret-file "$CTL_SECRET_FILE" >/dev/null
sleep 0.5

declare -A DPID
STARTS=0
# start NODE ARGS...: NODE's daemon (state in $TMP/NODE) with exactly ARGS,
# waiting for its API to answer.
start() {
	local node=$1
	shift
	mkdir -p "$TMP/$node"
	nl_spawn "$node" "$TMP/$node.log.$((++STARTS))" "$LANRAGE" daemon \
		--state-dir "$TMP/$node" --log-level debug "$@" >/dev/null
	DPID[$node]=${NL_PIDS[-1]}
	for _ in $(seq 100); do
		lr "$node" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
lr() { # NODE ARGS...: the CLI against NODE's daemon
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/$node"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d.get(k, "") if isinstance(d, dict) else d[int(k)]
print(d)' "$1"; }
state() { lr "$1" status --json | jget state; }
kill9() { kill -KILL "${DPID[$1]}"; wait "${DPID[$1]}" 2>/dev/null; }
stop() { # NODE: a clean stop through the CLI
	lr "$1" down >/dev/null
	for _ in $(seq 100); do kill -0 "${DPID[$1]}" 2>/dev/null || break; sleep 0.1; done
	wait "${DPID[$1]}" 2>/dev/null
}
# until SECONDS CMD...: CMD succeeds within SECONDS
until_ok() {
	local t=$1
	shift
	for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
is_state() { [ "$(state "$1")" = "$2" ]; }
# members NODE: the names of NODE's party members, sorted, one line
members() { lr "$1" peers --json | python3 -c 'import json,sys
print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["peers"])))'; }
has_members() { [ "$(members "$1")" = "$2" ]; }

check "a starts (control server and name given once)" \
	start a --control "$CTL_URL" --control-pin "$CTL_PIN" --interface lra --name alice
check "b starts" start b --control "$CTL_URL" --control-pin "$CTL_PIN" --interface lrb --name bob
PARTY=$(lr a party create "first hour" --json | jget party_id)
VIP_B=$(lr b party join "$PARTY" --json | jget self.virtual_ip)
check "b joined a's party" test -n "$VIP_B"
check "a sees bob" until_ok 5 has_members a bob

# ---- SIGKILL, then a plain restart: everything remembered ----
kill9 b
check "plain restart after SIGKILL" start b
check "b resumes the party" until_ok 10 is_state b active
check "resumed with the same virtual IP" test "$(lr b status --json | jget self.virtual_ip)" = "$VIP_B"
check "control server remembered (remote mode)" \
	test "$(lr b status --json | jget control.mode)" = remote
check "settings hold the flags" test "$(lr b settings get control_server)" = "$CTL_URL"
check "name remembered" test "$(lr b settings get name)" = bob
check "a sees bob once" until_ok 5 has_members a bob

# ---- the sequence that used to get stuck ----
kill9 b
check "restart in local mode" start b --control local
check "local mode: idle" until_ok 5 is_state b idle
check "settings set control_server" lr b settings set control_server "$CTL_URL"
stop b
check "restart after down" start b
check "status: idle (the party was left for the local one)" until_ok 10 is_state b idle
check "no ghost: a no longer lists bob" until_ok 5 has_members a ""
check "leave when idle says not in a party" bash -c \
	"! ip netns exec $(nl_ns b) $LANRAGE party leave --state-dir $TMP/b 2>$TMP/err; grep -q 'not in a party' $TMP/err"
check "join works" lr b party join "$PARTY"
check "a sees bob again" until_ok 5 has_members a bob
check "status agrees: active" is_state b active
check "leave works" lr b party leave
check "a sees bob leave" until_ok 5 has_members a ""
check "create works" lr b party create "bob's"
check "leave again" lr b party leave
check "join a's party again" lr b party join "$PARTY"
check "a sees bob" until_ok 5 has_members a bob

# ---- a new name reaches the others ----
kill9 b
check "restart with another --name" start b --name robert
check "resumed" until_ok 10 is_state b active
check "a sees the new name" until_ok 5 has_members a robert
check "status shows our own name" test "$(lr b status --json | jget self.name)" = robert

# ---- leave while the control server is away ----
kill9 b
kill -KILL "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
check "plain restart with the control server down" start b
check "status: joining the stored party meanwhile" is_state b joining
T0=$(date +%s%N)
check "leave while it is down succeeds" lr b party leave
MS=$((($(date +%s%N) - T0) / 1000000))
check "and says so within 7 s (${MS} ms)" test "$MS" -le 7000
check "idle after that leave" is_state b idle
ctl_up
connected() { [ "$(lr b status --json | jget control.connected)" = True ]; }
check "b reconnects when the control server is back" until_ok 30 connected
check "the control server is told: a no longer lists bob" until_ok 20 has_members a ""
check "b still idle" is_state b idle
check "join again" lr b party join "$PARTY"
check "a sees bob" until_ok 10 has_members a robert

# ---- SIGKILL, then another control server ----
kill9 b
check "restart against another control server" start b --control "$CTL2_URL" \
	--control-pin "$CTL_PIN"
check "idle on the new server" until_ok 10 is_state b idle
check "create on the new server" lr b party create "elsewhere"
check "leave on the new server" lr b party leave
check "the first server drops the ghost (peer timeout 10 s)" until_ok 25 has_members a ""

# ---- a second daemon on the same host ----
mkdir -p "$TMP/b2"
check "same interface name: refused at start, naming --interface" bash -c \
	"ip netns exec $(nl_ns b) timeout 10 $LANRAGE daemon --state-dir $TMP/b2 --control local --interface lrb --api 127.0.0.1:8670 --listen-port 51830 2>$TMP/err; rc=\$?; cat $TMP/err; [ \$rc -eq 1 ] && grep -q 'interface lrb is in use' $TMP/err && grep -q -- '--interface' $TMP/err"
check "same UDP port: refused at start, naming --listen-port" bash -c \
	"ip netns exec $(nl_ns b) timeout 10 $LANRAGE daemon --state-dir $TMP/b2 --interface lrb2 --api 127.0.0.1:8670 --listen-port 51820 2>$TMP/err; rc=\$?; cat $TMP/err; [ \$rc -eq 1 ] && grep -q 'UDP port 51820 is in use' $TMP/err && grep -q -- '--listen-port' $TMP/err"
check "the first daemon is untouched" is_state b idle
check "a refused start saved none of its flags" \
	test "$(nl_exec b "$LANRAGE" settings get interface --state-dir "$TMP/b2")" = lanrage0

# ---- the control server unreachable ----
stop b
mkdir -p "$TMP/c"
T0=$(date +%s%N)
nl_spawn b "$TMP/c.log" "$LANRAGE" daemon --state-dir "$TMP/c" --interface lrc \
	--control wss://203.0.113.80:9 --control-pin "$CTL_PIN" >/dev/null
DPID[c]=${NL_PIDS[-1]}
for _ in $(seq 50); do
	nl_exec b "$LANRAGE" status --state-dir "$TMP/c" >/dev/null 2>&1 && break
	sleep 0.02
done
MS=$((($(date +%s%N) - T0) / 1000000))
# Under ASan every CLI call of the polling loop costs ~100 ms more, and
# a loaded machine more still: 2.5 s there, still far from the 10 s of old.
LIMIT=1000
[[ $BUILD == *asan* ]] && LIMIT=2500
check "API answers within $((LIMIT / 1000)).$((LIMIT % 1000 / 100)) s of the start (${MS} ms)" \
	test "$MS" -le "$LIMIT"
check "status says the control plane is unreachable and why" bash -c \
	"ip netns exec $(nl_ns b) $LANRAGE status --json --state-dir $TMP/c | python3 -c 'import json,sys; e=json.load(sys.stdin)[\"control\"][\"error\"]; print(e); sys.exit(\"connection refused\" not in e)'"
T0=$(date +%s%N)
nl_exec b "$LANRAGE" party join "$PARTY" --state-dir "$TMP/c" 2>"$TMP/err"
MS=$((($(date +%s%N) - T0) / 1000000))
cat "$TMP/err"
check "join fails with the reason (connection refused)" grep -q 'connection refused' "$TMP/err"
check "join fails within 3 s, not after the 10 s timeout (${MS} ms)" test "$MS" -le 3000

if [ "$FAILS" -ne 0 ]; then
	for f in "$TMP"/*.log*; do echo "== $f"; tail -40 "$f"; done
fi
echo "$FAILS failure(s)"
exit "$FAILS"
