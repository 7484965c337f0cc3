# tests/lib/check.sh: result helpers for the shell test scripts. Source it.
#   pass NAME...          print a PASS line
#   fail NAME...          print a FAIL line and count it in FAILS
#   check NAME CMD...     run CMD: pass NAME if it succeeds, else fail NAME
# A script ends with something like: [ "$FAILS" -eq 0 ].
FAILS=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
