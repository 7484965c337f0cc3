/*
 * test_blake2s: BLAKE2s against RFC 7693 Appendix B, the official keyed KAT
 * (key 00..1f, input 00..n-1) and Python's hashlib (vectors.h), every output
 * length, streaming at every split point, argument checks and wiping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "vectors.h"
#include "wgpair.h"

static const uint8_t seq32[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
				   11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
				   22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

/* Published values, copied from the RFC and the BLAKE2 repository's KAT. */
static void test_published_vectors(void **state)
{
	uint8_t out[32], want[32], in[255];

	assert_int_equal(crypto_blake2s(out, 32, NULL, 0, (const uint8_t *)"abc", 3), 0);
	wgp_hex_decode(want, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	assert_memory_equal(out, want, 32);

	for (int i = 0; i < 255; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(crypto_blake2s(out, 32, seq32, 32, in, 0), 0);
	wgp_hex_decode(want, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
	assert_memory_equal(out, want, 32);
	assert_int_equal(crypto_blake2s(out, 32, seq32, 32, in, 1), 0);
	wgp_hex_decode(want, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1");
	assert_memory_equal(out, want, 32);
	assert_int_equal(crypto_blake2s(out, 32, seq32, 32, in, 255), 0);
	wgp_hex_decode(want, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd");
	assert_memory_equal(out, want, 32);
}

static void test_lengths_against_hashlib(void **state)
{
	uint8_t in[255], out[32];

	for (int i = 0; i < 255; i++)
		in[i] = (uint8_t)i;
	for (size_t v = 0; v < sizeof(b2s_vecs) / sizeof(b2s_vecs[0]); v++) {
		const struct b2s_vec *t = &b2s_vecs[v];

		assert_int_equal(crypto_blake2s(out, 32, seq32, 32, in, t->inlen), 0);
		assert_memory_equal(out, t->keyed, 32);
		assert_int_equal(crypto_blake2s(out, 32, NULL, 0, in, t->inlen), 0);
		assert_memory_equal(out, t->unkeyed, 32);
	}
}

static void test_every_output_length(void **state)
{
	const uint8_t *msg = (const uint8_t *)"LANrage";
	const uint8_t *key = (const uint8_t *)"sekrit!";

	for (size_t n = 1; n <= 32; n++) {
		uint8_t out[33];

		memset(out, 0xAA, sizeof(out));
		assert_int_equal(crypto_blake2s(out, n, NULL, 0, msg, 7), 0);
		assert_memory_equal(out, b2s_outlen_unkeyed[n], n);
		assert_int_equal(out[n], 0xAA); /* nothing written past outlen */
		assert_int_equal(crypto_blake2s(out, n, key, 7, msg, 7), 0);
		assert_memory_equal(out, b2s_outlen_keyed[n], n);
	}
}

static void test_streaming_matches_oneshot(void **state)
{
	uint8_t in[200], one[32], out[32];
	struct crypto_blake2s s;

	for (int i = 0; i < 200; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(crypto_blake2s(one, 32, seq32, 32, in, sizeof(in)), 0);
	for (size_t split = 0; split <= sizeof(in); split++) {
		assert_int_equal(crypto_blake2s_init(&s, 32, seq32, 32), 0);
		crypto_blake2s_update(&s, in, split);
		crypto_blake2s_update(&s, in + split, sizeof(in) - split);
		crypto_blake2s_final(&s, out);
		assert_memory_equal(out, one, 32);
	}
	for (size_t step = 1; step <= 65; step++) {
		assert_int_equal(crypto_blake2s_init(&s, 32, seq32, 32), 0);
		for (size_t off = 0; off < sizeof(in); off += step)
			crypto_blake2s_update(&s, in + off, off + step > sizeof(in) ? sizeof(in) - off : step);
		crypto_blake2s_final(&s, out);
		assert_memory_equal(out, one, 32);
	}
}

static void test_bad_arguments(void **state)
{
	struct crypto_blake2s s;
	uint8_t out[32], key[33] = { 0 };

	assert_int_equal(crypto_blake2s_init(&s, 0, NULL, 0), -EINVAL);
	assert_int_equal(crypto_blake2s_init(&s, 33, NULL, 0), -EINVAL);
	assert_int_equal(crypto_blake2s_init(&s, 32, key, 33), -EINVAL);
	assert_int_equal(crypto_blake2s_init(&s, 32, NULL, 5), -EINVAL);
	memset(out, 0x55, sizeof(out));
	assert_int_equal(crypto_blake2s(out, 0, NULL, 0, key, 1), -EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
}

static void test_final_wipes_state(void **state)
{
	struct crypto_blake2s s;
	uint8_t out[32];
	static const struct crypto_blake2s zero;

	assert_int_equal(crypto_blake2s_init(&s, 32, seq32, 32), 0);
	crypto_blake2s_update(&s, (const uint8_t *)"secret stuff", 12);
	crypto_blake2s_final(&s, out);
	assert_memory_equal(&s, &zero, sizeof(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_lengths_against_hashlib),
		cmocka_unit_test(test_every_output_length),
		cmocka_unit_test(test_streaming_matches_oneshot),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_final_wipes_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
