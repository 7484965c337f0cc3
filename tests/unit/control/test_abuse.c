/*
 * test_abuse: the control core's limits against the attacks they answer
 * (docs/CONTROL.md "Limits"), on the fake clock: a session that never
 * authenticates is closed at its deadline; one source cannot hold more than
 * its share of sessions; a registration flood from one source is refused
 * while a known peer from it still authenticates; a signal flood at one
 * member is refused to its senders while the member stays connected; peers
 * not seen for the GC time are forgotten, connected ones are not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;

static int open_with(void (*tweak)(struct ctl_core_opts *o))
{
	struct ctl_core_opts o;

	th_opts(&o);
	o.rate_burst = 10000;
	o.relay_secret = "pw";
	if (tweak)
		tweak(&o);
	return th_core_open(&o, &core);
}

static int teardown(void **state)
{
	return th_core_close(&core);
}

static void advance_ms(uint64_t ms)
{
	time_fake_advance(ms * TIME_NS_PER_MS);
	ctl_core_tick(core);
}

static int setup(void **state)
{
	return open_with(NULL);
}

static void test_unauthenticated_session_closed_at_deadline(void **state)
{
	struct th_client *anon = th_open_from(core, "192.0.2.1");
	struct th_client *peer = th_open_from(core, "192.0.2.1");
	struct th_client *relay = th_open_from(core, "192.0.2.2");
	struct ctl_core_stats st;

	assert_int_equal(th_register_as(peer, "p"), 0);
	assert_non_null(th_ok(th_req(relay, "relay_register",
				     "\"secret\":\"pw\",\"name\":\"r\",\"endpoint\":\"192.0.2.2:1\"")));
	/* Messages that authenticate nothing do not move the deadline. */
	advance_ms(5000);
	assert_string_equal(th_code(th_req0(anon, "heartbeat")), "unauthorized");
	th_clear(anon);
	advance_ms(4999);
	assert_false(anon->closed);
	advance_ms(1);
	assert_true(anon->closed);
	assert_int_equal(anon->n_replies, 1);
	assert_string_equal(th_code(anon->replies[0]), "unauthorized");
	assert_int_equal(th_raw(anon, "{\"type\":\"heartbeat\",\"id\":1}"), -ENOTCONN);
	ctl_core_stats(core, &st);
	assert_int_equal(st.auth_timeouts, 1);
	/* The registered peer and the relay stay. */
	advance_ms(60000);
	assert_false(peer->closed);
	assert_false(relay->closed);
	assert_non_null(th_ok(th_req0(peer, "heartbeat")));
	th_free(anon);
	th_free(peer);
	th_free(relay);
}

static void cap_sessions(struct ctl_core_opts *o)
{
	o->source_sessions = 3;
}

static int setup_cap(void **state)
{
	return open_with(cap_sessions);
}

/* The refused session gets one error instead of the hello, then is closed. */
static void expect_refused(const char *source)
{
	struct th_client cl = { 0 };
	struct ctl_session_ops ops = { th_on_send, th_on_close, &cl };
	struct ctl_session *s = ctl_session_open_from(core, &ops, source);

	assert_non_null(s);
	assert_true(cl.closed);
	assert_int_equal(cl.n_replies, 1);
	assert_string_equal(th_code(cl.replies[0]), "too_many_sessions");
	assert_int_equal(ctl_session_input(s, "{\"type\":\"heartbeat\",\"id\":1}", 28), -ENOTCONN);
	th_clear(&cl);
	ctl_session_close(s);
}

static void test_sessions_per_source_capped(void **state)
{
	struct th_client *s[3];
	struct th_client *other, *local;
	struct ctl_core_stats st;

	for (int i = 0; i < 3; i++)
		s[i] = th_open_from(core, "203.0.113.7");
	expect_refused("203.0.113.7");
	expect_refused("203.0.113.7");
	/* Other sources and in-process sessions are not counted with it. */
	other = th_open_from(core, "203.0.113.8");
	local = th_open(core);
	ctl_core_stats(core, &st);
	assert_int_equal(st.sessions_refused, 2);
	assert_int_equal(st.sessions, 5);
	/* A slot that frees is usable again. */
	th_free(s[0]);
	s[0] = th_open_from(core, "203.0.113.7");
	expect_refused("203.0.113.7");
	for (int i = 0; i < 3; i++)
		th_free(s[i]);
	th_free(other);
	th_free(local);
}

static void reg_burst(struct ctl_core_opts *o)
{
	o->source_register_rate = 60; /* one a second */
	o->source_register_burst = 3;
}

static int setup_reg(void **state)
{
	return open_with(reg_burst);
}

static void test_register_flood_refused_known_peer_still_auths(void **state)
{
	struct th_client *known = th_open_from(core, "198.51.100.9"), *cl[4], *back, *elsewhere;
	struct ctl_core_stats st;

	assert_int_equal(th_register_as(known, "known"), 0);
	for (int i = 0; i < 2; i++) {
		cl[i] = th_open_from(core, "198.51.100.9");
		assert_int_equal(th_register_as(cl[i], "flood"), 0);
	}
	for (int i = 2; i < 4; i++) {
		cl[i] = th_open_from(core, "198.51.100.9");
		assert_int_equal(th_register_as(cl[i], "flood"), -1);
		assert_string_equal(th_code(cl[i]->replies[cl[i]->n_replies - 1]), "rate_limited");
	}
	ctl_core_stats(core, &st);
	assert_int_equal(st.registers_refused, 2);
	assert_int_equal(st.peers, 3);
	/* The known peer, from the same address, resumes with its token. */
	back = th_open_from(core, "198.51.100.9");
	assert_non_null(th_ok(th_req(back, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"",
				     known->peer_id, known->token)));
	/* Another address has its own budget; this one refills with time. */
	elsewhere = th_open_from(core, "198.51.100.10");
	assert_int_equal(th_register_as(elsewhere, "e"), 0);
	advance_ms(1000);
	th_clear(cl[2]);
	assert_int_equal(th_register_as(cl[2], "later"), 0);
	assert_int_equal(th_register_as(cl[3], "later"), -1);
	for (int i = 0; i < 4; i++)
		th_free(cl[i]);
	th_free(known);
	th_free(back);
	th_free(elsewhere);
}

static void sig_limit(struct ctl_core_opts *o)
{
	o->signal_rate = 1024;
	o->signal_burst = CTL_MAX_MESSAGE;
}

static int setup_sig(void **state)
{
	return open_with(sig_limit);
}

static size_t signals_to(struct th_client *cl)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->n_events; i++)
		n += !strcmp(th_str(cl->events[i], "event"), "signal");
	return n;
}

static void test_signal_flood_refused_recipient_stays(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b"), *c = th_peer(core, "c");
	char id[15], pad[4001];
	size_t sent = 0, i;
	json_t *r = NULL;

	assert_int_equal(th_create(b, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(a, "party_join", "\"party_id\":\"%s\"", id)));
	assert_non_null(th_ok(th_req(c, "party_join", "\"party_id\":\"%s\"", id)));
	th_clear(b);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < 100; i++) {
		r = th_req(a, "signal", "\"to\":\"%s\",\"payload\":{\"p\":\"%s\"}", b->peer_id, pad);
		if (!th_ok(r))
			break;
		sent++;
	}
	if (strcmp(th_code(r), "rate_limited"))
		fail_msg("after %zu: %s", sent, r ? json_dumps(r, 0) : "no reply");
	/* The budget is the burst: a few 4 KB signals, not the 100 tried. */
	assert_true(sent >= 3 && sent < 5);
	/* It is b's budget: c is refused the same signal too, while a still
	 * hears from c. */
	assert_string_equal(th_code(th_req(c, "signal", "\"to\":\"%s\",\"payload\":{\"p\":\"%s\"}",
					   b->peer_id, pad)),
			    "rate_limited");
	assert_non_null(th_ok(th_req(c, "signal", "\"to\":\"%s\",\"payload\":{}", a->peer_id)));
	/* b was never closed and got exactly what was accepted. */
	assert_false(b->closed);
	assert_int_equal(signals_to(b), sent);
	assert_non_null(th_ok(th_req0(b, "heartbeat")));
	/* The budget refills. */
	advance_ms(5000);
	assert_non_null(th_ok(th_req(a, "signal", "\"to\":\"%s\",\"payload\":{}", b->peer_id)));
	th_free(a);
	th_free(b);
	th_free(c);
}

static void gc_hour(struct ctl_core_opts *o)
{
	o->peer_gc_ms = 3600 * 1000;
}

static int setup_gc(void **state)
{
	return open_with(gc_hour);
}

static void test_peers_not_seen_are_collected(void **state)
{
	struct th_client *gone = th_peer(core, "gone"), *stays = th_peer(core, "stays");
	struct th_client *m1 = th_peer(core, "m1"), *m2 = th_peer(core, "m2"), *back;
	char peer_id[32], token[64], id[15];
	uint8_t priv[32];
	struct ctl_core_stats st;

	assert_int_equal(th_create(m1, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(m2, "party_join", "\"party_id\":\"%s\"", id)));
	snprintf(peer_id, sizeof(peer_id), "%s", gone->peer_id);
	snprintf(token, sizeof(token), "%s", gone->token);
	memcpy(priv, gone->priv, 32);
	th_free(gone);
	th_free(m1);
	th_free(m2);
	/* The tick says when the oldest is due. */
	assert_true(ctl_core_tick(core) <= 90000);
	advance_ms(3599 * 1000);
	ctl_core_stats(core, &st);
	assert_int_equal(st.peers, 4);
	advance_ms(1001);
	ctl_core_stats(core, &st);
	/* gone, m1 and m2 (whose membership timed out long ago) are forgotten;
	 * stays holds a session and is kept. */
	assert_int_equal(st.peers_collected, 3);
	assert_int_equal(st.peers, 1);
	assert_int_equal(st.parties, 0);
	back = th_open(core);
	assert_string_equal(th_code(th_req(back, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"",
					   peer_id, token)),
			    "unauthorized");
	/* The key may register again: a new peer. */
	memcpy(back->priv, priv, 32);
	crypto_x25519_public(back->pub, priv);
	assert_int_equal(th_register_as(back, "gone"), 0);
	assert_string_not_equal(back->peer_id, peer_id);
	advance_ms(3600 * 1000);
	assert_non_null(th_ok(th_req0(stays, "heartbeat")));
	th_free(back);
	th_free(stays);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unauthenticated_session_closed_at_deadline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_source_capped, setup_cap,
						teardown),
		cmocka_unit_test_setup_teardown(test_register_flood_refused_known_peer_still_auths,
						setup_reg, teardown),
		cmocka_unit_test_setup_teardown(test_signal_flood_refused_recipient_stays,
						setup_sig, teardown),
		cmocka_unit_test_setup_teardown(test_peers_not_seen_are_collected, setup_gc,
						teardown),
	};

	crypto_init();
	return cmocka_run_group_tests_name("ctl_abuse", tests, NULL, NULL);
}
