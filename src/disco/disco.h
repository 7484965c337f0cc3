/*
 * disco: LAN game discovery across the party (docs/LAN_DISCOVERY.md).
 *
 * Capture: one AF_PACKET socket (ETH_P_ALL, SOCK_DGRAM, a classic BPF filter)
 * sees the datagrams this host itself sends: limited broadcast leaving by the
 * default-route NIC, the physical LAN's and the virtual subnet's directed
 * broadcast, and multicast. It only watches: the original packet still goes
 * out, no route or rule is changed, and it works whatever carries the
 * tunnel (the embedded device's TUN or kernel WireGuard).
 * Deliver: unicast fan-out by default (an IPv4/UDP copy from our virtual IP
 * to each member's virtual IP, ports and payload kept, sent on a raw socket
 * so it enters the tunnel like any other packet); native delivery for the
 * ports lan_discovery_mode names (the member's daemon re-injects it with its
 * broadcast or multicast destination on its loopback interface).
 * Multicast goes only to members that advertised the group (the groups this
 * host's programs joined, read from /proc/net/igmp and sent to every member
 * inside the tunnel, refreshed every DISCO_ADVERT_S and forgotten after
 * DISCO_GROUP_EXPIRY_S).
 * Observe: answers and announcements that members' game servers send us
 * through the tunnel fill the list of games seen (disco_games).
 *
 * Threading: the engine runs its own thread; every function here may be
 * called from any other thread and takes the engine's lock briefly.
 */
#ifndef LR_DISCO_DISCO_H
#define LR_DISCO_DISCO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disco/disco_table.h"

enum {
	DISCO_ID_LEN = 32,
	DISCO_NAME_LEN = 64,
	DISCO_ADVERT_S = 10,
	DISCO_GROUP_EXPIRY_S = 35,
	DISCO_GAME_EXPIRY_S = 120,  /* a game not seen for this long leaves the list */
	DISCO_MAX_GAMES = 128,
};

struct disco_member {
	char peer_id[DISCO_ID_LEN + 1];
	char name[DISCO_NAME_LEN + 1];
	struct in_addr vip;
	/* Where its WireGuard packets go when the path is direct (0 = not
	 * direct): a member whose endpoint lies in the subnet of the NIC a
	 * datagram left by is on the same physical LAN and got it already. */
	struct in_addr direct_ip;
	/* A path exists (direct or relayed): adverts sent before it are lost,
	 * so a member that becomes reachable gets ours at once. */
	bool reachable;
};

struct disco_config {
	const char *ifname;       /* the virtual interface */
	struct in_addr self_ip;   /* our virtual IP */
	unsigned prefix;          /* of the party subnet */
	unsigned mtu;             /* of the virtual interface; larger datagrams are not sent */
};

struct disco_counters {
	uint64_t captured;        /* discovery datagrams this host sent, seen by the tap */
	uint64_t forwarded;       /* of those, sent on to at least one member */
	uint64_t copies;          /* datagrams sent to members (one per member) */
	uint64_t duplicates;      /* suppressed as duplicates */
	uint64_t rate_limited;
	uint64_t denied;          /* system protocols on the denylist */
	uint64_t not_game;        /* multicast on a game port to another group */
	uint64_t invalid;         /* too large or malformed (fragments never pass the tap) */
	uint64_t same_lan;        /* copies not sent: the member is on the same LAN */
	uint64_t native_received; /* native deliveries from members, re-injected */
	uint64_t native_refused;  /* native deliveries refused by our own policy */
	uint64_t adverts_sent, adverts_received;
};

struct disco_status {
	bool enabled;
	bool capturing;           /* the tap is open */
	char error[128];          /* why not, when enabled but not capturing */
	struct disco_counters c;
	struct in_addr groups[32]; /* the game groups joined here, advertised */
	size_t n_groups;
};

struct disco_game_seen {
	char game[32];
	char peer_id[DISCO_ID_LEN + 1];
	char member[DISCO_NAME_LEN + 1];
	char virtual_ip[INET_ADDRSTRLEN];
	uint16_t port;
	double last_seen_s;       /* seconds ago */
	char info[64];            /* e.g. a Minecraft world's MOTD; may be empty */
};

struct disco;

/* Starts the engine (its thread, the tunnel socket, and the tap when
 * policy->enabled). A tap that cannot be opened is not fatal: the status
 * says why. */
int disco_new(const struct disco_config *cfg, const struct disco_policy *policy,
	      struct disco **out);
void disco_free(struct disco *d); /* NULL is fine */
/* Replaces the member list (ourselves excluded). */
int disco_set_members(struct disco *d, const struct disco_member *m, size_t n);
/* Applies new settings at once (opens or closes the tap). */
void disco_set_policy(struct disco *d, const struct disco_policy *policy);
void disco_status(struct disco *d, struct disco_status *out);
/* *out is malloc'd (caller frees), newest first. */
int disco_games(struct disco *d, struct disco_game_seen **out, size_t *n);

#endif
