/*
 * test_bucket: the token buckets behind the control core's limits
 * (control/ctl_limit.h), driven from a table of (time, units) -> verdict,
 * the way the kernel's ratelimiter selftest is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/ctl_limit.h"

#define MS 1000000ULL
#define S 1000000000ULL

struct step {
	uint64_t at_ns; /* since the start */
	uint64_t units;
	bool ok;
};

/* 10 units/s, burst 5: the burst goes at once, then one per 100 ms. */
static const struct step steps_per_second[] = {
	{ 0, 1, true },	      { 0, 1, true },	    { 0, 1, true },	   { 0, 1, true },
	{ 0, 1, true },	      { 0, 1, false },	    { 50 * MS, 1, false }, { 100 * MS, 1, true },
	{ 100 * MS, 1, false }, { 300 * MS, 2, true }, { 300 * MS, 1, false },
	/* A long pause refills to the burst, never beyond. */
	{ 60 * S, 5, true },  { 60 * S, 1, false }, { 120 * S, 6, false }, { 120 * S, 5, true },
};

/* Bytes: 1024/s, burst 4096; a cost larger than the burst never passes. */
static const struct step steps_bytes[] = {
	{ 0, 4096, true }, { 0, 1, false },	 { 1 * S, 1024, true }, { 1 * S, 1, false },
	{ 9 * S, 4097, false }, { 9 * S, 4096, true },
};

static void run(const struct step *st, size_t n, uint64_t rate, uint64_t period,
		uint64_t burst)
{
	struct ctl_rate r;
	struct ctl_bucket b = { 0 };
	const uint64_t base = 1000 * S;

	assert_int_equal(ctl_rate_init(&r, rate, period, burst), 0);
	for (size_t i = 0; i < n; i++) {
		bool ok = ctl_bucket_take(&b, &r, st[i].units, base + st[i].at_ns);

		if (ok != st[i].ok)
			fail_msg("step %zu: at %llu ns, %llu units: got %d", i,
				 (unsigned long long)st[i].at_ns, (unsigned long long)st[i].units,
				 ok);
	}
}

static void test_bucket_per_second(void **state)
{
	run(steps_per_second, sizeof(steps_per_second) / sizeof(steps_per_second[0]), 10, S, 5);
}

static void test_bucket_bytes(void **state)
{
	run(steps_bytes, sizeof(steps_bytes) / sizeof(steps_bytes[0]), 1024, S, 4096);
}

/* Per minute: 60/min refills one a second. */
static void test_bucket_per_minute(void **state)
{
	struct ctl_rate r;
	struct ctl_bucket b = { 0 };
	uint64_t t = 5000 * S;

	assert_int_equal(ctl_rate_init(&r, 60, 60 * S, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_true(ctl_bucket_take(&b, &r, 1, t));
	assert_false(ctl_bucket_take(&b, &r, 1, t));
	assert_false(ctl_bucket_full(&b, &r, t + 2 * S));
	assert_true(ctl_bucket_take(&b, &r, 1, t + 1 * S));
	assert_true(ctl_bucket_full(&b, &r, t + 4 * S));
}

static void test_bucket_fresh_is_full(void **state)
{
	struct ctl_rate r;
	struct ctl_bucket b = { 0 };

	assert_int_equal(ctl_rate_init(&r, 1, S, 2), 0);
	assert_true(ctl_bucket_full(&b, &r, 1));
	/* A clock that goes back gives no credit and takes none away. */
	assert_true(ctl_bucket_take(&b, &r, 2, 10 * S));
	assert_false(ctl_bucket_take(&b, &r, 1, 5 * S));
	assert_true(ctl_bucket_take(&b, &r, 1, 11 * S));
}

static void test_rate_init_refuses(void **state)
{
	struct ctl_rate r;

	assert_int_equal(ctl_rate_init(&r, 0, S, 1), -EINVAL);
	assert_int_equal(ctl_rate_init(&r, 1, S, 0), -EINVAL);
	assert_int_equal(ctl_rate_init(&r, 2 * S, S, 1), -EINVAL);
	assert_int_equal(ctl_rate_init(&r, 1, 3600 * S, UINT64_MAX / 2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_per_second), cmocka_unit_test(test_bucket_bytes),
		cmocka_unit_test(test_bucket_per_minute), cmocka_unit_test(test_bucket_fresh_is_full),
		cmocka_unit_test(test_rate_init_refuses),
	};

	return cmocka_run_group_tests_name("ctl_bucket", tests, NULL, NULL);
}
