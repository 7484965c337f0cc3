#!/usr/bin/env bash
# Runs the NetworkManager integration tests (root; network namespaces).
# BUILD=dir picks the build (default build/); each scenario cleans up after
# itself. Prints PASS/FAIL per scenario and "net: N passed, N failed".
# Run one alone: tests/net/run.sh NAME-SUBSTRING
set -u
cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || { echo "net tests need root" >&2; exit 1; }
source ../lib/scenarios.sh
export BUILD=${BUILD:-$(cd ../.. && pwd)/build}

scenarios=(
	"net_up against wireguard-go, status, down, stale cleanup, privileges|./test_net.sh"
)

scenarios_run net "${1:-}" "${scenarios[@]}"
