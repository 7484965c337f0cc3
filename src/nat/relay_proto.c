/*
 * relay_proto: relay frames v2 (docs/RELAY.md) - parse, build, and the MACs
 * that prove the WireGuard key (BIND) and the relay's key (BOUND, CLOCK).
 *
 * Invariants: the parser reads nothing before checking the length it needs;
 * shared keys derived here are wiped before returning; MACs are compared in
 * constant time (crypto_equal).
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "util/bytes.h"

static const char bind_label[] = "lanrage-relay-bind-v2";
static const char bound_label[] = "lanrage-relay-bound-v2";
static const char clock_label[] = "lanrage-relay-clock-v2";

#define LABEL_LEN(l) (sizeof(l) - 1)

_Static_assert(RELAY_BIND_LEN == 180, "BIND is 180 bytes");
_Static_assert(RELAY_COOKIE_FRAME_LEN == 36, "COOKIE is 36 bytes");
_Static_assert(RELAY_COOKIE_FRAME_LEN < RELAY_BIND_LEN, "COOKIE must not amplify a BIND");
_Static_assert(RELAY_BOUND_LEN == 56, "BOUND is 56 bytes");
_Static_assert(RELAY_REFUSED_LEN == 21, "REFUSED is 21 bytes");
_Static_assert(RELAY_PING_LEN == 12, "PING is 12 bytes");
_Static_assert(RELAY_UNBOUND_LEN == 52, "UNBOUND is 52 bytes");
_Static_assert(RELAY_CLOCK_LEN == 60, "CLOCK is 60 bytes");
_Static_assert(RELAY_CLOCK_LEN < RELAY_BIND_LEN, "CLOCK must not amplify a BIND");
/* The smallest WireGuard message (a keepalive, 32 bytes) makes a SEND that
 * is larger than UNBOUND, so every real one may be answered. */
_Static_assert(RELAY_UNBOUND_LEN < RELAY_KEYED_HDR_LEN + 32, "UNBOUND must not amplify a SEND");

static void put_header(uint8_t *out, enum relay_type type)
{
	out[0] = RELAY_MAGIC0;
	out[1] = RELAY_MAGIC1;
	out[2] = RELAY_VERSION;
	out[3] = (uint8_t)type;
}

/* The frame length each fixed-size type must have; 0 for SEND/DELIVER. */
static size_t fixed_len(unsigned type)
{
	switch (type) {
	case RELAY_BIND:
		return RELAY_BIND_LEN;
	case RELAY_BOUND:
		return RELAY_BOUND_LEN;
	case RELAY_REFUSED:
		return RELAY_REFUSED_LEN;
	case RELAY_UNREACHABLE:
		return RELAY_UNREACHABLE_LEN;
	case RELAY_PING:
	case RELAY_PONG:
		return RELAY_PING_LEN;
	case RELAY_COOKIE:
		return RELAY_COOKIE_FRAME_LEN;
	case RELAY_UNBOUND:
		return RELAY_UNBOUND_LEN;
	case RELAY_CLOCK:
		return RELAY_CLOCK_LEN;
	default:
		return 0;
	}
}

bool relay_is_frame(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == RELAY_MAGIC0 && buf[1] == RELAY_MAGIC1;
}

int relay_parse(const uint8_t *buf, size_t len, struct relay_frame *f)
{
	const uint8_t *body = buf + RELAY_HDR_LEN;

	memset(f, 0, sizeof(*f));
	if (len < RELAY_HDR_LEN || !relay_is_frame(buf, len) || buf[2] != RELAY_VERSION ||
	    buf[3] < RELAY_BIND || buf[3] > RELAY_TYPE_MAX || len > RELAY_MAX_FRAME)
		return -EINVAL;
	f->type = buf[3];
	if (f->type == RELAY_SEND || f->type == RELAY_DELIVER) {
		if (len <= RELAY_KEYED_HDR_LEN)
			goto bad;
		f->key = body;
		f->payload = body + RELAY_KEY_LEN;
		f->payload_len = len - RELAY_KEYED_HDR_LEN;
	} else if (len != fixed_len(f->type)) {
		goto bad;
	}
	switch (f->type) {
	case RELAY_BIND:
		f->key = body;
		f->timestamp_ms = bytes_get_be64(body + RELAY_KEY_LEN);
		f->nonce = body + RELAY_KEY_LEN + 8;
		f->cookie = f->nonce + RELAY_NONCE_LEN;
		f->ticket = f->cookie + RELAY_COOKIE_LEN;
		f->mac = buf + RELAY_BIND_SIGNED_LEN;
		break;
	case RELAY_COOKIE:
		f->nonce = body;
		f->cookie = body + RELAY_NONCE_LEN;
		break;
	case RELAY_BOUND:
		f->nonce = body;
		f->lifetime_s = bytes_get_be32(body + RELAY_NONCE_LEN);
		f->mac = buf + RELAY_BOUND_SIGNED_LEN;
		break;
	case RELAY_UNBOUND:
		f->echo = body;
		f->cookie = body + RELAY_ECHO_LEN;
		break;
	case RELAY_CLOCK:
		f->nonce = body;
		f->timestamp_ms = bytes_get_be64(body + RELAY_NONCE_LEN);
		f->mac = buf + RELAY_CLOCK_SIGNED_LEN;
		break;
	case RELAY_REFUSED:
		f->nonce = body;
		f->code = body[RELAY_NONCE_LEN];
		break;
	case RELAY_UNREACHABLE:
		f->key = body;
		break;
	case RELAY_PING:
	case RELAY_PONG:
		f->nonce = body;
		break;
	default:
		break;
	}
	f->raw = buf;
	f->raw_len = len;
	return 0;
bad:
	memset(f, 0, sizeof(*f));
	return -EINVAL;
}

/* HMAC-BLAKE2s(k, label || signed part) into mac; label <= 32 bytes, part <= BIND's. */
static void relay_mac(uint8_t mac[RELAY_MAC_LEN], const uint8_t k[32], const char *label,
		      size_t label_len, const uint8_t *signed_part, size_t signed_len)
{
	uint8_t in[32 + RELAY_BIND_SIGNED_LEN];

	memcpy(in, label, label_len);
	memcpy(in + label_len, signed_part, signed_len);
	crypto_hmac_blake2s(mac, k, 32, in, label_len + signed_len);
	crypto_wipe(in, sizeof(in));
}

/* src, or zeros when src is NULL. */
static void put_or_zero(uint8_t *out, const uint8_t *src, size_t len)
{
	if (src)
		memmove(out, src, len);
	else
		memset(out, 0, len);
}

int relay_build_bind(uint8_t *out, size_t cap, const uint8_t client_priv[32],
		     const uint8_t relay_pub[32], uint64_t timestamp_ms,
		     const uint8_t nonce[RELAY_NONCE_LEN], const uint8_t *cookie,
		     const uint8_t *ticket)
{
	uint8_t *p = out + RELAY_HDR_LEN + RELAY_KEY_LEN + 8;
	uint8_t k[32];
	int ret;

	if (cap < RELAY_BIND_LEN)
		return -ENOSPC;
	ret = crypto_x25519(k, client_priv, relay_pub);
	if (ret)
		goto out;
	put_header(out, RELAY_BIND);
	crypto_x25519_public(out + RELAY_HDR_LEN, client_priv);
	bytes_put_be64(out + RELAY_HDR_LEN + RELAY_KEY_LEN, timestamp_ms);
	memcpy(p, nonce, RELAY_NONCE_LEN);
	put_or_zero(p + RELAY_NONCE_LEN, cookie, RELAY_COOKIE_LEN);
	put_or_zero(p + RELAY_NONCE_LEN + RELAY_COOKIE_LEN, ticket, RELAY_TICKET_LEN);
	relay_mac(out + RELAY_BIND_SIGNED_LEN, k, bind_label, LABEL_LEN(bind_label), out,
		  RELAY_BIND_SIGNED_LEN);
	ret = RELAY_BIND_LEN;
out:
	crypto_wipe(k, sizeof(k));
	return ret;
}

/* BOUND and CLOCK: header || nonce || a big-endian value of value_len (4 or
 * 8) bytes || HMAC under k of all that behind label. */
static int build_answer(uint8_t *out, size_t cap, enum relay_type type, const uint8_t k[32],
			const uint8_t nonce[RELAY_NONCE_LEN], uint64_t value, size_t value_len,
			const char *label, size_t label_len)
{
	size_t signed_len = RELAY_HDR_LEN + RELAY_NONCE_LEN + value_len;

	if (cap < signed_len + RELAY_MAC_LEN)
		return -ENOSPC;
	put_header(out, type);
	memcpy(out + RELAY_HDR_LEN, nonce, RELAY_NONCE_LEN);
	if (value_len == 8)
		bytes_put_be64(out + RELAY_HDR_LEN + RELAY_NONCE_LEN, value);
	else
		bytes_put_be32(out + RELAY_HDR_LEN + RELAY_NONCE_LEN, (uint32_t)value);
	relay_mac(out + signed_len, k, label, label_len, out, signed_len);
	return (int)(signed_len + RELAY_MAC_LEN);
}

int relay_build_bound(uint8_t *out, size_t cap, const uint8_t k[32],
		      const uint8_t nonce[RELAY_NONCE_LEN], uint32_t lifetime_s)
{
	return build_answer(out, cap, RELAY_BOUND, k, nonce, lifetime_s, 4, bound_label,
			    LABEL_LEN(bound_label));
}

int relay_build_refused(uint8_t *out, size_t cap, const uint8_t *nonce, uint8_t code)
{
	if (cap < RELAY_REFUSED_LEN)
		return -ENOSPC;
	put_or_zero(out + RELAY_HDR_LEN, nonce, RELAY_NONCE_LEN);
	put_header(out, RELAY_REFUSED);
	out[RELAY_HDR_LEN + RELAY_NONCE_LEN] = code;
	return RELAY_REFUSED_LEN;
}

int relay_build_cookie(uint8_t *out, size_t cap, const uint8_t nonce[RELAY_NONCE_LEN],
		       const uint8_t cookie[RELAY_COOKIE_LEN])
{
	if (cap < RELAY_COOKIE_FRAME_LEN)
		return -ENOSPC;
	memmove(out + RELAY_HDR_LEN, nonce, RELAY_NONCE_LEN);
	memmove(out + RELAY_HDR_LEN + RELAY_NONCE_LEN, cookie, RELAY_COOKIE_LEN);
	put_header(out, RELAY_COOKIE);
	return RELAY_COOKIE_FRAME_LEN;
}

int relay_build_unbound(uint8_t *out, size_t cap, const uint8_t *send, size_t send_len,
			const uint8_t cookie[RELAY_COOKIE_LEN])
{
	if (send_len < RELAY_UNBOUND_LEN)
		return -EINVAL;
	if (cap < RELAY_UNBOUND_LEN)
		return -ENOSPC;
	/* The echo may overlap out (the SEND's own buffer): memmove. */
	memmove(out + RELAY_HDR_LEN, send + send_len - RELAY_ECHO_LEN, RELAY_ECHO_LEN);
	memmove(out + RELAY_HDR_LEN + RELAY_ECHO_LEN, cookie, RELAY_COOKIE_LEN);
	put_header(out, RELAY_UNBOUND);
	return RELAY_UNBOUND_LEN;
}

int relay_build_clock(uint8_t *out, size_t cap, const uint8_t k[32],
		      const uint8_t nonce[RELAY_NONCE_LEN], uint64_t relay_ms)
{
	return build_answer(out, cap, RELAY_CLOCK, k, nonce, relay_ms, 8, clock_label,
			    LABEL_LEN(clock_label));
}

int relay_build_keyed(uint8_t *out, size_t cap, enum relay_type type, const uint8_t key[32],
		      const uint8_t *payload, size_t len)
{
	if ((type != RELAY_SEND && type != RELAY_DELIVER) || len == 0 ||
	    len > RELAY_MAX_DATAGRAM)
		return -EINVAL;
	if (cap < RELAY_KEYED_HDR_LEN + len)
		return -ENOSPC;
	/* The payload may already sit in out (in-place SEND -> DELIVER). */
	if (payload != out + RELAY_KEYED_HDR_LEN)
		memmove(out + RELAY_KEYED_HDR_LEN, payload, len);
	memmove(out + RELAY_HDR_LEN, key, RELAY_KEY_LEN);
	put_header(out, type);
	return (int)(RELAY_KEYED_HDR_LEN + len);
}

int relay_build_unreachable(uint8_t *out, size_t cap, const uint8_t dst_key[32])
{
	if (cap < RELAY_UNREACHABLE_LEN)
		return -ENOSPC;
	memmove(out + RELAY_HDR_LEN, dst_key, RELAY_KEY_LEN);
	put_header(out, RELAY_UNREACHABLE);
	return RELAY_UNREACHABLE_LEN;
}

int relay_build_ping(uint8_t *out, size_t cap, enum relay_type type,
		     const uint8_t nonce[RELAY_PING_NONCE_LEN])
{
	if (type != RELAY_PING && type != RELAY_PONG)
		return -EINVAL;
	if (cap < RELAY_PING_LEN)
		return -ENOSPC;
	memmove(out + RELAY_HDR_LEN, nonce, RELAY_PING_NONCE_LEN);
	put_header(out, type);
	return RELAY_PING_LEN;
}

/* |a - b| > window, without overflow. */
static bool outside_window(uint64_t a, uint64_t b, uint64_t window)
{
	return a > b ? a - b > window : b - a > window;
}

bool relay_bind_in_window(const struct relay_frame *f, uint64_t now_ms)
{
	return !outside_window(f->timestamp_ms, now_ms, RELAY_BIND_WINDOW_MS);
}

int relay_verify_bind_proof(const struct relay_frame *f, const uint8_t relay_priv[32],
			    uint8_t k_out[32])
{
	uint8_t k[32], mac[RELAY_MAC_LEN];
	int ret = -EBADMSG;

	if (f->type != RELAY_BIND || f->raw_len != RELAY_BIND_LEN)
		return -EINVAL;
	if (crypto_x25519(k, relay_priv, f->key))
		goto out;
	relay_mac(mac, k, bind_label, LABEL_LEN(bind_label), f->raw, RELAY_BIND_SIGNED_LEN);
	if (!crypto_equal(mac, f->mac, RELAY_MAC_LEN))
		goto out;
	if (k_out)
		memcpy(k_out, k, sizeof(k));
	ret = 0;
out:
	crypto_wipe(k, sizeof(k));
	crypto_wipe(mac, sizeof(mac));
	return ret;
}

int relay_verify_bind(const struct relay_frame *f, const uint8_t relay_priv[32], uint64_t now_ms,
		      uint64_t last_ms, uint8_t k_out[32])
{
	uint8_t k[32];
	int ret;

	if (f->type != RELAY_BIND || f->raw_len != RELAY_BIND_LEN)
		return -EINVAL;
	if (outside_window(f->timestamp_ms, now_ms, RELAY_BIND_WINDOW_MS))
		return -ESTALE;
	ret = relay_verify_bind_proof(f, relay_priv, k);
	if (ret)
		return ret;
	/* Only after the MAC: an unauthenticated frame learns nothing of last_ms. */
	if (f->timestamp_ms <= last_ms)
		ret = -ESTALE;
	else if (k_out)
		memcpy(k_out, k, sizeof(k));
	crypto_wipe(k, sizeof(k));
	return ret;
}

/* A relay-signed answer (BOUND, CLOCK): its MAC under k(client, relay) and
 * the nonce of our BIND, both compared whatever the other gave. */
static int verify_answer(const struct relay_frame *f, const uint8_t client_priv[32],
			 const uint8_t relay_pub[32], const uint8_t nonce[RELAY_NONCE_LEN],
			 const char *label, size_t label_len, size_t signed_len)
{
	uint8_t k[32], mac[RELAY_MAC_LEN];
	bool mac_ok, nonce_ok;
	int ret = -EBADMSG;

	if (crypto_x25519(k, client_priv, relay_pub))
		goto out;
	relay_mac(mac, k, label, label_len, f->raw, signed_len);
	/* Both compares always run: no early exit on which part differed. */
	mac_ok = crypto_equal(mac, f->mac, RELAY_MAC_LEN);
	nonce_ok = crypto_equal(nonce, f->nonce, RELAY_NONCE_LEN);
	if (mac_ok && nonce_ok)
		ret = 0;
out:
	crypto_wipe(k, sizeof(k));
	crypto_wipe(mac, sizeof(mac));
	return ret;
}

int relay_verify_bound(const struct relay_frame *f, const uint8_t client_priv[32],
		       const uint8_t relay_pub[32], const uint8_t nonce[RELAY_NONCE_LEN])
{
	if (f->type != RELAY_BOUND || f->raw_len != RELAY_BOUND_LEN)
		return -EINVAL;
	return verify_answer(f, client_priv, relay_pub, nonce, bound_label,
			     LABEL_LEN(bound_label), RELAY_BOUND_SIGNED_LEN);
}

int relay_verify_clock(const struct relay_frame *f, const uint8_t client_priv[32],
		       const uint8_t relay_pub[32], const uint8_t nonce[RELAY_NONCE_LEN])
{
	if (f->type != RELAY_CLOCK || f->raw_len != RELAY_CLOCK_LEN)
		return -EINVAL;
	return verify_answer(f, client_priv, relay_pub, nonce, clock_label,
			     LABEL_LEN(clock_label), RELAY_CLOCK_SIGNED_LEN);
}

const char *relay_type_name(unsigned type)
{
	static const char *const all[] = {
		[RELAY_BIND] = "BIND", [RELAY_BOUND] = "BOUND",
		[RELAY_REFUSED] = "REFUSED", [RELAY_SEND] = "SEND",
		[RELAY_DELIVER] = "DELIVER", [RELAY_UNREACHABLE] = "UNREACHABLE",
		[RELAY_PING] = "PING", [RELAY_PONG] = "PONG",
		[RELAY_COOKIE] = "COOKIE", [RELAY_UNBOUND] = "UNBOUND",
		[RELAY_CLOCK] = "CLOCK",
	};

	return type >= RELAY_BIND && type <= RELAY_TYPE_MAX ? all[type] : "?";
}
