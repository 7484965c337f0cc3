/*
 * relay_core: what the relay does with one datagram on its port, as a
 * function from (source address, bytes, clocks) to at most one datagram to
 * send, so it is unit-tested and fuzzed without sockets. It owns the bindings
 * (relay_table), the return-routability cookies (relay_cookie), the per-source
 * limiters and the statistics; it also decides whether the STUN server may
 * answer a source (relay_core_stun_allow).
 *
 * Invariants (docs/RELAY.md): a SEND is forwarded only from an address with a
 * live binding, to a key with a live binding, and the sender's key comes from
 * the binding, never from the frame; a BIND costs no Ed25519 or X25519 work
 * and changes no binding before it shows a valid cookie for its source
 * address; a key binds only with a ticket from the control plane (unless
 * the relay runs with no_tickets); no answer is larger than the datagram it
 * answers (a SEND from an unbound address gets an UNBOUND, within a
 * per-source limit, only when it is at least as large); nothing is allocated
 * per datagram (a SEND becomes its DELIVER in the same buffer).
 * Single-threaded.
 */
#ifndef LR_RELAY_CORE_H
#define LR_RELAY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_cookie.h"
#include "relay_rate.h"
#include "relay_table.h"
#include "wg/ratelimiter.h"
#include "wg/wg.h"

#define RELAY_REPLY_MAX 64 /* room for any frame the relay writes itself */

/*
 * Per-source limits (a source is an IPv4 address or an IPv6 /64). They are
 * sized so that a LAN party of RELAY_NAT_PLAYERS players behind one NAT
 * (one address) binds at once, keeps its bindings (a rebind every 60 s, a
 * cookie round trip every few minutes) and measures every relay (a PING
 * every 5 s each), with room to spare; docs/RELAY.md has the arithmetic.
 */
#define RELAY_NAT_PLAYERS 200
#define RELAY_BIND_PPS 40 /* BINDs (each may cost an Ed25519 and an X25519) */
#define RELAY_BIND_BURST (2 * RELAY_NAT_PLAYERS) /* a cookie round trip each */
#define RELAY_PING_PPS 100 /* PINGs from addresses without a binding */
#define RELAY_PING_BURST (2 * RELAY_NAT_PLAYERS)
#define RELAY_UNBOUND_PPS 50 /* UNBOUND answers to SENDs from unbound addresses */
#define RELAY_UNBOUND_BURST (2 * RELAY_NAT_PLAYERS) /* a relay restart: a few each */
#define RELAY_STUN_PPS 50 /* STUN requests */
#define RELAY_STUN_BURST (4 * RELAY_NAT_PLAYERS)
#define RELAY_STUN_GLOBAL_PPS 20000 /* STUN answers from the whole relay */
#define RELAY_LIMITER_SOURCES 16384 /* sources each limiter tracks at once */
#define RELAY_DEFAULT_MAX_PER_IP 256 /* live bindings per source */

struct relay_config {
	uint8_t private_key[32]; /* wiped by relay_core_free */
	uint32_t lifetime_s;
	uint64_t rate_pps, rate_bytes; /* per binding, sending and receiving each */
	uint32_t max_bindings;
	uint32_t max_per_ip; /* live bindings per source; 0 means RELAY_DEFAULT_MAX_PER_IP */
	uint32_t limiter_sources; /* sources each limiter tracks; 0 means RELAY_LIMITER_SOURCES */
	/* The control server's Ed25519 ticket key (nat/relay_ticket.h). Without
	 * one every BIND is refused, unless no_tickets (labs only: any key binds). */
	uint8_t ticket_key[32];
	bool has_ticket_key;
	bool no_tickets;
};

struct relay_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t forwarded, forwarded_bytes;
	uint64_t binds, roams, refreshes, expired, evicted;
	uint64_t pongs, unreachable, cookies;
	uint64_t unbound, clocks; /* UNBOUND and CLOCK answers */
	uint64_t drop_malformed, drop_unexpected, drop_unbound, drop_rate, drop_dst_rate;
	uint64_t drop_bind_rate, drop_ping_rate, drop_unbound_rate;
	uint64_t refused_mac, refused_stale, refused_full, refused_rate;
	uint64_t refused_unauthorized, refused_expired, refused_ip_full;
	uint64_t stun_allowed, drop_stun_rate, drop_stun_global;
	uint64_t send_errors; /* counted by the socket owner */
};

struct relay_core {
	struct relay_config cfg;
	struct relay_table table;
	struct relay_cookie cookie;
	struct wg_ratelimiter bind_rl, ping_rl, stun_rl, unbound_rl; /* per source */
	struct relay_bucket stun_global;
	struct relay_stats stats;
	uint32_t dormant; /* expired bindings kept for replay protection */
	uint64_t last_sweep_ns;
};

/* One datagram to send: buf is the input buffer (DELIVER) or the reply buffer. */
struct relay_out {
	struct wg_endpoint dst;
	const uint8_t *buf;
	size_t len;
};

/* Copies cfg (the caller may wipe its copy). 0 or a negative errno. */
int relay_core_init(struct relay_core *c, const struct relay_config *cfg);
void relay_core_free(struct relay_core *c);

/* Sets (or replaces) the ticket key BINDs are checked against. */
void relay_core_set_ticket_key(struct relay_core *c, const uint8_t key[32]);

/*
 * Handles the datagram buf[0..len) from src. buf may be rewritten (a SEND
 * turns into a DELIVER in place); reply is scratch room for answers. Returns
 * true when *out is to be sent. now_ns is the monotonic clock, wall_ms the
 * Unix time in ms (BIND timestamps, ticket expiry).
 */
bool relay_core_input(struct relay_core *c, const struct wg_endpoint *src, uint8_t *buf,
		      size_t len, uint64_t now_ns, uint64_t wall_ms,
		      uint8_t reply[RELAY_REPLY_MAX], struct relay_out *out);

/* True when the STUN server may answer a request from src now (per-source
 * limit, then the relay-wide one); counted either way. */
bool relay_core_stun_allow(struct relay_core *c, const struct wg_endpoint *src,
			   uint64_t now_ns);

/* Marks bindings idle for their lifetime dormant (no forwarding) and forgets
 * them once their last BIND is past the replay window; rotates the cookie
 * secret; cheap to call often (it runs at most once a second of now_ns). */
void relay_core_expire(struct relay_core *c, uint64_t now_ns);
/* Live bindings (what the heartbeat reports). */
uint32_t relay_core_bindings(const struct relay_core *c);

/* Logs the counters (one line, key=value). */
void relay_core_log_stats(const struct relay_core *c, const char *why);

#endif
