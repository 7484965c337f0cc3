/*
 * control-load: state shared by the generator's two halves (bench/control-load).
 * control_load.c drives the phases, the schedule and the report;
 * control_load_client.c is one client's side of docs/CONTROL.md over
 * libwebsockets: its request queue, its answers and events, the checks.
 * Everything runs on the one thread of the libuv loop; nothing is locked.
 */
#ifndef LR_BENCH_CONTROL_LOAD_H
#define LR_BENCH_CONTROL_LOAD_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "control/control.h" /* ID lengths; includes ctl_core.h */

enum {
	LOAD_QUEUE = 16,        /* ops waiting to be written, per client */
	LOAD_PENDING = 16,      /* requests written and not yet answered, per client */
	LOAD_TICK_MS = 1,       /* scheduler period */
	LOAD_TXBUF = 512,       /* largest request we send */
	LOAD_MAX_CODES = 16,    /* distinct error codes tallied */
	LOAD_MAX_RX = 1 << 20,  /* party answers grow ~400 bytes per member */
};

enum load_op { OP_REGISTER, OP_CREATE, OP_JOIN, OP_HEARTBEAT, OP_SIGNAL, OP_COUNT };
extern const char *const load_op_name[OP_COUNT];

enum load_phase { PH_CONNECT, PH_CREATE, PH_JOIN, PH_SETTLE, PH_RUN, PH_DRAIN, PH_DONE };
enum load_client_state { CL_IDLE, CL_CONNECTING, CL_OPEN, CL_REGISTERED, CL_MEMBER, CL_DEAD };

struct load_pending {
	uint64_t id, t_ns;
	uint32_t arg;
	uint8_t op;
};

struct load_client {
	struct lws *wsi;
	uint32_t idx, party;
	uint8_t state;
	bool in_flight;          /* counted in load.in_flight (connect phase) */
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

/* The one generator; defined in control_load.c. */
struct load_global {
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
	uint32_t cursor;
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
};

extern struct load_global load;

extern const struct lws_protocols load_protocols[];

/* Starts client c's connection; it registers once its hello arrives. */
void load_connect(struct load_client *c);
/* Queues a request for c (arg: signal index for OP_SIGNAL); counts it as
 * skipped when c is gone or its queue is full. */
void load_enqueue(struct load_client *c, enum load_op op, uint32_t arg);
/* Our copy of the server's token bucket, at half its rate so that we never
 * trip it: false when c has no token now (the caller picks another). */
bool load_take_token(struct load_client *c, uint64_t now);

#endif
