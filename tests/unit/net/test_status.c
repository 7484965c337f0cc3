/*
 * test_status: the UAPI text of the userspace backend. Parsing get replies
 * (a hand-written one with every field, malformed ones refused, errno
 * replies), building set requests (exact text), and the round trip through
 * real in-memory devices (tests/lib/wgpair): our requests are accepted, a
 * real handshake shows up in the parsed status with its byte counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "net/net_uapi.h"
#include "wgpair.h"

#define KEY_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define KEY_B "c2d1e2e0bd3a0a0e9b1f0a2e4d6f8c1b3a5d7e9f0c2e4a6b8d0f1e3c5a7b9d1f"
#define KEY_C "0101010101010101010101010101010101010101010101010101010101010101"

static const char reply_full[] =
	"private_key=" KEY_A "\n"
	"listen_port=51820\n"
	"fwmark=7\n"
	"public_key=" KEY_B "\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.2:51821\n"
	"last_handshake_time_sec=1764096000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=1000\n"
	"rx_bytes=2000\n"
	"persistent_keepalive_interval=25\n"
	"tx_packets=10\n"
	"rx_packets=20\n"
	"handshakes=3\n"
	"allowed_ip=10.66.0.2/32\n"
	"allowed_ip=fd66::2/128\n"
	"public_key=" KEY_C "\n"
	"endpoint=[2001:db8::1]:4000\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"some_future_key=whatever\n"
	"errno=0\n\n";

static void hex_key(uint8_t out[32], const char *hex)
{
	wgp_hex_decode(out, hex);
}

static void test_parse_full(void **state)
{
	struct net_status st = { 0 };
	uint8_t priv[32], pub[32], key[32];
	char text[80];

	assert_int_equal(net_uapi_parse_status(reply_full, &st), 0);
	hex_key(priv, KEY_A);
	crypto_x25519_public(pub, priv);
	assert_true(st.has_public_key);
	assert_memory_equal(st.public_key, pub, 32);
	assert_int_equal(st.listen_port, 51820);
	assert_int_equal(st.fwmark, 7);
	assert_int_equal(st.n_peers, 2);

	hex_key(key, KEY_B);
	assert_memory_equal(st.peers[0].public_key, key, 32);
	assert_true(st.peers[0].has_endpoint);
	wg_endpoint_format(&st.peers[0].endpoint, text, sizeof(text));
	assert_string_equal(text, "192.0.2.2:51821");
	assert_int_equal(st.peers[0].last_handshake_sec, 1764096000);
	assert_int_equal(st.peers[0].last_handshake_nsec, 123456789);
	assert_int_equal(st.peers[0].tx_bytes, 1000);
	assert_int_equal(st.peers[0].rx_bytes, 2000);
	assert_int_equal(st.peers[0].keepalive, 25);
	assert_true(st.peers[0].has_packet_counters);
	assert_int_equal(st.peers[0].tx_packets, 10);
	assert_int_equal(st.peers[0].rx_packets, 20);
	assert_int_equal(st.peers[0].handshakes, 3);
	assert_int_equal(st.peers[0].n_allowed_ips, 2);
	net_allowed_ip_format(&st.peers[0].allowed_ips[0], text, sizeof(text));
	assert_string_equal(text, "10.66.0.2/32");
	net_allowed_ip_format(&st.peers[0].allowed_ips[1], text, sizeof(text));
	assert_string_equal(text, "fd66::2/128");

	hex_key(key, KEY_C);
	assert_memory_equal(st.peers[1].public_key, key, 32);
	wg_endpoint_format(&st.peers[1].endpoint, text, sizeof(text));
	assert_string_equal(text, "[2001:db8::1]:4000");
	assert_int_equal(st.peers[1].last_handshake_sec, 0);
	assert_int_equal(st.peers[1].n_allowed_ips, 0);
	assert_int_equal(st.peers[1].keepalive, 0);
	/* No packet counters in its section, as wireguard-go writes it. */
	assert_false(st.peers[1].has_packet_counters);
	net_status_free(&st);
	assert_null(st.peers);
}

static void test_parse_empty_device(void **state)
{
	struct net_status st = { 0 };

	assert_int_equal(net_uapi_parse_status("errno=0\n\n", &st), 0);
	assert_false(st.has_public_key);
	assert_int_equal(st.listen_port, 0);
	assert_int_equal(st.n_peers, 0);
	net_status_free(&st);
}

static void test_parse_refused(void **state)
{
	static const char *const bad[] = {
		"listen_port=65536\nerrno=0\n\n",
		"listen_port=-1\nerrno=0\n\n",
		"listen_port=\nerrno=0\n\n",
		"listen_port=80x\nerrno=0\n\n",
		"private_key=abcd\nerrno=0\n\n",
		"private_key=" KEY_A "00\nerrno=0\n\n",
		"public_key=zz" KEY_A "\nerrno=0\n\n",
		"public_key=" KEY_B "\nallowed_ip=10.66.0.300/32\nerrno=0\n\n",
		"public_key=" KEY_B "\nallowed_ip=10.66.0.3/33\nerrno=0\n\n",
		"public_key=" KEY_B "\nallowed_ip=10.66.0.3/\nerrno=0\n\n",
		"public_key=" KEY_B "\nendpoint=nowhere\nerrno=0\n\n",
		"public_key=" KEY_B "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
		"public_key=" KEY_B "\npersistent_keepalive_interval=65536\nerrno=0\n\n",
		"public_key=" KEY_B "\ntx_bytes=18446744073709551616\nerrno=0\n\n",
		"public_key=" KEY_B "\nrx_packets=12a\nerrno=0\n\n",
		"a line without equals\nerrno=0\n\n",
		"listen_port=1\n\n", /* no errno at all */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct net_status st = { 0 };

		if (net_uapi_parse_status(bad[i], &st) != -EPROTO)
			fail_msg("accepted or wrong error: %s", bad[i]);
		assert_null(st.peers);
		assert_int_equal(st.n_peers, 0);
	}
}

static void test_reply_errno(void **state)
{
	struct net_status st = { 0 };

	assert_int_equal(net_uapi_reply_errno("errno=0\n\n"), 0);
	assert_int_equal(net_uapi_reply_errno("errno=22\n\n"), -EINVAL);
	assert_int_equal(net_uapi_reply_errno("errno=-98\n\n"), -EADDRINUSE);
	assert_int_equal(net_uapi_reply_errno("xerrno=0\n\n"), -EPROTO);
	assert_int_equal(net_uapi_reply_errno("errno=\n\n"), -EPROTO);
	assert_int_equal(net_uapi_reply_errno("errno=99999\n\n"), -EPROTO);
	assert_int_equal(net_uapi_reply_errno("listen_port=1\nerrno=12\n\n"), -ENOMEM);
	assert_int_equal(net_uapi_parse_status("errno=12\n\n", &st), -ENOMEM);
}

static void test_requests(void **state)
{
	struct net_allowed_ip aips[2];
	struct net_peer_config p = { 0 };
	uint8_t key[32];
	char *req;

	hex_key(key, KEY_A);
	assert_int_equal(net_uapi_device_request(key, 0, &req), 0);
	assert_string_equal(req, "set=1\nprivate_key=" KEY_A "\nlisten_port=0\n\n");
	free(req);

	hex_key(p.public_key, KEY_B);
	assert_int_equal(net_uapi_peer_request(&p, &req), 0);
	assert_string_equal(req, "set=1\npublic_key=" KEY_B "\npersistent_keepalive_interval=0\n"
				 "replace_allowed_ips=true\n\n");
	free(req);

	assert_int_equal(net_allowed_ip_parse(&aips[0], "10.66.0.2"), 0);
	assert_int_equal(net_allowed_ip_parse(&aips[1], "fd66::/64"), 0);
	p.allowed_ips = aips;
	p.n_allowed_ips = 2;
	p.has_endpoint = true;
	assert_int_equal(wg_endpoint_parse(&p.endpoint, "192.0.2.9:51820"), 0);
	p.keepalive = 25;
	assert_int_equal(net_uapi_peer_request(&p, &req), 0);
	assert_string_equal(req, "set=1\npublic_key=" KEY_B "\nendpoint=192.0.2.9:51820\n"
				 "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
				 "allowed_ip=10.66.0.2/32\nallowed_ip=fd66::/64\n\n");
	free(req);

	assert_int_equal(net_uapi_remove_request(p.public_key, &req), 0);
	assert_string_equal(req, "set=1\npublic_key=" KEY_B "\nupdate_only=true\nremove=true\n\n");
	free(req);
}

static void test_allowed_ip_parse(void **state)
{
	static const char *const bad[] = { "", "/32", "10.0.0.1/", "10.0.0.1/+3", "10.0.0.1/ 3",
					   "10.0.0.1/33", "::/129", "host/32", "10.0.0.1/3x" };
	struct net_allowed_ip a;

	assert_int_equal(net_allowed_ip_parse(&a, "0.0.0.0/0"), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.cidr, 0);
	assert_int_equal(net_allowed_ip_parse(&a, "::1"), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.cidr, 128);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(net_allowed_ip_parse(&a, bad[i]), -EINVAL);
}

/* Our requests configure a real device; a real handshake then shows in the
 * parsed status. */
static void test_round_trip(void **state)
{
	struct wgp_net net;
	struct net_peer_config p = { 0 };
	struct net_allowed_ip aip;
	struct net_status st = { 0 };
	char *req, *reply;
	uint8_t pub1[32];

	wgp_init(&net, 2);
	memcpy(pub1, net.nodes[1].pub, 32);
	/* Node 0 gets node 1 through our request; node 1 gets node 0 via wgpair. */
	memcpy(p.public_key, pub1, 32);
	p.has_endpoint = true;
	p.endpoint = net.nodes[1].addr;
	p.keepalive = 25;
	assert_int_equal(net_allowed_ip_parse(&aip, "10.0.0.2/32"), 0);
	p.allowed_ips = &aip;
	p.n_allowed_ips = 1;
	assert_int_equal(net_uapi_peer_request(&p, &req), 0);
	assert_int_equal(wgp_uapi(&net, 0, req, NULL), 0);
	free(req);
	wgp_add_peer(&net, 1, 0, NULL);

	wgp_send_ip(&net, 0, 1, "hello", 5);
	assert_true(wgp_deliver(&net) > 0);
	assert_true(wgp_tun_has(&net.nodes[1], "hello", 5));
	wgp_send_ip(&net, 1, 0, "back", 4);
	wgp_send_ip(&net, 1, 0, "again", 5);
	assert_true(wgp_deliver(&net) > 0);
	assert_true(wgp_tun_has(&net.nodes[0], "again", 5));

	assert_int_equal(wgp_uapi(&net, 0, "get=1\n\n", &reply), 0);
	assert_int_equal(net_uapi_parse_status(reply, &st), 0);
	free(reply);
	assert_memory_equal(st.public_key, net.nodes[0].pub, 32);
	assert_int_equal(st.n_peers, 1);
	assert_memory_equal(st.peers[0].public_key, pub1, 32);
	assert_true(st.peers[0].last_handshake_sec > 0);
	assert_true(st.peers[0].tx_bytes > 0);
	assert_true(st.peers[0].rx_bytes > 0);
	assert_int_equal(st.peers[0].keepalive, 25);
	assert_true(st.peers[0].has_packet_counters);
	assert_int_equal(st.peers[0].tx_packets, 1);
	assert_int_equal(st.peers[0].rx_packets, 2);
	assert_int_equal(st.peers[0].handshakes, 1);
	assert_int_equal(st.peers[0].n_allowed_ips, 1);
	net_status_free(&st);

	/* Remove it through our request: the status has no peer left. */
	assert_int_equal(net_uapi_remove_request(pub1, &req), 0);
	assert_int_equal(wgp_uapi(&net, 0, req, NULL), 0);
	free(req);
	assert_int_equal(wgp_uapi(&net, 0, "get=1\n\n", &reply), 0);
	assert_int_equal(net_uapi_parse_status(reply, &st), 0);
	free(reply);
	assert_int_equal(st.n_peers, 0);
	net_status_free(&st);
	wgp_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_empty_device),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_reply_errno),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_allowed_ip_parse),
		cmocka_unit_test(test_round_trip),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
