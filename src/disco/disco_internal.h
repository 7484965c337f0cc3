/*
 * disco_internal: the engine's sockets and the host facts it reads
 * (disco_io.c), private to src/disco.
 */
#ifndef LR_DISCO_DISCO_INTERNAL_H
#define LR_DISCO_DISCO_INTERNAL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/portlist.h"

enum { DISCO_MAX_IFADDRS = 64 };

/* The host's IPv4 addresses (getifaddrs), to tell our own datagrams and the
 * directed broadcasts of our NICs. */
struct disco_ifaddr {
	unsigned ifindex;
	struct in_addr addr, mask;
};

struct disco_addrs {
	struct disco_ifaddr a[DISCO_MAX_IFADDRS];
	size_t n;
};

int disco_addrs_read(struct disco_addrs *out);
bool disco_addrs_is_local(const struct disco_addrs *s, struct in_addr a);
/* The directed broadcasts of the host's subnets, each once; returns the
 * count (at most cap). */
size_t disco_addrs_bcasts(const struct disco_addrs *s, struct in_addr *out, size_t cap);
/* True when a lies in a subnet of interface ifindex. */
bool disco_addrs_same_subnet(const struct disco_addrs *s, unsigned ifindex, struct in_addr a);

/* The tap (disco_tap.c): AF_PACKET, SOCK_DGRAM, ETH_P_ALL, filtered in the
 * kernel to IPv4 UDP datagrams, no fragments, that either leave by any
 * interface but lo to 224.0.0.0 and up (multicast, 255.255.255.255) or one of
 * bcasts, with a destination port in ports; or arrive on vif as a table
 * game's answer (from its port, with its answer's first bytes) or
 * announcement (to its port). */
struct disco_tap_spec {
	unsigned vif, lo;
	const struct portlist_entry *ports;
	size_t n_ports;
	const struct in_addr *bcasts; /* the directed broadcasts of this host's subnets */
	size_t n_bcasts;
};

int disco_tap_open(const struct disco_tap_spec *spec);
int disco_tap_filter(int fd, const struct disco_tap_spec *spec);

/* A raw IPv4 socket (IP_HDRINCL) bound to ifname: the unicast copies on the
 * virtual interface, the native deliveries on lo. */
int disco_raw_open(const char *ifname);
/* The daemons' message socket: UDP on vip:DISCO_PORT, bound to ifname. */
int disco_msg_open(struct in_addr vip, const char *ifname);

/* The IPv4 multicast groups joined on any interface but lo (/proc/net/igmp
 * or path); returns the count (at most cap) or a negative errno. */
int disco_igmp_read(const char *path, struct in_addr *groups, size_t cap);

#endif

/* ---- The engine's state (disco.c: lifecycle, members, adverts, the thread;
 * disco_fwd.c: what happens to each datagram) ---------------------------- */

#include <pthread.h>

#include "disco/disco.h"
#include "disco/disco_filter.h"
#include "disco/disco_pkt.h"

#define DISCO_TAG "disco"

struct disco_peer {
	struct disco_member m;
	struct in_addr groups[DISCO_MAX_GROUPS]; /* advertised by the member */
	size_t n_groups;
	uint64_t groups_at_ms;                  /* when; 0 = never */
	bool advert_due;                        /* send it ours at the next turn */
};

struct disco_seen {
	struct disco_game_seen g;
	uint64_t at_ms;
};

struct disco {
	pthread_mutex_t lock;   /* every field below but the fds the thread owns */
	pthread_t thread;
	int stop_fd;            /* eventfd: wakes the thread to stop or reload */
	bool stopping;

	/* Fixed at disco_new. */
	char ifname[IFNAMSIZ];
	unsigned vif, lo;
	struct in_addr self_ip, subnet_bcast;
	unsigned mtu;
	int msg_fd, raw_fd, lo_fd;

	/* The thread's: the tap (open while enabled), re-filtered on reload. */
	int tap_fd;
	bool reload;            /* policy or subnets changed: re-filter or open/close */
	struct in_addr tap_bcasts[DISCO_MAX_IFADDRS + 1]; /* what the filter names */
	size_t n_tap_bcasts;

	struct disco_policy policy;
	struct disco_peer *peers;
	size_t n_peers;
	struct disco_addrs addrs;
	struct in_addr groups[DISCO_MAX_GROUPS]; /* ours, as last advertised */
	size_t n_groups;
	struct in_addr lo_groups[DISCO_MAX_GROUPS]; /* joined on lo for native multicast */
	size_t n_lo_groups;
	int join_fd;            /* the socket holding those memberships */
	struct disco_filter out_filter, in_filter;
	struct disco_counters c;
	char error[128];
	struct disco_seen games[DISCO_MAX_GAMES];
	size_t n_games;
	uint16_t ip_id;
};

/* disco_fwd.c; lock held. */
void disco_on_tap(struct disco *d, const uint8_t *pkt, size_t len, unsigned ifindex,
		  unsigned pkttype, uint64_t now_ms);
void disco_on_msg(struct disco *d, const uint8_t *buf, size_t len, struct in_addr from,
		  uint64_t now_ms);
struct disco_peer *disco_peer_by_vip(struct disco *d, struct in_addr vip);
