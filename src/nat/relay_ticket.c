/*
 * relay_ticket: Ed25519 tickets (see relay_ticket.h), through libsodium.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "nat/relay_ticket.h"
#include "util/bytes.h"

#define TICKET_LABEL "lanrage-relay-ticket-v1"

enum { TICKET_MSG_LEN = sizeof(TICKET_LABEL) - 1 + 32 + 8 };

static void ticket_message(uint8_t msg[TICKET_MSG_LEN], const uint8_t key[32], uint64_t expires_s)
{
	memcpy(msg, TICKET_LABEL, sizeof(TICKET_LABEL) - 1);
	memcpy(msg + sizeof(TICKET_LABEL) - 1, key, 32);
	bytes_put_be64(msg + sizeof(TICKET_LABEL) - 1 + 32, expires_s);
}

void relay_ticket_keypair(uint8_t pk[RELAY_TICKET_PK_LEN], uint8_t sk[RELAY_TICKET_SK_LEN])
{
	crypto_sign_ed25519_keypair(pk, sk);
}

void relay_ticket_sign(uint8_t out[RELAY_TICKET_LEN], const uint8_t sk[RELAY_TICKET_SK_LEN],
		       const uint8_t key[32], uint64_t expires_s)
{
	uint8_t msg[TICKET_MSG_LEN];

	ticket_message(msg, key, expires_s);
	bytes_put_be64(out, expires_s);
	crypto_sign_ed25519_detached(out + 8, NULL, msg, sizeof(msg), sk);
}

uint64_t relay_ticket_expires(const uint8_t ticket[RELAY_TICKET_LEN])
{
	return bytes_get_be64(ticket);
}

int relay_ticket_verify(const uint8_t ticket[RELAY_TICKET_LEN],
			const uint8_t pk[RELAY_TICKET_PK_LEN], const uint8_t key[32], uint64_t now_s)
{
	uint64_t expires = bytes_get_be64(ticket);
	uint8_t msg[TICKET_MSG_LEN];

	if (expires + RELAY_TICKET_SKEW_S < expires || expires + RELAY_TICKET_SKEW_S < now_s)
		return -EKEYEXPIRED;
	ticket_message(msg, key, expires);
	if (crypto_sign_ed25519_verify_detached(ticket + 8, msg, sizeof(msg), pk))
		return -EBADMSG;
	return 0;
}
