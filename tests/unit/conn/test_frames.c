/*
 * test_frames: the frames conn puts on the wire (docs/PROBES.md): probe
 * round trips with the pair key both ends derive, MAC failures (other pair,
 * other sender, a frame reflected at its sender, any flipped byte), every
 * truncation and trailing bytes, demultiplexing against WireGuard, STUN and
 * relay frames; echo frames; the relay shim wrapping a datagram as a SEND the
 * relay_proto codec parses, and unwrapping a DELIVER the codec built.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conn/conn_internal.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "nat/stun.h"

static uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], c_priv[32], c_pub[32];

static int setup(void **state)
{
	(void)state;
	if (crypto_init())
		return -1;
	crypto_x25519_generate(a_priv, a_pub);
	crypto_x25519_generate(b_priv, b_pub);
	crypto_x25519_generate(c_priv, c_pub);
	return 0;
}

static const struct probe_frame F = {
	.type = PROBE_PROBE, .session = { 1, 2, 3, 4, 5, 6, 7, 8 }, .seq = 0x01020304,
};

static void test_pair_key_symmetric(void **state)
{
	uint8_t kab[32], kba[32], kac[32];

	(void)state;
	assert_int_equal(probe_pair_key(kab, a_priv, b_pub), 0);
	assert_int_equal(probe_pair_key(kba, b_priv, a_pub), 0);
	assert_int_equal(probe_pair_key(kac, a_priv, c_pub), 0);
	assert_memory_equal(kab, kba, 32);
	assert_memory_not_equal(kab, kac, 32);
	/* a low-order public key gives no key */
	uint8_t zero[32] = { 0 };
	assert_int_equal(probe_pair_key(kac, a_priv, zero), -EINVAL);
}

static void test_round_trip(void **state)
{
	uint8_t kab[32], kba[32], buf[64];
	struct probe_frame f;

	(void)state;
	probe_pair_key(kab, a_priv, b_pub);
	probe_pair_key(kba, b_priv, a_pub);
	assert_int_equal(probe_build(buf, sizeof(buf), &F, kab, a_pub), PROBE_LEN);
	assert_int_equal(buf[0], 'L');
	assert_int_equal(buf[1], 'P');
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[3], PROBE_PROBE);
	assert_int_equal(probe_parse(buf, PROBE_LEN, kba, a_pub, &f), 0);
	assert_int_equal(f.type, PROBE_PROBE);
	assert_int_equal(f.seq, 0x01020304);
	assert_memory_equal(f.session, F.session, 8);
	struct probe_frame ack = F;
	ack.type = PROBE_ACK;
	assert_int_equal(probe_build(buf, sizeof(buf), &ack, kba, b_pub), PROBE_LEN);
	assert_int_equal(probe_parse(buf, PROBE_LEN, kab, b_pub, &f), 0);
	assert_int_equal(f.type, PROBE_ACK);
	assert_int_equal(probe_build(buf, PROBE_LEN - 1, &F, kab, a_pub), -ENOSPC);
	ack.type = 3;
	assert_int_equal(probe_build(buf, sizeof(buf), &ack, kab, a_pub), -EINVAL);
}

static void test_mac_failures(void **state)
{
	uint8_t kab[32], kac[32], buf[PROBE_LEN];
	struct probe_frame f;

	(void)state;
	probe_pair_key(kab, a_priv, b_pub);
	probe_pair_key(kac, a_priv, c_pub);
	probe_build(buf, sizeof(buf), &F, kab, a_pub);
	/* another pair's key */
	assert_int_equal(probe_parse(buf, PROBE_LEN, kac, a_pub, &f), -EBADMSG);
	/* reflected back at its sender: the receiver checks with the peer's key */
	assert_int_equal(probe_parse(buf, PROBE_LEN, kab, b_pub, &f), -EBADMSG);
	/* every byte after the header is covered */
	for (size_t i = 4; i < PROBE_LEN; i++) {
		uint8_t t[PROBE_LEN];

		memcpy(t, buf, sizeof(t));
		t[i] ^= 0x40;
		assert_int_equal(probe_parse(t, PROBE_LEN, kab, a_pub, &f), -EBADMSG);
	}
	/* header bytes changed: not a v1 probe at all, or MAC fails */
	for (size_t i = 0; i < 4; i++) {
		uint8_t t[PROBE_LEN];

		memcpy(t, buf, sizeof(t));
		t[i] ^= 0x01;
		assert_int_not_equal(probe_parse(t, PROBE_LEN, kab, a_pub, &f), 0);
	}
}

static void test_truncation(void **state)
{
	uint8_t kab[32], buf[PROBE_LEN + 8];
	struct probe_frame f;

	(void)state;
	probe_pair_key(kab, a_priv, b_pub);
	probe_build(buf, sizeof(buf), &F, kab, a_pub);
	for (size_t n = 0; n < PROBE_LEN; n++)
		assert_int_equal(probe_parse(buf, n, kab, a_pub, &f), -EINVAL);
	assert_int_equal(probe_parse(buf, PROBE_LEN + 1, kab, a_pub, &f), -EINVAL);
	assert_int_equal(probe_parse(buf, PROBE_LEN, kab, a_pub, &f), 0);
}

static void test_demux(void **state)
{
	uint8_t kab[32], probe[PROBE_LEN], relay[RELAY_PING_LEN];
	uint8_t wg[4] = { 1, 0, 0, 0 }, stun[20] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42 };
	uint8_t nonce[8] = { 0 };

	(void)state;
	probe_pair_key(kab, a_priv, b_pub);
	probe_build(probe, sizeof(probe), &F, kab, a_pub);
	relay_build_ping(relay, sizeof(relay), RELAY_PING, nonce);
	/* a probe is not WireGuard (first byte outside 1..4), not STUN, not relay */
	assert_true(probe[0] < 1 || probe[0] > 4);
	assert_true(probe[0] != 0x00 && probe[0] != 0x01);
	assert_false(relay_is_frame(probe, sizeof(probe)));
	assert_true(probe_is_frame(probe, sizeof(probe)));
	/* and none of those is a probe */
	assert_false(probe_is_frame(relay, sizeof(relay)));
	assert_false(probe_is_frame(wg, sizeof(wg)));
	assert_false(probe_is_frame(stun, sizeof(stun)));
	assert_false(probe_is_frame(probe, 1));
}

static void test_echo(void **state)
{
	uint8_t buf[ECHO_LEN];
	int type;
	uint32_t seq;
	uint64_t stamp;

	(void)state;
	assert_int_equal(echo_build(buf, ECHO_REQUEST, 7, 0x1122334455667788ULL), ECHO_LEN);
	assert_int_equal(echo_parse(buf, ECHO_LEN, &type, &seq, &stamp), 0);
	assert_int_equal(type, ECHO_REQUEST);
	assert_int_equal(seq, 7);
	assert_true(stamp == 0x1122334455667788ULL);
	assert_int_equal(echo_parse(buf, ECHO_LEN - 1, &type, &seq, &stamp), -EINVAL);
	buf[3] = 9;
	assert_int_equal(echo_parse(buf, ECHO_LEN, &type, &seq, &stamp), -EINVAL);
	assert_int_equal(echo_build(buf, 5, 1, 1), -EINVAL);
}

static void test_shim(void **state)
{
	uint8_t dgram[148], out[300], deliver[300];
	struct relay_frame f;
	const uint8_t *src, *payload;
	size_t plen;
	int n;

	(void)state;
	memset(dgram, 0x5a, sizeof(dgram));
	dgram[0] = 1; /* a handshake initiation */
	n = shim_wrap(out, sizeof(out), b_pub, dgram, sizeof(dgram));
	assert_int_equal(n, RELAY_KEYED_HDR_LEN + (int)sizeof(dgram));
	assert_int_equal(relay_parse(out, (size_t)n, &f), 0);
	assert_int_equal(f.type, RELAY_SEND);
	assert_memory_equal(f.key, b_pub, 32);
	assert_int_equal(f.payload_len, sizeof(dgram));
	assert_memory_equal(f.payload, dgram, sizeof(dgram));
	assert_int_equal(shim_wrap(out, sizeof(out), b_pub, dgram, 0), -EINVAL);
	assert_int_equal(shim_wrap(out, 40, b_pub, dgram, sizeof(dgram)), -ENOSPC);
	/* a SEND is not something the shim unwraps: only DELIVER */
	assert_int_equal(shim_unwrap(out, (size_t)n, &src, &payload, &plen), -EINVAL);
	/* what the relay makes of it (in place), unwrapped */
	n = relay_build_keyed(deliver, sizeof(deliver), RELAY_DELIVER, a_pub, dgram, sizeof(dgram));
	assert_int_equal(shim_unwrap(deliver, (size_t)n, &src, &payload, &plen), 0);
	assert_memory_equal(src, a_pub, 32);
	assert_int_equal(plen, sizeof(dgram));
	assert_memory_equal(payload, dgram, sizeof(dgram));
	assert_int_equal(shim_unwrap(deliver, RELAY_KEYED_HDR_LEN, &src, &payload, &plen), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_key_symmetric),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_mac_failures),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_shim),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
