/*
 * ctl_limit: token buckets for the control core's limits (docs/CONTROL.md
 * "Limits"): messages per session, registrations per source address, signal
 * bytes per recipient. Pure logic on the monotonic clock the caller passes,
 * so the decisions are tested from a table (tests/unit/control/test_limit.c).
 * Header-only: a few lines each, on the message path.
 *
 * A bucket holds credit in nanoseconds of refill time, as the session limit
 * always did: one unit costs period / rate, the bucket holds burst units'
 * worth, and credit grows by the time that passed. A bucket never used
 * (last_ns 0) is full.
 */
#ifndef LR_CONTROL_CTL_LIMIT_H
#define LR_CONTROL_CTL_LIMIT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct ctl_rate {
	uint64_t unit_ns; /* refill time of one unit */
	uint64_t max_ns;  /* capacity: burst units */
};

struct ctl_bucket {
	uint64_t credit_ns;
	uint64_t last_ns;
};

/* rate units per period_ns, up to burst units at once. -EINVAL when rate or
 * burst is 0, rate exceeds one unit per nanosecond or the capacity would
 * overflow. */
static inline int ctl_rate_init(struct ctl_rate *r, uint64_t rate, uint64_t period_ns,
				uint64_t burst)
{
	if (!rate || !burst || period_ns < rate)
		return -EINVAL;
	r->unit_ns = period_ns / rate;
	if (burst > UINT64_MAX / 2 / r->unit_ns)
		return -EINVAL;
	r->max_ns = r->unit_ns * burst;
	return 0;
}

static inline uint64_t ctl_bucket_level(const struct ctl_bucket *b, const struct ctl_rate *r,
					uint64_t now_ns)
{
	uint64_t credit = b->credit_ns < r->max_ns ? b->credit_ns : r->max_ns, el;

	if (!b->last_ns)
		return r->max_ns;
	el = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	return el >= r->max_ns - credit ? r->max_ns : credit + el;
}

/* Takes units when the bucket holds them (true), else takes nothing (false).
 * More units than the burst are never granted. */
static inline bool ctl_bucket_take(struct ctl_bucket *b, const struct ctl_rate *r,
				   uint64_t units, uint64_t now_ns)
{
	uint64_t level = ctl_bucket_level(b, r, now_ns);
	uint64_t cost = units > r->max_ns / r->unit_ns ? UINT64_MAX : units * r->unit_ns;

	b->credit_ns = level;
	if (now_ns > b->last_ns) /* never back: a clock step gives no credit */
		b->last_ns = now_ns;
	else if (!b->last_ns)
		b->last_ns = 1;
	if (level < cost)
		return false;
	b->credit_ns = level - cost;
	return true;
}

/* True when the bucket would be full at now_ns (forgetting it loses nothing). */
static inline bool ctl_bucket_full(const struct ctl_bucket *b, const struct ctl_rate *r,
				   uint64_t now_ns)
{
	return ctl_bucket_level(b, r, now_ns) >= r->max_ns;
}

#endif
