#!/usr/bin/env bash
# Cookie replies under load: lanrage-wg runs with LANRAGE_WG_UNDER_LOAD=1, so it
# must answer wireguard-go's first initiation with a cookie reply instead of a
# response. wireguard-go decrypts the cookie, and its next initiation carries
# mac2, which lanrage accepts: the handshake completes and traffic flows.
# Both directions: wireguard-go under load is not configurable, so the reverse
# (lanrage handling a cookie from a loaded peer) runs lanrage against lanrage.
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
lr_host 2
lr_host 3
LR_LOG_LEVEL=debug LR_ENV="LANRAGE_WG_UNDER_LOAD=1" lr_start lanrage 1
lr_start wggo 2
lr_start lanrage 3
lr_peer 1 2
lr_peer 2 1
lr_peer 1 3
lr_peer 3 1

# wireguard-go initiates towards the loaded lanrage.
ip netns exec "$(lr_ns 2)" ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 || true
lr_check "wireguard-go completes a handshake with a loaded lanrage" lr_wait_handshake 2 1
lr_check "ping 2->1 through the loaded device" lr_ping 2 1
grep -q "sent cookie reply" "$LR_TMP/$(lr_ifname 1).log" || lr_fail "lanrage never sent a cookie reply"
lr_log "ok: lanrage sent $(grep -c 'sent cookie reply' "$LR_TMP/$(lr_ifname 1).log") cookie replies"

# lanrage initiates towards the loaded lanrage.
ip netns exec "$(lr_ns 3)" ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 || true
lr_check "lanrage completes a handshake with a loaded lanrage" lr_wait_handshake 3 1
lr_check "ping 3->1 through the loaded device" lr_ping 3 1
lr_log "PASS test_cookie"
