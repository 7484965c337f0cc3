/*
 * ratelimiter: per-source token bucket applied to handshake messages while
 * the device is under load (the paper's section 5.3; same rates as the kernel:
 * 20 packets/s, burst 5). IPv4 sources are keyed by address, IPv6 by /64.
 * The table is bounded; stale entries are collected as time passes.
 * wg_ratelimiter_init_rate gives the same limiter other rates and sizes (the
 * relay's per-IP limits, servers/relay).
 */
#ifndef LR_WG_RATELIMITER_H
#define LR_WG_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	WG_RATELIMIT_PACKETS_PER_SECOND = 20,
	WG_RATELIMIT_BURST = 5,
	WG_RATELIMIT_MAX_ENTRIES = 8192,
};

struct wg_rl_entry;

/* Single-threaded: owned by the device loop, no lock. */
struct wg_ratelimiter {
	struct wg_rl_entry **buckets; /* chains, indexed by a keyed hash of the source */
	size_t nbuckets;
	struct wg_rl_entry *pool; /* WG_RATELIMIT_MAX_ENTRIES entries, allocated at init */
	struct wg_rl_entry *free_list; /* unused entries of pool */
	size_t count; /* entries in use */
	size_t max_entries;
	uint64_t packet_cost_ns, token_max_ns; /* credit is kept in ns */
	uint64_t idle_ns; /* an entry idle this long is full again: collected */
	uint64_t last_gc_ns;
	uint8_t hash_key[16];
};

/* The WireGuard defaults (WG_RATELIMIT_*). 0 or -ENOMEM. */
int wg_ratelimiter_init(struct wg_ratelimiter *rl);
/* pps packets/s (1..1e9) with a burst of burst packets (>= 1), keeping at
 * most max_entries sources (>= 1). 0, -EINVAL or -ENOMEM. */
int wg_ratelimiter_init_rate(struct wg_ratelimiter *rl, uint64_t pps, uint64_t burst,
			     size_t max_entries);
void wg_ratelimiter_free(struct wg_ratelimiter *rl);
/* src is an AF_INET or AF_INET6 sockaddr (v4-mapped IPv6 is treated as IPv4). */
bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns);

#endif
