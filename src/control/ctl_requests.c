/*
 * ctl_requests: the typed requests of control.h, each one message built
 * with jansson, sent through ctl_client_call, and its answer turned into
 * the client's structs. The client remembers the party it is in from
 * create, join and leave, so a reconnect can restore it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_ids.h"

/* Runs a request whose answer's data holds a party under "party". */
static int call_party(struct ctl_client *c, json_t *req, struct ctl_party *out, bool track)
{
	json_t *data = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = ctl_client_call(c, req, &data);
	if (!r)
		r = ctl_party_from_json(json_object_get(data, "party"), out);
	if (!r && track)
		ctl_client_set_party(c, out->party_id);
	json_decref(data);
	return r;
}

int ctl_party_create(struct ctl_client *c, const char *name, uint32_t max_members,
		     struct ctl_party *out)
{
	json_t *req = json_pack("{s:s, s:s}", "type", "party_create", "name", name);

	if (req && max_members)
		json_object_set_new(req, "max_members", json_integer(max_members));
	return call_party(c, req, out, true);
}

int ctl_party_join(struct ctl_client *c, const char *party_id, struct ctl_party *out)
{
	return call_party(c, json_pack("{s:s, s:s}", "type", "party_join", "party_id", party_id),
			  out, true);
}

int ctl_party_leave(struct ctl_client *c)
{
	int r = ctl_client_call(c, json_pack("{s:s}", "type", "party_leave"), NULL);

	/* Even when the server was not told: a reconnect must not rejoin a
	 * party we left (the server's view then comes back in the resync). */
	ctl_client_set_party(c, "");
	return r;
}

int ctl_party_get(struct ctl_client *c, const char *party_id, struct ctl_party *out)
{
	return call_party(c, json_pack("{s:s, s:s}", "type", "party_get", "party_id", party_id),
			  out, false);
}

int ctl_peers_list(struct ctl_client *c, const char *party_id, struct ctl_party *out)
{
	json_t *data = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = ctl_client_call(c, json_pack("{s:s, s:s}", "type", "peers_list", "party_id", party_id),
			&data);
	if (!r)
		r = ctl_peers_from_json(json_object_get(data, "peers"), &out->peers, &out->n_peers);
	if (!r) {
		snprintf(out->party_id, sizeof(out->party_id), "%s", party_id);
		out->member_count = (uint32_t)out->n_peers;
	}
	json_decref(data);
	return r;
}

int ctl_peer_get(struct ctl_client *c, const char *peer_id, struct ctl_peer *out)
{
	json_t *data = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = ctl_client_call(c, json_pack("{s:s, s:s}", "type", "peer_get", "peer_id", peer_id), &data);
	if (!r)
		r = ctl_peer_from_json(json_object_get(data, "peer"), out);
	json_decref(data);
	return r;
}

static json_t *update_req(const struct ctl_peer_update *u)
{
	json_t *req = json_pack("{s:s}", "type", "peer_update"), *eps;
	size_t i;

	if (!req)
		return NULL;
	if (u->endpoints) {
		eps = json_array();
		for (i = 0; eps && i < u->n_endpoints; i++)
			json_array_append_new(eps, json_string(u->endpoints[i]));
		json_object_set_new(req, "endpoints", eps);
	}
	if (u->nat)
		json_object_set_new(req, "nat",
				    json_pack("{s:s, s:s, s:s}", "type", u->nat->type, "mapping",
					      u->nat->mapping, "filtering", u->nat->filtering));
	if (u->relay)
		json_object_set_new(req, "relay", json_string(u->relay));
	if (u->name)
		json_object_set_new(req, "name", json_string(u->name));
	return req;
}

int ctl_peer_update(struct ctl_client *c, const struct ctl_peer_update *u, struct ctl_peer *out)
{
	json_t *data = NULL;
	struct ctl_peer tmp;
	int r;

	r = ctl_client_call(c, update_req(u), &data);
	if (!r)
		r = ctl_peer_from_json(json_object_get(data, "peer"), out ? out : &tmp);
	json_decref(data);
	return r;
}

int ctl_heartbeat(struct ctl_client *c)
{
	return ctl_client_call(c, json_pack("{s:s}", "type", "heartbeat"), NULL);
}

int ctl_signal(struct ctl_client *c, const char *to_peer_id, const char *payload_json)
{
	json_t *payload = json_loads(payload_json, 0, NULL);

	if (!json_is_object(payload)) {
		json_decref(payload);
		return -EINVAL;
	}
	return ctl_client_call(c, json_pack("{s:s, s:s, s:o}", "type", "signal", "to", to_peer_id,
					"payload", payload),
			   NULL);
}

/* The array is the caller's (free()). */
int ctl_relays_list(struct ctl_client *c, struct ctl_relay **out, size_t *n)
{
	json_t *data = NULL, *arr, *v;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	r = ctl_client_call(c, json_pack("{s:s}", "type", "relays_list"), &data);
	if (r)
		return r;
	arr = json_object_get(data, "relays");
	if (!json_is_array(arr)) {
		r = -EBADMSG;
		goto out;
	}
	if (json_array_size(arr) && !(*out = calloc(json_array_size(arr), sizeof(**out)))) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(arr, i, v)
		if ((r = ctl_relay_from_json(v, &(*out)[i])))
			break;
	if (r) {
		free(*out);
		*out = NULL;
	} else {
		*n = json_array_size(arr);
	}
out:
	json_decref(data);
	return r;
}

int ctl_relay_register(struct ctl_client *c, const char *secret, const char *name,
		       const char *endpoint, const uint8_t *public_key,
		       char relay_id[CTL_ID_LEN + 1], uint8_t *ticket_key)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "type", "relay_register", "secret", secret,
				"name", name, "endpoint", endpoint);
	char key64[CTL_KEY_B64 + 1];
	json_t *data = NULL;
	const char *id, *tk;
	int r;

	if (req && public_key) {
		ctl_key_to_b64(public_key, key64);
		json_object_set_new(req, "public_key", json_string(key64));
	}
	r = ctl_client_call(c, req, &data);
	id = json_string_value(json_object_get(data, "relay_id"));
	tk = json_string_value(json_object_get(data, "ticket_key"));
	if (!r && (!id || strlen(id) != CTL_ID_LEN))
		r = -EBADMSG;
	if (!r && ticket_key && (!tk || ctl_b64_to_key(tk, strlen(tk), ticket_key)))
		r = -EBADMSG;
	if (!r)
		memcpy(relay_id, id, CTL_ID_LEN + 1);
	json_decref(data);
	return r;
}

int ctl_relay_heartbeat(struct ctl_client *c, const char *secret, const char *relay_id,
			uint64_t clients)
{
	return ctl_client_call(c, json_pack("{s:s, s:s, s:s, s:I}", "type", "relay_heartbeat",
					"relay_id", relay_id, "secret", secret, "clients",
					(json_int_t)clients),
			   NULL);
}
