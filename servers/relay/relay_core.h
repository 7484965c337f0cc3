/*
 * relay_core: what the relay does with one datagram on its port, as a
 * function from (source address, bytes, clocks) to at most one datagram to
 * send, so it is unit-tested and fuzzed without sockets. It owns the bindings
 * (relay_table), the per-source limiter for PING and BIND (the WireGuard
 * handshake ratelimiter: 20/s, burst 5 per IP) and the statistics.
 *
 * Invariants (docs/RELAY.md): a SEND is forwarded only from an address with a
 * live binding, to a key with a live binding, and the sender's key comes from
 * the binding, never from the frame; nothing is allocated per datagram (a
 * SEND becomes its DELIVER in the same buffer). Single-threaded.
 */
#ifndef LR_RELAY_CORE_H
#define LR_RELAY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_table.h"
#include "wg/ratelimiter.h"
#include "wg/wg.h"

#define RELAY_REPLY_MAX 64 /* room for any frame the relay writes itself */

struct relay_config {
	uint8_t private_key[32]; /* wiped by relay_core_free */
	uint32_t lifetime_s;
	uint64_t rate_pps, rate_bytes;
	uint32_t max_bindings;
};

struct relay_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t forwarded, forwarded_bytes;
	uint64_t binds, roams, refreshes, expired, evicted;
	uint64_t pongs, unreachable;
	uint64_t drop_malformed, drop_unexpected, drop_unbound, drop_rate, drop_source_rate;
	uint64_t refused_mac, refused_stale, refused_full, refused_rate;
	uint64_t send_errors; /* counted by the socket owner */
};

struct relay_core {
	struct relay_config cfg;
	struct relay_table table;
	struct wg_ratelimiter source_rl; /* PING and BIND per source IP */
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

/*
 * Handles the datagram buf[0..len) from src. buf may be rewritten (a SEND
 * turns into a DELIVER in place); reply is scratch room for answers. Returns
 * true when *out is to be sent. now_ns is the monotonic clock, wall_ms the
 * Unix time in ms (BIND timestamps).
 */
bool relay_core_input(struct relay_core *c, const struct wg_endpoint *src, uint8_t *buf,
		      size_t len, uint64_t now_ns, uint64_t wall_ms,
		      uint8_t reply[RELAY_REPLY_MAX], struct relay_out *out);

/* Marks bindings idle for their lifetime dormant (no forwarding) and forgets
 * them once their last BIND is past the replay window; cheap to call often
 * (it runs at most once a second of now_ns). */
void relay_core_expire(struct relay_core *c, uint64_t now_ns);
/* Live bindings (what the heartbeat reports). */
uint32_t relay_core_bindings(const struct relay_core *c);

/* Logs the counters (one line, key=value). */
void relay_core_log_stats(const struct relay_core *c, const char *why);

#endif
