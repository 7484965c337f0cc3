/*
 * ctl_remote: remote mode. One libwebsockets client context per client,
 * served by its own thread, holding at most one connection to
 * wss://HOST:PORT/v1/ws (ws:// only when the options say insecure).
 *
 * TLS: the server is verified before anything is sent: against the pin
 * (docs/SECURITY.md) when one is configured, else against the system CA
 * store and the URL's host name. A refusal is logged once per distinct
 * reason, kept as the client's transport error, and retried with the usual
 * backoff; it never falls back to plaintext.
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
#include <ifaddrs.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_tls.h"
#include "control/ctl_wsq.h"
#include "crypto/crypto.h"
#include "log/log.h"

#define CTL_REMOTE_TAG "control"

struct ctl_remote {
	struct ctl_client *c;
	struct lws_context *ctx;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool kick;              /* a user waits: connect now, not after the backoff */
	atomic_bool redial;            /* drop the connection (ctl_client_reconnect) */
	atomic_bool moved;             /* the host's network changed (ctl_client_network_changed) */
	atomic_bool poke;              /* heartbeat now (ctl_client_poke) */
	char host[256];
	char path[128];
	int port;
	bool tls;
	char pin[CTL_TLS_PIN_LEN + 1]; /* "" verifies against the CA store */
	char tls_err[200];             /* why the last handshake failed */
	char logged_err[200];          /* the last refusal logged */
	/* Service thread only. */
	struct lws *wsi;   /* established connection */
	bool connecting;   /* an attempt or a connection is live */
	lws_sorted_usec_list_t sul_connect, sul_beat;
	uint64_t backoff_ms;
	char *rx;          /* grows up to CTL_MAX_SERVER_MESSAGE, shrinks after */
	size_t rx_len, rx_cap;
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
	const json_t *party = json_object_get(json_object_get(msg, "data"), "party");

	if (!answer_ok(msg) || ctl_client_store_creds(c, json_object_get(msg, "data"), NULL)) {
		log_warn(CTL_REMOTE_TAG, "re-registering with the control server failed: %s",
			 json_string_value(json_object_get(msg, "code")));
		remote_ready(r, false, NULL);
		return;
	}
	if (json_is_object(party)) /* still a member: nothing to restore */
		remote_ready(r, true, party);
	else
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

/* Service thread: a refusal of the server is logged once while it lasts. */
static void remote_refused(struct ctl_remote *r, const char *why)
{
	char msg[sizeof(r->tls_err) + 300];

	snprintf(msg, sizeof(msg), "refusing the control server at %s:%d: %s", r->host, r->port,
		 why);
	ctl_client_set_transport_error(r->c, msg);
	if (strcmp(r->logged_err, why)) {
		log_error(CTL_REMOTE_TAG, "%s", msg);
		snprintf(r->logged_err, sizeof(r->logged_err), "%s", why);
	}
}

/* LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION, once per
 * certificate of the chain: 0 accepts, 1 refuses. With a pin only the
 * leaf's key matters (a self-signed certificate is the usual case); without
 * one, OpenSSL's verdict against the CA store and host name stands. */
static int remote_verify(struct ctl_remote *r, X509_STORE_CTX *xs, int preverify_ok)
{
	char got[CTL_TLS_PIN_LEN + 1];

	if (!r->pin[0]) {
		if (!preverify_ok)
			snprintf(r->tls_err, sizeof(r->tls_err),
				 "its certificate is not trusted (%s); set control_pin to the "
				 "server's pin to trust a self-signed server",
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(xs) == 0) {
		if (ctl_tls_pin_of_x509(X509_STORE_CTX_get_current_cert(xs), got)) {
			snprintf(r->tls_err, sizeof(r->tls_err), "its certificate has no usable key");
			return 1;
		}
		if (!ctl_tls_pin_equal(got, r->pin)) {
			snprintf(r->tls_err, sizeof(r->tls_err),
				 "its key pin is %s, not the configured %s (a different server, "
				 "or its key changed)", got, r->pin);
			X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
			return 1;
		}
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 0;
}

/* Established: the pin again, on the session's peer certificate (covers a
 * resumed session, where OpenSSL verifies nothing). */
static bool remote_pin_holds(struct ctl_remote *r, struct lws *wsi)
{
	SSL *ssl = r->tls && r->pin[0] ? lws_get_ssl(wsi) : NULL;
	char got[CTL_TLS_PIN_LEN + 1];

	if (!r->tls || !r->pin[0])
		return true;
	return ssl && !ctl_tls_pin_of_x509(SSL_get0_peer_certificate(ssl), got) &&
	       ctl_tls_pin_equal(got, r->pin);
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
	if (r->tls)
		i.ssl_connection = LCCSCF_USE_SSL |
				   (r->pin[0] ? LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0);
	r->tls_err[0] = '\0';
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
	if (r->c->opts.heartbeat_ms) /* else only ctl_client_poke beats */
		lws_sul_schedule(r->ctx, 0, &r->sul_beat, remote_beat,
				 (lws_usec_t)r->c->opts.heartbeat_ms * 1000);
}

/* Room for len more bytes, up to CTL_MAX_SERVER_MESSAGE (a whole party of
 * the largest size). -EMSGSIZE over that, -ENOMEM. */
static int remote_rx_room(struct ctl_remote *r, size_t len)
{
	size_t want = r->rx_len + len, cap = r->rx_cap;
	char *p;

	if (want > CTL_MAX_SERVER_MESSAGE)
		return -EMSGSIZE;
	if (want <= cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > CTL_MAX_SERVER_MESSAGE)
		cap = CTL_MAX_SERVER_MESSAGE;
	p = realloc(r->rx, cap + 1);
	if (!p)
		return -ENOMEM;
	r->rx = p;
	r->rx_cap = cap;
	return 0;
}

/* After a message: a buffer grown for a big party goes back to the usual
 * size, so an idle client does not hold megabytes. */
static void remote_rx_done(struct ctl_remote *r)
{
	char *p;

	r->rx_len = 0;
	r->rx_skip = false;
	if (r->rx_cap > CTL_MAX_MESSAGE && (p = realloc(r->rx, CTL_MAX_MESSAGE + 1))) {
		r->rx = p;
		r->rx_cap = CTL_MAX_MESSAGE;
	}
}

static int remote_receive(struct ctl_remote *r, struct lws *wsi, const void *in, size_t len)
{
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	int err;

	if (!r->rx_skip) {
		err = remote_rx_room(r, len);
		if (!err) {
			memcpy(r->rx + r->rx_len, in, len);
			r->rx_len += len;
		} else {
			log_warn(CTL_REMOTE_TAG, "control server sent a message %s; ignored",
				 err == -EMSGSIZE ? "over CTL_MAX_SERVER_MESSAGE bytes"
						  : "we have no memory for");
			r->rx_skip = true;
		}
	}
	if (!final)
		return 0;
	if (!r->rx_skip)
		ctl_client_input(r->c, r->rx, r->rx_len);
	remote_rx_done(r);
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

/* One TCP connect to ai, 1 s at most: 0 (it answers) or an errno. */
static int remote_probe(const struct addrinfo *ai)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int err = 0, n;

	pfd.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pfd.fd < 0)
		return errno;
	if (connect(pfd.fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		err = errno;
	else if ((n = poll(&pfd, 1, 1000)) == 0)
		err = ETIMEDOUT;
	else if (n < 0)
		err = errno;
	else if (getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		err = errno;
	close(pfd.fd);
	return err;
}

/* Service thread, after a failed attempt: libwebsockets says only "Unable
 * to connect", so a plain TCP connect to each address (1 s each, after a
 * lookup that is as slow as the resolver) finds what a user can act on:
 * refused, no answer, no route, or a port that answers but not as a
 * control server. The thread serves only this client, which has no
 * session while it waits. */
static void remote_diagnose(struct ctl_remote *r, const char *lws_why, char *out, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char port[8];
	int err = ENOENT, g;

	snprintf(port, sizeof(port), "%d", r->port);
	g = getaddrinfo(r->host, port, &hints, &ai);
	if (g) {
		snprintf(out, len, "cannot resolve %.100s: %s", r->host, gai_strerror(g));
		return;
	}
	for (const struct addrinfo *a = ai; a && err; a = a->ai_next)
		err = remote_probe(a); /* stops at the first that answers */
	freeaddrinfo(ai);
	if (err == ECONNREFUSED)
		snprintf(out, len, "connection refused (is lanrage-control running and listening "
			 "on that port?)");
	else if (err == ETIMEDOUT)
		snprintf(out, len, "no answer (a firewall in the way, or a wrong address?)");
	else if (err)
		snprintf(out, len, "%s", strerror(err));
	else
		snprintf(out, len, "%.60s (the port answers, but not as a control server%s)", lws_why,
			 r->tls ? " over TLS" : "");
}

/* Service thread. The network changed: true when the connection must go
 * (its local address is no longer one of the host's) or there is none
 * (remote_drop then makes the next attempt now); otherwise the heartbeat
 * goes now, so a connection whose NAT mapping changed meets the server's
 * reset at once. */
static bool remote_stranded(struct ctl_remote *r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ifaddrs *ifa = NULL;
	bool found = false;
	int fd;

	if (!r->wsi)
		return true;
	fd = lws_get_socket_fd(r->wsi);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) || getifaddrs(&ifa))
		return false;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
		const struct sockaddr *a = i->ifa_addr;

		if (!a || a->sa_family != ss.ss_family)
			continue;
		if (a->sa_family == AF_INET)
			found = !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
					&((struct sockaddr_in *)&ss)->sin_addr, sizeof(struct in_addr));
		else if (a->sa_family == AF_INET6)
			found = !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
					&((struct sockaddr_in6 *)&ss)->sin6_addr,
					sizeof(struct in6_addr));
	}
	freeifaddrs(ifa);
	if (!found)
		return true;
	lws_sul_schedule(r->ctx, 0, &r->sul_beat, remote_beat, 1);
	return false;
}

/* Service thread: closes the connection; remote_down reconnects at the
 * shortest backoff. Without one, the next attempt is now. */
static void remote_drop(struct ctl_remote *r)
{
	r->backoff_ms = r->c->opts.backoff_min_ms;
	if (!r->wsi) {
		if (!r->connecting)
			lws_sul_schedule(r->ctx, 0, &r->sul_connect, remote_connect, 1);
		return;
	}
	log_debug(CTL_REMOTE_TAG, "the network changed: connecting again");
	lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static int remote_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct ctl_remote *r = lws_context_user(lws_get_context(wsi));
	bool more;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* user is the client SSL_CTX: trust the system's CA store (and
		 * SSL_CERT_FILE / SSL_CERT_DIR when set). */
		SSL_CTX_set_default_verify_paths(user);
		return 0;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		return remote_verify(r, user, (int)len);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!remote_pin_holds(r, wsi)) {
			remote_refused(r, "its key does not match the configured pin");
			return -1;
		}
		r->logged_err[0] = '\0';
		r->wsi = wsi;
		r->rx_len = 0;
		r->rx_skip = false;
		log_debug(CTL_REMOTE_TAG, "connected to %s:%d", r->host, r->port);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (r->tls_err[0]) {
			remote_refused(r, r->tls_err);
		} else {
			char msg[sizeof(r->host) + 240], why[200];

			remote_diagnose(r, in ? (const char *)in : "?", why, sizeof(why));
			snprintf(msg, sizeof(msg), "cannot connect to %s:%d: %s", r->host, r->port, why);
			ctl_client_set_transport_error(r->c, msg);
			log_debug(CTL_REMOTE_TAG, "%s", msg);
		}
		remote_down(r);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (r->wsi && wsi != r->wsi)
			return 0; /* not the connection we hold */
		remote_down(r);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return remote_receive(r, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return remote_writeable(r, wsi);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (r && atomic_exchange(&r->kick, false) && !r->connecting)
			lws_sul_schedule(r->ctx, 0, &r->sul_connect, remote_connect, 1);
		if (r && atomic_exchange(&r->poke, false))
			lws_sul_schedule(r->ctx, 0, &r->sul_beat, remote_beat, 1);
		if (r && (atomic_exchange(&r->redial, false) ||
			  (atomic_exchange(&r->moved, false) && remote_stranded(r)))) {
			remote_drop(r);
			return 0;
		}
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

/* User thread: raises one of r's flags and wakes the service thread,
 * which acts on it in EVENT_WAIT_CANCELLED. */
static void remote_raise(struct ctl_remote *r, atomic_bool *flag)
{
	atomic_store(flag, true);
	lws_cancel_service(r->ctx);
}

/* The connection is rescheduled at once unless an attempt is under way. */
static void remote_kick(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;

	remote_raise(r, &r->kick);
}

static void remote_moved(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;

	remote_raise(r, &r->moved);
}

static void remote_redial(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;

	remote_raise(r, &r->redial);
}

static void remote_poke(struct ctl_client *c)
{
	struct ctl_remote *r = c->tr_priv;

	remote_raise(r, &r->poke);
}

static const struct ctl_transport remote_transport = {
	.send = remote_send,
	.hello = remote_hello,
	.close = remote_close,
	.kick = remote_kick,
	.redial = remote_redial,
	.moved = remote_moved,
	.poke = remote_poke,
};

/* wss://HOST[:PORT][/PATH] (ws:// when insecure); the path defaults to
 * /v1/ws. */
static int remote_parse_url(struct ctl_remote *r, const char *url, bool insecure)
{
	const char *prot, *ads, *path;
	char buf[512];
	int port;

	if (strlen(url) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, url, strlen(url) + 1);
	if (lws_parse_uri(buf, &prot, &ads, &port, &path) || !ads[0] ||
	    strlen(ads) >= sizeof(r->host) || strlen(path) + 2 > sizeof(r->path))
		return -EINVAL;
	if (!strcmp(prot, "wss")) {
		r->tls = true;
	} else if (strcmp(prot, "ws")) {
		return -EINVAL;
	} else if (!insecure) {
		log_error(CTL_REMOTE_TAG, "refusing plain %s: the token and party data would cross "
			  "the network in clear; use wss:// (or allow ws:// explicitly for a lab: "
			  "control_insecure)", url);
		return -EPROTONOSUPPORT;
	}
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
	r->rx_cap = CTL_MAX_MESSAGE;
	err = remote_parse_url(r, c->opts.url, c->opts.insecure);
	if (err == -EINVAL)
		log_error(CTL_REMOTE_TAG, "bad control server URL (want wss://HOST:PORT)");
	if (err)
		goto err;
	if (c->opts.pin && c->opts.pin[0]) {
		if (ctl_tls_pin_check(c->opts.pin)) {
			log_error(CTL_REMOTE_TAG, "bad control server pin (want sha256/BASE64)");
			err = -EINVAL;
			goto err;
		}
		snprintf(r->pin, sizeof(r->pin), "%s", c->opts.pin);
	}
	r->c = c;
	r->backoff_ms = c->opts.backoff_min_ms;
	log_lws_setup(); /* failures are reported here, once; lws's own at debug */
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = remote_protocols;
	info.user = r;
	info.timeout_secs = 10;
	info.connect_timeout_secs = 5;
	if (r->tls)
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
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
