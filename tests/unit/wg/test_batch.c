/*
 * test_batch: the loop's batched UDP I/O (src/wg/batch.c) over real loopback
 * sockets: queued datagrams leave in order, runs of one size to one endpoint
 * go out as one UDP GSO message and still arrive as separate datagrams with
 * their own bytes, a receiver with UDP_GRO gets them cut back at the segment
 * size, and the same holds with GSO off (the fallback path).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/batch.h"

enum { MAXGOT = 64 };

struct got {
	unsigned n;
	size_t len[MAXGOT];
	uint8_t tag[MAXGOT];
};

static int udp_socket(struct sockaddr_in6 *sa, bool gro)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0), on = 1, off = 0;
	socklen_t len = sizeof(*sa);

	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_addr = in6addr_loopback;
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	if (gro)
		setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	return fd;
}

static void record(void *ctx, uint8_t *buf, size_t len, const struct sockaddr_in6 *sa)
{
	struct got *g = ctx;

	(void)sa;
	assert_true(g->n < MAXGOT);
	g->len[g->n] = len;
	g->tag[g->n] = buf[0];
	/* Every byte of a datagram carries its tag: nothing from a neighbour. */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], buf[0]);
	g->n++;
}

static void drain(struct wg_batch *b, int fd, struct got *g)
{
	for (int tries = 0; tries < 100; tries++) {
		if (!wg_batch_udp_recv(b, fd, record, g) && g->n)
			return;
		usleep(1000);
	}
}

/* Queues 10 datagrams of 1000 bytes and one of 500 to r1, two of 1000 to r2,
 * then one more of 1000 to r1; checks what each receiver gets. */
static void run(bool gso, bool gro)
{
	static uint8_t data[14][1000];
	struct wg_batch tx, rx;
	struct sockaddr_in6 s_sa, r1_sa, r2_sa;
	int s = udp_socket(&s_sa, false), r1 = udp_socket(&r1_sa, gro), r2 = udp_socket(&r2_sa, gro);
	struct got g1 = { 0 }, g2 = { 0 };
	unsigned k = 0;

	assert_int_equal(wg_batch_init(&tx, 1420), 0);
	assert_int_equal(wg_batch_init(&rx, 1420), 0);
	tx.udp_gso = gso;
	for (int i = 0; i < 14; i++)
		memset(data[i], 'a' + i, sizeof(data[i]));
	for (; k < 10; k++)
		wg_batch_udp_queue(&tx, s, &r1_sa, sizeof(r1_sa), data[k], 1000);
	wg_batch_udp_queue(&tx, s, &r1_sa, sizeof(r1_sa), data[k++], 500);
	wg_batch_udp_queue(&tx, s, &r2_sa, sizeof(r2_sa), data[k++], 1000);
	wg_batch_udp_queue(&tx, s, &r2_sa, sizeof(r2_sa), data[k++], 1000);
	wg_batch_udp_queue(&tx, s, &r1_sa, sizeof(r1_sa), data[k++], 1000);
	wg_batch_udp_flush(&tx, s);
	assert_int_equal(tx.ntx, 0);
	drain(&rx, r1, &g1);
	drain(&rx, r2, &g2);
	assert_int_equal(g1.n, 12);
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(g1.len[i], 1000);
		assert_int_equal(g1.tag[i], 'a' + i);
	}
	assert_int_equal(g1.len[10], 500);
	assert_int_equal(g1.tag[10], 'a' + 10);
	assert_int_equal(g1.len[11], 1000);
	assert_int_equal(g1.tag[11], 'a' + 13);
	assert_int_equal(g2.n, 2);
	assert_int_equal(g2.tag[0], 'a' + 11);
	assert_int_equal(g2.tag[1], 'a' + 12);
	wg_batch_free(&tx);
	wg_batch_free(&rx);
	close(s);
	close(r1);
	close(r2);
}

static void test_gso_and_gro(void **state)
{
	(void)state;
	run(true, true);
}

static void test_gso_without_gro(void **state)
{
	(void)state;
	run(true, false);
}

static void test_plain(void **state)
{
	(void)state;
	run(false, false);
}

static void test_features_from_env(void **state)
{
	struct wg_batch_features f;

	(void)state;
	unsetenv("LR_WG_DISABLE");
	wg_batch_features_from_env(&f);
	assert_true(f.tun_offload && f.udp_gso && f.udp_gro && f.tun_gro && f.short_slice);
	setenv("LR_WG_DISABLE", "udp-gso,tun-gro", 1);
	wg_batch_features_from_env(&f);
	assert_true(f.tun_offload && !f.udp_gso && f.udp_gro && !f.tun_gro && f.short_slice);
	unsetenv("LR_WG_DISABLE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gso_and_gro),
		cmocka_unit_test(test_gso_without_gro),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_features_from_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
