/*
 * test_metrics: the control core's Prometheus families (docs/METRICS.md
 * "lanrage-control"): requests counted by type and result over WebSocket
 * and REST, a latency observation per request, the gauges, the store's
 * commits timed, and each refusal under its reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"
#include "util/strbuf.h"

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

/* The core's text, with the transport's extra refusals (the test frees it). */
static char *render(void)
{
	static const struct ctl_metrics_extra extra[] = { { "http_body", 7 } };
	struct strbuf sb;
	char *s;

	strbuf_init(&sb);
	ctl_core_metrics(core, &sb, extra, 1);
	s = strbuf_take(&sb);
	assert_non_null(s);
	return s;
}

/* The value of the series (name{labels}, exactly as rendered), or -1. */
static long long value(const char *text, const char *series)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(text, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static long long now_value(const char *series)
{
	char *s = render();
	long long v = value(s, series);

	free(s);
	return v;
}

#define REQ(type, result) "lanrage_control_requests_total{type=\"" type "\",result=\"" result "\"}"

static void test_every_type_starts_at_zero_ok(void **state)
{
	char *s = render();

	assert_int_equal(value(s, REQ("party_create", "ok")), 0);
	assert_int_equal(value(s, REQ("relays_list", "ok")), 0);
	assert_int_equal(value(s, REQ("rest_health", "ok")), 0);
	assert_int_equal(value(s, REQ("party_create", "not_found")), -1);
	/* no latency histogram before a request of that type */
	assert_null(strstr(s, "lanrage_control_request_duration_seconds_count{type=\"party_create\"}"));
	assert_non_null(strstr(s, "# TYPE lanrage_control_request_duration_seconds histogram\n"));
	assert_non_null(strstr(s, "# TYPE lanrage_control_requests_total counter\n"));
	assert_int_equal(value(s, "lanrage_control_sessions"), 0);
	assert_int_equal(value(s, "lanrage_control_rejected_total{reason=\"http_body\"}"), 7);
	free(s);
}

static void test_requests_counted_by_type_and_result(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b");
	char party[15], *s;

	assert_int_equal(th_create(a, "p", 0, party), 0);
	assert_string_equal(th_code(th_req(b, "party_join", "\"party_id\":\"%s\"",
					   "AAAAAAAAAAAA")), "not_found");
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", party)));
	assert_string_equal(th_code(th_req(b, "party_join", "\"party_id\":\"%s\"", party)),
			    "already_member");
	th_raw(b, "{not json");
	s = render();
	assert_int_equal(value(s, REQ("register", "ok")), 2);
	assert_int_equal(value(s, REQ("party_create", "ok")), 1);
	assert_int_equal(value(s, REQ("party_join", "ok")), 1);
	assert_int_equal(value(s, REQ("party_join", "not_found")), 1);
	assert_int_equal(value(s, REQ("party_join", "already_member")), 1);
	assert_int_equal(value(s, REQ("invalid", "bad_json")), 1);
	/* one latency observation per request of a type, whatever its result */
	assert_int_equal(value(s, "lanrage_control_request_duration_seconds_count"
				  "{type=\"party_join\"}"), 3);
	assert_int_equal(value(s, "lanrage_control_request_duration_seconds_bucket"
				  "{type=\"party_join\",le=\"+Inf\"}"), 3);
	assert_int_equal(value(s, "lanrage_control_sessions"), 2);
	assert_int_equal(value(s, "lanrage_control_parties"), 1);
	assert_int_equal(value(s, "lanrage_control_peers"), 2);
	assert_int_equal(value(s, "lanrage_control_members"), 2);
	free(s);
	th_free(a);
	th_free(b);
	assert_int_equal(now_value("lanrage_control_sessions"), 0);
}

static void test_rest_counted_by_route(void **state)
{
	char *body = NULL;

	assert_int_equal(ctl_core_rest(core, "/v1/health?x=1", NULL, &body), 200);
	free(body);
	assert_int_equal(ctl_core_rest(core, "/v1/parties/AAAA-AAAA-AAAA", NULL, &body), 401);
	free(body);
	assert_int_equal(ctl_core_rest(core, "/nowhere", NULL, &body), 404);
	free(body);
	assert_int_equal(now_value(REQ("rest_health", "ok")), 1);
	assert_int_equal(now_value(REQ("rest_party", "unauthorized")), 1);
	assert_int_equal(now_value(REQ("rest_other", "not_found")), 1);
	assert_int_equal(now_value("lanrage_control_rejected_total{reason=\"unauthorized\"}"), 1);
}

static void test_store_commits_are_timed(void **state)
{
	struct th_client *a = th_peer(core, "a");
	long long commits;
	char *s;

	assert_int_equal(ctl_core_flush(core), 0);
	s = render();
	commits = value(s, "lanrage_control_store_commits_total");
	assert_true(commits >= 1);
	assert_int_equal(value(s, "lanrage_control_store_write_duration_seconds_count"), commits);
	assert_int_equal(value(s, "lanrage_control_store_write_duration_seconds_bucket"
				  "{le=\"+Inf\"}"), commits);
	free(s);
	th_free(a);
}

/* The session's message rate (40 at once) refuses the next message. */
static void test_refusals_counted_by_reason(void **state)
{
	struct th_client *a = th_peer(core, "a");
	static char big[CTL_MAX_MESSAGE + 2];
	int i;

	for (i = 0; i < 100 && strcmp(th_code(th_req0(a, "heartbeat")), "rate_limited"); i++)
		;
	assert_true(i < 100);
	assert_int_equal(now_value("lanrage_control_rejected_total{reason=\"rate_limited\"}"), 1);
	assert_int_equal(now_value(REQ("heartbeat", "rate_limited")), 1);
	memset(big, ' ', sizeof(big) - 1);
	assert_int_equal(ctl_session_input(a->s, big, sizeof(big) - 1), -EMSGSIZE);
	assert_int_equal(now_value("lanrage_control_rejected_total{reason=\"too_large\"}"), 1);
	assert_int_equal(now_value(REQ("invalid", "too_large")), 1);
	th_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type_starts_at_zero_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_counted_by_type_and_result, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rest_counted_by_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_commits_are_timed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_counted_by_reason, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
