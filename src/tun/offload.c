/*
 * offload: TSO/USO segmentation, checksum completion and TCP GRO for TUN
 * offloads (see offload.h). Invariants: every packet this file writes has a
 * correct IPv4 header checksum and a complete transport checksum, except a
 * coalesced group, which carries the pseudo-header sum and NEEDS_CSUM as the
 * kernel expects from a virtio device; no byte is read past a checked length.
 */
#include "tun/offload.h"

#include <errno.h>
#include <string.h>

#include "util/bytes.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	TCP_HLEN = 20,
	UDP_HLEN = 8,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	TCP_FIN = 0x01,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_CWR = 0x80,
	TCP_CSUM_OFF = 16,
	UDP_CSUM_OFF = 6,
	MAX_IP_LEN = 65535,
};

uint64_t tun_csum_add(uint64_t sum, const uint8_t *buf, size_t len)
{
	uint64_t hi = 0;
	uint32_t w;
	uint16_t h;

	/* 32-bit words into a 64-bit accumulator: no carry is lost before 2^32 words. */
	for (; len >= 16; buf += 16, len -= 16) {
		uint32_t a[4];

		memcpy(a, buf, 16);
		sum += a[0];
		hi += a[1];
		sum += a[2];
		hi += a[3];
	}
	for (; len >= 4; buf += 4, len -= 4) {
		memcpy(&w, buf, 4);
		sum += w;
	}
	if (len >= 2) {
		memcpy(&h, buf, 2);
		sum += h;
		buf += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { buf[0], 0 };

		memcpy(&h, last, 2);
		sum += h;
	}
	/* Both halves are below 2^62 for any packet we can see; fold them together. */
	sum = (sum & 0xffffffffu) + (sum >> 32) + (hi & 0xffffffffu) + (hi >> 32);
	return sum;
}

uint16_t tun_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t tun_csum_pseudo(const uint8_t *pkt, int family, uint8_t proto, size_t l4len)
{
	uint8_t tail[8] = { 0 };

	if (family == 4) {
		tail[1] = proto;
		bytes_put_be16(tail + 2, (uint16_t)l4len);
		return tun_csum_add(tun_csum_add(0, pkt + 12, 8), tail, 4);
	}
	bytes_put_be32(tail, (uint32_t)l4len);
	tail[7] = proto;
	return tun_csum_add(tun_csum_add(0, pkt + 8, 32), tail, 8);
}

void tun_vnet_hdr_parse(struct tun_vnet_hdr *h, const uint8_t *buf)
{
	memcpy(h, buf, sizeof(*h));
}

void tun_vnet_hdr_write(const struct tun_vnet_hdr *h, uint8_t *buf)
{
	memcpy(buf, h, sizeof(*h));
}

static void ip4_set_csum(uint8_t *ip)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = (uint16_t)~tun_csum_fold(tun_csum_add(0, ip, (size_t)(ip[0] & 0xf) * 4));
	memcpy(ip + 10, &c, 2);
}

/* Completes the transport checksum at l4 + off over [l4, pkt + len), the field
 * holding nothing of its own (zeroed here). */
static void l4_set_csum(uint8_t *pkt, int family, uint8_t proto, size_t l4, size_t off,
			size_t len)
{
	uint16_t c;

	pkt[l4 + off] = pkt[l4 + off + 1] = 0;
	c = (uint16_t)~tun_csum_fold(tun_csum_add(tun_csum_pseudo(pkt, family, proto, len - l4),
						  pkt + l4, len - l4));
	if (proto == PROTO_UDP && !c)
		c = 0xffff; /* zero means "no checksum" in UDP */
	memcpy(pkt + l4 + off, &c, 2);
}

/* What a GSO packet's headers say: IP family, transport offset and header length. */
struct gso_shape {
	int family;
	uint8_t proto;
	size_t l4, hlen;
};

/* Checks the IP header against len and the header's csum_start (the transport
 * offset the kernel computed, which also covers IPv6 extension headers). */
static int gso_shape(const struct tun_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t proto,
		     struct gso_shape *s)
{
	size_t l4 = h->csum_start;

	if (len < IP4_HLEN)
		return -EINVAL;
	s->family = pkt[0] >> 4;
	s->proto = proto;
	s->l4 = l4;
	if (s->family == 4) {
		if ((size_t)(pkt[0] & 0xf) * 4 != l4 || l4 < IP4_HLEN || pkt[9] != proto ||
		    bytes_get_be16(pkt + 2) != len)
			return -EINVAL;
	} else if (s->family == 6) {
		if (len < IP6_HLEN || l4 < IP6_HLEN ||
		    (size_t)bytes_get_be16(pkt + 4) + IP6_HLEN != len)
			return -EINVAL;
		if (l4 == IP6_HLEN && pkt[6] != proto)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (proto == PROTO_TCP) {
		if (l4 + TCP_HLEN > len || (size_t)(pkt[l4 + 12] >> 4) * 4 < TCP_HLEN)
			return -EINVAL;
		s->hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
	} else {
		s->hlen = l4 + UDP_HLEN;
	}
	if (s->hlen > len)
		return -EINVAL;
	return 0;
}

/* Fixes the IP header of a segment of total length seglen, the i-th of its packet. */
static void seg_fix_ip(uint8_t *seg, const struct gso_shape *s, size_t seglen, unsigned i)
{
	if (s->family == 4) {
		bytes_put_be16(seg + 2, (uint16_t)seglen);
		bytes_put_be16(seg + 4, (uint16_t)(bytes_get_be16(seg + 4) + i));
		ip4_set_csum(seg);
	} else {
		bytes_put_be16(seg + 4, (uint16_t)(seglen - IP6_HLEN));
	}
}

static int gso_segment(const struct tun_vnet_hdr *h, const uint8_t *pkt, size_t len,
		       uint8_t proto, uint8_t **out, size_t *out_len, unsigned max, size_t cap)
{
	struct gso_shape s;
	size_t payload, mss = h->gso_size, off;
	unsigned n, i;
	uint32_t seq;
	int ret = gso_shape(h, pkt, len, proto, &s);

	if (ret)
		return ret;
	if (!mss)
		return -EINVAL;
	payload = len - s.hlen;
	n = payload ? (unsigned)((payload + mss - 1) / mss) : 1;
	if (n > max || s.hlen + (payload < mss ? payload : mss) > cap)
		return -EMSGSIZE;
	seq = proto == PROTO_TCP ? bytes_get_be32(pkt + s.l4 + 4) : 0;
	for (i = 0, off = 0; i < n; i++, off += mss) {
		size_t plen = payload - off < mss ? payload - off : mss;
		size_t seglen = s.hlen + plen;
		uint8_t *seg = out[i];

		memcpy(seg, pkt, s.hlen);
		memcpy(seg + s.hlen, pkt + s.hlen + off, plen);
		seg_fix_ip(seg, &s, seglen, i);
		if (proto == PROTO_TCP) {
			uint8_t *th = seg + s.l4;

			bytes_put_be32(th + 4, seq + (uint32_t)off);
			if (i + 1 < n)
				th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i)
				th[13] &= (uint8_t)~TCP_CWR;
			l4_set_csum(seg, s.family, PROTO_TCP, s.l4, TCP_CSUM_OFF, seglen);
		} else {
			bytes_put_be16(seg + s.l4 + 4, (uint16_t)(seglen - s.l4));
			l4_set_csum(seg, s.family, PROTO_UDP, s.l4, UDP_CSUM_OFF, seglen);
		}
		out_len[i] = seglen;
	}
	return (int)n;
}

int tun_csum_complete(const struct tun_vnet_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, field = start + h->csum_offset;
	uint16_t c;

	if (!(h->flags & TUN_VNET_F_NEEDS_CSUM))
		return 0;
	if (start >= len || field + 2 > len)
		return -EINVAL;
	/* The field holds the pseudo-header sum; the sum from start covers it. */
	c = (uint16_t)~tun_csum_fold(tun_csum_add(0, pkt + start, len - start));
	if (h->csum_offset == UDP_CSUM_OFF && !c)
		c = 0xffff;
	memcpy(pkt + field, &c, 2);
	return 0;
}

int tun_gso_split(const struct tun_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t **out,
		  size_t *out_len, unsigned max, size_t cap)
{

	switch (h->gso_type) {
	case TUN_VNET_GSO_TCPV4:
	case TUN_VNET_GSO_TCPV6:
	case TUN_VNET_GSO_TCPV4 | TUN_VNET_GSO_ECN:
	case TUN_VNET_GSO_TCPV6 | TUN_VNET_GSO_ECN:
		return gso_segment(h, pkt, len, PROTO_TCP, out, out_len, max, cap);
	case TUN_VNET_GSO_UDP_L4:
		return gso_segment(h, pkt, len, PROTO_UDP, out, out_len, max, cap);
	case TUN_VNET_GSO_NONE:
		break;
	default:
		return -EINVAL;
	}
	if (!max || len > cap)
		return -EMSGSIZE;
	memcpy(out[0], pkt, len);
	out_len[0] = len;
	if (tun_csum_complete(h, out[0], len))
		return -EINVAL;
	return 1;
}

/* ---- GRO ------------------------------------------------------------------ */

enum { GRO_MAX_SEGS = 64 }; /* UDP_MAX_SEGMENTS on older kernels; plenty for TCP */

/* A TCP segment or UDP datagram as the coalescer sees it. */
struct gro_seg {
	int family;
	uint8_t proto;
	size_t l4, hlen, plen;
	uint8_t flags; /* TCP only */
	uint32_t seq;  /* TCP only */
};

/* Fills s if pkt is a TCP segment (or, with udp, a UDP datagram) we may merge:
 * IPv4 without options or fragments, or IPv6 without extension headers; a
 * valid checksum (UDP: present and valid). */
static bool gro_parse(const uint8_t *pkt, size_t len, bool udp, struct gro_seg *s)
{
	size_t thlen;

	if (len >= IP4_HLEN && pkt[0] == 0x45) {
		if (bytes_get_be16(pkt + 2) != len || (bytes_get_be16(pkt + 6) & 0x3fff))
			return false;
		s->family = 4;
		s->proto = pkt[9];
		s->l4 = IP4_HLEN;
	} else if (len >= IP6_HLEN && pkt[0] >> 4 == 6) {
		if ((size_t)bytes_get_be16(pkt + 4) + IP6_HLEN != len)
			return false;
		s->family = 6;
		s->proto = pkt[6];
		s->l4 = IP6_HLEN;
	} else {
		return false;
	}
	if (s->proto == PROTO_TCP) {
		if (s->l4 + TCP_HLEN > len)
			return false;
		thlen = (size_t)(pkt[s->l4 + 12] >> 4) * 4;
		if (thlen < TCP_HLEN || s->l4 + thlen > len)
			return false;
		s->flags = pkt[s->l4 + 13];
		s->seq = bytes_get_be32(pkt + s->l4 + 4);
	} else if (s->proto == PROTO_UDP && udp) {
		thlen = UDP_HLEN;
		if (s->l4 + UDP_HLEN > len || bytes_get_be16(pkt + s->l4 + 4) != len - s->l4 ||
		    !bytes_get_be16(pkt + s->l4 + UDP_CSUM_OFF))
			return false;
	} else {
		return false;
	}
	s->hlen = s->l4 + thlen;
	s->plen = len - s->hlen;
	if (s->family == 4 && tun_csum_fold(tun_csum_add(0, pkt, IP4_HLEN)) != 0xffff)
		return false;
	return tun_csum_fold(tun_csum_add(tun_csum_pseudo(pkt, s->family, s->proto, len - s->l4),
					  pkt + s->l4, len - s->l4)) == 0xffff;
}

/* Same flow and same everything the merged header keeps from the head: IP
 * header but lengths, ID and checksum; ports; for TCP also ack and options. */
static bool gro_same_flow(const uint8_t *a, const struct gro_seg *sa, const uint8_t *b,
			  const struct gro_seg *sb)
{
	if (sa->family != sb->family || sa->proto != sb->proto || sa->hlen != sb->hlen)
		return false;
	if (sa->family == 4) {
		if (a[1] != b[1] || a[6] != b[6] || a[8] != b[8] || memcmp(a + 12, b + 12, 8))
			return false;
	} else if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) {
		return false;
	}
	if (memcmp(a + sa->l4, b + sb->l4, 4)) /* ports */
		return false;
	return sa->proto == PROTO_UDP ||
	       (!memcmp(a + sa->l4 + 8, b + sb->l4 + 8, 4) &&			   /* ack */
		!memcmp(a + sa->l4 + 20, b + sb->l4 + 20, sa->hlen - sa->l4 - 20)); /* options */
}

/* Whether segment s (packet p) may follow a group headed by head whose
 * sequence continues at next, with total bytes so far. */
static bool gro_fits(const uint8_t *h, const struct gro_seg *head, const uint8_t *p,
		     const struct gro_seg *s, uint32_t next, size_t total)
{
	if (!gro_same_flow(h, head, p, s) || !s->plen || s->plen > head->plen ||
	    total + s->plen > MAX_IP_LEN)
		return false;
	return s->proto == PROTO_UDP ||
	       (s->seq == next && (s->flags == TCP_ACK || s->flags == (TCP_ACK | TCP_PSH)));
}

/* Rewrites the head packet's headers for the whole group (total IP length
 * total) and fills the group's virtio header. */
static void gro_finish(uint8_t *head, const struct gro_seg *s, size_t total, uint8_t last_flags,
		       struct tun_gro_group *g)
{
	size_t off = s->proto == PROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	uint16_t c;

	if (s->family == 4) {
		bytes_put_be16(head + 2, (uint16_t)total);
		ip4_set_csum(head);
	} else {
		bytes_put_be16(head + 4, (uint16_t)(total - IP6_HLEN));
	}
	if (s->proto == PROTO_TCP)
		head[s->l4 + 13] |= last_flags & TCP_PSH;
	else
		bytes_put_be16(head + s->l4 + 4, (uint16_t)(total - s->l4));
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
	c = tun_csum_fold(tun_csum_pseudo(head, s->family, s->proto, total - s->l4));
	memcpy(head + s->l4 + off, &c, 2);
	g->hdr = (struct tun_vnet_hdr){
		.flags = TUN_VNET_F_NEEDS_CSUM,
		.gso_type = s->proto == PROTO_UDP ? TUN_VNET_GSO_UDP_L4
			    : s->family == 4      ? TUN_VNET_GSO_TCPV4
						  : TUN_VNET_GSO_TCPV6,
		.hdr_len = (uint16_t)s->hlen,
		.gso_size = (uint16_t)s->plen,
		.csum_start = (uint16_t)s->l4,
		.csum_offset = (uint16_t)off,
	};
}

unsigned tun_gro_coalesce(struct tun_gro_pkt *pkts, unsigned n, bool udp,
			  struct tun_gro_group *out)
{
	unsigned ng = 0, i = 0;

	while (i < n) {
		struct tun_gro_group *g = &out[ng++];
		/* Zeroed: gro_parse leaves seq and flags unset for UDP, and gcc -O3
		 * cannot prove they are then never read. */
		struct gro_seg head = { 0 }, s = { 0 };
		size_t total;
		uint8_t last_flags = 0;
		uint32_t next;

		*g = (struct tun_gro_group){ .first = i, .count = 1 };
		/* A TCP head carries data and ACK only: PSH, FIN, SYN, RST, URG, ECE, CWR
		 * end or change a flow's state and go alone, as in the kernel's GRO. */
		if (!gro_parse(pkts[i].data, pkts[i].len, udp, &head) || !head.plen ||
		    (head.proto == PROTO_TCP && head.flags != TCP_ACK)) {
			i++;
			continue;
		}
		total = pkts[i].len;
		next = head.seq + (uint32_t)head.plen;
		for (i++; i < n && g->count < GRO_MAX_SEGS; i++) {
			if (!gro_parse(pkts[i].data, pkts[i].len, udp, &s) ||
			    !gro_fits(pkts[g->first].data, &head, pkts[i].data, &s, next, total))
				break;
			total += s.plen;
			next += (uint32_t)s.plen;
			last_flags = s.flags;
			g->count++;
			/* A short segment or a PSH ends the group. */
			if (s.plen < head.plen || (s.proto == PROTO_TCP && s.flags & TCP_PSH)) {
				i++;
				break;
			}
		}
		if (g->count > 1)
			gro_finish(pkts[g->first].data, &head, total, last_flags, g);
	}
	return ng;
}
