#!/usr/bin/env bash
# wg-quick up/down with WG_QUICK_USERSPACE_IMPLEMENTATION=lanrage-wg: wg-quick
# falls back to our binary (no kernel module here), configures it with wg and
# ip, traffic flows to a wireguard-go peer, and `wg-quick down` deletes the
# interface, after which lanrage-wg exits and removes its socket.
source "$(dirname "$0")/lib.sh"
[ -d /sys/module/wireguard ] && { lr_log "SKIP: kernel WireGuard present, wg-quick would not use userspace"; exit 0; }
lr_hub
lr_host 1
lr_host 2
lr_start wggo 2
ifc="lrq${LR_ID}" ifc=${ifc:0:15}
(umask 077; wg genkey >"$LR_TMP/q.key")
cat >"$LR_TMP/$ifc.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LR_TMP/q.key")
ListenPort = 51821
Address = 10.99.0.1/24, fd99::1/64
MTU = 1420

[Peer]
PublicKey = $(lr_pub 2)
Endpoint = 192.0.2.2:51822
AllowedIPs = 10.99.0.2/32, fd99::2/128
CONF
chmod 600 "$LR_TMP/$ifc.conf"
wg set "$(lr_ifname 2)" peer "$(wg pubkey <"$LR_TMP/q.key")" allowed-ips 10.99.0.1/32,fd99::1/128
echo "$(wg pubkey <"$LR_TMP/q.key")" >"$LR_TMP/1.pub"
LR_IFACES+=("$ifc")
ip netns exec "$(lr_ns 1)" env WG_QUICK_USERSPACE_IMPLEMENTATION="$LR_WG" LOG_LEVEL=error \
	wg-quick up "$LR_TMP/$ifc.conf" >"$LR_TMP/up.log" 2>&1 || { cat "$LR_TMP/up.log"; lr_fail "wg-quick up failed"; }
grep -q "Falling back" "$LR_TMP/up.log" || lr_fail "wg-quick did not use the userspace implementation"
pid=$(pgrep -f -x "$LR_WG $ifc" | head -1 || true)
[ -n "$pid" ] && LR_PIDS+=("$pid")
[ -n "$pid" ] || lr_fail "no lanrage-wg process for $ifc"
lr_check "wg-quick interface pings wireguard-go" lr_ping 1 2
lr_check "IPv6 too" lr_ping 1 2 6
[ "$(ip -n "$(lr_ns 1)" -o link show "$ifc" | grep -o 'mtu [0-9]*')" = "mtu 1420" ] || lr_fail "MTU not 1420"
ip netns exec "$(lr_ns 1)" wg-quick down "$LR_TMP/$ifc.conf" >"$LR_TMP/down.log" 2>&1 || { cat "$LR_TMP/down.log"; lr_fail "wg-quick down failed"; }
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && lr_fail "lanrage-wg still running after wg-quick down"
[ -e "/var/run/wireguard/$ifc.sock" ] && lr_fail "socket left after wg-quick down"
lr_log "ok: wg-quick down removed the interface; lanrage-wg exited and removed its socket"
lr_log "PASS test_wgquick"
