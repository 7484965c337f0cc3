/*
 * stun: RFC 8489 message codec. All multi-byte fields are big-endian on the
 * wire and are read and written through the get/put helpers below, each after
 * a bounds check against the message length taken from the header (itself
 * checked against the datagram).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "crypto/crypto.h"
#include "nat/stun.h"
#include "util/bytes.h"

#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02

/* The 14-bit message type interleaves the method bits with the two class bits
 * (C0 at bit 4, C1 at bit 8), RFC 8489 section 5. */
static uint16_t type_encode(uint16_t method, enum stun_class cls)
{
	return (uint16_t)((method & 0x000F) | (method & 0x0070) << 1 | (method & 0x0F80) << 2 |
			  (cls & 1) << 4 | (cls & 2) << 7);
}

static void type_decode(uint16_t type, uint16_t *method, enum stun_class *cls)
{
	*method = (uint16_t)((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
	*cls = (enum stun_class)((type >> 4 & 1) | (type >> 7 & 2));
}

static uint32_t fingerprint(const uint8_t *buf, size_t len)
{
	return (uint32_t)crc32(0L, buf, (uInt)len) ^ STUN_FINGERPRINT_XOR;
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	return len >= STUN_HEADER_LEN && (buf[0] & 0xC0) == 0 &&
	       (bytes_get_be16(buf + 2) & 3) == 0 && bytes_get_be32(buf + 4) == STUN_MAGIC_COOKIE;
}

/* Decodes an address attribute; xor undoes XOR-MAPPED-ADDRESS obfuscation. */
static int parse_addr(struct wg_endpoint *ep, const uint8_t *v, size_t vlen, const uint8_t *hdr,
		      bool xor)
{
	uint16_t port;
	size_t i;

	if (vlen < 4)
		return -EBADMSG;
	memset(ep, 0, sizeof(*ep));
	port = bytes_get_be16(v + 2);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	if (v[1] == STUN_FAMILY_IPV4 && vlen == 8) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = htons(port);
		memcpy(&ep->in4.sin_addr, v + 4, 4);
		if (xor)
			for (i = 0; i < 4; i++)
				((uint8_t *)&ep->in4.sin_addr)[i] ^= hdr[4 + i];
		return 0;
	}
	if (v[1] == STUN_FAMILY_IPV6 && vlen == 20) {
		ep->in6.sin6_family = AF_INET6;
		ep->in6.sin6_port = htons(port);
		memcpy(&ep->in6.sin6_addr, v + 4, 16);
		/* IPv6 is XORed with the cookie followed by the transaction ID. */
		if (xor)
			for (i = 0; i < 16; i++)
				ep->in6.sin6_addr.s6_addr[i] ^= hdr[4 + i];
		return 0;
	}
	return -EBADMSG;
}

static void copy_text(char *dst, const uint8_t *v, size_t vlen)
{
	size_t n = vlen < STUN_MAX_TEXT - 1 ? vlen : STUN_MAX_TEXT - 1;

	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int parse_error_code(struct stun_msg *m, const uint8_t *v, size_t vlen)
{
	unsigned cls, num;

	if (vlen < 4)
		return -EBADMSG;
	cls = v[2] & 0x07;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return -EBADMSG;
	m->error_code = (uint16_t)(cls * 100 + num);
	copy_text(m->error_reason, v + 4, vlen - 4);
	return 0;
}

/* Handles one attribute. The first occurrence of each wins (RFC 8489 section 14).
 * *xor_std records that xor_mapped came from the standard 0x0020 code, which
 * beats the old 0x8020 form but not an earlier 0x0020. */
static int parse_attr(struct stun_msg *m, uint16_t type, const uint8_t *v, size_t vlen,
		      const uint8_t *hdr, bool *xor_std)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
		if (m->has & STUN_HAS_MAPPED)
			return 0;
		m->has |= STUN_HAS_MAPPED;
		return parse_addr(&m->mapped, v, vlen, hdr, false);
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_XOR_MAPPED_ADDRESS_OLD:
		/* The standard code beats the old one whatever the order; among
		 * attributes of the same code the first wins. */
		if (*xor_std ||
		    ((m->has & STUN_HAS_XOR_MAPPED) && type == STUN_ATTR_XOR_MAPPED_ADDRESS_OLD))
			return 0;
		*xor_std = type == STUN_ATTR_XOR_MAPPED_ADDRESS;
		m->has |= STUN_HAS_XOR_MAPPED;
		return parse_addr(&m->xor_mapped, v, vlen, hdr, true);
	case STUN_ATTR_RESPONSE_ORIGIN:
		if (m->has & STUN_HAS_RESPONSE_ORIGIN)
			return 0;
		m->has |= STUN_HAS_RESPONSE_ORIGIN;
		return parse_addr(&m->response_origin, v, vlen, hdr, false);
	case STUN_ATTR_OTHER_ADDRESS:
		if (m->has & STUN_HAS_OTHER_ADDRESS)
			return 0;
		m->has |= STUN_HAS_OTHER_ADDRESS;
		return parse_addr(&m->other_address, v, vlen, hdr, false);
	case STUN_ATTR_CHANGE_REQUEST:
		if (m->has & STUN_HAS_CHANGE_REQUEST)
			return 0;
		if (vlen != 4)
			return -EBADMSG;
		m->has |= STUN_HAS_CHANGE_REQUEST;
		m->change_flags = bytes_get_be32(v);
		return 0;
	case STUN_ATTR_ERROR_CODE:
		if (m->has & STUN_HAS_ERROR)
			return 0;
		m->has |= STUN_HAS_ERROR;
		return parse_error_code(m, v, vlen);
	case STUN_ATTR_SOFTWARE:
		if (m->has & STUN_HAS_SOFTWARE)
			return 0;
		m->has |= STUN_HAS_SOFTWARE;
		copy_text(m->software, v, vlen);
		return 0;
	case STUN_ATTR_RESPONSE_PORT:
		m->has |= STUN_HAS_RESPONSE_PORT;
		return 0;
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_PADDING:
		return 0;
	default:
		if (type < 0x8000 && m->n_unknown < STUN_MAX_UNKNOWN)
			m->unknown[m->n_unknown++] = type;
		return 0;
	}
}

static int parse_header(struct stun_msg *m, const uint8_t *buf, size_t len, size_t *mlen)
{
	if (!stun_is_message(buf, len))
		return -EBADMSG;
	*mlen = bytes_get_be16(buf + 2);
	if (*mlen > len - STUN_HEADER_LEN)
		return -EBADMSG;
	type_decode(bytes_get_be16(buf), &m->method, &m->cls);
	memcpy(m->txid, buf + 8, STUN_TXID_LEN);
	return 0;
}

int stun_parse(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	size_t mlen, off = STUN_HEADER_LEN, end;
	bool xor_std = false;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = parse_header(m, buf, len, &mlen);
	if (ret)
		return ret;
	end = STUN_HEADER_LEN + mlen;
	while (off < end) {
		uint16_t type, vlen;
		size_t padded;

		if (end - off < 4)
			return -EBADMSG;
		type = bytes_get_be16(buf + off);
		vlen = bytes_get_be16(buf + off + 2);
		padded = ((size_t)vlen + 3) & ~(size_t)3;
		if (padded > end - off - 4)
			return -EBADMSG;
		if (type == STUN_ATTR_FINGERPRINT) {
			if (vlen != 4 || bytes_get_be32(buf + off + 4) != fingerprint(buf, off))
				return -EBADMSG;
			m->has |= STUN_HAS_FINGERPRINT;
			return 0; /* it must be last: ignore anything after it */
		}
		/* After MESSAGE-INTEGRITY only FINGERPRINT (and MI-SHA256) may follow. */
		if (!(m->has & STUN_HAS_INTEGRITY)) {
			if (type == STUN_ATTR_MESSAGE_INTEGRITY ||
			    type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
				m->has |= STUN_HAS_INTEGRITY;
			else if ((ret = parse_attr(m, type, buf + off + 4, vlen, buf, &xor_std)))
				return ret;
		}
		off += 4 + padded;
	}
	return 0;
}

const struct wg_endpoint *stun_msg_mapped(const struct stun_msg *m)
{
	if (m->has & STUN_HAS_XOR_MAPPED)
		return &m->xor_mapped;
	if (m->has & STUN_HAS_MAPPED)
		return &m->mapped;
	return NULL;
}

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
		     enum stun_class cls, const uint8_t txid[STUN_TXID_LEN])
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
	if (cap < STUN_HEADER_LEN) {
		b->err = -ENOSPC;
		return;
	}
	bytes_put_be16(buf, type_encode(method, cls));
	bytes_put_be16(buf + 2, 0);
	bytes_put_be32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	b->len = STUN_HEADER_LEN;
}

/* Reserves a TLV with a vlen-byte value; returns the value pointer or NULL. */
static uint8_t *attr_reserve(struct stun_builder *b, uint16_t type, size_t vlen)
{
	size_t padded = (vlen + 3) & ~(size_t)3;
	uint8_t *v;

	if (b->err)
		return NULL;
	/* The header's 16-bit length must still count the whole message. */
	if (vlen > 0xFFFF || padded + 4 > b->cap - b->len ||
	    b->len - STUN_HEADER_LEN + 4 + padded > 0xFFFF) {
		b->err = -ENOSPC;
		return NULL;
	}
	bytes_put_be16(b->buf + b->len, type);
	bytes_put_be16(b->buf + b->len + 2, (uint16_t)vlen);
	v = b->buf + b->len + 4;
	memset(v + vlen, 0, padded - vlen);
	b->len += 4 + padded;
	bytes_put_be16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return v;
}

static void add_addr(struct stun_builder *b, uint16_t type, const struct wg_endpoint *ep, bool xor)
{
	const uint8_t *ip;
	uint8_t family, *v;
	uint16_t port;
	size_t alen, i;

	if (ep->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
		family = STUN_FAMILY_IPV6;
		alen = 16;
		ip = ep->in6.sin6_addr.s6_addr;
		port = ntohs(ep->in6.sin6_port);
	} else if (ep->sa.sa_family == AF_INET6) {
		family = STUN_FAMILY_IPV4;
		alen = 4;
		ip = ep->in6.sin6_addr.s6_addr + 12;
		port = ntohs(ep->in6.sin6_port);
	} else if (ep->sa.sa_family == AF_INET) {
		family = STUN_FAMILY_IPV4;
		alen = 4;
		ip = (const uint8_t *)&ep->in4.sin_addr;
		port = ntohs(ep->in4.sin_port);
	} else {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	v = attr_reserve(b, type, 4 + alen);
	if (!v)
		return;
	v[0] = 0;
	v[1] = family;
	bytes_put_be16(v + 2, xor ? (uint16_t)(port ^ (STUN_MAGIC_COOKIE >> 16)) : port);
	for (i = 0; i < alen; i++)
		v[4 + i] = xor ? (uint8_t)(ip[i] ^ b->buf[4 + i]) : ip[i];
}

void stun_add_addr(struct stun_builder *b, uint16_t type, const struct wg_endpoint *ep)
{
	add_addr(b, type, ep, false);
}

void stun_add_xor_addr(struct stun_builder *b, uint16_t type, const struct wg_endpoint *ep)
{
	add_addr(b, type, ep, true);
}

void stun_add_u32(struct stun_builder *b, uint16_t type, uint32_t val)
{
	uint8_t *v = attr_reserve(b, type, 4);

	if (v)
		bytes_put_be32(v, val);
}

void stun_add_bytes(struct stun_builder *b, uint16_t type, const void *data, size_t len)
{
	uint8_t *v = attr_reserve(b, type, len);

	if (v && len)
		memcpy(v, data, len);
}

void stun_add_error(struct stun_builder *b, uint16_t code, const char *reason)
{
	size_t rlen = strlen(reason);
	uint8_t *v;

	if (code < 300 || code > 699) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	v = attr_reserve(b, STUN_ATTR_ERROR_CODE, 4 + rlen);
	if (!v)
		return;
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
}

int stun_build_finish(struct stun_builder *b, bool with_fingerprint)
{
	uint8_t *v;
	size_t at;

	if (with_fingerprint) {
		at = b->len;
		v = attr_reserve(b, STUN_ATTR_FINGERPRINT, 4);
		/* The CRC covers the header with the length already counting FINGERPRINT. */
		if (v)
			bytes_put_be32(v, fingerprint(b->buf, at));
	}
	return b->err ? b->err : (int)b->len;
}

void stun_new_txid(uint8_t txid[STUN_TXID_LEN])
{
	crypto_random(txid, STUN_TXID_LEN);
}
