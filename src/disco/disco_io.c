/*
 * disco_io: the engine's sockets and the host facts it reads. See
 * disco_internal.h; every function returns a negative errno on failure and
 * leaves the logging to the caller, which knows what the failure means.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
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

size_t disco_addrs_bcasts(const struct disco_addrs *s, struct in_addr *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n && n < cap; i++) {
		uint32_t m = s->a[i].mask.s_addr, b = s->a[i].addr.s_addr | ~m;
		bool dup = false;

		/* A /31 or /32 has no broadcast address. */
		if (ntohl(m) >= 0xfffffffeU)
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= out[k].s_addr == b;
		if (!dup)
			out[n++].s_addr = b;
	}
	return n;
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
