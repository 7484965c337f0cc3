#!/usr/bin/env bash
# Installs the Debian packages LANrage needs to build, test and demo.
# Idempotent: does nothing (not even apt-get update) when every package is present.
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	libsodium-dev libmnl-dev libcmocka-dev libjansson-dev zlib1g-dev
	libsqlite3-dev sqlite3 libwebsockets-dev libuv1-dev libssl-dev openssl libcap-dev
	wireguard-go wireguard-tools coturn iperf3 iproute2 nftables iputils-ping
	procps psmisc coreutils bc python3 tcpdump curl
	# fault injection in tests/e2e/heal.sh: a skewed clock, a NAT mapping flush
	faketime conntrack
	# real game software for the LAN discovery tests (tests/disco) and the demo
	openarena-server openttd openttd-opengfx openjdk-17-jdk-headless
	# the web UI's browser tests (tests/webui: chromium driven by @playwright/test
	# from npm) and the metrics tests (tests/metrics: prometheus, promtool)
	chromium nodejs prometheus
)

# This machine's nodejs (NodeSource, Node 20) carries npm; Debian's own
# nodejs (18) needs the npm package beside it.
if ! command -v npm >/dev/null; then
	pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
