/*
 * test_kdf: HMAC-BLAKE2s and WireGuard's KDF against Python's hmac/hashlib
 * (vectors.h; gen_vectors.py also checks wireguard-go's kdf_test.go values),
 * and the protocol's initial chaining key and hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "vectors.h"

static void test_hmac_against_python(void **state)
{
	uint8_t mac[32];

	for (size_t i = 0; i < sizeof(hmac_vecs) / sizeof(hmac_vecs[0]); i++) {
		const struct hmac_vec *v = &hmac_vecs[i];

		crypto_hmac_blake2s(mac, v->key, v->keylen, v->msg, v->msglen);
		assert_memory_equal(mac, v->mac, 32);
	}
}

/* The KDF writes its output over its own input buffers in the protocol code. */
static void test_hmac_output_may_alias_input(void **state)
{
	const struct hmac_vec *v = &hmac_vecs[2 * 4 + 1]; /* 32-byte key, 3-byte message */
	uint8_t buf[32];

	assert_int_equal(v->keylen, 32);
	memcpy(buf, v->msg, v->msglen);
	crypto_hmac_blake2s(buf, v->key, v->keylen, buf, v->msglen);
	assert_memory_equal(buf, v->mac, 32);
	memcpy(buf, v->key, 32);
	uint8_t want[32];

	crypto_hmac_blake2s(want, v->key, 32, v->msg, v->msglen);
	crypto_hmac_blake2s(buf, buf, 32, v->msg, v->msglen);
	assert_memory_equal(buf, want, 32);
}

static void test_kdf_against_python(void **state)
{
	for (size_t i = 0; i < sizeof(kdf_vecs) / sizeof(kdf_vecs[0]); i++) {
		const struct kdf_vec *v = &kdf_vecs[i];
		uint8_t t1[32], t2[32], t3[32];

		crypto_kdf(t1, t2, t3, v->key, v->in, v->inlen);
		assert_memory_equal(t1, v->t1, 32);
		assert_memory_equal(t2, v->t2, 32);
		assert_memory_equal(t3, v->t3, 32);

		/* KDF1 and KDF2 are prefixes of KDF3. */
		memset(t1, 0, 32);
		memset(t2, 0, 32);
		crypto_kdf(t1, NULL, NULL, v->key, v->in, v->inlen);
		assert_memory_equal(t1, v->t1, 32);
		crypto_kdf(t1, t2, NULL, v->key, v->in, v->inlen);
		assert_memory_equal(t1, v->t1, 32);
		assert_memory_equal(t2, v->t2, 32);
		/* Only the second output wanted. */
		memset(t2, 0, 32);
		crypto_kdf(NULL, t2, NULL, v->key, v->in, v->inlen);
		assert_memory_equal(t2, v->t2, 32);
	}
}

static void test_wireguard_initial_state(void **state)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t ck[32], h[32];
	struct crypto_blake2s s;

	assert_int_equal(crypto_blake2s(ck, 32, NULL, 0, (const uint8_t *)construction,
					strlen(construction)),
			 0);
	assert_memory_equal(ck, wg_initial_ck, 32);
	assert_int_equal(crypto_blake2s_init(&s, 32, NULL, 0), 0);
	crypto_blake2s_update(&s, ck, 32);
	crypto_blake2s_update(&s, (const uint8_t *)identifier, strlen(identifier));
	crypto_blake2s_final(&s, h);
	assert_memory_equal(h, wg_initial_hash, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_against_python),
		cmocka_unit_test(test_hmac_output_may_alias_input),
		cmocka_unit_test(test_kdf_against_python),
		cmocka_unit_test(test_wireguard_initial_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
