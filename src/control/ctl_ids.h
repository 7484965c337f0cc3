/*
 * ctl_ids: the control plane's identifiers and secrets (docs/CONTROL.md):
 * party share codes, peer and relay IDs, session tokens and their hashes,
 * and the base64 forms of keys.
 */
#ifndef LR_CONTROL_CTL_IDS_H
#define LR_CONTROL_CTL_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CTL_CODE_SYMBOLS = 12,   /* share code symbols, without separators */
	CTL_CODE_TEXT = 14,      /* XXXX-XXXX-XXXX */
	CTL_HEXID_LEN = 16,      /* peer and relay IDs: 64 random bits in hex */
	CTL_TOKEN_BYTES = 32,
	CTL_TOKEN_TEXT = 43,     /* base64url, no padding */
	CTL_TOKEN_HASH = 32,     /* BLAKE2s-256 of the token bytes */
	CTL_KEY_B64 = 44,        /* base64 of a 32-byte key, with padding */
	CTL_TICKET_B64 = 96,     /* base64 of a relay ticket (RELAY_TICKET_LEN bytes) */
};

extern const char ctl_code_alphabet[]; /* 30 symbols */

/* A new share code, canonical (12 symbols, no separators) NUL-terminated. */
void ctl_code_new(char out[CTL_CODE_SYMBOLS + 1]);
/* Parses user input: case-insensitive, '-' and ' ' ignored, exactly 12
 * symbols of the alphabet. Writes the canonical form. 0 or -EINVAL. */
int ctl_code_parse(const char *in, size_t len, char out[CTL_CODE_SYMBOLS + 1]);
/* Canonical to printed form XXXX-XXXX-XXXX. */
void ctl_code_format(const char code[CTL_CODE_SYMBOLS + 1], char out[CTL_CODE_TEXT + 1]);

/* 16 lowercase hex digits from the CSPRNG. */
void ctl_hexid_new(char out[CTL_HEXID_LEN + 1]);
/* Accepts 16 hex digits in either case; writes lowercase. 0 or -EINVAL. */
int ctl_hexid_parse(const char *in, size_t len, char out[CTL_HEXID_LEN + 1]);

/* A new token: text (base64url, handed to the client) and the hash to store.
 * The caller wipes text when done with it. */
void ctl_token_new(char text[CTL_TOKEN_TEXT + 1], uint8_t hash[CTL_TOKEN_HASH]);
/* Constant-time check of a client's token text against a stored hash. A
 * malformed token never matches. */
bool ctl_token_check(const char *text, size_t len, const uint8_t hash[CTL_TOKEN_HASH]);

/* Standard base64 (with padding) of 32 bytes, and back: decoding requires
 * exactly 32 bytes. 0 or -EINVAL. */
void ctl_key_to_b64(const uint8_t key[32], char out[CTL_KEY_B64 + 1]);
int ctl_b64_to_key(const char *in, size_t len, uint8_t key[32]);
/* The same for any n bytes: out holds at least 4 * ((n + 2) / 3) + 1 chars;
 * decoding requires exactly n bytes and no trailing text. */
void ctl_bytes_to_b64(const uint8_t *in, size_t n, char *out, size_t out_len);
int ctl_b64_to_bytes(const char *in, size_t len, uint8_t *out, size_t n);

#endif
