/*
 * test_relay_ticket: the control plane's Ed25519 relay tickets
 * (nat/relay_ticket.h). A ticket verifies for its key under its signer's
 * public key until it expires (plus the forgiven skew); another key, another
 * signer, any flipped byte, an expiry moved by hand, or one so large that
 * adding the skew wraps, all fail, each with its own error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "nat/relay_ticket.h"
#include "util/bytes.h"

#define NOW_S 1764095000ULL

static uint8_t pk[RELAY_TICKET_PK_LEN], sk[RELAY_TICKET_SK_LEN];
static uint8_t other_pk[RELAY_TICKET_PK_LEN], other_sk[RELAY_TICKET_SK_LEN];
static uint8_t key[32], key2[32];

static int setup(void **state)
{
	uint8_t priv[32];

	(void)state;
	if (crypto_init())
		return -1;
	relay_ticket_keypair(pk, sk);
	relay_ticket_keypair(other_pk, other_sk);
	crypto_x25519_generate(priv, key);
	crypto_x25519_generate(priv, key2);
	crypto_wipe(priv, sizeof(priv));
	return 0;
}

static void test_ticket_verifies_for_its_key(void **state)
{
	uint8_t t[RELAY_TICKET_LEN];

	(void)state;
	relay_ticket_sign(t, sk, key, NOW_S + RELAY_TICKET_LIFETIME_S);
	assert_int_equal(relay_ticket_expires(t), NOW_S + RELAY_TICKET_LIFETIME_S);
	assert_int_equal(relay_ticket_verify(t, pk, key, NOW_S), 0);
	assert_int_equal(relay_ticket_verify(t, pk, key2, NOW_S), -EBADMSG);
	assert_int_equal(relay_ticket_verify(t, other_pk, key, NOW_S), -EBADMSG);
}

static void test_ticket_expiry_and_skew(void **state)
{
	uint8_t t[RELAY_TICKET_LEN];

	(void)state;
	relay_ticket_sign(t, sk, key, NOW_S);
	assert_int_equal(relay_ticket_verify(t, pk, key, NOW_S + RELAY_TICKET_SKEW_S), 0);
	assert_int_equal(relay_ticket_verify(t, pk, key, NOW_S + RELAY_TICKET_SKEW_S + 1),
			 -EKEYEXPIRED);
	/* Expired is decided before the signature: even a forged one says so. */
	relay_ticket_sign(t, other_sk, key, NOW_S - 1000);
	assert_int_equal(relay_ticket_verify(t, pk, key, NOW_S), -EKEYEXPIRED);
	/* An expiry that wraps when the skew is added. */
	relay_ticket_sign(t, sk, key, UINT64_MAX - 10);
	assert_int_equal(relay_ticket_verify(t, pk, key, NOW_S), -EKEYEXPIRED);
}

static void test_ticket_tampered(void **state)
{
	uint8_t t[RELAY_TICKET_LEN], bad[RELAY_TICKET_LEN];

	(void)state;
	relay_ticket_sign(t, sk, key, NOW_S + 600);
	for (size_t i = 0; i < sizeof(t); i++) {
		memcpy(bad, t, sizeof(t));
		bad[i] ^= 0x01;
		/* An expiry changed by hand: the signature no longer covers it (or,
		 * moved into the past, it has expired). */
		assert_int_equal(relay_ticket_verify(bad, pk, key, NOW_S),
				 relay_ticket_expires(bad) + RELAY_TICKET_SKEW_S < NOW_S ?
					 -EKEYEXPIRED :
					 -EBADMSG);
	}
	memcpy(bad, t, sizeof(t));
	bytes_put_be64(bad, NOW_S + 100000);
	assert_int_equal(relay_ticket_verify(bad, pk, key, NOW_S), -EBADMSG);
	memset(bad, 0, sizeof(bad));
	assert_int_equal(relay_ticket_verify(bad, pk, key, 0), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_verifies_for_its_key),
		cmocka_unit_test(test_ticket_expiry_and_skew),
		cmocka_unit_test(test_ticket_tampered),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
