#!/usr/bin/env bash
# tests/daemon/run.sh: every daemon suite, as `make check` runs them (root):
# the daemon end to end (test_daemon.sh), the control channel under attack
# (test_tls.sh) and the daemon's own defences (test_safety.sh). Each builds
# its own lab; they run one after the other. Exit status 0 only when all pass.
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in test_daemon.sh test_tls.sh test_safety.sh; do
	echo "--- tests/daemon/$t"
	"$dir/$t" || rc=1
done
exit $rc
