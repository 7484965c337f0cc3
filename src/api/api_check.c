/*
 * api_check: the checks every API request passes and the parsing of its
 * body, as pure functions of what the server read (tests/unit/api).
 *
 * Invariant: a request reaches the PartyManager only when its Host is a
 * loopback name with our port, a POST carries no foreign Origin, the bearer
 * token matches (or a live web UI session's cookie does, with its CSRF
 * value on a change) and the body is a JSON object with exactly the fields
 * the route takes, each of the right type and size. The web UI's static
 * files and its login link pass the Host check only: they hold no secret.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "util/hostport.h"

static const char *const api_loopback_names[] = { "localhost", "127.0.0.1", "[::1]" };

/* name[:port] with name a loopback name and the port ours. */
static bool api_hostport_ok(const char *s, size_t len, uint16_t port)
{
	char want[32];

	for (size_t i = 0; i < sizeof(api_loopback_names) / sizeof(api_loopback_names[0]); i++) {
		const char *n = api_loopback_names[i];
		size_t nl = strlen(n);

		if (len == nl && port == 80 && !strncasecmp(s, n, nl))
			return true;
		snprintf(want, sizeof(want), "%s:%u", n, port);
		if (len == strlen(want) && !strncasecmp(s, want, len))
			return true;
	}
	return false;
}

bool api_host_ok(const char *host, uint16_t port)
{
	return host && api_hostport_ok(host, strlen(host), port);
}

bool api_origin_ok(const char *origin, uint16_t port)
{
	static const char scheme[] = "http://";

	if (!origin)
		return true;
	if (strncasecmp(origin, scheme, sizeof(scheme) - 1))
		return false;
	origin += sizeof(scheme) - 1;
	return api_hostport_ok(origin, strlen(origin), port);
}

bool api_token_ok(const char *authorization, const char *token)
{
	static const char bearer[] = "Bearer ";
	size_t n;

	if (!authorization || !token || strncasecmp(authorization, bearer, sizeof(bearer) - 1))
		return false;
	authorization += sizeof(bearer) - 1;
	n = strlen(token);
	/* The length is no secret; the bytes are compared in constant time. */
	return n > 0 && strlen(authorization) == n && crypto_equal(authorization, token, n);
}

static int api_fail(struct api_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int api_fail(struct api_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->error = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

struct api_route_def {
	const char *method, *path;
	enum api_route route;
	const char *field, *field2; /* string fields of the body, required */
	bool prefix;                /* path is a prefix followed by one segment */
	enum { AUTH_ANY, AUTH_TOKEN, AUTH_SESSION, AUTH_NONE } auth;
};

static const struct api_route_def api_routes[] = {
	{ "GET", "/v1/status", API_STATUS, NULL, NULL, false, AUTH_ANY },
	{ "GET", "/v1/peers", API_PEERS, NULL, NULL, false, AUTH_ANY },
	{ "POST", "/v1/party/create", API_PARTY_CREATE, "name", NULL, false, AUTH_ANY },
	{ "POST", "/v1/party/join", API_PARTY_JOIN, "party_id", NULL, false, AUTH_ANY },
	{ "POST", "/v1/party/leave", API_PARTY_LEAVE, NULL, NULL, false, AUTH_ANY },
	{ "GET", "/v1/netcheck", API_NETCHECK, NULL, NULL, false, AUTH_ANY },
	{ "POST", "/v1/ping", API_PING, "peer", NULL, false, AUTH_ANY },
	{ "GET", "/v1/settings", API_SETTINGS_LIST, NULL, NULL, false, AUTH_ANY },
	{ "GET", "/v1/settings/", API_SETTINGS_GET, NULL, NULL, true, AUTH_ANY },
	{ "POST", "/v1/settings", API_SETTINGS_SET, "key", "value", false, AUTH_ANY },
	{ "DELETE", "/v1/settings/", API_SETTINGS_RESET, NULL, NULL, true, AUTH_ANY },
	{ "DELETE", "/v1/settings", API_SETTINGS_RESET_ALL, NULL, NULL, false, AUTH_ANY },
	{ "POST", "/v1/down", API_DOWN, NULL, NULL, false, AUTH_ANY },
	{ "GET", "/v1/games", API_GAMES, NULL, NULL, false, AUTH_ANY },
	{ "GET", "/login", API_LOGIN, NULL, NULL, false, AUTH_NONE },
	{ "POST", "/v1/ui/login", API_UI_CODE, NULL, NULL, false, AUTH_TOKEN },
	{ "GET", "/v1/ui/session", API_UI_SESSION, NULL, NULL, false, AUTH_SESSION },
	{ "POST", "/v1/ui/logout", API_UI_LOGOUT, NULL, NULL, false, AUTH_SESSION },
	{ "GET", "/metrics", API_METRICS, NULL, NULL, false, AUTH_TOKEN },
};

static const struct api_route_def *api_route_find(const char *method, const char *path,
						  bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		const struct api_route_def *d = &api_routes[i];
		size_t n = strlen(d->path);
		bool match = d->prefix ? !strncmp(path, d->path, n) && path[n] &&
						 !strchr(path + n, '/')
				       : !strcmp(path, d->path);

		if (!match)
			continue;
		*path_known = true;
		if (!strcmp(method, d->method))
			return d;
	}
	return NULL;
}

static int api_body_string(json_t *body, const char *field, char *dst, size_t cap,
			   struct api_error *err)
{
	json_t *v = json_object_get(body, field);
	const char *s = json_string_value(v);

	if (!v)
		return api_fail(err, 400, "bad_request", "missing field \"%s\"", field);
	if (!s)
		return api_fail(err, 400, "bad_request", "field \"%s\" must be a string", field);
	if (strlen(s) >= cap || strlen(s) != json_string_length(v))
		return api_fail(err, 400, "bad_request", "field \"%s\" is too long or has NUL",
				field);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int api_parse_body(const struct api_route_def *d, const struct api_http *h,
			  struct api_request *req, struct api_error *err)
{
	char msg[sizeof(err->message)];
	json_error_t je;
	json_t *body = NULL, *v;
	const char *key;
	int r = -1;

	if (!h->body_len) {
		if (d->field)
			return api_fail(err, 400, "bad_request", "a JSON body with \"%s\" is needed",
					d->field);
		return 0;
	}
	body = json_loadb(h->body, h->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(body)) {
		api_fail(err, 400, "bad_json", "the body is not a JSON object%s%s",
			 body ? "" : ": ", body ? "" : je.text);
		goto out;
	}
	json_object_foreach(body, key, v) {
		bool known = (d->field && !strcmp(key, d->field)) ||
			     (d->field2 && !strcmp(key, d->field2)) ||
			     (d->route == API_PING && !strcmp(key, "count"));

		if (!known) {
			api_fail(err, 400, "bad_request", "unknown field \"%s\"", key);
			goto out;
		}
	}
	if (d->field && api_body_string(body, d->field, req->arg, sizeof(req->arg), err))
		goto out;
	if (d->field2 && api_body_string(body, d->field2, req->value, sizeof(req->value), err))
		goto out;
	if (d->route == API_PARTY_JOIN && api_share_code(req->arg, req->arg, msg, sizeof(msg))) {
		api_fail(err, 400, "bad_request", "%s", msg);
		goto out;
	}
	v = json_object_get(body, "count");
	if (d->route == API_PING && v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_MAX_PING_COUNT) {
			api_fail(err, 400, "bad_request", "\"count\" must be an integer 1..%d",
				 API_MAX_PING_COUNT);
			goto out;
		}
		req->count = (unsigned)json_integer_value(v);
	}
	r = 0;
out:
	json_decref(body);
	return r;
}

/* The web UI's static files: a GET of one of their paths ("/" or
 * "/NAME.EXT", scripts/embed_web.py: never a route's). */
static bool api_is_asset(const struct api_http *h, struct api_request *req)
{
	if (strcmp(h->method, "GET") || !api_asset_find(h->path))
		return false;
	req->route = API_ASSET;
	snprintf(req->arg, sizeof(req->arg), "%s", h->path);
	return true;
}

/* Who may call d: the token, the session (with its CSRF value on a change),
 * either, or anyone. 0, or -1 with *err filled. */
static int api_authenticate(const struct api_http *h, const struct api_auth *auth,
			    const struct api_route_def *d, struct api_request *req,
			    struct api_error *err)
{
	bool token = api_token_ok(h->authorization, auth->token);
	struct api_session *s = NULL;

	if (d && d->auth == AUTH_NONE)
		return 0;
	if (!token && auth->sessions)
		s = api_session_find(auth->sessions, h->cookie, auth->now_ms);
	if (d && d->auth == AUTH_TOKEN && !token)
		return api_fail(err, 401, "unauthorized",
				"this needs the API token (Authorization: Bearer <STATE_DIR/%s>)",
				API_TOKEN_FILE);
	if (!token && !s)
		return api_fail(err, 401, "unauthorized",
				"missing or wrong token (Authorization: Bearer <STATE_DIR/%s>), "
				"or no web UI session (run: lanrage ui)", API_TOKEN_FILE);
	if (d && d->auth == AUTH_SESSION && !s)
		return api_fail(err, 401, "unauthorized", "no web UI session (run: lanrage ui)");
	/* A change by cookie needs the value only the page's own script read. */
	if (s && strcmp(h->method, "GET") &&
	    (!h->csrf || strlen(h->csrf) != API_SECRET_HEX ||
	     !crypto_equal(h->csrf, s->csrf, API_SECRET_HEX)))
		return api_fail(err, 403, "csrf", "missing or wrong X-LANrage-CSRF header");
	req->session = s;
	return 0;
}

int api_request_check(const struct api_http *h, const struct api_auth *auth,
		      struct api_request *req, struct api_error *err)
{
	const struct api_route_def *d;
	uint16_t port = auth->port;
	bool known;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	if (!api_host_ok(h->host, port))
		return api_fail(err, 403, "forbidden",
				"Host must be localhost, 127.0.0.1 or [::1] with port %u", port);
	if (strcmp(h->method, "GET") && !api_origin_ok(h->origin, port))
		return api_fail(err, 403, "forbidden", "cross-origin requests may not change state");
	if (api_is_asset(h, req))
		return 0;
	d = api_route_find(h->method, h->path, &known);
	if (api_authenticate(h, auth, d, req, err))
		return -1;
	if (!d && known)
		return api_fail(err, 405, "method_not_allowed", "%s is not allowed on %s",
				h->method, h->path);
	if (!d)
		return api_fail(err, 404, "not_found", "no such endpoint: %s", h->path);
	req->route = d->route;
	req->count = 4;
	if (d->route == API_LOGIN)
		snprintf(req->arg, sizeof(req->arg), "%s", h->code ? h->code : "");
	if (d->prefix)
		snprintf(req->arg, sizeof(req->arg), "%s", h->path + strlen(d->path));
	if (h->body_len > API_MAX_BODY)
		return api_fail(err, 413, "too_large", "the body is over %d bytes", API_MAX_BODY);
	return api_parse_body(d, h, req, err);
}

int api_share_code(const char *in, char out[CTL_PARTY_ID_LEN + 1], char *err, size_t errlen)
{
	char code[CTL_CODE_SYMBOLS + 1], shown[40];
	size_t n = 0;

	if (!ctl_code_parse(in, strlen(in), code)) {
		ctl_code_format(code, out);
		return 0;
	}
	/* Echo what was typed, printable and short: it lands on a terminal. */
	for (; in[n] && n < 32; n++)
		shown[n] = in[n] >= 0x20 && in[n] < 0x7f && in[n] != '\'' ? in[n] : '?';
	snprintf(shown + n, sizeof(shown) - n, "%s", in[n] ? "..." : "");
	snprintf(err, errlen,
		 "'%s' is not a share code: a share code is 12 letters and digits like "
		 "ABCD-EFGH-JKMN (dashes and spaces optional)", shown);
	return -EINVAL;
}

int api_listen_parse(const char *s, char *addr, size_t addr_len, uint16_t *port)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (hostport_split(s, addr, addr_len, port))
		return -EINVAL;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127 ? 0 : -EINVAL;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ? 0 : -EINVAL;
	return -EINVAL;
}
