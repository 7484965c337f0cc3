#!/usr/bin/env bash
# tests/disco/all.sh: every LAN discovery suite, as `make check` runs them:
# the party in natlab with real game software (run.sh), then the engine alone
# over wireguard-go peers (test_wggo.sh). Exit status 0 only when both pass.
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
"$dir/run.sh" || rc=1
"$dir/test_wggo.sh" || rc=1
exit $rc
