/*
 * test_session: the control core's session layer (docs/CONTROL.md "Session
 * start and authentication"): the hello, the registration proof, token
 * rotation on re-register, auth, one live session per peer, unauthorized
 * requests, the size limit and the per-session rate limit (fake clock).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;

static int setup(void **state)
{
	struct ctl_core_opts o;

	th_opts(&o);
	return th_core_open(&o, &core);
}

static int teardown(void **state)
{
	return th_core_close(&core);
}

/* Captures the hello itself (th_open consumes it). */
static void test_hello(void **state)
{
	struct th_client a = { 0 }, b = { 0 };
	struct ctl_session_ops ops = { th_on_send, th_on_close, &a };
	struct ctl_session *sa = ctl_session_open(core, &ops), *sb;
	uint8_t ka[32], kb[32], ca[32], cb[32];
	json_t *h;

	ops.arg = &b;
	sb = ctl_session_open(core, &ops);
	assert_int_equal(a.n_replies, 1);
	h = a.replies[0];
	assert_string_equal(th_str(h, "type"), "hello");
	assert_int_equal(json_integer_value(json_object_get(h, "v")), 1);
	assert_string_equal(th_str(h, "server"), "lanrage-control/0.1.0");
	th_b64_decode(th_str(h, "server_key"), ka);
	th_b64_decode(th_str(h, "challenge"), ca);
	th_b64_decode(th_str(b.replies[0], "server_key"), kb);
	th_b64_decode(th_str(b.replies[0], "challenge"), cb);
	/* Per-session ephemeral key and challenge. */
	assert_memory_not_equal(ka, kb, 32);
	assert_memory_not_equal(ca, cb, 32);
	th_clear(&a);
	th_clear(&b);
	ctl_session_close(sa);
	ctl_session_close(sb);
}

static void test_register_and_auth(void **state)
{
	struct th_client *a = th_peer(core, "alice"), *b;
	char first_token[64], peer_id[32];
	json_t *d;

	assert_int_equal(strlen(a->peer_id), 16);
	assert_int_equal(strlen(a->token), 43);
	strcpy(first_token, a->token);
	strcpy(peer_id, a->peer_id);

	/* The same key proves itself on a new session: same ID, new token. */
	b = th_open(core);
	memcpy(b->priv, a->priv, 32);
	memcpy(b->pub, a->pub, 32);
	assert_int_equal(th_register_as(b, "alice2"), 0);
	assert_string_equal(b->peer_id, peer_id);
	assert_string_not_equal(b->token, first_token);
	assert_true(a->closed); /* one live session per peer */
	th_free(a);

	/* The old token is revoked, the new one works. */
	a = th_open(core);
	assert_string_equal(th_code(th_req(a, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"",
					   peer_id, first_token)),
			    "unauthorized");
	d = th_ok(th_req(a, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"", peer_id, b->token));
	assert_non_null(d);
	assert_string_equal(th_str(d, "peer_id"), peer_id);
	assert_true(json_is_null(json_object_get(d, "party")));
	/* Auth closed b through its ops; b's session is now dead. */
	assert_true(b->closed);
	assert_int_equal(th_raw(b, "{\"type\":\"heartbeat\",\"id\":1}"), -ENOTCONN);
	th_free(b);
	assert_non_null(th_ok(th_req0(a, "heartbeat")));
	/* Upper-case peer ID is the same peer. */
	th_free(a);
}

static void test_bad_proof(void **state)
{
	struct th_client *a = th_open(core), *b = th_open(core);
	struct ctl_core_stats before, after;
	uint8_t proof[32];
	char pub[45], pr[45];

	ctl_core_stats(core, &before);
	/* A proof made for another session's challenge and key. */
	assert_int_equal(ctl_register_proof(proof, a->priv, b->server_key, b->challenge), 0);
	th_b64(a->pub, pub);
	th_b64(proof, pr);
	assert_string_equal(
		th_code(th_req(a, "register",
			       "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"x\",\"version\":\"\"",
			       pub, pr)),
		"bad_proof");
	/* A valid proof for a different key than the one claimed. */
	assert_int_equal(ctl_register_proof(proof, b->priv, a->server_key, a->challenge), 0);
	th_b64(proof, pr);
	assert_string_equal(
		th_code(th_req(a, "register",
			       "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"x\",\"version\":\"\"",
			       pub, pr)),
		"bad_proof");
	/* A low-order public key (all zero) never verifies. */
	memset(proof, 0, sizeof(proof));
	th_b64(proof, pub);
	assert_string_equal(
		th_code(th_req(a, "register",
			       "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"x\",\"version\":\"\"",
			       pub, pub)),
		"bad_proof");
	ctl_core_stats(core, &after);
	assert_int_equal(after.peers, before.peers);
	assert_string_equal(th_code(th_req0(a, "heartbeat")), "unauthorized");
	th_free(a);
	th_free(b);
}

static void test_proof_low_order(void **state)
{
	uint8_t out[32], priv[32], zero[32] = { 0 }, chal[32] = { 0 };

	crypto_random(priv, sizeof(priv));
	assert_int_equal(ctl_register_proof(out, priv, zero, chal), -EINVAL);
}

static void test_unauthorized(void **state)
{
	static const char *const needs_auth[] = {
		"{\"type\":\"party_create\",\"id\":1,\"name\":\"x\"}",
		"{\"type\":\"party_join\",\"id\":2,\"party_id\":\"2222-2222-2222\"}",
		"{\"type\":\"party_leave\",\"id\":3}",
		"{\"type\":\"party_get\",\"id\":4,\"party_id\":\"2222-2222-2222\"}",
		"{\"type\":\"peers_list\",\"id\":5,\"party_id\":\"2222-2222-2222\"}",
		"{\"type\":\"peer_get\",\"id\":6,\"peer_id\":\"0123456789abcdef\"}",
		"{\"type\":\"peer_update\",\"id\":7,\"relay\":\"\"}",
		"{\"type\":\"heartbeat\",\"id\":8}",
		"{\"type\":\"signal\",\"id\":9,\"to\":\"0123456789abcdef\",\"payload\":{}}",
		"{\"type\":\"relays_list\",\"id\":10}",
		"{\"type\":\"auth\",\"id\":11,\"peer_id\":\"0123456789abcdef\",\"token\":\"x\"}",
	};
	struct th_client *a = th_open(core), *b = th_peer(core, "b");

	for (size_t i = 0; i < sizeof(needs_auth) / sizeof(*needs_auth); i++) {
		th_clear(a);
		assert_int_equal(th_raw(a, needs_auth[i]), 0);
		assert_int_equal(a->n_replies, 1);
		assert_string_equal(th_code(a->replies[0]), "unauthorized");
		assert_int_equal(json_integer_value(json_object_get(a->replies[0], "id")),
				 (json_int_t)i + 1);
	}
	/* A real peer ID with a token that belongs to nobody. */
	assert_string_equal(th_code(th_req(a, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"",
					   b->peer_id,
					   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
			    "unauthorized");
	assert_false(b->closed);
	th_free(a);
	th_free(b);
}

static void test_too_large(void **state)
{
	struct th_client *a = th_peer(core, "a");
	size_t n = CTL_MAX_MESSAGE + 1;
	char *big = malloc(n);

	memset(big, ' ', n);
	memcpy(big, "{\"type\":\"heartbeat\",\"id\":1}", 27);
	assert_int_equal(ctl_session_input(a->s, big, n), -EMSGSIZE);
	assert_int_equal(a->n_replies, 1);
	assert_string_equal(th_code(a->replies[0]), "too_large");
	/* Exactly the limit is accepted. */
	th_clear(a);
	assert_int_equal(ctl_session_input(a->s, big, CTL_MAX_MESSAGE), 0);
	assert_non_null(th_ok(a->replies[0]));
	free(big);
	th_free(a);
}

static void test_rate_limit(void **state)
{
	struct th_client *a = th_peer(core, "a");
	int ok = 0, limited = 0;

	/* The registration used one token of the burst of 40. */
	for (int i = 0; i < 45; i++) {
		json_t *r = th_req0(a, "heartbeat");

		if (th_ok(r))
			ok++;
		else if (!strcmp(th_code(r), "rate_limited"))
			limited++;
	}
	assert_int_equal(ok, 39);
	assert_int_equal(limited, 6);
	/* The refusal echoes the id. */
	assert_int_equal(json_integer_value(json_object_get(a->replies[a->n_replies - 1], "id")),
			 a->next_id);
	/* 20/s: 50 ms earns exactly one message. */
	time_fake_advance(50 * TIME_NS_PER_MS);
	assert_non_null(th_ok(th_req0(a, "heartbeat")));
	assert_string_equal(th_code(th_req0(a, "heartbeat")), "rate_limited");
	/* A long pause refills only to the burst. */
	time_fake_advance(3600 * TIME_NS_PER_SEC);
	ok = 0;
	for (int i = 0; i < 45; i++)
		ok += th_ok(th_req0(a, "heartbeat")) != NULL;
	assert_int_equal(ok, 40);
	/* Another session has its own bucket. */
	{
		struct th_client *b = th_peer(core, "b");

		assert_non_null(th_ok(th_req0(b, "heartbeat")));
		th_free(b);
	}
	th_free(a);
}

static void test_stats_sessions(void **state)
{
	struct ctl_core_stats st;
	struct th_client *a = th_open(core), *b = th_open(core);

	ctl_core_stats(core, &st);
	assert_int_equal(st.sessions, 2);
	th_free(a);
	ctl_core_stats(core, &st);
	assert_int_equal(st.sessions, 1);
	th_free(b);
	ctl_core_stats(core, &st);
	assert_int_equal(st.sessions, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_and_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proof_low_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthorized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_sessions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
