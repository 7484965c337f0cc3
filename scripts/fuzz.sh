#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz for FUZZ_SECONDS each, starting from
# its seed corpus in fuzz/corpus/<target>. New inputs go to a scratch copy so
# the committed corpus only changes on purpose. Exits non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
rc=0
# Every fuzz/fuzz_*.c is a target, unless FUZZ_TARGETS names some.
targets=${FUZZ_TARGETS:-$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')}
for t in $targets; do
	bin=build-fuzz/fuzz/$t
	work=$(mktemp -d)
	cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
	echo "fuzz: $t for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="build-fuzz/$t-" \
		"$work" >"build-fuzz/$t.log" 2>&1; then
		echo "fuzz: $t FAILED; see build-fuzz/$t.log"
		tail -40 "build-fuzz/$t.log"
		rc=1
	else
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "build-fuzz/$t.log" || true
	fi
	rm -rf "$work"
done
exit $rc
