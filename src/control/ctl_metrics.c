/*
 * ctl_metrics: counting requests and rendering the control core's
 * Prometheus families (ctl_metrics.h, ctl_core.h ctl_core_metrics).
 *
 * Every request type shows its result="ok" series from the start, so a rate
 * over it is defined before the first request; error results and the
 * latency histogram of a type appear once it has one.
 */
#include <string.h>

#include "control/ctl_core.h"
#include "control/ctl_metrics.h"
#include "control/ctl_state.h"
#include "util/time.h"

/* Request handling takes tens of microseconds; a commit is an fsync. */
static const double ctl_request_bounds[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
					     0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };
static const double ctl_commit_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					    0.05, 0.1, 0.25, 0.5, 1, 2.5 };

static const char *const ctl_extra_types[CTL_MT_COUNT - CTL_REQ_COUNT] = {
	"invalid", "rest_health", "rest_relays", "rest_party", "rest_peer", "rest_other",
};

#define CTL_N(a) (sizeof(a) / sizeof((a)[0]))

void ctl_metrics_init(struct ctl_metrics *m)
{
	memset(m, 0, sizeof(*m));
	for (unsigned t = 0; t < CTL_MT_COUNT; t++)
		prom_hist_init(&m->duration[t], ctl_request_bounds, CTL_N(ctl_request_bounds));
	prom_hist_init(&m->store_commit, ctl_commit_bounds, CTL_N(ctl_commit_bounds));
}

void ctl_metrics_request(struct ctl_metrics *m, unsigned t, enum ctl_err e, uint64_t start_ns)
{
	if (t >= CTL_MT_COUNT || (unsigned)e >= CTL_E_COUNT)
		return;
	m->requests[t][e]++;
	prom_hist_observe(&m->duration[t], (double)(time_mono_ns() - start_ns) / 1e9);
}

unsigned ctl_metrics_rest_type(const char *path)
{
	size_t n = strcspn(path, "?");

	if (n == strlen("/v1/health") && !strncmp(path, "/v1/health", n))
		return CTL_MT_REST_HEALTH;
	if (n == strlen("/v1/relays") && !strncmp(path, "/v1/relays", n))
		return CTL_MT_REST_RELAYS;
	if (!strncmp(path, "/v1/parties/", strlen("/v1/parties/")))
		return CTL_MT_REST_PARTY;
	if (!strncmp(path, "/v1/peers/", strlen("/v1/peers/")))
		return CTL_MT_REST_PEER;
	return CTL_MT_REST_OTHER;
}

static const char *ctl_type_name(unsigned t)
{
	return t < CTL_REQ_COUNT ? ctl_req_name(t) : ctl_extra_types[t - CTL_REQ_COUNT];
}

static void ctl_metric1(struct strbuf *sb, const char *name, enum prom_type type,
			const char *help, uint64_t v)
{
	prom_family(sb, name, type, help);
	prom_sample_u64(sb, name, NULL, v);
}

static void ctl_render_requests(struct strbuf *sb, const struct ctl_metrics *m)
{
	static const char name[] = "lanrage_control_requests_total";
	char lb[PROM_LABELS_MAX];

	prom_family(sb, name, PROM_COUNTER,
		    "Requests answered, by type (protocol request, invalid message or REST "
		    "route) and result (ok or the error code).");
	for (unsigned t = 0; t < CTL_MT_COUNT; t++)
		for (unsigned e = 0; e < CTL_E_COUNT; e++) {
			if (e != CTL_OK && !m->requests[t][e])
				continue;
			lb[0] = '\0';
			prom_label(lb, sizeof(lb), "type", ctl_type_name(t));
			prom_label(lb, sizeof(lb), "result", e == CTL_OK ? "ok" : ctl_err_name(e));
			prom_sample_u64(sb, name, lb, m->requests[t][e]);
		}
}

static void ctl_render_durations(struct strbuf *sb, const struct ctl_metrics *m)
{
	static const char name[] = "lanrage_control_request_duration_seconds";
	char lb[PROM_LABELS_MAX];

	prom_family(sb, name, PROM_HISTOGRAM,
		    "Time from a request's arrival to its answer being queued, by type.");
	for (unsigned t = 0; t < CTL_MT_COUNT; t++) {
		if (!m->duration[t].count)
			continue;
		lb[0] = '\0';
		prom_label(lb, sizeof(lb), "type", ctl_type_name(t));
		prom_hist_render(sb, name, lb, &m->duration[t]);
	}
}

static void ctl_render_rejected(struct strbuf *sb, const struct ctl_core *c,
				const struct ctl_metrics_extra *extra, size_t n_extra)
{
	static const char name[] = "lanrage_control_rejected_total";
	const struct ctl_metrics *m = &c->metrics;
	uint64_t unauth = 0;
	char lb[PROM_LABELS_MAX];

	for (unsigned t = 0; t < CTL_MT_COUNT; t++)
		unauth += m->requests[t][CTL_E_UNAUTHORIZED] + m->requests[t][CTL_E_BAD_PROOF];
	const struct ctl_metrics_extra core[] = {
		{ "rate_limited", m->rate_limited },
		{ "too_large", m->too_large },
		{ "too_many_sessions", c->stats.sessions_refused },
		{ "register_rate", c->stats.registers_refused },
		{ "signal_rate", c->stats.signals_refused },
		{ "auth_timeout", c->stats.auth_timeouts },
		{ "unauthorized", unauth },
	};

	prom_family(sb, name, PROM_COUNTER,
		    "Requests, messages and connections the server refused, by reason.");
	for (size_t i = 0; i < CTL_N(core) + n_extra; i++) {
		const struct ctl_metrics_extra *x = i < CTL_N(core) ? &core[i]
								      : &extra[i - CTL_N(core)];

		lb[0] = '\0';
		prom_label(lb, sizeof(lb), "reason", x->reason);
		prom_sample_u64(sb, name, lb, x->count);
	}
}

void ctl_core_metrics(const struct ctl_core *c, struct strbuf *sb,
		      const struct ctl_metrics_extra *extra, size_t n_extra)
{
	const struct ctl_core_stats *s = &c->stats;

	ctl_metric1(sb, "lanrage_control_sessions", PROM_GAUGE,
		    "Open sessions (WebSocket connections: players, relays, and those not yet "
		    "authenticated).", s->sessions);
	ctl_metric1(sb, "lanrage_control_parties", PROM_GAUGE, "Parties (each has a member).",
		    s->parties);
	ctl_metric1(sb, "lanrage_control_peers", PROM_GAUGE,
		    "Registered peers the server remembers.", s->peers);
	ctl_metric1(sb, "lanrage_control_members", PROM_GAUGE, "Peers in a party.", s->members);
	ctl_metric1(sb, "lanrage_control_relays", PROM_GAUGE, "Registered relays.", s->relays);
	ctl_metric1(sb, "lanrage_control_messages_received_total", PROM_COUNTER,
		    "WebSocket messages received.", s->messages_in);
	ctl_metric1(sb, "lanrage_control_messages_sent_total", PROM_COUNTER,
		    "WebSocket messages sent (answers and events).", s->messages_out);
	ctl_metric1(sb, "lanrage_control_events_sent_total", PROM_COUNTER,
		    "Events sent to party members.", s->events_out);
	ctl_metric1(sb, "lanrage_control_peers_collected_total", PROM_COUNTER,
		    "Peers forgotten after --peer-gc without being seen.", s->peers_collected);
	ctl_metric1(sb, "lanrage_control_store_commits_total", PROM_COUNTER,
		    "Batches of writes committed to SQLite.", s->commits);
	ctl_render_requests(sb, &c->metrics);
	ctl_render_durations(sb, &c->metrics);
	prom_family(sb, "lanrage_control_store_write_duration_seconds", PROM_HISTOGRAM,
		    "Time to commit one batch of writes to SQLite (its fsync included).");
	prom_hist_render(sb, "lanrage_control_store_write_duration_seconds", NULL,
			 &c->metrics.store_commit);
	ctl_render_rejected(sb, c, extra, n_extra);
}
