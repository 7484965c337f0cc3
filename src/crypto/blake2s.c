/*
 * BLAKE2s (RFC 7693) and the HMAC/HKDF constructions WireGuard builds on it.
 * libsodium ships only BLAKE2b, so this is the one primitive written here.
 * Every state that saw key material is wiped before it leaves scope.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"

static const uint32_t blake2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

/* Message word schedule, RFC 7693 section 2.7. */
static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void blake2s_g(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = ror32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = ror32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 7);
}

static void blake2s_compress(struct crypto_blake2s *s, const uint8_t block[64])
{
	uint32_t m[16], v[16];

	for (int i = 0; i < 16; i++)
		m[i] = load_le32(block + 4 * i);
	for (int i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];
	for (int r = 0; r < 10; r++) {
		const uint8_t *z = blake2s_sigma[r];

		blake2s_g(v, 0, 4, 8, 12, m[z[0]], m[z[1]]);
		blake2s_g(v, 1, 5, 9, 13, m[z[2]], m[z[3]]);
		blake2s_g(v, 2, 6, 10, 14, m[z[4]], m[z[5]]);
		blake2s_g(v, 3, 7, 11, 15, m[z[6]], m[z[7]]);
		blake2s_g(v, 0, 5, 10, 15, m[z[8]], m[z[9]]);
		blake2s_g(v, 1, 6, 11, 12, m[z[10]], m[z[11]]);
		blake2s_g(v, 2, 7, 8, 13, m[z[12]], m[z[13]]);
		blake2s_g(v, 3, 4, 9, 14, m[z[14]], m[z[15]]);
	}
	for (int i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	crypto_wipe(m, sizeof(m));
	crypto_wipe(v, sizeof(v));
}

static void blake2s_add_counter(struct crypto_blake2s *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

int crypto_blake2s_init(struct crypto_blake2s *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	if (outlen == 0 || outlen > CRYPTO_BLAKE2S_OUT_MAX || keylen > CRYPTO_BLAKE2S_KEY_MAX ||
	    (keylen && !key))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000u ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		/* The key is absorbed as a whole zero-padded first block. */
		uint8_t block[CRYPTO_BLAKE2S_BLOCK] = { 0 };

		memcpy(block, key, keylen);
		crypto_blake2s_update(s, block, sizeof(block));
		crypto_wipe(block, sizeof(block));
	}
	return 0;
}

void crypto_blake2s_update(struct crypto_blake2s *s, const uint8_t *in, size_t inlen)
{
	while (inlen > 0) {
		/* The last block must be compressed with the final flag, so a full
		 * buffer is only flushed once more input is known to follow. */
		if (s->buflen == CRYPTO_BLAKE2S_BLOCK) {
			blake2s_add_counter(s, CRYPTO_BLAKE2S_BLOCK);
			blake2s_compress(s, s->buf);
			s->buflen = 0;
		}
		size_t take = CRYPTO_BLAKE2S_BLOCK - s->buflen;

		if (take > inlen)
			take = inlen;
		memcpy(s->buf + s->buflen, in, take);
		s->buflen += take;
		in += take;
		inlen -= take;
	}
}

void crypto_blake2s_final(struct crypto_blake2s *s, uint8_t *out)
{
	uint8_t digest[CRYPTO_BLAKE2S_OUT_MAX];

	blake2s_add_counter(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, CRYPTO_BLAKE2S_BLOCK - s->buflen);
	s->f[0] = 0xFFFFFFFFu;
	blake2s_compress(s, s->buf);
	for (int i = 0; i < 8; i++)
		store_le32(digest + 4 * i, s->h[i]);
	memcpy(out, digest, s->outlen);
	crypto_wipe(digest, sizeof(digest));
	crypto_wipe(s, sizeof(*s));
}

int crypto_blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
		   const uint8_t *in, size_t inlen)
{
	struct crypto_blake2s s;
	int ret = crypto_blake2s_init(&s, outlen, key, keylen);

	if (ret < 0)
		return ret;
	crypto_blake2s_update(&s, in, inlen);
	crypto_blake2s_final(&s, out);
	return 0;
}

void crypto_hmac_blake2s(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in,
			 size_t inlen)
{
	uint8_t k[CRYPTO_BLAKE2S_BLOCK] = { 0 };
	uint8_t pad[CRYPTO_BLAKE2S_BLOCK];
	uint8_t inner[32];
	struct crypto_blake2s s;

	if (keylen > CRYPTO_BLAKE2S_BLOCK)
		crypto_blake2s(k, 32, NULL, 0, key, keylen);
	else
		memcpy(k, key, keylen);

	for (int i = 0; i < CRYPTO_BLAKE2S_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	crypto_blake2s_init(&s, 32, NULL, 0);
	crypto_blake2s_update(&s, pad, sizeof(pad));
	crypto_blake2s_update(&s, in, inlen);
	crypto_blake2s_final(&s, inner);

	for (int i = 0; i < CRYPTO_BLAKE2S_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	crypto_blake2s_init(&s, 32, NULL, 0);
	crypto_blake2s_update(&s, pad, sizeof(pad));
	crypto_blake2s_update(&s, inner, sizeof(inner));
	crypto_blake2s_final(&s, out);

	crypto_wipe(k, sizeof(k));
	crypto_wipe(pad, sizeof(pad));
	crypto_wipe(inner, sizeof(inner));
}

void crypto_kdf(uint8_t out1[32], uint8_t out2[32], uint8_t out3[32], const uint8_t key[32],
		const uint8_t *in, size_t inlen)
{
	uint8_t prk[32];
	uint8_t t[33]; /* T(i-1) || i */

	crypto_hmac_blake2s(prk, key, 32, in, inlen);
	t[0] = 1;
	crypto_hmac_blake2s(t, prk, sizeof(prk), t, 1);
	if (out1)
		memcpy(out1, t, 32);
	if (out2 || out3) {
		t[32] = 2;
		crypto_hmac_blake2s(t, prk, sizeof(prk), t, 33);
		if (out2)
			memcpy(out2, t, 32);
	}
	if (out3) {
		t[32] = 3;
		crypto_hmac_blake2s(t, prk, sizeof(prk), t, 33);
		memcpy(out3, t, 32);
	}
	crypto_wipe(prk, sizeof(prk));
	crypto_wipe(t, sizeof(t));
}
