#!/usr/bin/env bash
# Runs every interop scenario (root). Each runs in its own namespaces with its
# own cleanup; a failure in one does not stop the others. Prints a summary and
# "N passed, N failed". Run one alone: tests/interop/run.sh NAME-SUBSTRING
set -u
cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || { echo "interop tests need root" >&2; exit 1; }
source ../lib/scenarios.sh

scenarios=(
	"pair lanrage->wggo|./test_pair.sh lanrage wggo"
	"pair lanrage->wggo single queue|env LR_ENV=LR_WG_DISABLE=multiqueue ./test_pair.sh lanrage wggo"
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

scenarios_run interop "${1:-}" "${scenarios[@]}"
