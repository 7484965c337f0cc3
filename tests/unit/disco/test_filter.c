/*
 * test_filter: duplicate suppression and rate limits of captured discovery
 * datagrams (disco/disco_filter.h) on an explicit clock, driven from tables
 * like the kernel's selftest/ratelimiter.c: the dedup window (ioquake3's
 * back-to-back pair is one datagram, Minecraft's announcement every 1.5 s is
 * not a duplicate), what makes two datagrams different, the per-source
 * bucket (burst, then the refill rate), the node's bucket across many
 * sources, and the least-recently-used table of sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "disco/disco_filter.h"

#define T0 1000000ULL /* an arbitrary start, in ms */

static struct disco_filter *filter_new(void)
{
	struct disco_filter *f = test_malloc(sizeof(*f));

	disco_filter_init(f);
	return f;
}

static uint32_t addr(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* The engine's source key: address and port. */
static uint64_t src_key(uint32_t src, uint16_t sport)
{
	return (uint64_t)src << 16 | sport;
}

/* A distinct datagram from a source: the n-th query with a numbered payload. */
static enum disco_filter_result send_nth(struct disco_filter *f, uint32_t src, uint16_t sport,
					 uint32_t n, uint64_t now)
{
	char payload[32];
	int len = snprintf(payload, sizeof(payload), "query %u", n);

	return disco_filter_check(f,
				  disco_filter_key(src, sport, 27960, (const uint8_t *)payload,
						   (size_t)len),
				  src_key(src, sport), now);
}

/* ---- duplicates ------------------------------------------------------------------ */

enum { A, A_PAYLOAD, A_LONGER, A_SPORT, A_DPORT, A_SRC, A_SPORT_HI, A_DPORT_HI, N_DGRAMS };

static const struct {
	const char *src;
	uint16_t sport, dport;
	const char *payload;
	size_t len;
} dgrams[N_DGRAMS] = {
	[A] = { "10.66.0.1", 51234, 27960, "\xff\xff\xff\xffgetinfo xxx", 15 },
	[A_PAYLOAD] = { "10.66.0.1", 51234, 27960, "\xff\xff\xff\xffgetinfo xxy", 15 },
	[A_LONGER] = { "10.66.0.1", 51234, 27960, "\xff\xff\xff\xffgetinfo xxx", 16 },
	[A_SPORT] = { "10.66.0.1", 51235, 27960, "\xff\xff\xff\xffgetinfo xxx", 15 },
	[A_DPORT] = { "10.66.0.1", 51234, 27961, "\xff\xff\xff\xffgetinfo xxx", 15 },
	[A_SRC] = { "10.66.0.2", 51234, 27960, "\xff\xff\xff\xffgetinfo xxx", 15 },
	/* Ports that differ only in their high byte. */
	[A_SPORT_HI] = { "10.66.0.1", 51234 ^ 0x100, 27960, "\xff\xff\xff\xffgetinfo xxx", 15 },
	[A_DPORT_HI] = { "10.66.0.1", 51234, 27960 ^ 0x100, "\xff\xff\xff\xffgetinfo xxx", 15 },
};

static uint64_t dgram_key(int d)
{
	return disco_filter_key(addr(dgrams[d].src), dgrams[d].sport, dgrams[d].dport,
				(const uint8_t *)dgrams[d].payload, dgrams[d].len);
}

static void test_keys_differ_in_every_field(void **state)
{
	(void)state;
	for (int i = 0; i < N_DGRAMS; i++) {
		assert_int_equal(dgram_key(i), dgram_key(i)); /* deterministic */
		for (int j = i + 1; j < N_DGRAMS; j++)
			if (dgram_key(i) == dgram_key(j))
				fail_msg("datagrams %d and %d have one key", i, j);
	}
	/* An empty payload is a datagram too. */
	assert_int_not_equal(disco_filter_key(addr("10.66.0.1"), 1, 2, NULL, 0),
			     disco_filter_key(addr("10.66.0.1"), 1, 3, NULL, 0));
}

/* One filter, one clock, datagrams in order: what each one gets. */
static const struct {
	uint64_t at;   /* ms after T0 */
	int d;
	enum disco_filter_result want;
} dedup[] = {
	{ 0, A, DISCO_PASS },
	{ 0, A, DISCO_DUPLICATE },                    /* ioquake3 sends each query twice */
	{ 1, A, DISCO_DUPLICATE },
	{ 100, A, DISCO_DUPLICATE },
	{ DISCO_DEDUP_MS - 1, A, DISCO_DUPLICATE },
	{ DISCO_DEDUP_MS, A, DISCO_PASS },            /* the window is over */
	{ DISCO_DEDUP_MS + 1, A, DISCO_DUPLICATE },   /* ...and starts again */
	{ DISCO_DEDUP_MS + 100, A, DISCO_DUPLICATE },
	/* Anything different is not a duplicate, each in its own window. */
	{ DISCO_DEDUP_MS + 100, A_PAYLOAD, DISCO_PASS },
	{ DISCO_DEDUP_MS + 100, A_LONGER, DISCO_PASS },
	{ DISCO_DEDUP_MS + 100, A_SPORT, DISCO_PASS },
	{ DISCO_DEDUP_MS + 100, A_DPORT, DISCO_PASS },
	{ DISCO_DEDUP_MS + 100, A_SRC, DISCO_PASS },
	{ DISCO_DEDUP_MS + 101, A_PAYLOAD, DISCO_DUPLICATE },
	{ DISCO_DEDUP_MS + 101, A_SRC, DISCO_DUPLICATE },
	/* Duplicates do not stretch the window: counted from the last pass. */
	{ 2 * DISCO_DEDUP_MS, A, DISCO_PASS },
	{ 2 * DISCO_DEDUP_MS + 100, A_SRC, DISCO_PASS },
};

static void test_dedup_window(void **state)
{
	struct disco_filter *f = filter_new();

	(void)state;
	for (size_t i = 0; i < sizeof(dedup) / sizeof(dedup[0]); i++) {
		int d = dedup[i].d;
		enum disco_filter_result r = disco_filter_check(
			f, dgram_key(d), src_key(addr(dgrams[d].src), dgrams[d].sport),
			T0 + dedup[i].at);

		if (r != dedup[i].want)
			fail_msg("step %zu (+%llu ms, datagram %d): %d, want %d", i,
				 (unsigned long long)dedup[i].at, d, r, dedup[i].want);
	}
	test_free(f);
}

/* Minecraft Java announces the same payload every 1.5 s: every one passes,
 * for as long as the world is open. */
static void test_minecraft_repeated_announcement_passes(void **state)
{
	static const char ad[] = "[MOTD]A world[/MOTD][AD]25565[/AD]";
	struct disco_filter *f = filter_new();
	uint64_t k = disco_filter_key(addr("10.66.0.3"), 40001, 4445, (const uint8_t *)ad,
				      sizeof(ad) - 1);

	(void)state;
	for (int i = 0; i < 200; i++)
		assert_int_equal(disco_filter_check(f, k, src_key(addr("10.66.0.3"), 40001),
						    T0 + (uint64_t)i * 1500),
				 DISCO_PASS);
	test_free(f);
}

/* A duplicate costs no tokens: a source repeating one datagram still has
 * its whole burst for new ones. */
static void test_duplicate_costs_no_tokens(void **state)
{
	struct disco_filter *f = filter_new();
	uint32_t s = addr("10.66.0.1");

	(void)state;
	assert_int_equal(send_nth(f, s, 1, 0, T0), DISCO_PASS);
	for (int i = 0; i < 100; i++)
		assert_int_equal(send_nth(f, s, 1, 0, T0), DISCO_DUPLICATE);
	for (uint32_t n = 1; n < DISCO_SRC_BURST; n++)
		assert_int_equal(send_nth(f, s, 1, n, T0), DISCO_PASS);
	assert_int_equal(send_nth(f, s, 1, DISCO_SRC_BURST, T0), DISCO_RATE_LIMITED);
	test_free(f);
}

/* A datagram the rate limit refused was sent to nobody: its repeat is
 * rate-limited again (or passes once there are tokens), never counted as a
 * duplicate of it. */
static void test_refused_datagram_repeat_is_not_a_duplicate(void **state)
{
	struct disco_filter *f = filter_new();
	uint32_t s = addr("10.66.0.1");

	(void)state;
	for (uint32_t n = 0; n < DISCO_SRC_BURST; n++)
		assert_int_equal(send_nth(f, s, 1, n, T0), DISCO_PASS);
	assert_int_equal(send_nth(f, s, 1, 999, T0), DISCO_RATE_LIMITED);
	assert_int_equal(send_nth(f, s, 1, 999, T0 + 1), DISCO_RATE_LIMITED);
	/* one token back after 1000 / DISCO_SRC_RATE ms: the repeat passes */
	assert_int_equal(send_nth(f, s, 1, 999, T0 + 1000 / DISCO_SRC_RATE + 1), DISCO_PASS);
	assert_int_equal(send_nth(f, s, 1, 999, T0 + 1000 / DISCO_SRC_RATE + 2), DISCO_DUPLICATE);
	test_free(f);
}

/* Distinct keys in one dedup slot never make a duplicate (the table may
 * forget, never confuse). */
static void test_slot_collisions_are_not_duplicates(void **state)
{
	struct disco_filter *f = filter_new();

	(void)state;
	/* Keys k and k + DISCO_DEDUP_SLOTS share a slot. */
	for (uint64_t k = 1; k < 50; k++) {
		assert_int_equal(disco_filter_check(f, k, k, T0), DISCO_PASS);
		assert_int_equal(disco_filter_check(f, k + DISCO_DEDUP_SLOTS, k + 100, T0),
				 DISCO_PASS);
	}
	test_free(f);
}

/* ---- rate limits ------------------------------------------------------------------- */

static void test_bucket_starts_full_then_refills(void **state)
{
	/* rate 20/s, burst 40: steps of (time, tries, passes). */
	static const struct {
		uint64_t at;
		int tries, passes;
	} steps[] = {
		{ 0, 50, 40 },      /* a new bucket starts full */
		{ 40, 1, 0 },       /* 0.8 of a token */
		{ 60, 1, 1 },       /* 1.2: one, 0.2 left */
		{ 130, 2, 1 },      /* 1.6: one, 0.6 left */
		{ 1130, 25, 20 },   /* 20.6: twenty */
		{ 1130, 1, 0 },     /* the same instant earns nothing */
		{ 900, 5, 0 },      /* nor does a clock stepping back */
		{ 1140, 1, 0 },     /* 0.6 + 0.2 */
		{ 1160, 1, 1 },     /* 0.6 + 0.6 */
		{ 60000, 100, 40 }, /* after a long pause, never more than the burst */
	};
	struct disco_bucket b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int ok = 0;

		for (int j = 0; j < steps[i].tries; j++)
			ok += disco_bucket_take(&b, 20, 40, T0 + steps[i].at);
		if (ok != steps[i].passes)
			fail_msg("step %zu (+%llu ms): %d passed, want %d", i,
				 (unsigned long long)steps[i].at, ok, steps[i].passes);
	}
}

/* How many of n distinct datagrams from one source pass at now. */
static int source_passes(struct disco_filter *f, uint32_t src, uint32_t *seq, int n,
			 uint64_t now)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += send_nth(f, src, 27960, (*seq)++, now) == DISCO_PASS;
	return ok;
}

static void test_source_burst_then_refill_rate(void **state)
{
	struct disco_filter *f = filter_new();
	uint32_t s = addr("10.66.0.1"), seq = 0;
	int ok = 0;

	(void)state;
	assert_int_equal(source_passes(f, s, &seq, 100, T0), DISCO_SRC_BURST);
	/* 1000 / DISCO_SRC_RATE ms earns one datagram (here with margin). */
	assert_int_equal(source_passes(f, s, &seq, 5, T0 + 1000 / DISCO_SRC_RATE * 8 / 10), 0);
	assert_int_equal(source_passes(f, s, &seq, 5, T0 + 1000 / DISCO_SRC_RATE * 12 / 10), 1);
	/* Another source at twice the rate for ten seconds: its burst, then
	 * the rate. */
	s = addr("10.66.0.2");
	for (int i = 0; i < 20 * DISCO_SRC_RATE; i++)
		ok += source_passes(f, s, &seq, 1, T0 + (uint64_t)i * 1000 / (2 * DISCO_SRC_RATE));
	assert_in_range(ok, DISCO_SRC_BURST + 10 * DISCO_SRC_RATE - 2,
			DISCO_SRC_BURST + 10 * DISCO_SRC_RATE);
	/* Under the rate (a game's query every 100 ms), nothing is lost. */
	s = addr("10.66.0.3");
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += source_passes(f, s, &seq, 1, T0 + 20000 + (uint64_t)i * 100);
	assert_int_equal(ok, 100);
	test_free(f);
}

static void test_sources_have_their_own_buckets(void **state)
{
	struct disco_filter *f = filter_new();
	uint32_t seq = 0;

	(void)state;
	assert_int_equal(source_passes(f, addr("10.66.0.1"), &seq, 50, T0), DISCO_SRC_BURST);
	assert_int_equal(source_passes(f, addr("10.66.0.2"), &seq, 50, T0), DISCO_SRC_BURST);
	/* Same address, another port: another source. */
	assert_int_equal(send_nth(f, addr("10.66.0.1"), 1, seq++, T0), DISCO_PASS);
	assert_int_equal(send_nth(f, addr("10.66.0.1"), 27960, seq++, T0), DISCO_RATE_LIMITED);
	test_free(f);
}

static void test_global_bucket_caps_many_sources(void **state)
{
	struct disco_filter *f = filter_new();
	int ok = 0;

	(void)state;
	/* 300 sources, one datagram each: the node's burst. */
	for (uint32_t i = 0; i < 300; i++)
		ok += send_nth(f, htonl(0x0a420000u + i), 5000, 0, T0) == DISCO_PASS;
	assert_int_equal(ok, DISCO_GLOBAL_BURST);
	/* Half a second later, half a second's worth. */
	ok = 0;
	for (uint32_t i = 0; i < 100; i++)
		ok += send_nth(f, htonl(0x0a430000u + i), 5000, 0, T0 + 500) == DISCO_PASS;
	assert_int_equal(ok, DISCO_GLOBAL_RATE / 2);
	test_free(f);

	/* A storm from 50 sources, each under its own rate (5/s) for 10 s:
	 * 2500 datagrams, cut to the node's burst + rate x 10 s. */
	f = filter_new();
	ok = 0;
	for (uint32_t t = 0; t < 10000; t += 200)
		for (uint32_t i = 0; i < 50; i++)
			ok += send_nth(f, htonl(0x0a440000u + i), 5000, t, T0 + t + i) ==
			      DISCO_PASS;
	assert_in_range(ok, DISCO_GLOBAL_BURST + 10 * DISCO_GLOBAL_RATE - 20,
			DISCO_GLOBAL_BURST + 10 * DISCO_GLOBAL_RATE);
	test_free(f);
}

/* ---- the table of sources ------------------------------------------------------------ */

static bool tracked(const struct disco_filter *f, uint64_t key)
{
	int n = 0;

	for (size_t i = 0; i < DISCO_SOURCES; i++)
		n += f->src[i].b.used && f->src[i].key == key;
	assert_true(n <= 1); /* never twice */
	return n == 1;
}

static void test_least_recently_used_source_goes(void **state)
{
	struct disco_filter *f = filter_new();

	(void)state;
	/* DISCO_SOURCES sources, source i last seen at T0 + i. */
	for (uint64_t i = 0; i < DISCO_SOURCES; i++)
		disco_filter_check(f, 1000 + i, i, T0 + i);
	for (uint64_t i = 0; i < DISCO_SOURCES; i++)
		assert_true(tracked(f, i));
	/* Source 0 is seen again. */
	disco_filter_check(f, 5000, 0, T0 + DISCO_SOURCES);
	/* A new source takes the place of the least recently used: 1, then 2. */
	disco_filter_check(f, 6000, DISCO_SOURCES, T0 + DISCO_SOURCES + 1);
	assert_true(tracked(f, 0));
	assert_false(tracked(f, 1));
	assert_true(tracked(f, DISCO_SOURCES));
	disco_filter_check(f, 6001, DISCO_SOURCES + 1, T0 + DISCO_SOURCES + 2);
	assert_false(tracked(f, 2));
	for (uint64_t i = 3; i < DISCO_SOURCES + 2; i++)
		assert_true(tracked(f, i));
	/* A rate-limited datagram still counts as the source being seen. */
	for (int i = 0; i < 2 * DISCO_SRC_BURST; i++)
		disco_filter_check(f, 7000 + (uint64_t)i, 3, T0 + DISCO_SOURCES + 3);
	disco_filter_check(f, 8000, DISCO_SOURCES + 2, T0 + DISCO_SOURCES + 4);
	assert_true(tracked(f, 3));
	assert_false(tracked(f, 4));
	test_free(f);
}

/* A source that was forgotten comes back with a full burst; one that was
 * kept still has its nearly empty bucket. */
static void test_forgotten_source_starts_full(void **state)
{
	(void)state;
	for (uint32_t others = DISCO_SOURCES - 1; others <= DISCO_SOURCES; others++) {
		struct disco_filter *f = filter_new();
		uint32_t s = addr("10.66.0.1"), seq = 0;

		assert_int_equal(source_passes(f, s, &seq, 50, T0), DISCO_SRC_BURST);
		/* Newer sources, one datagram each, whatever the node's bucket
		 * says; DISCO_SOURCES of them push the first one out. */
		for (uint32_t i = 0; i < others; i++)
			send_nth(f, htonl(0x0a450000u + i), 5000, 0, T0 + 1);
		assert_int_equal(tracked(f, src_key(s, 27960)), others < DISCO_SOURCES);
		/* 110 ms later the node's bucket has about 11 tokens; a kept
		 * source has earned 2.2, a forgotten one starts with its burst. */
		assert_int_equal(source_passes(f, s, &seq, 5, T0 + 110),
				 others < DISCO_SOURCES ? 2 : 5);
		test_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_differ_in_every_field),
		cmocka_unit_test(test_dedup_window),
		cmocka_unit_test(test_minecraft_repeated_announcement_passes),
		cmocka_unit_test(test_duplicate_costs_no_tokens),
		cmocka_unit_test(test_refused_datagram_repeat_is_not_a_duplicate),
		cmocka_unit_test(test_slot_collisions_are_not_duplicates),
		cmocka_unit_test(test_bucket_starts_full_then_refills),
		cmocka_unit_test(test_source_burst_then_refill_rate),
		cmocka_unit_test(test_sources_have_their_own_buckets),
		cmocka_unit_test(test_global_bucket_caps_many_sources),
		cmocka_unit_test(test_least_recently_used_source_goes),
		cmocka_unit_test(test_forgotten_source_starts_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
