/*
 * loop: the real device. One thread waits in epoll on the TUN fd, one
 * dual-stack UDP socket, the UAPI socket and its connections, and a stop
 * eventfd; it runs the protocol engine (device.c) for each packet and its
 * timers when due. Datagrams that are not WireGuard go to the receive hook.
 * Packet I/O is batched (batch.c): TUN with TSO/GRO offloads when the kernel
 * grants them, UDP with sendmmsg/recvmmsg and GSO/GRO. A packet is read,
 * encrypted and sent by this one thread, so a lone packet (a game's) waits
 * for nothing but its own syscalls.
 *
 * Invariants: the engine is only touched with loop->lock held (the loop holds
 * it while it works, other threads take it in wg_loop_uapi / send_raw); IPv4
 * endpoints are stored as AF_INET even though the socket is AF_INET6.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log/log.h"
#include "tun/tun.h"
#include "util/time.h"
#include "wg/batch.h"
#include "wg/internal.h"
#include "wg/uapi_server.h"

enum { LOOP_BATCH = 64 };

struct wg_loop {
	pthread_mutex_t lock; /* guards dev and udp_fd */
	struct wg_device *dev;
	char ifname[IFNAMSIZ];
	int tun_fd, udp_fd, udp_family, epoll_fd, stop_fd;
	struct wg_uapi_server uapi;
	bool uapi_enabled;
	uint64_t next_housekeeping;
	struct wg_batch_features features;
	struct wg_batch batch; /* queues are empty whenever lock is free */
};

static const struct wg_io_ops loop_io_ops;

static void to_socket_addr(const struct wg_loop *loop, const struct wg_endpoint *ep,
			   struct sockaddr_in6 *out, socklen_t *len)
{
	if (loop->udp_family == AF_INET6 && ep->sa.sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->sin6_family = AF_INET6;
		out->sin6_port = ep->in4.sin_port;
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &ep->in4.sin_addr, 4);
		*len = sizeof(*out);
		return;
	}
	memcpy(out, ep, sizeof(*out));
	*len = ep->sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(*out);
}

static void from_socket_addr(const struct sockaddr_in6 *in, struct wg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (in->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in->sin6_addr)) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = in->sin6_port;
		memcpy(&ep->in4.sin_addr, &in->sin6_addr.s6_addr[12], 4);
	} else {
		memcpy(ep, in, in->sin6_family == AF_INET ? sizeof(struct sockaddr_in)
							  : sizeof(*in));
	}
}

/* The socket address for dst, or why dst cannot be reached from our socket. */
static int loop_dst(const struct wg_loop *loop, const struct wg_endpoint *dst,
		    struct sockaddr_in6 *sa, socklen_t *salen)
{
	if (loop->udp_fd < 0)
		return -ENOTCONN;
	if (loop->udp_family == AF_INET && dst->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	to_socket_addr(loop, dst, sa, salen);
	return 0;
}

static int loop_udp_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wg_loop *loop = ctx;
	struct sockaddr_in6 sa;
	socklen_t salen;
	int ret = loop_dst(loop, dst, &sa, &salen);

	if (ret)
		return ret;
	/* Queued data first: a packet never overtakes one handed to us earlier. */
	if (loop->batch.ntx)
		wg_batch_udp_flush(&loop->batch, loop->udp_fd);
	if (sendto(loop->udp_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, salen) < 0)
		return -errno;
	return 0;
}

static int loop_udp_queue(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf,
			  size_t len)
{
	struct wg_loop *loop = ctx;
	struct sockaddr_in6 sa;
	socklen_t salen;
	int ret = loop_dst(loop, dst, &sa, &salen);

	if (ret)
		return ret;
	wg_batch_udp_queue(&loop->batch, loop->udp_fd, &sa, salen, buf, len);
	return 0;
}

/* pkt lies in a receive buffer, which stays untouched until the flush that
 * ends loop_udp_readable. */
static int loop_tun_write(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wg_loop *loop = ctx;

	wg_batch_tun_queue(&loop->batch, loop->tun_fd, (uint8_t *)pkt, len);
	return 0;
}

/* *gro: in, whether to ask for UDP GRO; out, whether the socket has it. */
static int udp_open(uint16_t port, uint32_t fwmark, int *family, bool *gro)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, off = 0, buf = 4 << 20, ret;

	*family = AF_INET6;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		/* IPv6 disabled on this host: IPv4 only. */
		*family = AF_INET;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
	}
	if (*family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (fwmark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark));
	if (*gro) {
		int on = 1;

		/* Fails on kernels before 5.0: the socket then gets one datagram at a time. */
		*gro = !setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	}
	if (*family == AF_INET6)
		ret = bind(fd, (struct sockaddr *)&sa6, sizeof(sa6));
	else
		ret = bind(fd, (struct sockaddr *)&sa4, sizeof(sa4));
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static uint16_t udp_port(int fd)
{
	struct sockaddr_in6 sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin6_port); /* same offset in sockaddr_in */
}

static int loop_bind_port(void *ctx, uint16_t port, uint16_t *bound)
{
	struct wg_loop *loop = ctx;
	bool gro = loop->features.udp_gro;
	int fd, family;

	/* Rebinding to the port we have (or to "any" when we have one) changes nothing. */
	if (loop->udp_fd >= 0 && (port == 0 || port == udp_port(loop->udp_fd))) {
		*bound = udp_port(loop->udp_fd);
		return 0;
	}
	fd = udp_open(port, loop->dev ? loop->dev->fwmark : 0, &family, &gro);
	if (fd < 0)
		return fd;
	loop->batch.udp_gro = gro;
	if (loop->udp_fd >= 0) {
		epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, loop->udp_fd, NULL);
		close(loop->udp_fd);
	}
	loop->udp_fd = fd;
	loop->udp_family = family;
	if (loop->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
	*bound = udp_port(fd);
	return 0;
}

static int loop_set_fwmark(void *ctx, uint32_t mark)
{
	struct wg_loop *loop = ctx;

	if (loop->udp_fd >= 0 &&
	    setsockopt(loop->udp_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	return 0;
}

static const struct wg_io_ops loop_io_ops = {
	.udp_send = loop_udp_send,
	.tun_write = loop_tun_write,
	.bind_port = loop_bind_port,
	.set_fwmark = loop_set_fwmark,
};

static int epoll_add(struct wg_loop *loop, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int loop_open_fds(struct wg_loop *loop, const struct wg_loop_config *cfg)
{
	char path[108];
	uint16_t port;
	int ret;

	unsigned offloads = 0;

	/* An fd opened by someone else comes as it is: plain packets, no header. */
	if (cfg->tun_fd >= 0)
		loop->tun_fd = cfg->tun_fd;
	else
		loop->tun_fd = tun_open(cfg->ifname, loop->ifname, loop->features.tun_offload,
					&offloads);
	if (loop->tun_fd < 0)
		return loop->tun_fd;
	loop->batch.vnet = offloads & TUN_OFFLOAD_VNET;
	loop->batch.tun_gro = loop->batch.vnet && loop->features.tun_gro;
	loop->batch.tun_uso =
		loop->batch.tun_gro && (offloads & TUN_OFFLOAD_USO) == TUN_OFFLOAD_USO;
	loop->batch.udp_gso = loop->features.udp_gso;
	log_debug("wg", "TUN offloads 0x%x, UDP GSO %s, TCP GRO to TUN %s", offloads,
		  loop->batch.udp_gso ? "on" : "off", loop->batch.tun_gro ? "on" : "off");
	if (cfg->tun_fd >= 0)
		snprintf(loop->ifname, sizeof(loop->ifname), "%s", cfg->ifname);
	else
		tun_set_mtu(loop->ifname, WG_DEFAULT_MTU);
	ret = loop_bind_port(loop, 0, &port);
	if (ret) {
		log_error("wg", "cannot open the UDP socket: %s", strerror(-ret));
		return ret;
	}
	loop->dev->listen_port = port;
	if (cfg->uapi_path && !*cfg->uapi_path)
		return 0;
	if (cfg->uapi_path)
		snprintf(path, sizeof(path), "%s", cfg->uapi_path);
	else
		snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", loop->ifname);
	ret = wg_uapi_server_open(&loop->uapi, path);
	if (ret)
		return ret;
	loop->uapi_enabled = true;
	return 0;
}

int wg_loop_new(struct wg_loop **out, const struct wg_loop_config *cfg)
{
	struct wg_loop *loop = calloc(1, sizeof(*loop));
	int ret;

	if (!loop)
		return -ENOMEM;
	pthread_mutex_init(&loop->lock, NULL);
	loop->tun_fd = loop->udp_fd = loop->epoll_fd = loop->stop_fd = -1;
	loop->uapi.listen_fd = -1;
	wg_batch_features_from_env(&loop->features);
	ret = wg_batch_init(&loop->batch, WG_DEFAULT_MTU);
	if (!ret)
		ret = wg_device_new(&loop->dev, &loop_io_ops, loop);
	if (!ret)
		loop->dev->udp_queue = loop_udp_queue;
	if (!ret)
		ret = loop_open_fds(loop, cfg);
	if (!ret) {
		loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (loop->stop_fd < 0)
			ret = -errno;
	}
	if (ret) {
		wg_loop_free(loop);
		return ret;
	}
	*out = loop;
	return 0;
}

void wg_loop_free(struct wg_loop *loop)
{
	if (!loop)
		return;
	if (loop->uapi_enabled)
		wg_uapi_server_close(&loop->uapi);
	wg_device_free(loop->dev);
	if (loop->tun_fd >= 0)
		close(loop->tun_fd);
	if (loop->udp_fd >= 0)
		close(loop->udp_fd);
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	wg_batch_free(&loop->batch);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

struct wg_device *wg_loop_device(struct wg_loop *loop)
{
	return loop->dev;
}

void wg_loop_stop(struct wg_loop *loop)
{
	uint64_t one = 1;
	ssize_t n = write(loop->stop_fd, &one, sizeof(one));

	(void)n;
}

static void loop_tx(void *ctx, uint8_t *pkt, size_t len)
{
	struct wg_loop *loop = ctx;

	wg_device_tx_packet(loop->dev, pkt, len);
}

/* Reads up to a batch of packets from TUN, then sends what they became.
 * Returns false when TUN is gone. */
static bool loop_tun_readable(struct wg_loop *loop)
{
	int r = 1;

	for (int i = 0; i < LOOP_BATCH && r > 0; i++) {
		r = wg_batch_tun_read(&loop->batch, loop->tun_fd, loop->udp_fd, loop_tx, loop);
		/* The first read of a wakeup goes out before we look for more: a lone
		 * packet (a game's, a ping) does not wait for the read that finds TUN
		 * empty. Later reads are batched. */
		if (i == 0) {
			wg_batch_udp_flush(&loop->batch, loop->udp_fd);
			loop->batch.used = 0;
		}
	}
	wg_batch_udp_flush(&loop->batch, loop->udp_fd);
	loop->batch.used = 0;
	if (r < 0) {
		log_info("wg", "TUN interface %s is gone (%s)", loop->ifname, strerror(-r));
		return false;
	}
	return true;
}

static void loop_rx(void *ctx, uint8_t *buf, size_t len, const struct sockaddr_in6 *sa)
{
	struct wg_loop *loop = ctx;
	struct wg_endpoint ep;

	from_socket_addr(sa, &ep);
	wg_device_rx(loop->dev, buf, len, &ep);
}

/* Receives a few batches of datagrams; each batch's packets for TUN are
 * written (coalesced) before the next batch reuses the buffers. */
/* Returns whether anything was written to TUN. A short batch means the socket
 * is drained: no extra recvmmsg just to hear EAGAIN. */
static bool loop_udp_readable(struct wg_loop *loop)
{
	unsigned written = 0;

	for (int i = 0; i < 4; i++) {
		int n = wg_batch_udp_recv(&loop->batch, loop->udp_fd, loop_rx, loop);

		written += wg_batch_tun_flush(&loop->batch, loop->tun_fd);
		wg_batch_udp_flush(&loop->batch, loop->udp_fd);
		if (n < WG_BATCH_RX_MSGS)
			break;
	}
	return written;
}

/* Once a second: follow MTU changes made with `ip link`, and exit if our UAPI
 * socket file was removed (as wireguard-go does). */
static bool loop_housekeeping(struct wg_loop *loop, uint64_t now)
{
	int mtu;

	if (now < loop->next_housekeeping)
		return true;
	loop->next_housekeeping = now + TIME_NS_PER_SEC;
	mtu = tun_get_mtu(loop->ifname);
	if (mtu > 0) {
		wg_device_set_mtu(loop->dev, (unsigned)mtu);
		wg_batch_set_mtu(&loop->batch, (unsigned)mtu);
	}
	if (loop->uapi_enabled && !wg_uapi_server_alive(&loop->uapi)) {
		log_info("wg", "UAPI socket %s was removed, shutting down", loop->uapi.path);
		return false;
	}
	return true;
}

static int wait_ms(uint64_t now, uint64_t deadline)
{
	uint64_t d;

	if (deadline <= now)
		return 0;
	d = (deadline - now + TIME_NS_PER_MS - 1) / TIME_NS_PER_MS;
	return d > 1000 ? 1000 : (int)d;
}

/* Handles one ready fd. Returns 1 to go on, 0 on a requested stop, <0 fatal. */
static int loop_event(struct wg_loop *loop, const struct epoll_event *ev)
{
	int fd = ev->data.fd;

	if (fd == loop->stop_fd)
		return 0;
	if (fd == loop->tun_fd) {
		if (ev->events & (EPOLLERR | EPOLLHUP) || !loop_tun_readable(loop))
			return -ENODEV;
	} else if (fd == loop->udp_fd) {
		/* What we wrote to TUN often has its answer waiting there already
		 * (a ping's reply, TCP's ACKs): read it now, without a trip
		 * through epoll_wait. */
		if (loop_udp_readable(loop) && !loop_tun_readable(loop))
			return -ENODEV;
	} else if (loop->uapi_enabled && fd == loop->uapi.listen_fd) {
		int cfd = wg_uapi_server_accept(&loop->uapi);

		if (cfd >= 0)
			epoll_add(loop, cfd);
	} else if (loop->uapi_enabled) {
		if (!wg_uapi_server_serve(&loop->uapi, fd, loop->dev))
			epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	}
	return 1;
}

static int loop_setup_epoll(struct wg_loop *loop)
{
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		return -errno;
	if (epoll_add(loop, loop->tun_fd) || epoll_add(loop, loop->udp_fd) ||
	    epoll_add(loop, loop->stop_fd))
		return -errno;
	if (loop->uapi_enabled && epoll_add(loop, loop->uapi.listen_fd))
		return -errno;
	return 0;
}

/*
 * Asks the scheduler for short time slices for this thread (Linux 6.12+
 * EEVDF: sched_runtime of a SCHED_OTHER task). Its weight, and so its share
 * of the CPU, does not change; what changes is that on a busy machine a
 * wakeup for a packet preempts a task with a longer slice instead of waiting
 * for that slice to end. The loop runs for microseconds per wakeup, so it
 * never needs a long slice. Older kernels ignore the value; failure is only
 * logged. LR_WG_DISABLE=short-slice leaves the default.
 */
static void loop_short_slice(const struct wg_loop *loop)
{
	/* struct sched_attr, SCHED_ATTR_SIZE_VER0: <linux/sched/types.h> clashes
	 * with <sched.h>, and glibc has no wrapper. */
	struct {
		uint32_t size, sched_policy;
		uint64_t sched_flags;
		int32_t sched_nice;
		uint32_t sched_priority;
		uint64_t sched_runtime, sched_deadline, sched_period;
	} attr = {
		.size = sizeof(attr),
		.sched_policy = SCHED_OTHER,
		.sched_runtime = 100 * 1000, /* ns; the kernel's floor is 0.1 ms */
	};
	int nice;

	if (!loop->features.short_slice)
		return;
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		return;
	attr.sched_nice = nice; /* keep it: sched_setattr sets it too */
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		log_debug("wg", "short scheduler slice not available: %s", strerror(errno));
}

int wg_loop_run(struct wg_loop *loop)
{
	struct epoll_event evs[16];
	uint64_t next = UINT64_MAX, now;
	int n, ret = loop_setup_epoll(loop);

	loop_short_slice(loop);
	while (!ret) {
		now = time_mono_ns();
		n = epoll_wait(loop->epoll_fd, evs, 16, wait_ms(now, next));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		pthread_mutex_lock(&loop->lock);
		for (int i = 0; i < n && !ret; i++) {
			int r = loop_event(loop, &evs[i]);

			if (r <= 0)
				ret = r ? r : 1;
		}
		next = wg_device_tick(loop->dev);
		if (!ret && !loop_housekeeping(loop, time_mono_ns()))
			ret = -ENOENT;
		pthread_mutex_unlock(&loop->lock);
	}
	return ret == 1 ? 0 : ret;
}

int wg_loop_uapi(struct wg_loop *loop, const char *req, size_t len, char **reply)
{
	int ret;

	pthread_mutex_lock(&loop->lock);
	ret = wg_device_uapi(loop->dev, req, len, reply);
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

void wg_loop_set_rx_hook(struct wg_loop *loop, wg_rx_hook hook, void *ctx)
{
	pthread_mutex_lock(&loop->lock);
	wg_device_set_rx_hook(loop->dev, hook, ctx);
	pthread_mutex_unlock(&loop->lock);
}

int wg_loop_send_raw(struct wg_loop *loop, const struct wg_endpoint *dst, const uint8_t *buf,
		     size_t len)
{
	int ret;

	pthread_mutex_lock(&loop->lock);
	ret = wg_device_send_raw(loop->dev, dst, buf, len);
	pthread_mutex_unlock(&loop->lock);
	return ret;
}
