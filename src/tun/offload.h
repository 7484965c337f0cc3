/*
 * offload: the packet work behind TUN offloads (IFF_VNET_HDR). The kernel
 * hands us TCP (and UDP) super-packets of up to 64 KiB with a virtio_net_hdr
 * in front; we split them into MTU-sized IP packets with correct headers and
 * checksums before encryption (tun_gso_split). In the other direction we
 * merge in-order TCP segments of one flow, decrypted in the same batch, into
 * one GSO packet so the kernel's TCP stack sees fewer, bigger packets
 * (tun_gro_*).
 *
 * Pure functions over byte buffers: no I/O, no allocation. Everything read
 * from the kernel's header or from a packet is length-checked first; a header
 * that does not describe the packet is refused (-EINVAL), never trusted.
 * Checksums are computed over native-endian words and stored as such, which
 * gives network byte order on the wire (RFC 1071, section 2(B)).
 */
#ifndef LR_TUN_OFFLOAD_H
#define LR_TUN_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr as TUN reads and writes it (native endian). */
struct tun_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

enum {
	TUN_VNET_HDR_LEN = 10,
	TUN_VNET_F_NEEDS_CSUM = 1,
	TUN_VNET_GSO_NONE = 0,
	TUN_VNET_GSO_TCPV4 = 1,
	TUN_VNET_GSO_TCPV6 = 4,
	TUN_VNET_GSO_UDP_L4 = 5,
	TUN_VNET_GSO_ECN = 0x80,
};

_Static_assert(sizeof(struct tun_vnet_hdr) == TUN_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

/* Ones' complement sum of buf added to sum (not folded). len may be odd only
 * for the last piece of a checksummed range. */
uint64_t tun_csum_add(uint64_t sum, const uint8_t *buf, size_t len);
/* Folds a sum to 16 bits (not complemented). */
uint16_t tun_csum_fold(uint64_t sum);
/* Pseudo-header sum for an IPv4 (family 4) or IPv6 (6) packet at pkt with
 * l4len bytes of transport header and payload. */
uint64_t tun_csum_pseudo(const uint8_t *pkt, int family, uint8_t proto, size_t l4len);

/* Parses the 10-byte header at buf. */
void tun_vnet_hdr_parse(struct tun_vnet_hdr *h, const uint8_t *buf);
void tun_vnet_hdr_write(const struct tun_vnet_hdr *h, uint8_t *buf);

/* Completes a partial checksum in place when h has NEEDS_CSUM (the field
 * holds the pseudo-header sum, as the kernel leaves it). 0 or -EINVAL. */
int tun_csum_complete(const struct tun_vnet_hdr *h, uint8_t *pkt, size_t len);

/*
 * Splits the packet (pkt, len) that came with header h into IP packets of at
 * most the header's gso_size payload bytes each, written to out[0..max-1]
 * (each cap bytes long); out_len gets their lengths. A packet that is not a
 * GSO packet is copied to out[0] with its checksum completed when the header
 * asks for it. Returns the number of packets, -EINVAL for a header or packet
 * that does not add up, -EMSGSIZE when it needs more than max slots or a slot
 * larger than cap.
 */
int tun_gso_split(const struct tun_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t **out,
		  size_t *out_len, unsigned max, size_t cap);

/* One packet waiting to be written to TUN, and the result of coalescing:
 * packets [first, first + count) of the batch go out as one write, headed by
 * hdr. With count > 1 the first packet's headers were rewritten for the whole
 * group and the others contribute their payload from offset hdr.hdr_len. */
struct tun_gro_pkt {
	uint8_t *data;
	size_t len;
};

struct tun_gro_group {
	struct tun_vnet_hdr hdr;
	unsigned first, count;
};

/*
 * Groups the n packets in order: runs of consecutive TCP segments of one flow
 * (same addresses, ports, ack, options; contiguous sequence numbers; only ACK
 * and a final PSH; payloads of one size except a shorter last one; valid
 * checksums) become one group whose first packet is rewritten in place as a
 * GSO super-packet. With udp (the kernel took TUN_F_USO), runs of UDP
 * datagrams of one flow, one size but a shorter last, become one UDP_L4 GSO
 * packet the same way. At most 64 packets per group. Everything else is a
 * group of one with an empty header. Returns the number of groups written to
 * out (at most n).
 */
unsigned tun_gro_coalesce(struct tun_gro_pkt *pkts, unsigned n, bool udp,
			  struct tun_gro_group *out);

#endif
