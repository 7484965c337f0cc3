/*
 * party_disco: the PartyManager's side of LAN discovery (src/disco): starts
 * the engine with the party, gives it the members (and which of them are
 * reached directly, for the same-LAN check), and applies the lan_discovery
 * settings the moment they change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "party/party_internal.h"
#include "util/time.h"

enum { PARTY_DISCO_SYNC_MS = 2000 }; /* paths change without a party event */

/* Lock held. The policy from the settings (validated when they were set). */
static int party_disco_policy(struct party *p, struct disco_policy *out)
{
	char err[256];
	bool on = true;
	int r;

	pthread_mutex_lock(&p->config_lock);
	config_get_bool(p->config, "lan_discovery", &on);
	r = disco_policy_parse(out, on, config_get(p->config, "lan_discovery_ports"),
			       config_get(p->config, "lan_discovery_mode"),
			       config_get(p->config, "lan_discovery_allow_system"), err, sizeof(err));
	pthread_mutex_unlock(&p->config_lock);
	if (r)
		log_error(PARTY_TAG, "%s", err);
	return r;
}

/* The direct endpoint's IPv4 address of "IP:PORT", or 0. */
static struct in_addr party_disco_direct(const struct conn_peer_status *s)
{
	struct in_addr a = { 0 };
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(s->endpoint, ':');

	if (s->path == CONN_PATH_DIRECT && colon && (size_t)(colon - s->endpoint) < sizeof(ip)) {
		memcpy(ip, s->endpoint, (size_t)(colon - s->endpoint));
		ip[colon - s->endpoint] = '\0';
		if (inet_pton(AF_INET, ip, &a) != 1)
			a.s_addr = 0;
	}
	return a;
}

void party_disco_sync(struct party *p)
{
	struct conn_peer_status *st = NULL;
	struct disco_member *m;
	size_t n = 0, k = 0;

	if (!p->disco || !p->conn || conn_status(p->conn, &st, &n))
		return;
	m = calloc(n ? n : 1, sizeof(*m));
	for (size_t i = 0; m && i < n; i++) {
		if (inet_pton(AF_INET, st[i].virtual_ip, &m[k].vip) != 1)
			continue;
		snprintf(m[k].peer_id, sizeof(m[k].peer_id), "%s", st[i].peer_id);
		snprintf(m[k].name, sizeof(m[k].name), "%s", st[i].name);
		m[k].direct_ip = party_disco_direct(&st[i]);
		m[k].reachable = st[i].path == CONN_PATH_DIRECT || st[i].path == CONN_PATH_RELAY;
		k++;
	}
	if (m)
		disco_set_members(p->disco, m, k);
	free(m);
	free(st);
	p->disco_synced_ms = time_mono_ns() / TIME_NS_PER_MS;
	p->disco_dirty = false;
}

uint64_t party_disco_run(struct party *p)
{
	uint64_t now = time_mono_ns() / TIME_NS_PER_MS;

	if (!p->disco)
		return UINT64_MAX;
	if (p->disco_dirty || now - p->disco_synced_ms >= PARTY_DISCO_SYNC_MS)
		party_disco_sync(p);
	return PARTY_DISCO_SYNC_MS;
}

void party_disco_start(struct party *p, struct in_addr self_ip)
{
	struct disco_config dc = { .ifname = p->ifname, .self_ip = self_ip, .prefix = p->prefix,
				   .mtu = p->mtu };
	struct disco_policy pol;
	int r = party_disco_policy(p, &pol);

	if (!r)
		r = disco_new(&dc, &pol, &p->disco);
	if (r) {
		snprintf(p->disco_error, sizeof(p->disco_error),
			 "LAN discovery could not start: %s", strerror(-r));
		log_warn(PARTY_TAG, "%s", p->disco_error);
		return;
	}
	p->disco_error[0] = '\0';
	party_disco_sync(p);
}

void party_disco_stop(struct party *p)
{
	disco_free(p->disco);
	p->disco = NULL;
}

void party_disco_reload(struct party *p)
{
	struct disco_policy pol;

	if (p->disco && !party_disco_policy(p, &pol)) {
		disco_set_policy(p->disco, &pol);
		log_kv(LOG_INFO, PARTY_TAG, "LAN discovery settings applied",
		       LOG_BOOL("enabled", pol.enabled));
	}
}

int party_disco_status(struct party *p, struct disco_status *out)
{
	pthread_mutex_lock(&p->lock);
	if (p->disco) {
		disco_status(p->disco, out);
	} else {
		bool on = true;

		memset(out, 0, sizeof(*out));
		pthread_mutex_lock(&p->config_lock);
		config_get_bool(p->config, "lan_discovery", &on);
		pthread_mutex_unlock(&p->config_lock);
		out->enabled = on;
		snprintf(out->error, sizeof(out->error), "%s",
			 p->state != PARTY_ACTIVE ? "not in a party" : p->disco_error);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int party_games(struct party *p, struct disco_game_seen **out, size_t *n)
{
	int r;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&p->lock);
	r = p->disco ? disco_games(p->disco, out, n) : 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}
