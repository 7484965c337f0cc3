/*
 * relay_rate: the per-binding token buckets (packets and bytes). Credit is
 * kept in units of 1e-9 token so any rate up to RELAY_RATE_MAX is exact in
 * integers; a bucket holds one second of its rate (the burst) and accrues
 * credit with elapsed time, so no timer is needed. A clock that does not move
 * forward earns nothing.
 */
#ifndef LR_RELAY_RATE_H
#define LR_RELAY_RATE_H

#include <stdbool.h>
#include <stdint.h>

/* rate * 1e9 must fit in 64 bits. */
#define RELAY_RATE_MAX 10000000000ULL

struct relay_bucket {
	uint64_t credit; /* nano-tokens, at most rate * 1e9 */
	uint64_t last_ns;
};

/* A full bucket. */
void relay_bucket_init(struct relay_bucket *b, uint64_t rate, uint64_t now_ns);

/* Takes one token from b (rate per second, burst one second): true when it
 * had one. */
bool relay_bucket_take(struct relay_bucket *b, uint64_t rate, uint64_t now_ns);

/* Takes one packet of len bytes from both buckets, or nothing: true when both
 * had enough credit. rate_pps and rate_bytes are per second (<= RELAY_RATE_MAX). */
bool relay_rate_take(struct relay_bucket *pkts, struct relay_bucket *bytes, uint64_t rate_pps,
		     uint64_t rate_bytes, uint64_t len, uint64_t now_ns);

#endif
