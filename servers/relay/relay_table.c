/*
 * relay_table: bindings by key and by address (see relay_table.h). Chains
 * hold pool indexes (+1) rather than pointers so the two links of an entry
 * stay small; the bucket count is the next power of two of twice the pool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "relay_table.h"

#define TABLE_MAX (1U << 24)

int relay_table_init(struct relay_table *t, uint32_t cap)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > TABLE_MAX)
		return -EINVAL;
	t->nbuckets = 1;
	while (t->nbuckets < 2 * cap)
		t->nbuckets <<= 1;
	t->pool = calloc(cap, sizeof(*t->pool));
	t->by_key = calloc(t->nbuckets, sizeof(*t->by_key));
	t->by_addr = calloc(t->nbuckets, sizeof(*t->by_addr));
	t->ips = calloc(cap, sizeof(*t->ips));
	t->by_ip = calloc(t->nbuckets, sizeof(*t->by_ip));
	if (!t->pool || !t->by_key || !t->by_addr || !t->ips || !t->by_ip) {
		relay_table_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	for (i = cap; i-- > 0;) {
		t->pool[i].next_key = t->free_head;
		t->free_head = i + 1;
		t->ips[i].next = t->ip_free;
		t->ip_free = i + 1;
	}
	crypto_random(t->hash_key, sizeof(t->hash_key));
	return 0;
}

void relay_table_free(struct relay_table *t)
{
	free(t->pool);
	free(t->by_key);
	free(t->by_addr);
	free(t->ips);
	free(t->by_ip);
	crypto_wipe(t->hash_key, sizeof(t->hash_key));
	memset(t, 0, sizeof(*t));
}

static uint32_t bucket_of(const struct relay_table *t, const uint8_t *in, size_t len)
{
	uint8_t h[4];

	crypto_blake2s(h, sizeof(h), t->hash_key, sizeof(t->hash_key), in, len);
	return ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		(uint32_t)h[3] << 24) & (t->nbuckets - 1);
}

/* Family, port and address: what wg_endpoint_equal compares (bar the v6 scope,
 * which only narrows a chain). */
static uint32_t addr_bucket(const struct relay_table *t, const struct wg_endpoint *a)
{
	uint8_t k[19] = { 0 };

	if (a->sa.sa_family == AF_INET) {
		k[0] = 4;
		memcpy(k + 1, &a->in4.sin_port, 2);
		memcpy(k + 3, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		k[0] = 6;
		memcpy(k + 1, &a->in6.sin6_port, 2);
		memcpy(k + 3, &a->in6.sin6_addr, 16);
	}
	return bucket_of(t, k, sizeof(k));
}

struct relay_binding *relay_table_find_key(const struct relay_table *t, const uint8_t key[32])
{
	uint32_t i;

	if (!t->count)
		return NULL;
	for (i = t->by_key[bucket_of(t, key, 32)]; i; i = t->pool[i - 1].next_key)
		if (!memcmp(t->pool[i - 1].key, key, 32))
			return &t->pool[i - 1];
	return NULL;
}

struct relay_binding *relay_table_find_addr(const struct relay_table *t,
					    const struct wg_endpoint *addr)
{
	uint32_t i;

	if (!t->count)
		return NULL;
	for (i = t->by_addr[addr_bucket(t, addr)]; i; i = t->pool[i - 1].next_addr)
		if (wg_endpoint_equal(&t->pool[i - 1].addr, addr))
			return &t->pool[i - 1];
	return NULL;
}

static uint32_t index_of(const struct relay_table *t, const struct relay_binding *b)
{
	return (uint32_t)(b - t->pool) + 1;
}

/* Unlinks entry idx from the chain starting at *head, following the key or
 * the address links. */
static void unlink_from(struct relay_table *t, uint32_t *head, uint32_t idx, bool by_key)
{
	uint32_t *pp = head;

	while (*pp && *pp != idx)
		pp = by_key ? &t->pool[*pp - 1].next_key : &t->pool[*pp - 1].next_addr;
	if (*pp)
		*pp = by_key ? t->pool[idx - 1].next_key : t->pool[idx - 1].next_addr;
}

static void link_addr(struct relay_table *t, struct relay_binding *b)
{
	uint32_t *head = &t->by_addr[addr_bucket(t, &b->addr)];

	b->next_addr = *head;
	*head = index_of(t, b);
}

struct relay_binding *relay_table_add(struct relay_table *t, const uint8_t key[32],
				      const struct wg_endpoint *addr)
{
	struct relay_binding *b;
	uint32_t *head;

	if (!t->free_head)
		return NULL;
	b = &t->pool[t->free_head - 1];
	t->free_head = b->next_key;
	memset(b, 0, sizeof(*b));
	memcpy(b->key, key, 32);
	b->addr = *addr;
	b->used = true;
	head = &t->by_key[bucket_of(t, key, 32)];
	b->next_key = *head;
	*head = index_of(t, b);
	link_addr(t, b);
	t->count++;
	return b;
}

void relay_table_move(struct relay_table *t, struct relay_binding *b,
		      const struct wg_endpoint *addr)
{
	unlink_from(t, &t->by_addr[addr_bucket(t, &b->addr)], index_of(t, b), false);
	b->addr = *addr;
	link_addr(t, b);
}

void relay_table_remove(struct relay_table *t, struct relay_binding *b)
{
	uint32_t idx = index_of(t, b);

	unlink_from(t, &t->by_key[bucket_of(t, b->key, 32)], idx, true);
	unlink_from(t, &t->by_addr[addr_bucket(t, &b->addr)], idx, false);
	memset(b, 0, sizeof(*b));
	b->next_key = t->free_head;
	t->free_head = idx;
	t->count--;
}

/* The per-IP key: IPv4 by address, IPv6 by /64, v4-mapped IPv6 as IPv4 (the
 * WireGuard ratelimiter's grouping). */
static void ip_key(const struct wg_endpoint *a, uint8_t k[9])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *p;

	memset(k, 0, 9);
	if (a->sa.sa_family == AF_INET) {
		k[0] = 4;
		memcpy(k + 1, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		p = a->in6.sin6_addr.s6_addr;
		if (!memcmp(p, v4mapped, sizeof(v4mapped))) {
			k[0] = 4;
			memcpy(k + 1, p + 12, 4);
		} else {
			k[0] = 6;
			memcpy(k + 1, p, 8);
		}
	}
}

bool relay_table_same_ip(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	uint8_t ka[9], kb[9];

	ip_key(a, ka);
	ip_key(b, kb);
	return !memcmp(ka, kb, 9);
}

static uint32_t *ip_find(const struct relay_table *t, const uint8_t k[9], uint32_t **head)
{
	uint32_t *pp;

	*head = &t->by_ip[bucket_of(t, k, 9)];
	for (pp = *head; *pp; pp = &t->ips[*pp - 1].next)
		if (!memcmp(t->ips[*pp - 1].ip, k, 9))
			return pp;
	return NULL;
}

uint32_t relay_table_ip_count(const struct relay_table *t, const struct wg_endpoint *addr)
{
	uint32_t *head, *pp;
	uint8_t k[9];

	if (!t->by_ip)
		return 0;
	ip_key(addr, k);
	pp = ip_find(t, k, &head);
	return pp ? t->ips[*pp - 1].count : 0;
}

void relay_table_ip_adjust(struct relay_table *t, const struct wg_endpoint *addr, int delta)
{
	struct relay_ipcount *e;
	uint32_t *head, *pp, idx;
	uint8_t k[9];

	ip_key(addr, k);
	pp = ip_find(t, k, &head);
	if (!pp) {
		if (delta < 0 || !t->ip_free)
			return; /* not counted, or more than cap counted: a caller bug */
		idx = t->ip_free;
		e = &t->ips[idx - 1];
		t->ip_free = e->next;
		memcpy(e->ip, k, 9);
		e->count = 0;
		e->next = *head;
		*head = idx;
		pp = head;
	}
	idx = *pp;
	e = &t->ips[idx - 1];
	if (delta > 0) {
		e->count++;
		return;
	}
	if (--e->count)
		return;
	*pp = e->next;
	e->next = t->ip_free;
	t->ip_free = idx;
}
