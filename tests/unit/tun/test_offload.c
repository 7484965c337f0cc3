/*
 * test_offload: TUN offload packet work (src/tun/offload.c) checked against an
 * independent, byte-by-byte RFC 1071 checksum: the fast checksum over every
 * length and alignment, TSO splitting of IPv4 and IPv6 super-packets (segment
 * boundaries, sequence numbers, IP lengths and IDs, flags only on the right
 * segments, both checksums), USO, completion of partial checksums, refusal of
 * headers that do not describe the packet, and TCP coalescing: what merges,
 * what must not, and that a split then merged stream gives back the original
 * bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tun/offload.h"

enum { CAP = 2048, MAXSEG = 64, BIG = 65536 };

static uint8_t slots[MAXSEG][CAP];
static uint8_t *out[MAXSEG];
static size_t out_len[MAXSEG];

static uint32_t rng = 12345;

static uint8_t rnd8(void)
{
	rng = rng * 1103515245u + 12345u;
	return (uint8_t)(rng >> 16);
}

/* RFC 1071 over big-endian 16-bit words, one byte at a time. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint32_t s;

	if (ip[0] >> 4 == 4)
		s = ref_sum(0, ip + 12, 8);
	else
		s = ref_sum(0, ip + 8, 32) + (uint32_t)(l4len >> 16);
	return s + proto + (uint32_t)(l4len & 0xffff);
}

/* True when the transport checksum of the packet (l4 at off) verifies. */
static bool l4_ok(const uint8_t *ip, size_t len, size_t l4, uint8_t proto)
{
	return ref_fold(ref_sum(ref_pseudo(ip, proto, len - l4), ip + l4, len - l4)) == 0xffff;
}

static bool ip4_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Builds an IP packet (family 4 or 6) carrying TCP (with thlen-20 bytes of
 * options) or UDP and plen random payload bytes. Returns the transport offset. */
static size_t build(uint8_t *p, int family, uint8_t proto, size_t thlen, size_t plen, size_t *len)
{
	size_t l4 = family == 4 ? 20 : 40, hl = proto == 6 ? thlen : 8;

	memset(p, 0, l4 + hl);
	*len = l4 + hl + plen;
	if (family == 4) {
		p[0] = 0x45;
		p[1] = 0x02; /* ECT(0) */
		put16(p + 2, (uint16_t)*len);
		put16(p + 4, 0xfffe); /* wraps during the split */
		p[6] = 0x40;	      /* DF */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	} else {
		p[0] = 0x60;
		p[1] = 0x0a;
		p[3] = 0x42; /* flow label */
		put16(p + 4, (uint16_t)(*len - 40));
		p[6] = proto;
		p[7] = 64;
		for (int i = 0; i < 32; i++)
			p[8 + i] = (uint8_t)(0x20 + i);
	}
	put16(p + l4, 40000);
	put16(p + l4 + 2, 5201);
	if (proto == 6) {
		put32(p + l4 + 4, 0xfffff000u); /* sequence numbers wrap too */
		put32(p + l4 + 8, 0x01020304);
		p[l4 + 12] = (uint8_t)(thlen / 4) << 4;
		p[l4 + 13] = 0x10; /* ACK */
		put16(p + l4 + 14, 512);
		for (size_t i = 20; i < thlen; i++)
			p[l4 + i] = (uint8_t)(i == 20 ? 1 : 0x30 + i); /* NOP then junk "options" */
	} else {
		put16(p + l4 + 4, (uint16_t)(8 + plen));
	}
	for (size_t i = 0; i < plen; i++)
		p[l4 + hl + i] = rnd8();
	return l4;
}

/* As the kernel leaves a partial checksum: the pseudo-header sum in the field. */
static void set_partial(uint8_t *p, size_t len, size_t l4, uint8_t proto, struct tun_vnet_hdr *h)
{
	size_t off = proto == 6 ? 16 : 6;

	put16(p + l4 + off, ref_fold(ref_pseudo(p, proto, len - l4)));
	h->flags = TUN_VNET_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = (uint16_t)off;
}

static int split(const struct tun_vnet_hdr *h, const uint8_t *pkt, size_t len, size_t cap)
{
	for (int i = 0; i < MAXSEG; i++)
		out[i] = slots[i];
	return tun_gso_split(h, pkt, len, out, out_len, MAXSEG, cap);
}

static void test_csum_matches_reference(void **state)
{
	static uint8_t buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd8();
	buf[0] = buf[1] = buf[2] = buf[3] = 0xff; /* carries from the first words */
	for (size_t start = 0; start < 4; start++)
		for (size_t len = 0; len + start <= sizeof(buf); len++)
			assert_int_equal(
				be16((uint8_t *)&(uint16_t){ tun_csum_fold(tun_csum_add(0, buf + start, len)) }),
				ref_fold(ref_sum(0, buf + start, len)));
	/* A sum of all-ones words stays all ones; chaining at even offsets is additive. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(tun_csum_fold(tun_csum_add(0, buf, 64)), 0xffff);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd8();
	assert_int_equal(tun_csum_fold(tun_csum_add(tun_csum_add(0, buf, 100), buf + 100, 77)),
			 tun_csum_fold(tun_csum_add(0, buf, 177)));
}

static void check_tso(int family, size_t thlen, size_t plen, uint16_t mss, uint8_t flags)
{
	static uint8_t pkt[BIG];
	struct tun_vnet_hdr h = { .gso_type = family == 4 ? TUN_VNET_GSO_TCPV4 : TUN_VNET_GSO_TCPV6,
				  .gso_size = mss };
	size_t len, l4 = build(pkt, family, 6, thlen, plen, &len), hlen = l4 + thlen;
	unsigned want = (unsigned)((plen + mss - 1) / mss);
	int n;

	pkt[l4 + 13] = flags;
	set_partial(pkt, len, l4, 6, &h);
	h.hdr_len = (uint16_t)hlen;
	n = split(&h, pkt, len, CAP);
	assert_int_equal(n, want);
	for (unsigned i = 0; i < want; i++) {
		const uint8_t *s = out[i], *th = s + l4;
		size_t seg = plen - i * mss < mss ? plen - i * mss : mss;

		assert_int_equal(out_len[i], hlen + seg);
		assert_memory_equal(s + hlen, pkt + hlen + i * mss, seg);
		if (family == 4) {
			assert_int_equal(be16(s + 2), hlen + seg);
			assert_int_equal(be16(s + 4), (uint16_t)(0xfffe + i));
			assert_true(ip4_ok(s));
			assert_memory_equal(s + 6, pkt + 6, 4); /* DF, TTL, protocol */
			assert_memory_equal(s + 12, pkt + 12, 8);
		} else {
			assert_int_equal(be16(s + 4), hlen + seg - 40);
			assert_memory_equal(s, pkt, 4);
			assert_memory_equal(s + 6, pkt + 6, 34);
		}
		assert_int_equal(be32(th + 4), 0xfffff000u + i * mss);
		assert_memory_equal(th + 8, pkt + l4 + 8, 4);			  /* ack */
		assert_memory_equal(th + 20, pkt + l4 + 20, thlen - 20);	  /* options */
		assert_int_equal(th[13] & 0x09, i + 1 == want ? (flags & 0x09) : 0); /* FIN, PSH */
		assert_int_equal(th[13] & 0x80, i == 0 ? (flags & 0x80) : 0);	  /* CWR */
		assert_int_equal(th[13] & 0x50, flags & 0x50);			  /* ACK, ECE */
		assert_true(l4_ok(s, out_len[i], l4, 6));
	}
}

static void test_tso_ipv4(void **state)
{
	(void)state;
	check_tso(4, 32, 5000, 1368, 0x10 | 0x08 | 0x01); /* ACK PSH FIN, odd tail */
	check_tso(4, 20, 1380 * 3, 1380, 0x10 | 0x80);	 /* exact multiple, CWR */
	check_tso(4, 20, 1, 1380, 0x18);		 /* one byte: one segment */
	check_tso(4, 60, 63000, 1000, 0x10);		 /* 63 segments, full options */
}

static void test_tso_ipv6(void **state)
{
	(void)state;
	check_tso(6, 32, 5001, 1348, 0x18);
	check_tso(6, 20, 64000, 1360, 0x10 | 0x40 | 0x80); /* ECE stays, CWR first only */
}

static void test_uso(void **state)
{
	static uint8_t pkt[BIG];

	(void)state;
	for (int family = 4; family <= 6; family += 2) {
		struct tun_vnet_hdr h = { .gso_type = TUN_VNET_GSO_UDP_L4, .gso_size = 1200 };
		size_t len, l4 = build(pkt, family, 17, 0, 3001, &len);
		int n;

		set_partial(pkt, len, l4, 17, &h);
		n = split(&h, pkt, len, CAP);
		assert_int_equal(n, 3);
		for (int i = 0; i < n; i++) {
			size_t seg = i < 2 ? 1200 : 601;

			assert_int_equal(out_len[i], l4 + 8 + seg);
			assert_int_equal(be16(out[i] + l4 + 4), 8 + seg);
			assert_memory_equal(out[i] + l4 + 8, pkt + l4 + 8 + (size_t)i * 1200, seg);
			assert_true(l4_ok(out[i], out_len[i], l4, 17));
			assert_int_not_equal(be16(out[i] + l4 + 6), 0);
			if (family == 4)
				assert_true(ip4_ok(out[i]));
		}
	}
}

static void test_complete_partial_checksum(void **state)
{
	static uint8_t pkt[BIG];

	(void)state;
	for (int family = 4; family <= 6; family += 2) {
		for (size_t plen = 0; plen < 40; plen += 7) {
			struct tun_vnet_hdr h = { 0 };
			size_t len, l4 = build(pkt, family, 6, 20, plen, &len);

			set_partial(pkt, len, l4, 6, &h);
			assert_int_equal(split(&h, pkt, len, CAP), 1);
			assert_int_equal(out_len[0], len);
			assert_true(l4_ok(out[0], len, l4, 6));
			/* In place, as the oversize path does it. */
			assert_int_equal(tun_csum_complete(&h, pkt, len), 0);
			assert_memory_equal(pkt, out[0], len);

			l4 = build(pkt, family, 17, 0, plen, &len);
			set_partial(pkt, len, l4, 17, &h);
			assert_int_equal(split(&h, pkt, len, CAP), 1);
			assert_true(l4_ok(out[0], len, l4, 17));
		}
	}
}

static void test_plain_packet_copied(void **state)
{
	static uint8_t pkt[CAP];
	struct tun_vnet_hdr h = { 0 };
	size_t len;

	(void)state;
	build(pkt, 4, 17, 0, 100, &len);
	assert_int_equal(split(&h, pkt, len, CAP), 1);
	assert_int_equal(out_len[0], len);
	assert_memory_equal(out[0], pkt, len);
	/* Larger than a slot: the caller must use its fallback. */
	assert_int_equal(split(&h, pkt, len, len - 1), -EMSGSIZE);
}

static void test_bad_headers_refused(void **state)
{
	static uint8_t pkt[BIG];
	struct tun_vnet_hdr h = { .gso_type = TUN_VNET_GSO_TCPV4, .gso_size = 1000 };
	size_t len, l4 = build(pkt, 4, 6, 20, 5000, &len);

	(void)state;
	set_partial(pkt, len, l4, 6, &h);
	assert_int_equal(split(&h, pkt, len, CAP), 5);
	h.gso_size = 0;
	assert_int_equal(split(&h, pkt, len, CAP), -EINVAL);
	h.gso_size = 10; /* 500 segments */
	assert_int_equal(split(&h, pkt, len, CAP), -EMSGSIZE);
	h.gso_size = 1000;
	assert_int_equal(split(&h, pkt, len, 500), -EMSGSIZE);
	assert_int_equal(split(&h, pkt, len - 1, CAP), -EINVAL); /* IP length disagrees */
	h.csum_start = 24;
	assert_int_equal(split(&h, pkt, len, CAP), -EINVAL);
	h.csum_start = 20;
	h.gso_type = TUN_VNET_GSO_TCPV6 + 40; /* unknown type */
	assert_int_equal(split(&h, pkt, len, CAP), -EINVAL);
	h.gso_type = TUN_VNET_GSO_TCPV4;
	pkt[9] = 17; /* says UDP */
	assert_int_equal(split(&h, pkt, len, CAP), -EINVAL);
	pkt[9] = 6;
	pkt[l4 + 12] = 0xf0; /* TCP header longer than the packet's headers allow */
	assert_int_equal(split(&h, pkt, 80, CAP), -EINVAL);
	for (size_t cut = 0; cut < 60; cut++) /* truncated: never reads past len */
		assert_true(split(&h, pkt, cut, CAP) < 0);
	h = (struct tun_vnet_hdr){ .flags = TUN_VNET_F_NEEDS_CSUM, .csum_start = 20,
				   .csum_offset = 200 };
	assert_int_equal(split(&h, pkt, 100, CAP), -EINVAL);
}

/* Splits a super-packet and feeds the segments to the coalescer. */
static unsigned split_for_gro(uint8_t *pkt, int family, size_t plen, uint16_t mss,
			      uint8_t flags, struct tun_gro_pkt *q)
{
	struct tun_vnet_hdr h = { .gso_type = family == 4 ? TUN_VNET_GSO_TCPV4 : TUN_VNET_GSO_TCPV6,
				  .gso_size = mss };
	size_t len, l4 = build(pkt, family, 6, 32, plen, &len);
	int n;

	pkt[l4 + 13] = flags;
	set_partial(pkt, len, l4, 6, &h);
	n = split(&h, pkt, len, CAP);
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		q[i] = (struct tun_gro_pkt){ out[i], out_len[i] };
	return (unsigned)n;
}

/* Concatenates a group as TUN would receive it and checks it against the
 * original super-packet: same bytes but for the ID, the checksums and PSH. */
static void check_group(const struct tun_gro_pkt *q, const struct tun_gro_group *g,
			const uint8_t *orig, size_t orig_len)
{
	static uint8_t whole[BIG];
	size_t hl = g->hdr.hdr_len, l4 = g->hdr.csum_start, n = q[g->first].len;

	memcpy(whole, q[g->first].data, n);
	for (unsigned j = 1; j < g->count; j++) {
		const struct tun_gro_pkt *p = &q[g->first + j];

		memcpy(whole + n, p->data + hl, p->len - hl);
		n += p->len - hl;
	}
	assert_int_equal(n, orig_len);
	assert_int_equal(g->hdr.flags, TUN_VNET_F_NEEDS_CSUM);
	assert_int_equal(g->hdr.csum_offset, 16);
	/* The field holds the pseudo-header sum: completing it gives a valid checksum. */
	assert_int_equal(be16(whole + l4 + 16), ref_fold(ref_pseudo(whole, 6, n - l4)));
	put16(whole + l4 + 16, 0);
	put16(whole + l4 + 16, (uint16_t)~ref_fold(ref_sum(ref_pseudo(whole, 6, n - l4), whole + l4, n - l4)));
	assert_true(l4_ok(whole, n, l4, 6));
	if (whole[0] >> 4 == 4) {
		assert_true(ip4_ok(whole));
		assert_memory_equal(whole + 12, orig + 12, 8);
		assert_int_equal(be16(whole + 2), n);
	} else {
		assert_memory_equal(whole, orig, 16);
	}
	assert_memory_equal(whole + l4, orig + l4, 14); /* with the flags: the last PSH kept */
	assert_memory_equal(whole + l4 + 18, orig + l4 + 18, n - l4 - 18);
}

static void test_gro_round_trip(void **state)
{
	static uint8_t pkt[BIG];
	static struct tun_gro_pkt q[MAXSEG];
	static struct tun_gro_group g[MAXSEG];

	(void)state;
	for (int family = 4; family <= 6; family += 2) {
		size_t plen = 30001, len;
		unsigned n = split_for_gro(pkt, family, plen, 1368, 0x18, q); /* PSH on the last */

		len = (family == 4 ? 20 : 40) + 32 + plen;
		assert_int_equal(tun_gro_coalesce(q, n, false, g), 1);
		assert_int_equal(g[0].count, n);
		assert_int_equal(g[0].hdr.gso_type, family == 4 ? TUN_VNET_GSO_TCPV4 : TUN_VNET_GSO_TCPV6);
		assert_int_equal(g[0].hdr.gso_size, 1368);
		assert_int_equal(g[0].hdr.hdr_len, (family == 4 ? 20 : 40) + 32);
		check_group(q, &g[0], pkt, len);
	}
}

static void test_gro_single_and_other_packets_alone(void **state)
{
	static uint8_t pkt[BIG], udp[256];
	static struct tun_gro_pkt q[MAXSEG];
	static struct tun_gro_group g[MAXSEG];
	size_t len;

	(void)state;
	split_for_gro(pkt, 4, 1000, 1368, 0x10, q); /* one segment */
	build(udp, 4, 17, 0, 50, &len);
	q[1] = (struct tun_gro_pkt){ udp, len };
	assert_int_equal(tun_gro_coalesce(q, 2, true, g), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(g[i].count, 1);
		assert_int_equal(g[i].hdr.gso_type, TUN_VNET_GSO_NONE);
		assert_int_equal(g[i].hdr.flags, 0);
	}
	/* A group of one is left untouched: its checksum stays complete. */
	assert_true(l4_ok(q[0].data, q[0].len, 20, 6));
}

/* Splits 6 segments, applies a change to segment k, and returns the group counts. */
static unsigned gro_with(void (*change)(struct tun_gro_pkt *q), unsigned *counts)
{
	static uint8_t pkt[BIG];
	static struct tun_gro_pkt q[MAXSEG];
	static struct tun_gro_group g[MAXSEG];
	unsigned n = split_for_gro(pkt, 4, 6 * 1000, 1000, 0x10, q), ng;

	change(q);
	ng = tun_gro_coalesce(q, n, false, g);
	for (unsigned i = 0; i < ng; i++)
		counts[i] = g[i].count;
	return ng;
}

static void reseal(struct tun_gro_pkt *p)
{
	uint8_t *s = p->data;

	put16(s + 10, 0);
	put16(s + 10, (uint16_t)~ref_fold(ref_sum(0, s, 20)));
	put16(s + 36, 0);
	put16(s + 36, (uint16_t)~ref_fold(ref_sum(ref_pseudo(s, 6, p->len - 20), s + 20, p->len - 20)));
}

static void ch_gap(struct tun_gro_pkt *q)
{
	for (int i = 3; i < 6; i++) {
		put32(q[i].data + 24, be32(q[i].data + 24) + 1);
		reseal(&q[i]);
	}
}

static void ch_bad_csum(struct tun_gro_pkt *q)
{
	q[2].data[60] ^= 1;
}

static void ch_other_port(struct tun_gro_pkt *q)
{
	q[4].data[21] ^= 1;
	reseal(&q[4]);
}

static void ch_psh(struct tun_gro_pkt *q)
{
	q[1].data[33] |= 0x08;
	reseal(&q[1]);
}

static void ch_syn_head(struct tun_gro_pkt *q)
{
	q[0].data[33] |= 0x02;
	reseal(&q[0]);
}

static void ch_options(struct tun_gro_pkt *q)
{
	q[2].data[50] ^= 0x55;
	reseal(&q[2]);
}

static void ch_short(struct tun_gro_pkt *q)
{
	/* Segment 2 loses 10 bytes: it ends its group. */
	q[2].len -= 10;
	put16(q[2].data + 2, (uint16_t)q[2].len);
	reseal(&q[2]);
	put32(q[3].data + 24, be32(q[3].data + 24) - 10);
	put32(q[4].data + 24, be32(q[4].data + 24) - 10);
	put32(q[5].data + 24, be32(q[5].data + 24) - 10);
	reseal(&q[3]);
	reseal(&q[4]);
	reseal(&q[5]);
}

static void ch_ttl(struct tun_gro_pkt *q)
{
	q[3].data[8]--;
	reseal(&q[3]);
}

static void test_gro_boundaries(void **state)
{
	unsigned c[MAXSEG];

	(void)state;
	assert_int_equal(gro_with(ch_gap, c), 2);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 3);
	assert_int_equal(gro_with(ch_bad_csum, c), 3); /* 0-1, 2 alone, 3-5 */
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 3);
	assert_int_equal(gro_with(ch_other_port, c), 3);
	assert_int_equal(c[0], 4);
	assert_int_equal(c[1], 1);
	assert_int_equal(gro_with(ch_psh, c), 2); /* PSH ends the group it joins */
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 4);
	assert_int_equal(gro_with(ch_syn_head, c), 2);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 5);
	assert_int_equal(gro_with(ch_options, c), 3);
	assert_int_equal(gro_with(ch_short, c), 2);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 3);
	assert_int_equal(gro_with(ch_ttl, c), 3); /* 0-2, 3 alone, 4-5 */
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 2);
}

/* UDP datagrams of one flow, as a USO split makes them, merge into one UDP_L4
 * packet only when asked; its bytes are the original's, its checksum field
 * holds the pseudo-header sum; a bigger datagram, another port or the 65th
 * datagram starts a new group. */
static void test_gro_udp(void **state)
{
	static uint8_t pkt[BIG], whole[BIG];
	static struct tun_gro_pkt q[MAXSEG];
	static struct tun_gro_group g[MAXSEG];

	(void)state;
	for (int family = 4; family <= 6; family += 2) {
		struct tun_vnet_hdr h = { .gso_type = TUN_VNET_GSO_UDP_L4, .gso_size = 100 };
		size_t len, l4 = build(pkt, family, 17, 0, 1050, &len), n;
		int k;

		set_partial(pkt, len, l4, 17, &h);
		k = split(&h, pkt, len, CAP);
		assert_int_equal(k, 11);
		for (int i = 0; i < k; i++)
			q[i] = (struct tun_gro_pkt){ out[i], out_len[i] };
		assert_int_equal(tun_gro_coalesce(q, (unsigned)k, false, g), 11);
		assert_int_equal(tun_gro_coalesce(q, (unsigned)k, true, g), 1);
		assert_int_equal(g[0].count, 11);
		assert_int_equal(g[0].hdr.gso_type, TUN_VNET_GSO_UDP_L4);
		assert_int_equal(g[0].hdr.gso_size, 100);
		assert_int_equal(g[0].hdr.hdr_len, l4 + 8);
		assert_int_equal(g[0].hdr.csum_start, l4);
		assert_int_equal(g[0].hdr.csum_offset, 6);
		n = out_len[0];
		memcpy(whole, out[0], n);
		for (int i = 1; i < k; i++) {
			memcpy(whole + n, out[i] + l4 + 8, out_len[i] - l4 - 8);
			n += out_len[i] - l4 - 8;
		}
		assert_int_equal(n, len);
		assert_int_equal(be16(whole + l4 + 6), ref_fold(ref_pseudo(whole, 17, n - l4)));
		assert_memory_equal(whole + l4, pkt + l4, 6); /* ports and the new length */
		assert_memory_equal(whole + l4 + 8, pkt + l4 + 8, n - l4 - 8);
		if (family == 4) {
			assert_true(ip4_ok(whole));
			assert_int_equal(be16(whole + 2), n);
		} else {
			assert_memory_equal(whole, pkt, 40);
		}
	}
}

/* A standalone, valid UDP datagram of the test flow with plen payload bytes;
 * flip changes its source port. */
static size_t udp_single(uint8_t *buf, size_t plen, bool flip)
{
	struct tun_vnet_hdr h = { 0 };
	size_t len;

	build(buf, 4, 17, 0, plen, &len);
	buf[21] ^= flip;
	put16(buf + 10, (uint16_t)~ref_fold(ref_sum(0, buf, 20)));
	set_partial(buf, len, 20, 17, &h);
	assert_int_equal(tun_csum_complete(&h, buf, len), 0);
	return len;
}

/* Splits 64 datagrams of 10 bytes into q, puts odd (if any) in place of the
 * last one and the last one after it; returns the number of groups. */
static unsigned udp_run_with(struct tun_gro_pkt *q, struct tun_gro_group *g, uint8_t *odd,
			     size_t oddlen)
{
	static uint8_t pkt[BIG];
	struct tun_vnet_hdr h = { .gso_type = TUN_VNET_GSO_UDP_L4, .gso_size = 10 };
	size_t len, l4 = build(pkt, 4, 17, 0, 10 * MAXSEG, &len);
	int k;

	set_partial(pkt, len, l4, 17, &h);
	k = split(&h, pkt, len, CAP);
	assert_int_equal(k, MAXSEG);
	for (int i = 0; i < k; i++)
		q[i] = (struct tun_gro_pkt){ out[i], out_len[i] };
	q[k] = q[k - 1];
	if (odd)
		q[k - 1] = (struct tun_gro_pkt){ odd, oddlen };
	return tun_gro_coalesce(q, (unsigned)k + 1, true, g);
}

static void test_gro_udp_boundaries(void **state)
{
	static uint8_t odd[CAP];
	static struct tun_gro_pkt q[MAXSEG + 8];
	static struct tun_gro_group g[MAXSEG + 8];
	size_t len;

	(void)state;
	/* A bigger datagram of the same flow ends the run and heads the next one. */
	len = udp_single(odd, 11, false);
	assert_int_equal(udp_run_with(q, g, odd, len), 2);
	assert_int_equal(g[0].count, MAXSEG - 1);
	assert_int_equal(g[1].count, 2);
	assert_int_equal(g[1].hdr.gso_size, 11);
	/* A datagram of another port never joins. */
	len = udp_single(odd, 10, true);
	assert_int_equal(udp_run_with(q, g, odd, len), 3);
	assert_int_equal(g[0].count, MAXSEG - 1);
	assert_int_equal(g[1].count, 1);
	assert_int_equal(g[2].count, 1);
	/* At most 64 per group. */
	assert_int_equal(udp_run_with(q, g, NULL, 0), 2);
	assert_int_equal(g[0].count, MAXSEG);
	assert_int_equal(g[1].count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_matches_reference),
		cmocka_unit_test(test_tso_ipv4),
		cmocka_unit_test(test_tso_ipv6),
		cmocka_unit_test(test_uso),
		cmocka_unit_test(test_complete_partial_checksum),
		cmocka_unit_test(test_plain_packet_copied),
		cmocka_unit_test(test_bad_headers_refused),
		cmocka_unit_test(test_gro_round_trip),
		cmocka_unit_test(test_gro_single_and_other_packets_alone),
		cmocka_unit_test(test_gro_boundaries),
		cmocka_unit_test(test_gro_udp),
		cmocka_unit_test(test_gro_udp_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
