#!/usr/bin/env bash
# tests/daemon/test_daemon.sh: the lanrage daemon end to end in a natlab
# (root): a real lanrage-control and lanrage-relay on public lab addresses,
# two players (a behind a full-cone NAT, b behind a port-restricted one), each
# running `lanrage daemon --control URL` and driven only through the CLI and
# the local API:
#   party create/join, status (path settles), peers, ping over the virtual
#   IPs (lanrage ping and the system ping), netcheck through the daemon,
#   settings get/set with a validation error, API refusals (Host, Origin,
#   token, unknown route, bad JSON), usage errors, leave seen by the other,
#   SIGTERM (exit 0, interface and api.token gone, the control plane told),
#   restart keeping keys and virtual IP, SIGKILL + restart resuming the party,
#   `lanrage down`, and an unprivileged start refused with a clear message.
# Everything runs in the lab's namespaces; nl_down (EXIT trap) kills every
# process by PID and deletes the namespaces. Exit status: number of failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"

nl_init dm$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrdaemon.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.70 203.0.113.71
server ctl 203.0.113.80
router ra full-cone
host a ra
router rb port-restricted-cone
host b rb
router rc full-cone
host c rc
LAB

SECRET=daemon-test-secret
CTL_URL=wss://203.0.113.80:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.80:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.70:51821 \
	--stun 203.0.113.70 --stun 203.0.113.71 --key "$TMP/relay.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.70:51821 --name r1 >/dev/null
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done

declare -A DPID
# daemon NODE: starts NODE's daemon (state in $TMP/NODE, interface lrNODE)
# and waits for its API to answer (a killed daemon's api.token may be left)
daemon() {
	local node=$1
	mkdir -p "$TMP/$node"
	nl_spawn "$node" "$TMP/$node.log.$((++STARTS))" "$LANRAGE" daemon --control "$CTL_URL" \
		--control-pin "$CTL_PIN" \
		--state-dir "$TMP/$node" --interface "lr$node" --name "$node" \
		--log-level debug >/dev/null
	DPID[$node]=${NL_PIDS[-1]}
	for _ in $(seq 100); do
		lr "$node" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
STARTS=0
lr() { # NODE ARGS...: the CLI against NODE's daemon
	local node=$1
	shift
	nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/$node"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }
# stopped NODE: its daemon exited with status 0
stopped_ok() {
	local pid=${DPID[$1]} rc
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "  daemon $1 exit status $rc"; return 1; }
}
no_iface() { ! nl_exec "$1" ip link show "lr$1" >/dev/null 2>&1; }

check "daemon a starts" daemon a
check "daemon b starts" daemon b
check "api.token is 0600" test "$(stat -c %a "$TMP/a/api.token")" = 600
check "control.json is 0600" test "$(stat -c %a "$TMP/a/control.json")" = 600
check "keys are 0600" test "$(stat -c %a "$TMP/a/keys/private.key")" = 600
check "status idle" test "$(lr a status --json | jget state)" = idle
TOKEN_BEFORE=$(cat "$TMP/a/api.token")
check "second daemon on the same state dir refused" bash -c \
	"ip netns exec $(nl_ns a) $LANRAGE daemon --control $CTL_URL --control-pin $CTL_PIN --state-dir $TMP/a --interface lrx 2>$TMP/err; [ \$? -eq 1 ] && grep -q 'already running' $TMP/err"
check "the running daemon keeps its token" test "$(cat "$TMP/a/api.token")" = "$TOKEN_BEFORE"

# ---- party ----
OUT=$(lr a party create "lan night" --json)
PARTY=$(jget party_id <<<"$OUT")
VIP_A=$(jget self.virtual_ip <<<"$OUT")
check "party create gives an ID and a virtual IP" \
	bash -c "[[ '$PARTY' =~ ^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$ && '$VIP_A' == 10.66.* ]]"
check "interface up with the virtual IP" \
	bash -c "ip netns exec $(nl_ns a) ip -4 addr show lra | grep -q 'inet $VIP_A/'"
OUT=$(lr b party join "$PARTY" --json)
VIP_B=$(jget self.virtual_ip <<<"$OUT")
check "party join" test "$(jget party_id <<<"$OUT")" = "$PARTY"
check "distinct virtual IPs" test "$VIP_A" != "$VIP_B"
check "join while in a party fails (exit 1)" bash -c \
	"! ip netns exec $(nl_ns b) $LANRAGE party join $PARTY --state-dir $TMP/b 2>$TMP/err; grep -q 'already in party' $TMP/err"
check "status --wait settles" lr a status --wait --timeout 40
check "status --wait settles on b" lr b status --wait --timeout 40
lr a status
PATH_AB=$(lr a peers --json | jget peers.0.path)
check "a sees b on a direct path (full cone vs port-restricted)" test "$PATH_AB" = direct
check "peers shows b's virtual IP" test "$(lr a peers --json | jget peers.0.virtual_ip)" = "$VIP_B"
# A handshake that went out before the other side punched is retried by
# WireGuard after 5 s: enough echoes to cover that.
check "lanrage ping over the tunnel" lr a ping "$VIP_B" --count 8
check "lanrage ping by name" lr b ping a --count 2
check "system ping a -> b" nl_exec a ping -c 2 -W 2 "$VIP_B"
check "system ping b -> a" nl_exec b ping -c 2 -W 2 "$VIP_A"
check "ping of a stranger fails (exit 1)" bash -c \
	"! ip netns exec $(nl_ns a) $LANRAGE ping nobody --state-dir $TMP/a 2>/dev/null"
check "netcheck through the daemon" bash -c \
	"ip netns exec $(nl_ns a) $LANRAGE netcheck --json --state-dir $TMP/a | grep -q '\"nat_type\": \"full-cone\"'"

# ---- settings ----
check "settings get" test "$(lr a settings get mtu)" = 1420
check "settings set" lr a settings set upgrade_interval_s 60
check "settings set stored" test "$(lr a settings get upgrade_interval_s)" = 60
check "settings set refuses a bad value (exit 1, message)" bash -c \
	"! ip netns exec $(nl_ns a) $LANRAGE settings set mtu 99 --state-dir $TMP/a 2>$TMP/err; grep -q '1280..9000' $TMP/err"
check "settings list has every key" bash -c "[ \$(ip netns exec $(nl_ns a) $LANRAGE settings --json --state-dir $TMP/a | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 20 ]"

# ---- API refusals ----
TOKEN=$(cat "$TMP/a/api.token")
code() { nl_exec a curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "API without token: 401" test "$(code http://127.0.0.1:8666/v1/status)" = 401
check "API wrong token: 401" test "$(code -H 'Authorization: Bearer 00' http://127.0.0.1:8666/v1/status)" = 401
check "API with token: 200" test "$(code -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8666/v1/status)" = 200
check "API foreign Host: 403" test "$(code -H 'Host: evil.example:8666' -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8666/v1/status)" = 403
check "API cross-origin POST: 403" test "$(code -X POST -H 'Origin: http://evil.example' -H "Authorization: Bearer $TOKEN" -d '{}' http://127.0.0.1:8666/v1/party/leave)" = 403
check "API unknown route: 404" test "$(code -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8666/v1/nope)" = 404
check "API bad JSON: 400" test "$(code -X POST -H "Authorization: Bearer $TOKEN" -d '{"name":' http://127.0.0.1:8666/v1/party/create)" = 400
check "API error body is JSON" bash -c "ip netns exec $(nl_ns a) curl -s http://127.0.0.1:8666/v1/status | grep -q '\"error\":\"unauthorized\"'"
check "still in the party after refusals" test "$(lr a status --json | jget state)" = active
check "API listens on loopback only" bash -c \
	"! ip netns exec $(nl_ns a) ss -ltnH | grep ':8666' | grep -v '127.0.0.1:8666'"

# ---- usage ----
check "usage error exits 2" bash -c "$LANRAGE party frob >/dev/null 2>&1; [ \$? -eq 2 ]"
check "no daemon: exit 1 with the hint" bash -c \
	"$LANRAGE status --state-dir $TMP/none 2>$TMP/err; [ \$? -eq 1 ] && grep -q 'no daemon is running' $TMP/err"
check "unprivileged daemon refused" bash -c \
	"setpriv --reuid=65534 --regid=65534 --clear-groups $LANRAGE daemon --state-dir /tmp 2>$TMP/err; [ \$? -eq 1 ] && grep -q 'needs root or CAP_NET_ADMIN' $TMP/err"

# ---- leave, SIGTERM, restart ----
check "b leaves" lr b party leave
wait_members() { # NODE N
	for _ in $(seq 100); do
		[ "$(lr "$1" peers --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))')" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "a sees b leave" wait_members a 0
check "b rejoins" lr b party join "$PARTY"
check "a sees b again" wait_members a 1
kill -TERM "${DPID[b]}"
check "SIGTERM: daemon exits 0" stopped_ok b
check "SIGTERM: interface removed" no_iface b
check "SIGTERM: api.token removed" test ! -e "$TMP/b/api.token"
check "SIGTERM: the control plane told (a sees b leave)" wait_members a 0
KEY_B=$(cat "$TMP/b/keys/public.key")
check "restart b" daemon b
check "restart keeps the key" test "$(cat "$TMP/b/keys/public.key")" = "$KEY_B"
check "restart: idle after a clean stop" test "$(lr b status --json | jget state)" = idle
check "rejoin keeps the virtual IP" test "$(lr b party join "$PARTY" --json | jget self.virtual_ip)" = "$VIP_B"
kill -KILL "${DPID[b]}"
wait "${DPID[b]}" 2>/dev/null
check "restart after SIGKILL" daemon b
# The API answers at once; the resume follows as the control plane answers.
is_active() { [ "$(lr b status --json | jget state)" = active ]; }
resumed() { for _ in $(seq 100); do is_active && return 0; sleep 0.1; done; return 1; }
check "SIGKILL + restart resumes the party" resumed
check "resumed with the same virtual IP" test "$(lr b status --json | jget self.virtual_ip)" = "$VIP_B"
check "resumed party carries traffic" lr b ping "$VIP_A" --count 8
check "down b" lr b down
check "down: daemon exits 0" stopped_ok b
# ---- a create that waits does not hold up the API ----
# c's router drops STUN, so the create waits out c's first netcheck (3 s);
# meanwhile status must answer, and say joining: the create runs on an API
# job thread, and waits without the party lock.
check "daemon c starts" daemon c
connected() { for _ in $(seq 100); do [ "$(lr c status --json | jget control.connected)" = True ] && return 0; sleep 0.1; done; return 1; }
check "c: control plane connected" connected
nl_exec rc nft -f - <<'EOF'
table inet stunstall {
	chain stall { type filter hook forward priority 0; policy accept;
		udp dport 3478 drop
	}
}
EOF
lr c party create "slow one" --json >"$TMP/c.create" 2>&1 &
CREATE=$!
SAW=no
for _ in $(seq 60); do
	kill -0 "$CREATE" 2>/dev/null || break
	if [ "$(timeout 2 ip netns exec "$(nl_ns c)" "$LANRAGE" status --json --state-dir "$TMP/c" |
		jget state 2>/dev/null)" = joining ] && kill -0 "$CREATE" 2>/dev/null; then
		SAW=yes
		break
	fi
	sleep 0.1
done
wait "$CREATE"
CREATE_RC=$?
check "status answers (joining) while a create waits on its netcheck" test "$SAW" = yes
check "the create that waited succeeds" test "$CREATE_RC" = 0
check "and c is in the party" test "$(lr c status --json | jget state)" = active
nl_exec rc nft delete table inet stunstall
check "down c" lr c down
check "down: daemon c exits 0" stopped_ok c
check "down a" lr a down
check "down: daemon a exits 0" stopped_ok a
check "down: interface removed" no_iface a
check "down: api.token removed" test ! -e "$TMP/a/api.token"

if [ "$FAILS" -ne 0 ]; then
	for f in "$TMP"/*.log*; do echo "== $f"; tail -30 "$f"; done
fi
echo "$FAILS failure(s)"
exit "$FAILS"
