#!/usr/bin/env bash
# tests/natlab/test_natlab.sh: the lab's own guarantees. Teardown on normal
# exit, on SIGTERM and on error; a lab left by a SIGKILLed run is removed (with
# its processes) by the next nl_init of the same name; a bad description is
# refused with a clear message and leaves nothing behind; hosts behind one
# router reach each other on the LAN and the internet only through the NAT.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$ROOT/tests/natlab/lib.sh
TMP=$(mktemp -d /tmp/nlself.XXXXXX)
LAB=st$((RANDOM % 1000))
trap 'source "$LIB"; NL_LAB=$LAB; NL_STATE=/run/natlab/$LAB; nl_down; rm -rf "$TMP"' EXIT
source "$ROOT/tests/lib/check.sh"
left() { ip netns list | awk '{print $1}' | grep -c "^nl-$LAB-" || true; }

cat >"$TMP/lab.txt" <<'LAB'
server stun 203.0.113.10
router r port-restricted-cone
host a r
host b r
LAB

# 1. Normal exit; LAN and NAT reachability while up.
bash -c "source '$LIB'; nl_init $LAB; nl_build '$TMP/lab.txt'
	nl_exec a ping -c1 -W2 \$(nl_addr b) >/dev/null && echo lan-ok
	nl_exec a ping -c1 -W2 203.0.113.10 >/dev/null && echo wan-ok
	nl_exec stun ping -c1 -W1 \$(nl_addr a) >/dev/null 2>&1 || echo private-unreachable
	echo up=\$(ip netns list | grep -c '^nl-$LAB-')" >"$TMP/out1" 2>&1 || true
grep -q lan-ok "$TMP/out1" && pass "hosts behind one router reach each other" || fail "LAN: $(cat "$TMP/out1")"
grep -q wan-ok "$TMP/out1" && pass "hosts reach the internet through the NAT" || fail "WAN"
grep -q private-unreachable "$TMP/out1" && pass "private addresses are not reachable from the internet" || fail "private reachable"
grep -q "up=5" "$TMP/out1" && pass "5 namespaces while up (inet, stun, r, a, b)" || fail "$(cat "$TMP/out1")"
[ "$(left)" = 0 ] && pass "normal exit removes every namespace" || fail "normal exit left $(left)"


rm -f "$TMP/ready"

# 2. SIGTERM mid-run (the script waits in `wait`, so its trap runs at once).
bash -c "source '$LIB'; nl_init $LAB; nl_build '$TMP/lab.txt'; nl_spawn a /dev/null sleep 300 >/dev/null
	sleep 300 >/dev/null 2>&1 & echo \$! >'$TMP/sleeper'; touch '$TMP/ready'; wait \$!" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
kill -TERM $pid; wait $pid 2>/dev/null || true
kill "$(cat "$TMP/sleeper")" 2>/dev/null || true
[ "$(left)" = 0 ] && pass "SIGTERM removes every namespace" || fail "SIGTERM left $(left)"
rm -f "$TMP/ready"

# 3. SIGKILL: no trap can run, so the next nl_init of the same lab cleans up.
bash -c "source '$LIB'; nl_init $LAB; nl_build '$TMP/lab.txt'; nl_spawn a /dev/null sleep 300 >/dev/null
	touch '$TMP/ready'; exec sleep 300" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
stale=$(ip netns pids "nl-$LAB-a" | head -1)
kill -KILL $pid; wait $pid 2>/dev/null || true
[ "$(left)" -gt 0 ] && [ -n "$stale" ] && pass "SIGKILL leaves a stale lab ($(left) namespaces, pid $stale)" || fail "no stale lab to clean"
bash -c "source '$LIB'; nl_init $LAB; NL_LAB=''"
[ "$(left)" = 0 ] && pass "next nl_init removes the stale lab" || fail "stale lab remains: $(left)"
# A killed orphan may linger as a zombie until its new parent reaps it.
state=$(ps -o stat= -p "$stale" 2>/dev/null || true)
[[ -z $state || $state == Z* ]] && pass "stale process killed" || fail "stale process $stale still running ($state)"

# 4. A bad description is refused, clearly, and leaves nothing.
if bash -c "source '$LIB'; nl_init $LAB; printf 'router r wormhole\n' | nl_build" 2>"$TMP/err"; then
	fail "bad NAT kind accepted"
else
	grep -q "unknown NAT kind 'wormhole'" "$TMP/err" && pass "bad NAT kind refused: $(head -1 "$TMP/err")" || fail "$(cat "$TMP/err")"
fi
[ "$(left)" = 0 ] && pass "failed build leaves nothing" || fail "failed build left $(left)"

[ $FAILS -eq 0 ] && echo "test_natlab: all passed" || echo "test_natlab: $FAILS failed"
[ $FAILS -eq 0 ]
