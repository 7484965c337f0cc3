/*
 * config: applies a parsed UAPI set request to the device and renders the get
 * reply. Semantics follow wireguard-go and the kernel: an all-zero private or
 * preshared key clears it, port 0 picks a free port, a peer whose key is our
 * own public key is ignored, turning on persistent keepalive sends one now.
 *
 * Invariant: the only step that can fail on valid input (binding the port) runs
 * first, so a refused request has changed nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "util/strbuf.h"
#include "wg/internal.h"
#include "wg/uapi.h"

static int apply_port(struct wg_device *dev, const struct wg_uapi_config *cfg)
{
	uint16_t bound = cfg->listen_port;
	int ret;

	if (!cfg->has_listen_port)
		return 0;
	if (dev->io && dev->io->bind_port) {
		ret = dev->io->bind_port(dev->io_ctx, cfg->listen_port, &bound);
		if (ret) {
			log_error("uapi", "cannot bind UDP port %u: %s", cfg->listen_port,
				  strerror(-ret));
			return ret;
		}
	}
	dev->listen_port = bound;
	return 0;
}

static void apply_private_key(struct wg_device *dev, const uint8_t key[32])
{
	struct wg_peer *p;

	if (dev->has_identity && !memcmp(dev->static_private, key, 32))
		return;
	wg_noise_set_private_key(dev, key);
	/* A peer cannot be ourselves. */
	if (dev->has_identity && (p = wg_peer_lookup(dev, dev->static_public)))
		wg_peer_remove(p);
}

static int apply_aips(struct wg_peer *peer, const struct wg_uapi_peer *up)
{
	struct wg_device *dev = peer->dev;
	int ret;

	if (up->replace_allowed_ips)
		wg_allowedips_remove_owner(&dev->aip, peer);
	for (size_t i = 0; i < up->naips; i++) {
		const struct wg_uapi_aip *a = &up->aips[i];

		if (a->remove) {
			wg_allowedips_remove(&dev->aip, a->family, a->addr, a->cidr, peer);
			continue;
		}
		ret = wg_allowedips_insert(&dev->aip, a->family, a->addr, a->cidr, peer);
		if (ret)
			return ret;
	}
	return 0;
}

static int apply_peer(struct wg_device *dev, const struct wg_uapi_peer *up)
{
	struct wg_peer *peer = wg_peer_lookup(dev, up->public_key);
	bool keepalive_was_off;
	int ret;

	if (dev->has_identity && !memcmp(up->public_key, dev->static_public, 32))
		return 0;
	if (up->remove) {
		if (peer)
			wg_peer_remove(peer);
		return 0;
	}
	if (!peer) {
		if (up->update_only)
			return 0;
		ret = wg_peer_create(dev, up->public_key, &peer);
		if (ret)
			return ret;
	}
	if (up->has_psk)
		memcpy(peer->preshared_key, up->psk, 32);
	if (up->has_endpoint)
		wg_peer_set_endpoint(peer, &up->endpoint);
	keepalive_was_off = !peer->persistent_keepalive;
	if (up->has_keepalive)
		peer->persistent_keepalive = up->keepalive;
	ret = apply_aips(peer, up);
	if (ret)
		return ret;
	if (up->has_keepalive && up->keepalive && keepalive_was_off && dev->has_identity)
		wg_send_keepalive(peer);
	return 0;
}

int wg_uapi_apply(struct wg_device *dev, const struct wg_uapi_config *cfg)
{
	int ret = apply_port(dev, cfg);

	if (ret)
		return ret;
	if (cfg->has_fwmark) {
		if (dev->io && dev->io->set_fwmark && cfg->fwmark != dev->fwmark)
			dev->io->set_fwmark(dev->io_ctx, cfg->fwmark);
		dev->fwmark = cfg->fwmark;
	}
	if (cfg->has_private_key)
		apply_private_key(dev, cfg->private_key);
	if (cfg->replace_peers)
		wg_peer_remove_all(dev);
	for (size_t i = 0; i < cfg->npeers; i++) {
		ret = apply_peer(dev, &cfg->peers[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void put_hex(struct strbuf *sb, const char *key, const uint8_t v[32])
{
	char hex[65];

	for (int i = 0; i < 32; i++) {
		hex[2 * i] = "0123456789abcdef"[v[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[v[i] & 0xf];
	}
	hex[64] = '\0';
	strbuf_printf(sb, "%s=%s\n", key, hex);
	crypto_wipe(hex, sizeof(hex));
}

static void put_aip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	strbuf_printf(ctx, "allowed_ip=%s/%u\n", a, cidr);
}

static void put_peer(struct strbuf *sb, struct wg_peer *p)
{
	char ep[80];

	put_hex(sb, "public_key", p->public_key);
	put_hex(sb, "preshared_key", p->preshared_key);
	strbuf_printf(sb, "protocol_version=1\n");
	if (p->has_endpoint) {
		wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
		strbuf_printf(sb, "endpoint=%s\n", ep);
	}
	strbuf_printf(sb,
		      "last_handshake_time_sec=%" PRIu64 "\nlast_handshake_time_nsec=%" PRIu32
		      "\ntx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64
		      "\npersistent_keepalive_interval=%u\n",
		      p->last_handshake_sec, p->last_handshake_nsec, p->tx_bytes, p->rx_bytes,
		      p->persistent_keepalive);
	/* Ours, not in the UAPI spec: `wg` skips keys it does not know
	 * (wireguard-tools src/ipc-uapi.h), net_uapi reads them. */
	strbuf_printf(sb,
		      "tx_packets=%" PRIu64 "\nrx_packets=%" PRIu64 "\nhandshakes=%" PRIu64 "\n",
		      p->tx_packets, p->rx_packets, p->handshakes);
	wg_allowedips_walk_owner(&p->dev->aip, p, put_aip, sb);
}

char *wg_uapi_get(struct wg_device *dev)
{
	struct strbuf sb;

	strbuf_init(&sb);
	if (dev->has_identity)
		put_hex(&sb, "private_key", dev->static_private);
	if (dev->listen_port)
		strbuf_printf(&sb, "listen_port=%u\n", dev->listen_port);
	if (dev->fwmark)
		strbuf_printf(&sb, "fwmark=%" PRIu32 "\n", dev->fwmark);
	for (struct wg_peer *p = dev->peers; p; p = p->next)
		put_peer(&sb, p);
	strbuf_printf(&sb, "%s", "");
	return strbuf_take(&sb);
}
