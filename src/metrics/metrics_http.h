/*
 * metrics_http: the servers' Prometheus endpoint (--metrics-listen ADDR:PORT,
 * docs/METRICS.md). A libwebsockets HTTP listener on a thread of its own
 * answers GET /metrics with the latest text its owner published (404 for
 * another path, 405 for another method, 503 before the first publish).
 *
 * Threading: the owner renders the text on its own thread, where its
 * counters live, and hands it over with metrics_http_publish; the HTTP
 * thread only copies the latest text under a mutex. So a scrape never reads
 * a counter another thread is writing, and costs the owner nothing.
 */
#ifndef LR_METRICS_METRICS_HTTP_H
#define LR_METRICS_METRICS_HTTP_H

struct metrics_http;

/* 0 when listen is "IP:PORT" or "[IPv6]:PORT" with a numeric IP (0.0.0.0
 * and [::] are every address), else -EINVAL. For option parsing. */
int metrics_http_check(const char *listen);

/* Takes the address and starts the thread. 0, -EINVAL for a bad address,
 * bind's -errno (-EADDRINUSE, -EADDRNOTAVAIL) or -ENOMEM; nothing is
 * logged, the caller says it with the option's name. */
int metrics_http_start(const char *listen, struct metrics_http **out);

/* Replaces the text served (takes text, a malloc'd string; NULL is ignored). */
void metrics_http_publish(struct metrics_http *mh, char *text);

/* Stops the thread and frees everything; NULL is a no-op. */
void metrics_http_stop(struct metrics_http *mh);

#endif
