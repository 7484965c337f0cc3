/*
 * lanrage_http: the CLI's HTTP client for the daemon's local API, one
 * request per call on a throwaway libwebsockets client context (no
 * hand-written HTTP). The bearer token goes in the Authorization header and
 * is never printed.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cmd/lanrage_cli.h"
#include "log/log.h"

struct cli_req {
	const char *method, *token, *body;
	size_t body_len;
	int status;
	char *resp;
	size_t resp_len;
	int err;
	bool done;
};

static int cli_http_append(struct cli_req *r, const void *in, size_t len)
{
	char *n;

	if (r->resp_len + len > 16 * 1024 * 1024)
		return -1;
	n = realloc(r->resp, r->resp_len + len + 1);
	if (!n)
		return -1;
	r->resp = n;
	memcpy(r->resp + r->resp_len, in, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return 0;
}

static int cli_http_headers(struct lws *wsi, struct cli_req *r, unsigned char **p,
			    unsigned char *end)
{
	char auth[API_TOKEN_LEN + 16], clen[24];
	int ret = 0;

	snprintf(auth, sizeof(auth), "Bearer %s", r->token);
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
					 (unsigned char *)auth, (int)strlen(auth), p, end))
		ret = -1;
	lws_explicit_bzero(auth, sizeof(auth));
	if (ret || !r->body)
		return ret;
	snprintf(clen, sizeof(clen), "%zu", r->body_len);
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"application/json", 16, p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
					 (unsigned char *)clen, (int)strlen(clen), p, end))
		return -1;
	lws_client_http_body_pending(wsi, 1);
	lws_callback_on_writable(wsi);
	return 0;
}

static int cli_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct cli_req *r = lws_context_user(lws_get_context(wsi));
	unsigned char buf[LWS_PRE + 4096];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		r->err = -ECONNREFUSED;
		r->done = true;
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return cli_http_headers(wsi, r, (unsigned char **)in, (unsigned char *)in + len);
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		if (!r->body || r->body_len > sizeof(buf) - LWS_PRE)
			return r->body ? -1 : 0;
		memcpy(buf + LWS_PRE, r->body, r->body_len);
		lws_client_http_body_pending(wsi, 0);
		if (lws_write(wsi, buf + LWS_PRE, r->body_len, LWS_WRITE_HTTP_FINAL) <
		    (int)r->body_len)
			return -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		r->status = (int)lws_http_client_http_response(wsi);
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return cli_http_append(r, in, len);
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char *px = (char *)buf + LWS_PRE;
		int lenx = (int)(sizeof(buf) - LWS_PRE);

		return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (!r->status && !r->err)
			r->err = -ECONNRESET;
		r->done = true;
		lws_cancel_service(lws_get_context(wsi));
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols cli_http_protocols[] = {
	{ "lanrage-cli", cli_http_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int cli_http(const char *addr, const char *token, const char *method, const char *path,
	     const char *body, int *status, char **resp)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct cli_req r = { .method = method, .token = token, .body = body,
			     .body_len = body ? strlen(body) : 0 };
	struct lws_context *ctx;
	char host[64], hosthdr[80];
	uint16_t port;

	*status = 0;
	*resp = NULL;
	if (api_listen_parse(addr, host, sizeof(host), &port))
		return -EINVAL;
	log_lws_setup();
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = cli_http_protocols;
	info.user = &r;
	info.timeout_secs = 60;
	info.connect_timeout_secs = 5;
	ctx = lws_create_context(&info);
	if (!ctx)
		return -ENOMEM;
	snprintf(hosthdr, sizeof(hosthdr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = hosthdr;
	ci.origin = NULL;
	ci.method = method;
	ci.protocol = cli_http_protocols[0].name;
	if (!lws_client_connect_via_info(&ci))
		r.err = -ECONNREFUSED;
	else
		while (!r.done)
			if (lws_service(ctx, 0) < 0)
				break;
	lws_context_destroy(ctx);
	if (!r.err && !r.status)
		r.err = -ECONNRESET;
	if (r.err) {
		free(r.resp);
		return r.err;
	}
	*status = r.status;
	*resp = r.resp ? r.resp : strdup("");
	return 0;
}
