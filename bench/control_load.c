/*
 * control-load: a load generator for lanrage-control (bench/control-load).
 *
 * One process, one libwebsockets context, thousands of WebSocket clients
 * speaking docs/CONTROL.md. Phases, each ended by its own completion (or a
 * timeout, which is a failure):
 *   connect   open N connections, at most --connect-window under way at once;
 *             each registers (X25519 proof) as soon as its hello arrives
 *   create    the first P clients create one party each (--join-rate per s)
 *   join      every other client joins party (index mod P), same pacing
 *   settle    wait for the peer_joined events the joins announced
 *   run       every client heartbeats every --heartbeat s (spread evenly) for
 *             --duration s while --signals signals, evenly spaced, go from a
 *             random member to another member of the same party
 *   drain     wait for outstanding answers and signals
 * Requests are paced on an open-loop schedule (a slow answer does not delay
 * the next request), so latencies include queueing at the server.
 *
 * Latency is measured from the moment a request is handed to lws_write()
 * until its answer (or the addressee's signal event) has been parsed, all in
 * this process on one monotonic clock. This process shares the machine with
 * the server, so its own scheduling is part of every figure.
 *
 * Invariants: a client has at most LOAD_QUEUE requests waiting to be written
 * and LOAD_PENDING waiting for an answer; overflowing either is a failure,
 * never a silent drop. Every signal carries its sequence number and send time,
 * and is checked against the addressee it was sent to.
 *
 * Output: progress on stderr; results as key=value lines on stdout (the bash
 * wrapper turns them into a table). Exit 0 only when every connection,
 * request, event and signal went as the protocol says.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "control/control.h" /* ID lengths; includes ctl_core.h */
#include "crypto/crypto.h"
#include "util/time.h"

enum {
	LOAD_QUEUE = 16,        /* ops waiting to be written, per client */
	LOAD_PENDING = 16,      /* requests written and not yet answered, per client */
	LOAD_TICK_MS = 1,       /* scheduler period */
	LOAD_TXBUF = 512,       /* largest request we send */
	LOAD_MAX_CODES = 16,    /* distinct error codes tallied */
	LOAD_MAX_RX = 1 << 20,  /* party answers grow ~400 bytes per member */
};

enum load_op { OP_REGISTER, OP_CREATE, OP_JOIN, OP_HEARTBEAT, OP_SIGNAL, OP_COUNT };
static const char *const load_op_name[OP_COUNT] = {
	"register", "create", "join", "heartbeat", "signal",
};

enum load_phase { PH_CONNECT, PH_CREATE, PH_JOIN, PH_SETTLE, PH_RUN, PH_DRAIN, PH_DONE };
static const char *const load_phase_name[] = {
	"connect", "create", "join", "settle", "run", "drain", "done",
};

enum load_state { CL_IDLE, CL_CONNECTING, CL_OPEN, CL_REGISTERED, CL_MEMBER, CL_DEAD };

struct load_pending {
	uint64_t id, t_ns;
	uint32_t arg;
	uint8_t op;
};

struct load_client {
	struct lws *wsi;
	uint32_t idx, party;
	uint8_t state;
	bool in_flight;          /* counted in g.in_flight (connect phase) */
	uint8_t priv[32], pub[32], proof[32];
	char peer_id[CTL_ID_LEN + 1];
	uint32_t vip;            /* virtual IP, host order; 0 unknown */
	uint64_t next_id, t_connect;
	struct { uint8_t op; uint32_t arg; } queue[LOAD_QUEUE];
	unsigned q_head, q_len;
	struct load_pending pend[LOAD_PENDING];
	unsigned n_pend;
	char *rx;                /* fragments of a message split over callbacks */
	size_t rx_len;
	double tokens;           /* our side of the server's rate limit */
	uint64_t tokens_ns;
};

struct load_party {
	char id[CTL_PARTY_ID_LEN + 1];
	uint32_t *members, n_members;
};

struct load_signal {
	uint32_t from, to;
	uint64_t t_ns;
	bool answered, delivered;
};

/* Latency samples in microseconds. */
struct load_lat {
	uint32_t *us;
	size_t n, cap;
};

struct load_proc {
	uint64_t cpu_ticks, rss_kib, hwm_kib;
	bool ok;
};

struct load_phase_mark {
	uint64_t t_ns, self_cpu_ns;
	struct load_proc srv;
};

struct load_opts {
	const char *host;
	int port;
	uint32_t clients, parties, signals, connect_window;
	double heartbeat_s, duration_s, join_rate;
	int server_pid;
};

static struct {
	struct load_opts o;
	struct lws_context *ctx;
	uv_loop_t loop;
	uv_timer_t timer;
	bool loop_ok, timer_ok;
	struct load_client *cl;
	struct load_party *pa;
	struct load_signal *sig;
	enum load_phase phase;
	uint64_t phase_start, phase_deadline;
	struct load_phase_mark marks[PH_DONE + 1];
	bool closing, interrupted, aborted;
	/* connect phase */
	uint32_t started, in_flight, conn_failed, registered;
	/* paced phases */
	uint32_t cursor, answered;
	uint64_t hb_cursor, hb_end;
	uint32_t sig_slot, sig_cursor;   /* signal slots passed, signals sent */
	/* per op */
	uint64_t sent[OP_COUNT], ok[OP_COUNT], failed[OP_COUNT], skipped[OP_COUNT];
	struct load_lat lat[OP_COUNT];
	struct load_lat hello_lat, deliver_lat;
	/* events and checks */
	uint64_t joined_expected, joined_received, wrong_party, unexpected_events;
	uint64_t sig_delivered, sig_wrong_client, sig_duplicate, sig_skipped;
	uint64_t closed_unexpectedly, backlog, bad_messages, vip_dups, unanswered;
	struct { char code[24]; uint64_t n; } codes[LOAD_MAX_CODES];
	uint32_t rng;
} g;

/* ---- small helpers ------------------------------------------------------- */

static uint64_t load_self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * TIME_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* utime+stime from /proc/PID/stat, VmRSS and VmHWM from /proc/PID/status. */
static void load_proc_read(int pid, struct load_proc *p)
{
	char path[64], line[512];
	unsigned long long ut = 0, st = 0;
	FILE *f;
	char *s;

	memset(p, 0, sizeof(*p));
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	s = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* after "comm)": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!s || sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return;
	p->cpu_ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			p->rss_kib = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			p->hwm_kib = v;
	}
	fclose(f);
	p->ok = true;
}

static void load_lat_add(struct load_lat *l, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint32_t *p = realloc(l->us, cap * sizeof(*p));

		if (!p) {
			g.bad_messages++; /* counted as a failure: a sample was lost */
			return;
		}
		l->us = p;
		l->cap = cap;
	}
	l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int load_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in milliseconds of sorted samples; l->n > 0. */
static double load_lat_pct(const struct load_lat *l, unsigned pct)
{
	size_t rank = (pct * l->n + 99) / 100;

	return l->us[rank ? rank - 1 : 0] / 1000.0;
}

static uint32_t load_rand(uint32_t bound)
{
	/* xorshift32: reproducible and cheap; this is load, not crypto */
	g.rng ^= g.rng << 13;
	g.rng ^= g.rng >> 17;
	g.rng ^= g.rng << 5;
	return (uint32_t)(((uint64_t)g.rng * bound) >> 32);
}

static void load_count_code(const char *code)
{
	int i;

	for (i = 0; i < LOAD_MAX_CODES && g.codes[i].code[0]; i++) {
		if (!strcmp(g.codes[i].code, code)) {
			g.codes[i].n++;
			return;
		}
	}
	if (i == LOAD_MAX_CODES)
		i = LOAD_MAX_CODES - 1; /* the last slot collects the rest */
	snprintf(g.codes[i].code, sizeof(g.codes[i].code), "%s", code);
	g.codes[i].n++;
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
		g.failed[c->pend[i].op]++;
	c->n_pend = 0;
	c->q_len = 0;
	if (c->in_flight) {
		c->in_flight = false;
		g.in_flight--;
		g.conn_failed++;
	}
	c->state = CL_DEAD;
}

static void load_enqueue(struct load_client *c, enum load_op op, uint32_t arg)
{
	unsigned i;

	if (c->state == CL_DEAD || !c->wsi) {
		g.skipped[op]++;
		return;
	}
	if (c->q_len == LOAD_QUEUE) {
		g.backlog++;
		g.skipped[op]++;
		return;
	}
	i = (c->q_head + c->q_len++) % LOAD_QUEUE;
	c->queue[i].op = (uint8_t)op;
	c->queue[i].arg = arg;
	lws_callback_on_writable(c->wsi);
}

/* Our copy of the server's token bucket, at half its rate so that we never
 * trip it: a sender without a token is not picked. */
static bool load_take_token(struct load_client *c, uint64_t now)
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
		uint32_t size_max = (g.o.clients + g.o.parties - 1) / g.o.parties;

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
			     g.pa[c->party].id);
		break;
	case OP_HEARTBEAT:
		n = snprintf(buf, size, "{\"type\":\"heartbeat\",\"id\":%" PRIu64 "}", id);
		break;
	case OP_SIGNAL:
		g.sig[arg].t_ns = now;
		n = snprintf(buf, size,
			     "{\"type\":\"signal\",\"id\":%" PRIu64 ",\"to\":\"%s\","
			     "\"payload\":{\"seq\":%u,\"t\":%" PRIu64 "}}",
			     id, g.cl[g.sig[arg].to].peer_id, arg, now);
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
		g.backlog++;
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
		g.failed[op]++;
		fprintf(stderr, "control-load: client %u: write of %s failed\n", c->idx,
			load_op_name[op]);
		return -1;
	}
	c->n_pend++;
	g.sent[op]++;
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
			g.bad_messages++;
			g.failed[p->op]++;
			load_client_dead(c);
			return;
		}
		memcpy(c->peer_id, s, CTL_ID_LEN + 1);
		c->state = CL_REGISTERED;
		c->in_flight = false;
		g.in_flight--;
		g.registered++;
		break;
	case OP_CREATE:
		s = json_string_value(json_object_get(party, "party_id"));
		if (!s || strlen(s) > CTL_PARTY_ID_LEN) {
			g.bad_messages++;
			g.failed[p->op]++;
			return;
		}
		snprintf(g.pa[c->party].id, sizeof(g.pa[c->party].id), "%s", s);
		c->state = CL_MEMBER;
		c->vip = load_own_vip(c, party);
		break;
	case OP_JOIN:
		s = json_string_value(json_object_get(party, "party_id"));
		if (!s || strcmp(s, g.pa[c->party].id)) {
			g.wrong_party++;
			g.failed[p->op]++;
			return;
		}
		/* every member before us gets a peer_joined for us */
		n = json_integer_value(json_object_get(party, "member_count"));
		if (n < 2 || n > CTL_LIMIT_MAX_MEMBERS) {
			g.bad_messages++;
			g.failed[p->op]++;
			return;
		}
		g.joined_expected += (uint64_t)n - 1;
		c->state = CL_MEMBER;
		c->vip = load_own_vip(c, party);
		break;
	case OP_SIGNAL:
		g.sig[p->arg].answered = true;
		break;
	}
	g.ok[p->op]++;
	load_lat_add(&g.lat[p->op], now - p->t_ns);
}

static void load_on_signal(struct load_client *c, json_t *m, uint64_t now)
{
	json_t *payload = json_object_get(m, "payload");
	json_t *seq = json_object_get(payload, "seq"), *t = json_object_get(payload, "t");
	const char *from = json_string_value(json_object_get(m, "from"));
	struct load_signal *sg;

	if (!json_is_integer(seq) || !json_is_integer(t) ||
	    json_integer_value(seq) < 0 || json_integer_value(seq) >= g.sig_cursor) {
		g.bad_messages++;
		return;
	}
	sg = &g.sig[json_integer_value(seq)];
	if (sg->to != c->idx || !from || strcmp(from, g.cl[sg->from].peer_id) ||
	    (uint64_t)json_integer_value(t) != sg->t_ns) {
		g.sig_wrong_client++;
		return;
	}
	if (sg->delivered) {
		g.sig_duplicate++;
		return;
	}
	sg->delivered = true;
	g.sig_delivered++;
	load_lat_add(&g.deliver_lat, now - (uint64_t)json_integer_value(t));
}

static void load_on_event(struct load_client *c, json_t *m, uint64_t now)
{
	const char *ev = json_string_value(json_object_get(m, "event"));
	const char *party = json_string_value(json_object_get(m, "party_id"));

	if (!ev || !party) {
		g.bad_messages++;
		return;
	}
	if (c->state != CL_MEMBER || strcmp(party, g.pa[c->party].id)) {
		g.wrong_party++;
		return;
	}
	if (!strcmp(ev, "peer_joined"))
		g.joined_received++;
	else if (!strcmp(ev, "signal"))
		load_on_signal(c, m, now);
	else
		g.unexpected_events++; /* nobody leaves, times out or updates here */
}

static void load_on_hello(struct load_client *c, json_t *m, uint64_t now)
{
	uint8_t server_key[32], challenge[32];

	if (c->state != CL_CONNECTING ||
	    !load_b64_32(json_string_value(json_object_get(m, "server_key")), server_key) ||
	    !load_b64_32(json_string_value(json_object_get(m, "challenge")), challenge) ||
	    ctl_register_proof(c->proof, c->priv, server_key, challenge)) {
		g.bad_messages++;
		load_client_dead(c);
		return;
	}
	c->state = CL_OPEN;
	load_lat_add(&g.hello_lat, now - c->t_connect);
	load_enqueue(c, OP_REGISTER, 0);
}

static void load_on_message(struct load_client *c, const char *text, size_t len)
{
	uint64_t now = time_mono_ns();
	json_t *m = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));
	struct load_pending p;

	if (!type) {
		g.bad_messages++;
	} else if (!strcmp(type, "hello")) {
		load_on_hello(c, m, now);
	} else if (!strcmp(type, "event")) {
		load_on_event(c, m, now);
	} else if (!strcmp(type, "result") || !strcmp(type, "error")) {
		if (!load_take_pending(c, json_object_get(m, "id"), &p)) {
			g.bad_messages++;
		} else if (!strcmp(type, "result")) {
			load_on_result(c, &p, json_object_get(m, "data"), now);
		} else {
			const char *code = json_string_value(json_object_get(m, "code"));

			g.failed[p.op]++;
			load_count_code(code ? code : "(none)");
			if (p.op == OP_REGISTER)
				load_client_dead(c);
		}
	} else {
		g.bad_messages++;
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
		g.bad_messages++;
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		return;
	}
	p = realloc(c->rx, c->rx_len + len + 1);
	if (!p) {
		g.bad_messages++;
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
		if (!g.closing && c->state != CL_DEAD) {
			g.closed_unexpectedly++;
			if (g.closed_unexpectedly <= 5)
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

static const struct lws_protocols load_protocols[] = {
	{ "lanrage-control-load", load_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- phases --------------------------------------------------------------- */

static void load_connect(struct load_client *c)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = g.ctx;
	ci.address = g.o.host;
	ci.port = g.o.port;
	ci.path = "/v1/ws";
	ci.host = g.o.host;
	ci.origin = g.o.host;
	ci.protocol = NULL; /* no subprotocol: the server's default one */
	ci.local_protocol_name = load_protocols[0].name;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	crypto_x25519_generate(c->priv, c->pub);
	c->state = CL_CONNECTING;
	c->in_flight = true;
	c->t_connect = time_mono_ns();
	g.in_flight++;
	if (!lws_client_connect_via_info(&ci)) {
		c->wsi = NULL;
		load_client_dead(c);
	}
}

static void load_mark(enum load_phase ph, uint64_t now)
{
	g.marks[ph].t_ns = now;
	g.marks[ph].self_cpu_ns = load_self_cpu_ns();
	load_proc_read(g.o.server_pid, &g.marks[ph].srv);
}

static void load_enter(enum load_phase ph, uint64_t now, double timeout_s)
{
	fprintf(stderr, "control-load: %s done after %.1f s; %s\n", load_phase_name[g.phase],
		(double)(now - g.phase_start) / 1e9, load_phase_name[ph]);
	g.phase = ph;
	g.phase_start = now;
	g.phase_deadline = now + (uint64_t)(timeout_s * 1e9);
	g.cursor = 0;
	g.answered = 0;
	load_mark(ph, now);
}

static bool load_timed_out(uint64_t now, const char *what)
{
	if (now < g.phase_deadline)
		return false;
	fprintf(stderr, "control-load: %s phase timed out: %s\n", load_phase_name[g.phase], what);
	g.aborted = true;
	load_enter(PH_DONE, now, 0);
	return true;
}

/* Open-loop pacing: how many of the phase's requests are due by now. */
static uint32_t load_due(uint64_t now, uint32_t total)
{
	double due = (double)(now - g.phase_start) / 1e9 * g.o.join_rate + 1;

	return due >= total ? total : (uint32_t)due;
}

static void load_build_members(void)
{
	uint32_t i;

	for (i = 0; i < g.o.clients; i++) {
		struct load_party *pa = &g.pa[g.cl[i].party];

		if (g.cl[i].state == CL_MEMBER)
			pa->members[pa->n_members++] = i;
	}
}

/* IPAM must never give two members of a party the same address. */
static void load_check_vips(void)
{
	uint32_t p, i, *ips = calloc(g.o.clients, sizeof(*ips));

	if (!ips) {
		g.bad_messages++;
		return;
	}
	for (p = 0; p < g.o.parties; p++) {
		uint32_t n = 0;

		for (i = 0; i < g.pa[p].n_members; i++)
			if (g.cl[g.pa[p].members[i]].vip)
				ips[n++] = g.cl[g.pa[p].members[i]].vip;
		qsort(ips, n, sizeof(*ips), load_u32_cmp);
		for (i = 1; i < n; i++)
			g.vip_dups += ips[i] == ips[i - 1];
	}
	free(ips);
}

static void load_send_signal(uint64_t now)
{
	int tries;

	for (tries = 0; tries < 16; tries++) {
		struct load_party *pa = &g.pa[load_rand(g.o.parties)];
		uint32_t a, b;

		if (pa->n_members < 2)
			continue;
		a = load_rand(pa->n_members);
		b = load_rand(pa->n_members - 1);
		b += b >= a;
		if (!load_take_token(&g.cl[pa->members[a]], now))
			continue;
		g.sig[g.sig_cursor].from = pa->members[a];
		g.sig[g.sig_cursor].to = pa->members[b];
		load_enqueue(&g.cl[pa->members[a]], OP_SIGNAL, g.sig_cursor);
		g.sig_cursor++;
		return;
	}
	g.sig_skipped++;
}

static void load_run(uint64_t now)
{
	uint64_t run_ns = (uint64_t)(g.o.duration_s * 1e9);
	uint64_t hb_ns = (uint64_t)(g.o.heartbeat_s * 1e9);

	/* heartbeat k goes to client k mod N at k * H / N: every client every H */
	while (g.hb_cursor < g.hb_end &&
	       g.phase_start + g.hb_cursor * hb_ns / g.o.clients <= now) {
		struct load_client *c = &g.cl[g.hb_cursor++ % g.o.clients];

		if (c->state == CL_MEMBER && load_take_token(c, now))
			load_enqueue(c, OP_HEARTBEAT, 0);
		else
			g.skipped[OP_HEARTBEAT]++;
	}
	while (g.sig_slot < g.o.signals &&
	       g.phase_start + (uint64_t)g.sig_slot * run_ns / g.o.signals <= now) {
		g.sig_slot++;
		load_send_signal(now);
	}
	if (now >= g.phase_start + run_ns)
		load_enter(PH_DRAIN, now, 10);
}

static bool load_idle(void)
{
	uint32_t i;

	for (i = 0; i < g.o.clients; i++)
		if (g.cl[i].n_pend || g.cl[i].q_len)
			return false;
	return true;
}

static void load_tick(uv_timer_t *timer)
{
	uint64_t now = time_mono_ns();
	uint32_t due;

	switch (g.phase) {
	case PH_CONNECT:
		while (g.started < g.o.clients && g.in_flight < g.o.connect_window)
			load_connect(&g.cl[g.started++]);
		if (g.registered + g.conn_failed == g.o.clients)
			load_enter(PH_CREATE, now, 60);
		else
			load_timed_out(now, "connections or registrations unanswered");
		break;
	case PH_CREATE:
		due = load_due(now, g.o.parties);
		for (; g.cursor < due; g.cursor++)
			load_enqueue(&g.cl[g.cursor], OP_CREATE, 0);
		if (g.cursor == g.o.parties && load_idle())
			load_enter(PH_JOIN, now, 60);
		else
			load_timed_out(now, "party_create unanswered");
		break;
	case PH_JOIN:
		due = load_due(now, g.o.clients - g.o.parties);
		for (; g.cursor < due; g.cursor++) {
			struct load_client *c = &g.cl[g.o.parties + g.cursor];

			if (g.pa[c->party].id[0])
				load_enqueue(c, OP_JOIN, 0);
			else
				g.skipped[OP_JOIN]++;
		}
		if (g.cursor == g.o.clients - g.o.parties && load_idle())
			load_enter(PH_SETTLE, now, 10);
		else
			load_timed_out(now, "party_join unanswered");
		break;
	case PH_SETTLE:
		if (g.joined_received >= g.joined_expected || now >= g.phase_deadline) {
			load_build_members();
			load_check_vips();
			load_enter(PH_RUN, now, g.o.duration_s + 10);
			g.hb_end = (uint64_t)(g.o.duration_s / g.o.heartbeat_s * g.o.clients);
		}
		break;
	case PH_RUN:
		load_run(now);
		break;
	case PH_DRAIN:
		if ((load_idle() && g.sig_delivered >= g.ok[OP_SIGNAL]) || now >= g.phase_deadline)
			load_enter(PH_DONE, now, 0);
		break;
	case PH_DONE:
		break;
	}
	if (g.interrupted && g.phase != PH_DONE) {
		fprintf(stderr, "control-load: interrupted in the %s phase\n",
			load_phase_name[g.phase]);
		g.aborted = true;
		load_enter(PH_DONE, now, 0);
	}
	if (g.phase == PH_DONE)
		uv_stop(&g.loop);
}

/* ---- report --------------------------------------------------------------- */

static void load_print_lat(const char *key, struct load_lat *l)
{
	printf("%s.n=%zu\n", key, l->n);
	if (!l->n)
		return;
	qsort(l->us, l->n, sizeof(*l->us), load_u32_cmp);
	printf("%s.p50_ms=%.3f\n%s.p99_ms=%.3f\n%s.max_ms=%.3f\n", key, load_lat_pct(l, 50), key,
	       load_lat_pct(l, 99), key, load_lat_pct(l, 100));
}

static void load_print_phase(enum load_phase ph, enum load_phase next)
{
	const struct load_phase_mark *a = &g.marks[ph], *b = &g.marks[next];
	double wall = (double)(b->t_ns - a->t_ns) / 1e9;
	const char *name = load_phase_name[ph];

	if (!a->t_ns || !b->t_ns || wall <= 0)
		return;
	printf("phase.%s.seconds=%.2f\n", name, wall);
	printf("phase.%s.gen_cpu_pct=%.1f\n", name,
	       (double)(b->self_cpu_ns - a->self_cpu_ns) / 1e9 / wall * 100);
	if (a->srv.ok && b->srv.ok) {
		printf("phase.%s.server_cpu_pct=%.1f\n", name,
		       (double)(b->srv.cpu_ticks - a->srv.cpu_ticks) / (double)sysconf(_SC_CLK_TCK) /
			       wall * 100);
		printf("phase.%s.server_rss_kib=%" PRIu64 "\n", name, b->srv.rss_kib);
	}
}

static uint64_t load_failures(void)
{
	uint64_t f = g.conn_failed + g.closed_unexpectedly + g.backlog + g.bad_messages +
		     g.wrong_party + g.unexpected_events + g.sig_wrong_client + g.sig_duplicate +
		     g.sig_skipped + g.vip_dups + (g.ok[OP_SIGNAL] - g.sig_delivered) +
		     (g.joined_expected - (g.joined_received < g.joined_expected ?
						   g.joined_received : g.joined_expected));
	int op;

	for (op = 0; op < OP_COUNT; op++)
		f += g.failed[op] + g.skipped[op];
	return f + g.unanswered + g.aborted;
}

static void load_report(void)
{
	uint64_t fails;
	uint32_t c;
	int op, i;

	for (c = 0; c < g.o.clients; c++)
		g.unanswered += g.cl[c].n_pend + g.cl[c].q_len;
	fails = load_failures();

	printf("clients=%u\nparties=%u\nheartbeat_s=%g\nduration_s=%g\nsignals_planned=%u\n"
	       "join_rate=%g\nconnect_window=%u\n",
	       g.o.clients, g.o.parties, g.o.heartbeat_s, g.o.duration_s, g.o.signals,
	       g.o.join_rate, g.o.connect_window);
	printf("connect.started=%u\nconnect.failed=%u\nconnect.closed_unexpectedly=%" PRIu64 "\n",
	       g.started, g.conn_failed, g.closed_unexpectedly);
	load_print_lat("connect.hello", &g.hello_lat);
	for (op = 0; op < OP_COUNT; op++) {
		const char *k = load_op_name[op];

		printf("%s.sent=%" PRIu64 "\n%s.ok=%" PRIu64 "\n%s.failed=%" PRIu64
		       "\n%s.skipped=%" PRIu64 "\n",
		       k, g.sent[op], k, g.ok[op], k, g.failed[op], k, g.skipped[op]);
		load_print_lat(k, &g.lat[op]);
	}
	printf("events.peer_joined.expected=%" PRIu64 "\nevents.peer_joined.received=%" PRIu64
	       "\nevents.wrong_party=%" PRIu64 "\nevents.unexpected=%" PRIu64 "\n",
	       g.joined_expected, g.joined_received, g.wrong_party, g.unexpected_events);
	printf("signal.delivered=%" PRIu64 "\nsignal.lost=%" PRIu64 "\nsignal.wrong_client=%" PRIu64
	       "\nsignal.duplicate=%" PRIu64 "\nsignal.not_sent=%" PRIu64 "\n",
	       g.sig_delivered, g.ok[OP_SIGNAL] - g.sig_delivered, g.sig_wrong_client,
	       g.sig_duplicate, g.sig_skipped);
	load_print_lat("signal.delivery", &g.deliver_lat);
	printf("ipam.duplicate_addresses=%" PRIu64 "\nbad_messages=%" PRIu64
	       "\nbacklog=%" PRIu64 "\nunanswered=%" PRIu64 "\n",
	       g.vip_dups, g.bad_messages, g.backlog, g.unanswered);
	for (i = 0; i < LOAD_MAX_CODES && g.codes[i].code[0]; i++)
		printf("error_code.%s=%" PRIu64 "\n", g.codes[i].code, g.codes[i].n);
	load_print_phase(PH_CONNECT, PH_CREATE);
	load_print_phase(PH_CREATE, PH_JOIN);
	load_print_phase(PH_JOIN, PH_SETTLE);
	load_print_phase(PH_RUN, PH_DRAIN);
	printf("aborted=%d\nfailures=%" PRIu64 "\nstatus=%s\n", g.aborted, fails,
	       fails ? "FAIL" : "ok");
}

/* ---- setup ---------------------------------------------------------------- */

static void load_usage(FILE *f)
{
	fprintf(f,
		"Usage: control-load --port PORT [options]\n"
		"  --host ADDR           server address (127.0.0.1)\n"
		"  --port PORT           server port (required)\n"
		"  --clients N           WebSocket clients (5000)\n"
		"  --parties P           parties, P <= N/2 (500)\n"
		"  --heartbeat S         seconds between a client's heartbeats (5)\n"
		"  --duration S          length of the heartbeat and signal phase (30)\n"
		"  --signals N           signals spread over that phase (5000)\n"
		"  --join-rate R         party_create and party_join requests per second (500)\n"
		"  --connect-window W    connections being set up at once (200)\n"
		"  --server-pid PID      sample this process's CPU and RSS per phase\n");
}

static int load_parse(int argc, char **argv, struct load_opts *o)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, 'n' },
		{ "parties", required_argument, NULL, 'P' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "duration", required_argument, NULL, 'd' },
		{ "signals", required_argument, NULL, 's' },
		{ "join-rate", required_argument, NULL, 'r' },
		{ "connect-window", required_argument, NULL, 'w' },
		{ "server-pid", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, '?' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct load_opts){ .host = "127.0.0.1", .clients = 5000, .parties = 500,
				 .signals = 5000, .connect_window = 200, .heartbeat_s = 5,
				 .duration_s = 30, .join_rate = 500 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'n':
			o->clients = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			o->parties = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'H':
			o->heartbeat_s = atof(optarg);
			break;
		case 'd':
			o->duration_s = atof(optarg);
			break;
		case 's':
			o->signals = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o->join_rate = atof(optarg);
			break;
		case 'w':
			o->connect_window = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			o->server_pid = atoi(optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || o->port <= 0 || o->port > 65535 || o->parties < 1 ||
	    o->clients < 2 * o->parties || o->clients > 1000000 ||
	    (o->clients + o->parties - 1) / o->parties > CTL_LIMIT_MAX_MEMBERS ||
	    !(o->heartbeat_s >= 0.5) || !(o->duration_s > 0) || !(o->join_rate > 0) ||
	    o->connect_window < 1)
		return -EINVAL;
	return 0;
}

/* Each client is one socket: the soft limit must cover them all. */
static int load_raise_nofile(uint32_t clients)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)clients + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		fprintf(stderr, "control-load: %u clients need %llu file descriptors, the hard "
			"limit is %llu\n", clients, (unsigned long long)want,
			(unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

static void load_on_sigint(int sig)
{
	(void)sig;
	g.interrupted = true;
}

/* lws runs on our libuv loop (epoll): its default poll() loop would scan
 * every one of thousands of sockets at each wakeup and the generator would
 * need more CPU than the server it measures. */
static int load_setup(void)
{
	struct lws_context_creation_info info;
	void *loops[1] = { &g.loop };
	uint32_t i;

	g.cl = calloc(g.o.clients, sizeof(*g.cl));
	g.pa = calloc(g.o.parties, sizeof(*g.pa));
	g.sig = calloc(g.o.signals ? g.o.signals : 1, sizeof(*g.sig));
	if (!g.cl || !g.pa || !g.sig)
		return -ENOMEM;
	for (i = 0; i < g.o.parties; i++) {
		g.pa[i].members = calloc(g.o.clients / g.o.parties + 1, sizeof(uint32_t));
		if (!g.pa[i].members)
			return -ENOMEM;
	}
	for (i = 0; i < g.o.clients; i++) {
		g.cl[i].idx = i;
		g.cl[i].party = i % g.o.parties;
	}
	if (uv_loop_init(&g.loop))
		return -ENOMEM;
	g.loop_ok = true;
	if (uv_timer_init(&g.loop, &g.timer))
		return -ENOMEM;
	g.timer_ok = true;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = load_protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = loops;
	info.pcontext = &g.ctx; /* lws clears it once the context is gone */
	g.ctx = lws_create_context(&info);
	return g.ctx ? 0 : -ENOMEM;
}

static void load_teardown(void)
{
	uint32_t i;

	g.closing = true;
	if (g.ctx)
		lws_context_destroy(g.ctx);
	if (g.timer_ok)
		uv_close((uv_handle_t *)&g.timer, NULL);
	if (g.loop_ok) {
		/* let lws and the timer finish closing their handles */
		uv_run(&g.loop, UV_RUN_DEFAULT);
		if (g.ctx)
			lws_context_destroy(g.ctx);
		uv_loop_close(&g.loop);
	}
	if (g.cl)
		for (i = 0; i < g.o.clients; i++)
			crypto_wipe(g.cl[i].priv, sizeof(g.cl[i].priv));
	if (g.pa)
		for (i = 0; i < g.o.parties; i++)
			free(g.pa[i].members);
	for (i = 0; i < OP_COUNT; i++)
		free(g.lat[i].us);
	free(g.hello_lat.us);
	free(g.deliver_lat.us);
	free(g.cl);
	free(g.pa);
	free(g.sig);
}

int main(int argc, char **argv)
{
	uint64_t now;
	int err, i;

	if (load_parse(argc, argv, &g.o)) {
		load_usage(stderr);
		return 2;
	}
	if (crypto_init() || load_raise_nofile(g.o.clients))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, load_on_sigint);
	signal(SIGTERM, load_on_sigint);
	lws_set_log_level(LLL_ERR, NULL);
	g.rng = 0x9e3779b9u;
	err = load_setup();
	if (err) {
		fprintf(stderr, "control-load: setup failed: %s\n", strerror(-err));
		load_teardown();
		return 1;
	}
	fprintf(stderr, "control-load: %u clients, %u parties, against %s:%d\n", g.o.clients,
		g.o.parties, g.o.host, g.o.port);
	now = time_mono_ns();
	g.phase = PH_CONNECT;
	g.phase_start = now;
	g.phase_deadline = now + 60 * TIME_NS_PER_SEC;
	load_mark(PH_CONNECT, now);
	uv_timer_start(&g.timer, load_tick, LOAD_TICK_MS, LOAD_TICK_MS);
	uv_run(&g.loop, UV_RUN_DEFAULT);
	uv_timer_stop(&g.timer);
	if (g.phase != PH_DONE) {
		fprintf(stderr, "control-load: the event loop stopped early\n");
		g.aborted = true;
		load_enter(PH_DONE, time_mono_ns(), 0);
	}
	for (i = 0; i <= PH_DONE; i++)
		if (!g.marks[i].t_ns)
			g.marks[i] = g.marks[PH_DONE];
	load_report();
	err = load_failures() ? 1 : 0;
	load_teardown();
	return err;
}
