#!/usr/bin/env bash
# tests/natlab/test_netcheck.sh: `lanrage netcheck` against every NAT kind the
# natlab builds, with our own STUN server (lanrage-relay) and with coturn as a
# real RFC 5780 server; servers without OTHER-ADDRESS; IPv6; unreachable,
# refusing and unresolvable servers; UDP blocked. Each check prints PASS/FAIL.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
RELAY=$BUILD/lanrage-relay
source "$ROOT/tests/natlab/lib.sh"

nl_init nc$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/nltest.XXXXXX)
trap 'rc=$?; nl_down; rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server stun 203.0.113.10 203.0.113.11   # lanrage-relay, RFC 5780
server coturn 203.0.113.20 203.0.113.21 # coturn, RFC 5780
server plain 203.0.113.30 203.0.113.31  # two single-address servers
public pub
router rfull full-cone
host a rfull
router rrest restricted-cone
host b rrest
router rport port-restricted-cone
host c rport
router rsym symmetric
host d rsym
router rblock udp-blocked
host e rblock
router outer port-restricted-cone
router inner port-restricted-cone behind outer
host f inner
LAB

# Relays sharing a namespace each need their own relay (forwarding) port.
nl_spawn stun "$TMP/relay.log" "$RELAY" --stun 203.0.113.10:3478 --stun 203.0.113.11:3478 \
	--listen 0.0.0.0:51821 >/dev/null
nl_spawn stun "$TMP/relay6.log" "$RELAY" --stun "[$(nl_addr6 stun)]:3478" \
	--listen 0.0.0.0:51822 >/dev/null
nl_spawn plain "$TMP/plain1.log" "$RELAY" --stun 203.0.113.30:3478 --listen 0.0.0.0:51821 >/dev/null
nl_spawn plain "$TMP/plain2.log" "$RELAY" --stun 203.0.113.31:3478 --listen 0.0.0.0:51822 >/dev/null
nl_spawn coturn "$TMP/coturn.log" turnserver -c /dev/null -n --stun-only --no-tls --no-dtls \
	--no-cli --listening-ip 203.0.113.20 --listening-ip 203.0.113.21 --listening-port 3478 \
	--log-file stdout --simple-log >/dev/null
# Both servers are up once they answer a plain Binding from the open host.
for srv in 203.0.113.10 203.0.113.20 203.0.113.30 203.0.113.31; do
	for _ in $(seq 50); do
		nl_exec pub "$LANRAGE" netcheck --stun $srv --timeout 1 --json 2>/dev/null |
			grep -q '"rtt_ms": [0-9]' && break
		sleep 0.1
	done
done

# expect NAME JSONFILE KEY=VALUE...: compares report fields (JSON values).
expect() {
	local name=$1 file=$2
	shift 2
	if python3 - "$file" "$@" <<'PY'; then pass "$name"; else fail "$name"; cat "$file"; fi
import json, sys
rep = json.load(open(sys.argv[1]))
bad = []
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    got = rep
    for part in k.split("."):
        got = got[int(part)] if isinstance(got, list) else got.get(part)
    if json.dumps(got) != v and str(got) != v:
        bad.append(f"{k}: got {json.dumps(got)}, want {v}")
for b in bad:
    print("   ", b)
sys.exit(1 if bad else 0)
PY
}

# Classification of every NAT kind, against both servers.
check_kind() {
	local host=$1 type=$2 mapping=$3 filtering=$4 wan=$5 srv out
	for srv in stun:203.0.113.10 coturn:203.0.113.20; do
		out=$TMP/$host-${srv%%:*}.json
		nl_exec "$host" "$LANRAGE" netcheck --stun "${srv#*:}" --json >"$out"
		expect "$host via ${srv%%:*}: $type" "$out" nat_type="\"$type\"" \
			mapping="\"$mapping\"" filtering="\"$filtering\"" servers.0.error=null
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["public_endpoints"][0].split(":")[0]==sys.argv[2] else 1)' \
			"$out" "$wan" && pass "$host via ${srv%%:*}: public address is $wan" ||
			fail "$host via ${srv%%:*}: public address is not $wan"
	done
}
EI=endpoint-independent AD=address-dependent APD=address-and-port-dependent
check_kind pub open $EI $EI "$(nl_addr pub)"
check_kind a full-cone $EI $EI "$(nl_addr rfull)"
check_kind b restricted-cone $EI $AD "$(nl_addr rrest)"
check_kind c port-restricted-cone $EI $APD "$(nl_addr rport)"
check_kind d symmetric $APD $APD "$(nl_addr rsym)"
check_kind f port-restricted-cone $EI $APD "$(nl_addr outer)"
expect "plain masquerade does not hairpin" "$TMP/c-stun.json" hairpinning=false
expect "open host: no NAT, hairpin not applicable" "$TMP/pub-stun.json" behind_nat=false hairpinning=null

# UDP blocked: a clear report within the deadline, not a hang.
start=$(date +%s%N)
nl_exec e "$LANRAGE" netcheck --stun 203.0.113.10 --stun 203.0.113.20 --timeout 2 --json >"$TMP/e.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect "udp-blocked host reported as udp-blocked" "$TMP/e.json" nat_type='"udp-blocked"' \
	mapping='"unknown"' filtering='"unknown"' servers.0.error='"no answer (timed out)"'
[ $ms -lt 3500 ] && pass "udp-blocked check ended in ${ms} ms (deadline 2 s)" ||
	fail "udp-blocked check took ${ms} ms"

# Servers without OTHER-ADDRESS: mapping from two servers, filtering unknown.
nl_exec c "$LANRAGE" netcheck --stun 203.0.113.30 --stun 203.0.113.31 --json >"$TMP/c-plain.json"
expect "EIM NAT, two plain servers: mapping found, filtering reported unknown" "$TMP/c-plain.json" \
	mapping="\"$EI\"" filtering='"unknown"' nat_type='"unknown"' mapping_varies_by_dest=false
nl_exec d "$LANRAGE" netcheck --stun 203.0.113.30 --stun 203.0.113.31 --json >"$TMP/d-plain.json"
expect "symmetric NAT, two plain servers: symmetric, detail left unknown" "$TMP/d-plain.json" \
	nat_type='"symmetric"' mapping='"unknown"' mapping_varies_by_dest=true
nl_exec c "$LANRAGE" netcheck --stun 203.0.113.30 --json >"$TMP/c-one.json"
expect "one plain server: nothing guessed" "$TMP/c-one.json" nat_type='"unknown"' \
	mapping='"unknown"' filtering='"unknown"'
grep -q "needs a server with RFC 5780" "$TMP/c-one.json" && pass "one plain server: says why" ||
	fail "one plain server: no note saying why"

# IPv6 underlay to an open host.
nl_exec pub "$LANRAGE" netcheck --stun "[$(nl_addr6 stun)]:3478" --json >"$TMP/pub6.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["public_endpoints"][0].startswith("["+sys.argv[2]+"]:") and r["behind_nat"] is False else 1)' \
	"$TMP/pub6.json" "$(nl_addr6 pub)" && pass "IPv6 STUN: public endpoint is the host's own IPv6" ||
	{ fail "IPv6 STUN"; cat "$TMP/pub6.json"; }

# Unreachable, refusing and unresolvable servers.
start=$(date +%s%N)
nl_exec pub "$LANRAGE" netcheck --stun 203.0.113.10 --stun 203.0.113.99 --stun 203.0.113.10:3999 \
	--timeout 2 --json >"$TMP/bad.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect "dead servers reported per server, good one still used" "$TMP/bad.json" nat_type='"open"' \
	servers.1.error='"no answer (timed out)"' servers.2.error='"Connection refused"' \
	servers.0.error=null
[ $ms -lt 3500 ] && pass "dead servers: ended in ${ms} ms" || fail "dead servers: took ${ms} ms"
if nl_exec pub "$LANRAGE" netcheck --stun no-such-host.invalid 2>"$TMP/err" >/dev/null; then
	fail "unresolvable server: exit 0"
else
	rc=$?
	[ $rc -eq 1 ] && grep -q "no STUN server could be resolved" "$TMP/err" && pass "unresolvable server: exit 1, clear message" ||
		fail "unresolvable server: rc=$rc $(cat "$TMP/err")"
fi
rc=0; "$LANRAGE" netcheck >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 2 ] && grep -q "no STUN server given" "$TMP/err" && pass "no --stun: usage error" ||
	fail "no --stun: rc=$rc"
rc=0; "$LANRAGE" netcheck --stun 1.2.3.4:99999 --timeout 1 >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] && pass "bad port: refused before sending" || fail "bad port: rc=$rc"

[ $FAILS -eq 0 ] && echo "test_netcheck: all passed" || echo "test_netcheck: $FAILS failed"
[ $FAILS -eq 0 ]
