#!/usr/bin/env bash
# Three peers mixing both implementations in a full mesh: every pair pings
# both ways and one pair carries TCP.
source "$(dirname "$0")/lib.sh"
lr_hub
for n in 1 2 3; do lr_host $n; done
lr_start lanrage 1
lr_start wggo 2
lr_start lanrage 3
for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] || lr_peer $a $b
	done
done
for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] || lr_check "mesh ping $a->$b" lr_ping $a $b
	done
done
lr_check "mesh IPv6 ping 3->2" lr_ping 3 2 6
lr_check "mesh TCP 3->1" lr_transfer 3 1 4 4
lr_check "mesh TCP 2->3" lr_transfer 2 3 4 4
lr_log "PASS test_mesh"
