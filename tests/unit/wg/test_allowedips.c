/*
 * test_allowedips: the longest-prefix-match trie. Hand-picked cases for each
 * rule of the API (IPv4 and IPv6, default and host routes, nesting, masking,
 * moving a prefix between owners, removal only by the owner, argument
 * checks), walk order, and a seeded differential test against a linear
 * reference table. Set LR_TEST_SEED to replay a failing random run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "wg/allowedips.h"

static int owner_slots[4];
#define A ((void *)&owner_slots[0])
#define B ((void *)&owner_slots[1])
#define C ((void *)&owner_slots[2])
#define D ((void *)&owner_slots[3])
#define NOWNERS 4

struct pfx {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
};

/* "10.0.0.0/8", "fd42::/48" or a bare address (cidr is then the full length). */
static struct pfx parse(const char *s)
{
	struct pfx p = { 0 };
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	p.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, buf, p.addr), 1);
	p.cidr = slash ? (uint8_t)atoi(slash + 1) : (p.family == AF_INET ? 32 : 128);
	return p;
}

static int ins(struct wg_allowedips *t, const char *s, void *owner)
{
	struct pfx p = parse(s);

	return wg_allowedips_insert(t, p.family, p.addr, p.cidr, owner);
}

static int del(struct wg_allowedips *t, const char *s, void *owner)
{
	struct pfx p = parse(s);

	return wg_allowedips_remove(t, p.family, p.addr, p.cidr, owner);
}

static void *look(const struct wg_allowedips *t, const char *s)
{
	struct pfx p = parse(s);

	return wg_allowedips_lookup(t, p.family, p.addr);
}

struct walk_buf {
	char s[1024];
};

static void walk_fmt_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_buf *w = ctx;
	char ip[INET6_ADDRSTRLEN];
	size_t len = strlen(w->s);

	assert_non_null(inet_ntop(family, addr, ip, sizeof(ip)));
	snprintf(w->s + len, sizeof(w->s) - len, "%s%s/%u", len ? ", " : "", ip, cidr);
}

/* The owner's prefixes as "a/n, b/m" in walk order. */
static const char *walk_str(const struct wg_allowedips *t, const void *owner,
			    struct walk_buf *w)
{
	w->s[0] = '\0';
	wg_allowedips_walk_owner(t, owner, walk_fmt_cb, w);
	return w->s;
}

static void test_lpm_v4(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_null(look(&t, "10.1.2.3"));
	assert_int_equal(ins(&t, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(&t, "10.1.2.3/32", D), 0);
	assert_int_equal(ins(&t, "10.1.0.0/16", B), 0);
	assert_int_equal(ins(&t, "10.1.2.0/24", C), 0);
	assert_ptr_equal(look(&t, "10.200.0.1"), A);
	assert_ptr_equal(look(&t, "10.1.9.9"), B);
	assert_ptr_equal(look(&t, "10.1.2.4"), C);
	assert_ptr_equal(look(&t, "10.1.2.3"), D);
	assert_ptr_equal(look(&t, "10.1.2.2"), C);
	assert_ptr_equal(look(&t, "10.1.3.3"), B);
	assert_ptr_equal(look(&t, "10.0.255.255"), A);
	assert_ptr_equal(look(&t, "10.255.255.255"), A);
	/* Neighbours of 10.0.0.0/8 on both sides are outside it. */
	assert_null(look(&t, "9.255.255.255"));
	assert_null(look(&t, "11.0.0.0"));
	assert_null(look(&t, "138.1.2.3")); /* differs from 10.1.2.3 only in the top bit */
	wg_allowedips_free(&t);
}

static void test_lpm_v6(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "fd00::/8", A), 0);
	assert_int_equal(ins(&t, "fd42::/48", B), 0);
	assert_int_equal(ins(&t, "fd42::1/128", C), 0);
	assert_int_equal(ins(&t, "fd42:0:0:1::/64", D), 0);
	assert_int_equal(ins(&t, "fd42:0:0:1:8000::/65", C), 0);
	assert_int_equal(ins(&t, "2001:db8::/32", D), 0);
	assert_ptr_equal(look(&t, "fd99::1"), A);
	assert_ptr_equal(look(&t, "fd42::2"), B);
	assert_ptr_equal(look(&t, "fd42::1"), C);
	assert_ptr_equal(look(&t, "fd42::"), B);
	assert_ptr_equal(look(&t, "fd42:0:0:1::5"), D);
	assert_ptr_equal(look(&t, "fd42:0:0:1:7fff:ffff:ffff:ffff"), D);
	assert_ptr_equal(look(&t, "fd42:0:0:1:8000::"), C);
	assert_ptr_equal(look(&t, "fd42:0:0:1:ffff::1"), C);
	assert_ptr_equal(look(&t, "fd42:0:0:2::"), B);
	assert_ptr_equal(look(&t, "fd42:0:0:ffff::"), B);
	assert_ptr_equal(look(&t, "fd42:0:1::"), A);
	assert_ptr_equal(look(&t, "fd42:1::"), A);
	assert_ptr_equal(look(&t, "2001:db8:ffff::1"), D);
	assert_null(look(&t, "2001:db9::"));
	assert_null(look(&t, "fc42::1"));
	assert_null(look(&t, "::"));
	wg_allowedips_free(&t);
}

static void test_default_routes(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "0.0.0.0/0", A), 0);
	assert_ptr_equal(look(&t, "1.2.3.4"), A);
	assert_ptr_equal(look(&t, "255.255.255.255"), A);
	assert_ptr_equal(look(&t, "0.0.0.0"), A);
	/* The families are separate tables. */
	assert_null(look(&t, "::1"));
	assert_null(look(&t, "::ffff:1.2.3.4"));
	assert_int_equal(ins(&t, "::/0", B), 0);
	assert_int_equal(ins(&t, "10.0.0.0/8", C), 0);
	assert_ptr_equal(look(&t, "::1"), B);
	assert_ptr_equal(look(&t, "ffff::"), B);
	assert_ptr_equal(look(&t, "10.0.0.1"), C);
	assert_ptr_equal(look(&t, "11.0.0.1"), A);
	/* Removing the default route leaves the more specific one. */
	assert_int_equal(del(&t, "0.0.0.0/0", A), 0);
	assert_null(look(&t, "11.0.0.1"));
	assert_ptr_equal(look(&t, "10.0.0.1"), C);
	assert_int_equal(del(&t, "::/0", B), 0);
	assert_null(look(&t, "::1"));
	wg_allowedips_free(&t);
}

static void test_host_routes(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "192.168.1.7/32", A), 0);
	assert_int_equal(ins(&t, "192.168.1.6/32", B), 0);
	assert_int_equal(ins(&t, "fd42::7/128", A), 0);
	assert_int_equal(ins(&t, "fd42::6/128", B), 0);
	assert_ptr_equal(look(&t, "192.168.1.7"), A);
	assert_ptr_equal(look(&t, "192.168.1.6"), B);
	assert_null(look(&t, "192.168.1.5"));
	assert_null(look(&t, "192.168.1.8"));
	assert_null(look(&t, "192.168.1.4"));
	assert_ptr_equal(look(&t, "fd42::7"), A);
	assert_ptr_equal(look(&t, "fd42::6"), B);
	assert_null(look(&t, "fd42::5"));
	assert_null(look(&t, "fd42::8"));
	assert_null(look(&t, "fd42::1:7"));
	wg_allowedips_free(&t);
}

static void test_insert_masks_host_bits(void **state)
{
	struct wg_allowedips t;
	struct walk_buf w;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "10.1.2.3/16", A), 0);
	assert_int_equal(ins(&t, "fd42::abcd:1/48", A), 0);
	assert_int_equal(ins(&t, "192.168.77.77/0", B), 0);
	assert_string_equal(walk_str(&t, A, &w), "10.1.0.0/16, fd42::/48");
	assert_string_equal(walk_str(&t, B, &w), "0.0.0.0/0");
	assert_ptr_equal(look(&t, "10.1.200.1"), A);
	assert_ptr_equal(look(&t, "10.2.0.0"), B);
	/* Re-inserting with other host bits names the same prefix. */
	assert_int_equal(ins(&t, "10.1.9.9/16", C), 0);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 1);
	assert_ptr_equal(look(&t, "10.1.2.3"), C);
	/* Removal masks too. */
	assert_int_equal(del(&t, "10.1.255.255/16", C), 0);
	assert_int_equal(del(&t, "fd42:0:0:ffff::/48", A), 0);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 0);
	assert_ptr_equal(look(&t, "10.1.2.3"), B);
	wg_allowedips_free(&t);
}

static void test_reinsert_moves_owner(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0/24", A), 0);
	assert_int_equal(ins(&t, "fd42::/64", A), 0);
	assert_int_equal(ins(&t, "10.0.0.0/24", B), 0);
	assert_ptr_equal(look(&t, "10.0.0.9"), B);
	assert_ptr_equal(look(&t, "fd42::9"), A);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 1);
	assert_int_equal(wg_allowedips_count_owner(&t, B), 1);
	assert_int_equal(del(&t, "10.0.0.0/24", A), -ENOENT);
	assert_ptr_equal(look(&t, "10.0.0.9"), B);
	assert_int_equal(del(&t, "10.0.0.0/24", B), 0);
	assert_null(look(&t, "10.0.0.9"));
	/* Inserting the same prefix for the same owner again is a no-op. */
	assert_int_equal(ins(&t, "fd42::/64", A), 0);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 1);
	wg_allowedips_free(&t);
}

static void test_remove_only_by_owner(void **state)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0/24", A), 0);
	assert_int_equal(ins(&t, "10.0.1.0/24", B), 0);
	assert_int_equal(ins(&t, "fd42::/64", A), 0);
	assert_int_equal(del(&t, "10.0.0.0/24", B), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/24", NULL), -ENOENT);
	/* The two /24s share 10.0.0.0/23 inside the trie, but nobody owns it. */
	assert_int_equal(del(&t, "10.0.0.0/23", A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/23", NULL), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/25", A), -ENOENT);
	assert_int_equal(del(&t, "10.0.2.0/24", A), -ENOENT);
	/* Same bits, other family. */
	assert_int_equal(del(&t, "::/24", A), -ENOENT);
	assert_int_equal(del(&t, "fd42::/64", B), -ENOENT);
	assert_ptr_equal(look(&t, "10.0.0.1"), A);
	assert_ptr_equal(look(&t, "10.0.1.1"), B);
	assert_ptr_equal(look(&t, "fd42::1"), A);
	assert_int_equal(del(&t, "10.0.0.0/24", A), 0);
	assert_int_equal(del(&t, "10.0.0.0/24", A), -ENOENT);
	assert_null(look(&t, "10.0.0.1"));
	assert_ptr_equal(look(&t, "10.0.1.1"), B);
	assert_int_equal(del(&t, "10.0.1.0/24", B), 0);
	assert_int_equal(del(&t, "fd42::/64", A), 0);
	/* Nothing is left behind once the last prefix is gone. */
	assert_null(t.root4);
	assert_null(t.root6);
	wg_allowedips_free(&t);
}

static void test_invalid_args_leave_table_unchanged(void **state)
{
	static const uint8_t addr[16] = { 10, 0, 0, 0 };
	struct wg_allowedips t;
	struct walk_buf w;

	wg_allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(&t, "fd42::/48", A), 0);
	assert_int_equal(wg_allowedips_insert(&t, AF_UNIX, addr, 8, B), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_UNSPEC, addr, 8, B), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_INET, addr, 33, B), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_INET, addr, 255, B), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_INET6, addr, 129, B), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_INET, addr, 8, NULL), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, AF_INET, addr, 16, NULL), -EINVAL);
	assert_int_equal(wg_allowedips_remove(&t, AF_UNIX, addr, 8, A), -ENOENT);
	assert_int_equal(wg_allowedips_remove(&t, AF_INET, addr, 33, A), -ENOENT);
	assert_null(wg_allowedips_lookup(&t, AF_UNIX, addr));
	assert_ptr_equal(look(&t, "10.0.0.1"), A);
	assert_ptr_equal(look(&t, "fd42::1"), A);
	assert_int_equal(wg_allowedips_count_owner(&t, B), 0);
	assert_string_equal(walk_str(&t, A, &w), "10.0.0.0/8, fd42::/48");
	/* The limits themselves are valid. */
	assert_int_equal(wg_allowedips_insert(&t, AF_INET, addr, 32, B), 0);
	assert_int_equal(ins(&t, "fd42::1/128", B), 0);
	assert_int_equal(wg_allowedips_count_owner(&t, B), 2);
	wg_allowedips_free(&t);
}

static void test_remove_owner_keeps_others(void **state)
{
	static const char *const pfx[][2] = {
		{ "0.0.0.0/0", "A" },	  { "10.0.0.0/8", "B" },    { "10.1.0.0/16", "C" },
		{ "10.1.2.0/24", "B" },	  { "10.1.3.0/24", "A" },   { "10.1.2.3/32", "C" },
		{ "10.1.2.4/32", "B" },	  { "172.16.0.0/12", "B" }, { "::/0", "C" },
		{ "fd42::/48", "B" },	  { "fd42::1/128", "A" },   { "fd42::2/128", "B" },
		{ "fd42:0:0:8000::/49", "C" },
	};
	void *who[128] = { ['A'] = A, ['B'] = B, ['C'] = C };
	struct wg_allowedips t;
	struct walk_buf w;

	wg_allowedips_init(&t);
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		assert_int_equal(ins(&t, pfx[i][0], who[(unsigned char)pfx[i][1][0]]), 0);
	assert_int_equal(wg_allowedips_count_owner(&t, B), 6);
	wg_allowedips_remove_owner(&t, B);
	assert_int_equal(wg_allowedips_count_owner(&t, B), 0);
	assert_string_equal(walk_str(&t, A, &w), "0.0.0.0/0, 10.1.3.0/24, fd42::1/128");
	assert_string_equal(walk_str(&t, C, &w),
			    "10.1.0.0/16, 10.1.2.3/32, ::/0, fd42:0:0:8000::/49");
	assert_ptr_equal(look(&t, "10.1.2.4"), C);
	assert_ptr_equal(look(&t, "10.1.2.3"), C);
	assert_ptr_equal(look(&t, "10.1.3.9"), A);
	assert_ptr_equal(look(&t, "10.2.0.0"), A);
	assert_ptr_equal(look(&t, "172.16.0.1"), A);
	assert_ptr_equal(look(&t, "fd42::2"), C);
	assert_ptr_equal(look(&t, "fd42::1"), A);
	assert_ptr_equal(look(&t, "fd42:0:0:8000::2"), C);
	wg_allowedips_remove_owner(&t, D); /* owns nothing: no effect */
	wg_allowedips_remove_owner(&t, NULL);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 3);
	wg_allowedips_remove_owner(&t, A);
	assert_ptr_equal(look(&t, "10.2.0.0"), NULL);
	assert_ptr_equal(look(&t, "10.1.3.9"), C);
	wg_allowedips_remove_owner(&t, C);
	/* Every fork became useless and was freed with the last owner. */
	assert_null(t.root4);
	assert_null(t.root6);
	wg_allowedips_free(&t);
}

static void test_walk_order_and_count(void **state)
{
	struct wg_allowedips t;
	struct walk_buf w;

	wg_allowedips_init(&t);
	assert_string_equal(walk_str(&t, A, &w), "");
	assert_int_equal(wg_allowedips_count_owner(&t, A), 0);
	/* Inserted out of order, interleaved with another owner's prefixes. */
	assert_int_equal(ins(&t, "fd42::/48", A), 0);
	assert_int_equal(ins(&t, "10.8.1.0/24", B), 0);
	assert_int_equal(ins(&t, "10.8.1.7/32", A), 0);
	assert_int_equal(ins(&t, "fc00::/7", B), 0);
	assert_int_equal(ins(&t, "10.7.0.0/16", A), 0);
	/* What `wg showconf` must print for this peer (interop test). */
	assert_string_equal(walk_str(&t, A, &w), "10.7.0.0/16, 10.8.1.7/32, fd42::/48");
	assert_int_equal(ins(&t, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(&t, "10.7.0.0/24", A), 0);
	assert_int_equal(ins(&t, "10.7.0.0/17", A), 0);
	assert_int_equal(ins(&t, "::/0", A), 0);
	assert_int_equal(ins(&t, "9.0.0.0/8", A), 0);
	assert_string_equal(walk_str(&t, A, &w),
			    "9.0.0.0/8, 10.0.0.0/8, 10.7.0.0/16, 10.7.0.0/17, 10.7.0.0/24, "
			    "10.8.1.7/32, ::/0, fd42::/48");
	assert_int_equal(wg_allowedips_count_owner(&t, A), 8);
	assert_string_equal(walk_str(&t, B, &w), "10.8.1.0/24, fc00::/7");
	assert_int_equal(wg_allowedips_count_owner(&t, B), 2);
	assert_int_equal(wg_allowedips_count_owner(&t, NULL), 0);
	wg_allowedips_free(&t);
}

/* Every prefix of one address, /0 to /128: the deepest trie there is. */
static void test_deep_chain(void **state)
{
	struct pfx x = parse("fd42:1234:5678:9abc:def0:1357:9bdf:2468");
	struct wg_allowedips t;
	uint8_t probe[16];

	wg_allowedips_init(&t);
	for (int c = 128; c >= 0; c--)
		assert_int_equal(wg_allowedips_insert(&t, AF_INET6, x.addr, (uint8_t)c,
						      &owner_slots[c % 2]),
				 0);
	assert_int_equal(wg_allowedips_count_owner(&t, A), 65);
	/* Flipping bit k leaves exactly the prefixes up to /k. */
	for (int k = 0; k < 128; k++) {
		memcpy(probe, x.addr, 16);
		probe[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
		assert_ptr_equal(wg_allowedips_lookup(&t, AF_INET6, probe), &owner_slots[k % 2]);
	}
	assert_ptr_equal(wg_allowedips_lookup(&t, AF_INET6, x.addr), A);
	/* Without the even lengths, bit k falls back to the longest odd one below. */
	wg_allowedips_remove_owner(&t, A);
	for (int k = 1; k < 128; k++) {
		memcpy(probe, x.addr, 16);
		probe[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
		assert_ptr_equal(wg_allowedips_lookup(&t, AF_INET6, probe), B);
	}
	memcpy(probe, x.addr, 16);
	probe[0] ^= 0x80;
	assert_null(wg_allowedips_lookup(&t, AF_INET6, probe));
	for (int c = 1; c <= 127; c += 2)
		assert_int_equal(wg_allowedips_remove(&t, AF_INET6, x.addr, (uint8_t)c, B), 0);
	assert_null(t.root6);
	wg_allowedips_free(&t);
}

/* ---- Differential test against a linear reference table. ---- */

enum { REF_MAX = 8192, DIFF_OPS = 6000, POOL = 6 };

struct ref_entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	void *owner;
};

struct diff {
	uint64_t seed;
	uint64_t rng;
	int op;
	struct wg_allowedips t;
	struct ref_entry ref[REF_MAX];
	size_t nref;
	uint8_t pool[2][POOL][16];
};

/* splitmix64: deterministic on every platform, unlike rand(). */
static uint64_t rnd(struct diff *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd_below(struct diff *d, unsigned n)
{
	return (unsigned)(rnd(d) % n);
}

static unsigned fam_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void ref_mask(uint8_t *a, unsigned cidr)
{
	for (unsigned i = 0; i < 128; i++)
		if (i >= cidr)
			a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static int ref_prefix_has(const struct ref_entry *e, int family, const uint8_t *addr)
{
	uint8_t a[16] = { 0 };

	if (e->family != family)
		return 0;
	memcpy(a, addr, fam_bits(family) / 8);
	ref_mask(a, e->cidr);
	return !memcmp(a, e->addr, 16);
}

/* The entry for addr/cidr; addr's host bits are ignored. */
static struct ref_entry *ref_find(struct diff *d, int family, const uint8_t *addr, unsigned cidr)
{
	uint8_t key[16];

	memcpy(key, addr, 16);
	ref_mask(key, cidr);
	for (size_t i = 0; i < d->nref; i++)
		if (d->ref[i].family == family && d->ref[i].cidr == cidr &&
		    !memcmp(d->ref[i].addr, key, 16))
			return &d->ref[i];
	return NULL;
}

static void *ref_lookup(const struct diff *d, int family, const uint8_t *addr)
{
	const struct ref_entry *best = NULL;

	for (size_t i = 0; i < d->nref; i++)
		if (ref_prefix_has(&d->ref[i], family, addr) &&
		    (!best || d->ref[i].cidr > best->cidr))
			best = &d->ref[i];
	return best ? best->owner : NULL;
}

static void diff_fail(const struct diff *d, const char *what)
{
	fail_msg("differential test, seed %" PRIu64 " (LR_TEST_SEED=%" PRIu64
		 " to replay), op %d: %s",
		 d->seed, d->seed, d->op, what);
}

static void diff_check_lookup(struct diff *d, int family, const uint8_t *addr)
{
	void *want = ref_lookup(d, family, addr);
	void *got = wg_allowedips_lookup(&d->t, family, addr);
	char ip[INET6_ADDRSTRLEN], msg[160];

	if (got == want)
		return;
	inet_ntop(family, addr, ip, sizeof(ip));
	snprintf(msg, sizeof(msg), "lookup %s: got owner %p, want %p (table has %zu prefixes)", ip,
		 got, want, d->nref);
	diff_fail(d, msg);
}

/* An address that shares a random number of leading bits with a pool entry,
 * so that prefixes nest and overlap often. */
static void rnd_addr(struct diff *d, int family, uint8_t *a)
{
	unsigned bits = fam_bits(family), keep = rnd_below(d, bits + 1);

	memcpy(a, d->pool[family == AF_INET6][rnd_below(d, POOL)], 16);
	for (unsigned i = keep; i < bits; i++)
		if (rnd(d) & 1)
			a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	memset(a + bits / 8, 0, 16 - bits / 8);
}

/* Mostly longer prefixes: with many short ones nearly every address would
 * match something and a wrong NULL would go unnoticed. */
static unsigned rnd_cidr(struct diff *d, int family)
{
	unsigned bits = fam_bits(family);

	if (!rnd_below(d, 8))
		return rnd_below(d, bits + 1);
	return bits / 4 + rnd_below(d, bits - bits / 4 + 1);
}

static int rnd_family(struct diff *d)
{
	return rnd(d) & 1 ? AF_INET6 : AF_INET;
}

static void *rnd_owner(struct diff *d)
{
	return &owner_slots[rnd_below(d, NOWNERS)];
}

static void diff_insert(struct diff *d)
{
	int family = rnd_family(d);
	unsigned cidr = rnd_cidr(d, family);
	void *owner = rnd_owner(d);
	uint8_t addr[16];
	struct ref_entry *e;

	rnd_addr(d, family, addr);
	if (wg_allowedips_insert(&d->t, family, addr, (uint8_t)cidr, owner) != 0)
		diff_fail(d, "insert failed");
	e = ref_find(d, family, addr, cidr);
	if (!e) {
		assert_true(d->nref < REF_MAX);
		e = &d->ref[d->nref++];
		*e = (struct ref_entry){ .family = family, .cidr = (uint8_t)cidr };
		memcpy(e->addr, addr, 16);
		ref_mask(e->addr, cidr);
	}
	e->owner = owner;
}

/* addr's first cidr bits replaced by prefix's. */
static void set_prefix(uint8_t *addr, const uint8_t *prefix, unsigned cidr)
{
	for (unsigned i = 0; i < cidr; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		addr[i / 8] = (uint8_t)((addr[i / 8] & ~bit) | (prefix[i / 8] & bit));
	}
}

/* Removes an existing prefix (by its owner, or wrongly by another) or one
 * that is most likely absent; host bits are set at random either way. */
static void diff_remove(struct diff *d)
{
	struct ref_entry *e;
	uint8_t addr[16];
	unsigned cidr;
	int family, want;
	void *owner = rnd_owner(d);

	if (d->nref && rnd_below(d, 4)) {
		e = &d->ref[rnd_below(d, (unsigned)d->nref)];
		family = e->family;
		cidr = e->cidr;
		rnd_addr(d, family, addr);
		set_prefix(addr, e->addr, cidr);
		if (rnd_below(d, 5))
			owner = e->owner;
	} else {
		family = rnd_family(d);
		cidr = rnd_cidr(d, family);
		rnd_addr(d, family, addr);
		e = ref_find(d, family, addr, cidr);
	}
	want = e && e->owner == owner ? 0 : -ENOENT;
	if (wg_allowedips_remove(&d->t, family, addr, (uint8_t)cidr, owner) != want)
		diff_fail(d, want ? "remove succeeded, want -ENOENT" : "remove failed");
	if (!want)
		*e = d->ref[--d->nref];
}

static void diff_remove_owner(struct diff *d)
{
	void *owner = rnd_owner(d);

	wg_allowedips_remove_owner(&d->t, owner);
	for (size_t i = 0; i < d->nref;)
		if (d->ref[i].owner == owner)
			d->ref[i] = d->ref[--d->nref];
		else
			i++;
}

static void diff_probe_random(struct diff *d)
{
	uint8_t a[16] = { 0 };

	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;

		rnd_addr(d, family, a);
		diff_check_lookup(d, family, a);
		for (unsigned j = 0; j < fam_bits(family) / 8; j++)
			a[j] = (uint8_t)rnd(d);
		diff_check_lookup(d, family, a);
	}
}

/* Adds delta (+1 or -1) to a big-endian number of len bytes, wrapping. */
static void addr_step(uint8_t *a, unsigned len, int delta)
{
	for (unsigned i = len; i-- > 0;) {
		uint8_t old = a[i];

		a[i] = (uint8_t)(old + delta);
		if ((delta > 0 && a[i] != 0) || (delta < 0 && old != 0))
			return;
	}
}

/* Probes the first and last address of a stored prefix, the addresses just
 * outside it on both sides, and the sibling prefix. */
static void diff_probe_near(struct diff *d, const struct ref_entry *e)
{
	unsigned bits = fam_bits(e->family);
	uint8_t a[16];

	diff_check_lookup(d, e->family, e->addr);
	memcpy(a, e->addr, 16);
	addr_step(a, bits / 8, -1);
	diff_check_lookup(d, e->family, a);
	memcpy(a, e->addr, 16);
	for (unsigned i = e->cidr; i < bits; i++)
		a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	diff_check_lookup(d, e->family, a);
	addr_step(a, bits / 8, 1);
	diff_check_lookup(d, e->family, a);
	if (e->cidr) {
		memcpy(a, e->addr, 16);
		a[(e->cidr - 1) / 8] ^= (uint8_t)(0x80 >> ((e->cidr - 1) % 8));
		diff_check_lookup(d, e->family, a);
	}
}

static void diff_probe(struct diff *d)
{
	diff_probe_random(d);
	if (d->nref)
		diff_probe_near(d, &d->ref[rnd_below(d, (unsigned)d->nref)]);
}

struct walk_check {
	struct diff *d;
	const void *owner;
	int family;
	uint8_t addr[16];
	int cidr; /* -1 before the first prefix */
	size_t n;
};

/* Checks each visited prefix exists for this owner and comes strictly after
 * the previous one in (family, address, length) order. */
static void walk_check_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_check *w = ctx;
	uint8_t key[16] = { 0 };
	struct ref_entry *e;
	int cmp;

	memcpy(key, addr, fam_bits(family) / 8);
	e = ref_find(w->d, family, key, cidr);
	if (!e || e->owner != w->owner)
		diff_fail(w->d, "walk visits a prefix the owner does not have");
	cmp = w->cidr < 0 ? 1 : family != w->family ? (family == AF_INET6 ? 1 : -1)
						   : memcmp(key, w->addr, 16);
	if (cmp < 0 || (cmp == 0 && cidr <= w->cidr))
		diff_fail(w->d, "walk out of order");
	w->family = family;
	memcpy(w->addr, key, 16);
	w->cidr = cidr;
	w->n++;
}

static void diff_check_owners(struct diff *d)
{
	for (int i = 0; i < NOWNERS; i++) {
		struct walk_check w = { .d = d, .owner = &owner_slots[i], .cidr = -1 };
		size_t want = 0;

		for (size_t j = 0; j < d->nref; j++)
			want += d->ref[j].owner == w.owner;
		wg_allowedips_walk_owner(&d->t, w.owner, walk_check_cb, &w);
		if (w.n != want || wg_allowedips_count_owner(&d->t, w.owner) != want)
			diff_fail(d, "walk or count disagrees with the reference");
	}
}

static uint64_t diff_seed(void)
{
	const char *s = getenv("LR_TEST_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static void test_differential(void **state)
{
	struct diff *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->seed = diff_seed();
	d->rng = d->seed;
	wg_allowedips_init(&d->t);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < POOL; i++)
			for (int j = 0; j < 16; j++)
				d->pool[f][i][j] = (uint8_t)rnd(d);
	for (d->op = 0; d->op < DIFF_OPS; d->op++) {
		unsigned r = rnd_below(d, 1000);

		if (r < 520)
			diff_insert(d);
		else if (r < 996)
			diff_remove(d);
		else
			diff_remove_owner(d);
		diff_probe(d);
		if (d->op % 250 == 0)
			diff_check_owners(d);
	}
	diff_check_owners(d);
	/* Emptying the table through remove must free every node. */
	while (d->nref) {
		struct ref_entry *e = &d->ref[d->nref - 1];

		if (wg_allowedips_remove(&d->t, e->family, e->addr, e->cidr, e->owner))
			diff_fail(d, "final remove failed");
		d->nref--;
		if (d->nref % 16 == 0)
			diff_probe(d);
	}
	if (d->t.root4 || d->t.root6)
		diff_fail(d, "empty table still has nodes");
	wg_allowedips_free(&d->t);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lpm_v4),
		cmocka_unit_test(test_lpm_v6),
		cmocka_unit_test(test_default_routes),
		cmocka_unit_test(test_host_routes),
		cmocka_unit_test(test_insert_masks_host_bits),
		cmocka_unit_test(test_reinsert_moves_owner),
		cmocka_unit_test(test_remove_only_by_owner),
		cmocka_unit_test(test_invalid_args_leave_table_unchanged),
		cmocka_unit_test(test_remove_owner_keeps_others),
		cmocka_unit_test(test_walk_order_and_count),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
