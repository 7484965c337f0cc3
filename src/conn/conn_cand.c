/*
 * conn_cand: candidate endpoints for hole punching: a small deduplicated list,
 * this host's own LAN addresses (so two players behind one NAT find each
 * other on their LAN) and which candidates are LAN ones (preferred when both
 * a LAN and a public candidate answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "conn/conn_internal.h"

static bool cand_usable(const struct wg_endpoint *ep)
{
	if (wg_endpoint_port(ep) == 0)
		return false;
	if (ep->sa.sa_family == AF_INET)
		return ep->in4.sin_addr.s_addr != htonl(INADDR_ANY);
	if (ep->sa.sa_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&ep->in6.sin6_addr);
	return false;
}

int cand_add(struct cand_list *l, const struct wg_endpoint *ep)
{
	struct wg_endpoint e = *ep;

	wg_endpoint_unmap(&e);
	if (!cand_usable(&e))
		return -EINVAL;
	for (size_t i = 0; i < l->n; i++) {
		if (wg_endpoint_equal(&l->ep[i], &e))
			return 0;
	}
	if (l->n == CAND_MAX)
		return -ENOSPC;
	l->ep[l->n++] = e;
	return 0;
}

int cand_add_str(struct cand_list *l, const char *s)
{
	struct wg_endpoint ep;

	if (wg_endpoint_parse(&ep, s))
		return -EINVAL;
	return cand_add(l, &ep);
}

bool cand_is_lan(const struct wg_endpoint *ep)
{
	uint32_t a;

	if (ep->sa.sa_family != AF_INET)
		return false;
	a = ntohl(ep->in4.sin_addr.s_addr);
	return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) ||
	       (a >> 22) == (100u << 2 | 1) || (a >> 16) == (169u << 8 | 254);
}

int cand_local(struct cand_list *l, const char *skip_ifname, uint16_t port)
{
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa))
		return -errno;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		struct wg_endpoint ep = { 0 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) || (skip_ifname && !strcmp(i->ifa_name, skip_ifname)))
			continue;
		memcpy(&ep.in4, i->ifa_addr, sizeof(ep.in4));
		ep.in4.sin_port = htons(port);
		(void)cand_add(l, &ep); /* full: the first CAND_MAX are plenty */
	}
	freeifaddrs(ifa);
	return 0;
}
