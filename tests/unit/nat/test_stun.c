/*
 * test_stun: the STUN codec against the RFC 5769 test vectors (parsing,
 * FINGERPRINT, XOR-MAPPED-ADDRESS for IPv4 and IPv6), the class/method bit
 * interleaving, encoder round trips of every attribute we build, malformed
 * messages (each rejected whole with -EBADMSG), the lenient edges (trailing
 * bytes, attributes after FINGERPRINT), builder errors, and the STUN server's
 * RFC 5780 answers.
 *
 * MESSAGE-INTEGRITY in the vectors is recognised (STUN_HAS_INTEGRITY) but not
 * verified: the codec has no HMAC-SHA1 (libsodium offers none) and LANrage's
 * STUN use is unauthenticated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "nat/stun.h"
#include "nat/stun_server.h"

/* RFC 5769 section 2 (hex transcribed from the RFC). */
static const char *const V_REQUEST =
	"000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e7400"
	"2400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aea"
	"a70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
static const char *const V_RESP4 =
	"0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001"
	"a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
static const char *const V_RESP6 =
	"010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002"
	"a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed41"
	"80280004c8fb0b4c";
static const char *const V_LONGTERM =
	"000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b9"
	"00000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d"
	"706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";
/* The transaction ID of vectors 2.1-2.3, and of 2.4. */
static const uint8_t TXID[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
				  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };
static const uint8_t TXID_LT[12] = { 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
				     0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e };

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void ep_str(const struct wg_endpoint *ep, char *buf)
{
	wg_endpoint_format(ep, buf, 64);
}

static void set_ep(struct wg_endpoint *ep, const char *s)
{
	assert_int_equal(wg_endpoint_parse(ep, s), 0);
}

static bool has_unknown(const struct stun_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->n_unknown; i++)
		if (m->unknown[i] == type)
			return true;
	return false;
}

static void expect_bad(const uint8_t *buf, size_t n)
{
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, buf, n), -EBADMSG);
}

/* A header-only message of the given class with one raw attribute. */
static size_t build_raw(uint8_t *buf, size_t cap, enum stun_class cls, uint16_t type,
			const char *value, size_t vlen)
{
	struct stun_builder b;
	int len;

	stun_build_init(&b, buf, cap, STUN_METHOD_BINDING, cls, TXID);
	stun_add_bytes(&b, type, value, vlen);
	len = stun_build_finish(&b, false);
	assert_true(len > 0);
	return (size_t)len;
}

/* Rewrites a FINGERPRINT at fp_off for the message as it now stands. */
static void refingerprint(uint8_t *buf, size_t fp_off)
{
	uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)fp_off) ^ STUN_FINGERPRINT_XOR;

	buf[fp_off + 4] = (uint8_t)(crc >> 24);
	buf[fp_off + 5] = (uint8_t)(crc >> 16);
	buf[fp_off + 6] = (uint8_t)(crc >> 8);
	buf[fp_off + 7] = (uint8_t)crc;
}

/* RFC 5769 test vectors. */

static void test_rfc5769_request(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_REQUEST);
	struct stun_msg m;

	(void)state;
	assert_int_equal(n, 108);
	assert_true(stun_is_message(buf, n));
	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_REQUEST);
	assert_memory_equal(m.txid, TXID, 12);
	assert_true(m.has & STUN_HAS_SOFTWARE);
	assert_string_equal(m.software, "STUN test client");
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	/* Noted, not verified (no HMAC-SHA1 here). */
	assert_true(m.has & STUN_HAS_INTEGRITY);
	/* PRIORITY (0x0024) is comprehension-required and unknown to us;
	 * ICE-CONTROLLED (0x8029) is optional and skipped silently; USERNAME is
	 * understood (and ignored). */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0024);
	assert_false(has_unknown(&m, 0x8029));
	assert_false(has_unknown(&m, STUN_ATTR_USERNAME));
	assert_false(m.has & (STUN_HAS_MAPPED | STUN_HAS_XOR_MAPPED | STUN_HAS_ERROR |
			      STUN_HAS_CHANGE_REQUEST));
	assert_null(stun_msg_mapped(&m));
}

static void test_rfc5769_ipv4_response(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_RESP4);
	struct stun_msg m;
	char s[64];

	(void)state;
	assert_int_equal(n, 80);
	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_memory_equal(m.txid, TXID, 12);
	/* 11 characters; the attribute's padding byte (0x20 in the RFC) is not text. */
	assert_string_equal(m.software, "test vector");
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_true(m.has & STUN_HAS_XOR_MAPPED);
	assert_false(m.has & STUN_HAS_MAPPED);
	assert_int_equal(m.n_unknown, 0);
	assert_ptr_equal(stun_msg_mapped(&m), &m.xor_mapped);
	assert_int_equal(m.xor_mapped.sa.sa_family, AF_INET);
	ep_str(&m.xor_mapped, s);
	assert_string_equal(s, "192.0.2.1:32853");
}

static void test_rfc5769_ipv6_response(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_RESP6);
	struct stun_msg m;
	char s[64];

	(void)state;
	assert_int_equal(n, 92);
	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_memory_equal(m.txid, TXID, 12);
	assert_string_equal(m.software, "test vector");
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_int_equal(m.n_unknown, 0);
	assert_ptr_equal(stun_msg_mapped(&m), &m.xor_mapped);
	assert_int_equal(m.xor_mapped.sa.sa_family, AF_INET6);
	ep_str(&m.xor_mapped, s);
	assert_string_equal(s, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void test_rfc5769_longterm(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_LONGTERM);
	struct stun_msg m;

	(void)state;
	assert_int_equal(n, 116);
	assert_true(stun_is_message(buf, n));
	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_REQUEST);
	assert_memory_equal(m.txid, TXID_LT, 12);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_false(m.has & STUN_HAS_FINGERPRINT);
	assert_false(m.has & STUN_HAS_SOFTWARE);
	/* USERNAME (UTF-8, 18 bytes plus 2 padding) is understood; NONCE and REALM
	 * are comprehension-required attributes we do not use. */
	assert_int_equal(m.n_unknown, 2);
	assert_int_equal(m.unknown[0], 0x0015);
	assert_int_equal(m.unknown[1], 0x0014);
	assert_false(has_unknown(&m, STUN_ATTR_USERNAME));
}

/* Message type: method bits interleaved with C0 (bit 4) and C1 (bit 8). */

static void test_type_bits(void **state)
{
	static const struct {
		enum stun_class cls;
		uint16_t type;
	} cases[] = {
		{ STUN_REQUEST, 0x0001 },
		{ STUN_INDICATION, 0x0011 },
		{ STUN_SUCCESS, 0x0101 },
		{ STUN_ERROR, 0x0111 },
	};
	uint8_t buf[64];
	struct stun_builder b;
	struct stun_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, cases[i].cls, TXID);
		assert_int_equal(stun_build_finish(&b, false), 20);
		assert_int_equal(buf[0] << 8 | buf[1], cases[i].type);
		assert_int_equal(stun_parse(&m, buf, 20), 0);
		assert_int_equal(m.cls, cases[i].cls);
		assert_int_equal(m.method, STUN_METHOD_BINDING);
	}
}

static void test_type_bits_all_methods(void **state)
{
	static uint8_t seen[1 << 14];
	uint8_t buf[32];
	struct stun_builder b;
	struct stun_msg m;

	(void)state;
	memset(seen, 0, sizeof(seen));
	/* Every 12-bit method in every class maps to a distinct 14-bit type and back. */
	for (unsigned method = 0; method < 0x1000; method++) {
		for (unsigned cls = 0; cls < 4; cls++) {
			unsigned type;

			stun_build_init(&b, buf, sizeof(buf), (uint16_t)method,
					(enum stun_class)cls, TXID);
			assert_int_equal(stun_build_finish(&b, false), 20);
			type = (unsigned)(buf[0] << 8 | buf[1]);
			assert_true(type < (1u << 14));
			assert_int_equal(seen[type], 0);
			seen[type] = 1;
			assert_int_equal((type >> 4 & 1) | (type >> 7 & 2), cls);
			assert_int_equal(stun_parse(&m, buf, 20), 0);
			assert_int_equal(m.method, method);
			assert_int_equal(m.cls, cls);
		}
	}
}

/* Encoder. */

static void test_encode_matches_vector(void **state)
{
	uint8_t buf[STUN_MAX_MSG], want[16];
	struct stun_builder b;
	struct wg_endpoint ep;
	struct stun_msg m;
	int len;

	(void)state;
	set_ep(&ep, "192.0.2.1:32853");
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "test vector", 11);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &ep);
	len = stun_build_finish(&b, true);
	assert_int_equal(len, 20 + 16 + 12 + 8);
	/* Header: type, length (no MESSAGE-INTEGRITY here), cookie, txid. */
	unhex(want, sizeof(want), "010100242112a442");
	assert_memory_equal(buf, want, 8);
	assert_memory_equal(buf + 8, TXID, 12);
	/* SOFTWARE: the RFC pads with a space, we with a zero. */
	unhex(want, sizeof(want), "8022000b7465737420766563746f7200");
	assert_memory_equal(buf + 20, want, 16);
	/* XOR-MAPPED-ADDRESS byte for byte as in RFC 5769 section 2.2. */
	unhex(want, sizeof(want), "002000080001a147e112a643");
	assert_memory_equal(buf + 36, want, 12);
	assert_int_equal(buf[48] << 8 | buf[49], STUN_ATTR_FINGERPRINT);
	assert_int_equal(buf[50] << 8 | buf[51], 4);

	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_memory_equal(m.txid, TXID, 12);
	assert_int_equal(m.has, STUN_HAS_XOR_MAPPED | STUN_HAS_SOFTWARE | STUN_HAS_FINGERPRINT);
	assert_string_equal(m.software, "test vector");
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &ep));
	assert_int_equal(m.n_unknown, 0);
}

static void test_encode_ipv6_matches_vector(void **state)
{
	uint8_t buf[STUN_MAX_MSG], want[24];
	struct stun_builder b;
	struct wg_endpoint ep;
	struct stun_msg m;
	int len;

	(void)state;
	set_ep(&ep, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &ep);
	len = stun_build_finish(&b, true);
	assert_int_equal(len, 20 + 24 + 8);
	/* RFC 5769 section 2.3: the address is XORed with cookie and txid. */
	unhex(want, sizeof(want), "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9");
	assert_memory_equal(buf + 20, want, 24);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_int_equal(m.xor_mapped.sa.sa_family, AF_INET6);
	assert_true(wg_endpoint_equal(&m.xor_mapped, &ep));
}

static void test_roundtrip_all(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct wg_endpoint v6, v4, v6b, mapped;
	struct stun_builder b;
	struct stun_msg m;
	char s[64];
	int len;

	(void)state;
	set_ep(&v6, "[2001:db8::7]:3478");
	set_ep(&v6b, "[2001:db8:ffff::1]:65535");
	set_ep(&v4, "203.0.113.11:3479");
	/* A v4-mapped IPv6 sockaddr goes on the wire as IPv4. */
	memset(&mapped, 0, sizeof(mapped));
	mapped.in6.sin6_family = AF_INET6;
	mapped.in6.sin6_port = htons(9);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.3", &mapped.in6.sin6_addr), 1);
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_ERROR, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &v6);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &mapped);
	stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &v4);
	stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &v6b);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	stun_add_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute");
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "LANrage", 7);
	len = stun_build_finish(&b, true);
	assert_int_equal(len, 20 + 24 + 12 + 12 + 24 + 8 + 28 + 12 + 8);

	/* MAPPED-ADDRESS family byte is IPv4 (0x01), length 8. */
	assert_int_equal(buf[44] << 8 | buf[45], STUN_ATTR_MAPPED_ADDRESS);
	assert_int_equal(buf[46] << 8 | buf[47], 8);
	assert_int_equal(buf[49], 0x01);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_ERROR);
	assert_memory_equal(m.txid, TXID, 12);
	assert_int_equal(m.has, STUN_HAS_XOR_MAPPED | STUN_HAS_MAPPED | STUN_HAS_RESPONSE_ORIGIN |
					STUN_HAS_OTHER_ADDRESS | STUN_HAS_CHANGE_REQUEST |
					STUN_HAS_ERROR | STUN_HAS_SOFTWARE | STUN_HAS_FINGERPRINT);
	assert_true(wg_endpoint_equal(&m.xor_mapped, &v6));
	assert_int_equal(m.mapped.sa.sa_family, AF_INET);
	ep_str(&m.mapped, s);
	assert_string_equal(s, "198.51.100.3:9");
	assert_true(wg_endpoint_equal(&m.response_origin, &v4));
	assert_true(wg_endpoint_equal(&m.other_address, &v6b));
	assert_int_equal(m.change_flags, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	assert_int_equal(m.error_code, 420);
	assert_string_equal(m.error_reason, "Unknown Attribute");
	assert_string_equal(m.software, "LANrage");
	assert_int_equal(m.n_unknown, 0);
	/* XOR-MAPPED-ADDRESS is preferred over MAPPED-ADDRESS. */
	assert_ptr_equal(stun_msg_mapped(&m), &m.xor_mapped);
}

static void test_roundtrip_plain_v4_and_xor_v4mapped(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct wg_endpoint v4, mapped, want;
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	set_ep(&v4, "0.0.0.0:0");
	memset(&mapped, 0, sizeof(mapped));
	mapped.in6.sin6_family = AF_INET6;
	mapped.in6.sin6_port = htons(54321);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &mapped.in6.sin6_addr), 1);
	set_ep(&want, "10.1.2.3:54321");
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &v4);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	len = stun_build_finish(&b, false);
	assert_int_equal(len, 20 + 12 + 12);
	assert_int_equal(buf[37], 0x01); /* XOR-MAPPED family: IPv4 */
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_false(m.has & STUN_HAS_FINGERPRINT);
	assert_true(wg_endpoint_equal(&m.mapped, &v4));
	assert_true(wg_endpoint_equal(&m.xor_mapped, &want));
}

static void test_change_request_flags(void **state)
{
	static const uint32_t flags[] = { 0, STUN_CHANGE_PORT, STUN_CHANGE_IP,
					  STUN_CHANGE_IP | STUN_CHANGE_PORT };
	uint8_t buf[64];
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_REQUEST, TXID);
		stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, flags[i]);
		len = stun_build_finish(&b, true);
		assert_int_equal(len, 20 + 8 + 8);
		assert_int_equal(buf[27], flags[i]);
		assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
		assert_true(m.has & STUN_HAS_CHANGE_REQUEST);
		assert_int_equal(m.change_flags, flags[i]);
	}
}

static void test_error_code_roundtrip(void **state)
{
	static const uint16_t codes[] = { 300, 400, 420, 499, 500, 699 };
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_ERROR, TXID);
		stun_add_error(&b, codes[i], i & 1 ? "" : "Bad Request");
		len = stun_build_finish(&b, true);
		assert_true(len > 0);
		assert_int_equal(buf[26], codes[i] / 100); /* class */
		assert_int_equal(buf[27], codes[i] % 100); /* number */
		assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
		assert_true(m.has & STUN_HAS_ERROR);
		assert_int_equal(m.error_code, codes[i]);
		assert_string_equal(m.error_reason, i & 1 ? "" : "Bad Request");
	}
}

static void test_long_text_truncated(void **state)
{
	char text[300];
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	memset(text, 'x', sizeof(text));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, text, sizeof(text));
	len = stun_build_finish(&b, true);
	assert_true(len > 0);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_int_equal(strlen(m.software), STUN_MAX_TEXT - 1);
}

static void test_mapped_preference(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct wg_endpoint a, c, d;
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	set_ep(&a, "192.0.2.10:1000");
	set_ep(&c, "192.0.2.20:2000");
	set_ep(&d, "192.0.2.30:3000");
	/* MAPPED-ADDRESS alone. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a);
	len = stun_build_finish(&b, true);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_ptr_equal(stun_msg_mapped(&m), &m.mapped);
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &a));
	/* The old 0x8020 code beats MAPPED-ADDRESS... */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS_OLD, &c);
	len = stun_build_finish(&b, true);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &c));
	/* ...and the standard 0x0020 beats 0x8020 in either order. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS_OLD, &c);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &d);
	len = stun_build_finish(&b, true);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &d));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &d);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS_OLD, &c);
	len = stun_build_finish(&b, true);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &d));
}

static void test_duplicates_first_wins(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct wg_endpoint a, c;
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	set_ep(&a, "192.0.2.10:1000");
	set_ep(&c, "192.0.2.20:2000");
	/* RFC 8489 section 14: only the first occurrence of an attribute counts. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &c);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &a);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &c);
	stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &a);
	stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &c);
	stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &a);
	stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &c);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_PORT);
	stun_add_error(&b, 400, "first");
	stun_add_error(&b, 500, "second");
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "first", 5);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "second", 6);
	len = stun_build_finish(&b, true);
	assert_true(len > 0);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(wg_endpoint_equal(&m.xor_mapped, &a));
	assert_true(wg_endpoint_equal(&m.mapped, &a));
	assert_true(wg_endpoint_equal(&m.response_origin, &a));
	assert_true(wg_endpoint_equal(&m.other_address, &a));
	assert_int_equal(m.change_flags, STUN_CHANGE_IP);
	assert_int_equal(m.error_code, 400);
	assert_string_equal(m.error_reason, "first");
	assert_string_equal(m.software, "first");
}

/* Malformed messages: each is rejected whole. */

static void test_bad_truncated_header(void **state)
{
	uint8_t v[256];

	(void)state;
	unhex(v, sizeof(v), V_RESP4);
	for (size_t i = 0; i < 20; i++)
		expect_bad(v, i);
	v[2] = v[3] = 0; /* 20 bytes with length 0 is a valid empty message */
	expect_bad(v, 19);
}

static void test_bad_top_bits(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	(void)state;
	v[0] |= 0x80;
	expect_bad(v, n);
	v[0] = (uint8_t)((v[0] & 0x3F) | 0x40);
	expect_bad(v, n);
}

static void test_bad_cookie(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	(void)state;
	for (size_t i = 4; i < 8; i++) {
		v[i] ^= 0x01;
		expect_bad(v, n);
		v[i] ^= 0x01;
	}
	/* The RFC 3489 form (no cookie) is not accepted either. */
	memset(v + 4, 0, 4);
	expect_bad(v, n);
}

static void test_bad_length_not_multiple_of_4(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	(void)state;
	for (uint8_t l = 0x39; l <= 0x3b; l++) {
		v[3] = l; /* within the datagram, but not a multiple of 4 */
		expect_bad(v, n);
	}
}

static void test_bad_length_beyond_datagram(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	(void)state;
	expect_bad(v, n - 4); /* header says 60 bytes, 56 arrived */
	expect_bad(v, n - 1);
	v[3] = 0x40;
	expect_bad(v, n);
	v[2] = 0xFF;
	v[3] = 0xFC;
	expect_bad(v, n);
}

static void test_bad_attr_overrun(void **state)
{
	uint8_t v[256], buf[64];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	(void)state;
	v[23] = 0x40; /* SOFTWARE claims 64 bytes */
	expect_bad(v, n);
	v[22] = 0xFF; /* ...or 65344 */
	expect_bad(v, n);
	/* The last attribute's value fits but its padding does not. */
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_SOFTWARE, "abcd", 4);
	assert_int_equal(n, 28);
	assert_int_equal(stun_parse(&(struct stun_msg){ 0 }, buf, n), 0);
	buf[27 - 4] = 5;
	expect_bad(buf, n);
	/* An unknown optional attribute overrunning is just as bad. */
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, 0x8029, "abcdefgh", 8);
	buf[23] = 12;
	expect_bad(buf, n);
}

static void test_bad_addr_family(void **state)
{
	static const char *const fams[] = {
		"\x00\x00\x00\x01\x01\x02\x03\x04",
		"\x00\x03\x00\x01\x01\x02\x03\x04",
		"\x00\xff\x00\x01\x01\x02\x03\x04",
	};
	static const uint16_t types[] = { STUN_ATTR_MAPPED_ADDRESS, STUN_ATTR_XOR_MAPPED_ADDRESS,
					  STUN_ATTR_XOR_MAPPED_ADDRESS_OLD,
					  STUN_ATTR_RESPONSE_ORIGIN, STUN_ATTR_OTHER_ADDRESS };
	uint8_t buf[64];
	size_t n;

	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
			n = build_raw(buf, sizeof(buf), STUN_SUCCESS, types[t], fams[f], 8);
			expect_bad(buf, n);
		}
		/* Sanity: with family 0x01 the same bytes parse. */
		n = build_raw(buf, sizeof(buf), STUN_SUCCESS, types[t],
			      "\x00\x01\x00\x01\x01\x02\x03\x04", 8);
		assert_int_equal(stun_parse(&(struct stun_msg){ 0 }, buf, n), 0);
	}
}

static void test_bad_addr_length(void **state)
{
	static const char v6[20] = "\x00\x02\x00\x01\x20\x01\x0d\xb8";
	static const char v4[20] = "\x00\x01\x00\x01\x01\x02\x03\x04";
	uint8_t buf[64];
	size_t n;

	(void)state;
	/* IPv4 with 9, 7, 20 bytes; IPv6 with 8, 19, 24 bytes; and under 4. */
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_XOR_MAPPED_ADDRESS, v4, 9);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_MAPPED_ADDRESS, v4, 7);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_MAPPED_ADDRESS, v4, 20);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_XOR_MAPPED_ADDRESS, v6, 8);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_OTHER_ADDRESS, v6, 19);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_RESPONSE_ORIGIN, "\0\0\0\0\0\0", 0);
	expect_bad(buf, n);
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_MAPPED_ADDRESS, v4, 3);
	expect_bad(buf, n);
	/* CHANGE-REQUEST is exactly 4 bytes. */
	n = build_raw(buf, sizeof(buf), STUN_REQUEST, STUN_ATTR_CHANGE_REQUEST, v4, 8);
	expect_bad(buf, n);
	/* Sanity: IPv6 with 20 bytes parses. */
	n = build_raw(buf, sizeof(buf), STUN_SUCCESS, STUN_ATTR_OTHER_ADDRESS, v6, 20);
	assert_int_equal(stun_parse(&(struct stun_msg){ 0 }, buf, n), 0);
}

static void test_bad_fingerprint(void **state)
{
	uint8_t v[256], t[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);
	struct stun_msg m;

	(void)state;
	/* Every single-bit flip of the body is caught by the CRC (or by the
	 * attribute checks), and so is a flip of the CRC itself. The exception is
	 * a flip that hides FINGERPRINT (its type, or MESSAGE-INTEGRITY's length
	 * swallowing it): that leaves a message without one, which is valid since
	 * FINGERPRINT is optional, so then it must parse without it. */
	for (size_t i = 20; i < n; i++) {
		bool hides = (i >= 48 && i < 52) || (i >= 72 && i < 76);

		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(t, v, n);
			t[i] ^= (uint8_t)(1u << bit);
			if (!hides)
				expect_bad(t, n);
			else if (stun_parse(&m, t, n) == 0)
				assert_false(m.has & STUN_HAS_FINGERPRINT);
		}
	}
	memcpy(t, v, n);
	t[24] = 'T'; /* "Test vector" */
	expect_bad(t, n);
	/* A FINGERPRINT with the wrong length. */
	n = build_raw(t, sizeof(t), STUN_SUCCESS, STUN_ATTR_FINGERPRINT, "\0\0\0\0\0\0\0\0", 8);
	expect_bad(t, n);
}

static void test_bad_error_code(void **state)
{
	uint8_t buf[64];
	size_t n;

	(void)state;
	n = build_raw(buf, sizeof(buf), STUN_ERROR, STUN_ATTR_ERROR_CODE, "\x00\x00\x02\x00", 4);
	expect_bad(buf, n); /* class 2 */
	n = build_raw(buf, sizeof(buf), STUN_ERROR, STUN_ATTR_ERROR_CODE, "\x00\x00\x07\x00", 4);
	expect_bad(buf, n); /* class 7 */
	n = build_raw(buf, sizeof(buf), STUN_ERROR, STUN_ATTR_ERROR_CODE, "\x00\x00\x04\x64", 4);
	expect_bad(buf, n); /* number 100 */
	n = build_raw(buf, sizeof(buf), STUN_ERROR, STUN_ATTR_ERROR_CODE, "\x00\x00\x04", 3);
	expect_bad(buf, n); /* too short */
	n = build_raw(buf, sizeof(buf), STUN_ERROR, STUN_ATTR_ERROR_CODE, "\x00\x00\x04\x14", 4);
	assert_int_equal(stun_parse(&(struct stun_msg){ 0 }, buf, n), 0); /* 420, no reason */
}

/* Lenient edges. */

static void test_trailing_bytes_ignored(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);
	struct stun_msg m;
	char s[64];

	(void)state;
	memset(v + n, 0xAA, 13);
	assert_int_equal(stun_parse(&m, v, n + 13), 0);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	ep_str(&m.xor_mapped, s);
	assert_string_equal(s, "192.0.2.1:32853");
	/* A header-only message followed by junk. */
	v[2] = v[3] = 0;
	assert_int_equal(stun_parse(&m, v, n), 0);
	assert_int_equal(m.has, 0);
}

static void test_after_fingerprint_ignored(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4), fp_off = n - 8;
	struct stun_msg m;

	(void)state;
	/* Append a malformed MAPPED-ADDRESS (family 7), an unknown
	 * comprehension-required attribute and SOFTWARE after FINGERPRINT, count
	 * them in the header and recompute the CRC so FINGERPRINT itself is
	 * valid: the parser stops at FINGERPRINT. */
	memcpy(v + n, "\x00\x01\x00\x08\x00\x07\x00\x01\x01\x02\x03\x04"
		      "\x00\x24\x00\x04\x00\x00\x00\x00"
		      "\x80\x22\x00\x04zzzz", 28);
	v[3] = (uint8_t)(v[3] + 28);
	refingerprint(v, fp_off);
	assert_int_equal(stun_parse(&m, v, n + 28), 0);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_false(m.has & STUN_HAS_MAPPED);
	assert_int_equal(m.n_unknown, 0);
	assert_string_equal(m.software, "test vector");
	/* Without the CRC fix-up the longer header breaks FINGERPRINT. */
	v[fp_off + 7] ^= 1;
	expect_bad(v, n + 28);
}

static void test_after_integrity_ignored(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);
	struct stun_msg m;

	(void)state;
	/* Put SOFTWARE and a malformed address after MESSAGE-INTEGRITY, before
	 * FINGERPRINT: only FINGERPRINT may follow MESSAGE-INTEGRITY, the rest is
	 * skipped (though still bounds-checked). */
	memmove(v + 72 + 12, v + 72, 8);
	memcpy(v + 72, "\x00\x01\x00\x08\x00\x07\x00\x01\x01\x02\x03\x04", 12);
	v[3] = (uint8_t)(v[3] + 12);
	refingerprint(v, 84);
	assert_int_equal(stun_parse(&m, v, n + 12), 0);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_false(m.has & STUN_HAS_MAPPED);
}

/* Builder errors. */

static void test_builder_nospc(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;

	(void)state;
	/* Header + CHANGE-REQUEST + FINGERPRINT is 36 bytes. */
	stun_build_init(&b, buf, 36, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0);
	assert_int_equal(stun_build_finish(&b, true), 36);
	stun_build_init(&b, buf, 35, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0);
	assert_int_equal(stun_build_finish(&b, true), -ENOSPC);
	stun_build_init(&b, buf, 24, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
	/* Too small for the header. */
	stun_build_init(&b, buf, 19, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
	/* Padding counts: 5 bytes of text take 8. */
	stun_build_init(&b, buf, 31, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "abcde", 5);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
	/* The error is sticky: a later attribute that would fit does not clear it. */
	stun_build_init(&b, buf, 40, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, buf, 100);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
}

static void test_builder_length_field_limit(void **state)
{
	static uint8_t big[20 + 0x10000 + 64], zeros[0x10000];
	struct stun_builder b;
	struct stun_msg m;
	int len;

	(void)state;
	/* With a buffer over 64 KiB the 16-bit length field is the limit. */
	stun_build_init(&b, big, sizeof(big), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_PADDING, zeros, 0x8000);
	stun_add_bytes(&b, STUN_ATTR_PADDING, zeros, 0x7FF0);
	len = stun_build_finish(&b, false);
	assert_int_equal(len, 20 + 0xFFF8);
	assert_int_equal(stun_parse(&m, big, (size_t)len), 0);
	stun_build_init(&b, big, sizeof(big), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_PADDING, zeros, 0x8000);
	stun_add_bytes(&b, STUN_ATTR_PADDING, zeros, 0x8000);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
	stun_build_init(&b, big, sizeof(big), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_PADDING, zeros, 0x10000);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
}

static void test_builder_einval(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	struct wg_endpoint none, ok;

	(void)state;
	memset(&none, 0, sizeof(none)); /* AF_UNSPEC */
	set_ep(&ok, "192.0.2.1:1");
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &none);
	assert_int_equal(stun_build_finish(&b, true), -EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &none);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &ok);
	assert_int_equal(stun_build_finish(&b, true), -EINVAL);
	/* ERROR-CODE outside 300-699. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_ERROR, TXID);
	stun_add_error(&b, 299, "x");
	assert_int_equal(stun_build_finish(&b, false), -EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_ERROR, TXID);
	stun_add_error(&b, 700, "x");
	assert_int_equal(stun_build_finish(&b, false), -EINVAL);
	/* The first error is the one reported. */
	stun_build_init(&b, buf, 24, STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &none);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &ok);
	assert_int_equal(stun_build_finish(&b, false), -EINVAL);
	stun_build_init(&b, buf, 24, STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &ok);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &none);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
}

/* Demultiplexing. */

static void test_is_message(void **state)
{
	uint8_t wg_init[148], v[256], rtp[20];
	size_t n;

	(void)state;
	n = unhex(v, sizeof(v), V_RESP4);
	assert_true(stun_is_message(v, n));
	n = unhex(v, sizeof(v), V_REQUEST);
	assert_true(stun_is_message(v, n));
	assert_true(stun_is_message(v, 20)); /* the header alone is enough for the test */
	assert_false(stun_is_message(v, 19));
	assert_false(stun_is_message(v, 0));
	/* WireGuard handshake initiation: type 1 as little-endian 32 bits. */
	memset(wg_init, 0x5A, sizeof(wg_init));
	memcpy(wg_init, "\x01\x00\x00\x00", 4);
	assert_false(stun_is_message(wg_init, sizeof(wg_init)));
	/* WireGuard transport data (type 4) and cookie reply (type 3). */
	wg_init[0] = 4;
	assert_false(stun_is_message(wg_init, sizeof(wg_init)));
	wg_init[0] = 3;
	assert_false(stun_is_message(wg_init, 64));
	/* RTP version 2 sets the top bit. */
	memcpy(rtp, v, 20);
	rtp[0] = 0x80;
	assert_false(stun_is_message(rtp, 20));
	/* Length not a multiple of 4, wrong cookie. */
	memcpy(rtp, v, 20);
	rtp[3] = 0x5a;
	assert_false(stun_is_message(rtp, 20));
	memcpy(rtp, v, 20);
	rtp[7] ^= 0x80;
	assert_false(stun_is_message(rtp, 20));
}

/* RFC 5780 server behaviour on a four-socket topology. */
static struct stun_server_topo topo;

static size_t server_request(uint8_t *buf, uint32_t change, bool with_change, uint16_t extra)
{
	struct stun_builder b;
	int len;

	stun_build_init(&b, buf, STUN_MAX_MSG, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	if (with_change)
		stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, change);
	if (extra)
		stun_add_u32(&b, extra, 0);
	len = stun_build_finish(&b, true);
	assert_true(len > 0);
	return (size_t)len;
}

static void setup_topo(bool rfc5780)
{
	memset(&topo, 0, sizeof(topo));
	wg_endpoint_parse(&topo.sock[0][0], "203.0.113.10:3478");
	wg_endpoint_parse(&topo.sock[0][1], "203.0.113.10:3479");
	wg_endpoint_parse(&topo.sock[1][0], "203.0.113.11:3478");
	wg_endpoint_parse(&topo.sock[1][1], "203.0.113.11:3479");
	topo.rfc5780 = rfc5780;
	topo.software = "test";
}

static void test_server_binding_and_change(void **state)
{
	static const struct { uint32_t flags; unsigned ip, port; } cases[] = {
		{ 0, 0, 0 },
		{ STUN_CHANGE_PORT, 0, 1 },
		{ STUN_CHANGE_IP, 1, 0 },
		{ STUN_CHANGE_IP | STUN_CHANGE_PORT, 1, 1 },
	};
	uint8_t req[STUN_MAX_MSG], out[STUN_MAX_MSG];
	struct stun_server_reply r;
	struct wg_endpoint src;
	struct stun_msg m;

	setup_topo(true);
	wg_endpoint_parse(&src, "198.51.100.7:40000");
	for (size_t i = 0; i < 4; i++) {
		size_t n = server_request(req, cases[i].flags, true, 0);

		assert_int_equal(stun_server_answer(&topo, 0, 0, req, n, &src, out, sizeof(out), &r), 0);
		assert_true(r.len > 0);
		assert_int_equal(r.ip, cases[i].ip);
		assert_int_equal(r.port, cases[i].port);
		assert_int_equal(stun_parse(&m, out, r.len), 0);
		assert_int_equal(m.cls, STUN_SUCCESS);
		assert_true(wg_endpoint_equal(&m.xor_mapped, &src));
		assert_true(wg_endpoint_equal(&m.mapped, &src));
		assert_true(wg_endpoint_equal(&m.response_origin, &topo.sock[r.ip][r.port]));
		assert_true(wg_endpoint_equal(&m.other_address, &topo.sock[!r.ip][!r.port]));
		assert_true(m.has & STUN_HAS_FINGERPRINT);
	}
}

static void test_server_refusals(void **state)
{
	uint8_t req[STUN_MAX_MSG], out[STUN_MAX_MSG];
	struct stun_server_reply r;
	struct wg_endpoint src;
	struct stun_msg m;
	size_t n;

	wg_endpoint_parse(&src, "198.51.100.7:40000");
	/* No alternate address: CHANGE-REQUEST gets 420 naming it. */
	setup_topo(false);
	n = server_request(req, STUN_CHANGE_IP, true, 0);
	assert_int_equal(stun_server_answer(&topo, 0, 0, req, n, &src, out, sizeof(out), &r), 0);
	assert_int_equal(stun_parse(&m, out, r.len), 0);
	assert_int_equal(m.cls, STUN_ERROR);
	assert_int_equal(m.error_code, 420);
	assert_false(m.has & STUN_HAS_OTHER_ADDRESS);
	/* An unknown comprehension-required attribute: 420 as well. */
	setup_topo(true);
	n = server_request(req, 0, false, 0x0024);
	assert_int_equal(stun_server_answer(&topo, 0, 0, req, n, &src, out, sizeof(out), &r), 0);
	assert_int_equal(stun_parse(&m, out, r.len), 0);
	assert_int_equal(m.error_code, 420);
	/* Responses and garbage: silence. */
	unhex(req, sizeof(req), V_RESP4);
	assert_int_equal(stun_server_answer(&topo, 0, 0, req, 76, &src, out, sizeof(out), &r), 0);
	assert_int_equal(r.len, 0);
	memset(req, 0x41, 64);
	assert_int_equal(stun_server_answer(&topo, 0, 0, req, 64, &src, out, sizeof(out), &r), 0);
	assert_int_equal(r.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_ipv4_response),
		cmocka_unit_test(test_rfc5769_ipv6_response),
		cmocka_unit_test(test_rfc5769_longterm),
		cmocka_unit_test(test_type_bits),
		cmocka_unit_test(test_type_bits_all_methods),
		cmocka_unit_test(test_encode_matches_vector),
		cmocka_unit_test(test_encode_ipv6_matches_vector),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_roundtrip_plain_v4_and_xor_v4mapped),
		cmocka_unit_test(test_change_request_flags),
		cmocka_unit_test(test_error_code_roundtrip),
		cmocka_unit_test(test_long_text_truncated),
		cmocka_unit_test(test_mapped_preference),
		cmocka_unit_test(test_duplicates_first_wins),
		cmocka_unit_test(test_bad_truncated_header),
		cmocka_unit_test(test_bad_top_bits),
		cmocka_unit_test(test_bad_cookie),
		cmocka_unit_test(test_bad_length_not_multiple_of_4),
		cmocka_unit_test(test_bad_length_beyond_datagram),
		cmocka_unit_test(test_bad_attr_overrun),
		cmocka_unit_test(test_bad_addr_family),
		cmocka_unit_test(test_bad_addr_length),
		cmocka_unit_test(test_bad_fingerprint),
		cmocka_unit_test(test_bad_error_code),
		cmocka_unit_test(test_trailing_bytes_ignored),
		cmocka_unit_test(test_after_fingerprint_ignored),
		cmocka_unit_test(test_after_integrity_ignored),
		cmocka_unit_test(test_builder_nospc),
		cmocka_unit_test(test_builder_length_field_limit),
		cmocka_unit_test(test_builder_einval),
		cmocka_unit_test(test_is_message),
		cmocka_unit_test(test_server_binding_and_change),
		cmocka_unit_test(test_server_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
