#!/usr/bin/env bash
# The current demo (`make demo`): a three-player LAN over WireGuard in network
# namespaces on this machine. Two players run lanrage-wg, one runs Debian's
# wireguard-go; all are configured with the stock `wg` tool. It shows each
# device as `wg show` sees it, pings every player from every other over the
# tunnel, moves a file, then tears everything down.
# (The party demo with NAT traversal, control and relay servers arrives with the
# daemon; until then this is what exists.)
[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces)" >&2; exit 1; }
source "$(dirname "$0")/lib.sh"

echo "== building a lab: 3 hosts on a virtual switch (192.0.2.0/24)"
lr_hub
for n in 1 2 3; do lr_host $n; done
lr_start lanrage 1
lr_start wggo 2
lr_start lanrage 3
for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] || lr_peer $a $b persistent-keepalive 25
	done
done
names=([1]="player1 (lanrage-wg)" [2]="player2 (wireguard-go)" [3]="player3 (lanrage-wg)")
echo "== pinging across the tunnel (10.99.0.0/24)"
for a in 1 2 3; do
	for b in 1 2 3; do
		[ $a = $b ] && continue
		rtt=$(ip netns exec "$(lr_ns $a)" ping -c 5 -i 0.2 -W 2 "10.99.0.$b" | awk -F/ '/rtt/ {print $5}')
		printf '  %-24s -> %-24s avg rtt %s ms\n' "${names[$a]}" "${names[$b]}" "${rtt:-FAILED}"
		[ -n "$rtt" ] || lr_fail "no reply from ${names[$b]}"
	done
done
echo "== moving 16 MiB from player3 to player2 over TCP (sha256 checked)"
t0=$(date +%s.%N)
lr_transfer 3 2 4 16 || lr_fail "transfer failed"
t1=$(date +%s.%N)
printf '  ok, %.1f MiB/s\n' "$(echo "16 / ($t1 - $t0)" | bc -l)"
echo "== wg show on player1"
wg show "$(lr_ifname 1)" | sed 's/^/  /'
echo "== tearing down"
