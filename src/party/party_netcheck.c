/*
 * party_netcheck: `lanrage netcheck` on a daemon that is in no party.
 *
 * In a party the report is conn's, made on the WireGuard socket when the
 * party came up. Idle, there is no WireGuard socket, so a check runs now from
 * a socket of its own on a free port, against the stun_servers setting, else
 * the control plane's relays (each runs a STUN server on the standard port of
 * its host), as for a party.
 *
 * Not from the WireGuard listen port, though it is free while idle: every
 * packet of a check opens the NAT's filter toward the STUN servers' addresses
 * for as long as the NAT keeps the mapping (minutes), so the next check from
 * that port, the party's own when it comes up, would find the filter open and
 * report a full-cone NAT behind a port-restricted one (seen in natlab). From
 * another port, a port-preserving NAT shows the same behaviour; only the
 * public port differs from the tunnel's.
 *
 * The party lock is held only to copy what the check needs: asking the
 * control plane and the check itself (seconds) run without it, so status and
 * the control loop go on meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "nat/netcheck.h"
#include "party/party_internal.h"

/* As conn's check on the WireGuard socket, so both reports compare. */
#define PARTY_NETCHECK_TIMEOUT_MS 3000

/* What the check needs, copied under the lock. */
struct party_nc_plan {
	struct ctl_client *ctl; /* lives as long as p */
	char control_url[256];  /* "" in local mode */
	char *servers[NETCHECK_MAX_SERVERS];
	size_t n_servers;       /* from the setting; 0: ask the relays */
};

static void party_nc_plan_free(struct party_nc_plan *pl)
{
	for (size_t i = 0; i < pl->n_servers; i++)
		free(pl->servers[i]);
	pl->n_servers = 0;
}

static int party_nc_add(struct party_nc_plan *pl, const char *server)
{
	if (pl->n_servers == NETCHECK_MAX_SERVERS)
		return 0; /* netcheck takes no more; the first ones suffice */
	pl->servers[pl->n_servers] = strdup(server);
	if (!pl->servers[pl->n_servers])
		return -ENOMEM;
	pl->n_servers++;
	return 0;
}

/* -EBUSY when a party is coming up or going down meanwhile. */
static int party_nc_plan(struct party *p, struct party_nc_plan *pl, char *err, size_t errlen)
{
	int r = 0;

	memset(pl, 0, sizeof(*pl));
	pthread_mutex_lock(&p->lock);
	if (p->state != PARTY_IDLE) {
		snprintf(err, errlen, "the daemon is %s a party; try again in a moment",
			 p->state == PARTY_LEAVING ? "leaving" : "joining");
		r = -EBUSY;
		goto out;
	}
	pl->ctl = p->ctl;
	snprintf(pl->control_url, sizeof(pl->control_url), "%s", p->control_url);
	for (size_t i = 0; !p->stun_from_relays && !r && i < p->n_stun; i++)
		r = party_nc_add(pl, p->stun[i]);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* The relays' STUN servers: each relay's host on the standard STUN port. */
static int party_nc_from_relays(struct party_nc_plan *pl, char *err, size_t errlen)
{
	struct ctl_relay *relays = NULL;
	char host[CTL_ENDPOINT_LEN + 8], why[PARTY_ERR_MAX] = "";
	const char *msg = "";
	size_t n = 0;
	int r;

	if (pl->control_url[0] && !ctl_client_ready(pl->ctl)) {
		/* A request would wait out its timeout for a connection that is not there. */
		ctl_client_transport_error(pl->ctl, why, sizeof(why));
		snprintf(err, errlen,
			 "the control plane at %s is unreachable: %s; or pass --stun HOST",
			 pl->control_url, why[0] ? why : "not connected (or not registered) yet");
		return -ENOTCONN;
	}
	r = ctl_relays_list(pl->ctl, &relays, &n);
	if (r) {
		ctl_client_error(pl->ctl, &msg);
		snprintf(err, errlen, "cannot list the relays of the control plane%s%s: %s; "
			 "or pass --stun HOST", pl->control_url[0] ? " at " : "", pl->control_url,
			 msg[0] ? msg : strerror(-r));
		return -ENOTCONN;
	}
	for (size_t i = 0; !r && i < n; i++)
		if (!party_relay_stun(&relays[i], host, sizeof(host)))
			r = party_nc_add(pl, host);
	free(relays);
	if (!r && !pl->n_servers) {
		snprintf(err, errlen, "no STUN server: the stun_servers setting is empty and the "
			 "control plane%s%s has no relay; pass --stun HOST",
			 pl->control_url[0] ? " at " : " (local mode)", pl->control_url);
		r = -ENOENT;
	}
	return r;
}

/* Runs the check from a free port (not the listen port: see the top). */
static int party_nc_run(const struct party_nc_plan *pl, struct netcheck_report *rep, char *err,
			size_t errlen)
{
	struct netcheck_config cfg = { .timeout_ms = PARTY_NETCHECK_TIMEOUT_MS,
				       .skip_hairpin = true };
	struct netcheck_socket sock;
	int r;

	for (size_t i = 0; i < pl->n_servers; i++)
		cfg.servers[cfg.n_servers++] = pl->servers[i];
	r = netcheck_socket_open(&sock, 0);
	if (r) {
		snprintf(err, errlen, "cannot open a UDP socket for the check: %s", strerror(-r));
		return r;
	}
	r = netcheck_run(&cfg, &sock.io, rep);
	netcheck_socket_close(&sock);
	if (r == -EHOSTUNREACH)
		snprintf(err, errlen, "no STUN server could be resolved (%s: %s)",
			 rep->servers[0].name, rep->servers[0].error);
	else if (r)
		snprintf(err, errlen, "the check failed: %s", strerror(-r));
	return r;
}

int party_netcheck_idle(struct party *p, struct netcheck_report *rep, bool *from_relays,
			char *err, size_t errlen)
{
	struct party_nc_plan pl;
	int r;

	memset(rep, 0, sizeof(*rep));
	*from_relays = false;
	err[0] = '\0';
	r = party_nc_plan(p, &pl, err, errlen);
	if (!r && !pl.n_servers) {
		*from_relays = true;
		r = party_nc_from_relays(&pl, err, errlen);
	}
	if (!r)
		r = party_nc_run(&pl, rep, err, errlen);
	if (r && !err[0])
		snprintf(err, errlen, "the check failed: %s", strerror(-r));
	if (r)
		log_warn(PARTY_TAG, "netcheck: %s", err);
	else
		log_kv(LOG_INFO, PARTY_TAG, "netcheck while idle",
		       LOG_STR("nat", nat_type_name(rep->type)),
		       LOG_UINT("servers", pl.n_servers), LOG_UINT("public", rep->n_public));
	party_nc_plan_free(&pl);
	return r;
}
