#!/usr/bin/env bash
# LAN discovery over a tunnel LANrage does not carry: two wireguard-go peers
# (a WireGuard implementation that owns its TUN, as kernel WireGuard owns its
# interface), with the discovery engine alone (build/tests/disco_tool) on
# each host. A broadcast query on host 1 (to 255.255.255.255, which leaves by
# eth0, and to the tunnel subnet's 10.99.0.255) gets host 2's answer from its
# tunnel address; so does a query in native mode; a multicast announcement
# reaches a group member on host 2. So capture and delivery never read the
# tunnel's device, and work with any backend.
#
#   hub (bridge) --- h1 eth0 192.0.2.1   wireguard-go 10.99.0.1/24, disco_tool
#                \-- h2 eth0 192.0.2.2   wireguard-go 10.99.0.2/24, disco_tool
#                                        (eth0 input: WireGuard only)
#
# Cleanup: tests/interop/lib.sh's EXIT trap kills what it started and
# deletes the namespaces; the disco_tool PIDs are in LR_PIDS too.
source "$(dirname "$0")/../interop/lib.sh"
BUILD=${BUILD:-$LR_ROOT/build}
TOOL=$BUILD/tests/disco_tool
[ -x "$TOOL" ] || lr_fail "$TOOL missing"
FAILS=0

check() { # NAME CMD...
	local name=$1
	shift
	if "$@"; then echo "PASS $name"; else echo "FAIL $name"; FAILS=$((FAILS + 1)); fi
}

lr_hub
for n in 1 2; do
	lr_host "$n"
	ip -n "$(lr_ns "$n")" route add default dev eth0 # where 255.255.255.255 leaves
	lr_start wggo "$n"
done
lr_peer 1 2
lr_peer 2 1
# The two hosts share the hub's LAN: host 2 takes nothing from eth0 but
# WireGuard, so whatever reaches it came through the tunnel.
ip netns exec "$(lr_ns 2)" nft -f - <<'NFT'
table inet lrdisco {
	chain input {
		type filter hook input priority 0;
		iifname "eth0" udp dport != 51822 drop
		iifname "eth0" ip protocol != udp drop
	}
}
NFT
lr_check "tunnel up" lr_ping 1 2

# disco_tool N [ARGS]: the engine on host N (the other host as its member).
tool_start() {
	local n=$1 m=$((3 - $1))
	shift
	ip netns exec "$(lr_ns "$n")" "$TOOL" "$(lr_ifname "$n")" "10.99.0.$n/24" "10.99.0.$m" \
		"$@" >"$LR_TMP/tool$n.json" 2>"$LR_TMP/tool$n.log" &
	TOOL_PID[n]=$!
	LR_PIDS+=("$!")
}
tool_stop() { # N: SIGTERM, wait, the status line is in tool$N.json
	kill -TERM "${TOOL_PID[$1]}" 2>/dev/null
	wait "${TOOL_PID[$1]}" 2>/dev/null
}
counter() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$LR_TMP/tool$1.json" "$2"; }

# answer_query DST: host 2 answers the first getinfo like ioquake3; host 1
# queries DST on 27960 from an unbound socket; true when the answer came
# from 10.99.0.2:27960.
answer_query() {
	ip netns exec "$(lr_ns 2)" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 27960)); s.settimeout(6)
d, a = s.recvfrom(2000)
if d.startswith(b"\xff\xff\xff\xffgetinfo"):
    s.sendto(b"\xff\xff\xff\xffinfoResponse\n\\hostname\\wggo", a)' &
	local srv=$!
	sleep 0.3
	ip netns exec "$(lr_ns 1)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.settimeout(1.3)
for _ in range(3):  # a game client asks again when no answer comes
    s.sendto(b"\xff\xff\xff\xffgetinfo xxx", (sys.argv[1], 27960))
    try:
        d, a = s.recvfrom(2000)
        break
    except socket.timeout:
        pass
else:
    sys.exit(1)
print(a, d[:16])
sys.exit(not (a == ("10.99.0.2", 27960) and d.startswith(b"\xff\xff\xff\xffinfoResponse")))' "$1"
	local rc=$?
	wait "$srv" 2>/dev/null
	return $rc
}

no_answer() { ! answer_query "$@" >/dev/null 2>&1; }
check "without the engine the query finds nothing" no_answer 255.255.255.255
tool_start 1
tool_start 2
sleep 1
check "limited broadcast query answered through wireguard-go" answer_query 255.255.255.255
check "tunnel subnet broadcast query answered" answer_query 10.99.0.255

# Multicast: a member joined 224.0.2.60 on host 2 (its advert reaches host 1
# within a tick); host 1 announces like a Minecraft server.
mcast_ok() {
	ip netns exec "$(lr_ns 2)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 4445))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.2.60") + socket.inet_aton("0.0.0.0"))
s.settimeout(8)
d, a = s.recvfrom(2000)
print(a, d)
sys.exit(not (a[0] == "10.99.0.1" and d.startswith(b"[MOTD]")))' &
	local rx=$!
	ip netns exec "$(lr_ns 1)" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(6):
    s.sendto(b"[MOTD]wggo world[/MOTD][AD]25565[/AD]", ("224.0.2.60", 4445)); time.sleep(1.0)' &
	local tx=$!
	wait "$rx"
	local rc=$?
	kill "$tx" 2>/dev/null
	wait "$tx" 2>/dev/null
	return $rc
}
check "multicast announcement reaches the group member" mcast_ok

tool_stop 1
tool_stop 2
check "host 1 captured and forwarded (counters)" test "$(counter 1 forwarded)" -ge 3
check "host 2 advertised its group" test "$(counter 2 adverts_sent)" -ge 1

# Native delivery: host 2's engine re-injects the broadcast on its lo.
tool_start 1 --mode 27960=native
tool_start 2
sleep 1
check "native-mode query answered through wireguard-go" answer_query 255.255.255.255
tool_stop 1
tool_stop 2
check "host 2 re-injected natively (counters)" test "$(counter 2 native_received)" -ge 1

echo "disco over wireguard-go: $((8 - FAILS)) passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
