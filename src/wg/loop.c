/*
 * loop: the real device. The device has one or more queues; each queue is
 * a TUN queue, a UDP socket and a thread that waits in epoll on them (queue
 * 0 also on the UAPI socket and its connections) and on a stop eventfd, and
 * runs the protocol engine (device.c) for each packet and its timers when due.
 * Datagrams that are not WireGuard go to the receive hook. Packet I/O is
 * batched (batch.c): TUN with TSO/GRO offloads when the kernel grants them,
 * UDP with sendmmsg/recvmmsg and GSO/GRO. A packet is read, encrypted and sent
 * by one thread, so a lone packet (a game's) waits for nothing but its own
 * syscalls.
 *
 * Queues per CPU: with several CPUs, TUN (an eBPF steering program) and the
 * UDP group (udp.c) hand each packet to queue (CPU it came from) % n, and
 * queue i's thread runs on the CPUs of that class. The thread a packet wakes
 * is then on the CPU that is already awake for it: waking an idle CPU costs
 * tens of microseconds on virtual machines and in deep C-states, several
 * times a packet's whole processing.
 *
 * Invariants: the engine and every queue's batch are only touched with
 * loop->lock held (a queue holds it while it works, other threads take it in
 * wg_loop_uapi / send_raw); loop->cur is the queue whose buffers and socket
 * the lock holder uses; IPv4 endpoints are stored as AF_INET even though the
 * socket is AF_INET6.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
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
#include "wg/udp.h"

enum { LOOP_BATCH = 64, LOOP_MAX_QUEUES = WG_UDP_MAX };
#define LOOP_LOAD_WINDOW_NS (20 * TIME_NS_PER_MS)

struct wg_queue {
	struct wg_loop *loop;
	unsigned index;
	int tun_fd, epoll_fd;
	struct wg_batch batch; /* empty whenever loop->lock is free */
	cpu_set_t cpus;	       /* its CPUs: where its packets come from */
	bool wide;	       /* running on all of loop->cpus for now */
	uint64_t window_start, busy_ns;
	pthread_t thread;
	bool started;
	int result;
};

struct wg_loop {
	pthread_mutex_t lock; /* guards dev, udp and the queues' batches */
	struct wg_device *dev;
	char ifname[IFNAMSIZ];
	int stop_fd;
	struct wg_udp_set udp; /* udp.fd[i] belongs to queue i */
	bool dont_fragment; /* wg_loop_set_dont_fragment, kept across rebinds */
	struct wg_uapi_server uapi;
	bool uapi_enabled;
	uint64_t next_housekeeping;
	struct wg_batch_features features;
	unsigned nq;
	cpu_set_t cpus; /* every CPU this process may use */
	struct wg_queue q[LOOP_MAX_QUEUES];
	struct wg_queue *cur;
};

static const struct wg_io_ops loop_io_ops;

static void to_socket_addr(const struct wg_loop *loop, const struct wg_endpoint *ep,
			   struct sockaddr_in6 *out, socklen_t *len)
{
	if (loop->udp.family == AF_INET6 && ep->sa.sa_family == AF_INET) {
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

/* The current queue's socket. */
static int cur_udp_fd(const struct wg_loop *loop)
{
	return loop->udp.n ? loop->udp.fd[loop->cur->index] : -1;
}

/* The socket address for dst, or why dst cannot be reached from our socket. */
static int loop_dst(const struct wg_loop *loop, const struct wg_endpoint *dst,
		    struct sockaddr_in6 *sa, socklen_t *salen)
{
	if (!loop->udp.n)
		return -ENOTCONN;
	if (loop->udp.family == AF_INET && dst->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	to_socket_addr(loop, dst, sa, salen);
	return 0;
}

static int loop_udp_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wg_loop *loop = ctx;
	struct wg_batch *b = &loop->cur->batch;
	struct sockaddr_in6 sa;
	socklen_t salen;
	int ret = loop_dst(loop, dst, &sa, &salen);

	if (ret)
		return ret;
	/* Queued data first: a packet never overtakes one handed to us earlier. */
	if (b->ntx)
		wg_batch_udp_flush(b, cur_udp_fd(loop));
	if (sendto(cur_udp_fd(loop), buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, salen) < 0)
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
	wg_batch_udp_queue(&loop->cur->batch, cur_udp_fd(loop), &sa, salen, buf, len);
	return 0;
}

/* pkt lies in a receive buffer, which stays untouched until the flush that
 * ends loop_udp_readable. */
static int loop_tun_write(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wg_loop *loop = ctx;

	wg_batch_tun_queue(&loop->cur->batch, loop->cur->tun_fd, (uint8_t *)pkt, len);
	return 0;
}

/* Puts the sockets of set into the queues' epoll sets in place of the old ones. */
static void loop_swap_udp(struct wg_loop *loop, const struct wg_udp_set *set)
{
	if (loop->dont_fragment)
		(void)wg_udp_dont_fragment(set, true);
	for (unsigned i = 0; i < loop->nq; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = set->fd[i] };
		int efd = loop->q[i].epoll_fd;

		if (efd >= 0 && loop->udp.n)
			epoll_ctl(efd, EPOLL_CTL_DEL, loop->udp.fd[i], NULL);
		if (efd >= 0)
			epoll_ctl(efd, EPOLL_CTL_ADD, set->fd[i], &ev);
		loop->q[i].batch.udp_gro = set->gro;
	}
	wg_udp_close(&loop->udp);
	loop->udp = *set;
}

static int loop_bind_port(void *ctx, uint16_t port, uint16_t *bound)
{
	struct wg_loop *loop = ctx;
	struct wg_udp_set set;
	int ret;

	/* Rebinding to the port we have (or to "any" when we have one) changes nothing. */
	if (loop->udp.n && (port == 0 || port == wg_udp_port(loop->udp.fd[0]))) {
		*bound = wg_udp_port(loop->udp.fd[0]);
		return 0;
	}
	ret = wg_udp_open(&set, port, loop->dev ? loop->dev->fwmark : 0, loop->nq,
			  loop->features.udp_gro);
	if (ret)
		return ret;
	loop_swap_udp(loop, &set);
	*bound = wg_udp_port(loop->udp.fd[0]);
	return 0;
}

static int loop_set_fwmark(void *ctx, uint32_t mark)
{
	struct wg_loop *loop = ctx;

	for (unsigned i = 0; i < loop->udp.n; i++)
		if (setsockopt(loop->udp.fd[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	return 0;
}

static const struct wg_io_ops loop_io_ops = {
	.udp_send = loop_udp_send,
	.tun_write = loop_tun_write,
	.bind_port = loop_bind_port,
	.set_fwmark = loop_set_fwmark,
};

static int epoll_add(int epoll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/*
 * How many queues, at most max: one per CPU we may run on, and only as many
 * as leave every class (CPU % n) with a CPU of ours. Each queue's CPUs go to
 * q[i].cpus.
 */
static unsigned loop_plan_queues(struct wg_loop *loop, unsigned max)
{
	cpu_set_t *mine = &loop->cpus;
	unsigned n;

	if (sched_getaffinity(0, sizeof(*mine), mine) < 0)
		return 1;
	n = (unsigned)CPU_COUNT(mine);
	if (n > max)
		n = max;
	for (; n > 1; n--) {
		bool all = true;

		for (unsigned i = 0; i < n; i++) {
			CPU_ZERO(&loop->q[i].cpus);
			for (unsigned c = i; c < CPU_SETSIZE; c += n)
				if (CPU_ISSET(c, mine))
					CPU_SET(c, &loop->q[i].cpus);
			all = all && CPU_COUNT(&loop->q[i].cpus);
		}
		if (all)
			break;
	}
	return n;
}

/* Opens the TUN queues: one per CPU class when the kernel steers packets by
 * CPU, else one. Returns 0 or a negative errno. */
static int loop_open_tun(struct wg_loop *loop, const struct wg_loop_config *cfg,
			 unsigned *offloads)
{
	int fds[LOOP_MAX_QUEUES], got, ret;
	unsigned want = loop->features.multiqueue ? LOOP_MAX_QUEUES : 1;

	*offloads = 0;
	loop->nq = 1;
	if (cfg->tun_fd >= 0) {
		/* An fd opened by someone else comes as it is: plain packets, no header. */
		loop->q[0].tun_fd = cfg->tun_fd;
		snprintf(loop->ifname, sizeof(loop->ifname), "%s", cfg->ifname);
		return 0;
	}
	want = loop_plan_queues(loop, want);
	got = tun_open_queues(cfg->ifname, loop->ifname, loop->features.tun_offload, offloads,
			      fds, want);
	if (got < 0)
		return got;
	if (got > 1 && (unsigned)got != want && loop_plan_queues(loop, (unsigned)got) != (unsigned)got)
		ret = -ERANGE;
	else
		ret = got > 1 ? tun_steer_by_cpu(fds[0]) : 0;
	if (ret) {
		log_debug("wg", "no per-CPU TUN steering (%s): one queue", strerror(-ret));
		while (got > 1)
			close(fds[--got]);
	}
	for (int i = 0; i < got; i++)
		loop->q[i].tun_fd = fds[i];
	loop->nq = (unsigned)got;
	tun_set_mtu(loop->ifname, WG_DEFAULT_MTU);
	return 0;
}

/* The UDP group, one socket per queue; if the kernel refuses a group, the
 * device goes on with one queue. */
static int loop_open_udp(struct wg_loop *loop)
{
	struct wg_udp_set set;
	int ret = wg_udp_open(&set, 0, 0, loop->nq, loop->features.udp_gro);

	if (ret && loop->nq > 1) {
		log_debug("wg", "no per-CPU UDP group (%s): one queue", strerror(-ret));
		while (loop->nq > 1) {
			loop->nq--;
			close(loop->q[loop->nq].tun_fd);
			loop->q[loop->nq].tun_fd = -1;
		}
		ret = wg_udp_open(&set, 0, 0, 1, loop->features.udp_gro);
	}
	if (ret) {
		log_error("wg", "cannot open the UDP socket: %s", strerror(-ret));
		return ret;
	}
	loop_swap_udp(loop, &set);
	return 0;
}

static int loop_open_fds(struct wg_loop *loop, const struct wg_loop_config *cfg)
{
	char path[108];
	unsigned offloads;
	int ret = loop_open_tun(loop, cfg, &offloads);

	for (unsigned i = 0; i < loop->nq && !ret; i++)
		ret = wg_batch_init(&loop->q[i].batch, WG_DEFAULT_MTU);
	if (ret)
		return ret;
	for (unsigned i = 0; i < loop->nq; i++) {
		struct wg_batch *b = &loop->q[i].batch;

		b->vnet = offloads & TUN_OFFLOAD_VNET;
		b->tun_gro = b->vnet && loop->features.tun_gro;
		b->tun_uso = b->tun_gro && (offloads & TUN_OFFLOAD_USO) == TUN_OFFLOAD_USO;
		b->udp_gso = loop->features.udp_gso;
	}
	ret = loop_open_udp(loop);
	if (ret)
		return ret;
	log_debug("wg", "%u queue(s), TUN offloads 0x%x, UDP GSO %s, TCP GRO to TUN %s", loop->nq,
		  offloads, loop->features.udp_gso ? "on" : "off",
		  loop->q[0].batch.tun_gro ? "on" : "off");
	loop->dev->listen_port = wg_udp_port(loop->udp.fd[0]);
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
	int ret = 0;

	if (!loop)
		return -ENOMEM;
	pthread_mutex_init(&loop->lock, NULL);
	loop->stop_fd = -1;
	loop->uapi.listen_fd = -1;
	for (unsigned i = 0; i < LOOP_MAX_QUEUES; i++)
		loop->q[i] = (struct wg_queue){ .loop = loop, .index = i, .tun_fd = -1,
						.epoll_fd = -1 };
	loop->cur = &loop->q[0];
	wg_batch_features_from_env(&loop->features);
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
	wg_udp_close(&loop->udp);
	for (unsigned i = 0; i < LOOP_MAX_QUEUES; i++) {
		struct wg_queue *q = &loop->q[i];

		if (q->tun_fd >= 0)
			close(q->tun_fd);
		if (q->epoll_fd >= 0)
			close(q->epoll_fd);
		wg_batch_free(&q->batch);
	}
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
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

/* Reads up to a batch of packets from the queue's TUN fd, then sends what
 * they became. Returns false when TUN is gone. */
static bool loop_tun_readable(struct wg_queue *q)
{
	struct wg_loop *loop = q->loop;
	int udp_fd = cur_udp_fd(loop), r = 1;

	for (int i = 0; i < LOOP_BATCH && r > 0; i++) {
		r = wg_batch_tun_read(&q->batch, q->tun_fd, udp_fd, loop_tx, loop);
		/* The first read of a wakeup goes out before we look for more: a lone
		 * packet (a game's, a ping) does not wait for the read that finds TUN
		 * empty. Later reads are batched. */
		if (i == 0) {
			wg_batch_udp_flush(&q->batch, udp_fd);
			q->batch.used = 0;
		}
	}
	wg_batch_udp_flush(&q->batch, udp_fd);
	q->batch.used = 0;
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
 * written (coalesced) before the next batch reuses the buffers. Returns
 * whether anything was written to TUN. A short batch means the socket is
 * drained: no extra recvmmsg just to hear EAGAIN. */
static bool loop_udp_readable(struct wg_queue *q)
{
	int udp_fd = cur_udp_fd(q->loop);
	unsigned written = 0;

	for (int i = 0; i < 4; i++) {
		int n = wg_batch_udp_recv(&q->batch, udp_fd, loop_rx, q->loop);

		written += wg_batch_tun_flush(&q->batch, q->tun_fd);
		wg_batch_udp_flush(&q->batch, udp_fd);
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
		for (unsigned i = 0; i < loop->nq; i++)
			wg_batch_set_mtu(&loop->q[i].batch, (unsigned)mtu);
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

/* The UAPI listener and connections, which only queue 0 waits on. */
static void loop_uapi_event(struct wg_queue *q, int fd)
{
	struct wg_loop *loop = q->loop;

	if (q->index || !loop->uapi_enabled)
		return; /* a socket replaced by loop_bind_port since epoll_wait */
	if (fd == loop->uapi.listen_fd) {
		int cfd = wg_uapi_server_accept(&loop->uapi);

		if (cfd >= 0)
			epoll_add(q->epoll_fd, cfd);
	} else if (!wg_uapi_server_serve(&loop->uapi, fd, loop->dev)) {
		epoll_ctl(q->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	}
}

/* Handles one ready fd. Returns 1 to go on, 0 on a requested stop, <0 fatal. */
static int loop_event(struct wg_queue *q, const struct epoll_event *ev)
{
	struct wg_loop *loop = q->loop;
	int fd = ev->data.fd;

	if (fd == loop->stop_fd)
		return 0;
	if (fd == q->tun_fd) {
		if (ev->events & (EPOLLERR | EPOLLHUP) || !loop_tun_readable(q))
			return -ENODEV;
	} else if (fd == cur_udp_fd(loop)) {
		/* What we wrote to TUN often has its answer waiting there already
		 * (a ping's reply, TCP's ACKs): read it now, without a trip
		 * through epoll_wait. */
		if (loop_udp_readable(q) && !loop_tun_readable(q))
			return -ENODEV;
	} else {
		loop_uapi_event(q, fd);
	}
	return 1;
}

static int loop_setup_epoll(struct wg_queue *q)
{
	struct wg_loop *loop = q->loop;

	q->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epoll_fd < 0)
		return -errno;
	if (epoll_add(q->epoll_fd, q->tun_fd) ||
	    epoll_add(q->epoll_fd, loop->udp.fd[q->index]) ||
	    epoll_add(q->epoll_fd, loop->stop_fd))
		return -errno;
	if (!q->index && loop->uapi_enabled && epoll_add(q->epoll_fd, loop->uapi.listen_fd))
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

/*
 * Light traffic (a game's, pings) is handled on the queue's own CPUs, where
 * its packets arrive, so no wakeup crosses CPUs. A queue busy for more than
 * a third of a window may run on any CPU instead: in a bulk transfer the
 * sender's CPU is already full, and the device needs the other one's help.
 * It comes back once it is busy less than a tenth of a window.
 */
static void queue_follow_load(struct wg_queue *q, uint64_t now)
{
	uint64_t span = now - q->window_start;
	bool wide;

	if (span < LOOP_LOAD_WINDOW_NS)
		return;
	wide = q->wide ? q->busy_ns * 10 > span : q->busy_ns * 3 > span;
	q->window_start = now;
	q->busy_ns = 0;
	if (wide == q->wide)
		return;
	if (!pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t),
				    wide ? &q->loop->cpus : &q->cpus))
		q->wide = wide;
}

/* One queue's thread body. Returns 0 on a requested stop, <0 fatal. */
static int queue_run(struct wg_queue *q)
{
	struct wg_loop *loop = q->loop;
	struct epoll_event evs[16];
	uint64_t next = UINT64_MAX, woke, now;
	int n, ret = 0;

	if (loop->nq > 1 && pthread_setaffinity_np(pthread_self(), sizeof(q->cpus), &q->cpus))
		log_debug("wg", "queue %u: cannot keep to its CPUs", q->index);
	loop_short_slice(loop);
	now = q->window_start = time_mono_ns();
	while (!ret) {
		/* now: read at the end of the last round, just before this wait. */
		n = epoll_wait(q->epoll_fd, evs, 16, wait_ms(now, next));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		woke = time_mono_ns();
		pthread_mutex_lock(&loop->lock);
		loop->cur = q;
		for (int i = 0; i < n && !ret; i++) {
			int r = loop_event(q, &evs[i]);

			if (r <= 0)
				ret = r ? r : 1;
		}
		/* Every queue runs due timers and sleeps until the next deadline it
		 * sees, so a timer armed while one queue works is never missed. */
		next = wg_device_tick(loop->dev);
		now = time_mono_ns();
		if (!ret && !q->index && !loop_housekeeping(loop, now))
			ret = -ENOENT;
		pthread_mutex_unlock(&loop->lock);
		q->busy_ns += now - woke;
		if (loop->nq > 1)
			queue_follow_load(q, now);
	}
	return ret == 1 ? 0 : ret;
}

static void *queue_thread(void *arg)
{
	struct wg_queue *q = arg;

	q->result = queue_run(q);
	if (q->result)
		wg_loop_stop(q->loop); /* a queue that fails ends the device */
	return NULL;
}

int wg_loop_run(struct wg_loop *loop)
{
	int ret = 0;

	for (unsigned i = 0; i < loop->nq && !ret; i++)
		ret = loop_setup_epoll(&loop->q[i]);
	for (unsigned i = 1; i < loop->nq && !ret; i++) {
		struct wg_queue *q = &loop->q[i];

		ret = -pthread_create(&q->thread, NULL, queue_thread, q);
		q->started = !ret;
	}
	if (!ret)
		ret = queue_run(&loop->q[0]);
	wg_loop_stop(loop);
	for (unsigned i = 1; i < loop->nq; i++) {
		struct wg_queue *q = &loop->q[i];

		if (!q->started)
			continue;
		pthread_join(q->thread, NULL);
		q->started = false;
		if (!ret)
			ret = q->result;
	}
	return ret;
}

/* A lock holder from outside the queues uses queue 0's buffers: they are
 * empty whenever the lock is free. */
static void loop_lock_outside(struct wg_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->cur = &loop->q[0];
}

int wg_loop_uapi(struct wg_loop *loop, const char *req, size_t len, char **reply)
{
	int ret;

	loop_lock_outside(loop);
	ret = wg_device_uapi(loop->dev, req, len, reply);
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

void wg_loop_set_rx_hook(struct wg_loop *loop, wg_rx_hook hook, void *ctx)
{
	loop_lock_outside(loop);
	wg_device_set_rx_hook(loop->dev, hook, ctx);
	pthread_mutex_unlock(&loop->lock);
}

int wg_loop_set_dont_fragment(struct wg_loop *loop, bool on)
{
	int ret;

	loop_lock_outside(loop);
	ret = wg_udp_dont_fragment(&loop->udp, on);
	if (!ret)
		loop->dont_fragment = on;
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int wg_loop_send_raw(struct wg_loop *loop, const struct wg_endpoint *dst, const uint8_t *buf,
		     size_t len)
{
	int ret;

	loop_lock_outside(loop);
	ret = wg_device_send_raw(loop->dev, dst, buf, len);
	pthread_mutex_unlock(&loop->lock);
	return ret;
}
