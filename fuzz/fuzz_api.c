/*
 * fuzz_api: the checks and body parsing every request to the daemon's local
 * API passes (api/api.h, api_check.c) before it reaches the PartyManager.
 * Any local process, and any web page through the user's browser, can send
 * these bytes. The input is a request as lines:
 *
 *   METHOD \n PATH \n HOST \n ORIGIN \n AUTHORIZATION \n COOKIE \n CSRF \n BODY...
 *
 * where an empty header line means "header absent" and the body is the rest,
 * NULs included. Checked, beyond memory safety:
 * - api_host_ok, api_origin_ok and api_token_ok agree with models written
 *   here from docs/API.md (a loopback name with our port; no Origin or our own
 *   http origin; "Bearer " then exactly the token);
 * - a request accepted by api_request_check passed the Host and Origin
 *   checks and either named one of the web UI's files or /login, or carried
 *   the token, or the cookie of the one live web UI session (with its CSRF
 *   value when it changes state; never for /metrics or a login code); it
 *   named a known route for its method, and left every string within its
 *   field with no NUL inside, a ping count within 1..API_MAX_PING_COUNT;
 * - a refused one has one of the documented statuses, a code and a message;
 * - the path as a listen address: an accepted one is a loopback address.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PORT 8666

static const char token[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* The next line of the input as a string (caller frees); *p moves past it. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

static bool model_hostport(const char *s)
{
	static const char *const names[] = { "localhost", "127.0.0.1", "[::1]" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(names[i]);

		char port[8];

		if (strncasecmp(s, names[i], n))
			continue;
		/* The port may be left out only when it is 80. */
		if (!s[n])
			return PORT == 80;
		snprintf(port, sizeof(port), ":%u", PORT);
		if (!strcmp(s + n, port))
			return true;
	}
	return false;
}

static bool model_origin(const char *o)
{
	return !o || (!strncasecmp(o, "http://", 7) && model_hostport(o + 7));
}

static bool model_token(const char *a)
{
	return a && !strncasecmp(a, "Bearer ", 7) && !strcmp(a + 7, token);
}

static struct api_sessions sessions;
static char session_id[API_SECRET_HEX + 1], session_csrf[API_SECRET_HEX + 1];

/* Whether the Cookie header names the live session: a "lanrage_session="
 * pair whose value is exactly its ID. */
static bool model_cookie(const char *c)
{
	static const char name[] = "lanrage_session=";
	const char *p = c;

	while (p && (p = strstr(p, name))) {
		bool start = p == c || p[-1] == ' ' || p[-1] == ';';
		const char *v = p + strlen(name);
		size_t n = strcspn(v, ";");

		while (n && v[n - 1] == ' ')
			n--;
		if (start && n == API_SECRET_HEX && !strncmp(v, session_id, n))
			return true;
		p = v;
	}
	return false;
}

/* Who the model lets in: 0 nobody, 1 the token, 2 the session. */
static int model_auth(const struct api_http *h, bool is_get)
{
	if (model_token(h->authorization))
		return 1;
	if (model_cookie(h->cookie) && (is_get || (h->csrf && !strcmp(h->csrf, session_csrf))))
		return 2;
	return 0;
}

static void check_accepted(const struct api_http *h, const struct api_request *req)
{
	static const char *const get[] = { "/v1/status", "/v1/peers", "/v1/netcheck",
					   "/v1/settings", "/v1/games" };
	bool is_get = !strcmp(h->method, "GET"), known = false;
	int who = model_auth(h, is_get);

	if (!model_hostport(h->host) || (!is_get && !model_origin(h->origin)))
		abort();
	if (req->route == API_ASSET || req->route == API_LOGIN) {
		if (!is_get || strncmp(h->path, "/", 1) || !strncmp(h->path, "/v1/", 4))
			abort();
		return;
	}
	if (!who || (who == 2) != (req->session != NULL) ||
	    (who == 2 && (req->route == API_METRICS || req->route == API_UI_CODE)) ||
	    (who == 1 && (req->route == API_UI_SESSION || req->route == API_UI_LOGOUT)))
		abort();
	if (strnlen(req->arg, sizeof(req->arg)) == sizeof(req->arg) ||
	    strnlen(req->value, sizeof(req->value)) == sizeof(req->value))
		abort();
	switch (req->route) {
	case API_SETTINGS_GET:
		/* One segment after /v1/settings/, copied as the key. */
		known = is_get && !strncmp(h->path, "/v1/settings/", 13) && h->path[13] &&
			!strchr(h->path + 13, '/') && !strncmp(req->arg, h->path + 13, sizeof(req->arg) - 1);
		break;
	case API_PING:
		known = !is_get && req->count >= 1 && req->count <= API_MAX_PING_COUNT;
		break;
	case API_STATUS:
	case API_PEERS:
	case API_NETCHECK:
	case API_SETTINGS_LIST:
	case API_GAMES:
		for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++)
			known |= is_get && !strcmp(h->path, get[i]);
		break;
	case API_SETTINGS_RESET:
		known = !strcmp(h->method, "DELETE") && !strncmp(h->path, "/v1/settings/", 13) &&
			h->path[13] && !strchr(h->path + 13, '/') &&
			!strncmp(req->arg, h->path + 13, sizeof(req->arg) - 1);
		break;
	case API_SETTINGS_RESET_ALL:
		known = !strcmp(h->method, "DELETE") && !strcmp(h->path, "/v1/settings");
		break;
	case API_UI_SESSION:
		known = is_get && !strcmp(h->path, "/v1/ui/session");
		break;
	case API_METRICS:
		known = is_get && !strcmp(h->path, "/metrics");
		break;
	case API_UI_CODE:
	case API_UI_LOGOUT:
		known = !strcmp(h->method, "POST") && !strncmp(h->path, "/v1/ui/", 7);
		break;
	case API_ASSET:
	case API_LOGIN:
		break;
	case API_PARTY_CREATE:
	case API_PARTY_JOIN:
	case API_PARTY_LEAVE:
	case API_SETTINGS_SET:
	case API_DOWN:
		known = !strcmp(h->method, "POST") && !strncmp(h->path, "/v1/", 4);
		break;
	}
	if (!known)
		abort();
}

static void check_refused(const struct api_error *err)
{
	switch (err->status) {
	case 400:
	case 401:
	case 403:
	case 404:
	case 405:
	case 413:
		break;
	default:
		abort();
	}
	if (!err->error || !err->message[0] ||
	    strnlen(err->message, sizeof(err->message)) == sizeof(err->message))
		abort();
}

static void fuzz_listen(const char *s)
{
	char addr[64];
	struct in6_addr a6;
	struct in_addr a4;
	uint16_t port;

	if (api_listen_parse(s, addr, sizeof(addr), &port))
		return;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		if ((ntohl(a4.s_addr) >> 24) != 127)
			abort();
	} else if (inet_pton(AF_INET6, addr, &a6) != 1 || !IN6_IS_ADDR_LOOPBACK(&a6)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *method = next_line(&p, end), *path = next_line(&p, end);
	char *host = next_line(&p, end), *origin = next_line(&p, end);
	char *auth = next_line(&p, end), *cookie = next_line(&p, end);
	char *csrf = next_line(&p, end);
	struct api_auth a = { .token = token, .port = PORT, .sessions = &sessions, .now_ms = 1 };
	struct api_http h = {
		.method = method,
		.path = path,
		.host = host[0] ? host : NULL,
		.origin = origin[0] ? origin : NULL,
		.authorization = auth[0] ? auth : NULL,
		.cookie = cookie[0] ? cookie : NULL,
		.csrf = csrf[0] ? csrf : NULL,
		.body = (const char *)p,
		.body_len = (size_t)(end - p),
	};
	struct api_request req;
	struct api_error err;

	if (api_host_ok(h.host, PORT) != (h.host && model_hostport(h.host)) ||
	    api_origin_ok(h.origin, PORT) != model_origin(h.origin) ||
	    api_token_ok(h.authorization, token) != model_token(h.authorization))
		abort();
	if (!session_id[0]) { /* one live session, made once */
		char code[API_SECRET_HEX + 1];
		const struct api_session *s;

		api_code_new(&sessions, 0, code);
		s = api_code_redeem(&sessions, code, 0);
		if (!s)
			abort();
		/* known values, in the dictionary, so the fuzzer reaches the
		 * session paths (real ones are random) */
		memset(session_id, 'a', API_SECRET_HEX);
		memset(session_csrf, 'b', API_SECRET_HEX);
		memcpy(((struct api_session *)s)->id, session_id, sizeof(session_id));
		memcpy(((struct api_session *)s)->csrf, session_csrf, sizeof(session_csrf));
	}
	if (api_request_check(&h, &a, &req, &err))
		check_refused(&err);
	else
		check_accepted(&h, &req);
	fuzz_listen(path);
	free(method);
	free(path);
	free(host);
	free(origin);
	free(auth);
	free(cookie);
	free(csrf);
	return 0;
}
