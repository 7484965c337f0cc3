/*
 * fuzz_disco: the LAN discovery parsers (disco/disco_pkt.h, util/portlist.h,
 * the policy of disco/disco_table.h), each input fed to all of them:
 *
 * - as a captured IPv4 packet: when disco_udp_parse accepts it, the datagram
 *   is rebuilt with disco_udp_build and parsed again; the fields must come
 *   back the same (TTL 0 becomes the default 64), both checksums must verify
 *   the way the receiving kernel checks them, and only a payload over
 *   DISCO_MAX_PAYLOAD may be refused (-EMSGSIZE);
 * - as a daemon message: when disco_msg_parse accepts it, disco_msg_build
 *   must give back exactly the input bytes;
 * - as the fields of a disco_msg: when disco_msg_build accepts them, the
 *   bytes must parse back to the same message (build never writes what
 *   parse refuses);
 * - as a Minecraft announcement: the world's name comes out printable and
 *   within its room, the port 1..65535 or untouched;
 * - as an ioquake3 or Source server's answer: the server's name and map
 *   come out printable, within their room, which is never overrun;
 * - as a settings string, with every flag combination: a parsed list keeps
 *   the syntax's promises (1 <= lo <= hi, a multicast group only with
 *   PORTLIST_GROUPS, a mode exactly with PORTLIST_MODES, at most
 *   PORTLIST_MAX), a refused one is empty with a message; split at '|' it is
 *   the three discovery settings, and a parsed policy is queried.
 * Any disagreement aborts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "disco/disco_pkt.h"
#include "disco/disco_table.h"
#include "util/portlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 1071, written apart from the codec's: the receiver's sum. */
static uint16_t sum16(uint64_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void check_checksums(const uint8_t *pkt, size_t len)
{
	uint8_t pseudo[12];
	size_t ulen = len - DISCO_IP_HDR;

	if (sum16(0, pkt, DISCO_IP_HDR) != 0xffff)
		abort();
	memcpy(pseudo, pkt + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (uint8_t)(ulen >> 8);
	pseudo[11] = (uint8_t)ulen;
	if (!(pkt[26] | pkt[27]) ||
	    sum16(sum16(0, pseudo, sizeof(pseudo)), pkt + DISCO_IP_HDR, ulen) != 0xffff)
		abort();
}

static void fuzz_udp(const uint8_t *data, size_t size)
{
	static uint8_t buf[DISCO_MAX_PACKET];
	struct disco_udp u, v;
	ssize_t n;
	int r = disco_udp_parse(&u, data, size);

	if (r == -EINVAL || r == -EPROTO || r == -EFBIG)
		return;
	if (r)
		abort();
	if (u.payload < data || u.payload + u.payload_len > data + size)
		abort();
	n = disco_udp_build(buf, sizeof(buf), &u, (uint16_t)size);
	if (u.payload_len > DISCO_MAX_PAYLOAD) {
		if (n != -EMSGSIZE)
			abort();
		return;
	}
	if (n != (ssize_t)(DISCO_IP_HDR + DISCO_UDP_HDR + u.payload_len))
		abort();
	check_checksums(buf, (size_t)n);
	if (disco_udp_parse(&v, buf, (size_t)n))
		abort();
	if (v.src.s_addr != u.src.s_addr || v.dst.s_addr != u.dst.s_addr ||
	    v.sport != u.sport || v.dport != u.dport || v.ttl != (u.ttl ? u.ttl : 64) ||
	    v.payload_len != u.payload_len || memcmp(v.payload, u.payload, u.payload_len))
		abort();
	/* Built into a buffer one byte short: refused. */
	if (disco_udp_build(buf, (size_t)n - 1, &u, 0) != -EMSGSIZE)
		abort();
}

static void fuzz_msg_parse(const uint8_t *data, size_t size)
{
	static uint8_t buf[DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD];
	struct disco_msg m;
	ssize_t n;

	if (disco_msg_parse(&m, data, size))
		return;
	if (m.type != DISCO_MSG_GROUPS && m.type != DISCO_MSG_NATIVE)
		abort();
	n = disco_msg_build(buf, sizeof(buf), &m);
	if (n != (ssize_t)size || memcmp(buf, data, size))
		abort();
	if (disco_msg_build(buf, size - 1, &m) != -EMSGSIZE)
		abort();
}

/* The input as the fields of a message: type, count, groups, then the
 * native destination, ports and payload. */
static void fuzz_msg_build(const uint8_t *data, size_t size)
{
	static uint8_t buf[DISCO_NATIVE_HDR + DISCO_MAX_PAYLOAD + 1];
	struct disco_msg m = { 0 }, back;
	ssize_t n;

	if (size < 10)
		return;
	m.type = data[0] & 3;
	m.n_groups = data[1] % (DISCO_MAX_GROUPS + 2);
	if (m.n_groups > DISCO_MAX_GROUPS) {
		/* Over the maximum: never built. */
		if (disco_msg_build(buf, sizeof(buf), &m) != -EINVAL && m.type == DISCO_MSG_GROUPS)
			abort();
		m.n_groups = DISCO_MAX_GROUPS;
	}
	for (size_t i = 0; i < m.n_groups; i++)
		memcpy(&m.groups[i], data + 2 + (i * 4) % (size - 5), 4);
	memcpy(&m.native.dst, data + 2, 4);
	m.native.sport = (uint16_t)(data[6] << 8 | data[7]);
	m.native.dport = (uint16_t)(data[8] << 8 | data[9]);
	m.native.payload = data + 10;
	m.native.payload_len = size - 10;
	n = disco_msg_build(buf, sizeof(buf), &m);
	if (n == -EINVAL)
		return;
	if (n < DISCO_MSG_HDR || disco_msg_parse(&back, buf, (size_t)n))
		abort();
	if (back.type != m.type)
		abort();
	if (m.type == DISCO_MSG_GROUPS) {
		if (back.n_groups != m.n_groups ||
		    memcmp(back.groups, m.groups, m.n_groups * sizeof(m.groups[0])))
			abort();
	} else if (back.native.dst.s_addr != m.native.dst.s_addr ||
		   back.native.sport != m.native.sport || back.native.dport != m.native.dport ||
		   back.native.payload_len != m.native.payload_len ||
		   memcmp(back.native.payload, m.native.payload, m.native.payload_len)) {
		abort();
	}
}

/* As a Minecraft announcement: the name is printable, terminated within its
 * room; the port, when set, is 1..65535. */
static void fuzz_minecraft(const uint8_t *data, size_t size)
{
	char motd[16];
	uint16_t port = 0;
	size_t room = size ? data[0] % (sizeof(motd) + 1) : sizeof(motd);

	memset(motd, 0x7f, sizeof(motd));
	disco_minecraft_parse(data, size, motd, room, &port);
	if (motd[0] != 0x7f) {
		size_t n = strnlen(motd, room);

		if (!room || n == room)
			abort();
		for (size_t i = 0; i < n; i++)
			if (motd[i] < 0x20 || motd[i] >= 0x7f)
				abort();
	}
	if (room < sizeof(motd) && motd[room] != 0x7f)
		abort();
}

/* As a game server's answer (ioquake3, Source): the text is printable and
 * terminated within its room, which is never overrun. */
static void fuzz_server_info(const uint8_t *data, size_t size,
			     void (*parse)(const uint8_t *, size_t, char *, size_t))
{
	char out[24];
	size_t room = size ? data[0] % (sizeof(out) + 1) : sizeof(out), n;

	memset(out, 0x7f, sizeof(out));
	parse(data, size, out, room);
	if (!room) {
		if (out[0] != 0x7f)
			abort();
		return;
	}
	n = strnlen(out, room);
	if (n == room)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] >= 0x7f)
			abort();
	if (room < sizeof(out) && out[room] != 0x7f)
		abort();
}

static void check_list(const struct portlist *l, int r, unsigned flags, const char *err)
{
	if (r) {
		if (r != -EINVAL || l->n || !err[0])
			abort();
		return;
	}
	if (l->n > PORTLIST_MAX)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct portlist_entry *e = &l->e[i];

		if (!e->lo || e->lo > e->hi)
			abort();
		if (e->group && (!(flags & PORTLIST_GROUPS) || !IN_MULTICAST(ntohl(e->group))))
			abort();
		if ((e->mode != PORTLIST_MODE_NONE) != !!(flags & PORTLIST_MODES))
			abort();
		if (portlist_find(l, e->lo) > e || portlist_find(l, e->hi) > e)
			abort();
	}
}

static void fuzz_policy(char *s)
{
	char *modes = strchr(s, '|'), *allow = NULL, err[256];
	struct disco_policy p;
	struct portlist_entry ranges[128];

	if (modes) {
		*modes++ = '\0';
		allow = strchr(modes, '|');
		if (allow)
			*allow++ = '\0';
	}
	if (disco_policy_parse(&p, true, s, modes, allow, err, sizeof(err)))
		return;
	for (size_t i = 0; i < p.extra.n; i++) {
		struct in_addr dst = { p.extra.e[i].group ? p.extra.e[i].group : INADDR_BROADCAST };
		enum disco_verdict v = disco_policy_check(&p, dst, p.extra.e[i].lo);

		/* An extra port is forwarded unless it is a system one. */
		if (v != (disco_port_is_system(p.extra.e[i].lo) &&
					  !portlist_find(&p.allow_system, p.extra.e[i].lo)
				  ? DISCO_DENIED
				  : DISCO_FORWARD))
			abort();
		if (p.extra.e[i].group && !disco_policy_group_known(&p, dst))
			abort();
		(void)disco_policy_native(&p, p.extra.e[i].hi);
	}
	if (disco_policy_ranges(&p, ranges, 128) > 128)
		abort();
}

static void fuzz_portlist(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256];
	struct portlist l;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	for (unsigned flags = 0; flags < 4; flags++) {
		err[0] = '\0';
		check_list(&l, portlist_parse(&l, s, flags, err, sizeof(err)), flags, err);
	}
	fuzz_policy(s);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_udp(data, size);
	fuzz_msg_parse(data, size);
	fuzz_msg_build(data, size);
	fuzz_minecraft(data, size);
	fuzz_server_info(data, size, disco_quake_info);
	fuzz_server_info(data, size, disco_source_info);
	fuzz_portlist(data, size);
	return 0;
}
