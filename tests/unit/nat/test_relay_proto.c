/*
 * test_relay_proto: the relay frame codec (docs/RELAY.md). Round trips of
 * every frame type; the BIND proof (right key, wrong client key, wrong relay,
 * tampered fields, low-order key, timestamps outside the window, replays) and
 * the BOUND proof (nonce, relay key, lifetime); v2's BIND layout (cookie and
 * ticket covered by the MAC) and the COOKIE frame; UNBOUND (the echo of the
 * SEND's last bytes, never larger than the SEND) and CLOCK (the relay's time
 * under the BIND's key, its nonce); every type truncated at every
 * length, with trailing bytes, bad magic, version and type; builder errors;
 * the in-place SEND -> DELIVER rewrite; demultiplexing from WireGuard and
 * STUN. Clocks are plain numbers: nothing here depends on timing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "nat/relay_proto.h"

#define NOW 1764095000000ULL /* some Unix time in ms */

struct keys {
	uint8_t client_priv[32], client_pub[32];
	uint8_t relay_priv[32], relay_pub[32];
	uint8_t other_priv[32], other_pub[32];
};

static struct keys K;
static const uint8_t NONCE[RELAY_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t COOKIE[RELAY_COOKIE_LEN] = { 0xc0, 0x0c, 0x1e, 3,  4,  5,  6,  7,
						  8,    9,    10,   11, 12, 13, 14, 15 };
static uint8_t TICKET[RELAY_TICKET_LEN];

static int setup(void **state)
{
	(void)state;
	if (crypto_init())
		return -1;
	crypto_x25519_generate(K.client_priv, K.client_pub);
	crypto_x25519_generate(K.relay_priv, K.relay_pub);
	crypto_x25519_generate(K.other_priv, K.other_pub);
	for (size_t i = 0; i < sizeof(TICKET); i++)
		TICKET[i] = (uint8_t)(0x70 + i);
	return 0;
}

static size_t make_bind(uint8_t *buf, uint64_t ts)
{
	int n = relay_build_bind(buf, RELAY_BIND_LEN, K.client_priv, K.relay_pub, ts, NONCE, COOKIE,
				 TICKET);

	assert_int_equal(n, RELAY_BIND_LEN);
	return (size_t)n;
}

static int verify_bind_bytes(const uint8_t *buf, size_t len, uint64_t now, uint64_t last)
{
	struct relay_frame f;

	assert_int_equal(relay_parse(buf, len, &f), 0);
	return relay_verify_bind(&f, K.relay_priv, now, last, NULL);
}

static void test_bind_roundtrip(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];
	struct relay_frame f;

	(void)state;
	make_bind(buf, NOW);
	assert_int_equal(buf[0], 'L');
	assert_int_equal(buf[1], 'R');
	assert_int_equal(buf[2], 2);
	assert_int_equal(buf[3], RELAY_BIND);
	assert_int_equal(sizeof(buf), 180);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, RELAY_BIND);
	assert_memory_equal(f.key, K.client_pub, 32);
	assert_int_equal(f.timestamp_ms, NOW);
	assert_memory_equal(f.nonce, NONCE, RELAY_NONCE_LEN);
	assert_ptr_equal(f.nonce, buf + 44);
	assert_ptr_equal(f.cookie, buf + 60);
	assert_memory_equal(f.cookie, COOKIE, RELAY_COOKIE_LEN);
	assert_ptr_equal(f.ticket, buf + 76);
	assert_memory_equal(f.ticket, TICKET, RELAY_TICKET_LEN);
	assert_ptr_equal(f.mac, buf + 148);
	/* Big-endian timestamp right after the key. */
	assert_int_equal(buf[36 + 7], NOW & 0xff);
	assert_int_equal(buf[36], (NOW >> 56) & 0xff);
}

/* The whole exchange: the relay's k makes a BOUND the client accepts. */
static void test_bind_bound_exchange(void **state)
{
	uint8_t bind[RELAY_BIND_LEN], bound[RELAY_BOUND_LEN], k[32];
	struct relay_frame f, g;

	(void)state;
	make_bind(bind, NOW);
	assert_int_equal(relay_parse(bind, sizeof(bind), &f), 0);
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW + 1000, 0, k), 0);
	assert_int_equal(relay_build_bound(bound, sizeof(bound), k, f.nonce, 120), RELAY_BOUND_LEN);
	assert_int_equal(relay_parse(bound, sizeof(bound), &g), 0);
	assert_int_equal(g.type, RELAY_BOUND);
	assert_int_equal(g.lifetime_s, 120);
	assert_memory_equal(g.nonce, NONCE, RELAY_NONCE_LEN);
	assert_int_equal(relay_verify_bound(&g, K.client_priv, K.relay_pub, NONCE), 0);
}

static void test_bind_wrong_client_key(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];

	(void)state;
	make_bind(buf, NOW);
	/* Claims another key with our MAC: someone without that private key. */
	memcpy(buf + 4, K.other_pub, 32);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, 0), -EBADMSG);
}

static void test_bind_wrong_relay(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];
	struct relay_frame f;

	(void)state;
	/* Made for relay "other", shown to our relay. */
	assert_int_equal(relay_build_bind(buf, sizeof(buf), K.client_priv, K.other_pub, NOW, NONCE,
					  NULL, NULL),
			 RELAY_BIND_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW, 0, NULL), -EBADMSG);
	assert_int_equal(relay_verify_bind(&f, K.other_priv, NOW, 0, NULL), 0);
}

static void test_bind_tampered(void **state)
{
	uint8_t buf[RELAY_BIND_LEN], bad[RELAY_BIND_LEN];

	(void)state;
	make_bind(buf, NOW);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, 0), 0);
	/* Every byte after the header (cookie and ticket included: a cookie or a
	 * ticket cannot be swapped into someone else's BIND) is covered by the
	 * MAC or is the MAC. A
	 * flipped bit in timestamp bytes 36..40 moves it by >= 2^24 ms, out of
	 * the window (checked first); in bytes 41..43 it stays inside. */
	for (size_t i = 4; i < sizeof(buf); i++) {
		memcpy(bad, buf, sizeof(buf));
		bad[i] ^= 0x01;
		assert_int_equal(verify_bind_bytes(bad, sizeof(bad), NOW, 0),
				 i >= 36 && i <= 40 ? -ESTALE : -EBADMSG);
	}
}

static void test_bind_low_order_key(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];

	(void)state;
	make_bind(buf, NOW);
	memset(buf + 4, 0, 32); /* the zero point: X25519 gives all zeros */
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, 0), -EBADMSG);
}

static void test_bind_stale(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];

	(void)state;
	make_bind(buf, NOW);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW + RELAY_BIND_WINDOW_MS, 0), 0);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW - RELAY_BIND_WINDOW_MS, 0), 0);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW + RELAY_BIND_WINDOW_MS + 1, 0),
			 -ESTALE);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW - RELAY_BIND_WINDOW_MS - 1, 0),
			 -ESTALE);
	/* Extreme clocks do not wrap around. */
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), 0, 0), -ESTALE);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), UINT64_MAX, 0), -ESTALE);
	make_bind(buf, UINT64_MAX);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, 0), -ESTALE);
}

static void test_bind_replay(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];

	(void)state;
	make_bind(buf, NOW);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, NOW - 1), 0);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, NOW), -ESTALE);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, NOW + 5), -ESTALE);
	/* A forged frame is a bad MAC even with an old timestamp: it learns
	 * nothing about the last accepted one. */
	buf[RELAY_BIND_LEN - 1] ^= 0x80;
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, NOW + 5), -EBADMSG);
}

static void test_bound_checks(void **state)
{
	uint8_t bind[RELAY_BIND_LEN], bound[RELAY_BOUND_LEN], bad[RELAY_BOUND_LEN], k[32];
	uint8_t other_nonce[RELAY_NONCE_LEN];
	struct relay_frame f;

	(void)state;
	make_bind(bind, NOW);
	assert_int_equal(relay_parse(bind, sizeof(bind), &f), 0);
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW, 0, k), 0);
	relay_build_bound(bound, sizeof(bound), k, NONCE, 120);
	assert_int_equal(relay_parse(bound, sizeof(bound), &f), 0);
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub, NONCE), 0);
	/* Another BIND's nonce, another relay, another client. */
	memcpy(other_nonce, NONCE, sizeof(other_nonce));
	other_nonce[0] ^= 1;
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub, other_nonce), -EBADMSG);
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.other_pub, NONCE), -EBADMSG);
	assert_int_equal(relay_verify_bound(&f, K.other_priv, K.relay_pub, NONCE), -EBADMSG);
	for (size_t i = 4; i < sizeof(bound); i++) {
		memcpy(bad, bound, sizeof(bound));
		bad[i] ^= 0x10;
		assert_int_equal(relay_parse(bad, sizeof(bad), &f), 0);
		assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub,
						    i < 20 ? bad + 4 : NONCE),
				 -EBADMSG);
	}
	/* A BOUND from a relay that knows no k: all zero MAC. */
	relay_build_bound(bad, sizeof(bad), (const uint8_t[32]){ 0 }, NONCE, 120);
	assert_int_equal(relay_parse(bad, sizeof(bad), &f), 0);
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub, NONCE), -EBADMSG);
}

static void test_verify_wrong_type(void **state)
{
	uint8_t buf[RELAY_PING_LEN], n8[8] = { 0 };
	struct relay_frame f;

	(void)state;
	relay_build_ping(buf, sizeof(buf), RELAY_PING, n8);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW, 0, NULL), -EINVAL);
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub, NONCE), -EINVAL);
}

static void test_refused_roundtrip(void **state)
{
	uint8_t buf[RELAY_REFUSED_LEN];
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_build_refused(buf, sizeof(buf), NONCE, RELAY_REFUSED_STALE),
			 RELAY_REFUSED_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, RELAY_REFUSED);
	assert_int_equal(f.code, RELAY_REFUSED_STALE);
	assert_memory_equal(f.nonce, NONCE, RELAY_NONCE_LEN);
	relay_build_refused(buf, sizeof(buf), NULL, RELAY_REFUSED_FULL);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_true(crypto_is_zero(f.nonce, RELAY_NONCE_LEN));
	assert_int_equal(f.code, RELAY_REFUSED_FULL);
}

/* No cookie and no ticket: zeros, still covered by the MAC. */
static void test_bind_without_cookie_or_ticket(void **state)
{
	uint8_t buf[RELAY_BIND_LEN];
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_build_bind(buf, sizeof(buf), K.client_priv, K.relay_pub, NOW, NONCE,
					  NULL, NULL),
			 RELAY_BIND_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_true(crypto_is_zero(f.cookie, RELAY_COOKIE_LEN));
	assert_true(crypto_is_zero(f.ticket, RELAY_TICKET_LEN));
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW, 0, NULL), 0);
	assert_true(relay_bind_in_window(&f, NOW + RELAY_BIND_WINDOW_MS));
	assert_false(relay_bind_in_window(&f, NOW + RELAY_BIND_WINDOW_MS + 1));
	/* A cookie pasted into it afterwards breaks the MAC. */
	memcpy(buf + 60, COOKIE, RELAY_COOKIE_LEN);
	assert_int_equal(verify_bind_bytes(buf, sizeof(buf), NOW, 0), -EBADMSG);
}

/* COOKIE: nonce then cookie, 36 bytes, smaller than the BIND it answers. */
static void test_cookie_roundtrip(void **state)
{
	uint8_t buf[RELAY_COOKIE_FRAME_LEN];
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_build_cookie(buf, sizeof(buf), NONCE, COOKIE), 36);
	assert_true(RELAY_COOKIE_FRAME_LEN < RELAY_BIND_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, RELAY_COOKIE);
	assert_memory_equal(f.nonce, NONCE, RELAY_NONCE_LEN);
	assert_memory_equal(f.cookie, COOKIE, RELAY_COOKIE_LEN);
	assert_ptr_equal(f.cookie, buf + 20);
	assert_int_equal(relay_parse(buf, sizeof(buf) - 1, &f), -EINVAL);
}

static void test_keyed_roundtrip(void **state)
{
	static uint8_t buf[RELAY_MAX_FRAME], payload[RELAY_MAX_DATAGRAM];
	static const size_t lens[] = { 1, 32, 148, 1420, RELAY_MAX_DATAGRAM };
	struct relay_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (size_t t = RELAY_SEND; t <= RELAY_DELIVER; t++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			int n = relay_build_keyed(buf, sizeof(buf), t, K.other_pub, payload, lens[i]);

			assert_int_equal(n, 36 + lens[i]);
			assert_int_equal(relay_parse(buf, (size_t)n, &f), 0);
			assert_int_equal(f.type, t);
			assert_memory_equal(f.key, K.other_pub, 32);
			assert_int_equal(f.payload_len, lens[i]);
			assert_memory_equal(f.payload, payload, lens[i]);
		}
	}
}

/* The relay rewrites a SEND into its DELIVER in the same buffer. */
static void test_deliver_in_place(void **state)
{
	uint8_t buf[36 + 100], payload[100];
	struct relay_frame f;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	n = relay_build_keyed(buf, sizeof(buf), RELAY_SEND, K.other_pub, payload, sizeof(payload));
	assert_int_equal(relay_parse(buf, (size_t)n, &f), 0);
	n = relay_build_keyed(buf, (size_t)n, RELAY_DELIVER, K.client_pub, f.payload,
			      f.payload_len);
	assert_int_equal(n, sizeof(buf));
	assert_int_equal(relay_parse(buf, (size_t)n, &f), 0);
	assert_int_equal(f.type, RELAY_DELIVER);
	assert_memory_equal(f.key, K.client_pub, 32);
	assert_memory_equal(f.payload, payload, sizeof(payload));
}

static void test_unreachable_ping_pong(void **state)
{
	uint8_t buf[64], n8[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_build_unreachable(buf, sizeof(buf), K.other_pub), 36);
	assert_int_equal(relay_parse(buf, 36, &f), 0);
	assert_int_equal(f.type, RELAY_UNREACHABLE);
	assert_memory_equal(f.key, K.other_pub, 32);
	for (int t = RELAY_PING; t <= RELAY_PONG; t++) {
		assert_int_equal(relay_build_ping(buf, sizeof(buf), t, n8), RELAY_PING_LEN);
		assert_int_equal(relay_parse(buf, RELAY_PING_LEN, &f), 0);
		assert_int_equal(f.type, t);
		assert_memory_equal(f.nonce, n8, 8);
	}
}

/* UNBOUND echoes the last RELAY_ECHO_LEN bytes of the SEND it answers and
 * gives the cookie; a SEND shorter than the UNBOUND gets none (no answer is
 * larger than its cause), and the echo may come from the answer's own buffer. */
static void test_unbound_echoes_the_send(void **state)
{
	uint8_t send[200], payload[100], buf[RELAY_UNBOUND_LEN];
	struct relay_frame f;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	n = relay_build_keyed(send, sizeof(send), RELAY_SEND, K.other_pub, payload,
			      sizeof(payload));
	assert_int_equal(n, 136);
	assert_int_equal(relay_build_unbound(buf, sizeof(buf), send, (size_t)n, COOKIE),
			 RELAY_UNBOUND_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, RELAY_UNBOUND);
	assert_memory_equal(f.echo, payload + sizeof(payload) - RELAY_ECHO_LEN, RELAY_ECHO_LEN);
	assert_memory_equal(f.cookie, COOKIE, RELAY_COOKIE_LEN);
	assert_null(f.nonce);
	/* in place: the answer written over the SEND it answers */
	assert_int_equal(relay_build_unbound(send, sizeof(send), send, (size_t)n, COOKIE),
			 RELAY_UNBOUND_LEN);
	assert_memory_equal(send, buf, RELAY_UNBOUND_LEN);
	/* sizes: the smallest SEND answered is exactly as large as the answer */
	n = relay_build_keyed(send, sizeof(send), RELAY_SEND, K.other_pub, payload,
			      RELAY_UNBOUND_LEN - RELAY_KEYED_HDR_LEN);
	assert_int_equal(relay_build_unbound(buf, sizeof(buf), send, (size_t)n, COOKIE),
			 RELAY_UNBOUND_LEN);
	assert_int_equal(relay_build_unbound(buf, sizeof(buf), send, (size_t)n - 1, COOKIE),
			 -EINVAL);
	assert_int_equal(relay_build_unbound(buf, RELAY_UNBOUND_LEN - 1, send, (size_t)n, COOKIE),
			 -ENOSPC);
}

/* CLOCK: the relay's time, MACed with the BIND's key over the BIND's nonce.
 * Only the client whose BIND it answers accepts it, from that relay only,
 * untampered. */
static void test_clock_checks(void **state)
{
	uint8_t bind[RELAY_BIND_LEN], k[32], buf[RELAY_CLOCK_LEN], other_nonce[RELAY_NONCE_LEN];
	struct relay_frame f;

	(void)state;
	make_bind(bind, NOW - 2 * 3600 * 1000ULL); /* two hours behind */
	assert_int_equal(relay_parse(bind, sizeof(bind), &f), 0);
	assert_int_equal(relay_verify_bind(&f, K.relay_priv, NOW, 0, NULL), -ESTALE);
	/* the proof alone holds whatever the timestamp */
	assert_int_equal(relay_verify_bind_proof(&f, K.relay_priv, k), 0);
	assert_int_equal(relay_build_clock(buf, sizeof(buf), k, NONCE, NOW), RELAY_CLOCK_LEN);
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, RELAY_CLOCK);
	assert_int_equal(f.timestamp_ms, NOW);
	assert_int_equal(relay_verify_clock(&f, K.client_priv, K.relay_pub, NONCE), 0);
	/* another BIND's nonce, another client, another relay */
	memcpy(other_nonce, NONCE, sizeof(other_nonce));
	other_nonce[0] ^= 1;
	assert_int_equal(relay_verify_clock(&f, K.client_priv, K.relay_pub, other_nonce), -EBADMSG);
	assert_int_equal(relay_verify_clock(&f, K.other_priv, K.relay_pub, NONCE), -EBADMSG);
	assert_int_equal(relay_verify_clock(&f, K.client_priv, K.other_pub, NONCE), -EBADMSG);
	/* a time moved by one bit */
	buf[RELAY_HDR_LEN + RELAY_NONCE_LEN + 7] ^= 1;
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(relay_verify_clock(&f, K.client_priv, K.relay_pub, NONCE), -EBADMSG);
	/* a BOUND is not a CLOCK, nor the other way round */
	assert_int_equal(relay_verify_bound(&f, K.client_priv, K.relay_pub, NONCE), -EINVAL);
	/* a tampered BIND has no proof */
	bind[50] ^= 1;
	assert_int_equal(relay_parse(bind, sizeof(bind), &f), 0);
	assert_int_equal(relay_verify_bind_proof(&f, K.relay_priv, NULL), -EBADMSG);
	crypto_wipe(k, sizeof(k));
}

/* One valid frame of each type, in buf; returns its length. */
static size_t build_any(uint8_t *buf, size_t cap, unsigned type)
{
	static const uint8_t n8[8] = { 1 }, payload[3] = { 1, 2, 3 };
	int n = -1;

	switch (type) {
	case RELAY_BIND:
		n = relay_build_bind(buf, cap, K.client_priv, K.relay_pub, NOW, NONCE, COOKIE, TICKET);
		break;
	case RELAY_COOKIE:
		n = relay_build_cookie(buf, cap, NONCE, COOKIE);
		break;
	case RELAY_BOUND:
		n = relay_build_bound(buf, cap, K.other_pub, NONCE, 60);
		break;
	case RELAY_REFUSED:
		n = relay_build_refused(buf, cap, NONCE, 1);
		break;
	case RELAY_SEND:
	case RELAY_DELIVER:
		n = relay_build_keyed(buf, cap, type, K.other_pub, payload, sizeof(payload));
		break;
	case RELAY_UNREACHABLE:
		n = relay_build_unreachable(buf, cap, K.other_pub);
		break;
	case RELAY_PING:
	case RELAY_PONG:
		n = relay_build_ping(buf, cap, type, n8);
		break;
	case RELAY_UNBOUND: {
		uint8_t send[RELAY_UNBOUND_LEN] = { 0 };

		n = relay_build_unbound(buf, cap, send, sizeof(send), COOKIE);
		break;
	}
	case RELAY_CLOCK:
		n = relay_build_clock(buf, cap, K.other_pub, NONCE, NOW);
		break;
	}
	assert_true(n > 0);
	return (size_t)n;
}

static void test_truncated_every_type(void **state)
{
	uint8_t buf[256];
	struct relay_frame f;

	(void)state;
	for (unsigned t = RELAY_BIND; t <= RELAY_TYPE_MAX; t++) {
		size_t len = build_any(buf, sizeof(buf), t);
		/* SEND/DELIVER need at least one datagram byte past the key. */
		size_t min = t == RELAY_SEND || t == RELAY_DELIVER ? 37 : len;

		assert_int_equal(relay_parse(buf, len, &f), 0);
		for (size_t cut = 0; cut < min; cut++) {
			assert_int_equal(relay_parse(buf, cut, &f), -EINVAL);
			assert_int_equal(f.type, 0);
			assert_null(f.raw);
		}
		/* Fixed-size frames refuse trailing bytes the MAC would not cover. */
		if (min == len)
			assert_int_equal(relay_parse(buf, len + 1, &f), -EINVAL);
	}
}

static void test_bad_header(void **state)
{
	uint8_t buf[RELAY_PING_LEN];
	struct relay_frame f;

	(void)state;
	build_any(buf, sizeof(buf), RELAY_PING);
	buf[0] = 'l';
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	build_any(buf, sizeof(buf), RELAY_PING);
	buf[1] = 0;
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	build_any(buf, sizeof(buf), RELAY_PING);
	buf[2] = 1; /* version 1 (no cookie, no ticket) is gone */
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	buf[2] = 3;
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	buf[2] = 0;
	assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	build_any(buf, sizeof(buf), RELAY_PING);
	for (unsigned t = 0; t < 256; t++) {
		buf[3] = (uint8_t)t;
		if (t < RELAY_BIND || t > RELAY_TYPE_MAX)
			assert_int_equal(relay_parse(buf, sizeof(buf), &f), -EINVAL);
	}
}

static void test_oversized(void **state)
{
	static uint8_t buf[RELAY_MAX_FRAME + 2];
	static uint8_t payload[RELAY_MAX_DATAGRAM + 1];
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_build_keyed(buf, sizeof(buf), RELAY_SEND, K.other_pub, payload,
					   RELAY_MAX_DATAGRAM + 1),
			 -EINVAL);
	assert_int_equal(relay_build_keyed(buf, sizeof(buf), RELAY_SEND, K.other_pub, payload, 0),
			 -EINVAL);
	relay_build_keyed(buf, sizeof(buf), RELAY_SEND, K.other_pub, payload, RELAY_MAX_DATAGRAM);
	assert_int_equal(relay_parse(buf, RELAY_MAX_FRAME, &f), 0);
	assert_int_equal(relay_parse(buf, RELAY_MAX_FRAME + 1, &f), -EINVAL);
}

static void test_builder_errors(void **state)
{
	uint8_t buf[256], zero[32] = { 0 }, n8[8] = { 0 };

	(void)state;
	assert_int_equal(relay_build_bind(buf, RELAY_BIND_LEN - 1, K.client_priv, K.relay_pub,
					  NOW, NONCE, NULL, NULL),
			 -ENOSPC);
	/* A low-order relay key cannot make a MAC key. */
	assert_int_equal(relay_build_bind(buf, sizeof(buf), K.client_priv, zero, NOW, NONCE, NULL,
					  NULL),
			 -EINVAL);
	assert_int_equal(relay_build_cookie(buf, RELAY_COOKIE_FRAME_LEN - 1, NONCE, COOKIE),
			 -ENOSPC);
	assert_int_equal(relay_build_bound(buf, RELAY_BOUND_LEN - 1, zero, NONCE, 1), -ENOSPC);
	assert_int_equal(relay_build_refused(buf, RELAY_REFUSED_LEN - 1, NONCE, 1), -ENOSPC);
	assert_int_equal(relay_build_unreachable(buf, 35, zero), -ENOSPC);
	assert_int_equal(relay_build_ping(buf, 11, RELAY_PING, n8), -ENOSPC);
	assert_int_equal(relay_build_ping(buf, sizeof(buf), RELAY_BIND, n8), -EINVAL);
	assert_int_equal(relay_build_keyed(buf, 36, RELAY_SEND, zero, n8, 1), -ENOSPC);
	assert_int_equal(relay_build_keyed(buf, sizeof(buf), RELAY_PING, zero, n8, 1), -EINVAL);
}

/* Relay frames never look like WireGuard (t 0 0 0, t in 1..4) or STUN
 * (first byte 0/1 and the cookie at offset 4). */
static void test_demux(void **state)
{
	static const uint8_t wg[4] = { 1, 0, 0, 0 }, stun[8] = { 0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t buf[256];

	(void)state;
	for (unsigned t = RELAY_BIND; t <= RELAY_TYPE_MAX; t++) {
		build_any(buf, sizeof(buf), t);
		assert_true(relay_is_frame(buf, 4));
		assert_false(buf[0] >= 1 && buf[0] <= 4);
		assert_false(buf[0] <= 1);
	}
	assert_false(relay_is_frame(wg, sizeof(wg)));
	assert_false(relay_is_frame(stun, sizeof(stun)));
	assert_false(relay_is_frame(buf, 1));
	assert_string_equal(relay_type_name(RELAY_DELIVER), "DELIVER");
	assert_string_equal(relay_type_name(0), "?");
	assert_string_equal(relay_type_name(RELAY_COOKIE), "COOKIE");
	assert_string_equal(relay_type_name(RELAY_UNBOUND), "UNBOUND");
	assert_string_equal(relay_type_name(RELAY_CLOCK), "CLOCK");
	assert_string_equal(relay_type_name(RELAY_TYPE_MAX + 1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_roundtrip),
		cmocka_unit_test(test_bind_bound_exchange),
		cmocka_unit_test(test_bind_wrong_client_key),
		cmocka_unit_test(test_bind_wrong_relay),
		cmocka_unit_test(test_bind_tampered),
		cmocka_unit_test(test_bind_low_order_key),
		cmocka_unit_test(test_bind_stale),
		cmocka_unit_test(test_bind_replay),
		cmocka_unit_test(test_bound_checks),
		cmocka_unit_test(test_verify_wrong_type),
		cmocka_unit_test(test_refused_roundtrip),
		cmocka_unit_test(test_bind_without_cookie_or_ticket),
		cmocka_unit_test(test_cookie_roundtrip),
		cmocka_unit_test(test_keyed_roundtrip),
		cmocka_unit_test(test_deliver_in_place),
		cmocka_unit_test(test_unreachable_ping_pong),
		cmocka_unit_test(test_truncated_every_type),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_unbound_echoes_the_send),
		cmocka_unit_test(test_clock_checks),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
