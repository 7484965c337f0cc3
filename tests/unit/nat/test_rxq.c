/*
 * test_rxq: the receive hook's queue on a real socketpair. Datagrams come out
 * whole, in order, with their source (v4-mapped as IPv4), an empty one too; a
 * short buffer cuts; the read end polls readable exactly while something
 * waits; a full queue drops the newest without blocking the hook; a hook on
 * another thread (as on the loop thread) hands over intact datagrams; a real
 * wg_device hands non-WireGuard datagrams to it and keeps WireGuard ones;
 * close is idempotent.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nat/rxq.h"
#include "wgpair.h"

/* "1.2.3.4:5" or "[v6]:5", as wg_endpoint_parse reads them (no unmapping). */
static struct wg_endpoint ep(const char *s)
{
	struct wg_endpoint e;

	assert_int_equal(wg_endpoint_parse(&e, s), 0);
	return e;
}

static bool readable(const struct rxq *q)
{
	struct pollfd p = { .fd = rxq_fd(q), .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents & POLLIN;
}

static void test_roundtrip(void **state)
{
	struct wg_endpoint a = ep("192.0.2.7:3478"), b = ep("[2001:db8::5]:51820"), src;
	wg_rx_hook hook = rxq_hook; /* it is what the device calls */
	uint8_t buf[64];
	struct rxq q;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	assert_false(readable(&q));
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), -EAGAIN);
	hook(&q, (const uint8_t *)"first", 5, &a);
	hook(&q, (const uint8_t *)"second!", 7, &b);
	assert_true(readable(&q));
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 5);
	assert_memory_equal(buf, "first", 5);
	assert_memory_equal(&src, &a, sizeof(a));
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 7);
	assert_memory_equal(buf, "second!", 7);
	assert_memory_equal(&src, &b, sizeof(b));
	assert_false(readable(&q));
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), -EAGAIN);
	rxq_close(&q);
}

/* The device's dual-stack socket reports IPv4 peers as v4-mapped IPv6. */
static void test_unmaps_v4(void **state)
{
	struct wg_endpoint mapped = ep("[::ffff:198.51.100.9]:4000");
	struct wg_endpoint want = ep("198.51.100.9:4000"), src;
	uint8_t buf[8];
	struct rxq q;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	rxq_hook(&q, (const uint8_t *)"x", 1, &mapped);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 1);
	assert_int_equal(src.sa.sa_family, AF_INET);
	assert_memory_equal(&src, &want, sizeof(want));
	rxq_close(&q);
}

static void test_empty_and_cut(void **state)
{
	struct wg_endpoint a = ep("192.0.2.1:1"), src;
	uint8_t buf[4];
	struct rxq q;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	rxq_hook(&q, NULL, 0, &a);
	rxq_hook(&q, (const uint8_t *)"abcdefgh", 8, &a);
	rxq_hook(&q, (const uint8_t *)"next", 4, &a);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 0);
	assert_memory_equal(&src, &a, sizeof(a));
	/* Longer than the buffer: cut, and the rest of it does not linger. */
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 4);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 4);
	assert_memory_equal(buf, "next", 4);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), -EAGAIN);
	rxq_close(&q);
}

/* Nobody reads: the hook must return at once and the queue keep what fitted,
 * so what comes out is the first k datagrams, in order. */
static void test_full_drops_newest(void **state)
{
	enum { N = 20000 };
	struct wg_endpoint a = ep("192.0.2.2:2"), src;
	uint8_t buf[1400];
	uint32_t seq, k = 0;
	ssize_t n;
	struct rxq q;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	memset(buf, 0xa5, sizeof(buf));
	for (seq = 0; seq < N; seq++) {
		memcpy(buf, &seq, sizeof(seq));
		rxq_hook(&q, buf, sizeof(buf), &a);
	}
	while ((n = rxq_read(&q, buf, sizeof(buf), &src)) >= 0) {
		assert_int_equal(n, sizeof(buf));
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, k);
		assert_int_equal(buf[sizeof(buf) - 1], 0xa5);
		k++;
	}
	assert_int_equal(n, -EAGAIN);
	assert_true(k > 0);
	assert_true(k < N);
	/* Room again once read. */
	rxq_hook(&q, (const uint8_t *)"again", 5, &a);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), 5);
	rxq_close(&q);
}

struct producer {
	struct rxq *q;
	uint32_t n;
	atomic_bool done; /* set after the last hook call returned */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct wg_endpoint a = ep("192.0.2.3:3");
	uint8_t buf[200];

	for (uint32_t seq = 0; seq < p->n; seq++) {
		memset(buf, (int)(seq & 0xff), sizeof(buf));
		memcpy(buf, &seq, sizeof(seq));
		rxq_hook(p->q, buf, sizeof(buf), &a);
	}
	atomic_store(&p->done, true);
	return NULL;
}

/* The hook on its own thread, the consumer polling: what arrives is intact
 * and in order (drops allowed: the producer never waits). */
static void test_threads(void **state)
{
	struct rxq q;
	struct producer p = { .q = &q, .n = 5000 };
	struct wg_endpoint src;
	uint8_t buf[256];
	uint32_t seq, last = 0, got = 0;
	pthread_t t;
	void *ret;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	for (;;) {
		struct pollfd pf = { .fd = rxq_fd(&q), .events = POLLIN };
		bool done = atomic_load(&p.done);
		ssize_t n = rxq_read(&q, buf, sizeof(buf), &src);

		if (n == -EAGAIN) {
			/* a datagram is queued when its hook call returns, so
			 * empty after done means all that was kept is read */
			if (done)
				break;
			(void)poll(&pf, 1, 10);
			continue;
		}
		assert_int_equal(n, 200);
		memcpy(&seq, buf, sizeof(seq));
		assert_true(got == 0 || seq > last);
		assert_int_equal(buf[199], seq & 0xff);
		assert_int_equal(wg_endpoint_port(&src), 3);
		last = seq;
		got++;
	}
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_true(got > 0);
	assert_true(got <= p.n);
	rxq_close(&q);
}

/* The hook installed on a real engine: it gets what is not WireGuard. */
static void test_device_hook(void **state)
{
	static struct wgp_net net;
	struct wg_endpoint from = ep("203.0.113.4:3478"), src;
	uint8_t stun[20] = { 0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t init[148] = { 1 }; /* a (bogus) handshake initiation: WireGuard's */
	uint8_t buf[64];
	struct rxq q;

	(void)state;
	wgp_init(&net, 1);
	assert_int_equal(rxq_open(&q), 0);
	wg_device_set_rx_hook(net.nodes[0].dev, rxq_hook, &q);
	wg_device_rx(net.nodes[0].dev, init, sizeof(init), &from);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), -EAGAIN);
	wg_device_rx(net.nodes[0].dev, stun, sizeof(stun), &from);
	assert_int_equal(rxq_read(&q, buf, sizeof(buf), &src), sizeof(stun));
	assert_memory_equal(buf, stun, sizeof(stun));
	assert_memory_equal(&src, &from, sizeof(from));
	wg_device_set_rx_hook(net.nodes[0].dev, NULL, NULL);
	rxq_close(&q);
	wgp_free(&net);
}

static void test_close(void **state)
{
	struct rxq q;

	(void)state;
	assert_int_equal(rxq_open(&q), 0);
	assert_true(q.fd[0] >= 0 && q.fd[1] >= 0);
	rxq_close(&q);
	assert_int_equal(q.fd[0], -1);
	assert_int_equal(q.fd[1], -1);
	rxq_close(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_unmaps_v4),
		cmocka_unit_test(test_empty_and_cut),
		cmocka_unit_test(test_full_drops_newest),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_device_hook),
		cmocka_unit_test(test_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
