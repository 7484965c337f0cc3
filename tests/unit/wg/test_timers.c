/*
 * test_timers: each timer of the WireGuard paper on a fake monotonic clock:
 * handshake retransmission and giving up after 20 attempts, passive
 * keepalive, "no reply" new handshake, persistent keepalive, zeroing of key
 * material, REJECT_AFTER_TIME, and the initiator's last-minute rekey.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/time.h"
#include "wg/internal.h"
#include "wgpair.h"

static void advance(struct wgp_net *net, uint64_t ns)
{
	time_fake_advance(ns);
	for (int i = 0; i < net->n; i++)
		wg_device_tick(net->nodes[i].dev);
}

/* Lets time pass one second at a time with a working network. */
static void run_for(struct wgp_net *net, int secs)
{
	for (int i = 0; i < secs; i++) {
		advance(net, TIME_NS_PER_SEC);
		wgp_deliver(net);
	}
}

static size_t count_from(const struct wgp_net *net, int from, int type)
{
	size_t n = 0;

	for (size_t i = 0; i < net->nqueue; i++)
		if (net->queue[i].from == from && net->queue[i].buf[0] == type)
			n++;
	return n;
}

static void connect_pair(struct wgp_net *net)
{
	time_fake_set(1000 * TIME_NS_PER_SEC);
	wgp_init(net, 2);
	wgp_link(net, 0, 1, NULL);
	wgp_send_ip(net, 0, 1, "hi", 2);
	wgp_deliver(net);
	assert_true(wgp_tun_has(&net->nodes[1], "hi", 2));
}

static void test_retransmit_then_give_up(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;
	size_t inits = 0;

	time_fake_set(1000 * TIME_NS_PER_SEC);
	wgp_init(&net, 2);
	wgp_add_peer(&net, 0, 1, NULL); /* node 1 never answers: it does not know 0 */
	p = wgp_peer(&net, 0, 1);
	wgp_send_ip(&net, 0, 1, "x", 1);
	for (int i = 0; i < 30; i++) {
		inits += wgp_count_type(&net, WG_MSG_INITIATION);
		wgp_drop(&net);
		advance(&net, WG_REKEY_TIMEOUT + WG_REKEY_TIMEOUT_JITTER_MAX);
	}
	/* The first try plus 19 retries, then it gives up (kernel: "after 20 attempts"). */
	assert_int_equal(inits, 20);
	assert_int_equal(p->staged.count, 0);
	assert_true(p->timers.zero_key_material != 0);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_passive_keepalive(void **state)
{
	struct wgp_net net;

	connect_pair(&net);
	wgp_drop(&net);
	/* Node 1 received data and has nothing to send back: after KEEPALIVE_TIMEOUT
	 * it sends an empty data message. */
	advance(&net, WG_KEEPALIVE_TIMEOUT - TIME_NS_PER_SEC);
	assert_int_equal(net.nqueue, 0);
	advance(&net, 2 * TIME_NS_PER_SEC);
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 1);
	assert_int_equal(net.queue[0].from, 1);
	assert_int_equal(net.queue[0].len, 32);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_no_reply_new_handshake(void **state)
{
	struct wgp_net net;

	connect_pair(&net);
	run_for(&net, 30); /* everything settles: keepalives exchanged, timers idle */
	assert_int_equal(net.nqueue, 0);
	/* Node 0 sends data that is lost; no reply for 15 s + jitter: new handshake. */
	wgp_send_ip(&net, 0, 1, "lost", 4);
	wgp_drop(&net);
	advance(&net, WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT - TIME_NS_PER_SEC);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 0);
	advance(&net, TIME_NS_PER_SEC + WG_REKEY_TIMEOUT_JITTER_MAX);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_persistent_keepalive(void **state)
{
	struct wgp_net net;
	char req[256], hex[65];

	connect_pair(&net);
	run_for(&net, 30);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", net.nodes[1].pub[i]);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\npersistent_keepalive_interval=25\n\n", hex);
	assert_int_equal(wgp_uapi(&net, 0, req, NULL), 0);
	/* Turning it on sends one at once. */
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 1);
	wgp_deliver(&net);
	wgp_drop(&net);
	for (int i = 0; i < 3; i++) {
		advance(&net, 24 * TIME_NS_PER_SEC);
		assert_int_equal(count_from(&net, 0, WG_MSG_DATA), 0);
		advance(&net, 1 * TIME_NS_PER_SEC + 1);
		assert_int_equal(count_from(&net, 0, WG_MSG_DATA), 1);
		wgp_deliver(&net);
	}
	wgp_free(&net);
	time_fake_set(0);
}

static void test_zero_key_material(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	connect_pair(&net);
	p = wgp_peer(&net, 0, 1);
	assert_non_null(p->kp_cur);
	wgp_drop(&net);
	advance(&net, WG_REJECT_AFTER_TIME * 3 - TIME_NS_PER_SEC);
	wgp_drop(&net);
	assert_non_null(p->kp_cur);
	advance(&net, 2 * TIME_NS_PER_SEC);
	assert_null(p->kp_cur);
	assert_null(p->kp_prev);
	assert_null(p->kp_next);
	assert_int_equal(p->hs.state, WG_HS_ZEROED);
	wgp_free(&net);
	time_fake_set(0);
}

static void test_reject_after_time(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	connect_pair(&net);
	p = wgp_peer(&net, 1, 0); /* the responder never rekeys on time by itself */
	wgp_deliver(&net);
	wgp_drop(&net);
	time_fake_advance(WG_REJECT_AFTER_TIME + TIME_NS_PER_SEC);
	usleep(20000);
	/* Its keys are too old to send with: the packet is staged and it initiates. */
	wgp_send_ip(&net, 1, 0, "late", 4);
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 0);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	assert_int_equal(p->staged.count, 1);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[0], "late", 4));
	wgp_free(&net);
	time_fake_set(0);
}

static void test_lastminute_rekey_on_receive(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	connect_pair(&net);
	p = wgp_peer(&net, 0, 1);
	wgp_deliver(&net);
	wgp_drop(&net);
	/* The responder keeps sending; at 165 s the initiator rekeys once on receive. */
	time_fake_advance(WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT +
			  TIME_NS_PER_SEC);
	usleep(20000);
	p->kp_cur->birth = time_mono_ns() - (WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT -
					     WG_REKEY_TIMEOUT + TIME_NS_PER_SEC);
	wgp_peer(&net, 1, 0)->kp_cur->birth = time_mono_ns() - TIME_NS_PER_SEC;
	wgp_send_ip(&net, 1, 0, "a", 1);
	wg_device_rx(net.nodes[0].dev, net.queue[0].buf, net.queue[0].len, &net.queue[0].src);
	free(net.queue[0].buf);
	memmove(&net.queue[0], &net.queue[1], (net.nqueue - 1) * sizeof(net.queue[0]));
	net.nqueue--;
	assert_true(p->timers.sent_lastminute_handshake);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_free(&net);
	time_fake_set(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retransmit_then_give_up),
		cmocka_unit_test(test_passive_keepalive),
		cmocka_unit_test(test_no_reply_new_handshake),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_zero_key_material),
		cmocka_unit_test(test_reject_after_time),
		cmocka_unit_test(test_lastminute_rekey_on_receive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
