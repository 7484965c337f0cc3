/*
 * fuzz_stun: the STUN parser (every datagram on the WireGuard port that is not
 * WireGuard may reach it) and the STUN server's answer path. When a message
 * parses, everything the codec understands (addresses, CHANGE-REQUEST, error,
 * SOFTWARE) is re-encoded with the builder and parsed back; the round trip
 * must give the same values, and encoding the result again must give the same
 * bytes, so the fuzzer checks encoder/parser agreement, not only memory safety.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/stun.h"
#include "nat/stun_server.h"

/* Equal after v4-mapped IPv6 is unmapped: the encoder writes ::ffff:a.b.c.d as
 * family IPv4, so it comes back as AF_INET (documented, not a mismatch). */
static bool same_ep(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	struct wg_endpoint x = *a, y = *b;

	wg_endpoint_unmap(&x);
	wg_endpoint_unmap(&y);
	return wg_endpoint_equal(&x, &y);
}

/* Encodes what m carries; never fails for a message stun_parse accepted. */
static size_t encode(uint8_t *buf, const struct stun_msg *m)
{
	struct stun_builder b;
	int len;

	stun_build_init(&b, buf, STUN_MAX_MSG, m->method, m->cls, m->txid);
	if (m->has & STUN_HAS_XOR_MAPPED)
		stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &m->xor_mapped);
	if (m->has & STUN_HAS_MAPPED)
		stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &m->mapped);
	if (m->has & STUN_HAS_RESPONSE_ORIGIN)
		stun_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &m->response_origin);
	if (m->has & STUN_HAS_OTHER_ADDRESS)
		stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &m->other_address);
	if (m->has & STUN_HAS_CHANGE_REQUEST)
		stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, m->change_flags);
	if (m->has & STUN_HAS_ERROR)
		stun_add_error(&b, m->error_code, m->error_reason);
	if (m->has & STUN_HAS_SOFTWARE)
		stun_add_bytes(&b, STUN_ATTR_SOFTWARE, m->software, strlen(m->software));
	len = stun_build_finish(&b, true);
	/* Parsed addresses are IPv4/IPv6, codes 300-699, text under 128 bytes:
	 * at most ~400 bytes, so the builder has no reason to refuse. */
	if (len < STUN_HEADER_LEN)
		abort();
	return (size_t)len;
}

static void roundtrip(const struct stun_msg *m)
{
	static const uint32_t keep = STUN_HAS_MAPPED | STUN_HAS_XOR_MAPPED |
				     STUN_HAS_RESPONSE_ORIGIN | STUN_HAS_OTHER_ADDRESS |
				     STUN_HAS_CHANGE_REQUEST | STUN_HAS_ERROR | STUN_HAS_SOFTWARE;
	uint8_t buf[STUN_MAX_MSG], again[STUN_MAX_MSG];
	const struct wg_endpoint *orig = stun_msg_mapped(m), *got;
	struct stun_msg back;
	size_t len = encode(buf, m);

	if (!stun_is_message(buf, len) || stun_parse(&back, buf, len))
		abort();
	if (back.method != m->method || back.cls != m->cls ||
	    memcmp(back.txid, m->txid, STUN_TXID_LEN) ||
	    back.has != ((m->has & keep) | STUN_HAS_FINGERPRINT) || back.n_unknown)
		abort();
	/* The address a client would act on survives the trip. */
	got = stun_msg_mapped(&back);
	if (!orig != !got || (orig && !same_ep(got, orig)))
		abort();
	if ((m->has & STUN_HAS_XOR_MAPPED) && !same_ep(&back.xor_mapped, &m->xor_mapped))
		abort();
	if ((m->has & STUN_HAS_MAPPED) && !same_ep(&back.mapped, &m->mapped))
		abort();
	if ((m->has & STUN_HAS_RESPONSE_ORIGIN) &&
	    !same_ep(&back.response_origin, &m->response_origin))
		abort();
	if ((m->has & STUN_HAS_OTHER_ADDRESS) && !same_ep(&back.other_address, &m->other_address))
		abort();
	if ((m->has & STUN_HAS_CHANGE_REQUEST) && back.change_flags != m->change_flags)
		abort();
	if ((m->has & STUN_HAS_ERROR) &&
	    (back.error_code != m->error_code || strcmp(back.error_reason, m->error_reason)))
		abort();
	if ((m->has & STUN_HAS_SOFTWARE) && strcmp(back.software, m->software))
		abort();
	/* And the codec is at a fixed point: encoding the parsed copy gives the
	 * same bytes. */
	if (encode(again, &back) != len || memcmp(again, buf, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stun_server_topo topo;
	struct stun_server_reply reply;
	uint8_t out[STUN_MAX_MSG];
	struct wg_endpoint src;
	struct stun_msg m;

	if (!topo.rfc5780) {
		wg_endpoint_parse(&topo.sock[0][0], "203.0.113.10:3478");
		wg_endpoint_parse(&topo.sock[0][1], "203.0.113.10:3479");
		wg_endpoint_parse(&topo.sock[1][0], "203.0.113.11:3478");
		wg_endpoint_parse(&topo.sock[1][1], "203.0.113.11:3479");
		topo.rfc5780 = true;
		topo.software = "fuzz";
	}
	if (stun_parse(&m, data, size) == 0) {
		if (!stun_is_message(data, size) || m.n_unknown > STUN_MAX_UNKNOWN)
			abort();
		roundtrip(&m);
	}
	wg_endpoint_parse(&src, size & 1 ? "[2001:db8::1]:4242" : "198.51.100.7:4242");
	if (stun_server_answer(&topo, size & 1, (size >> 1) & 1, data, size, &src, out, sizeof(out),
			       &reply) == 0 &&
	    reply.len) {
		/* Whatever we answer must itself be a valid STUN message. */
		if (stun_parse(&m, out, reply.len) || reply.ip > 1 || reply.port > 1)
			abort();
	}
	return 0;
}
