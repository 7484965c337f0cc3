/*
 * conn_cand: candidate endpoints for hole punching: a small deduplicated list,
 * this host's own LAN addresses (so two players behind one NAT find each
 * other on their LAN), which candidates are LAN ones (preferred when both
 * a LAN and a public candidate answer), and the filter a member's candidates
 * pass before we probe them.
 *
 * Why filter: a member chooses what it publishes, and we send a probe to each
 * candidate every punch interval from the WireGuard port. Unfiltered, a
 * member could aim those probes at our own loopback services (127.0.0.1:53),
 * a multicast group or broadcast address on our LAN, a neighbour reachable
 * only by link-local address, or an address inside the party subnet (which
 * would loop into the tunnel); unbounded, at any number of hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "conn/conn_internal.h"
#include "log/log.h"

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

/* ---- Filter -------------------------------------------------------------- */

static unsigned mask_prefix(const struct sockaddr *mask)
{
	const uint8_t *b;
	size_t len;
	unsigned n = 0;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
		len = 4;
	} else if (mask->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
		len = 16;
	} else {
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		n += (unsigned)__builtin_popcount(b[i]);
	return n;
}

static bool net_contains(const struct cand_net *n, const struct wg_endpoint *ep)
{
	const uint8_t *a, *b;
	unsigned bits = n->prefix;

	if (ep->sa.sa_family != n->family)
		return false;
	if (n->family == AF_INET) {
		uint32_t m = bits ? htonl(~0u << (32 - (bits > 32 ? 32 : bits))) : 0;

		return (ep->in4.sin_addr.s_addr & m) == (n->v4.s_addr & m);
	}
	a = ep->in6.sin6_addr.s6_addr;
	b = n->v6.s6_addr;
	for (size_t i = 0; i < 16 && bits; i++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a[i] & m) != (b[i] & m))
			return false;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return true;
}

static bool on_link(const struct cand_filter *f, const struct wg_endpoint *ep)
{
	for (size_t i = 0; i < f->n_onlink; i++)
		if (net_contains(&f->onlink[i], ep))
			return true;
	return false;
}

static enum cand_verdict check_v4(const struct cand_filter *f, const struct wg_endpoint *ep)
{
	uint32_t a = ntohl(ep->in4.sin_addr.s_addr);

	if ((a >> 24) == 0)
		return CAND_UNSPECIFIED;
	if ((a >> 24) == 127)
		return CAND_LOOPBACK;
	if ((a >> 28) == 0xe)
		return CAND_MULTICAST;
	if (a == 0xffffffffu)
		return CAND_BROADCAST;
	if ((a >> 28) == 0xf)
		return CAND_RESERVED;
	for (size_t i = 0; i < f->n_bcast; i++)
		if (f->bcast[i].s_addr == ep->in4.sin_addr.s_addr)
			return CAND_BROADCAST;
	if ((a >> 16) == (169u << 8 | 254) && !on_link(f, ep))
		return CAND_LINK_LOCAL;
	if (f->has_virtual && net_contains(&f->virtual_net, ep))
		return CAND_VIRTUAL;
	return CAND_OK;
}

static enum cand_verdict check_v6(const struct cand_filter *f, const struct wg_endpoint *ep)
{
	const struct in6_addr *a = &ep->in6.sin6_addr;

	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return CAND_UNSPECIFIED;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return CAND_LOOPBACK;
	if (IN6_IS_ADDR_MULTICAST(a))
		return CAND_MULTICAST;
	if (IN6_IS_ADDR_LINKLOCAL(a) && !on_link(f, ep))
		return CAND_LINK_LOCAL;
	return CAND_OK;
}

enum cand_verdict cand_check(const struct cand_filter *f, const struct wg_endpoint *ep)
{
	struct wg_endpoint e = *ep;

	if (e.sa.sa_family != AF_INET && e.sa.sa_family != AF_INET6)
		return CAND_BAD_FAMILY;
	wg_endpoint_unmap(&e);
	if (wg_endpoint_port(&e) == 0)
		return CAND_PORT_ZERO;
	return e.sa.sa_family == AF_INET ? check_v4(f, &e) : check_v6(f, &e);
}

const char *cand_verdict_name(enum cand_verdict v)
{
	static const char *const names[] = {
		[CAND_OK] = "ok",
		[CAND_BAD_FAMILY] = "not IPv4 or IPv6",
		[CAND_PORT_ZERO] = "port 0",
		[CAND_UNSPECIFIED] = "unspecified address",
		[CAND_LOOPBACK] = "loopback",
		[CAND_MULTICAST] = "multicast",
		[CAND_BROADCAST] = "broadcast",
		[CAND_RESERVED] = "reserved address",
		[CAND_LINK_LOCAL] = "link-local, not on a link of ours",
		[CAND_VIRTUAL] = "inside the party's virtual subnet",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) && names[v] ? names[v] : "?";
}

static void filter_add_iface(struct cand_filter *f, const struct ifaddrs *i)
{
	struct wg_endpoint ep = { 0 };
	struct cand_net *n;

	if (i->ifa_addr->sa_family == AF_INET) {
		memcpy(&ep.in4, i->ifa_addr, sizeof(ep.in4));
		if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr &&
		    i->ifa_broadaddr->sa_family == AF_INET && f->n_bcast < CAND_FILTER_NETS)
			f->bcast[f->n_bcast++] =
				((const struct sockaddr_in *)i->ifa_broadaddr)->sin_addr;
		if ((ntohl(ep.in4.sin_addr.s_addr) >> 16) != (169u << 8 | 254))
			return;
	} else {
		memcpy(&ep.in6, i->ifa_addr, sizeof(ep.in6));
		if (!IN6_IS_ADDR_LINKLOCAL(&ep.in6.sin6_addr))
			return;
	}
	if (f->n_onlink == CAND_FILTER_NETS)
		return;
	n = &f->onlink[f->n_onlink++];
	n->family = i->ifa_addr->sa_family;
	n->prefix = mask_prefix(i->ifa_netmask);
	if (n->family == AF_INET)
		n->v4 = ep.in4.sin_addr;
	else
		n->v6 = ep.in6.sin6_addr;
}

int cand_filter_init(struct cand_filter *f, const char *own_ifname)
{
	struct ifaddrs *ifa = NULL;

	memset(f, 0, sizeof(*f));
	if (getifaddrs(&ifa))
		return -errno;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (own_ifname && !strcmp(i->ifa_name, own_ifname)) {
			if (i->ifa_addr->sa_family == AF_INET && !f->has_virtual) {
				f->has_virtual = true;
				f->virtual_net.family = AF_INET;
				f->virtual_net.v4 = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
				f->virtual_net.prefix = mask_prefix(i->ifa_netmask);
			}
			continue;
		}
		if (!(i->ifa_flags & IFF_LOOPBACK))
			filter_add_iface(f, i);
	}
	freeifaddrs(ifa);
	return 0;
}

static bool cand_is_public(const struct wg_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET6 ? !IN6_IS_ADDR_LINKLOCAL(&ep->in6.sin6_addr) &&
						      (ep->in6.sin6_addr.s6_addr[0] & 0xfe) != 0xfc
					    : !cand_is_lan(ep);
}

size_t cand_select(struct cand_list *out, const struct cand_list *in, const struct cand_filter *f,
		   const char *who)
{
	char s[64];
	size_t refused = 0;

	out->n = 0;
	/* two passes: public candidates (a NAT's mapping) first, since a member
	 * behind a host with many bridges may publish more private ones than fit */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < in->n; i++) {
			enum cand_verdict v = cand_check(f, &in->ep[i]);
			struct wg_endpoint e = in->ep[i];

			wg_endpoint_unmap(&e);
			if (v != CAND_OK) {
				if (pass == 0) {
					refused++;
					wg_endpoint_format(&in->ep[i], s, sizeof(s));
					log_debug("conn", "member %s: candidate %s refused: %s",
						  who ? who : "?", s, cand_verdict_name(v));
				}
				continue;
			}
			if (cand_is_public(&e) != (pass == 0) || out->n == CAND_MEMBER_MAX)
				continue;
			(void)cand_add(out, &e);
		}
	}
	return refused;
}
