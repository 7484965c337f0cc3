#!/usr/bin/env bash
# The UAPI against the stock tools: wg show (all fields), wg set, wg showconf,
# wg syncconf, and bad input on the raw socket answered with an errno and
# changing nothing. Compared field by field with wireguard-go given the same
# configuration.
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
lr_host 2
lr_start lanrage 1
lr_start wggo 2
i1=$(lr_ifname 1)
i2=$(lr_ifname 2)

(umask 077; wg genpsk >"$LR_TMP/psk")
wg genkey | wg pubkey >"$LR_TMP/x.pub"
for i in "$i1" "$i2"; do
	wg set "$i" fwmark 0x1234 peer "$(cat "$LR_TMP/x.pub")" preshared-key "$LR_TMP/psk" \
		endpoint "[fd00:2::99]:4444" persistent-keepalive 25 \
		allowed-ips "10.7.0.0/16,10.8.1.7/32,fd42::/48"
done
normalize() { wg showconf "$1" | grep -v -e '^PrivateKey' -e '^ListenPort'; }
diff <(normalize "$i1") <(normalize "$i2") >"$LR_TMP/diff" || { cat "$LR_TMP/diff"; lr_fail "showconf differs from wireguard-go's"; }
lr_log "ok: showconf identical to wireguard-go for the same configuration"
[ "$(wg show "$i1" fwmark)" = "0x1234" ] || lr_fail "fwmark not kept"
[ "$(wg show "$i1" listen-port)" = "51821" ] || lr_fail "listen port not kept"
[ "$(wg show "$i1" private-key)" = "$(cat "$LR_TMP/1.key")" ] || lr_fail "private key not kept"
wg show "$i1" allowed-ips | grep -q "10.7.0.0/16" || lr_fail "allowed ips missing"
wg show "$i1" | grep -q "persistent keepalive: every 25 seconds" || lr_fail "keepalive not shown"

# Host bits are masked, allowed IPs move between peers like the kernel does.
wg genkey | wg pubkey >"$LR_TMP/y.pub"
wg set "$i1" peer "$(cat "$LR_TMP/y.pub")" allowed-ips 10.8.1.7/32,10.9.9.9/24
wg show "$i1" allowed-ips | grep "$(cat "$LR_TMP/y.pub")" | grep -q "10.9.9.0/24" || lr_fail "host bits not masked"
wg show "$i1" allowed-ips | grep "$(cat "$LR_TMP/x.pub")" | grep -q "10.8.1.7/32" && lr_fail "prefix did not move to the new owner"
lr_log "ok: masking and moving of allowed IPs"

# syncconf: applies a new configuration, removing what is not in it.
wg showconf "$i1" >"$LR_TMP/conf"
wg set "$i1" peer "$(cat "$LR_TMP/y.pub")" remove
wg syncconf "$i1" "$LR_TMP/conf"
diff <(wg showconf "$i1") "$LR_TMP/conf" || lr_fail "syncconf did not restore the configuration"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51821\n' "$(cat "$LR_TMP/1.key")" >"$LR_TMP/empty.conf"
wg syncconf "$i1" "$LR_TMP/empty.conf"
[ -z "$(wg show "$i1" peers)" ] || lr_fail "syncconf left peers behind"
lr_log "ok: syncconf"
wg setconf "$i1" "$LR_TMP/conf"
diff <(wg showconf "$i1") "$LR_TMP/conf" || lr_fail "setconf did not apply the configuration"

# Bad input on the raw socket: an errno reply and no change at all.
before=$(wg showconf "$i1")
sock=/var/run/wireguard/$i1.sock
uapi() { python3 "$LR_ROOT/tests/interop/uapi_raw.py" "$sock" "$1"; }
expect_errno() {
	local req=$1 want=$2 got
	got=$(uapi "$req")
	[ "$got" = "$want" ] || lr_fail "request $(printf %q "$req") answered '$got', want '$want'"
	[ "$(wg showconf "$i1")" = "$before" ] || lr_fail "request $(printf %q "$req") changed the configuration"
}
x=$(wg show "$i1" peers | head -1 | base64 -d | od -An -tx1 | tr -d ' \n')
expect_errno $'set=1\nbogus=1\n\n' "errno=-22"
expect_errno $'set=1\nlisten_port=70000\n\n' "errno=-22"
expect_errno $'set=1\nlisten_port=-1\n\n' "errno=-22"
expect_errno $'set=1\nprivate_key=zz\n\n' "errno=-22"
expect_errno $'set=1\nfwmark=4294967296\n\n' "errno=-22"
expect_errno "set=1"$'\n'"public_key=$x"$'\nendpoint=999.1.1.1:5\n\n' "errno=-22"
expect_errno "set=1"$'\n'"public_key=$x"$'\nallowed_ip=10.0.0.0/33\n\n' "errno=-22"
expect_errno "set=1"$'\n'"public_key=$x"$'\npersistent_keepalive_interval=65536\n\n' "errno=-22"
expect_errno "set=1"$'\n'"public_key=$x"$'\nremove=yes\n\n' "errno=-22"
expect_errno "set=1"$'\n'"public_key=$x"$'\nprotocol_version=2\n\n' "errno=-22"
# A valid change followed by a bad line: the whole request is refused.
expect_errno "set=1"$'\n'"replace_peers=true"$'\n'"public_key=$x"$'\nallowed_ip=banana\n\n' "errno=-22"
expect_errno $'set=1\nno-equals-sign\n\n' "errno=-71"
# Not a get or set: the connection is closed without a reply.
expect_errno $'hello=1\n\n' ""
# The port in use by another socket: -EADDRINUSE, nothing changed.
ip netns exec "$(lr_ns 1)" python3 -c 'import socket,time,sys; s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.bind(("::",40001)); sys.stdout.write("bound\n"); sys.stdout.flush(); time.sleep(30)' >"$LR_TMP/holder" &
holder=$!
LR_PIDS+=("$holder")
for _ in $(seq 50); do grep -q bound "$LR_TMP/holder" && break; sleep 0.1; done
expect_errno $'set=1\nlisten_port=40001\n\n' "errno=-98"
kill "$holder"
# wg itself: a malformed key is refused before it reaches us. (wg 1.0.20210914
# does NOT refuse listen-port 70000: it resolves it with getaddrinfo and sends
# 70000 mod 65536 = 4464, so that case is only tested on the raw socket above.)
echo "not a key" >"$LR_TMP/bad.key"
wg set "$i1" private-key "$LR_TMP/bad.key" 2>/dev/null && lr_fail "wg accepted a malformed key"
[ "$(wg showconf "$i1")" = "$before" ] || lr_fail "configuration changed"
# A get followed by garbage in one write still answers the get.
got=$(python3 "$LR_ROOT/tests/interop/uapi_raw.py" "$sock" $'get=1\n\ngarbage' | tail -1)
[ "$got" = "errno=0" ] || lr_fail "get with trailing bytes answered '$got'"
lr_log "ok: bad input refused, state unchanged"
lr_log "PASS test_uapi"
