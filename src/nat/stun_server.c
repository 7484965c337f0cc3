/*
 * stun_server: one Binding request in, at most one response out.
 * Silence for anything that is not a well-formed STUN request (no error
 * responses to garbage: a STUN server must not be an amplifier for it);
 * error responses for well-formed requests we cannot honour.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "nat/stun.h"
#include "nat/stun_server.h"

static int answer_error(const struct stun_msg *m, uint16_t code, const char *reason,
			const uint16_t *unknown, size_t n_unknown, uint8_t *out, size_t cap,
			const char *software)
{
	struct stun_builder b;
	uint8_t list[2 * STUN_MAX_UNKNOWN];
	size_t i;

	stun_build_init(&b, out, cap, m->method, STUN_ERROR, m->txid);
	stun_add_error(&b, code, reason);
	if (n_unknown) {
		for (i = 0; i < n_unknown; i++) {
			list[2 * i] = (uint8_t)(unknown[i] >> 8);
			list[2 * i + 1] = (uint8_t)unknown[i];
		}
		stun_add_bytes(&b, STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 2 * n_unknown);
	}
	if (software)
		stun_add_bytes(&b, STUN_ATTR_SOFTWARE, software, strlen(software));
	return stun_build_finish(&b, true);
}

static int answer_binding(const struct stun_server_topo *t, const struct stun_msg *m,
			  const struct wg_endpoint *src, unsigned ip, unsigned port, uint8_t *out,
			  size_t cap)
{
	struct stun_builder b;

	stun_build_init(&b, out, cap, STUN_METHOD_BINDING, STUN_SUCCESS, m->txid);
	stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src);
	/* RFC 3489 clients only understand MAPPED-ADDRESS. */
	stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, src);
	if (!t->wildcard)
		stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &t->sock[ip][port]);
	if (t->rfc5780)
		stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &t->sock[!ip][!port]);
	if (t->software)
		stun_add_bytes(&b, STUN_ATTR_SOFTWARE, t->software, strlen(t->software));
	return stun_build_finish(&b, true);
}

int stun_server_answer(const struct stun_server_topo *t, unsigned in_ip, unsigned in_port,
		       const uint8_t *req, size_t len, const struct wg_endpoint *src, uint8_t *out,
		       size_t cap, struct stun_server_reply *reply)
{
	uint16_t unknown[STUN_MAX_UNKNOWN + 1];
	size_t n_unknown;
	struct stun_msg m;
	unsigned ip = in_ip & 1, port = in_port & 1;
	int len_out;

	memset(reply, 0, sizeof(*reply));
	reply->ip = ip;
	reply->port = port;
	if (stun_parse(&m, req, len) || m.cls != STUN_REQUEST)
		return 0;
	if (m.method != STUN_METHOD_BINDING) {
		len_out = answer_error(&m, STUN_ERR_BAD_REQUEST, "only Binding is served", NULL, 0,
				       out, cap, t->software);
		goto done;
	}
	memcpy(unknown, m.unknown, m.n_unknown * sizeof(unknown[0]));
	n_unknown = m.n_unknown;
	/* RFC 5780 section 6.1: without an alternate address, CHANGE-REQUEST is
	 * refused as an unknown attribute. RESPONSE-PORT is not implemented. */
	if ((m.has & STUN_HAS_CHANGE_REQUEST) && !t->rfc5780 && n_unknown < STUN_MAX_UNKNOWN + 1)
		unknown[n_unknown++] = STUN_ATTR_CHANGE_REQUEST;
	if ((m.has & STUN_HAS_RESPONSE_PORT) && n_unknown < STUN_MAX_UNKNOWN + 1)
		unknown[n_unknown++] = STUN_ATTR_RESPONSE_PORT;
	if (n_unknown) {
		len_out = answer_error(&m, STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", unknown,
				       n_unknown > STUN_MAX_UNKNOWN ? STUN_MAX_UNKNOWN : n_unknown,
				       out, cap, t->software);
		goto done;
	}
	if (m.has & STUN_HAS_CHANGE_REQUEST) {
		if (m.change_flags & STUN_CHANGE_IP)
			reply->ip = !ip;
		if (m.change_flags & STUN_CHANGE_PORT)
			reply->port = !port;
	}
	len_out = answer_binding(t, &m, src, reply->ip, reply->port, out, cap);
done:
	if (len_out < 0)
		return len_out;
	reply->len = (size_t)len_out;
	return 0;
}
