/*
 * test_pmtu: the path MTU pieces of conn (conn_pmtu.c): the ceiling a path
 * allows (a table of underlays, families and relay headers), probe frames
 * (round trip, a request whose claimed size is not its length, bad
 * replies), and the search against a model path that passes a probe when it
 * fits and answers the small one, on a clock that is a plain number: the
 * value it settles on for a table of paths, that it never raises the MTU
 * above what the path carries once the ceiling failed, that loss of both
 * probes and a member that never answers change nothing, that two losses
 * then an answer do not condemn a size, a path that shrinks under a settled
 * size (black hole), a path that grows (raise timer), late answers ignored.
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
#define TIMEOUT (250 * MSN)

static void test_ceiling_table(void **state)
{
	static const struct {
		unsigned underlay;
		bool ipv6;
		unsigned relay, if_mtu, want;
	} t[] = {
		{ 1500, false, 0, 1420, 1420 },  /* direct IPv4: 1440 fits, interface caps */
		{ 1500, false, 36, 1420, 1392 }, /* relayed IPv4: 1404, padded to 16 */
		{ 1500, true, 0, 1420, 1420 },   /* direct IPv6: exactly 1420 */
		{ 1500, true, 36, 1420, 1376 },  /* relayed IPv6: 1384 */
		{ 1492, false, 0, 1420, 1420 },  /* PPPoE, direct: 1432 */
		{ 1492, false, 36, 1420, 1392 }, /* PPPoE, relayed: 1396 */
		{ 1400, false, 0, 1420, 1328 },  /* 1340 */
		{ 1400, false, 36, 1420, 1296 }, /* 1304 */
		{ 1300, false, 36, 1420, 1280 }, /* below the base: the base */
		{ 0, false, 0, 1420, 1280 },
		{ 1500, false, 0, 1412, 1412 },  /* interface below the path */
		{ 9000, false, 0, 9000, 8928 },  /* 8940 */
		{ 9000, false, 0, 1420, 1420 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned got = pmtu_ceiling(t[i].underlay, t[i].ipv6, t[i].relay, t[i].if_mtu);

		if (got != t[i].want)
			fail_msg("row %zu: %u, want %u", i, got, t[i].want);
	}
}

static void test_probe_frames(void **state)
{
	uint8_t buf[2048];
	unsigned size;
	uint32_t seq;
	int type, n;

	(void)state;
	n = echo_probe_build(buf, sizeof(buf), ECHO_PROBE, 7, 1392);
	assert_int_equal(n, 1392 - PMTU_IP_UDP_LEN);
	assert_int_equal(echo_probe_parse(buf, (size_t)n, &type, &seq, &size), 0);
	assert_int_equal(type, ECHO_PROBE);
	assert_int_equal(seq, 7);
	assert_int_equal(size, 1392);
	/* a request that lost bytes on the way (or lies) is no evidence */
	assert_int_equal(echo_probe_parse(buf, (size_t)n - 1, &type, &seq, &size), -EINVAL);
	n = echo_probe_build(buf, sizeof(buf), ECHO_PROBE_REPLY, 9, 1392);
	assert_int_equal(n, ECHO_PROBE_LEN);
	assert_int_equal(echo_probe_parse(buf, (size_t)n, &type, &seq, &size), 0);
	assert_int_equal(type, ECHO_PROBE_REPLY);
	assert_int_equal(seq, 9);
	assert_int_equal(size, 1392);
	assert_int_equal(echo_probe_parse(buf, (size_t)n + 1, &type, &seq, &size), -EINVAL);
	assert_int_equal(echo_probe_parse(buf, ECHO_PROBE_LEN - 1, &type, &seq, &size), -EINVAL);
	buf[2] = 2;
	assert_int_equal(echo_probe_parse(buf, (size_t)n, &type, &seq, &size), -EINVAL);
	assert_int_equal(echo_probe_build(buf, sizeof(buf), ECHO_PROBE, 1, 20), -EINVAL);
	assert_int_equal(echo_probe_build(buf, 100, ECHO_PROBE, 1, 1392), -ENOSPC);
	assert_int_equal(echo_probe_build(buf, sizeof(buf), ECHO_REQUEST, 1, 100), -EINVAL);
}

/* A model path: a big probe arrives when it fits (size <= carries); the small
 * one always does. Returns the clock after run_ns of rounds; max_after_drop
 * is the largest MTU the route had once it first fell below where it began. */
struct model {
	unsigned carries;
	bool answers_small, answers_big;
	unsigned start_mtu, max_after_drop;
	bool dropped;
	unsigned rounds;
};

static uint64_t run(struct pmtu *p, struct model *mo, uint64_t now, uint64_t run_ns)
{
	uint64_t end = now + run_ns;

	if (!mo->start_mtu)
		mo->start_mtu = p->mtu;
	for (; now < end; now += 10 * MSN) {
		unsigned size;
		uint32_t round;

		if (!pmtu_tick(p, now, TIMEOUT, &size, &round))
			goto track;
		mo->rounds++;
		/* answers come back 1 ms later: the next step of the clock */
		if (mo->answers_small)
			pmtu_answer(p, round, false, now + MSN);
		if (mo->answers_big && size <= mo->carries)
			pmtu_answer(p, round, true, now + MSN);
track:
		mo->dropped |= p->mtu < mo->start_mtu;
		if (mo->dropped && p->mtu > mo->max_after_drop)
			mo->max_after_drop = p->mtu;
	}
	return now;
}

static void test_search_table(void **state)
{
	static const struct {
		unsigned ceiling, carries, want;
	} t[] = {
		{ 1420, 1500, 1420 }, /* a 1500-byte underlay: the ceiling holds */
		{ 1392, 1392, 1392 },
		{ 1420, 1340, 1328 }, /* a 1400-byte underlay, direct */
		{ 1392, 1304, 1296 }, /* a 1400-byte underlay, relayed */
		{ 1420, 1419, 1408 },
		{ 1420, 1295, 1280 },
		{ 1420, 1280, 1280 },
		{ 1420, 1000, 1280 }, /* nothing fits: the floor, never below */
		{ 8928, 1440, 1440 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct model mo = { .carries = t[i].carries, .answers_small = true,
				    .answers_big = true };
		struct pmtu p = { .phase = PMTU_IDLE };

		pmtu_start(&p, t[i].ceiling, 0);
		assert_int_equal(p.mtu, t[i].ceiling); /* at once, before any probe */
		run(&p, &mo, 0, 30000 * MSN);
		if (p.phase != PMTU_DONE || p.mtu != t[i].want)
			fail_msg("row %zu: phase %d mtu %u, want %u", i, p.phase, p.mtu, t[i].want);
		/* once the ceiling was given up, the route never held a size
		 * that does not fit (but the floor) */
		if (mo.dropped && mo.max_after_drop > t[i].carries &&
		    mo.max_after_drop > PMTU_BASE)
			fail_msg("row %zu: route at %u after the drop, path carries %u", i,
				 mo.max_after_drop, t[i].carries);
		if (t[i].carries < t[i].ceiling && !mo.dropped)
			fail_msg("row %zu: never left the ceiling", i);
		/* settled within a few seconds: 3 rounds per failing size */
		if (p.converged_ns > 10000 * MSN)
			fail_msg("row %zu: settled after %llu ms", i,
				 (unsigned long long)(p.converged_ns / MSN));
	}
}

static void test_plain_loss_changes_nothing(void **state)
{
	struct model silent = { .carries = 1000 }; /* nothing answered at all */
	struct pmtu p = { .phase = PMTU_IDLE };
	uint64_t now;

	(void)state;
	pmtu_start(&p, 1392, 0);
	now = run(&p, &silent, 0, 60000 * MSN);
	assert_int_equal(p.mtu, 1392);
	assert_int_equal(p.phase, PMTU_SEARCH);
	/* after a few silent rounds it asks only every PMTU_CONFIRM_NS */
	assert_true(silent.rounds < 3 + 60000 * MSN / PMTU_CONFIRM_NS + 2);
	/* answers come back: it settles as usual */
	silent.answers_small = silent.answers_big = true;
	silent.carries = 1500;
	run(&p, &silent, now, 10000 * MSN);
	assert_int_equal(p.phase, PMTU_DONE);
	assert_int_equal(p.mtu, 1392);
}

/* Big lost twice while small answered, then answered: not too big. */
static void test_two_losses_then_answer(void **state)
{
	struct pmtu p = { .phase = PMTU_IDLE };
	unsigned size;
	uint32_t round;
	uint64_t now = 0;

	(void)state;
	pmtu_start(&p, 1392, 0);
	for (int i = 0; i < 2; i++) {
		assert_true(pmtu_tick(&p, now, TIMEOUT, &size, &round));
		assert_int_equal(size, 1392);
		pmtu_answer(&p, round, false, now + MSN);
		now += TIMEOUT;
		assert_false(pmtu_tick(&p, now - 1, TIMEOUT, &size, &round));
	}
	assert_true(pmtu_tick(&p, now, TIMEOUT, &size, &round));
	assert_int_equal(p.fails, 2);
	assert_int_equal(size, 1392);
	pmtu_answer(&p, round, true, now + MSN);
	assert_int_equal(p.phase, PMTU_DONE);
	assert_int_equal(p.mtu, 1392);
	assert_int_equal(p.fails, 0);
}

static void test_black_hole_and_raise(void **state)
{
	struct model mo = { .carries = 1500, .answers_small = true, .answers_big = true };
	struct pmtu p = { .phase = PMTU_IDLE };
	uint64_t now, t0;

	(void)state;
	pmtu_start(&p, 1420, 0);
	now = run(&p, &mo, 0, 1000 * MSN);
	assert_int_equal(p.phase, PMTU_DONE);
	assert_int_equal(p.mtu, 1420);
	/* the path shrinks: a confirmation probe finds it within one
	 * PMTU_CONFIRM_NS and the fails that follow */
	mo.carries = 1340;
	t0 = now;
	while (p.mtu == 1420 && now < t0 + 2 * PMTU_CONFIRM_NS)
		now = run(&p, &mo, now, 10 * MSN);
	assert_int_equal(p.mtu, PMTU_BASE);
	now = run(&p, &mo, now, 10000 * MSN);
	assert_int_equal(p.phase, PMTU_DONE);
	assert_int_equal(p.mtu, 1328);
	/* it grows back: found after the raise timer, not before */
	mo.carries = 1500;
	now = run(&p, &mo, now, 60000 * MSN);
	assert_int_equal(p.mtu, 1328);
	run(&p, &mo, now, PMTU_RAISE_NS);
	assert_int_equal(p.phase, PMTU_DONE);
	assert_int_equal(p.mtu, 1420);
}

static void test_late_and_unknown_answers(void **state)
{
	struct pmtu p = { .phase = PMTU_IDLE };
	unsigned size;
	uint32_t round;

	(void)state;
	pmtu_start(&p, 1392, 0);
	assert_true(pmtu_tick(&p, 0, TIMEOUT, &size, &round));
	pmtu_answer(&p, round + 1, true, MSN); /* not this round */
	assert_int_equal(p.phase, PMTU_SEARCH);
	/* the round times out with nothing (no new one yet): a late big answer
	 * changes nothing */
	assert_false(pmtu_tick(&p, TIMEOUT, TIMEOUT, &size, &round));
	pmtu_answer(&p, round, true, TIMEOUT + MSN);
	assert_int_equal(p.phase, PMTU_SEARCH);
	assert_int_equal(p.fails, 0);
	assert_int_equal(p.mtu, 1392);
	/* a new path keeps the numbering: the old round's answer is no answer */
	pmtu_start(&p, 1420, 2 * TIMEOUT);
	assert_true(pmtu_tick(&p, 2 * TIMEOUT, TIMEOUT, &size, &round));
	pmtu_answer(&p, round - 1, true, 2 * TIMEOUT + MSN);
	assert_int_equal(p.phase, PMTU_SEARCH);
	/* idle: no rounds, no deadline */
	memset(&p, 0, sizeof(p));
	assert_false(pmtu_tick(&p, 0, TIMEOUT, &size, &round));
	assert_true(pmtu_next_ns(&p) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceiling_table),
		cmocka_unit_test(test_probe_frames),
		cmocka_unit_test(test_search_table),
		cmocka_unit_test(test_plain_loss_changes_nothing),
		cmocka_unit_test(test_two_losses_then_answer),
		cmocka_unit_test(test_black_hole_and_raise),
		cmocka_unit_test(test_late_and_unknown_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
