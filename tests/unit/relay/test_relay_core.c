/*
 * test_relay_core: lanrage-relay's input handler (servers/relay/relay_core.c)
 * under attack, with a fake clock (plain numbers: nothing here depends on
 * timing). Each test performs one attack of docs/RELAY.md's list and shows
 * it fails while honest clients keep working:
 *   - 65,536 self-made keys from one host, with valid cookies, and no ticket
 *     or a forged one, bind nothing; a member with a ticket still binds;
 *   - a BIND with a forged source reflects only a COOKIE (smaller than the
 *     BIND) at the victim and evicts nobody;
 *   - floods of cookieless BINDs, unbound PINGs and STUN requests are cut to
 *     their per-source limits, STUN also to the relay-wide one;
 *   - 150 players behind one NAT address all bind, rebind and get every PONG
 *     for 10 minutes at the default limits;
 *   - the per-IP binding cap and the per-destination rate limit hold;
 *   - the checks of a BIND run in their documented order (table below);
 *   - a SEND from an unbound address (the relay restarted, the NAT moved the
 *     client) is answered UNBOUND, echoing the SEND, with a cookie that makes
 *     the rebind one round trip; within a per-source limit, never larger
 *     than the SEND, and changing no binding;
 *   - a client whose clock is two hours off gets the relay's time (CLOCK)
 *     only once it showed its cookie and proved its key, and then binds;
 *     replays stay refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "nat/relay_proto.h"
#include "nat/relay_ticket.h"
#include "relay_core.h"

#define NS 1000000000ULL
#define MS 1000000ULL
#define T0_MS 1764095000000ULL /* some Unix time in ms */

/* What a datagram got back. */
enum answer { A_NONE = 0, A_BOUND = 100, A_COOKIE, A_PONG, A_DELIVER, A_UNREACHABLE,
	      A_BAD_BOUND, A_CLOCK, A_BAD_CLOCK, A_UNBOUND, A_REFUSED = 200 /* + code */ };

struct env {
	struct relay_core c;
	uint64_t now_ns, wall_ms;
	uint8_t relay_priv[32], relay_pub[32];
	struct relay_out out;
	uint8_t reply[RELAY_REPLY_MAX];
};

struct client {
	uint8_t priv[32], pub[32];
	struct wg_endpoint addr;
	uint8_t cookie[RELAY_COOKIE_LEN];
	bool has_cookie;
	uint8_t ticket[RELAY_TICKET_LEN];
	bool has_ticket;
	uint8_t nonce[RELAY_NONCE_LEN];
	uint64_t ts_ms; /* last BIND timestamp, kept increasing */
	uint64_t force_ts_ms; /* the next BIND's timestamp when not 0 (a replay) */
	int64_t skew_ms; /* the client's clock minus the relay's */
	uint64_t relay_ms; /* the time in the last CLOCK */
};

static uint8_t ticket_pk[RELAY_TICKET_PK_LEN], ticket_sk[RELAY_TICKET_SK_LEN];

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_SILENT);
	if (crypto_init())
		return -1;
	relay_ticket_keypair(ticket_pk, ticket_sk);
	return 0;
}

static struct relay_config default_config(void)
{
	struct relay_config cfg = { .lifetime_s = RELAY_DEFAULT_LIFETIME_S, .rate_pps = 20000,
				    .rate_bytes = 25000000, .max_bindings = 4096,
				    .has_ticket_key = true };

	memcpy(cfg.ticket_key, ticket_pk, 32);
	return cfg;
}

static void env_init(struct env *e, struct relay_config *cfg)
{
	memset(e, 0, sizeof(*e));
	crypto_x25519_generate(e->relay_priv, e->relay_pub);
	memcpy(cfg->private_key, e->relay_priv, 32);
	assert_int_equal(relay_core_init(&e->c, cfg), 0);
	e->now_ns = 1 * NS;
	e->wall_ms = T0_MS;
}

static void env_free(struct env *e)
{
	relay_core_free(&e->c);
}

static void advance(struct env *e, uint64_t ms)
{
	e->now_ns += ms * MS;
	e->wall_ms += ms;
	relay_core_expire(&e->c, e->now_ns);
}

static struct wg_endpoint ep(const char *s)
{
	struct wg_endpoint a;

	assert_int_equal(wg_endpoint_parse(&a, s), 0);
	return a;
}

static struct wg_endpoint ep_port(const char *ip, unsigned port)
{
	char s[64];

	snprintf(s, sizeof(s), "%s:%u", ip, port);
	return ep(s);
}

/* A client with a fresh key and, when ticketed, a ticket valid for an hour. */
static void client_init(struct env *e, struct client *cl, struct wg_endpoint addr, bool ticketed)
{
	memset(cl, 0, sizeof(*cl));
	crypto_x25519_generate(cl->priv, cl->pub);
	cl->addr = addr;
	cl->has_ticket = ticketed;
	if (ticketed)
		relay_ticket_sign(cl->ticket, ticket_sk, cl->pub, e->wall_ms / 1000 + 3600);
}

/* Feeds one datagram from src; returns what came back to whom in e->out. */
static bool input(struct env *e, const struct wg_endpoint *src, uint8_t *buf, size_t len)
{
	return relay_core_input(&e->c, src, buf, len, e->now_ns, e->wall_ms, e->reply, &e->out);
}

/* Sends a BIND built by the client (from its own address unless from is
 * given: a forged source) and classifies the answer. A COOKIE is stored. */
static int bind_from(struct env *e, struct client *cl, const struct wg_endpoint *from,
		     bool break_mac)
{
	uint8_t buf[RELAY_BIND_LEN];
	struct relay_frame f;
	uint64_t ts = e->wall_ms + (uint64_t)cl->skew_ms;

	if (cl->force_ts_ms)
		ts = cl->force_ts_ms;
	else if (ts <= cl->ts_ms)
		ts = cl->ts_ms + 1;
	cl->force_ts_ms = 0;
	cl->ts_ms = ts;
	crypto_random(cl->nonce, sizeof(cl->nonce));
	assert_int_equal(relay_build_bind(buf, sizeof(buf), cl->priv, e->relay_pub, ts, cl->nonce,
					  cl->has_cookie ? cl->cookie : NULL,
					  cl->has_ticket ? cl->ticket : NULL),
			 RELAY_BIND_LEN);
	if (break_mac)
		buf[RELAY_BIND_LEN - 1] ^= 1;
	if (!input(e, from ? from : &cl->addr, buf, sizeof(buf)))
		return A_NONE;
	/* Every answer to a BIND goes back to its source and is smaller. */
	assert_true(wg_endpoint_equal(&e->out.dst, from ? from : &cl->addr));
	assert_true(e->out.len < RELAY_BIND_LEN);
	assert_int_equal(relay_parse(e->out.buf, e->out.len, &f), 0);
	switch (f.type) {
	case RELAY_COOKIE:
		assert_memory_equal(f.nonce, cl->nonce, RELAY_NONCE_LEN);
		if (!from) {
			memcpy(cl->cookie, f.cookie, RELAY_COOKIE_LEN);
			cl->has_cookie = true;
		}
		return A_COOKIE;
	case RELAY_BOUND:
		return relay_verify_bound(&f, cl->priv, e->relay_pub, cl->nonce) ? A_BAD_BOUND :
										  A_BOUND;
	case RELAY_CLOCK:
		if (relay_verify_clock(&f, cl->priv, e->relay_pub, cl->nonce))
			return A_BAD_CLOCK;
		cl->relay_ms = f.timestamp_ms;
		return A_CLOCK;
	case RELAY_REFUSED:
		assert_memory_equal(f.nonce, cl->nonce, RELAY_NONCE_LEN);
		return A_REFUSED + f.code;
	default:
		fail_msg("unexpected %s", relay_type_name(f.type));
		return A_NONE;
	}
}

static int bind_once(struct env *e, struct client *cl)
{
	return bind_from(e, cl, NULL, false);
}

/* What a real client does: BIND, and at once again after a COOKIE. */
static int do_bind(struct env *e, struct client *cl)
{
	int a = bind_once(e, cl);

	return a == A_COOKIE ? bind_once(e, cl) : a;
}

static int ping_from(struct env *e, const struct wg_endpoint *src)
{
	uint8_t buf[RELAY_PING_LEN], nonce[RELAY_PING_NONCE_LEN] = { 7 };
	struct relay_frame f;

	relay_build_ping(buf, sizeof(buf), RELAY_PING, nonce);
	if (!input(e, src, buf, sizeof(buf)))
		return A_NONE;
	assert_int_equal(relay_parse(e->out.buf, e->out.len, &f), 0);
	assert_int_equal(f.type, RELAY_PONG);
	assert_true(wg_endpoint_equal(&e->out.dst, src));
	return A_PONG;
}

static int send_to(struct env *e, const struct wg_endpoint *src, const uint8_t dst[32],
		   size_t len)
{
	static uint8_t buf[2048], payload[1500];
	struct relay_frame f;
	int n = relay_build_keyed(buf, sizeof(buf), RELAY_SEND, dst, payload, len);

	assert_true(n > 0);
	if (!input(e, src, buf, (size_t)n))
		return A_NONE;
	assert_int_equal(relay_parse(e->out.buf, e->out.len, &f), 0);
	/* no answer to a SEND is larger than it */
	assert_true(e->out.len <= (size_t)n || f.type == RELAY_DELIVER);
	if (f.type == RELAY_UNBOUND) {
		assert_true(wg_endpoint_equal(&e->out.dst, src));
		assert_memory_equal(f.echo, buf + n - RELAY_ECHO_LEN, RELAY_ECHO_LEN);
		return A_UNBOUND;
	}
	return f.type == RELAY_DELIVER ? A_DELIVER : A_UNREACHABLE;
}

static bool bound_at(struct env *e, const struct client *cl, const struct wg_endpoint *addr)
{
	struct relay_binding *b = relay_table_find_key(&e->c.table, cl->pub);

	return b && !b->dormant && wg_endpoint_equal(&b->addr, addr);
}

/* ---- the legitimate path ------------------------------------------------ */

static void test_member_with_ticket_binds_after_one_cookie(void **state)
{
	struct relay_config cfg = default_config();
	struct client m;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &m, ep("198.51.100.1:40000"), true);
	assert_int_equal(bind_once(&e, &m), A_COOKIE);
	assert_int_equal(e.out.len, RELAY_COOKIE_FRAME_LEN);
	assert_int_equal(relay_core_bindings(&e.c), 0);
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	assert_true(bound_at(&e, &m, &m.addr));
	/* The cached cookie serves the rebinds. */
	advance(&e, 60000);
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	assert_int_equal(e.c.stats.binds, 1);
	assert_int_equal(e.c.stats.refreshes, 1);
	assert_int_equal(e.c.stats.cookies, 1);
	env_free(&e);
}

/* One cookie outlives one rotation of the secret, not two. */
static void test_cookie_lives_one_to_two_rotations(void **state)
{
	struct relay_config cfg = default_config();
	struct client m;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &m, ep("198.51.100.1:40000"), true);
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	advance(&e, (RELAY_COOKIE_ROTATE_S + 1) * 1000);
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	advance(&e, (RELAY_COOKIE_ROTATE_S + 1) * 1000);
	assert_int_equal(bind_once(&e, &m), A_COOKIE);
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	/* Another address's cookie is no cookie. */
	m.addr = ep("198.51.100.1:40001");
	assert_int_equal(bind_once(&e, &m), A_COOKIE);
	env_free(&e);
}

/* ---- the order of the checks -------------------------------------------- */

enum fault { F_NONE, F_NO_COOKIE, F_STALE, F_NO_TICKET, F_EXPIRED, F_FORGED, F_OTHER_KEY,
	     F_BAD_MAC, F_REPLAY, F_NO_TICKET_KEY, F_NO_TICKETS_MODE };

static const struct {
	const char *what;
	unsigned faults; /* 1 << enum fault */
	int expect;
} order_cases[] = {
	{ "valid", 0, A_BOUND },
	{ "no cookie", 1 << F_NO_COOKIE, A_COOKIE },
	{ "no cookie, stale timestamp: still only a COOKIE", 1 << F_NO_COOKIE | 1 << F_STALE,
	  A_COOKIE },
	{ "no cookie, no ticket, bad MAC", 1 << F_NO_COOKIE | 1 << F_NO_TICKET | 1 << F_BAD_MAC,
	  A_COOKIE },
	{ "the ticket before the timestamp", 1 << F_STALE | 1 << F_NO_TICKET,
	  A_REFUSED + RELAY_REFUSED_UNAUTHORIZED },
	{ "the MAC before the timestamp", 1 << F_STALE | 1 << F_BAD_MAC,
	  A_REFUSED + RELAY_REFUSED_BAD_MAC },
	{ "a proven BIND outside the window gets the relay's time", 1 << F_STALE, A_CLOCK },
	{ "no ticket", 1 << F_NO_TICKET, A_REFUSED + RELAY_REFUSED_UNAUTHORIZED },
	{ "expired ticket before the MAC", 1 << F_EXPIRED | 1 << F_BAD_MAC,
	  A_REFUSED + RELAY_REFUSED_EXPIRED },
	{ "forged ticket before the MAC", 1 << F_FORGED | 1 << F_BAD_MAC,
	  A_REFUSED + RELAY_REFUSED_UNAUTHORIZED },
	{ "another key's ticket", 1 << F_OTHER_KEY, A_REFUSED + RELAY_REFUSED_UNAUTHORIZED },
	{ "bad MAC", 1 << F_BAD_MAC, A_REFUSED + RELAY_REFUSED_BAD_MAC },
	{ "replay after the MAC", 1 << F_REPLAY, A_REFUSED + RELAY_REFUSED_STALE },
	{ "relay without a ticket key", 1 << F_NO_TICKET_KEY,
	  A_REFUSED + RELAY_REFUSED_UNAUTHORIZED },
	{ "--no-tickets binds without one", 1 << F_NO_TICKETS_MODE | 1 << F_NO_TICKET, A_BOUND },
};

static void test_bind_checks_run_in_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		unsigned fl = order_cases[i].faults;
		struct relay_config cfg = default_config();
		uint8_t other_sk[RELAY_TICKET_SK_LEN], other_pk[RELAY_TICKET_PK_LEN];
		struct client m, other;
		struct env e;
		int got;

		if (fl & 1 << F_NO_TICKET_KEY)
			cfg.has_ticket_key = false;
		if (fl & 1 << F_NO_TICKETS_MODE)
			cfg.no_tickets = true;
		env_init(&e, &cfg);
		client_init(&e, &m, ep("198.51.100.1:40000"), true);
		/* the cookie, fetched by hand (a bind_once) */
		assert_int_equal(bind_once(&e, &m), A_COOKIE);
		if (fl & 1 << F_REPLAY) {
			assert_int_equal(bind_once(&e, &m), A_BOUND);
			m.force_ts_ms = m.ts_ms - 10; /* older than the one accepted */
		}
		if (fl & 1 << F_NO_COOKIE)
			m.has_cookie = false;
		if (fl & 1 << F_STALE) /* the client's clock is behind */
			m.force_ts_ms = e.wall_ms - RELAY_BIND_WINDOW_MS - 1000;
		if (fl & 1 << F_NO_TICKET)
			m.has_ticket = false;
		if (fl & 1 << F_EXPIRED)
			relay_ticket_sign(m.ticket, ticket_sk, m.pub, e.wall_ms / 1000 - 3600);
		if (fl & 1 << F_FORGED) {
			relay_ticket_keypair(other_pk, other_sk);
			relay_ticket_sign(m.ticket, other_sk, m.pub, e.wall_ms / 1000 + 3600);
		}
		if (fl & 1 << F_OTHER_KEY) {
			client_init(&e, &other, m.addr, true);
			memcpy(m.ticket, other.ticket, RELAY_TICKET_LEN);
		}
		got = bind_from(&e, &m, NULL, fl & 1 << F_BAD_MAC);
		if (got != order_cases[i].expect)
			fail_msg("%s: got %d, expected %d", order_cases[i].what, got,
				 order_cases[i].expect);
		if (order_cases[i].expect != A_BOUND)
			assert_int_equal(relay_core_bindings(&e.c), fl & 1 << F_REPLAY ? 1 : 0);
		env_free(&e);
	}
}

/* ---- attacks ------------------------------------------------------------- */

/* 65,536 keys made by one host, each BIND with a valid cookie for its
 * address, half without a ticket and half with a ticket the attacker signed
 * itself: none binds. The clock moves 1/RELAY_BIND_PPS per BIND so the
 * per-source limit never decides: the tickets do. Then a member binds. */
static void test_self_generated_keys_cannot_bind(void **state)
{
	struct relay_config cfg = default_config();
	uint8_t own_sk[RELAY_TICKET_SK_LEN], own_pk[RELAY_TICKET_PK_LEN];
	struct wg_endpoint host = ep("203.0.113.66:5555");
	uint8_t cookie[RELAY_COOKIE_LEN] = { 0 };
	bool has_cookie = false;
	struct client a, m;
	struct env e;
	unsigned i;
	int got;

	(void)state;
	cfg.max_bindings = 65536;
	env_init(&e, &cfg);
	relay_ticket_keypair(own_pk, own_sk);
	for (i = 0; i < 65536; i++) {
		client_init(&e, &a, host, false);
		if (i & 1) {
			relay_ticket_sign(a.ticket, own_sk, a.pub, e.wall_ms / 1000 + 3600);
			a.has_ticket = true;
		}
		memcpy(a.cookie, cookie, sizeof(cookie));
		a.has_cookie = has_cookie;
		got = bind_once(&e, &a);
		if (got == A_COOKIE) { /* first BIND, or the secret rotated */
			memcpy(cookie, a.cookie, sizeof(cookie));
			has_cookie = true;
			advance(&e, 1000 / RELAY_BIND_PPS);
			got = bind_once(&e, &a);
		}
		assert_int_equal(got, A_REFUSED + RELAY_REFUSED_UNAUTHORIZED);
		advance(&e, 1000 / RELAY_BIND_PPS);
	}
	assert_int_equal(e.c.stats.refused_unauthorized, 65536);
	assert_int_equal(e.c.stats.binds, 0);
	assert_int_equal(e.c.table.count, 0);
	assert_int_equal(e.c.stats.drop_bind_rate, 0);
	/* A member binds, from that very host too. */
	client_init(&e, &m, host, true);
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	client_init(&e, &m, ep("198.51.100.9:1000"), true);
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	assert_int_equal(relay_core_bindings(&e.c), 2);
	env_free(&e);
}

/* The same flood at full speed: the per-source limit drops all but a burst. */
static void test_bind_flood_is_cut_to_the_source_limit(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint host = ep("203.0.113.66:5555");
	unsigned answered = 0;
	struct client a;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &a, host, false);
	for (unsigned i = 0; i < 5000; i++) {
		a.has_cookie = false;
		answered += bind_once(&e, &a) == A_COOKIE;
	}
	assert_int_equal(answered, RELAY_BIND_BURST);
	assert_int_equal(e.c.stats.drop_bind_rate, 5000 - RELAY_BIND_BURST);
	advance(&e, 1000);
	for (unsigned i = 0; i < 5000; i++) {
		a.has_cookie = false;
		answered += bind_once(&e, &a) == A_COOKIE;
	}
	assert_int_equal(answered, RELAY_BIND_BURST + RELAY_BIND_PPS);
	env_free(&e);
}

/* An attacker that does not receive a victim's datagrams sends BINDs with
 * the victim's address as source: its own key with a valid ticket (and its
 * own address's cookie), and the victim's captured BIND. The victim receives
 * a COOKIE or a REFUSED, each smaller than the BIND, at most a burst of
 * them; its binding stays where it is; nothing is bound for the attacker. */
static void test_forged_source_bind_reflects_only_a_cookie(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint victim_addr = ep("198.51.100.20:41000");
	struct wg_endpoint attacker_addr = ep("203.0.113.66:5555");
	unsigned reflected = 0, bytes = 0;
	uint8_t captured[RELAY_BIND_LEN];
	struct client v, a;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &v, victim_addr, true);
	assert_int_equal(do_bind(&e, &v), A_BOUND);
	client_init(&e, &a, attacker_addr, true);
	assert_int_equal(bind_once(&e, &a), A_COOKIE); /* its own address's cookie */

	/* its key, ticket and cookie, from the victim's address */
	assert_int_equal(bind_from(&e, &a, &victim_addr, false), A_COOKIE);
	assert_int_equal(e.out.len, RELAY_COOKIE_FRAME_LEN);
	assert_true(wg_endpoint_equal(&e.out.dst, &victim_addr));
	assert_true(bound_at(&e, &v, &victim_addr));
	assert_null(relay_table_find_key(&e.c.table, a.pub));

	/* the victim's own BIND, captured and replayed from its address */
	crypto_random(v.nonce, sizeof(v.nonce));
	relay_build_bind(captured, sizeof(captured), v.priv, e.relay_pub, v.ts_ms, v.nonce,
			 v.cookie, v.ticket);
	assert_true(input(&e, &victim_addr, captured, sizeof(captured)));
	assert_int_equal(e.out.len, RELAY_REFUSED_LEN);
	/* and from another address: only a COOKIE */
	relay_build_bind(captured, sizeof(captured), v.priv, e.relay_pub, v.ts_ms + 1, v.nonce,
			 v.cookie, v.ticket);
	assert_true(input(&e, &attacker_addr, captured, sizeof(captured)));
	assert_int_equal(e.out.len, RELAY_COOKIE_FRAME_LEN);
	assert_true(bound_at(&e, &v, &victim_addr));

	/* a flood at the victim's IP, every port: a burst of COOKIEs at most */
	for (unsigned i = 0; i < 10000; i++) {
		struct wg_endpoint forged = ep_port("198.51.100.20", 1024 + i);

		if (bind_from(&e, &a, &forged, false) == A_COOKIE) {
			reflected++;
			bytes += (unsigned)e.out.len;
		}
	}
	assert_true(reflected <= RELAY_BIND_BURST);
	assert_true(bytes < 10000 * RELAY_BIND_LEN / 4);
	assert_true(bound_at(&e, &v, &victim_addr));
	assert_int_equal(e.c.stats.evicted, 0);
	assert_int_equal(e.c.stats.roams, 0);
	assert_int_equal(relay_core_bindings(&e.c), 1);
	/* and the victim still receives */
	client_init(&e, &a, ep("198.51.100.30:1"), true);
	assert_int_equal(do_bind(&e, &a), A_BOUND);
	assert_int_equal(send_to(&e, &a.addr, v.pub, 100), A_DELIVER);
	assert_true(wg_endpoint_equal(&e.out.dst, &victim_addr));
	env_free(&e);
}

static void test_stun_flood_is_rate_limited(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint src = ep("203.0.113.66:3478"), other = ep("198.51.100.5:3478");
	unsigned allowed = 0;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	for (unsigned i = 0; i < 100000; i++)
		allowed += relay_core_stun_allow(&e.c, &src, e.now_ns);
	assert_int_equal(allowed, RELAY_STUN_BURST);
	/* another source is not starved by it */
	assert_true(relay_core_stun_allow(&e.c, &other, e.now_ns));
	e.now_ns += NS;
	for (unsigned i = 0; i < 100000; i++)
		allowed += relay_core_stun_allow(&e.c, &src, e.now_ns);
	assert_int_equal(allowed, RELAY_STUN_BURST + RELAY_STUN_PPS);
	assert_int_equal(e.c.stats.drop_stun_rate, 200000 - allowed);
	env_free(&e);
}

/* Many sources at once: the relay-wide cap holds. */
static void test_stun_flood_from_many_sources_hits_the_global_cap(void **state)
{
	struct relay_config cfg = default_config();
	unsigned allowed = 0, sent = 0;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	for (unsigned ip = 0; ip < 100; ip++) {
		struct wg_endpoint src = ep_port("10.9.0.0", 1);

		src.in4.sin_addr.s_addr = htonl(0x0a090000u + ip);
		for (unsigned i = 0; i < RELAY_STUN_BURST; i++, sent++)
			allowed += relay_core_stun_allow(&e.c, &src, e.now_ns);
	}
	assert_true(sent > RELAY_STUN_GLOBAL_PPS);
	assert_int_equal(allowed, RELAY_STUN_GLOBAL_PPS);
	assert_int_equal(e.c.stats.drop_stun_global, sent - RELAY_STUN_GLOBAL_PPS);
	env_free(&e);
}

static void test_ping_free_when_bound_limited_otherwise(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint stranger = ep("203.0.113.66:7000");
	unsigned pongs = 0;
	struct client m;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	for (unsigned i = 0; i < 5000; i++)
		pongs += ping_from(&e, &stranger) == A_PONG;
	assert_int_equal(pongs, RELAY_PING_BURST);
	assert_int_equal(e.c.stats.drop_ping_rate, 5000 - RELAY_PING_BURST);
	client_init(&e, &m, ep("203.0.113.66:7001"), true); /* same IP, bound */
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	for (unsigned i = 0; i < 5000; i++)
		assert_int_equal(ping_from(&e, &m.addr), A_PONG);
	env_free(&e);
}

/* 150 players behind one NAT address (150 ports) at the default limits, as
 * the daemon behaves: all start at once, BIND (again at once after a
 * COOKIE, after 2 s without an answer), rebind every 60 s, PING every 5 s
 * the relay they are bound on and another relay they are not bound on. For
 * 10 minutes every binding stays and every PING is answered. */
#define PLAYERS 150
static void test_150_players_behind_one_nat_keep_bindings_and_pongs(void **state)
{
	struct relay_config cfg = default_config();
	static struct client p[PLAYERS];
	uint64_t next_bind_ms[PLAYERS] = { 0 };
	struct env e, other;
	uint64_t t;
	unsigned i, pongs = 0, pings = 0;

	(void)state;
	env_init(&e, &cfg);
	cfg = default_config();
	env_init(&other, &cfg);
	for (i = 0; i < PLAYERS; i++)
		client_init(&e, &p[i], ep_port("198.51.100.77", 20000 + i), true);
	for (t = 0; t <= 600000; t += 500) {
		for (i = 0; i < PLAYERS; i++) {
			if (t >= next_bind_ms[i]) {
				int a = do_bind(&e, &p[i]);

				assert_int_equal(a, A_BOUND);
				next_bind_ms[i] = t + 60000;
			}
			if (t % 5000 == 0) {
				pings += 2;
				pongs += ping_from(&e, &p[i].addr) == A_PONG;
				pongs += ping_from(&other, &p[i].addr) == A_PONG;
			}
		}
		assert_int_equal(relay_core_bindings(&e.c), PLAYERS);
		advance(&e, 500);
		advance(&other, 500);
	}
	for (i = 0; i < PLAYERS; i++)
		assert_true(bound_at(&e, &p[i], &p[i].addr));
	assert_int_equal(pongs, pings);
	assert_int_equal(e.c.stats.drop_bind_rate, 0);
	assert_int_equal(e.c.stats.refused_ip_full, 0);
	assert_int_equal(e.c.stats.binds, PLAYERS);
	assert_int_equal(other.c.stats.drop_ping_rate, 0);
	/* and they reach each other */
	for (i = 0; i < PLAYERS; i++)
		assert_int_equal(send_to(&e, &p[i].addr, p[(i + 1) % PLAYERS].pub, 200), A_DELIVER);
	env_free(&e);
	env_free(&other);
}

static void test_per_ip_binding_cap(void **state)
{
	struct relay_config cfg = default_config();
	struct client k[6], far;
	struct env e;

	(void)state;
	cfg.max_per_ip = 4;
	env_init(&e, &cfg);
	for (unsigned i = 0; i < 6; i++)
		client_init(&e, &k[i], ep_port("203.0.113.66", 1000 + i), true);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(do_bind(&e, &k[i]), A_BOUND);
	assert_int_equal(do_bind(&e, &k[4]), A_REFUSED + RELAY_REFUSED_IP_FULL);
	assert_null(relay_table_find_key(&e.c.table, k[4].pub));
	/* another IP is not affected */
	client_init(&e, &far, ep("198.51.100.1:1000"), true);
	assert_int_equal(do_bind(&e, &far), A_BOUND);
	/* refreshes and roams within the IP count nothing new */
	assert_int_equal(do_bind(&e, &k[0]), A_BOUND);
	k[1].addr = ep("203.0.113.66:2001");
	k[1].has_cookie = false;
	assert_int_equal(do_bind(&e, &k[1]), A_BOUND);
	assert_int_equal(relay_table_ip_count(&e.c.table, &k[1].addr), 4);
	/* a roam from another IP into the full one is refused */
	far.addr = ep("203.0.113.66:3000");
	far.has_cookie = false;
	assert_int_equal(do_bind(&e, &far), A_REFUSED + RELAY_REFUSED_IP_FULL);
	/* a proven BIND taking over an address of the IP replaces its binding */
	k[5].addr = k[2].addr;
	assert_int_equal(do_bind(&e, &k[5]), A_BOUND);
	assert_int_equal(e.c.stats.evicted, 1);
	assert_int_equal(relay_table_ip_count(&e.c.table, &k[1].addr), 4);
	/* expired bindings free their places */
	advance(&e, (RELAY_DEFAULT_LIFETIME_S + 1) * 1000);
	assert_int_equal(relay_table_ip_count(&e.c.table, &k[1].addr), 0);
	assert_int_equal(do_bind(&e, &k[4]), A_BOUND);
	env_free(&e);
}

/* Three senders, each within its own rate, at one member: the member's
 * receive buckets cut the sum to one binding's rate. */
static void test_per_destination_rate_limit(void **state)
{
	struct relay_config cfg = default_config();
	struct client s[3], d;
	unsigned delivered = 0;
	struct env e;

	(void)state;
	cfg.rate_pps = 10;
	env_init(&e, &cfg);
	client_init(&e, &d, ep("198.51.100.50:1"), true);
	assert_int_equal(do_bind(&e, &d), A_BOUND);
	for (unsigned i = 0; i < 3; i++) {
		client_init(&e, &s[i], ep_port("198.51.100.60", 1 + i), true);
		assert_int_equal(do_bind(&e, &s[i]), A_BOUND);
	}
	for (unsigned r = 0; r < 10; r++)
		for (unsigned i = 0; i < 3; i++)
			delivered += send_to(&e, &s[i].addr, d.pub, 100) == A_DELIVER;
	assert_int_equal(delivered, 10);
	assert_int_equal(e.c.stats.drop_dst_rate, 20);
	assert_int_equal(e.c.stats.drop_rate, 0);
	advance(&e, 1000);
	/* the senders can still reach someone else */
	assert_int_equal(send_to(&e, &s[0].addr, s[1].pub, 100), A_DELIVER);
	for (unsigned r = 0; r < 10; r++)
		for (unsigned i = 0; i < 3; i++)
			delivered += send_to(&e, &s[i].addr, d.pub, 100) == A_DELIVER;
	assert_int_equal(delivered, 20);
	env_free(&e);
}

/* ---- healing: UNBOUND ---------------------------------------------------- */

/* Two members with tickets, bound on two addresses. */
static void two_members(struct env *e, struct client *a, struct client *b)
{
	client_init(e, a, ep("198.51.100.1:40000"), true);
	client_init(e, b, ep("198.51.100.2:40000"), true);
	assert_int_equal(do_bind(e, a), A_BOUND);
	assert_int_equal(do_bind(e, b), A_BOUND);
}

/* The relay restarts (same key, a new table and cookie secret): the client's
 * next SEND is answered UNBOUND with a cookie for its address, so its rebind
 * is one BIND (no COOKIE round trip), and traffic flows again. */
static void test_unbound_after_restart_rebinds_in_one_round_trip(void **state)
{
	struct relay_config cfg = default_config();
	struct relay_frame f;
	struct client a, b;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	two_members(&e, &a, &b);
	assert_int_equal(send_to(&e, &a.addr, b.pub, 100), A_DELIVER);
	/* restart: same private key, nothing else kept */
	relay_core_free(&e.c);
	memcpy(cfg.private_key, e.relay_priv, 32);
	assert_int_equal(relay_core_init(&e.c, &cfg), 0);
	assert_int_equal(send_to(&e, &a.addr, b.pub, 100), A_UNBOUND);
	assert_int_equal(e.out.len, RELAY_UNBOUND_LEN);
	assert_int_equal(relay_parse(e.out.buf, e.out.len, &f), 0);
	memcpy(a.cookie, f.cookie, RELAY_COOKIE_LEN); /* the old one is void now */
	assert_int_equal(bind_once(&e, &a), A_BOUND);
	/* b is not bound yet: a is told so, b learns it from its own SEND */
	assert_int_equal(send_to(&e, &a.addr, b.pub, 100), A_UNREACHABLE);
	assert_int_equal(send_to(&e, &b.addr, a.pub, 100), A_UNBOUND);
	assert_int_equal(relay_parse(e.out.buf, e.out.len, &f), 0);
	memcpy(b.cookie, f.cookie, RELAY_COOKIE_LEN);
	assert_int_equal(bind_once(&e, &b), A_BOUND);
	assert_int_equal(send_to(&e, &a.addr, b.pub, 100), A_DELIVER);
	assert_int_equal(send_to(&e, &b.addr, a.pub, 100), A_DELIVER);
	assert_int_equal(e.c.stats.unbound, 2);
	assert_int_equal(e.c.stats.cookies, 0);
	env_free(&e);
}

/* The client's NAT gives it a new port: SENDs from there are answered
 * UNBOUND at the new address (never the old one), the binding at the old
 * address is untouched until the client's BIND from the new one moves it. */
static void test_unbound_after_nat_rebinding_roams_the_binding(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint moved = ep("198.51.100.1:50123");
	struct relay_frame f;
	struct client a, b;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	two_members(&e, &a, &b);
	assert_int_equal(send_to(&e, &moved, b.pub, 100), A_UNBOUND);
	assert_true(bound_at(&e, &a, &a.addr));
	assert_int_equal(relay_parse(e.out.buf, e.out.len, &f), 0);
	a.addr = moved;
	memcpy(a.cookie, f.cookie, RELAY_COOKIE_LEN);
	assert_int_equal(bind_once(&e, &a), A_BOUND);
	assert_true(bound_at(&e, &a, &moved));
	assert_int_equal(e.c.stats.roams, 1);
	assert_int_equal(send_to(&e, &b.addr, a.pub, 100), A_DELIVER);
	assert_true(wg_endpoint_equal(&e.out.dst, &moved));
	env_free(&e);
}

/* An attacker forging a victim's address sends SENDs: the victim gets at most
 * a burst of UNBOUNDs, then RELAY_UNBOUND_PPS a second, each no larger than
 * the SEND; a SEND smaller than an UNBOUND gets nothing; no binding changes. */
static void test_unbound_is_rate_limited_and_never_amplifies(void **state)
{
	struct relay_config cfg = default_config();
	struct wg_endpoint victim = ep("198.51.100.20:41000"), other = ep("203.0.113.5:1");
	unsigned told = 0;
	size_t small = RELAY_UNBOUND_LEN - RELAY_KEYED_HDR_LEN - 1;
	struct client m;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &m, ep("198.51.100.1:40000"), true);
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	assert_int_equal(send_to(&e, &victim, m.pub, small), A_NONE);
	assert_int_equal(send_to(&e, &victim, m.pub, small + 1), A_UNBOUND);
	told++;
	for (unsigned i = 0; i < 10000; i++) {
		struct wg_endpoint forged = ep_port("198.51.100.20", 1024 + i % 5000);

		told += send_to(&e, &forged, m.pub, 60 + i % 1000) == A_UNBOUND;
	}
	assert_int_equal(told, RELAY_UNBOUND_BURST);
	/* another source is not starved by it */
	assert_int_equal(send_to(&e, &other, m.pub, 100), A_UNBOUND);
	advance(&e, 1000);
	for (unsigned i = 0; i < 1000; i++)
		told += send_to(&e, &victim, m.pub, 100) == A_UNBOUND;
	assert_int_equal(told, RELAY_UNBOUND_BURST + RELAY_UNBOUND_PPS);
	assert_int_equal(relay_core_bindings(&e.c), 1);
	assert_true(bound_at(&e, &m, &m.addr));
	assert_int_equal(e.c.stats.forwarded, 0);
	env_free(&e);
}

/* ---- clock skew ----------------------------------------------------------- */

/* A client two hours ahead: its first BIND gets a COOKIE (no word on time to
 * a source that did not show it receives), the next a CLOCK with the relay's
 * time, under its key; a BIND with that time binds. Its timestamps then stay
 * greater than the last accepted; a replay of that BIND is still refused. */
static void test_skewed_client_binds_with_the_relays_time(void **state)
{
	struct relay_config cfg = default_config();
	uint8_t replay[RELAY_BIND_LEN];
	struct client m;
	struct env e;

	(void)state;
	env_init(&e, &cfg);
	client_init(&e, &m, ep("198.51.100.1:40000"), true);
	m.skew_ms = 2 * 3600 * 1000;
	assert_int_equal(bind_once(&e, &m), A_COOKIE);
	assert_int_equal(bind_once(&e, &m), A_CLOCK);
	assert_int_equal(e.out.len, RELAY_CLOCK_LEN);
	assert_int_equal(m.relay_ms, e.wall_ms);
	assert_int_equal(relay_core_bindings(&e.c), 0);
	assert_int_equal(e.c.stats.clocks, 1);
	/* the client takes the relay's time: its skew is gone for this relay */
	m.skew_ms = (int64_t)m.relay_ms - (int64_t)e.wall_ms;
	m.ts_ms = 0;
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	/* the accepted BIND, replayed: refused, binding unchanged */
	crypto_random(m.nonce, sizeof(m.nonce));
	assert_int_equal(relay_build_bind(replay, sizeof(replay), m.priv, e.relay_pub, m.ts_ms,
					  m.nonce, m.cookie, m.ticket),
			 RELAY_BIND_LEN);
	assert_true(input(&e, &m.addr, replay, sizeof(replay)));
	assert_int_equal(e.out.len, RELAY_REFUSED_LEN);
	/* a captured BIND from hours ago gets a CLOCK, never a binding */
	m.force_ts_ms = e.wall_ms - 3 * 3600 * 1000;
	assert_int_equal(bind_once(&e, &m), A_CLOCK);
	advance(&e, 1000);
	assert_int_equal(bind_once(&e, &m), A_BOUND);
	assert_int_equal(e.c.stats.binds, 1);
	assert_int_equal(e.c.stats.refreshes, 1);
	env_free(&e);
}

/* The ticket key can come after start (from relay_register); until then
 * an unbound sender is not told to bind. */
static void test_ticket_key_set_later(void **state)
{
	struct relay_config cfg = default_config();
	struct client m;
	struct env e;

	(void)state;
	cfg.has_ticket_key = false;
	env_init(&e, &cfg);
	client_init(&e, &m, ep("198.51.100.1:40000"), true);
	/* no UNBOUND either: the BIND it asks for would be refused */
	assert_int_equal(send_to(&e, &m.addr, m.pub, 100), A_NONE);
	assert_int_equal(do_bind(&e, &m), A_REFUSED + RELAY_REFUSED_UNAUTHORIZED);
	relay_core_set_ticket_key(&e.c, ticket_pk);
	assert_int_equal(send_to(&e, &m.addr, m.pub, 100), A_UNBOUND);
	assert_int_equal(do_bind(&e, &m), A_BOUND);
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_with_ticket_binds_after_one_cookie),
		cmocka_unit_test(test_cookie_lives_one_to_two_rotations),
		cmocka_unit_test(test_bind_checks_run_in_order),
		cmocka_unit_test(test_self_generated_keys_cannot_bind),
		cmocka_unit_test(test_bind_flood_is_cut_to_the_source_limit),
		cmocka_unit_test(test_forged_source_bind_reflects_only_a_cookie),
		cmocka_unit_test(test_stun_flood_is_rate_limited),
		cmocka_unit_test(test_stun_flood_from_many_sources_hits_the_global_cap),
		cmocka_unit_test(test_ping_free_when_bound_limited_otherwise),
		cmocka_unit_test(test_150_players_behind_one_nat_keep_bindings_and_pongs),
		cmocka_unit_test(test_per_ip_binding_cap),
		cmocka_unit_test(test_per_destination_rate_limit),
		cmocka_unit_test(test_ticket_key_set_later),
		cmocka_unit_test(test_unbound_after_restart_rebinds_in_one_round_trip),
		cmocka_unit_test(test_unbound_after_nat_rebinding_roams_the_binding),
		cmocka_unit_test(test_unbound_is_rate_limited_and_never_amplifies),
		cmocka_unit_test(test_skewed_client_binds_with_the_relays_time),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
