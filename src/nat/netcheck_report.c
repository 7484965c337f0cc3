/*
 * netcheck_report: the report as text for people and as JSON for scripts.
 * The JSON field names and values are the contract of DESIGN.md section 1
 * (nat_type, mapping, filtering, public_endpoints, servers[].address/rtt_ms/error);
 * anything not determined is null, never a guess.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/netcheck.h"
#include "util/strbuf.h"

const char *nat_type_name(enum nat_type t)
{
	switch (t) {
	case NAT_TYPE_OPEN:
		return "open";
	case NAT_TYPE_FULL_CONE:
		return "full-cone";
	case NAT_TYPE_RESTRICTED_CONE:
		return "restricted-cone";
	case NAT_TYPE_PORT_RESTRICTED_CONE:
		return "port-restricted-cone";
	case NAT_TYPE_SYMMETRIC:
		return "symmetric";
	case NAT_TYPE_UDP_BLOCKED:
		return "udp-blocked";
	default:
		return "unknown";
	}
}

const char *nat_behavior_name(enum nat_behavior b)
{
	switch (b) {
	case NAT_BEHAVIOR_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	case NAT_BEHAVIOR_ADDRESS_DEPENDENT:
		return "address-dependent";
	case NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT:
		return "address-and-port-dependent";
	default:
		return "unknown";
	}
}

static json_t *tri_json(enum nc_bool v)
{
	return v == NC_UNKNOWN ? json_null() : json_boolean(v == NC_YES);
}

static json_t *ep_json(const struct wg_endpoint *ep)
{
	char buf[64];

	wg_endpoint_format(ep, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *server_json(const struct netcheck_server *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "address", s->resolved ? ep_json(&s->addr) : json_null());
	json_object_set_new(o, "rtt_ms", s->answered ? json_real(s->rtt_ms) : json_null());
	json_object_set_new(o, "error", s->answered ? json_null() : json_string(s->error));
	json_object_set_new(o, "mapped", s->answered ? ep_json(&s->mapped) : json_null());
	json_object_set_new(o, "other_address", s->has_other ? ep_json(&s->other) : json_null());
	json_object_set_new(o, "software", s->software[0] ? json_string(s->software) : json_null());
	return o;
}

char *netcheck_report_json(const struct netcheck_report *rep)
{
	json_t *o = json_object(), *arr;
	char *out;
	size_t i;

	json_object_set_new(o, "nat_type", json_string(nat_type_name(rep->type)));
	json_object_set_new(o, "mapping", json_string(nat_behavior_name(rep->mapping)));
	json_object_set_new(o, "filtering", json_string(nat_behavior_name(rep->filtering)));
	json_object_set_new(o, "behind_nat", tri_json(rep->behind_nat));
	json_object_set_new(o, "mapping_varies_by_dest", tri_json(rep->mapping_varies));
	json_object_set_new(o, "hairpinning", tri_json(rep->hairpinning));
	json_object_set_new(o, "local_endpoint", rep->has_local ? ep_json(&rep->local) : json_null());
	arr = json_array();
	for (i = 0; i < rep->n_public; i++)
		json_array_append_new(arr, ep_json(&rep->public_eps[i]));
	json_object_set_new(o, "public_endpoints", arr);
	arr = json_array();
	for (i = 0; i < rep->n_servers; i++)
		json_array_append_new(arr, server_json(&rep->servers[i]));
	json_object_set_new(o, "servers", arr);
	arr = json_array();
	for (i = 0; i < rep->n_notes; i++)
		json_array_append_new(arr, json_string(rep->notes[i]));
	json_object_set_new(o, "notes", arr);
	json_object_set_new(o, "duration_ms", json_real(rep->duration_ms));
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	return out;
}

static const char *tri_text(enum nc_bool v)
{
	return v == NC_UNKNOWN ? "not tested" : v == NC_YES ? "yes" : "no";
}

char *netcheck_report_text(const struct netcheck_report *rep)
{
	struct strbuf sb;
	char ep[64];
	size_t i;

	strbuf_init(&sb);
	strbuf_printf(&sb, "NAT type:     %s\n", nat_type_name(rep->type));
	strbuf_printf(&sb, "mapping:      %s\n", nat_behavior_name(rep->mapping));
	strbuf_printf(&sb, "filtering:    %s\n", nat_behavior_name(rep->filtering));
	strbuf_printf(&sb, "behind NAT:   %s\n", tri_text(rep->behind_nat));
	strbuf_printf(&sb, "hairpinning:  %s\n", tri_text(rep->hairpinning));
	if (rep->has_local) {
		wg_endpoint_format(&rep->local, ep, sizeof(ep));
		strbuf_printf(&sb, "local:        %s\n", ep);
	}
	for (i = 0; i < rep->n_public; i++) {
		wg_endpoint_format(&rep->public_eps[i], ep, sizeof(ep));
		strbuf_printf(&sb, "%s %s\n", i ? "             " : "public:      ", ep);
	}
	strbuf_printf(&sb, "servers:\n");
	for (i = 0; i < rep->n_servers; i++) {
		const struct netcheck_server *s = &rep->servers[i];

		if (s->answered)
			strbuf_printf(&sb, "  %-28s %8.2f ms%s\n", s->name, s->rtt_ms,
				      s->has_other ? "  (RFC 5780)" : "");
		else
			strbuf_printf(&sb, "  %-28s error: %s\n", s->name, s->error);
	}
	for (i = 0; i < rep->n_notes; i++)
		strbuf_printf(&sb, "note: %s\n", rep->notes[i]);
	strbuf_printf(&sb, "took %.0f ms\n", rep->duration_ms);
	return strbuf_take(&sb);
}
