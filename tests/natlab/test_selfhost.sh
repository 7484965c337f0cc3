#!/usr/bin/env bash
# tests/natlab/test_selfhost.sh: docs/SELF_HOSTING.md followed step by step
# (root). The guide marks each command block with <!-- step: NAME -->; every
# command this script runs through `guide STEP NODE 'COMMAND'` is written here
# as in the guide and must appear, whole, in that step's block. Only then is
# it turned into the lab's (placeholders to addresses, /var/lib and /etc to
# $TMP, `sudo` and `sudo -u lanrage` dropped, the programs from $BUILD, and
# the flags two players on one machine need: --state-dir, --interface) and
# run in NODE (PLAYER=NAME for PLAYER_NAME). `look` runs the script's own checks, which are not guide steps.
#
#        ctl 203.0.113.20            relay 203.0.113.30, .31
#   lanrage-control (TCP 8667)   lanrage-relay (UDP 51821, STUN 3478)
#             \___________ internet ___________/
#              ra (port-restricted)    rb (symmetric)
#                    alice                  bob
#
# Steps run: secret, pin, control, relay, health, player, check (netcheck on
# an idle daemon, through the relays), restart, party, check (status, ping,
# netcheck in the party). Steps build, account, services and firewall need a
# real machine and are not run. Last, netcheck on an idle daemon whose control
# server is gone says so. Each assertion prints "PASS ..." or "FAIL ...";
# the exit status is the number of failures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
GUIDE=$ROOT/docs/SELF_HOSTING.md
source "$ROOT/tests/natlab/lib.sh"

nl_init sh$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrselfhost.XXXXXX)
FAILS=0
trap 'nl_down; rm -rf "$TMP"; exit $((FAILS > 0 ? 1 : 0))' EXIT

source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server ctl 203.0.113.20
server relay 203.0.113.30 203.0.113.31
router ra port-restricted-cone
host alice ra
router rb symmetric
host bob rb
LAB

CONTROL_HOST=203.0.113.20
RELAY_HOST=203.0.113.30
RELAY_HOST2=203.0.113.31
RELAY_NAME=r1
CONTROL_PIN=
PARTY_CODE=
mkdir -p "$TMP/control" "$TMP/relay" "$TMP/etc" "$TMP/alice" "$TMP/bob"
chmod 700 "$TMP/control" "$TMP/relay" "$TMP/etc"

# The commands of STEP's block in the guide, continuation lines joined.
guide_lines() {
	awk -v mark="<!-- step: $1 -->" '
		$0 == mark { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		inside { line = line $0; if (line ~ /\\$/) { sub(/\\$/, "", line); next }
			 print line; line = "" }' "$GUIDE"
}

# The guide's command as the lab runs it in NODE.
to_lab() {
	local node=$1 c=$2
	c=${c#sudo -u lanrage }
	c=${c#sudo }
	c=${c//RELAY_HOST2/$RELAY_HOST2}
	c=${c//RELAY_HOST/$RELAY_HOST}
	c=${c//RELAY_NAME/$RELAY_NAME}
	c=${c//CONTROL_HOST/$CONTROL_HOST}
	c=${c//CONTROL_PIN/$CONTROL_PIN}
	c=${c//PARTY_CODE/$PARTY_CODE}
	c=${c//PLAYER_NAME/${PLAYER:-}}
	c=${c//\/var\/lib\/lanrage-control/$TMP/control}
	c=${c//\/var\/lib\/lanrage-relay/$TMP/relay}
	c=${c//\/etc\/lanrage/$TMP/etc}
	case $c in
	lanrage-control* | lanrage-relay*) c="$BUILD/$c" ;;
	"lanrage daemon"*) c="$BUILD/$c --state-dir $TMP/$node --interface lr$node --log-level debug" ;;
	lanrage*) c="$BUILD/$c --state-dir $TMP/$node" ;;
	esac
	printf '%s' "$c"
}

# guide STEP NODE COMMAND: COMMAND must be in STEP's block; runs it in NODE
# (output on stdout, errors in $TMP/err).
guide() {
	local step=$1 node=$2 cmd=$3
	if ! guide_lines "$step" | grep -Fxq -- "$cmd"; then
		fail "step $step: the guide has no command: $cmd"
		return 99
	fi
	nl_exec "$node" bash -c "$(to_lab "$node" "$cmd")" 2>"$TMP/err"
}

# guide_spawn STEP NODE LOG COMMAND: the same, in the background.
guide_spawn() {
	local step=$1 node=$2 log=$3 cmd=$4
	if ! guide_lines "$step" | grep -Fxq -- "$cmd"; then
		fail "step $step: the guide has no command: $cmd"
		return 99
	fi
	nl_spawn "$node" "$log" bash -c "exec $(to_lab "$node" "$cmd")" >/dev/null
	LAST_PID=${NL_PIDS[-1]}
}

look() { # NODE CMD...: the test's own look, not a guide step
	local node=$1
	shift
	nl_exec "$node" "$@"
}
lr() { local node=$1; shift; look "$node" "$BUILD/lanrage" "$@" --state-dir "$TMP/$node"; }
wait_log() { # LOG PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_api() { # NODE: the daemon answers
	for _ in $(seq 100); do
		lr "$1" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
has() { grep -q -- "$1" <<<"$OUT"; }      # PATTERN: a line of $OUT matches
has_line() { grep -qx -- "$1" <<<"$OUT"; } # PATTERN: a whole line of $OUT matches
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }

check "every step the script runs is marked in the guide" bash -c "
	for s in secret pin control relay health player restart party check; do
		grep -qx '<!-- step: '\$s' -->' '$GUIDE' || { echo \"  no step \$s\"; exit 1; }
	done"

# ---- 3. the relay secret; 4. the pin ----
guide secret ctl "sudo -u lanrage sh -c 'umask 077 && head -c 32 /dev/urandom | base64 > /etc/lanrage/relay-secret'"
check "step secret: the relay secret file is 0600 and not empty" \
	test "$(stat -c %a "$TMP/etc/relay-secret")" = 600 -a -s "$TMP/etc/relay-secret"
CONTROL_PIN=$(guide pin ctl "sudo -u lanrage lanrage-control --db /var/lib/lanrage-control/control.db --print-pin")
check "step pin: --print-pin prints a sha256/ pin" test "${CONTROL_PIN#sha256/}" != "$CONTROL_PIN"
check "step pin: the self-signed pair is beside the database" \
	test -s "$TMP/control/control-tls.crt" -a -s "$TMP/control/control-tls.key"

# ---- 5. control server; 6. relay ----
guide_spawn control ctl "$TMP/control.log" \
	"sudo -u lanrage lanrage-control --listen 0.0.0.0:8667 --db /var/lib/lanrage-control/control.db --relay-secret-file /etc/lanrage/relay-secret"
CTL_PID=$LAST_PID
check "step control: lanrage-control listens" wait_log "$TMP/control.log" "listening on 0.0.0.0:8667" 5
check "step control: it names its pin" grep -qF -- "$CONTROL_PIN" "$TMP/control.log"
guide_spawn relay relay "$TMP/relay.log" \
	"sudo -u lanrage lanrage-relay --listen 0.0.0.0:51821 --stun RELAY_HOST --stun RELAY_HOST2 --key /var/lib/lanrage-relay/relay.key --control wss://CONTROL_HOST:8667 --control-pin CONTROL_PIN --relay-secret-file /etc/lanrage/relay-secret --public-endpoint RELAY_HOST:51821 --name RELAY_NAME"
check "step relay: lanrage-relay registers with the control server" \
	wait_log "$TMP/relay.log" "registered with wss://$CONTROL_HOST:8667" 10
check "step relay: its key file is 0600" test "$(stat -c %a "$TMP/relay/relay.key")" = 600

# ---- 10. health, from a player's machine ----
OUT=$(guide health alice "curl -sk https://CONTROL_HOST:8667/v1/health")
check "step health: /v1/health says ok" test "$(jget ok <<<"$OUT")" = True
OUT=$(guide health alice "curl -sk https://CONTROL_HOST:8667/v1/relays")
check "step health: /v1/relays lists the relay at its public endpoint" \
	test "$(jget relays.0.endpoint <<<"$OUT")" = "$RELAY_HOST:51821"

# ---- 9. players ----
declare -A DPID
for node in alice bob; do
	PLAYER=$node guide_spawn player "$node" "$TMP/$node.log" \
		"sudo lanrage daemon --control wss://CONTROL_HOST:8667 --control-pin CONTROL_PIN --name PLAYER_NAME"
	DPID[$node]=$LAST_PID
done
for node in alice bob; do
	check "step player: $node's daemon answers" wait_api "$node"
done
connected() { [ "$(lr "$1" status --json | jget control.connected)" = True ]; }
both_connected() { connected alice && connected bob; }
for _ in $(seq 50); do both_connected && break; sleep 0.1; done
check "step player: both daemons are connected to the control server" both_connected

# ---- 10. netcheck on an idle daemon: a check now, through the relays ----
ALICE_WAN=$(nl_addr ra)
OUT=$(guide check alice "sudo lanrage netcheck")
RC=$?
sed 's/^/  | /' <<<"$OUT"
check "step check: idle netcheck works (exit 0)" test "$RC" = 0
check "step check: it ran now, against the relays" has "^source: .*in no party.*control plane's relays"
check "step check: it finds the port-restricted NAT" has_line "NAT type: *port-restricted-cone"
check "step check: public is the NAT's address" has_line "public: *$ALICE_WAN:[0-9]*"
check "step check: the LAN address is under local" has_line "local: *192\.168\.[0-9.]*:[0-9]*"
check "step check: no LAN address under public" bash -c "! grep -q '^public: *192\.168' <<<\"\$1\"" _ "$OUT"
check "step check: it asked the relay's STUN server (RFC 5780: two addresses)" \
	has "$RELAY_HOST:3478 .*(RFC 5780)"
check "step check: it says how long it took" has "^took [0-9]* ms"
check "step check: a progress line on stderr while it runs" grep -q "asking the daemon" "$TMP/err"
OUT=$(lr bob netcheck --json)
check "idle netcheck --json: source daemon-idle" test "$(jget source <<<"$OUT")" = daemon-idle
check "idle netcheck --json: bob's NAT is symmetric" test "$(jget nat_type <<<"$OUT")" = symmetric
check "idle netcheck --json: local_endpoints apart from public_endpoints" \
	test "$(jget local_endpoints.0 <<<"$OUT" | cut -d. -f1-2)" = 192.168

# ---- 9. a restart without flags: the daemon remembers them ----
lr alice down >/dev/null 2>&1
for _ in $(seq 50); do kill -0 "${DPID[alice]}" 2>/dev/null || break; sleep 0.1; done
guide_spawn restart alice "$TMP/alice.log.2" "sudo lanrage daemon"
check "step restart: the daemon starts without flags" wait_api alice
for _ in $(seq 50); do connected alice && break; sleep 0.1; done
OUT=$(lr alice status --json)
check "step restart: it uses the remembered control server, connected" \
	test "$(jget control.mode <<<"$OUT") $(jget control.connected <<<"$OUT")" = "remote True"

# ---- 9. a party ----
OUT=$(guide party alice 'sudo lanrage party create "friday night"')
sed 's/^/  | /' <<<"$OUT"
PARTY_CODE=$(sed -n 's/^others join with: lanrage party join //p' <<<"$OUT")
check "step party: create prints the code to share" \
	grep -Eqx "[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}" <<<"$PARTY_CODE"
guide party bob "sudo lanrage party join PARTY_CODE" | sed 's/^/  | /'
check "step party: bob joins with the code" \
	test "$(lr bob status --json | jget party_id)" = "$PARTY_CODE"
check "alice's paths settle" lr alice status --wait --timeout 40
check "bob's paths settle" lr bob status --wait --timeout 40
VIP_A=$(lr alice status --json | jget self.virtual_ip)
VIP_B=$(lr bob status --json | jget self.virtual_ip)
check "alice reaches bob's virtual IP" look alice ping -c 2 -W 2 "$VIP_B"
check "bob reaches alice's virtual IP" look bob ping -c 2 -W 2 "$VIP_A"
check "port-restricted to symmetric goes through the relay" \
	test "$(lr alice peers --json | jget peers.0.path)" = relay

# ---- 10. checks in the party ----
OUT=$(guide check alice "sudo lanrage status")
check "step check: status shows the party" has "friday night"
PLAYER=bob check "step check: lanrage ping bob (in-tunnel)" \
	guide check alice "sudo lanrage ping PLAYER_NAME"
OUT=$(guide check alice "sudo lanrage netcheck")
sed 's/^/  | /' <<<"$OUT"
check "step check: netcheck in the party is the WireGuard socket's" has "^source: .*WireGuard socket"
check "step check: ... and agrees with the idle check (it left the NAT's filter shut)" \
	has_line "NAT type: *port-restricted-cone"
check "step check: in the party, public is the NAT's address" has_line "public: *$ALICE_WAN:51820"
check "step check: ... and the LAN address is under local" has_line "local: *192\.168\.[0-9.]*:51820"

# ---- netcheck on an idle daemon whose control server is gone ----
lr bob party leave >/dev/null
kill "$CTL_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$CTL_PID" 2>/dev/null || break; sleep 0.1; done
sleep 0.5
lr bob netcheck >"$TMP/out" 2>"$TMP/err"
RC=$?
sed 's/^/  | /' "$TMP/err"
check "idle netcheck without the control server fails (exit 1)" test "$RC" = 1
check "... saying the control plane is unreachable" \
	grep -q "control plane at wss://$CONTROL_HOST:8667 is unreachable" "$TMP/err"
check "... and to pass --stun" grep -q -- "--stun HOST" "$TMP/err"

echo "$FAILS failure(s)"
