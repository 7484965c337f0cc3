/*
 * test_pkt: the LAN discovery wire formats (disco/disco_pkt.h).
 *
 * Captured datagrams: an OpenArena getinfo broadcast written out byte by byte
 * parses to its fields; every malformed shape is refused with the errno the
 * header names (table-driven, as mutations of that packet); IP options are
 * skipped. Built datagrams: parse back to what was built, and their checksums
 * are checked here with an RFC 1071 sum written independently of the codec,
 * the way the receiving kernel checks them (the sum over the header, and over
 * pseudo-header + UDP datagram, checksum included, folds to 0xffff).
 * The daemons' messages: GROUPS and NATIVE round trips against bytes written
 * out by hand, and every refusal of parse and build. Minecraft's LAN
 * announcement: the world's name and port, and what is left alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "disco/disco_pkt.h"

/* What OpenArena's client sends to find LAN servers: "\xff\xff\xff\xffgetinfo
 * xxx" from an unbound socket (192.168.1.23:51234) to 255.255.255.255:27960,
 * TTL 64, DF set (Linux sets it on UDP), as an AF_PACKET SOCK_DGRAM socket
 * gives it: no link header. Checksums computed by hand (python). */
static const uint8_t getinfo[] = {
	/* IPv4 */
	0x45, 0x00, 0x00, 0x2b,         /* version 4, IHL 5, TOS 0, total 43 */
	0x1c, 0x46, 0x40, 0x00,         /* id 0x1c46, DF, offset 0 */
	0x40, 0x11, 0x5c, 0xbd,         /* TTL 64, UDP, header checksum */
	0xc0, 0xa8, 0x01, 0x17,         /* 192.168.1.23 */
	0xff, 0xff, 0xff, 0xff,         /* 255.255.255.255 */
	/* UDP */
	0xc8, 0x22, 0x6d, 0x38,         /* 51234 -> 27960 */
	0x00, 0x17, 0x5e, 0xd7,         /* length 23, checksum */
	0xff, 0xff, 0xff, 0xff, 'g', 'e', 't', 'i', 'n', 'f', 'o', ' ', 'x', 'x', 'x',
};

/* OpenTTD's query, 03 00 00, to the physical LAN's broadcast address. */
static const uint8_t openttd[] = {
	0x45, 0x00, 0x00, 0x1f, 0x2a, 0x2a, 0x40, 0x00, 0x40, 0x11, 0x8c, 0x3d,
	0xc0, 0xa8, 0x01, 0x17, 0xc0, 0xa8, 0x01, 0xff,
	0x9c, 0x40, 0x0f, 0x8b, 0x00, 0x0b, 0xcc, 0xa5,
	0x03, 0x00, 0x00,
};

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ---- an RFC 1071 checksum, written apart from the codec's --------------- */

static uint64_t rfc1071_add(uint64_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	return acc;
}

static uint16_t rfc1071_fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The sum over the UDP datagram and its pseudo-header, as the receiver
 * computes it (checksum field included). */
static uint16_t udp_verify_sum(const uint8_t *pkt)
{
	size_t ihl = (size_t)(pkt[0] & 0xf) * 4, ulen = (size_t)(pkt[ihl + 4] << 8 | pkt[ihl + 5]);
	uint8_t pseudo[12];

	memcpy(pseudo, pkt + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (uint8_t)(ulen >> 8);
	pseudo[11] = (uint8_t)ulen;
	return rfc1071_fold(rfc1071_add(rfc1071_add(0, pseudo, sizeof(pseudo)), pkt + ihl, ulen));
}

/* What the kernel's ip_rcv and udp4_csum_init check. */
static void assert_kernel_accepts(const uint8_t *pkt)
{
	size_t ihl = (size_t)(pkt[0] & 0xf) * 4;

	assert_int_equal(rfc1071_fold(rfc1071_add(0, pkt, ihl)), 0xffff);
	/* 0 would mean "no checksum": a computed 0 is sent as 0xffff. */
	assert_int_not_equal(pkt[ihl + 6] << 8 | pkt[ihl + 7], 0);
	assert_int_equal(udp_verify_sum(pkt), 0xffff);
}

/* ---- captured datagrams ---------------------------------------------------- */

static void test_openarena_getinfo_broadcast_parses(void **state)
{
	struct disco_udp u;

	(void)state;
	/* The hand computation itself checks out. */
	assert_kernel_accepts(getinfo);
	assert_int_equal(disco_udp_parse(&u, getinfo, sizeof(getinfo)), 0);
	assert_int_equal(u.src.s_addr, ip("192.168.1.23").s_addr);
	assert_int_equal(u.dst.s_addr, INADDR_BROADCAST);
	assert_int_equal(u.sport, 51234);
	assert_int_equal(u.dport, 27960);
	assert_int_equal(u.ttl, 64);
	assert_ptr_equal(u.payload, getinfo + 28);
	assert_int_equal(u.payload_len, 15);
	assert_memory_equal(u.payload, "\xff\xff\xff\xffgetinfo xxx", 15);
}

static void test_openttd_subnet_broadcast_parses(void **state)
{
	struct disco_udp u;

	(void)state;
	assert_kernel_accepts(openttd);
	assert_int_equal(disco_udp_parse(&u, openttd, sizeof(openttd)), 0);
	assert_int_equal(u.dst.s_addr, ip("192.168.1.255").s_addr);
	assert_int_equal(u.sport, 40000);
	assert_int_equal(u.dport, 3979);
	assert_int_equal(u.payload_len, 3);
	assert_memory_equal(u.payload, "\x03\x00\x00", 3);
}

/* The getinfo packet with IHL 6: a router-alert option between the header
 * and UDP; p holds sizeof(getinfo) + 4 bytes. */
static void getinfo_with_option(uint8_t *p)
{
	memcpy(p, getinfo, 20);
	p[0] = 0x46;
	p[3] = sizeof(getinfo) + 4;
	memcpy(p + 20, "\x94\x04\x00\x00", 4);
	memcpy(p + 24, getinfo + 20, sizeof(getinfo) - 20);
}

/* IHL 6: the option is skipped. */
static void test_ip_options_are_skipped(void **state)
{
	uint8_t p[sizeof(getinfo) + 4];
	struct disco_udp u;

	(void)state;
	getinfo_with_option(p);
	assert_int_equal(disco_udp_parse(&u, p, sizeof(p)), 0);
	assert_int_equal(u.sport, 51234);
	assert_int_equal(u.dport, 27960);
	assert_int_equal(u.dst.s_addr, INADDR_BROADCAST);
	assert_ptr_equal(u.payload, p + 32);
	assert_int_equal(u.payload_len, 15);
	assert_memory_equal(u.payload, "\xff\xff\xff\xffgetinfo xxx", 15);
	/* The longest header, IHL 15 (40 bytes of options, here NOPs). */
	uint8_t q[60 + sizeof(getinfo) - 20];

	memcpy(q, getinfo, 20);
	q[0] = 0x4f;
	q[3] = sizeof(q);
	memset(q + 20, 0x01, 40);
	memcpy(q + 60, getinfo + 20, sizeof(getinfo) - 20);
	assert_int_equal(disco_udp_parse(&u, q, sizeof(q)), 0);
	assert_ptr_equal(u.payload, q + 68);
	assert_int_equal(u.payload_len, 15);
}

/* One change to the getinfo packet and what parsing it gives. */
static const struct {
	const char *what;
	int off1, val1;         /* byte to set (-1: none) */
	int off2, val2;
	int len;                /* bytes given to the parser (-1: all 43) */
	int want;
	size_t payload_len;     /* when accepted */
} mutations[] = {
	{ "unchanged", -1, 0, -1, 0, -1, 0, 15 },
	{ "empty buffer", -1, 0, -1, 0, 0, -EINVAL, 0 },
	{ "shorter than an IPv4 header", -1, 0, -1, 0, 19, -EINVAL, 0 },
	{ "truncated: total length > buffer", -1, 0, -1, 0, 42, -EINVAL, 0 },
	{ "truncated after the IP header", -1, 0, -1, 0, 20, -EINVAL, 0 },
	{ "truncated in the UDP header", -1, 0, -1, 0, 27, -EINVAL, 0 },
	{ "total length > buffer by one", 3, 44, -1, 0, -1, -EINVAL, 0 },
	{ "total length 0xffff", 2, 0xff, 3, 0xff, -1, -EINVAL, 0 },
	{ "IHL 0", 0, 0x40, -1, 0, -1, -EINVAL, 0 },
	{ "IHL 4", 0, 0x44, -1, 0, -1, -EINVAL, 0 },
	{ "IHL 15 > total length", 0, 0x4f, -1, 0, -1, -EINVAL, 0 },
	{ "total length < IHL", 3, 19, -1, 0, -1, -EINVAL, 0 },
	{ "total length: IP header only", 3, 20, -1, 0, -1, -EINVAL, 0 },
	{ "total length: half a UDP header", 3, 27, -1, 0, -1, -EINVAL, 0 },
	{ "IPv6 version", 0, 0x65, -1, 0, -1, -EPROTO, 0 },
	{ "version 0", 0, 0x05, -1, 0, -1, -EPROTO, 0 },
	{ "TCP", 9, IPPROTO_TCP, -1, 0, -1, -EPROTO, 0 },
	{ "ICMP", 9, IPPROTO_ICMP, -1, 0, -1, -EPROTO, 0 },
	{ "UDP-Lite", 9, 136, -1, 0, -1, -EPROTO, 0 },
	{ "first fragment (MF)", 6, 0x20, -1, 0, -1, -EFBIG, 0 },
	{ "MF with DF", 6, 0x60, -1, 0, -1, -EFBIG, 0 },
	{ "last fragment (offset 1)", 6, 0x00, 7, 0x01, -1, -EFBIG, 0 },
	{ "offset high bits", 6, 0x10, 7, 0x00, -1, -EFBIG, 0 },
	{ "largest offset", 6, 0x1f, 7, 0xff, -1, -EFBIG, 0 },
	{ "DF alone is not a fragment", 6, 0x40, 7, 0x00, -1, 0, 15 },
	{ "no DF", 6, 0x00, -1, 0, -1, 0, 15 },
	{ "UDP length 0", 24, 0, 25, 0, -1, -EINVAL, 0 },
	{ "UDP length 7", 24, 0, 25, 7, -1, -EINVAL, 0 },
	{ "UDP length > IP payload", 24, 0, 25, 24, -1, -EINVAL, 0 },
	{ "UDP length 0xffff", 24, 0xff, 25, 0xff, -1, -EINVAL, 0 },
	/* Shorter than the IP payload: the kernel trims the excess (udp_rcv). */
	{ "UDP length < IP payload", 24, 0, 25, 22, -1, 0, 14 },
	{ "UDP header only", 24, 0, 25, 8, -1, 0, 0 },
	/* Bytes after the IP datagram (link padding) are not part of it. */
	{ "total length < buffer", 3, 42, 25, 22, -1, 0, 14 },
	/* Neither checksum is checked (a tap sees the NIC's work undone). */
	{ "bad IP checksum", 10, 0, 11, 0, -1, 0, 15 },
	{ "no UDP checksum", 26, 0, 27, 0, -1, 0, 15 },
};

static void test_malformed_packets_are_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		uint8_t p[sizeof(getinfo)];
		struct disco_udp u;
		size_t len = mutations[i].len < 0 ? sizeof(p) : (size_t)mutations[i].len;
		int r;

		memcpy(p, getinfo, sizeof(p));
		if (mutations[i].off1 >= 0)
			p[mutations[i].off1] = (uint8_t)mutations[i].val1;
		if (mutations[i].off2 >= 0)
			p[mutations[i].off2] = (uint8_t)mutations[i].val2;
		r = disco_udp_parse(&u, p, len);
		if (r != mutations[i].want)
			fail_msg("%s: got %d, want %d", mutations[i].what, r, mutations[i].want);
		if (!r) {
			assert_int_equal(u.payload_len, mutations[i].payload_len);
			assert_ptr_equal(u.payload, p + 28);
			assert_int_equal(u.dport, 27960);
		}
	}
}

/* IHL under 5 is refused even when the bytes past a short header would
 * read as a consistent UDP header (offset 16: the destination, then our
 * source port 27 = 43 - 16 as a length). */
static void test_short_ihl_is_refused_even_when_it_would_parse(void **state)
{
	uint8_t p[sizeof(getinfo)];
	struct disco_udp u;

	(void)state;
	memcpy(p, getinfo, sizeof(p));
	p[20] = 0, p[21] = 27;
	assert_int_equal(disco_udp_parse(&u, p, sizeof(p)), 0); /* source port 27 */
	assert_int_equal(u.sport, 27);
	p[0] = 0x44;
	assert_int_equal(disco_udp_parse(&u, p, sizeof(p)), -EINVAL);
}

/* A GROUPS message with one group more than DISCO_MAX_GROUPS, all of them
 * valid and the length matching the count, is still refused. */
static void test_groups_message_over_the_maximum_is_refused(void **state)
{
	uint8_t b[DISCO_MSG_HDR + 1 + 4 * (DISCO_MAX_GROUPS + 1)];
	struct disco_msg m;

	(void)state;
	memcpy(b, "LRdi\x01\x00", 6);
	for (int n = DISCO_MAX_GROUPS; n <= DISCO_MAX_GROUPS + 1; n++) {
		b[6] = (uint8_t)n;
		for (int i = 0; i < n; i++)
			memcpy(b + 7 + 4 * i, "\xef\x01\x02\x03", 4);
		assert_int_equal(disco_msg_parse(&m, b, 7 + 4 * (size_t)n),
				 n <= DISCO_MAX_GROUPS ? 0 : -EINVAL);
	}
}

/* The parser reads only within len: every prefix of a valid packet is
 * refused (ASan catches a read past the copy). */
static void test_every_truncation_is_refused(void **state)
{
	(void)state;
	/* Exact-size heap copies (malloc, not test_malloc, whose guard bytes
	 * would hide an over-read from ASan). */
	for (size_t len = 0; len < sizeof(getinfo); len++) {
		uint8_t *p = malloc(len ? len : 1);
		struct disco_udp u;

		assert_non_null(p);
		memcpy(p, getinfo, len);
		assert_int_equal(disco_udp_parse(&u, p, len), -EINVAL);
		/* The same prefix with total and UDP lengths that say so. */
		if (len >= 4) {
			p[2] = 0, p[3] = (uint8_t)len;
			if (len >= 26)
				p[24] = 0, p[25] = (uint8_t)(len - 20);
			assert_int_equal(disco_udp_parse(&u, p, len), len < 28 ? -EINVAL : 0);
		}
		free(p);
	}
}

/* ---- built datagrams --------------------------------------------------------- */

static void assert_same_udp(const struct disco_udp *a, const struct disco_udp *b)
{
	assert_int_equal(a->src.s_addr, b->src.s_addr);
	assert_int_equal(a->dst.s_addr, b->dst.s_addr);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->payload_len, b->payload_len);
	if (a->payload_len)
		assert_memory_equal(a->payload, b->payload, a->payload_len);
}

static void test_build_then_parse_round_trips(void **state)
{
	static uint8_t payload[DISCO_MAX_PAYLOAD];
	static const size_t sizes[] = { 0, 1, 2, 3, 15, 100, 1001, DISCO_MAX_PAYLOAD - 1,
					DISCO_MAX_PAYLOAD };
	static const char *const dsts[] = { "10.66.0.2", "255.255.255.255", "224.0.2.60",
					    "10.66.255.255" };
	uint8_t buf[DISCO_MAX_PACKET];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct disco_udp in = {
				.src = ip("10.66.0.1"), .dst = ip(dsts[d]), .sport = 6112,
				.dport = (uint16_t)(27960 + s), .ttl = (uint8_t)(s + 1),
				.payload = payload, .payload_len = sizes[s],
			}, out;
			ssize_t n = disco_udp_build(buf, sizeof(buf), &in, (uint16_t)(0xbeef + s));

			assert_int_equal(n, 28 + sizes[s]);
			assert_int_equal(disco_udp_parse(&out, buf, (size_t)n), 0);
			assert_same_udp(&in, &out);
			assert_int_equal(out.ttl, in.ttl);
			assert_kernel_accepts(buf);
			/* 20-byte header, DF clear, the id asked for. */
			assert_int_equal(buf[0], 0x45);
			assert_int_equal(buf[6] << 8 | buf[7], 0);
			assert_int_equal(buf[4] << 8 | buf[5], 0xbeef + s);
			assert_int_equal(buf[2] << 8 | buf[3], n);
		}
	}
}

/* TTL 0 in the struct means "a default" (64); the hand-built getinfo comes
 * out byte for byte, checksums included, when built with its id and DF
 * cleared. */
static void test_build_matches_a_hand_built_packet(void **state)
{
	struct disco_udp u;
	uint8_t buf[64], want[sizeof(getinfo)];

	(void)state;
	assert_int_equal(disco_udp_parse(&u, getinfo, sizeof(getinfo)), 0);
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 0x1c46), sizeof(getinfo));
	memcpy(want, getinfo, sizeof(want));
	want[6] = 0;                   /* DF clear */
	want[10] = 0x9c, want[11] = 0xbd; /* so the header checksum is 0x4000 more */
	assert_memory_equal(buf, want, sizeof(want));
	u.ttl = 0;
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 0x1c46), sizeof(getinfo));
	assert_int_equal(buf[8], 64);
}

/* Checksums written independently: for many addresses and payloads, the
 * built header checksum equals ~sum and the UDP checksum ~sum over the
 * pseudo-header. */
static void test_build_checksums_match_an_independent_computation(void **state)
{
	uint8_t buf[DISCO_MAX_PACKET], payload[300];
	uint32_t x = 0x12345678;

	(void)state;
	for (int round = 0; round < 500; round++) {
		struct disco_udp u = { 0 };
		uint8_t hdr[20], pseudo[12];
		size_t len;

		/* xorshift32: varied, replayable. */
		for (size_t i = 0; i < sizeof(payload); i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			payload[i] = (uint8_t)x;
		}
		memcpy(&u.src, payload, 4);
		memcpy(&u.dst, payload + 4, 4);
		u.sport = (uint16_t)(payload[8] << 8 | payload[9]);
		u.dport = (uint16_t)(payload[10] << 8 | payload[11]);
		u.ttl = payload[12];
		u.payload = payload + 13;
		u.payload_len = (size_t)round % (sizeof(payload) - 13);
		len = 28 + u.payload_len;
		assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, (uint16_t)round), len);

		memcpy(hdr, buf, 20);
		hdr[10] = hdr[11] = 0;
		assert_int_equal(buf[10] << 8 | buf[11],
				 (uint16_t)~rfc1071_fold(rfc1071_add(0, hdr, 20)));
		memcpy(pseudo, buf + 12, 8);
		pseudo[8] = 0, pseudo[9] = IPPROTO_UDP;
		pseudo[10] = (uint8_t)((len - 20) >> 8), pseudo[11] = (uint8_t)(len - 20);
		uint8_t udp[8 + sizeof(payload)];

		memcpy(udp, buf + 20, len - 20);
		udp[6] = udp[7] = 0;
		uint16_t c = (uint16_t)~rfc1071_fold(
			rfc1071_add(rfc1071_add(0, pseudo, 12), udp, len - 20));
		assert_int_equal(buf[26] << 8 | buf[27], c ? c : 0xffff);
		assert_kernel_accepts(buf);
	}
}

/* A payload whose UDP checksum computes to 0 goes out as 0xffff (RFC 768:
 * 0 means "none"), which the receiver's sum still accepts. */
static void test_computed_zero_udp_checksum_is_sent_as_ffff(void **state)
{
	uint8_t payload[10] = { 'z', 'e', 'r', 'o', 's', 'u', 'm', '!', 0, 0 }, buf[64];
	struct disco_udp u = { .src = ip("10.66.0.1"), .dst = ip("255.255.255.255"),
			       .sport = 27960, .dport = 27961, .payload = payload,
			       .payload_len = sizeof(payload) };
	uint16_t s, w;

	(void)state;
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 1), 38);
	/* The sum with the checksum zeroed and the last word 0, then the last
	 * word chosen so the sum is 0xffff and its complement 0. */
	buf[26] = buf[27] = 0;
	s = udp_verify_sum(buf);
	w = (uint16_t)(0xffff - s);
	payload[8] = (uint8_t)(w >> 8);
	payload[9] = (uint8_t)w;
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 1), 38);
	assert_int_equal(buf[26] << 8 | buf[27], 0xffff);
	assert_kernel_accepts(buf);
}

static void test_build_refuses_what_does_not_fit(void **state)
{
	static uint8_t payload[DISCO_MAX_PAYLOAD + 1];
	uint8_t buf[DISCO_MAX_PACKET + 64], before[sizeof(buf)];
	struct disco_udp u = { .src = ip("10.66.0.1"), .dst = ip("10.66.0.2"), .sport = 1,
			       .dport = 2, .payload = payload, .payload_len = 15 };

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	memcpy(before, buf, sizeof(buf));
	assert_int_equal(disco_udp_build(buf, 42, &u, 0), -EMSGSIZE);
	assert_int_equal(disco_udp_build(buf, 0, &u, 0), -EMSGSIZE);
	assert_memory_equal(buf, before, sizeof(buf)); /* nothing written */
	assert_int_equal(disco_udp_build(buf, 43, &u, 0), 43);
	u.payload_len = DISCO_MAX_PAYLOAD;
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 0), DISCO_MAX_PACKET);
	/* One byte more than DISCO_MAX_PACKET, even with room in buf. */
	u.payload_len = DISCO_MAX_PAYLOAD + 1;
	assert_int_equal(disco_udp_build(buf, sizeof(buf), &u, 0), -EMSGSIZE);
}

/* A parsed datagram can be rebuilt into its own buffer (the payload moves
 * when the capture had IP options). */
static void test_build_into_the_parsed_buffer(void **state)
{
	uint8_t p[sizeof(getinfo) + 4];
	struct disco_udp u;

	(void)state;
	getinfo_with_option(p);
	assert_int_equal(disco_udp_parse(&u, p, sizeof(p)), 0);
	u.dst = ip("10.66.0.2");
	assert_int_equal(disco_udp_build(p, sizeof(p), &u, 7), sizeof(getinfo));
	assert_int_equal(disco_udp_parse(&u, p, sizeof(getinfo)), 0);
	assert_int_equal(u.dst.s_addr, ip("10.66.0.2").s_addr);
	assert_int_equal(u.payload_len, 15);
	assert_memory_equal(u.payload, "\xff\xff\xff\xffgetinfo xxx", 15);
	assert_kernel_accepts(p);
}

/* ---- the daemons' messages ----------------------------------------------------- */

static void test_groups_message_round_trips(void **state)
{
	static const uint8_t two[] = { 'L', 'R', 'd', 'i', DISCO_MSG_GROUPS, 0, 2,
				       224, 0, 2, 60, 239, 255, 255, 250 };
	uint8_t buf[DISCO_MSG_HDR + 1 + 4 * DISCO_MAX_GROUPS];
	struct disco_msg m = { .type = DISCO_MSG_GROUPS, .n_groups = 2 }, out;

	(void)state;
	m.groups[0] = ip("224.0.2.60");
	m.groups[1] = ip("239.255.255.250");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &m), sizeof(two));
	assert_memory_equal(buf, two, sizeof(two));
	assert_int_equal(disco_msg_parse(&out, two, sizeof(two)), 0);
	assert_int_equal(out.type, DISCO_MSG_GROUPS);
	assert_int_equal(out.n_groups, 2);
	assert_int_equal(out.groups[0].s_addr, m.groups[0].s_addr);
	assert_int_equal(out.groups[1].s_addr, m.groups[1].s_addr);

	/* None (a member that left every group) and the most. */
	m.n_groups = 0;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &m), 7);
	assert_memory_equal(buf, "LRdi\x01\x00\x00", 7);
	assert_int_equal(disco_msg_parse(&out, buf, 7), 0);
	assert_int_equal(out.n_groups, 0);
	m.n_groups = DISCO_MAX_GROUPS;
	for (int i = 0; i < DISCO_MAX_GROUPS; i++)
		m.groups[i].s_addr = htonl(0xe0000100u + (uint32_t)i * 0x10101u);
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &m), sizeof(buf));
	assert_int_equal(disco_msg_parse(&out, buf, sizeof(buf)), 0);
	assert_int_equal(out.n_groups, DISCO_MAX_GROUPS);
	assert_memory_equal(out.groups, m.groups, sizeof(m.groups));
	uint8_t again[sizeof(buf)];

	assert_int_equal(disco_msg_build(again, sizeof(again), &out), sizeof(buf));
	assert_memory_equal(again, buf, sizeof(buf));
}

static void test_native_message_round_trips(void **state)
{
	static const uint8_t want[] = { 'L', 'R', 'd', 'i', DISCO_MSG_NATIVE, 0,
					255, 255, 255, 255, 0xc8, 0x22, 0x6d, 0x38,
					0xff, 0xff, 0xff, 0xff, 'g', 'e', 't', 'i', 'n', 'f', 'o',
					' ', 'x', 'x', 'x' };
	static uint8_t big[DISCO_MAX_PAYLOAD];
	uint8_t buf[DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD];
	struct disco_msg m = { .type = DISCO_MSG_NATIVE }, out;

	(void)state;
	assert_int_equal(disco_udp_parse(&m.native, getinfo, sizeof(getinfo)), 0);
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &m), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(disco_msg_parse(&out, want, sizeof(want)), 0);
	assert_int_equal(out.type, DISCO_MSG_NATIVE);
	assert_int_equal(out.native.dst.s_addr, INADDR_BROADCAST);
	assert_int_equal(out.native.sport, 51234);
	assert_int_equal(out.native.dport, 27960);
	assert_ptr_equal(out.native.payload, want + DISCO_NATIVE_HDR);
	assert_int_equal(out.native.payload_len, 15);

	/* A multicast destination; one byte and the most payload. */
	m.native.dst = ip("224.0.2.60");
	m.native.payload = big;
	for (size_t len = 1; len <= DISCO_MAX_PAYLOAD; len += DISCO_MAX_PAYLOAD - 1) {
		memset(big, (int)len, sizeof(big));
		m.native.payload_len = len;
		assert_int_equal(disco_msg_build(buf, sizeof(buf), &m), DISCO_NATIVE_HDR + len);
		assert_int_equal(disco_msg_parse(&out, buf, DISCO_NATIVE_HDR + len), 0);
		assert_int_equal(out.native.dst.s_addr, ip("224.0.2.60").s_addr);
		assert_int_equal(out.native.payload_len, len);
		assert_memory_equal(out.native.payload, big, len);
	}
}

/* A valid message as a starting point for the refusals. */
static size_t base_msg(uint8_t *b, int type)
{
	memcpy(b, "LRdi", 4);
	b[4] = (uint8_t)type;
	b[5] = 0;
	if (type == DISCO_MSG_GROUPS) {
		b[6] = 1;
		memcpy(b + 7, "\xe0\x00\x02\x3c", 4); /* 224.0.2.60 */
		return 11;
	}
	memcpy(b + 6, "\xff\xff\xff\xff\x17\xe0\x17\xe0", 8); /* bcast, 6112 -> 6112 */
	memcpy(b + 14, "\xf7\x2f", 2);
	return 16;
}

static const struct {
	const char *what;
	int type;
	int off, val;   /* byte to set, -1 none */
	int dlen;       /* change to the length */
} refusals[] = {
	{ "valid GROUPS", DISCO_MSG_GROUPS, -1, 0, 0 },
	{ "valid NATIVE", DISCO_MSG_NATIVE, -1, 0, 0 },
	{ "bad magic", DISCO_MSG_GROUPS, 0, 'l', 0 },
	{ "bad magic, last byte", DISCO_MSG_NATIVE, 3, 'I', 0 },
	{ "reserved byte set", DISCO_MSG_GROUPS, 5, 1, 0 },
	{ "reserved byte 0x80", DISCO_MSG_NATIVE, 5, 0x80, 0 },
	{ "type 0", DISCO_MSG_GROUPS, 4, 0, 0 },
	{ "type 3", DISCO_MSG_NATIVE, 4, 3, 0 },
	{ "type 255", DISCO_MSG_NATIVE, 4, 255, 0 },
	{ "header only", DISCO_MSG_GROUPS, -1, 0, -5 },
	{ "shorter than the header", DISCO_MSG_GROUPS, -1, 0, -6 },
	{ "groups: count past the groups", DISCO_MSG_GROUPS, 6, 2, 0 },
	{ "groups: bytes after the groups", DISCO_MSG_GROUPS, -1, 0, 1 },
	{ "groups: a group cut short", DISCO_MSG_GROUPS, -1, 0, -1 },
	{ "groups: count past the maximum", DISCO_MSG_GROUPS, 6, DISCO_MAX_GROUPS + 1, 0 },
	{ "groups: count 255", DISCO_MSG_GROUPS, 6, 255, 0 },
	{ "groups: unicast group", DISCO_MSG_GROUPS, 7, 10, 0 },
	{ "groups: broadcast group", DISCO_MSG_GROUPS, 7, 255, 0 },
	{ "groups: class E group", DISCO_MSG_GROUPS, 7, 240, 0 },
	{ "groups: 223.x", DISCO_MSG_GROUPS, 7, 223, 0 },
	{ "native: empty payload", DISCO_MSG_NATIVE, -1, 0, -2 },
	{ "native: cut in the ports", DISCO_MSG_NATIVE, -1, 0, -4 },
	{ "native: 10.255.255.255 (subnet-directed)", DISCO_MSG_NATIVE, 6, 10, 0 },
	{ "native: 255.255.255.254", DISCO_MSG_NATIVE, 9, 0xfe, 0 },
	{ "native: class E", DISCO_MSG_NATIVE, 6, 0xf0, 0 },
	{ "native: source port 0", DISCO_MSG_NATIVE, 11, 0x00, 0 },
	{ "native: destination port 0", DISCO_MSG_NATIVE, 13, 0x00, 0 },
	{ "native: payload past the maximum", DISCO_MSG_NATIVE, -1, 0, DISCO_MAX_PAYLOAD },
};

static void test_malformed_messages_are_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		static uint8_t b[64 + DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD];
		size_t len = base_msg(b, refusals[i].type);
		struct disco_msg m;
		int want = i < 2 ? 0 : -EINVAL;

		if (refusals[i].off == 11 || refusals[i].off == 13)
			b[refusals[i].off - 1] = 0; /* a port is two bytes */
		if (refusals[i].off >= 0)
			b[refusals[i].off] = (uint8_t)refusals[i].val;
		len = (size_t)((long)len + refusals[i].dlen);
		if (disco_msg_parse(&m, b, len) != want)
			fail_msg("%s: not %s", refusals[i].what, want ? "refused" : "accepted");
	}
}

/* Build refuses what parse would refuse, before looking at the room; a short
 * buffer is -EMSGSIZE. */
static void test_build_refuses_messages_parse_would_refuse(void **state)
{
	static uint8_t big[DISCO_MAX_PAYLOAD + 1];
	uint8_t buf[DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD + 16];
	struct disco_msg g = { .type = DISCO_MSG_GROUPS, .n_groups = 1 };
	struct disco_msg n = { .type = DISCO_MSG_NATIVE };
	struct disco_msg bad;

	(void)state;
	g.groups[0] = ip("224.0.2.60");
	n.native.dst = ip("255.255.255.255");
	n.native.sport = n.native.dport = 6112;
	n.native.payload = big;
	n.native.payload_len = 2;

	bad = g, bad.type = 0;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = g, bad.type = 3;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	/* One group more than the array holds, every group multicast (and the
	 * bytes after the array too). */
	bad = g, bad.n_groups = DISCO_MAX_GROUPS + 1;
	for (int i = 0; i < DISCO_MAX_GROUPS; i++)
		bad.groups[i] = ip("239.0.0.1");
	bad.native.src = ip("239.0.0.1");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = g, bad.groups[0] = ip("10.66.0.1");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = g, bad.groups[0] = ip("255.255.255.255");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.dst = ip("10.66.0.2");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.dst = ip("10.66.255.255");
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.sport = 0;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.dport = 0;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.payload_len = 0;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	bad = n, bad.native.payload_len = DISCO_MAX_PAYLOAD + 1;
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &bad), -EINVAL);
	/* Invalid and too big for the buffer: -EINVAL wins. */
	bad = g, bad.groups[0] = ip("10.66.0.1");
	assert_int_equal(disco_msg_build(buf, 1, &bad), -EINVAL);

	assert_int_equal(disco_msg_build(buf, 10, &g), -EMSGSIZE);
	assert_int_equal(disco_msg_build(buf, 0, &g), -EMSGSIZE);
	assert_int_equal(disco_msg_build(buf, 11, &g), 11);
	assert_int_equal(disco_msg_build(buf, 15, &n), -EMSGSIZE);
	assert_int_equal(disco_msg_build(buf, 16, &n), 16);
	n.native.payload_len = DISCO_MAX_PAYLOAD;
	assert_int_equal(disco_msg_build(buf, DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD - 1, &n),
			 -EMSGSIZE);
	assert_int_equal(disco_msg_build(buf, sizeof(buf), &n),
			 DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD);
}

/* ---- Minecraft's announcement ---------------------------------------------------- */

static const struct {
	const char *payload;
	size_t motd_len;
	const char *motd;   /* NULL: left alone */
	int port;           /* -1: left alone */
} announcements[] = {
	{ "[MOTD]A world[/MOTD][AD]25565[/AD]", 64, "A world", 25565 },
	{ "[AD]1[/AD][MOTD]x[/MOTD]", 64, "x", 1 },
	{ "[MOTD]A world[/MOTD][AD]65535[/AD]", 64, "A world", 65535 },
	{ "[MOTD][/MOTD][AD]25565[/AD]", 64, "", 25565 },
	/* Not printable ASCII (a UTF-8 e-acute is two bytes): '?'. */
	{ "[MOTD]\x01" "Caf\xc3\xa9\x7f[/MOTD]", 64, "?Caf???", -1 },
	/* Truncated to the room, NUL included. */
	{ "[MOTD]A world[/MOTD]", 4, "A w", -1 },
	{ "[MOTD]A world[/MOTD]", 1, "", -1 },
	{ "[MOTD]A world[/MOTD][AD]25565[/AD]", 0, NULL, 25565 },
	/* Tags missing, unclosed or in the wrong order. */
	{ "[MOTD]A world[AD]25565[/AD]", 64, NULL, 25565 },
	{ "[/MOTD][MOTD]A world", 64, NULL, -1 },
	{ "A world 25565", 64, NULL, -1 },
	{ "", 64, NULL, -1 },
	/* Ports: 1..65535, digits only, at most five. */
	{ "[AD]0[/AD]", 64, NULL, -1 },
	{ "[AD]65536[/AD]", 64, NULL, -1 },
	{ "[AD]99999[/AD]", 64, NULL, -1 },
	{ "[AD]025565[/AD]", 64, NULL, -1 },
	{ "[AD]00080[/AD]", 64, NULL, 80 },
	{ "[AD]25 65[/AD]", 64, NULL, -1 },
	{ "[AD]-1[/AD]", 64, NULL, -1 },
	{ "[AD]+80[/AD]", 64, NULL, -1 },
	{ "[AD][/AD]", 64, NULL, -1 },
	{ "[AD]25565", 64, NULL, -1 },
};

static void test_minecraft_announcement_parses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(announcements) / sizeof(announcements[0]); i++) {
		size_t len = strlen(announcements[i].payload);
		/* An exact-size heap copy: no NUL after the payload to lean on. */
		uint8_t *p = malloc(len ? len : 1);
		char motd[64];
		uint16_t port = 7;

		assert_non_null(p);
		memcpy(p, announcements[i].payload, len);
		memset(motd, 'z', sizeof(motd));
		disco_minecraft_parse(p, len, motd, announcements[i].motd_len, &port);
		if (announcements[i].motd) {
			if (strcmp(motd, announcements[i].motd))
				fail_msg("case %zu: motd '%s', want '%s'", i, motd, announcements[i].motd);
		} else if (motd[0] != 'z') {
			fail_msg("case %zu: motd written", i);
		}
		assert_int_equal(port, announcements[i].port < 0 ? 7 : announcements[i].port);
		free(p);
	}
}

/* ---- Game servers' answers -------------------------------------------------------- */

static const struct {
	const char *payload;
	size_t len;         /* 0: strlen */
	size_t cap;
	const char *info;
} quake[] = {
	{ "\xff\xff\xff\xffinfoResponse\n\\hostname\\lab-a\\mapname\\oa_dm1\\clients\\0", 0, 64,
	  "lab-a (oa_dm1)" },
	{ "\xff\xff\xff\xffinfoResponse\n\\mapname\\oa_dm1\\hostname\\lab-a", 0, 64,
	  "lab-a (oa_dm1)" },
	{ "\xff\xff\xff\xffinfoResponse\n\\hostname\\lab-a", 0, 64, "lab-a" },
	{ "\xff\xff\xff\xffinfoResponse\n\\mapname\\q3dm17", 0, 64, "(q3dm17)" },
	{ "\xff\xff\xff\xffinfoResponse\n\\sv_hostname\\x\\mapnames\\y", 0, 64, "" },
	{ "\xff\xff\xff\xffinfoResponse\n\\hostname\\a\x01" "b", 0, 64, "a?b" },
	{ "\xff\xff\xff\xffinfoResponse\n\\hostname\\long name", 0, 5, "long" },
	{ "\xff\xff\xff\xffinfoResponse\n\\hostname", 0, 64, "" },
	{ "\xff\xff\xff\xffinfoResponse\\hostname\\x", 0, 64, "" }, /* no newline */
	{ "", 0, 64, "" },
};

static void test_quake_answer_names_server_and_map(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(quake) / sizeof(quake[0]); i++) {
		size_t len = quake[i].len ? quake[i].len : strlen(quake[i].payload);
		uint8_t *p = malloc(len ? len : 1); /* exact size: no NUL to lean on */
		char out[64];

		assert_non_null(p);
		memcpy(p, quake[i].payload, len);
		disco_quake_info(p, len, out, quake[i].cap);
		if (strcmp(out, quake[i].info))
			fail_msg("case %zu: '%s', want '%s'", i, out, quake[i].info);
		free(p);
	}
}

static void test_source_answer_names_server_and_map(void **state)
{
	static const uint8_t full[] = "\xff\xff\xff\xffI\x11" "LAN server\0de_dust2\0cstrike\0";
	static const uint8_t cut[] = "\xff\xff\xff\xffI\x11" "LAN server\0de_du";
	char out[64];

	(void)state;
	disco_source_info(full, sizeof(full) - 1, out, sizeof(out));
	assert_string_equal(out, "LAN server (de_dust2)");
	disco_source_info(cut, sizeof(cut) - 1, out, sizeof(out));
	assert_string_equal(out, "");
	disco_source_info(full, 6, out, sizeof(out));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openarena_getinfo_broadcast_parses),
		cmocka_unit_test(test_quake_answer_names_server_and_map),
		cmocka_unit_test(test_source_answer_names_server_and_map),
		cmocka_unit_test(test_openttd_subnet_broadcast_parses),
		cmocka_unit_test(test_ip_options_are_skipped),
		cmocka_unit_test(test_malformed_packets_are_refused),
		cmocka_unit_test(test_every_truncation_is_refused),
		cmocka_unit_test(test_short_ihl_is_refused_even_when_it_would_parse),
		cmocka_unit_test(test_build_then_parse_round_trips),
		cmocka_unit_test(test_build_matches_a_hand_built_packet),
		cmocka_unit_test(test_build_checksums_match_an_independent_computation),
		cmocka_unit_test(test_computed_zero_udp_checksum_is_sent_as_ffff),
		cmocka_unit_test(test_build_refuses_what_does_not_fit),
		cmocka_unit_test(test_build_into_the_parsed_buffer),
		cmocka_unit_test(test_groups_message_round_trips),
		cmocka_unit_test(test_native_message_round_trips),
		cmocka_unit_test(test_malformed_messages_are_refused),
		cmocka_unit_test(test_groups_message_over_the_maximum_is_refused),
		cmocka_unit_test(test_build_refuses_messages_parse_would_refuse),
		cmocka_unit_test(test_minecraft_announcement_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
