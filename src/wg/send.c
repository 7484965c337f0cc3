/*
 * send: everything the device puts on the wire for a peer: handshake
 * initiations (rate-limited to one per REKEY_TIMEOUT), responses, cookie
 * replies, keepalives and transport data.
 *
 * Invariants: a packet leaves only under a keypair that is valid for sending
 * (not past REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES); otherwise it waits in
 * the peer's staged queue (at most MAX_STAGED_PACKETS, oldest dropped first)
 * while a handshake runs. Staged packets leave in order before any newer one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"
#include "wg/internal.h"

void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry)
{
	struct wg_msg_initiation msg;
	uint64_t now = time_mono_ns();

	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT, whatever asks for it. */
	if (peer->last_sent_handshake && now - peer->last_sent_handshake < WG_REKEY_TIMEOUT)
		return;
	if (wg_noise_create_initiation(peer, &msg))
		return;
	peer->last_sent_handshake = now;
	wg_cookie_add_macs(peer, (uint8_t *)&msg, sizeof(msg));
	wg_timers_any_authenticated_packet_traversal(peer);
	wg_timers_any_authenticated_packet_sent(peer);
	wg_peer_send_datagram(peer, (const uint8_t *)&msg, sizeof(msg));
	wg_timers_handshake_initiated(peer);
}

void wg_send_handshake_response(struct wg_peer *peer)
{
	struct wg_msg_response msg;

	peer->last_sent_handshake = time_mono_ns();
	if (wg_noise_create_response(peer, &msg))
		return;
	wg_cookie_add_macs(peer, (uint8_t *)&msg, sizeof(msg));
	if (wg_noise_begin_session(peer))
		return;
	wg_timers_session_derived(peer);
	wg_timers_any_authenticated_packet_traversal(peer);
	wg_timers_any_authenticated_packet_sent(peer);
	wg_peer_send_datagram(peer, (const uint8_t *)&msg, sizeof(msg));
}

void wg_send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len,
			  uint32_t sender_index, const struct wg_endpoint *src)
{
	struct wg_msg_cookie reply;
	char ep[64];

	wg_cookie_create_reply(dev, &reply, msg, len, sender_index, src);
	if (log_get_level() >= LOG_DEBUG) {
		wg_endpoint_format(src, ep, sizeof(ep));
		log_debug("wg", "under load: sent cookie reply to %s", ep);
	}
	if (dev->io && dev->io->udp_send)
		dev->io->udp_send(dev->io_ctx, src, (const uint8_t *)&reply, sizeof(reply));
}

static bool keypair_can_send(const struct wg_keypair *kp, uint64_t now)
{
	return kp && kp->send_valid && now - kp->birth < WG_REJECT_AFTER_TIME &&
	       kp->send_counter < WG_REJECT_AFTER_MESSAGES;
}

/* Initiator only: start a new handshake before the current keys get old. */
static void keep_key_fresh(struct wg_peer *peer)
{
	struct wg_keypair *kp = peer->kp_cur;
	uint64_t now = time_mono_ns();

	if (kp && kp->send_valid &&
	    (kp->send_counter > WG_REKEY_AFTER_MESSAGES ||
	     (kp->initiator && now - kp->birth >= WG_REKEY_AFTER_TIME)))
		wg_send_handshake_initiation(peer, false);
}

static size_t padded_len(size_t len, unsigned mtu)
{
	size_t padded;

	if (len >= mtu)
		return len;
	padded = (len + WG_PADDING_MULTIPLE - 1) & ~(size_t)(WG_PADDING_MULTIPLE - 1);
	return padded > mtu ? mtu : padded;
}

/* Hands a data message to the driver. A packet in the caller's buffer may be
 * queued (dev->udp_queue: the driver sends it, batched, before it reuses the buffer);
 * staged packets and keepalives live in buffers freed or reused right after,
 * so they go out at once. True when the socket (or the queue) took it. */
static bool send_data(struct wg_peer *peer, const uint8_t *buf, size_t len, bool queue)
{
	struct wg_device *dev = peer->dev;

	if (queue && peer->has_endpoint && dev->udp_queue) {
		if (dev->udp_queue(dev->io_ctx, &peer->endpoint, buf, len))
			return false;
		peer->tx_bytes += len;
		return true;
	}
	return !wg_peer_send_datagram(peer, buf, len);
}

/* Encrypts the packet at pkt (headroom and tailroom as for wg_device_tx_packet)
 * in place and sends (or queues, see send_data) it. */
static void encrypt_and_send(struct wg_peer *peer, struct wg_keypair *kp, uint8_t *pkt,
			     size_t len, bool queue)
{
	struct wg_msg_data *hdr = (void *)(pkt - sizeof(*hdr));
	size_t plen = padded_len(len, peer->dev->mtu);
	uint64_t counter = kp->send_counter++;

	memset(pkt + len, 0, plen - len);
	hdr->header.type = htole32(WG_MSG_DATA);
	hdr->receiver_index = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	crypto_aead_encrypt(pkt, pkt, plen, NULL, 0, counter, kp->send_key);
	wg_timers_any_authenticated_packet_traversal(peer);
	wg_timers_any_authenticated_packet_sent(peer);
	/* Counted where tx_bytes is: a packet the socket (or its queue) took. */
	if (send_data(peer, (const uint8_t *)hdr, sizeof(*hdr) + plen + WG_TAG_LEN, queue) &&
	    len)
		peer->tx_packets++;
	if (len)
		wg_timers_data_sent(peer);
}

static int stage(struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct wg_staged *q = &peer->staged;
	unsigned slot;
	uint8_t *buf;

	if (len > WG_MAX_PACKET)
		return -EMSGSIZE;
	buf = malloc(WG_TX_HEADROOM + len + WG_TX_TAILROOM);
	if (!buf)
		return -ENOMEM;
	memcpy(buf + WG_TX_HEADROOM, pkt, len);
	if (q->count == WG_MAX_STAGED_PACKETS) {
		/* Full: the oldest packet makes room, as in the kernel. */
		free(q->buf[q->head]);
		q->head = (q->head + 1) % WG_MAX_STAGED_PACKETS;
		q->count--;
	}
	slot = (q->head + q->count) % WG_MAX_STAGED_PACKETS;
	q->buf[slot] = buf;
	q->len[slot] = (uint16_t)len;
	q->count++;
	return 0;
}

void wg_send_staged(struct wg_peer *peer)
{
	struct wg_staged *q = &peer->staged;
	uint64_t now = time_mono_ns();

	if (!q->count)
		return;
	if (!keypair_can_send(peer->kp_cur, now)) {
		wg_send_handshake_initiation(peer, false);
		return;
	}
	while (q->count && keypair_can_send(peer->kp_cur, now)) {
		uint8_t *buf = q->buf[q->head];

		encrypt_and_send(peer, peer->kp_cur, buf + WG_TX_HEADROOM, q->len[q->head], false);
		free(buf);
		q->buf[q->head] = NULL;
		q->head = (q->head + 1) % WG_MAX_STAGED_PACKETS;
		q->count--;
	}
	if (q->count)
		wg_send_handshake_initiation(peer, false);
	keep_key_fresh(peer);
}

void wg_send_packet(struct wg_peer *peer, uint8_t *pkt, size_t len, bool queue)
{
	uint64_t now = time_mono_ns();

	/* Fast path: nothing waiting and a usable key: encrypt in the caller's buffer. */
	if (!peer->staged.count && keypair_can_send(peer->kp_cur, now)) {
		encrypt_and_send(peer, peer->kp_cur, pkt, len, queue);
		keep_key_fresh(peer);
		return;
	}
	if (stage(peer, pkt, len))
		return;
	wg_send_staged(peer);
}

void wg_send_keepalive(struct wg_peer *peer)
{
	uint8_t *pkt = peer->dev->scratch + WG_TX_HEADROOM;

	if (peer->staged.count) {
		wg_send_staged(peer);
		return;
	}
	wg_send_packet(peer, pkt, 0, false); /* scratch is shared: never queued */
}
