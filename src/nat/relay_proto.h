/*
 * relay_proto: the relay frame codec (docs/RELAY.md), shared by lanrage-relay
 * and the daemon's relay client. Frames start with 'L' 'R' version type, so
 * they never look like WireGuard (first byte 1..4 then three zero bytes) or
 * STUN (first byte 0x00/0x01).
 *
 * Parsing is a pure function of the bytes: every length is checked before it
 * is read, fixed-size frames must have exactly their size, and the parsed
 * frame points into the caller's buffer (nothing is copied). The MAC checks
 * (BIND on the relay, BOUND on the client) compare in constant time and wipe
 * the shared key they derive.
 *
 * Version 2 (docs/RELAY.md): a BIND carries the return-routability cookie the
 * relay gave its source address (COOKIE) and the control plane's ticket for
 * its key (nat/relay_ticket.h); both are covered by its MAC. Two types were
 * added later without a version change (no existing layout changed; a peer
 * that does not know them drops them like any unknown type): UNBOUND tells
 * the sender of a SEND from an unbound address that it is unbound, echoing
 * the SEND's last bytes and giving its source's cookie; CLOCK answers a BIND
 * that is proven but outside the timestamp window with the relay's time,
 * MACed like BOUND.
 */
#ifndef LR_NAT_RELAY_PROTO_H
#define LR_NAT_RELAY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/relay_ticket.h"

#define RELAY_MAGIC0 0x4C /* 'L' */
#define RELAY_MAGIC1 0x52 /* 'R' */
#define RELAY_VERSION 2
#define RELAY_DEFAULT_PORT 51821
#define RELAY_BIND_WINDOW_MS 300000ULL /* BIND timestamps within +-300 s */
#define RELAY_DEFAULT_LIFETIME_S 120

enum relay_type {
	RELAY_BIND = 1,
	RELAY_BOUND = 2,
	RELAY_REFUSED = 3,
	RELAY_SEND = 4,
	RELAY_DELIVER = 5,
	RELAY_UNREACHABLE = 6,
	RELAY_PING = 7,
	RELAY_PONG = 8,
	RELAY_COOKIE = 9,
	RELAY_UNBOUND = 10,
	RELAY_CLOCK = 11,
	RELAY_TYPE_MAX = RELAY_CLOCK,
};

enum relay_refused_code {
	RELAY_REFUSED_BAD_MAC = 1,
	RELAY_REFUSED_STALE = 2,
	RELAY_REFUSED_FULL = 3,
	RELAY_REFUSED_RATE = 4,
	RELAY_REFUSED_UNAUTHORIZED = 5, /* no ticket, or one that does not verify */
	RELAY_REFUSED_EXPIRED = 6,      /* the ticket expired */
	RELAY_REFUSED_IP_FULL = 7,      /* too many bindings from this source IP */
	RELAY_REFUSED_MAX = RELAY_REFUSED_IP_FULL,
};

enum {
	RELAY_HDR_LEN = 4,
	RELAY_KEY_LEN = 32,
	RELAY_NONCE_LEN = 16, /* BIND, BOUND, REFUSED */
	RELAY_PING_NONCE_LEN = 8, /* PING, PONG */
	RELAY_MAC_LEN = 32,
	RELAY_COOKIE_LEN = 16,
	/* header || public_key || timestamp_ms || nonce || cookie || ticket:
	 * what the BIND MAC covers */
	RELAY_BIND_SIGNED_LEN = RELAY_HDR_LEN + RELAY_KEY_LEN + 8 + RELAY_NONCE_LEN +
				RELAY_COOKIE_LEN + RELAY_TICKET_LEN,
	RELAY_BIND_LEN = RELAY_BIND_SIGNED_LEN + RELAY_MAC_LEN, /* 180 */
	RELAY_BOUND_SIGNED_LEN = RELAY_HDR_LEN + RELAY_NONCE_LEN + 4,
	RELAY_BOUND_LEN = RELAY_BOUND_SIGNED_LEN + RELAY_MAC_LEN, /* 56 */
	RELAY_REFUSED_LEN = RELAY_HDR_LEN + RELAY_NONCE_LEN + 1, /* 21 */
	RELAY_KEYED_HDR_LEN = RELAY_HDR_LEN + RELAY_KEY_LEN, /* SEND, DELIVER: 36 + datagram */
	RELAY_UNREACHABLE_LEN = RELAY_KEYED_HDR_LEN, /* 36 */
	RELAY_PING_LEN = RELAY_HDR_LEN + RELAY_PING_NONCE_LEN, /* 12 */
	RELAY_COOKIE_FRAME_LEN = RELAY_HDR_LEN + RELAY_NONCE_LEN + RELAY_COOKIE_LEN, /* 36 */
	/* UNBOUND echoes the last RELAY_ECHO_LEN bytes of the refused SEND: for
	 * every WireGuard message they hold at least 16 bytes nobody off the
	 * path can guess (a MAC1, a Poly1305 tag, a cookie reply's nonce) */
	RELAY_ECHO_LEN = 32,
	RELAY_UNBOUND_LEN = RELAY_HDR_LEN + RELAY_ECHO_LEN + RELAY_COOKIE_LEN, /* 52 */
	RELAY_CLOCK_SIGNED_LEN = RELAY_HDR_LEN + RELAY_NONCE_LEN + 8,
	RELAY_CLOCK_LEN = RELAY_CLOCK_SIGNED_LEN + RELAY_MAC_LEN, /* 60 */
	RELAY_MAX_DATAGRAM = 65535 - RELAY_KEYED_HDR_LEN,
	RELAY_MAX_FRAME = 65535,
};

/* A parsed frame. Pointers point into the parsed buffer; fields a type does
 * not have are NULL or 0. */
struct relay_frame {
	enum relay_type type;
	const uint8_t *raw; /* the whole frame (MACs cover a prefix of it) */
	size_t raw_len;
	const uint8_t *key; /* BIND public_key, SEND/UNREACHABLE dst, DELIVER src */
	const uint8_t *nonce; /* RELAY_NONCE_LEN, or RELAY_PING_NONCE_LEN for PING/PONG */
	const uint8_t *cookie; /* BIND (zero when the client has none), COOKIE, UNBOUND */
	const uint8_t *echo; /* UNBOUND: RELAY_ECHO_LEN bytes of the refused SEND */
	const uint8_t *ticket; /* BIND: RELAY_TICKET_LEN (zero when none) */
	const uint8_t *mac; /* BIND, BOUND, CLOCK */
	const uint8_t *payload; /* SEND, DELIVER: the WireGuard datagram */
	size_t payload_len;
	uint64_t timestamp_ms; /* BIND; CLOCK: the relay's Unix time in ms */
	uint32_t lifetime_s; /* BOUND */
	uint8_t code; /* REFUSED */
};

/* True when the first bytes say "relay frame" (magic only; the version and
 * the rest are parse's business). Used to demultiplex a shared UDP port. */
bool relay_is_frame(const uint8_t *buf, size_t len);

/* 0, or -EINVAL for anything that is not a well-formed v2 frame (wrong magic,
 * version or type, a length other than the type's, an empty or oversized
 * datagram). On error *f is zeroed. */
int relay_parse(const uint8_t *buf, size_t len, struct relay_frame *f);

/*
 * Builders write into out (cap bytes) and return the frame's length, or
 * -ENOSPC when cap is too small, -EINVAL for a bad argument (empty or
 * oversized datagram, a relay key that is a low-order point).
 */

/* BIND for the client's key (its public key is derived from client_priv).
 * cookie (RELAY_COOKIE_LEN) and ticket (RELAY_TICKET_LEN) may be NULL:
 * zeros are sent (the relay answers COOKIE, or REFUSED unauthorized). */
int relay_build_bind(uint8_t *out, size_t cap, const uint8_t client_priv[32],
		     const uint8_t relay_pub[32], uint64_t timestamp_ms,
		     const uint8_t nonce[RELAY_NONCE_LEN], const uint8_t *cookie,
		     const uint8_t *ticket);
/* COOKIE answering a BIND whose nonce it echoes. */
int relay_build_cookie(uint8_t *out, size_t cap, const uint8_t nonce[RELAY_NONCE_LEN],
		       const uint8_t cookie[RELAY_COOKIE_LEN]);
/* BOUND answering a BIND whose nonce it echoes; k is the key relay_verify_bind gave. */
int relay_build_bound(uint8_t *out, size_t cap, const uint8_t k[32],
		      const uint8_t nonce[RELAY_NONCE_LEN], uint32_t lifetime_s);
/* nonce NULL writes zeros (no BIND to echo). */
int relay_build_refused(uint8_t *out, size_t cap, const uint8_t *nonce, uint8_t code);
/* SEND (type RELAY_SEND) or DELIVER (RELAY_DELIVER): key then the datagram.
 * payload may lie anywhere in out (the relay turns a SEND into a DELIVER in
 * place: relay_build_keyed(buf, cap, RELAY_DELIVER, src, buf + 36, n)). */
int relay_build_keyed(uint8_t *out, size_t cap, enum relay_type type, const uint8_t key[32],
		      const uint8_t *payload, size_t len);
int relay_build_unreachable(uint8_t *out, size_t cap, const uint8_t dst_key[32]);
/* PING or PONG. */
int relay_build_ping(uint8_t *out, size_t cap, enum relay_type type,
		     const uint8_t nonce[RELAY_PING_NONCE_LEN]);

/* UNBOUND answering the SEND frame send[0..send_len) (its last RELAY_ECHO_LEN
 * bytes are echoed) with the cookie for its source. -EINVAL when the SEND is
 * shorter than the UNBOUND would be: the answer never outgrows its cause. */
int relay_build_unbound(uint8_t *out, size_t cap, const uint8_t *send, size_t send_len,
			const uint8_t cookie[RELAY_COOKIE_LEN]);
/* CLOCK answering a BIND whose nonce it echoes, with the relay's Unix time in
 * ms; k is the key relay_verify_bind_proof gave. */
int relay_build_clock(uint8_t *out, size_t cap, const uint8_t k[32],
		      const uint8_t nonce[RELAY_NONCE_LEN], uint64_t relay_ms);

/* True when a BIND's timestamp_ms is within RELAY_BIND_WINDOW_MS of now_ms. */
bool relay_bind_in_window(const struct relay_frame *f, uint64_t now_ms);

/*
 * Relay side: checks a parsed BIND's proof of the key (the relay checks the
 * cookie and the ticket before, docs/RELAY.md). Cheap checks first:
 * timestamp_ms within RELAY_BIND_WINDOW_MS of now_ms, else -ESTALE; then the MAC with
 * k = X25519(relay_priv, public_key), else -EBADMSG (also for a low-order
 * key); then timestamp_ms > last_ms (the last timestamp accepted for this key,
 * 0 when none), else -ESTALE (a replay). On success k_out (may be NULL) gets k
 * for the BOUND; the caller wipes it.
 */
int relay_verify_bind(const struct relay_frame *f, const uint8_t relay_priv[32], uint64_t now_ms,
		      uint64_t last_ms, uint8_t k_out[32]);
/* The MAC of a BIND alone, whatever its timestamp: 0 (k_out, may be NULL,
 * gets the key; the caller wipes it) or -EBADMSG. The relay uses it for a
 * BIND outside the window, which it answers with CLOCK when the proof holds. */
int relay_verify_bind_proof(const struct relay_frame *f, const uint8_t relay_priv[32],
			    uint8_t k_out[32]);

/* Client side: checks a parsed BOUND against the nonce of the BIND we sent
 * and the relay's public key. 0, or -EBADMSG. */
int relay_verify_bound(const struct relay_frame *f, const uint8_t client_priv[32],
		       const uint8_t relay_pub[32], const uint8_t nonce[RELAY_NONCE_LEN]);

/* Client side: a parsed CLOCK against the nonce of the BIND we sent and the
 * relay's public key. 0, or -EBADMSG. */
int relay_verify_clock(const struct relay_frame *f, const uint8_t client_priv[32],
		       const uint8_t relay_pub[32], const uint8_t nonce[RELAY_NONCE_LEN]);

/* "BIND", "BOUND", ..., "CLOCK" or "?" */
const char *relay_type_name(unsigned type);

#endif
