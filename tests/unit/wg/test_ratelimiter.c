/*
 * test_ratelimiter: the per-source token bucket on an explicit clock: burst of
 * five, refill at twenty per second, sources keyed as the kernel keys them,
 * the bounded table failing closed, idle entries being collected at most once
 * a second, and a clock that stands still or steps back earning no credit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "wg/ratelimiter.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	a->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	return ss;
}

static bool allow(struct wg_ratelimiter *rl, struct sockaddr_storage ss, uint64_t now)
{
	return wg_ratelimiter_allow(rl, (struct sockaddr *)&ss, now);
}

/* How many of n packets at time now pass. */
static int passes(struct wg_ratelimiter *rl, struct sockaddr_storage ss, uint64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += allow(rl, ss, now);
	return ok;
}

static void test_burst_then_refill(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0, 10), WG_RATELIMIT_BURST);
	/* One packet's worth of credit comes back every 50 ms. */
	assert_false(allow(&rl, v4("192.0.2.1"), T0 + 49 * 1000000ULL));
	assert_true(allow(&rl, v4("192.0.2.1"), T0 + 99 * 1000000ULL));
	assert_false(allow(&rl, v4("192.0.2.1"), T0 + 99 * 1000000ULL));
	/* A steady 20/s is sustained over ten seconds, 40/s is cut to about 20/s. */
	int ok = 0;

	for (int i = 1; i <= 400; i++)
		ok += allow(&rl, v4("192.0.2.1"), T0 + SEC + (uint64_t)i * (SEC / 40));
	assert_in_range(ok, 200, 206);
	/* After a long pause the burst is back, but never more than the burst. */
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0 + 60 * SEC, 10), WG_RATELIMIT_BURST);
	wg_ratelimiter_free(&rl);
}

static void test_sources_are_independent(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0, 10), 5);
	assert_int_equal(passes(&rl, v4("192.0.2.2"), T0, 10), 5);
	/* The port does not matter: the key is the address. */
	struct sockaddr_storage p = v4("192.0.2.3");

	((struct sockaddr_in *)&p)->sin_port = htons(1);
	assert_int_equal(passes(&rl, p, T0, 3), 3);
	((struct sockaddr_in *)&p)->sin_port = htons(2);
	assert_int_equal(passes(&rl, p, T0, 3), 2);
	wg_ratelimiter_free(&rl);
}

static void test_ipv6_keyed_by_64(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_int_equal(passes(&rl, v6("2001:db8:1:2::1"), T0, 3), 3);
	assert_int_equal(passes(&rl, v6("2001:db8:1:2:ffff::9"), T0, 3), 2);
	assert_int_equal(passes(&rl, v6("2001:db8:1:3::1"), T0, 10), 5);
	wg_ratelimiter_free(&rl);
}

static void test_v4_mapped_is_v4(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_int_equal(passes(&rl, v4("198.51.100.7"), T0, 3), 3);
	assert_int_equal(passes(&rl, v6("::ffff:198.51.100.7"), T0, 5), 2);
	/* ...and the mapped form of another address is not lumped with it. */
	assert_int_equal(passes(&rl, v6("::ffff:198.51.100.8"), T0, 5), 5);
	wg_ratelimiter_free(&rl);
}

static void test_bad_family_refused(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;
	struct sockaddr_storage ss = { 0 };

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	ss.ss_family = AF_UNIX;
	assert_false(allow(&rl, ss, T0));
	wg_ratelimiter_free(&rl);
}

static struct sockaddr_storage nth_source(uint32_t i)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(0x0a000000u + i);
	return ss;
}

static void test_full_table_fails_closed_then_gc(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	for (uint32_t i = 0; i < WG_RATELIMIT_MAX_ENTRIES; i++)
		assert_true(allow(&rl, nth_source(i), T0));
	/* Full: a new source is refused, a known one still has its bucket. */
	assert_false(allow(&rl, nth_source(WG_RATELIMIT_MAX_ENTRIES), T0 + 1));
	assert_true(allow(&rl, nth_source(7), T0 + 2));
	/* Half a second later nothing is idle long enough to collect. */
	assert_false(allow(&rl, nth_source(WG_RATELIMIT_MAX_ENTRIES), T0 + SEC / 2));
	/* Keep one source busy; after two seconds the rest are collected. */
	assert_true(allow(&rl, nth_source(7), T0 + SEC + SEC / 2));
	assert_true(allow(&rl, nth_source(WG_RATELIMIT_MAX_ENTRIES), T0 + 2 * SEC + 1));
	assert_true(allow(&rl, nth_source(WG_RATELIMIT_MAX_ENTRIES + 1), T0 + 2 * SEC + 2));
	/* Only the busy source and the two new ones are left. */
	assert_int_equal(rl.count, 3);
	wg_ratelimiter_free(&rl);
}

/* Collection runs at most once per second of now_ns and takes only entries
 * idle for more than a second. */
static void test_gc_once_per_second(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_true(allow(&rl, v4("192.0.2.1"), T0)); /* a run here, on nothing */
	assert_true(allow(&rl, v4("192.0.2.2"), T0 + SEC / 2));
	assert_true(allow(&rl, v4("192.0.2.3"), T0 + SEC - 1));
	/* A run at T0 + 1 s: .1, idle exactly one second, stays (it takes more). */
	assert_true(allow(&rl, v4("192.0.2.4"), T0 + SEC));
	assert_int_equal(rl.count, 4);
	/* .1 is now idle past a second, but the last run was under a second ago. */
	assert_true(allow(&rl, v4("192.0.2.5"), T0 + SEC + SEC / 2));
	assert_true(allow(&rl, v4("192.0.2.6"), T0 + 2 * SEC - 1));
	assert_int_equal(rl.count, 6);
	/* The next run, at T0 + 2 s, takes .1, .2 and .3; .4 is idle exactly 1 s. */
	assert_true(allow(&rl, v4("192.0.2.7"), T0 + 2 * SEC));
	assert_int_equal(rl.count, 4);
	/* A collected source starts again with a fresh bucket. */
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0 + 2 * SEC, 10), WG_RATELIMIT_BURST);
	assert_int_equal(rl.count, 5);
	wg_ratelimiter_free(&rl);
}

static void test_clock_standing_still_or_back(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0, 10), WG_RATELIMIT_BURST);
	assert_int_equal(passes(&rl, v4("192.0.2.1"), T0, 100), 0);
	assert_false(allow(&rl, v4("192.0.2.1"), T0 - SEC));
	assert_false(allow(&rl, v4("192.0.2.1"), T0 + 49 * 1000000ULL));
	assert_true(allow(&rl, v4("192.0.2.1"), T0 + 50 * 1000000ULL));
	assert_false(allow(&rl, v4("192.0.2.1"), T0 + 50 * 1000000ULL));
	/* The entry that saw time step back is not collected as if long idle. */
	assert_int_equal(rl.count, 1);
	wg_ratelimiter_free(&rl);
}

/* The table bound counts IPv6 /64s and IPv4 addresses alike. */
static void test_full_table_mixed_families(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;
	struct sockaddr_storage ss = v6("2001:db8::1");
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	assert_int_equal(wg_ratelimiter_init(&rl), 0);
	for (uint32_t i = 0; i < WG_RATELIMIT_MAX_ENTRIES - 1; i++) {
		uint32_t be = htonl(i);

		memcpy(&a->sin6_addr.s6_addr[4], &be, 4);
		assert_true(allow(&rl, ss, T0));
	}
	assert_true(allow(&rl, v4("192.0.2.1"), T0));
	assert_false(allow(&rl, v4("192.0.2.2"), T0));
	assert_false(allow(&rl, v6("2001:db9::1"), T0));
	/* Another host in a known /64 is that /64's bucket, not a new entry. */
	assert_true(allow(&rl, v6("2001:db8:0:5::77"), T0));
	assert_int_equal(rl.count, WG_RATELIMIT_MAX_ENTRIES);
	wg_ratelimiter_free(&rl);
}

/* free releases everything (ASan checks), leaves a struct that refuses, and a
 * freed limiter can be initialised again. */
static void test_free_and_reinit(void **state)
{
	(void)state;
	struct wg_ratelimiter rl;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(wg_ratelimiter_init(&rl), 0);
		for (uint32_t j = 0; j < 1000; j++)
			assert_true(allow(&rl, nth_source(j), T0));
		wg_ratelimiter_free(&rl);
		assert_false(allow(&rl, v4("192.0.2.1"), T0));
		wg_ratelimiter_free(&rl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_sources_are_independent),
		cmocka_unit_test(test_ipv6_keyed_by_64),
		cmocka_unit_test(test_v4_mapped_is_v4),
		cmocka_unit_test(test_bad_family_refused),
		cmocka_unit_test(test_full_table_fails_closed_then_gc),
		cmocka_unit_test(test_gc_once_per_second),
		cmocka_unit_test(test_clock_standing_still_or_back),
		cmocka_unit_test(test_full_table_mixed_families),
		cmocka_unit_test(test_free_and_reinit),
	};

	if (crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
