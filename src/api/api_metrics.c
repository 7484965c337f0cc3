/*
 * api_metrics: the daemon's GET /metrics (docs/METRICS.md), rendered from
 * the same party_status the API's /v1/status answers with, so Prometheus
 * and `lanrage status` show the same figures.
 *
 * Per member the labels are peer_id, name and virtual_ip: a name is the
 * player's own text and is escaped by prom_label. A member whose RTT is
 * not measured yet has no RTT, jitter or loss samples (absent, not zero).
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "metrics/prom.h"

static const char *const api_party_states[] = { "idle", "joining", "active", "leaving" };

static void api_metric_states(struct strbuf *sb, const struct party_status *st)
{
	prom_family(sb, "lanrage_daemon_party_state", PROM_GAUGE,
		    "1 for the state the daemon's party is in, 0 for the others.");
	for (size_t i = 0; i < sizeof(api_party_states) / sizeof(api_party_states[0]); i++) {
		char lb[64] = "";

		prom_label(lb, sizeof(lb), "state", api_party_states[i]);
		prom_sample(sb, "lanrage_daemon_party_state", lb,
			    !strcmp(party_state_name(st->state), api_party_states[i]));
	}
	prom_family(sb, "lanrage_daemon_party_members", PROM_GAUGE,
		    "Members of the party besides this node.");
	prom_sample(sb, "lanrage_daemon_party_members", NULL, (double)st->n_members);
	prom_family(sb, "lanrage_daemon_control_connected", PROM_GAUGE,
		    "1 while the control plane is connected.");
	prom_sample(sb, "lanrage_daemon_control_connected", NULL, st->control_connected);
	prom_family(sb, "lanrage_daemon_udp_blocked", PROM_GAUGE,
		    "1 when no STUN server and no relay answered over UDP.");
	prom_sample(sb, "lanrage_daemon_udp_blocked", NULL, st->self.udp_blocked);
	prom_family(sb, "lanrage_daemon_relays_bound", PROM_GAUGE,
		    "Relays holding a binding for this node now.");
	prom_sample(sb, "lanrage_daemon_relays_bound", NULL, st->self.relays_bound);
	prom_family(sb, "lanrage_daemon_relay_binds_total", PROM_COUNTER,
		    "Relay BINDs accepted (first binds and renewals) since the party came up.");
	prom_sample_u64(sb, "lanrage_daemon_relay_binds_total", NULL, st->self.relay_binds);
}

static void api_member_labels(char *lb, size_t cap, const struct conn_peer_status *m)
{
	lb[0] = '\0';
	prom_label(lb, cap, "peer_id", m->peer_id);
	prom_label(lb, cap, "name", m->name);
	prom_label(lb, cap, "virtual_ip", m->virtual_ip);
}

/* The per-member families: one value each, from struct conn_peer_status. */
enum api_member_field {
	AF_RTT, AF_JITTER, AF_LOSS, AF_MTU, AF_SINCE, AF_RX_BYTES, AF_TX_BYTES,
	AF_RX_PACKETS, AF_TX_PACKETS, AF_HANDSHAKES, AF_LAST_HANDSHAKE,
};

static const struct {
	const char *name;
	enum prom_type type;
	const char *help;
	enum api_member_field field;
} api_member_families[] = {
	{ "lanrage_peer_rtt_seconds", PROM_GAUGE,
	  "Round trip to the member through the tunnel, smoothed (as lanrage status shows it).",
	  AF_RTT },
	{ "lanrage_peer_jitter_seconds", PROM_GAUGE, "Variation of the round trip to the member.",
	  AF_JITTER },
	{ "lanrage_peer_loss_ratio", PROM_GAUGE,
	  "Share of recent in-tunnel echoes to the member that got no answer.", AF_LOSS },
	{ "lanrage_peer_path_mtu_bytes", PROM_GAUGE,
	  "Largest IP packet sent to the member on its current path.", AF_MTU },
	{ "lanrage_peer_path_age_seconds", PROM_GAUGE,
	  "Time the member has been on its current path.", AF_SINCE },
	{ "lanrage_peer_receive_bytes_total", PROM_COUNTER,
	  "Bytes of WireGuard datagrams received from the member (any path).", AF_RX_BYTES },
	{ "lanrage_peer_transmit_bytes_total", PROM_COUNTER,
	  "Bytes of WireGuard datagrams sent to the member (any path).", AF_TX_BYTES },
	{ "lanrage_peer_receive_packets_total", PROM_COUNTER,
	  "IP packets received from the member through the tunnel.", AF_RX_PACKETS },
	{ "lanrage_peer_transmit_packets_total", PROM_COUNTER,
	  "IP packets sent to the member through the tunnel.", AF_TX_PACKETS },
	{ "lanrage_peer_handshakes_total", PROM_COUNTER,
	  "WireGuard handshakes completed with the member.", AF_HANDSHAKES },
	{ "lanrage_peer_last_handshake_timestamp_seconds", PROM_GAUGE,
	  "Unix time of the last completed handshake with the member.", AF_LAST_HANDSHAKE },
};

/* The member's value of f in *v, and whether it has one: RTT, jitter and
 * loss once measured, counters once read (packets and handshakes only from
 * a backend that counts them). */
static bool api_member_value(const struct conn_peer_status *m, enum api_member_field f,
			     double *v)
{
	bool packets = m->has_counters && m->has_packet_counters;

	switch (f) {
	case AF_RTT:
		*v = m->rtt_ms / 1000.0;
		return m->rtt_valid;
	case AF_JITTER:
		*v = m->jitter_ms / 1000.0;
		return m->rtt_valid;
	case AF_LOSS:
		*v = m->loss_pct / 100.0;
		return m->rtt_valid;
	case AF_MTU:
		*v = m->mtu;
		return m->mtu > 0;
	case AF_SINCE:
		*v = (double)m->since_ms / 1000.0;
		return true;
	case AF_RX_BYTES:
		*v = (double)m->rx_bytes;
		return m->has_counters;
	case AF_TX_BYTES:
		*v = (double)m->tx_bytes;
		return m->has_counters;
	case AF_RX_PACKETS:
		*v = (double)m->rx_packets;
		return packets;
	case AF_TX_PACKETS:
		*v = (double)m->tx_packets;
		return packets;
	case AF_HANDSHAKES:
		*v = (double)m->handshakes;
		return packets;
	default: /* AF_LAST_HANDSHAKE */
		*v = (double)m->last_handshake_sec;
		return m->has_counters && m->last_handshake_sec;
	}
}

/* lanrage_peer_path: one series per member, 1, its path and relay as labels. */
static void api_metric_paths(struct strbuf *sb, const struct party_status *st)
{
	char lb[PROM_LABELS_MAX];

	prom_family(sb, "lanrage_peer_path", PROM_GAUGE,
		    "1 for each member, labelled with its path (direct, relay, connecting, ...) "
		    "and the relay it uses.");
	for (size_t i = 0; i < st->n_members; i++) {
		const struct conn_peer_status *m = &st->members[i];

		api_member_labels(lb, sizeof(lb), m);
		prom_label(lb, sizeof(lb), "path", conn_path_name(m->path));
		prom_label(lb, sizeof(lb), "relay_id", m->relay_id);
		prom_sample(sb, "lanrage_peer_path", lb, 1);
	}
}

static void api_metric_peers(struct strbuf *sb, const struct party_status *st)
{
	char lb[PROM_LABELS_MAX];
	double v;

	for (size_t f = 0; f < sizeof(api_member_families) / sizeof(api_member_families[0]); f++) {
		prom_family(sb, api_member_families[f].name, api_member_families[f].type,
			    api_member_families[f].help);
		for (size_t i = 0; i < st->n_members; i++) {
			if (!api_member_value(&st->members[i], api_member_families[f].field, &v))
				continue;
			api_member_labels(lb, sizeof(lb), &st->members[i]);
			prom_sample(sb, api_member_families[f].name, lb, v);
		}
	}
	api_metric_paths(sb, st);
}

/* lanrage_daemon_discovery_*: LAN discovery's counters (docs/LAN_DISCOVERY.md). */
static void api_metric_disco(struct strbuf *sb, struct party *p)
{
	static const struct {
		const char *event;
		size_t off;
	} ev[] = {
#define EV(f) { #f, offsetof(struct disco_counters, f) }
		EV(captured), EV(forwarded), EV(copies), EV(duplicates), EV(rate_limited),
		EV(denied), EV(not_game), EV(invalid), EV(same_lan), EV(native_received),
		EV(native_refused),
#undef EV
	};
	struct disco_status ds;

	if (party_disco_status(p, &ds))
		return;
	prom_family(sb, "lanrage_daemon_discovery_packets_total", PROM_COUNTER,
		    "LAN discovery datagrams by what happened to them (docs/LAN_DISCOVERY.md).");
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		char lb[64] = "";
		uint64_t v;

		memcpy(&v, (const char *)&ds.c + ev[i].off, sizeof(v));
		prom_label(lb, sizeof(lb), "event", ev[i].event);
		prom_sample_u64(sb, "lanrage_daemon_discovery_packets_total", lb, v);
	}
	prom_family(sb, "lanrage_daemon_discovery_adverts_total", PROM_COUNTER,
		    "Game-group adverts exchanged with members.");
	prom_sample_u64(sb, "lanrage_daemon_discovery_adverts_total", "direction=\"sent\"",
			ds.c.adverts_sent);
	prom_sample_u64(sb, "lanrage_daemon_discovery_adverts_total", "direction=\"received\"",
			ds.c.adverts_received);
	prom_family(sb, "lanrage_daemon_discovery_capturing", PROM_GAUGE,
		    "1 while LAN discovery captures this host's discovery traffic.");
	prom_sample(sb, "lanrage_daemon_discovery_capturing", NULL, ds.capturing);
}

static int api_metrics_off(char **body)
{
	json_t *j = json_pack("{s:s, s:s}", "error", "metrics_off", "message",
			      "metrics are off; turn them on with: lanrage settings set metrics true");

	*body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return 404;
}

int api_metrics(struct party *p, char **body)
{
	char value[CONFIG_VALUE_MAX] = "";
	struct party_status st;
	struct config_info info;
	struct strbuf sb;

	*body = NULL;
	if (party_setting_get(p, "metrics", &info, value, sizeof(value)) || strcmp(value, "true"))
		return api_metrics_off(body);
	if (party_status(p, &st)) {
		party_status_free(&st);
		return 500;
	}
	strbuf_init(&sb);
	prom_family(&sb, "lanrage_build_info", PROM_GAUGE, "The program's version, as a label.");
	prom_sample(&sb, "lanrage_build_info", "program=\"lanrage\",version=\"" LANRAGE_VERSION "\"",
		    1);
	api_metric_states(&sb, &st);
	api_metric_peers(&sb, &st);
	party_status_free(&st);
	api_metric_disco(&sb, p);
	prom_process(&sb);
	*body = strbuf_take(&sb);
	return *body ? 200 : 500;
}
