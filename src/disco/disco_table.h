/*
 * disco_table: which datagrams LAN discovery forwards.
 *
 * A built-in table of games (the ports their LAN discovery uses, from
 * ../shared/reference/LAN_DISCOVERY.md), the user's extra ports, and a
 * denylist of chatty system protocols (DHCP, NetBIOS, SSDP, WS-Discovery,
 * mDNS, LLMNR) that is forwarded only for ports the user names in
 * lan_discovery_allow_system. Pure: no I/O.
 */
#ifndef LR_DISCO_DISCO_TABLE_H
#define LR_DISCO_DISCO_TABLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/portlist.h"

enum disco_game_kind {
	DISCO_QUERY,    /* clients broadcast a query; the server answers from its port */
	DISCO_ANNOUNCE, /* the server announces itself to the port (Minecraft Java) */
};

struct disco_game {
	const char *name;
	uint16_t lo, hi;                /* discovery ports */
	enum disco_game_kind kind;
	uint32_t group;                 /* multicast group (network order), 0 = none */
	/* For DISCO_QUERY: how a server's answer starts (NULL = any datagram
	 * from the port counts as a server). */
	const char *reply_prefix;
	size_t reply_prefix_len;
	/* How the server's answer names the game (disco_pkt.h), if it does. */
	enum disco_info_format { DISCO_INFO_NONE, DISCO_INFO_QUAKE, DISCO_INFO_SOURCE,
				 DISCO_INFO_MINECRAFT } info;
};

extern const struct disco_game disco_game_table[];
extern const size_t disco_game_table_len;

/* The first game whose ports hold port, or NULL. */
const struct disco_game *disco_game_by_port(uint16_t port);
/* True for a port of the system-protocol denylist. */
bool disco_port_is_system(uint16_t port);

/* What the settings say, parsed (see util/portlist.h for the syntax). */
struct disco_policy {
	bool enabled;
	struct portlist extra;          /* lan_discovery_ports */
	struct portlist modes;          /* lan_discovery_mode */
	struct portlist allow_system;   /* lan_discovery_allow_system */
};

/* Parses the three settings; on error -EINVAL with the message in err and
 * *out unchanged. */
int disco_policy_parse(struct disco_policy *out, bool enabled, const char *ports,
		       const char *modes, const char *allow_system, char *err, size_t errlen);

enum disco_verdict {
	DISCO_FORWARD,
	DISCO_NOT_GAME,   /* neither in the table nor an extra port */
	DISCO_DENIED,     /* a denylisted system port, not allowed by the user */
};

/* The verdict for a datagram to dst:dport. dst is the original destination:
 * a multicast group must be a game's group or one the user listed for that
 * port; broadcast destinations need only the port. */
enum disco_verdict disco_policy_check(const struct disco_policy *p, struct in_addr dst,
				      uint16_t dport);
/* Native delivery for this port (lan_discovery_mode), else unicast fan-out. */
bool disco_policy_native(const struct disco_policy *p, uint16_t dport);
/* True when group is one whose members LAN discovery tracks: a game's, or a
 * group the user listed. */
bool disco_policy_group_known(const struct disco_policy *p, struct in_addr group);

/* Every port range the capture filter should let through (the table, the
 * extra ports, the denylist so it can be counted); returns the count
 * written, at most cap. */
size_t disco_policy_ranges(const struct disco_policy *p, struct portlist_entry *out,
			   size_t cap);

#endif
