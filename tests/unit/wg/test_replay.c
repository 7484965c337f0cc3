/*
 * test_replay: the anti-replay window against the kernel's rules, edge by
 * edge, then a randomized comparison with a plain model (a set of seen
 * counters and the greatest one) over many counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/messages.h"
#include "wg/replay.h"

#define REJ WG_REJECT_AFTER_MESSAGES

static struct wg_replay r;

static bool check(uint64_t c)
{
	return wg_replay_check(&r, c, REJ);
}

static void test_in_order_and_duplicates(void **state)
{
	(void)state;
	wg_replay_init(&r);
	for (uint64_t c = 0; c < 20000; c++)
		assert_true(check(c));
	assert_false(check(19999));
	assert_false(check(0));
	assert_false(check(19000));
}

static void test_out_of_order_within_window(void **state)
{
	(void)state;
	wg_replay_init(&r);
	assert_true(check(100));
	assert_true(check(50));
	assert_true(check(0));
	assert_false(check(50));
	assert_true(check(99));
	assert_true(check(101));
	assert_false(check(100));
}

/* After counter g, counters down to g + 1 - WINDOW are accepted, older ones not. */
static void test_window_edges(void **state)
{
	(void)state;
	const uint64_t g = 20000;

	wg_replay_init(&r);
	assert_true(check(g));
	assert_false(check(g - WG_REPLAY_WINDOW - 1));
	assert_true(check(g - WG_REPLAY_WINDOW));
	assert_false(check(g - WG_REPLAY_WINDOW));
	assert_true(check(g - WG_REPLAY_WINDOW + 1));
	assert_true(check(g - 1));
}

static void test_reject_after(void **state)
{
	(void)state;
	wg_replay_init(&r);
	assert_false(wg_replay_check(&r, 10, 10));
	assert_false(wg_replay_check(&r, 11, 10));
	assert_true(wg_replay_check(&r, 9, 10));
	wg_replay_init(&r);
	assert_true(check(REJ - 1));
	assert_false(check(REJ));
	assert_false(check(UINT64_MAX));
	assert_false(check(REJ - 1));
	assert_true(check(REJ - 2));
}

/* A jump far ahead clears everything: old counters inside the new window but
 * never seen are accepted once; counters behind it are refused. */
static void test_large_jump_clears(void **state)
{
	(void)state;
	wg_replay_init(&r);
	for (uint64_t c = 0; c < 300; c++)
		assert_true(check(c));
	const uint64_t far = 1000000;

	assert_true(check(far));
	assert_false(check(299));
	assert_true(check(far - 5));
	assert_false(check(far - 5));
	/* A jump of just under a ring: stale bits of the same ring slots must not
	 * make fresh counters look seen. */
	wg_replay_init(&r);
	for (uint64_t c = 0; c < 8192; c++)
		assert_true(check(c));
	for (uint64_t c = 8192; c < 8192 + 8192; c += 64)
		assert_true(check(c + 8000));
	assert_true(check(8192 + 8192 + 8000 - 1));
}

static void test_ring_wraps_many_times(void **state)
{
	(void)state;
	wg_replay_init(&r);
	for (uint64_t c = 0; c < 200000; c += 2)
		assert_true(check(c));
	for (uint64_t c = 200000 - 8000; c < 200000; c += 2)
		assert_false(check(c));
	for (uint64_t c = 200000 - 8000 + 1; c < 200000; c += 2)
		assert_true(check(c));
}

/* Model: greatest accepted + set of seen counters, window rule as in the paper. */
struct model {
	bool any;
	uint64_t greatest;
	uint8_t *seen;
};

static bool model_check(struct model *m, uint64_t c)
{
	if (m->any && c + WG_REPLAY_WINDOW < m->greatest)
		return false;
	if (m->seen[c])
		return false;
	m->seen[c] = 1;
	if (!m->any || c > m->greatest)
		m->greatest = c;
	m->any = true;
	return true;
}

static void test_randomized_against_model(void **state)
{
	(void)state;
	const uint64_t span = 8000000;
	unsigned seed = (unsigned)getpid();
	const char *env = getenv("LR_TEST_SEED");

	if (env)
		seed = (unsigned)strtoul(env, NULL, 10);
	srand(seed);
	for (int round = 0; round < 20; round++) {
		struct model m = { .seen = calloc(span, 1) };
		uint64_t base = 0;

		assert_non_null(m.seen);
		wg_replay_init(&r);
		for (int i = 0; i < 50000; i++) {
			int kind = rand() % 100;
			uint64_t c;

			if (kind < 60) /* near the front, reordered */
				c = base + (uint64_t)(rand() % 32);
			else if (kind < 99) /* anywhere in or just outside the window */
				c = base > 9000 ? base - 9000 + (uint64_t)(rand() % 9200) : (uint64_t)(rand() % 9200);
			else /* a jump */
				c = base + (uint64_t)(rand() % 10000);
			if (c >= span)
				fail_msg("seed %u: counter %llu outside the model", seed, (unsigned long long)c);
			if (c > base)
				base = c;
			bool want = model_check(&m, c);

			if (check(c) != want)
				fail_msg("seed %u round %d op %d counter %llu: want %d", seed, round, i,
					 (unsigned long long)c, want);
		}
		free(m.seen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_duplicates),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_reject_after),
		cmocka_unit_test(test_large_jump_clears),
		cmocka_unit_test(test_ring_wraps_many_times),
		cmocka_unit_test(test_randomized_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
