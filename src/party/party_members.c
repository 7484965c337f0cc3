/*
 * party_members: the member list (every member of our party but ourselves)
 * kept in step with the control plane's events, each change handed to conn.
 *
 * Invariant: p->members holds exactly the peers conn has been given, in the
 * control plane's latest known state; a peer appears at most once. All
 * functions run with p->lock held (party_on_event from ctl_client_dispatch
 * in party_run, which holds it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "party/party_internal.h"

static ssize_t party_member_index(const struct party *p, const char *peer_id)
{
	for (size_t i = 0; i < p->n_members; i++)
		if (!strcmp(p->members[i].peer_id, peer_id))
			return (ssize_t)i;
	return -1;
}

const struct ctl_peer *party_member_find(const struct party *p, const char *who)
{
	for (size_t i = 0; i < p->n_members; i++) {
		const struct ctl_peer *m = &p->members[i];

		if (!strcasecmp(m->peer_id, who) || !strcmp(m->virtual_ip, who) ||
		    !strcmp(m->name, who))
			return m;
	}
	return NULL;
}

void party_members_clear(struct party *p)
{
	free(p->members);
	p->members = NULL;
	p->n_members = 0;
}

/* What the control plane says about a member must not take over another
 * member's traffic: a member's key never changes under its peer ID (the
 * control plane keys peers by their WireGuard key), and no two members (nor
 * a member and we) share a virtual IP or a key. A control plane that says
 * otherwise is compromised or broken; the claim is ignored, logged once. */
static bool party_member_claim_ok(const struct party *p, const struct ctl_peer *peer, ssize_t self)
{
	const char *why = NULL;

	if (self >= 0 && memcmp(p->members[self].public_key, peer->public_key, 32))
		why = "a new key under a known peer ID";
	else if (p->self_ip[0] && !strcmp(peer->virtual_ip, p->self_ip))
		why = "our own virtual IP";
	for (size_t j = 0; !why && j < p->n_members; j++) {
		if ((ssize_t)j == self)
			continue;
		if (!strcmp(p->members[j].virtual_ip, peer->virtual_ip))
			why = "another member's virtual IP";
		else if (!memcmp(p->members[j].public_key, peer->public_key, 32))
			why = "another member's key";
	}
	if (!why)
		return true;
	log_kv(LOG_WARN, PARTY_TAG, "ignoring a member record from the control plane",
	       LOG_STR("peer_id", peer->peer_id), LOG_STR("virtual_ip", peer->virtual_ip),
	       LOG_STR("why", why));
	return false;
}

static int party_member_add(struct party *p, const struct ctl_peer *peer)
{
	struct ctl_peer *n;
	int r;

	if (!strcmp(peer->peer_id, p->self_id) || party_member_index(p, peer->peer_id) >= 0)
		return 0;
	if (!party_member_claim_ok(p, peer, -1))
		return 0;
	n = realloc(p->members, (p->n_members + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->members = n;
	r = p->conn ? conn_peer_add(p->conn, peer) : 0;
	if (r) {
		log_kv(LOG_WARN, PARTY_TAG, "cannot add member", LOG_STR("peer_id", peer->peer_id),
		       LOG_INT("error", r));
		return r;
	}
	p->members[p->n_members++] = *peer;
	p->disco_dirty = true;
	log_kv(LOG_INFO, PARTY_TAG, "member added", LOG_STR("peer_id", peer->peer_id),
	       LOG_STR("name", peer->name), LOG_STR("virtual_ip", peer->virtual_ip));
	return 0;
}

static void party_member_remove(struct party *p, const char *peer_id, const char *reason)
{
	ssize_t i = party_member_index(p, peer_id);

	if (i < 0)
		return;
	if (p->conn)
		conn_peer_remove(p->conn, peer_id);
	p->members[i] = p->members[--p->n_members];
	p->disco_dirty = true;
	log_kv(LOG_INFO, PARTY_TAG, "member removed", LOG_STR("peer_id", peer_id),
	       LOG_STR("reason", reason));
}

static void party_member_update(struct party *p, const struct ctl_peer *peer)
{
	ssize_t i = party_member_index(p, peer->peer_id);

	if (i < 0) {
		party_member_add(p, peer);
		return;
	}
	if (!memcmp(&p->members[i], peer, sizeof(*peer)) || !party_member_claim_ok(p, peer, i))
		return;
	if (p->conn && conn_peer_update(p->conn, peer))
		log_kv(LOG_WARN, PARTY_TAG, "cannot update member", LOG_STR("peer_id", peer->peer_id));
	p->members[i] = *peer;
	p->disco_dirty = true;
}

int party_members_set(struct party *p, const struct ctl_party *cp)
{
	int r;

	party_members_clear(p);
	for (size_t i = 0; i < cp->n_peers; i++)
		if ((r = party_member_add(p, &cp->peers[i])))
			return r;
	return 0;
}

void party_members_reconcile(struct party *p, const struct ctl_party *cp)
{
	size_t i = 0;

	while (i < p->n_members) {
		bool found = false;

		for (size_t j = 0; j < cp->n_peers && !found; j++)
			found = !strcmp(cp->peers[j].peer_id, p->members[i].peer_id);
		if (found) {
			i++;
			continue;
		}
		/* removal moves the last member here: look at index i again */
		party_member_remove(p, p->members[i].peer_id, "resync");
	}
	for (i = 0; i < cp->n_peers; i++)
		if (strcmp(cp->peers[i].peer_id, p->self_id))
			party_member_update(p, &cp->peers[i]);
}

void party_on_event(void *arg, const struct ctl_event *ev)
{
	struct party *p = arg;
	bool ours = p->state == PARTY_ACTIVE && !strcmp(ev->party_id, p->party_id);

	switch (ev->kind) {
	case CTL_EV_PEER_JOINED:
		if (ours)
			party_member_add(p, &ev->peer);
		break;
	case CTL_EV_PEER_LEFT:
		if (ours)
			party_member_remove(p, ev->peer_id, ev->reason);
		break;
	case CTL_EV_PEER_UPDATED:
		if (ours)
			party_member_update(p, &ev->peer);
		break;
	case CTL_EV_SIGNAL:
		if (p->conn)
			conn_on_signal(p->conn, ev->from, ev->payload_json);
		break;
	case CTL_EV_CONNECTED:
		p->control_connected = true;
		if (!p->synced)
			p->need_sync = true; /* party_run registers and resumes now */
		log_info(PARTY_TAG, "control plane connected");
		break;
	case CTL_EV_DISCONNECTED:
		p->control_connected = false;
		log_warn(PARTY_TAG, "control plane connection lost; reconnecting "
				    "(tunnels stay up)");
		break;
	case CTL_EV_RESYNC:
		if (p->state == PARTY_IDLE && ev->party) {
			/* A party we do not hold (a leave the server never heard):
			 * party_run leaves it, outside this dispatch. */
			memcpy(p->stray, ev->party->party_id, sizeof(p->stray));
			break;
		}
		if (p->state != PARTY_ACTIVE)
			break;
		if (!ev->party || strcmp(ev->party->party_id, p->party_id)) {
			/* The control plane dropped us (a timeout while away): the
			 * tunnels stay, members are kept until we leave or rejoin. */
			log_kv(LOG_WARN, PARTY_TAG,
			       "the control plane no longer has us in the party; "
			       "leave and join again",
			       LOG_STR("party_id", p->party_id));
			break;
		}
		party_members_reconcile(p, ev->party);
		log_kv(LOG_INFO, PARTY_TAG, "resynchronised with the control plane",
		       LOG_STR("party_id", p->party_id), LOG_UINT("members", p->n_members));
		break;
	}
}
