/* rxq: see rxq.h. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nat/rxq.h"

int rxq_open(struct rxq *q)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, q->fd)) {
		q->fd[0] = q->fd[1] = -1;
		return -errno;
	}
	return 0;
}

void rxq_close(struct rxq *q)
{
	for (int i = 0; i < 2; i++) {
		if (q->fd[i] >= 0)
			close(q->fd[i]);
		q->fd[i] = -1;
	}
}

/* Runs on the loop thread for every non-WireGuard datagram. */
void rxq_hook(void *ctx, const uint8_t *buf, size_t len, const struct wg_endpoint *src)
{
	struct rxq *q = ctx;
	struct iovec iov[2] = {
		{ .iov_base = (void *)src, .iov_len = sizeof(*src) },
		{ .iov_base = (void *)buf, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	/* Full queue: drop, as the network would; the consumers' protocols
	 * (STUN, probes) retransmit. */
	(void)sendmsg(q->fd[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t rxq_read(struct rxq *q, uint8_t *buf, size_t cap, struct wg_endpoint *src)
{
	struct iovec iov[2] = {
		{ .iov_base = src, .iov_len = sizeof(*src) },
		{ .iov_base = buf, .iov_len = cap },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t r = recvmsg(q->fd[1], &mh, MSG_DONTWAIT);

	if (r < 0)
		return -errno;
	if ((size_t)r < sizeof(*src))
		return -EAGAIN;
	wg_endpoint_unmap(src);
	return r - (ssize_t)sizeof(*src);
}
