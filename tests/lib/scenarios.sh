# shellcheck shell=bash
# tests/lib/scenarios.sh: the scenario runner of the root suites (tests/interop,
# tests/net). Source it, then end the script with
#   scenarios_run LABEL NAME-SUBSTRING "NAME|COMMAND"...
# It runs, one after another, each scenario whose name contains the substring
# (every one when it is empty) as `LR_ID=<pid><n> timeout 300 COMMAND`, its
# output kept in a temporary file; prints "PASS  NAME (Ns)" or "FAIL  NAME (Ns)"
# followed by the last 60 lines of a failed one's output; ends with
# "LABEL: N passed, N failed" and returns 0 only when none failed.
# Each scenario builds and removes its own namespaces and kills what it started
# by PID; LR_ID keeps the names of two scenarios (or two runs) apart, so a
# failure in one leaves the others unaffected.
scenarios_run() {
	local label=$1 filter=$2
	local pass=0 fail=0 n=0 s name cmd log start

	shift 2
	for s in "$@"; do
		name=${s%%|*}
		cmd=${s#*|}
		case $name in *"$filter"*) ;; *) continue ;; esac
		n=$((n + 1))
		log=$(mktemp "/tmp/lr-$label.XXXXXX")
		start=$(date +%s)
		# COMMAND is a script and its arguments: split on spaces on purpose
		# shellcheck disable=SC2086
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
	echo "$label: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
