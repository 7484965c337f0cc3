/*
 * test_table: which datagrams LAN discovery forwards (disco/disco_table.h),
 * as tables of (settings, destination, port) -> verdict like the kernel's
 * selftest/ratelimiter.c: the built-in game ports broadcast, Minecraft's
 * group on 4445 and no other, the user's extra ports with and without a
 * group, the system denylist winning over extra ports and giving way only to
 * lan_discovery_allow_system, everything else NOT_GAME. Then the delivery
 * mode per port, the groups whose members are tracked, the capture ranges,
 * and the parse errors (naming the setting, leaving the policy unchanged).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "disco/disco_table.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct disco_policy policy(const char *ports, const char *modes, const char *allow)
{
	struct disco_policy p;
	char err[256] = "";

	if (disco_policy_parse(&p, true, ports, modes, allow, err, sizeof(err)))
		fail_msg("policy refused: %s", err);
	return p;
}

enum { DEFAULTS, EXTRA, ALLOW, N_POLICIES };

static struct disco_policy policies[N_POLICIES];

static int setup(void **state)
{
	(void)state;
	policies[DEFAULTS] = policy(NULL, NULL, NULL);
	/* Extra ports that include two denylisted ones: listing them is not
	 * enough, only lan_discovery_allow_system lets them through. */
	policies[EXTRA] = policy("4000, 7777-7780, 239.1.2.3:5000, 239.9.9.9:4445, 5353, 67",
				 NULL, NULL);
	policies[ALLOW] = policy(NULL, NULL, "5353,67-68,1900");
	return 0;
}

#define BCAST "255.255.255.255"

static const struct {
	int policy;
	const char *dst;
	uint16_t port;
	enum disco_verdict want;
} verdicts[] = {
	/* Every game of the table, to the limited broadcast address. */
	{ DEFAULTS, BCAST, 27960, DISCO_FORWARD },   /* OpenArena/ioquake3 */
	{ DEFAULTS, BCAST, 27963, DISCO_FORWARD },
	{ DEFAULTS, BCAST, 27959, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 27964, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 27015, DISCO_FORWARD },   /* Source */
	{ DEFAULTS, BCAST, 27020, DISCO_FORWARD },
	{ DEFAULTS, BCAST, 8303, DISCO_FORWARD },    /* Teeworlds */
	{ DEFAULTS, BCAST, 8310, DISCO_FORWARD },
	{ DEFAULTS, BCAST, 6112, DISCO_FORWARD },    /* Warcraft III */
	{ DEFAULTS, BCAST, 6111, DISCO_FORWARD },    /* StarCraft */
	{ DEFAULTS, BCAST, 19132, DISCO_FORWARD },   /* Minecraft Bedrock */
	{ DEFAULTS, BCAST, 10777, DISCO_FORWARD },   /* UT2004 */
	{ DEFAULTS, BCAST, 2350, DISCO_FORWARD },    /* Trackmania */
	{ DEFAULTS, BCAST, 2302, DISCO_FORWARD },    /* ARMA 2 */
	{ DEFAULTS, BCAST, 2470, DISCO_FORWARD },
	{ DEFAULTS, BCAST, 44400, DISCO_FORWARD },   /* Warsow */
	{ DEFAULTS, BCAST, 4549, DISCO_FORWARD },    /* Torchlight II */
	{ DEFAULTS, BCAST, 42801, DISCO_FORWARD },   /* Titan Quest */
	/* Subnet-directed broadcast (OpenTTD), physical and virtual. */
	{ DEFAULTS, "192.168.1.255", 3979, DISCO_FORWARD },
	{ DEFAULTS, "10.66.255.255", 3979, DISCO_FORWARD },
	{ DEFAULTS, "192.168.1.255", 3980, DISCO_NOT_GAME },
	/* Minecraft: its group on 4445; another group on 4445 is not it; a
	 * broadcast needs only the port. */
	{ DEFAULTS, "224.0.2.60", 4445, DISCO_FORWARD },
	{ DEFAULTS, "224.0.2.61", 4445, DISCO_NOT_GAME },
	{ DEFAULTS, "239.1.2.3", 4445, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 4445, DISCO_FORWARD },
	{ DEFAULTS, "224.0.2.60", 4446, DISCO_NOT_GAME },
	/* A group on a port of a game without one. */
	{ DEFAULTS, "224.0.2.60", 27960, DISCO_NOT_GAME },
	{ DEFAULTS, "239.1.2.3", 6112, DISCO_NOT_GAME },
	/* Extra ports are not forwarded without the setting. */
	{ DEFAULTS, BCAST, 4000, DISCO_NOT_GAME },
	{ DEFAULTS, "239.1.2.3", 5000, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 1, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 65535, DISCO_NOT_GAME },
	/* The system denylist. */
	{ DEFAULTS, BCAST, 67, DISCO_DENIED },
	{ DEFAULTS, BCAST, 68, DISCO_DENIED },
	{ DEFAULTS, "192.168.1.255", 137, DISCO_DENIED },
	{ DEFAULTS, "192.168.1.255", 138, DISCO_DENIED },
	{ DEFAULTS, "239.255.255.250", 1900, DISCO_DENIED },
	{ DEFAULTS, "239.255.255.250", 3702, DISCO_DENIED },
	{ DEFAULTS, "224.0.0.251", 5353, DISCO_DENIED },
	{ DEFAULTS, "224.0.0.252", 5355, DISCO_DENIED },
	{ DEFAULTS, BCAST, 5353, DISCO_DENIED },
	{ DEFAULTS, BCAST, 5354, DISCO_NOT_GAME },
	{ DEFAULTS, BCAST, 66, DISCO_NOT_GAME },

	/* Extra ports: plain ports and ranges for broadcast. */
	{ EXTRA, BCAST, 4000, DISCO_FORWARD },
	{ EXTRA, "192.168.1.255", 4000, DISCO_FORWARD },
	{ EXTRA, BCAST, 7777, DISCO_FORWARD },
	{ EXTRA, BCAST, 7780, DISCO_FORWARD },
	{ EXTRA, BCAST, 7781, DISCO_NOT_GAME },
	{ EXTRA, BCAST, 3999, DISCO_NOT_GAME },
	/* A group entry: that group on that port; a broadcast needs only the
	 * port; another group on the port is not it. */
	{ EXTRA, "239.1.2.3", 5000, DISCO_FORWARD },
	{ EXTRA, BCAST, 5000, DISCO_FORWARD },
	{ EXTRA, "239.1.2.4", 5000, DISCO_NOT_GAME },
	{ EXTRA, "239.1.2.3", 5001, DISCO_NOT_GAME },
	/* A plain extra port admits broadcast only: a group must be listed. */
	{ EXTRA, "239.1.2.3", 4000, DISCO_NOT_GAME },
	/* A second group on Minecraft's port, beside the built-in one. */
	{ EXTRA, "239.9.9.9", 4445, DISCO_FORWARD },
	{ EXTRA, "224.0.2.60", 4445, DISCO_FORWARD },
	{ EXTRA, "239.1.1.1", 4445, DISCO_NOT_GAME },
	/* The game table still applies. */
	{ EXTRA, BCAST, 27960, DISCO_FORWARD },
	/* Denylisted ports stay denied even when listed as extra ports. */
	{ EXTRA, "224.0.0.251", 5353, DISCO_DENIED },
	{ EXTRA, BCAST, 5353, DISCO_DENIED },
	{ EXTRA, BCAST, 67, DISCO_DENIED },
	{ EXTRA, BCAST, 68, DISCO_DENIED },

	/* lan_discovery_allow_system lets exactly the named ports through. */
	{ ALLOW, "224.0.0.251", 5353, DISCO_FORWARD },
	{ ALLOW, BCAST, 5353, DISCO_FORWARD },
	{ ALLOW, BCAST, 67, DISCO_FORWARD },
	{ ALLOW, BCAST, 68, DISCO_FORWARD },
	{ ALLOW, "239.255.255.250", 1900, DISCO_FORWARD },
	{ ALLOW, "224.0.0.252", 5355, DISCO_DENIED },
	{ ALLOW, "239.255.255.250", 3702, DISCO_DENIED },
	{ ALLOW, BCAST, 137, DISCO_DENIED },
	{ ALLOW, BCAST, 138, DISCO_DENIED },
	/* ...and does not make other ports forwardable. */
	{ ALLOW, BCAST, 69, DISCO_NOT_GAME },
	{ ALLOW, BCAST, 4000, DISCO_NOT_GAME },
	{ ALLOW, BCAST, 27960, DISCO_FORWARD },
	{ ALLOW, "224.0.2.60", 4445, DISCO_FORWARD },
};

static const char *verdict_name(enum disco_verdict v)
{
	return v == DISCO_FORWARD ? "FORWARD" : v == DISCO_NOT_GAME ? "NOT_GAME" : "DENIED";
}

static void test_verdicts_follow_table_extras_and_denylist(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		enum disco_verdict got = disco_policy_check(&policies[verdicts[i].policy],
							    ip(verdicts[i].dst), verdicts[i].port);

		if (got != verdicts[i].want)
			fail_msg("case %zu (policy %d, %s:%u): %s, want %s", i, verdicts[i].policy,
				 verdicts[i].dst, verdicts[i].port, verdict_name(got),
				 verdict_name(verdicts[i].want));
	}
}

/* The table's invariants: every game has a name and a range, no game range
 * holds a denylisted port (the denylist would hide the game), prefixes have
 * their stated length, and only Minecraft announces to a group. */
static void test_game_table_is_consistent(void **state)
{
	(void)state;
	assert_true(disco_game_table_len >= 14);
	for (size_t i = 0; i < disco_game_table_len; i++) {
		const struct disco_game *g = &disco_game_table[i];

		assert_non_null(g->name);
		assert_true(g->lo >= 1 && g->lo <= g->hi);
		for (uint32_t p = g->lo; p <= g->hi; p++)
			if (disco_port_is_system((uint16_t)p))
				fail_msg("%s: port %u is denylisted", g->name, p);
		if (g->reply_prefix)
			assert_int_equal(strlen(g->reply_prefix), g->reply_prefix_len);
		else
			assert_int_equal(g->reply_prefix_len, 0);
		if (g->group)
			assert_true(IN_MULTICAST(ntohl(g->group)));
	}
}

static void test_game_by_port_names_the_game(void **state)
{
	static const struct {
		uint16_t port;
		const char *name; /* a substring; NULL = none */
	} cases[] = {
		{ 4445, "Minecraft" },    { 27960, "OpenArena" },  { 27963, "OpenArena" },
		{ 27015, "Source" },      { 8305, "Teeworlds" },   { 6112, "Warcraft" },
		{ 6111, "StarCraft" },    { 3979, "OpenTTD" },     { 19132, "Bedrock" },
		{ 10777, "Unreal" },      { 2355, "Trackmania" },  { 2400, "ARMA" },
		{ 44400, "Warsow" },      { 4549, "Torchlight" },  { 42801, "Titan" },
		{ 4444, NULL },           { 5353, NULL },          { 1, NULL },
		{ 65535, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct disco_game *g = disco_game_by_port(cases[i].port);

		if (!cases[i].name) {
			assert_null(g);
			continue;
		}
		assert_non_null(g);
		if (!strstr(g->name, cases[i].name))
			fail_msg("port %u: '%s', want '%s'", cases[i].port, g->name, cases[i].name);
	}
	assert_int_equal(disco_game_by_port(4445)->kind, DISCO_ANNOUNCE);
	assert_int_equal(disco_game_by_port(4445)->group, ip("224.0.2.60").s_addr);
	assert_int_equal(disco_game_by_port(27960)->kind, DISCO_QUERY);
	assert_memory_equal(disco_game_by_port(27960)->reply_prefix,
			    "\xff\xff\xff\xffinfoResponse", 16);
}

static void test_system_ports_are_the_denylist(void **state)
{
	static const uint16_t sys[] = { 67, 68, 137, 138, 1900, 3702, 5353, 5355 };
	int n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		assert_true(disco_port_is_system(sys[i]));
	for (uint32_t p = 0; p <= 65535; p++)
		n += disco_port_is_system((uint16_t)p);
	assert_int_equal(n, sizeof(sys) / sizeof(sys[0]));
}

static void test_native_mode_per_port(void **state)
{
	static const struct {
		uint16_t port;
		bool native;
	} cases[] = {
		{ 27960, true }, { 27963, true }, { 27964, false }, { 4445, false },
		{ 3979, true },  { 6112, false }, { 5000, false },  { 5001, true },
		{ 6000, true },  { 6001, false }, { 1, false },
	};
	struct disco_policy p =
		policy(NULL, "27960-27963=native, 4445=unicast, 3979=native, 5000=unicast, "
			     "4000-6000=native", NULL);
	struct disco_policy none = policy(NULL, NULL, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (disco_policy_native(&p, cases[i].port) != cases[i].native)
			fail_msg("port %u: want %s", cases[i].port,
				 cases[i].native ? "native" : "unicast");
		/* Unicast fan-out is the default. */
		assert_false(disco_policy_native(&none, cases[i].port));
	}
}

static void test_known_groups(void **state)
{
	static const struct {
		int policy;
		const char *group;
		bool known;
	} cases[] = {
		{ DEFAULTS, "224.0.2.60", true },       /* Minecraft */
		{ DEFAULTS, "239.1.2.3", false },
		{ DEFAULTS, "224.0.0.251", false },     /* mDNS: denylisted */
		{ DEFAULTS, "239.255.255.250", false }, /* SSDP: denylisted */
		{ DEFAULTS, "224.0.0.252", false },
		{ EXTRA, "239.1.2.3", true },
		{ EXTRA, "239.9.9.9", true },
		{ EXTRA, "224.0.2.60", true },
		{ EXTRA, "239.1.2.4", false },
		{ EXTRA, "224.0.0.251", false },        /* 5353 listed as a port, still not */
		{ ALLOW, "224.0.0.251", true },         /* allowed mDNS */
		{ ALLOW, "239.255.255.250", true },     /* allowed SSDP (1900) */
		{ ALLOW, "224.0.0.252", false },        /* LLMNR not allowed */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (disco_policy_group_known(&policies[cases[i].policy], ip(cases[i].group)) !=
		    cases[i].known)
			fail_msg("case %zu: %s want %s", i, cases[i].group,
				 cases[i].known ? "known" : "unknown");
}

static bool ranges_hold(const struct portlist_entry *r, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

static void test_capture_ranges_cover_games_extras_and_denylist(void **state)
{
	struct portlist_entry r[128];
	size_t n;

	(void)state;
	n = disco_policy_ranges(&policies[DEFAULTS], r, 128);
	assert_int_equal(n, disco_game_table_len + 8);
	for (size_t i = 0; i < disco_game_table_len; i++) {
		assert_int_equal(r[i].lo, disco_game_table[i].lo);
		assert_int_equal(r[i].hi, disco_game_table[i].hi);
	}
	for (uint32_t p = 1; p <= 65535; p++) {
		bool want = disco_game_by_port((uint16_t)p) || disco_port_is_system((uint16_t)p);

		if (ranges_hold(r, n, (uint16_t)p) != want)
			fail_msg("defaults: port %u", p);
	}

	n = disco_policy_ranges(&policies[EXTRA], r, 128);
	assert_int_equal(n, disco_game_table_len + 6 + 8);
	for (uint16_t p = 7777; p <= 7780; p++)
		assert_true(ranges_hold(r, n, p));
	assert_true(ranges_hold(r, n, 4000));
	assert_true(ranges_hold(r, n, 5000));
	assert_false(ranges_hold(r, n, 7781));

	/* Bounded by cap. */
	assert_int_equal(disco_policy_ranges(&policies[EXTRA], r, 3), 3);
	assert_int_equal(disco_policy_ranges(&policies[EXTRA], r, disco_game_table_len + 2),
			 disco_game_table_len + 2);
	assert_int_equal(disco_policy_ranges(&policies[EXTRA], r, 0), 0);
}

static const struct {
	const char *ports, *modes, *allow;
	const char *setting, *entry;
} parse_errors[] = {
	{ "4000,x", NULL, NULL, "lan_discovery_ports", "'x'" },
	{ "0", NULL, NULL, "lan_discovery_ports", "'0'" },
	{ "10.0.0.1:5000", NULL, NULL, "lan_discovery_ports", "'10.0.0.1:5000'" },
	{ "4000=native", NULL, NULL, "lan_discovery_ports", "'4000=native'" },
	{ NULL, "4445", NULL, "lan_discovery_mode", "'4445'" },
	{ NULL, "4445=multicast", NULL, "lan_discovery_mode", "'4445=multicast'" },
	{ NULL, "224.0.2.60:4445=native", NULL, "lan_discovery_mode", "'224.0.2.60:4445=native'" },
	{ NULL, NULL, "mdns", "lan_discovery_allow_system", "'mdns'" },
	{ NULL, NULL, "224.0.0.251:5353", "lan_discovery_allow_system", "'224.0.0.251:5353'" },
	{ NULL, NULL, "5353=native", "lan_discovery_allow_system", "'5353=native'" },
	/* The first bad setting is the one named. */
	{ "bad", "bad", "bad", "lan_discovery_ports", "'bad'" },
	{ "4000", "bad", "bad", "lan_discovery_mode", "'bad'" },
};

static void test_parse_errors_name_the_setting_and_change_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++) {
		struct disco_policy p, before;
		char err[256] = "";

		p = policy("4000", "27960=native", "5353");
		p.enabled = false;
		memcpy(&before, &p, sizeof(p));
		assert_int_equal(disco_policy_parse(&p, true, parse_errors[i].ports,
						    parse_errors[i].modes, parse_errors[i].allow, err,
						    sizeof(err)),
				 -EINVAL);
		assert_memory_equal(&p, &before, sizeof(p));
		if (strncmp(err, parse_errors[i].setting, strlen(parse_errors[i].setting)) ||
		    !strstr(err, parse_errors[i].entry))
			fail_msg("case %zu: '%s' should name %s and %s", i, err,
				 parse_errors[i].setting, parse_errors[i].entry);
	}
}

static void test_parse_takes_all_three_settings(void **state)
{
	struct disco_policy p;
	char err[256];

	(void)state;
	assert_int_equal(disco_policy_parse(&p, false, " 4000 , 239.1.2.3:5000", "4000=native",
					    "5353", err, sizeof(err)),
			 0);
	assert_false(p.enabled);
	assert_int_equal(p.extra.n, 2);
	assert_int_equal(p.extra.e[1].group, ip("239.1.2.3").s_addr);
	assert_int_equal(p.modes.n, 1);
	assert_int_equal(p.modes.e[0].mode, PORTLIST_MODE_NATIVE);
	assert_int_equal(p.allow_system.n, 1);
	assert_int_equal(disco_policy_parse(&p, true, "", "", "", err, sizeof(err)), 0);
	assert_true(p.enabled);
	assert_int_equal(p.extra.n + p.modes.n + p.allow_system.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_follow_table_extras_and_denylist),
		cmocka_unit_test(test_game_table_is_consistent),
		cmocka_unit_test(test_game_by_port_names_the_game),
		cmocka_unit_test(test_system_ports_are_the_denylist),
		cmocka_unit_test(test_native_mode_per_port),
		cmocka_unit_test(test_known_groups),
		cmocka_unit_test(test_capture_ranges_cover_games_extras_and_denylist),
		cmocka_unit_test(test_parse_errors_name_the_setting_and_change_nothing),
		cmocka_unit_test(test_parse_takes_all_three_settings),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
