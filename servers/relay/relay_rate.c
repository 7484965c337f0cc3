/*
 * relay_rate: token buckets for forwarded frames (see relay_rate.h). A frame
 * is either charged to both buckets or to none, so a frame refused for bytes
 * does not use up packet credit.
 */
#include "relay_rate.h"

#define NS_PER_SEC 1000000000ULL

void relay_bucket_init(struct relay_bucket *b, uint64_t rate, uint64_t now_ns)
{
	b->credit = rate * NS_PER_SEC;
	b->last_ns = now_ns;
}

static void refill(struct relay_bucket *b, uint64_t rate, uint64_t now_ns)
{
	uint64_t max = rate * NS_PER_SEC, idle;

	if (now_ns <= b->last_ns)
		return;
	idle = now_ns - b->last_ns;
	b->last_ns = now_ns;
	/* One second of idle time already fills any bucket: cap it so
	 * idle * rate cannot overflow. */
	if (idle >= NS_PER_SEC || idle * rate >= max - b->credit)
		b->credit = max;
	else
		b->credit += idle * rate;
}

bool relay_rate_take(struct relay_bucket *pkts, struct relay_bucket *bytes, uint64_t rate_pps,
		     uint64_t rate_bytes, uint64_t len, uint64_t now_ns)
{
	refill(pkts, rate_pps, now_ns);
	refill(bytes, rate_bytes, now_ns);
	if (pkts->credit < NS_PER_SEC || bytes->credit < len * NS_PER_SEC)
		return false;
	pkts->credit -= NS_PER_SEC;
	bytes->credit -= len * NS_PER_SEC;
	return true;
}

bool relay_bucket_take(struct relay_bucket *b, uint64_t rate, uint64_t now_ns)
{
	refill(b, rate, now_ns);
	if (b->credit < NS_PER_SEC)
		return false;
	b->credit -= NS_PER_SEC;
	return true;
}
