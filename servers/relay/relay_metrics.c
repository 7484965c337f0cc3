/*
 * relay_metrics: relay_stats as Prometheus families (relay_metrics.h). The
 * labelled families come from tables of (label value, field offset) so a
 * counter added to struct relay_stats is one line here; the forwarded
 * counters are the very fields the SIGUSR1 statistics line logs.
 */
#include <stddef.h>

#include "metrics/prom.h"
#include "relay_metrics.h"

struct relay_series {
	const char *value; /* the label's value */
	size_t off;        /* of a uint64_t in struct relay_stats */
};

#define RS(v, field) { v, offsetof(struct relay_stats, field) }

static const struct relay_series relay_binds[] = {
	RS("bind", binds), RS("roam", roams), RS("refresh", refreshes),
	RS("expire", expired), RS("evict", evicted),
};

static const struct relay_series relay_answers[] = {
	RS("pong", pongs), RS("unreachable", unreachable), RS("cookie", cookies),
	RS("unbound", unbound), RS("clock", clocks),
};

static const struct relay_series relay_refused[] = {
	RS("mac", refused_mac), RS("stale", refused_stale), RS("full", refused_full),
	RS("rate", refused_rate), RS("unauthorized", refused_unauthorized),
	RS("expired", refused_expired), RS("ip_full", refused_ip_full),
};

static const struct relay_series relay_dropped[] = {
	RS("malformed", drop_malformed), RS("unexpected", drop_unexpected),
	RS("unbound", drop_unbound), RS("rate", drop_rate), RS("dst_rate", drop_dst_rate),
	RS("bind_rate", drop_bind_rate), RS("ping_rate", drop_ping_rate),
	RS("unbound_rate", drop_unbound_rate), RS("stun_rate", drop_stun_rate),
	RS("stun_global", drop_stun_global),
};

static const struct relay_series relay_plain[] = {
	RS("lanrage_relay_received_packets_total", rx_frames),
	RS("lanrage_relay_received_bytes_total", rx_bytes),
	RS("lanrage_relay_forwarded_packets_total", forwarded),
	RS("lanrage_relay_forwarded_bytes_total", forwarded_bytes),
	RS("lanrage_relay_stun_allowed_total", stun_allowed),
	RS("lanrage_relay_send_errors_total", send_errors),
};

static const char *const relay_plain_help[] = {
	"Datagrams received on the relay port.",
	"Bytes of the datagrams received on the relay port (UDP payload).",
	"SEND frames forwarded to their destination as DELIVER.",
	"Bytes of the DELIVER frames forwarded (UDP payload).",
	"STUN requests the per-source and relay-wide limits let through.",
	"Datagrams the kernel refused to send on the relay port.",
};

static uint64_t relay_field(const struct relay_stats *s, size_t off)
{
	return *(const uint64_t *)((const char *)s + off);
}

static void relay_family(struct strbuf *sb, const char *name, const char *help,
			 const char *label, const struct relay_series *t, size_t n,
			 const struct relay_stats *s)
{
	char lb[PROM_LABELS_MAX];

	prom_family(sb, name, PROM_COUNTER, help);
	for (size_t i = 0; i < n; i++) {
		lb[0] = '\0';
		prom_label(lb, sizeof(lb), label, t[i].value);
		prom_sample_u64(sb, name, lb, relay_field(s, t[i].off));
	}
}

static void relay_counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	prom_family(sb, name, PROM_COUNTER, help);
	prom_sample_u64(sb, name, NULL, v);
}

static void relay_gauge(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	prom_family(sb, name, PROM_GAUGE, help);
	prom_sample_u64(sb, name, NULL, v);
}

char *relay_metrics_render(const struct relay_core *c, const struct relay_stun *stun)
{
	const struct relay_stats *s = &c->stats;
	struct strbuf sb;

	strbuf_init(&sb);
	prom_build_info(&sb);
	relay_gauge(&sb, "lanrage_relay_bindings", "Live bindings (keys the relay forwards for).",
		    relay_core_bindings(c));
	relay_gauge(&sb, "lanrage_relay_dormant_bindings",
		    "Expired bindings kept for replay protection.", c->dormant);
	relay_gauge(&sb, "lanrage_relay_max_bindings", "Bindings the relay holds at most.",
		    c->cfg.max_bindings);
	for (size_t i = 0; i < sizeof(relay_plain) / sizeof(relay_plain[0]); i++)
		relay_counter(&sb, relay_plain[i].value, relay_plain_help[i],
			      relay_field(s, relay_plain[i].off));
	relay_family(&sb, "lanrage_relay_binds_total",
		     "Binding changes: new bindings, roams to a new address, refreshes, "
		     "expiries and evictions.", "event", relay_binds,
		     sizeof(relay_binds) / sizeof(relay_binds[0]), s);
	relay_family(&sb, "lanrage_relay_answers_total",
		     "Frames the relay answered itself, by kind.", "kind", relay_answers,
		     sizeof(relay_answers) / sizeof(relay_answers[0]), s);
	relay_family(&sb, "lanrage_relay_refused_total", "BINDs refused, by reason.", "reason",
		     relay_refused, sizeof(relay_refused) / sizeof(relay_refused[0]), s);
	relay_family(&sb, "lanrage_relay_dropped_total",
		     "Datagrams dropped without an answer, by reason.", "reason", relay_dropped,
		     sizeof(relay_dropped) / sizeof(relay_dropped[0]), s);
	relay_counter(&sb, "lanrage_relay_stun_requests_total",
		      "STUN requests received on the STUN sockets.", stun->requests);
	relay_counter(&sb, "lanrage_relay_stun_answers_total", "STUN answers sent.",
		      stun->answers);
	relay_counter(&sb, "lanrage_relay_stun_send_errors_total",
		      "STUN answers the kernel refused to send.", stun->errors);
	prom_process(&sb);
	return strbuf_take(&sb);
}
