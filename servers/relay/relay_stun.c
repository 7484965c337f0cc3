/*
 * relay_stun: STUN sockets of lanrage-relay (see relay_stun.h). Anything that
 * is not a well-formed STUN request gets no answer (stun_server_answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nat/stun.h"
#include "relay_opts.h"
#include "relay_stun.h"
#include "util/time.h"

#define RELAY_SOFTWARE "lanrage-relay " LANRAGE_VERSION

static int open_socket(struct relay_stun *s, unsigned ip, unsigned port, int epfd, uint32_t tag)
{
	struct wg_endpoint *ep = &s->topo.sock[ip][port];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag | ip << 1 | port };
	char name[64];
	int fd, zero = 0;

	wg_endpoint_format(ep, name, sizeof(name));
	fd = socket(ep->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err;
	if (ep->sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, &ep->sa, wg_endpoint_socklen(ep)) || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
		goto err;
	s->fd[ip][port] = fd;
	return 0;
err:
	/* The alternate-port sockets (RFC 5780) have their own option. */
	relay_opts_listen_failed("for STUN", name, errno,
				 port ? "--stun-alt-port PORT" : "--stun ADDR[:PORT], or --no-stun");
	if (fd >= 0)
		close(fd);
	return -1;
}

static bool is_wildcard(const struct wg_endpoint *a)
{
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
	return a->sa.sa_family == AF_INET && a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
}

int relay_stun_open(struct relay_stun *s, const struct wg_endpoint *addrs, size_t n,
		    uint64_t alt_port, int epfd, uint32_t tag)
{
	uint16_t p = wg_endpoint_port(&addrs[0]);
	unsigned ip, port;

	memset(s, 0, sizeof(*s));
	memset(s->fd, -1, sizeof(s->fd));
	s->topo.software = RELAY_SOFTWARE;
	s->topo.sock[0][0] = addrs[0];
	s->topo.wildcard = n == 1 && is_wildcard(&addrs[0]);
	if (n == 2) {
		if (addrs[0].sa.sa_family != addrs[1].sa.sa_family ||
		    wg_endpoint_port(&addrs[1]) != p) {
			fprintf(stderr, "lanrage-relay: the two --stun addresses need one family "
					"and one port\n");
			return -1;
		}
		s->topo.rfc5780 = true;
		s->topo.sock[1][0] = addrs[1];
		for (ip = 0; ip < 2; ip++) {
			s->topo.sock[ip][1] = addrs[ip];
			wg_endpoint_set_port(&s->topo.sock[ip][1],
					     (uint16_t)(alt_port ? alt_port : p + 1U));
		}
	}
	for (ip = 0; ip < 2; ip++)
		for (port = 0; port < 2; port++)
			if ((ip == 0 && port == 0) || s->topo.rfc5780)
				if (open_socket(s, ip, port, epfd, tag))
					return -1;
	return 0;
}

void relay_stun_serve(struct relay_stun *s, unsigned ip, unsigned port, struct relay_core *core)
{
	uint8_t in[1500], out[STUN_MAX_MSG];
	struct wg_endpoint src;
	struct stun_server_reply reply;
	socklen_t sl = sizeof(src);
	ssize_t n;
	int fd;

	n = recvfrom(s->fd[ip][port], in, sizeof(in), 0, &src.sa, &sl);
	if (n < 0)
		return;
	s->requests++;
	if (!relay_core_stun_allow(core, &src, time_mono_ns()))
		return;
	if (stun_server_answer(&s->topo, ip, port, in, (size_t)n, &src, out, sizeof(out),
			       &reply) ||
	    !reply.len)
		return;
	fd = s->fd[reply.ip][reply.port];
	if (fd < 0 || sendto(fd, out, reply.len, MSG_DONTWAIT, &src.sa, sl) < 0) {
		s->errors++;
		return;
	}
	s->answers++;
}

void relay_stun_close(struct relay_stun *s)
{
	for (unsigned ip = 0; ip < 2; ip++)
		for (unsigned port = 0; port < 2; port++)
			if (s->fd[ip][port] >= 0)
				close(s->fd[ip][port]);
	memset(s->fd, -1, sizeof(s->fd));
}
