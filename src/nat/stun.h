/*
 * stun: RFC 8489 STUN message encoding and parsing, with the RFC 5780
 * attributes used for NAT behaviour discovery (CHANGE-REQUEST,
 * RESPONSE-ORIGIN, OTHER-ADDRESS).
 *
 * Only what LANrage needs is understood: Binding requests and responses, the
 * address attributes (IPv4 and IPv6), ERROR-CODE, SOFTWARE and FINGERPRINT.
 * Other comprehension-required attributes are reported to the caller in
 * unknown[] so a server can answer 420; optional ones are skipped.
 *
 * The parser never trusts a length from the wire: every read is checked
 * against the datagram, and a malformed message is rejected whole.
 */
#ifndef LR_NAT_STUN_H
#define LR_NAT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12
/* Largest message we build; below the 548-byte floor of RFC 8489 section 6.1. */
#define STUN_MAX_MSG 548
#define STUN_DEFAULT_PORT 3478

#define STUN_METHOD_BINDING 0x001

enum stun_class {
	STUN_REQUEST = 0,
	STUN_INDICATION = 1,
	STUN_SUCCESS = 2,
	STUN_ERROR = 3,
};

/* Attribute types (RFC 8489 section 18.3, RFC 5780 section 7). */
#define STUN_ATTR_MAPPED_ADDRESS 0x0001
#define STUN_ATTR_CHANGE_REQUEST 0x0003
#define STUN_ATTR_USERNAME 0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define STUN_ATTR_ERROR_CODE 0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001C
#define STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define STUN_ATTR_PADDING 0x0026
#define STUN_ATTR_RESPONSE_PORT 0x0027
/* Pre-RFC code some deployed servers still send for XOR-MAPPED-ADDRESS. */
#define STUN_ATTR_XOR_MAPPED_ADDRESS_OLD 0x8020
#define STUN_ATTR_SOFTWARE 0x8022
#define STUN_ATTR_FINGERPRINT 0x8028
#define STUN_ATTR_RESPONSE_ORIGIN 0x802B
#define STUN_ATTR_OTHER_ADDRESS 0x802C

#define STUN_FINGERPRINT_XOR 0x5354554Eu

/* CHANGE-REQUEST flags (RFC 5780 section 7.2). */
#define STUN_CHANGE_IP 0x4u
#define STUN_CHANGE_PORT 0x2u

/* ERROR-CODE values we send or act on. */
#define STUN_ERR_BAD_REQUEST 400
#define STUN_ERR_UNKNOWN_ATTRIBUTE 420

#define STUN_MAX_UNKNOWN 8
#define STUN_MAX_TEXT 128

/* Which optional parts a parsed message carried. */
enum {
	STUN_HAS_MAPPED = 1u << 0,
	STUN_HAS_XOR_MAPPED = 1u << 1,
	STUN_HAS_RESPONSE_ORIGIN = 1u << 2,
	STUN_HAS_OTHER_ADDRESS = 1u << 3,
	STUN_HAS_CHANGE_REQUEST = 1u << 4,
	STUN_HAS_ERROR = 1u << 5,
	STUN_HAS_SOFTWARE = 1u << 6,
	STUN_HAS_FINGERPRINT = 1u << 7,
	STUN_HAS_INTEGRITY = 1u << 8,
	STUN_HAS_RESPONSE_PORT = 1u << 9,
};

/* A parsed message. Text fields are NUL-terminated copies, truncated to fit. */
struct stun_msg {
	uint16_t method;
	enum stun_class cls;
	uint8_t txid[STUN_TXID_LEN];
	uint32_t has; /* STUN_HAS_* */
	struct wg_endpoint mapped;
	struct wg_endpoint xor_mapped;
	struct wg_endpoint response_origin;
	struct wg_endpoint other_address;
	uint32_t change_flags;
	uint16_t error_code;
	char error_reason[STUN_MAX_TEXT];
	char software[STUN_MAX_TEXT];
	/* Comprehension-required attributes this parser does not understand. */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	size_t n_unknown;
};

/* Cheap test for demultiplexing on a shared UDP port: the top two bits are zero,
 * the length is a multiple of 4 and the magic cookie is at offset 4. */
bool stun_is_message(const uint8_t *buf, size_t len);

/* Parses one message. Returns 0, or -EBADMSG when buf is not a well-formed STUN
 * message (bad header, an attribute overrunning the message, a malformed known
 * attribute, a FINGERPRINT that does not match). Bytes past the header's length
 * are ignored, as are attributes after FINGERPRINT. */
int stun_parse(struct stun_msg *msg, const uint8_t *buf, size_t len);

/* The "best" mapped address of a response: XOR-MAPPED-ADDRESS, else the old
 * 0x8020 form, else MAPPED-ADDRESS. NULL when the message carries none. */
const struct wg_endpoint *stun_msg_mapped(const struct stun_msg *msg);

/* Builder: appends attributes to a caller's buffer. Errors are sticky; the
 * first one is returned by stun_build_finish. */
struct stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
		     enum stun_class cls, const uint8_t txid[STUN_TXID_LEN]);
/* MAPPED-ADDRESS style attribute (RESPONSE-ORIGIN, OTHER-ADDRESS, ...). */
void stun_add_addr(struct stun_builder *b, uint16_t type, const struct wg_endpoint *ep);
/* XOR-MAPPED-ADDRESS, obfuscated with the cookie and the builder's transaction ID. */
void stun_add_xor_addr(struct stun_builder *b, uint16_t type, const struct wg_endpoint *ep);
void stun_add_u32(struct stun_builder *b, uint16_t type, uint32_t v);
void stun_add_bytes(struct stun_builder *b, uint16_t type, const void *data, size_t len);
void stun_add_error(struct stun_builder *b, uint16_t code, const char *reason);
/* Closes the message (optionally with FINGERPRINT). Returns its length or a
 * negative errno (-ENOSPC when it did not fit, -EINVAL for a bad attribute). */
int stun_build_finish(struct stun_builder *b, bool fingerprint);

/* Fills txid from the system CSPRNG. */
void stun_new_txid(uint8_t txid[STUN_TXID_LEN]);

#endif
