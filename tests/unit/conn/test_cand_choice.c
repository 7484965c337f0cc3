/*
 * test_cand_choice: which direct path wins when several answer the probes
 * (conn_cand.c, docs/PROBES.md "Which path wins"): cand_prefer from a table
 * of (challenger, path in use, round trips) and the expected answer - LAN
 * first, IPv6 unless IPv4 is faster by more than max(10 ms, 25 %), back to
 * IPv6 once IPv4 leads by less than max(5 ms, 12.5 %), the band between
 * keeping either (so two ends that measured a little differently follow
 * each other); then a punching attempt's bookkeeping: round trips from the
 * round an ACK names (the smallest kept, unknown or overwritten rounds
 * giving none), the best path among those that answered (IPv6 against
 * IPv4 only once both are measured, until the attempt is over; the first
 * decision the same whichever answered first, the margins held by a path
 * that won), and when punching may stop. Clocks are plain numbers.
 */
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

static struct cand_path path(const char *s, uint32_t rtt_us)
{
	struct cand_path p = { .rtt_us = rtt_us };

	assert_int_equal(wg_endpoint_parse(&p.ep, s), 0);
	return p;
}

static struct wg_endpoint ep(const char *s)
{
	struct wg_endpoint e;

	assert_int_equal(wg_endpoint_parse(&e, s), 0);
	return e;
}

#define V6 "[2001:db8:1::2]:51820"
#define V6B "[2001:db8:1::3]:51820"
#define V4 "203.0.113.5:51820"
#define LAN4 "192.168.1.2:51820"
#define LAN6 "[fe80::2]:51820"

static void test_cand_prefer_table(void **state)
{
	static const struct {
		const char *a;
		uint32_t a_us;
		const char *cur;
		uint32_t cur_us;
		bool want;
	} cases[] = {
		/* LAN first, whatever the round trips */
		{ LAN4, 0, V6, 0, true },
		{ LAN4, 30000, V6, 1000, true },
		{ LAN6, 0, V4, 0, true },
		{ V6, 1000, LAN4, 30000, false },
		{ V4, 1000, LAN6, 30000, false },
		/* same rank: keep what works */
		{ V6B, 1000, V6, 40000, false },
		{ "203.0.113.6:51820", 1000, V4, 40000, false },
		{ LAN6, 0, LAN4, 0, false },
		/* a round trip unknown: IPv6 */
		{ V4, 1000, V6, 0, false },
		{ V4, 0, V6, 41000, false },
		{ V6, 0, V4, 1000, true },
		{ V6, 41000, V4, 0, true },
		/* IPv4 replaces IPv6 only when faster by more than 10 ms ... */
		{ V4, 1000, V6, 41000, true },
		{ V4, 1000, V6, 11001, true },
		{ V4, 1000, V6, 11000, false },
		{ V4, 500, V6, 10000, false },
		{ V4, 40000, V6, 1000, false },
		/* ... and than a quarter of IPv6's round trip */
		{ V4, 160000, V6, 200000, false },
		{ V4, 150000, V6, 200000, false },
		{ V4, 149999, V6, 200000, true },
		/* IPv6 back once IPv4 leads by less than 5 ms and an eighth */
		{ V6, 12000, V4, 1000, false },
		{ V6, 6000, V4, 1000, false },
		{ V6, 5999, V4, 1000, true },
		{ V6, 1000, V4, 2000, true },
		{ V6, 200000, V4, 180000, true },
		{ V6, 200000, V4, 175000, false },
		/* v4-mapped is IPv4 */
		{ "[::ffff:203.0.113.5]:51820", 1000, V6, 41000, true },
		{ V6, 41000, "[::ffff:203.0.113.5]:51820", 1000, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cand_path a = path(cases[i].a, cases[i].a_us);
		struct cand_path cur = path(cases[i].cur, cases[i].cur_us);

		if (cand_prefer(&a, &cur) != cases[i].want)
			fail_msg("case %zu: %s (%u us) over %s (%u us): want %d", i, cases[i].a,
				 cases[i].a_us, cases[i].cur, cases[i].cur_us, cases[i].want);
	}
}

/* Within the band (IPv4 ahead by 5 to 10 ms on a short path) neither family
 * replaces the other: each end keeps the path the other moved it to, so
 * two ends whose measures differ a little do not undo each other's choice. */
static void test_cand_prefer_band_follows(void **state)
{
	(void)state;
	for (uint32_t v6 = 6500; v6 <= 11000; v6 += 500) {
		struct cand_path a6 = path(V6, v6), a4 = path(V4, 1000);

		assert_false(cand_prefer(&a4, &a6));
		assert_false(cand_prefer(&a6, &a4));
	}
}

static void test_cand_choice_rtt(void **state)
{
	struct cand_choice ch;
	struct wg_endpoint v4 = ep(V4), v6 = ep(V6), best, other;

	(void)state;
	cand_choice_reset(&ch);
	for (uint32_t seq = 0; seq < 4; seq++)
		cand_choice_sent(&ch, seq, seq * 200 * MSN);
	/* the member's probe: an answer, no round trip */
	cand_choice_answer(&ch, &v6, false, 0, 150 * MSN);
	assert_int_equal(ch.n_paths, 1);
	assert_int_equal(cand_choice_path(&ch, &v6).rtt_us, 0);
	/* ACKs: the round they name gives the round trip, the smallest kept */
	cand_choice_answer(&ch, &v4, true, 1, 200 * MSN + 400000);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 400);
	cand_choice_answer(&ch, &v4, true, 2, 400 * MSN + 300000);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 300);
	cand_choice_answer(&ch, &v4, true, 3, 600 * MSN + 900000);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 300);
	assert_int_equal(ch.n_paths, 2);
	/* IPv6 unmeasured: while the attempt runs, it stays the path either
	 * way; once settled, the rank decides */
	best = cand_choice_best(&ch, &v6, false);
	assert_true(wg_endpoint_equal(&best, &v6));
	best = cand_choice_best(&ch, &v4, false);
	assert_true(wg_endpoint_equal(&best, &v4));
	best = cand_choice_best(&ch, &v4, true);
	assert_true(wg_endpoint_equal(&best, &v6));
	cand_choice_answer(&ch, &v6, true, 2, 440 * MSN);
	assert_int_equal(cand_choice_path(&ch, &v6).rtt_us, 40000);
	for (int settled = 0; settled < 2; settled++) {
		best = cand_choice_best(&ch, &v6, settled);
		assert_true(wg_endpoint_equal(&best, &v4));
		best = cand_choice_best(&ch, &v4, settled);
		assert_true(wg_endpoint_equal(&best, &v4));
	}
	/* a path nobody answered from: 0 */
	other = ep(V6B);
	assert_int_equal(cand_choice_path(&ch, &other).rtt_us, 0);
	/* v4-mapped is the same path */
	other = ep("[::ffff:203.0.113.5]:51820");
	assert_int_equal(cand_choice_path(&ch, &other).rtt_us, 300);
	cand_choice_reset(&ch);
	assert_int_equal(ch.n_paths, 0);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 0);
}

/* An ACK for a round not sent, or one whose slot a later round took, is an
 * answer without a round trip (no stale send time is used). */
static void test_cand_choice_unknown_round(void **state)
{
	struct cand_choice ch;
	struct wg_endpoint v4 = ep(V4), v6 = ep(V6);

	(void)state;
	cand_choice_reset(&ch);
	cand_choice_answer(&ch, &v4, true, 7, 10 * MSN);
	assert_int_equal(ch.n_paths, 1);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 0);
	for (uint32_t seq = 0; seq <= CAND_ROUNDS; seq++)
		cand_choice_sent(&ch, seq, seq * 200 * MSN);
	cand_choice_answer(&ch, &v6, true, 0, 7000 * MSN);
	assert_int_equal(cand_choice_path(&ch, &v6).rtt_us, 0);
	cand_choice_answer(&ch, &v6, true, CAND_ROUNDS, CAND_ROUNDS * 200 * MSN + 5 * MSN);
	assert_int_equal(cand_choice_path(&ch, &v6).rtt_us, 5000);
	/* an ACK the same nanosecond still counts as measured */
	cand_choice_answer(&ch, &v4, true, 1, 200 * MSN);
	assert_int_equal(cand_choice_path(&ch, &v4).rtt_us, 1);
	/* full: further paths are not recorded */
	for (int i = 0; ch.n_paths < CAND_MAX; i++) {
		char s[32];
		struct wg_endpoint e;

		snprintf(s, sizeof(s), "198.51.100.1:%d", 1000 + i);
		e = ep(s);
		cand_choice_answer(&ch, &e, false, 0, 0);
	}
	v6 = ep("198.51.100.2:1");
	cand_choice_answer(&ch, &v6, false, 0, 0);
	assert_int_equal(ch.n_paths, CAND_MAX);
}

/* The first decision does not depend on which path answered first; after
 * it, the path IPv4 won holds until IPv6 comes within the smaller margin. */
static void test_cand_choice_order_and_hysteresis(void **state)
{
	struct cand_choice ch;
	struct wg_endpoint v4 = ep(V4), v6 = ep(V6), best;

	(void)state;
	/* IPv6 7 ms slower: inside the band, so IPv6 whichever came first */
	for (int first4 = 0; first4 < 2; first4++) {
		cand_choice_reset(&ch);
		cand_choice_sent(&ch, 0, 0);
		cand_choice_answer(&ch, first4 ? &v4 : &v6, true, 0, first4 ? MSN : 8 * MSN);
		cand_choice_answer(&ch, first4 ? &v6 : &v4, true, 0, first4 ? 8 * MSN : MSN);
		best = cand_choice_best(&ch, first4 ? &v4 : &v6, false);
		assert_true(wg_endpoint_equal(&best, &v6));
		assert_false(ch.v4_won);
	}
	/* IPv6 11 ms slower: IPv4 whichever came first */
	for (int first4 = 0; first4 < 2; first4++) {
		cand_choice_reset(&ch);
		cand_choice_sent(&ch, 0, 0);
		cand_choice_answer(&ch, &v4, true, 0, MSN);
		cand_choice_answer(&ch, &v6, true, 0, 12 * MSN);
		best = cand_choice_best(&ch, first4 ? &v4 : &v6, false);
		assert_true(wg_endpoint_equal(&best, &v4));
		assert_true(ch.v4_won);
	}
	/* IPv4 won; IPv6's best round trip falls to 9 ms, then 5.5 ms */
	cand_choice_sent(&ch, 1, 200 * MSN);
	cand_choice_answer(&ch, &v6, true, 1, 209 * MSN);
	best = cand_choice_best(&ch, &v4, false);
	assert_true(wg_endpoint_equal(&best, &v4));
	cand_choice_sent(&ch, 2, 400 * MSN);
	cand_choice_answer(&ch, &v6, true, 2, 400 * MSN + 5500000);
	best = cand_choice_best(&ch, &v4, false);
	assert_true(wg_endpoint_equal(&best, &v6));
	assert_false(ch.v4_won);
	/* a new attempt forgets the win */
	cand_choice_reset(&ch);
	assert_false(ch.v4_won);
}

/* Punching goes on while a better-ranked candidate is silent, or IPv6 and
 * public IPv4 both have candidates and a round trip to compare is missing. */
static void test_cand_choice_open(void **state)
{
	struct cand_choice ch;
	struct cand_list cands = { .n = 0 };
	struct wg_endpoint v4 = ep(V4), v6 = ep(V6), lan = ep(LAN4);

	(void)state;
	cand_choice_reset(&ch);
	cand_add(&cands, &v6);
	cand_add(&cands, &v4);
	cand_add(&cands, &lan);
	cand_choice_sent(&ch, 0, 0);
	cand_choice_answer(&ch, &v6, true, 0, MSN);
	assert_true(cand_choice_open(&ch, &cands, &v6)); /* the LAN one may answer */
	cands.n = 2;
	assert_true(cand_choice_open(&ch, &cands, &v6)); /* IPv4 not heard */
	cand_choice_answer(&ch, &v4, false, 0, MSN);
	assert_true(cand_choice_open(&ch, &cands, &v6)); /* heard, not measured */
	cand_choice_answer(&ch, &v4, true, 0, 2 * MSN);
	assert_false(cand_choice_open(&ch, &cands, &v6));
	assert_false(cand_choice_open(&ch, &cands, &v4));
	/* the path in use not measured */
	cand_choice_reset(&ch);
	cand_choice_sent(&ch, 0, 0);
	cand_choice_answer(&ch, &v4, true, 0, MSN);
	cand_choice_answer(&ch, &v6, false, 0, MSN);
	assert_true(cand_choice_open(&ch, &cands, &v6));
	assert_true(cand_choice_open(&ch, &cands, &v4)); /* IPv6 heard, not measured */
	/* one family only: nothing to compare */
	cands.n = 1;
	assert_false(cand_choice_open(&ch, &cands, &v6));
	cands.ep[0] = v4;
	assert_false(cand_choice_open(&ch, &cands, &v4));
	/* on the LAN: nothing better */
	cands.ep[0] = v6;
	cands.ep[1] = v4;
	cands.n = 2;
	assert_false(cand_choice_open(&ch, &cands, &lan));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cand_prefer_table),
		cmocka_unit_test(test_cand_prefer_band_follows),
		cmocka_unit_test(test_cand_choice_rtt),
		cmocka_unit_test(test_cand_choice_unknown_round),
		cmocka_unit_test(test_cand_choice_order_and_hysteresis),
		cmocka_unit_test(test_cand_choice_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
