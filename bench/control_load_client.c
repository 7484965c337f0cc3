/*
 * control-load, client side: one WebSocket client of lanrage-control per
 * struct load_client, all on one lws context. Formats requests at the moment
 * lws can write them (so the send time is the write time), matches answers to
 * requests by id, and checks every event: the party it names, and for a
 * signal its addressee, sender and send time. Anything unexpected is counted
 * as a failure, never dropped silently.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_load.h"
#include "crypto/crypto.h"
#include "util/time.h"


/* ---- tallies ------------------------------------------------------------ */

static void load_lat_add(struct load_lat *l, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint32_t *p = realloc(l->us, cap * sizeof(*p));

		if (!p) {
			load.bad_messages++; /* counted as a failure: a sample was lost */
			return;
		}
		l->us = p;
		l->cap = cap;
	}
	l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void load_count_code(const char *code)
{
	int i;

	for (i = 0; i < LOAD_MAX_CODES && load.codes[i].code[0]; i++) {
		if (!strcmp(load.codes[i].code, code)) {
			load.codes[i].n++;
			return;
		}
	}
	if (i == LOAD_MAX_CODES)
		i = LOAD_MAX_CODES - 1; /* the last slot collects the rest */
	snprintf(load.codes[i].code, sizeof(load.codes[i].code), "%s", code);
	load.codes[i].n++;
}

static bool load_b64_32(const char *s, uint8_t out[32])
{
	char buf[48];

	if (!s || strlen(s) >= 64 || lws_b64_decode_string(s, buf, sizeof(buf)) != 32)
		return false;
	memcpy(out, buf, 32);
	return true;
}

/* ---- per-client request queue ------------------------------------------- */

static void load_client_dead(struct load_client *c)
{
	unsigned i;

	if (c->state == CL_DEAD)
		return;
	for (i = 0; i < c->n_pend; i++)
		load.failed[c->pend[i].op]++;
	c->n_pend = 0;
	c->q_len = 0;
	if (c->in_flight) {
		c->in_flight = false;
		load.in_flight--;
		load.conn_failed++;
	}
	c->state = CL_DEAD;
}

void load_enqueue(struct load_client *c, enum load_op op, uint32_t arg)
{
	unsigned i;

	if (c->state == CL_DEAD || !c->wsi) {
		load.skipped[op]++;
		return;
	}
	if (c->q_len == LOAD_QUEUE) {
		load.backlog++;
		load.skipped[op]++;
		return;
	}
	i = (c->q_head + c->q_len++) % LOAD_QUEUE;
	c->queue[i].op = (uint8_t)op;
	c->queue[i].arg = arg;
	lws_callback_on_writable(c->wsi);
}

bool load_take_token(struct load_client *c, uint64_t now)
{
	const double rate = 10.0, burst = 20.0;

	if (!c->tokens_ns) {
		c->tokens = burst;
	} else {
		c->tokens += (double)(now - c->tokens_ns) / 1e9 * rate;
		if (c->tokens > burst)
			c->tokens = burst;
	}
	c->tokens_ns = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}

/* Formats the request for op; returns its length, or -1 if it did not fit. */
static int load_format(struct load_client *c, uint8_t op, uint32_t arg, uint64_t id, uint64_t now,
		       char *buf, size_t size)
{
	char pub[64], proof[64];
	int n = -1;

	switch (op) {
	case OP_REGISTER:
		lws_b64_encode_string((const char *)c->pub, 32, pub, sizeof(pub));
		lws_b64_encode_string((const char *)c->proof, 32, proof, sizeof(proof));
		n = snprintf(buf, size,
			     "{\"type\":\"register\",\"id\":%" PRIu64 ",\"public_key\":\"%s\","
			     "\"proof\":\"%s\",\"name\":\"load-%u\",\"version\":\"control-load\"}",
			     id, pub, proof, c->idx);
		break;
	case OP_CREATE: {
		uint32_t size_max = (load.o.clients + load.o.parties - 1) / load.o.parties;

		if (size_max > CTL_DEFAULT_MAX_MEMBERS)
			n = snprintf(buf, size,
				     "{\"type\":\"party_create\",\"id\":%" PRIu64
				     ",\"name\":\"load party %u\",\"max_members\":%u}",
				     id, c->party, size_max);
		else
			n = snprintf(buf, size,
				     "{\"type\":\"party_create\",\"id\":%" PRIu64
				     ",\"name\":\"load party %u\"}",
				     id, c->party);
		break;
	}
	case OP_JOIN:
		n = snprintf(buf, size,
			     "{\"type\":\"party_join\",\"id\":%" PRIu64 ",\"party_id\":\"%s\"}", id,
			     load.pa[c->party].id);
		break;
	case OP_HEARTBEAT:
		n = snprintf(buf, size, "{\"type\":\"heartbeat\",\"id\":%" PRIu64 "}", id);
		break;
	case OP_SIGNAL:
		load.sig[arg].t_ns = now;
		n = snprintf(buf, size,
			     "{\"type\":\"signal\",\"id\":%" PRIu64 ",\"to\":\"%s\","
			     "\"payload\":{\"seq\":%u,\"t\":%" PRIu64 "}}",
			     id, load.cl[load.sig[arg].to].peer_id, arg, now);
		break;
	}
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* WRITEABLE: one message per callback, as lws wants. */
static int load_write(struct load_client *c)
{
	unsigned char buf[LWS_PRE + LOAD_TXBUF];
	struct load_pending *p;
	uint64_t now;
	uint8_t op;
	uint32_t arg;
	int n;

	if (!c->q_len)
		return 0;
	op = c->queue[c->q_head].op;
	arg = c->queue[c->q_head].arg;
	if (c->n_pend == LOAD_PENDING) {
		/* the server is not answering; try again later rather than drop */
		load.backlog++;
		return 0;
	}
	c->q_head = (c->q_head + 1) % LOAD_QUEUE;
	c->q_len--;
	now = time_mono_ns();
	p = &c->pend[c->n_pend];
	p->id = ++c->next_id;
	p->op = op;
	p->arg = arg;
	p->t_ns = now;
	n = load_format(c, op, arg, p->id, now, (char *)buf + LWS_PRE, LOAD_TXBUF);
	if (n < 0 || lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n) {
		load.failed[op]++;
		fprintf(stderr, "control-load: client %u: write of %s failed\n", c->idx,
			load_op_name[op]);
		return -1;
	}
	c->n_pend++;
	load.sent[op]++;
	if (c->q_len)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* ---- answers and events ------------------------------------------------- */

static bool load_take_pending(struct load_client *c, json_t *id, struct load_pending *out)
{
	unsigned i;

	if (!json_is_integer(id))
		return false;
	for (i = 0; i < c->n_pend; i++) {
		if (c->pend[i].id == (uint64_t)json_integer_value(id)) {
			*out = c->pend[i];
			c->pend[i] = c->pend[--c->n_pend];
			return true;
		}
	}
	return false;
}

/* Our own entry in a party object: its virtual IP. */
static uint32_t load_own_vip(const struct load_client *c, json_t *party)
{
	json_t *peer;
	size_t i;
	unsigned a, b, cc, d;

	json_array_foreach(json_object_get(party, "peers"), i, peer) {
		const char *id = json_string_value(json_object_get(peer, "peer_id"));
		const char *ip = json_string_value(json_object_get(peer, "virtual_ip"));

		if (id && ip && !strcmp(id, c->peer_id) &&
		    sscanf(ip, "%u.%u.%u.%u", &a, &b, &cc, &d) == 4)
			return a << 24 | b << 16 | cc << 8 | d;
	}
	return 0;
}

static void load_on_result(struct load_client *c, const struct load_pending *p, json_t *data,
			   uint64_t now)
{
	json_t *party = json_object_get(data, "party");
	json_int_t n;
	const char *s;

	switch (p->op) {
	case OP_REGISTER:
		s = json_string_value(json_object_get(data, "peer_id"));
		if (!s || strlen(s) != CTL_ID_LEN) {
			load.bad_messages++;
			load.failed[p->op]++;
			load_client_dead(c);
			return;
		}
		memcpy(c->peer_id, s, CTL_ID_LEN + 1);
		c->state = CL_REGISTERED;
		c->in_flight = false;
		load.in_flight--;
		load.registered++;
		break;
	case OP_CREATE:
		s = json_string_value(json_object_get(party, "party_id"));
		if (!s || strlen(s) > CTL_PARTY_ID_LEN) {
			load.bad_messages++;
			load.failed[p->op]++;
			return;
		}
		snprintf(load.pa[c->party].id, sizeof(load.pa[c->party].id), "%s", s);
		c->state = CL_MEMBER;
		c->vip = load_own_vip(c, party);
		break;
	case OP_JOIN:
		s = json_string_value(json_object_get(party, "party_id"));
		if (!s || strcmp(s, load.pa[c->party].id)) {
			load.wrong_party++;
			load.failed[p->op]++;
			return;
		}
		/* every member before us gets a peer_joined for us */
		n = json_integer_value(json_object_get(party, "member_count"));
		if (n < 2 || n > CTL_LIMIT_MAX_MEMBERS) {
			load.bad_messages++;
			load.failed[p->op]++;
			return;
		}
		load.joined_expected += (uint64_t)n - 1;
		c->state = CL_MEMBER;
		c->vip = load_own_vip(c, party);
		break;
	case OP_SIGNAL:
		load.sig[p->arg].answered = true;
		break;
	}
	load.ok[p->op]++;
	load_lat_add(&load.lat[p->op], now - p->t_ns);
}

static void load_on_signal(struct load_client *c, json_t *m, uint64_t now)
{
	json_t *payload = json_object_get(m, "payload");
	json_t *seq = json_object_get(payload, "seq"), *t = json_object_get(payload, "t");
	const char *from = json_string_value(json_object_get(m, "from"));
	struct load_signal *sg;

	if (!json_is_integer(seq) || !json_is_integer(t) ||
	    json_integer_value(seq) < 0 || json_integer_value(seq) >= load.sig_cursor) {
		load.bad_messages++;
		return;
	}
	sg = &load.sig[json_integer_value(seq)];
	if (sg->to != c->idx || !from || strcmp(from, load.cl[sg->from].peer_id) ||
	    (uint64_t)json_integer_value(t) != sg->t_ns) {
		load.sig_wrong_client++;
		return;
	}
	if (sg->delivered) {
		load.sig_duplicate++;
		return;
	}
	sg->delivered = true;
	load.sig_delivered++;
	load_lat_add(&load.deliver_lat, now - (uint64_t)json_integer_value(t));
}

static void load_on_event(struct load_client *c, json_t *m, uint64_t now)
{
	const char *ev = json_string_value(json_object_get(m, "event"));
	const char *party = json_string_value(json_object_get(m, "party_id"));

	if (!ev || !party) {
		load.bad_messages++;
		return;
	}
	if (c->state != CL_MEMBER || strcmp(party, load.pa[c->party].id)) {
		load.wrong_party++;
		return;
	}
	if (!strcmp(ev, "peer_joined"))
		load.joined_received++;
	else if (!strcmp(ev, "signal"))
		load_on_signal(c, m, now);
	else
		load.unexpected_events++; /* nobody leaves, times out or updates here */
}

static void load_on_hello(struct load_client *c, json_t *m, uint64_t now)
{
	uint8_t server_key[32], challenge[32];

	if (c->state != CL_CONNECTING ||
	    !load_b64_32(json_string_value(json_object_get(m, "server_key")), server_key) ||
	    !load_b64_32(json_string_value(json_object_get(m, "challenge")), challenge) ||
	    ctl_register_proof(c->proof, c->priv, server_key, challenge)) {
		load.bad_messages++;
		load_client_dead(c);
		return;
	}
	c->state = CL_OPEN;
	load_lat_add(&load.hello_lat, now - c->t_connect);
	load_enqueue(c, OP_REGISTER, 0);
}

static void load_on_message(struct load_client *c, const char *text, size_t len)
{
	uint64_t now = time_mono_ns();
	json_t *m = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));
	struct load_pending p;

	if (!type) {
		load.bad_messages++;
	} else if (!strcmp(type, "hello")) {
		load_on_hello(c, m, now);
	} else if (!strcmp(type, "event")) {
		load_on_event(c, m, now);
	} else if (!strcmp(type, "result") || !strcmp(type, "error")) {
		if (!load_take_pending(c, json_object_get(m, "id"), &p)) {
			load.bad_messages++;
		} else if (!strcmp(type, "result")) {
			load_on_result(c, &p, json_object_get(m, "data"), now);
		} else {
			const char *code = json_string_value(json_object_get(m, "code"));

			load.failed[p.op]++;
			load_count_code(code ? code : "(none)");
			if (p.op == OP_REGISTER)
				load_client_dead(c);
		}
	} else {
		load.bad_messages++;
	}
	json_decref(m);
	/* a full pending table may have held back a queued request */
	if (c->q_len && c->wsi && c->state != CL_DEAD)
		lws_callback_on_writable(c->wsi);
}

/* Reassembles a message that lws hands over in pieces. */
static void load_receive(struct lws *wsi, struct load_client *c, const char *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	char *p;

	if (last && !c->rx) {
		load_on_message(c, in, len);
		return;
	}
	if (c->rx_len + len > LOAD_MAX_RX) {
		load.bad_messages++;
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		return;
	}
	p = realloc(c->rx, c->rx_len + len + 1);
	if (!p) {
		load.bad_messages++;
		return;
	}
	memcpy(p + c->rx_len, in, len);
	c->rx = p;
	c->rx_len += len;
	if (last) {
		load_on_message(c, c->rx, c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
}

static int load_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct load_client *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;

	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c->state != CL_DEAD)
			fprintf(stderr, "control-load: client %u: connection failed: %s\n", c->idx,
				in ? (const char *)in : "?");
		c->wsi = NULL;
		load_client_dead(c);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c->state != CL_DEAD)
			load_receive(wsi, c, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->state != CL_DEAD)
			return load_write(c);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!load.closing && c->state != CL_DEAD) {
			load.closed_unexpectedly++;
			if (load.closed_unexpectedly <= 5)
				fprintf(stderr, "control-load: client %u: closed by the server\n",
					c->idx);
		}
		c->wsi = NULL;
		load_client_dead(c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		c->wsi = NULL;
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		break;
	default:
		break;
	}
	return 0;
}

const struct lws_protocols load_protocols[] = {
	{ "lanrage-control-load", load_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- connections --------------------------------------------------------- */

void load_connect(struct load_client *c)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = load.ctx;
	ci.address = load.o.host;
	ci.port = load.o.port;
	ci.path = "/v1/ws";
	ci.host = load.o.host;
	ci.origin = load.o.host;
	ci.protocol = NULL; /* no subprotocol: the server's default one */
	ci.local_protocol_name = load_protocols[0].name;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	crypto_x25519_generate(c->priv, c->pub);
	c->state = CL_CONNECTING;
	c->in_flight = true;
	c->t_connect = time_mono_ns();
	load.in_flight++;
	if (!lws_client_connect_via_info(&ci)) {
		c->wsi = NULL;
		load_client_dead(c);
	}
}
