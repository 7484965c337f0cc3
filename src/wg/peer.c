/*
 * peer: creation, lookup and removal of peers, their endpoint and staged
 * queue. A removed peer leaves nothing behind: its index entries, allowed IPs,
 * keys and staged packets go with it, and its memory is wiped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "wg/internal.h"

struct wg_peer *wg_peer_lookup(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN])
{
	for (struct wg_peer *p = dev->peers; p; p = p->next)
		if (!memcmp(p->public_key, pub, WG_KEY_LEN))
			return p;
	return NULL;
}

int wg_peer_create(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN], struct wg_peer **out)
{
	struct wg_peer *peer = calloc(1, sizeof(*peer));

	if (!peer)
		return -ENOMEM;
	peer->dev = dev;
	memcpy(peer->public_key, pub, WG_KEY_LEN);
	wg_cookie_peer_init(peer);
	wg_noise_precompute_static_static(peer);
	if (dev->peers_tail)
		dev->peers_tail->next = peer;
	else
		dev->peers = peer;
	dev->peers_tail = peer;
	dev->npeers++;
	*out = peer;
	return 0;
}

void wg_peer_staged_purge(struct wg_peer *peer)
{
	struct wg_staged *q = &peer->staged;

	while (q->count) {
		free(q->buf[q->head]);
		q->buf[q->head] = NULL;
		q->head = (q->head + 1) % WG_MAX_STAGED_PACKETS;
		q->count--;
	}
	q->head = 0;
}

static void peer_unlink(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct wg_peer **pp = &dev->peers, *prev = NULL;

	while (*pp && *pp != peer) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = peer->next;
	if (dev->peers_tail == peer)
		dev->peers_tail = prev;
	dev->npeers--;
}

void wg_peer_remove(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	peer_unlink(peer);
	wg_allowedips_remove_owner(&dev->aip, peer);
	wg_noise_handshake_clear(peer);
	wg_noise_keypairs_clear(peer);
	wg_peer_staged_purge(peer);
	crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

void wg_peer_remove_all(struct wg_device *dev)
{
	while (dev->peers)
		wg_peer_remove(dev->peers);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	char a[64], b[64], kb[16];

	if (peer->has_endpoint && wg_endpoint_equal(&peer->endpoint, ep))
		return;
	if (log_get_level() >= LOG_DEBUG) {
		wg_endpoint_format(&peer->endpoint, a, sizeof(a));
		wg_endpoint_format(ep, b, sizeof(b));
		log_debug("wg", "peer %s: endpoint %s -> %s", log_key(kb, peer->public_key),
			  peer->has_endpoint ? a : "(none)", b);
	}
	peer->endpoint = *ep;
	peer->has_endpoint = true;
}

int wg_peer_send_datagram(struct wg_peer *peer, const uint8_t *buf, size_t len)
{
	struct wg_device *dev = peer->dev;
	int ret;

	if (!peer->has_endpoint)
		return -EDESTADDRREQ;
	if (!dev->io || !dev->io->udp_send)
		return -ENOTCONN;
	ret = dev->io->udp_send(dev->io_ctx, &peer->endpoint, buf, len);
	if (!ret)
		peer->tx_bytes += len;
	return ret;
}
