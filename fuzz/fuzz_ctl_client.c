/*
 * fuzz_ctl_client: the daemon's side of the control channel, what
 * ctl_client_input does with a message text from the control plane before
 * any state changes (control/ctl_client_priv.h, ctl_client_json.c). The
 * input is one message text; when it is JSON it goes to every object reader
 * the client has, the way the client meets them:
 *
 * - the message as an event (ctl_event_from_json): on success the kind
 *   matches the event's name, every string ends inside its field, a peer has
 *   at most CTL_MAX_ENDPOINTS endpoints, and a signal's payload (and only a
 *   signal's) is one JSON object; on failure no payload is left to free;
 * - the message, its "data" and its "data"."party" as a party (the answers
 *   to create/join/resync), "data"."peers" as a member list, the message and
 *   "data" as a relay: the same checks, and a party's peers exist exactly
 *   when it has some (freed by ctl_party_clear, so a leak shows);
 * - a hello's challenge and server key, and the input itself, as base64
 *   keys: what decodes encodes back to a string that decodes to the same key.
 * Any disagreement aborts; ASan's leak check catches what a refusal forgets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_client_priv.h"
#include "control/ctl_ids.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENDS_IN(field) (strnlen((field), sizeof(field)) < sizeof(field))

static void check_peer(const struct ctl_peer *p)
{
	if (!ENDS_IN(p->peer_id) || !ENDS_IN(p->name) || !ENDS_IN(p->virtual_ip) ||
	    !ENDS_IN(p->nat.type) || !ENDS_IN(p->nat.mapping) || !ENDS_IN(p->nat.filtering) ||
	    !ENDS_IN(p->relay) || !ENDS_IN(p->version) || p->n_endpoints > CTL_MAX_ENDPOINTS)
		abort();
	for (size_t i = 0; i < p->n_endpoints; i++)
		if (!ENDS_IN(p->endpoints[i]))
			abort();
}

static void fuzz_event(const json_t *m)
{
	const char *name = json_string_value(json_object_get(m, "event"));
	struct ctl_event ev;
	char *payload = (char *)1;
	json_t *pl;

	if (ctl_event_from_json(m, &ev, &payload)) {
		if (payload)
			abort();
		return;
	}
	if (!name || !ENDS_IN(ev.party_id))
		abort();
	switch (ev.kind) {
	case CTL_EV_PEER_JOINED:
	case CTL_EV_PEER_UPDATED:
		if (strcmp(name, ev.kind == CTL_EV_PEER_JOINED ? "peer_joined" : "peer_updated"))
			abort();
		check_peer(&ev.peer);
		break;
	case CTL_EV_PEER_LEFT:
		if (strcmp(name, "peer_left") || !ENDS_IN(ev.peer_id) || !ENDS_IN(ev.reason))
			abort();
		break;
	case CTL_EV_SIGNAL:
		if (strcmp(name, "signal") || !ENDS_IN(ev.from) || !payload)
			abort();
		pl = json_loads(payload, 0, NULL);
		if (!json_is_object(pl))
			abort();
		json_decref(pl);
		break;
	default:
		/* The client makes the other kinds itself; the server cannot. */
		abort();
	}
	if (ev.kind != CTL_EV_SIGNAL && payload)
		abort();
	free(payload);
}

static void fuzz_party(const json_t *o)
{
	struct ctl_party p;

	if (!o)
		return;
	if (ctl_party_from_json(o, &p)) {
		/* A refusal may leave the fixed fields half filled, never peers. */
		if (p.peers || p.n_peers)
			abort();
		return;
	}
	if (!ENDS_IN(p.party_id) || !ENDS_IN(p.name) || !ENDS_IN(p.host_peer_id) ||
	    !p.peers != !p.n_peers)
		abort();
	for (size_t i = 0; i < p.n_peers; i++)
		check_peer(&p.peers[i]);
	ctl_party_clear(&p);
	if (p.peers || p.n_peers)
		abort();
}

static void fuzz_peers(const json_t *arr)
{
	struct ctl_peer *peers = (struct ctl_peer *)1;
	size_t n = 1;

	if (!arr)
		return;
	if (ctl_peers_from_json(arr, &peers, &n)) {
		if (peers || n)
			abort();
		return;
	}
	if (n != json_array_size(arr) || !peers != !n)
		abort();
	for (size_t i = 0; i < n; i++)
		check_peer(&peers[i]);
	free(peers);
}

static void fuzz_relay(const json_t *o)
{
	struct ctl_relay r;

	if (!o || ctl_relay_from_json(o, &r))
		return;
	if (!ENDS_IN(r.relay_id) || !ENDS_IN(r.name) || !ENDS_IN(r.endpoint) ||
	    (!r.has_public_key && !crypto_is_zero(r.public_key, 32)))
		abort();
}

static void fuzz_key(const char *s, size_t len)
{
	uint8_t key[32], back[32];
	char text[CTL_KEY_B64 + 1];

	if (!s || ctl_b64_to_key(s, len, key))
		return;
	ctl_key_to_b64(key, text);
	if (strlen(text) != CTL_KEY_B64 || ctl_b64_to_key(text, strlen(text), back) ||
	    memcmp(key, back, 32))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *m = json_loadb((const char *)data, size, 0, NULL), *d;

	fuzz_key((const char *)data, size);
	if (!m)
		return 0;
	if (json_is_array(m)) {
		fuzz_peers(m);
		json_decref(m);
		return 0;
	}
	fuzz_event(m);
	fuzz_party(m);
	fuzz_relay(m);
	d = json_object_get(m, "data");
	fuzz_party(d);
	fuzz_party(json_object_get(d, "party"));
	fuzz_peers(json_object_get(d, "peers"));
	fuzz_relay(d);
	fuzz_key(json_string_value(json_object_get(m, "challenge")),
		 json_string_length(json_object_get(m, "challenge")));
	fuzz_key(json_string_value(json_object_get(m, "server_key")),
		 json_string_length(json_object_get(m, "server_key")));
	json_decref(m);
	return 0;
}
