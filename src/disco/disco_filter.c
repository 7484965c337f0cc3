/* disco_filter: see disco_filter.h. */
#include <string.h>

#include "disco/disco_filter.h"

bool disco_bucket_take(struct disco_bucket *b, double rate, double burst, uint64_t now_ms)
{
	if (!b->used) {
		b->used = true;
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

void disco_filter_init(struct disco_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* FNV-1a, 64-bit: not a secret-keyed hash, so a member could craft two
 * datagrams that collide; the worst outcome is one suppressed announcement. */
static uint64_t disco_fnv(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t disco_filter_key(uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *payload,
			  size_t len)
{
	uint8_t hdr[8];
	uint64_t h = 0xcbf29ce484222325ULL;

	memcpy(hdr, &src, 4);
	hdr[4] = (uint8_t)(sport >> 8);
	hdr[5] = (uint8_t)sport;
	hdr[6] = (uint8_t)(dport >> 8);
	hdr[7] = (uint8_t)dport;
	h = disco_fnv(h, hdr, sizeof(hdr));
	return disco_fnv(h, payload, len);
}

static size_t disco_filter_slot(uint64_t key)
{
	return (size_t)(key ^ key >> 32) & (DISCO_DEDUP_SLOTS - 1);
}

static bool disco_filter_dup(const struct disco_filter *f, uint64_t key, uint64_t now_ms)
{
	size_t slot = disco_filter_slot(key);

	return f->seen[slot].key == key && f->seen[slot].at_ms &&
	       now_ms - f->seen[slot].at_ms < DISCO_DEDUP_MS;
}

/* Only what is sent on is remembered: the repeat of a datagram the rate
 * limit refused is not a duplicate of anything the members got. */
static void disco_filter_remember(struct disco_filter *f, uint64_t key, uint64_t now_ms)
{
	size_t slot = disco_filter_slot(key);

	f->seen[slot].key = key;
	f->seen[slot].at_ms = now_ms ? now_ms : 1;
}

/* The source's bucket: its slot if tracked, else the least recently used. */
static struct disco_bucket *disco_filter_source(struct disco_filter *f, uint64_t src_key)
{
	size_t oldest = 0;

	for (size_t i = 0; i < DISCO_SOURCES; i++) {
		if (f->src[i].b.used && f->src[i].key == src_key)
			return &f->src[i].b;
		if (!f->src[i].b.used || (f->src[oldest].b.used &&
					  f->src[i].b.last_ms < f->src[oldest].b.last_ms))
			oldest = i;
	}
	memset(&f->src[oldest], 0, sizeof(f->src[oldest]));
	f->src[oldest].key = src_key;
	return &f->src[oldest].b;
}

enum disco_filter_result disco_filter_check(struct disco_filter *f, uint64_t key,
					    uint64_t src_key, uint64_t now_ms)
{
	if (disco_filter_dup(f, key, now_ms))
		return DISCO_DUPLICATE;
	if (!disco_bucket_take(disco_filter_source(f, src_key), DISCO_SRC_RATE, DISCO_SRC_BURST,
			       now_ms))
		return DISCO_RATE_LIMITED;
	if (!disco_bucket_take(&f->global, DISCO_GLOBAL_RATE, DISCO_GLOBAL_BURST, now_ms))
		return DISCO_RATE_LIMITED;
	disco_filter_remember(f, key, now_ms);
	return DISCO_PASS;
}
