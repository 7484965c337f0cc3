/*
 * test_udp: the device's UDP sockets (src/wg/udp.c) on real loopback sockets:
 * one socket on a port the kernel picks receives; a group of n shares one
 * port, every member with the same options, and a datagram the kernel
 * processes on CPU c reaches member c % n and no other (loopback delivers in
 * the sending CPU's softirq, so a sender pinned to c is received on c); a port
 * someone else holds, plainly or in a SO_REUSEPORT group of its own, is
 * refused with -EADDRINUSE and the caller's set left as it was; a bad count
 * is -EINVAL.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect.h"
#include "wg/udp.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { PER_CPU = 64, MAGIC = 0x4c525544 /* "LRUD" */ };

struct probe {
	uint32_t magic, cpu, seq;
};

static void fill_sentinel(struct wg_udp_set *s)
{
	memset(s, 0xa5, sizeof(*s));
}

static bool is_sentinel(const struct wg_udp_set *s)
{
	struct wg_udp_set t;

	fill_sentinel(&t);
	return !memcmp(s, &t, sizeof(t));
}

static int send_probe(int family, uint16_t port, const struct probe *p)
{
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (family == AF_INET)
		n = sendto(fd, p, sizeof(*p), 0, (struct sockaddr *)&sa4, sizeof(sa4));
	else
		n = sendto(fd, p, sizeof(*p), 0, (struct sockaddr *)&sa6, sizeof(sa6));
	close(fd);
	return n == (ssize_t)sizeof(*p) ? 0 : -EIO;
}

/* One datagram from fd within ms milliseconds: its length, or -1. */
static ssize_t recv_within(int fd, void *buf, size_t cap, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

static void test_single_socket(void **state)
{
	struct wg_udp_set s;
	struct probe p = { MAGIC, 0, 1 }, got;
	uint16_t port;

	(void)state;
	assert_int_equal(wg_udp_open(&s, 0, 0, 1, false), 0);
	assert_int_equal(s.n, 1);
	assert_true(s.fd[0] >= 0);
	port = wg_udp_port(s.fd[0]);
	assert_int_not_equal(port, 0);
	/* Dual-stack unless the host has no IPv6: both families reach it. */
	assert_int_equal(send_probe(AF_INET, port, &p), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(recv_within(s.fd[0], &got, sizeof(got), 2000), sizeof(got));
	assert_memory_equal(&got, &p, sizeof(p));
	if (s.family == AF_INET6) {
		p.seq = 2;
		assert_int_equal(send_probe(AF_INET6, port, &p), 0);
		assert_int_equal(recv_within(s.fd[0], &got, sizeof(got), 2000), sizeof(got));
		assert_memory_equal(&got, &p, sizeof(p));
	}
	wg_udp_close(&s);
	assert_int_equal(s.n, 0);
}

/* The CPUs we may run on, in order, and how many. */
static unsigned my_cpus(int *cpus, unsigned cap)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < cap; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static unsigned group_size(void)
{
	int cpus[CPU_SETSIZE];
	unsigned n = my_cpus(cpus, CPU_SETSIZE);

	return n > WG_UDP_MAX ? WG_UDP_MAX : n;
}

/* Members of a group: one port, SO_REUSEPORT each, UDP_GRO as the set says. */
static void test_group_options(void **state)
{
	struct wg_udp_set s;
	unsigned n = group_size() < 2 ? 2 : group_size();
	uint16_t port;

	(void)state;
	assert_int_equal(wg_udp_open(&s, 0, 0, n, true), 0);
	assert_int_equal(s.n, n);
	port = wg_udp_port(s.fd[0]);
	assert_int_not_equal(port, 0);
	for (unsigned i = 0; i < n; i++) {
		int v = 0;
		socklen_t len = sizeof(v);

		assert_int_equal(wg_udp_port(s.fd[i]), port);
		assert_int_equal(getsockopt(s.fd[i], SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
		assert_int_equal(v, 1);
		v = -1;
		len = sizeof(v);
		if (!getsockopt(s.fd[i], SOL_UDP, UDP_GRO, &v, &len))
			assert_int_equal(!!v, s.gro);
	}
	wg_udp_close(&s);
}

struct sender {
	int cpu;
	uint16_t port;
	int family;	    /* of the group: AF_INET6 means IPv6 probes too */
	unsigned sent;	    /* datagrams sent */
	unsigned off_cpu;   /* sends made while not on cpu (should stay 0) */
	int err;	    /* pinning or sending error, negative errno */
};

/* Pinned to s->cpu, sends PER_CPU datagrams, each from a fresh socket (its
 * own source port, so a hash-based choice would spread them over members). */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	s->err = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (unsigned i = 0; i < PER_CPU && !s->err; i++) {
		struct probe p = { MAGIC, (uint32_t)s->cpu, i };
		int family = s->family == AF_INET6 && (i & 1) ? AF_INET6 : AF_INET;

		if (sched_getcpu() != s->cpu)
			s->off_cpu++;
		s->err = send_probe(family, s->port, &p);
		if (sched_getcpu() != s->cpu)
			s->off_cpu++;
		s->sent += !s->err;
	}
	return NULL;
}

/* One datagram from a member: it must be a probe of the expected CPU. */
static int take_probe(int fd, void *ctx)
{
	int cpu = *(const int *)ctx;
	struct probe p;
	ssize_t len = recv(fd, &p, sizeof(p), MSG_DONTWAIT);

	if (len < 0)
		return -1;
	assert_int_equal(len, sizeof(p));
	assert_int_equal(p.magic, MAGIC);
	assert_int_equal(p.cpu, cpu);
	return 1;
}

static void test_steering_by_cpu(void **state)
{
	int cpus[CPU_SETSIZE];
	unsigned ncpu = my_cpus(cpus, CPU_SETSIZE), n = group_size();
	struct wg_udp_set s;
	uint16_t port;

	(void)state;
	if (n < 2) {
		print_message("skip: steering needs 2 or more usable CPUs, have %u\n", ncpu);
		skip();
	}
	assert_int_equal(wg_udp_open(&s, 0, 0, n, false), 0);
	assert_int_equal(s.n, n);
	port = wg_udp_port(s.fd[0]);
	for (unsigned i = 1; i < n; i++)
		assert_int_equal(wg_udp_port(s.fd[i]), port);
	for (unsigned k = 0; k < ncpu; k++) {
		struct sender snd = { .cpu = cpus[k], .port = port, .family = s.family };
		unsigned per[WG_UDP_MAX], want = (unsigned)cpus[k] % n;
		pthread_t t;

		assert_int_equal(pthread_create(&t, NULL, sender_main, &snd), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(snd.err, 0);
		assert_int_equal(snd.sent, PER_CPU);
		assert_int_equal(snd.off_cpu, 0);
		lr_collect(s.fd, s.n, PER_CPU, take_probe, &cpus[k], per);
		print_message("cpu %d:", cpus[k]);
		for (unsigned i = 0; i < n; i++)
			print_message(" member %u got %u", i, per[i]);
		print_message(" (want all on %u)\n", want);
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(per[i], i == want ? PER_CPU : 0);
	}
	wg_udp_close(&s);
}

/* A socket of someone else on IPv4 any:port (0: one the kernel picks). */
static int hold_port(bool reuseport, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;

	assert_true(fd >= 0);
	if (reuseport)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_port_in_use(void **state)
{
	int held = hold_port(false, 0);
	uint16_t port = wg_udp_port(held);
	struct wg_udp_set s;

	(void)state;
	assert_int_not_equal(port, 0);
	fill_sentinel(&s);
	assert_int_equal(wg_udp_open(&s, port, 0, 2, false), -EADDRINUSE);
	assert_true(is_sentinel(&s));
	assert_int_equal(wg_udp_open(&s, port, 0, 1, false), -EADDRINUSE);
	assert_true(is_sentinel(&s));
	close(held);
}

/* Another program's SO_REUSEPORT group (same user, so the kernel would let a
 * SO_REUSEPORT socket of ours join it): the group is refused, not joined. */
static void test_port_in_foreign_group(void **state)
{
	int held = hold_port(true, 0);
	uint16_t port = wg_udp_port(held);
	int other = hold_port(true, port); /* the group really admits joiners */
	struct wg_udp_set s;

	(void)state;
	fill_sentinel(&s);
	assert_int_equal(wg_udp_open(&s, port, 0, 2, false), -EADDRINUSE);
	assert_true(is_sentinel(&s));
	close(other);
	close(held);
}

/* Once the port is free again, a group gets exactly that port. */
static void test_explicit_port(void **state)
{
	int held = hold_port(false, 0);
	uint16_t port = wg_udp_port(held);
	struct wg_udp_set s;

	(void)state;
	close(held);
	assert_int_equal(wg_udp_open(&s, port, 0, 2, false), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(wg_udp_port(s.fd[0]), port);
	assert_int_equal(wg_udp_port(s.fd[1]), port);
	wg_udp_close(&s);
}

static void test_bad_count(void **state)
{
	struct wg_udp_set s;

	(void)state;
	fill_sentinel(&s);
	assert_int_equal(wg_udp_open(&s, 0, 0, 0, false), -EINVAL);
	assert_true(is_sentinel(&s));
	assert_int_equal(wg_udp_open(&s, 0, 0, WG_UDP_MAX + 1, false), -EINVAL);
	assert_true(is_sentinel(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_socket),
		cmocka_unit_test(test_group_options),
		cmocka_unit_test(test_steering_by_cpu),
		cmocka_unit_test(test_port_in_use),
		cmocka_unit_test(test_port_in_foreign_group),
		cmocka_unit_test(test_explicit_port),
		cmocka_unit_test(test_bad_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
