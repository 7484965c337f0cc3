#!/usr/bin/env bash
# Runs the NetworkManager integration tests (root; network namespaces).
# BUILD=dir picks the build (default build/); each scenario cleans up after
# itself. Prints PASS/FAIL per scenario and "net: N passed, N failed".
# Run one alone: tests/net/run.sh NAME-SUBSTRING
set -u
cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || { echo "net tests need root" >&2; exit 1; }
export BUILD=${BUILD:-$(cd ../.. && pwd)/build}

scenarios=(
	"net_up against wireguard-go, status, down, stale cleanup, privileges|./test_net.sh"
)

filter=${1:-}
pass=0
fail=0
n=0
for s in "${scenarios[@]}"; do
	name=${s%%|*}
	cmd=${s#*|}
	case $name in *"$filter"*) ;; *) continue ;; esac
	n=$((n + 1))
	log=$(mktemp /tmp/lr-net.XXXXXX)
	start=$(date +%s)
	if LR_ID="$$$n" timeout 300 $cmd >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS  $name ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		echo "FAIL  $name ($(($(date +%s) - start))s)"
		sed 's/^/      /' "$log" | tail -60
	fi
	rm -f "$log"
done
echo "net: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
