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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "control_load.h"
#include "crypto/crypto.h"
#include "util/time.h"

struct load_global load;

const char *const load_op_name[OP_COUNT] = {
	"register", "create", "join", "heartbeat", "signal",
};

static const char *const load_phase_name[] = {
	"connect", "create", "join", "settle", "run", "drain", "done",
};


/* ---- measurements ------------------------------------------------------- */

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
	load.rng ^= load.rng << 13;
	load.rng ^= load.rng >> 17;
	load.rng ^= load.rng << 5;
	return (uint32_t)(((uint64_t)load.rng * bound) >> 32);
}

/* ---- phases --------------------------------------------------------------- */

static void load_mark(enum load_phase ph, uint64_t now)
{
	load.marks[ph].t_ns = now;
	load.marks[ph].self_cpu_ns = load_self_cpu_ns();
	load_proc_read(load.o.server_pid, &load.marks[ph].srv);
}

static void load_enter(enum load_phase ph, uint64_t now, double timeout_s)
{
	fprintf(stderr, "control-load: %s done after %.1f s; %s\n", load_phase_name[load.phase],
		(double)(now - load.phase_start) / 1e9, load_phase_name[ph]);
	load.phase = ph;
	load.phase_start = now;
	load.phase_deadline = now + (uint64_t)(timeout_s * 1e9);
	load.cursor = 0;
	load_mark(ph, now);
}

static bool load_timed_out(uint64_t now, const char *what)
{
	if (now < load.phase_deadline)
		return false;
	fprintf(stderr, "control-load: %s phase timed out: %s\n", load_phase_name[load.phase], what);
	load.aborted = true;
	load_enter(PH_DONE, now, 0);
	return true;
}

/* Open-loop pacing: how many of the phase's requests are due by now. */
static uint32_t load_due(uint64_t now, uint32_t total)
{
	double due = (double)(now - load.phase_start) / 1e9 * load.o.join_rate + 1;

	return due >= total ? total : (uint32_t)due;
}

static void load_build_members(void)
{
	uint32_t i;

	for (i = 0; i < load.o.clients; i++) {
		struct load_party *pa = &load.pa[load.cl[i].party];

		if (load.cl[i].state == CL_MEMBER)
			pa->members[pa->n_members++] = i;
	}
}

/* IPAM must never give two members of a party the same address. */
static void load_check_vips(void)
{
	uint32_t p, i, *ips = calloc(load.o.clients, sizeof(*ips));

	if (!ips) {
		load.bad_messages++;
		return;
	}
	for (p = 0; p < load.o.parties; p++) {
		uint32_t n = 0;

		for (i = 0; i < load.pa[p].n_members; i++)
			if (load.cl[load.pa[p].members[i]].vip)
				ips[n++] = load.cl[load.pa[p].members[i]].vip;
		qsort(ips, n, sizeof(*ips), load_u32_cmp);
		for (i = 1; i < n; i++)
			load.vip_dups += ips[i] == ips[i - 1];
	}
	free(ips);
}

static void load_send_signal(uint64_t now)
{
	int tries;

	for (tries = 0; tries < 16; tries++) {
		struct load_party *pa = &load.pa[load_rand(load.o.parties)];
		uint32_t a, b;

		if (pa->n_members < 2)
			continue;
		a = load_rand(pa->n_members);
		b = load_rand(pa->n_members - 1);
		b += b >= a;
		if (!load_take_token(&load.cl[pa->members[a]], now))
			continue;
		load.sig[load.sig_cursor].from = pa->members[a];
		load.sig[load.sig_cursor].to = pa->members[b];
		load_enqueue(&load.cl[pa->members[a]], OP_SIGNAL, load.sig_cursor);
		load.sig_cursor++;
		return;
	}
	load.sig_skipped++;
}

static void load_run(uint64_t now)
{
	uint64_t run_ns = (uint64_t)(load.o.duration_s * 1e9);
	uint64_t hb_ns = (uint64_t)(load.o.heartbeat_s * 1e9);

	/* heartbeat k goes to client k mod N at k * H / N: every client every H */
	while (load.hb_cursor < load.hb_end &&
	       load.phase_start + load.hb_cursor * hb_ns / load.o.clients <= now) {
		struct load_client *c = &load.cl[load.hb_cursor++ % load.o.clients];

		if (c->state == CL_MEMBER && load_take_token(c, now))
			load_enqueue(c, OP_HEARTBEAT, 0);
		else
			load.skipped[OP_HEARTBEAT]++;
	}
	while (load.sig_slot < load.o.signals &&
	       load.phase_start + (uint64_t)load.sig_slot * run_ns / load.o.signals <= now) {
		load.sig_slot++;
		load_send_signal(now);
	}
	if (now >= load.phase_start + run_ns)
		load_enter(PH_DRAIN, now, 10);
}

static bool load_idle(void)
{
	uint32_t i;

	for (i = 0; i < load.o.clients; i++)
		if (load.cl[i].n_pend || load.cl[i].q_len)
			return false;
	return true;
}

static void load_tick(uv_timer_t *timer)
{
	uint64_t now = time_mono_ns();
	uint32_t due;

	switch (load.phase) {
	case PH_CONNECT:
		while (load.started < load.o.clients && load.in_flight < load.o.connect_window)
			load_connect(&load.cl[load.started++]);
		if (load.registered + load.conn_failed == load.o.clients && !load.registered) {
			fprintf(stderr, "control-load: no client could connect and register\n");
			load.aborted = true;
			load_enter(PH_DONE, now, 0);
		} else if (load.registered + load.conn_failed == load.o.clients) {
			load_enter(PH_CREATE, now, 60);
		}
		else
			load_timed_out(now, "connections or registrations unanswered");
		break;
	case PH_CREATE:
		due = load_due(now, load.o.parties);
		for (; load.cursor < due; load.cursor++)
			load_enqueue(&load.cl[load.cursor], OP_CREATE, 0);
		if (load.cursor == load.o.parties && load_idle())
			load_enter(PH_JOIN, now, 60);
		else
			load_timed_out(now, "party_create unanswered");
		break;
	case PH_JOIN:
		due = load_due(now, load.o.clients - load.o.parties);
		for (; load.cursor < due; load.cursor++) {
			struct load_client *c = &load.cl[load.o.parties + load.cursor];

			if (load.pa[c->party].id[0])
				load_enqueue(c, OP_JOIN, 0);
			else
				load.skipped[OP_JOIN]++;
		}
		if (load.cursor == load.o.clients - load.o.parties && load_idle())
			load_enter(PH_SETTLE, now, 10);
		else
			load_timed_out(now, "party_join unanswered");
		break;
	case PH_SETTLE:
		if (load.joined_received >= load.joined_expected || now >= load.phase_deadline) {
			load_build_members();
			load_check_vips();
			load_enter(PH_RUN, now, load.o.duration_s + 10);
			load.hb_end = (uint64_t)(load.o.duration_s / load.o.heartbeat_s * load.o.clients);
		}
		break;
	case PH_RUN:
		load_run(now);
		break;
	case PH_DRAIN:
		if ((load_idle() && load.sig_delivered >= load.ok[OP_SIGNAL]) || now >= load.phase_deadline)
			load_enter(PH_DONE, now, 0);
		break;
	case PH_DONE:
		break;
	}
	if (load.interrupted && load.phase != PH_DONE) {
		fprintf(stderr, "control-load: interrupted in the %s phase\n",
			load_phase_name[load.phase]);
		load.aborted = true;
		load_enter(PH_DONE, now, 0);
	}
	if (load.phase == PH_DONE)
		uv_stop(&load.loop);
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
	const struct load_phase_mark *a = &load.marks[ph], *b = &load.marks[next];
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
	uint64_t f = load.conn_failed + load.closed_unexpectedly + load.backlog + load.bad_messages +
		     load.wrong_party + load.unexpected_events + load.sig_wrong_client + load.sig_duplicate +
		     load.sig_skipped + load.vip_dups + (load.ok[OP_SIGNAL] - load.sig_delivered) +
		     (load.joined_expected - (load.joined_received < load.joined_expected ?
						   load.joined_received : load.joined_expected));
	int op;

	for (op = 0; op < OP_COUNT; op++)
		f += load.failed[op] + load.skipped[op];
	return f + load.unanswered + load.aborted;
}

static void load_report(void)
{
	uint64_t fails;
	uint32_t c;
	int op, i;

	for (c = 0; c < load.o.clients; c++)
		load.unanswered += load.cl[c].n_pend + load.cl[c].q_len;
	fails = load_failures();

	printf("clients=%u\nparties=%u\nheartbeat_s=%g\nduration_s=%g\nsignals_planned=%u\n"
	       "join_rate=%g\nconnect_window=%u\n",
	       load.o.clients, load.o.parties, load.o.heartbeat_s, load.o.duration_s, load.o.signals,
	       load.o.join_rate, load.o.connect_window);
	printf("connect.started=%u\nconnect.failed=%u\nconnect.closed_unexpectedly=%" PRIu64 "\n",
	       load.started, load.conn_failed, load.closed_unexpectedly);
	load_print_lat("connect.hello", &load.hello_lat);
	for (op = 0; op < OP_COUNT; op++) {
		const char *k = load_op_name[op];

		printf("%s.sent=%" PRIu64 "\n%s.ok=%" PRIu64 "\n%s.failed=%" PRIu64
		       "\n%s.skipped=%" PRIu64 "\n",
		       k, load.sent[op], k, load.ok[op], k, load.failed[op], k, load.skipped[op]);
		load_print_lat(k, &load.lat[op]);
	}
	printf("events.peer_joined.expected=%" PRIu64 "\nevents.peer_joined.received=%" PRIu64
	       "\nevents.wrong_party=%" PRIu64 "\nevents.unexpected=%" PRIu64 "\n",
	       load.joined_expected, load.joined_received, load.wrong_party, load.unexpected_events);
	printf("signal.delivered=%" PRIu64 "\nsignal.lost=%" PRIu64 "\nsignal.wrong_client=%" PRIu64
	       "\nsignal.duplicate=%" PRIu64 "\nsignal.not_sent=%" PRIu64 "\n",
	       load.sig_delivered, load.ok[OP_SIGNAL] - load.sig_delivered, load.sig_wrong_client,
	       load.sig_duplicate, load.sig_skipped);
	load_print_lat("signal.delivery", &load.deliver_lat);
	printf("ipam.duplicate_addresses=%" PRIu64 "\nbad_messages=%" PRIu64
	       "\nbacklog=%" PRIu64 "\nunanswered=%" PRIu64 "\n",
	       load.vip_dups, load.bad_messages, load.backlog, load.unanswered);
	for (i = 0; i < LOAD_MAX_CODES && load.codes[i].code[0]; i++)
		printf("error_code.%s=%" PRIu64 "\n", load.codes[i].code, load.codes[i].n);
	load_print_phase(PH_CONNECT, PH_CREATE);
	load_print_phase(PH_CREATE, PH_JOIN);
	load_print_phase(PH_JOIN, PH_SETTLE);
	load_print_phase(PH_RUN, PH_DRAIN);
	printf("aborted=%d\nfailures=%" PRIu64 "\nstatus=%s\n", load.aborted, fails,
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
	load.interrupted = true;
}

/* lws runs on our libuv loop (epoll): its default poll() loop would scan
 * every one of thousands of sockets at each wakeup and the generator would
 * need more CPU than the server it measures. */
static int load_setup(void)
{
	struct lws_context_creation_info info;
	void *loops[1] = { &load.loop };
	uint32_t i;

	load.cl = calloc(load.o.clients, sizeof(*load.cl));
	load.pa = calloc(load.o.parties, sizeof(*load.pa));
	load.sig = calloc(load.o.signals ? load.o.signals : 1, sizeof(*load.sig));
	if (!load.cl || !load.pa || !load.sig)
		return -ENOMEM;
	for (i = 0; i < load.o.parties; i++) {
		load.pa[i].members = calloc(load.o.clients / load.o.parties + 1, sizeof(uint32_t));
		if (!load.pa[i].members)
			return -ENOMEM;
	}
	for (i = 0; i < load.o.clients; i++) {
		load.cl[i].idx = i;
		load.cl[i].party = i % load.o.parties;
	}
	if (uv_loop_init(&load.loop))
		return -ENOMEM;
	load.loop_ok = true;
	if (uv_timer_init(&load.loop, &load.timer))
		return -ENOMEM;
	load.timer_ok = true;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = load_protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = loops;
	info.pcontext = &load.ctx; /* lws clears it once the context is gone */
	load.ctx = lws_create_context(&info);
	return load.ctx ? 0 : -ENOMEM;
}

static void load_teardown(void)
{
	uint32_t i;

	load.closing = true;
	if (load.ctx)
		lws_context_destroy(load.ctx);
	if (load.timer_ok)
		uv_close((uv_handle_t *)&load.timer, NULL);
	if (load.loop_ok) {
		/* let lws and the timer finish closing their handles */
		uv_run(&load.loop, UV_RUN_DEFAULT);
		if (load.ctx)
			lws_context_destroy(load.ctx);
		uv_loop_close(&load.loop);
	}
	if (load.cl)
		for (i = 0; i < load.o.clients; i++)
			crypto_wipe(load.cl[i].priv, sizeof(load.cl[i].priv));
	if (load.pa)
		for (i = 0; i < load.o.parties; i++)
			free(load.pa[i].members);
	for (i = 0; i < OP_COUNT; i++)
		free(load.lat[i].us);
	free(load.hello_lat.us);
	free(load.deliver_lat.us);
	free(load.cl);
	free(load.pa);
	free(load.sig);
}

int main(int argc, char **argv)
{
	uint64_t now;
	int err, i;

	if (load_parse(argc, argv, &load.o)) {
		load_usage(stderr);
		return 2;
	}
	if (crypto_init() || load_raise_nofile(load.o.clients))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, load_on_sigint);
	signal(SIGTERM, load_on_sigint);
	lws_set_log_level(LLL_ERR, NULL);
	load.rng = 0x9e3779b9u;
	err = load_setup();
	if (err) {
		fprintf(stderr, "control-load: setup failed: %s\n", strerror(-err));
		load_teardown();
		return 1;
	}
	fprintf(stderr, "control-load: %u clients, %u parties, against %s:%d\n", load.o.clients,
		load.o.parties, load.o.host, load.o.port);
	now = time_mono_ns();
	load.phase = PH_CONNECT;
	load.phase_start = now;
	load.phase_deadline = now + 60 * TIME_NS_PER_SEC;
	load_mark(PH_CONNECT, now);
	uv_timer_start(&load.timer, load_tick, LOAD_TICK_MS, LOAD_TICK_MS);
	uv_run(&load.loop, UV_RUN_DEFAULT);
	uv_timer_stop(&load.timer);
	if (load.phase != PH_DONE) {
		fprintf(stderr, "control-load: the event loop stopped early\n");
		load.aborted = true;
		load_enter(PH_DONE, time_mono_ns(), 0);
	}
	for (i = 0; i <= PH_DONE; i++)
		if (!load.marks[i].t_ns)
			load.marks[i] = load.marks[PH_DONE];
	load_report();
	err = load_failures() ? 1 : 0;
	load_teardown();
	return err;
}
