#!/usr/bin/env bash
# A peer removed and re-added: traffic stops while it is gone, resumes after.
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
lr_host 2
lr_start lanrage 1
lr_start wggo 2
lr_peer 1 2
lr_peer 2 1
lr_check "ping before removal" lr_ping 1 2
wg set "$(lr_ifname 1)" peer "$(lr_pub 2)" remove
wg show "$(lr_ifname 1)" peers | grep -q . && lr_fail "peer still listed after remove"
lr_check "no traffic 1->2 while removed" lr_no_ping 1 2
lr_check "no traffic 2->1 while removed" lr_no_ping 2 1
lr_peer 1 2
lr_check "ping 1->2 after re-add" lr_ping 1 2
lr_check "ping 2->1 after re-add" lr_ping 2 1
# And the other way round: wireguard-go drops and re-adds lanrage.
wg set "$(lr_ifname 2)" peer "$(lr_pub 1)" remove
lr_check "no traffic while wireguard-go has no peer" lr_no_ping 1 2
lr_peer 2 1
# lanrage still holds a session wireguard-go forgot, so its packets are dropped
# until its "no reply" timer (KEEPALIVE + REKEY_TIMEOUT = 15 s) starts a new
# handshake, exactly as the kernel implementation behaves.
LR_PING_WITHIN=25 lr_check "ping 1->2 after wireguard-go re-added (new handshake)" lr_ping 1 2
lr_log "PASS test_readd"
