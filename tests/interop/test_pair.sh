#!/usr/bin/env bash
# Two peers, one of each implementation (or as given): handshake with either
# side initiating, ping and checksummed TCP both ways, IPv4 and IPv6 inside,
# full-MTU packets; a lanrage-wg side has its expected number of queues.
# Usage: test_pair.sh IMPL1 IMPL2 [psk] [underlay 4|6]
source "$(dirname "$0")/lib.sh"

impl1=${1:-lanrage}
impl2=${2:-wggo}
use_psk=${3:-nopsk}
LR_UNDERLAY=${4:-4}

lr_hub
lr_host 1
lr_host 2
lr_start "$impl1" 1
lr_start "$impl2" 2
# lanrage-wg: one queue per CPU class (TUN queues and UDP sockets), or one with
# LR_ENV=LR_WG_DISABLE=multiqueue.
want=$(lr_want_queues)
for n in 1 2; do
	impl=impl$n
	if [ "${!impl}" = lanrage ]; then
		lr_check "host $n: $want queue(s)" lr_queues "$n" "$want"
	fi
done
extra=()
if [ "$use_psk" = psk ]; then
	wg genpsk >"$LR_TMP/psk"
	extra=(preshared-key "$LR_TMP/psk")
fi

# Host 1 knows host 2's endpoint; host 2 learns host 1's from the handshake, so
# the first packets must come from host 1 (host 1 initiates).
lr_peer 1 2 "${extra[@]}"
lr_peer_noendpoint 2 1 "${extra[@]}"
lr_check "$impl1 initiates: ping 1->2" lr_ping 1 2
lr_check "handshake seen by 2" lr_wait_handshake 2 1
lr_check "ping 2->1" lr_ping 2 1
lr_check "IPv6 in tunnel 1->2" lr_ping 1 2 6
lr_check "IPv6 in tunnel 2->1" lr_ping 2 1 6
lr_check "full-MTU IPv4 1->2 (1392+28)" lr_ping 1 2 4 1392
lr_check "full-MTU IPv4 2->1" lr_ping 2 1 4 1392
lr_check "full-MTU IPv6 1->2 (1372+48)" lr_ping 1 2 6 1372
lr_check "full-MTU IPv6 2->1" lr_ping 2 1 6 1372
lr_check "TCP 1->2 (8 MiB, sha256)" lr_transfer 1 2 4 8
lr_check "TCP 2->1 (8 MiB, sha256)" lr_transfer 2 1 4 8
lr_check "TCP over IPv6 1->2" lr_transfer 1 2 6 4

# Now host 2 initiates: reset both sides' sessions by re-creating the peers,
# and only host 2 gets an endpoint.
wg set "$(lr_ifname 1)" peer "$(lr_pub 2)" remove
wg set "$(lr_ifname 2)" peer "$(lr_pub 1)" remove
lr_peer 2 1 "${extra[@]}"
lr_peer_noendpoint 1 2 "${extra[@]}"
lr_check "$impl2 initiates: ping 2->1" lr_ping 2 1
lr_check "ping 1->2 after $impl2 initiated" lr_ping 1 2
lr_check "TCP 1->2 after $impl2 initiated" lr_transfer 1 2 4 4
lr_log "PASS test_pair $impl1 $impl2 $use_psk underlay=$LR_UNDERLAY"
