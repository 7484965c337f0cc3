#!/usr/bin/env bash
# The whole test suite, as `make check` and CI run it:
#   1. gcc build (-Werror) and the unit tests
#   2. the unit tests again under ASan+UBSan; the control-plane tests (suite
#      'control': lanrage-control and clients on loopback), plain and sanitized
#   3. clang build of everything (-Werror), clang build of the fuzz targets and a
#      short run of each
#   4. root-only integration tests (tests/interop) against wireguard-go and wg,
#      then again with the sanitized lanrage-wg
#   5. root-only NetworkManager tests (tests/net), plain and sanitized
#   6. root-only natlab tests (tests/natlab): NAT lab, netcheck against
#      lanrage-relay and coturn, STUN on the WireGuard socket, the relay, the
#      ConnectionManager; then sanitized
#   7. root-only daemon tests (tests/daemon): two daemons, a control server
#      and a relay in natlab; the control channel under attack (TLS capture,
#      an impostor server); the daemon's own defences; plain and sanitized
#   8. root-only end-to-end tests (tests/e2e): every NAT pair, mixed party,
#      same NAT, UDP blocked, rejoin, control restart, relay failover; plain and sanitized
#   9. root-only LAN discovery tests (tests/disco): real openarena-server,
#      OpenTTD and Minecraft's Java pattern found across parties in natlab,
#      four-player fan-out, same LAN, storm limits, denylist, live settings,
#      native delivery; and the engine alone over wireguard-go peers
#      (tests/disco/test_wggo.sh); plain and sanitized
#  10. root-only: a four-player party on links that lose 10 % each way
#      (tests/e2e/loss.sh, 5 minutes, plain build only). It is mostly waiting,
#      so it runs in the background from the start of stage 4, in its own
#      lab, and its result is collected at the end.
#  11. root-only: the web UI in Debian's chromium driven by @playwright/test
#      against daemons in natlab (tests/webui, the daemons under ASan+UBSan),
#      and the Prometheus endpoints checked by promtool and scraped by a real
#      Prometheus (tests/metrics). Each has a lab of its own; they run in the
#      background beside the fuzz smoke run (which keeps one core busy and
#      asserts no timing) and their results are collected after it.
# Prints one line per stage and a final "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()

stage() {
	local name=$1 start=$SECONDS
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "--- PASS: $name ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "--- FAIL: $name ($((SECONDS - start)) s)"
	fi
}

unit_tests() {
	local dir=$1
	meson test -C "$dir" --suite unit --print-errorlogs
}

# The control plane against the real lanrage-control on loopback, and local mode.
control_tests() {
	local dir=$1
	meson test -C "$dir" --suite control --print-errorlogs
}

stage "build (gcc, -Werror)" make --no-print-directory build
stage "unit tests" unit_tests build
stage "build (ASan+UBSan)" make --no-print-directory asan
stage "unit tests (ASan+UBSan)" unit_tests build-asan
stage "control tests" control_tests build
stage "control tests (ASan+UBSan)" control_tests build-asan
stage "build (clang, -Werror)" make --no-print-directory clang
stage "build (clang, libFuzzer)" make --no-print-directory fuzz-build
# Runs a test command with the sanitizers writing any report to files (the
# daemons' stderr is not the test's); any report file fails the stage.
sanitized() {
	local dir rc
	dir=$(mktemp -d /tmp/lr-san.XXXXXX)
	ASAN_OPTIONS="log_path=$dir/asan:detect_leaks=1" \
		UBSAN_OPTIONS="log_path=$dir/ubsan:print_stacktrace=1:halt_on_error=1" "$@"
	rc=$?
	if compgen -G "$dir/*" >/dev/null; then
		echo "sanitizer reports:"
		cat "$dir"/*
		rc=1
	fi
	rm -rf "$dir"
	return $rc
}

# bg_result PID LOG: the exit status of a background test, its output printed
bg_result() {
	wait "$1"
	local rc=$?
	cat "$2"
	rm -f "$2"
	return $rc
}

if [ "$(id -u)" -eq 0 ]; then
	webui_log=$(mktemp /tmp/lr-webui.XXXXXX)
	sanitized env BUILD="$PWD/build-asan" tests/webui/run.sh >"$webui_log" 2>&1 &
	webui_pid=$!
	metrics_log=$(mktemp /tmp/lr-metrics.XXXXXX)
	env BUILD="$PWD/build" tests/metrics/run.sh >"$metrics_log" 2>&1 &
	metrics_pid=$!
fi
stage "fuzz smoke" env FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-20}" scripts/fuzz.sh
if [ "$(id -u)" -eq 0 ]; then
	stage "web UI in chromium (tests/webui, daemons under ASan+UBSan, background)" \
		bg_result "$webui_pid" "$webui_log"
	stage "metrics and Prometheus (tests/metrics, background)" \
		bg_result "$metrics_pid" "$metrics_log"
	loss_log=$(mktemp /tmp/lr-loss.XXXXXX)
	env BUILD="$PWD/build" tests/e2e/loss.sh >"$loss_log" 2>&1 &
	loss_pid=$!
	stage "integration tests (tests/interop)" tests/interop/run.sh
	stage "integration tests, lanrage-wg under ASan+UBSan" \
		sanitized env LR_WG="$PWD/build-asan/lanrage-wg" tests/interop/run.sh
	stage "NetworkManager tests (tests/net)" env BUILD="$PWD/build" tests/net/run.sh
	stage "NetworkManager tests under ASan+UBSan" sanitized env BUILD="$PWD/build-asan" tests/net/run.sh
	stage "natlab tests (tests/natlab)" env BUILD="$PWD/build" tests/natlab/run.sh
	stage "natlab tests under ASan+UBSan" sanitized env BUILD="$PWD/build-asan" tests/natlab/run.sh
	stage "daemon tests (tests/daemon)" env BUILD="$PWD/build" tests/daemon/run.sh
	stage "daemon tests under ASan+UBSan" sanitized env BUILD="$PWD/build-asan" tests/daemon/run.sh
	stage "e2e tests (tests/e2e)" env BUILD="$PWD/build" tests/e2e/run.sh
	stage "e2e tests under ASan+UBSan" sanitized env BUILD="$PWD/build-asan" tests/e2e/run.sh
	stage "LAN discovery tests (tests/disco)" env BUILD="$PWD/build" tests/disco/all.sh
	stage "LAN discovery tests under ASan+UBSan" sanitized env BUILD="$PWD/build-asan" tests/disco/all.sh
	stage "lossy links (tests/e2e/loss.sh, background)" bg_result "$loss_pid" "$loss_log"
else
	echo "=== integration tests skipped: they need root (network namespaces)"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	printf 'failed stage: %s\n' "${failures[@]}"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
