/*
 * api_server: the API's libwebsockets HTTP server on its own thread.
 *
 * A request's headers are copied at LWS_CALLBACK_HTTP; a POST's body is
 * gathered (at most API_MAX_BODY bytes kept, the rest counted and refused
 * with 413) until LWS_CALLBACK_HTTP_BODY_COMPLETION; then api_request_check
 * and api_handle run and the answer is written in chunks. A request that
 * waits (create, join and leave on the control plane, a netcheck, a ping's
 * answers: seconds; a setting's disk write) is handled on a job thread of
 * its own, so the server
 * goes on answering the others (status while a join runs); the job hands
 * its answer back through lws_cancel_service, the one lws call that is
 * safe from another thread.
 *
 * Invariants: the server only ever listens on a loopback address; the token
 * lives in struct api and the token file only, is wiped on stop and never
 * logged; on_down runs after the answer to /v1/down was written.
 */
#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "metrics/prom.h"
#include "util/hostport.h"
#include "util/http_body.h"
#include "util/time.h"

#define API_TAG "api"
enum {
	API_HDR_BUF = 4096,     /* the answer's headers */
	API_HDR_MAX = 512,
	API_COOKIE_MAX = 4096,  /* other programs on localhost set cookies too */
	API_MAX_JOBS = 16,      /* waiting requests at once; more get 503 */
	API_JOB_TIMEOUT_S = 120, /* the longest wait: a 20-round ping, a join */
};

struct api_conn;

/* One waiting request. Linked and unlinked on the lws thread only; done,
 * status and out are written by the job's thread under jobs_mu. */
struct api_job {
	struct api *a;
	struct lws *wsi;
	struct api_conn *conn; /* NULL once the connection closed: no one waits */
	struct api_request req;
	pthread_t thread;
	bool done;
	int status;
	char *out;
	struct api_job *next;
};

struct api {
	struct lws_context *ctx;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t jobs_mu;
	struct api_job *jobs;
	unsigned n_jobs;
	volatile int stop;
	char *state_dir;
	char token[API_TOKEN_LEN + 1]; /* secret */
	struct api_sessions sessions;  /* the web UI's; secret */
	char listen[64];
	uint16_t port;
	struct party *party;
	void (*on_down)(void *arg);
	void *arg;
};

struct api_conn {
	char method[8];
	char path[256];
	char host[API_HDR_MAX], origin[API_HDR_MAX], authz[API_HDR_MAX];
	char cookie[API_COOKIE_MAX], csrf[API_HDR_MAX], code[API_HDR_MAX];
	bool has_origin, has_authz, has_cookie, has_csrf, has_code;
	char *body;
	size_t body_len, body_total;
	char *out;
	size_t out_len, out_off;
	const char *content_type;  /* NULL: JSON */
	char set_cookie[256];      /* secret while it holds a session ID */
	char location[64];
	int status;
	bool headers_sent, down_after;
	struct api_job *job;   /* the request being handled on a job thread */
};

static uint64_t api_now_ms(void)
{
	return time_mono_ns() / 1000000;
}

static void api_conn_reset(struct api_conn *c)
{
	if (c->job)
		c->job->conn = NULL;
	free(c->body);
	free(c->out);
	crypto_wipe(c, sizeof(*c));
}

static bool api_copy_hdr(struct lws *wsi, enum lws_token_indexes t, char *dst, size_t cap)
{
	int n = lws_hdr_total_length(wsi, t);

	dst[0] = '\0';
	if (n <= 0 || (size_t)n >= cap)
		return false;
	return lws_hdr_copy(wsi, dst, (int)cap, t) >= 0;
}

static int api_begin(struct lws *wsi, struct api_conn *c, const char *uri)
{
	const char *code;

	api_conn_reset(c);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		strcpy(c->method, "GET");
	else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		strcpy(c->method, "POST");
	else if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
		strcpy(c->method, "DELETE");
	else
		strcpy(c->method, "OTHER");
	snprintf(c->path, sizeof(c->path), "%s", uri ? uri : "");
	api_copy_hdr(wsi, WSI_TOKEN_HOST, c->host, sizeof(c->host));
	c->has_origin = api_copy_hdr(wsi, WSI_TOKEN_ORIGIN, c->origin, sizeof(c->origin)) ||
			lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
	c->has_authz = api_copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, c->authz, sizeof(c->authz));
	c->has_cookie = api_copy_hdr(wsi, WSI_TOKEN_HTTP_COOKIE, c->cookie, sizeof(c->cookie));
	c->has_csrf = lws_hdr_custom_copy(wsi, c->csrf, sizeof(c->csrf), API_CSRF_HEADER,
					  (int)strlen(API_CSRF_HEADER)) > 0;
	code = lws_get_urlarg_by_name(wsi, "code=", c->code, sizeof(c->code));
	c->has_code = code != NULL;
	if (code) /* lws leaves "code=" in front */
		memmove(c->code, code, strlen(code) + 1);
	return 0;
}

static void api_error_body(struct api_conn *c, int status, const char *error,
			   const char *message)
{
	json_t *j = json_pack("{s:s, s:s}", "error", error, "message", message);

	c->status = status;
	c->out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
}

/* ---- Requests that wait, on job threads ------------------------------------ */

static bool api_route_waits(enum api_route r)
{
	return r == API_PARTY_CREATE || r == API_PARTY_JOIN || r == API_PARTY_LEAVE ||
	       r == API_NETCHECK || r == API_PING || r == API_SETTINGS_SET ||
	       r == API_SETTINGS_RESET || r == API_SETTINGS_RESET_ALL; /* SQLite writes */
}

static void *api_job_run(void *arg)
{
	struct api_job *job = arg;
	char *out = NULL;
	int status = api_handle(job->a->party, &job->req, &out);

	pthread_mutex_lock(&job->a->jobs_mu);
	job->status = status;
	job->out = out;
	job->done = true;
	pthread_mutex_unlock(&job->a->jobs_mu);
	lws_cancel_service(job->a->ctx);
	return NULL;
}

/* lws thread. 0 with the answer left to the job, -1 when none could start
 * (c->out then holds the error, or nothing when out of memory). */
static int api_job_start(struct lws *wsi, struct api *a, struct api_conn *c,
			 const struct api_request *req)
{
	struct api_job *job;
	int r;

	if (a->n_jobs >= API_MAX_JOBS) {
		api_error_body(c, 503, "busy", "too many requests waiting; try again in a moment");
		return -1;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		return -1;
	*job = (struct api_job){ .a = a, .wsi = wsi, .conn = c, .req = *req };
	r = pthread_create(&job->thread, NULL, api_job_run, job);
	if (r) {
		log_error(API_TAG, "cannot start a request thread: %s", strerror(r));
		free(job);
		api_error_body(c, 503, "busy", "cannot start the request; try again");
		return -1;
	}
	job->next = a->jobs;
	a->jobs = job;
	a->n_jobs++;
	c->job = job;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, API_JOB_TIMEOUT_S);
	return 0;
}

/* lws thread: hands every finished job's answer to its connection. */
static void api_jobs_collect(struct api *a)
{
	struct api_job **pp = &a->jobs;

	while (*pp) {
		struct api_job *job = *pp;
		struct api_conn *c = job->conn;
		bool done;

		pthread_mutex_lock(&a->jobs_mu);
		done = job->done;
		pthread_mutex_unlock(&a->jobs_mu);
		if (!done) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		a->n_jobs--;
		pthread_join(job->thread, NULL);
		if (c) {
			c->job = NULL;
			c->status = job->status;
			c->out = job->out;
			job->out = NULL;
			lws_set_timeout(job->wsi, NO_PENDING_TIMEOUT, 0);
			if (c->out) {
				c->out_len = strlen(c->out);
				lws_callback_on_writable(job->wsi);
			} else {
				lws_set_timeout(job->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
			}
		}
		free(job->out);
		free(job);
	}
}

/* After the lws thread stopped: waits for the jobs still running. */
static void api_jobs_join(struct api *a)
{
	while (a->jobs) {
		struct api_job *job = a->jobs;

		a->jobs = job->next;
		pthread_join(job->thread, NULL);
		free(job->out);
		free(job);
	}
	a->n_jobs = 0;
}

/* ---- Answering ------------------------------------------------------------- */

/* ---- The web UI's files, login and session ---------------------------------- */

static void api_asset_answer(struct api_conn *c, const char *path)
{
	const struct api_asset *f = api_asset_find(path);

	c->out = f ? malloc(f->len + 1) : NULL;
	if (!c->out)
		return;
	memcpy(c->out, f->data, f->len);
	c->out[f->len] = '\0';
	c->out_len = f->len;
	c->content_type = f->content_type;
	c->status = 200;
}

static void api_html_error(struct api_conn *c, int status, const char *text)
{
	static const char fmt[] =
		"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>LANrage</title></head><body><h1>LANrage</h1><p>%s</p></body></html>\n";
	size_t n = sizeof(fmt) + strlen(text);

	c->out = malloc(n);
	if (!c->out)
		return;
	snprintf(c->out, n, fmt, text);
	c->content_type = "text/html; charset=utf-8";
	c->status = status;
}

/* GET /login?code=: the code, once, for a session cookie and a redirect
 * to / (so the code leaves the address bar). */
static void api_login(struct api *a, struct api_conn *c, const struct api_request *req)
{
	const struct api_session *s = api_code_redeem(&a->sessions, req->arg, api_now_ms());

	if (!s) {
		log_kv(LOG_WARN, API_TAG, "web UI login refused: the code is wrong, used or expired");
		api_html_error(c, 403, "This login link was already used, has expired or is wrong. "
				       "Run <code>lanrage ui</code> again for a new one.");
		return;
	}
	snprintf(c->set_cookie, sizeof(c->set_cookie),
		 "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d", API_SESSION_COOKIE, s->id,
		 API_SESSION_TTL_S);
	snprintf(c->location, sizeof(c->location), "/");
	log_info(API_TAG, "web UI: a browser logged in");
	api_html_error(c, 303, "Logged in: <a href=\"/\">open LANrage</a>.");
}

/* The web UI's own routes, answered on the lws thread. */
static void api_ui_answer(struct api *a, struct api_conn *c, const struct api_request *req)
{
	char code[API_SECRET_HEX + 1];
	json_t *j = NULL;
	uint64_t now = api_now_ms();

	switch (req->route) {
	case API_UI_CODE:
		api_code_new(&a->sessions, now, code);
		j = json_pack("{s:s+++, s:i}", "url", "http://", a->listen, "/login?code=", code,
			      "expires_in_s", API_CODE_TTL_MS / 1000);
		crypto_wipe(code, sizeof(code));
		break;
	case API_UI_SESSION:
		j = json_pack("{s:s, s:I}", "csrf", req->session->csrf, "expires_in_s",
			      (json_int_t)((req->session->expires_ms - now) / 1000));
		break;
	default: /* API_UI_LOGOUT */
		api_session_drop(req->session);
		snprintf(c->set_cookie, sizeof(c->set_cookie),
			 "%s=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", API_SESSION_COOKIE);
		j = json_pack("{s:s}", "state", "logged_out");
		break;
	}
	c->status = 200;
	c->out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j); /* the strings it held were copies: json_dumps made ours */
}

static void api_answer_now(struct api *a, struct api_conn *c, const struct api_request *req)
{
	switch (req->route) {
	case API_ASSET:
		api_asset_answer(c, req->arg);
		break;
	case API_LOGIN:
		api_login(a, c, req);
		break;
	case API_UI_CODE:
	case API_UI_SESSION:
	case API_UI_LOGOUT:
		api_ui_answer(a, c, req);
		break;
	case API_METRICS:
		c->status = api_metrics(a->party, &c->out);
		if (c->status == 200)
			c->content_type = PROM_CONTENT_TYPE;
		break;
	default:
		c->status = api_handle(a->party, req, &c->out);
		c->down_after = req->route == API_DOWN;
		break;
	}
	log_kv(LOG_DEBUG, API_TAG, "request", LOG_STR("method", c->method),
	       LOG_STR("path", c->path), LOG_INT("status", c->status));
}

static int api_respond(struct lws *wsi, struct api *a, struct api_conn *c)
{
	struct api_http h = {
		.method = c->method, .path = c->path, .host = c->host[0] ? c->host : NULL,
		.origin = c->has_origin ? c->origin : NULL,
		.authorization = c->has_authz ? c->authz : NULL,
		.cookie = c->has_cookie ? c->cookie : NULL, .csrf = c->has_csrf ? c->csrf : NULL,
		.code = c->has_code ? c->code : NULL,
		.body = c->body, .body_len = c->body_total,
	};
	struct api_auth auth = { .token = a->token, .port = a->port, .sessions = &a->sessions,
				 .now_ms = api_now_ms() };
	struct api_request req;
	struct api_error err;

	if (api_request_check(&h, &auth, &req, &err)) {
		api_error_body(c, err.status, err.error, err.message);
		if (err.status == 403 || err.status == 401)
			log_kv(LOG_WARN, API_TAG, "request refused", LOG_INT("status", err.status),
			       LOG_STR("path", c->path));
	} else if (api_route_waits(req.route)) {
		log_kv(LOG_DEBUG, API_TAG, "request (on a job thread)", LOG_STR("method", c->method),
		       LOG_STR("path", c->path));
		if (!api_job_start(wsi, a, c, &req))
			return 0;
	} else {
		api_answer_now(a, c, &req);
	}
	if (!c->out)
		return -1;
	if (!c->out_len)
		c->out_len = strlen(c->out);
	lws_callback_on_writable(wsi);
	return 0;
}

/* Every answer, JSON or the web UI's, forbids framing, sniffing, referrers
 * and any script or style not from the daemon itself (docs/WEBUI.md). */
static const struct {
	const char *name, *value;
} api_security_headers[] = {
	{ "content-security-policy:",
	  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
	{ "x-content-type-options:", "nosniff" },
	{ "referrer-policy:", "no-referrer" },
	{ "x-frame-options:", "DENY" },
	{ "cache-control:", "no-store" },
};

static int api_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

static int api_headers(struct lws *wsi, struct api_conn *c, unsigned char **p, unsigned char *end)
{
	const char *type = c->content_type ? c->content_type : "application/json";

	if (lws_add_http_common_headers(wsi, (unsigned)c->status, type, c->out_len, p, end))
		return -1;
	for (size_t i = 0; i < sizeof(api_security_headers) / sizeof(api_security_headers[0]); i++)
		if (api_header(wsi, api_security_headers[i].name, api_security_headers[i].value, p,
			       end))
			return -1;
	if (c->set_cookie[0] && api_header(wsi, "set-cookie:", c->set_cookie, p, end))
		return -1;
	if (c->location[0] && api_header(wsi, "location:", c->location, p, end))
		return -1;
	return 0;
}

static int api_write(struct lws *wsi, struct api *a, struct api_conn *c)
{
	unsigned char buf[LWS_PRE + API_HDR_BUF];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
	int r;

	if (!c->out)
		return 0;
	if (!c->headers_sent) {
		if (api_headers(wsi, c, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		c->headers_sent = true;
		lws_callback_on_writable(wsi);
		return 0;
	}
	r = http_body_write(wsi, c->out, c->out_len, &c->out_off);
	if (r <= 0)
		return r;
	if (c->down_after && a->on_down) {
		log_info(API_TAG, "stop requested through the API");
		a->on_down(a->arg);
	}
	api_conn_reset(c);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int api_body(struct api_conn *c, const void *in, size_t len)
{
	size_t keep;
	char *n;

	c->body_total += len;
	/* a browser's fetch POST with no body still says Content-Length: 0,
	 * and lws then passes an empty chunk with no buffer */
	if (!len || c->body_len >= API_MAX_BODY)
		return 0;
	keep = len < API_MAX_BODY - c->body_len ? len : API_MAX_BODY - c->body_len;
	n = realloc(c->body, c->body_len + keep + 1);
	if (!n)
		return -1;
	c->body = n;
	memcpy(c->body + c->body_len, in, keep);
	c->body_len += keep;
	c->body[c->body_len] = '\0';
	return 0;
}

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			size_t len)
{
	struct api_conn *c = user;
	struct api *a = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		api_begin(wsi, c, in);
		/* A POST without a body gets no body callbacks: answer now. */
		if (strcmp(c->method, "POST") ||
		    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
			return api_respond(wsi, a, c);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		return api_body(c, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return api_respond(wsi, a, c);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return api_write(wsi, a, c);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c)
			api_conn_reset(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* a job finished, or api_stop */
		api_jobs_collect(a);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols api_protocols[] = {
	{ "lanrage-api", api_callback, sizeof(struct api_conn), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *api_thread(void *arg)
{
	struct api *a = arg;

	while (!a->stop)
		if (lws_service(a->ctx, 0) < 0)
			break;
	return NULL;
}

static int api_write_token(struct api *a)
{
	uint8_t raw[API_TOKEN_LEN / 2];
	char text[API_TOKEN_LEN + 2];
	int r;

	crypto_random(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(a->token + 2 * i, 3, "%02x", raw[i]);
	snprintf(text, sizeof(text), "%s\n", a->token);
	r = party_write_private(a->state_dir, API_TOKEN_FILE, text);
	crypto_wipe(raw, sizeof(raw));
	crypto_wipe(text, sizeof(text));
	return r;
}

int api_start(const struct api_config *cfg, struct api **out)
{
	struct lws_context_creation_info info;
	struct api *a = calloc(1, sizeof(*a));
	const char *listen = cfg->listen ? cfg->listen : API_DEFAULT_LISTEN;
	char addr[64];
	int r;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->jobs_mu, NULL);
	a->party = cfg->party;
	a->on_down = cfg->on_down;
	a->arg = cfg->arg;
	a->state_dir = strdup(cfg->state_dir);
	if (!a->state_dir) {
		r = -ENOMEM;
		goto err;
	}
	snprintf(a->listen, sizeof(a->listen), "%s", listen);
	if (api_listen_parse(listen, addr, sizeof(addr), &a->port)) {
		log_error(API_TAG, "the API listens on loopback only; refusing '%s'", listen);
		r = -EINVAL;
		goto err;
	}
	/* lws would only log a busy port, and leaks when it fails on it */
	r = hostport_tcp_listen_probe(addr, a->port);
	if (r) { /* the caller says it, with the option to change */
		log_debug(API_TAG, "cannot listen on %s: %s", listen, strerror(-r));
		goto err;
	}
	log_lws_setup();
	memset(&info, 0, sizeof(info));
	info.port = a->port;
	info.iface = addr;
	info.protocols = api_protocols;
	info.user = a;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       (strchr(addr, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
	info.timeout_secs = 30;
	a->ctx = lws_create_context(&info);
	if (!a->ctx) {
		log_error(API_TAG, "cannot listen on %s (in use by another daemon?)", listen);
		r = -EADDRINUSE;
		goto err;
	}
	/* Only once the address is ours: a second daemon must not replace the
	 * token of the one already serving. */
	r = api_write_token(a);
	if (r)
		goto err;
	r = -pthread_create(&a->thread, NULL, api_thread, a);
	if (r) {
		log_error(API_TAG, "cannot start the API thread: %s", strerror(-r));
		goto err;
	}
	a->thread_started = true;
	log_info(API_TAG, "local API on http://%s", listen);
	*out = a;
	return 0;
err:
	api_stop(a);
	return r;
}

void api_stop(struct api *a)
{
	char path[4096];

	if (!a)
		return;
	if (a->thread_started) {
		a->stop = 1;
		lws_cancel_service(a->ctx);
		pthread_join(a->thread, NULL);
	}
	api_jobs_join(a);
	if (a->ctx)
		lws_context_destroy(a->ctx);
	if (a->state_dir && a->token[0]) {
		snprintf(path, sizeof(path), "%s/%s", a->state_dir, API_TOKEN_FILE);
		unlink(path);
	}
	crypto_wipe(a->token, sizeof(a->token));
	api_sessions_wipe(&a->sessions);
	free(a->state_dir);
	pthread_mutex_destroy(&a->jobs_mu);
	free(a);
}
