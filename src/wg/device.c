/*
 * device: the protocol engine's top level: creation and teardown, the
 * receiver-index table, the load estimate behind cookie replies, timer
 * scheduling and the entry points for packets from UDP and from TUN.
 *
 * Invariants: every handshake and keypair in flight has a unique, random,
 * non-zero 32-bit index in the table; dev->next_deadline is never later than
 * the earliest armed peer timer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/internal.h"

static unsigned index_bucket(uint32_t index)
{
	/* Indices are random, so their low bits spread evenly. */
	return index % WG_INDEX_BUCKETS;
}

struct wg_index_entry *wg_index_lookup(struct wg_device *dev, uint32_t index)
{
	struct wg_index_entry *e;

	if (!index)
		return NULL;
	for (e = dev->index.buckets[index_bucket(index)]; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

int wg_index_insert(struct wg_device *dev, struct wg_index_entry *e, enum wg_index_type type,
		    struct wg_peer *peer)
{
	uint32_t index;
	unsigned b;

	do
		index = crypto_random_u32();
	while (!index || wg_index_lookup(dev, index));
	b = index_bucket(index);
	e->index = index;
	e->type = type;
	e->peer = peer;
	e->next = dev->index.buckets[b];
	dev->index.buckets[b] = e;
	return 0;
}

void wg_index_remove(struct wg_device *dev, struct wg_index_entry *e)
{
	struct wg_index_entry **pp;

	if (!e->index)
		return;
	for (pp = &dev->index.buckets[index_bucket(e->index)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->index = 0;
	e->next = NULL;
}

void wg_index_replace(struct wg_device *dev, struct wg_index_entry *old, struct wg_index_entry *e,
		      enum wg_index_type type)
{
	struct wg_index_entry **pp;

	*e = *old;
	e->type = type;
	for (pp = &dev->index.buckets[index_bucket(old->index)]; *pp; pp = &(*pp)->next) {
		if (*pp == old) {
			*pp = e;
			break;
		}
	}
	old->index = 0;
	old->next = NULL;
}

/* Counts this handshake message and says whether we are under load: more than
 * WG_UNDER_LOAD_HANDSHAKES_PER_SEC in the current second, sticky for a second. */
bool wg_device_under_load(struct wg_device *dev, uint64_t now)
{
	if (now - dev->load_window_start >= TIME_NS_PER_SEC) {
		dev->load_window_start = now;
		dev->load_window_count = 0;
	}
	if (++dev->load_window_count > WG_UNDER_LOAD_HANDSHAKES_PER_SEC)
		dev->under_load_until = now + WG_UNDER_LOAD_AFTER;
	return dev->force_under_load || now < dev->under_load_until;
}

void wg_device_note_deadline(struct wg_device *dev, uint64_t deadline)
{
	if (deadline < dev->next_deadline)
		dev->next_deadline = deadline;
}

int wg_device_new(struct wg_device **out, const struct wg_io_ops *io, void *io_ctx)
{
	struct wg_device *dev;
	int ret;

	ret = crypto_init();
	if (ret)
		return ret;
	wg_noise_init();
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->scratch = calloc(1, WG_TX_HEADROOM + WG_TX_TAILROOM);
	if (!dev->scratch) {
		free(dev);
		return -ENOMEM;
	}
	ret = wg_ratelimiter_init(&dev->ratelimiter);
	if (ret) {
		free(dev->scratch);
		free(dev);
		return ret;
	}
	wg_allowedips_init(&dev->aip);
	dev->io = io;
	dev->io_ctx = io_ctx;
	dev->mtu = WG_DEFAULT_MTU;
	dev->next_deadline = UINT64_MAX;
	*out = dev;
	return 0;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	wg_peer_remove_all(dev);
	wg_allowedips_free(&dev->aip);
	wg_ratelimiter_free(&dev->ratelimiter);
	free(dev->scratch);
	crypto_wipe(dev, sizeof(*dev));
	free(dev);
}

void wg_device_set_rx_hook(struct wg_device *dev, wg_rx_hook hook, void *ctx)
{
	dev->rx_hook = hook;
	dev->rx_hook_ctx = ctx;
}

void wg_device_set_mtu(struct wg_device *dev, unsigned mtu)
{
	if (mtu >= 576 && mtu <= WG_MAX_PACKET)
		dev->mtu = mtu;
}

void wg_device_force_under_load(struct wg_device *dev, bool on)
{
	dev->force_under_load = on;
}

void wg_device_rx(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *src)
{
	wg_receive(dev, buf, len, src);
}

void wg_device_tx_packet(struct wg_device *dev, uint8_t *pkt, size_t len)
{
	struct wg_peer *peer;

	if (len >= 20 && pkt[0] >> 4 == 4)
		peer = wg_allowedips_lookup(&dev->aip, AF_INET, pkt + 16);
	else if (len >= 40 && pkt[0] >> 4 == 6)
		peer = wg_allowedips_lookup(&dev->aip, AF_INET6, pkt + 24);
	else
		return;
	if (!peer || !peer->has_endpoint || !dev->has_identity)
		return;
	wg_send_packet(peer, pkt, len, true);
}

uint64_t wg_device_tick(struct wg_device *dev)
{
	uint64_t now = time_mono_ns(), next = UINT64_MAX, d;

	if (now < dev->next_deadline)
		return dev->next_deadline;
	for (struct wg_peer *p = dev->peers; p; p = p->next) {
		d = wg_timers_run(p, now);
		if (d < next)
			next = d;
	}
	dev->next_deadline = next;
	return next;
}

int wg_device_send_raw(struct wg_device *dev, const struct wg_endpoint *dst, const uint8_t *buf,
		       size_t len)
{
	if (!dev->io || !dev->io->udp_send)
		return -ENOTCONN;
	return dev->io->udp_send(dev->io_ctx, dst, buf, len);
}
