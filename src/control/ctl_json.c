/*
 * ctl_json: peer, party and relay objects as docs/CONTROL.md "Objects"
 * shows them. Party IDs go out in their printed form XXXX-XXXX-XXXX.
 */
#include "control/ctl_ipam.h"
#include "control/ctl_state.h"

json_t *ctl_json_peer(const struct ctl_peer_rec *p)
{
	char key[CTL_KEY_B64 + 1], ip[16] = "";
	json_t *eps = json_array();

	for (size_t i = 0; eps && i < p->n_endpoints; i++) {
		if (json_array_append_new(eps, json_string(p->endpoints[i]))) {
			json_decref(eps);
			return NULL;
		}
	}
	if (!eps)
		return NULL;
	ctl_key_to_b64(p->public_key, key);
	if (p->party)
		ctl_ipam_format(p->vip, ip);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:s, s:s, s:I, s:I}",
			 "peer_id", p->id, "name", p->name, "public_key", key, "virtual_ip", ip,
			 "nat", "type", p->nat.type, "mapping", p->nat.mapping, "filtering",
			 p->nat.filtering, "endpoints", eps, "relay", p->relay, "version",
			 p->version, "joined_at", (json_int_t)(p->party ? p->joined_at : 0),
			 "last_seen", (json_int_t)p->last_seen);
}

json_t *ctl_json_party(const struct ctl_party_rec *p, bool with_peers)
{
	char id[CTL_CODE_TEXT + 1];
	json_t *o, *peers;

	ctl_code_format(p->id, id);
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "party_id", id, "name", p->name,
		      "host_peer_id", p->host, "created_at", (json_int_t)p->created_at,
		      "max_members", (json_int_t)p->max_members, "member_count",
		      (json_int_t)p->n_members);
	if (!o || !with_peers)
		return o;
	peers = json_array();
	if (!peers || json_object_set_new(o, "peers", peers))
		goto err;
	for (size_t i = 0; i < p->n_members; i++)
		if (json_array_append_new(peers, ctl_json_peer(p->members[i])))
			goto err;
	return o;
err:
	json_decref(o);
	return NULL;
}

json_t *ctl_json_relay(const struct ctl_relay_rec *r)
{
	char key[CTL_KEY_B64 + 1] = "";

	if (r->info.has_public_key)
		ctl_key_to_b64(r->info.public_key, key);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "relay_id", r->info.relay_id, "name", r->info.name,
			 "endpoint", r->info.endpoint, "public_key", key, "clients",
			 (json_int_t)r->info.clients, "last_seen", (json_int_t)r->info.last_seen);
}

/* Oldest heartbeat first (the live list's order). */
json_t *ctl_json_relays(struct ctl_core *c)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (struct ctl_list *e = c->live_relays.next; e != &c->live_relays; e = e->next) {
		if (json_array_append_new(a, ctl_json_relay(ctl_container_of(
						     e, struct ctl_relay_rec, live)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
