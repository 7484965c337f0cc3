#!/usr/bin/env bash
# tests/daemon/test_cli.sh: the player's first hour with the lanrage CLI
# (root), against real daemons in a natlab:
#
#        [inet bridge]
#        |     |     |
#      ctl  a  b  c  d       a: local mode, its own state dir and --api
#                            b, c: remote mode against lanrage-control
#                            d: a control server that is not there
#
#   --version and --help on every verb; settings set/get/reset before the
#   first start (offline, on the database) and the daemon starting with them;
#   the locator: `lanrage status` without flags finds a daemon started with
#   --state-dir and --api; status text and JSON (no null fields); settings
#   through the daemon: applied now / next start / unchanged, reset KEY and
#   --all, a bad key; a non-root user told to use sudo; share codes in every
#   spelling (pieces, no dashes, lower case) and a bad one explained by the
#   CLI and the API; a local-mode party says who can join it; `lanrage logs`
#   while the daemon runs and after it is gone.
#
# Run it under the lab lock: flock /tmp/lr-lab.lock env BUILD=DIR test_cli.sh.
# /run/lanrage/daemon.json is shared by every namespace: a locator there
# before the test is kept aside and put back. Each assertion prints
# "PASS ..." or "FAIL ..."; exit status: number of failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"

LOCATOR=/run/lanrage/daemon.json
source "$ROOT/tests/lib/check.sh"
t() { check "$@"; } # NAME CMD...: PASS when CMD succeeds
has() { grep -q -- "$1" <<<"$2"; }   # PATTERN TEXT
hasnt() { ! grep -q -- "$1" <<<"$2"; } # PATTERN TEXT

nl_init cli$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrcli.XXXXXX)
chmod 755 "$TMP" # the unprivileged user may reach the build, not the state dirs
SAVED_LOCATOR=
if [ -f "$LOCATOR" ]; then
	SAVED_LOCATOR=$TMP/locator.saved
	cp "$LOCATOR" "$SAVED_LOCATOR"
fi
cleanup() {
	local rc=$?
	nl_down
	# our daemons' locator (a killed one leaves it); a saved one goes back
	if [ -f "$LOCATOR" ] && grep -q "$TMP" "$LOCATOR"; then rm -f "$LOCATOR"; fi
	if [ -n "$SAVED_LOCATOR" ] && [ ! -f "$LOCATOR" ]; then cp "$SAVED_LOCATOR" "$LOCATOR"; fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT

nl_build <<'LAB'
server ctl 203.0.113.80
public a
public b
public c
public d
LAB

IFX=lc$((RANDOM % 10000))
SA=$TMP/a # daemon a's state directory
API_A=127.0.0.1:18$((RANDOM % 900 + 100))
in_a() { nl_exec a "$@"; }
lr_a() { in_a "$LANRAGE" "$@"; }    # the CLI in a, no flags
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }

# ---- no daemon: version, help --------------------------------------------
t "lanrage --version" test "$("$LANRAGE" --version)" = "lanrage 0.1.0"
t "lanrage version" test "$("$LANRAGE" version)" = "lanrage 0.1.0"
t "lanrage-wg --version" test "$("$BUILD/lanrage-wg" --version)" = "lanrage-wg 0.1.0"
help_ok=1
for v in daemon "party create" "party join" "party leave" party status peers games netcheck \
	ping settings "settings get" "settings set" "settings reset" logs down demo version help; do
	# shellcheck disable=SC2086
	out=$("$LANRAGE" $v --help 2>&1) && has "^Usage: lanrage $v" "$out" || {
		echo "  '$v --help': $out" | head -3
		help_ok=0
	}
done
t "--help on every verb: its usage, exit 0" test $help_ok = 1
out=$("$LANRAGE" party join -h)
t "-h works too" has "12 letters and digits" "$out"

# ---- settings before the first start ---------------------------------------
out=$(lr_a settings set name alice --state-dir "$SA")
t "offline set: saved for the next start" has "no daemon running: saved; it applies when the daemon starts" "$out"
t "offline set created the database 0600" test "$(stat -c %a "$SA/lanrage.db")" = 600
t "offline get" test "$(lr_a settings get name --state-dir "$SA")" = alice
t "offline set of the same value: unchanged" has "(unchanged)" "$(lr_a settings set name alice --state-dir "$SA")"
lr_a settings set keepalive 11 --state-dir "$SA" >/dev/null
out=$(lr_a settings set mtu 99 --state-dir "$SA" 2>&1)
rc=$?
t "offline set validates: exit 1, message" test $rc = 1 -a -n "$(has "out of range" "$out" && echo y)"
t "offline reset KEY" has "keepalive = 25" "$(lr_a settings reset keepalive --state-dir "$SA")"
lr_a settings set keepalive 12 --state-dir "$SA" >/dev/null
out=$(lr_a settings reset bogus --state-dir "$SA" 2>&1)
rc=$?
t "offline reset of a bad key: error, nothing changes" test $rc = 1 -a \
	"$(lr_a settings get keepalive --state-dir "$SA")" = 12
t "offline list shows the saved value" has "^name  *alice" "$(lr_a settings --state-dir "$SA")"

# ---- daemon a: local mode, --state-dir and --api, found by the locator ----
nl_spawn a "$TMP/a.log" "$LANRAGE" daemon --state-dir "$SA" --api "$API_A" \
	--interface "${IFX}a" --listen-port 0 >/dev/null
APID=${NL_PIDS[-1]}
for _ in $(seq 100); do
	lr_a status --state-dir "$SA" --api "$API_A" >/dev/null 2>&1 && break
	sleep 0.1
done
t "the daemon wrote its locator" grep -q "\"pid\": $APID" "$LOCATOR"
t "the locator is 0644 and names the state dir and API" \
	test "$(stat -c %a "$LOCATOR")" = 644 -a -n "$(grep "$SA" "$LOCATOR" | head -1)" -a \
	-n "$(grep "$API_A" "$LOCATOR" | head -1)"
out=$(lr_a status 2>&1)
t "status without flags finds the daemon (locator)" has "^you:  *alice" "$out"
t "status: the offline name was used at start" has "alice" "$out"
t "status: local mode shown" has "^control:  *local" "$out"
t "status: idle and connected suggests party create" has "party create NAME" "$out"
t "settings without flags reach the daemon" test "$(lr_a settings get keepalive)" = 12
js=$(lr_a status --json)
t "status --json: no null party fields when idle" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["state"]=="idle"
assert "party_id" not in d and "party_name" not in d and "virtual_ip" not in d["self"]
assert d["self"]["name"]=="alice" and d["control"]["mode"]=="local" and "url" not in d["control"]
assert "error" not in d["control"]' "$js"
t "explicit flags win over the locator" bash -c \
	"! ip netns exec $(nl_ns a) $LANRAGE status --state-dir $TMP/none 2>&1 | grep -q alice"

# ---- settings through the daemon -------------------------------------------
t "set lan_discovery: applied now" has "(applied now)" "$(lr_a settings set lan_discovery false)"
t "set it again: unchanged" has "(unchanged)" "$(lr_a settings set lan_discovery false)"
t "set keepalive: next start" has "applies when the daemon next starts" "$(lr_a settings set keepalive 30)"
t "reset KEY: back to the default" has "keepalive = 25" "$(lr_a settings reset keepalive)"
t "reset KEY at its default: unchanged" has "(unchanged)" "$(lr_a settings reset keepalive)"
out=$(lr_a settings reset nosuchkey 2>&1)
rc=$?
t "reset of a bad key: exit 1, clear error" test $rc = 1 -a -n "$(has "unknown setting 'nosuchkey'" "$out" && echo y)"
out=$(lr_a settings reset --all)
t "reset --all lists what moved" bash -c "grep -q '^lan_discovery = true' <<<'$out' && grep -q '^name = ' <<<'$out'"
t "reset --all again: nothing to do" has "already had its default" "$(lr_a settings reset --all)"
t "settings list says when each applies" has "applies now" "$(lr_a settings | grep '^lan_discovery ')"
t "API: DELETE /v1/settings/KEY" bash -c "ip netns exec $(nl_ns a) curl -s -X DELETE \
	-H 'Authorization: Bearer $(cat "$SA/api.token")' http://$API_A/v1/settings/mtu | grep -q '\"note\":\"unchanged\"'"

# ---- a non-root user while the root daemon runs ----------------------------
nobody() { in_a setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR \
	HOME=/nonexistent "$LANRAGE" "$@"; }
out=$(nobody status 2>&1)
rc=$?
t "non-root: told to use sudo (status)" test $rc = 1 -a \
	"$out" = "lanrage: the daemon runs as root; run this as root: sudo lanrage status"
out=$(nobody party join abcd efgh jkmn 2>&1)
t "non-root: the advice repeats the command" has "sudo lanrage party join abcd efgh jkmn" "$out"
out=$(nobody settings --state-dir "$SA" 2>&1)
t "non-root with the root state dir: sudo (EACCES)" has "run this as root: sudo lanrage settings" "$out"
out=$(nobody logs --state-dir "$SA" 2>&1)
t "non-root logs: sudo" has "sudo lanrage logs" "$out"

# ---- local-mode party ------------------------------------------------------
out=$(lr_a party create "cli night")
t "local party create: says only this machine's control plane can join" has "local-mode party" "$out"
t "local party create: no 'others join with'" hasnt "others join with" "$out"
t "local party create: how to use a control server" has "control_server wss://" "$out"
js=$(lr_a status --json)
t "status --json in a party: party_id, virtual_ip" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["party_id"] and d["self"]["virtual_ip"]' "$js"
lr_a party leave >/dev/null

# ---- share codes, remote mode: b creates, c joins in every spelling -------
SECRET=cli-test-secret
CTL_URL=wss://203.0.113.80:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.80:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" >/dev/null
sleep 0.3
remote() { # NAME PORT: a remote-mode daemon in namespace NAME
	nl_spawn "$1" "$TMP/$1.log" "$LANRAGE" daemon --control "$CTL_URL" --control-pin "$CTL_PIN" \
		--state-dir "$TMP/$1" --api "127.0.0.1:$2" --interface "${IFX}$1" --listen-port 0 \
		--name "$1" >/dev/null
	for _ in $(seq 100); do
		lr_x "$1" "$2" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
lr_x() { local n=$1 p=$2; shift 2; nl_exec "$n" "$LANRAGE" "$@" --state-dir "$TMP/$n" --api "127.0.0.1:$p"; }
if remote b 18601 && remote c 18602; then pass "remote daemons b and c start"; else
	fail "remote daemons b and c start"; fi
CODE=$(lr_x b 18601 party create "codes" --json | jget party_id)
t "remote create prints a code" test -n "$CODE"
t "remote status: URL and connected" has "control:  *$CTL_URL, connected" "$(lr_x b 18601 status)"
low=$(tr 'A-Z' 'a-z' <<<"$CODE")
p1=${low:0:4} p2=${low:5:4} p3=${low:10:4}
join_as() { # LABEL ARGS...: c joins with that spelling, then leaves
	local label=$1 out
	shift
	out=$(lr_x c 18602 party join "$@" 2>&1)
	t "join with $label" has "joined party $CODE" "$out"
	lr_x c 18602 party leave >/dev/null 2>&1
}
join_as "three pieces, lower case" "$p1" "$p2" "$p3"
join_as "no dashes, upper case" "${CODE//-/}"
join_as "dashes, lower case" "$low"
join_as "spaces in one argument" "$p1 $p2 $p3"
out=$(lr_x c 18602 party join ABCD-EFG 2>&1)
rc=$?
t "a bad code: exit 1 and what a code looks like" test $rc = 1 -a "$out" = \
	"lanrage: 'ABCD-EFG' is not a share code: a share code is 12 letters and digits like ABCD-EFGH-JKMN (dashes and spaces optional)"
t "the API says the same: 400 with the message" bash -c "ip netns exec $(nl_ns c) curl -s \
	-w ' %{http_code}' -H 'Authorization: Bearer $(cat "$TMP/c/api.token")' \
	-d '{\"party_id\":\"ABCD-EFG\"}' http://127.0.0.1:18602/v1/party/join |
	grep -q \"is not a share code.* 400\$\""
t "the remote create says how others join" has "others join with: lanrage party join" \
	"$(lr_x c 18602 party create other)"

# ---- a control plane that cannot be reached -------------------------------
nl_spawn d "$TMP/d.log" "$LANRAGE" daemon --control wss://203.0.113.99:8667 \
	--control-pin "$CTL_PIN" --state-dir "$TMP/d" --api 127.0.0.1:18603 --interface "${IFX}d" \
	--listen-port 0 --name d >/dev/null
for _ in $(seq 100); do
	out=$(lr_x d 18603 status 2>&1)
	has "unreachable: " "$out" && break
	sleep 0.1
done
t "unreachable control: status says so, with why" has "^control:  *wss://203.0.113.99:8667, unreachable: ." "$out"
t "unreachable control: no party create suggestion" hasnt "party create NAME" "$out"
t "unreachable control: control.error in the JSON" bash -c "ip netns exec $(nl_ns d) $LANRAGE \
	status --json --state-dir $TMP/d --api 127.0.0.1:18603 | python3 -c 'import json,sys
d = json.load(sys.stdin)[\"control\"]; assert d[\"error\"] and not d[\"connected\"]'"

# ---- logs (b and c wrote the locator last: a is named by its flags now) ---
out=$(lr_a logs -n 5 --state-dir "$SA")
t "logs -n 5: five lines" test "$(wc -l <<<"$out")" = 5
t "logs: the daemon's lines" has "running; stop with" "$(lr_a logs -n 1000 --state-dir "$SA")"
t "daemon.log is 0600" test "$(stat -c %a "$SA/daemon.log")" = 600
in_a timeout 2 "$LANRAGE" logs -f -n 1 --state-dir "$SA" >"$TMP/follow.out" 2>&1 &
follow=$!
sleep 0.5
lr_a settings set lan_discovery_ports 27960 --state-dir "$SA" --api "$API_A" >/dev/null
wait $follow
t "logs -f shows new lines" grep -q "setting changed" "$TMP/follow.out"
lr_a down --state-dir "$SA" --api "$API_A" >/dev/null
for _ in $(seq 50); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
t "the locator is gone after a clean exit" bash -c "! grep -qs '\"pid\": $APID' $LOCATOR"
t "logs after the daemon is gone" has "stopping" "$(lr_a logs --state-dir "$SA" -n 50)"
t "no daemon: settings work offline again" has "no daemon running: saved" \
	"$(lr_a settings set keepalive 13 --state-dir "$SA")"
t "no daemon: status says so" has "no daemon is running" "$(lr_a status --state-dir "$SA" 2>&1)"

echo "test_cli: $FAILS failure(s) in ${SECONDS}s"
exit "$FAILS"
