/*
 * ctl_client_json: the control plane's JSON objects (docs/CONTROL.md
 * "Objects") turned into the client's fixed-size structs. The server is
 * trusted for meaning but not for sizes: every string is checked against
 * its field before it is copied, and a field of the wrong type makes the
 * whole object invalid (-EBADMSG). Absent optional fields stay zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_ids.h"

static int json_str(char *dst, size_t cap, const json_t *o, const char *key, bool required)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return required ? -EBADMSG : 0;
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return -EBADMSG;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int json_int(int64_t *dst, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -EBADMSG;
	*dst = json_integer_value(v);
	return 0;
}

static int json_key(uint8_t key[32], const json_t *o, const char *name, bool *present)
{
	const json_t *v = json_object_get(o, name);

	if (present)
		*present = false;
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
		return 0;
	if (!json_is_string(v) || ctl_b64_to_key(json_string_value(v), json_string_length(v), key))
		return -EBADMSG;
	if (present)
		*present = true;
	return 0;
}

static int nat_from_json(const json_t *o, struct ctl_nat *n)
{
	if (!o)
		return 0;
	if (!json_is_object(o))
		return -EBADMSG;
	if (json_str(n->type, sizeof(n->type), o, "type", false) ||
	    json_str(n->mapping, sizeof(n->mapping), o, "mapping", false) ||
	    json_str(n->filtering, sizeof(n->filtering), o, "filtering", false))
		return -EBADMSG;
	return 0;
}

int ctl_peer_from_json(const json_t *o, struct ctl_peer *p)
{
	const json_t *eps, *ep;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return -EBADMSG;
	if (json_str(p->peer_id, sizeof(p->peer_id), o, "peer_id", true) ||
	    json_str(p->name, sizeof(p->name), o, "name", false) ||
	    json_key(p->public_key, o, "public_key", NULL) ||
	    json_str(p->virtual_ip, sizeof(p->virtual_ip), o, "virtual_ip", false) ||
	    nat_from_json(json_object_get(o, "nat"), &p->nat) ||
	    json_str(p->relay, sizeof(p->relay), o, "relay", false) ||
	    json_str(p->version, sizeof(p->version), o, "version", false) ||
	    json_int(&p->joined_at, o, "joined_at") || json_int(&p->last_seen, o, "last_seen"))
		return -EBADMSG;
	eps = json_object_get(o, "endpoints");
	if (!eps)
		return 0;
	if (!json_is_array(eps) || json_array_size(eps) > CTL_MAX_ENDPOINTS)
		return -EBADMSG;
	json_array_foreach(eps, i, ep) {
		if (!json_is_string(ep) || json_string_length(ep) >= CTL_ENDPOINT_LEN)
			return -EBADMSG;
		memcpy(p->endpoints[i], json_string_value(ep), json_string_length(ep) + 1);
	}
	p->n_endpoints = json_array_size(eps);
	return 0;
}

int ctl_peers_from_json(const json_t *arr, struct ctl_peer **out, size_t *n)
{
	const json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return -EBADMSG;
	if (!json_array_size(arr))
		return 0;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(arr, i, v) {
		if (ctl_peer_from_json(v, &(*out)[i])) {
			free(*out);
			*out = NULL;
			return -EBADMSG;
		}
	}
	*n = json_array_size(arr);
	return 0;
}

int ctl_party_from_json(const json_t *o, struct ctl_party *p)
{
	int64_t max = 0, count = 0;
	const json_t *peers;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return -EBADMSG;
	if (json_str(p->party_id, sizeof(p->party_id), o, "party_id", true) ||
	    json_str(p->name, sizeof(p->name), o, "name", false) ||
	    json_str(p->host_peer_id, sizeof(p->host_peer_id), o, "host_peer_id", false) ||
	    json_int(&p->created_at, o, "created_at") || json_int(&max, o, "max_members") ||
	    json_int(&count, o, "member_count") || max < 0 || max > UINT32_MAX || count < 0 ||
	    count > UINT32_MAX)
		return -EBADMSG;
	p->max_members = (uint32_t)max;
	p->member_count = (uint32_t)count;
	peers = json_object_get(o, "peers");
	if (!peers)
		return 0;
	return ctl_peers_from_json(peers, &p->peers, &p->n_peers);
}

int ctl_relay_from_json(const json_t *o, struct ctl_relay *r)
{
	int64_t clients = 0;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o) || json_str(r->relay_id, sizeof(r->relay_id), o, "relay_id", true) ||
	    json_str(r->name, sizeof(r->name), o, "name", false) ||
	    json_str(r->endpoint, sizeof(r->endpoint), o, "endpoint", false) ||
	    json_key(r->public_key, o, "public_key", &r->has_public_key) ||
	    json_int(&clients, o, "clients") || json_int(&r->last_seen, o, "last_seen") ||
	    clients < 0)
		return -EBADMSG;
	r->clients = (uint64_t)clients;
	return 0;
}

/* An "event" message into ev; a signal's payload is handed to *payload
 * (caller frees). */
int ctl_event_from_json(const json_t *m, struct ctl_event *ev, char **payload)
{
	const char *name = json_string_value(json_object_get(m, "event"));
	const json_t *pl;

	memset(ev, 0, sizeof(*ev));
	*payload = NULL;
	if (!name || json_str(ev->party_id, sizeof(ev->party_id), m, "party_id", false))
		return -EBADMSG;
	if (!strcmp(name, "peer_joined") || !strcmp(name, "peer_updated")) {
		ev->kind = name[5] == 'j' ? CTL_EV_PEER_JOINED : CTL_EV_PEER_UPDATED;
		return ctl_peer_from_json(json_object_get(m, "peer"), &ev->peer);
	}
	if (!strcmp(name, "peer_left")) {
		ev->kind = CTL_EV_PEER_LEFT;
		if (json_str(ev->peer_id, sizeof(ev->peer_id), m, "peer_id", true) ||
		    json_str(ev->reason, sizeof(ev->reason), m, "reason", false))
			return -EBADMSG;
		return 0;
	}
	if (!strcmp(name, "signal")) {
		ev->kind = CTL_EV_SIGNAL;
		pl = json_object_get(m, "payload");
		if (json_str(ev->from, sizeof(ev->from), m, "from", true) || !json_is_object(pl))
			return -EBADMSG;
		*payload = json_dumps(pl, JSON_COMPACT);
		return *payload ? 0 : -ENOMEM;
	}
	return -EBADMSG;
}
