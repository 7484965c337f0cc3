/* disco_pkt: see disco_pkt.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "disco/disco_pkt.h"
#include "util/bytes.h"

enum { DISCO_IP_MF = 0x2000, DISCO_IP_OFFSET = 0x1fff };

int disco_udp_parse(struct disco_udp *out, const uint8_t *buf, size_t len)
{
	size_t ihl, total, ulen;

	if (len < DISCO_IP_HDR)
		return -EINVAL;
	if (buf[0] >> 4 != 4)
		return -EPROTO;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	total = bytes_get_be16(buf + 2);
	if (ihl < DISCO_IP_HDR || total < ihl || total > len)
		return -EINVAL;
	if (buf[9] != IPPROTO_UDP)
		return -EPROTO;
	if (bytes_get_be16(buf + 6) & (DISCO_IP_MF | DISCO_IP_OFFSET))
		return -EFBIG;
	if (total - ihl < DISCO_UDP_HDR)
		return -EINVAL;
	ulen = bytes_get_be16(buf + ihl + 4);
	if (ulen < DISCO_UDP_HDR || ulen > total - ihl)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(&out->src, buf + 12, 4);
	memcpy(&out->dst, buf + 16, 4);
	out->ttl = buf[8];
	out->sport = bytes_get_be16(buf + ihl);
	out->dport = bytes_get_be16(buf + ihl + 2);
	out->payload = buf + ihl + DISCO_UDP_HDR;
	out->payload_len = ulen - DISCO_UDP_HDR;
	return 0;
}

/* The Internet checksum's running sum (RFC 1071), folded by the caller. */
static uint32_t disco_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += bytes_get_be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t disco_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

ssize_t disco_udp_build(uint8_t *buf, size_t cap, const struct disco_udp *u, uint16_t ip_id)
{
	size_t ulen = DISCO_UDP_HDR + u->payload_len, total = DISCO_IP_HDR + ulen;
	uint8_t *udp = buf + DISCO_IP_HDR;
	uint32_t sum;
	uint16_t csum;

	if (u->payload_len > DISCO_MAX_PAYLOAD || total > cap) /* the first: no wrap-around */
		return -EMSGSIZE;
	buf[0] = 0x45;
	buf[1] = 0;
	bytes_put_be16(buf + 2, (uint16_t)total);
	bytes_put_be16(buf + 4, ip_id);
	bytes_put_be16(buf + 6, 0);
	buf[8] = u->ttl ? u->ttl : 64;
	buf[9] = IPPROTO_UDP;
	bytes_put_be16(buf + 10, 0);
	memcpy(buf + 12, &u->src, 4);
	memcpy(buf + 16, &u->dst, 4);
	bytes_put_be16(buf + 10, disco_fold(disco_sum(0, buf, DISCO_IP_HDR)));

	bytes_put_be16(udp, u->sport);
	bytes_put_be16(udp + 2, u->dport);
	bytes_put_be16(udp + 4, (uint16_t)ulen);
	bytes_put_be16(udp + 6, 0);
	memmove(udp + DISCO_UDP_HDR, u->payload, u->payload_len);
	/* Pseudo-header: addresses, protocol, UDP length. */
	sum = disco_sum(0, buf + 12, 8) + IPPROTO_UDP + (uint32_t)ulen;
	csum = disco_fold(disco_sum(sum, udp, ulen));
	bytes_put_be16(udp + 6, csum ? csum : 0xffff); /* 0 means "no checksum" */
	return (ssize_t)total;
}

static int disco_is_bcast_or_mcast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h == INADDR_BROADCAST || IN_MULTICAST(h);
}

static int disco_msg_parse_groups(struct disco_msg *out, const uint8_t *buf, size_t len)
{
	uint8_t n;

	if (len < DISCO_MSG_HDR + 1)
		return -EINVAL;
	n = buf[DISCO_MSG_HDR];
	if (n > DISCO_MAX_GROUPS || len != DISCO_MSG_HDR + 1 + (size_t)n * 4)
		return -EINVAL;
	for (uint8_t i = 0; i < n; i++) {
		memcpy(&out->groups[i], buf + DISCO_MSG_HDR + 1 + i * 4, 4);
		if (!IN_MULTICAST(ntohl(out->groups[i].s_addr)))
			return -EINVAL;
	}
	out->n_groups = n;
	return 0;
}

static int disco_msg_parse_native(struct disco_msg *out, const uint8_t *buf, size_t len)
{
	struct disco_udp *u = &out->native;

	if (len <= DISCO_NATIVE_HDR || len - DISCO_NATIVE_HDR > DISCO_MAX_PAYLOAD)
		return -EINVAL;
	memcpy(&u->dst, buf + DISCO_MSG_HDR, 4);
	u->sport = bytes_get_be16(buf + DISCO_MSG_HDR + 4);
	u->dport = bytes_get_be16(buf + DISCO_MSG_HDR + 6);
	if (!disco_is_bcast_or_mcast(u->dst) || !u->sport || !u->dport)
		return -EINVAL;
	u->payload = buf + DISCO_NATIVE_HDR;
	u->payload_len = len - DISCO_NATIVE_HDR;
	return 0;
}

int disco_msg_parse(struct disco_msg *out, const uint8_t *buf, size_t len)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (len < DISCO_MSG_HDR || memcmp(buf, DISCO_MAGIC, 4) || buf[5])
		return -EINVAL;
	out->type = buf[4];
	if (out->type == DISCO_MSG_GROUPS)
		r = disco_msg_parse_groups(out, buf, len);
	else if (out->type == DISCO_MSG_NATIVE)
		r = disco_msg_parse_native(out, buf, len);
	else
		r = -EINVAL;
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

ssize_t disco_msg_build(uint8_t *buf, size_t cap, const struct disco_msg *m)
{
	const struct disco_udp *u = &m->native;
	size_t len;

	if (m->type == DISCO_MSG_GROUPS) {
		if (m->n_groups > DISCO_MAX_GROUPS)
			return -EINVAL;
		for (uint8_t i = 0; i < m->n_groups; i++)
			if (!IN_MULTICAST(ntohl(m->groups[i].s_addr)))
				return -EINVAL;
		len = DISCO_MSG_HDR + 1 + (size_t)m->n_groups * 4;
	} else if (m->type == DISCO_MSG_NATIVE) {
		if (!disco_is_bcast_or_mcast(u->dst) || !u->sport || !u->dport ||
		    !u->payload_len || u->payload_len > DISCO_MAX_PAYLOAD)
			return -EINVAL;
		len = DISCO_NATIVE_HDR + u->payload_len;
	} else {
		return -EINVAL;
	}
	if (len > cap)
		return -EMSGSIZE;
	memcpy(buf, DISCO_MAGIC, 4);
	buf[4] = m->type;
	buf[5] = 0;
	if (m->type == DISCO_MSG_GROUPS) {
		buf[DISCO_MSG_HDR] = m->n_groups;
		for (uint8_t i = 0; i < m->n_groups; i++)
			memcpy(buf + DISCO_MSG_HDR + 1 + i * 4, &m->groups[i], 4);
	} else {
		memcpy(buf + DISCO_MSG_HDR, &u->dst, 4);
		bytes_put_be16(buf + DISCO_MSG_HDR + 4, u->sport);
		bytes_put_be16(buf + DISCO_MSG_HDR + 6, u->dport);
		memcpy(buf + DISCO_NATIVE_HDR, u->payload, u->payload_len);
	}
	return (ssize_t)len;
}

/* Appends n bytes of s to out (cap > 0, NUL-terminated), printable ASCII
 * kept and anything else as '?'. */
static void disco_append(char *out, size_t cap, const char *s, size_t n)
{
	size_t used = strlen(out);

	for (size_t i = 0; i < n && used + 1 < cap; i++)
		out[used++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[used] = '\0';
}

/* "NAME (MAP)", "NAME" or "(MAP)" from two fields, either may be empty. */
static void disco_name_map(char *out, size_t cap, const char *name, size_t nlen, const char *map,
			   size_t mlen)
{
	if (!cap)
		return;
	out[0] = '\0';
	disco_append(out, cap, name, nlen);
	if (mlen) {
		disco_append(out, cap, nlen ? " (" : "(", nlen ? 2 : 1);
		disco_append(out, cap, map, mlen);
		disco_append(out, cap, ")", 1);
	}
}

/* The value of \\key\\ in a quake info string, or NULL. */
static const char *disco_quake_value(const char *s, size_t n, const char *key, size_t *vlen)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < n;) {
		const char *kp, *vp, *end;

		if (s[i] != '\\') {
			i++;
			continue;
		}
		kp = s + i + 1;
		vp = memchr(kp, '\\', n - (size_t)(kp - s));
		if (!vp)
			return NULL;
		vp++;
		end = memchr(vp, '\\', n - (size_t)(vp - s));
		if (!end)
			end = s + n;
		if ((size_t)(vp - 1 - kp) == k && !memcmp(kp, key, k)) {
			*vlen = (size_t)(end - vp);
			return vp;
		}
		i = (size_t)(end - s);
	}
	return NULL;
}

void disco_quake_info(const uint8_t *payload, size_t len, char *out, size_t cap)
{
	const char *s = (const char *)payload, *nl = memchr(s, '\n', len), *h, *m;
	size_t hl = 0, ml = 0, n;

	if (!cap)
		return;
	out[0] = '\0';
	if (!nl)
		return;
	n = len - (size_t)(nl + 1 - s);
	h = disco_quake_value(nl + 1, n, "hostname", &hl);
	m = disco_quake_value(nl + 1, n, "mapname", &ml);
	disco_name_map(out, cap, h ? h : "", h ? hl : 0, m ? m : "", m ? ml : 0);
}

void disco_source_info(const uint8_t *payload, size_t len, char *out, size_t cap)
{
	const char *s = (const char *)payload, *name, *ne, *map, *me;

	if (!cap)
		return;
	out[0] = '\0';
	if (len < 7)
		return;
	name = s + 6; /* after the header and the protocol byte */
	ne = memchr(name, '\0', len - 6);
	if (!ne)
		return;
	map = ne + 1;
	me = memchr(map, '\0', len - (size_t)(map - s));
	if (!me)
		return;
	disco_name_map(out, cap, name, (size_t)(ne - name), map, (size_t)(me - map));
}

/* Finds "[TAG]" and "[/TAG]" (open and close given whole); the text
 * between them, or NULL. */
static const char *disco_tag(const char *s, size_t n, const char *open, const char *close,
			     size_t *len)
{
	const char *a = memmem(s, n, open, strlen(open));
	const char *b;

	if (!a)
		return NULL;
	a += strlen(open);
	b = memmem(a, n - (size_t)(a - s), close, strlen(close));
	if (!b)
		return NULL;
	*len = (size_t)(b - a);
	return a;
}

void disco_minecraft_parse(const uint8_t *payload, size_t len, char *motd, size_t motd_len,
			   uint16_t *port)
{
	const char *s = (const char *)payload, *t;
	size_t n;

	if (motd_len && (t = disco_tag(s, len, "[MOTD]", "[/MOTD]", &n))) {
		n = n < motd_len - 1 ? n : motd_len - 1;
		for (size_t i = 0; i < n; i++)
			motd[i] = t[i] >= 0x20 && t[i] < 0x7f ? t[i] : '?';
		motd[n] = '\0';
	}
	if ((t = disco_tag(s, len, "[AD]", "[/AD]", &n)) && n >= 1 && n <= 5) {
		unsigned v = 0;

		for (size_t i = 0; i < n; i++) {
			if (t[i] < '0' || t[i] > '9')
				return;
			v = v * 10 + (unsigned)(t[i] - '0');
		}
		if (v >= 1 && v <= 65535)
			*port = (uint16_t)v;
	}
}
