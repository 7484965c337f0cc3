/*
 * fuzz_conn_frames: what a member (or anyone who can reach our WireGuard
 * port) hands the ConnectionManager outside WireGuard itself
 * (conn/conn_internal.h), each input fed to all of:
 *
 * - probe_parse, as a datagram from anyone: only a well-formed v1 frame of
 *   exactly PROBE_LEN bytes gets past -EINVAL, and one that verifies must be
 *   the very bytes probe_build gives for its fields (the fuzzer cannot make
 *   the MAC, so an accepted forgery aborts);
 * - a genuine probe built from the input's first bytes, then damaged at the
 *   byte and with the mask the input names: it verifies exactly when
 *   undamaged, under the pair key and the sender's own public key, never
 *   reflected back at its sender or under another pair's key;
 * - echo_parse: what parses is rebuilt byte for byte by echo_build;
 * - echo_probe_parse, as a path MTU probe or answer from the tunnel: what
 *   parses is rebuilt by echo_probe_build to the same length and header (a
 *   probe's padding is anything), an answer byte for byte;
 * - shim_unwrap, as a relay datagram: the key and datagram point inside the
 *   input, and wrapping the datagram again as a SEND parses back to the same
 *   key and bytes;
 * - cand_add_str, as a member's candidate string: a refused string leaves
 *   the list alone; an accepted one is usable (a port, a specified address),
 *   never a duplicate, and prints to a string that parses back to itself;
 * - the input as a member's candidate list (binary endpoints, IPv4, IPv6 or
 *   v4-mapped) through the candidate filter of a fixed host (party subnet
 *   10.66.0.0/16, on the link 169.254.0.0/16 and fe80::/64, a LAN broadcast
 *   192.168.1.255): cand_check agrees with a model written here from
 *   conn_internal.h, and cand_select keeps at most CAND_MEMBER_MAX distinct
 *   candidates that all pass, public ones first, counting every refusal.
 * Any disagreement aborts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "conn/conn_internal.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two members, a and b, and a third, c, whose pair key with a differs. */
static uint8_t pub_a[32], pub_b[32], key_ab[PROBE_KEY_LEN], key_ac[PROBE_KEY_LEN];
/* The candidate filter of a fixed host. */
static struct cand_filter filter;

static void filter_init(void)
{
	filter.has_virtual = true;
	filter.virtual_net.family = AF_INET;
	inet_pton(AF_INET, "10.66.0.1", &filter.virtual_net.v4);
	filter.virtual_net.prefix = 16;
	filter.onlink[0].family = AF_INET;
	inet_pton(AF_INET, "169.254.10.20", &filter.onlink[0].v4);
	filter.onlink[0].prefix = 16;
	filter.onlink[1].family = AF_INET6;
	inet_pton(AF_INET6, "fe80::1", &filter.onlink[1].v6);
	filter.onlink[1].prefix = 64;
	filter.n_onlink = 2;
	inet_pton(AF_INET, "192.168.1.255", &filter.bcast[0]);
	filter.n_bcast = 1;
}

static void init_once(void)
{
	static bool done;
	uint8_t priv_a[32], priv_b[32], priv_c[32], pub_c[32];

	if (done)
		return;
	done = true;
	filter_init();
	if (crypto_init())
		abort();
	/* Fixed keys: every run is reproducible. */
	memset(priv_a, 0x11, 32);
	memset(priv_b, 0x22, 32);
	memset(priv_c, 0x33, 32);
	crypto_x25519_public(pub_a, priv_a);
	crypto_x25519_public(pub_b, priv_b);
	crypto_x25519_public(pub_c, priv_c);
	if (probe_pair_key(key_ab, priv_b, pub_a) || probe_pair_key(key_ac, priv_a, pub_c))
		abort();
}

static void fuzz_probe_raw(const uint8_t *data, size_t size)
{
	uint8_t again[PROBE_LEN];
	struct probe_frame f;
	int r = probe_parse(data, size, key_ab, pub_a, &f);

	if (r == -EINVAL)
		return;
	if (size != PROBE_LEN || !probe_is_frame(data, size))
		abort();
	if (r == -EBADMSG)
		return;
	/* Verified: only possible for the genuine bytes (a seed built by us). */
	if (r || probe_build(again, sizeof(again), &f, key_ab, pub_a) != PROBE_LEN ||
	    memcmp(again, data, PROBE_LEN))
		abort();
}

/* data: type, session[8], seq[4], damage position, damage mask. */
static void fuzz_probe_built(const uint8_t *data, size_t size)
{
	struct probe_frame f = { 0 }, g;
	uint8_t buf[PROBE_LEN];
	size_t at;
	int r;

	if (size < 15)
		return;
	f.type = data[0] & 1 ? PROBE_PROBE : PROBE_ACK;
	memcpy(f.session, data + 1, PROBE_SESSION_LEN);
	f.seq = (uint32_t)data[9] << 24 | (uint32_t)data[10] << 16 | (uint32_t)data[11] << 8 |
		data[12];
	if (probe_build(buf, PROBE_LEN - 1, &f, key_ab, pub_a) != -ENOSPC ||
	    probe_build(buf, sizeof(buf), &f, key_ab, pub_a) != PROBE_LEN)
		abort();
	/* Reflected at its sender, or checked under another pair's key: refused. */
	if (probe_parse(buf, PROBE_LEN, key_ab, pub_b, &g) != -EBADMSG ||
	    probe_parse(buf, PROBE_LEN, key_ac, pub_a, &g) != -EBADMSG)
		abort();
	at = data[13] % PROBE_LEN;
	buf[at] ^= data[14];
	r = probe_parse(buf, PROBE_LEN, key_ab, pub_a, &g);
	if (!data[14]) {
		if (r || g.type != f.type || g.seq != f.seq ||
		    memcmp(g.session, f.session, PROBE_SESSION_LEN))
			abort();
	} else if (at < 4 ? r != -EINVAL && r != -EBADMSG : r != -EBADMSG) {
		/* Damage in the header may make it no frame at all (-EINVAL) or a
		 * PROBE turned ACK (-EBADMSG); anywhere else the MAC catches it. */
		abort();
	}
}

static void fuzz_echo(const uint8_t *data, size_t size)
{
	uint8_t again[ECHO_LEN];
	uint64_t stamp;
	uint32_t seq;
	int type;

	if (echo_parse(data, size, &type, &seq, &stamp))
		return;
	if (size != ECHO_LEN || echo_build(again, type, seq, stamp) != ECHO_LEN ||
	    memcmp(again, data, ECHO_LEN))
		abort();
}

static void fuzz_echo_probe(const uint8_t *data, size_t size)
{
	static uint8_t again[65536];
	unsigned psize;
	uint32_t seq;
	int type, n;

	if (echo_probe_parse(data, size, &type, &seq, &psize))
		return;
	n = echo_probe_build(again, sizeof(again), type, seq, psize);
	if (n < 0 || (size_t)n != size || memcmp(again, data, ECHO_PROBE_LEN) ||
	    (type == ECHO_PROBE_REPLY && memcmp(again, data, size)))
		abort();
}

static void fuzz_shim(const uint8_t *data, size_t size)
{
	static uint8_t out[RELAY_MAX_FRAME];
	const uint8_t *src, *dgram;
	struct relay_frame f;
	size_t dlen;
	int n;

	if (shim_unwrap(data, size, &src, &dgram, &dlen))
		return;
	if (src < data || src + RELAY_KEY_LEN > data + size || dgram < data || !dlen ||
	    dgram + dlen > data + size)
		abort();
	n = shim_wrap(out, sizeof(out), src, dgram, dlen);
	if (n != (int)(RELAY_KEYED_HDR_LEN + dlen) || relay_parse(out, (size_t)n, &f) ||
	    f.type != RELAY_SEND || memcmp(f.key, src, RELAY_KEY_LEN) || f.payload_len != dlen ||
	    memcmp(f.payload, dgram, dlen))
		abort();
	/* A SEND is what we put on the wire, never what we take off it. */
	if (shim_unwrap(out, (size_t)n, &src, &dgram, &dlen) != -EINVAL)
		abort();
}

static bool usable(const struct wg_endpoint *ep)
{
	if (!wg_endpoint_port(ep))
		return false;
	if (ep->sa.sa_family == AF_INET)
		return ep->in4.sin_addr.s_addr != htonl(INADDR_ANY);
	return ep->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&ep->in6.sin6_addr) &&
	       !IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr);
}

static void fuzz_cand(const uint8_t *data, size_t size)
{
	static struct cand_list l;
	struct wg_endpoint back;
	char *s, text[80];
	size_t before;
	int r;

	/* Candidate strings are short; the daemon refuses longer ones earlier. */
	if (size > 128)
		return;
	s = malloc(size + 1);
	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&l, 0, sizeof(l));
	/* One candidate already there, so both "new" and "duplicate" happen. */
	if (cand_add_str(&l, "198.51.100.7:51820") || l.n != 1)
		abort();
	before = l.n;
	r = cand_add_str(&l, s);
	if (r) {
		if ((r != -EINVAL && r != -ENOSPC) || l.n != before)
			abort();
		goto out;
	}
	if (l.n != before && l.n != before + 1)
		abort();
	if (!usable(&l.ep[l.n - 1]))
		abort();
	for (size_t i = 0; i + 1 < l.n; i++)
		if (wg_endpoint_equal(&l.ep[i], &l.ep[l.n - 1]))
			abort();
	/* Adding it again changes nothing. */
	before = l.n;
	if (cand_add_str(&l, s) || l.n != before)
		abort();
	wg_endpoint_format(&l.ep[l.n - 1], text, sizeof(text));
	if (wg_endpoint_parse(&back, text))
		abort();
	wg_endpoint_unmap(&back);
	if (!wg_endpoint_equal(&back, &l.ep[l.n - 1]))
		abort();
	(void)cand_is_lan(&l.ep[l.n - 1]);
out:
	free(s);
}

/* What cand_check must say for the fixed filter, from its documentation. */
static bool model_ok(const struct wg_endpoint *ep)
{
	struct wg_endpoint e = *ep;
	const uint8_t *b;
	uint32_t a;

	wg_endpoint_unmap(&e);
	if (!wg_endpoint_port(&e))
		return false;
	if (e.sa.sa_family == AF_INET) {
		a = ntohl(e.in4.sin_addr.s_addr);
		return (a >> 24) != 0 && (a >> 24) != 127 && a < 0xe0000000u &&
		       a != 0xc0a801ffu /* 192.168.1.255 */ && (a >> 16) != 0x0a42 /* 10.66/16 */;
	}
	b = e.in6.sin6_addr.s6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(&e.in6.sin6_addr) || IN6_IS_ADDR_LOOPBACK(&e.in6.sin6_addr) ||
	    b[0] == 0xff)
		return false;
	/* fe80::/10 only within the link we are on, fe80::/64 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return b[1] == 0x80 && !b[2] && !b[3] && !b[4] && !b[5] && !b[6] && !b[7];
	return true;
}

static bool is_public(const struct wg_endpoint *e)
{
	return e->sa.sa_family == AF_INET6 ? !IN6_IS_ADDR_LINKLOCAL(&e->in6.sin6_addr) &&
						     (e->in6.sin6_addr.s6_addr[0] & 0xfe) != 0xfc
					   : !cand_is_lan(e);
}

/* data: per endpoint, a kind byte (bit 0: IPv6, bit 1: v4-mapped), the
 * address (4 or 16 bytes), the port (2 bytes). */
static void fuzz_filter(const uint8_t *data, size_t size)
{
	static struct cand_list in, out;
	size_t refused = 0, ok = 0, i = 0, got;

	memset(&in, 0, sizeof(in));
	while (in.n < CAND_MAX && i < size) {
		struct wg_endpoint *e = &in.ep[in.n];
		bool v6 = data[i] & 3;
		size_t alen = v6 && !(data[i] & 2) ? 16 : 4;

		if (size - i < 1 + alen + 2)
			break;
		if (!v6) {
			e->in4.sin_family = AF_INET;
			memcpy(&e->in4.sin_addr, data + i + 1, 4);
			memcpy(&e->in4.sin_port, data + i + 5, 2);
		} else {
			e->in6.sin6_family = AF_INET6;
			if (alen == 4) {
				e->in6.sin6_addr.s6_addr[10] = 0xff;
				e->in6.sin6_addr.s6_addr[11] = 0xff;
				memcpy(e->in6.sin6_addr.s6_addr + 12, data + i + 1, 4);
			} else {
				memcpy(e->in6.sin6_addr.s6_addr, data + i + 1, 16);
			}
			memcpy(&e->in6.sin6_port, data + i + 1 + alen, 2);
		}
		i += 1 + alen + 2;
		in.n++;
	}
	for (i = 0; i < in.n; i++) {
		enum cand_verdict v = cand_check(&filter, &in.ep[i]);

		if ((v == CAND_OK) != model_ok(&in.ep[i]) || !cand_verdict_name(v))
			abort();
		refused += v != CAND_OK;
	}
	got = cand_select(&out, &in, &filter, "fuzz");
	if (got != refused || out.n > CAND_MEMBER_MAX)
		abort();
	for (i = 0; i < out.n; i++) {
		bool found = false;

		if (cand_check(&filter, &out.ep[i]) != CAND_OK ||
		    (out.ep[i].sa.sa_family == AF_INET6 &&
		     IN6_IS_ADDR_V4MAPPED(&out.ep[i].in6.sin6_addr)))
			abort();
		/* public first: no public one after a private one */
		if (i && is_public(&out.ep[i]) && !is_public(&out.ep[i - 1]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (wg_endpoint_equal(&out.ep[j], &out.ep[i]))
				abort();
		for (size_t j = 0; j < in.n && !found; j++) {
			struct wg_endpoint e = in.ep[j];

			wg_endpoint_unmap(&e);
			found = wg_endpoint_equal(&e, &out.ep[i]);
		}
		if (!found)
			abort();
	}
	/* As many as fit of the distinct ones that pass. */
	for (i = 0; i < in.n; i++) {
		struct wg_endpoint e = in.ep[i];
		bool dup = false;

		wg_endpoint_unmap(&e);
		for (size_t j = 0; j < i && !dup; j++) {
			struct wg_endpoint d = in.ep[j];

			wg_endpoint_unmap(&d);
			dup = wg_endpoint_equal(&d, &e);
		}
		ok += !dup && model_ok(&e);
	}
	if (out.n != (ok < CAND_MEMBER_MAX ? ok : CAND_MEMBER_MAX))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	fuzz_probe_raw(data, size);
	fuzz_probe_built(data, size);
	fuzz_echo(data, size);
	fuzz_echo_probe(data, size);
	fuzz_shim(data, size);
	fuzz_cand(data, size);
	fuzz_filter(data, size);
	return 0;
}
