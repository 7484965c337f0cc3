/*
 * disco_filter: duplicate suppression and rate limits for captured discovery
 * datagrams. Pure: the caller passes the time; no locks (the engine's thread
 * owns them).
 *
 * Duplicates: a datagram with the same source, ports and payload as one seen
 * less than DISCO_DEDUP_MS ago is a duplicate (a host with two NICs sending
 * the same query on both, or ioquake3's back-to-back pair). A game's repeated
 * announcement (Minecraft every 1.5 s) is older than that and goes through.
 *
 * Rate limits: token buckets per source (address and port) and one for the
 * whole node, so a broadcast storm is cut to a trickle that cannot starve
 * the tunnel.
 */
#ifndef LR_DISCO_DISCO_FILTER_H
#define LR_DISCO_DISCO_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DISCO_DEDUP_MS = 250,
	DISCO_DEDUP_SLOTS = 1024,       /* power of two */
	DISCO_SRC_RATE = 20,            /* datagrams per second per source */
	DISCO_SRC_BURST = 40,
	DISCO_GLOBAL_RATE = 100,        /* datagrams per second for the node */
	DISCO_GLOBAL_BURST = 200,
	DISCO_SOURCES = 256,            /* sources tracked (least recently used go) */
};

struct disco_bucket {
	double tokens;
	uint64_t last_ms;
	bool used;
};

/* Refills at rate per second up to burst, then takes one token if there is
 * one. A new bucket starts full. */
bool disco_bucket_take(struct disco_bucket *b, double rate, double burst, uint64_t now_ms);

struct disco_filter {
	struct {
		uint64_t key;
		uint64_t at_ms;
	} seen[DISCO_DEDUP_SLOTS];
	struct {
		uint64_t key;
		struct disco_bucket b;
	} src[DISCO_SOURCES];
	struct disco_bucket global;
};

enum disco_filter_result {
	DISCO_PASS,
	DISCO_DUPLICATE,
	DISCO_RATE_LIMITED,
};

void disco_filter_init(struct disco_filter *f);
/* 64-bit key of a datagram's identity: what the receiver would see (source
 * port, destination port, payload) plus the source address. */
uint64_t disco_filter_key(uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *payload,
			  size_t len);
/* Duplicate check first (a duplicate costs no tokens), then the source's
 * bucket, then the node's. */
enum disco_filter_result disco_filter_check(struct disco_filter *f, uint64_t key,
					    uint64_t src_key, uint64_t now_ms);

#endif
