# tests/natlab/lib.sh: build NAT topologies in network namespaces. Source it.
#
#   nl_init LAB            clean a stale lab of that name, trap teardown
#   nl_build [FILE]        build the topology described in FILE (or stdin)
#   nl_exec NODE CMD...    run CMD inside NODE
#   nl_spawn NODE LOG CMD  start CMD in NODE in the background (output to LOG);
#                          prints its PID; nl_down kills it
#   nl_addr NODE [N]       NODE's Nth public-side IPv4 (router: WAN address)
#   nl_addr6 NODE          IPv6 of a server/public/server6 node, of a v6
#                          router (its WAN) or of a host on a v6 router's LAN
#   nl_lan_addr ROUTER     the router's LAN address
#   nl_fw6_dropped ROUTER  packets a v6 router's firewall dropped inbound
#   nl_down                kill everything the lab started, delete its namespaces
#
# Guarantees: nothing is created in the root namespace (veths are created
# straight into their namespaces); every namespace is nl-LAB-*; nl_down runs on
# EXIT, INT and TERM and is idempotent; nl_init removes what a killed run of
# the same LAB left behind. See README.md for the description language.

NL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NL_LAB=""
NL_STATE=""
NL_PIDS=()
NL_NEXT_PUBLIC=100
NL_NEXT_LAN=1
declare -gA NL_KIND NL_LANIDX NL_NEXT_HOST NL_PORTS NL_V6

nl_ns() { echo "nl-$NL_LAB-$1"; }

nl_die() {
	echo "natlab: $*" >&2
	return 1
}

# Kills by PID every process inside the lab's namespaces, then deletes them.
nl_clean_lab() {
	local lab=$1 ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^nl-$lab-" || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.1
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^nl-$lab-" || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "/run/natlab/$lab"
}

nl_down() {
	local pid
	[ -n "$NL_LAB" ] || return 0
	# PIDs from subshells (pid=$(nl_spawn ...)) are only in the state file.
	if [ -f "$NL_STATE/pids" ]; then
		mapfile -t -O "${#NL_PIDS[@]}" NL_PIDS <"$NL_STATE/pids"
	fi
	for pid in "${NL_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${NL_PIDS[@]}"; do
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$pid" 2>/dev/null || true
	done
	NL_PIDS=()
	nl_clean_lab "$NL_LAB"
}

nl_init() {
	local lab=$1
	[[ $lab =~ ^[a-z0-9]{1,6}$ ]] || nl_die "lab name must be 1-6 of [a-z0-9]: '$lab'" || return 1
	NL_LAB=$lab
	NL_STATE=/run/natlab/$lab
	nl_clean_lab "$lab"
	mkdir -p "$NL_STATE"
	if [ -z "${NL_KEEP:-}" ]; then
		trap 'rc=$?; nl_down; exit $rc' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
}

nl_newns() {
	local ns
	ns=$(nl_ns "$1")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	echo "$2" >"$NL_STATE/kind.$1"
}

nl_internet() {
	[ -e "/run/netns/$(nl_ns inet)" ] && return 0
	nl_newns inet internet
	ip -n "$(nl_ns inet)" link add br0 type bridge
	ip -n "$(nl_ns inet)" link set br0 up
}

# Connects NODE's interface IFNAME to the internet bridge.
nl_plug_internet() {
	local node=$1 ifname=$2 port="p$NL_NEXT_PUBLIC"
	ip link add "$ifname" netns "$(nl_ns "$node")" type veth peer name "$port" netns "$(nl_ns inet)"
	ip -n "$(nl_ns inet)" link set "$port" master br0 up
	ip -n "$(nl_ns "$node")" link set "$ifname" up
}

nl_public_addr() {
	local node=$1 ifname=$2 addr=${3:-}
	if [ -z "$addr" ]; then
		addr=203.0.113.$NL_NEXT_PUBLIC
		NL_NEXT_PUBLIC=$((NL_NEXT_PUBLIC + 1))
	fi
	ip -n "$(nl_ns "$node")" addr add "$addr/24" dev "$ifname"
	echo "$addr" >>"$NL_STATE/addr.$node"
}

nl_add_v6() {
	local node=$1 n=$2
	ip -n "$(nl_ns "$node")" addr add "2001:db8::$n/64" dev eth0 nodad
	echo "2001:db8::$n" >"$NL_STATE/addr6.$node"
	[ -e "$NL_STATE/inet6" ] && nl_route_lans6 "$node"
	return 0
}

# The v6 routers' LANs (2001:db8:K::/64) are routed by the internet
# namespace, which gets 2001:db8::1 and forwarding when the first v6 router
# is built; until then nothing changes for a lab without one.
nl_route_lans6() {
	ip -n "$(nl_ns "$1")" -6 route add 2001:db8::/32 via 2001:db8::1 dev eth0
}

nl_internet6() {
	local f
	[ -e "$NL_STATE/inet6" ] && return 0
	ip -n "$(nl_ns inet)" addr add 2001:db8::1/64 dev br0 nodad
	ip netns exec "$(nl_ns inet)" sysctl -qw net.ipv6.conf.all.forwarding=1
	touch "$NL_STATE/inet6"
	for f in "$NL_STATE"/addr6.*; do
		[ -e "$f" ] || continue
		case $(cat "$NL_STATE/kind.${f##*/addr6.}") in
		server | public) nl_route_lans6 "${f##*/addr6.}" ;;
		esac
	done
}

nl_server() {
	local node=$1 a n=$NL_NEXT_PUBLIC
	shift
	nl_newns "$node" server
	nl_plug_internet "$node" eth0
	if [ $# -eq 0 ]; then
		nl_public_addr "$node" eth0
	fi
	for a in "$@"; do
		nl_public_addr "$node" eth0 "$a"
	done
	NL_NEXT_PUBLIC=$((NL_NEXT_PUBLIC + 1))
	nl_add_v6 "$node" "$n"
}

# A LAN port on ROUTER's lan0 bridge for NODE's interface IFNAME.
nl_plug_lan() {
	local router=$1 node=$2 ifname=$3 k=${NL_LANIDX[$1]} h=${NL_NEXT_HOST[$1]}
	ip link add "$ifname" netns "$(nl_ns "$node")" type veth peer name "h$h" netns "$(nl_ns "$router")"
	ip -n "$(nl_ns "$router")" link set "h$h" master lan0 up
	ip -n "$(nl_ns "$node")" link set "$ifname" up
	ip -n "$(nl_ns "$node")" addr add "192.168.$k.$h/24" brd + dev "$ifname"
	ip -n "$(nl_ns "$node")" route add default via "192.168.$k.1"
	echo "192.168.$k.$h" >>"$NL_STATE/addr.$node"
	NL_NEXT_HOST[$router]=$((h + 1))
}

nl_host() {
	local node=$1 router=$2
	[ -n "${NL_LANIDX[$router]:-}" ] || nl_die "host $node: no router '$router' defined before it" || return 1
	nl_newns "$node" host
	nl_plug_lan "$router" "$node" eth0
	[ -z "${NL_V6[$router]:-}" ] || nl_host_v6 "$node" "$router"
}

nl_public() {
	local node=$1 n=$NL_NEXT_PUBLIC
	nl_newns "$node" public
	nl_plug_internet "$node" eth0
	nl_public_addr "$node" eth0
	nl_add_v6 "$node" "$n"
}

# A public host reachable only over IPv6: no IPv4 address at all.
nl_server6() {
	local node=$1 n=$NL_NEXT_PUBLIC
	nl_newns "$node" server
	nl_plug_internet "$node" eth0
	: >"$NL_STATE/addr.$node"
	NL_NEXT_PUBLIC=$((NL_NEXT_PUBLIC + 1))
	nl_add_v6 "$node" "$n"
}

# A host on a v6 router's LAN: 2001:db8:K::H beside 192.168.K.H, default
# route via the router's 2001:db8:K::1.
nl_host_v6() {
	local node=$1 router=$2 k=${NL_LANIDX[$2]} h
	h=$(head -1 "$NL_STATE/addr.$node")
	h=${h##*.}
	ip -n "$(nl_ns "$node")" addr add "2001:db8:$k::$h/64" dev eth0 nodad
	ip -n "$(nl_ns "$node")" -6 route add default via "2001:db8:$k::1" dev eth0
	echo "2001:db8:$k::$h" >"$NL_STATE/addr6.$node"
}

# The IPv6 side of ROUTER (LAN number K, WAN 2001:db8::N): no NAT, the LAN's
# 2001:db8:K::/64 routed to it, and a stateful firewall in its forward chain
# that lets in only what answers a flow from the LAN (the common home
# setup); what it drops inbound is counted (nl_fw6_dropped).
nl_router_v6() {
	local node=$1 kind=$2 k=$3 n=$4 ns
	ns=$(nl_ns "$node")
	nl_internet6
	ip -n "$ns" addr add "2001:db8::$n/64" dev wan0 nodad
	ip -n "$ns" addr add "2001:db8:$k::1/64" dev lan0 nodad
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$ns" -6 route add default via 2001:db8::1 dev wan0
	ip -n "$(nl_ns inet)" -6 route add "2001:db8:$k::/64" via "2001:db8::$n" dev br0
	echo "2001:db8::$n" >"$NL_STATE/addr6.$node"
	{
		echo "table ip6 natlab6 {"
		echo " chain forward { type filter hook forward priority 0; policy accept;"
		[ "$kind" = udp-blocked ] && echo "  meta l4proto udp drop"
		echo "  ct state established,related accept"
		echo "  iifname \"lan0\" oifname \"wan0\" accept"
		echo "  iifname \"wan0\" counter drop"
		echo " }"
		echo "}"
	} | ip netns exec "$ns" nft -f - || nl_die "router $node: IPv6 firewall did not load" || return 1
	NL_V6[$node]=1
}

nl_fw6_dropped() {
	nl_exec "$1" nft list chain ip6 natlab6 forward 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}

# The nftables ruleset for one router kind (see README.md for what each gives).
nl_ruleset() {
	local kind=$1 wan=$2 lan=$3 hairpin=$4 masq="masquerade"
	[ "$kind" = symmetric ] && masq="masquerade fully-random"
	echo "table ip natlab {"
	case $kind in full-cone | restricted-cone)
		echo " map owner { type inet_service : ipv4_addr; flags dynamic,timeout; timeout 180s; }"
		echo " set peers { type inet_service . ipv4_addr; flags dynamic,timeout; timeout 180s; }"
		;;
	esac
	# Unsolicited packets to the router die here, before conntrack confirms
	# them, so they leave no entry that would steal a port from masquerade.
	echo " chain input_wan { type filter hook input priority 0; policy accept;"
	echo "  iifname \"wan0\" ct state established,related accept"
	echo "  iifname \"wan0\" meta l4proto icmp accept"
	echo "  iifname \"wan0\" drop; }"
	echo " chain forward_lan { type filter hook forward priority 0; policy accept;"
	[ "$kind" = udp-blocked ] && echo "  meta l4proto udp drop"
	case $kind in full-cone | restricted-cone)
		echo "  iifname \"lan0\" oifname \"wan0\" meta l4proto udp update @owner { udp sport : ip saddr }"
		echo "  iifname \"lan0\" oifname \"wan0\" meta l4proto udp update @peers { udp sport . ip daddr }"
		;;
	esac
	echo " }"
	echo " chain prerouting_nat { type nat hook prerouting priority -100;"
	case $kind in
	full-cone) echo "  iifname \"wan0\" meta l4proto udp dnat to udp dport map @owner" ;;
	restricted-cone)
		echo "  iifname \"wan0\" meta l4proto udp udp dport . ip saddr @peers dnat to udp dport map @owner"
		;;
	esac
	if [ "$hairpin" = 1 ]; then
		echo "  iifname \"lan0\" ip daddr $wan meta l4proto udp dnat to udp dport map @owner"
	fi
	echo " }"
	echo " chain postrouting_nat { type nat hook postrouting priority 100;"
	echo "  oifname \"wan0\" $masq"
	[ "$hairpin" = 1 ] && echo "  oifname \"lan0\" ip saddr $lan ct status dnat snat to $wan"
	echo " }"
	echo "}"
}

nl_router() {
	local node=$1 kind=$2 parent="" hairpin=0 v6=0 k wan ns n=$NL_NEXT_PUBLIC
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		behind) parent=$2; shift 2 ;;
		hairpin) hairpin=1; shift ;;
		v6) v6=1; shift ;;
		*) nl_die "router $node: unknown option '$1'" || return 1 ;;
		esac
	done
	case $kind in
	full-cone | restricted-cone | port-restricted-cone | symmetric | udp-blocked) ;;
	*) nl_die "router $node: unknown NAT kind '$kind'" || return 1 ;;
	esac
	if [ "$hairpin" = 1 ] && [[ $kind != full-cone && $kind != restricted-cone ]]; then
		nl_die "router $node: hairpin is only built for full-cone and restricted-cone" || return 1
	fi
	if [ "$v6" = 1 ] && [ -n "$parent" ]; then
		nl_die "router $node: v6 is only built for a router on the internet" || return 1
	fi
	k=$NL_NEXT_LAN
	NL_NEXT_LAN=$((k + 1))
	ns=$(nl_ns "$node")
	nl_newns "$node" "router $kind"
	if [ -n "$parent" ]; then
		[ -n "${NL_LANIDX[$parent]:-}" ] || nl_die "router $node: no router '$parent' before it" || return 1
		nl_plug_lan "$parent" "$node" wan0
	else
		nl_internet
		nl_plug_internet "$node" wan0
		nl_public_addr "$node" wan0
	fi
	wan=$(head -1 "$NL_STATE/addr.$node")
	ip -n "$ns" link add lan0 type bridge
	ip -n "$ns" link set lan0 up
	ip -n "$ns" addr add "192.168.$k.1/24" brd + dev lan0
	echo "192.168.$k.1" >"$NL_STATE/lan.$node"
	# No ICMP redirects: hairpinned packets leave by the interface they came in on.
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.default.send_redirects=0
	nl_ruleset "$kind" "$wan" "192.168.$k.0/24" "$hairpin" | ip netns exec "$ns" nft -f - ||
		nl_die "router $node: nftables rules did not load" || return 1
	if [ -n "${NL_UDP_TIMEOUT:-}" ]; then
		ip netns exec "$ns" sysctl -qw "net.netfilter.nf_conntrack_udp_timeout=$NL_UDP_TIMEOUT"
	fi
	if [ "$v6" = 1 ]; then
		nl_router_v6 "$node" "$kind" "$k" "$n" || return 1
	fi
	NL_LANIDX[$node]=$k
	NL_NEXT_HOST[$node]=2
}

nl_build() {
	local line words
	[ -n "$NL_LAB" ] || nl_die "nl_build before nl_init" || return 1
	nl_internet
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		read -r -a words <<<"$line"
		[ ${#words[@]} -eq 0 ] && continue
		case ${words[0]} in
		server) nl_server "${words[@]:1}" ;;
		server6) nl_server6 "${words[1]}" ;;
		public) nl_public "${words[1]}" ;;
		router) nl_router "${words[@]:1}" ;;
		host) nl_host "${words[1]}" "${words[2]:-}" ;;
		*) nl_die "unknown line: $line" ;;
		esac || return 1
	done < <(if [ $# -gt 0 ]; then cat "$1"; else cat; fi)
}

nl_exec() {
	local node=$1
	shift
	ip netns exec "$(nl_ns "$node")" "$@"
}

nl_spawn() {
	local node=$1 log=$2 pid
	shift 2
	ip netns exec "$(nl_ns "$node")" "$@" >"$log" 2>&1 &
	pid=$!
	NL_PIDS+=("$pid")
	echo "$pid" >>"$NL_STATE/pids"
	echo "$pid"
}

# nl_control_tls DIR: gets a lanrage-control whose database is DIR/ctl.db
# ready for TLS: writes the relay secret ($SECRET) to a 0600 file and asks the
# server for its pin (it makes its self-signed certificate beside the
# database, as on a first start). Sets CTL_PIN and CTL_SECRET_FILE.
nl_control_tls() {
	local dir=$1
	CTL_SECRET_FILE=$dir/relay-secret
	(umask 077 && printf '%s\n' "$SECRET" >"$CTL_SECRET_FILE") || return 1
	CTL_PIN=$("$BUILD/lanrage-control" --db "$dir/ctl.db" --print-pin 2>/dev/null) &&
		[ -n "$CTL_PIN" ]
}

nl_addr() { sed -n "${2:-1}p" "/run/natlab/$NL_LAB/addr.$1"; }
nl_addr6() { cat "/run/natlab/$NL_LAB/addr6.$1"; }
nl_lan_addr() { cat "/run/natlab/$NL_LAB/lan.$1"; }
