/*
 * lanrage-control: the control server (docs/CONTROL.md). A libwebsockets
 * server on one thread: every WebSocket connection on /v1/ws is one
 * ctl_session of the core, plain HTTP GETs are the core's REST queries.
 *
 *   lanrage-control [--listen ADDR:PORT] [--db PATH] [--peer-timeout S]
 *                   [--relay-timeout S] [--relay-secret-file F] [--log-level L]
 *                   [--tls-cert F --tls-key F | --insecure] [--print-pin]
 *                   [--metrics-listen ADDR:PORT]
 *                   [limits: --auth-timeout S --ping-interval S --idle-timeout S
 *                    --ip-sessions N --ip-register-rate N --ip-register-burst N
 *                    --peer-gc S --signal-rate KIB --signal-burst KIB]
 *   lanrage-control --version | -h | --help
 *
 * Start-up failures (a port that cannot be taken, a bad certificate or
 * database) are exit status 1 with one line saying what to change; usage
 * errors are one line and exit status 2.
 *
 * TLS (docs/SECURITY.md): wss:// and https:// with the given certificate,
 * or, with neither file given, a self-signed one kept beside the database
 * (made on first start) whose pin clients configure. Plain ws:// only with
 * --insecure, for loopback and labs.
 *
 * Invariants: the core is only touched from the lws service thread; nothing
 * is written to a socket outside its WRITEABLE callback (outgoing messages
 * wait in a per-connection queue whose size is capped, so a client that
 * does not read is dropped instead of growing the server), except the one
 * short refusal of a request whose body we will not read, written from the
 * HTTP callback before the connection closes; a connection's session is
 * closed exactly once, in LWS_CALLBACK_CLOSED. Each WebSocket session is
 * opened with its source address, which the core's per-address limits
 * count (docs/CONTROL.md "Limits").
 * SIGINT/SIGTERM end the loop; the core is closed (pending writes flushed).
 *
 * The loop is libuv's (epoll), handed to lws as a foreign loop: lws's default
 * poll() loop scans every socket on each wakeup, and with 5,000 clients that
 * scan was 90 % of the server's CPU (bench/control-load). Signals are libuv
 * signal watchers on the same loop, so a stop runs on the service thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "control/ctl_core.h"
#include "control/ctl_wsq.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "metrics/metrics_http.h"
#include "metrics/prom.h"
#include "util/hostport.h"
#include "util/http_body.h"
#include "util/mem.h"
#include "util/secret_file.h"
#include "util/strbuf.h"
#include "util/time.h"

#include "srv_setup.h"

#define SRV_NAME "lanrage-control/" LANRAGE_VERSION

enum {
	SRV_DEFAULT_PORT = 8667,
	/* Bytes queued to one client before it is dropped as a slow reader. One
	 * message is always taken into an empty queue, so the largest answer
	 * (CTL_MAX_SERVER_MESSAGE, a whole party) never trips it alone. */
	SRV_MAX_QUEUED = 512 * 1024,
	SRV_TICK_MAX_MS = 1000,
	SRV_HTTP_HDR_BUF = 1024,
	SRV_RX_KEEP = 4096, /* a bigger receive buffer is freed after each message */
};

/* One per wsi (lws allocates it zeroed): a WebSocket session or an HTTP
 * request, depending on how the connection is used. */
struct srv_conn {
	struct lws *wsi;
	struct ctl_session *session;
	struct ctl_wsq out;
	bool closing; /* send what is queued, then close */
	bool dropped; /* queue over its cap: nothing more is queued */
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_skip; /* rest of an oversized message: ignored */
	/* HTTP */
	char *body;
	size_t body_len, body_off;
	int status;
	bool headers_sent;
};

struct srv {
	struct ctl_core *core;
	struct ctl_core_opts opts;
	struct lws_context *ctx;
	lws_sorted_usec_list_t tick;
	uint64_t tick_due_ns;
	struct metrics_http *metrics; /* NULL without --metrics-listen */
	uv_timer_t metrics_timer;
	/* Refusals the transport makes itself (lanrage_control_rejected_total). */
	uint64_t http_method, http_body, slow_readers;
};

static struct srv srv;
/* WebSocket liveness (lws's idle policy): a PING after ping-interval s
 * without a PONG or other proof both ways, a hang-up after idle-timeout s. */
static lws_retry_bo_t srv_retry = { .secs_since_valid_ping = 30,
				    .secs_since_valid_hangup = 75 };
static uv_loop_t srv_loop;
static uv_signal_t srv_sigint, srv_sigterm;

/* Runs on the loop: leaves uv_run; srv_run then tears lws down. */
static void srv_on_signal(uv_signal_t *h, int sig)
{
	log_info(SRV_TAG, "signal %d", sig);
	uv_stop(h->loop);
}

static void srv_tick_at(uint64_t delay_ms)
{
	srv.tick_due_ns = time_mono_ns() + delay_ms * TIME_NS_PER_MS;
	lws_sul_schedule(srv.ctx, 0, &srv.tick, srv.tick.cb, (lws_usec_t)delay_ms * 1000);
}

static void srv_tick(lws_sorted_usec_list_t *sul)
{
	uint64_t delay = ctl_core_tick(srv.core);

	srv_tick_at(delay < SRV_TICK_MAX_MS ? delay : SRV_TICK_MAX_MS);
}

/* A message may have opened a write batch: make sure the tick that commits
 * it comes within the batch window, whatever the last tick asked for. */
static void srv_tick_soon(void)
{
	if (srv.tick_due_ns > time_mono_ns() + srv.opts.batch_window_ms * TIME_NS_PER_MS)
		srv_tick_at(srv.opts.batch_window_ms);
}

/* ops->send: runs inside a core call, possibly for another connection. */
static void conn_send(void *arg, const char *msg, size_t len)
{
	struct srv_conn *c = arg;

	if (c->dropped)
		return;
	if ((c->out.bytes && c->out.bytes + len > SRV_MAX_QUEUED) ||
	    ctl_wsq_push(&c->out, msg, len)) {
		log_warn(SRV_TAG, "client does not read (%zu bytes queued): dropping it",
			 c->out.bytes);
		srv.slow_readers++;
		ctl_wsq_clear(&c->out);
		c->dropped = c->closing = true;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

/* ops->close: the core has forgotten the session; LWS_CALLBACK_CLOSED still
 * calls ctl_session_close. What is queued (the reason) goes out first. */
static void conn_close(void *arg)
{
	struct srv_conn *c = arg;

	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

static int conn_writeable(struct srv_conn *c)
{
	if (ctl_wsq_empty(&c->out)) {
		if (c->closing) {
			lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
			return -1;
		}
		return 0;
	}
	if (ctl_wsq_write(&c->out, c->wsi))
		return -1;
	if (!ctl_wsq_empty(&c->out) || c->closing)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static int conn_rx_append(struct srv_conn *c, const void *in, size_t len)
{
	size_t want = c->rx_len + len + 1;

	if (want > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 1024;
		char *p;

		while (cap < want)
			cap *= 2;
		p = realloc(c->rx, cap);
		if (!p)
			return -ENOMEM;
		c->rx = p;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	c->rx[c->rx_len] = '\0';
	return 0;
}

static void conn_rx_reset(struct srv_conn *c)
{
	c->rx_len = 0;
	if (c->rx_cap > SRV_RX_KEEP) {
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
}

/* Reassembles fragments into one message of at most CTL_MAX_MESSAGE bytes.
 * A longer one is handed to the core cut at CTL_MAX_MESSAGE + 1 bytes as
 * soon as it is known to be too long, so the core answers too_large; then
 * the connection closes. */
static int conn_receive(struct srv_conn *c, const void *in, size_t len)
{
	bool final = lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi);
	size_t room = CTL_MAX_MESSAGE + 1 - c->rx_len;
	int r;

	if (c->rx_skip || c->closing || !c->session)
		return 0;
	if (conn_rx_append(c, in, len < room ? len : room))
		return -1;
	if (c->rx_len <= CTL_MAX_MESSAGE && !final)
		return 0;
	r = ctl_session_input(c->session, c->rx, c->rx_len);
	srv_tick_soon();
	conn_rx_reset(c);
	if (r == -EMSGSIZE) {
		c->rx_skip = true;
		c->closing = true;
		lws_callback_on_writable(c->wsi);
	}
	return 0;
}

static void conn_closed(struct srv_conn *c)
{
	if (c->session)
		ctl_session_close(c->session);
	c->session = NULL;
	ctl_wsq_clear(&c->out);
	free(c->rx);
	c->rx = NULL;
	c->rx_len = c->rx_cap = 0;
	srv_tick_soon();
}

static void http_reset(struct srv_conn *c)
{
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_off = 0;
	c->headers_sent = false;
}

/* A request we will not read the body of: answered at once from the HTTP
 * callback (lws allows that write there), then the connection closes, so a
 * body that never ends cannot hold it open. Always returns -1 (close). */
static int http_refuse(struct srv_conn *c, unsigned status, const char *body)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
	size_t n = strlen(body);

	if (lws_add_http_common_headers(c->wsi, status, "application/json", n, &p, end) ||
	    (status == 405 && lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_ALLOW,
							   (const unsigned char *)"GET", 3, &p,
							   end)) ||
	    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)"close", 5, &p, end) ||
	    lws_finalize_http_header(c->wsi, &p, end) || (size_t)(end - p) < n)
		return -1;
	memcpy(p, body, n);
	p += n;
	lws_write(c->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
	return -1;
}

/* Only GET without a body is served (docs/CONTROL.md "REST"). */
static int http_check(struct srv_conn *c)
{
	char te[8];

	if (lws_hdr_total_length(c->wsi, WSI_TOKEN_GET_URI) <= 0) {
		srv.http_method++;
		return http_refuse(c, 405, "{\"code\":\"bad_request\",\"message\":\"only GET is "
				   "served\"}");
	}
	if ((lws_hdr_copy(c->wsi, te, sizeof(te), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	     strcmp(te, "0")) ||
	    lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		srv.http_body++;
		return http_refuse(c, 400, "{\"code\":\"bad_request\",\"message\":\"a request "
				   "body is not accepted\"}");
	}
	return 0;
}

static int http_request(struct srv_conn *c, const char *path)
{
	char auth[256];
	const char *authz = NULL;
	int status;

	http_reset(c);
	if (http_check(c))
		return -1;
	if (lws_hdr_copy(c->wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
		authz = auth;
	status = ctl_core_rest(srv.core, path, authz, &c->body);
	crypto_wipe(auth, sizeof(auth));
	if (status < 0 || !c->body)
		return -1;
	c->status = status;
	c->body_len = strlen(c->body);
	lws_callback_on_writable(c->wsi);
	return 0;
}

static int http_writeable(struct srv_conn *c)
{
	unsigned char buf[LWS_PRE + SRV_HTTP_HDR_BUF];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
	int r;

	if (!c->body)
		return 0;
	if (!c->headers_sent) {
		if (lws_add_http_common_headers(c->wsi, (unsigned)c->status, "application/json",
						c->body_len, &p, end) ||
		    lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
						 (const unsigned char *)"no-store", 8, &p, end) ||
		    lws_finalize_write_http_header(c->wsi, start, &p, end))
			return -1;
		c->headers_sent = true;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	r = http_body_write(c->wsi, c->body, c->body_len, &c->body_off);
	if (r <= 0)
		return r;
	http_reset(c);
	return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* The per-source key the core counts limits under: the IPv4 address (also
 * when mapped into IPv6), or the /64 of an IPv6 address, since one host
 * usually holds a whole /64. */
static void srv_source(struct lws *wsi, char out[CTL_MAX_SOURCE + 1])
{
	char peer[INET6_ADDRSTRLEN + 8] = "";
	struct in6_addr a6;
	struct in_addr a4;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (inet_pton(AF_INET6, peer, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, out, CTL_MAX_SOURCE + 1);
			return;
		}
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, peer, sizeof(peer));
		snprintf(out, CTL_MAX_SOURCE + 1, "%s/64", peer);
		return;
	}
	snprintf(out, CTL_MAX_SOURCE + 1, "%s", peer[0] ? peer : "?");
}

static bool ws_path_ok(struct lws *wsi)
{
	char uri[64];

	return lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 &&
	       !strcmp(uri, "/v1/ws");
}

static int srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			size_t len)
{
	struct srv_conn *c = user;
	struct ctl_session_ops ops = { .send = conn_send, .close = conn_close, .arg = c };
	char source[CTL_MAX_SOURCE + 1];

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_path_ok(wsi) ? 0 : 1;
	case LWS_CALLBACK_ESTABLISHED:
		http_reset(c);
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		srv_source(wsi, source);
		c->session = ctl_session_open_from(srv.core, &ops, source);
		return c->session ? 0 : -1;
	case LWS_CALLBACK_RECEIVE:
		return conn_receive(c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return conn_writeable(c);
	case LWS_CALLBACK_CLOSED:
		conn_closed(c);
		return 0;
	case LWS_CALLBACK_HTTP:
		c->wsi = wsi;
		return http_request(c, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(c);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c)
			http_reset(c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols srv_protocols[] = {
	/* First: it serves HTTP and WebSocket upgrades without a subprotocol. */
	{ "lanrage-control", srv_callback, sizeof(struct srv_conn), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* "ADDR:PORT", "[V6]:PORT" or ":PORT"; ADDR 0.0.0.0, :: or empty is any. */
static int parse_listen(const char *s, char *addr, size_t addr_len, int *port)
{
	uint16_t p;

	if (hostport_split(s, addr, addr_len, &p))
		return -EINVAL;
	*port = p;
	return 0;
}

/* A count 0..max (0 turns a limit off). */
static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u32(const char *s, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_count(s, max, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v == 0 || v > 7 * 86400)
		return -EINVAL;
	*ms = (uint64_t)v * 1000;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lanrage-control [options]\n"
		"  --listen ADDR:PORT       listen address (default 0.0.0.0:%d)\n"
		"  --db PATH                SQLite database (default ./lanrage-control.db)\n"
		"  --peer-timeout SECONDS   drop silent party members (default 90)\n"
		"  --relay-timeout SECONDS  drop silent relays (default 90)\n"
		"  --relay-secret-file FILE allow relay registration with the secret in FILE\n"
		"                           (or LANRAGE_RELAY_SECRET)\n"
		"  --tls-cert FILE          TLS certificate chain (PEM), with --tls-key\n"
		"  --tls-key FILE           its private key (PEM); without both, a self-signed\n"
		"                           pair beside the database, made on first start\n"
		"  --insecure               serve plain ws:// and http:// (loopback, labs)\n"
		"  --print-pin              print the TLS key pin clients use, then exit\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics at\n"
		"                           http://ADDR:PORT/metrics (plain HTTP; [::]:PORT for\n"
		"                           IPv6; off by default; see docs/METRICS.md)\n"
		"limits (0 turns one off; see docs/CONTROL.md \"Limits\"):\n"
		"  --auth-timeout SECONDS   close sessions not authenticated by then (default 10)\n"
		"  --ping-interval SECONDS  WebSocket PING after this long idle (default 30)\n"
		"  --idle-timeout SECONDS   hang up without a PONG for this long (default 75)\n"
		"  --ip-sessions N          concurrent sessions per address (default 256)\n"
		"  --ip-register-rate N     registrations per minute per address (default 60)\n"
		"  --ip-register-burst N    ... of which at once (default 256)\n"
		"  --peer-gc SECONDS        forget peers not seen this long (default 2592000,\n"
		"                           30 days)\n"
		"  --signal-rate KIB        signal KiB/s one member may be sent (default 64)\n"
		"  --signal-burst KIB       ... of which at once (default 256, at least 16)\n"
		"  --log-level LEVEL        silent, error, warn, info, debug (default info)\n"
		"  -h, --help               this text\n"
		"  --version                print the version\n",
		SRV_DEFAULT_PORT);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* lws sizes its fd table from this limit: raise it before the context. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			log_warn(SRV_TAG, "cannot raise the open file limit: %s", strerror(errno));
	}
}

/* Renders the metrics on the service thread, which owns the core, and
 * hands the text to the metrics thread. */
static void srv_publish_metrics(uv_timer_t *t)
{
	const struct ctl_metrics_extra extra[] = {
		{ "http_method", srv.http_method },
		{ "http_body", srv.http_body },
		{ "slow_reader", srv.slow_readers },
	};
	struct strbuf sb;

	strbuf_init(&sb);
	prom_build_info(&sb);
	ctl_core_metrics(srv.core, &sb, extra, sizeof(extra) / sizeof(extra[0]));
	prom_process(&sb);
	metrics_http_publish(srv.metrics, strbuf_take(&sb));
}

/* Takes --metrics-listen before the database is touched, as --listen is.
 * 0, or 1 (the exit status) with the reason printed. */
static int srv_metrics_start(const char *listen)
{
	int r;

	if (!listen)
		return 0;
	r = metrics_http_start(listen, &srv.metrics);
	if (r)
		fprintf(stderr, "lanrage-control: cannot listen for metrics on %s: %s (%spick "
				"another with --metrics-listen ADDR:PORT)\n", listen, strerror(-r),
			r == -EADDRINUSE ? "another lanrage-control running? " : "");
	else
		log_info(SRV_TAG, "metrics on http://%s/metrics", listen);
	return r ? 1 : 0;
}

static void srv_metrics_timer(bool start)
{
	if (!srv.metrics)
		return;
	if (start) {
		uv_timer_init(&srv_loop, &srv.metrics_timer);
		uv_timer_start(&srv.metrics_timer, srv_publish_metrics, 0, 1000);
		return;
	}
	uv_timer_stop(&srv.metrics_timer);
	uv_close((uv_handle_t *)&srv.metrics_timer, NULL);
}

/* On a foreign loop, lws's teardown is two calls around running the loop so
 * its handles finish closing; the second one frees the context. */
static void srv_ctx_destroy(void)
{
	lws_context_destroy(srv.ctx);
	uv_run(&srv_loop, UV_RUN_DEFAULT);
	lws_context_destroy(srv.ctx);
	srv.ctx = NULL;
	if (uv_loop_close(&srv_loop))
		log_warn(SRV_TAG, "event loop closed with handles still open");
}

static int srv_run(const char *addr, int port, const struct srv_tls *tls)
{
	struct lws_context_creation_info info;
	struct rlimit rl;
	void *loops[1] = { &srv_loop };
	bool any = srv_listen_any(addr);

	if (uv_loop_init(&srv_loop)) {
		log_error(SRV_TAG, "cannot create the event loop");
		return -ENOMEM;
	}
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = any ? NULL : addr;
	info.protocols = srv_protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBUV |
		       LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	info.foreign_loops = loops;
	info.timeout_secs = 20;
	info.retry_and_idle_policy = &srv_retry;
	if (!tls->insecure) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = tls->cert;
		info.ssl_private_key_filepath = tls->key;
	}
	srv.ctx = lws_create_context(&info);
	/* On a foreign loop the context outlives a default vhost that could not
	 * bind (the port taken since the probe, an interface name): no vhost,
	 * no server. */
	if (srv.ctx && !lws_get_vhost_by_name(srv.ctx, "default")) {
		srv_listen_failed(addr, port, 0);
		srv_ctx_destroy();
		return -EADDRINUSE;
	}
	if (!srv.ctx) {
		srv_listen_failed(addr, port, 0);
		uv_loop_close(&srv_loop);
		return -EADDRINUSE;
	}
	uv_signal_init(&srv_loop, &srv_sigint);
	uv_signal_start(&srv_sigint, srv_on_signal, SIGINT);
	uv_signal_init(&srv_loop, &srv_sigterm);
	uv_signal_start(&srv_sigterm, srv_on_signal, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	getrlimit(RLIMIT_NOFILE, &rl);
	log_info(SRV_TAG, "listening on %s:%d (%s /v1/ws, REST /v1/...), up to %llu files",
		 addr[0] ? addr : "0.0.0.0", port, tls->insecure ? "ws, NO TLS:" : "wss",
		 (unsigned long long)rl.rlim_cur);
	srv.tick.cb = srv_tick;
	srv_tick_at(0);
	srv_metrics_timer(true);
	uv_run(&srv_loop, UV_RUN_DEFAULT);
	log_info(SRV_TAG, "stopping");
	lws_sul_cancel(&srv.tick);
	srv_metrics_timer(false);
	uv_close((uv_handle_t *)&srv_sigint, NULL);
	uv_close((uv_handle_t *)&srv_sigterm, NULL);
	srv_ctx_destroy();
	return 0;
}

/* A usage error in one line: getopt's '?' (unknown) or ':' (value missing),
 * or 0 for an argument that is no option. Returns the exit status, 2. */
static int srv_bad_option(int opt, const char *arg)
{
	fprintf(stderr, "lanrage-control: %s '%s' (see lanrage-control --help)\n",
		opt == ':' ? "missing value for" : opt ? "unknown option" : "unexpected argument",
		arg);
	return 2;
}

/* Says once at start what a server without the relay secret lacks. */
static void srv_warn_no_relay_secret(const char *secret)
{
	if (secret && *secret)
		return;
	log_warn(SRV_TAG, "no relay secret (--relay-secret-file FILE or LANRAGE_RELAY_SECRET): "
			  "relays cannot register, so players get no relay fallback and no "
			  "STUN from relays");
}

/* Long options without a short letter. */
enum {
	OPT_AUTH_TIMEOUT = 256,
	OPT_PING,
	OPT_IDLE,
	OPT_IP_SESSIONS,
	OPT_IP_REG_RATE,
	OPT_IP_REG_BURST,
	OPT_PEER_GC,
	OPT_SIGNAL_RATE,
	OPT_SIGNAL_BURST,
	OPT_METRICS,
	OPT_VERSION,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "peer-timeout", required_argument, NULL, 'p' },
		{ "relay-timeout", required_argument, NULL, 'r' },
		{ "relay-secret", required_argument, NULL, 's' },
		{ "relay-secret-file", required_argument, NULL, 'S' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "print-pin", no_argument, NULL, 'P' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "auth-timeout", required_argument, NULL, OPT_AUTH_TIMEOUT },
		{ "ping-interval", required_argument, NULL, OPT_PING },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "ip-sessions", required_argument, NULL, OPT_IP_SESSIONS },
		{ "ip-register-rate", required_argument, NULL, OPT_IP_REG_RATE },
		{ "ip-register-burst", required_argument, NULL, OPT_IP_REG_BURST },
		{ "peer-gc", required_argument, NULL, OPT_PEER_GC },
		{ "signal-rate", required_argument, NULL, OPT_SIGNAL_RATE },
		{ "signal-burst", required_argument, NULL, OPT_SIGNAL_BURST },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	char addr[64] = "0.0.0.0";
	int port = SRV_DEFAULT_PORT, opt, idx = 0, r;
	uint64_t v;
	enum log_level level = LOG_INFO;
	const char *secret_path = NULL, *tls_cert = NULL, *tls_key = NULL, *metrics = NULL;
	struct srv_tls tls = { 0 };
	char *secret = NULL;
	bool print_pin = false;

	mem_secure_process(); /* 0600 database and key, wiped JSON copies of tokens */
	ctl_core_opts_default(&srv.opts);
	srv.opts.db_path = "./lanrage-control.db";
	srv.opts.server_name = SRV_NAME;
	srv.opts.relay_secret = getenv("LANRAGE_RELAY_SECRET");
	opterr = 0; /* srv_bad_option says it in one line */
	while ((opt = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_listen(optarg, addr, sizeof(addr), &port))
				goto bad;
			break;
		case 'd':
			srv.opts.db_path = optarg;
			break;
		case 'p':
			if (parse_seconds(optarg, &srv.opts.peer_timeout_ms))
				goto bad;
			break;
		case 'r':
			if (parse_seconds(optarg, &srv.opts.relay_timeout_ms))
				goto bad;
			break;
		case 's':
			fprintf(stderr, "lanrage-control: --relay-secret would show the secret to every "
					"local user (/proc); use --relay-secret-file FILE or "
					"LANRAGE_RELAY_SECRET\n");
			return 2;
		case 'S':
			secret_path = optarg;
			break;
		case 'c':
			tls_cert = optarg;
			break;
		case 'k':
			tls_key = optarg;
			break;
		case 'i':
			tls.insecure = true;
			break;
		case 'P':
			print_pin = true;
			break;
		case OPT_AUTH_TIMEOUT:
			if (parse_count(optarg, 3600, &v))
				goto bad;
			srv.opts.auth_timeout_ms = v * 1000;
			break;
		case OPT_PING:
			if (parse_count(optarg, 3600, &v) || !v)
				goto bad;
			srv_retry.secs_since_valid_ping = (uint16_t)v;
			break;
		case OPT_IDLE:
			if (parse_count(optarg, 7200, &v) || !v)
				goto bad;
			srv_retry.secs_since_valid_hangup = (uint16_t)v;
			break;
		case OPT_IP_SESSIONS:
			if (parse_u32(optarg, 1000000, &srv.opts.source_sessions))
				goto bad;
			break;
		case OPT_IP_REG_RATE:
			if (parse_u32(optarg, 1000000, &srv.opts.source_register_rate))
				goto bad;
			break;
		case OPT_IP_REG_BURST:
			if (parse_u32(optarg, 1000000, &srv.opts.source_register_burst) ||
			    !srv.opts.source_register_burst)
				goto bad;
			break;
		case OPT_PEER_GC:
			if (parse_count(optarg, 10ULL * 366 * 86400, &v))
				goto bad;
			srv.opts.peer_gc_ms = v * 1000;
			break;
		case OPT_SIGNAL_RATE:
			if (parse_count(optarg, 1024 * 1024, &v))
				goto bad;
			srv.opts.signal_rate = (uint32_t)(v * 1024);
			break;
		case OPT_SIGNAL_BURST:
			if (parse_count(optarg, 1024 * 1024, &v) || v * 1024 < CTL_MAX_MESSAGE)
				goto bad;
			srv.opts.signal_burst = (uint32_t)(v * 1024);
			break;
		case OPT_METRICS:
			if (metrics_http_check(optarg))
				goto bad;
			metrics = optarg;
			break;
		case 'v':
			if (log_level_parse(optarg, &level))
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("lanrage-control %s\n", LANRAGE_VERSION);
			return 0;
		default:
			return srv_bad_option(opt, argv[optind - 1]);
		}
	}
	if (optind != argc)
		return srv_bad_option(0, argv[optind]);
	/* A rate of 0 turns its limit off, burst included (the core takes a
	 * limit as off only when both are 0). */
	if (!srv.opts.source_register_rate)
		srv.opts.source_register_burst = 0;
	if (!srv.opts.signal_rate)
		srv.opts.signal_burst = 0;
	if (srv_retry.secs_since_valid_hangup <= srv_retry.secs_since_valid_ping) {
		fprintf(stderr, "lanrage-control: --idle-timeout must exceed --ping-interval\n");
		return 2;
	}
	log_set_level(level);
	r = srv_tls_setup(&tls, tls_cert, tls_key, srv.opts.db_path, print_pin);
	if (r || print_pin)
		goto out_tls;
	if (secret_path) {
		const char *why;

		r = secret_file_read(secret_path, &secret, &why);
		if (r) {
			fprintf(stderr, "lanrage-control: --relay-secret-file %s: %s\n", secret_path,
				r == -EINVAL || r == -EFBIG ? why : strerror(-r));
			r = 2;
			goto out_tls;
		}
		srv.opts.relay_secret = secret;
	}
	srv_warn_no_relay_secret(srv.opts.relay_secret);
	log_lws_setup();
	raise_nofile();
	r = srv_probe_listen(addr, port);
	if (!r)
		r = srv_metrics_start(metrics);
	if (r)
		goto out_tls;
	r = ctl_core_open(&srv.opts, &srv.core);
	if (r) {
		log_error(SRV_TAG, "cannot open the database %s: %s", srv.opts.db_path,
			  strerror(-r));
		r = 1;
		goto out_tls;
	}
	r = srv_run(addr, port, &tls) ? 1 : 0;
	ctl_core_close(srv.core);
out_tls:
	metrics_http_stop(srv.metrics);
	if (secret) {
		crypto_wipe(secret, strlen(secret));
		free(secret);
	}
	free(tls.cert);
	free(tls.key);
	return r;
bad:
	fprintf(stderr, "lanrage-control: bad value for --%s: %s\n", longopts[idx].name, optarg);
	return 2;
}
