/*
 * ctl_ids: identifiers, tokens and base64 for the control plane; see
 * ctl_ids.h. Every random value comes from libsodium's CSPRNG (through
 * crypto.h); tokens are only ever compared through their hash, in constant
 * time, and their bytes are wiped after use.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"

/* No 0/O, 1/I/L or U: nothing a player could misread when sharing a code. */
const char ctl_code_alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

_Static_assert(sizeof(ctl_code_alphabet) == 31, "30 share-code symbols");

void ctl_code_new(char out[CTL_CODE_SYMBOLS + 1])
{
	for (int i = 0; i < CTL_CODE_SYMBOLS; i++)
		out[i] = ctl_code_alphabet[crypto_random_uniform(sizeof(ctl_code_alphabet) - 1)];
	out[CTL_CODE_SYMBOLS] = '\0';
}

int ctl_code_parse(const char *in, size_t len, char out[CTL_CODE_SYMBOLS + 1])
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (!ch || !strchr(ctl_code_alphabet, ch) || n >= CTL_CODE_SYMBOLS)
			return -EINVAL;
		out[n++] = ch;
	}
	if (n != CTL_CODE_SYMBOLS)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

void ctl_code_format(const char code[CTL_CODE_SYMBOLS + 1], char out[CTL_CODE_TEXT + 1])
{
	size_t o = 0;

	for (int i = 0; i < CTL_CODE_SYMBOLS; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = code[i];
	}
	out[o] = '\0';
}

void ctl_hexid_new(char out[CTL_HEXID_LEN + 1])
{
	uint8_t b[CTL_HEXID_LEN / 2];

	crypto_random(b, sizeof(b));
	sodium_bin2hex(out, CTL_HEXID_LEN + 1, b, sizeof(b));
}

int ctl_hexid_parse(const char *in, size_t len, char out[CTL_HEXID_LEN + 1])
{
	if (len != CTL_HEXID_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -EINVAL;
		out[i] = ch;
	}
	out[len] = '\0';
	return 0;
}

static void ctl_token_hash(const uint8_t tok[CTL_TOKEN_BYTES], uint8_t hash[CTL_TOKEN_HASH])
{
	crypto_blake2s(hash, CTL_TOKEN_HASH, NULL, 0, tok, CTL_TOKEN_BYTES);
}

void ctl_token_new(char text[CTL_TOKEN_TEXT + 1], uint8_t hash[CTL_TOKEN_HASH])
{
	uint8_t tok[CTL_TOKEN_BYTES];

	crypto_random(tok, sizeof(tok));
	sodium_bin2base64(text, CTL_TOKEN_TEXT + 1, tok, sizeof(tok),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ctl_token_hash(tok, hash);
	crypto_wipe(tok, sizeof(tok));
}

bool ctl_token_check(const char *text, size_t len, const uint8_t hash[CTL_TOKEN_HASH])
{
	uint8_t tok[CTL_TOKEN_BYTES], h[CTL_TOKEN_HASH];
	size_t n = 0;
	bool ok;

	if (len != CTL_TOKEN_TEXT ||
	    sodium_base642bin(tok, sizeof(tok), text, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    n != sizeof(tok)) {
		crypto_wipe(tok, sizeof(tok));
		return false;
	}
	ctl_token_hash(tok, h);
	ok = crypto_equal(h, hash, sizeof(h));
	crypto_wipe(tok, sizeof(tok));
	crypto_wipe(h, sizeof(h));
	return ok;
}

void ctl_bytes_to_b64(const uint8_t *in, size_t n, char *out, size_t out_len)
{
	sodium_bin2base64(out, out_len, in, n, sodium_base64_VARIANT_ORIGINAL);
}

int ctl_b64_to_bytes(const char *in, size_t len, uint8_t *out, size_t n)
{
	uint8_t tmp[128];
	size_t got = 0;
	const char *end = NULL;
	int ret = 0;

	if (n > sizeof(tmp) || len != 4 * ((n + 2) / 3) ||
	    sodium_base642bin(tmp, n, in, len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    got != n || end != in + len)
		ret = -EINVAL;
	else
		memcpy(out, tmp, n);
	crypto_wipe(tmp, sizeof(tmp));
	return ret;
}

void ctl_key_to_b64(const uint8_t key[32], char out[CTL_KEY_B64 + 1])
{
	ctl_bytes_to_b64(key, 32, out, CTL_KEY_B64 + 1);
}

int ctl_b64_to_key(const char *in, size_t len, uint8_t key[32])
{
	return ctl_b64_to_bytes(in, len, key, 32);
}
