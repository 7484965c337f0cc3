/*
 * receive: one UDP datagram in. Demultiplexes WireGuard messages from other
 * traffic on the port (handed to the device's receive hook), checks each
 * WireGuard message's exact length before reading it, and applies the paper's
 * rules: mac1 first, cookies under load, then the handshake or transport.
 *
 * Invariants: nothing about a peer changes (endpoint, timers, keys) until a
 * message authenticated; a transport counter is marked seen only after its
 * AEAD tag verified; a decrypted packet reaches TUN only if its source address
 * is within the sending peer's allowed IPs.
 */
#include <arpa/inet.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/internal.h"

/* WireGuard messages are a type byte 1..4 followed by three zero bytes. */
static int message_type(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[1] || buf[2] || buf[3] || buf[0] < WG_MSG_INITIATION ||
	    buf[0] > WG_MSG_DATA)
		return 0;
	return buf[0];
}

static bool length_ok(int type, size_t len)
{
	switch (type) {
	case WG_MSG_INITIATION:
		return len == sizeof(struct wg_msg_initiation);
	case WG_MSG_RESPONSE:
		return len == sizeof(struct wg_msg_response);
	case WG_MSG_COOKIE:
		return len == sizeof(struct wg_msg_cookie);
	case WG_MSG_DATA:
		return len >= WG_MSG_MIN_DATA_LEN && len - WG_DATA_OVERHEAD <= WG_MAX_PACKET;
	}
	return false;
}

static void authenticated(struct wg_peer *peer, size_t len, const struct wg_endpoint *src)
{
	wg_peer_set_endpoint(peer, src);
	peer->rx_bytes += len;
	wg_timers_any_authenticated_packet_received(peer);
	wg_timers_any_authenticated_packet_traversal(peer);
}

/* Returns false when the message must be dropped (bad mac1, or under load
 * without a valid cookie, in which case a cookie reply went out). */
static bool handshake_admitted(struct wg_device *dev, const uint8_t *buf, size_t len,
			       uint32_t sender_index, const struct wg_endpoint *src)
{
	bool under_load = wg_device_under_load(dev, time_mono_ns());
	enum wg_cookie_result r = wg_cookie_validate(dev, buf, len, src, under_load);

	if (r == WG_COOKIE_INVALID)
		return false;
	if (!under_load)
		return true;
	if (r == WG_COOKIE_VALID_NO_COOKIE) {
		wg_send_cookie_reply(dev, buf, len, sender_index, src);
		return false;
	}
	return wg_ratelimiter_allow(&dev->ratelimiter, &src->sa, time_mono_ns());
}

static void receive_initiation(struct wg_device *dev, uint8_t *buf, size_t len,
			       const struct wg_endpoint *src)
{
	const struct wg_msg_initiation *msg = (const void *)buf;
	struct wg_peer *peer;

	if (!handshake_admitted(dev, buf, len, le32toh(msg->sender_index), src))
		return;
	peer = wg_noise_consume_initiation(dev, msg);
	if (!peer)
		return;
	authenticated(peer, len, src);
	wg_send_handshake_response(peer);
}

static void receive_response(struct wg_device *dev, uint8_t *buf, size_t len,
			     const struct wg_endpoint *src)
{
	const struct wg_msg_response *msg = (const void *)buf;
	struct wg_peer *peer;

	if (!handshake_admitted(dev, buf, len, le32toh(msg->sender_index), src))
		return;
	peer = wg_noise_consume_response(dev, msg);
	if (!peer)
		return;
	if (!wg_noise_begin_session(peer)) {
		wg_timers_session_derived(peer);
		wg_timers_handshake_complete(peer);
	}
	authenticated(peer, len, src);
	/* Confirms the new keys to the responder (and flushes anything staged). */
	wg_send_keepalive(peer);
}

/* Inner packet length from its IP header, or 0 when it is not a well-formed
 * IPv4/IPv6 packet that fits in plen bytes. */
static size_t inner_length(const uint8_t *pkt, size_t plen, int *family, const uint8_t **saddr)
{
	size_t len;

	if (plen >= 20 && pkt[0] >> 4 == 4) {
		len = (size_t)pkt[2] << 8 | pkt[3];
		if (len < 20 || len > plen || (size_t)(pkt[0] & 0xf) * 4 > len)
			return 0;
		*family = AF_INET;
		*saddr = pkt + 12;
		return len;
	}
	if (plen >= 40 && pkt[0] >> 4 == 6) {
		len = ((size_t)pkt[4] << 8 | pkt[5]) + 40;
		if (len > plen)
			return 0;
		*family = AF_INET6;
		*saddr = pkt + 8;
		return len;
	}
	return 0;
}

static bool keypair_can_receive(const struct wg_keypair *kp, uint64_t counter, uint64_t now)
{
	return kp->recv_valid && now - kp->birth < WG_REJECT_AFTER_TIME &&
	       counter < WG_REJECT_AFTER_MESSAGES;
}

/* Initiator only: if the session is nearly at REJECT_AFTER_TIME, rekey once. */
static void keep_key_fresh_rx(struct wg_peer *peer, uint64_t now)
{
	struct wg_keypair *kp = peer->kp_cur;

	if (kp && kp->send_valid && kp->initiator && !peer->timers.sent_lastminute_handshake &&
	    now - kp->birth >= WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT) {
		peer->timers.sent_lastminute_handshake = true;
		wg_send_handshake_initiation(peer, false);
	}
}

static void receive_data(struct wg_device *dev, uint8_t *buf, size_t len,
			 const struct wg_endpoint *src)
{
	const struct wg_msg_data *hdr = (const void *)buf;
	uint8_t *pkt = buf + sizeof(*hdr);
	size_t plen = len - WG_DATA_OVERHEAD, ilen;
	struct wg_index_entry *e = wg_index_lookup(dev, le32toh(hdr->receiver_index));
	uint64_t counter = le64toh(hdr->counter), now = time_mono_ns();
	const uint8_t *saddr;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	int family;

	if (!e || e->type != WG_INDEX_KEYPAIR)
		return;
	kp = (struct wg_keypair *)e; /* entry is the first member */
	peer = e->peer;
	if (!keypair_can_receive(kp, counter, now))
		return;
	if (crypto_aead_decrypt(pkt, pkt, plen + WG_TAG_LEN, NULL, 0, counter, kp->recv_key))
		return;
	if (!wg_replay_check(&kp->replay, counter, WG_REJECT_AFTER_MESSAGES))
		return;

	if (wg_noise_received_with_keypair(peer, kp)) {
		wg_timers_handshake_complete(peer);
		wg_send_staged(peer);
	}
	keep_key_fresh_rx(peer, now);
	authenticated(peer, len, src);
	if (!plen)
		return; /* keepalive */

	ilen = inner_length(pkt, plen, &family, &saddr);
	if (!ilen || wg_allowedips_lookup(&dev->aip, family, saddr) != peer)
		return;
	if (dev->io && dev->io->tun_write)
		dev->io->tun_write(dev->io_ctx, pkt, ilen);
	peer->rx_packets++;
	wg_timers_data_received(peer);
}

void wg_receive(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *src)
{
	int type = message_type(buf, len);

	if (!type) {
		if (dev->rx_hook)
			dev->rx_hook(dev->rx_hook_ctx, buf, len, src);
		return;
	}
	if (!length_ok(type, len))
		return;
	switch (type) {
	case WG_MSG_INITIATION:
		receive_initiation(dev, buf, len, src);
		break;
	case WG_MSG_RESPONSE:
		receive_response(dev, buf, len, src);
		break;
	case WG_MSG_COOKIE:
		wg_cookie_consume_reply(dev, (const void *)buf);
		break;
	case WG_MSG_DATA:
		receive_data(dev, buf, len, src);
		break;
	}
}
