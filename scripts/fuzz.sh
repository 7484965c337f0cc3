#!/usr/bin/env bash
# Runs every libFuzzer target of $FUZZ_BUILD (default build-fuzz) in turn,
# starting from its seed corpus in fuzz/corpus/<target> (docs/FUZZING.md).
# First every reproducer in fuzz/regress/<target> is run once, so a crash
# found and fixed stays fixed; then the target fuzzes until FUZZ_SECONDS
# (default 20) pass or, when set, FUZZ_RUNS inputs have run, with
# fuzz/<target>.dict when there is one. New inputs go to a scratch copy so
# the committed corpus only changes on purpose: FUZZ_MERGE=1 merges what
# added coverage into fuzz/corpus/<target> (libFuzzer -merge=1, which keeps
# only inputs with new features). FUZZ_TARGETS names a subset.
# Exits non-zero on any crash, leak or failed check; the input that did it
# is left as $FUZZ_BUILD/<target>-crash-* (or leak-, timeout-, oom-).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-}
rc=0
# Every fuzz/fuzz_*.c is a target, unless FUZZ_TARGETS names some.
targets=${FUZZ_TARGETS:-$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')}
for t in $targets; do
	bin=$build/fuzz/$t
	log=$build/$t.log
	args=(-max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/$t-")
	[ -n "$runs" ] && args+=(-runs="$runs")
	[ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
	if compgen -G "fuzz/regress/$t/*" >/dev/null; then
		if ! "$bin" fuzz/regress/"$t"/* >"$build/$t.regress.log" 2>&1; then
			echo "fuzz: $t FAILED a reproducer in fuzz/regress/$t; see $build/$t.regress.log"
			tail -40 "$build/$t.regress.log"
			rc=1
			continue
		fi
	fi
	work=$(mktemp -d)
	cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
	echo "fuzz: $t for ${secs}s${runs:+ or $runs runs}"
	if ! "$bin" "${args[@]}" "$work" >"$log" 2>&1; then
		echo "fuzz: $t FAILED; see $log"
		tail -40 "$log"
		rc=1
	else
		# The last status line: executions, coverage, corpus.
		grep -E '^#[0-9]+' "$log" | tail -1 || true
		grep -E 'stat::average_exec_per_sec|stat::peak_rss_mb' "$log" || true
		if [ "${FUZZ_MERGE:-0}" = 1 ]; then
			mkdir -p "fuzz/corpus/$t"
			"$bin" -merge=1 "fuzz/corpus/$t" "$work" >"$build/$t.merge.log" 2>&1 ||
				{ echo "fuzz: $t merge failed; see $build/$t.merge.log"; rc=1; }
			echo "fuzz: fuzz/corpus/$t now $(ls "fuzz/corpus/$t" | wc -l) files," \
				"$(du -sh "fuzz/corpus/$t" | cut -f1)"
		fi
	fi
	rm -rf "$work"
done
exit $rc
