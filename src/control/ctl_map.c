/*
 * ctl_map: chained hash map; see ctl_map.h. The table doubles when the load
 * passes one entry per bucket and never shrinks (the control core's maps
 * only grow to the number of peers and parties it serves).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_map.h"
#include "crypto/crypto.h"

struct ctl_map_entry {
	struct ctl_map_entry *next;
	uint64_t hash;
	void *val;
	size_t klen;
	uint8_t key[];
};

enum { CTL_MAP_MIN_BUCKETS = 16 };

void ctl_map_init(struct ctl_map *m)
{
	memset(m, 0, sizeof(*m));
	crypto_random(m->hash_key, sizeof(m->hash_key));
}

void ctl_map_free(struct ctl_map *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct ctl_map_entry *e = m->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

static uint64_t ctl_map_hash(const struct ctl_map *m, const void *key, size_t klen)
{
	uint8_t h[8];
	uint64_t v = 0;

	crypto_blake2s(h, sizeof(h), m->hash_key, sizeof(m->hash_key), key, klen);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return v;
}

static struct ctl_map_entry **ctl_map_slot(const struct ctl_map *m, const void *key, size_t klen,
					   uint64_t hash)
{
	struct ctl_map_entry **pp = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->klen == klen && !memcmp((*pp)->key, key, klen))
			break;
	return pp;
}

void *ctl_map_get(const struct ctl_map *m, const void *key, size_t klen)
{
	struct ctl_map_entry **pp;

	if (!m->count)
		return NULL;
	pp = ctl_map_slot(m, key, klen, ctl_map_hash(m, key, klen));
	return *pp ? (*pp)->val : NULL;
}

static int ctl_map_grow(struct ctl_map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : CTL_MAP_MIN_BUCKETS;
	struct ctl_map_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct ctl_map_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int ctl_map_put(struct ctl_map *m, const void *key, size_t klen, void *val)
{
	uint64_t hash = ctl_map_hash(m, key, klen);
	struct ctl_map_entry **pp, *e;

	if (m->count >= m->nbuckets && ctl_map_grow(m) && !m->nbuckets)
		return -ENOMEM; /* a failed growth of a non-empty table only slows it */
	pp = ctl_map_slot(m, key, klen, hash);
	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	e = malloc(sizeof(*e) + klen);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->hash = hash;
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	*pp = e;
	m->count++;
	return 0;
}

void *ctl_map_del(struct ctl_map *m, const void *key, size_t klen)
{
	struct ctl_map_entry **pp, *e;
	void *val;

	if (!m->count)
		return NULL;
	pp = ctl_map_slot(m, key, klen, ctl_map_hash(m, key, klen));
	e = *pp;
	if (!e)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

void ctl_map_iter_init(struct ctl_map_iter *it, const struct ctl_map *m)
{
	it->m = m;
	it->bucket = 0;
	it->next = NULL;
}

void *ctl_map_next(struct ctl_map_iter *it)
{
	struct ctl_map_entry *e = it->next;

	while (!e) {
		if (it->bucket >= it->m->nbuckets)
			return NULL;
		e = it->m->buckets[it->bucket++];
	}
	it->next = e->next;
	return e->val;
}
