/*
 * crypto: libsodium wrappers. Keeping sodium.h out of every other file means
 * the rest of the tree sees one small API with WireGuard's conventions
 * (nonce layout, tag placement, in-place operation, negative errno returns).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

int crypto_init(void)
{
	/* sodium_init returns 1 when already initialised, which is fine. */
	return sodium_init() < 0 ? -EIO : 0;
}

void crypto_x25519_generate(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, 32);
	/* Clamp as wg genkey does, so the stored key is canonical. */
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	crypto_scalarmult_base(pub, priv);
}

void crypto_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	crypto_scalarmult_base(pub, priv);
}

int crypto_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	/* libsodium fails exactly when the result is all zero (low-order point). */
	if (crypto_scalarmult(out, priv, pub) != 0) {
		sodium_memzero(out, 32);
		return -EINVAL;
	}
	return 0;
}

/* WireGuard's 96-bit nonce: 32 zero bits, then the counter little-endian. */
static void crypto_wg_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void crypto_aead_encrypt_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
			       const uint8_t *ad, size_t adlen, const uint8_t nonce[12],
			       const uint8_t key[32])
{
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + srclen, NULL, src, srclen,
							   ad, adlen, NULL, nonce, key);
}

int crypto_aead_decrypt_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
			      const uint8_t *ad, size_t adlen, const uint8_t nonce[12],
			      const uint8_t key[32])
{
	if (srclen < CRYPTO_AEAD_TAG_LEN)
		return -EBADMSG;
	size_t ctlen = srclen - CRYPTO_AEAD_TAG_LEN;

	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, ctlen, src + ctlen,
							       ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

void crypto_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[12];

	crypto_wg_nonce(nonce, counter);
	crypto_aead_encrypt_nonce(dst, src, srclen, ad, adlen, nonce, key);
}

int crypto_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			size_t adlen, uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[12];

	crypto_wg_nonce(nonce, counter);
	return crypto_aead_decrypt_nonce(dst, src, srclen, ad, adlen, nonce, key);
}

void crypto_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[24], const uint8_t key[32])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + srclen, NULL, src, srclen,
							    ad, adlen, NULL, nonce, key);
}

int crypto_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			 size_t adlen, const uint8_t nonce[24], const uint8_t key[32])
{
	if (srclen < CRYPTO_AEAD_TAG_LEN)
		return -EBADMSG;
	size_t ctlen = srclen - CRYPTO_AEAD_TAG_LEN;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, src, ctlen, src + ctlen,
								ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

void crypto_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t crypto_random_u32(void)
{
	return randombytes_random();
}

uint32_t crypto_random_uniform(uint32_t bound)
{
	return randombytes_uniform(bound);
}

void crypto_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_is_zero(const void *buf, size_t len)
{
	return sodium_is_zero(buf, len) == 1;
}
