#!/usr/bin/env bash
# Runs every interop scenario (root). Each runs in its own namespaces with its
# own cleanup; a failure in one does not stop the others. Prints a summary and
# "N passed, N failed". Run one alone: tests/interop/run.sh NAME-SUBSTRING
set -u
cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || { echo "interop tests need root" >&2; exit 1; }

scenarios=(
	"pair lanrage->wggo|./test_pair.sh lanrage wggo"
	"pair wggo->lanrage|./test_pair.sh wggo lanrage"
	"pair lanrage->wggo psk|./test_pair.sh lanrage wggo psk"
	"pair lanrage->wggo ipv6 underlay|./test_pair.sh lanrage wggo nopsk 6"
	"pair wggo->lanrage psk ipv6 underlay|./test_pair.sh wggo lanrage psk 6"
	"pair lanrage<->lanrage|./test_pair.sh lanrage lanrage"
	"pair lanrage<->lanrage psk ipv6 underlay|./test_pair.sh lanrage lanrage psk 6"
	"mesh of three|./test_mesh.sh"
	"roaming|./test_roaming.sh"
	"peer removed and re-added|./test_readd.sh"
	"wrong key and wrong psk|./test_wrongkey.sh"
	"cookie reply under load|./test_cookie.sh"
	"uapi: wg show/set/showconf/syncconf, bad input|./test_uapi.sh"
	"wg-quick up/down|./test_wgquick.sh"
	"daemon lifecycle|./test_lifecycle.sh"
)

filter=${1:-}
pass=0
fail=0
failed=()
n=0
for s in "${scenarios[@]}"; do
	name=${s%%|*}
	cmd=${s#*|}
	case $name in *"$filter"*) ;; *) continue ;; esac
	n=$((n + 1))
	log=$(mktemp /tmp/lr-interop.XXXXXX)
	start=$(date +%s)
	if LR_ID="$$$n" timeout 300 $cmd >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS  $name ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL  $name ($(($(date +%s) - start))s)"
		sed 's/^/      /' "$log" | tail -60
	fi
	rm -f "$log"
done
echo "interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
