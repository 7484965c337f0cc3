/*
 * netcheck_io: the two transports netcheck runs over.
 *
 * The socket transport is one dual-stack UDP socket (IPv4 as v4-mapped) with
 * IP_RECVERR/IPV6_RECVERR, so an ICMP "port unreachable" from a server that is
 * down ends its probe at once with a clear error instead of a timeout.
 *
 * The WireGuard transport borrows the device's socket: requests go out with
 * wg_loop_send_raw, and the loop thread's receive hook queues each non-WireGuard
 * datagram in an rxq (nat/rxq.h) that the checking thread polls; a slow checker
 * loses datagrams rather than blocking the data plane.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log/log.h"
#include "nat/netcheck.h"
#include "nat/rxq.h"

static int sock_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct netcheck_socket *s = ctx;
	struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
	const struct sockaddr *sa = &dst->sa;
	socklen_t salen = wg_endpoint_socklen(dst);

	if (s->v6 && dst->sa.sa_family == AF_INET) {
		m.sin6_port = dst->in4.sin_port;
		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &dst->in4.sin_addr, 4);
		sa = (const struct sockaddr *)&m;
		salen = sizeof(m);
	} else if (!s->v6 && dst->sa.sa_family != AF_INET) {
		return -EAFNOSUPPORT;
	}
	if (sendto(s->fd, buf, len, MSG_DONTWAIT, sa, salen) < 0)
		return -errno;
	return 0;
}

/* Reads one queued ICMP error: returns its negative errno with *src = where our
 * datagram was going. */
static ssize_t sock_errqueue(struct netcheck_socket *s, struct wg_endpoint *src)
{
	char cbuf[512];
	uint8_t dummy[64];
	struct iovec iov = { .iov_base = dummy, .iov_len = sizeof(dummy) };
	struct msghdr mh = { .msg_name = src, .msg_namelen = sizeof(*src), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	if (recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -EAGAIN;
	wg_endpoint_unmap(src);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		const struct sock_extended_err *ee = (const void *)CMSG_DATA(c);

		if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
			return ee->ee_errno ? -(ssize_t)ee->ee_errno : -EIO;
	}
	return -EIO;
}

static ssize_t sock_recv(void *ctx, uint8_t *buf, size_t cap, struct wg_endpoint *src)
{
	struct netcheck_socket *s = ctx;
	socklen_t sl = sizeof(*src);
	ssize_t r;

	r = recvfrom(s->fd, buf, cap, MSG_DONTWAIT, &src->sa, &sl);
	if (r >= 0) {
		wg_endpoint_unmap(src);
		return r;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return sock_errqueue(s, src);
	/* A pending ICMP error surfaces as recvfrom's errno; fetch whom it was for. */
	return sock_errqueue(s, src);
}

int netcheck_socket_open(struct netcheck_socket *s, uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct wg_endpoint bound;
	socklen_t bl = sizeof(bound);
	int one = 1, zero = 0, ret;

	memset(s, 0, sizeof(*s));
	s->v6 = true;
	s->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		/* IPv6 disabled on this host: IPv4 only. */
		s->v6 = false;
		s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (s->fd < 0)
		return -errno;
	if (s->v6) {
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	}
	setsockopt(s->fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	if ((s->v6 ? bind(s->fd, (struct sockaddr *)&a6, sizeof(a6)) :
		     bind(s->fd, (struct sockaddr *)&a4, sizeof(a4))) ||
	    getsockname(s->fd, &bound.sa, &bl)) {
		ret = -errno;
		log_error("netcheck", "cannot bind UDP port %u: %s", port, strerror(-ret));
		close(s->fd);
		s->fd = -1;
		return ret;
	}
	s->io = (struct netcheck_io){
		.ctx = s,
		.fd = s->fd,
		.local_port = ntohs(s->v6 ? bound.in6.sin6_port : bound.in4.sin_port),
		.send = sock_send,
		.recv = sock_recv,
	};
	return 0;
}

void netcheck_socket_close(struct netcheck_socket *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int wg_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct netcheck_wg *w = ctx;

	return wg_loop_send_raw(w->loop, dst, buf, len);
}

static ssize_t wg_recv(void *ctx, uint8_t *buf, size_t cap, struct wg_endpoint *src)
{
	struct netcheck_wg *w = ctx;

	return rxq_read(&w->rxq, buf, cap, src);
}

int netcheck_wg_open(struct netcheck_wg *w, struct wg_loop *loop, uint16_t listen_port)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->loop = loop;
	ret = rxq_open(&w->rxq);
	if (ret)
		return ret;
	w->io = (struct netcheck_io){
		.ctx = w,
		.fd = rxq_fd(&w->rxq),
		.local_port = listen_port,
		.send = wg_send,
		.recv = wg_recv,
	};
	wg_loop_set_rx_hook(loop, rxq_hook, &w->rxq);
	return 0;
}

void netcheck_wg_close(struct netcheck_wg *w)
{
	wg_loop_set_rx_hook(w->loop, NULL, NULL);
	rxq_close(&w->rxq);
}
