/*
 * test_rest: the read-only REST queries (docs/CONTROL.md "REST"): health,
 * relays, party (summary or with peers), party peers, peer; the bearer
 * header; each error's HTTP status and code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;
static struct th_client *a, *b, *c;
static char party[15], auth_a[128], auth_c[128];

static int setup(void **state)
{
	struct ctl_core_opts o;

	time_fake_set(1000 * TIME_NS_PER_SEC);
	th_opts(&o);
	o.relay_secret = "pw";
	if (ctl_core_open(&o, &core))
		return -1;
	a = th_peer(core, "a");
	b = th_peer(core, "b");
	c = th_peer(core, "c");
	if (th_create(a, "p", 0, party) ||
	    !th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", party)))
		return -1;
	snprintf(auth_a, sizeof(auth_a), "Bearer %s:%s", a->peer_id, a->token);
	snprintf(auth_c, sizeof(auth_c), "Bearer %s:%s", c->peer_id, c->token);
	return 0;
}

static int teardown(void **state)
{
	th_free(a);
	th_free(b);
	th_free(c);
	ctl_core_close(core);
	time_fake_set(0);
	return 0;
}

/* Runs a query; returns the parsed body and the status in *status. */
static json_t *get(const char *path, const char *auth, int *status)
{
	char *body = NULL;
	json_t *j;

	*status = ctl_core_rest(core, path, auth, &body);
	assert_non_null(body);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	free(body);
	return j;
}

static void expect_error(const char *path, const char *auth, int status, const char *code)
{
	int st;
	json_t *j = get(path, auth, &st);

	assert_int_equal(st, status);
	assert_string_equal(th_str(j, "code"), code);
	assert_true(strlen(th_str(j, "message")) > 0);
	json_decref(j);
}

static void test_health_relays(void **state)
{
	struct th_client *r = th_open(core);
	int st;
	json_t *j = get("/v1/health", NULL, &st);

	assert_int_equal(st, 200);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "parties")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "peers")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "sessions")), 4);
	json_decref(j);
	assert_non_null(th_ok(th_req(r, "relay_register",
				     "\"secret\":\"pw\",\"name\":\"r\",\"endpoint\":\"[::1]:51821\"")));
	j = get("/v1/relays?x=1", NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_array_size(json_object_get(j, "relays")), 1);
	json_decref(j);
	th_free(r);
}

static void test_party_routes(void **state)
{
	char path[128];
	int st;
	json_t *j;

	snprintf(path, sizeof(path), "/v1/parties/%s", party);
	j = get(path, auth_a, &st);
	assert_int_equal(st, 200);
	assert_string_equal(th_str(j, "party_id"), party);
	assert_int_equal(json_array_size(json_object_get(j, "peers")), 2);
	json_decref(j);
	/* A non-member sees the summary only. */
	j = get(path, auth_c, &st);
	assert_int_equal(st, 200);
	assert_null(json_object_get(j, "peers"));
	assert_int_equal(json_integer_value(json_object_get(j, "member_count")), 2);
	json_decref(j);

	snprintf(path, sizeof(path), "/v1/parties/%s/peers", party);
	j = get(path, auth_a, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_array_size(json_object_get(j, "peers")), 2);
	json_decref(j);
	expect_error(path, auth_c, 403, "not_member");
	expect_error(path, NULL, 401, "unauthorized");

	snprintf(path, sizeof(path), "/v1/peers/%s", b->peer_id);
	j = get(path, auth_a, &st);
	assert_int_equal(st, 200);
	assert_string_equal(th_str(j, "peer_id"), b->peer_id);
	json_decref(j);
	expect_error(path, auth_c, 403, "not_member");
	snprintf(path, sizeof(path), "/v1/peers/%s", c->peer_id);
	j = get(path, auth_c, &st);
	assert_int_equal(st, 200);
	json_decref(j);
}

static void test_errors(void **state)
{
	char bad[128];

	expect_error("/v1/nothing", NULL, 404, "not_found");
	expect_error("/v1/parties/2222-3333-4444", auth_a, 404, "not_found");
	expect_error("/v1/parties/2222-3333-4444/more", auth_a, 404, "not_found");
	expect_error("/v1/parties/OOOO", auth_a, 400, "bad_request");
	expect_error("/v1/peers/0000000000000000", auth_a, 404, "not_found");
	expect_error("/v1/peers/zz", auth_a, 400, "bad_request");
	expect_error("/v1/peers/0000000000000000", "Basic abc", 401, "unauthorized");
	snprintf(bad, sizeof(bad), "Bearer %s:%s", a->peer_id, c->token);
	expect_error("/v1/peers/0000000000000000", bad, 401, "unauthorized");
	snprintf(bad, sizeof(bad), "Bearer %s", a->peer_id);
	expect_error("/v1/peers/0000000000000000", bad, 401, "unauthorized");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_party_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
