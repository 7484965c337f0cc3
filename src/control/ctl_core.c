/*
 * ctl_core: the control core's lifecycle, sessions, liveness and batching
 * (docs/CONTROL.md); request handlers are in ctl_handlers.c, REST in
 * ctl_rest.c, persistence in ctl_store.c.
 *
 * Liveness is an LRU list: every message from a member moves it to the tail
 * of live_members, so the members to expire are always at the head and a
 * tick costs O(expired), not O(members). Relays work the same way.
 *
 * last_seen is kept in memory and written to SQLite only when it moved by
 * CTL_SEEN_PERSIST_S: with 5,000 members heartbeating every 25 s, writing
 * each heartbeat would be 200 row updates a second for a value nothing needs
 * exactly after a restart (every member gets a fresh timeout then anyway).
 *
 * Garbage collection works like liveness on a second LRU list of every
 * peer (gc_peers), on the monotonic clock: a peer loaded from the store is
 * placed as far back as its stored last_seen says. Sessions waiting to
 * authenticate are a third list, in opening order, so the deadline check is
 * O(expired) too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_core.h"
#include "control/ctl_handlers.h"
#include "control/ctl_proto.h"
#include "control/ctl_state.h"
#include "control/ctl_store.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"

#define MOD "ctl"

enum {
	CTL_SEEN_PERSIST_S = 300,
	CTL_SOURCE_SWEEP_MS = 60000, /* how often idle source entries are looked at */
	CTL_GC_PER_TICK = 1024,      /* peers forgotten per tick: the loop keeps serving */
};

static const char ctl_ticket_secret_name[] = "relay_ticket_key";

void ctl_core_opts_default(struct ctl_core_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db_path = ":memory:";
	o->subnet = 0x0a420000; /* 10.66.0.0 */
	o->prefix = 16;
	o->peer_timeout_ms = 90000;
	o->relay_timeout_ms = 90000;
	o->batch_window_ms = 20;
	o->rate_per_sec = 20;
	o->rate_burst = 40;
	o->server_name = "lanrage-control/0.1.0";
	o->auth_timeout_ms = 10000;
	o->peer_gc_ms = 30ULL * 86400 * 1000;
	o->source_sessions = 256;
	o->source_register_rate = 60;
	o->source_register_burst = 256;
	o->signal_rate = 64 * 1024;
	o->signal_burst = 256 * 1024;
}

int64_t ctl_core_unix(void)
{
	uint64_t sec;
	uint32_t nsec;

	time_wall(&sec, &nsec);
	return (int64_t)sec;
}

int ctl_core_peer_index(struct ctl_core *c, struct ctl_peer_rec *p)
{
	int ret = ctl_map_put(&c->peers_by_id, p->id, CTL_HEXID_LEN, p);

	if (ret)
		return ret;
	ret = ctl_map_put(&c->peers_by_key, p->public_key, 32, p);
	if (ret) {
		ctl_map_del(&c->peers_by_id, p->id, CTL_HEXID_LEN);
		return ret;
	}
	ctl_list_init(&p->live);
	ctl_list_init(&p->gc);
	ctl_list_add_tail(&c->gc_peers, &p->gc);
	c->stats.peers++;
	return 0;
}

/* Deletes a peer that has no session and no party, in the store and in
 * memory. 0 or -EIO (nothing changed). */
static int ctl_core_peer_forget(struct ctl_core *c, struct ctl_peer_rec *p)
{
	int ret = ctl_store_req_begin(c->store);

	if (!ret)
		ret = ctl_store_req_end(c->store, !ctl_store_peer_del(c->store, p->id, p->public_key));
	if (ret)
		return -EIO;
	log_info(MOD, "peer %s not seen for %llu s: forgotten", p->id,
		 (unsigned long long)(c->opts.peer_gc_ms / 1000));
	ctl_map_del(&c->peers_by_id, p->id, CTL_HEXID_LEN);
	ctl_map_del(&c->peers_by_key, p->public_key, 32);
	ctl_list_del(&p->gc);
	c->stats.peers--;
	c->stats.peers_collected++;
	crypto_wipe(p, sizeof(*p));
	free(p);
	return 0;
}

int ctl_core_relay_index(struct ctl_core *c, struct ctl_relay_rec *r)
{
	int ret = ctl_map_put(&c->relays, r->info.relay_id, CTL_HEXID_LEN, r);

	if (ret)
		return ret;
	r->last_mono_ns = time_mono_ns();
	ctl_list_init(&r->live);
	ctl_list_add_tail(&c->live_relays, &r->live);
	c->stats.relays++;
	return 0;
}

void ctl_core_relay_touch(struct ctl_core *c, struct ctl_relay_rec *r)
{
	r->last_mono_ns = time_mono_ns();
	r->info.last_seen = ctl_core_unix();
	ctl_list_del(&r->live);
	ctl_list_add_tail(&c->live_relays, &r->live);
}

static void ctl_relay_drop(struct ctl_core *c, struct ctl_relay_rec *r)
{
	ctl_map_del(&c->relays, r->info.relay_id, CTL_HEXID_LEN);
	ctl_list_del(&r->live);
	c->stats.relays--;
	free(r);
}

struct ctl_party_rec *ctl_party_new(struct ctl_core *c, const char *id)
{
	struct ctl_party_rec *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	memcpy(p->id, id, CTL_CODE_SYMBOLS);
	ctl_ipam_init(&p->ipam, c->opts.subnet, c->prefix);
	if (ctl_map_put(&c->parties, p->id, CTL_CODE_SYMBOLS, p)) {
		ctl_ipam_free(&p->ipam);
		free(p);
		return NULL;
	}
	c->stats.parties++;
	return p;
}

void ctl_party_free(struct ctl_core *c, struct ctl_party_rec *p)
{
	ctl_map_del(&c->parties, p->id, CTL_CODE_SYMBOLS);
	for (size_t i = 0; i < p->n_members; i++) {
		p->members[i]->party = NULL;
		ctl_list_del(&p->members[i]->live);
		c->stats.members--;
	}
	ctl_ipam_free(&p->ipam);
	free(p->members);
	free(p);
	c->stats.parties--;
}

int ctl_party_add_member(struct ctl_core *c, struct ctl_party_rec *p, struct ctl_peer_rec *peer,
			 uint32_t vip, int64_t joined_at)
{
	int ret;

	if (p->n_members == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct ctl_peer_rec **m = realloc(p->members, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		p->members = m;
		p->cap = cap;
	}
	ret = ctl_ipam_take(&p->ipam, peer->public_key, vip, peer);
	if (ret)
		return ret;
	peer->member_idx = p->n_members;
	p->members[p->n_members++] = peer;
	peer->party = p;
	peer->vip = vip;
	peer->joined_at = joined_at;
	peer->last_mono_ns = time_mono_ns();
	ctl_list_del(&peer->live);
	ctl_list_add_tail(&c->live_members, &peer->live);
	c->stats.members++;
	return 0;
}

void ctl_party_remove_member(struct ctl_core *c, struct ctl_peer_rec *peer)
{
	struct ctl_party_rec *p = peer->party;
	size_t i = peer->member_idx;

	/* memmove keeps join order, which party listings show; O(party size). */
	memmove(&p->members[i], &p->members[i + 1], (p->n_members - i - 1) * sizeof(*p->members));
	p->n_members--;
	for (; i < p->n_members; i++)
		p->members[i]->member_idx = i;
	ctl_ipam_release(&p->ipam, peer->vip);
	ctl_list_del(&peer->live);
	peer->party = NULL;
	peer->vip = 0;
	c->stats.members--;
	if (!p->n_members)
		ctl_party_free(c, p);
}

void ctl_core_send(struct ctl_core *c, struct ctl_session *s, char *msg)
{
	if (!msg) {
		log_error(MOD, "out of memory building a message; dropped");
		return;
	}
	if (s && !s->dead) {
		s->ops.send(s->ops.arg, msg, strlen(msg));
		c->stats.messages_out++;
	}
	free(msg);
}

void ctl_core_event(struct ctl_core *c, const struct ctl_party_rec *p,
		    const struct ctl_peer_rec *except, const struct ctl_peer_rec *only, json_t *ev)
{
	char *msg = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(ev);
	if (!msg) {
		log_error(MOD, "out of memory building an event; dropped");
		return;
	}
	len = strlen(msg);
	for (size_t i = 0; i < p->n_members; i++) {
		struct ctl_session *s = p->members[i]->session;

		if (p->members[i] == except || (only && p->members[i] != only) || !s || s->dead)
			continue;
		s->ops.send(s->ops.arg, msg, len);
		c->stats.messages_out++;
		c->stats.events_out++;
	}
	free(msg);
}

int ctl_core_member_leave(struct ctl_core *c, struct ctl_peer_rec *peer, const char *reason)
{
	struct ctl_party_rec *p = peer->party;
	char party_text[CTL_CODE_TEXT + 1];
	bool last = p->n_members == 1;
	int ret;

	ret = ctl_store_req_begin(c->store);
	if (ret)
		return ret;
	ret = last ? ctl_store_party_del(c->store, p->id) : ctl_store_member_del(c->store, peer->id);
	if (ctl_store_req_end(c->store, !ret) || ret)
		return -EIO;
	ctl_code_format(p->id, party_text);
	log_info(MOD, "peer %s left party %s (%s)", peer->id, party_text, reason);
	ctl_party_remove_member(c, peer);
	if (!last)
		ctl_core_event(c, p, NULL, NULL,
			       json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "event", "event",
					 "peer_left", "party_id", party_text, "peer_id", peer->id,
					 "reason", reason));
	return 0;
}

void ctl_core_touch(struct ctl_core *c, struct ctl_peer_rec *peer)
{
	int64_t now = ctl_core_unix();

	peer->last_seen = now;
	peer->seen_ns = (int64_t)time_mono_ns();
	ctl_list_del(&peer->gc);
	ctl_list_add_tail(&c->gc_peers, &peer->gc);
	if (peer->party) {
		peer->last_mono_ns = time_mono_ns();
		ctl_list_del(&peer->live);
		ctl_list_add_tail(&c->live_members, &peer->live);
	}
	if (now - peer->last_seen_stored >= CTL_SEEN_PERSIST_S) {
		if (!ctl_store_req_begin(c->store)) {
			int ret = ctl_store_peer_seen(c->store, peer->id, now);

			if (!ctl_store_req_end(c->store, !ret) && !ret)
				peer->last_seen_stored = now;
		}
	}
}

static int ctl_core_check_opts(const struct ctl_core_opts *o)
{
	if (!o->db_path || ctl_ipam_check(o->subnet, o->prefix) || !o->peer_timeout_ms ||
	    !o->relay_timeout_ms || !o->rate_per_sec || !o->rate_burst ||
	    o->rate_per_sec > 1000000 || o->rate_burst > 1000000 ||
	    !o->source_register_rate != !o->source_register_burst ||
	    !o->signal_rate != !o->signal_burst ||
	    (o->signal_burst && o->signal_burst < CTL_MAX_MESSAGE))
		return -EINVAL;
	return 0;
}

/* The bucket parameters; a limit set to 0 keeps max_ns 0 (off). */
static int ctl_core_rates(struct ctl_core *c)
{
	const struct ctl_core_opts *o = &c->opts;

	if (ctl_rate_init(&c->msg_rate, o->rate_per_sec, TIME_NS_PER_SEC, o->rate_burst) ||
	    (o->source_register_rate &&
	     ctl_rate_init(&c->register_rate, o->source_register_rate, 60 * TIME_NS_PER_SEC,
			   o->source_register_burst)) ||
	    (o->signal_rate &&
	     ctl_rate_init(&c->signal_rate, o->signal_rate, TIME_NS_PER_SEC, o->signal_burst)))
		return -EINVAL;
	return 0;
}

/* The relay ticket key: made on the first open and kept in the store. */
static int ctl_core_ticket_key(struct ctl_core *c)
{
	int ret = ctl_store_secret_get(c->store, ctl_ticket_secret_name, c->ticket_sk,
				       sizeof(c->ticket_sk));

	if (ret == -ENOENT) {
		relay_ticket_keypair(c->ticket_pk, c->ticket_sk);
		ret = ctl_store_req_begin(c->store);
		if (!ret)
			ret = ctl_store_req_end(c->store,
						!ctl_store_secret_put(c->store, ctl_ticket_secret_name,
								      c->ticket_sk,
								      sizeof(c->ticket_sk)));
		if (!ret)
			log_info(MOD, "made a new relay ticket key");
		return ret;
	}
	/* An Ed25519 secret key is seed || public key. */
	if (!ret)
		memcpy(c->ticket_pk, c->ticket_sk + RELAY_TICKET_SK_LEN - RELAY_TICKET_PK_LEN,
		       RELAY_TICKET_PK_LEN);
	return ret;
}

json_t *ctl_core_ticket(struct ctl_core *c, struct ctl_peer_rec *peer)
{
	char text[CTL_TICKET_B64 + 1];
	int64_t now = ctl_core_unix();

	if (peer->ticket_expires < (uint64_t)now + RELAY_TICKET_LIFETIME_S / 2) {
		peer->ticket_expires = (uint64_t)now + RELAY_TICKET_LIFETIME_S;
		relay_ticket_sign(peer->ticket, c->ticket_sk, peer->public_key,
				  peer->ticket_expires);
	}
	ctl_bytes_to_b64(peer->ticket, sizeof(peer->ticket), text, sizeof(text));
	return json_string(text);
}

/* Parties left without members by a load (rows dropped as stale). */
static int ctl_core_drop_empty(struct ctl_core *c)
{
	struct ctl_map_iter it;
	struct ctl_party_rec *p;
	int ret = 0;

	ctl_map_iter_init(&it, &c->parties);
	while ((p = ctl_map_next(&it))) {
		if (p->n_members)
			continue;
		if (!ret && !(ret = ctl_store_req_begin(c->store)))
			ret = ctl_store_req_end(c->store, !ctl_store_party_del(c->store, p->id));
		ctl_party_free(c, p);
	}
	return ret;
}

int ctl_core_open(const struct ctl_core_opts *o, struct ctl_core **out)
{
	struct ctl_core *c;
	int ret;

	*out = NULL;
	if (ctl_core_check_opts(o)) {
		log_error(MOD, "invalid control options");
		return -EINVAL;
	}
	if (crypto_init())
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = *o;
	c->prefix = o->prefix;
	c->db_path = strdup(o->db_path);
	c->relay_secret = strdup(o->relay_secret ? o->relay_secret : "");
	c->server_name = strdup(o->server_name ? o->server_name : "lanrage-control");
	ctl_map_init(&c->peers_by_id);
	ctl_map_init(&c->peers_by_key);
	ctl_map_init(&c->parties);
	ctl_map_init(&c->relays);
	ctl_map_init(&c->sources);
	ctl_list_init(&c->live_members);
	ctl_list_init(&c->live_relays);
	ctl_list_init(&c->sessions);
	ctl_list_init(&c->gc_peers);
	ctl_list_init(&c->auth_pending);
	ctl_metrics_init(&c->metrics);
	if (!c->db_path || !c->relay_secret || !c->server_name) {
		ret = -ENOMEM;
		goto err;
	}
	ret = ctl_core_rates(c);
	if (ret) {
		log_error(MOD, "invalid control limits");
		goto err;
	}
	c->opts.db_path = c->db_path;
	c->opts.relay_secret = c->relay_secret;
	c->opts.server_name = c->server_name;
	ret = ctl_store_open(c->db_path, &c->store);
	if (ret)
		goto err;
	ret = ctl_store_load(c->store, c);
	if (!ret)
		ret = ctl_core_ticket_key(c);
	if (!ret)
		ret = ctl_core_drop_empty(c);
	if (!ret)
		ret = ctl_store_commit(c->store);
	if (ret)
		goto err;
	log_info(MOD, "state loaded: %llu peers, %llu parties, %llu relays",
		 (unsigned long long)c->stats.peers, (unsigned long long)c->stats.parties,
		 (unsigned long long)c->stats.relays);
	*out = c;
	return 0;
err:
	ctl_core_close(c);
	return ret == -ENOMEM ? ret : -EIO;
}

void ctl_core_close(struct ctl_core *c)
{
	struct ctl_map_iter it;
	void *v;

	if (!c)
		return;
	if (c->store && ctl_store_commit(c->store))
		log_error(MOD, "last batch lost at close");
	while (!ctl_list_empty(&c->sessions)) {
		struct ctl_session *s = ctl_container_of(c->sessions.next, struct ctl_session, link);

		ctl_list_del(&s->link);
		crypto_wipe(s, sizeof(*s));
		free(s);
	}
	ctl_map_iter_init(&it, &c->sources);
	while ((v = ctl_map_next(&it)))
		free(v);
	ctl_map_free(&c->sources);
	crypto_wipe(c->ticket_sk, sizeof(c->ticket_sk));
	ctl_map_iter_init(&it, &c->parties);
	while ((v = ctl_map_next(&it)))
		ctl_party_free(c, v);
	ctl_map_iter_init(&it, &c->peers_by_id);
	while ((v = ctl_map_next(&it))) {
		crypto_wipe(v, sizeof(struct ctl_peer_rec));
		free(v);
	}
	ctl_map_iter_init(&it, &c->relays);
	while ((v = ctl_map_next(&it)))
		free(v);
	ctl_map_free(&c->peers_by_id);
	ctl_map_free(&c->peers_by_key);
	ctl_map_free(&c->parties);
	ctl_map_free(&c->relays);
	ctl_store_close(c->store);
	free(c->db_path);
	if (c->relay_secret)
		crypto_wipe(c->relay_secret, strlen(c->relay_secret));
	free(c->relay_secret);
	free(c->server_name);
	free(c);
}

/* Commits the open batch, counted and timed (its fsync is the store's cost). */
static int ctl_core_commit(struct ctl_core *c)
{
	uint64_t start = time_mono_ns();
	int ret = ctl_store_commit(c->store);

	if (!ret) {
		c->stats.commits++;
		prom_hist_observe(&c->metrics.store_commit,
				  (double)(time_mono_ns() - start) / 1e9);
	}
	return ret;
}

static uint64_t ctl_ms_until(uint64_t deadline_ns, uint64_t now)
{
	return deadline_ns > now ? (deadline_ns - now + TIME_NS_PER_MS - 1) / TIME_NS_PER_MS : 0;
}

static void ctl_session_kill(struct ctl_session *s);

static uint64_t ctl_min_ms(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Sessions past the authentication deadline are told why and closed. */
static uint64_t ctl_core_auth_deadlines(struct ctl_core *c, uint64_t now, uint64_t next)
{
	uint64_t to = c->opts.auth_timeout_ms * TIME_NS_PER_MS;

	while (!ctl_list_empty(&c->auth_pending)) {
		struct ctl_session *s = ctl_container_of(c->auth_pending.next, struct ctl_session, auth);

		if (s->opened_ns + to > now)
			return ctl_min_ms(next, ctl_ms_until(s->opened_ns + to, now));
		ctl_core_send(c, s, ctl_msg_error(0, CTL_E_UNAUTHORIZED,
						  "no register or auth in time; closing"));
		ctl_session_kill(s);
		c->stats.auth_timeouts++;
		s->ops.close(s->ops.arg);
	}
	return next;
}

/* Forgets peers not seen for peer_gc_ms. One that is connected or in a
 * party is alive whatever it last said: its clock starts again. */
static uint64_t ctl_core_gc(struct ctl_core *c, uint64_t now, uint64_t next)
{
	int64_t gc = (int64_t)(c->opts.peer_gc_ms * TIME_NS_PER_MS);
	unsigned budget = CTL_GC_PER_TICK;

	while (c->opts.peer_gc_ms && !ctl_list_empty(&c->gc_peers)) {
		struct ctl_peer_rec *p = ctl_container_of(c->gc_peers.next, struct ctl_peer_rec, gc);

		if (!budget--)
			return ctl_min_ms(next, 1); /* more are due: the next tick goes on */
		if (p->seen_ns + gc > (int64_t)now)
			return ctl_min_ms(next, ctl_ms_until((uint64_t)(p->seen_ns + gc), now));
		if (p->session || p->party) {
			p->seen_ns = (int64_t)now;
			ctl_list_del(&p->gc);
			ctl_list_add_tail(&c->gc_peers, &p->gc);
			continue;
		}
		if (ctl_core_peer_forget(c, p))
			return ctl_min_ms(next, 1000); /* storage failed: again in a second */
	}
	return next;
}

/* Source entries with no session and a full bucket hold nothing worth
 * keeping; looked at once a minute, O(sources). */
static void ctl_core_sources_sweep(struct ctl_core *c, uint64_t now)
{
	struct ctl_map_iter it;
	struct ctl_source *src;

	if (now < c->next_source_sweep_ns)
		return;
	c->next_source_sweep_ns = now + CTL_SOURCE_SWEEP_MS * TIME_NS_PER_MS;
	ctl_map_iter_init(&it, &c->sources);
	while ((src = ctl_map_next(&it))) {
		if (src->sessions || !ctl_bucket_full(&src->registers, &c->register_rate, now))
			continue;
		ctl_map_del(&c->sources, src->key, strlen(src->key));
		free(src);
	}
}

uint64_t ctl_core_tick(struct ctl_core *c)
{
	uint64_t now = time_mono_ns(), peer_to = c->opts.peer_timeout_ms * TIME_NS_PER_MS;
	uint64_t relay_to = c->opts.relay_timeout_ms * TIME_NS_PER_MS;
	uint64_t window = c->opts.batch_window_ms * TIME_NS_PER_MS, next = peer_to / TIME_NS_PER_MS;

	while (!ctl_list_empty(&c->live_members)) {
		struct ctl_peer_rec *p =
			ctl_container_of(c->live_members.next, struct ctl_peer_rec, live);

		if (p->last_mono_ns + peer_to > now) {
			next = ctl_ms_until(p->last_mono_ns + peer_to, now);
			break;
		}
		if (ctl_core_member_leave(c, p, "timeout")) {
			next = 1000; /* storage failed: try again in a second */
			break;
		}
	}
	while (!ctl_list_empty(&c->live_relays)) {
		struct ctl_relay_rec *r =
			ctl_container_of(c->live_relays.next, struct ctl_relay_rec, live);
		int ret;

		if (r->last_mono_ns + relay_to > now) {
			uint64_t ms = ctl_ms_until(r->last_mono_ns + relay_to, now);

			next = ms < next ? ms : next;
			break;
		}
		ret = ctl_store_req_begin(c->store);
		if (!ret)
			ret = ctl_store_req_end(c->store, !ctl_store_relay_del(c->store, r->info.relay_id));
		if (ret)
			break;
		log_info(MOD, "relay %s (%s) timed out", r->info.relay_id, r->info.endpoint);
		ctl_relay_drop(c, r);
	}
	next = ctl_core_auth_deadlines(c, now, next);
	next = ctl_core_gc(c, now, next);
	ctl_core_sources_sweep(c, now);
	if (ctl_store_pending(c->store)) {
		uint64_t start = ctl_store_batch_start(c->store);

		if (now - start >= window) {
			ctl_core_commit(c);
		} else {
			uint64_t ms = ctl_ms_until(start + window, now);

			next = ms < next ? ms : next;
		}
	}
	return next;
}

int ctl_core_flush(struct ctl_core *c)
{
	return ctl_store_pending(c->store) ? ctl_core_commit(c) : ctl_store_commit(c->store);
}

void ctl_core_stats(const struct ctl_core *c, struct ctl_core_stats *out)
{
	*out = c->stats;
}

/* The entry for source, made when new; NULL on allocation failure. */
static struct ctl_source *ctl_source_get(struct ctl_core *c, const char *source)
{
	size_t n = strnlen(source, CTL_MAX_SOURCE + 1);
	struct ctl_source *src;

	if (n > CTL_MAX_SOURCE)
		n = CTL_MAX_SOURCE;
	src = ctl_map_get(&c->sources, source, n);
	if (src)
		return src;
	src = calloc(1, sizeof(*src));
	if (!src)
		return NULL;
	memcpy(src->key, source, n);
	if (ctl_map_put(&c->sources, src->key, n, src)) {
		free(src);
		return NULL;
	}
	return src;
}

/* The first message a session over its source's cap gets, then it closes. */
static void ctl_session_refuse(struct ctl_core *c, struct ctl_session *s)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "too many sessions from this address (%u)",
		 c->opts.source_sessions);
	/* A refused client retries: log the 1st, 2nd, 4th, ... refusal only. */
	s->src->refused++;
	if (!(s->src->refused & (s->src->refused - 1)))
		log_warn(MOD, "%s: %s (%u refused)", s->src->key, msg, s->src->refused);
	c->stats.errors_out++;
	c->stats.sessions_refused++;
	ctl_core_send(c, s, ctl_msg_error(0, CTL_E_TOO_MANY_SESSIONS, msg));
	ctl_session_kill(s);
	s->ops.close(s->ops.arg);
}

struct ctl_session *ctl_session_open(struct ctl_core *c, const struct ctl_session_ops *ops)
{
	return ctl_session_open_from(c, ops, NULL);
}

struct ctl_session *ctl_session_open_from(struct ctl_core *c, const struct ctl_session_ops *ops,
					  const char *source)
{
	struct ctl_session *s = calloc(1, sizeof(*s));
	char key[CTL_KEY_B64 + 1], chal[CTL_KEY_B64 + 1];

	if (!s)
		return NULL;
	if (source && !(s->src = ctl_source_get(c, source))) {
		free(s);
		return NULL;
	}
	s->core = c;
	s->ops = *ops;
	s->opened_ns = time_mono_ns();
	ctl_list_init(&s->auth);
	ctl_list_add_tail(&c->sessions, &s->link);
	c->stats.sessions++;
	if (s->src && c->opts.source_sessions && s->src->sessions >= c->opts.source_sessions) {
		s->src->sessions++;
		ctl_session_refuse(c, s);
		return s;
	}
	if (s->src)
		s->src->sessions++;
	if (c->opts.auth_timeout_ms)
		ctl_list_add_tail(&c->auth_pending, &s->auth);
	crypto_x25519_generate(s->server_priv, s->server_pub);
	crypto_random(s->challenge, sizeof(s->challenge));
	ctl_key_to_b64(s->server_pub, key);
	ctl_key_to_b64(s->challenge, chal);
	ctl_core_send(c, s,
		      ctl_msg_dump(json_pack("{s:s, s:i, s:s, s:s, s:s}", "type", "hello", "v", 1,
						 "server", c->server_name, "challenge", chal,
						 "server_key", key)));
	return s;
}

/* Forgets s (the core side of a close); the memory stays until
 * ctl_session_close. */
static void ctl_session_kill(struct ctl_session *s)
{
	if (s->dead)
		return;
	if (s->peer)
		s->peer->session = NULL;
	s->peer = NULL;
	s->dead = true;
	ctl_list_del(&s->auth);
	s->core->stats.sessions--;
}

void ctl_session_close(struct ctl_session *s)
{
	struct ctl_core *c;

	if (!s)
		return;
	c = s->core;
	ctl_session_kill(s);
	if (s->src && !--s->src->sessions &&
	    ctl_bucket_full(&s->src->registers, &c->register_rate, time_mono_ns())) {
		ctl_map_del(&c->sources, s->src->key, strlen(s->src->key));
		free(s->src);
	}
	ctl_list_del(&s->link);
	crypto_wipe(s, sizeof(*s));
	free(s);
}

void ctl_session_bind(struct ctl_session *s, struct ctl_peer_rec *peer)
{
	struct ctl_session *old = peer->session;

	if (old && old != s) {
		log_info(MOD, "peer %s: a new session replaces the old one", peer->id);
		ctl_session_kill(old);
		old->ops.close(old->ops.arg);
	}
	if (s->peer && s->peer != peer)
		s->peer->session = NULL;
	s->peer = peer;
	peer->session = s;
	ctl_list_del(&s->auth);
}

void ctl_session_relay(struct ctl_session *s)
{
	s->relay = true;
	ctl_list_del(&s->auth);
}

static bool ctl_session_rate_ok(struct ctl_session *s)
{
	return ctl_bucket_take(&s->rate, &s->core->msg_rate, 1, time_mono_ns());
}

static void ctl_session_error(struct ctl_session *s, int64_t id, enum ctl_err code,
			      const char *message)
{
	s->core->stats.errors_out++;
	ctl_core_send(s->core, s, ctl_msg_error(id, code, message));
}

/* Answers a parsed message (parsed 0) or the error that parsing found;
 * returns the result, for the metrics. */
static enum ctl_err ctl_session_answer(struct ctl_session *s, int parsed, struct ctl_req *req,
				       struct ctl_perr *err)
{
	json_t *data = NULL;

	if (!ctl_session_rate_ok(s)) {
		s->core->metrics.rate_limited++;
		err->code = CTL_E_RATE_LIMITED;
		ctl_session_error(s, req->id, err->code, "over the session's message rate");
		return err->code;
	}
	if (parsed || ctl_handle_request(s, req, &data, err)) {
		ctl_session_error(s, req->id, err->code, err->message);
		return err->code;
	}
	ctl_core_send(s->core, s, ctl_msg_result(req->id, data));
	return CTL_OK;
}

int ctl_session_input(struct ctl_session *s, const char *msg, size_t len)
{
	struct ctl_core *c = s->core;
	uint64_t start = time_mono_ns();
	struct ctl_req req;
	struct ctl_perr err;
	enum ctl_err result;
	int parsed;

	if (s->dead)
		return -ENOTCONN;
	c->stats.messages_in++;
	if (s->peer)
		ctl_core_touch(c, s->peer);
	if (len > CTL_MAX_MESSAGE) {
		c->metrics.too_large++;
		ctl_session_error(s, 0, CTL_E_TOO_LARGE, "message over 16384 bytes");
		ctl_metrics_request(&c->metrics, CTL_MT_INVALID, CTL_E_TOO_LARGE, start);
		return -EMSGSIZE;
	}
	/* Parsed before the rate check so a refusal can echo the request's id
	 * (a client waits for that id); parsing is bounded by the size limit. */
	parsed = ctl_proto_parse(msg, len, &req, &err);
	result = ctl_session_answer(s, parsed, &req, &err);
	ctl_metrics_request(&c->metrics, parsed ? CTL_MT_INVALID : req.type, result, start);
	ctl_req_free(&req);
	return 0;
}
