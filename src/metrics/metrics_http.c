/*
 * metrics_http: GET /metrics on a libwebsockets context of its own, served
 * by its own thread (metrics_http.h).
 *
 * A scrape copies the published text under the mutex and writes it from
 * the connection's WRITEABLE callback in chunks, so a slow scraper holds a
 * copy, never the lock. The small refusals (404, 405, 503) are written from
 * the HTTP callback, as lws allows there, and close the connection: a
 * request we do not serve gets no keep-alive and its body is never read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "metrics/metrics_http.h"
#include "metrics/prom.h"
#include "util/hostport.h"
#include "util/http_body.h"

enum { MH_HDR_BUF = 1024 };

struct metrics_http {
	struct lws_context *ctx;
	pthread_t thread;
	bool thread_started;
	volatile int stop;
	pthread_mutex_t mu;
	char *text; /* under mu */
};

/* One per HTTP connection (lws allocates it zeroed). */
struct mh_conn {
	char *body;
	size_t len, off;
	bool headers_sent;
};

static bool mh_any(const char *ip)
{
	return !strcmp(ip, "0.0.0.0") || !strcmp(ip, "::");
}

static int mh_split(const char *listen, char *ip, size_t ip_len, uint16_t *port)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (hostport_split(listen, ip, ip_len, port))
		return -EINVAL;
	if (inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1)
		return -EINVAL;
	return 0;
}

int metrics_http_check(const char *listen)
{
	char ip[64];
	uint16_t port;

	return mh_split(listen, ip, sizeof(ip), &port);
}

/* A short text answer, written at once; returns -1 so lws closes. */
static int mh_refuse(struct lws *wsi, unsigned status, const char *body)
{
	unsigned char buf[LWS_PRE + 512];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
	size_t n = strlen(body);

	if (lws_add_http_common_headers(wsi, status, "text/plain; charset=utf-8", n, &p, end) ||
	    (status == 405 && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW,
							   (const unsigned char *)"GET", 3, &p,
							   end)) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)"close", 5, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < n)
		return -1;
	memcpy(p, body, n);
	p += n;
	lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
	return -1;
}

static void mh_conn_reset(struct mh_conn *c)
{
	free(c->body);
	memset(c, 0, sizeof(*c));
}

static int mh_request(struct metrics_http *mh, struct mh_conn *c, struct lws *wsi,
		      const char *path)
{
	mh_conn_reset(c);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return mh_refuse(wsi, 405, "only GET is served\n");
	if (strcmp(path, "/metrics"))
		return mh_refuse(wsi, 404, "not found: the metrics are at /metrics\n");
	pthread_mutex_lock(&mh->mu);
	c->body = mh->text ? strdup(mh->text) : NULL;
	pthread_mutex_unlock(&mh->mu);
	if (!c->body)
		return mh_refuse(wsi, 503, "no metrics yet\n");
	c->len = strlen(c->body);
	lws_callback_on_writable(wsi);
	return 0;
}

static int mh_writeable(struct mh_conn *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + MH_HDR_BUF];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
	int r;

	if (!c->body)
		return 0;
	if (!c->headers_sent) {
		if (lws_add_http_common_headers(wsi, 200, PROM_CONTENT_TYPE, c->len, &p, end) ||
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
						 (const unsigned char *)"no-store", 8, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		c->headers_sent = true;
		lws_callback_on_writable(wsi);
		return 0;
	}
	r = http_body_write(wsi, c->body, c->len, &c->off);
	if (r <= 0)
		return r;
	mh_conn_reset(c);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int mh_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct metrics_http *mh = lws_context_user(lws_get_context(wsi));
	struct mh_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return mh_request(mh, c, wsi, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return mh_writeable(c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c)
			mh_conn_reset(c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols mh_protocols[] = {
	{ "lanrage-metrics", mh_callback, sizeof(struct mh_conn), 1024, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *mh_thread(void *arg)
{
	struct metrics_http *mh = arg;

	while (!mh->stop)
		if (lws_service(mh->ctx, 0) < 0)
			break;
	return NULL;
}

static int mh_context(struct metrics_http *mh, const char *ip, uint16_t port)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = mh_any(ip) ? NULL : ip;
	info.protocols = mh_protocols;
	info.user = mh;
	info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
		       (strchr(ip, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
	info.timeout_secs = 10;
	mh->ctx = lws_create_context(&info);
	return mh->ctx ? 0 : -EADDRINUSE;
}

int metrics_http_start(const char *listen, struct metrics_http **out)
{
	struct metrics_http *mh;
	char ip[64];
	uint16_t port;
	int r;

	*out = NULL;
	r = mh_split(listen, ip, sizeof(ip), &port);
	/* lws would only log a busy port (and leaks on that path): learn
	 * bind's errno first */
	if (!r)
		r = hostport_tcp_listen_probe(ip, port);
	if (r)
		return r;
	mh = calloc(1, sizeof(*mh));
	if (!mh)
		return -ENOMEM;
	pthread_mutex_init(&mh->mu, NULL);
	log_lws_setup();
	r = mh_context(mh, ip, port);
	if (!r) {
		r = -pthread_create(&mh->thread, NULL, mh_thread, mh);
		mh->thread_started = !r;
	}
	if (r) {
		metrics_http_stop(mh);
		return r;
	}
	*out = mh;
	return 0;
}

void metrics_http_publish(struct metrics_http *mh, char *text)
{
	char *old;

	if (!text)
		return;
	pthread_mutex_lock(&mh->mu);
	old = mh->text;
	mh->text = text;
	pthread_mutex_unlock(&mh->mu);
	free(old);
}

void metrics_http_stop(struct metrics_http *mh)
{
	if (!mh)
		return;
	if (mh->thread_started) {
		mh->stop = 1;
		lws_cancel_service(mh->ctx);
		pthread_join(mh->thread, NULL);
	}
	if (mh->ctx)
		lws_context_destroy(mh->ctx);
	pthread_mutex_destroy(&mh->mu);
	free(mh->text);
	free(mh);
}
