/*
 * test_noise: the handshake and sessions between real engines in memory:
 * both sides initiating, PSK and mismatched PSK, unknown keys, replayed and
 * flooded initiations, key confirmation and rotation, staged packets, padding,
 * source-address checks and roaming.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/internal.h"
#include "wgpair.h"

static const char PSK1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char PSK2[] = "2222222222222222222222222222222222222222222222222222222222222222";

/* TAI64N comes from the wall clock, coarsened to 2^24 ns; a new initiation
 * needs a newer timestamp than the last one, so let real time pass. */
static void next_timestamp(void)
{
	usleep(20000);
}

static void test_handshake_and_data_both_ways(void **state)
{
	struct wgp_net net;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "hello", 5);
	/* No session yet: the packet is staged and an initiation goes out. */
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 0);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[1], "hello", 5));
	wgp_send_ip(&net, 1, 0, "world", 5);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[0], "world", 5));
	assert_non_null(wgp_peer(&net, 0, 1)->kp_cur);
	assert_true(wgp_peer(&net, 0, 1)->kp_cur->initiator);
	assert_false(wgp_peer(&net, 1, 0)->kp_cur->initiator);
	assert_true(wgp_peer(&net, 0, 1)->last_handshake_sec > 0);
	wgp_free(&net);
}

static void test_psk_match_and_mismatch(void **state)
{
	struct wgp_net net;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, PSK1);
	wgp_send_ip(&net, 0, 1, "psk", 3);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[1], "psk", 3));
	wgp_free(&net);

	wgp_init(&net, 2);
	wgp_add_peer(&net, 0, 1, PSK1);
	wgp_add_peer(&net, 1, 0, PSK2);
	wgp_send_ip(&net, 0, 1, "psk", 3);
	wgp_deliver(&net);
	/* The responder answered (it cannot know), but the initiator rejects the response. */
	assert_null(wgp_peer(&net, 0, 1)->kp_cur);
	assert_false(wgp_tun_has(&net.nodes[1], "psk", 3));
	assert_int_equal(wgp_peer(&net, 0, 1)->last_handshake_sec, 0);
	wgp_free(&net);
}

static void test_unknown_initiator_dropped(void **state)
{
	struct wgp_net net;

	wgp_init(&net, 3);
	/* 2 knows 0, but 0 does not know 2. */
	wgp_add_peer(&net, 2, 0, NULL);
	wgp_send_ip(&net, 2, 0, "x", 1);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_deliver(&net);
	assert_int_equal(net.nodes[0].ntun, 0);
	assert_null(net.nodes[0].dev->peers);
	assert_null(wgp_peer(&net, 2, 0)->kp_cur);
	wgp_free(&net);
}

static void test_replayed_initiation_rejected(void **state)
{
	struct wgp_net net;
	struct wgp_dgram saved;
	struct wg_peer *resp;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "a", 1);
	assert_int_equal(net.nqueue, 1);
	saved = net.queue[0];
	saved.buf = malloc(saved.len);
	memcpy(saved.buf, net.queue[0].buf, saved.len);
	wgp_deliver(&net);
	resp = wgp_peer(&net, 1, 0);
	assert_non_null(resp->kp_cur);
	uint32_t idx = resp->kp_cur->entry.index;

	/* The same initiation again, well after the flood window: a replay (TAI64N not newer). */
	time_fake_set(time_mono_ns() + TIME_NS_PER_SEC);
	wg_device_rx(net.nodes[1].dev, saved.buf, saved.len, &saved.src);
	assert_int_equal(wgp_count_type(&net, WG_MSG_RESPONSE), 0);
	assert_int_equal(resp->kp_cur->entry.index, idx);
	time_fake_set(0);
	free(saved.buf);
	wgp_free(&net);
}

static void test_initiation_flood_limited(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	time_fake_set(1000 * TIME_NS_PER_SEC);
	wgp_send_ip(&net, 0, 1, "a", 1);
	wgp_deliver(&net);
	/* A second initiation within 1/50 s of the last one consumed is refused. */
	p = wgp_peer(&net, 0, 1);
	p->last_sent_handshake = 0;
	next_timestamp();
	time_fake_advance(TIME_NS_PER_SEC / 100);
	wg_send_handshake_initiation(p, false);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_deliver(&net);
	assert_int_equal(wgp_count_type(&net, WG_MSG_RESPONSE), 0);
	/* After the window it is accepted. */
	time_fake_advance(TIME_NS_PER_SEC / 10);
	next_timestamp();
	p->last_sent_handshake = 0;
	wg_send_handshake_initiation(p, false);
	wgp_deliver(&net);
	assert_int_equal(p->hs.state, WG_HS_ZEROED);
	assert_non_null(p->kp_prev);
	time_fake_set(0);
	wgp_free(&net);
}

static void test_initiation_rate_limited_per_peer(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	time_fake_set(5000 * TIME_NS_PER_SEC);
	p = wgp_peer(&net, 0, 1);
	for (int i = 0; i < 10; i++) {
		wg_send_handshake_initiation(p, false);
		time_fake_advance(TIME_NS_PER_SEC / 2);
	}
	/* Five seconds of asking: one initiation per REKEY_TIMEOUT. */
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	time_fake_advance(TIME_NS_PER_SEC);
	wg_send_handshake_initiation(p, false);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 2);
	time_fake_set(0);
	wgp_free(&net);
}

static void test_responder_waits_for_confirmation(void **state)
{
	struct wgp_net net;
	struct wg_peer *resp;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "a", 1);
	/* Deliver the initiation only: the responder holds the new keys as "next". */
	wgp_deliver(&net); /* delivers init, response, and the confirming data */
	resp = wgp_peer(&net, 1, 0);
	assert_non_null(resp->kp_cur);
	assert_null(resp->kp_next);

	wgp_free(&net);
	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "a", 1);
	/* Step by step this time. */
	struct wgp_dgram init = net.queue[0];
	net.nqueue = 0;
	wg_device_rx(net.nodes[1].dev, init.buf, init.len, &init.src);
	free(init.buf);
	resp = wgp_peer(&net, 1, 0);
	assert_null(resp->kp_cur);
	assert_non_null(resp->kp_next);
	/* The responder cannot send yet: its reply is staged, no data goes out. */
	wgp_send_ip(&net, 1, 0, "early", 5);
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 0);
	assert_int_equal(resp->staged.count, 1);
	wgp_deliver(&net);
	/* Once the initiator's data confirmed the keys, the staged packet went out. */
	assert_non_null(resp->kp_cur);
	assert_null(resp->kp_next);
	assert_true(wgp_tun_has(&net.nodes[0], "early", 5));
	assert_true(wgp_tun_has(&net.nodes[1], "a", 1));
	wgp_free(&net);
}

static void test_rotation_keeps_previous(void **state)
{
	struct wgp_net net;
	struct wg_peer *p, *q;
	struct wg_keypair *first;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	time_fake_set(10000 * TIME_NS_PER_SEC);
	wgp_send_ip(&net, 0, 1, "1", 1);
	wgp_deliver(&net);
	p = wgp_peer(&net, 0, 1);
	q = wgp_peer(&net, 1, 0);
	first = p->kp_cur;
	/* After REKEY_AFTER_TIME the initiator rekeys on its next send. */
	time_fake_advance(WG_REKEY_AFTER_TIME + TIME_NS_PER_SEC);
	next_timestamp();
	wgp_send_ip(&net, 0, 1, "2", 1);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_deliver(&net);
	assert_ptr_equal(p->kp_prev, first);
	assert_ptr_not_equal(p->kp_cur, first);
	assert_true(wgp_tun_has(&net.nodes[1], "2", 1));
	/* A packet still in flight under the old keys is accepted (previous keypair). */
	assert_non_null(q->kp_prev);
	wgp_send_ip(&net, 1, 0, "3", 1);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[0], "3", 1));
	/* Three keypairs at most: old ones are freed and their indices gone. */
	uint32_t old_idx = first->entry.index;
	time_fake_advance(WG_REKEY_AFTER_TIME + TIME_NS_PER_SEC);
	next_timestamp();
	wgp_send_ip(&net, 0, 1, "4", 1);
	wgp_deliver(&net);
	assert_null(wg_index_lookup(net.nodes[0].dev, old_idx));
	time_fake_set(0);
	wgp_free(&net);
}

static void test_staged_packets_in_order_and_bounded(void **state)
{
	struct wgp_net net;
	char msg[16];

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	for (int i = 0; i < WG_MAX_STAGED_PACKETS + 10; i++) {
		snprintf(msg, sizeof(msg), "pkt%04d", i);
		wgp_send_ip(&net, 0, 1, msg, 7);
	}
	assert_int_equal(wgp_peer(&net, 0, 1)->staged.count, WG_MAX_STAGED_PACKETS);
	wgp_deliver(&net);
	/* The oldest 10 made room; the rest arrive in order. */
	assert_int_equal(net.nodes[1].ntun, WG_MAX_STAGED_PACKETS);
	for (size_t i = 0; i < net.nodes[1].ntun; i++) {
		snprintf(msg, sizeof(msg), "pkt%04zu", i + 10);
		assert_memory_equal(net.nodes[1].tun[i].buf + 28, msg, 7);
	}
	wgp_free(&net);
}

static void test_padding_to_16(void **state)
{
	struct wgp_net net;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "x", 1);
	wgp_deliver(&net);
	for (size_t n = 1; n < 40; n++) {
		char payload[64] = { 0 };

		wgp_send_ip(&net, 0, 1, payload, n);
		assert_int_equal(net.nqueue, 1);
		/* 28-byte headers + n, padded to 16, plus 16 header + 16 tag. */
		assert_int_equal(net.queue[0].len, 32 + ((28 + n + 15) & ~(size_t)15));
		wgp_deliver(&net);
		assert_int_equal(net.nodes[1].tun[net.nodes[1].ntun - 1].len, 28 + n);
	}
	wgp_free(&net);
}

static void test_source_address_checked(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;

	wgp_init(&net, 3);
	wgp_link(&net, 0, 1, NULL);
	wgp_link(&net, 0, 2, NULL);
	wgp_link(&net, 1, 2, NULL);
	wgp_send_ip(&net, 1, 0, "ok", 2);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[0], "ok", 2));
	/* Node 1 now claims node 2's tunnel address as source: node 0 must drop it.
	 * Give node 1 a route for 10.0.0.1 and send a packet whose source is 10.0.0.3. */
	p = wgp_peer(&net, 1, 0);
	assert_non_null(p);
	uint8_t buf[WG_TX_HEADROOM + 64 + WG_TX_TAILROOM] = { 0 };
	uint8_t *ip = buf + WG_TX_HEADROOM;
	ip[0] = 0x45, ip[3] = 30, ip[9] = 17;
	ip[12] = 10, ip[15] = 3; /* spoofed source */
	ip[16] = 10, ip[19] = 1;
	memcpy(ip + 28, "sp", 2);
	size_t before = net.nodes[0].ntun;
	wg_device_tx_packet(net.nodes[1].dev, ip, 30);
	assert_int_equal(wgp_count_type(&net, WG_MSG_DATA), 1);
	wgp_deliver(&net);
	assert_int_equal(net.nodes[0].ntun, before);
	wgp_free(&net);
}

static void test_roaming_follows_authenticated_packets(void **state)
{
	struct wgp_net net;
	struct wg_peer *p;
	char ep[64];

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "a", 1);
	wgp_deliver(&net);
	p = wgp_peer(&net, 1, 0);
	/* Node 0 moves to a new address and port. */
	net.nodes[0].addr.in4.sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	net.nodes[0].addr.in4.sin_port = htons(4242);
	wgp_send_ip(&net, 0, 1, "b", 1);
	wgp_deliver(&net);
	wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
	assert_string_equal(ep, "198.51.100.1:4242");
	/* A forged packet (bad tag) from elsewhere must not move the endpoint. */
	uint8_t junk[64] = { WG_MSG_DATA };
	memcpy(junk + 4, &p->kp_cur->entry.index, 4);
	struct wg_endpoint evil = net.nodes[0].addr;
	evil.in4.sin_port = htons(6666);
	wg_device_rx(net.nodes[1].dev, junk, sizeof(junk), &evil);
	wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
	assert_string_equal(ep, "198.51.100.1:4242");
	wgp_free(&net);
}

static void test_data_replay_dropped(void **state)
{
	struct wgp_net net;
	struct wgp_dgram d;

	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	wgp_send_ip(&net, 0, 1, "a", 1);
	wgp_deliver(&net);
	wgp_send_ip(&net, 0, 1, "again", 5);
	d = net.queue[0];
	d.buf = malloc(d.len);
	memcpy(d.buf, net.queue[0].buf, d.len);
	wgp_deliver(&net);
	size_t n = net.nodes[1].ntun;
	wg_device_rx(net.nodes[1].dev, d.buf, d.len, &d.src);
	assert_int_equal(net.nodes[1].ntun, n);
	free(d.buf);
	wgp_free(&net);
}

static size_t hook_count;
static void count_hook(void *ctx, const uint8_t *buf, size_t len, const struct wg_endpoint *src)
{
	hook_count++;
}

static void test_receive_hook_demux(void **state)
{
	struct wgp_net net;
	uint8_t stun[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t almost[148] = { 1, 0, 0, 1 };
	uint8_t wrong_len[147] = { 1, 0, 0, 0 };
	struct wg_endpoint src = { 0 };

	wgp_init(&net, 1);
	wg_device_set_rx_hook(net.nodes[0].dev, count_hook, NULL);
	src.in4.sin_family = AF_INET;
	hook_count = 0;
	wg_device_rx(net.nodes[0].dev, stun, sizeof(stun), &src);
	assert_int_equal(hook_count, 1);
	wg_device_rx(net.nodes[0].dev, almost, sizeof(almost), &src);
	assert_int_equal(hook_count, 2);
	/* A WireGuard type with a wrong length is dropped, not handed up. */
	wg_device_rx(net.nodes[0].dev, wrong_len, sizeof(wrong_len), &src);
	assert_int_equal(hook_count, 2);
	assert_int_equal(net.nqueue, 0);
	wgp_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data_both_ways),
		cmocka_unit_test(test_psk_match_and_mismatch),
		cmocka_unit_test(test_unknown_initiator_dropped),
		cmocka_unit_test(test_replayed_initiation_rejected),
		cmocka_unit_test(test_initiation_flood_limited),
		cmocka_unit_test(test_initiation_rate_limited_per_peer),
		cmocka_unit_test(test_responder_waits_for_confirmation),
		cmocka_unit_test(test_rotation_keeps_previous),
		cmocka_unit_test(test_staged_packets_in_order_and_bounded),
		cmocka_unit_test(test_padding_to_16),
		cmocka_unit_test(test_source_address_checked),
		cmocka_unit_test(test_roaming_follows_authenticated_packets),
		cmocka_unit_test(test_data_replay_dropped),
		cmocka_unit_test(test_receive_hook_demux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
