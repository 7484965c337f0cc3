/*
 * http_body: the body of an HTTP answer written in chunks from lws's
 * WRITEABLE callback, the one way the daemon's API, lanrage-control's REST
 * and the servers' /metrics all send theirs (each writes its own headers
 * first). A chunk at a time keeps the stack buffer bounded and lets a slow
 * reader take its time without blocking the service thread.
 */
#ifndef LR_UTIL_HTTP_BODY_H
#define LR_UTIL_HTTP_BODY_H

#include <stddef.h>

struct lws;

enum { HTTP_BODY_CHUNK = 16384 };

/* Writes the next chunk of body[*off..len) and moves *off past it: 1 when
 * that was the last (the answer is complete), 0 when more is to come
 * (WRITEABLE is asked for again), -1 when lws did not take it all (the
 * caller closes the connection). */
int http_body_write(struct lws *wsi, const char *body, size_t len, size_t *off);

#endif
