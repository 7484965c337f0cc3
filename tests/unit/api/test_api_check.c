/*
 * test_api_check: the checks every local API request passes before it
 * reaches the PartyManager: the Host header (DNS rebinding), Origin on
 * mutations, the bearer token, routes and methods, JSON bodies, share
 * codes, and the listen address (loopback only). Pure functions: no server, no party.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "crypto/crypto.h"

#define TOKEN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define AUTH "Bearer " TOKEN

static int check(const char *method, const char *path, const char *host, const char *origin,
		 const char *authz, const char *body, struct api_request *req,
		 struct api_error *err)
{
	struct api_http h = { .method = method, .path = path, .host = host, .origin = origin,
			      .authorization = authz, .body = body,
			      .body_len = body ? strlen(body) : 0 };

	struct api_auth auth = { .token = TOKEN, .port = 8666 };

	return api_request_check(&h, &auth, req, err);
}

/* The status of a request that fails, 0 for one that passes. */
static int status_of(const char *method, const char *path, const char *host, const char *origin,
		     const char *authz, const char *body)
{
	struct api_request req;
	struct api_error err;

	if (check(method, path, host, origin, authz, body, &req, &err) == 0)
		return 0;
	assert_non_null(err.error);
	assert_true(err.message[0] != '\0');
	return err.status;
}

static void test_host(void **state)
{
	assert_true(api_host_ok("127.0.0.1:8666", 8666));
	assert_true(api_host_ok("localhost:8666", 8666));
	assert_true(api_host_ok("LOCALHOST:8666", 8666));
	assert_true(api_host_ok("[::1]:8666", 8666));
	assert_false(api_host_ok(NULL, 8666));
	assert_false(api_host_ok("", 8666));
	assert_false(api_host_ok("localhost", 8666));          /* port left out */
	assert_false(api_host_ok("localhost:8667", 8666));     /* another port */
	assert_false(api_host_ok("evil.example:8666", 8666));  /* DNS rebinding */
	assert_false(api_host_ok("localhost.evil.example:8666", 8666));
	assert_false(api_host_ok("127.0.0.1.nip.io:8666", 8666));
	assert_false(api_host_ok("127.0.0.1:8666 ", 8666));
	assert_false(api_host_ok("127.0.0.2:8666", 8666));
	assert_true(api_host_ok("localhost", 80));
	/* Through the whole check: 403 before anything else, even the token. */
	assert_int_equal(status_of("GET", "/v1/status", "evil.example:8666", NULL, AUTH, NULL),
			 403);
	assert_int_equal(status_of("GET", "/v1/status", NULL, NULL, AUTH, NULL), 403);
	assert_int_equal(status_of("GET", "/v1/status", "evil.example:8666", NULL, NULL, NULL),
			 403);
	assert_int_equal(status_of("GET", "/v1/status", "localhost:8666", NULL, AUTH, NULL), 0);
}

static void test_origin(void **state)
{
	assert_true(api_origin_ok(NULL, 8666));
	assert_true(api_origin_ok("http://127.0.0.1:8666", 8666));
	assert_true(api_origin_ok("http://localhost:8666", 8666));
	assert_false(api_origin_ok("http://evil.example", 8666));
	assert_false(api_origin_ok("https://127.0.0.1:8666", 8666));
	assert_false(api_origin_ok("http://127.0.0.1:8667", 8666));
	assert_false(api_origin_ok("null", 8666));
	assert_false(api_origin_ok("", 8666));
	/* Mutations refuse a foreign Origin; reads do not care. */
	assert_int_equal(status_of("POST", "/v1/party/leave", "127.0.0.1:8666",
				   "http://evil.example", AUTH, NULL),
			 403);
	assert_int_equal(status_of("POST", "/v1/down", "127.0.0.1:8666", "null", AUTH, NULL),
			 403);
	assert_int_equal(status_of("POST", "/v1/party/leave", "127.0.0.1:8666",
				   "http://127.0.0.1:8666", AUTH, NULL),
			 0);
	assert_int_equal(status_of("GET", "/v1/status", "127.0.0.1:8666", "http://evil.example",
				   AUTH, NULL),
			 0);
}

static void test_token(void **state)
{
	char wrong[] = AUTH;

	assert_true(api_token_ok(AUTH, TOKEN));
	assert_true(api_token_ok("bearer " TOKEN, TOKEN));
	assert_false(api_token_ok(NULL, TOKEN));
	assert_false(api_token_ok("", TOKEN));
	assert_false(api_token_ok(TOKEN, TOKEN));               /* no scheme */
	assert_false(api_token_ok("Basic " TOKEN, TOKEN));
	assert_false(api_token_ok("Bearer " TOKEN "0", TOKEN)); /* longer */
	assert_false(api_token_ok("Bearer 0011", TOKEN));       /* prefix */
	assert_false(api_token_ok("Bearer ", ""));              /* no token configured */
	wrong[sizeof(wrong) - 2] ^= 1;
	assert_false(api_token_ok(wrong, TOKEN));
	assert_int_equal(status_of("GET", "/v1/status", "127.0.0.1:8666", NULL, NULL, NULL), 401);
	assert_int_equal(status_of("GET", "/v1/status", "127.0.0.1:8666", NULL, wrong, NULL), 401);
	/* Unknown routes are not revealed without the token. */
	assert_int_equal(status_of("GET", "/v1/nothing", "127.0.0.1:8666", NULL, NULL, NULL), 401);
}

static void test_routes(void **state)
{
	static const struct {
		const char *method, *path, *body;
		enum api_route route;
	} ok[] = {
		{ "GET", "/v1/status", NULL, API_STATUS },
		{ "GET", "/v1/peers", NULL, API_PEERS },
		{ "POST", "/v1/party/create", "{\"name\":\"lan night\"}", API_PARTY_CREATE },
		{ "POST", "/v1/party/join", "{\"party_id\":\"ABCD-EFGH-JKMN\"}", API_PARTY_JOIN },
		{ "POST", "/v1/party/leave", NULL, API_PARTY_LEAVE },
		{ "POST", "/v1/party/leave", "{}", API_PARTY_LEAVE },
		{ "GET", "/v1/netcheck", NULL, API_NETCHECK },
		{ "POST", "/v1/ping", "{\"peer\":\"10.66.0.2\"}", API_PING },
		{ "GET", "/v1/settings", NULL, API_SETTINGS_LIST },
		{ "GET", "/v1/settings/mtu", NULL, API_SETTINGS_GET },
		{ "POST", "/v1/settings", "{\"key\":\"mtu\",\"value\":\"1400\"}", API_SETTINGS_SET },
		{ "POST", "/v1/down", NULL, API_DOWN },
		{ "DELETE", "/v1/settings/mtu", NULL, API_SETTINGS_RESET },
		{ "DELETE", "/v1/settings", NULL, API_SETTINGS_RESET_ALL },
	};
	struct api_request req;
	struct api_error err;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(check(ok[i].method, ok[i].path, "127.0.0.1:8666", NULL, AUTH,
				       ok[i].body, &req, &err),
				 0);
		assert_int_equal(req.route, ok[i].route);
	}
	check("POST", "/v1/party/create", "127.0.0.1:8666", NULL, AUTH, "{\"name\":\"x y\"}", &req,
	      &err);
	assert_string_equal(req.arg, "x y");
	check("GET", "/v1/settings/listen_port", "127.0.0.1:8666", NULL, AUTH, NULL, &req, &err);
	assert_string_equal(req.arg, "listen_port");
	check("POST", "/v1/settings", "127.0.0.1:8666", NULL, AUTH,
	      "{\"value\":\"9\",\"key\":\"keepalive\"}", &req, &err);
	assert_string_equal(req.arg, "keepalive");
	assert_string_equal(req.value, "9");
	check("POST", "/v1/ping", "127.0.0.1:8666", NULL, AUTH, "{\"peer\":\"bob\"}", &req, &err);
	assert_int_equal(req.count, 4);
	check("POST", "/v1/ping", "127.0.0.1:8666", NULL, AUTH, "{\"peer\":\"bob\",\"count\":7}",
	      &req, &err);
	assert_int_equal(req.count, 7);

	assert_int_equal(status_of("GET", "/v1/nothing", "127.0.0.1:8666", NULL, AUTH, NULL), 404);
	assert_int_equal(status_of("GET", "/v1/settings/a/b", "127.0.0.1:8666", NULL, AUTH, NULL),
			 404);
	assert_int_equal(status_of("GET", "/v1/settings/", "127.0.0.1:8666", NULL, AUTH, NULL),
			 404);
	assert_int_equal(status_of("GET", "/v1/down", "127.0.0.1:8666", NULL, AUTH, NULL), 405);
	assert_int_equal(status_of("POST", "/v1/status", "127.0.0.1:8666", NULL, AUTH, NULL), 405);
	assert_int_equal(status_of("OTHER", "/v1/status", "127.0.0.1:8666", NULL, AUTH, NULL), 405);
	check("DELETE", "/v1/settings/keepalive", "127.0.0.1:8666", NULL, AUTH, NULL, &req, &err);
	assert_string_equal(req.arg, "keepalive");
	assert_int_equal(status_of("DELETE", "/v1/status", "127.0.0.1:8666", NULL, AUTH, NULL), 405);
	/* a reset is a mutation: a foreign page may not send it */
	assert_int_equal(status_of("DELETE", "/v1/settings", "127.0.0.1:8666", "http://evil.example",
				   AUTH, NULL),
			 403);
}

/* Share codes as players type them: any case, dashes and spaces anywhere;
 * the same normal form for every spelling, and one explanation otherwise. */
static void test_share_codes(void **state)
{
	static const char *const same[] = {
		"ABCD-EFGH-JKMN", "abcd-efgh-jkmn", "ABCDEFGHJKMN", "abcd efgh jkmn",
		" AbCd-EfGh JkMn ", "ab-cd-ef-gh-jk-mn",
	};
	static const char *const bad[] = {
		"ABCD-EFG",        /* too short */
		"ABCD-EFGH-JKMNP", /* too long */
		"ABCD-EFGH-JKM0",  /* 0, 1, I, L, O and U are not in the alphabet */
		"ABCD-EFGH-JKMI", "ABCD-EFGH-JKMU", "ABCD_EFGH_JKMN", "", "ABCD\nEFGH-JKMN",
	};
	char out[CTL_PARTY_ID_LEN + 1], err[256];
	struct api_request req;
	struct api_error aerr;

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		assert_int_equal(api_share_code(same[i], out, err, sizeof(err)), 0);
		assert_string_equal(out, "ABCD-EFGH-JKMN");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(api_share_code(bad[i], out, err, sizeof(err)), -EINVAL);
	api_share_code("ABCD-EFG", out, err, sizeof(err));
	assert_string_equal(err, "'ABCD-EFG' is not a share code: a share code is 12 letters and "
				 "digits like ABCD-EFGH-JKMN (dashes and spaces optional)");
	/* what was typed is echoed printable and short */
	api_share_code("AB\x1b[2J'", out, err, sizeof(err));
	assert_non_null(strstr(err, "'AB?[2J?' is not"));
	api_share_code("0123456789012345678901234567890123456789", out, err, sizeof(err));
	assert_non_null(strstr(err, "'01234567890123456789012345678901...' is not"));
	/* the API agrees with the CLI: normalized on the way in, 400 with the message */
	assert_int_equal(check("POST", "/v1/party/join", "127.0.0.1:8666", NULL, AUTH,
			       "{\"party_id\":\"abcd efgh jkmn\"}", &req, &aerr),
			 0);
	assert_string_equal(req.arg, "ABCD-EFGH-JKMN");
	assert_int_equal(check("POST", "/v1/party/join", "127.0.0.1:8666", NULL, AUTH,
			       "{\"party_id\":\"ABCD-EFG\"}", &req, &aerr),
			 -1);
	assert_int_equal(aerr.status, 400);
	assert_non_null(strstr(aerr.message, "'ABCD-EFG' is not a share code"));
}

static void test_bodies(void **state)
{
	static const char *const bad_create[] = {
		NULL,                              /* no body: name missing */
		"",
		"{}",
		"[]",
		"\"name\"",
		"{\"name\":",                      /* truncated */
		"{\"name\":7}",
		"{\"name\":null}",
		"{\"name\":\"a\",\"extra\":1}",    /* unknown field */
		"{\"name\":\"a\",\"name\":\"b\"}", /* duplicate */
		"{\"name\":\"a\\u0000b\"}",        /* embedded NUL */
	};
	static const char *const bad_ping[] = {
		"{\"peer\":\"b\",\"count\":0}",   "{\"peer\":\"b\",\"count\":21}",
		"{\"peer\":\"b\",\"count\":\"3\"}", "{\"peer\":\"b\",\"count\":1.5}",
		"{\"count\":3}",
	};
	static const char *const bad_set[] = {
		"{\"key\":\"mtu\"}", "{\"value\":\"1\"}", "{\"key\":\"mtu\",\"value\":1400}",
	};
	char big[API_MAX_BODY + 64];

	for (size_t i = 0; i < sizeof(bad_create) / sizeof(bad_create[0]); i++)
		assert_int_equal(status_of("POST", "/v1/party/create", "127.0.0.1:8666", NULL,
					   AUTH, bad_create[i]),
				 400);
	for (size_t i = 0; i < sizeof(bad_ping) / sizeof(bad_ping[0]); i++)
		assert_int_equal(status_of("POST", "/v1/ping", "127.0.0.1:8666", NULL, AUTH,
					   bad_ping[i]),
				 400);
	for (size_t i = 0; i < sizeof(bad_set) / sizeof(bad_set[0]); i++)
		assert_int_equal(status_of("POST", "/v1/settings", "127.0.0.1:8666", NULL, AUTH,
					   bad_set[i]),
				 400);
	assert_int_equal(status_of("POST", "/v1/party/leave", "127.0.0.1:8666", NULL, AUTH,
				   "{\"force\":true}"),
			 400);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	assert_int_equal(status_of("POST", "/v1/party/leave", "127.0.0.1:8666", NULL, AUTH, big),
			 413);
}

static void test_listen(void **state)
{
	char addr[64];
	uint16_t port;

	assert_int_equal(api_listen_parse("127.0.0.1:8666", addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 8666);
	assert_int_equal(api_listen_parse("127.1.2.3:1", addr, sizeof(addr), &port), 0);
	assert_int_equal(api_listen_parse("[::1]:9000", addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(api_listen_parse("0.0.0.0:8666", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("192.168.1.2:8666", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("[::]:8666", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("localhost:8666", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("127.0.0.1", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("127.0.0.1:0", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("127.0.0.1:65536", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse("127.0.0.1:80x", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse(":8666", addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(api_listen_parse(NULL, addr, sizeof(addr), &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),   cmocka_unit_test(test_origin),
		cmocka_unit_test(test_token),  cmocka_unit_test(test_routes),
		cmocka_unit_test(test_bodies), cmocka_unit_test(test_listen),
		cmocka_unit_test(test_share_codes),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
