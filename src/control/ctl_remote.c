/*
 * ctl_remote: remote mode. One libwebsockets client context per client,
 * served by its own thread, holding at most one connection to
 * ws://HOST:PORT/v1/ws.
 *
 * After each (re)connection the hello starts the restore: auth with the
 * token; if the server does not know the peer (unauthorized) and we hold the
 * private key, register again; if the server forgot our membership, join
 * the party again. Then the client is ready: CONNECTED, and after an auth
 * RESYNC with the party as the server has it. A lost connection fails the
 * requests in flight, queues DISCONNECTED and retries after an exponential
 * backoff with jitter between backoff_min_ms and backoff_max_ms.
 *
 * Threads: user threads only append to the out queue (under the client's
 * lock, tagged with the connection generation they waited for) and wake the
 * service thread with lws_cancel_service; everything else here runs on the
 * service thread, and nothing touches a wsi outside it.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_wsq.h"
#include "crypto/crypto.h"
#include "log/log.h"

#define CTL_REMOTE_TAG "control"

struct ctl_remote {
	struct ctl_client *c;
	struct lws_context *ctx;
	pthread_t thread;
	atomic_bool stop;
	char host[256];
	char path[128];
	int port;
	/* Service thread only. */
	struct lws *wsi;   /* established connection */
	bool connecting;   /* an attempt or a connection is live */
	lws_sorted_usec_list_t sul_connect, sul_beat;
	uint64_t backoff_ms;
	char *rx;
	size_t rx_len;
	bool rx_skip;
	/* Under c->lock. */
	struct ctl_wsq out;
};

static void out_clear(struct ctl_remote *r)
{
	pthread_mutex_lock(&r->c->lock);
	ctl_wsq_clear(&r->out);
	pthread_mutex_unlock(&r->c->lock);
}

static int remote_send(struct ctl_client *c, const char *msg, size_t len, uint64_t gen)
{
	struct ctl_remote *r = c->tr_priv;
	int err;

	pthread_mutex_lock(&c->lock);
	err = c->gen != gen || !c->ready ? -ECONNRESET : ctl_wsq_push(&r->out, msg, len);
	pthread_mutex_unlock(&c->lock);
	if (!err)
		lws_cancel_service(r->ctx);
	return err;
}

/* Service thread. Sends an internal request ahead of readiness. */
static void remote_internal(struct ctl_remote *r, json_t *req, ctl_internal_fn cb)
{
	char *text = req ? ctl_client_internal(r->c, req, cb) : NULL;
	int err = -ENOMEM;

	if (text) {
		pthread_mutex_lock(&r->c->lock);
		err = ctl_wsq_push(&r->out, text, strlen(text));
		pthread_mutex_unlock(&r->c->lock);
		crypto_wipe(text, strlen(text));
		free(text);
	}
	if (err)
		log_warn(CTL_REMOTE_TAG, "cannot send a request: out of memory");
	else if (r->wsi)
		lws_callback_on_writable(r->wsi);
}

static void remote_ready(struct ctl_remote *r, bool resync, const json_t *party)
{
	r->backoff_ms = r->c->opts.backoff_min_ms;
	ctl_client_set_ready(r->c, resync, party);
}

static bool answer_ok(const json_t *msg)
{
	return !strcmp(json_string_value(json_object_get(msg, "type")), "result");
}

static void on_rejoin(struct ctl_client *c, json_t *msg)
{
	struct ctl_remote *r = c->tr_priv;
	const json_t *data = json_object_get(msg, "data");

	if (!answer_ok(msg))
		log_warn(CTL_REMOTE_TAG, "cannot rejoin the party after reconnecting: %s",
			 json_string_value(json_object_get(msg, "code")));
	remote_ready(r, true, answer_ok(msg) ? json_object_get(data, "party") : NULL);
}

/* Authenticated but in no party: rejoin the one we were in, if any. */
static void remote_restore_party(struct ctl_remote *r)
{
	char party[CTL_PARTY_ID_LEN + 1];

	ctl_client_party_id(r->c, party);
	if (!party[0]) {
		remote_ready(r, true, NULL);
		return;
	}
	log_info(CTL_REMOTE_TAG, "the control server forgot our membership; joining %s again",
		 party);
	remote_internal(r, json_pack("{s:s, s:s}", "type", "party_join", "party_id", party),
			on_rejoin);
}

static void on_register(struct ctl_client *c, json_t *msg)
{
	struct ctl_remote *r = c->tr_priv;

	if (!answer_ok(msg) || ctl_client_store_creds(c, json_object_get(msg, "data"), NULL)) {
		log_warn(CTL_REMOTE_TAG, "re-registering with the control server failed: %s",
			 json_string_value(json_object_get(msg, "code")));
		remote_ready(r, false, NULL);
		return;
	}
	remote_restore_party(r);
}

static void on_auth(struct ctl_client *c, json_t *msg)
{
	struct ctl_remote *r = c->tr_priv;
	const json_t *party = json_object_get(json_object_get(msg, "data"), "party");
	const char *code = json_string_value(json_object_get(msg, "code"));
	json_t *reg;

	if (answer_ok(msg)) {
		if (json_is_object(party))
			remote_ready(r, true, party);
		else
			remote_restore_party(r);
		return;
	}
	if (code && !strcmp(code, "unauthorized") && (reg = ctl_client_register_req(c))) {
		log_info(CTL_REMOTE_TAG, "the control server does not know us; registering again");
		remote_internal(r, reg, on_register);
		return;
	}
	log_warn(CTL_REMOTE_TAG, "re-authentication failed: %s", code ? code : "?");
	remote_ready(r, false, NULL);
}

/* ctl_transport.hello: runs on the service thread from ctl_client_input. */
static void remote_hello(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;
	json_t *auth = ctl_client_auth_req(c);

	if (auth)
		remote_internal(r, auth, on_auth);
	else
		remote_ready(r, false, NULL);
}

static void remote_connect(lws_sorted_usec_list_t *sul);

static void remote_down(struct ctl_remote *r)
{
	uint64_t base = r->backoff_ms, delay;

	if (!r->connecting)
		return;
	r->connecting = false;
	r->wsi = NULL;
	r->rx_len = 0;
	r->rx_skip = false;
	if (atomic_load(&r->stop))
		return;
	ctl_client_conn_lost(r->c);
	out_clear(r); /* after the generation changed: nothing old is added any more */
	/* Jitter: uniformly in [base/2, base], never under the minimum. */
	delay = base / 2 + crypto_random_uniform((uint32_t)(base / 2 + 1));
	if (delay < r->c->opts.backoff_min_ms)
		delay = r->c->opts.backoff_min_ms;
	r->backoff_ms = base * 2 < r->c->opts.backoff_max_ms ? base * 2 : r->c->opts.backoff_max_ms;
	log_debug(CTL_REMOTE_TAG, "connection to %s:%d down; retrying in %llu ms", r->host,
		  r->port, (unsigned long long)delay);
	lws_sul_schedule(r->ctx, 0, &r->sul_connect, remote_connect, (lws_usec_t)delay * 1000);
}

static void remote_connect(lws_sorted_usec_list_t *sul)
{
	struct ctl_remote *r = (struct ctl_remote *)((char *)sul - offsetof(struct ctl_remote, sul_connect));
	struct lws_client_connect_info i;

	if (atomic_load(&r->stop) || r->connecting)
		return;
	memset(&i, 0, sizeof(i));
	i.context = r->ctx;
	i.address = r->host;
	i.port = r->port;
	i.path = r->path;
	i.host = r->host;
	i.origin = r->host;
	i.ietf_version_or_minus_one = -1;
	i.local_protocol_name = "lanrage-control-client";
	r->connecting = true;
	if (!lws_client_connect_via_info(&i))
		remote_down(r);
}

static void remote_beat(lws_sorted_usec_list_t *sul)
{
	struct ctl_remote *r = (struct ctl_remote *)((char *)sul - offsetof(struct ctl_remote, sul_beat));
	bool due;

	pthread_mutex_lock(&r->c->lock);
	due = r->wsi && r->c->ready && r->c->peer_id[0];
	pthread_mutex_unlock(&r->c->lock);
	if (due)
		remote_internal(r, json_pack("{s:s}", "type", "heartbeat"), NULL);
	lws_sul_schedule(r->ctx, 0, &r->sul_beat, remote_beat,
			 (lws_usec_t)r->c->opts.heartbeat_ms * 1000);
}

static int remote_receive(struct ctl_remote *r, struct lws *wsi, const void *in, size_t len)
{
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

	if (!r->rx_skip && r->rx_len + len <= CTL_MAX_MESSAGE) {
		memcpy(r->rx + r->rx_len, in, len);
		r->rx_len += len;
	} else if (!r->rx_skip) {
		log_warn(CTL_REMOTE_TAG, "control server sent a message over %d bytes; ignored",
			 CTL_MAX_MESSAGE);
		r->rx_skip = true;
	}
	if (!final)
		return 0;
	if (!r->rx_skip)
		ctl_client_input(r->c, r->rx, r->rx_len);
	r->rx_len = 0;
	r->rx_skip = false;
	return 0;
}

static int remote_writeable(struct ctl_remote *r, struct lws *wsi)
{
	bool more;
	int err;

	pthread_mutex_lock(&r->c->lock);
	err = ctl_wsq_write(&r->out, wsi);
	more = !ctl_wsq_empty(&r->out);
	pthread_mutex_unlock(&r->c->lock);
	if (err)
		return -1;
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static int remote_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct ctl_remote *r = lws_context_user(lws_get_context(wsi));
	bool more;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		r->wsi = wsi;
		r->rx_len = 0;
		r->rx_skip = false;
		log_debug(CTL_REMOTE_TAG, "connected to %s:%d", r->host, r->port);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_debug(CTL_REMOTE_TAG, "cannot connect to %s:%d: %s", r->host, r->port,
			  in ? (const char *)in : "?");
		remote_down(r);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		remote_down(r);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return remote_receive(r, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return remote_writeable(r, wsi);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (!r || !r->wsi)
			return 0;
		pthread_mutex_lock(&r->c->lock);
		more = !ctl_wsq_empty(&r->out);
		pthread_mutex_unlock(&r->c->lock);
		if (more)
			lws_callback_on_writable(r->wsi);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols remote_protocols[] = {
	{ "lanrage-control-client", remote_callback, 0, CTL_MAX_MESSAGE, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *remote_thread(void *arg)
{
	struct ctl_remote *r = arg;

	while (!atomic_load(&r->stop))
		if (lws_service(r->ctx, 0) < 0)
			break;
	return NULL;
}

static void remote_close(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;

	atomic_store(&r->stop, true);
	lws_cancel_service(r->ctx);
	pthread_join(r->thread, NULL);
	lws_context_destroy(r->ctx);
	out_clear(r);
	free(r->rx);
	free(r);
}

static const struct ctl_transport remote_transport = {
	.send = remote_send,
	.hello = remote_hello,
	.close = remote_close,
};

/* ws://HOST[:PORT][/PATH]; the path defaults to /v1/ws. */
static int remote_parse_url(struct ctl_remote *r, const char *url)
{
	const char *prot, *ads, *path;
	char buf[512];
	int port;

	if (strlen(url) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, url, strlen(url) + 1);
	if (lws_parse_uri(buf, &prot, &ads, &port, &path) || strcmp(prot, "ws") || !ads[0] ||
	    strlen(ads) >= sizeof(r->host) || strlen(path) + 2 > sizeof(r->path))
		return -EINVAL;
	while (*path == '/') /* lws gives "/" when the URL has no path */
		path++;
	snprintf(r->host, sizeof(r->host), "%s", ads);
	snprintf(r->path, sizeof(r->path), "/%s", path[0] ? path : "v1/ws");
	r->port = port;
	return 0;
}

int ctl_remote_start(struct ctl_client *c)
{
	struct lws_context_creation_info info;
	struct ctl_remote *r = calloc(1, sizeof(*r));
	int err;

	if (!r || !(r->rx = malloc(CTL_MAX_MESSAGE + 1))) {
		err = -ENOMEM;
		goto err;
	}
	err = remote_parse_url(r, c->opts.url);
	if (err) {
		log_error(CTL_REMOTE_TAG, "bad control server URL (want ws://HOST:PORT)");
		goto err;
	}
	r->c = c;
	r->backoff_ms = c->opts.backoff_min_ms;
	if (log_get_level() < LOG_DEBUG)
		lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = remote_protocols;
	info.user = r;
	info.timeout_secs = 10;
	info.connect_timeout_secs = 5;
	r->ctx = lws_create_context(&info);
	if (!r->ctx) {
		err = -ENOMEM;
		goto err;
	}
	c->tr = &remote_transport;
	c->tr_priv = r;
	/* Scheduled before the service thread exists, so no race on the lists. */
	lws_sul_schedule(r->ctx, 0, &r->sul_connect, remote_connect, 1);
	if (c->opts.heartbeat_ms)
		lws_sul_schedule(r->ctx, 0, &r->sul_beat, remote_beat,
				 (lws_usec_t)c->opts.heartbeat_ms * 1000);
	err = -pthread_create(&r->thread, NULL, remote_thread, r);
	if (err) {
		c->tr = NULL;
		lws_context_destroy(r->ctx);
		goto err;
	}
	return 0;
err:
	if (r)
		free(r->rx);
	free(r);
	return err;
}
