/*
 * messages: WireGuard's wire formats and protocol constants, defined once.
 * All multi-byte integers on the wire are little-endian; structs are packed
 * and their sizes asserted so a layout change cannot go unnoticed.
 * Source: the WireGuard paper (sections 5.4, 6) and wireguard.com/protocol.
 */
#ifndef LR_WG_MESSAGES_H
#define LR_WG_MESSAGES_H

#include <stdint.h>

#include "util/time.h"

#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

enum {
	WG_KEY_LEN = 32,
	WG_HASH_LEN = 32,
	WG_TAG_LEN = 16,
	WG_COOKIE_LEN = 16,
	WG_COOKIE_NONCE_LEN = 24,
	WG_TIMESTAMP_LEN = 12,
	WG_MAC_LEN = 16,
	WG_PADDING_MULTIPLE = 16,
	WG_MAX_STAGED_PACKETS = 128,
	WG_MAX_TIMER_HANDSHAKES = 90 / 5,
	WG_INITIATIONS_PER_SECOND = 50,
	WG_DEFAULT_MTU = 1420,
	/* Largest IP packet we carry; TUN MTU can be raised up to this. */
	WG_MAX_PACKET = 65535,
};

#define WG_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13) - 1)
#define WG_REKEY_AFTER_TIME (120 * TIME_NS_PER_SEC)
#define WG_REJECT_AFTER_TIME (180 * TIME_NS_PER_SEC)
#define WG_REKEY_ATTEMPT_TIME (90 * TIME_NS_PER_SEC)
#define WG_REKEY_TIMEOUT (5 * TIME_NS_PER_SEC)
#define WG_REKEY_TIMEOUT_JITTER_MAX (TIME_NS_PER_SEC / 3)
#define WG_KEEPALIVE_TIMEOUT (10 * TIME_NS_PER_SEC)
#define WG_COOKIE_SECRET_MAX_AGE (120 * TIME_NS_PER_SEC)
#define WG_COOKIE_SECRET_LATENCY (5 * TIME_NS_PER_SEC)
/* Once we are under load, stay so for this long (kernel and wireguard-go). */
#define WG_UNDER_LOAD_AFTER (1 * TIME_NS_PER_SEC)

enum wg_message_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

struct wg_msg_header {
	uint32_t type; /* le32: type byte then three zero bytes */
} __attribute__((packed));

struct wg_msg_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct wg_msg_initiation {
	struct wg_msg_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[WG_KEY_LEN];
	uint8_t encrypted_static[WG_KEY_LEN + WG_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TIMESTAMP_LEN + WG_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_response {
	struct wg_msg_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[WG_KEY_LEN];
	uint8_t encrypted_nothing[WG_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_cookie {
	struct wg_msg_header header;
	uint32_t receiver_index;
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[WG_COOKIE_LEN + WG_TAG_LEN];
} __attribute__((packed));

struct wg_msg_data {
	struct wg_msg_header header;
	uint32_t receiver_index;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct wg_msg_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct wg_msg_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct wg_msg_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct wg_msg_data) == 16, "data header is 16 bytes");

#define WG_DATA_OVERHEAD (sizeof(struct wg_msg_data) + WG_TAG_LEN)
#define WG_MSG_MIN_DATA_LEN WG_DATA_OVERHEAD /* a keepalive */

#endif
