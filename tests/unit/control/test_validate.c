/*
 * test_validate: strict validation (docs/CONTROL.md "Transport", "Answers"):
 * every malformed message gets the documented code, the id is echoed when it
 * could be read and null otherwise, and a refused request changes nothing,
 * checked by comparing the stats and the party as seen before and after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;
static struct th_client *a, *b;
static char party[15];

static int setup(void **state)
{
	struct ctl_core_opts o;

	time_fake_set(1000 * TIME_NS_PER_SEC);
	th_opts(&o);
	o.rate_burst = 100000;
	o.relay_secret = "s3cret";
	if (ctl_core_open(&o, &core))
		return -1;
	a = th_peer(core, "a");
	b = th_peer(core, "b");
	if (th_create(a, "p", 0, party) || !th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", party)))
		return -1;
	th_clear(a);
	th_clear(b);
	return 0;
}

static int teardown(void **state)
{
	th_free(a);
	th_free(b);
	ctl_core_close(core);
	time_fake_set(0);
	return 0;
}

/* Everything a refusal must leave alone, as text. */
static char *snapshot(void)
{
	struct ctl_core_stats st;
	json_t *p, *pa, *pb, *rel, *all;
	char *text;

	ctl_core_stats(core, &st);
	p = th_ok(th_req(a, "party_get", "\"party_id\":\"%s\"", party));
	pa = th_ok(th_req(a, "peer_get", "\"peer_id\":\"%s\"", a->peer_id));
	pb = th_ok(th_req(b, "peer_get", "\"peer_id\":\"%s\"", b->peer_id));
	rel = th_ok(th_req0(a, "relays_list"));
	all = json_pack("{s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:O}", "parties",
				    (json_int_t)st.parties, "peers", (json_int_t)st.peers,
				    "members", (json_int_t)st.members, "relays",
				    (json_int_t)st.relays, "party", p, "a", pa, "b", pb, "relays",
				    rel);
	text = json_dumps(all, JSON_SORT_KEYS);
	json_decref(all);
	th_clear(a);
	return text;
}

struct bad {
	const char *msg;
	const char *code;
	long long id; /* expected id; 0 = null */
};

static const struct bad bad_msgs[] = {
	{ "", "bad_json", 0 },
	{ "{", "bad_json", 0 },
	{ "[]", "bad_json", 0 },
	{ "42", "bad_json", 0 },
	{ "\"party_leave\"", "bad_json", 0 },
	{ "null", "bad_json", 0 },
	{ "{\"type\":\"party_leave\",\"id\":1} trailing", "bad_json", 0 },
	{ "{\"type\":\"party_leave\",\"id\":1,\"id\":2}", "bad_json", 0 },
	{ "{\"type\":\"party_leave\"}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":0}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":-5}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":9007199254740992}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":\"1\"}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":1.0}", "bad_request", 0 },
	{ "{\"type\":\"party_leave\",\"id\":null}", "bad_request", 0 },
	{ "{\"id\":7}", "bad_request", 7 },
	{ "{\"type\":5,\"id\":7}", "bad_request", 7 },
	{ "{\"type\":\"party_destroy\",\"id\":7}", "unknown_type", 7 },
	{ "{\"type\":\"hello\",\"id\":7}", "unknown_type", 7 },
	/* jansson refuses \u0000 in strings outright. */
	{ "{\"type\":\"party_leave\\u0000x\",\"id\":7}", "bad_json", 0 },
	{ "{\"type\":\"party_leave\",\"id\":9007199254740991,\"force\":true}", "bad_request",
	  9007199254740991LL },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"\"}", "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8}", "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":5}", "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"a\\u0001\"}", "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"a\\u0000b\"}", "bad_json", 0 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":"
	  "\"12345678901234567890123456789012345678901234567890123456789012345\"}",
	  "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"x\",\"max_members\":1}", "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"x\",\"max_members\":1025}", "bad_request",
	  8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"x\",\"max_members\":\"64\"}",
	  "bad_request", 8 },
	{ "{\"type\":\"party_create\",\"id\":8,\"name\":\"x\",\"max_members\":64.0}", "bad_request",
	  8 },
	{ "{\"type\":\"party_join\",\"id\":9,\"party_id\":\"ABCD\"}", "bad_request", 9 },
	{ "{\"type\":\"party_join\",\"id\":9,\"party_id\":\"0000-0000-0000\"}", "bad_request", 9 },
	{ "{\"type\":\"party_join\",\"id\":9,\"party_id\":\"2222-2222-2222-2\"}", "bad_request", 9 },
	{ "{\"type\":\"party_join\",\"id\":9,\"party_id\":123}", "bad_request", 9 },
	{ "{\"type\":\"party_get\",\"id\":9}", "bad_request", 9 },
	{ "{\"type\":\"peer_get\",\"id\":10,\"peer_id\":\"xyz\"}", "bad_request", 10 },
	{ "{\"type\":\"peer_get\",\"id\":10,\"peer_id\":\"0123456789abcdef0\"}", "bad_request", 10 },
	{ "{\"type\":\"peer_get\",\"id\":10,\"peer_id\":\"0123456789abcdeg\"}", "bad_request", 10 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":\"1.2.3.4:5\"}", "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"1.2.3.4\"]}", "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"1.2.3.4:0\"]}", "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"1.2.3.4:65536\"]}", "bad_request",
	  11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"host:80\"]}", "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"2001:db8::1:80\"]}", "bad_request",
	  11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"1.2.3.4:80\",5]}", "bad_request",
	  11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"endpoints\":[\"1.1.1.1:1\",\"1.1.1.1:2\","
	  "\"1.1.1.1:3\",\"1.1.1.1:4\",\"1.1.1.1:5\",\"1.1.1.1:6\",\"1.1.1.1:7\",\"1.1.1.1:8\","
	  "\"1.1.1.1:9\",\"1.1.1.1:10\",\"1.1.1.1:11\",\"1.1.1.1:12\",\"1.1.1.1:13\","
	  "\"1.1.1.1:14\",\"1.1.1.1:15\",\"1.1.1.1:16\",\"1.1.1.1:17\"]}",
	  "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"nat\":{\"type\":\"open\",\"mapping\":\"x\"}}",
	  "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"nat\":{\"type\":\"open\",\"mapping\":\"x\","
	  "\"filtering\":\"y\",\"extra\":\"z\"}}",
	  "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"nat\":{\"type\":\"OPEN\",\"mapping\":\"x\","
	  "\"filtering\":\"y\"}}",
	  "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"nat\":\"open\"}", "bad_request", 11 },
	{ "{\"type\":\"peer_update\",\"id\":11,\"relay\":"
	  "\"12345678901234567890123456789012345678901234567890123456789012345\"}",
	  "bad_request", 11 },
	/* A valid field with an invalid one: nothing of it is applied. */
	{ "{\"type\":\"peer_update\",\"id\":11,\"relay\":\"r\",\"endpoints\":[\"x\"]}", "bad_request",
	  11 },
	{ "{\"type\":\"signal\",\"id\":12,\"to\":\"0123456789abcdef\",\"payload\":[]}",
	  "bad_request", 12 },
	{ "{\"type\":\"signal\",\"id\":12,\"payload\":{}}", "bad_request", 12 },
	{ "{\"type\":\"register\",\"id\":13,\"public_key\":\"abc\",\"proof\":\"abc\",\"name\":\"x\","
	  "\"version\":\"1\"}",
	  "bad_request", 13 },
	{ "{\"type\":\"register\",\"id\":13,\"public_key\":"
	  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\",\"proof\":"
	  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"name\":\"x\",\"version\":\"1\"}",
	  "bad_request", 13 },
	{ "{\"type\":\"register\",\"id\":13,\"public_key\":"
	  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"proof\":"
	  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"name\":\"x\",\"version\":"
	  "\"123456789012345678901234567890123\"}",
	  "bad_request", 13 },
	{ "{\"type\":\"auth\",\"id\":14,\"peer_id\":\"0123456789abcdef\"}", "bad_request", 14 },
	{ "{\"type\":\"relay_register\",\"id\":15,\"secret\":\"s3cret\",\"name\":\"r\","
	  "\"endpoint\":\"1.2.3.4\"}",
	  "bad_request", 15 },
	{ "{\"type\":\"relay_register\",\"id\":15,\"secret\":\"wrong\",\"name\":\"r\","
	  "\"endpoint\":\"1.2.3.4:51821\"}",
	  "unauthorized", 15 },
	{ "{\"type\":\"relay_heartbeat\",\"id\":16,\"secret\":\"s3cret\",\"relay_id\":"
	  "\"0123456789abcdef\",\"clients\":-1}",
	  "bad_request", 16 },
	{ "{\"type\":\"relay_heartbeat\",\"id\":16,\"secret\":\"s3cret\",\"relay_id\":"
	  "\"0123456789abcdef\"}",
	  "not_found", 16 },
	{ "{\"type\":\"relays_list\",\"id\":17,\"all\":true}", "bad_request", 17 },
	{ "{\"type\":\"heartbeat\",\"id\":18,\"now\":1}", "bad_request", 18 },
};

static void test_bad_messages(void **state)
{
	char *before = snapshot(), *after;

	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(*bad_msgs); i++) {
		const struct bad *t = &bad_msgs[i];
		json_t *r, *id;

		th_clear(a);
		assert_int_equal(ctl_session_input(a->s, t->msg, strlen(t->msg)), 0);
		assert_int_equal(a->n_replies, 1);
		r = a->replies[0];
		if (strcmp(th_code(r), t->code))
			fail_msg("%s: got %s, want %s", t->msg, th_code(r), t->code);
		id = json_object_get(r, "id");
		if (t->id)
			assert_int_equal(json_integer_value(id), t->id);
		else
			assert_true(json_is_null(id));
		assert_true(strlen(th_str(r, "message")) > 0);
		assert_int_equal(b->n_events, 0); /* nobody heard of it */
	}
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* Unknown and missing fields are named in the message. */
static void test_messages_name_field(void **state)
{
	json_t *r = th_req(a, "party_create", "\"name\":\"x\",\"colour\":\"red\"");

	assert_non_null(strstr(th_str(r, "message"), "colour"));
	r = th_req(a, "party_join", "%s", "");
	assert_non_null(strstr(th_str(r, "message"), "party_id"));
	r = th_req(a, "party_create", "\"name\":\"x\",\"max_members\":0");
	assert_non_null(strstr(th_str(r, "message"), "max_members"));
}

/* Limits hold exactly at their edges. */
static void test_edges_accepted(void **state)
{
	char name[65], payload[5000];
	size_t n;
	json_t *r;

	memset(name, 'n', 64);
	name[64] = '\0';
	assert_non_null(th_ok(th_req0(b, "party_leave")));
	assert_non_null(th_ok(th_req(b, "party_create", "\"name\":\"%s\",\"max_members\":1024",
				     name)));
	assert_non_null(th_ok(th_req0(b, "party_leave")));
	assert_non_null(th_ok(th_req(b, "party_create", "\"name\":\"%s\",\"max_members\":2", "x")));
	assert_non_null(th_ok(th_req0(b, "party_leave")));
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", party)));
	/* A payload of exactly 4096 bytes encoded, then one more. */
	n = (size_t)snprintf(payload, sizeof(payload), "{\"x\":\"");
	memset(payload + n, 'a', 4096 - n - 2);
	memcpy(payload + 4096 - 2, "\"}", 3);
	assert_int_equal(strlen(payload), 4096);
	assert_non_null(th_ok(th_req(a, "signal", "\"to\":\"%s\",\"payload\":%s", b->peer_id,
				     payload)));
	memcpy(payload + 4096 - 2, "a\"}", 4);
	r = th_req(a, "signal", "\"to\":\"%s\",\"payload\":%s", b->peer_id, payload);
	assert_string_equal(th_code(r), "bad_request");
	/* Upper-case hex peer IDs are accepted. */
	{
		char up[17];

		for (int i = 0; i < 17; i++)
			up[i] = (char)(a->peer_id[i] >= 'a' ? a->peer_id[i] - 32 : a->peer_id[i]);
		assert_non_null(th_ok(th_req(b, "peer_get", "\"peer_id\":\"%s\"", up)));
	}
}

/* The longest peer object the server can send, every field at its limit
 * and its text made of characters JSON escapes, fits CTL_MAX_PEER_JSON, so
 * a party of CTL_LIMIT_MAX_MEMBERS fits CTL_MAX_SERVER_MESSAGE. */
static void test_largest_peer_fits(void **state)
{
	char name[CTL_MAX_NAME * 2 + 1], version[32 * 2 + 1], eps[16 * 52 + 1], *text;
	static const char ep[] = "\"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535\"";
	struct th_client *x;
	size_t n = 0;
	json_t *d;

	for (int i = 0; i < CTL_MAX_NAME; i++)
		memcpy(name + 2 * i, "\\\"", 2);
	name[CTL_MAX_NAME * 2] = '\0';
	for (int i = 0; i < 32; i++)
		memcpy(version + 2 * i, "\\\\", 2);
	version[64] = '\0';
	for (int i = 0; i < CTL_MAX_ENDPOINTS; i++)
		n += (size_t)snprintf(eps + n, sizeof(eps) - n, "%s%s", i ? "," : "", ep);
	x = th_open(core);
	{
		uint8_t proof[32];
		char pub[45], pr[45];

		assert_int_equal(ctl_register_proof(proof, x->priv, x->server_key, x->challenge), 0);
		th_b64(x->pub, pub);
		th_b64(proof, pr);
		d = th_ok(th_req(x, "register",
				 "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"%s\","
				 "\"version\":\"%s\"",
				 pub, pr, name, version));
		assert_non_null(d);
	}
	d = th_ok(th_req(x, "peer_update",
			 "\"endpoints\":[%s],\"relay\":\"%s\",\"nat\":{\"type\":\"%s\","
			 "\"mapping\":\"%s\",\"filtering\":\"%s\"}",
			 eps, name, "aaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_non_null(d);
	text = json_dumps(json_object_get(d, "peer"), JSON_COMPACT);
	assert_non_null(text);
	assert_int_equal(json_array_size(json_object_get(json_object_get(d, "peer"), "endpoints")),
			 CTL_MAX_ENDPOINTS);
	assert_true(strlen(text) > 1000);
	assert_true(strlen(text) <= CTL_MAX_PEER_JSON);
	free(text);
	th_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_name_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edges_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_largest_peer_fits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
