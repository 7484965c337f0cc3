/*
 * ctl_client: the control-plane client shared by both transports
 * (control.h). Requests are synchronous: each waits on the client's
 * condition variable until the transport delivers an answer with its ID,
 * the connection is lost (-ECONNRESET) or the request timeout passes.
 * Events are queued in arrival order and handed to the subscriber by
 * ctl_client_dispatch on the caller's thread; the eventfd is readable while
 * the queue is not empty.
 *
 * A refusal maps to an errno (and ctl_client_error tells the code):
 * bad_json, bad_request -EINVAL; unknown_type -EOPNOTSUPP; too_large
 * -EMSGSIZE; rate_limited -EAGAIN; unauthorized -EACCES; bad_proof
 * -EKEYREJECTED; not_found -ENOENT; not_member -EPERM; already_member
 * -EEXIST; party_full -ENOSPC; no_address -EADDRNOTAVAIL; internal and
 * unknown codes -EIO; too_many_sessions -EUSERS. An answer that does not
 * parse is -EBADMSG.
 *
 * Answers that match no request (what ctl_client_send_raw waits for, or
 * stragglers after a timeout) are kept, oldest dropped first, up to
 * CTL_RAW_MAX of them and CTL_RAW_BYTES in all.
 *
 * A result that carries a relay_ticket (register, auth, heartbeat; asked by
 * the user or by a transport) refreshes the client's ticket.
 *
 * The token and the private key copy are wiped when replaced or freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "log/log.h"

#define CTL_TAG "control"

enum {
	CTL_RAW_MAX = 16,
	CTL_RAW_BYTES = 256 * 1024,
};

struct ctl_evnode {
	struct ctl_evnode *next;
	struct ctl_event ev;
	char *payload;
	struct ctl_party party;
	bool has_party;
};

struct ctl_rawnode {
	struct ctl_rawnode *next;
	char *text;
	size_t len;
};

static const struct {
	const char *code;
	int err;
} ctl_codes[] = {
	{ "bad_json", -EINVAL },	  { "bad_request", -EINVAL },	{ "unknown_type", -EOPNOTSUPP },
	{ "too_large", -EMSGSIZE },	  { "rate_limited", -EAGAIN },	{ "unauthorized", -EACCES },
	{ "bad_proof", -EKEYREJECTED },	  { "not_found", -ENOENT },	{ "not_member", -EPERM },
	{ "already_member", -EEXIST },	  { "party_full", -ENOSPC },	{ "no_address", -EADDRNOTAVAIL },
	{ "internal", -EIO },		  { "too_many_sessions", -EUSERS },
};

uint64_t ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Waits on c->cond (lock held) until deadline; -ETIMEDOUT once it passed. */
static int client_wait(struct ctl_client *c, uint64_t deadline)
{
	struct timespec ts;

	if (ctl_now_ns() >= deadline)
		return -ETIMEDOUT;
	ts.tv_sec = (time_t)(deadline / 1000000000ULL);
	ts.tv_nsec = (long)(deadline % 1000000000ULL);
	pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	return 0;
}

static uint64_t client_deadline(const struct ctl_client *c)
{
	return ctl_now_ns() + c->opts.request_timeout_ms * 1000000ULL;
}

/* Lock held. Appends a node and makes the eventfd readable. */
static void client_push_node(struct ctl_client *c, struct ctl_evnode *n)
{
	uint64_t one = 1;

	if (c->ev_tail)
		c->ev_tail->next = n;
	else
		c->ev_head = n;
	c->ev_tail = n;
	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(CTL_TAG, "eventfd write: %s", strerror(errno));
	pthread_cond_broadcast(&c->cond);
}

static void evnode_free(struct ctl_evnode *n)
{
	free(n->payload);
	ctl_party_clear(&n->party);
	free(n);
}

void ctl_client_push(struct ctl_client *c, enum ctl_event_kind kind)
{
	struct ctl_evnode *n = calloc(1, sizeof(*n));

	if (!n)
		return;
	n->ev.kind = kind;
	pthread_mutex_lock(&c->lock);
	client_push_node(c, n);
	pthread_mutex_unlock(&c->lock);
}

static void input_hello(struct ctl_client *c, const json_t *m)
{
	const char *ch = json_string_value(json_object_get(m, "challenge"));
	const char *sk = json_string_value(json_object_get(m, "server_key"));
	uint8_t challenge[32], key[32];

	if (!ch || !sk || ctl_b64_to_key(ch, strlen(ch), challenge) ||
	    ctl_b64_to_key(sk, strlen(sk), key)) {
		log_warn(CTL_TAG, "malformed hello from the control plane");
		return;
	}
	pthread_mutex_lock(&c->lock);
	memcpy(c->challenge, challenge, 32);
	memcpy(c->server_key, key, 32);
	c->have_hello = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->tr && c->tr->hello)
		c->tr->hello(c);
}

static void input_event(struct ctl_client *c, const json_t *m)
{
	struct ctl_evnode *n = calloc(1, sizeof(*n));
	const char *name = json_string_value(json_object_get(m, "event"));

	log_debug(CTL_TAG, "event %s", name ? name : "?");
	if (!n)
		return;
	if (ctl_event_from_json(m, &n->ev, &n->payload)) {
		log_warn(CTL_TAG, "malformed event from the control plane");
		evnode_free(n);
		return;
	}
	pthread_mutex_lock(&c->lock);
	client_push_node(c, n);
	pthread_mutex_unlock(&c->lock);
}

/* Lock held. Unlinks p when it is in the list. */
static void pending_unlink(struct ctl_client *c, struct ctl_pending *p)
{
	struct ctl_pending **pp;

	for (pp = &c->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* Lock held. */
static struct ctl_rawnode *raw_pop(struct ctl_client *c)
{
	struct ctl_rawnode *raw = c->raw_head;

	if (!raw)
		return NULL;
	c->raw_head = raw->next;
	if (!c->raw_head)
		c->raw_tail = NULL;
	c->raw_count--;
	c->raw_bytes -= raw->len;
	return raw;
}

static void raw_free(struct ctl_rawnode *raw)
{
	if (!raw)
		return;
	free(raw->text);
	free(raw);
}

/* Lock held. Keeps an unmatched answer, within the bounds. */
static void raw_push(struct ctl_client *c, const char *msg, size_t len)
{
	struct ctl_rawnode *raw;

	if (len > CTL_RAW_BYTES)
		return;
	raw = calloc(1, sizeof(*raw));
	if (!raw || !(raw->text = strndup(msg, len))) {
		free(raw);
		return;
	}
	raw->len = len;
	while (c->raw_count >= CTL_RAW_MAX || c->raw_bytes + len > CTL_RAW_BYTES)
		raw_free(raw_pop(c));
	if (c->raw_tail)
		c->raw_tail->next = raw;
	else
		c->raw_head = raw;
	c->raw_tail = raw;
	c->raw_count++;
	c->raw_bytes += len;
}

int ctl_client_take_ticket(struct ctl_client *c, const json_t *data)
{
	const char *t = json_string_value(json_object_get(data, "relay_ticket"));
	uint8_t ticket[RELAY_TICKET_LEN];

	if (!t)
		return -ENOENT;
	if (ctl_b64_to_bytes(t, strlen(t), ticket, sizeof(ticket))) {
		log_warn(CTL_TAG, "control plane sent a malformed relay ticket; ignored");
		return -EBADMSG;
	}
	pthread_mutex_lock(&c->lock);
	memcpy(c->relay_ticket, ticket, sizeof(ticket));
	c->have_ticket = true;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void input_answer(struct ctl_client *c, json_t *m, const char *msg, size_t len)
{
	const json_t *id = json_object_get(m, "id");
	struct ctl_pending *p = NULL;

	if (!strcmp(json_string_value(json_object_get(m, "type")), "result"))
		ctl_client_take_ticket(c, json_object_get(m, "data"));
	pthread_mutex_lock(&c->lock);
	if (json_is_integer(id))
		for (p = c->pending; p; p = p->next)
			if (p->id == (uint64_t)json_integer_value(id) && !p->status)
				break;
	if (p && p->internal) {
		pending_unlink(c, p);
		pthread_mutex_unlock(&c->lock);
		if (p->cb)
			p->cb(c, m);
		free(p);
		return;
	}
	if (p) {
		p->reply = json_incref(m);
		p->status = 1;
	} else {
		raw_push(c, msg, len);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void ctl_client_input(struct ctl_client *c, const char *msg, size_t len)
{
	json_t *m = json_loadb(msg, len, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));

	if (!json_is_object(m) || !type)
		log_warn(CTL_TAG, "control plane sent a message without type; ignored");
	else if (!strcmp(type, "hello"))
		input_hello(c, m);
	else if (!strcmp(type, "event"))
		input_event(c, m);
	else if (!strcmp(type, "result") || !strcmp(type, "error"))
		input_answer(c, m, msg, len);
	else
		log_debug(CTL_TAG, "ignoring a message of type %s", type);
	json_decref(m);
}

char *ctl_client_internal(struct ctl_client *c, json_t *req, ctl_internal_fn cb)
{
	struct ctl_pending *p = calloc(1, sizeof(*p));
	char *text = NULL;

	if (!p)
		goto out;
	p->internal = true;
	p->cb = cb;
	pthread_mutex_lock(&c->lock);
	p->id = ++c->next_id;
	pthread_mutex_unlock(&c->lock);
	if (json_object_set_new(req, "id", json_integer((json_int_t)p->id)) ||
	    !(text = json_dumps(req, JSON_COMPACT))) {
		free(p);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	p->next = c->pending;
	c->pending = p;
	pthread_mutex_unlock(&c->lock);
out:
	json_decref(req);
	return text;
}

void ctl_client_conn_lost(struct ctl_client *c)
{
	struct ctl_pending **pp = &c->pending, *p;
	struct ctl_evnode *n = calloc(1, sizeof(*n));

	pthread_mutex_lock(&c->lock);
	while ((p = *pp)) {
		if (p->internal) {
			*pp = p->next;
			free(p);
			continue;
		}
		if (!p->status)
			p->status = -ECONNRESET;
		pp = &p->next;
	}
	c->gen++;
	c->ready = c->have_hello = false;
	if (c->connected && n) {
		n->ev.kind = CTL_EV_DISCONNECTED;
		client_push_node(c, n);
		n = NULL;
	}
	c->connected = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(n);
}

void ctl_client_set_ready(struct ctl_client *c, bool resync, const json_t *party)
{
	struct ctl_evnode *conn = calloc(1, sizeof(*conn)), *rs = NULL;

	if (resync && (rs = calloc(1, sizeof(*rs)))) {
		rs->ev.kind = CTL_EV_RESYNC;
		if (json_is_object(party) && ctl_party_from_json(party, &rs->party) == 0) {
			rs->has_party = true;
			rs->ev.party = &rs->party;
			memcpy(rs->ev.party_id, rs->party.party_id, sizeof(rs->ev.party_id));
		}
	}
	pthread_mutex_lock(&c->lock);
	c->ready = c->connected = true;
	c->tr_err[0] = '\0';
	if (resync)
		memcpy(c->party_id, rs && rs->has_party ? rs->party.party_id : "",
		       rs && rs->has_party ? sizeof(c->party_id) : 1);
	if (conn) {
		conn->ev.kind = CTL_EV_CONNECTED;
		client_push_node(c, conn);
	}
	if (rs)
		client_push_node(c, rs);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

json_t *ctl_client_register_req(struct ctl_client *c)
{
	uint8_t pub[32], proof[32];
	char pub64[CTL_KEY_B64 + 1], proof64[CTL_KEY_B64 + 1];
	json_t *req = NULL;
	int r;

	pthread_mutex_lock(&c->lock);
	if (!c->have_key || !c->have_hello) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	crypto_x25519_public(pub, c->private_key);
	r = ctl_register_proof(proof, c->private_key, c->server_key, c->challenge);
	if (r == 0) {
		ctl_key_to_b64(pub, pub64);
		ctl_key_to_b64(proof, proof64);
		req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "register", "public_key",
				pub64, "proof", proof64, "name", c->name, "version", c->version);
	}
	pthread_mutex_unlock(&c->lock);
	return req;
}

json_t *ctl_client_auth_req(struct ctl_client *c)
{
	json_t *req = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->peer_id[0] && c->token[0])
		req = json_pack("{s:s, s:s, s:s}", "type", "auth", "peer_id", c->peer_id, "token",
				c->token);
	pthread_mutex_unlock(&c->lock);
	return req;
}

bool ctl_client_has_creds(struct ctl_client *c)
{
	bool r;

	pthread_mutex_lock(&c->lock);
	r = c->peer_id[0] && c->token[0];
	pthread_mutex_unlock(&c->lock);
	return r;
}

void ctl_client_party_id(struct ctl_client *c, char out[CTL_PARTY_ID_LEN + 1])
{
	pthread_mutex_lock(&c->lock);
	memcpy(out, c->party_id, CTL_PARTY_ID_LEN + 1);
	pthread_mutex_unlock(&c->lock);
}

int ctl_client_store_creds(struct ctl_client *c, const json_t *data, const char *token)
{
	const char *id = json_string_value(json_object_get(data, "peer_id"));

	if (!token)
		token = json_string_value(json_object_get(data, "token"));
	if (!id || strlen(id) != CTL_ID_LEN || !token || strlen(token) >= sizeof(c->token))
		return -EBADMSG;
	pthread_mutex_lock(&c->lock);
	memcpy(c->peer_id, id, CTL_ID_LEN + 1);
	if (token != c->token) {
		crypto_wipe(c->token, sizeof(c->token));
		memcpy(c->token, token, strlen(token) + 1);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int answer_error(struct ctl_client *c, const json_t *m)
{
	const char *code = json_string_value(json_object_get(m, "code"));
	const char *msg = json_string_value(json_object_get(m, "message"));
	size_t i;

	pthread_mutex_lock(&c->lock);
	snprintf(c->err_code, sizeof(c->err_code), "%s", code ? code : "internal");
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", msg ? msg : "");
	pthread_mutex_unlock(&c->lock);
	for (i = 0; code && i < sizeof(ctl_codes) / sizeof(ctl_codes[0]); i++)
		if (!strcmp(code, ctl_codes[i].code))
			return ctl_codes[i].err;
	return -EIO;
}

/* Lock held. Waits for a transport that can take requests; a connection
 * attempt that fails meanwhile ends the wait with -ENOTCONN
 * (ctl_client_transport_error says why): the caller learns "connection
 * refused" at the next attempt rather than at its timeout. */
static int client_wait_ready(struct ctl_client *c, uint64_t deadline)
{
	uint64_t fails = c->tr_fails;

	while (!c->ready) {
		if (c->tr_fails != fails)
			return -ENOTCONN;
		if (client_wait(c, deadline))
			return -ETIMEDOUT;
	}
	return 0;
}

int ctl_client_call(struct ctl_client *c, json_t *req, json_t **data)
{
	uint64_t deadline = client_deadline(c), gen;
	struct ctl_pending p = { 0 };
	char *text = NULL;
	json_t *m;
	int r;

	if (data)
		*data = NULL;
	if (!req)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	r = client_wait_ready(c, deadline);
	if (!r) {
		p.id = ++c->next_id;
		p.next = c->pending;
		c->pending = &p;
		gen = c->gen;
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		goto out;
	if (json_object_set_new(req, "id", json_integer((json_int_t)p.id)) ||
	    !(text = json_dumps(req, JSON_COMPACT)))
		r = -ENOMEM;
	else if (strlen(text) > CTL_MAX_MESSAGE) /* the server would refuse it and hang up */
		r = -EMSGSIZE;
	else
		r = c->tr->send(c, text, strlen(text), gen);
	if (text) /* may carry a token or a relay secret */
		crypto_wipe(text, strlen(text));
	pthread_mutex_lock(&c->lock);
	while (!r && !p.status)
		r = client_wait(c, deadline);
	pending_unlink(c, &p);
	pthread_mutex_unlock(&c->lock);
	if (r || p.status < 0) {
		r = r ? r : p.status;
		goto out;
	}
	m = p.reply;
	if (!strcmp(json_string_value(json_object_get(m, "type")), "error")) {
		r = answer_error(c, m);
	} else if (!json_is_object(json_object_get(m, "data"))) {
		r = -EBADMSG;
	} else if (data) {
		*data = json_incref(json_object_get(m, "data"));
	}
out:
	json_decref(p.reply);
	free(text);
	json_decref(req);
	return r;
}

void ctl_client_set_party(struct ctl_client *c, const char *party_id)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->party_id, sizeof(c->party_id), "%s", party_id);
	pthread_mutex_unlock(&c->lock);
}

void ctl_client_opts_default(struct ctl_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->request_timeout_ms = 10000;
	o->backoff_min_ms = 250;
	o->backoff_max_ms = 30000;
	o->heartbeat_ms = 25000;
}

int ctl_client_open(const struct ctl_client_opts *o, struct ctl_client **out)
{
	struct ctl_client *c;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!o->local == !o->url || !o->request_timeout_ms || !o->backoff_min_ms ||
	    o->backoff_max_ms < o->backoff_min_ms)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = *o; /* url is only read here, by the remote transport's start */
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		free(c);
		return -errno;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = o->local ? ctl_local_attach(c, o->local) : ctl_remote_start(c);
	c->opts.url = NULL;
	if (r) {
		c->tr = NULL;
		ctl_client_close(c);
		return r;
	}
	*out = c;
	return 0;
}

void ctl_client_close(struct ctl_client *c)
{
	struct ctl_evnode *n;
	struct ctl_rawnode *raw;
	struct ctl_pending *p;

	if (!c)
		return;
	if (c->tr)
		c->tr->close(c);
	while ((n = c->ev_head)) {
		c->ev_head = n->next;
		evnode_free(n);
	}
	while ((raw = raw_pop(c)))
		raw_free(raw);
	while ((p = c->pending)) {
		c->pending = p->next;
		if (p->internal)
			free(p);
	}
	crypto_wipe(c->token, sizeof(c->token));
	crypto_wipe(c->private_key, sizeof(c->private_key));
	crypto_wipe(c->relay_ticket, sizeof(c->relay_ticket));
	close(c->efd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void ctl_client_subscribe(struct ctl_client *c, ctl_event_fn fn, void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->fn = fn;
	c->fn_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

int ctl_client_event_fd(const struct ctl_client *c)
{
	return c->efd;
}

int ctl_client_dispatch(struct ctl_client *c)
{
	struct ctl_evnode *list, *n;
	ctl_event_fn fn;
	uint64_t v;
	void *arg;
	int count = 0;

	pthread_mutex_lock(&c->lock);
	list = c->ev_head;
	c->ev_head = c->ev_tail = NULL;
	if (read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn(CTL_TAG, "eventfd read: %s", strerror(errno));
	fn = c->fn;
	arg = c->fn_arg;
	pthread_mutex_unlock(&c->lock);
	while ((n = list)) {
		list = n->next;
		n->ev.payload_json = n->payload;
		if (fn)
			fn(arg, &n->ev);
		evnode_free(n);
		count++;
	}
	return count;
}

int ctl_client_wait_event(struct ctl_client *c, uint64_t timeout_ms)
{
	uint64_t deadline = ctl_now_ns() + timeout_ms * 1000000ULL;

	pthread_mutex_lock(&c->lock);
	while (!c->ev_head)
		if (client_wait(c, deadline))
			break;
	pthread_mutex_unlock(&c->lock);
	return ctl_client_dispatch(c);
}

bool ctl_client_ready(struct ctl_client *c)
{
	bool ready;

	pthread_mutex_lock(&c->lock);
	ready = c->ready;
	pthread_mutex_unlock(&c->lock);
	return ready;
}

const char *ctl_client_error(const struct ctl_client *c, const char **message)
{
	if (message)
		*message = c->err_msg;
	return c->err_code;
}

/* register and auth answer the party the server has us in (or null). */
static void client_track_party(struct ctl_client *c, const json_t *data)
{
	const json_t *party = json_object_get(data, "party");
	const char *id = json_string_value(json_object_get(party, "party_id"));

	ctl_client_set_party(c, id ? id : "");
}

int ctl_register(struct ctl_client *c, const uint8_t private_key[32], const char *name,
		 const char *version)
{
	uint64_t deadline = client_deadline(c);
	json_t *data = NULL;
	int r;

	if (!name || !version || strlen(name) > CTL_MAX_NAME || strlen(version) >= 33)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	r = client_wait_ready(c, deadline);
	while (!r && !c->have_hello)
		r = client_wait(c, deadline);
	if (!r) {
		memcpy(c->private_key, private_key, 32);
		c->have_key = true;
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->version, sizeof(c->version), "%s", version);
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		return r;
	r = ctl_client_call(c, ctl_client_register_req(c), &data);
	if (!r)
		r = ctl_client_store_creds(c, data, NULL);
	if (!r)
		client_track_party(c, data);
	json_decref(data);
	return r;
}

int ctl_auth(struct ctl_client *c, const char *peer_id, const char *token)
{
	json_t *data = NULL;
	int r;

	r = ctl_client_call(c, json_pack("{s:s, s:s, s:s}", "type", "auth", "peer_id", peer_id,
				     "token", token),
			&data);
	if (r)
		return r;
	r = ctl_client_store_creds(c, data, token);
	if (!r)
		client_track_party(c, data);
	json_decref(data);
	return r;
}

const char *ctl_client_peer_id(const struct ctl_client *c)
{
	return c->peer_id;
}

const char *ctl_client_token(const struct ctl_client *c)
{
	return c->token;
}

void ctl_client_forget_party(struct ctl_client *c)
{
	ctl_client_set_party(c, "");
}

int ctl_client_connect_now(struct ctl_client *c)
{
	uint64_t deadline = client_deadline(c), fails;
	int r;

	pthread_mutex_lock(&c->lock);
	fails = c->tr_fails; /* before the kick: its failure cannot be missed */
	if (!c->ready && c->tr->kick) {
		pthread_mutex_unlock(&c->lock);
		c->tr->kick(c);
		pthread_mutex_lock(&c->lock);
	}
	r = 0;
	while (!r && !c->ready)
		r = c->tr_fails != fails ? -ENOTCONN : client_wait(c, deadline);
	pthread_mutex_unlock(&c->lock);
	return r;
}

void ctl_client_reconnect(struct ctl_client *c)
{
	if (!c->tr->redial)
		return;
	pthread_mutex_lock(&c->lock);
	c->ready = false; /* what is asked from now on waits for the new one */
	pthread_mutex_unlock(&c->lock);
	c->tr->redial(c);
}

void ctl_client_network_changed(struct ctl_client *c)
{
	if (c->tr->moved)
		c->tr->moved(c);
}

void ctl_client_poke(struct ctl_client *c)
{
	if (c->tr->poke)
		c->tr->poke(c);
}

void ctl_client_set_transport_error(struct ctl_client *c, const char *why)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->tr_err, sizeof(c->tr_err), "%s", why);
	c->tr_fails++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void ctl_client_transport_error(struct ctl_client *c, char *out, size_t len)
{
	pthread_mutex_lock(&c->lock);
	snprintf(out, len, "%s", c->tr_err);
	pthread_mutex_unlock(&c->lock);
}

int ctl_client_relay_ticket(struct ctl_client *c, uint8_t *ticket, size_t len)
{
	int r = -ENOENT;

	if (len != RELAY_TICKET_LEN)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->have_ticket) {
		memcpy(ticket, c->relay_ticket, RELAY_TICKET_LEN);
		r = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int ctl_client_send_raw(struct ctl_client *c, const char *msg, size_t len, char **reply)
{
	uint64_t deadline = client_deadline(c), gen = 0;
	struct ctl_rawnode *raw;
	int r;

	*reply = NULL;
	pthread_mutex_lock(&c->lock);
	r = client_wait_ready(c, deadline);
	while ((raw = raw_pop(c))) /* stale answers of earlier raw sends */
		raw_free(raw);
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	if (r)
		return r;
	r = c->tr->send(c, msg, len, gen);
	pthread_mutex_lock(&c->lock);
	while (!r && !c->raw_head)
		r = client_wait(c, deadline);
	if (!r) {
		raw = raw_pop(c);
		*reply = raw->text;
		free(raw);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void ctl_party_clear(struct ctl_party *p)
{
	free(p->peers);
	p->peers = NULL;
	p->n_peers = 0;
}
