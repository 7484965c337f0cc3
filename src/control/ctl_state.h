/*
 * ctl_state: the control core's in-memory state, private to src/control/
 * (ctl_core.c, ctl_handlers.c, ctl_rest.c, ctl_store.c). SQLite holds the
 * durable copy; memory is authoritative while the core runs and every change
 * is written to the store before it is applied here, so a refused write
 * leaves both unchanged.
 *
 * Invariants:
 * - a peer is in peers_by_id and peers_by_key from registration on;
 * - peer->party is set exactly while the peer is in party->members (at index
 *   peer->member_idx), holds party->ipam address peer->vip, and is on the
 *   core's live_members list, ordered by last_mono_ns (oldest first);
 * - a party exists only while it has a member;
 * - peer->session and session->peer point at each other or are both NULL;
 * - every peer is on the core's gc_peers list, ordered by seen_ns (oldest
 *   first); a peer with a session or a party is never collected;
 * - a session is on auth_pending (ordered by opened_ns) exactly while it is
 *   alive, has neither a peer nor relay rights, and the core has an
 *   authentication deadline;
 * - session->src counts the session in src->sessions until it is closed.
 */
#ifndef LR_CONTROL_CTL_STATE_H
#define LR_CONTROL_CTL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "control/control.h"
#include "control/ctl_core.h"
#include "control/ctl_ids.h"
#include "control/ctl_ipam.h"
#include "control/ctl_limit.h"
#include "control/ctl_map.h"
#include "control/ctl_metrics.h"
#include "nat/relay_ticket.h"

struct ctl_store;

/* A circular intrusive list, as in the kernel's list_head. */
struct ctl_list {
	struct ctl_list *prev, *next;
};

#define ctl_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void ctl_list_init(struct ctl_list *h)
{
	h->prev = h->next = h;
}

static inline bool ctl_list_empty(const struct ctl_list *h)
{
	return h->next == h;
}

static inline void ctl_list_del(struct ctl_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static inline void ctl_list_add_tail(struct ctl_list *h, struct ctl_list *e)
{
	e->prev = h->prev;
	e->next = h;
	h->prev->next = e;
	h->prev = e;
}

struct ctl_party_rec;
struct ctl_session;

struct ctl_peer_rec {
	char id[CTL_HEXID_LEN + 1];
	uint8_t public_key[32];
	char name[CTL_MAX_NAME + 1];
	char version[33];
	uint8_t token_hash[CTL_TOKEN_HASH];
	struct ctl_nat nat;
	char endpoints[CTL_MAX_ENDPOINTS][CTL_ENDPOINT_LEN];
	size_t n_endpoints;
	char relay[CTL_MAX_NAME + 1];
	int64_t created_at;
	int64_t last_seen;        /* Unix seconds, in memory; see ctl_core_touch */
	int64_t last_seen_stored; /* the value SQLite has */

	struct ctl_party_rec *party;
	size_t member_idx;
	uint32_t vip;
	int64_t joined_at;
	uint64_t last_mono_ns;
	struct ctl_list live;

	struct ctl_session *session;
	int64_t seen_ns;          /* monotonic; may be negative for a peer loaded stale */
	struct ctl_list gc;
	struct ctl_bucket signals; /* signal bytes sent to this peer */
	uint8_t ticket[RELAY_TICKET_LEN];
	uint64_t ticket_expires;  /* Unix seconds; 0: none issued yet */
};

struct ctl_party_rec {
	char id[CTL_CODE_SYMBOLS + 1]; /* canonical, no separators */
	char name[CTL_MAX_NAME + 1];
	char host[CTL_HEXID_LEN + 1];
	int64_t created_at;
	uint32_t max_members;
	struct ctl_peer_rec **members;
	size_t n_members, cap;
	struct ctl_ipam ipam;
};

struct ctl_relay_rec {
	struct ctl_relay info; /* as relays_list shows it */
	uint64_t last_mono_ns;
	struct ctl_list live;
};

/* Per source address: its sessions and its registration bucket. Freed when
 * it has no session and a full bucket. */
struct ctl_source {
	char key[CTL_MAX_SOURCE + 1];
	uint32_t sessions;
	uint32_t refused; /* sessions refused, for logging 1, 2, 4, 8, ... of them */
	struct ctl_bucket registers;
};

struct ctl_session {
	struct ctl_core *core;
	struct ctl_session_ops ops;
	struct ctl_peer_rec *peer;
	bool dead;  /* closed by the core; waits for ctl_session_close */
	bool relay; /* proved the relay secret */
	uint8_t server_priv[32], server_pub[32], challenge[32];
	struct ctl_bucket rate;
	struct ctl_list link;
	struct ctl_source *src; /* NULL: a trusted in-process session */
	uint64_t opened_ns;
	struct ctl_list auth; /* on auth_pending */
};

struct ctl_core {
	struct ctl_core_opts opts; /* strings point at the copies below */
	char *db_path, *relay_secret, *server_name;
	unsigned prefix;
	struct ctl_store *store;
	struct ctl_map peers_by_id, peers_by_key, parties, relays, sources;
	struct ctl_list live_members, live_relays, sessions, gc_peers, auth_pending;
	struct ctl_rate msg_rate, register_rate, signal_rate;
	uint64_t next_source_sweep_ns;
	/* The relay ticket key (nat/relay_ticket.h), kept in the store. */
	uint8_t ticket_sk[RELAY_TICKET_SK_LEN]; /* secret */
	uint8_t ticket_pk[RELAY_TICKET_PK_LEN];
	struct ctl_core_stats stats;
	struct ctl_metrics metrics;
};

/* ctl_core.c */
int64_t ctl_core_unix(void);
/* Indexes a peer or relay loaded or created (the core then owns it). 0 or
 * -ENOMEM (nothing indexed). */
int ctl_core_peer_index(struct ctl_core *c, struct ctl_peer_rec *p);
int ctl_core_relay_index(struct ctl_core *c, struct ctl_relay_rec *r);
/* Memory only: the caller has written the member row (or loaded it). The
 * address must be free. 0 or -ENOMEM. */
int ctl_party_add_member(struct ctl_core *c, struct ctl_party_rec *p, struct ctl_peer_rec *peer,
			 uint32_t vip, int64_t joined_at);
/* Sends msg (taking it; NULL is logged as an allocation failure) to s. */
void ctl_core_send(struct ctl_core *c, struct ctl_session *s, char *msg);
/* Sends event ev (taken) to the members of p with a session, except `except`
 * and, when only is set, to nobody but only. */
void ctl_core_event(struct ctl_core *c, const struct ctl_party_rec *p,
		    const struct ctl_peer_rec *except, const struct ctl_peer_rec *only, json_t *ev);
/* Removes peer from its party in the store and in memory and tells the
 * others (peer_left with reason). 0 or -EIO (nothing changed). */
int ctl_core_member_leave(struct ctl_core *c, struct ctl_peer_rec *peer, const char *reason);
/* A message from peer: refreshes its liveness. */
void ctl_core_touch(struct ctl_core *c, struct ctl_peer_rec *peer);
void ctl_core_relay_touch(struct ctl_core *c, struct ctl_relay_rec *r);
/* Binds s to peer; an older session of the peer is killed and closed. */
void ctl_session_bind(struct ctl_session *s, struct ctl_peer_rec *peer);
/* s proved the relay secret: it may stay without a peer. */
void ctl_session_relay(struct ctl_session *s);
/* The base64 relay ticket for peer's key (re-signed when less than half of
 * its lifetime is left); NULL on allocation failure. */
json_t *ctl_core_ticket(struct ctl_core *c, struct ctl_peer_rec *peer);
/* Memory only; frees the party when it was the last member. */
void ctl_party_remove_member(struct ctl_core *c, struct ctl_peer_rec *peer);
/* A new empty party indexed under id; NULL on allocation failure. */
struct ctl_party_rec *ctl_party_new(struct ctl_core *c, const char *id);
void ctl_party_free(struct ctl_core *c, struct ctl_party_rec *p);

/* ctl_json.c: objects as the protocol shows them. NULL on allocation failure. */
json_t *ctl_json_peer(const struct ctl_peer_rec *p);
json_t *ctl_json_party(const struct ctl_party_rec *p, bool with_peers);
json_t *ctl_json_relay(const struct ctl_relay_rec *r);
json_t *ctl_json_relays(struct ctl_core *c);

#endif
