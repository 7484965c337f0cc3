/*
 * test_tun_queues: multi-queue TUN (src/tun/tun_linux.c) on a real interface,
 * in a network namespace of the test's own (the namespace, and with it every
 * interface, goes when the process exits). Asking for one queue gives a plain
 * single-queue TUN; asking for n gives n queues of one interface; and once
 * tun_steer_by_cpu is on, a packet sent through the interface from a thread
 * pinned to CPU c is read from queue c % n and from no other.
 *
 * Needs root (a network namespace, /dev/net/tun, a BPF program): without them
 * the program exits 77, which meson reports as a skip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect.h"
#include "platform/platform.h"
#include "tun/tun.h"

#define IFNAME "lrtq0"
#define TUN_ADDR "10.99.0.1"
#define PEER_ADDR "10.99.0.2" /* routed through the TUN */

enum { QMAX = 4, PER_CPU = 32, PROBE_PORT = 40999, MAGIC = 0x4c525451 /* "LRTQ" */ };

struct probe {
	uint32_t magic, cpu, seq;
};

/* What rtnetlink says about a TUN: IFLA_TUN_MULTI_QUEUE and _NUM_QUEUES
 * (-1: not reported; the kernel gives the count for multi-queue TUNs only). */
struct tun_info {
	int multi_queue, num_queues;
};

static int tun_attr_cb(const struct nlattr *attr, void *data)
{
	struct tun_info *ti = data;

	if (mnl_attr_get_type(attr) == IFLA_TUN_MULTI_QUEUE)
		ti->multi_queue = mnl_attr_get_u8(attr);
	else if (mnl_attr_get_type(attr) == IFLA_TUN_NUM_QUEUES)
		ti->num_queues = (int)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == IFLA_INFO_DATA)
		mnl_attr_parse_nested(attr, tun_attr_cb, data);
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == IFLA_LINKINFO)
		mnl_attr_parse_nested(attr, linkinfo_attr_cb, data);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
	return MNL_CB_OK;
}

/* RTM_GETLINK for name, as `ip -d link show` asks it. */
static void tun_info(const char *name, struct tun_info *ti)
{
	char buf[16384];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	unsigned portid;
	ssize_t n;
	int ret;

	ti->multi_queue = ti->num_queues = -1;
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)if_nametoindex(name);
	assert_int_not_equal(ifi->ifi_index, 0);
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	assert_true(n > 0);
	ret = mnl_cb_run(buf, (size_t)n, 1, portid, link_cb, ti);
	assert_true(ret >= 0);
	mnl_socket_close(nl);
}

/* The flags the kernel reports for one queue's fd. */
static short queue_flags(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, IFNAME);
	return ifr.ifr_flags;
}

/* One more queue attached by hand: the fd, or a negative errno. */
static int attach_more(short flags)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), ret;

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	strcpy(ifr.ifr_name, IFNAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* Not persistent: the last fd takes the interface with it. */
	assert_int_equal(platform_link_exists(IFNAME), 0);
}

static void test_one_queue(void **state)
{
	char name[IFNAMSIZ];
	unsigned offloads = 123;
	struct tun_info ti;
	int fd;

	(void)state;
	assert_int_equal(tun_open_queues(IFNAME, name, false, &offloads, &fd, 1), 1);
	assert_string_equal(name, IFNAME);
	assert_int_equal(offloads, 0);
	assert_true(fd >= 0);
	assert_int_equal(queue_flags(fd) & IFF_MULTI_QUEUE, 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	tun_info(IFNAME, &ti);
	assert_int_equal(ti.multi_queue, 0);
	assert_int_equal(ti.num_queues, -1); /* reported for multi-queue TUNs only */
	/* A single-queue interface takes no second queue, of either kind. */
	assert_int_equal(attach_more(IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE), -EINVAL);
	assert_int_equal(attach_more(IFF_TUN | IFF_NO_PI), -EBUSY);
	close_all(&fd, 1);
}

static void open_n(int *fds, unsigned n)
{
	char name[IFNAMSIZ];
	unsigned offloads;
	struct tun_info ti;

	assert_int_equal(tun_open_queues(IFNAME, name, false, &offloads, fds, n), (int)n);
	assert_string_equal(name, IFNAME);
	for (unsigned i = 0; i < n; i++) {
		assert_true(fds[i] >= 0);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(fds[i], fds[j]);
		assert_int_equal(queue_flags(fds[i]) & IFF_MULTI_QUEUE, IFF_MULTI_QUEUE);
		assert_int_equal(fcntl(fds[i], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	}
	tun_info(IFNAME, &ti);
	assert_int_equal(ti.multi_queue, 1);
	assert_int_equal(ti.num_queues, (int)n);
}

static void test_two_queues(void **state)
{
	int fds[QMAX];

	(void)state;
	open_n(fds, 2);
	close_all(fds, 2);
	open_n(fds, QMAX);
	close_all(fds, QMAX);
}

struct sender {
	int cpu;
	unsigned sent, off_cpu;
	int err; /* negative errno */
};

/* Pinned to s->cpu, sends PER_CPU datagrams to PEER_ADDR, each from a fresh
 * socket: its own source port, so a choice by flow hash would spread them. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PROBE_PORT) };
	cpu_set_t set;

	inet_pton(AF_INET, PEER_ADDR, &sa.sin_addr);
	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	s->err = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (unsigned i = 0; i < PER_CPU && !s->err; i++) {
		struct probe p = { MAGIC, (uint32_t)s->cpu, i };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			s->err = -errno;
			break;
		}
		if (sched_getcpu() != s->cpu)
			s->off_cpu++;
		if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sa, sizeof(sa)) != sizeof(p))
			s->err = -errno;
		if (sched_getcpu() != s->cpu)
			s->off_cpu++;
		s->sent += !s->err;
		close(fd);
	}
	return NULL;
}

/* The probe in an IPv4/UDP packet read from the TUN, or NULL for anything
 * else (the kernel's own packets). */
static const struct probe *probe_of(const uint8_t *pkt, ssize_t len)
{
	const struct iphdr *ip = (const void *)pkt;
	const struct udphdr *udp;
	size_t hl;

	if (len < (ssize_t)sizeof(*ip) || ip->version != 4 || ip->protocol != IPPROTO_UDP)
		return NULL;
	hl = ip->ihl * 4u;
	if ((size_t)len < hl + sizeof(*udp) + sizeof(struct probe))
		return NULL;
	udp = (const void *)(pkt + hl);
	if (ntohs(udp->dest) != PROBE_PORT)
		return NULL;
	return (const void *)(pkt + hl + sizeof(*udp));
}

/* One packet from a TUN queue: a probe of the expected CPU counts, anything
 * else the kernel sends is ignored. */
static int take_probe(int fd, void *ctx)
{
	int cpu = *(const int *)ctx;
	uint8_t pkt[2048];
	ssize_t len = read(fd, pkt, sizeof(pkt));
	const struct probe *p;

	if (len <= 0)
		return -1;
	p = probe_of(pkt, len);
	if (!p)
		return 0;
	assert_int_equal(p->magic, MAGIC);
	assert_int_equal(p->cpu, cpu);
	return 1;
}

static void test_steering_by_cpu(void **state)
{
	struct in_addr addr, peer;
	cpu_set_t mine;
	int fds[2], ret;
	unsigned ncpu = 0;

	(void)state;
	open_n(fds, 2);
	ret = tun_steer_by_cpu(fds[0]);
	if (ret == -EPERM) {
		print_message("skip: loading a BPF program is not permitted here\n");
		close_all(fds, 2);
		skip();
	}
	assert_int_equal(ret, 0);
	inet_pton(AF_INET, TUN_ADDR, &addr);
	inet_pton(AF_INET, PEER_ADDR, &peer);
	assert_int_equal(platform_addr_add4(IFNAME, addr, 24), 0);
	assert_int_equal(platform_link_set_up(IFNAME, true), 0);
	assert_int_equal(platform_route_add4(IFNAME, peer, 24), 0);

	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		struct sender s = { .cpu = c };
		unsigned per[2];
		pthread_t t;

		if (!CPU_ISSET(c, &mine))
			continue;
		ncpu++;
		assert_int_equal(pthread_create(&t, NULL, sender_main, &s), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(s.err, 0);
		assert_int_equal(s.sent, PER_CPU);
		assert_int_equal(s.off_cpu, 0);
		lr_collect(fds, 2, PER_CPU, take_probe, &c, per);
		print_message("cpu %d: queue 0 got %u, queue 1 got %u (want all on %d)\n", c,
			      per[0], per[1], c % 2);
		assert_int_equal(per[c % 2], PER_CPU);
		assert_int_equal(per[1 - c % 2], 0);
	}
	if (ncpu < 2)
		print_message("note: one usable CPU, so only queue 0 was exercised\n");
	close_all(fds, 2);
}

/* A network namespace of our own, with IPv6 off so the kernel sends nothing
 * of its own (router solicitations, MLD) through the TUN. false: not here. */
static bool private_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "SKIP: cannot create a network namespace (%s): needs root\n",
			strerror(errno));
		return false;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "SKIP: cannot open /dev/net/tun: %s\n", strerror(errno));
		return false;
	}
	close(fd);
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "note: IPv6 stays on in the test namespace\n");
		close(fd);
	}
	return true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_queue),
		cmocka_unit_test(test_two_queues),
		cmocka_unit_test(test_steering_by_cpu),
	};

	if (!private_netns())
		return 77; /* meson: skipped */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
