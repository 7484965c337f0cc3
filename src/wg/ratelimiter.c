/*
 * ratelimiter: per-source token buckets for handshake messages under load,
 * with the kernel's parameters. Tokens are kept in nanoseconds of credit:
 * a packet costs 1 s / 20, the bucket holds 5 packets' worth, and credit
 * accrues with elapsed time, so no timer is needed.
 *
 * The table is a chained hash keyed with a random secret (an attacker cannot
 * aim many sources at one chain) and bounded: when full, unknown sources are
 * refused (fail closed) until idle entries are collected.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/ratelimiter.h"

enum { RL_BUCKETS = 4096 };

#define RL_NS_PER_SEC 1000000000ULL
#define RL_PACKET_COST (RL_NS_PER_SEC / WG_RATELIMIT_PACKETS_PER_SECOND)
#define RL_TOKEN_MAX (RL_PACKET_COST * WG_RATELIMIT_BURST)
/* Entries idle this long hold a full bucket anyway, so forgetting them is free. */
#define RL_IDLE_NS RL_NS_PER_SEC
#define RL_GC_INTERVAL_NS RL_NS_PER_SEC

struct wg_rl_entry {
	struct wg_rl_entry *next;
	uint64_t last_ns;
	uint64_t tokens;
	uint8_t key[9]; /* family tag + IPv4 address or IPv6 /64 */
};

int wg_ratelimiter_init(struct wg_ratelimiter *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->buckets = calloc(RL_BUCKETS, sizeof(*rl->buckets));
	if (!rl->buckets)
		return -ENOMEM;
	rl->nbuckets = RL_BUCKETS;
	crypto_random(rl->hash_key, sizeof(rl->hash_key));
	return 0;
}

static void rl_drop_if(struct wg_ratelimiter *rl, uint64_t now_ns, bool all)
{
	for (size_t i = 0; i < rl->nbuckets; i++) {
		struct wg_rl_entry **pp = &rl->buckets[i];

		while (*pp) {
			struct wg_rl_entry *e = *pp;

			if (all || (now_ns > e->last_ns && now_ns - e->last_ns > RL_IDLE_NS)) {
				*pp = e->next;
				free(e);
				rl->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void wg_ratelimiter_free(struct wg_ratelimiter *rl)
{
	if (!rl->buckets)
		return;
	rl_drop_if(rl, 0, true);
	free(rl->buckets);
	crypto_wipe(rl->hash_key, sizeof(rl->hash_key));
	memset(rl, 0, sizeof(*rl));
}

/* The bucket key: IPv4 by address, IPv6 by its /64 (one host usually owns a
 * whole /64), v4-mapped IPv6 as the IPv4 address it is. */
static bool rl_key(const struct sockaddr *src, uint8_t key[9])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, 9);
	if (src->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)src)->sin_addr, 4);
		return true;
	}
	if (src->sa_family != AF_INET6)
		return false;
	const uint8_t *a = ((const struct sockaddr_in6 *)src)->sin6_addr.s6_addr;

	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, a, 8);
	}
	return true;
}

static size_t rl_hash(const struct wg_ratelimiter *rl, const uint8_t key[9])
{
	uint8_t h[4];

	crypto_blake2s(h, sizeof(h), rl->hash_key, sizeof(rl->hash_key), key, 9);
	return ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24) %
	       rl->nbuckets;
}

static bool rl_spend(struct wg_rl_entry *e, uint64_t now_ns)
{
	uint64_t tokens = e->tokens + (now_ns > e->last_ns ? now_ns - e->last_ns : 0);

	e->tokens = tokens > RL_TOKEN_MAX ? RL_TOKEN_MAX : tokens;
	e->last_ns = now_ns;
	if (e->tokens < RL_PACKET_COST)
		return false;
	e->tokens -= RL_PACKET_COST;
	return true;
}

bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
{
	uint8_t key[9];

	if (!rl->buckets || !rl_key(src, key))
		return false;
	if (now_ns - rl->last_gc_ns >= RL_GC_INTERVAL_NS) {
		rl_drop_if(rl, now_ns, false);
		rl->last_gc_ns = now_ns;
	}
	size_t b = rl_hash(rl, key);

	for (struct wg_rl_entry *e = rl->buckets[b]; e; e = e->next) {
		if (memcmp(e->key, key, sizeof(key)) == 0)
			return rl_spend(e, now_ns);
	}
	if (rl->count >= WG_RATELIMIT_MAX_ENTRIES)
		return false;
	struct wg_rl_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return false;
	memcpy(e->key, key, sizeof(key));
	e->last_ns = now_ns;
	e->tokens = RL_TOKEN_MAX - RL_PACKET_COST; /* this packet is the first spent */
	e->next = rl->buckets[b];
	rl->buckets[b] = e;
	rl->count++;
	return true;
}
