/*
 * conn: the ConnectionManager. For every other member of the party it finds
 * and keeps a path for WireGuard traffic:
 *   1. candidate exchange through control signaling (public mapping from STUN
 *      on the WireGuard socket, local addresses, the member's home relay);
 *   2. hole punching: probe frames (docs/PROBES.md) sent from the WireGuard
 *      UDP socket to every candidate from both sides at once, retried every
 *      punch_interval_ms for punch_timeout_ms; the first candidate a probe
 *      comes back from (the source address seen, so NAT rewrites are
 *      followed) becomes the direct endpoint, and a better one answering
 *      within the attempt replaces it (a LAN address, then IPv6 unless
 *      IPv4's probes come back clearly faster; docs/PROBES.md);
 *   3. otherwise the relay path (docs/RELAY.md) through the member's home
 *      relay; this node's home relay is the one with the lowest PING RTT;
 *   4. monitoring (in-tunnel RTT, jitter, loss every monitor_interval_ms),
 *      reconnect with backoff after loss, home relay switch when its RTT
 *      exceeds the best relay's by relay_switch_rtt_ms, and a new punching
 *      attempt every upgrade_interval_s while on a relay.
 * It sets each member's WireGuard endpoint and allowed IP (its /32) through
 * net_peer_set.
 *
 * Threading: every call is made from the daemon's control thread; packets
 * arriving on the WireGuard socket (the net rx hook) are handed over through
 * an internal queue whose fd is conn_fd(). Punch signals are sent from conn's
 * own thread (the control client must allow requests from two threads), so
 * a control server that is away does not stall the relayed traffic the
 * control thread carries.
 */
#ifndef LR_CONN_CONN_H
#define LR_CONN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/control.h"
#include "net/net.h"

struct conn_config {
	struct net *net;                 /* borrowed */
	struct ctl_client *ctl;          /* borrowed: signaling and updates */
	const struct net_keys *keys;     /* borrowed */
	const char *self_peer_id;
	/* STUN servers "HOST[:PORT]" for the public mapping; may be empty. */
	const char *const *stun_servers;
	size_t n_stun_servers;
	uint16_t keepalive_s;            /* 25 */
	uint32_t punch_timeout_ms;       /* 5000 */
	uint32_t punch_interval_ms;      /* 200 */
	uint32_t monitor_interval_ms;    /* 2000 */
	uint32_t relay_switch_rtt_ms;    /* 30 */
	uint32_t reconnect_backoff_min_ms, reconnect_backoff_max_ms; /* 500, 30000 */
	uint32_t upgrade_interval_s;     /* 30 */
	/* Fit each member's packets to its path (a host route with a locked
	 * MTU, probing, DF on every outer datagram); false: the interface MTU
	 * for every path, outer datagrams fragmented as needed. */
	bool path_mtu;                   /* true */
};

enum conn_path {
	CONN_PATH_CONNECTING,
	CONN_PATH_DIRECT,
	CONN_PATH_RELAY,
	CONN_PATH_FAILED,   /* no direct path and no relay; retrying with backoff */
};

struct conn_peer_status {
	char peer_id[CTL_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	char virtual_ip[16];
	struct ctl_nat nat;
	enum conn_path path;
	char endpoint[CTL_ENDPOINT_LEN];  /* direct endpoint or the relay's */
	char relay_id[CTL_ID_LEN + 1];    /* when on a relay */
	bool rtt_valid;
	double rtt_ms, jitter_ms, loss_pct;
	uint64_t since_ms;                /* time on the current path */
	unsigned mtu;                     /* largest IP packet sent to it (its route) */
	char detail[96];                  /* what it is doing, for `lanrage status` */
	/* Its WireGuard peer's counters (net_peer_status), from one net_status
	 * per conn_status call; has_counters is false when that failed or the
	 * peer is not on the device. The packet counters and handshakes are
	 * valid only with has_packet_counters as well (0 otherwise). */
	bool has_counters, has_packet_counters;
	uint64_t rx_bytes, tx_bytes;      /* every datagram, handshakes included */
	uint64_t rx_packets, tx_packets;  /* IP packets carried, keepalives not */
	uint64_t handshakes;              /* completed since the peer was added */
	uint64_t last_handshake_sec;      /* wall clock, 0 = never */
};

/* This node's own picture, published to the party by conn itself. */
struct conn_self_status {
	struct ctl_nat nat;
	char endpoints[CTL_MAX_ENDPOINTS][CTL_ENDPOINT_LEN];
	size_t n_endpoints;
	/* endpoints[0..n_public) are the mappings STUN saw (public); the rest
	 * are this host's interface addresses (LAN candidates). */
	size_t n_public;
	char home_relay[CTL_ID_LEN + 1];
	bool udp_blocked;                 /* no STUN answer and no relay reachable */
	unsigned relays_bound;            /* relays holding a binding for us now */
	uint64_t relay_binds;             /* BINDs relays accepted (first and renewals) */
};

struct conn;

void conn_config_default(struct conn_config *cfg);
/* Runs netcheck on the WireGuard socket, measures the relays and publishes
 * endpoints, NAT and home relay (ctl_peer_update). */
int conn_new(const struct conn_config *cfg, struct conn **out);
/* Removes every member's WireGuard peer and frees everything. */
void conn_free(struct conn *c);

/* Party changes, from the PartyManager. */
int conn_peer_add(struct conn *c, const struct ctl_peer *peer);
int conn_peer_update(struct conn *c, const struct ctl_peer *peer);
void conn_peer_remove(struct conn *c, const char *peer_id);
void conn_peer_remove_all(struct conn *c);
/* A signal event addressed to us (payload is a JSON object). */
void conn_on_signal(struct conn *c, const char *from_peer_id, const char *payload_json);

/* Readable when conn has packets or timers to handle; then call conn_run. */
int conn_fd(const struct conn *c);
/* Handles queued packets and due timers; returns ms until it needs to run. */
uint64_t conn_run(struct conn *c);

void conn_self_status(const struct conn *c, struct conn_self_status *out);
/* *out (malloc'd, caller frees) holds one entry per member. */
int conn_status(const struct conn *c, struct conn_peer_status **out, size_t *n);
const char *conn_path_name(enum conn_path p);

#endif
