/*
 * test_api_session: the web UI's one-time login codes and sessions, and
 * how api_request_check lets a session cookie in: only with a live
 * session, only with the CSRF value on a change, never to /metrics or to
 * mint login codes; the UI's files and /login need no authentication but
 * still a loopback Host. Pure functions: no server, no party.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/api_internal.h"

#define TOKEN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HOST "127.0.0.1:8666"
#define NOW 1000000

static struct api_sessions ss;

static int setup(void **state)
{
	api_sessions_wipe(&ss);
	return 0;
}

/* A session opened through a fresh code. */
static const struct api_session *login(uint64_t now)
{
	char code[API_SECRET_HEX + 1];

	api_code_new(&ss, now, code);
	return api_code_redeem(&ss, code, now);
}

static void test_code_once(void **state)
{
	char code[API_SECRET_HEX + 1], other[API_SECRET_HEX + 1];
	const struct api_session *s;

	api_code_new(&ss, NOW, code);
	api_code_new(&ss, NOW, other);
	assert_int_equal(strlen(code), API_SECRET_HEX);
	assert_string_not_equal(code, other);
	assert_null(api_code_redeem(&ss, NULL, NOW));
	assert_null(api_code_redeem(&ss, "", NOW));
	code[5] ^= 1; /* one character off */
	assert_null(api_code_redeem(&ss, code, NOW));
	code[5] ^= 1;
	s = api_code_redeem(&ss, code, NOW);
	assert_non_null(s);
	assert_int_equal(strlen(s->id), API_SECRET_HEX);
	assert_int_equal(strlen(s->csrf), API_SECRET_HEX);
	assert_string_not_equal(s->id, s->csrf);
	assert_null(api_code_redeem(&ss, code, NOW));     /* used */
	assert_null(api_code_redeem(&ss, other, NOW + API_CODE_TTL_MS)); /* expired */
}

static void test_code_slots(void **state)
{
	char first[API_SECRET_HEX + 1], code[API_SECRET_HEX + 1];

	api_code_new(&ss, NOW, first);
	for (int i = 0; i < API_MAX_CODES; i++)
		api_code_new(&ss, NOW + 1 + (uint64_t)i, code);
	/* the oldest waiting code made room; the newest still works */
	assert_null(api_code_redeem(&ss, first, NOW + 100));
	assert_non_null(api_code_redeem(&ss, code, NOW + 100));
}

static void test_cookie(void **state)
{
	const struct api_session *s = login(NOW);
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "other=1; %s=%s; theme=dark", API_SESSION_COOKIE, s->id);
	assert_ptr_equal(api_session_find(&ss, hdr, NOW), s);
	snprintf(hdr, sizeof(hdr), "%s=%s", API_SESSION_COOKIE, s->id);
	assert_ptr_equal(api_session_find(&ss, hdr, NOW), s);
	assert_null(api_session_find(&ss, hdr, NOW + (uint64_t)API_SESSION_TTL_S * 1000));
	snprintf(hdr, sizeof(hdr), "x%s=%s", API_SESSION_COOKIE, s->id);
	assert_null(api_session_find(&ss, hdr, NOW));
	snprintf(hdr, sizeof(hdr), "%s=%.63s", API_SESSION_COOKIE, s->id);
	assert_null(api_session_find(&ss, hdr, NOW));
	assert_null(api_session_find(&ss, NULL, NOW));
	assert_null(api_session_find(&ss, "", NOW));
}

static void test_session_slots(void **state)
{
	const struct api_session *first = login(NOW);
	char id[API_SECRET_HEX + 1], hdr[256];

	snprintf(id, sizeof(id), "%s", first->id);
	for (int i = 0; i < API_MAX_SESSIONS; i++)
		assert_non_null(login(NOW + 1 + (uint64_t)i));
	/* the 17th login replaced the oldest session */
	snprintf(hdr, sizeof(hdr), "%s=%s", API_SESSION_COOKIE, id);
	assert_null(api_session_find(&ss, hdr, NOW + 100));
}

/* The status of a request (0 when it passes) and its route. */
static int req_status(const char *method, const char *path, const char *authz,
		      const char *cookie, const char *csrf, const char *host,
		      enum api_route *route)
{
	struct api_http h = { .method = method, .path = path, .host = host,
			      .authorization = authz, .cookie = cookie, .csrf = csrf };
	struct api_auth auth = { .token = TOKEN, .port = 8666, .sessions = &ss, .now_ms = NOW };
	struct api_request req;
	struct api_error err;

	if (api_request_check(&h, &auth, &req, &err))
		return err.status;
	if (route)
		*route = req.route;
	return 0;
}

static void test_check_session(void **state)
{
	const struct api_session *s = login(NOW);
	char cookie[256], wrong[API_SECRET_HEX + 1];
	enum api_route r;

	snprintf(cookie, sizeof(cookie), "%s=%s", API_SESSION_COOKIE, s->id);
	snprintf(wrong, sizeof(wrong), "%s", s->csrf);
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	/* reads need the cookie only */
	assert_int_equal(req_status("GET", "/v1/status", NULL, cookie, NULL, HOST, &r), 0);
	assert_int_equal(r, API_STATUS);
	assert_int_equal(req_status("GET", "/v1/status", NULL, NULL, NULL, HOST, NULL), 401);
	assert_int_equal(req_status("GET", "/v1/status", NULL, "lanrage_session=00", NULL, HOST,
				    NULL), 401);
	/* changes need the CSRF value too */
	assert_int_equal(req_status("POST", "/v1/party/leave", NULL, cookie, NULL, HOST, NULL),
			 403);
	assert_int_equal(req_status("POST", "/v1/party/leave", NULL, cookie, wrong, HOST, NULL),
			 403);
	assert_int_equal(req_status("POST", "/v1/party/leave", NULL, cookie, s->csrf, HOST, &r),
			 0);
	assert_int_equal(r, API_PARTY_LEAVE);
	assert_int_equal(req_status("DELETE", "/v1/settings/mtu", NULL, cookie, NULL, HOST, NULL),
			 403);
	/* the Host check stays: a rebinding page with a stolen cookie gets nothing */
	assert_int_equal(req_status("GET", "/v1/status", NULL, cookie, NULL, "rebind.test:8666",
				    NULL), 403);
	/* the session's own routes; metrics and login codes need the token */
	assert_int_equal(req_status("GET", "/v1/ui/session", NULL, cookie, NULL, HOST, &r), 0);
	assert_int_equal(r, API_UI_SESSION);
	assert_int_equal(req_status("GET", "/v1/ui/session", "Bearer " TOKEN, NULL, NULL, HOST,
				    NULL), 401);
	assert_int_equal(req_status("GET", "/metrics", NULL, cookie, NULL, HOST, NULL), 401);
	assert_int_equal(req_status("GET", "/metrics", "Bearer " TOKEN, NULL, NULL, HOST, &r), 0);
	assert_int_equal(r, API_METRICS);
	assert_int_equal(req_status("POST", "/v1/ui/login", NULL, cookie, s->csrf, HOST, NULL),
			 401);
	assert_int_equal(req_status("POST", "/v1/ui/login", "Bearer " TOKEN, NULL, NULL, HOST, &r),
			 0);
	assert_int_equal(r, API_UI_CODE);
	assert_int_equal(req_status("POST", "/v1/ui/logout", NULL, cookie, NULL, HOST, NULL), 403);
	assert_int_equal(req_status("POST", "/v1/ui/logout", NULL, cookie, s->csrf, HOST, &r), 0);
	assert_int_equal(r, API_UI_LOGOUT);
}

static void test_check_public(void **state)
{
	enum api_route r;

	/* /login needs no authentication, only a loopback Host */
	assert_int_equal(req_status("GET", "/login", NULL, NULL, NULL, HOST, &r), 0);
	assert_int_equal(r, API_LOGIN);
	assert_int_equal(req_status("GET", "/login", NULL, NULL, NULL, "evil.test:8666", NULL), 403);
	assert_int_equal(req_status("POST", "/login", NULL, NULL, NULL, HOST, NULL), 401);
	/* the page and its script, style and icon are embedded */
	assert_non_null(api_asset_find("/"));
	assert_non_null(api_asset_find("/app.js"));
	assert_non_null(api_asset_find("/app.css"));
	assert_true(api_n_assets >= 3);
	/* every embedded file is served without authentication, nothing else is */
	for (size_t i = 0; i < api_n_assets; i++) {
		assert_int_equal(req_status("GET", api_assets[i].path, NULL, NULL, NULL, HOST, &r), 0);
		assert_int_equal(r, API_ASSET);
		assert_int_equal(req_status("GET", api_assets[i].path, NULL, NULL, NULL,
					    "rebind.test:8666", NULL), 403);
		assert_int_equal(req_status("POST", api_assets[i].path, NULL, NULL, NULL, HOST,
					    NULL), 401);
	}
	assert_int_equal(req_status("GET", "/no-such-file.js", NULL, NULL, NULL, HOST, NULL), 401);
	assert_int_equal(req_status("GET", "/v1/status", NULL, NULL, NULL, HOST, NULL), 401);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_code_once, setup),
		cmocka_unit_test_setup(test_code_slots, setup),
		cmocka_unit_test_setup(test_cookie, setup),
		cmocka_unit_test_setup(test_session_slots, setup),
		cmocka_unit_test_setup(test_check_session, setup),
		cmocka_unit_test_setup(test_check_public, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
