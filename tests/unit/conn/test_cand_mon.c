/*
 * test_cand_mon: candidate lists (dedup, v4-mapped unmapping, refusals,
 * capacity, LAN classification, local addresses without loopback) and the
 * monitor statistics (RTT EWMA and jitter on fixed clocks, loss over the
 * window, consecutive losses, late and unknown replies ignored). Clocks are
 * plain numbers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conn/conn_internal.h"

#define MSN 1000000ULL

static void test_cand_add(void **state)
{
	struct cand_list l = { .n = 0 };
	struct wg_endpoint ep;

	(void)state;
	assert_int_equal(cand_add_str(&l, "203.0.113.5:51820"), 0);
	assert_int_equal(cand_add_str(&l, "203.0.113.5:51820"), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(cand_add_str(&l, "203.0.113.5:51821"), 0);
	assert_int_equal(cand_add_str(&l, "[::ffff:203.0.113.5]:51821"), 0); /* same, mapped */
	assert_int_equal(l.n, 2);
	assert_int_equal(cand_add_str(&l, "[2001:db8::1]:51820"), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(cand_add_str(&l, "0.0.0.0:51820"), -EINVAL);
	assert_int_equal(cand_add_str(&l, "203.0.113.5:0"), -EINVAL);
	assert_int_equal(cand_add_str(&l, "nonsense"), -EINVAL);
	assert_int_equal(cand_add_str(&l, "[::]:5"), -EINVAL);
	assert_int_equal(l.n, 3);
	for (int i = 0; l.n < CAND_MAX; i++) {
		char s[32];

		snprintf(s, sizeof(s), "198.51.100.1:%d", 1000 + i);
		assert_int_equal(cand_add_str(&l, s), 0);
	}
	assert_int_equal(cand_add_str(&l, "198.51.100.2:1"), -ENOSPC);
	wg_endpoint_parse(&ep, "203.0.113.5:51820");
	assert_int_equal(cand_add(&l, &ep), 0); /* present already: fine when full */
}

static void test_cand_lan(void **state)
{
	static const struct {
		const char *s;
		bool lan;
	} cases[] = {
		{ "10.1.2.3:1", true }, { "172.16.0.1:1", true }, { "172.31.255.1:1", true },
		{ "172.32.0.1:1", false }, { "192.168.3.2:1", true }, { "192.169.0.1:1", false },
		{ "100.64.0.1:1", true }, { "100.128.0.1:1", false }, { "169.254.1.1:1", true },
		{ "203.0.113.5:1", false }, { "[2001:db8::1]:1", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_endpoint ep;

		assert_int_equal(wg_endpoint_parse(&ep, cases[i].s), 0);
		wg_endpoint_unmap(&ep);
		if (cand_is_lan(&ep) != cases[i].lan)
			fail_msg("%s", cases[i].s);
	}
}

static void test_cand_local(void **state)
{
	struct cand_list l = { .n = 0 };

	(void)state;
	assert_int_equal(cand_local(&l, NULL, 4242), 0);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.ep[i].sa.sa_family, AF_INET);
		assert_int_equal(wg_endpoint_port(&l.ep[i]), 4242);
		assert_int_not_equal(ntohl(l.ep[i].in4.sin_addr.s_addr) >> 24, 127);
	}
}

static void test_mon_rtt_jitter(void **state)
{
	struct mon_stats m = { 0 };
	uint64_t t = 10000 * MSN;
	uint32_t s;

	(void)state;
	mon_reset(&m);
	assert_false(m.rtt_valid);
	/* two requests before the tunnel answered (the handshake): answered,
	 * but not RTT samples */
	s = mon_sent(&m, t - 3000 * MSN);
	(void)mon_sent(&m, t - 1000 * MSN);
	assert_true(mon_reply(&m, s + 1, t - 10 * MSN));
	assert_true(mon_reply(&m, s, t - 9 * MSN)); /* late, still no sample */
	assert_true(m.up);
	assert_false(m.rtt_valid);
	assert_int_equal(m.consecutive_lost, 0);
	s = mon_sent(&m, t);
	assert_true(mon_reply(&m, s, t + 10 * MSN));
	assert_true(m.rtt_valid);
	assert_float_equal(m.rtt_ms, 10.0, 1e-9);
	assert_float_equal(m.jitter_ms, 0.0, 1e-9);
	s = mon_sent(&m, t + 100 * MSN);
	assert_true(mon_reply(&m, s, t + 118 * MSN)); /* 18 ms */
	assert_float_equal(m.rtt_ms, 10.0 + 8.0 / 8, 1e-9);
	assert_float_equal(m.jitter_ms, 8.0 / 16, 1e-9);
	/* a duplicate reply settles nothing */
	assert_false(mon_reply(&m, s, t + 119 * MSN));
	assert_false(mon_reply(&m, s + 5, t + 119 * MSN));
	assert_float_equal(mon_loss_pct(&m), 0.0, 1e-9);
}

static void test_mon_loss(void **state)
{
	struct mon_stats m = { 0 };
	uint64_t t = 0;
	uint32_t s;

	(void)state;
	/* 3 answered, then 3 lost: consecutive count and 50 % */
	for (int i = 0; i < 3; i++) {
		s = mon_sent(&m, t);
		mon_reply(&m, s, t + MSN);
		t += 100 * MSN;
	}
	for (int i = 0; i < 3; i++) {
		s = mon_sent(&m, t);
		t += 100 * MSN;
	}
	mon_expire(&m, t);
	assert_int_equal(m.consecutive_lost, 3);
	assert_float_equal(mon_loss_pct(&m), 50.0, 1e-9);
	/* a reply to a request settled as lost is ignored */
	assert_false(mon_reply(&m, s, t));
	/* a fresh answer resets the run */
	s = mon_sent(&m, t);
	assert_true(mon_reply(&m, s, t + MSN));
	assert_int_equal(m.consecutive_lost, 0);
	/* the window is MON_WINDOW requests: old losses fall out */
	for (int i = 0; i < MON_WINDOW; i++) {
		t += 100 * MSN;
		s = mon_sent(&m, t);
		mon_reply(&m, s, t + MSN);
	}
	assert_float_equal(mon_loss_pct(&m), 0.0, 1e-9);
	/* unsettled requests do not count until settled (by mon_sent wrapping) */
	for (int i = 0; i < MON_WINDOW; i++)
		mon_sent(&m, t += MSN);
	assert_float_equal(mon_loss_pct(&m), 0.0, 1e-9);
	mon_sent(&m, t += MSN);
	mon_sent(&m, t += MSN);
	assert_float_equal(mon_loss_pct(&m), 20.0, 1e-9);
	assert_int_equal(m.consecutive_lost, 2);
	mon_expire(&m, t + MSN);
	assert_float_equal(mon_loss_pct(&m), 100.0, 1e-9);
	assert_int_equal(m.consecutive_lost, MON_WINDOW + 2);
	/* reset keeps numbering so a late reply cannot match a new request */
	mon_reset(&m);
	assert_false(mon_reply(&m, s, t));
	assert_float_equal(mon_loss_pct(&m), 0.0, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cand_add),
		cmocka_unit_test(test_cand_lan),
		cmocka_unit_test(test_cand_local),
		cmocka_unit_test(test_mon_rtt_jitter),
		cmocka_unit_test(test_mon_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
