/*
 * disco_io: the engine's sockets and the host facts it reads. See
 * disco_internal.h; every function returns a negative errno on failure and
 * leaves the logging to the caller, which knows what the failure means.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "disco/disco_internal.h"
#include "disco/disco_pkt.h"

/* ---- Addresses ----------------------------------------------------------- */

int disco_addrs_read(struct disco_addrs *out)
{
	struct ifaddrs *list, *i;

	if (getifaddrs(&list))
		return -errno;
	out->n = 0;
	for (i = list; i && out->n < DISCO_MAX_IFADDRS; i = i->ifa_next) {
		struct disco_ifaddr *a = &out->a[out->n];

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask)
			continue;
		a->ifindex = if_nametoindex(i->ifa_name);
		a->addr = ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		a->mask = ((const struct sockaddr_in *)(const void *)i->ifa_netmask)->sin_addr;
		out->n++;
	}
	freeifaddrs(list);
	return 0;
}

bool disco_addrs_is_local(const struct disco_addrs *s, struct in_addr a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->a[i].addr.s_addr == a.s_addr)
			return true;
	return false;
}

bool disco_addrs_is_bcast(const struct disco_addrs *s, struct in_addr a)
{
	for (size_t i = 0; i < s->n; i++) {
		uint32_t m = s->a[i].mask.s_addr;

		/* A /31 or /32 has no broadcast address. */
		if (ntohl(m) < 0xfffffffeU && (s->a[i].addr.s_addr | ~m) == a.s_addr)
			return true;
	}
	return false;
}

bool disco_addrs_same_subnet(const struct disco_addrs *s, unsigned ifindex, struct in_addr a)
{
	for (size_t i = 0; i < s->n; i++) {
		uint32_t m = s->a[i].mask.s_addr;

		if (s->a[i].ifindex == ifindex && ((s->a[i].addr.s_addr ^ a.s_addr) & m) == 0)
			return true;
	}
	return false;
}

/* ---- The tap and its filter ---------------------------------------------- */

enum { DISCO_BPF_MAX = 1024, DISCO_BPF_ACCEPT = 0xffff };

struct disco_bpf {
	struct sock_filter f[DISCO_BPF_MAX];
	unsigned n;
	bool overflow;
};

static void bpf_emit(struct disco_bpf *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n == DISCO_BPF_MAX) {
		p->overflow = true;
		return;
	}
	p->f[p->n++] = (struct sock_filter){ code, jt, jf, k };
}

/* "unless A == k, drop" */
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

/* Loads the UDP port at offset off (0 source, 2 destination) and accepts the
 * packet when it is in one of the ranges; every jump is local. */
static void bpf_ports(struct disco_bpf *p, uint32_t off, const struct portlist_entry *r, size_t n)
{
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, off);
	for (size_t i = 0; i < n; i++) {
		bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2, r[i].lo);
		bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, 1, 0, r[i].hi);
		bpf_emit(p, BPF_RET | BPF_K, 0, 0, DISCO_BPF_ACCEPT);
	}
}

static void bpf_build(struct disco_bpf *p, unsigned vif, unsigned lo,
		      const struct portlist_entry *r, size_t n)
{
	unsigned ja;

	p->n = 0;
	p->overflow = false;
	bpf_anc(p, SKF_AD_PROTOCOL);
	bpf_require(p, ETH_P_IP);
	bpf_anc(p, SKF_AD_PKTTYPE);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PACKET_OUTGOING);
	ja = p->n;
	bpf_emit(p, BPF_JMP | BPF_JA, 0, 0, 0); /* to the incoming branch, patched */
	/* Outgoing on any interface but lo (where native deliveries are
	 * injected): the destination port decides. */
	bpf_anc(p, SKF_AD_IFINDEX);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, lo);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
	bpf_ipv4_udp(p);
	bpf_ports(p, 2, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
	if (!p->overflow)
		p->f[ja].k = p->n - ja - 1;
	/* Incoming to this host on the virtual interface: either port decides
	 * (a server's answer comes from its port, an announcement goes to it). */
	bpf_require(p, PACKET_HOST);
	bpf_anc(p, SKF_AD_IFINDEX);
	bpf_require(p, vif);
	bpf_ipv4_udp(p);
	bpf_ports(p, 0, r, n);
	bpf_ports(p, 2, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

int disco_tap_filter(int fd, unsigned vif, unsigned lo, const struct portlist_entry *ranges,
		     size_t n)
{
	struct disco_bpf *p = malloc(sizeof(*p));
	struct sock_fprog prog;
	int r = 0;

	if (!p)
		return -ENOMEM;
	bpf_build(p, vif, lo, ranges, n);
	prog.len = (unsigned short)p->n;
	prog.filter = p->f;
	if (p->overflow)
		r = -E2BIG;
	else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		r = -errno;
	free(p);
	return r;
}

int disco_tap_open(unsigned vif, unsigned lo, const struct portlist_entry *ranges, size_t n)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, r, rcvbuf = 1 << 20;

	/* Protocol 0 receives nothing until bound: the filter is in place
	 * before the first packet. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = disco_tap_filter(fd, vif, lo, ranges, n);
	if (!r && bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/* ---- Sending ------------------------------------------------------------- */

int disco_raw_open(const char *ifname)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	int one = 1, zero = 0, r = 0;

	if (fd < 0)
		return -errno;
	/* Bound to ifname, a copy can only leave there, whatever the routes
	 * say. On lo (native deliveries) a broadcast or multicast is
	 * delivered once, by the output path itself, and keeps the route it
	 * was sent with, so no reverse-path filter drops its member source. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int disco_msg_open(struct in_addr vip, const char *ifname)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = vip,
				   .sin_port = htons(DISCO_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	/* Only what came through the tunnel: the same address reached over a
	 * physical NIC (Linux accepts any local address on any interface) is
	 * not a member speaking. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* ---- Multicast memberships ----------------------------------------------- */

int disco_igmp_read(const char *path, struct in_addr *groups, size_t cap)
{
	FILE *f = fopen(path ? path : "/proc/net/igmp", "re");
	char line[256], dev[IFNAMSIZ + 1] = "";
	size_t n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned idx, v;
		bool dup = false;

		if (line[0] != '\t') {
			/* "2\teth0      :     1      V3" */
			if (sscanf(line, "%u %16s", &idx, dev) != 2)
				dev[0] = '\0';
			continue;
		}
		/* "\t\t\t\t3C0200E0     1 0:00000000\t\t0": the group as the
		 * kernel holds it (network order), printed as a native u32. */
		if (!dev[0] || !strcmp(dev, "lo") || sscanf(line, " %x", &v) != 1 ||
		    !IN_MULTICAST(ntohl(v)))
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= groups[i].s_addr == v;
		if (!dup && n < cap)
			groups[n++].s_addr = v;
	}
	fclose(f);
	return (int)n;
}
