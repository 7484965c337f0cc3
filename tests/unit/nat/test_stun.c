/*
 * test_stun: the STUN codec against the RFC 5769 test vectors (parsing,
 * FINGERPRINT, XOR-MAPPED-ADDRESS for IPv4 and IPv6), encoder round trips,
 * malformed messages, and the STUN server's RFC 5780 answers.
 * MESSAGE-INTEGRITY in the vectors is recognised but not verified: LANrage's
 * STUN use is unauthenticated and libsodium has no HMAC-SHA1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
static const uint8_t TXID[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
				  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };

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

static void test_rfc5769_request(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_REQUEST);
	struct stun_msg m;

	assert_true(stun_is_message(buf, n));
	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.cls, STUN_REQUEST);
	assert_memory_equal(m.txid, TXID, 12);
	assert_string_equal(m.software, "STUN test client");
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	/* PRIORITY (0x0024) is comprehension-required and unknown to us;
	 * ICE-CONTROLLED (0x8029) is optional and skipped silently. */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0024);
}

static void test_rfc5769_ipv4_response(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_RESP4);
	struct stun_msg m;
	char s[64];

	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_memory_equal(m.txid, TXID, 12);
	assert_string_equal(m.software, "test vector");
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_non_null(stun_msg_mapped(&m));
	ep_str(stun_msg_mapped(&m), s);
	assert_string_equal(s, "192.0.2.1:32853");
}

static void test_rfc5769_ipv6_response(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_RESP6);
	struct stun_msg m;
	char s[64];

	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	ep_str(stun_msg_mapped(&m), s);
	assert_string_equal(s, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void test_rfc5769_longterm(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, sizeof(buf), V_LONGTERM);
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, buf, n), 0);
	assert_int_equal(m.cls, STUN_REQUEST);
	assert_true(m.has & STUN_HAS_INTEGRITY);
	assert_false(m.has & STUN_HAS_FINGERPRINT);
	/* NONCE and REALM are comprehension-required attributes we do not use. */
	assert_int_equal(m.n_unknown, 2);
}

static void test_type_bits(void **state)
{
	static const struct { enum stun_class cls; uint16_t type; } cases[] = {
		{ STUN_REQUEST, 0x0001 }, { STUN_INDICATION, 0x0011 },
		{ STUN_SUCCESS, 0x0101 }, { STUN_ERROR, 0x0111 },
	};
	uint8_t buf[64];
	struct stun_builder b;
	struct stun_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, cases[i].cls, TXID);
		assert_int_equal(stun_build_finish(&b, false), 20);
		assert_int_equal(buf[0] << 8 | buf[1], cases[i].type);
		assert_int_equal(stun_parse(&m, buf, 20), 0);
		assert_int_equal(m.cls, cases[i].cls);
	}
}

static void test_encode_matches_vector(void **state)
{
	uint8_t buf[STUN_MAX_MSG], want[12];
	struct stun_builder b;
	struct wg_endpoint ep;
	struct stun_msg m;
	int len;

	wg_endpoint_parse(&ep, "192.0.2.1:32853");
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, "test vector", 11);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &ep);
	len = stun_build_finish(&b, true);
	assert_int_equal(len, 20 + 16 + 12 + 8);
	/* The RFC pads SOFTWARE with spaces, we with zeros: compare the address TLV. */
	unhex(want, sizeof(want), "002000080001a147e112a643");
	assert_memory_equal(buf + 36, want, 12);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(m.has & STUN_HAS_FINGERPRINT);
	assert_true(wg_endpoint_equal(stun_msg_mapped(&m), &ep));
}

static void test_roundtrip_all(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct wg_endpoint v6, v4, mapped;
	struct stun_builder b;
	struct stun_msg m;
	char s[64];
	int len;

	wg_endpoint_parse(&v6, "[2001:db8::7]:3478");
	wg_endpoint_parse(&v4, "203.0.113.11:3479");
	/* A v4-mapped IPv6 sockaddr goes on the wire as IPv4. */
	memset(&mapped, 0, sizeof(mapped));
	mapped.in6.sin6_family = AF_INET6;
	mapped.in6.sin6_port = htons(9);
	inet_pton(AF_INET6, "::ffff:198.51.100.3", &mapped.in6.sin6_addr);
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &v6);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &mapped);
	stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &v4);
	stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &v6);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	stun_add_error(&b, 420, "Unknown Attribute");
	len = stun_build_finish(&b, true);
	assert_true(len > 0);
	assert_int_equal(stun_parse(&m, buf, (size_t)len), 0);
	assert_true(wg_endpoint_equal(&m.xor_mapped, &v6));
	ep_str(&m.mapped, s);
	assert_string_equal(s, "198.51.100.3:9");
	assert_int_equal(m.mapped.sa.sa_family, AF_INET);
	assert_true(wg_endpoint_equal(&m.response_origin, &v4));
	assert_true(wg_endpoint_equal(&m.other_address, &v6));
	assert_int_equal(m.change_flags, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	assert_int_equal(m.error_code, 420);
	assert_string_equal(m.error_reason, "Unknown Attribute");
}

static void expect_bad(const uint8_t *buf, size_t n)
{
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, buf, n), -EBADMSG);
}

static void test_malformed(void **state)
{
	uint8_t v[256], t[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	expect_bad(v, 19); /* truncated header */
	memcpy(t, v, n);
	t[0] |= 0x80; /* top bits */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[4] ^= 1; /* cookie */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[3] = 0x3d; /* length not a multiple of 4 */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[3] = 0x40; /* length past the datagram */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[23] = 0x40; /* SOFTWARE overruns the message */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[n - 1] ^= 1; /* FINGERPRINT */
	expect_bad(t, n);
	memcpy(t, v, n);
	t[30] ^= 1; /* body byte under the FINGERPRINT */
	expect_bad(t, n);
}

static void test_malformed_attrs(void **state)
{
	uint8_t buf[64];
	struct stun_builder b;
	int len;

	/* Address with an unknown family. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_MAPPED_ADDRESS, "\x00\x03\x00\x01\x01\x02\x03\x04", 8);
	len = stun_build_finish(&b, false);
	expect_bad(buf, (size_t)len);
	/* IPv4 address with the wrong length. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_SUCCESS, TXID);
	stun_add_bytes(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, "\x00\x01\x00\x01\x01\x02\x03\x04\x05", 9);
	len = stun_build_finish(&b, false);
	expect_bad(buf, (size_t)len);
	/* ERROR-CODE of class 2. */
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_ERROR, TXID);
	stun_add_bytes(&b, STUN_ATTR_ERROR_CODE, "\x00\x00\x02\x00", 4);
	len = stun_build_finish(&b, false);
	expect_bad(buf, (size_t)len);
}

static void test_lenient_edges(void **state)
{
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);
	struct stun_msg m;

	/* Bytes past the header's length are ignored. */
	memset(v + n, 0xAA, 8);
	assert_int_equal(stun_parse(&m, v, n + 8), 0);
	/* FINGERPRINT must be last: growing the message past it breaks the CRC. */
	v[3] += 8;
	memcpy(v + n, "\x00\x01\x00\x04\xde\xad\xbe\xef", 8);

	assert_int_equal(stun_parse(&m, v, n + 8), -EBADMSG);
}

static void test_builder_errors(void **state)
{
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	struct wg_endpoint none;

	stun_build_init(&b, buf, 24, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, 0);
	assert_int_equal(stun_build_finish(&b, true), -ENOSPC);
	memset(&none, 0, sizeof(none));
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &none);
	assert_int_equal(stun_build_finish(&b, true), -EINVAL);
	stun_build_init(&b, buf, 10, STUN_METHOD_BINDING, STUN_REQUEST, TXID);
	assert_int_equal(stun_build_finish(&b, false), -ENOSPC);
}

static void test_is_message(void **state)
{
	static const uint8_t wg_init[24] = { 1, 0, 0, 0 };
	uint8_t v[256];
	size_t n = unhex(v, sizeof(v), V_RESP4);

	assert_true(stun_is_message(v, n));
	assert_false(stun_is_message(wg_init, sizeof(wg_init)));
	assert_false(stun_is_message(v, 19));
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
		cmocka_unit_test(test_encode_matches_vector),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_attrs),
		cmocka_unit_test(test_lenient_edges),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_is_message),
		cmocka_unit_test(test_server_binding_and_change),
		cmocka_unit_test(test_server_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
