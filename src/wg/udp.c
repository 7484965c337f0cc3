/*
 * udp: the device's socket or SO_REUSEPORT group (see udp.h for the model).
 */
#include "wg/udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static int udp_socket(int *family)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	*family = AF_INET6;
	if (fd < 0) {
		/* IPv6 disabled on this host: IPv4 only. */
		*family = AF_INET;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	return fd < 0 ? -errno : fd;
}

static int udp_bind(int fd, int family, uint16_t port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int ret;

	if (family == AF_INET6)
		ret = bind(fd, (struct sockaddr *)&sa6, sizeof(sa6));
	else
		ret = bind(fd, (struct sockaddr *)&sa4, sizeof(sa4));
	return ret < 0 ? -errno : 0;
}

/* One member: options first (SO_REUSEPORT must precede bind), then bind.
 * *gro: in, whether to ask for UDP GRO; out, whether the socket has it. */
static int udp_member(uint16_t port, uint32_t fwmark, bool reuse, bool *gro, int *family)
{
	int off = 0, on = 1, buf = 4 << 20, ret;
	int fd = udp_socket(family);

	if (fd < 0)
		return fd;
	if (*family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (fwmark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark));
	/* Fails on kernels before 5.0: the socket then gets one datagram at a time. */
	if (*gro)
		*gro = !setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = udp_bind(fd, *family, port);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int wg_udp_dont_fragment(const struct wg_udp_set *s, bool on)
{
	int v4 = on ? IP_PMTUDISC_PROBE : IP_PMTUDISC_WANT;
	int v6 = on ? IPV6_PMTUDISC_PROBE : IPV6_PMTUDISC_WANT;

	for (unsigned i = 0; i < s->n; i++) {
		/* IPv4 and v4-mapped destinations follow the IP option, even on
		 * the dual-stack socket */
		if (setsockopt(s->fd[i], IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4)) < 0)
			return -errno;
		if (s->family == AF_INET6 &&
		    setsockopt(s->fd[i], IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6)) < 0)
			return -errno;
	}
	return 0;
}

uint16_t wg_udp_port(int fd)
{
	struct sockaddr_in6 sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin6_port); /* same offset in sockaddr_in */
}

/* A port nobody holds: port itself if a plain socket can bind it (then
 * released), or the one the kernel picks for port 0. */
static int udp_free_port(uint16_t port, uint32_t fwmark)
{
	bool gro = false;
	int family, fd = udp_member(port, fwmark, false, &gro, &family), got;

	if (fd < 0)
		return fd;
	got = wg_udp_port(fd);
	close(fd);
	return got ? got : -EADDRNOTAVAIL;
}

/* member = receiving CPU % n */
static int udp_steer_by_cpu(int fd, unsigned n)
{
	struct sock_filter code[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU) },
		{ BPF_ALU | BPF_MOD | BPF_K, 0, 0, n },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

int wg_udp_open(struct wg_udp_set *s, uint16_t port, uint32_t fwmark, unsigned n, bool gro)
{
	struct wg_udp_set t = { .n = 0, .gro = gro };
	int ret = 0;

	if (n < 1 || n > WG_UDP_MAX)
		return -EINVAL;
	if (n > 1) {
		ret = udp_free_port(port, fwmark);
		if (ret < 0)
			return ret;
		port = (uint16_t)ret;
		ret = 0;
	}
	while (t.n < n) {
		bool g = gro;
		int fd = udp_member(port, fwmark, n > 1, &g, &t.family);

		if (fd < 0) {
			ret = fd;
			break;
		}
		t.fd[t.n++] = fd;
		t.gro = t.gro && g;
	}
	if (!ret && n > 1)
		ret = udp_steer_by_cpu(t.fd[0], n);
	if (ret) {
		wg_udp_close(&t);
		return ret;
	}
	*s = t;
	return 0;
}

void wg_udp_close(struct wg_udp_set *s)
{
	for (unsigned i = 0; i < s->n; i++)
		close(s->fd[i]);
	s->n = 0;
}
