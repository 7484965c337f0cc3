/*
 * ratelimiter: per-source token buckets for handshake messages under load,
 * with the kernel's parameters (drivers/net/wireguard/ratelimiter.c). Tokens
 * are kept in nanoseconds of credit: a packet costs 1 s / 20, the bucket holds
 * 5 packets' worth, a new source starts full minus this packet, and credit
 * accrues with elapsed time, so no timer is needed.
 *
 * Invariants:
 * - The table is a chained hash keyed with a random secret, so an attacker
 *   cannot aim many sources at one chain.
 * - Every entry comes from a pool allocated at init: the packet path never
 *   allocates, and when the pool is used up unknown sources are refused (fail
 *   closed, like the kernel) until idle entries are collected.
 * - Collection runs from wg_ratelimiter_allow at most once per second of
 *   now_ns and drops entries idle for longer than a bucket takes to fill (a
 *   second at least); such an entry would have a full bucket again, so
 *   forgetting it changes no decision.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/ratelimiter.h"

enum {
	RL_BUCKETS = 4096,
	RL_KEY_LEN = 9, /* family tag + IPv4 address or IPv6 /64 */
	RL_KEY_V4 = 4,
	RL_KEY_V6 = 6,
};

_Static_assert((RL_BUCKETS & (RL_BUCKETS - 1)) == 0, "bucket count must be a power of two");

#define RL_NS_PER_SEC 1000000000ULL
#define RL_GC_INTERVAL_NS RL_NS_PER_SEC
#define RL_MAX_BURST 1000000ULL

struct wg_rl_entry {
	struct wg_rl_entry *next; /* hash chain, or free list when unused */
	uint64_t last_ns;
	uint64_t tokens; /* nanoseconds of credit, at most token_max_ns */
	uint8_t key[RL_KEY_LEN];
};

int wg_ratelimiter_init(struct wg_ratelimiter *rl)
{
	return wg_ratelimiter_init_rate(rl, WG_RATELIMIT_PACKETS_PER_SECOND, WG_RATELIMIT_BURST,
					WG_RATELIMIT_MAX_ENTRIES);
}

int wg_ratelimiter_init_rate(struct wg_ratelimiter *rl, uint64_t pps, uint64_t burst,
			     size_t max_entries)
{
	memset(rl, 0, sizeof(*rl));
	if (pps == 0 || pps > RL_NS_PER_SEC || burst == 0 || burst > RL_MAX_BURST ||
	    max_entries == 0 || max_entries > (1U << 24))
		return -EINVAL;
	rl->packet_cost_ns = RL_NS_PER_SEC / pps;
	rl->token_max_ns = rl->packet_cost_ns * burst;
	rl->idle_ns = rl->token_max_ns > RL_NS_PER_SEC ? rl->token_max_ns : RL_NS_PER_SEC;
	rl->max_entries = max_entries;
	rl->buckets = calloc(RL_BUCKETS, sizeof(*rl->buckets));
	rl->pool = calloc(max_entries, sizeof(*rl->pool));
	if (!rl->buckets || !rl->pool)
		goto err;
	rl->nbuckets = RL_BUCKETS;
	for (size_t i = max_entries; i-- > 0;) {
		rl->pool[i].next = rl->free_list;
		rl->free_list = &rl->pool[i];
	}
	crypto_random(rl->hash_key, sizeof(rl->hash_key));
	return 0;

err:
	free(rl->buckets);
	free(rl->pool);
	memset(rl, 0, sizeof(*rl));
	return -ENOMEM;
}

void wg_ratelimiter_free(struct wg_ratelimiter *rl)
{
	free(rl->buckets);
	free(rl->pool);
	crypto_wipe(rl->hash_key, sizeof(rl->hash_key));
	memset(rl, 0, sizeof(*rl));
}

static void rl_gc(struct wg_ratelimiter *rl, uint64_t now_ns)
{
	for (size_t i = 0; i < rl->nbuckets; i++) {
		struct wg_rl_entry **pp = &rl->buckets[i];

		while (*pp) {
			struct wg_rl_entry *e = *pp;

			if (now_ns > e->last_ns && now_ns - e->last_ns > rl->idle_ns) {
				*pp = e->next;
				e->next = rl->free_list;
				rl->free_list = e;
				rl->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* The bucket key: IPv4 by address, IPv6 by its /64 (one host usually owns a
 * whole /64), v4-mapped IPv6 as the IPv4 address it is. The port never counts. */
static bool rl_key(const struct sockaddr *src, uint8_t key[RL_KEY_LEN])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;

	memset(key, 0, RL_KEY_LEN);
	switch (src->sa_family) {
	case AF_INET:
		key[0] = RL_KEY_V4;
		memcpy(key + 1, &((const struct sockaddr_in *)src)->sin_addr, 4);
		return true;
	case AF_INET6:
		a = ((const struct sockaddr_in6 *)src)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			key[0] = RL_KEY_V4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = RL_KEY_V6;
			memcpy(key + 1, a, 8);
		}
		return true;
	default:
		return false;
	}
}

static size_t rl_hash(const struct wg_ratelimiter *rl, const uint8_t key[RL_KEY_LEN])
{
	uint8_t h[4];

	crypto_blake2s(h, sizeof(h), rl->hash_key, sizeof(rl->hash_key), key, RL_KEY_LEN);
	return ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24) &
	       (rl->nbuckets - 1);
}

/* The kernel's bucket: credit for the time since the last packet, capped at
 * the burst, then one packet's cost if there is enough. A clock that does not
 * move forward earns nothing. */
static bool rl_spend(const struct wg_ratelimiter *rl, struct wg_rl_entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		uint64_t idle = now_ns - e->last_ns;

		e->tokens = idle >= rl->token_max_ns - e->tokens ? rl->token_max_ns :
								    e->tokens + idle;
		e->last_ns = now_ns;
	}
	if (e->tokens < rl->packet_cost_ns)
		return false;
	e->tokens -= rl->packet_cost_ns;
	return true;
}

bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
{
	uint8_t key[RL_KEY_LEN];
	struct wg_rl_entry *e;
	size_t b;

	if (!rl->buckets || !rl_key(src, key))
		return false;
	if (now_ns < rl->last_gc_ns || now_ns - rl->last_gc_ns >= RL_GC_INTERVAL_NS) {
		rl_gc(rl, now_ns);
		rl->last_gc_ns = now_ns;
	}
	b = rl_hash(rl, key);
	for (e = rl->buckets[b]; e; e = e->next) {
		if (memcmp(e->key, key, sizeof(key)) == 0)
			return rl_spend(rl, e, now_ns);
	}
	e = rl->free_list;
	if (!e)
		return false; /* table full: fail closed */
	rl->free_list = e->next;
	memcpy(e->key, key, sizeof(key));
	e->last_ns = now_ns;
	e->tokens = rl->token_max_ns - rl->packet_cost_ns; /* this packet is the first spent */
	e->next = rl->buckets[b];
	rl->buckets[b] = e;
	rl->count++;
	return true;
}
