/*
 * fuzz_tun_offload: what the kernel hands us through a TUN with IFF_VNET_HDR
 * (a virtio_net_hdr and a packet, both untrusted for this purpose) and what
 * peers hand us for coalescing. Input: 10 header bytes, then the packet.
 * Checks, beyond memory safety: every segment a split produces fits its slot,
 * and a TCP or UDP segment has a valid checksum; the segments are then fed to
 * the coalescer together with slices of the raw input, and every group it
 * makes stays within one IP packet's size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun/offload.h"

enum { CAP = 1600, MAXSEG = 48, QMAX = MAXSEG + 8 };

static uint8_t slots[MAXSEG][CAP];
static uint8_t raw[8][CAP];

/* A segment of a split: its transport header at l4, as the kernel said. */
static void check_segment(const uint8_t *p, size_t len, size_t l4, uint8_t proto)
{
	if (tun_csum_fold(tun_csum_add(tun_csum_pseudo(p, p[0] >> 4, proto, len - l4), p + l4,
				       len - l4)) != 0xffff)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tun_gro_pkt q[QMAX];
	static struct tun_gro_group g[QMAX];
	uint8_t *out[MAXSEG];
	size_t out_len[MAXSEG];
	struct tun_vnet_hdr h;
	unsigned nq = 0;
	int n;

	if (size < TUN_VNET_HDR_LEN)
		return 0;
	tun_vnet_hdr_parse(&h, data);
	data += TUN_VNET_HDR_LEN;
	size -= TUN_VNET_HDR_LEN;
	for (int i = 0; i < MAXSEG; i++)
		out[i] = slots[i];
	n = tun_gso_split(&h, data, size, out, out_len, MAXSEG, CAP);
	if (n > MAXSEG)
		abort();
	for (int i = 0; i < n; i++) {
		if (out_len[i] > CAP)
			abort();
		/* Only a GSO split or a completed checksum promises a valid one. */
		if (h.gso_type != TUN_VNET_GSO_NONE)
			check_segment(out[i], out_len[i], h.csum_start,
				      (h.gso_type & ~TUN_VNET_GSO_ECN) == TUN_VNET_GSO_UDP_L4 ? 17 : 6);
		q[nq++] = (struct tun_gro_pkt){ out[i], out_len[i] };
	}
	/* Raw slices of the input too: packets the coalescer did not make itself. */
	for (size_t off = 0, k = 0; off < size && k < 8; k++) {
		size_t len = data[off] * 8u + 20;

		if (len > size - off)
			len = size - off;
		if (len > CAP)
			len = CAP;
		memcpy(raw[k], data + off, len);
		q[nq++] = (struct tun_gro_pkt){ raw[k], len };
		off += len;
	}
	n = (int)tun_gro_coalesce(q, nq, h.flags & 0x80, g);
	for (int i = 0; i < n; i++) {
		size_t total = q[g[i].first].len;

		if (g[i].first + g[i].count > nq)
			abort();
		for (unsigned j = 1; j < g[i].count; j++) {
			const struct tun_gro_pkt *p = &q[g[i].first + j];

			if (p->len < g[i].hdr.hdr_len)
				abort();
			total += p->len - g[i].hdr.hdr_len;
		}
		if (total > 65535)
			abort();
	}
	return 0;
}
