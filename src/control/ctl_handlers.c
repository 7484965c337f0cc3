/*
 * ctl_handlers: the request handlers (docs/CONTROL.md). Each checks every
 * precondition first, then changes memory and the store together, undoing
 * the memory change when the store refuses, so a refused request changes
 * nothing. Events go out only after both succeeded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_handlers.h"
#include "control/ctl_store.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"

#define MOD "ctl"

static const char ctl_proof_label[] = "lanrage-register-v1";

int ctl_register_proof(uint8_t out[32], const uint8_t private_key[32],
		       const uint8_t server_key[32], const uint8_t challenge[32])
{
	uint8_t shared[32], msg[sizeof(ctl_proof_label) - 1 + 32 + 32];
	int ret;

	ret = crypto_x25519(shared, private_key, server_key);
	if (ret) {
		memset(out, 0, 32);
		goto out;
	}
	memcpy(msg, ctl_proof_label, sizeof(ctl_proof_label) - 1);
	memcpy(msg + sizeof(ctl_proof_label) - 1, challenge, 32);
	crypto_x25519_public(msg + sizeof(ctl_proof_label) - 1 + 32, private_key);
	crypto_hmac_blake2s(out, shared, sizeof(shared), msg, sizeof(msg));
out:
	crypto_wipe(shared, sizeof(shared));
	return ret;
}

/* The server side: the same HMAC from the session's ephemeral private key
 * and the client's public key. */
static bool ctl_proof_ok(const struct ctl_session *s, const uint8_t pub[32],
			 const uint8_t proof[32])
{
	uint8_t shared[32], want[32], msg[sizeof(ctl_proof_label) - 1 + 32 + 32];
	bool ok = false;

	if (crypto_x25519(shared, s->server_priv, pub))
		goto out;
	memcpy(msg, ctl_proof_label, sizeof(ctl_proof_label) - 1);
	memcpy(msg + sizeof(ctl_proof_label) - 1, s->challenge, 32);
	memcpy(msg + sizeof(ctl_proof_label) - 1 + 32, pub, 32);
	crypto_hmac_blake2s(want, shared, sizeof(shared), msg, sizeof(msg));
	ok = crypto_equal(want, proof, 32);
out:
	crypto_wipe(shared, sizeof(shared));
	crypto_wipe(want, sizeof(want));
	return ok;
}

__attribute__((format(printf, 3, 4))) static int ctl_refuse(struct ctl_perr *err,
							    enum ctl_err code, const char *fmt,
							    ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int ctl_internal(struct ctl_perr *err)
{
	return ctl_refuse(err, CTL_E_INTERNAL, "storage failed; nothing changed");
}

/* Runs one store write as its own request savepoint. */
#define ctl_store_one(st, call)                                      \
	({                                                           \
		int _r = ctl_store_req_begin(st);                    \
		if (!_r) {                                           \
			_r = (call);                                 \
			if (ctl_store_req_end(st, !_r) && !_r)       \
				_r = -EIO;                           \
		}                                                    \
		_r;                                                  \
	})

static json_t *ctl_party_or_null(const struct ctl_peer_rec *p)
{
	return p->party ? ctl_json_party(p->party, true) : json_null();
}

static int ctl_h_register(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			  struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_peer_rec *p = ctl_map_get(&c->peers_by_key, r->public_key, 32), tmp;
	char token[CTL_TOKEN_TEXT + 1];
	bool fresh = !p;
	int ret;

	/* Counted before the proof: the X25519 it costs is what a flood spends. */
	if (s->src && c->opts.source_register_rate &&
	    !ctl_bucket_take(&s->src->registers, &c->register_rate, 1, time_mono_ns())) {
		c->stats.registers_refused++;
		return ctl_refuse(err, CTL_E_RATE_LIMITED,
				  "too many registrations from this address; try later");
	}
	if (!ctl_proof_ok(s, r->public_key, r->proof))
		return ctl_refuse(err, CTL_E_BAD_PROOF, "the key proof did not verify");
	if (fresh) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return ctl_internal(err);
		do
			ctl_hexid_new(p->id);
		while (ctl_map_get(&c->peers_by_id, p->id, CTL_HEXID_LEN));
		memcpy(p->public_key, r->public_key, 32);
		strcpy(p->nat.type, "unknown");
		strcpy(p->nat.mapping, "unknown");
		strcpy(p->nat.filtering, "unknown");
		p->created_at = p->last_seen = p->last_seen_stored = ctl_core_unix();
		p->seen_ns = (int64_t)time_mono_ns();
		ctl_list_init(&p->live);
	}
	tmp = *p;
	snprintf(tmp.name, sizeof(tmp.name), "%s", r->name);
	snprintf(tmp.version, sizeof(tmp.version), "%s", r->version);
	ctl_token_new(token, tmp.token_hash);
	ret = ctl_store_one(c->store, ctl_store_peer_put(c->store, &tmp));
	if (!ret && fresh)
		ret = ctl_core_peer_index(c, p);
	if (ret) {
		/* A fresh peer's row is in the batch but it is not indexed: the
		 * next register of the key overwrites that row by its key. */
		if (fresh)
			free(p);
		crypto_wipe(token, sizeof(token));
		crypto_wipe(&tmp, sizeof(tmp));
		return ctl_internal(err);
	}
	memcpy(p->name, tmp.name, sizeof(p->name));
	memcpy(p->version, tmp.version, sizeof(p->version));
	memcpy(p->token_hash, tmp.token_hash, sizeof(p->token_hash));
	crypto_wipe(&tmp, sizeof(tmp));
	ctl_session_bind(s, p);
	ctl_core_touch(c, p);
	log_info(MOD, "peer %s %s", p->id, fresh ? "registered" : "re-registered (new token)");
	/* A known key may still be in a party (its owner lost the token):
	 * saying which lets the client resume it or leave it. */
	*data = json_pack("{s:s, s:s, s:o, s:o}", "peer_id", p->id, "token", token, "party",
			  ctl_party_or_null(p), "relay_ticket", ctl_core_ticket(c, p));
	crypto_wipe(token, sizeof(token));
	return 0;
}


static int ctl_h_auth(struct ctl_session *s, const struct ctl_req *r, json_t **data,
		      struct ctl_perr *err)
{
	struct ctl_peer_rec *p = ctl_map_get(&s->core->peers_by_id, r->peer_id, CTL_HEXID_LEN);

	if (!p || !ctl_token_check(r->token, r->token_len, p->token_hash))
		return ctl_refuse(err, CTL_E_UNAUTHORIZED, "wrong peer ID or token");
	ctl_session_bind(s, p);
	ctl_core_touch(s->core, p);
	*data = json_pack("{s:s, s:o, s:o}", "peer_id", p->id, "party", ctl_party_or_null(p),
			  "relay_ticket", ctl_core_ticket(s->core, p));
	return 0;
}

/* Adds s's peer to p (created = p is new and empty) at a free address, in
 * memory and in the store; on failure p is as before (freed when created). */
static int ctl_join(struct ctl_core *c, struct ctl_party_rec *p, struct ctl_peer_rec *peer,
		    bool created, struct ctl_perr *err)
{
	char party_text[CTL_CODE_TEXT + 1];
	void *old_addr;
	uint32_t vip;
	int ret;

	ctl_code_format(p->id, party_text);
	if (ctl_ipam_pick(&p->ipam, peer->public_key, &vip)) {
		ret = ctl_refuse(err, CTL_E_NO_ADDRESS, "party %s has no free address", party_text);
		goto fail;
	}
	old_addr = ctl_map_get(&p->ipam.remembered, peer->public_key, 32);
	if (ctl_party_add_member(c, p, peer, vip, ctl_core_unix())) {
		ret = ctl_internal(err);
		goto fail;
	}
	ret = ctl_store_req_begin(c->store);
	if (!ret) {
		if (created)
			ret = ctl_store_party_put(c->store, p);
		if (!ret)
			ret = ctl_store_member_put(c->store, p->id, peer->id, vip, peer->joined_at);
		if (!ret)
			ret = ctl_store_address_put(c->store, p->id, peer->public_key, vip);
		if (ctl_store_req_end(c->store, !ret) && !ret)
			ret = -EIO;
	}
	if (ret) {
		ctl_party_remove_member(c, peer);
		if (!created) {
			if (old_addr)
				ctl_map_put(&p->ipam.remembered, peer->public_key, 32, old_addr);
			else
				ctl_map_del(&p->ipam.remembered, peer->public_key, 32);
		}
		return ctl_internal(err);
	}
	log_info(MOD, "peer %s joined party %s", peer->id, party_text);
	if (!created)
		ctl_core_event(c, p, peer, NULL,
			       json_pack("{s:s, s:s, s:s, s:o}", "type", "event", "event",
					 "peer_joined", "party_id", party_text, "peer",
					 ctl_json_peer(peer)));
	return 0;
fail:
	if (created)
		ctl_party_free(c, p);
	return ret;
}

static int ctl_h_party_create(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			      struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_party_rec *p;
	char id[CTL_CODE_SYMBOLS + 1];

	if (s->peer->party)
		return ctl_refuse(err, CTL_E_ALREADY_MEMBER, "already in a party");
	do
		ctl_code_new(id);
	while (ctl_map_get(&c->parties, id, CTL_CODE_SYMBOLS));
	p = ctl_party_new(c, id);
	if (!p)
		return ctl_internal(err);
	snprintf(p->name, sizeof(p->name), "%s", r->name);
	memcpy(p->host, s->peer->id, sizeof(p->host));
	p->created_at = ctl_core_unix();
	p->max_members = r->max_members ? r->max_members : CTL_DEFAULT_MAX_MEMBERS;
	if (ctl_join(c, p, s->peer, true, err))
		return -1;
	*data = json_pack("{s:o}", "party", ctl_json_party(p, true));
	return 0;
}

static struct ctl_party_rec *ctl_find_party(struct ctl_core *c, const struct ctl_req *r,
					    struct ctl_perr *err)
{
	struct ctl_party_rec *p = ctl_map_get(&c->parties, r->party_id, CTL_CODE_SYMBOLS);
	char text[CTL_CODE_TEXT + 1];

	if (!p) {
		ctl_code_format(r->party_id, text);
		ctl_refuse(err, CTL_E_NOT_FOUND, "no party %s", text);
	}
	return p;
}

static int ctl_h_party_join(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			    struct ctl_perr *err)
{
	struct ctl_party_rec *p;
	char text[CTL_CODE_TEXT + 1];

	if (s->peer->party)
		return ctl_refuse(err, CTL_E_ALREADY_MEMBER, "already in a party");
	p = ctl_find_party(s->core, r, err);
	if (!p)
		return -1;
	if (p->n_members >= p->max_members) {
		ctl_code_format(p->id, text);
		return ctl_refuse(err, CTL_E_PARTY_FULL, "party %s is full (%u members)", text,
				  p->max_members);
	}
	if (ctl_join(s->core, p, s->peer, false, err))
		return -1;
	*data = json_pack("{s:o}", "party", ctl_json_party(p, true));
	return 0;
}

static int ctl_h_party_leave(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			     struct ctl_perr *err)
{
	if (!s->peer->party)
		return ctl_refuse(err, CTL_E_NOT_MEMBER, "not in a party");
	if (ctl_core_member_leave(s->core, s->peer, "left"))
		return ctl_internal(err);
	*data = json_object();
	return 0;
}

static int ctl_h_party_get(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			   struct ctl_perr *err)
{
	struct ctl_party_rec *p = ctl_find_party(s->core, r, err);

	if (!p)
		return -1;
	*data = json_pack("{s:o}", "party", ctl_json_party(p, s->peer->party == p));
	return 0;
}

static json_t *ctl_json_members(const struct ctl_party_rec *p)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n_members; i++) {
		if (json_array_append_new(a, ctl_json_peer(p->members[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int ctl_h_peers_list(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			    struct ctl_perr *err)
{
	struct ctl_party_rec *p = ctl_find_party(s->core, r, err);

	if (!p)
		return -1;
	if (s->peer->party != p)
		return ctl_refuse(err, CTL_E_NOT_MEMBER, "not a member of that party");
	*data = json_pack("{s:o}", "peers", ctl_json_members(p));
	return 0;
}

/* The peer the caller may see: itself or a member of its party. */
static struct ctl_peer_rec *ctl_visible_peer(struct ctl_core *c, const struct ctl_peer_rec *me,
					     const char *peer_id, struct ctl_perr *err)
{
	struct ctl_peer_rec *p = ctl_map_get(&c->peers_by_id, peer_id, CTL_HEXID_LEN);

	if (!p) {
		ctl_refuse(err, CTL_E_NOT_FOUND, "no peer %s", peer_id);
		return NULL;
	}
	if (p != me && (!me->party || p->party != me->party)) {
		ctl_refuse(err, CTL_E_NOT_MEMBER, "peer %s is not in your party", peer_id);
		return NULL;
	}
	return p;
}

static int ctl_h_peer_get(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			  struct ctl_perr *err)
{
	struct ctl_peer_rec *p = ctl_visible_peer(s->core, s->peer, r->peer_id, err);

	if (!p)
		return -1;
	*data = json_pack("{s:o}", "peer", ctl_json_peer(p));
	return 0;
}

static int ctl_h_peer_update(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			     struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_peer_rec *p = s->peer, tmp = *p;
	char party_text[CTL_CODE_TEXT + 1];

	if (r->has_endpoints) {
		memcpy(tmp.endpoints, r->endpoints, sizeof(tmp.endpoints));
		tmp.n_endpoints = r->n_endpoints;
	}
	if (r->has_nat)
		tmp.nat = r->nat;
	if (r->has_relay)
		snprintf(tmp.relay, sizeof(tmp.relay), "%s", r->relay);
	if (r->has_name)
		snprintf(tmp.name, sizeof(tmp.name), "%s", r->name);
	if (ctl_store_one(c->store, ctl_store_peer_put(c->store, &tmp))) {
		crypto_wipe(&tmp, sizeof(tmp));
		return ctl_internal(err);
	}
	memcpy(p->endpoints, tmp.endpoints, sizeof(p->endpoints));
	p->n_endpoints = tmp.n_endpoints;
	p->nat = tmp.nat;
	memcpy(p->relay, tmp.relay, sizeof(p->relay));
	memcpy(p->name, tmp.name, sizeof(p->name));
	crypto_wipe(&tmp, sizeof(tmp));
	if (p->party) {
		ctl_code_format(p->party->id, party_text);
		ctl_core_event(c, p->party, p, NULL,
			       json_pack("{s:s, s:s, s:s, s:o}", "type", "event", "event",
					 "peer_updated", "party_id", party_text, "peer",
					 ctl_json_peer(p)));
	}
	*data = json_pack("{s:o}", "peer", ctl_json_peer(p));
	return 0;
}

static int ctl_h_heartbeat(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			   struct ctl_perr *err)
{
	*data = json_pack("{s:I, s:o}", "now", (json_int_t)ctl_core_unix(), "relay_ticket",
			  ctl_core_ticket(s->core, s->peer));
	return 0;
}

static int ctl_h_signal(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_peer_rec *me = s->peer, *to;
	char party_text[CTL_CODE_TEXT + 1], *msg;

	if (!me->party)
		return ctl_refuse(err, CTL_E_NOT_MEMBER, "not in a party");
	to = ctl_map_get(&c->peers_by_id, r->peer_id, CTL_HEXID_LEN);
	if (!to || to->party != me->party)
		return ctl_refuse(err, CTL_E_NOT_FOUND, "no peer %s in your party", r->peer_id);
	*data = json_object();
	if (!to->session || to->session->dead)
		return 0; /* dropped, as documented */
	ctl_code_format(me->party->id, party_text);
	msg = ctl_msg_dump(json_pack("{s:s, s:s, s:s, s:s, s:O}", "type", "event", "event",
				     "signal", "party_id", party_text, "from", me->id, "payload",
				     r->payload));
	if (!msg)
		return ctl_refuse(err, CTL_E_INTERNAL, "out of memory building the signal");
	/* The recipient's budget, not the sender's: senders together cannot
	 * queue more for one member than it reads, so it is never dropped as a
	 * slow reader because of them; the sender hears rate_limited instead. */
	if (c->opts.signal_rate &&
	    !ctl_bucket_take(&to->signals, &c->signal_rate, strlen(msg), time_mono_ns())) {
		free(msg);
		json_decref(*data);
		*data = NULL;
		c->stats.signals_refused++;
		return ctl_refuse(err, CTL_E_RATE_LIMITED,
				  "peer %s is receiving signals faster than allowed; try later",
				  r->peer_id);
	}
	c->stats.events_out++;
	ctl_core_send(c, to->session, msg);
	return 0;
}

/* Constant-time in the secret's content and length: both sides are hashed
 * first, so only the hashes are compared. */
static int ctl_relay_secret_ok(struct ctl_core *c, const struct ctl_req *r, struct ctl_perr *err)
{
	uint8_t a[32], b[32];
	bool ok;

	if (!c->relay_secret[0])
		return ctl_refuse(err, CTL_E_UNAUTHORIZED, "relay registration is disabled");
	crypto_blake2s(a, sizeof(a), NULL, 0, (const uint8_t *)c->relay_secret,
		       strlen(c->relay_secret));
	crypto_blake2s(b, sizeof(b), NULL, 0, (const uint8_t *)r->secret, r->secret_len);
	ok = crypto_equal(a, b, sizeof(a));
	crypto_wipe(a, sizeof(a));
	crypto_wipe(b, sizeof(b));
	return ok ? 0 : ctl_refuse(err, CTL_E_UNAUTHORIZED, "wrong relay secret");
}

static struct ctl_relay_rec *ctl_relay_by_endpoint(struct ctl_core *c, const char *endpoint)
{
	for (struct ctl_list *e = c->live_relays.next; e != &c->live_relays; e = e->next) {
		struct ctl_relay_rec *r = ctl_container_of(e, struct ctl_relay_rec, live);

		if (!strcmp(r->info.endpoint, endpoint))
			return r;
	}
	return NULL;
}

/* A relay registering again from the same endpoint (a restart) keeps its ID. */
static int ctl_h_relay_register(struct ctl_session *s, const struct ctl_req *r, json_t **data,
				struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_relay_rec *old, tmp = { 0 }, *rel;
	char tkey[CTL_KEY_B64 + 1];

	if (ctl_relay_secret_ok(c, r, err))
		return -1;
	old = ctl_relay_by_endpoint(c, r->endpoint);
	if (old) {
		memcpy(tmp.info.relay_id, old->info.relay_id, sizeof(tmp.info.relay_id));
		tmp.info.clients = old->info.clients;
	} else {
		do
			ctl_hexid_new(tmp.info.relay_id);
		while (ctl_map_get(&c->relays, tmp.info.relay_id, CTL_HEXID_LEN));
	}
	snprintf(tmp.info.name, sizeof(tmp.info.name), "%s", r->name);
	snprintf(tmp.info.endpoint, sizeof(tmp.info.endpoint), "%s", r->endpoint);
	tmp.info.has_public_key = r->has_public_key;
	memcpy(tmp.info.public_key, r->public_key, 32);
	tmp.info.last_seen = ctl_core_unix();
	rel = old ? old : malloc(sizeof(*rel));
	if (!rel || ctl_store_one(c->store, ctl_store_relay_put(c->store, &tmp)))
		goto err;
	if (!old) {
		*rel = tmp;
		if (ctl_core_relay_index(c, rel))
			goto err; /* the row stays in the batch; it times out on reload */
	} else {
		memcpy(rel->info.name, tmp.info.name, sizeof(rel->info.name));
		rel->info.has_public_key = tmp.info.has_public_key;
		memcpy(rel->info.public_key, tmp.info.public_key, 32);
		ctl_core_relay_touch(c, rel);
	}
	log_info(MOD, "relay %s registered at %s", rel->info.relay_id, rel->info.endpoint);
	ctl_session_relay(s);
	ctl_key_to_b64(c->ticket_pk, tkey);
	*data = json_pack("{s:s, s:s}", "relay_id", rel->info.relay_id, "ticket_key", tkey);
	return 0;
err:
	if (!old)
		free(rel);
	return ctl_internal(err);
}

static int ctl_h_relay_heartbeat(struct ctl_session *s, const struct ctl_req *r, json_t **data,
				 struct ctl_perr *err)
{
	struct ctl_core *c = s->core;
	struct ctl_relay_rec *rel, tmp;

	if (ctl_relay_secret_ok(c, r, err))
		return -1;
	rel = ctl_map_get(&c->relays, r->relay_id, CTL_HEXID_LEN);
	if (!rel)
		return ctl_refuse(err, CTL_E_NOT_FOUND, "no relay %s", r->relay_id);
	tmp = *rel;
	if (r->has_clients)
		tmp.info.clients = r->clients;
	tmp.info.last_seen = ctl_core_unix();
	if (ctl_store_one(c->store, ctl_store_relay_put(c->store, &tmp)))
		return ctl_internal(err);
	rel->info.clients = tmp.info.clients;
	ctl_core_relay_touch(c, rel);
	ctl_session_relay(s);
	*data = json_object();
	return 0;
}

static int ctl_h_relays_list(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			     struct ctl_perr *err)
{
	*data = json_pack("{s:o}", "relays", ctl_json_relays(s->core));
	return 0;
}

typedef int (*ctl_handler_fn)(struct ctl_session *s, const struct ctl_req *r, json_t **data,
			      struct ctl_perr *err);

static const struct {
	ctl_handler_fn fn;
	bool needs_peer;
} ctl_handlers[CTL_REQ_COUNT] = {
	[CTL_REQ_REGISTER] = { ctl_h_register, false },
	[CTL_REQ_AUTH] = { ctl_h_auth, false },
	[CTL_REQ_PARTY_CREATE] = { ctl_h_party_create, true },
	[CTL_REQ_PARTY_JOIN] = { ctl_h_party_join, true },
	[CTL_REQ_PARTY_LEAVE] = { ctl_h_party_leave, true },
	[CTL_REQ_PARTY_GET] = { ctl_h_party_get, true },
	[CTL_REQ_PEERS_LIST] = { ctl_h_peers_list, true },
	[CTL_REQ_PEER_GET] = { ctl_h_peer_get, true },
	[CTL_REQ_PEER_UPDATE] = { ctl_h_peer_update, true },
	[CTL_REQ_HEARTBEAT] = { ctl_h_heartbeat, true },
	[CTL_REQ_SIGNAL] = { ctl_h_signal, true },
	[CTL_REQ_RELAY_REGISTER] = { ctl_h_relay_register, false },
	[CTL_REQ_RELAY_HEARTBEAT] = { ctl_h_relay_heartbeat, false },
	[CTL_REQ_RELAYS_LIST] = { ctl_h_relays_list, true },
};

int ctl_handle_request(struct ctl_session *s, const struct ctl_req *r, json_t **data,
		       struct ctl_perr *err)
{
	*data = NULL;
	if (ctl_handlers[r->type].needs_peer && !s->peer)
		return ctl_refuse(err, CTL_E_UNAUTHORIZED, "register or auth first");
	if (ctl_handlers[r->type].fn(s, r, data, err))
		return -1;
	/* The change is made; only the answer could not be built. */
	if (!*data)
		return ctl_refuse(err, CTL_E_INTERNAL, "out of memory building the answer");
	return 0;
}

struct ctl_peer_rec *ctl_auth_bearer(struct ctl_core *c, const char *authorization)
{
	static const char bearer[] = "Bearer ";
	char id[CTL_HEXID_LEN + 1];
	const char *cred, *colon;
	struct ctl_peer_rec *p;

	if (!authorization || strncmp(authorization, bearer, sizeof(bearer) - 1))
		return NULL;
	cred = authorization + sizeof(bearer) - 1;
	colon = strchr(cred, ':');
	if (!colon || ctl_hexid_parse(cred, (size_t)(colon - cred), id))
		return NULL;
	p = ctl_map_get(&c->peers_by_id, id, CTL_HEXID_LEN);
	if (!p || !ctl_token_check(colon + 1, strlen(colon + 1), p->token_hash))
		return NULL;
	return p;
}
