/*
 * fuzz_stun: the STUN parser (every datagram on the WireGuard port that is not
 * WireGuard may reach it) and the STUN server's answer path. When a message
 * parses, its addresses, error and text are re-encoded and parsed back; the
 * round trip must give the same values, so the fuzzer checks encoder/parser
 * agreement, not only memory safety.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/stun.h"
#include "nat/stun_server.h"

/* Equal after v4-mapped IPv6 is unmapped (the encoder writes it as IPv4). */
static bool same_ep(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	struct wg_endpoint x = *a, y = *b;

	wg_endpoint_unmap(&x);
	wg_endpoint_unmap(&y);
	return wg_endpoint_equal(&x, &y);
}

static void roundtrip(const struct stun_msg *m)
{
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	struct stun_msg back;
	int len;

	stun_build_init(&b, buf, sizeof(buf), m->method, m->cls, m->txid);
	if (m->has & STUN_HAS_XOR_MAPPED)
		stun_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &m->xor_mapped);
	if (m->has & STUN_HAS_MAPPED)
		stun_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &m->mapped);
	if (m->has & STUN_HAS_OTHER_ADDRESS)
		stun_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &m->other_address);
	if (m->has & STUN_HAS_ERROR)
		stun_add_error(&b, m->error_code, m->error_reason);
	if (m->has & STUN_HAS_SOFTWARE)
		stun_add_bytes(&b, STUN_ATTR_SOFTWARE, m->software, strlen(m->software));
	len = stun_build_finish(&b, true);
	if (len < 0)
		return; /* e.g. an ERROR-CODE reason with a NUL cut short: fine */
	if (stun_parse(&back, buf, (size_t)len) || back.method != m->method || back.cls != m->cls ||
	    memcmp(back.txid, m->txid, STUN_TXID_LEN))
		abort();
	if ((m->has & STUN_HAS_XOR_MAPPED) && !same_ep(&back.xor_mapped, &m->xor_mapped))
		abort();
	if ((m->has & STUN_HAS_MAPPED) && !same_ep(&back.mapped, &m->mapped))
		abort();
	if ((m->has & STUN_HAS_ERROR) && back.error_code != m->error_code)
		abort();
	if ((m->has & STUN_HAS_SOFTWARE) && strcmp(back.software, m->software))
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
		(void)stun_msg_mapped(&m);
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
