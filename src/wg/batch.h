/*
 * batch: the real device's batched I/O (private to the wg layer; used by
 * loop.c). TX: each TUN read (a TSO super-packet when TUN offloads are on) is
 * split into IP packets in the slots of one arena, which the engine encrypts
 * in place and queues; a flush sends the queue with one sendmmsg, runs of
 * same-size datagrams to one endpoint as one UDP GSO message. RX: one
 * recvmmsg fills several buffers, UDP GRO buffers are cut at their segment
 * size, decrypted packets are queued and a flush writes them to TUN, in-order
 * TCP segments of one flow coalesced into one GSO write.
 *
 * Invariants: a queued datagram's or packet's bytes stay untouched until the
 * next flush; TX slots are reused only after a flush that wg_batch_tun_read
 * itself made; nothing here allocates after wg_batch_init. An offload the
 * kernel refuses at run time is switched off once, with one log line, and the
 * data goes the plain way.
 */
#ifndef LR_WG_BATCH_H
#define LR_WG_BATCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tun/offload.h"

struct wg_batch_dgram {
	struct sockaddr_in6 sa;
	socklen_t salen;
	const uint8_t *buf;
	size_t len;
};

struct wg_batch {
	bool vnet;    /* TUN reads and writes start with a virtio_net_hdr */
	bool udp_gso; /* send runs with UDP_SEGMENT */
	size_t gso_max; /* larger datagrams go alone: they need IP fragments */
	bool udp_gro; /* the socket has UDP_GRO on */
	bool tun_gro; /* coalesce TCP segments written to TUN */
	bool tun_uso; /* and UDP datagrams (the kernel took TUN_F_USO4/6) */
	/* TX */
	uint8_t *tun_buf; /* one TUN read; the packet starts at tun_buf + WG_TX_HEADROOM */
	uint8_t *arena;
	uint8_t **slot;	  /* nslots packet starts in arena, WG_TX_HEADROOM into each slot */
	size_t *seg_len;  /* lengths from the last split */
	size_t slot_cap;  /* largest packet a slot holds */
	unsigned nslots, used;
	struct wg_batch_dgram *tx;
	unsigned ntx;
	struct mmsghdr *tx_msgs;
	struct iovec *tx_iov;
	uint8_t *tx_cmsg; /* one UDP_SEGMENT control message per mmsghdr */
	/* RX */
	uint8_t *rx_bufs;
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	struct sockaddr_in6 *rx_sa;
	uint8_t *rx_cmsg;
	struct tun_gro_pkt *tun_q;
	unsigned ntun;
	struct tun_gro_group *groups;
	struct iovec *tun_iov;
};

/* Feature switches, from the environment LR_WG_DISABLE (a comma-separated list
 * of tun-offload, udp-gso, udp-gro, tun-gro, short-slice, multiqueue) for tests and
 * comparisons. */
struct wg_batch_features {
	bool tun_offload, udp_gso, udp_gro, tun_gro, short_slice, multiqueue;
};

void wg_batch_features_from_env(struct wg_batch_features *f);
int wg_batch_init(struct wg_batch *b, unsigned mtu);
void wg_batch_free(struct wg_batch *b);
/* Resizes the TX slots for a new MTU (only while nothing is queued). */
void wg_batch_set_mtu(struct wg_batch *b, unsigned mtu);

typedef void (*wg_batch_tx_fn)(void *ctx, uint8_t *pkt, size_t len);
typedef void (*wg_batch_rx_fn)(void *ctx, uint8_t *buf, size_t len, const struct sockaddr_in6 *sa);

/* Reads one packet from TUN and hands each IP packet in it to fn (in a slot,
 * with WG_TX_HEADROOM/WG_TX_TAILROOM around it), flushing to udp_fd when the
 * slots run out. Returns 1 after a read, 0 when TUN has nothing, or a negative
 * errno when TUN failed. */
int wg_batch_tun_read(struct wg_batch *b, int tun_fd, int udp_fd, wg_batch_tx_fn fn, void *ctx);
/* Queues one datagram (buf stays valid until the next flush). */
void wg_batch_udp_queue(struct wg_batch *b, int udp_fd, const struct sockaddr_in6 *sa,
			socklen_t salen, const uint8_t *buf, size_t len);
/* Sends what is queued. Datagrams the socket refuses are dropped, as UDP would. */
void wg_batch_udp_flush(struct wg_batch *b, int udp_fd);
/* Datagrams (or GRO trains) one wg_batch_udp_recv takes at most. */
#define WG_BATCH_RX_MSGS 16

/* Receives one batch from udp_fd and hands each datagram to fn. Returns the
 * number of messages received (0 when there was nothing); fewer than
 * WG_BATCH_RX_MSGS means the socket was drained. */
int wg_batch_udp_recv(struct wg_batch *b, int udp_fd, wg_batch_rx_fn fn, void *ctx);
/* Queues one decrypted packet for TUN (see wg_io_ops.tun_write for where it lies). */
void wg_batch_tun_queue(struct wg_batch *b, int tun_fd, uint8_t *pkt, size_t len);
/* Writes what is queued; returns the number of writes made. */
unsigned wg_batch_tun_flush(struct wg_batch *b, int tun_fd);

#endif
