#!/usr/bin/env bash
# tests/natlab/run.sh: every natlab test. BUILD picks the binaries (build/ by
# default; check.sh runs it again with build-asan).
set -u
cd "$(dirname "$0")"
rc=0
for t in test_natlab.sh test_netcheck.sh test_wg_stun.sh test_relay.sh test_conn.sh test_selfhost.sh; do
	echo "--- natlab: $t"
	./"$t" || rc=1
done
exit $rc
