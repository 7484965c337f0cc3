/*
 * ctl_proto: parsing and validation of client messages, and answer framing;
 * see ctl_proto.h. Validation is table-driven: each request type lists its
 * fields (name, kind, required), any other member of the object is refused,
 * and each kind has one checker. The parser keeps no state between calls, so
 * it is fuzzed on its own (fuzz/fuzz_control.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_proto.h"

#define CTL_ID_MAX ((1LL << 53) - 1)

enum {
	CTL_MAX_VERSION = 32,
	CTL_MAX_SECRET = 256,
};

enum ctl_field {
	F_PUBLIC_KEY,
	F_PROOF,
	F_NAME,
	F_VERSION,
	F_PEER_ID,
	F_TOKEN,
	F_PARTY_ID,
	F_MAX_MEMBERS,
	F_ENDPOINTS,
	F_NAT,
	F_RELAY,
	F_TO,
	F_PAYLOAD,
	F_SECRET,
	F_ENDPOINT,
	F_RELAY_ID,
	F_CLIENTS,
};

struct ctl_field_spec {
	const char *name;
	enum ctl_field kind;
	bool required;
};

struct ctl_type_spec {
	const char *name;
	const struct ctl_field_spec *fields;
};

#define REQ(n, k) { n, k, true }
#define OPT(n, k) { n, k, false }
#define END { NULL, 0, false }

static const struct ctl_field_spec f_register[] = {
	REQ("public_key", F_PUBLIC_KEY), REQ("proof", F_PROOF), REQ("name", F_NAME),
	REQ("version", F_VERSION), END,
};
static const struct ctl_field_spec f_auth[] = { REQ("peer_id", F_PEER_ID), REQ("token", F_TOKEN),
						END };
static const struct ctl_field_spec f_party_create[] = { REQ("name", F_NAME),
							OPT("max_members", F_MAX_MEMBERS), END };
static const struct ctl_field_spec f_party_id[] = { REQ("party_id", F_PARTY_ID), END };
static const struct ctl_field_spec f_none[] = { END };
static const struct ctl_field_spec f_peer_get[] = { REQ("peer_id", F_PEER_ID), END };
static const struct ctl_field_spec f_peer_update[] = {
	OPT("endpoints", F_ENDPOINTS), OPT("nat", F_NAT), OPT("relay", F_RELAY), OPT("name", F_NAME),
	END,
};
static const struct ctl_field_spec f_signal[] = { REQ("to", F_TO), REQ("payload", F_PAYLOAD),
						  END };
static const struct ctl_field_spec f_relay_register[] = {
	REQ("secret", F_SECRET), REQ("name", F_NAME), REQ("endpoint", F_ENDPOINT),
	OPT("public_key", F_PUBLIC_KEY), END,
};
static const struct ctl_field_spec f_relay_heartbeat[] = {
	REQ("relay_id", F_RELAY_ID), REQ("secret", F_SECRET), OPT("clients", F_CLIENTS), END,
};

static const struct ctl_type_spec ctl_types[CTL_REQ_COUNT] = {
	[CTL_REQ_REGISTER] = { "register", f_register },
	[CTL_REQ_AUTH] = { "auth", f_auth },
	[CTL_REQ_PARTY_CREATE] = { "party_create", f_party_create },
	[CTL_REQ_PARTY_JOIN] = { "party_join", f_party_id },
	[CTL_REQ_PARTY_LEAVE] = { "party_leave", f_none },
	[CTL_REQ_PARTY_GET] = { "party_get", f_party_id },
	[CTL_REQ_PEERS_LIST] = { "peers_list", f_party_id },
	[CTL_REQ_PEER_GET] = { "peer_get", f_peer_get },
	[CTL_REQ_PEER_UPDATE] = { "peer_update", f_peer_update },
	[CTL_REQ_HEARTBEAT] = { "heartbeat", f_none },
	[CTL_REQ_SIGNAL] = { "signal", f_signal },
	[CTL_REQ_RELAY_REGISTER] = { "relay_register", f_relay_register },
	[CTL_REQ_RELAY_HEARTBEAT] = { "relay_heartbeat", f_relay_heartbeat },
	[CTL_REQ_RELAYS_LIST] = { "relays_list", f_none },
};

static const struct {
	const char *name;
	int http;
} ctl_errs[CTL_E_COUNT] = {
	[CTL_OK] = { "ok", 200 },
	[CTL_E_BAD_JSON] = { "bad_json", 400 },
	[CTL_E_BAD_REQUEST] = { "bad_request", 400 },
	[CTL_E_UNKNOWN_TYPE] = { "unknown_type", 400 },
	[CTL_E_TOO_LARGE] = { "too_large", 413 },
	[CTL_E_RATE_LIMITED] = { "rate_limited", 429 },
	[CTL_E_UNAUTHORIZED] = { "unauthorized", 401 },
	[CTL_E_BAD_PROOF] = { "bad_proof", 401 },
	[CTL_E_NOT_FOUND] = { "not_found", 404 },
	[CTL_E_NOT_MEMBER] = { "not_member", 403 },
	[CTL_E_ALREADY_MEMBER] = { "already_member", 409 },
	[CTL_E_PARTY_FULL] = { "party_full", 409 },
	[CTL_E_NO_ADDRESS] = { "no_address", 409 },
	[CTL_E_INTERNAL] = { "internal", 500 },
	[CTL_E_TOO_MANY_SESSIONS] = { "too_many_sessions", 429 },
};

const char *ctl_err_name(enum ctl_err e)
{
	return (unsigned)e < CTL_E_COUNT ? ctl_errs[e].name : "internal";
}

int ctl_err_http(enum ctl_err e)
{
	return (unsigned)e < CTL_E_COUNT ? ctl_errs[e].http : 500;
}

const char *ctl_req_name(enum ctl_req_type t)
{
	return (unsigned)t < CTL_REQ_COUNT ? ctl_types[t].name : "?";
}

__attribute__((format(printf, 3, 4))) static int ctl_fail(struct ctl_perr *err, enum ctl_err code,
							  const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool ctl_endpoint_valid(const char *s, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	const char *colon, *p;
	size_t hlen;
	unsigned long port = 0;
	int af = AF_INET;

	if (len == 0 || len >= CTL_ENDPOINT_LEN || memchr(s, '\0', len))
		return false;
	if (s[0] == '[') {
		colon = memchr(s, ']', len);
		if (!colon || (size_t)(colon - s) + 1 >= len || colon[1] != ':')
			return false;
		hlen = (size_t)(colon - s) - 1;
		p = s + 1;
		colon++;
		af = AF_INET6;
	} else {
		colon = memrchr(s, ':', len);
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		p = s;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	if (inet_pton(af, host, addr) != 1)
		return false;
	p = colon + 1;
	if (p >= s + len || (size_t)(s + len - p) > 5)
		return false;
	for (; p < s + len; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/* A string without NUL bytes of minlen..maxlen bytes; printable when text
 * (names shown to players must not carry control characters). */
static bool ctl_str(json_t *v, size_t minlen, size_t maxlen, bool text, const char **out,
		    size_t *outlen)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len < minlen || len > maxlen || strlen(s) != len)
		return false;
	if (text)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return false;
	*out = s;
	if (outlen)
		*outlen = len;
	return true;
}

/* A NAT label as `lanrage netcheck` prints it: lowercase, digits and '-'. */
static bool ctl_label(json_t *obj, const char *key, char *out, size_t cap)
{
	const char *s;
	size_t len;

	if (!ctl_str(json_object_get(obj, key), 1, cap - 1, true, &s, &len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	memcpy(out, s, len + 1);
	return true;
}

static bool ctl_parse_nat(json_t *v, struct ctl_nat *nat)
{
	return json_is_object(v) && json_object_size(v) == 3 &&
	       ctl_label(v, "type", nat->type, sizeof(nat->type)) &&
	       ctl_label(v, "mapping", nat->mapping, sizeof(nat->mapping)) &&
	       ctl_label(v, "filtering", nat->filtering, sizeof(nat->filtering));
}

static bool ctl_parse_endpoints(json_t *v, struct ctl_req *r)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > CTL_MAX_ENDPOINTS)
		return false;
	json_array_foreach (v, i, e) {
		const char *s;
		size_t len;

		if (!ctl_str(e, 1, CTL_ENDPOINT_LEN - 1, false, &s, &len) ||
		    !ctl_endpoint_valid(s, len))
			return false;
		memcpy(r->endpoints[i], s, len + 1);
	}
	r->n_endpoints = json_array_size(v);
	return true;
}

static bool ctl_parse_uint(json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return false;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return false;
	*out = (uint64_t)n;
	return true;
}

static int ctl_parse_field(const struct ctl_field_spec *f, json_t *v, struct ctl_req *r,
			   struct ctl_perr *err)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t n;

	switch (f->kind) {
	case F_PUBLIC_KEY:
		if (!ctl_str(v, 1, CTL_KEY_B64, false, &s, &len) ||
		    ctl_b64_to_key(s, len, r->public_key))
			goto bad;
		r->has_public_key = true;
		break;
	case F_PROOF:
		if (!ctl_str(v, 1, CTL_KEY_B64, false, &s, &len) || ctl_b64_to_key(s, len, r->proof))
			goto bad;
		break;
	case F_NAME:
		if (!ctl_str(v, 1, CTL_MAX_NAME, true, &r->name, NULL))
			goto bad;
		r->has_name = true;
		break;
	case F_VERSION:
		if (!ctl_str(v, 0, CTL_MAX_VERSION, true, &r->version, NULL))
			goto bad;
		break;
	case F_PEER_ID:
	case F_TO:
		if (!ctl_str(v, 1, CTL_HEXID_LEN, false, &s, &len) ||
		    ctl_hexid_parse(s, len, r->peer_id))
			goto bad;
		break;
	case F_RELAY_ID:
		if (!ctl_str(v, 1, CTL_HEXID_LEN, false, &s, &len) ||
		    ctl_hexid_parse(s, len, r->relay_id))
			goto bad;
		break;
	case F_TOKEN:
		if (!ctl_str(v, 1, CTL_MAX_SECRET, false, &r->token, &r->token_len))
			goto bad;
		break;
	case F_SECRET:
		if (!ctl_str(v, 1, CTL_MAX_SECRET, false, &r->secret, &r->secret_len))
			goto bad;
		break;
	case F_PARTY_ID:
		if (!ctl_str(v, 1, 64, false, &s, &len) || ctl_code_parse(s, len, r->party_id))
			goto bad;
		break;
	case F_MAX_MEMBERS:
		if (!ctl_parse_uint(v, 2, CTL_LIMIT_MAX_MEMBERS, &n))
			goto bad;
		r->max_members = (uint32_t)n;
		break;
	case F_ENDPOINTS:
		if (!ctl_parse_endpoints(v, r))
			goto bad;
		r->has_endpoints = true;
		break;
	case F_NAT:
		if (!ctl_parse_nat(v, &r->nat))
			goto bad;
		r->has_nat = true;
		break;
	case F_RELAY:
		if (!ctl_str(v, 0, CTL_MAX_NAME, true, &r->relay, NULL))
			goto bad;
		r->has_relay = true;
		break;
	case F_PAYLOAD:
		if (!json_is_object(v) ||
		    json_dumpb(v, NULL, 0, JSON_COMPACT) > CTL_MAX_SIGNAL_PAYLOAD)
			goto bad;
		r->payload = v;
		break;
	case F_ENDPOINT:
		if (!ctl_str(v, 1, CTL_ENDPOINT_LEN - 1, false, &r->endpoint, &len) ||
		    !ctl_endpoint_valid(r->endpoint, len))
			goto bad;
		break;
	case F_CLIENTS:
		if (!ctl_parse_uint(v, 0, CTL_ID_MAX, &r->clients))
			goto bad;
		r->has_clients = true;
		break;
	}
	return 0;
bad:
	return ctl_fail(err, CTL_E_BAD_REQUEST, "field '%s' is ill-typed or out of range", f->name);
}

static const struct ctl_field_spec *ctl_find_field(const struct ctl_field_spec *f, const char *key)
{
	for (; f->name; f++)
		if (!strcmp(f->name, key))
			return f;
	return NULL;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence
 * (jansson refuses invalid UTF-8 in the error message we echo it into). */
static int ctl_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

static int ctl_parse_type(json_t *root, struct ctl_req *r, struct ctl_perr *err)
{
	json_t *t = json_object_get(root, "type");
	const char *s;

	if (!json_is_string(t))
		return ctl_fail(err, CTL_E_BAD_REQUEST, "field 'type' is missing or not a string");
	s = json_string_value(t);
	for (int i = 0; i < CTL_REQ_COUNT; i++) {
		if (strlen(s) == json_string_length(t) && !strcmp(s, ctl_types[i].name)) {
			r->type = (enum ctl_req_type)i;
			return 0;
		}
	}
	return ctl_fail(err, CTL_E_UNKNOWN_TYPE, "no request type '%.*s'", ctl_utf8_cut(s, 40),
			s);
}

static int ctl_parse_fields(json_t *root, struct ctl_req *r, struct ctl_perr *err)
{
	const struct ctl_field_spec *fields = ctl_types[r->type].fields, *f;
	const char *key;
	json_t *v;
	int ret;

	json_object_foreach (root, key, v) {
		if (!strcmp(key, "type") || !strcmp(key, "id"))
			continue;
		if (!ctl_find_field(fields, key))
			return ctl_fail(err, CTL_E_BAD_REQUEST, "unknown field '%.*s' in %s",
					ctl_utf8_cut(key, 40), key, ctl_types[r->type].name);
	}
	for (f = fields; f->name; f++) {
		v = json_object_get(root, f->name);
		if (!v) {
			if (f->required)
				return ctl_fail(err, CTL_E_BAD_REQUEST, "missing field '%s'",
						f->name);
			continue;
		}
		ret = ctl_parse_field(f, v, r, err);
		if (ret)
			return ret;
	}
	return 0;
}

int ctl_proto_parse(const char *buf, size_t len, struct ctl_req *req, struct ctl_perr *err)
{
	json_error_t jerr;
	json_t *root, *id;
	int ret;

	memset(req, 0, sizeof(*req));
	err->code = CTL_OK;
	err->message[0] = '\0';
	if (len > CTL_MAX_MESSAGE)
		return ctl_fail(err, CTL_E_TOO_LARGE, "message of %zu bytes is over %d", len,
				CTL_MAX_MESSAGE);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		ret = ctl_fail(err, CTL_E_BAD_JSON, "not a JSON object");
		goto err;
	}
	id = json_object_get(root, "id");
	if (id) {
		if (!json_is_integer(id) || json_integer_value(id) < 1 ||
		    json_integer_value(id) > CTL_ID_MAX) {
			ret = ctl_fail(err, CTL_E_BAD_REQUEST, "field 'id' must be an integer 1..2^53-1");
			goto err;
		}
		req->id = json_integer_value(id);
	}
	ret = ctl_parse_type(root, req, err);
	if (ret)
		goto err;
	if (!id) {
		ret = ctl_fail(err, CTL_E_BAD_REQUEST, "missing field 'id'");
		goto err;
	}
	ret = ctl_parse_fields(root, req, err);
	if (ret)
		goto err;
	req->root = root;
	return 0;
err:
	json_decref(root);
	req->root = NULL;
	return ret;
}

void ctl_req_free(struct ctl_req *req)
{
	json_decref(req->root);
	req->root = NULL;
}

char *ctl_msg_dump(json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	json_decref(msg);
	return s;
}

static json_t *ctl_id_json(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

char *ctl_msg_result(int64_t id, json_t *data)
{
	if (!data)
		return NULL;
	return ctl_msg_dump(json_pack("{s:s, s:o, s:o}", "type", "result", "id", ctl_id_json(id), "data",
				  data));
}

char *ctl_msg_error(int64_t id, enum ctl_err code, const char *message)
{
	return ctl_msg_dump(json_pack("{s:s, s:o, s:s, s:s}", "type", "error", "id", ctl_id_json(id),
				  "code", ctl_err_name(code), "message", message));
}
