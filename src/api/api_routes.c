/*
 * api_routes: what each checked API request does in the PartyManager and
 * the JSON it answers (docs/API.md). Errors from the party become
 * {"error","message"} with the party's one-line message and a status that
 * says whose fault it was: 400/404/409 for the caller, 502 for the control
 * plane, 500 for us.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "nat/netcheck.h"

static json_t *api_nat_json(const struct ctl_nat *n)
{
	return json_pack("{s:s, s:s, s:s}", "type", n->type, "mapping", n->mapping, "filtering",
			 n->filtering);
}

json_t *api_member_json(const struct conn_peer_status *m)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:s}", "peer_id",
			      m->peer_id, "name", m->name, "virtual_ip", m->virtual_ip, "nat",
			      api_nat_json(&m->nat), "path", conn_path_name(m->path), "endpoint",
			      m->endpoint, "relay_id", m->relay_id, "since_ms",
			      (json_int_t)m->since_ms, "detail", m->detail);

	if (!j)
		return NULL;
	json_object_set_new(j, "rtt_ms", m->rtt_valid ? json_real(m->rtt_ms) : json_null());
	json_object_set_new(j, "jitter_ms", m->rtt_valid ? json_real(m->jitter_ms) : json_null());
	json_object_set_new(j, "loss_pct", m->rtt_valid ? json_real(m->loss_pct) : json_null());
	json_object_set_new(j, "mtu", json_integer(m->mtu));
	return j;
}

static json_t *api_members_json(const struct party_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < st->n_members; i++)
		json_array_append_new(a, api_member_json(&st->members[i]));
	return a;
}

static json_t *api_endpoints_json(const struct conn_self_status *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n_endpoints; i++)
		json_array_append_new(a, json_string(s->endpoints[i]));
	return a;
}

/* Fields that do not apply are absent, never null (docs/API.md). */
static const char *api_opt(bool present, const char *s)
{
	return present && s && s[0] ? s : NULL;
}

json_t *api_status_json(const struct party_status *st)
{
	bool in = st->state != PARTY_IDLE;

	return json_pack("{s:s, s:s*, s:s*, s:s*, s:{s:s, s:s*, s:s, s:s*, s:o, s:o, s:s, s:b},"
			 " s:{s:s, s:b, s:s*, s:s*}, s:o}",
			 "state", party_state_name(st->state),
			 "party_id", api_opt(in, st->party_id),
			 "party_name", api_opt(in, st->name),
			 "host_peer_id", api_opt(in, st->host_peer_id),
			 "self",
			 "peer_id", st->self_peer_id,
			 "name", api_opt(true, st->self_name),
			 "public_key", st->public_key,
			 "virtual_ip", api_opt(in, st->virtual_ip),
			 "nat", api_nat_json(&st->self.nat),
			 "endpoints", api_endpoints_json(&st->self),
			 "home_relay", st->self.home_relay,
			 "udp_blocked", st->self.udp_blocked,
			 "control", "mode", st->control_mode, "connected", st->control_connected,
			 "url", api_opt(true, st->control_url),
			 "error", api_opt(true, st->control_error),
			 "members", api_members_json(st));
}

/* endpoints[from..to) as a JSON array. */
static json_t *api_endpoint_range_json(const struct conn_self_status *s, size_t from, size_t to)
{
	json_t *a = json_array();

	for (size_t i = from; a && i < to && i < s->n_endpoints; i++)
		json_array_append_new(a, json_string(s->endpoints[i]));
	return a;
}

/* In a party: the report conn made on the WireGuard socket. Its endpoints
 * are our candidates: the STUN mappings first, then the interface addresses. */
static json_t *api_netcheck_party_json(const struct party_status *st)
{
	const struct conn_self_status *s = &st->self;

	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:[], s:s, s:b, s:s}", "nat_type",
			 s->nat.type, "mapping", s->nat.mapping, "filtering", s->nat.filtering,
			 "public_endpoints", api_endpoint_range_json(s, 0, s->n_public),
			 "local_endpoints", api_endpoint_range_json(s, s->n_public, s->n_endpoints),
			 "servers", "home_relay", s->home_relay, "udp_blocked", s->udp_blocked,
			 "source", "daemon");
}

/* Idle: netcheck's own report (nat/netcheck_report.c, the same fields as a
 * standalone `lanrage netcheck --json`) plus the daemon's fields. */
static json_t *api_netcheck_idle_json(const struct netcheck_report *rep, bool from_relays)
{
	char *text = netcheck_report_json(rep), ep[64];
	json_t *o = text ? json_loads(text, 0, NULL) : NULL, *local = json_array();
	bool public = false;

	free(text);
	for (size_t i = 0; rep->has_local && i < rep->n_public; i++)
		public |= wg_endpoint_equal(&rep->local, &rep->public_eps[i]);
	if (rep->has_local && !public) {
		wg_endpoint_format(&rep->local, ep, sizeof(ep));
		json_array_append_new(local, json_string(ep));
	}
	if (!o || !local) {
		json_decref(o);
		json_decref(local);
		return NULL;
	}
	json_object_set_new(o, "local_endpoints", local);
	json_object_set_new(o, "home_relay", json_string(""));
	json_object_set_new(o, "udp_blocked", json_boolean(rep->type == NAT_TYPE_UDP_BLOCKED));
	json_object_set_new(o, "servers_from", json_string(from_relays ? "relays" : "setting"));
	json_object_set_new(o, "source", json_string("daemon-idle"));
	return o;
}

int api_setting_json_add(const struct config_info *info, void *obj)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s}", "value",
			      info->value ? info->value : info->def, "default",
			      info->def, "type", config_type_name(info->type), "allowed",
			      info->allowed, "description", info->description, "applies",
			      info->live ? "now" : "next start");

	return j ? json_object_set_new(obj, info->key, j) : -ENOMEM;
}

static int api_error_status(int r)
{
	switch (r) {
	case -EINVAL:
		return 400;
	case -ENOENT:
		return 404;
	case -EALREADY:
	case -ENOSPC:
	case -EADDRNOTAVAIL:
		return 409;
	case -ENOTCONN:
	case -EIO:
		return 502;
	case -ETIMEDOUT:
		return 504;
	default:
		return 500;
	}
}

static const char *api_error_code(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 404:
		return "not_found";
	case 409:
		return "conflict";
	case 502:
		return "control_unavailable";
	case 504:
		return "timeout";
	default:
		return "internal";
	}
}

/* The party's error r as an answer. */
static int api_party_error(struct party *p, int r, json_t **out)
{
	char msg[PARTY_ERR_MAX];
	int status = api_error_status(r);

	party_last_error(p, msg, sizeof(msg));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "%s", strerror(-r));
	*out = json_pack("{s:s, s:s}", "error", api_error_code(status), "message", msg);
	return status;
}

static json_t *api_groups_json(const struct disco_status *ds)
{
	json_t *a = json_array();
	char ip[INET_ADDRSTRLEN];

	for (size_t i = 0; a && i < ds->n_groups; i++)
		json_array_append_new(a, json_string(inet_ntop(AF_INET, &ds->groups[i], ip,
								 sizeof(ip))));
	return a;
}

/* The status object's "lan_discovery": state and counters. */
static json_t *api_disco_json(struct party *p)
{
	struct disco_status ds;
	const struct disco_counters *c = &ds.c;

	party_disco_status(p, &ds);
	return json_pack("{s:b, s:b, s:s*, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:I}",
			 "enabled", ds.enabled, "capturing", ds.capturing,
			 "error", api_opt(true, ds.error), "groups", api_groups_json(&ds),
			 "captured", (json_int_t)c->captured, "forwarded", (json_int_t)c->forwarded,
			 "copies", (json_int_t)c->copies, "duplicates", (json_int_t)c->duplicates,
			 "rate_limited", (json_int_t)c->rate_limited, "denied", (json_int_t)c->denied,
			 "not_game", (json_int_t)c->not_game, "invalid", (json_int_t)c->invalid,
			 "same_lan", (json_int_t)c->same_lan,
			 "native_received", (json_int_t)c->native_received,
			 "native_refused", (json_int_t)c->native_refused,
			 "adverts_sent", (json_int_t)c->adverts_sent,
			 "adverts_received", (json_int_t)c->adverts_received);
}

static int api_do_games(struct party *p, json_t **out)
{
	struct disco_game_seen *g;
	json_t *a;
	size_t n;
	int r = party_games(p, &g, &n);

	if (r)
		return api_party_error(p, r, out);
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:s}",
						   "game", g[i].game, "peer_id", g[i].peer_id,
						   "member", g[i].member, "virtual_ip",
						   g[i].virtual_ip, "port", g[i].port,
						   "last_seen_s", g[i].last_seen_s, "info",
						   g[i].info));
	free(g);
	*out = json_pack("{s:o}", "games", a);
	return 200;
}

static int api_do_status(struct party *p, const struct api_request *req, json_t **out)
{
	struct party_status st;
	int r = party_status(p, &st);

	if (r) {
		party_status_free(&st);
		return api_party_error(p, r, out);
	}
	if (req->route == API_STATUS) {
		*out = api_status_json(&st);
		if (*out)
			json_object_set_new(*out, "lan_discovery", api_disco_json(p));
	}
	else
		*out = json_pack("{s:o}", "peers", api_members_json(&st));
	party_status_free(&st);
	return 200;
}

static int api_netcheck_error(int r)
{
	switch (r) {
	case -ENOTCONN:
	case -EHOSTUNREACH:
		return 502;
	case -EBUSY:
	case -ENOENT:
		return 409;
	default:
		return 500;
	}
}

static int api_do_netcheck(struct party *p, json_t **out)
{
	struct party_status st;
	struct netcheck_report *rep;
	char err[PARTY_ERR_MAX] = "";
	bool from_relays;
	int r = party_status(p, &st);

	if (r) {
		party_status_free(&st);
		return api_party_error(p, r, out);
	}
	if (st.state == PARTY_ACTIVE)
		*out = api_netcheck_party_json(&st);
	party_status_free(&st);
	if (st.state == PARTY_ACTIVE)
		return 200;
	rep = malloc(sizeof(*rep)); /* a few KiB: off the API thread's stack */
	if (!rep)
		return 500;
	r = party_netcheck_idle(p, rep, &from_relays, err, sizeof(err));
	if (r) {
		r = api_netcheck_error(r);
		*out = json_pack("{s:s, s:s}", "error", r == 409 ? "no_report" :
				 api_error_code(r), "message", err);
	} else {
		*out = api_netcheck_idle_json(rep, from_relays);
		r = 200;
	}
	free(rep);
	return r;
}

static int api_do_party(struct party *p, const struct api_request *req, json_t **out)
{
	struct party_status st;
	int r;

	if (req->route == API_PARTY_LEAVE) {
		r = party_leave(p);
		if (r)
			return api_party_error(p, r, out);
		*out = json_pack("{s:s}", "state", "idle");
		return 200;
	}
	r = req->route == API_PARTY_CREATE ? party_create(p, req->arg, &st)
					   : party_join(p, req->arg, &st);
	if (r)
		return api_party_error(p, r, out);
	*out = api_status_json(&st);
	party_status_free(&st);
	return 200;
}

static int api_do_ping(struct party *p, const struct api_request *req, json_t **out)
{
	double rtt;
	unsigned received;
	int r = party_ping_stats(p, req->arg, req->count, &rtt, &received);

	if (r && r != -ETIMEDOUT)
		return api_party_error(p, r, out);
	*out = json_pack("{s:s, s:i, s:i, s:o}", "peer", req->arg, "sent", req->count,
			 "received", received, "rtt_ms", received ? json_real(rtt) : json_null());
	return 200;
}

/* Whether a change took effect, truthfully: the LAN discovery settings
 * apply at once (party_setting_set reloads them), the rest at the next start. */
static const char *api_setting_note(const struct config_info *info, bool changed)
{
	if (!changed)
		return "unchanged";
	return info->live ? "applied now" : "applies when the daemon next starts";
}

static int api_setting_error(int r, const char *err, json_t **out)
{
	*out = json_pack("{s:s, s:s}", "error", r == -ENOENT ? "not_found" : "bad_request",
			 "message", err[0] ? err : strerror(-r));
	return r == -EIO ? 500 : r == -ENOENT ? 404 : 400;
}

/* Sets key to value, or to its default when value is NULL: {"key","value",
 * "note"} or the error. *changed says whether the value moved. */
static int api_setting_change(struct party *p, const char *key, const char *value,
			      bool *changed, json_t **out)
{
	char err[CONFIG_ERR_MAX] = "", before[CONFIG_VALUE_MAX], after[CONFIG_VALUE_MAX];
	struct config_info info;
	int r = party_setting_get(p, key, &info, before, sizeof(before));

	if (!r)
		r = party_setting_set(p, key, value ? value : info.def, err, sizeof(err));
	else
		r = party_setting_set(p, key, "", err, sizeof(err)); /* its "unknown setting" */
	if (r)
		return api_setting_error(r, err, out);
	party_setting_get(p, key, &info, after, sizeof(after));
	*changed = strcmp(before, after) != 0;
	*out = json_pack("{s:s, s:s, s:s}", "key", info.key, "value", after, "note",
			 api_setting_note(&info, *changed));
	return 200;
}

static int api_setting_key_add(const struct config_info *info, void *arg)
{
	return json_array_append_new(arg, json_string(info->key));
}

/* Every setting back to its default: {"changed":[{"key","value","note"}, ...]}
 * for those that moved. The keys are taken first: the list callback runs
 * under the party lock, which party_setting_set takes too. */
static int api_do_reset_all(struct party *p, json_t **out)
{
	json_t *keys = json_array(), *changed = json_array(), *key, *one;
	int status = 500;
	size_t i;

	if (!keys || !changed || party_settings_list(p, api_setting_key_add, keys))
		goto out;
	json_array_foreach(keys, i, key) {
		bool moved = false;

		status = api_setting_change(p, json_string_value(key), NULL, &moved, &one);
		if (status != 200) {
			*out = one;
			goto out;
		}
		if (moved)
			json_array_append_new(changed, one);
		else
			json_decref(one);
	}
	*out = json_pack("{s:O}", "changed", changed);
out:
	json_decref(keys);
	json_decref(changed);
	return status;
}

static int api_do_settings(struct party *p, const struct api_request *req, json_t **out)
{
	char value[CONFIG_VALUE_MAX];
	struct config_info info;
	bool changed;

	switch (req->route) {
	case API_SETTINGS_LIST:
		*out = json_object();
		if (!*out || party_settings_list(p, api_setting_json_add, *out))
			return 500;
		return 200;
	case API_SETTINGS_GET:
		if (party_setting_get(p, req->arg, &info, value, sizeof(value))) {
			*out = json_pack("{s:s, s:s+}", "error", "not_found", "message",
					 "no such setting: ", req->arg);
			return 404;
		}
		*out = json_pack("{s:s, s:s}", "key", info.key, "value", value);
		return 200;
	case API_SETTINGS_RESET:
		return api_setting_change(p, req->arg, NULL, &changed, out);
	case API_SETTINGS_RESET_ALL:
		return api_do_reset_all(p, out);
	default:
		return api_setting_change(p, req->arg, req->value, &changed, out);
	}
}

int api_handle(struct party *p, const struct api_request *req, char **body)
{
	json_t *out = NULL;
	int status;

	switch (req->route) {
	case API_STATUS:
	case API_PEERS:
		status = api_do_status(p, req, &out);
		break;
	case API_NETCHECK:
		status = api_do_netcheck(p, &out);
		break;
	case API_PARTY_CREATE:
	case API_PARTY_JOIN:
	case API_PARTY_LEAVE:
		status = api_do_party(p, req, &out);
		break;
	case API_PING:
		status = api_do_ping(p, req, &out);
		break;
	case API_DOWN:
		out = json_pack("{s:s}", "state", "stopping");
		status = 200;
		break;
	case API_GAMES:
		status = api_do_games(p, &out);
		break;
	default:
		status = api_do_settings(p, req, &out);
		break;
	}
	/* 10 digits: 3.6, not the 3.6000000000000001 of full precision */
	*body = out ? json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(out);
	if (!*body) {
		*body = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
		status = 500;
	}
	return status;
}
