/*
 * ctl_rest: the read-only REST queries of docs/CONTROL.md "REST". Answers
 * are built from the same objects as the WebSocket answers; errors carry the
 * protocol's code and message with the matching HTTP status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_handlers.h"
#include "control/ctl_proto.h"
#include "control/ctl_state.h"
#include "util/time.h"

/* An answer's body and, for the metrics, its error code (CTL_OK). */
struct ctl_rest_out {
	char *body;
	enum ctl_err code;
};

static int ctl_rest_answer(json_t *body, int status, struct ctl_rest_out *out)
{
	out->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return out->body ? status : -ENOMEM;
}

static int ctl_rest_error(enum ctl_err code, const char *message, struct ctl_rest_out *out)
{
	out->code = code;
	return ctl_rest_answer(json_pack("{s:s, s:s}", "code", ctl_err_name(code), "message",
					 message),
			       ctl_err_http(code), out);
}

/* Splits "/v1/parties/ID[/peers]" and the peer route; returns the tail after
 * prefix or NULL. */
static const char *ctl_rest_after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) ? NULL : path + n;
}

static int ctl_rest_party(struct ctl_core *c, const char *rest, struct ctl_peer_rec *me,
			  struct ctl_rest_out *body)
{
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	char id[CTL_CODE_SYMBOLS + 1];
	struct ctl_party_rec *p;
	bool peers;

	if (slash && strcmp(slash, "/peers"))
		return ctl_rest_error(CTL_E_NOT_FOUND, "no such route", body);
	peers = slash != NULL;
	if (ctl_code_parse(rest, idlen, id))
		return ctl_rest_error(CTL_E_BAD_REQUEST, "malformed party ID", body);
	p = ctl_map_get(&c->parties, id, CTL_CODE_SYMBOLS);
	if (!p)
		return ctl_rest_error(CTL_E_NOT_FOUND, "no such party", body);
	if (!peers)
		return ctl_rest_answer(ctl_json_party(p, me->party == p), 200, body);
	if (me->party != p)
		return ctl_rest_error(CTL_E_NOT_MEMBER, "not a member of that party", body);
	{
		json_t *o = ctl_json_party(p, true), *list = o ? json_object_get(o, "peers") : NULL;
		json_t *ans = list ? json_pack("{s:O}", "peers", list) : NULL;

		json_decref(o);
		return ctl_rest_answer(ans, 200, body);
	}
}

static int ctl_rest_peer(struct ctl_core *c, const char *rest, struct ctl_peer_rec *me,
			 struct ctl_rest_out *body)
{
	char id[CTL_HEXID_LEN + 1];
	struct ctl_peer_rec *p;

	if (ctl_hexid_parse(rest, strlen(rest), id))
		return ctl_rest_error(CTL_E_BAD_REQUEST, "malformed peer ID", body);
	p = ctl_map_get(&c->peers_by_id, id, CTL_HEXID_LEN);
	if (!p)
		return ctl_rest_error(CTL_E_NOT_FOUND, "no such peer", body);
	if (p != me && (!me->party || p->party != me->party))
		return ctl_rest_error(CTL_E_NOT_MEMBER, "that peer is not in your party", body);
	return ctl_rest_answer(ctl_json_peer(p), 200, body);
}

static int ctl_rest_route(struct ctl_core *c, const char *path, const char *authorization,
			  struct ctl_rest_out *body)
{
	char clean[256];
	const char *rest;
	struct ctl_peer_rec *me;
	size_t n;

	/* The query string is ignored; no route takes parameters. */
	n = strcspn(path, "?");
	if (n >= sizeof(clean))
		return ctl_rest_error(CTL_E_NOT_FOUND, "no such route", body);
	memcpy(clean, path, n);
	clean[n] = '\0';
	if (!strcmp(clean, "/v1/health"))
		return ctl_rest_answer(json_pack("{s:b, s:I, s:I, s:I}", "ok", 1, "parties",
						 (json_int_t)c->stats.parties, "peers",
						 (json_int_t)c->stats.peers, "sessions",
						 (json_int_t)c->stats.sessions),
				       200, body);
	if (!strcmp(clean, "/v1/relays"))
		return ctl_rest_answer(json_pack("{s:o}", "relays", ctl_json_relays(c)), 200, body);
	if (!ctl_rest_after(clean, "/v1/parties/") && !ctl_rest_after(clean, "/v1/peers/"))
		return ctl_rest_error(CTL_E_NOT_FOUND, "no such route", body);
	me = ctl_auth_bearer(c, authorization);
	if (!me)
		return ctl_rest_error(CTL_E_UNAUTHORIZED, "missing or wrong bearer token", body);
	rest = ctl_rest_after(clean, "/v1/parties/");
	if (rest)
		return ctl_rest_party(c, rest, me, body);
	return ctl_rest_peer(c, ctl_rest_after(clean, "/v1/peers/"), me, body);
}

int ctl_core_rest(struct ctl_core *c, const char *path, const char *authorization, char **body)
{
	struct ctl_rest_out out = { NULL, CTL_OK };
	uint64_t start = time_mono_ns();
	int status = ctl_rest_route(c, path, authorization, &out);

	if (status >= 0)
		ctl_metrics_request(&c->metrics, ctl_metrics_rest_type(path), out.code, start);
	*body = out.body;
	return status;
}
