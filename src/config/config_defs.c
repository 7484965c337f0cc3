/*
 * config_defs: every setting the daemon has, declared once. docs/SETTINGS.md
 * mirrors this table; test_config checks every key's boundaries.
 *
 * Invariants: each default passes its own validation (tested), and resetting
 * any one of a pair of related thresholds (punch_interval_ms <= punch_timeout_ms,
 * reconnect_backoff_min_ms <= reconnect_backoff_max_ms) can never break the
 * pair: each range stops at the other's default.
 */
#include <string.h>

#include "config/config_internal.h"

static const char *const config_log_levels[] = { "silent", "error", "warn", "info", "debug", NULL };
static const char *const config_log_formats[] = { "text", "json", NULL };

#define INT_DEF(k, d, lo, hi, allowed_, desc) \
	{ .key = (k), .type = CONFIG_INT, .def = (d), .min = (lo), .max = (hi), \
	  .allowed = (allowed_), .description = (desc) }

const struct config_def config_defs[] = {
	{ .key = "name", .type = CONFIG_STRING, .def = "", .flags = CONFIG_F_EMPTY_OK,
	  .check = config_check_name, .allowed = "empty, or 1-64 bytes of printable text",
	  .description = "Your name as the other players see it; empty = this host's name" },
	{ .key = "interface", .type = CONFIG_STRING, .def = "lanrage0",
	  .allowed = "1-15 characters of A-Z a-z 0-9 _ . -", .check = config_check_ifname,
	  .description = "Name of the virtual LAN interface" },
	INT_DEF("mtu", "1420", 1280, 9000, "1280..9000",
		"MTU of the virtual interface (IPv6 needs at least 1280)"),
	{ .key = "path_mtu", .type = CONFIG_BOOL, .def = "true", .allowed = "true|false",
	  .description = "Fit each member's packets to its path (direct or relayed) so no "
			 "packet is fragmented on the way; false = the interface MTU for every "
			 "path" },
	{ .key = "subnet", .type = CONFIG_CIDR, .def = "10.66.0.0/16", .min = 8, .max = 30,
	  .allowed = "IPv4 network ADDR/8..30, host bits zero",
	  .description = "Virtual subnet; each peer gets one /32 from it" },
	{ .key = "allow_subnet_overlap", .type = CONFIG_BOOL, .def = "false",
	  .allowed = "true|false",
	  .description = "Route the virtual subnet even when it overlaps a route or address "
			 "of another interface (normally refused)" },
	INT_DEF("listen_port", "51820", 0, 65535, "0..65535",
		"WireGuard UDP listen port (0 = any free port)"),
	INT_DEF("keepalive", "25", 0, 65535, "0..65535",
		"Persistent keepalive interval in seconds (0 = off)"),
	{ .key = "api_listen", .type = CONFIG_ENDPOINT, .def = "127.0.0.1:8666", .min = 1,
	  .max = 65535, .flags = CONFIG_F_LOOPBACK,
	  .allowed = "loopback IP:PORT (127.0.0.0/8 or [::1])",
	  .description = "Address of the local HTTP API and web UI" },
	{ .key = "metrics", .type = CONFIG_BOOL, .def = "false", .flags = CONFIG_F_LIVE,
	  .allowed = "true|false",
	  .description = "Serve Prometheus metrics at /metrics on the API address (the API "
			 "token is needed to read them)" },
	{ .key = "control_server", .type = CONFIG_URL, .def = "", .flags = CONFIG_F_EMPTY_OK,
	  .allowed = "empty, or a wss:// URL (ws:// needs control_insecure)",
	  .description = "Control server URL; empty = embedded local mode" },
	{ .key = "control_pin", .type = CONFIG_STRING, .def = "", .flags = CONFIG_F_EMPTY_OK,
	  .check = config_check_pin, .allowed = "empty, or sha256/BASE64 (44 characters)",
	  .description = "Pin of the control server's TLS key, as lanrage-control prints it; "
			 "empty = trust the system's certificate authorities" },
	{ .key = "control_insecure", .type = CONFIG_BOOL, .def = "false", .allowed = "true|false",
	  .description = "Allow a plain ws:// control server (labs only: the token and party "
			 "data cross the network in clear)" },
	{ .key = "log_level", .type = CONFIG_ENUM, .def = "info", .words = config_log_levels,
	  .allowed = "silent|error|warn|info|debug", .description = "Lowest level logged" },
	{ .key = "log_format", .type = CONFIG_ENUM, .def = "text", .words = config_log_formats,
	  .allowed = "text|json", .description = "Log line format: text or JSON lines" },
	INT_DEF("peer_timeout", "90", 10, 3600, "10..3600",
		"Seconds without traffic or handshake before a peer counts as disconnected"),
	{ .key = "punch_timeout_ms", .type = CONFIG_INT, .def = "5000", .min = 500, .max = 60000,
	  .not_below = "punch_interval_ms", .allowed = "500..60000, >= punch_interval_ms",
	  .description = "How long hole punching tries before falling back to a relay" },
	{ .key = "punch_interval_ms", .type = CONFIG_INT, .def = "200", .min = 20, .max = 5000,
	  .not_above = "punch_timeout_ms", .allowed = "20..5000, <= punch_timeout_ms",
	  .description = "Interval between hole-punching probes" },
	INT_DEF("monitor_interval_ms", "2000", 100, 60000, "100..60000",
		"Interval between latency and liveness checks of each peer"),
	INT_DEF("relay_switch_rtt_ms", "30", 0, 1000, "0..1000",
		"Extra latency over the best relay before switching to it"),
	{ .key = "reconnect_backoff_min_ms", .type = CONFIG_INT, .def = "500", .min = 50,
	  .max = 30000, .not_above = "reconnect_backoff_max_ms",
	  .allowed = "50..30000, <= reconnect_backoff_max_ms",
	  .description = "First delay before reconnecting a lost peer (doubles each try)" },
	{ .key = "reconnect_backoff_max_ms", .type = CONFIG_INT, .def = "30000", .min = 1000,
	  .max = 3600000, .not_below = "reconnect_backoff_min_ms",
	  .allowed = "1000..3600000, >= reconnect_backoff_min_ms",
	  .description = "Longest delay between reconnection tries" },
	INT_DEF("upgrade_interval_s", "30", 0, 3600, "0..3600",
		"Seconds between tries to upgrade a relayed peer to direct (0 = never)"),
	{ .key = "stun_servers", .type = CONFIG_STRING, .def = "", .flags = CONFIG_F_EMPTY_OK,
	  .check = config_check_hostlist,
	  .allowed = "comma list of up to 16 HOST[:PORT], may be empty",
	  .description = "STUN servers for NAT discovery (empty = the control plane's)" },
	{ .key = "lan_discovery", .type = CONFIG_BOOL, .def = "true", .flags = CONFIG_F_LIVE,
	  .allowed = "true|false",
	  .description = "Forward LAN game discovery (broadcast, multicast) to party members" },
	{ .key = "lan_discovery_ports", .type = CONFIG_STRING, .def = "",
	  .flags = CONFIG_F_EMPTY_OK | CONFIG_F_LIVE,
	  .check = config_check_disco_ports,
	  .allowed = "comma list of up to 32 PORT, PORT-PORT or GROUP:PORT[-PORT], may be empty",
	  .description = "Discovery ports forwarded besides the built-in game table" },
	{ .key = "lan_discovery_mode", .type = CONFIG_STRING, .def = "",
	  .flags = CONFIG_F_EMPTY_OK | CONFIG_F_LIVE,
	  .check = config_check_disco_modes,
	  .allowed = "comma list of up to 32 PORT[-PORT]=unicast|native, may be empty",
	  .description = "Per-port delivery: unicast copies (default) or native broadcast" },
	{ .key = "lan_discovery_allow_system", .type = CONFIG_STRING, .def = "",
	  .flags = CONFIG_F_EMPTY_OK | CONFIG_F_LIVE, .check = config_check_disco_allow,
	  .allowed = "comma list of up to 32 PORT or PORT-PORT, may be empty",
	  .description = "System protocol ports (DHCP, NetBIOS, SSDP, mDNS...) forwarded anyway" },
};

const size_t config_ndefs = sizeof(config_defs) / sizeof(config_defs[0]);

const struct config_def *config_def_find(const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < config_ndefs; i++)
		if (!strcmp(config_defs[i].key, key))
			return &config_defs[i];
	return NULL;
}
