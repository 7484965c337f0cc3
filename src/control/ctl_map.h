/*
 * ctl_map: a chained hash map from byte-string keys to pointers, for the
 * control core's indexes (peers by ID and by public key, parties by ID,
 * addresses in use per party). Keys are copied into the map; values are
 * borrowed. Buckets are hashed with keyed BLAKE2s under a random per-map key,
 * so clients choosing keys (public keys, IDs) cannot aim them at one chain.
 */
#ifndef LR_CONTROL_CTL_MAP_H
#define LR_CONTROL_CTL_MAP_H

#include <stddef.h>
#include <stdint.h>

struct ctl_map_entry;

struct ctl_map {
	struct ctl_map_entry **buckets;
	size_t nbuckets; /* a power of two, or 0 before the first insert */
	size_t count;
	uint8_t hash_key[16];
};

void ctl_map_init(struct ctl_map *m);
/* Frees the entries (not the values). */
void ctl_map_free(struct ctl_map *m);
void *ctl_map_get(const struct ctl_map *m, const void *key, size_t klen);
/* Inserts or replaces. 0 or -ENOMEM (the map is then unchanged). */
int ctl_map_put(struct ctl_map *m, const void *key, size_t klen, void *val);
/* Returns the value removed, or NULL. */
void *ctl_map_del(struct ctl_map *m, const void *key, size_t klen);
static inline size_t ctl_map_count(const struct ctl_map *m)
{
	return m->count;
}

/* Iteration that tolerates deleting the current entry:
 *   struct ctl_map_iter it; void *v;
 *   ctl_map_iter_init(&it, m); while ((v = ctl_map_next(&it))) ... */
struct ctl_map_iter {
	const struct ctl_map *m;
	size_t bucket;
	struct ctl_map_entry *next;
};
void ctl_map_iter_init(struct ctl_map_iter *it, const struct ctl_map *m);
void *ctl_map_next(struct ctl_map_iter *it);

#endif
