/*
 * test_io: the LAN discovery engine's sockets on real interfaces (in a
 * network namespace of its own): the tap's kernel filter takes this host's
 * own broadcasts and multicasts on game ports, and game servers' answers and
 * announcements arriving on the virtual interface, and nothing else (other
 * ports, unicast game traffic, lo, fragments, queries, in-game traffic,
 * other interfaces' arrivals);
 * re-filtering takes effect; the host's addresses and /proc/net/igmp read
 * right. Needs root (exits 77, a meson skip, without it).
 *
 *   lrdt0  TUN, 192.168.7.1/24, default route   (a "physical" NIC)
 *   lrdt1  TUN, 10.66.0.1/16                     (the virtual interface)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "disco/disco_internal.h"
#include "disco/disco_pkt.h"
#include "platform/platform.h"
#include "tun/tun.h"

static int nic_fd = -1, vif_fd = -1;
static unsigned nic, vif, lo;

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static int setup_links(void **state)
{
	char name[IFNAMSIZ];
	unsigned offloads;

	(void)state;
	assert_int_equal(platform_link_set_up("lo", true), 0);
	nic_fd = tun_open("lrdt0", name, false, &offloads);
	vif_fd = tun_open("lrdt1", name, false, &offloads);
	assert_true(nic_fd >= 0 && vif_fd >= 0);
	assert_int_equal(platform_addr_add4("lrdt0", ip4("192.168.7.1"), 24), 0);
	assert_int_equal(platform_addr_add4("lrdt1", ip4("10.66.0.1"), 16), 0);
	assert_int_equal(platform_link_set_up("lrdt0", true), 0);
	assert_int_equal(platform_link_set_up("lrdt1", true), 0);
	assert_int_equal(platform_route_add4("lrdt0", ip4("0.0.0.0"), 0), 0);
	assert_int_equal(platform_route_add4("lrdt1", ip4("10.66.0.0"), 16), 0);
	nic = if_nametoindex("lrdt0");
	vif = if_nametoindex("lrdt1");
	lo = if_nametoindex("lo");
	return 0;
}

/* One datagram of size len from an unbound socket to dst:port. */
static void send_udp(const char *dst, uint16_t port, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr = ip4(dst) };
	static uint8_t payload[4000];
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	memset(payload, 'x', sizeof(payload));
	assert_int_equal(sendto(fd, payload, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
	close(fd);
}

/* The next packet the tap takes within 300 ms: its length, or 0. */
static size_t tap_next(int tap, uint8_t *buf, size_t cap, struct sockaddr_ll *from)
{
	struct pollfd p = { .fd = tap, .events = POLLIN };
	socklen_t fl = sizeof(*from);
	ssize_t n;

	if (poll(&p, 1, 300) <= 0)
		return 0;
	n = recvfrom(tap, buf, cap, 0, (struct sockaddr *)from, &fl);
	return n > 0 ? (size_t)n : 0;
}

static struct in_addr bcasts[2];

static struct disco_tap_spec tap_spec(const struct portlist_entry *r)
{
	bcasts[0] = ip4("192.168.7.255");
	bcasts[1] = ip4("10.66.255.255");
	return (struct disco_tap_spec){ .vif = vif, .lo = lo, .ports = r, .n_ports = 1,
					.bcasts = bcasts, .n_bcasts = 2 };
}

static int open_tap(uint16_t lo_port, uint16_t hi_port)
{
	struct portlist_entry r = { .lo = lo_port, .hi = hi_port };
	struct disco_tap_spec spec = tap_spec(&r);
	int fd = disco_tap_open(&spec);

	assert_true(fd >= 0);
	return fd;
}

static void test_tap_takes_this_hosts_broadcast_on_a_game_port(void **state)
{
	int tap = open_tap(27960, 27963);
	struct sockaddr_ll from;
	struct disco_udp u;
	uint8_t buf[2048];
	size_t n;

	(void)state;
	send_udp("255.255.255.255", 27961, 40);
	n = tap_next(tap, buf, sizeof(buf), &from);
	assert_true(n > 0);
	assert_int_equal(from.sll_pkttype, PACKET_OUTGOING);
	assert_int_equal(from.sll_ifindex, (int)nic); /* left by the default route */
	assert_int_equal(disco_udp_parse(&u, buf, n), 0);
	assert_int_equal(u.dport, 27961);
	assert_int_equal(u.dst.s_addr, htonl(INADDR_BROADCAST));
	assert_int_equal(u.payload_len, 40);
	send_udp("10.66.255.255", 27960, 10); /* the virtual subnet's broadcast */
	n = tap_next(tap, buf, sizeof(buf), &from);
	assert_true(n > 0);
	assert_int_equal(from.sll_ifindex, (int)vif);
	close(tap);
}

static void test_tap_skips_other_ports_lo_and_fragments(void **state)
{
	int tap = open_tap(27960, 27963);
	struct sockaddr_ll from;
	uint8_t buf[4096];

	(void)state;
	send_udp("255.255.255.255", 9999, 40);    /* not a game port */
	send_udp("127.0.0.1", 27960, 40);         /* lo */
	send_udp("255.255.255.255", 27960, 3000); /* two fragments */
	send_udp("192.168.7.9", 27960, 40);       /* unicast game traffic */
	send_udp("192.168.7.127", 27960, 40);     /* not a broadcast address here */
	assert_int_equal(tap_next(tap, buf, sizeof(buf), &from), 0);
	send_udp("192.168.7.255", 27960, 40);     /* the LAN's broadcast (OpenTTD's way) */
	assert_true(tap_next(tap, buf, sizeof(buf), &from) > 0);
	send_udp("224.0.2.60", 27960, 40);        /* multicast */
	assert_true(tap_next(tap, buf, sizeof(buf), &from) > 0);
	close(tap);
}

static const char info_response[] = "\xff\xff\xff\xffinfoResponse\n\\hostname\\x";

/* An IPv4/UDP packet from src:sport to dst:dport with payload written into
 * a TUN, as if it arrived on that interface. */
static void arrive(int tun_fd, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   const char *payload)
{
	struct disco_udp u = { .src = ip4(src), .dst = ip4(dst), .sport = sport, .dport = dport,
			       .ttl = 64, .payload = (const uint8_t *)payload,
			       .payload_len = strlen(payload) };
	uint8_t pkt[256];
	ssize_t len = disco_udp_build(pkt, sizeof(pkt), &u, 1);

	assert_true(len > 0);
	assert_int_equal(write(tun_fd, pkt, (size_t)len), len);
}

static void test_tap_takes_answers_arriving_on_the_virtual_interface(void **state)
{
	int tap = open_tap(27960, 27963);
	struct sockaddr_ll from;
	uint8_t buf[2048];

	(void)state;
	arrive(nic_fd, "192.168.7.9", 27960, "192.168.7.1", 40000, info_response); /* not the vif */
	arrive(vif_fd, "10.66.0.2", 27960, "10.66.0.1", 40000, "in-game traffic");
	arrive(vif_fd, "10.66.0.2", 40000, "10.66.0.1", 27960, "\xff\xff\xff\xffgetinfo x");
	assert_int_equal(tap_next(tap, buf, sizeof(buf), &from), 0);
	arrive(vif_fd, "10.66.0.2", 27960, "10.66.0.1", 40000, info_response);
	assert_true(tap_next(tap, buf, sizeof(buf), &from) > 0);
	assert_int_equal(from.sll_pkttype, PACKET_HOST);
	assert_int_equal(from.sll_ifindex, (int)vif);
	arrive(vif_fd, "10.66.0.2", 50000, "10.66.0.1", 4445, "[MOTD]w[/MOTD][AD]25565[/AD]");
	assert_true(tap_next(tap, buf, sizeof(buf), &from) > 0);
	close(tap);
}

static void test_refiltering_takes_effect_at_once(void **state)
{
	struct portlist_entry r = { .lo = 4445, .hi = 4445 };
	struct disco_tap_spec spec = tap_spec(&r);
	int tap = open_tap(27960, 27963);
	struct sockaddr_ll from;
	uint8_t buf[2048];

	(void)state;
	send_udp("255.255.255.255", 4445, 20);
	assert_int_equal(tap_next(tap, buf, sizeof(buf), &from), 0);
	assert_int_equal(disco_tap_filter(tap, &spec), 0);
	send_udp("255.255.255.255", 4445, 20);
	assert_true(tap_next(tap, buf, sizeof(buf), &from) > 0);
	send_udp("255.255.255.255", 27960, 20);
	assert_int_equal(tap_next(tap, buf, sizeof(buf), &from), 0);
	close(tap);
}

/* s is among the host's subnet broadcasts, listed once. */
static bool has_bcast(const struct disco_addrs *a, const char *s)
{
	struct in_addr b[DISCO_MAX_IFADDRS];
	size_t n = disco_addrs_bcasts(a, b, DISCO_MAX_IFADDRS), seen = 0;

	for (size_t i = 0; i < n; i++)
		seen += b[i].s_addr == ip4(s).s_addr;
	assert_true(seen <= 1);
	return seen == 1;
}

static void test_addresses_of_this_host(void **state)
{
	struct disco_addrs a;

	(void)state;
	assert_int_equal(disco_addrs_read(&a), 0);
	assert_true(disco_addrs_is_local(&a, ip4("192.168.7.1")));
	assert_true(disco_addrs_is_local(&a, ip4("10.66.0.1")));
	assert_false(disco_addrs_is_local(&a, ip4("192.168.7.9")));
	assert_true(has_bcast(&a, "192.168.7.255"));
	assert_true(has_bcast(&a, "10.66.255.255"));
	assert_false(has_bcast(&a, "192.168.7.254"));
	assert_true(disco_addrs_same_subnet(&a, nic, ip4("192.168.7.9")));
	assert_false(disco_addrs_same_subnet(&a, vif, ip4("192.168.7.9")));
	assert_false(disco_addrs_same_subnet(&a, nic, ip4("192.168.8.9")));
}

static void test_igmp_groups_but_lo_once_each(void **state)
{
	static const char text[] =
		"Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
		"1\tlo        :     2      V3\n"
		"\t\t\t\tFB0000E0     1 0:00000000\t\t0\n"
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n"
		"2\teth0      :     3      V3\n"
		"\t\t\t\t3C0200E0     1 0:00000000\t\t0\n"
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n"
		"3\twlan0     :     1      V3\n"
		"\t\t\t\t3C0200E0     1 0:00000000\t\t0\n";
	char path[] = "/tmp/lr-igmp.XXXXXX";
	struct in_addr g[8];
	int fd = mkstemp(path), n;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	n = disco_igmp_read(path, g, 8);
	unlink(path);
	/* 224.0.2.60 once (eth0 and wlan0), 224.0.0.1 once (eth0); lo's
	 * 224.0.0.251 is where native deliveries are joined, not a program's. */
	assert_int_equal(n, 2);
	assert_int_equal(g[0].s_addr, ip4("224.0.2.60").s_addr);
	assert_int_equal(g[1].s_addr, ip4("224.0.0.1").s_addr);
	assert_int_equal(disco_igmp_read("/nonexistent/igmp", g, 8), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_takes_this_hosts_broadcast_on_a_game_port),
		cmocka_unit_test(test_tap_skips_other_ports_lo_and_fragments),
		cmocka_unit_test(test_tap_takes_answers_arriving_on_the_virtual_interface),
		cmocka_unit_test(test_refiltering_takes_effect_at_once),
		cmocka_unit_test(test_addresses_of_this_host),
		cmocka_unit_test(test_igmp_groups_but_lo_once_each),
	};

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "SKIP: cannot create a network namespace (%s): needs root\n",
			strerror(errno));
		return 77; /* meson: skipped */
	}
	return cmocka_run_group_tests(tests, setup_links, NULL);
}
