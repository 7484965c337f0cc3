/*
 * rxq: the queue between the WireGuard device's receive hook and the thread
 * that consumes the non-WireGuard datagrams it hands over (netcheck over the
 * device; conn's probes and STUN answers).
 *
 * An AF_UNIX datagram socketpair: the hook (on the loop thread) writes one
 * message per datagram, the source endpoint then the bytes; the consumer
 * reads them with rxq_read when rxq_fd is readable (poll or epoll). The pair
 * keeps message boundaries and needs no lock. Its capacity is the socket's
 * buffer: when the consumer is slow, further datagrams are dropped, as the
 * network would drop them, so the data plane never blocks on the consumer.
 */
#ifndef LR_NAT_RXQ_H
#define LR_NAT_RXQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wg/wg.h"

struct rxq {
	int fd[2]; /* [0] written by the hook, [1] read by the consumer; -1 when closed */
};

/* 0 or -errno (both fds then -1). */
int rxq_open(struct rxq *q);
/* Closes what is open and marks both ends -1; safe on a closed queue. Remove
 * the hook (wg_loop_set_rx_hook / net_set_rx_hook with NULL) first. */
void rxq_close(struct rxq *q);

/* A wg_rx_hook: ctx is the struct rxq. Never blocks; a full queue drops. */
void rxq_hook(void *ctx, const uint8_t *buf, size_t len, const struct wg_endpoint *src);

/* The next datagram (cut to cap) and its source, v4-mapped addresses as IPv4.
 * Returns its length, -EAGAIN when nothing is waiting, or another -errno. */
ssize_t rxq_read(struct rxq *q, uint8_t *buf, size_t cap, struct wg_endpoint *src);

/* Readable when rxq_read has something. */
static inline int rxq_fd(const struct rxq *q)
{
	return q->fd[1];
}

#endif
