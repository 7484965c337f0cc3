/*
 * test_ratelimiter: the per-source token bucket on an explicit clock: burst of
 * five, refill at twenty per second, sources keyed as the kernel keys them,
 * the bounded table failing closed, and idle entries being collected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_sources_are_independent),
		cmocka_unit_test(test_ipv6_keyed_by_64),
		cmocka_unit_test(test_v4_mapped_is_v4),
		cmocka_unit_test(test_bad_family_refused),
		cmocka_unit_test(test_full_table_fails_closed_then_gc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
