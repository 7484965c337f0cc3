/*
 * test_sodium: the libsodium wrappers with WireGuard's conventions: X25519
 * (RFC 7748 sections 5.2 and 6.1, low-order points refused), ChaCha20-Poly1305
 * (RFC 8439 section 2.8.2, the WireGuard nonce layout), XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03 A.3.1), tamper detection and the helpers.
 * Full expected outputs come from vectors.h (Python `cryptography`), whose
 * generator first checks them against the published prefixes and tags.
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

static int setup(void **state)
{
	return crypto_init();
}

static void test_x25519_rfc7748(void **state)
{
	uint8_t k[32], u[32], out[32], want[32];

	/* Section 5.2, both vectors. */
	wgp_hex_decode(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	wgp_hex_decode(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	wgp_hex_decode(want, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	assert_int_equal(crypto_x25519(out, k, u), 0);
	assert_memory_equal(out, want, 32);
	wgp_hex_decode(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	wgp_hex_decode(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	wgp_hex_decode(want, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	assert_int_equal(crypto_x25519(out, k, u), 0);
	assert_memory_equal(out, want, 32);

	/* Section 6.1: Alice and Bob. */
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];

	wgp_hex_decode(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	wgp_hex_decode(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	crypto_x25519_public(apub, a);
	crypto_x25519_public(bpub, b);
	wgp_hex_decode(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_memory_equal(apub, want, 32);
	wgp_hex_decode(want, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_memory_equal(bpub, want, 32);
	assert_int_equal(crypto_x25519(s1, a, bpub), 0);
	assert_int_equal(crypto_x25519(s2, b, apub), 0);
	wgp_hex_decode(want, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(s1, want, 32);
	assert_memory_equal(s2, want, 32);
}

static void test_x25519_against_python(void **state)
{
	for (size_t i = 0; i < sizeof(x25519_vecs) / sizeof(x25519_vecs[0]); i++) {
		const struct x25519_vec *v = &x25519_vecs[i];
		uint8_t pub[32], peer_pub[32], shared[32];

		crypto_x25519_public(pub, v->priv);
		assert_memory_equal(pub, v->pub, 32);
		crypto_x25519_public(peer_pub, v->peer_priv);
		assert_int_equal(crypto_x25519(shared, v->priv, peer_pub), 0);
		assert_memory_equal(shared, v->shared, 32);
	}
}

/* Points of small order give an all-zero secret: refused, output zeroed. */
static void test_x25519_low_order_refused(void **state)
{
	static const char *const low_order[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[32], pub[32], out[32];
	static const uint8_t zero[32];

	crypto_x25519_generate(priv, pub);
	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		uint8_t p[32];

		wgp_hex_decode(p, low_order[i]);
		memset(out, 0xAA, sizeof(out));
		assert_int_equal(crypto_x25519(out, priv, p), -EINVAL);
		assert_memory_equal(out, zero, 32);
	}
}

static void test_x25519_generate_clamped(void **state)
{
	for (int i = 0; i < 64; i++) {
		uint8_t priv[32], pub[32], again[32];

		crypto_x25519_generate(priv, pub);
		assert_int_equal(priv[0] & 7, 0);
		assert_int_equal(priv[31] & 0xC0, 0x40);
		crypto_x25519_public(again, priv);
		assert_memory_equal(pub, again, 32);
	}
}

static const uint8_t rfc8439_key[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};
static const char rfc8439_pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
				 "tip for the future, sunscreen would be it.";
static const uint8_t rfc8439_ad[12] = { 0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1,
					0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7 };

static void test_chacha20poly1305_rfc8439(void **state)
{
	uint8_t nonce[12], buf[114 + 16], tag[16];
	const size_t len = sizeof(rfc8439_pt) - 1;

	assert_int_equal(len, 114);
	wgp_hex_decode(nonce, "070000004041424344454647");
	crypto_aead_encrypt_nonce(buf, (const uint8_t *)rfc8439_pt, len, rfc8439_ad,
				  sizeof(rfc8439_ad), nonce, rfc8439_key);
	assert_memory_equal(buf, rfc8439_ct, sizeof(rfc8439_ct));
	wgp_hex_decode(tag, "1ae10b594f09e26a7e902ecbd0600691"); /* published tag */
	assert_memory_equal(buf + len, tag, 16);
	/* Decrypt in place. */
	assert_int_equal(crypto_aead_decrypt_nonce(buf, buf, sizeof(buf), rfc8439_ad,
						   sizeof(rfc8439_ad), nonce, rfc8439_key),
			 0);
	assert_memory_equal(buf, rfc8439_pt, len);
}

static void test_wireguard_nonce_layout(void **state)
{
	for (size_t i = 0; i < sizeof(aead_vecs) / sizeof(aead_vecs[0]); i++) {
		const struct aead_vec *v = &aead_vecs[i];
		uint8_t buf[116], nonce[12] = { 0 };

		crypto_aead_encrypt(buf, v->pt, v->len, v->ad, v->adlen, v->counter, v->key);
		assert_memory_equal(buf, v->ct, v->len + 16);
		for (int b = 0; b < 8; b++)
			nonce[4 + b] = (uint8_t)(v->counter >> (8 * b));
		uint8_t buf2[116];

		crypto_aead_encrypt_nonce(buf2, v->pt, v->len, v->ad, v->adlen, nonce, v->key);
		assert_memory_equal(buf2, buf, v->len + 16);
		assert_int_equal(crypto_aead_decrypt(buf, buf, v->len + 16, v->ad, v->adlen,
						     v->counter, v->key),
				 0);
		if (v->len)
			assert_memory_equal(buf, v->pt, v->len);
		/* The wrong counter does not decrypt. */
		assert_int_equal(crypto_aead_decrypt(buf2, v->ct, v->len + 16, v->ad, v->adlen,
						     v->counter + 1, v->key),
				 -EBADMSG);
	}
}

static void test_tampering_detected(void **state)
{
	const struct aead_vec *v = &aead_vecs[3]; /* 100 bytes */
	uint8_t ct[116], ad[32], out[116];

	assert_int_equal(v->len, 100);
	for (size_t i = 0; i < v->len + 16; i++) {
		memcpy(ct, v->ct, sizeof(ct));
		ct[i] ^= 0x01;
		assert_int_equal(crypto_aead_decrypt(out, ct, v->len + 16, v->ad, v->adlen,
						     v->counter, v->key),
				 -EBADMSG);
	}
	for (size_t i = 0; i < v->adlen; i++) {
		memcpy(ad, v->ad, sizeof(ad));
		ad[i] ^= 0x80;
		assert_int_equal(crypto_aead_decrypt(out, v->ct, v->len + 16, ad, v->adlen,
						     v->counter, v->key),
				 -EBADMSG);
	}
	/* Shorter than a tag. */
	assert_int_equal(crypto_aead_decrypt(out, v->ct, 15, NULL, 0, 0, v->key), -EBADMSG);
	assert_int_equal(crypto_aead_decrypt(out, v->ct, 0, NULL, 0, 0, v->key), -EBADMSG);
	assert_int_equal(crypto_xaead_decrypt(out, v->ct, 15, NULL, 0, v->key, v->key), -EBADMSG);
}

static void test_xchacha20poly1305_draft(void **state)
{
	uint8_t nonce[24], buf[114 + 16], tag[16];
	const size_t len = sizeof(rfc8439_pt) - 1;

	for (int i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	crypto_xaead_encrypt(buf, (const uint8_t *)rfc8439_pt, len, rfc8439_ad, sizeof(rfc8439_ad),
			     nonce, rfc8439_key);
	assert_memory_equal(buf, xchacha_a31_ct, sizeof(xchacha_a31_ct));
	wgp_hex_decode(tag, "c0875924c1c7987947deafd8780acf49"); /* published tag, A.3.1 */
	assert_memory_equal(buf + len, tag, 16);
	assert_int_equal(crypto_xaead_decrypt(buf, buf, sizeof(buf), rfc8439_ad,
					      sizeof(rfc8439_ad), nonce, rfc8439_key),
			 0);
	assert_memory_equal(buf, rfc8439_pt, len);
	nonce[23] ^= 1;
	crypto_xaead_encrypt(buf, (const uint8_t *)rfc8439_pt, len, rfc8439_ad, sizeof(rfc8439_ad),
			     nonce, rfc8439_key);
	assert_int_not_equal(memcmp(buf, xchacha_a31_ct, 16), 0);
	nonce[23] ^= 1;
	assert_int_equal(crypto_xaead_decrypt(buf, buf, sizeof(buf), rfc8439_ad,
					      sizeof(rfc8439_ad), nonce, rfc8439_key),
			 -EBADMSG);
}

static void test_helpers(void **state)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	assert_true(crypto_is_zero(a, sizeof(a)));
	assert_true(crypto_equal(a, b, sizeof(a)));
	b[31] = 1;
	assert_false(crypto_is_zero(b, sizeof(b)));
	assert_false(crypto_equal(a, b, sizeof(a)));
	memset(a, 0x5A, sizeof(a));
	crypto_wipe(a, sizeof(a));
	assert_true(crypto_is_zero(a, sizeof(a)));
	for (int i = 0; i < 10000; i++)
		assert_true(crypto_random_uniform(7) < 7);
	/* Two random keys colliding means the generator is broken. */
	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	assert_false(crypto_equal(a, b, sizeof(a)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_against_python),
		cmocka_unit_test(test_x25519_low_order_refused),
		cmocka_unit_test(test_x25519_generate_clamped),
		cmocka_unit_test(test_chacha20poly1305_rfc8439),
		cmocka_unit_test(test_wireguard_nonce_layout),
		cmocka_unit_test(test_tampering_detected),
		cmocka_unit_test(test_xchacha20poly1305_draft),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
