#!/usr/bin/env bash
# Roaming: host 1 (lanrage) talks to host 2, then host 1's underlay address
# changes; traffic resumes and host 2's view of host 1's endpoint follows.
# Then the same with the roles swapped (wireguard-go roams, lanrage follows).
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
lr_host 2
lr_start lanrage 1
lr_start wggo 2
lr_peer 1 2 persistent-keepalive 1
lr_peer 2 1 persistent-keepalive 1
lr_check "ping before roaming" lr_ping 1 2

endpoint_of() { wg show "$(lr_ifname "$1")" endpoints | awk -v k="$(lr_pub "$2")" '$1==k {print $2}'; }

roam() {
	local host=$1 new=$2
	ip -n "$(lr_ns "$host")" addr del "192.0.2.$host/24" dev eth0
	ip -n "$(lr_ns "$host")" addr add "192.0.2.$new/24" dev eth0
}

roam 1 101
lr_check "lanrage roamed: ping 1->2 resumes" lr_ping 1 2
lr_check "lanrage roamed: ping 2->1 resumes" lr_ping 2 1
[ "$(endpoint_of 2 1)" = "192.0.2.101:51821" ] || lr_fail "wireguard-go did not follow: $(endpoint_of 2 1)"
lr_log "ok: wireguard-go sees lanrage at $(endpoint_of 2 1)"

# wireguard-go 0.0.20220316 keeps a cached ("sticky") source address, so when its
# own address changes it keeps failing with "network is unreachable". What
# roaming looks like from our side in practice is a NAT rebinding: the peer's
# packets suddenly arrive from a new port. wireguard-go rebinding its socket to
# a new port produces exactly that.
wg set "$(lr_ifname 2)" listen-port 51999
lr_check "wireguard-go rebound: ping 2->1 resumes" lr_ping 2 1
lr_check "wireguard-go rebound: ping 1->2 resumes" lr_ping 1 2
[ "$(endpoint_of 1 2)" = "192.0.2.2:51999" ] || lr_fail "lanrage did not follow: $(endpoint_of 1 2)"
lr_log "ok: lanrage sees wireguard-go at $(endpoint_of 1 2)"

# And lanrage moves to the IPv6 underlay entirely: wireguard-go follows again.
wg set "$(lr_ifname 1)" peer "$(lr_pub 2)" endpoint "[fd00:2::2]:51999"
lr_check "lanrage switched to IPv6 underlay: ping 1->2" lr_ping 1 2
[ "$(endpoint_of 2 1)" = "[fd00:2::1]:51821" ] || lr_fail "wireguard-go did not follow to IPv6: $(endpoint_of 2 1)"
lr_log "ok: wireguard-go sees lanrage at $(endpoint_of 2 1)"
lr_log "PASS test_roaming"
