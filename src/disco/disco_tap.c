/*
 * disco_tap: the packet tap and the classic BPF program that decides, in
 * the kernel, what the engine ever sees (disco_internal.h). Everything else
 * (the tunnel's traffic, this host's unicast game traffic, other ports,
 * fragments) is dropped there, so the tap costs the data plane one clone
 * and a few instructions per packet and wakes the engine only for
 * discovery.
 *
 * Every jump is forward. Conditions that drop are "unless A == k, return
 * 0" pairs; the few long jumps (to the shared port check, to the incoming
 * branch) are BPF_JA with a 32-bit offset patched once the target is known.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "disco/disco_internal.h"
#include "disco/disco_table.h"

enum {
	DISCO_BPF_MAX = 2048,
	DISCO_BPF_ACCEPT = 0xffff,
	DISCO_BPF_DST = 16,        /* offset of the IPv4 destination */
	DISCO_BPF_PAYLOAD = 8,     /* of the UDP payload, from X (the IP header length) */
};

struct disco_bpf {
	struct sock_filter f[DISCO_BPF_MAX];
	unsigned n;
	bool overflow;
};

static unsigned bpf_emit(struct disco_bpf *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n == DISCO_BPF_MAX) {
		p->overflow = true;
		return p->n - 1;
	}
	p->f[p->n] = (struct sock_filter){ code, jt, jf, k };
	return p->n++;
}

/* Points the BPF_JA at index ja to the next instruction emitted. */
static void bpf_patch(struct disco_bpf *p, unsigned ja)
{
	if (!p->overflow)
		p->f[ja].k = p->n - ja - 1;
}

static void bpf_require(struct disco_bpf *p, uint32_t k)
{
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, k);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

static void bpf_anc(struct disco_bpf *p, uint32_t what)
{
	bpf_emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)SKF_AD_OFF + what);
}

/* IPv4, UDP, not a fragment; leaves X = the IP header length. */
static void bpf_ipv4_udp(struct disco_bpf *p)
{
	bpf_emit(p, BPF_LD | BPF_B | BPF_ABS, 0, 0, 0);
	bpf_emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xf0);
	bpf_require(p, 0x40);
	bpf_emit(p, BPF_LD | BPF_B | BPF_ABS, 0, 0, 9);
	bpf_require(p, IPPROTO_UDP);
	bpf_emit(p, BPF_LD | BPF_H | BPF_ABS, 0, 0, 6);
	bpf_emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, 0x3fff);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
	bpf_emit(p, BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);
}

/* Accepts when the port at off (0 source, 2 destination) is in a range. */
static void bpf_ports(struct disco_bpf *p, uint32_t off, const struct portlist_entry *r, size_t n)
{
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, off);
	for (size_t i = 0; i < n; i++) {
		bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2, r[i].lo);
		bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, 1, 0, r[i].hi);
		bpf_emit(p, BPF_RET | BPF_K, 0, 0, DISCO_BPF_ACCEPT);
	}
}

/* Leaving by any interface but lo (where native deliveries are sent), to a
 * broadcast or multicast destination, on a discovery port. */
static void bpf_outgoing(struct disco_bpf *p, const struct disco_tap_spec *s)
{
	unsigned jas[DISCO_MAX_IFADDRS + 2], n = 0;

	bpf_anc(p, SKF_AD_IFINDEX);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, s->lo);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
	bpf_ipv4_udp(p);
	bpf_emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, DISCO_BPF_DST);
	/* 224.0.0.0 and up: multicast, 255.255.255.255 (and class E, which
	 * the engine then ignores) */
	bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0xe0000000U);
	jas[n++] = bpf_emit(p, BPF_JMP | BPF_JA, 0, 0, 0);
	for (size_t i = 0; i < s->n_bcasts && n < sizeof(jas) / sizeof(jas[0]); i++) {
		bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, ntohl(s->bcasts[i].s_addr));
		jas[n++] = bpf_emit(p, BPF_JMP | BPF_JA, 0, 0, 0);
	}
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
	for (unsigned i = 0; i < n; i++)
		bpf_patch(p, jas[i]);
	bpf_ports(p, 2, s->ports, s->n_ports);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/* The first bytes of a game's answer, as a BPF load of 1, 2 or 4 bytes. */
static void bpf_prefix(const struct disco_game *g, uint16_t *size, uint32_t *value)
{
	const uint8_t *b = (const uint8_t *)g->reply_prefix;

	if (g->reply_prefix_len >= 4) {
		*size = BPF_W;
		*value = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	} else if (g->reply_prefix_len >= 2) {
		*size = BPF_H;
		*value = (uint32_t)b[0] << 8 | b[1];
	} else {
		*size = BPF_B;
		*value = b[0];
	}
}

/* Arriving on the virtual interface: a query game's answer (from its port,
 * starting as its answers start) or an announcement (to its port). In-game
 * traffic on the same ports does not start that way and stays out. */
static void bpf_incoming(struct disco_bpf *p, const struct disco_tap_spec *s)
{
	bpf_require(p, PACKET_HOST);
	bpf_anc(p, SKF_AD_IFINDEX);
	bpf_require(p, s->vif);
	bpf_ipv4_udp(p);
	for (size_t i = 0; i < disco_game_table_len; i++) {
		const struct disco_game *g = &disco_game_table[i];
		uint8_t rest = g->reply_prefix_len ? 4 : 2; /* after the jge */
		uint16_t size;
		uint32_t value;

		if (g->kind != DISCO_QUERY)
			continue;
		bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, 0);
		bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, rest, g->lo);
		bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, (uint8_t)(rest - 1), 0, g->hi);
		if (g->reply_prefix_len) {
			bpf_prefix(g, &size, &value);
			bpf_emit(p, BPF_LD | size | BPF_IND, 0, 0, DISCO_BPF_PAYLOAD);
			bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, value);
		}
		bpf_emit(p, BPF_RET | BPF_K, 0, 0, DISCO_BPF_ACCEPT);
	}
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, 2);
	for (size_t i = 0; i < disco_game_table_len; i++) {
		const struct disco_game *g = &disco_game_table[i];

		if (g->kind != DISCO_ANNOUNCE)
			continue;
		bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2, g->lo);
		bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, 1, 0, g->hi);
		bpf_emit(p, BPF_RET | BPF_K, 0, 0, DISCO_BPF_ACCEPT);
	}
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

static void bpf_build(struct disco_bpf *p, const struct disco_tap_spec *s)
{
	unsigned ja;

	p->n = 0;
	p->overflow = false;
	bpf_anc(p, SKF_AD_PROTOCOL);
	bpf_require(p, ETH_P_IP);
	bpf_anc(p, SKF_AD_PKTTYPE);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PACKET_OUTGOING);
	ja = bpf_emit(p, BPF_JMP | BPF_JA, 0, 0, 0);
	bpf_outgoing(p, s);
	bpf_patch(p, ja);
	bpf_incoming(p, s);
}

int disco_tap_filter(int fd, const struct disco_tap_spec *spec)
{
	struct disco_bpf *p = malloc(sizeof(*p));
	struct sock_fprog prog;
	int r = 0;

	if (!p)
		return -ENOMEM;
	bpf_build(p, spec);
	prog.len = (unsigned short)p->n;
	prog.filter = p->f;
	if (p->overflow)
		r = -E2BIG;
	else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		r = -errno;
	free(p);
	return r;
}

int disco_tap_open(const struct disco_tap_spec *spec)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, r, rcvbuf = 1 << 20;

	/* Protocol 0 receives nothing until bound: the filter is in place
	 * before the first packet. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = disco_tap_filter(fd, spec);
	if (!r && bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}
