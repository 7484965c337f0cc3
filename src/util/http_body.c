/*
 * http_body: an HTTP answer's body in chunks (http_body.h).
 */
#include <libwebsockets.h>
#include <stdbool.h>
#include <string.h>

#include "util/http_body.h"

int http_body_write(struct lws *wsi, const char *body, size_t len, size_t *off)
{
	unsigned char buf[LWS_PRE + HTTP_BODY_CHUNK];
	unsigned char *start = buf + LWS_PRE;
	size_t n = len - *off < HTTP_BODY_CHUNK ? len - *off : HTTP_BODY_CHUNK;
	bool final = *off + n == len;

	memcpy(start, body + *off, n);
	if (lws_write(wsi, start, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
		return -1;
	*off += n;
	if (!final)
		lws_callback_on_writable(wsi);
	return final;
}
