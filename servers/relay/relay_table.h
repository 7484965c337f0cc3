/*
 * relay_table: the relay's bindings, one per WireGuard public key, findable
 * by key and by the UDP address the key is bound to. Both indexes are chained
 * hash tables keyed with a random secret (an attacker can make keys and
 * ports, not aim them at one chain); entries come from a pool allocated at
 * init, so binding and forwarding never allocate.
 *
 * It also counts bindings per source IP (IPv4 address, IPv6 /64) for the
 * per-IP cap; the caller says which bindings count (relay_core counts the
 * live ones) through relay_table_ip_adjust.
 *
 * Invariants: every used entry is in both chains; no two used entries share
 * a key or an address; an IP has a count entry only while its count is above
 * zero, so cap entries always suffice. Single-threaded: owned by the relay's
 * loop.
 */
#ifndef LR_RELAY_TABLE_H
#define LR_RELAY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_rate.h"
#include "wg/wg.h"

struct relay_binding {
	uint8_t key[32];
	struct wg_endpoint addr;
	uint64_t last_ns; /* last frame from addr (monotonic) */
	uint64_t last_bind_ms; /* timestamp of the last BIND accepted for key */
	uint64_t last_unreachable_ns; /* last UNREACHABLE sent to addr */
	struct relay_bucket pkts, bytes; /* what it sends */
	struct relay_bucket rx_pkts, rx_bytes; /* what is delivered to it */
	uint32_t next_key, next_addr; /* chain links: pool index + 1, 0 ends */
	bool used;
	bool dormant; /* expired, kept only for its last_bind_ms (relay_core) */
};

/* Live bindings of one source IP (relay_table_ip_adjust). */
struct relay_ipcount {
	uint8_t ip[9]; /* family tag, IPv4 address or IPv6 /64 */
	uint32_t count;
	uint32_t next; /* chain, or free list: index + 1 */
};

struct relay_table {
	struct relay_binding *pool;
	uint32_t cap, count;
	uint32_t *by_key, *by_addr; /* chain heads: pool index + 1, 0 empty */
	uint32_t nbuckets; /* power of two */
	uint32_t free_head; /* free entries chained through next_key */
	uint8_t hash_key[16];
	struct relay_ipcount *ips; /* cap entries */
	uint32_t *by_ip; /* chain heads: ips index + 1 */
	uint32_t ip_free;
};


/* 0, -EINVAL (cap 0 or too large) or -ENOMEM. */
int relay_table_init(struct relay_table *t, uint32_t cap);
void relay_table_free(struct relay_table *t);

struct relay_binding *relay_table_find_key(const struct relay_table *t, const uint8_t key[32]);
struct relay_binding *relay_table_find_addr(const struct relay_table *t,
					    const struct wg_endpoint *addr);
/* A new entry (zeroed apart from key and addr), or NULL when the pool is used
 * up. The caller makes sure neither key nor addr is bound already. */
struct relay_binding *relay_table_add(struct relay_table *t, const uint8_t key[32],
				      const struct wg_endpoint *addr);
/* Moves b to a new address that no other entry holds. */
void relay_table_move(struct relay_table *t, struct relay_binding *b,
		      const struct wg_endpoint *addr);
void relay_table_remove(struct relay_table *t, struct relay_binding *b);

/* True when a and b are one source IP for the per-IP counts. */
bool relay_table_same_ip(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* Bindings counted for addr's IP. */
uint32_t relay_table_ip_count(const struct relay_table *t, const struct wg_endpoint *addr);
/* Counts one more (delta 1) or one fewer (-1) binding for addr's IP. The
 * caller never counts more than cap bindings at once. */
void relay_table_ip_adjust(struct relay_table *t, const struct wg_endpoint *addr, int delta);

#endif
