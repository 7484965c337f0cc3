/*
 * cookie: MAC1/MAC2 and cookie replies, the paper's section 5.4.4 and 5.4.7.
 *
 * Every handshake message carries mac1 keyed by the receiver's public key, so a
 * message from someone who does not know that key is dropped before any
 * Diffie-Hellman. Under load, a message also needs mac2, keyed by a cookie the
 * sender can only get by receiving at its claimed address. Invariants: the
 * cookie secret is rotated every two minutes; a cookie reply is accepted only
 * for a mac1 we actually sent, and only once.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/internal.h"

/* key = HASH(label || public key) */
static void derive_key(uint8_t key[WG_HASH_LEN], const char *label, const uint8_t pub[WG_KEY_LEN])
{
	struct crypto_blake2s s;

	crypto_blake2s_init(&s, WG_HASH_LEN, NULL, 0);
	crypto_blake2s_update(&s, (const uint8_t *)label, strlen(label));
	crypto_blake2s_update(&s, pub, WG_KEY_LEN);
	crypto_blake2s_final(&s, key);
}

void wg_cookie_checker_init(struct wg_device *dev)
{
	struct wg_cookie_checker *c = &dev->cookie_checker;

	if (dev->has_identity) {
		derive_key(c->mac1_key, WG_LABEL_MAC1, dev->static_public);
		derive_key(c->encryption_key, WG_LABEL_COOKIE, dev->static_public);
	} else {
		memset(c->mac1_key, 0, WG_HASH_LEN);
		memset(c->encryption_key, 0, WG_HASH_LEN);
	}
}

void wg_cookie_peer_init(struct wg_peer *peer)
{
	struct wg_peer_cookie *c = &peer->cookie;

	memset(c, 0, sizeof(*c));
	derive_key(c->mac1_key, WG_LABEL_MAC1, peer->public_key);
	derive_key(c->decryption_key, WG_LABEL_COOKIE, peer->public_key);
}

static void mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *msg,
		size_t len)
{
	crypto_blake2s(out, WG_MAC_LEN, key, keylen, msg, len);
}

/* The cookie a source address would get now: MAC(secret, ip || port). */
static void cookie_for(struct wg_device *dev, uint8_t out[WG_COOKIE_LEN],
		       const struct wg_endpoint *src)
{
	struct wg_cookie_checker *c = &dev->cookie_checker;
	uint64_t now = time_mono_ns();
	struct crypto_blake2s s;

	if (!c->secret_birth || now - c->secret_birth >= WG_COOKIE_SECRET_MAX_AGE) {
		crypto_random(c->secret, sizeof(c->secret));
		c->secret_birth = now;
	}
	crypto_blake2s_init(&s, WG_COOKIE_LEN, c->secret, sizeof(c->secret));
	if (src->sa.sa_family == AF_INET) {
		crypto_blake2s_update(&s, (const uint8_t *)&src->in4.sin_addr, 4);
		crypto_blake2s_update(&s, (const uint8_t *)&src->in4.sin_port, 2);
	} else {
		crypto_blake2s_update(&s, (const uint8_t *)&src->in6.sin6_addr, 16);
		crypto_blake2s_update(&s, (const uint8_t *)&src->in6.sin6_port, 2);
	}
	crypto_blake2s_final(&s, out);
}

enum wg_cookie_result wg_cookie_validate(struct wg_device *dev, const uint8_t *msg, size_t len,
					 const struct wg_endpoint *src, bool check_cookie)
{
	const struct wg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t computed[WG_MAC_LEN], cookie[WG_COOKIE_LEN];
	size_t mac1_off = len - sizeof(*macs), mac2_off = mac1_off + WG_MAC_LEN;
	enum wg_cookie_result ret = WG_COOKIE_INVALID;

	if (!dev->has_identity)
		return WG_COOKIE_INVALID;
	mac(computed, dev->cookie_checker.mac1_key, WG_HASH_LEN, msg, mac1_off);
	if (!crypto_equal(computed, macs->mac1, WG_MAC_LEN))
		return WG_COOKIE_INVALID;
	ret = WG_COOKIE_VALID_NO_COOKIE;
	if (!check_cookie)
		return ret;
	cookie_for(dev, cookie, src);
	mac(computed, cookie, WG_COOKIE_LEN, msg, mac2_off);
	if (crypto_equal(computed, macs->mac2, WG_MAC_LEN))
		ret = WG_COOKIE_VALID_WITH_COOKIE;
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

void wg_cookie_add_macs(struct wg_peer *peer, uint8_t *msg, size_t len)
{
	struct wg_msg_macs *macs = (void *)(msg + len - sizeof(*macs));
	struct wg_peer_cookie *c = &peer->cookie;
	size_t mac1_off = len - sizeof(*macs), mac2_off = mac1_off + WG_MAC_LEN;
	uint64_t now = time_mono_ns();

	mac(macs->mac1, c->mac1_key, WG_HASH_LEN, msg, mac1_off);
	memcpy(c->last_mac1_sent, macs->mac1, WG_MAC_LEN);
	c->have_sent_mac1 = true;
	if (c->birth && now - c->birth < WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY)
		mac(macs->mac2, c->cookie, WG_COOKIE_LEN, msg, mac2_off);
	else
		memset(macs->mac2, 0, WG_MAC_LEN);
}

void wg_cookie_create_reply(struct wg_device *dev, struct wg_msg_cookie *reply,
			    const uint8_t *msg, size_t len, uint32_t receiver_index,
			    const struct wg_endpoint *src)
{
	const struct wg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t cookie[WG_COOKIE_LEN];

	memset(reply, 0, sizeof(*reply));
	reply->header.type = htole32(WG_MSG_COOKIE);
	reply->receiver_index = htole32(receiver_index);
	crypto_random(reply->nonce, sizeof(reply->nonce));
	cookie_for(dev, cookie, src);
	crypto_xaead_encrypt(reply->encrypted_cookie, cookie, WG_COOKIE_LEN, macs->mac1, WG_MAC_LEN,
			     reply->nonce, dev->cookie_checker.encryption_key);
	crypto_wipe(cookie, sizeof(cookie));
}

void wg_cookie_consume_reply(struct wg_device *dev, const struct wg_msg_cookie *reply)
{
	struct wg_index_entry *e = wg_index_lookup(dev, le32toh(reply->receiver_index));
	struct wg_peer_cookie *c;
	uint8_t cookie[WG_COOKIE_LEN];

	if (!e)
		return;
	c = &e->peer->cookie;
	if (!c->have_sent_mac1)
		return;
	if (crypto_xaead_decrypt(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
				 c->last_mac1_sent, WG_MAC_LEN, reply->nonce, c->decryption_key))
		return;
	memcpy(c->cookie, cookie, WG_COOKIE_LEN);
	c->birth = time_mono_ns();
	c->have_sent_mac1 = false;
	crypto_wipe(cookie, sizeof(cookie));
}
