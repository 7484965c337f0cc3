/*
 * crypto: the primitives WireGuard needs.
 *
 * BLAKE2s is implemented here (libsodium has only BLAKE2b); everything else is a
 * thin wrapper over libsodium so the rest of the tree never includes sodium.h.
 * Invariants: every context that held key material is wiped before it is freed
 * or goes out of scope; comparisons of secrets are constant-time.
 */
#ifndef LR_CRYPTO_H
#define LR_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CRYPTO_BLAKE2S_BLOCK = 64,
	CRYPTO_BLAKE2S_OUT_MAX = 32,
	CRYPTO_BLAKE2S_KEY_MAX = 32,
	CRYPTO_X25519_LEN = 32,
	CRYPTO_AEAD_KEY_LEN = 32,
	CRYPTO_AEAD_TAG_LEN = 16,
	CRYPTO_XAEAD_NONCE_LEN = 24,
};

struct crypto_blake2s {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[CRYPTO_BLAKE2S_BLOCK];
	size_t buflen;
	size_t outlen;
};

/* Must be called once before any other function (initialises libsodium). */
int crypto_init(void);

/* BLAKE2s, RFC 7693. outlen 1..32, keylen 0..32 (key may be NULL when 0).
 * Returns 0, or -EINVAL for out-of-range lengths. */
int crypto_blake2s_init(struct crypto_blake2s *s, size_t outlen, const uint8_t *key, size_t keylen);
void crypto_blake2s_update(struct crypto_blake2s *s, const uint8_t *in, size_t inlen);
/* Writes s->outlen bytes and wipes the state. */
void crypto_blake2s_final(struct crypto_blake2s *s, uint8_t *out);
int crypto_blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
		   const uint8_t *in, size_t inlen);

/* HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, 64-byte block), 32-byte output. */
void crypto_hmac_blake2s(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in,
			 size_t inlen);

/* WireGuard's KDF (HKDF over HMAC-BLAKE2s): T0 = HMAC(key, input),
 * T1 = HMAC(T0, 0x1), Ti = HMAC(T0, Ti-1 || i). Writes 32 bytes into each
 * non-NULL of out1..out3 (out2/out3 may be NULL for KDF1/KDF2). */
void crypto_kdf(uint8_t out1[32], uint8_t out2[32], uint8_t out3[32], const uint8_t key[32],
		const uint8_t *in, size_t inlen);

/* X25519. crypto_x25519 returns -EINVAL when the shared secret is all zero
 * (low-order point); the output is then zeroed. */
void crypto_x25519_generate(uint8_t priv[32], uint8_t pub[32]);
void crypto_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
int crypto_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]);

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes || le64 counter.
 * dst may equal src. Encrypt writes srclen + 16 bytes; decrypt returns -EBADMSG on
 * a bad tag and writes srclen - 16 bytes. */
void crypto_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[32]);
int crypto_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			size_t adlen, uint64_t counter, const uint8_t key[32]);
/* Same with a full 12-byte IETF nonce, for test vectors. */
void crypto_aead_encrypt_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
			       const uint8_t *ad, size_t adlen, const uint8_t nonce[12],
			       const uint8_t key[32]);
int crypto_aead_decrypt_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
			      const uint8_t *ad, size_t adlen, const uint8_t nonce[12],
			      const uint8_t key[32]);

/* XChaCha20-Poly1305 (cookie replies). Same conventions as above. */
void crypto_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[24], const uint8_t key[32]);
int crypto_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t srclen, const uint8_t *ad,
			 size_t adlen, const uint8_t nonce[24], const uint8_t key[32]);

void crypto_random(void *buf, size_t len);
uint32_t crypto_random_u32(void);
/* Uniform in [0, bound). */
uint32_t crypto_random_uniform(uint32_t bound);
void crypto_wipe(void *buf, size_t len);
/* Constant-time; true when equal. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Constant-time; true when all len bytes are zero. */
bool crypto_is_zero(const void *buf, size_t len);

#endif
