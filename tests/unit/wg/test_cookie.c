/*
 * test_cookie: MAC1/MAC2 and cookie replies between real engines: under load
 * an initiation gets a cookie reply instead of a response, the initiator
 * stores the cookie and its retry (with mac2) is answered; a bad mac1 gets
 * nothing; a cookie is bound to the source address and used only once.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/time.h"
#include "wg/internal.h"
#include "wgpair.h"

/* Fires the initiator's retransmit timer (REKEY_TIMEOUT + jitter later). */
static void retransmit(struct wgp_net *net, int a)
{
	usleep(20000); /* a newer TAI64N for the retry */
	time_fake_advance(WG_REKEY_TIMEOUT + WG_REKEY_TIMEOUT_JITTER_MAX);
	wg_device_tick(net->nodes[a].dev);
}

static void test_cookie_dance_under_load(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	time_fake_set(100 * TIME_NS_PER_SEC);
	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wg_device_force_under_load(net.nodes[1].dev, true);
	p = wgp_peer(&net, 0, 1);

	wgp_send_ip(&net, 0, 1, "x", 1);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_deliver(&net); /* initiation -> cookie reply -> consumed */
	assert_null(p->kp_cur);
	assert_true(p->cookie.birth != 0);
	assert_false(p->cookie.have_sent_mac1);

	retransmit(&net, 0);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	/* The retry carries a non-zero mac2. */
	const struct wg_msg_initiation *m = (const void *)net.queue[0].buf;
	uint8_t zero[16] = { 0 };
	assert_memory_not_equal(m->macs.mac2, zero, 16);
	wgp_deliver(&net);
	assert_non_null(p->kp_cur);
	assert_true(wgp_tun_has(&net.nodes[1], "x", 1));
	wgp_free(&net);
	time_fake_set(0);
}

static void test_bad_mac1_gets_nothing(void **state)
{
	struct wgp_net net;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wg_device_force_under_load(net.nodes[1].dev, true);
	wgp_send_ip(&net, 0, 1, "x", 1);
	net.queue[0].buf[offsetof(struct wg_msg_initiation, macs)] ^= 1;
	wgp_deliver(&net);
	assert_int_equal(net.nqueue, 0);
	assert_int_equal(wgp_peer(&net, 0, 1)->cookie.birth, 0);
	/* Not under load, a bad mac1 is dropped too. */
	wg_device_force_under_load(net.nodes[1].dev, false);
	usleep(20000);
	time_fake_set(200 * TIME_NS_PER_SEC);
	wg_send_handshake_initiation(wgp_peer(&net, 0, 1), false);
	net.queue[0].buf[20] ^= 1; /* body change invalidates mac1 */
	wgp_deliver(&net);
	assert_int_equal(net.nqueue, 0);
	assert_null(wgp_peer(&net, 1, 0)->kp_next);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_cookie_bound_to_source(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	time_fake_set(300 * TIME_NS_PER_SEC);
	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wg_device_force_under_load(net.nodes[1].dev, true);
	p = wgp_peer(&net, 0, 1);
	wgp_send_ip(&net, 0, 1, "x", 1);
	wgp_deliver(&net);
	assert_true(p->cookie.birth != 0);
	/* Node 0 moves: the cookie it holds is for its old address. */
	net.nodes[0].addr.in4.sin_port = htons(7777);
	retransmit(&net, 0);
	wgp_deliver(&net); /* answered with a new cookie, not a response */
	assert_null(p->kp_cur);
	retransmit(&net, 0);
	wgp_deliver(&net);
	assert_non_null(p->kp_cur);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_cookie_reply_only_once(void **state)
{
	struct wgp_net net;
	struct wgp_dgram reply;
	struct wg_peer *p;

	time_fake_set(400 * TIME_NS_PER_SEC);
	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wg_device_force_under_load(net.nodes[1].dev, true);
	p = wgp_peer(&net, 0, 1);
	wgp_send_ip(&net, 0, 1, "x", 1);
	/* Deliver the initiation by hand to catch the cookie reply. */
	struct wgp_dgram init = net.queue[0];
	net.nqueue = 0;
	wg_device_rx(net.nodes[1].dev, init.buf, init.len, &init.src);
	free(init.buf);
	assert_int_equal(wgp_count_type(&net, WG_MSG_COOKIE), 1);
	reply = net.queue[0];
	reply.buf = malloc(reply.len);
	memcpy(reply.buf, net.queue[0].buf, reply.len);
	wgp_deliver(&net);
	uint64_t birth = p->cookie.birth;
	assert_true(birth != 0);
	time_fake_advance(TIME_NS_PER_SEC);
	wg_device_rx(net.nodes[0].dev, reply.buf, reply.len, &reply.src);
	assert_int_equal(p->cookie.birth, birth); /* a second copy changes nothing */
	/* A tampered reply is refused too. */
	p->cookie.have_sent_mac1 = true;
	reply.buf[40] ^= 1;
	wg_device_rx(net.nodes[0].dev, reply.buf, reply.len, &reply.src);
	assert_int_equal(p->cookie.birth, birth);
	free(reply.buf);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_load_detection(void **state)
{
	struct wgp_net net;
	struct wg_device *dev;
	uint64_t t = 500 * TIME_NS_PER_SEC;

	wgp_init(&net, 1);
	dev = net.nodes[0].dev;
	for (int i = 0; i < WG_UNDER_LOAD_HANDSHAKES_PER_SEC; i++)
		assert_false(wg_device_under_load(dev, t));
	assert_true(wg_device_under_load(dev, t));
	/* Sticky for a second after the last overload, then off again. */
	assert_true(wg_device_under_load(dev, t + TIME_NS_PER_SEC / 2));
	assert_false(wg_device_under_load(dev, t + 3 * TIME_NS_PER_SEC));
	wgp_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_dance_under_load),
		cmocka_unit_test(test_bad_mac1_gets_nothing),
		cmocka_unit_test(test_cookie_bound_to_source),
		cmocka_unit_test(test_cookie_reply_only_once),
		cmocka_unit_test(test_load_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
