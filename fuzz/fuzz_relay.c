/*
 * fuzz_relay: the relay frame parser and lanrage-relay's whole input handler.
 *
 * Part 1: the input parsed as one frame. Whatever parses is re-encoded with
 * the builders and must give the same bytes (BIND and BOUND carry MACs the
 * fuzzer cannot make: their fields are checked in place instead); a BIND that
 * verifies against the fixed relay key must be for one of the known client
 * keys (the harness's own BINDs), never a forgery.
 *
 * Part 2: the input as a script of datagrams to one relay_core from a fake
 * address table of 6 sources (IPv4, IPv6, v4-mapped, same IP other port).
 * Ops let the fuzzer send valid BINDs for 4 known client keys (it cannot make
 * MACs itself) with or without the source's cookie (computed from the core's
 * secret) and with a good, missing, expired or forged ticket, SENDs, raw
 * frames, STUN requests, and move the clocks, so forwarding, roaming,
 * eviction, replay, expiry, cookies, tickets, the per-IP cap and the rate
 * limits are all reachable. After every datagram the invariants of
 * docs/RELAY.md are checked: a DELIVER leaves only for a SEND from a bound
 * address, carries that binding's key and goes to the destination key's
 * bound address; an answer to a BIND is smaller than the BIND; a BIND
 * answered with a COOKIE, a CLOCK or not at all changed no binding; an
 * UNBOUND answers only a SEND from an address without a live binding, is no
 * larger than it, echoes its last bytes and carries the source's cookie; the
 * tables and the per-IP counts stay consistent.
 */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "nat/relay_proto.h"
#include "nat/relay_ticket.h"
#include "relay_core.h"

#define NADDR 6
#define NKEYS 4
#define T0_MS 1764095000000ULL

static uint8_t relay_priv[32], relay_pub[32];
static uint8_t client_priv[NKEYS][32], client_pub[NKEYS][32];
static uint8_t ticket_pk[32], ticket_sk[64], forger_pk[32], forger_sk[64];
static struct wg_endpoint addrs[NADDR];

static void init_once(void)
{
	static bool done;
	static const char *const a[NADDR] = {
		"198.51.100.1:40000", "198.51.100.1:40001", "198.51.100.2:5000",
		"[2001:db8::1]:40000", "[::ffff:198.51.100.1]:40000", "203.0.113.9:1",
	};

	if (done)
		return;
	done = true;
	crypto_init();
	log_set_level(LOG_SILENT);
	/* Fixed keys: reproducible runs. */
	for (int i = 0; i < 32; i++)
		relay_priv[i] = (uint8_t)(i + 1);
	crypto_x25519_public(relay_pub, relay_priv);
	{
		uint8_t seed[32];

		memset(seed, 0x5e, sizeof(seed));
		crypto_sign_ed25519_seed_keypair(ticket_pk, ticket_sk, seed);
		memset(seed, 0xf0, sizeof(seed));
		crypto_sign_ed25519_seed_keypair(forger_pk, forger_sk, seed);
	}
	for (int k = 0; k < NKEYS; k++) {
		for (int i = 0; i < 32; i++)
			client_priv[k][i] = (uint8_t)(k * 40 + i + 7);
		crypto_x25519_public(client_pub[k], client_priv[k]);
	}
	for (int i = 0; i < NADDR; i++)
		if (wg_endpoint_parse(&addrs[i], a[i]))
			abort();
}

static void check_reencode(const uint8_t *data, size_t size)
{
	static uint8_t out[RELAY_MAX_FRAME];
	struct relay_frame f;
	int n = -1;

	if (relay_parse(data, size, &f))
		return;
	if (f.raw != data || f.raw_len != size)
		abort();
	switch (f.type) {
	case RELAY_BIND:
		if (relay_verify_bind(&f, relay_priv, f.timestamp_ms, 0, NULL) == 0) {
			bool known = false;

			for (int k = 0; k < NKEYS; k++)
				known |= !memcmp(f.key, client_pub[k], 32);
			if (!known)
				abort(); /* a MAC forged without the key */
		}
		return;
	case RELAY_BOUND:
		if (f.nonce != data + 4 || f.mac != data + 24)
			abort();
		return;
	case RELAY_CLOCK:
		if (f.nonce != data + 4 || f.mac != data + RELAY_CLOCK_SIGNED_LEN ||
		    f.timestamp_ms != ((uint64_t)data[20] << 56 | (uint64_t)data[21] << 48 |
				       (uint64_t)data[22] << 40 | (uint64_t)data[23] << 32 |
				       (uint64_t)data[24] << 24 | (uint64_t)data[25] << 16 |
				       (uint64_t)data[26] << 8 | data[27]))
			abort();
		return;
	case RELAY_UNBOUND: {
		uint8_t send[RELAY_UNBOUND_LEN] = { 0 };

		memcpy(send + sizeof(send) - RELAY_ECHO_LEN, f.echo, RELAY_ECHO_LEN);
		n = relay_build_unbound(out, sizeof(out), send, sizeof(send), f.cookie);
		break;
	}
	case RELAY_REFUSED:
		n = relay_build_refused(out, sizeof(out), f.nonce, f.code);
		break;
	case RELAY_SEND:
	case RELAY_DELIVER:
		n = relay_build_keyed(out, sizeof(out), f.type, f.key, f.payload, f.payload_len);
		break;
	case RELAY_UNREACHABLE:
		n = relay_build_unreachable(out, sizeof(out), f.key);
		break;
	case RELAY_PING:
	case RELAY_PONG:
		n = relay_build_ping(out, sizeof(out), f.type, f.nonce);
		break;
	case RELAY_COOKIE:
		n = relay_build_cookie(out, sizeof(out), f.nonce, f.cookie);
		break;
	}
	if (n < 0 || (size_t)n != size || memcmp(out, data, size))
		abort();
}

/* Every used entry is found by its key and its address; count matches; the
 * per-IP counts are the live bindings of each IP, within the cap. */
static void check_table(const struct relay_core *c)
{
	uint32_t used = 0, dormant = 0;

	for (uint32_t i = 0; i < c->table.cap; i++) {
		const struct relay_binding *b = &c->table.pool[i];
		uint32_t live_here = 0;

		if (!b->used)
			continue;
		used++;
		dormant += b->dormant;
		if (relay_table_find_key(&c->table, b->key) != b ||
		    relay_table_find_addr(&c->table, &b->addr) != b)
			abort();
		for (uint32_t j = 0; j < c->table.cap; j++) {
			const struct relay_binding *o = &c->table.pool[j];

			live_here += o->used && !o->dormant &&
				     relay_table_same_ip(&o->addr, &b->addr);
		}
		if (relay_table_ip_count(&c->table, &b->addr) != live_here ||
		    live_here > c->cfg.max_per_ip)
			abort();
	}
	if (used != c->table.count || dormant != c->dormant)
		abort();
}

/* A DELIVER must come from a SEND by a bound address, with its key, to the
 * destination key's address. before_src is the sender's binding before the
 * datagram (SEND never binds). */
static void check_output(const struct relay_core *c, const struct wg_endpoint *src,
			 const uint8_t *in_frame_key, const struct relay_binding *before_src,
			 const struct relay_out *o)
{
	const struct relay_binding *d;
	struct relay_frame f;

	if (relay_parse(o->buf, o->len, &f))
		abort(); /* the relay only sends well-formed frames */
	if (f.type == RELAY_DELIVER) {
		if (!before_src || memcmp(f.key, before_src->key, 32) || !in_frame_key)
			abort();
		d = relay_table_find_key(&c->table, in_frame_key);
		if (!d || !wg_endpoint_equal(&d->addr, &o->dst))
			abort();
	} else if (f.type == RELAY_BIND || f.type == RELAY_SEND || f.type == RELAY_PING) {
		abort(); /* client-to-relay types never leave the relay */
	} else if (!wg_endpoint_equal(&o->dst, src)) {
		abort(); /* answers go back to the sender */
	}
}

/* An UNBOUND answers a SEND (the type byte before the call: the handler
 * rewrites only a forwarded SEND) of at least its size, from an address that
 * has no live binding now, echoing the SEND's tail, with that address's
 * cookie. */
static void check_unbound(struct relay_core *c, const struct wg_endpoint *src, uint8_t in_type,
			  size_t in_len, const uint8_t tail[RELAY_ECHO_LEN],
			  const struct relay_out *o)
{
	const struct relay_binding *b;
	uint8_t cookie[RELAY_COOKIE_LEN];
	struct relay_frame f;

	if (relay_parse(o->buf, o->len, &f) || f.type != RELAY_UNBOUND)
		return;
	b = relay_table_find_addr(&c->table, src);
	if (in_type != RELAY_SEND || o->len > in_len || (b && !b->dormant) ||
	    memcmp(f.echo, tail, RELAY_ECHO_LEN))
		abort();
	relay_cookie_make(&c->cookie, src, cookie);
	if (memcmp(f.cookie, cookie, RELAY_COOKIE_LEN))
		abort();
}

/* BIND frames are costly to make (two X25519, maybe an Ed25519): remembered
 * per key, source and ticket kind (inputs replay the same ones; the cookie
 * secret is fixed per run, see run_script, so a source's cookie repeats). */
static size_t valid_bind(uint8_t *buf, unsigned k, unsigned a, uint64_t ts,
			 const uint8_t *nonce, const uint8_t *cookie, unsigned ticket_kind)
{
	enum { IN_LEN = 8 + RELAY_NONCE_LEN + RELAY_COOKIE_LEN + 1 };
	static uint8_t cache[NKEYS][NADDR][4][RELAY_BIND_LEN];
	static uint8_t cache_in[NKEYS][NADDR][4][IN_LEN];
	uint8_t in[IN_LEN], ticket[RELAY_TICKET_LEN], *out = cache[k][a][ticket_kind];

	memcpy(in, &ts, 8);
	memcpy(in + 8, nonce, RELAY_NONCE_LEN);
	if (cookie)
		memcpy(in + 8 + RELAY_NONCE_LEN, cookie, RELAY_COOKIE_LEN);
	else
		memset(in + 8 + RELAY_NONCE_LEN, 0, RELAY_COOKIE_LEN);
	in[IN_LEN - 1] = 1; /* an entry was made */
	if (memcmp(cache_in[k][a][ticket_kind], in, IN_LEN)) {
		switch (ticket_kind) {
		case 0: /* good */
			relay_ticket_sign(ticket, ticket_sk, client_pub[k], ts / 1000 + 3600);
			break;
		case 1: /* expired */
			relay_ticket_sign(ticket, ticket_sk, client_pub[k], ts / 1000 - 3600);
			break;
		case 2: /* forged */
			relay_ticket_sign(ticket, forger_sk, client_pub[k], ts / 1000 + 3600);
			break;
		default: /* none */
			memset(ticket, 0, sizeof(ticket));
		}
		if (relay_build_bind(out, RELAY_BIND_LEN, client_priv[k], relay_pub, ts, nonce,
				     cookie, ticket) != RELAY_BIND_LEN)
			abort();
		memcpy(cache_in[k][a][ticket_kind], in, IN_LEN);
	}
	memcpy(buf, out, RELAY_BIND_LEN);
	return RELAY_BIND_LEN;
}

struct script {
	const uint8_t *p;
	size_t left;
};

static uint8_t take(struct script *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->p++;
}

static void run_script(const uint8_t *data, size_t size)
{
	static uint8_t buf[RELAY_MAX_FRAME + 64], payload[2048];
	struct relay_config cfg = { .lifetime_s = 5, .rate_pps = 8, .rate_bytes = 4000,
				    .max_bindings = 3, .max_per_ip = 2, .has_ticket_key = true,
				    .limiter_sources = 8 /* small: made at every run */ };
	struct relay_binding pool_before[3];
	struct script s = { data, size };
	uint64_t now = 1000000000ULL, wall = T0_MS;
	struct relay_core c;
	int steps = 0;

	memcpy(cfg.private_key, relay_priv, 32);
	memcpy(cfg.ticket_key, ticket_pk, 32);
	if (relay_core_init(&c, &cfg))
		abort();
	/* A fixed cookie secret: the same source gets the same cookie in every
	 * run, so its BINDs can be cached (a rotation still draws new ones). */
	memset(c.cookie.secret, 0xc5, sizeof(c.cookie.secret));
	while (s.left && steps++ < 64) {
		uint8_t op = take(&s), a = take(&s) % NADDR, k = take(&s) % NKEYS;
		uint8_t nonce[RELAY_NONCE_LEN] = { op, a, k }, reply[RELAY_REPLY_MAX];
		uint8_t cookie[RELAY_COOKIE_LEN], arg, tail[RELAY_ECHO_LEN];
		const uint8_t *frame_key = NULL;
		uint8_t dst_key[32];
		struct relay_binding before, *src_b;
		struct relay_out o;
		size_t len = 0, n;
		int ret;

		switch (op % 6) {
		case 0: /* a valid BIND, timestamp nudged by the script; its cookie
			 * and ticket chosen by the script too */
			arg = take(&s);
			nonce[0] = 0;
			relay_cookie_make(&c.cookie, &addrs[a], cookie);
			len = valid_bind(buf, k, a, wall + (arg % 4) - 1, nonce,
					 arg & 0x10 ? NULL : cookie, arg >> 5 & 3);
			break;
		case 1: /* SEND to a known key */
			n = take(&s) % 200 + 1;
			memset(payload, op, n);
			ret = relay_build_keyed(buf, sizeof(buf), RELAY_SEND, client_pub[k],
						payload, n);
			len = ret > 0 ? (size_t)ret : 0;
			break;
		case 2: /* raw bytes from the script */
			len = take(&s);
			len = len < s.left ? len : s.left;
			memcpy(buf, s.p, len);
			s.p += len;
			s.left -= len;
			break;
		case 3: /* time passes: up to ~68 s, wall clock along */
			n = (size_t)take(&s) << 28;
			now += n;
			wall += n / 1000000;
			memcpy(pool_before, c.table.pool, sizeof(pool_before));
			relay_core_expire(&c, now);
			if (memcmp(pool_before, c.table.pool, sizeof(pool_before)))
				check_table(&c);
			continue;
		case 4: /* the wall clock jumps (NTP step) */
			wall += ((uint64_t)take(&s) << 12) - (1ULL << 19);
			continue;
		default: /* a STUN request: the limits decide, nothing else changes */
			n = c.table.count;
			relay_core_stun_allow(&c, &addrs[a], now);
			if (c.table.count != n)
				abort();
			continue;
		}
		src_b = relay_table_find_addr(&c.table, &addrs[a]);
		if (src_b)
			before = *src_b;
		/* The handler rewrites a SEND in place: keep its destination. */
		if (len >= RELAY_KEYED_HDR_LEN) {
			memcpy(dst_key, buf + RELAY_HDR_LEN, 32);
			frame_key = dst_key;
		}
		memcpy(pool_before, c.table.pool, sizeof(pool_before));
		if (len >= RELAY_ECHO_LEN)
			memcpy(tail, buf + len - RELAY_ECHO_LEN, RELAY_ECHO_LEN);
		if (relay_core_input(&c, &addrs[a], buf, len, now, wall, reply, &o)) {
			check_output(&c, &addrs[a], frame_key, src_b ? &before : NULL, &o);
			check_unbound(&c, &addrs[a], len ? buf[3] : 0, len, tail, &o);
			if (len && buf[3] == RELAY_BIND && o.len >= len)
				abort(); /* an answer to a BIND never amplifies it */
			if (len && buf[3] == RELAY_BIND &&
			    (o.len == RELAY_COOKIE_FRAME_LEN || o.len == RELAY_CLOCK_LEN) &&
			    memcmp(pool_before, c.table.pool, sizeof(pool_before)))
				abort(); /* no cookie, or a time answer: nothing changed */
		} else if (len >= 4 && buf[3] == RELAY_BIND &&
			   memcmp(pool_before, c.table.pool, sizeof(pool_before))) {
			abort(); /* an unanswered BIND changed nothing either */
		}
		/* The table check costs hashes: only when a BIND changed it. */
		if (len && buf[3] == RELAY_BIND &&
		    memcmp(pool_before, c.table.pool, sizeof(pool_before)))
			check_table(&c);
	}
	check_table(&c);
	relay_core_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	check_reencode(data, size);
	run_script(data, size);
	return 0;
}
