/*
 * test_cand_mon: candidate lists (dedup, v4-mapped unmapping, refusals,
 * capacity, LAN classification, local addresses: IPv4 first, global IPv6
 * only and at most CAND_LOCAL_V6_MAX, never loopback or the party's
 * interface; path ranks), the
 * filter of member candidates (a table of addresses and verdicts; selection
 * bounded, deduplicated, public first, replaced each time) and the
 * monitor statistics (RTT EWMA and jitter on fixed clocks, loss over the
 * window, consecutive losses, late and unknown replies ignored). Clocks are
 * plain numbers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
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
	bool v6 = false;

	(void)state;
	assert_int_equal(cand_local(&l, NULL, 4242), 0);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(wg_endpoint_port(&l.ep[i]), 4242);
		if (l.ep[i].sa.sa_family == AF_INET6) {
			v6 = true;
			assert_true(cand_v6_global(&l.ep[i].in6.sin6_addr));
			continue;
		}
		assert_int_equal(l.ep[i].sa.sa_family, AF_INET);
		assert_false(v6); /* IPv4 ones first */
		assert_int_not_equal(ntohl(l.ep[i].in4.sin_addr.s_addr) >> 24, 127);
	}
}

/* A made-up interface list for cand_local_from. */
struct fake_if {
	const char *name;
	const char *addr; /* numeric IPv4 or IPv6 */
	unsigned flags;
};

static void fake_ifaddrs(const struct fake_if *f, size_t n, struct ifaddrs *ifa,
			 struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n; i++) {
		memset(&ifa[i], 0, sizeof(ifa[i]));
		memset(&ss[i], 0, sizeof(ss[i]));
		ifa[i].ifa_next = i + 1 < n ? &ifa[i + 1] : NULL;
		ifa[i].ifa_name = (char *)f[i].name;
		ifa[i].ifa_flags = f[i].flags;
		ifa[i].ifa_addr = (struct sockaddr *)&ss[i];
		if (inet_pton(AF_INET, f[i].addr, &((struct sockaddr_in *)&ss[i])->sin_addr) == 1)
			ss[i].ss_family = AF_INET;
		else if (inet_pton(AF_INET6, f[i].addr, &((struct sockaddr_in6 *)&ss[i])->sin6_addr) == 1)
			ss[i].ss_family = AF_INET6;
		else
			fail_msg("%s", f[i].addr);
	}
}

static void assert_cands(const struct cand_list *l, const char *const *want, size_t n)
{
	char s[64];

	for (size_t i = 0; i < l->n && i < n; i++) {
		wg_endpoint_format(&l->ep[i], s, sizeof(s));
		if (strcmp(s, want[i]))
			fail_msg("candidate %zu: %s, want %s", i, s, want[i]);
	}
	assert_int_equal(l->n, n);
}

#define UP (IFF_UP | IFF_RUNNING)

/* IPv6 interleaved with IPv4 as getifaddrs gives them: every IPv4 first,
 * then global IPv6 only, at most CAND_LOCAL_V6_MAX, in the order given;
 * never loopback, a down interface or the party's own. */
static void test_cand_local_order_and_filter(void **state)
{
	static const struct fake_if ifs[] = {
		{ "lo", "127.0.0.1", UP | IFF_LOOPBACK },
		{ "lo", "::1", UP | IFF_LOOPBACK },
		{ "eth0", "fe80::1", UP },              /* link-local */
		{ "eth0", "2001:db8:1::2", UP },
		{ "eth0", "192.168.1.2", UP },
		{ "eth0", "fd00::2", UP },              /* ULA */
		{ "eth0", "fec0::2", UP },              /* site-local */
		{ "eth0", "::ffff:192.0.2.1", UP },     /* v4-mapped */
		{ "lr0", "2001:db8:66::1", UP },        /* the party's interface */
		{ "lr0", "10.66.0.1", UP },
		{ "down0", "2001:db8:dead::1", 0 },     /* down */
		{ "down0", "172.16.0.1", 0 },
		{ "wlan0", "2001:db8:2::3", UP },
		{ "wlan0", "2001:db8:2::3", UP },       /* twice: once in the list */
		{ "wlan0", "2001:db8:2::4", UP },
		{ "wlan0", "10.0.0.7", UP },
		{ "wlan0", "2001:db8:2::5", UP },
		{ "wlan0", "2001:db8:2::6", UP },       /* one IPv6 too many */
	};
	static const char *const want[] = {
		"192.168.1.2:4242",       "10.0.0.7:4242",          "[2001:db8:1::2]:4242",
		"[2001:db8:2::3]:4242",   "[2001:db8:2::4]:4242",   "[2001:db8:2::5]:4242",
	};
	enum { N = sizeof(ifs) / sizeof(ifs[0]) };
	struct ifaddrs ifa[N];
	struct sockaddr_storage ss[N];
	struct cand_list l = { .n = 0 };

	(void)state;
	fake_ifaddrs(ifs, N, ifa, ss);
	cand_local_from(&l, ifa, "lr0", 4242, NULL);
	assert_cands(&l, want, sizeof(want) / sizeof(want[0]));
	/* the STUN mappings already in the list stay first */
	l.n = 0;
	assert_int_equal(cand_add_str(&l, "203.0.113.9:40000"), 0);
	cand_local_from(&l, ifa, "lr0", 4242, NULL);
	assert_int_equal(l.n, 7);
	assert_int_equal(wg_endpoint_port(&l.ep[0]), 40000);
}

/* The address our probes leave from is the first IPv6 one, even past the
 * cap; a preferred address we do not have, or may not publish, is not. */
static void test_cand_local_source_first(void **state)
{
	static const struct fake_if ifs[] = {
		{ "eth0", "2001:db8:1::2", UP },  { "eth0", "2001:db8:1::3", UP },
		{ "eth0", "2001:db8:1::4", UP },  { "eth0", "2001:db8:1::5", UP },
		{ "eth0", "192.168.1.2", UP },    { "eth0", "2001:db8:1::abcd", UP },
		{ "eth0", "fd00::9", UP },
	};
	static const char *const want[] = {
		"192.168.1.2:1",        "[2001:db8:1::abcd]:1", "[2001:db8:1::2]:1",
		"[2001:db8:1::3]:1",    "[2001:db8:1::4]:1",
	};
	static const char *const as_listed[] = {
		"192.168.1.2:1",     "[2001:db8:1::2]:1", "[2001:db8:1::3]:1",
		"[2001:db8:1::4]:1", "[2001:db8:1::5]:1",
	};
	static const char *const others[] = { "2001:db8:9::1", "fd00::9" };
	enum { N = sizeof(ifs) / sizeof(ifs[0]) };
	struct ifaddrs ifa[N];
	struct sockaddr_storage ss[N];
	struct cand_list l = { .n = 0 };
	struct in6_addr pref;

	(void)state;
	fake_ifaddrs(ifs, N, ifa, ss);
	inet_pton(AF_INET6, "2001:db8:1::abcd", &pref);
	cand_local_from(&l, ifa, NULL, 1, &pref);
	assert_cands(&l, want, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < 2; i++) {
		l.n = 0;
		inet_pton(AF_INET6, others[i], &pref);
		cand_local_from(&l, ifa, NULL, 1, &pref);
		assert_cands(&l, as_listed, sizeof(as_listed) / sizeof(as_listed[0]));
	}
}

/* Short of room, the IPv4 candidates get it. */
static void test_cand_local_full_keeps_ipv4(void **state)
{
	static const struct fake_if ifs[] = {
		{ "eth0", "2001:db8:1::2", UP },
		{ "eth0", "192.168.1.2", UP },
		{ "eth1", "2001:db8:3::2", UP },
		{ "eth1", "192.168.3.2", UP },
	};
	enum { N = sizeof(ifs) / sizeof(ifs[0]) };
	struct ifaddrs ifa[N];
	struct sockaddr_storage ss[N];
	struct cand_list l = { .n = 0 };
	char s[32];

	(void)state;
	fake_ifaddrs(ifs, N, ifa, ss);
	for (int i = 0; l.n < CAND_MAX - 3; i++) {
		snprintf(s, sizeof(s), "198.51.100.1:%d", 1000 + i);
		assert_int_equal(cand_add_str(&l, s), 0);
	}
	cand_local_from(&l, ifa, NULL, 51820, NULL);
	assert_int_equal(l.n, CAND_MAX);
	wg_endpoint_format(&l.ep[CAND_MAX - 3], s, sizeof(s));
	assert_string_equal(s, "192.168.1.2:51820");
	wg_endpoint_format(&l.ep[CAND_MAX - 2], s, sizeof(s));
	assert_string_equal(s, "192.168.3.2:51820");
	wg_endpoint_format(&l.ep[CAND_MAX - 1], s, sizeof(s));
	assert_string_equal(s, "[2001:db8:1::2]:51820");
}

static void test_cand_v6_global(void **state)
{
	static const struct {
		const char *a;
		bool global;
	} cases[] = {
		{ "2001:db8::1", true },  { "2a00:1450:4001::1", true }, { "3fff::1", true },
		{ "::", false },          { "::1", false },              { "fe80::1", false },
		{ "febf::1", false },     { "fec0::1", false },          { "fc00::1", false },
		{ "fdff::1", false },     { "ff02::1", false },          { "ff0e::1", false },
		{ "::ffff:192.0.2.1", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in6_addr a;

		assert_int_equal(inet_pton(AF_INET6, cases[i].a, &a), 1);
		if (cand_v6_global(&a) != cases[i].global)
			fail_msg("%s", cases[i].a);
	}
}

/* LAN beats IPv6 beats a NAT's public IPv4 mapping. */
static void test_cand_rank(void **state)
{
	static const struct {
		const char *s;
		int rank;
	} cases[] = {
		{ "192.168.1.2:1", CAND_RANK_LAN },     { "10.0.0.1:1", CAND_RANK_LAN },
		{ "169.254.1.1:1", CAND_RANK_LAN },     { "[fe80::1]:1", CAND_RANK_LAN },
		{ "[fd12::1]:1", CAND_RANK_LAN },       { "[2001:db8::1]:1", CAND_RANK_V6 },
		{ "[2a00::1]:1", CAND_RANK_V6 },        { "203.0.113.5:1", CAND_RANK_PUBLIC4 },
		{ "[::ffff:203.0.113.5]:1", CAND_RANK_PUBLIC4 },
		{ "[::ffff:192.168.1.2]:1", CAND_RANK_LAN },
	};

	(void)state;
	assert_true(CAND_RANK_LAN > CAND_RANK_V6 && CAND_RANK_V6 > CAND_RANK_PUBLIC4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_endpoint ep;

		assert_int_equal(wg_endpoint_parse(&ep, cases[i].s), 0);
		if (cand_rank(&ep) != cases[i].rank)
			fail_msg("%s: rank %d, want %d", cases[i].s, cand_rank(&ep), cases[i].rank);
	}
}

/* A host with the party on 10.66.0.0/16, a LAN 192.168.1.0/24 (broadcast
 * 192.168.1.255), a link-local 169.254.7.0/24 and IPv6 link-local fe80::/64. */
static void filter_fixture(struct cand_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->has_virtual = true;
	f->virtual_net.family = AF_INET;
	inet_pton(AF_INET, "10.66.0.1", &f->virtual_net.v4);
	f->virtual_net.prefix = 16;
	inet_pton(AF_INET, "192.168.1.255", &f->bcast[f->n_bcast++]);
	f->onlink[0].family = AF_INET;
	inet_pton(AF_INET, "169.254.7.9", &f->onlink[0].v4);
	f->onlink[0].prefix = 24;
	f->onlink[1].family = AF_INET6;
	inet_pton(AF_INET6, "fe80::1", &f->onlink[1].v6);
	f->onlink[1].prefix = 64;
	f->n_onlink = 2;
}

static void test_cand_check_table(void **state)
{
	static const struct {
		const char *s;
		enum cand_verdict v;
	} cases[] = {
		{ "203.0.113.5:51820", CAND_OK },
		{ "192.168.1.7:51820", CAND_OK },
		{ "10.1.2.3:51820", CAND_OK },
		{ "[2001:db8::1]:51820", CAND_OK },
		{ "[::ffff:203.0.113.5]:51820", CAND_OK },
		{ "[2a00:1450:4001:82b::200e]:51820", CAND_OK },
		{ "[fd00:1::5]:51820", CAND_OK }, /* ULA: a member on our site */
		{ "[2001:db8::1]:0", CAND_PORT_ZERO },
		{ "[ff0e::1]:51820", CAND_MULTICAST },
		{ "[ff05::1:3]:547", CAND_MULTICAST },
		{ "[::ffff:224.0.0.1]:51820", CAND_MULTICAST },
		{ "[::ffff:10.66.0.2]:51820", CAND_VIRTUAL },
		{ "203.0.113.5:0", CAND_PORT_ZERO },
		{ "0.0.0.0:51820", CAND_UNSPECIFIED },
		{ "0.1.2.3:51820", CAND_UNSPECIFIED },
		{ "[::]:51820", CAND_UNSPECIFIED },
		{ "127.0.0.1:53", CAND_LOOPBACK },
		{ "127.255.0.9:53", CAND_LOOPBACK },
		{ "[::1]:53", CAND_LOOPBACK },
		{ "[::ffff:127.0.0.1]:53", CAND_LOOPBACK },
		{ "224.0.0.1:51820", CAND_MULTICAST },
		{ "239.255.255.250:1900", CAND_MULTICAST },
		{ "[ff02::1]:51820", CAND_MULTICAST },
		{ "255.255.255.255:51820", CAND_BROADCAST },
		{ "192.168.1.255:51820", CAND_BROADCAST },
		{ "240.0.0.1:51820", CAND_RESERVED },
		{ "169.254.7.20:51820", CAND_OK },
		{ "169.254.8.20:51820", CAND_LINK_LOCAL },
		{ "[fe80::2]:51820", CAND_OK },
		{ "[fe80:0:0:1::2]:51820", CAND_LINK_LOCAL },
		{ "10.66.0.2:51820", CAND_VIRTUAL },
		{ "10.66.255.255:51820", CAND_VIRTUAL },
		{ "10.67.0.1:51820", CAND_OK },
	};
	struct cand_filter f, none = { .n_bcast = 0 };

	(void)state;
	filter_fixture(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_endpoint ep;
		enum cand_verdict v;

		assert_int_equal(wg_endpoint_parse(&ep, cases[i].s), 0);
		v = cand_check(&f, &ep);
		if (v != cases[i].v)
			fail_msg("%s: %s, expected %s", cases[i].s, cand_verdict_name(v),
				 cand_verdict_name(cases[i].v));
		assert_string_not_equal(cand_verdict_name(v), "?");
	}
	/* with nothing known of the host, every link-local address is refused
	 * and the virtual subnet is not */
	{
		struct wg_endpoint ep;

		wg_endpoint_parse(&ep, "169.254.7.20:51820");
		assert_int_equal(cand_check(&none, &ep), CAND_LINK_LOCAL);
		wg_endpoint_parse(&ep, "10.66.0.2:51820");
		assert_int_equal(cand_check(&none, &ep), CAND_OK);
	}
}

static void add(struct cand_list *l, const char *s)
{
	struct wg_endpoint ep;

	assert_int_equal(wg_endpoint_parse(&ep, s), 0);
	l->ep[l->n++] = ep; /* raw, as a member sent it: duplicates and all */
}

static bool has(const struct cand_list *l, const char *s)
{
	struct wg_endpoint ep;

	wg_endpoint_parse(&ep, s);
	wg_endpoint_unmap(&ep);
	for (size_t i = 0; i < l->n; i++)
		if (wg_endpoint_equal(&l->ep[i], &ep))
			return true;
	return false;
}

static void test_cand_select(void **state)
{
	struct cand_list in = { .n = 0 }, out = { .n = 0 };
	struct cand_filter f;
	char s[32];

	(void)state;
	filter_fixture(&f);
	add(&in, "127.0.0.1:53");
	add(&in, "224.0.0.1:51820");
	add(&in, "0.0.0.0:51820");
	add(&in, "10.66.0.9:51820");
	for (int i = 0; i < 12; i++) { /* more private ones than fit */
		snprintf(s, sizeof(s), "192.168.1.%d:51820", 10 + i);
		add(&in, s);
	}
	add(&in, "192.168.1.10:51820"); /* duplicate */
	add(&in, "[::ffff:192.168.1.10]:51820"); /* the same, mapped */
	add(&in, "203.0.113.5:40000"); /* the NAT's mapping comes last */
	assert_int_equal(cand_select(&out, &in, &f, "m"), 4);
	assert_int_equal(out.n, CAND_MEMBER_MAX);
	assert_true(wg_endpoint_equal(&out.ep[0], &in.ep[in.n - 1])); /* public first */
	assert_true(has(&out, "192.168.1.10:51820"));
	assert_false(has(&out, "127.0.0.1:53"));
	assert_false(has(&out, "10.66.0.9:51820"));
	for (size_t i = 0; i < out.n; i++)
		for (size_t j = i + 1; j < out.n; j++)
			assert_false(wg_endpoint_equal(&out.ep[i], &out.ep[j]));
	/* the next update replaces the list: nothing of the old one stays */
	in.n = 0;
	add(&in, "198.51.100.7:51820");
	assert_int_equal(cand_select(&out, &in, &f, "m"), 0);
	assert_int_equal(out.n, 1);
	assert_true(has(&out, "198.51.100.7:51820"));
	in.n = 0;
	add(&in, "127.0.0.1:53");
	cand_select(&out, &in, &f, NULL);
	assert_int_equal(out.n, 0);
}

/* The filter read from this host: the interface named as ours gives the
 * virtual subnet; loopback gives no on-link net. */
static void test_cand_filter_init(void **state)
{
	struct cand_filter f;
	struct wg_endpoint ep;

	(void)state;
	assert_int_equal(cand_filter_init(&f, "lo"), 0);
	assert_true(f.has_virtual);
	assert_int_equal(f.virtual_net.prefix, 8);
	wg_endpoint_parse(&ep, "127.0.0.1:53");
	assert_int_equal(cand_check(&f, &ep), CAND_LOOPBACK);
	assert_int_equal(cand_filter_init(&f, "no-such-if"), 0);
	assert_false(f.has_virtual);
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
		cmocka_unit_test(test_cand_local_order_and_filter),
		cmocka_unit_test(test_cand_local_full_keeps_ipv4),
		cmocka_unit_test(test_cand_local_source_first),
		cmocka_unit_test(test_cand_v6_global),
		cmocka_unit_test(test_cand_rank),
		cmocka_unit_test(test_cand_check_table),
		cmocka_unit_test(test_cand_select),
		cmocka_unit_test(test_cand_filter_init),
		cmocka_unit_test(test_mon_rtt_jitter),
		cmocka_unit_test(test_mon_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
