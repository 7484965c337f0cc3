/*
 * test_status: a member's WireGuard counters in conn's status
 * (conn_counters_fill). The status comes from real in-memory devices
 * (tests/lib/wgpair) through the UAPI parser, as conn_status gets it from
 * net_status; members are matched by public key, a member without a peer
 * on the device has no counters, and a device without packet counters
 * (wireguard-go's reply) gives bytes but no packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn/conn.h"
#include "conn/conn_internal.h"
#include "crypto/crypto.h"
#include "net/net_uapi.h"
#include "wgpair.h"

static void device_status(struct wgp_net *net, int a, struct net_status *st)
{
	char *reply;

	assert_int_equal(wgp_uapi(net, a, "get=1\n\n", &reply), 0);
	assert_int_equal(net_uapi_parse_status(reply, st), 0);
	crypto_wipe(reply, strlen(reply));
	free(reply);
}

/* Node 0 with two peers: node 1 (traffic both ways) and node 2 (idle). */
static void test_counters_by_key(void **state)
{
	struct wgp_net net;
	struct net_status st = { 0 };
	struct conn_peer_status s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	uint8_t stranger[32];

	assert_true(crypto_init() >= 0);
	wgp_init(&net, 3);
	wgp_link(&net, 0, 1, NULL);
	wgp_link(&net, 0, 2, NULL);
	for (int i = 0; i < 3; i++)
		wgp_send_ip(&net, 0, 1, "to-one", 6);
	wgp_deliver(&net); /* the handshake first: no crossing initiations */
	wgp_send_ip(&net, 1, 0, "to-zero", 7);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[0], "to-zero", 7));

	device_status(&net, 0, &st);
	assert_int_equal(st.n_peers, 2);
	conn_counters_fill(&s1, net.nodes[1].pub, &st);
	conn_counters_fill(&s2, net.nodes[2].pub, &st);
	memset(stranger, 0x42, sizeof(stranger));
	conn_counters_fill(&s3, stranger, &st);
	net_status_free(&st);

	assert_true(s1.has_counters);
	assert_true(s1.has_packet_counters);
	assert_int_equal(s1.tx_packets, 3);
	assert_int_equal(s1.rx_packets, 1);
	assert_int_equal(s1.handshakes, 1);
	assert_true(s1.tx_bytes > 0 && s1.rx_bytes > 0);
	assert_true(s1.last_handshake_sec > 1600000000ULL);

	/* On the device, never spoken to: counters present, all zero. */
	assert_true(s2.has_counters);
	assert_int_equal(s2.tx_packets + s2.rx_packets + s2.handshakes, 0);
	assert_int_equal(s2.rx_bytes + s2.tx_bytes + s2.last_handshake_sec, 0);

	assert_false(s3.has_counters);
	assert_false(s3.has_packet_counters);
	wgp_free(&net);
}

#define KEY_B "c2d1e2e0bd3a0a0e9b1f0a2e4d6f8c1b3a5d7e9f0c2e4a6b8d0f1e3c5a7b9d1f"

/* A reply as wireguard-go writes it: bytes and handshake time, no packets. */
static void test_no_packet_counters(void **state)
{
	static const char reply[] = "public_key=" KEY_B "\nlast_handshake_time_sec=1764096000\n"
				    "tx_bytes=1000\nrx_bytes=2000\nerrno=0\n\n";
	struct net_status st = { 0 };
	struct conn_peer_status s = { 0 };
	uint8_t key[32];

	assert_int_equal(net_uapi_parse_status(reply, &st), 0);
	wgp_hex_decode(key, KEY_B);
	conn_counters_fill(&s, key, &st);
	net_status_free(&st);
	assert_true(s.has_counters);
	assert_false(s.has_packet_counters);
	assert_int_equal(s.tx_bytes, 1000);
	assert_int_equal(s.rx_bytes, 2000);
	assert_int_equal(s.last_handshake_sec, 1764096000);
	assert_int_equal(s.rx_packets + s.tx_packets + s.handshakes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_by_key),
		cmocka_unit_test(test_no_packet_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
