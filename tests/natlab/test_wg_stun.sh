#!/usr/bin/env bash
# tests/natlab/test_wg_stun.sh: STUN on the WireGuard socket. A userspace
# device behind a port-restricted NAT runs netcheck through its own UDP socket
# (wg_loop_send_raw out, the device's receive hook in), then handshakes with a
# wireguard-go peer on the internet. The public endpoint STUN reported must be
# exactly the endpoint the peer sees for our WireGuard traffic, and the
# device must keep carrying traffic (STUN and WireGuard share the port).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
source "$ROOT/tests/natlab/lib.sh"

nl_init ws$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/nlwg.XXXXXX)
IF_A=lrst$$
IF_P=lrsp$$
trap 'rc=$?; nl_down; rm -rf "$TMP"; rm -f /var/run/wireguard/$IF_A.sock /var/run/wireguard/$IF_P.sock; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server stun 203.0.113.10 203.0.113.11
public peer
router nat port-restricted-cone
host player nat
LAB
nl_spawn stun "$TMP/relay.log" "$BUILD/lanrage-relay" --stun 203.0.113.10:3478 --stun 203.0.113.11:3478 >/dev/null

KA=$(wg genkey) KP=$(wg genkey)
PUB_A=$(echo "$KA" | wg pubkey) PUB_P=$(echo "$KP" | wg pubkey)
echo "$KA" >"$TMP/ka" && echo "$KP" >"$TMP/kp"

nl_spawn peer "$TMP/wggo.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$IF_P" >/dev/null
nl_spawn player "$TMP/report.json" "$BUILD/tests/wg_netcheck" "$IF_A" --stun 203.0.113.10:3478 >/dev/null
for _ in $(seq 100); do
	[ -S "/var/run/wireguard/$IF_A.sock" ] && [ -S "/var/run/wireguard/$IF_P.sock" ] && break
	sleep 0.05
done
nl_exec peer wg set "$IF_P" private-key "$TMP/kp" listen-port 51820 peer "$PUB_A" allowed-ips 10.99.0.1/32
nl_exec peer ip addr add 10.99.0.2/24 dev "$IF_P"
nl_exec peer ip link set "$IF_P" up
nl_exec player wg set "$IF_A" private-key "$TMP/ka" listen-port 41641 peer "$PUB_P" \
	endpoint "$(nl_addr peer):51820" allowed-ips 10.99.0.2/32
nl_exec player ip addr add 10.99.0.1/24 dev "$IF_A"
nl_exec player ip link set "$IF_A" up

for _ in $(seq 100); do grep -q '"nat_type"' "$TMP/report.json" 2>/dev/null && break; sleep 0.1; done
stun_ep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_endpoints"][0])' "$TMP/report.json" 2>/dev/null || true)
local_ep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["local_endpoint"])' "$TMP/report.json" 2>/dev/null || true)
[ "$local_ep" = "$(nl_addr player):41641" ] && pass "netcheck ran on the WireGuard port ($local_ep)" ||
	{ fail "netcheck local endpoint '$local_ep'"; cat "$TMP/report.json"; }
grep -q '"nat_type": "port-restricted-cone"' "$TMP/report.json" && pass "NAT classified through the device" ||
	fail "NAT not classified through the device"

if nl_exec player ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null; then
	pass "tunnel carries traffic after STUN on the same port"
else
	fail "no ping through the tunnel"
fi
seen=$(nl_exec peer wg show "$IF_P" endpoints | awk '{print $2}')
[ -n "$stun_ep" ] && [ "$seen" = "$stun_ep" ] && pass "peer sees our WireGuard traffic from the STUN mapping $seen" ||
	fail "peer sees $seen, STUN said $stun_ep"

[ $FAILS -eq 0 ] && echo "test_wg_stun: all passed" || echo "test_wg_stun: $FAILS failed"
[ $FAILS -eq 0 ]
