/* disco_table: see disco_table.h. The game ports and what their servers
 * answer come from ../shared/reference/LAN_DISCOVERY.md section 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "disco/disco_table.h"

/* a.b.c.d as an s_addr (network order), usable in a static initializer. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DISCO_GROUP(a, b, c, d) \
	((uint32_t)(d) << 24 | (uint32_t)(c) << 16 | (uint32_t)(b) << 8 | (uint32_t)(a))
#else
#define DISCO_GROUP(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#endif
#define QUERY(n, l, h) .name = (n), .lo = (l), .hi = (h), .kind = DISCO_QUERY
#define PREFIX(s) .reply_prefix = (s), .reply_prefix_len = sizeof(s) - 1

const struct disco_game disco_game_table[] = {
	{ .name = "Minecraft", .lo = 4445, .hi = 4445, .kind = DISCO_ANNOUNCE,
	  .group = DISCO_GROUP(224, 0, 2, 60), .info = DISCO_INFO_MINECRAFT },
	{ QUERY("OpenArena/ioquake3", 27960, 27963), PREFIX("\xff\xff\xff\xffinfoResponse"),
	  .info = DISCO_INFO_QUAKE },
	{ QUERY("Source engine", 27015, 27020), PREFIX("\xff\xff\xff\xffI"),
	  .info = DISCO_INFO_SOURCE },
	{ QUERY("Teeworlds", 8303, 8310) },
	{ QUERY("Warcraft III", 6112, 6112), PREFIX("\xf7\x30") },
	{ QUERY("StarCraft", 6111, 6111) },
	{ QUERY("OpenTTD", 3979, 3979) },
	{ QUERY("Minecraft Bedrock", 19132, 19132), PREFIX("\x1c") },
	{ QUERY("Unreal Tournament 2004", 10777, 10777) },
	{ QUERY("Trackmania", 2350, 2360) },
	/* ARMA 2 uses 2302-2470 (every 12th); Trackmania's 2350-2360 is
	 * inside, and a port names one game only. */
	{ QUERY("ARMA 2", 2302, 2349) },
	{ QUERY("ARMA 2", 2361, 2470) },
	{ QUERY("Warsow", 44400, 44400) },
	{ QUERY("Torchlight II", 4549, 4549) },
	{ QUERY("Titan Quest", 42801, 42801) },
};
const size_t disco_game_table_len = sizeof(disco_game_table) / sizeof(disco_game_table[0]);

/* System protocols that flood a LAN and must not cross the party by default;
 * group is the multicast group the protocol uses, if any. */
static const struct {
	uint16_t port;
	uint32_t group;
} disco_system[] = {
	{ 67, 0 },                                /* DHCP server */
	{ 68, 0 },                                /* DHCP client */
	{ 137, 0 },                               /* NetBIOS name */
	{ 138, 0 },                               /* NetBIOS datagram */
	{ 1900, DISCO_GROUP(239, 255, 255, 250) }, /* SSDP */
	{ 3702, DISCO_GROUP(239, 255, 255, 250) }, /* WS-Discovery */
	{ 5353, DISCO_GROUP(224, 0, 0, 251) },     /* mDNS */
	{ 5355, DISCO_GROUP(224, 0, 0, 252) },     /* LLMNR */
};

const struct disco_game *disco_game_by_port(uint16_t port)
{
	for (size_t i = 0; i < disco_game_table_len; i++)
		if (port >= disco_game_table[i].lo && port <= disco_game_table[i].hi)
			return &disco_game_table[i];
	return NULL;
}

bool disco_port_is_system(uint16_t port)
{
	for (size_t i = 0; i < sizeof(disco_system) / sizeof(disco_system[0]); i++)
		if (disco_system[i].port == port)
			return true;
	return false;
}

int disco_policy_parse(struct disco_policy *out, bool enabled, const char *ports,
		       const char *modes, const char *allow_system, char *err, size_t errlen)
{
	struct disco_policy p = { .enabled = enabled };
	char e[160];

	if (portlist_parse(&p.extra, ports, PORTLIST_GROUPS, e, sizeof(e))) {
		snprintf(err, errlen, "lan_discovery_ports: %s", e);
		return -EINVAL;
	}
	if (portlist_parse(&p.modes, modes, PORTLIST_MODES, e, sizeof(e))) {
		snprintf(err, errlen, "lan_discovery_mode: %s", e);
		return -EINVAL;
	}
	if (portlist_parse(&p.allow_system, allow_system, 0, e, sizeof(e))) {
		snprintf(err, errlen, "lan_discovery_allow_system: %s", e);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

static bool disco_extra_allows(const struct disco_policy *p, uint32_t group, uint16_t port)
{
	for (size_t i = 0; i < p->extra.n; i++) {
		const struct portlist_entry *e = &p->extra.e[i];

		if (port >= e->lo && port <= e->hi && (!group || e->group == group))
			return true;
	}
	return false;
}

enum disco_verdict disco_policy_check(const struct disco_policy *p, struct in_addr dst,
				      uint16_t dport)
{
	uint32_t group = IN_MULTICAST(ntohl(dst.s_addr)) ? dst.s_addr : 0;
	const struct disco_game *g;

	if (disco_port_is_system(dport))
		return portlist_find(&p->allow_system, dport) ? DISCO_FORWARD : DISCO_DENIED;
	if (disco_extra_allows(p, group, dport))
		return DISCO_FORWARD;
	g = disco_game_by_port(dport);
	if (g && (!group || g->group == group))
		return DISCO_FORWARD;
	return DISCO_NOT_GAME;
}

bool disco_policy_native(const struct disco_policy *p, uint16_t dport)
{
	const struct portlist_entry *e = portlist_find(&p->modes, dport);

	return e && e->mode == PORTLIST_MODE_NATIVE;
}

bool disco_policy_group_known(const struct disco_policy *p, struct in_addr group)
{
	for (size_t i = 0; i < disco_game_table_len; i++)
		if (disco_game_table[i].group && disco_game_table[i].group == group.s_addr)
			return true;
	for (size_t i = 0; i < p->extra.n; i++)
		if (p->extra.e[i].group && p->extra.e[i].group == group.s_addr)
			return true;
	for (size_t i = 0; i < sizeof(disco_system) / sizeof(disco_system[0]); i++)
		if (disco_system[i].group && disco_system[i].group == group.s_addr &&
		    portlist_find(&p->allow_system, disco_system[i].port))
			return true;
	return false;
}

size_t disco_policy_ranges(const struct disco_policy *p, struct portlist_entry *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < disco_game_table_len && n < cap; i++)
		out[n++] = (struct portlist_entry){ .lo = disco_game_table[i].lo, .hi = disco_game_table[i].hi };
	for (size_t i = 0; i < p->extra.n && n < cap; i++)
		out[n++] = p->extra.e[i];
	for (size_t i = 0; i < sizeof(disco_system) / sizeof(disco_system[0]) && n < cap; i++)
		out[n++] = (struct portlist_entry){ .lo = disco_system[i].port,
						    .hi = disco_system[i].port };
	return n;
}
