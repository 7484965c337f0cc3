#!/usr/bin/env bash
# tests/daemon/run.sh: every daemon suite, as `make check` runs them (root):
# the daemon end to end (test_daemon.sh), the control channel under attack
# (test_tls.sh), the daemon's own defences (test_safety.sh), its party state
# through crashes, restarts and server changes, conflicts and an unreachable
# control server (test_state.sh), the servers' start-up failures and
# options (test_servers.sh), their Prometheus endpoints with a relayed
# party (test_metrics_servers.sh), and the CLI finding its daemon, share codes,
# offline settings, logs and help (test_cli.sh), and 50 rounds of four
# daemons started at once whose first create and joins must all succeed
# (test_joinrace.sh, 10 rounds under ASan). Each builds
# its own lab; they run one after the other. Exit status 0 only when all pass.
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in test_daemon.sh test_tls.sh test_safety.sh test_state.sh test_servers.sh \
	test_metrics_servers.sh test_cli.sh test_joinrace.sh; do
	echo "--- tests/daemon/$t"
	"$dir/$t" || rc=1
done
exit $rc
