/*
 * test_replay: the anti-replay window against the kernel's rules, edge by
 * edge (the kernel's own counter self-test sequence, the window's back edge at
 * every position inside a ring block, reject_after, jumps of every size up to
 * far past the ring), then a randomized comparison with a plain model (a bitset
 * of seen counters and the greatest one). LR_TEST_SEED=n replays one seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/messages.h"
#include "wg/replay.h"

#define REJ WG_REJECT_AFTER_MESSAGES
#define WIN ((uint64_t)WG_REPLAY_WINDOW)
#define RING ((uint64_t)WG_REPLAY_BITS_TOTAL)

static struct wg_replay r;

static bool check(uint64_t c)
{
	return wg_replay_check(&r, c, REJ);
}

static void test_in_order_and_duplicates(void **state)
{
	(void)state;
	wg_replay_init(&r);
	for (uint64_t c = 0; c < 20000; c++) {
		assert_true(check(c));
		assert_false(check(c));
	}
	assert_false(check(19999));
	assert_false(check(19998));
	assert_false(check(0));
	assert_false(check(19000));
}

static void test_counter_zero(void **state)
{
	(void)state;
	/* The first packet of every session carries counter 0 and must pass
	 * (wireguard-lwip issue 5), exactly once. */
	wg_replay_init(&r);
	assert_true(check(0));
	assert_false(check(0));
	assert_true(check(1));
	/* 0 arriving late but within the window is still fresh. */
	wg_replay_init(&r);
	assert_true(check(WIN - 1));
	assert_true(check(0));
	assert_false(check(0));
	/* ...and once the window has moved past it, it is too old. */
	wg_replay_init(&r);
	assert_true(check(WIN + 1));
	assert_false(check(0));
	assert_true(check(1));
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
	/* Descending order over a whole window is all fresh. */
	wg_replay_init(&r);
	for (uint64_t c = WIN + 1000; c >= 1000; c--)
		assert_true(check(c));
	assert_false(check(999));
}

/* The kernel's selftest/counter.c sequence, as data: every step must match. */
static void test_kernel_vectors(void **state)
{
	(void)state;
	const uint64_t lim = WIN + 1;
	const struct {
		uint64_t counter;
		bool ok;
	} v[] = {
		{ 0, true },
		{ 1, true },
		{ 1, false },
		{ 9, true },
		{ 8, true },
		{ 7, true },
		{ 7, false },
		{ lim, true },
		{ lim - 1, true },
		{ lim - 1, false },
		{ lim - 2, true },
		{ 2, true },
		{ 2, false },
		{ lim + 16, true },
		{ 3, false },
		{ lim + 16, false },
		{ lim * 4, true },
		{ lim * 4 - (lim - 1), true },
		{ 10, false },
		{ lim * 4 - lim, false },
		{ lim * 4 - (lim + 1), false },
		{ lim * 4 - (lim - 2), true },
		{ lim * 4 + 1 - lim, false },
		{ 0, false },
		{ REJ, false },
		{ REJ - 1, true },
		{ REJ, false },
		{ REJ - 1, false },
		{ REJ - 2, true },
		{ REJ + 1, false },
		{ REJ + 2, false },
		{ REJ - 2, false },
		{ REJ - 3, true },
		{ 0, false },
	};

	wg_replay_init(&r);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (check(v[i].counter) != v[i].ok)
			fail_msg("step %zu: counter %llu want %d", i + 1,
				 (unsigned long long)v[i].counter, v[i].ok);
}

/* With greatest g, g - WIN is the oldest counter accepted and g - WIN - 1 is
 * refused. Checked for g at every offset within a ring block, since the ring
 * blocks and the window are not aligned, and from both sides of the edge: the
 * oldest slot probed first or not at all, then the window moved by one so the
 * unseen counter that was on the edge falls out of it. */
static void test_window_edges(void **state)
{
	(void)state;
	for (uint64_t g = 3 * RING; g < 3 * RING + 130; g++) {
		for (int order = 0; order < 2; order++) {
			wg_replay_init(&r);
			assert_true(check(g));
			if (order == 0) {
				assert_true(check(g - WIN));
				assert_false(check(g - WIN));
				assert_false(check(g - WIN - 1));
			} else {
				assert_false(check(g - WIN - 1));
			}
			assert_true(check(g - 1));
			assert_true(check(g + 1));
			assert_false(check(g - WIN)); /* seen (order 0) or now too old */
			assert_true(check(g + 1 - WIN));
			assert_false(check(g + 1 - WIN));
		}
	}
	/* Near the start the window edge is below zero: everything is fresh. */
	wg_replay_init(&r);
	assert_true(check(WIN));
	assert_true(check(0));
}

static void test_reject_after(void **state)
{
	(void)state;
	wg_replay_init(&r);
	assert_false(wg_replay_check(&r, 10, 10));
	assert_false(wg_replay_check(&r, 11, 10));
	assert_true(wg_replay_check(&r, 9, 10));
	assert_false(wg_replay_check(&r, 0, 0));
	wg_replay_init(&r);
	assert_true(check(REJ - 1));
	assert_false(check(REJ));
	assert_false(check(UINT64_MAX));
	assert_false(check(REJ - 1));
	assert_true(check(REJ - 2));
	assert_true(check(REJ - 1 - WIN));
	assert_false(check(REJ - 2 - WIN));
	/* Like the kernel, a window that went past a (lowered) limit takes nothing. */
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, 100, 1000));
	assert_false(wg_replay_check(&r, 50, 100));
	assert_true(wg_replay_check(&r, 50, 101));
}

/* The window must not wrap for a limit near UINT64_MAX. */
static void test_reject_after_at_top(void **state)
{
	(void)state;
	const uint64_t top = UINT64_MAX - 1;

	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, top, UINT64_MAX));
	assert_false(wg_replay_check(&r, top, UINT64_MAX));
	assert_false(wg_replay_check(&r, UINT64_MAX, UINT64_MAX));
	assert_true(wg_replay_check(&r, top - 1, UINT64_MAX));
	assert_true(wg_replay_check(&r, top - WIN, UINT64_MAX));
	assert_false(wg_replay_check(&r, top - WIN - 1, UINT64_MAX));
}

/* A jump clears the slots it skips: counters in the new window that were never
 * seen (their slots held bits of older laps) are accepted once and only once;
 * counters behind it are refused. Jumps from under one block to far past the
 * ring, from every kind of start. */
static void test_jumps_clear_stale_bits(void **state)
{
	(void)state;
	const uint64_t jumps[] = { 1,	     63,	64,	   65,	      RING - 64, RING - 1,
				   RING,     RING + 1,	RING + 64, 2 * RING, 1000003,	 REJ / 2 };

	for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
		const uint64_t start = RING + 17, far = start + jumps[j];

		wg_replay_init(&r);
		/* Fill a whole ring's worth so every slot holds stale bits. */
		for (uint64_t c = start - RING + 1; c <= start; c++)
			assert_true(check(c));
		assert_true(check(far));
		const uint64_t lo = far - WIN;

		for (uint64_t c = lo; c < far; c++) {
			bool fresh = c > start;

			if (check(c) != fresh)
				fail_msg("jump %llu: counter %llu want %d",
					 (unsigned long long)jumps[j], (unsigned long long)c, fresh);
		}
		for (uint64_t c = lo; c <= far; c++)
			if (check(c))
				fail_msg("jump %llu: counter %llu accepted twice",
					 (unsigned long long)jumps[j], (unsigned long long)c);
		assert_false(check(lo - 1));
		assert_true(check(far + 1));
	}
}

static void test_ring_wraps_many_times(void **state)
{
	(void)state;
	const uint64_t g = 200 * RING - 2; /* the last even counter sent */

	wg_replay_init(&r);
	for (uint64_t c = 0; c <= g; c += 2)
		assert_true(check(c));
	for (uint64_t c = g - WIN; c <= g; c += 2)
		assert_false(check(c));
	assert_false(check(g - WIN - 1));
	for (uint64_t c = g - WIN + 1; c < g; c += 2)
		assert_true(check(c));
	for (uint64_t c = g - WIN - 1; c <= g; c++)
		assert_false(check(c));
}

/* Model: greatest accepted + a bitset of every counter seen, window rule as in
 * the paper (accepted iff not seen and no more than WIN behind the greatest). */
struct model {
	bool any;
	uint64_t greatest;
	uint64_t *seen;
};

static bool model_check(struct model *m, uint64_t c)
{
	if (m->any && c + WIN < m->greatest)
		return false;
	if (m->seen[c / 64] & (UINT64_C(1) << (c % 64)))
		return false;
	m->seen[c / 64] |= UINT64_C(1) << (c % 64);
	if (!m->any || c > m->greatest)
		m->greatest = c;
	m->any = true;
	return true;
}

/* xorshift64*, so a seed means the same sequence everywhere. */
static uint64_t rng_state;

static uint64_t rng(uint64_t bound)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * UINT64_C(2685821657736338717)) % bound;
}

static void test_randomized_against_model(void **state)
{
	(void)state;
	const uint64_t span = UINT64_C(1) << 27; /* counters the model can hold */
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	const char *env = getenv("LR_TEST_SEED");

	if (env)
		seed = strtoull(env, NULL, 10);
	print_message("test_replay: LR_TEST_SEED=%llu\n", (unsigned long long)seed);
	rng_state = seed ? seed : 1;
	for (int round = 0; round < 40; round++) {
		struct model m = { .seen = calloc(span / 64, sizeof(uint64_t)) };
		uint64_t base = 0;

		assert_non_null(m.seen);
		wg_replay_init(&r);
		for (int i = 0; i < 50000; i++) {
			uint64_t kind = rng(1000), c;

			if (kind < 600) /* near the front, reordered */
				c = base + rng(32) - (base >= 16 ? 16 : 0);
			else if (kind < 990) /* anywhere in or just outside the window */
				c = base > WIN + 200 ? base - WIN - 200 + rng(WIN + 264) : rng(WIN + 264);
			else if (kind < 998) /* a jump around the ring size */
				c = base + rng(3 * RING);
			else /* a jump far past it */
				c = base + rng(20 * RING);
			if (c >= span)
				break;
			if (c > base)
				base = c;
			bool want = model_check(&m, c);

			if (check(c) != want)
				fail_msg("seed %llu round %d op %d counter %llu: want %d",
					 (unsigned long long)seed, round, i, (unsigned long long)c,
					 want);
		}
		free(m.seen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_duplicates),
		cmocka_unit_test(test_counter_zero),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_kernel_vectors),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_reject_after),
		cmocka_unit_test(test_reject_after_at_top),
		cmocka_unit_test(test_jumps_clear_stale_bits),
		cmocka_unit_test(test_ring_wraps_many_times),
		cmocka_unit_test(test_randomized_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
