/*
 * test_uapi: the cross-platform UAPI on an in-memory device: every key set
 * and read back, each kind of bad input answered with the right errno and
 * leaving the device exactly as it was (a get dump is compared before and
 * after), peer flags, the bind failure path, and counters after a real
 * handshake between two engines (bytes, exact packets each way, and
 * handshakes again after a rekey).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/messages.h"
#include "wg/wg.h"
#include "wgpair.h"

/* A device whose socket layer we control: bind can be made to fail. */
struct fake_io {
	int bind_error;
	uint16_t bound;
	uint32_t mark;
};

static int fake_udp_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *b, size_t n)
{
	return 0;
}

static int fake_tun_write(void *ctx, const uint8_t *pkt, size_t len)
{
	return 0;
}

static int fake_bind(void *ctx, uint16_t port, uint16_t *bound)
{
	struct fake_io *io = ctx;

	if (io->bind_error)
		return io->bind_error;
	io->bound = port ? port : 40000;
	*bound = io->bound;
	return 0;
}

static int fake_fwmark(void *ctx, uint32_t mark)
{
	((struct fake_io *)ctx)->mark = mark;
	return 0;
}

static const struct wg_io_ops fake_ops = {
	.udp_send = fake_udp_send,
	.tun_write = fake_tun_write,
	.bind_port = fake_bind,
	.set_fwmark = fake_fwmark,
};

struct fixture {
	struct fake_io io;
	struct wg_device *dev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || crypto_init() < 0 || wg_device_new(&f->dev, &fake_ops, &f->io) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wg_device_free(f->dev);
	free(f);
	return 0;
}

/* Runs a request; returns the reply's errno value and, if out, the reply. */
static int uapi(struct fixture *f, const char *req, char **out)
{
	char *reply = NULL;
	int ret = wg_device_uapi(f->dev, req, strlen(req), &reply);

	if (ret < 0)
		return ret;
	const char *e = strstr(reply, "errno=");

	assert_non_null(e);
	/* The errno line ends the reply, followed by the blank line. */
	assert_string_equal(e + strcspn(e, "\n"), "\n\n");
	ret = atoi(e + 6);
	if (out)
		*out = reply;
	else
		free(reply);
	return ret;
}

static char *get(struct fixture *f)
{
	char *reply = NULL;

	assert_int_equal(uapi(f, "get=1\n\n", &reply), 0);
	return reply;
}

static const char K1[] = "a8ddea8ae8bb4e9fc57ea5ba0ec3f1a4b5ad2c3f8b61d14db2e7f1b9d1c3e451";
static const char P1[] = "2d9c1a4a3d4e0e5a1a59fd4c9f0b4e6d7b8c9d0e1f2031425364758697a8b9c0";
static const char P2[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
static const char PSK[] = "5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f";

static void configure(struct fixture *f)
{
	char req[1024];

	snprintf(req, sizeof(req),
		 "set=1\nprivate_key=%s\nlisten_port=51820\nfwmark=4660\n"
		 "public_key=%s\npreshared_key=%s\nendpoint=192.0.2.7:51821\n"
		 "persistent_keepalive_interval=25\nallowed_ip=10.0.0.9/24\n"
		 "allowed_ip=fd00::1/64\nprotocol_version=1\n"
		 "public_key=%s\nendpoint=[2001:db8::5]:7000\nallowed_ip=10.9.0.0/16\n\n",
		 K1, P1, PSK, P2);
	assert_int_equal(uapi(f, req, NULL), 0);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char want[2048];

	configure(f);
	/* Turning on persistent keepalive starts a handshake at once (148 bytes
	 * sent, counted in tx_bytes as wireguard-go counts them). */
	assert_int_equal(f->io.bound, 51820);
	assert_int_equal(f->io.mark, 4660);
	char *got = get(f);

	snprintf(want, sizeof(want),
		 "private_key=%s\nlisten_port=51820\nfwmark=4660\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "endpoint=192.0.2.7:51821\nlast_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\ntx_bytes=148\nrx_bytes=0\n"
		 "persistent_keepalive_interval=25\ntx_packets=0\nrx_packets=0\nhandshakes=0\n"
		 "allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"
		 "public_key=%s\npreshared_key=%064d\nprotocol_version=1\n"
		 "endpoint=[2001:db8::5]:7000\nlast_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
		 "persistent_keepalive_interval=0\ntx_packets=0\nrx_packets=0\nhandshakes=0\n"
		 "allowed_ip=10.9.0.0/16\nerrno=0\n\n",
		 K1, P1, PSK, P2, 0);
	assert_string_equal(got, want);
	free(got);
}

/* Each request is refused with the given errno and changes nothing. */
static void expect_refused(struct fixture *f, const char *req, int want)
{
	char *before = get(f), *after;

	assert_int_equal(uapi(f, req, NULL), want);
	after = get(f);
	if (strcmp(before, after) != 0)
		fail_msg("request changed the device:\n%s\nbefore:\n%s\nafter:\n%s", req, before,
			 after);
	free(before);
	free(after);
}

static void test_bad_input_changes_nothing(void **state)
{
	struct fixture *f = *state;
	char req[512];

	configure(f);
	expect_refused(f, "set=1\nbogus=1\n\n", -EINVAL);
	expect_refused(f, "set=1\nlisten_port=70000\n\n", -EINVAL);
	expect_refused(f, "set=1\nlisten_port=-1\n\n", -EINVAL);
	expect_refused(f, "set=1\nlisten_port=12ab\n\n", -EINVAL);
	expect_refused(f, "set=1\nprivate_key=zz\n\n", -EINVAL);
	expect_refused(f, "set=1\nprivate_key=a8ddea8ae8bb4e9fc57ea5ba0ec3f1a4b5ad2c3f8b61d14db2e7f1b9d1c3e45\n\n",
		       -EINVAL);
	expect_refused(f, "set=1\nfwmark=4294967296\n\n", -EINVAL);
	expect_refused(f, "set=1\nreplace_peers=maybe\n\n", -EINVAL);
	/* A peer key before any public_key line. */
	expect_refused(f, "set=1\nendpoint=192.0.2.1:1\n\n", -EINVAL);
	static const char *const bad_peer_lines[] = {
		"endpoint=999.1.1.1:5",	 "endpoint=192.0.2.1",	     "endpoint=[::1:5",
		"endpoint=192.0.2.1:65536", "allowed_ip=10.0.0.0/33", "allowed_ip=fd00::/129",
		"allowed_ip=banana",	 "allowed_ip=10.0.0.0",	     "persistent_keepalive_interval=65536",
		"remove=yes",		 "update_only=1",	     "preshared_key=00",
		"protocol_version=2",	 "replace_allowed_ips=no",
	};
	for (size_t i = 0; i < sizeof(bad_peer_lines) / sizeof(bad_peer_lines[0]); i++) {
		snprintf(req, sizeof(req), "set=1\npublic_key=%s\n%s\n\n", P1, bad_peer_lines[i]);
		expect_refused(f, req, -EINVAL);
	}
	/* Valid changes followed by one bad line: the whole request is refused. */
	snprintf(req, sizeof(req),
		 "set=1\nlisten_port=9999\nreplace_peers=true\npublic_key=%s\nallowed_ip=banana\n\n",
		 P2);
	expect_refused(f, req, -EINVAL);
	expect_refused(f, "set=1\nno-equals-sign\n\n", -EPROTO);
}

static void test_unknown_operation(void **state)
{
	struct fixture *f = *state;
	char *reply = NULL;

	assert_int_equal(wg_device_uapi(f->dev, "hello=1\n\n", 9, &reply), -EPROTO);
	free(reply);
	assert_int_equal(wg_device_uapi(f->dev, "", 0, &reply), -EPROTO);
	free(reply);
}

static void test_bind_failure_changes_nothing(void **state)
{
	struct fixture *f = *state;
	char req[256];

	configure(f);
	f->io.bind_error = -EADDRINUSE;
	snprintf(req, sizeof(req), "set=1\nlisten_port=40001\nreplace_peers=true\n\n");
	expect_refused(f, req, -EADDRINUSE);
	f->io.bind_error = 0;
	assert_int_equal(f->io.bound, 51820);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	for (size_t i = 0; s[i]; i++)
		n += strncmp(s + i, needle, len) == 0;
	return n;
}

static void test_peer_flags(void **state)
{
	struct fixture *f = *state;
	char req[512], *g;

	configure(f);
	/* update_only does not create a peer. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%064d\nupdate_only=true\nallowed_ip=10.5.0.0/16\n\n", 7);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_int_equal(count(g, "public_key="), 2);
	assert_null(strstr(g, "10.5.0.0"));
	free(g);
	/* update_only on an existing peer updates it. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nupdate_only=true\nallowed_ip=10.6.0.0/16\n\n", P2);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_non_null(strstr(g, "allowed_ip=10.6.0.0/16"));
	free(g);
	/* replace_allowed_ips drops the old list. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.1.2.3/32\n\n", P1);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_null(strstr(g, "10.0.0.0/24"));
	assert_null(strstr(g, "fd00::/64"));
	assert_non_null(strstr(g, "allowed_ip=10.1.2.3/32"));
	free(g);
	/* An all-zero preshared key clears it. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\npreshared_key=%064d\n\n", P1, 0);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_null(strstr(g, PSK));
	free(g);
	/* remove deletes the peer and its allowed IPs. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nremove=true\n\n", P1);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_null(strstr(g, P1));
	assert_null(strstr(g, "10.1.2.3"));
	assert_int_equal(count(g, "public_key="), 1);
	free(g);
	/* replace_peers drops everyone not named after it. */
	snprintf(req, sizeof(req), "set=1\nreplace_peers=true\npublic_key=%s\n\n", P1);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_null(strstr(g, P2));
	assert_non_null(strstr(g, P1));
	free(g);
}

static void test_own_key_ignored_and_zero_key_clears(void **state)
{
	struct fixture *f = *state;
	uint8_t priv[32], pub[32];
	char privhex[65], pubhex[65], req[512], *g;

	crypto_x25519_generate(priv, pub);
	wgp_key_hex(privhex, priv);
	wgp_key_hex(pubhex, pub);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\npublic_key=%s\nallowed_ip=10.0.0.1/32\n\n",
		 privhex, pubhex);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_non_null(strstr(g, privhex));
	assert_null(strstr(g, "public_key="));
	free(g);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%064d\n\n", 0);
	assert_int_equal(uapi(f, req, NULL), 0);
	g = get(f);
	assert_null(strstr(g, "private_key="));
	free(g);
}

static uint64_t peer_u64(struct wgp_net *net, int a, int b, const char *key)
{
	char v[64];

	assert_true(wgp_get_peer_value(net, a, b, key, v, sizeof(v)));
	return strtoull(v, NULL, 10);
}

/* Each side's packet and handshake counters for its peer. */
static void assert_counts(struct wgp_net *net, uint64_t tx0, uint64_t rx0, uint64_t hs)
{
	assert_int_equal(peer_u64(net, 0, 1, "tx_packets"), tx0);
	assert_int_equal(peer_u64(net, 0, 1, "rx_packets"), rx0);
	assert_int_equal(peer_u64(net, 1, 0, "tx_packets"), rx0);
	assert_int_equal(peer_u64(net, 1, 0, "rx_packets"), tx0);
	assert_int_equal(peer_u64(net, 0, 1, "handshakes"), hs);
	assert_int_equal(peer_u64(net, 1, 0, "handshakes"), hs);
}

/* Counters and the handshake time after a real handshake between two
 * engines; packets counted one per IP packet (not the keepalive that
 * confirms a session), handshakes once per session on each side. */
static void test_stats_after_handshake(void **state)
{
	enum { N = 5 };
	struct wgp_net net;
	char v[64];

	time_fake_set(1000 * TIME_NS_PER_SEC);
	wgp_init(&net, 2);
	wgp_link(&net, 0, 1, NULL);
	assert_true(wgp_get_peer_value(&net, 0, 1, "last_handshake_time_sec", v, sizeof(v)));
	assert_string_equal(v, "0");
	assert_counts(&net, 0, 0, 0);
	wgp_send_ip(&net, 0, 1, "hello", 5);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[1], "hello", 5));
	assert_true(peer_u64(&net, 0, 1, "last_handshake_time_sec") > 1600000000ULL);
	assert_true(peer_u64(&net, 0, 1, "tx_bytes") > 0);
	assert_true(peer_u64(&net, 1, 0, "rx_bytes") > 0);
	assert_true(wgp_get_peer_value(&net, 1, 0, "endpoint", v, sizeof(v)));
	assert_string_equal(v, "192.0.2.1:51820");
	for (int i = 1; i < N; i++)
		wgp_send_ip(&net, 0, 1, "more", 4);
	for (int i = 0; i < N; i++)
		wgp_send_ip(&net, 1, 0, "back", 4);
	wgp_deliver(&net);
	assert_counts(&net, N, N, 1);

	/* Keys past REKEY_AFTER_TIME: the initiator's next packet still
	 * leaves under them and starts a new handshake. */
	time_fake_advance(WG_REKEY_AFTER_TIME + TIME_NS_PER_SEC);
	usleep(20000); /* a newer (coarsened, wall-clock) TAI64N for the initiation */
	wgp_send_ip(&net, 0, 1, "rekey", 5);
	assert_int_equal(wgp_count_type(&net, WG_MSG_INITIATION), 1);
	wgp_deliver(&net);
	assert_true(wgp_tun_has(&net.nodes[1], "rekey", 5));
	assert_counts(&net, N + 1, N, 2);
	wgp_free(&net);
	time_fake_set(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_operation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_failure_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_key_ignored_and_zero_key_clears, setup,
						teardown),
		cmocka_unit_test(test_stats_after_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
