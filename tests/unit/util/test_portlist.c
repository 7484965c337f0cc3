/*
 * test_portlist: the port-list syntax of the LAN discovery settings, driven
 * from tables: every accepted form with what it parses to, every refusal
 * (the list left empty, the message naming the entry), GROUP:PORT only with
 * PORTLIST_GROUPS, =MODE required (and only allowed) with PORTLIST_MODES, the
 * PORTLIST_MAX bound, spaces around entries, and portlist_find.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "util/portlist.h"

enum { G = PORTLIST_GROUPS, M = PORTLIST_MODES };
#define U PORTLIST_MODE_UNICAST
#define N PORTLIST_MODE_NATIVE

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* A list that portlist_parse must have emptied: n == 0 and no stale entry. */
static void assert_empty(const struct portlist *l)
{
	static const struct portlist zero;

	assert_int_equal(l->n, 0);
	assert_memory_equal(l, &zero, sizeof(zero));
}

struct want {
	uint16_t lo, hi;
	const char *group; /* NULL = 0 */
	enum portlist_mode mode;
};

static const struct {
	const char *s;
	unsigned flags;
	size_t n;
	struct want e[4];
} valid[] = {
	{ NULL, 0, 0, { { 0 } } },
	{ "", 0, 0, { { 0 } } },
	{ "", G | M, 0, { { 0 } } },
	{ "4000", 0, 1, { { 4000, 4000, NULL, 0 } } },
	{ "1", 0, 1, { { 1, 1, NULL, 0 } } },
	{ "65535", 0, 1, { { 65535, 65535, NULL, 0 } } },
	{ "00080", 0, 1, { { 80, 80, NULL, 0 } } },
	{ "7777-7780", 0, 1, { { 7777, 7780, NULL, 0 } } },
	{ "5-5", 0, 1, { { 5, 5, NULL, 0 } } },
	{ "1-65535", 0, 1, { { 1, 65535, NULL, 0 } } },
	{ "4000,7777-7780", 0, 2, { { 4000, 4000, NULL, 0 }, { 7777, 7780, NULL, 0 } } },
	/* The header's example. */
	{ "4000,7777-7780,239.1.2.3:5000", G, 3,
	  { { 4000, 4000, NULL, 0 }, { 7777, 7780, NULL, 0 }, { 5000, 5000, "239.1.2.3", 0 } } },
	{ "224.0.2.60:4445-4446", G, 1, { { 4445, 4446, "224.0.2.60", 0 } } },
	{ "239.255.255.255:1", G, 1, { { 1, 1, "239.255.255.255", 0 } } },
	/* Spaces around entries are ignored. */
	{ "  4000 ,  5000-5001  ", 0, 2, { { 4000, 4000, NULL, 0 }, { 5000, 5001, NULL, 0 } } },
	{ " 224.0.2.60:4445 ", G, 1, { { 4445, 4445, "224.0.2.60", 0 } } },
	/* Modes, the header's example. */
	{ "27960-27963=native,4445=unicast", M, 2,
	  { { 27960, 27963, NULL, N }, { 4445, 4445, NULL, U } } },
	{ " 3979=native ", M, 1, { { 3979, 3979, NULL, N } } },
	{ "239.1.2.3:5000=native", G | M, 1, { { 5000, 5000, "239.1.2.3", N } } },
	/* Overlapping entries are kept as written (portlist_find takes the first). */
	{ "10-20,15", 0, 2, { { 10, 20, NULL, 0 }, { 15, 15, NULL, 0 } } },
};

static void test_valid_lists_parse_to_their_entries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct portlist l;
		char err[128] = "";

		memset(&l, 0xa5, sizeof(l));
		if (portlist_parse(&l, valid[i].s, valid[i].flags, err, sizeof(err)))
			fail_msg("'%s' flags %u refused: %s", valid[i].s ? valid[i].s : "(null)",
				 valid[i].flags, err);
		assert_int_equal(l.n, valid[i].n);
		for (size_t j = 0; j < valid[i].n; j++) {
			const struct want *w = &valid[i].e[j];

			assert_int_equal(l.e[j].lo, w->lo);
			assert_int_equal(l.e[j].hi, w->hi);
			assert_int_equal(l.e[j].group, w->group ? ip(w->group) : 0);
			assert_int_equal(l.e[j].mode, w->mode);
		}
		/* Nothing stale past the entries. */
		for (size_t j = valid[i].n; j < PORTLIST_MAX; j++)
			assert_int_equal(l.e[j].lo, 0);
	}
}

static const struct {
	const char *s;
	unsigned flags;
	const char *named; /* the entry the message must quote */
} invalid[] = {
	{ "0", 0, "'0'" },
	/* empty entries, a trailing comma's too */
	{ "4000,", 0, "''" },
	{ ",4000", 0, "''" },
	{ "4000, ,5000", 0, "''" },
	{ "65536", 0, "'65536'" },
	{ "99999", 0, "'99999'" },
	{ "000080", 0, "'000080'" },
	{ "-1", 0, "'-1'" },
	{ "+80", 0, "'+80'" },
	{ "80x", 0, "'80x'" },
	{ "x", 0, "'x'" },
	{ "4000-", 0, "'4000-'" },
	{ "-4000", 0, "'-4000'" },
	{ "20-10", 0, "'20-10'" },
	{ "1-2-3", 0, "'1-2-3'" },
	{ "0-10", 0, "'0-10'" },
	{ "10-65536", 0, "'10-65536'" },
	{ "40 00", 0, "'40 00'" },
	{ "4000 - 4001", 0, "'4000 - 4001'" },
	{ "4000\t", 0, "'4000\t'" },
	/* Empty entries, in the middle, first, or a list of only spaces. */
	{ "4000,,5000", 0, "''" },
	{ ",4000", 0, "''" },
	{ "   ", 0, "''" },
	/* The bad entry is named even after good ones. */
	{ "4000, 5000, 7x7", 0, "'7x7'" },
	/* Groups only with PORTLIST_GROUPS, and only multicast ones. */
	{ "239.1.2.3:5000", 0, "'239.1.2.3:5000'" },
	{ "239.1.2.3:5000=native", M, "'239.1.2.3:5000=native'" },
	{ "10.0.0.1:5000", G, "'10.0.0.1:5000'" },
	{ "255.255.255.255:27960", G, "'255.255.255.255:27960'" },
	{ "240.0.0.1:5000", G, "'240.0.0.1:5000'" },
	{ ":5000", G, "':5000'" },
	{ "239.1.2.3:", G, "'239.1.2.3:'" },
	{ "239.1.2:5000", G, "'239.1.2:5000'" },
	{ "239.1.2.3:5000:6000", G, "'239.1.2.3:5000:6000'" },
	{ "239.001.002.003.4:5000", G, "'239.001.002.003.4:5000'" },
	{ "ff02::1:5000", G, "'ff02::1:5000'" },
	/* Modes: required with PORTLIST_MODES, refused without. */
	{ "4445", M, "'4445'" },
	{ "4445=", M, "'4445='" },
	{ "4445=Native", M, "'4445=Native'" },
	{ "4445=broadcast", M, "'4445=broadcast'" },
	{ "4445 = native", M, "'4445 = native'" },
	{ "4445=native=native", M, "'4445=native=native'" },
	{ "=native", M, "'=native'" },
	{ "4445=native", 0, "'4445=native'" },
	{ "4445=native", G, "'4445=native'" },
	{ "27960-27963=native,4445", M, "'4445'" },
};

static void test_invalid_lists_are_refused_naming_the_entry(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct portlist l;
		char err[160] = "";

		memset(&l, 0xa5, sizeof(l));
		if (portlist_parse(&l, invalid[i].s, invalid[i].flags, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' flags %u accepted", invalid[i].s, invalid[i].flags);
		assert_empty(&l);
		if (!strstr(err, invalid[i].named))
			fail_msg("'%s': message '%s' does not name %s", invalid[i].s, err,
				 invalid[i].named);
	}
}

/* The message says what was expected, by the flags. */
static void test_error_message_says_what_was_expected(void **state)
{
	struct portlist l;
	char err[160];

	(void)state;
	assert_int_equal(portlist_parse(&l, "x", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "PORT or PORT-PORT"));
	assert_null(strstr(err, "MULTICAST"));
	assert_int_equal(portlist_parse(&l, "x", G, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "MULTICAST-GROUP:PORT"));
	assert_int_equal(portlist_parse(&l, "x", M, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "=unicast|native"));
	/* A short buffer truncates, never overflows; a zero-length one is left alone. */
	memset(err, 'z', sizeof(err));
	assert_int_equal(portlist_parse(&l, "bogus", 0, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'z');
	memset(err, 'z', sizeof(err));
	assert_int_equal(portlist_parse(&l, "bogus", 0, err, 0), -EINVAL);
	assert_int_equal(err[0], 'z');
}

/* An entry longer than the parser reads is refused; the message quotes only
 * the start of it. */
static void test_overlong_entry_is_refused_and_quoted_short(void **state)
{
	char s[512], err[512];
	struct portlist l;

	(void)state;
	memset(s, '1', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(portlist_parse(&l, s, 0, err, sizeof(err)), -EINVAL);
	assert_empty(&l);
	assert_true(strlen(err) < 160);
	/* 64 digits: still refused (too many digits for a port), quoted whole. */
	s[64] = '\0';
	assert_int_equal(portlist_parse(&l, s, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, s));
}

static void build_list(char *s, size_t cap, int n, const char *suffix)
{
	size_t off = 0;

	s[0] = '\0';
	for (int i = 1; i <= n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s%d%s", i > 1 ? "," : "", 1000 + i,
					suffix);
}

static void test_at_most_portlist_max_entries(void **state)
{
	char s[1024], err[160] = "";
	struct portlist l;

	(void)state;
	build_list(s, sizeof(s), PORTLIST_MAX, "");
	assert_int_equal(portlist_parse(&l, s, 0, err, sizeof(err)), 0);
	assert_int_equal(l.n, PORTLIST_MAX);
	assert_int_equal(l.e[PORTLIST_MAX - 1].lo, 1000 + PORTLIST_MAX);
	build_list(s, sizeof(s), PORTLIST_MAX, "=native");
	assert_int_equal(portlist_parse(&l, s, M, err, sizeof(err)), 0);
	assert_int_equal(l.n, PORTLIST_MAX);

	build_list(s, sizeof(s), PORTLIST_MAX + 1, "");
	assert_int_equal(portlist_parse(&l, s, 0, err, sizeof(err)), -EINVAL);
	assert_empty(&l);
	assert_non_null(strstr(err, "more than"));
	char max[16];

	snprintf(max, sizeof(max), "%d", PORTLIST_MAX);
	assert_non_null(strstr(err, max));
	build_list(s, sizeof(s), PORTLIST_MAX + 1, "=unicast");
	assert_int_equal(portlist_parse(&l, s, M, err, sizeof(err)), -EINVAL);
	assert_empty(&l);
}

/* A refused parse empties a list that held entries from an earlier parse. */
static void test_refusal_empties_a_previous_list(void **state)
{
	struct portlist l;
	char err[160];

	(void)state;
	assert_int_equal(portlist_parse(&l, "1,2,3", 0, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(portlist_parse(&l, "1,2,bad", 0, err, sizeof(err)), -EINVAL);
	assert_empty(&l);
}

static void test_find_returns_the_first_entry_holding_the_port(void **state)
{
	static const struct {
		uint16_t port;
		int entry; /* -1 = none */
	} cases[] = {
		{ 1, -1 },     { 9, -1 },     { 10, 0 },    { 15, 0 },     { 20, 0 },
		{ 21, -1 },    { 4444, -1 },  { 4445, 2 },  { 5000, 3 },   { 5001, 3 },
		{ 5002, -1 },  { 65534, -1 }, { 65535, 4 }, { 0, -1 },
	};
	struct portlist l;
	char err[160];

	(void)state;
	assert_int_equal(portlist_parse(&l, "10-20,15,224.0.2.60:4445,5000-5001,65535", G, err,
					sizeof(err)),
			 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct portlist_entry *e = portlist_find(&l, cases[i].port);

		if (cases[i].entry < 0)
			assert_null(e);
		else
			assert_ptr_equal(e, &l.e[cases[i].entry]);
	}
	assert_int_equal(portlist_parse(&l, "", 0, err, sizeof(err)), 0);
	assert_null(portlist_find(&l, 4445));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_lists_parse_to_their_entries),
		cmocka_unit_test(test_invalid_lists_are_refused_naming_the_entry),
		cmocka_unit_test(test_error_message_says_what_was_expected),
		cmocka_unit_test(test_overlong_entry_is_refused_and_quoted_short),
		cmocka_unit_test(test_at_most_portlist_max_entries),
		cmocka_unit_test(test_refusal_empties_a_previous_list),
		cmocka_unit_test(test_find_returns_the_first_entry_holding_the_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
