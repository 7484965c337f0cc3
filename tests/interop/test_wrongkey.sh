#!/usr/bin/env bash
# A wrong public key or a wrong preshared key gets no traffic through, in
# either direction, and no handshake is recorded.
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
lr_host 2
lr_start lanrage 1
lr_start wggo 2

# 1 has a wrong key for 2 (a fresh key 2 does not own).
wg genkey | wg pubkey >"$LR_TMP/bogus.pub"
wg set "$(lr_ifname 1)" peer "$(cat "$LR_TMP/bogus.pub")" endpoint 192.0.2.2:51822 allowed-ips 10.99.0.2/32
lr_peer 2 1
lr_check "wrong peer key: no traffic 1->2" lr_no_ping 1 2
lr_check "wrong peer key: no traffic 2->1" lr_no_ping 2 1
lr_wait_handshake 2 1 && lr_fail "a handshake completed with a wrong key"
wg set "$(lr_ifname 1)" peer "$(cat "$LR_TMP/bogus.pub")" remove

# Right keys, different preshared keys.
wg genpsk >"$LR_TMP/psk1"
wg genpsk >"$LR_TMP/psk2"
lr_peer 1 2 preshared-key "$LR_TMP/psk1"
lr_peer 2 1 preshared-key "$LR_TMP/psk2"
lr_check "wrong psk: no traffic 1->2" lr_no_ping 1 2
lr_check "wrong psk: no traffic 2->1" lr_no_ping 2 1
lr_wait_handshake 1 2 && lr_fail "lanrage recorded a handshake with a wrong psk"
lr_wait_handshake 2 1 && lr_fail "wireguard-go recorded a handshake with a wrong psk"
# Fixing the psk lets traffic through (the test can fail in both directions).
lr_peer 2 1 preshared-key "$LR_TMP/psk1"
lr_check "matching psk: ping 1->2" lr_ping 1 2
lr_log "PASS test_wrongkey"
