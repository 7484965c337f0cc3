/*
 * batch: batched TUN and UDP I/O for the real device (see batch.h for the
 * model and its invariants). All buffers are allocated once in wg_batch_init.
 */
#include "wg/batch.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log/log.h"
#include "wg/messages.h"
#include "wg/wg.h"

enum {
	TX_ARENA = 256 * 1024,
	TX_MAX = 256,		 /* slots and queued datagrams */
	GSO_MAX_SEGS = 64,	 /* UDP_MAX_SEGMENTS is 64 on older kernels */
	GSO_MAX_BYTES = 65000,	 /* payload of one UDP GSO message */
	RX_MSGS = WG_BATCH_RX_MSGS,
	RX_BUF = 65536 + 64,	 /* one datagram or one UDP GRO train */
	TUN_Q = 1024,		 /* decrypted packets per flush: RX_MSGS * 64 segments */
	TUN_READ = WG_TX_HEADROOM + WG_MAX_PACKET + WG_TX_TAILROOM,
	CMSG_U16 = CMSG_SPACE(sizeof(uint16_t)),
	CMSG_INT = CMSG_SPACE(sizeof(int)),
};

void wg_batch_features_from_env(struct wg_batch_features *f)
{
	const char *off = getenv("LR_WG_DISABLE");

	f->tun_offload = !off || !strstr(off, "tun-offload");
	f->udp_gso = !off || !strstr(off, "udp-gso");
	f->udp_gro = !off || !strstr(off, "udp-gro");
	f->tun_gro = !off || !strstr(off, "tun-gro");
	f->short_slice = !off || !strstr(off, "short-slice");
	f->multiqueue = !off || !strstr(off, "multiqueue");
}

void wg_batch_set_mtu(struct wg_batch *b, unsigned mtu)
{
	size_t cap = mtu < 1280 ? 1280 : mtu, size;

	if (b->ntx || b->used || cap == b->slot_cap)
		return;
	b->gso_max = SIZE_MAX; /* learnt again for the new MTU */
	size = (WG_TX_HEADROOM + cap + WG_TX_TAILROOM + 63) & ~(size_t)63;
	b->nslots = (unsigned)(TX_ARENA / size);
	if (b->nslots > TX_MAX)
		b->nslots = TX_MAX;
	b->slot_cap = cap;
	for (unsigned i = 0; i < b->nslots; i++)
		b->slot[i] = b->arena + i * size + WG_TX_HEADROOM;
}

int wg_batch_init(struct wg_batch *b, unsigned mtu)
{
	memset(b, 0, sizeof(*b));
	b->tun_buf = malloc(TUN_READ);
	b->arena = malloc(TX_ARENA);
	b->slot = calloc(TX_MAX, sizeof(*b->slot));
	b->seg_len = calloc(TX_MAX, sizeof(*b->seg_len));
	b->tx = calloc(TX_MAX, sizeof(*b->tx));
	b->tx_msgs = calloc(TX_MAX, sizeof(*b->tx_msgs));
	b->tx_iov = calloc(TX_MAX, sizeof(*b->tx_iov));
	b->tx_cmsg = calloc(TX_MAX, CMSG_U16);
	b->rx_bufs = malloc((size_t)RX_MSGS * RX_BUF);
	b->rx_msgs = calloc(RX_MSGS, sizeof(*b->rx_msgs));
	b->rx_iov = calloc(RX_MSGS, sizeof(*b->rx_iov));
	b->rx_sa = calloc(RX_MSGS, sizeof(*b->rx_sa));
	b->rx_cmsg = calloc(RX_MSGS, CMSG_INT);
	b->tun_q = calloc(TUN_Q, sizeof(*b->tun_q));
	b->groups = calloc(TUN_Q, sizeof(*b->groups));
	b->tun_iov = calloc(TUN_Q, sizeof(*b->tun_iov));
	if (!b->tun_buf || !b->arena || !b->slot || !b->seg_len || !b->tx || !b->tx_msgs ||
	    !b->tx_iov || !b->tx_cmsg || !b->rx_bufs || !b->rx_msgs || !b->rx_iov || !b->rx_sa ||
	    !b->rx_cmsg || !b->tun_q || !b->groups || !b->tun_iov) {
		wg_batch_free(b);
		return -ENOMEM;
	}
	wg_batch_set_mtu(b, mtu);
	return 0;
}

void wg_batch_free(struct wg_batch *b)
{
	free(b->tun_buf);
	free(b->arena);
	free(b->slot);
	free(b->seg_len);
	free(b->tx);
	free(b->tx_msgs);
	free(b->tx_iov);
	free(b->tx_cmsg);
	free(b->rx_bufs);
	free(b->rx_msgs);
	free(b->rx_iov);
	free(b->rx_sa);
	free(b->rx_cmsg);
	free(b->tun_q);
	free(b->groups);
	free(b->tun_iov);
	memset(b, 0, sizeof(*b));
}

/* ---- TX ------------------------------------------------------------------- */

/* A packet too big for a slot (an MTU raised past the slot size since the
 * last resize) is sent from the read buffer itself, alone. */
static void tx_in_place(struct wg_batch *b, int udp_fd, const struct tun_vnet_hdr *h,
			uint8_t *pkt, size_t len, wg_batch_tx_fn fn, void *ctx)
{
	/* A GSO packet whose segments do not fit can only come in the second
	 * between an MTU raise and the slots following it: dropped, TCP resends. */
	if (h->gso_type != TUN_VNET_GSO_NONE || tun_csum_complete(h, pkt, len))
		return;
	fn(ctx, pkt, len);
	wg_batch_udp_flush(b, udp_fd);
}

int wg_batch_tun_read(struct wg_batch *b, int tun_fd, int udp_fd, wg_batch_tx_fn fn, void *ctx)
{
	size_t hl = b->vnet ? TUN_VNET_HDR_LEN : 0, len;
	uint8_t *pkt = b->tun_buf + WG_TX_HEADROOM;
	struct tun_vnet_hdr h = { 0 };
	ssize_t n = read(tun_fd, pkt - hl, WG_MAX_PACKET + hl);
	int k;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if ((size_t)n <= hl)
		return 1;
	if (b->vnet)
		tun_vnet_hdr_parse(&h, pkt - hl);
	len = (size_t)n - hl;
	k = tun_gso_split(&h, pkt, len, b->slot + b->used, b->seg_len, b->nslots - b->used,
			  b->slot_cap);
	if (k == -EMSGSIZE && b->used) {
		wg_batch_udp_flush(b, udp_fd);
		b->used = 0;
		k = tun_gso_split(&h, pkt, len, b->slot, b->seg_len, b->nslots, b->slot_cap);
	}
	if (k == -EMSGSIZE) {
		tx_in_place(b, udp_fd, &h, pkt, len, fn, ctx);
		return 1;
	}
	if (k < 0) {
		log_debug("wg", "dropped a TUN packet with a bad offload header (%zu bytes)", len);
		return 1;
	}
	for (int i = 0; i < k; i++)
		fn(ctx, b->slot[b->used + (unsigned)i], b->seg_len[i]);
	b->used += (unsigned)k;
	return 1;
}

void wg_batch_udp_queue(struct wg_batch *b, int udp_fd, const struct sockaddr_in6 *sa,
			socklen_t salen, const uint8_t *buf, size_t len)
{
	struct wg_batch_dgram *d;

	if (b->ntx == TX_MAX)
		wg_batch_udp_flush(b, udp_fd);
	d = &b->tx[b->ntx++];
	memcpy(&d->sa, sa, salen);
	d->salen = salen;
	d->buf = buf;
	d->len = len;
}

static bool same_dst(const struct wg_batch_dgram *a, const struct wg_batch_dgram *b)
{
	return a->salen == b->salen && !memcmp(&a->sa, &b->sa, a->salen);
}

/* Datagrams from first that can go as one GSO message: one endpoint, one size,
 * only the last one shorter. */
static unsigned gso_run(const struct wg_batch *b, unsigned first)
{
	const struct wg_batch_dgram *d = &b->tx[first];
	size_t total = d->len;
	unsigned k = 1;

	if (!b->udp_gso || d->len > b->gso_max)
		return 1;
	while (first + k < b->ntx && k < GSO_MAX_SEGS) {
		const struct wg_batch_dgram *e = &b->tx[first + k];

		if (!same_dst(d, e) || e->len > d->len || total + e->len > GSO_MAX_BYTES)
			break;
		total += e->len;
		k++;
		if (e->len < d->len)
			break;
	}
	return k;
}

/* Builds message m for datagrams [first, first + k). */
static void tx_msg(struct wg_batch *b, unsigned m, unsigned first, unsigned k)
{
	struct msghdr *mh = &b->tx_msgs[m].msg_hdr;

	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &b->tx[first].sa;
	mh->msg_namelen = b->tx[first].salen;
	mh->msg_iov = &b->tx_iov[first];
	mh->msg_iovlen = k;
	for (unsigned i = 0; i < k; i++)
		b->tx_iov[first + i] = (struct iovec){ (void *)b->tx[first + i].buf, b->tx[first + i].len };
	if (k > 1) {
		struct cmsghdr *c = (void *)(b->tx_cmsg + (size_t)m * CMSG_U16);
		uint16_t gso = (uint16_t)b->tx[first].len;

		mh->msg_control = c;
		mh->msg_controllen = CMSG_U16;
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	}
}

/* The kernel refused a GSO message: send its datagrams one by one. */
static void tx_msg_unbatched(int fd, const struct msghdr *mh)
{
	for (size_t i = 0; i < mh->msg_iovlen; i++) {
		struct msghdr one = { .msg_name = mh->msg_name,
				      .msg_namelen = mh->msg_namelen,
				      .msg_iov = &mh->msg_iov[i],
				      .msg_iovlen = 1 };

		if (sendmsg(fd, &one, MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return;
	}
}

/* The kernel refused a GSO message with err. Segments larger than the path
 * MTU (EMSGSIZE: GSO never fragments) go alone from now on, as IP fragments;
 * any other refusal switches GSO off. Either way this message's datagrams are
 * sent one by one. */
static void tx_gso_refused(struct wg_batch *b, int udp_fd, const struct msghdr *mh, int err)
{
	size_t seg = mh->msg_iov[0].iov_len;

	if (err == EMSGSIZE) {
		if (seg <= b->gso_max) {
			log_debug("wg", "UDP GSO: %zu-byte datagrams exceed the path MTU, "
					"sending them alone", seg);
			b->gso_max = seg - 1;
		}
	} else if (b->udp_gso) {
		log_info("wg", "UDP GSO refused (%s), sending datagrams one by one",
			 strerror(err));
		b->udp_gso = false;
	}
	tx_msg_unbatched(udp_fd, mh);
}

void wg_batch_udp_flush(struct wg_batch *b, int udp_fd)
{
	unsigned nmsg = 0, done = 0;

	for (unsigned i = 0; i < b->ntx;) {
		unsigned k = gso_run(b, i);

		tx_msg(b, nmsg++, i, k);
		i += k;
	}
	b->ntx = 0;
	while (done < nmsg && udp_fd >= 0) {
		int r = sendmmsg(udp_fd, b->tx_msgs + done, nmsg - done, MSG_DONTWAIT);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS)
			break; /* the socket is full: drop the rest, as a sendto would */
		if (b->tx_msgs[done].msg_hdr.msg_controllen)
			tx_gso_refused(b, udp_fd, &b->tx_msgs[done].msg_hdr, errno);
		done++; /* this endpoint failed (unreachable...): the others still go */
	}
}

/* ---- RX ------------------------------------------------------------------- */

static size_t gro_size(const struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		int v;

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

int wg_batch_udp_recv(struct wg_batch *b, int udp_fd, wg_batch_rx_fn fn, void *ctx)
{
	int n;

	for (unsigned i = 0; i < RX_MSGS; i++) {
		struct msghdr *mh = &b->rx_msgs[i].msg_hdr;

		b->rx_iov[i] = (struct iovec){ b->rx_bufs + (size_t)i * RX_BUF, RX_BUF };
		*mh = (struct msghdr){ .msg_name = &b->rx_sa[i],
				       .msg_namelen = sizeof(b->rx_sa[i]),
				       .msg_iov = &b->rx_iov[i],
				       .msg_iovlen = 1,
				       .msg_control = b->rx_cmsg + (size_t)i * CMSG_INT,
				       .msg_controllen = CMSG_INT };
	}
	n = recvmmsg(udp_fd, b->rx_msgs, RX_MSGS, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const struct msghdr *mh = &b->rx_msgs[i].msg_hdr;
		uint8_t *buf = b->rx_iov[i].iov_base;
		size_t len = b->rx_msgs[i].msg_len, seg = gro_size(mh);

		if (mh->msg_flags & MSG_TRUNC)
			continue;
		if (!seg || seg > len)
			seg = len;
		for (size_t off = 0; off < len; off += seg)
			fn(ctx, buf + off, len - off < seg ? len - off : seg, &b->rx_sa[i]);
	}
	return n;
}

void wg_batch_tun_queue(struct wg_batch *b, int tun_fd, uint8_t *pkt, size_t len)
{
	if (b->ntun == TUN_Q)
		wg_batch_tun_flush(b, tun_fd);
	b->tun_q[b->ntun++] = (struct tun_gro_pkt){ pkt, len };
}

unsigned wg_batch_tun_flush(struct wg_batch *b, int tun_fd)
{
	unsigned ng;

	if (!b->ntun)
		return 0;
	if (b->vnet && b->tun_gro) {
		ng = tun_gro_coalesce(b->tun_q, b->ntun, b->tun_uso, b->groups);
	} else {
		for (unsigned i = 0; i < b->ntun; i++)
			b->groups[i] = (struct tun_gro_group){ .first = i, .count = 1 };
		ng = b->ntun;
	}
	for (unsigned g = 0; g < ng; g++) {
		const struct tun_gro_group *gr = &b->groups[g];
		struct tun_gro_pkt *head = &b->tun_q[gr->first];
		size_t hl = b->vnet ? TUN_VNET_HDR_LEN : 0;

		/* The virtio header goes where the data message header was. */
		if (b->vnet)
			tun_vnet_hdr_write(&gr->hdr, head->data - hl);
		b->tun_iov[0] = (struct iovec){ head->data - hl, head->len + hl };
		for (unsigned j = 1; j < gr->count; j++) {
			const struct tun_gro_pkt *p = &b->tun_q[gr->first + j];

			b->tun_iov[j] = (struct iovec){ p->data + gr->hdr.hdr_len,
							p->len - gr->hdr.hdr_len };
		}
		if (writev(tun_fd, b->tun_iov, (int)gr->count) < 0 && gr->count > 1 &&
		    errno == EINVAL) {
			bool udp = gr->hdr.gso_type == TUN_VNET_GSO_UDP_L4;

			log_info("wg", "TUN refused a coalesced %s packet, writing them one by one",
				 udp ? "UDP" : "TCP");
			if (udp)
				b->tun_uso = false;
			else
				b->tun_gro = false;
		}
	}
	b->ntun = 0;
	return ng;
}
