/*
 * relay_ticket: the control plane's voucher that a WireGuard key may bind at
 * a relay (docs/RELAY.md, docs/SECURITY.md). The control server signs, with
 * its Ed25519 ticket key, a short-lived statement "this public key, until
 * this time"; a relay holds only the control server's ticket public key and
 * checks tickets offline, so a key that never registered with the control
 * plane (or registered and was forgotten) cannot use the relay.
 *
 * Wire form, RELAY_TICKET_LEN bytes: expires_s (u64 big-endian, Unix
 * seconds) || signature[64], where the signature covers
 * "lanrage-relay-ticket-v1" || public_key[32] || expires_s. The key itself is
 * not repeated: the BIND that carries a ticket names its key.
 */
#ifndef LR_NAT_RELAY_TICKET_H
#define LR_NAT_RELAY_TICKET_H

#include <stdint.h>

enum {
	RELAY_TICKET_LEN = 8 + 64,
	RELAY_TICKET_SK_LEN = 64, /* Ed25519 secret key (seed || public) */
	RELAY_TICKET_PK_LEN = 32,
	RELAY_TICKET_LIFETIME_S = 3600, /* what lanrage-control issues */
	RELAY_TICKET_SKEW_S = 300,      /* clock difference a relay forgives */
};

/* A new ticket key pair. */
void relay_ticket_keypair(uint8_t pk[RELAY_TICKET_PK_LEN], uint8_t sk[RELAY_TICKET_SK_LEN]);

/* Signs a ticket for key valid until expires_s. */
void relay_ticket_sign(uint8_t out[RELAY_TICKET_LEN], const uint8_t sk[RELAY_TICKET_SK_LEN],
		       const uint8_t key[32], uint64_t expires_s);

/* 0 when ticket vouches for key under pk at now_s (expiry forgiven by
 * RELAY_TICKET_SKEW_S); -EKEYEXPIRED when it expired, -EBADMSG when the
 * signature does not verify. The expiry is checked first (no signature work
 * for a stale ticket). */
int relay_ticket_verify(const uint8_t ticket[RELAY_TICKET_LEN],
			const uint8_t pk[RELAY_TICKET_PK_LEN], const uint8_t key[32], uint64_t now_s);

/* The expiry a ticket claims (unchecked). */
uint64_t relay_ticket_expires(const uint8_t ticket[RELAY_TICKET_LEN]);

#endif
