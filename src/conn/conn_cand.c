/*
 * conn_cand: candidate endpoints for hole punching: a small deduplicated list,
 * this host's own addresses (its LAN ones, so two players behind one NAT
 * find each other on their LAN, and its global IPv6 ones, which a stateful
 * firewall opens to a punch as a NAT does), which path wins when several
 * answer (cand_rank: LAN, then IPv6, then a public IPv4 mapping;
 * cand_prefer: IPv4 over IPv6 when its round trip is clearly shorter), and
 * the filter a member's candidates pass before we probe them.
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
#include <unistd.h>

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

/* A global unicast IPv6 address worth publishing: not link-local (useless
 * beyond the link, and needs a scope), not a ULA (fc00::/7: reachable only
 * inside one site, where the IPv4 LAN candidates already find the member;
 * a ULA would cost a probe to a remote member for nothing), not loopback,
 * multicast, v4-mapped or site-local (deprecated, fec0::/10). */
bool cand_v6_global(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
	       !IN6_IS_ADDR_SITELOCAL(a) && !IN6_IS_ADDR_V4MAPPED(a) && (a->s6_addr[0] & 0xfe) != 0xfc;
}

static bool local_usable(const struct ifaddrs *i, int family, const char *skip_ifname)
{
	if (!i->ifa_addr || i->ifa_addr->sa_family != family || !(i->ifa_flags & IFF_UP) ||
	    (i->ifa_flags & IFF_LOOPBACK) || (skip_ifname && !strcmp(i->ifa_name, skip_ifname)))
		return false;
	return family == AF_INET ||
	       cand_v6_global(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
}

void cand_local_from(struct cand_list *l, const struct ifaddrs *ifa, const char *skip_ifname,
		     uint16_t port, const struct in6_addr *preferred)
{
	size_t v6 = 0;

	/* IPv4 first: what is published is cut at CTL_MAX_ENDPOINTS, and an
	 * IPv4 LAN candidate is the one that finds a member behind our NAT */
	for (const struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		struct wg_endpoint ep = { 0 };

		if (!local_usable(i, AF_INET, skip_ifname))
			continue;
		memcpy(&ep.in4, i->ifa_addr, sizeof(ep.in4));
		ep.in4.sin_port = htons(port);
		(void)cand_add(l, &ep); /* full: the first CAND_MAX are plenty */
	}
	/* the address our probes leave from first: a member's firewall lets in
	 * only what answers its own probes, sent to what we published */
	for (int pass = preferred ? 0 : 1; pass < 2; pass++) {
		for (const struct ifaddrs *i = ifa; i && v6 < CAND_LOCAL_V6_MAX; i = i->ifa_next) {
			struct wg_endpoint ep = { 0 };
			size_t n = l->n;

			if (!local_usable(i, AF_INET6, skip_ifname))
				continue;
			ep.in6.sin6_family = AF_INET6;
			ep.in6.sin6_addr = ((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			ep.in6.sin6_port = htons(port);
			if (pass == 0 && memcmp(&ep.in6.sin6_addr, preferred, sizeof(*preferred)))
				continue;
			if (cand_add(l, &ep) == 0 && l->n > n)
				v6++;
		}
	}
}

/* The source address the kernel picks for IPv6 toward the internet (RFC
 * 6724: a temporary one when privacy extensions are on), which is where our
 * probes come from. connect() on UDP sends nothing. false without a route. */
static bool v6_source(struct in6_addr *out)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons(9) }, src;
	socklen_t len = sizeof(src);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	dst.sin6_addr.s6_addr[0] = 0x20; /* 2000::1, in the global unicast range */
	dst.sin6_addr.s6_addr[15] = 1;
	ok = !connect(fd, (struct sockaddr *)&dst, sizeof(dst)) &&
	     !getsockname(fd, (struct sockaddr *)&src, &len) && src.sin6_family == AF_INET6;
	close(fd);
	if (ok)
		*out = src.sin6_addr;
	return ok;
}

int cand_local(struct cand_list *l, const char *skip_ifname, uint16_t port)
{
	struct ifaddrs *ifa = NULL;

	struct in6_addr src;

	if (getifaddrs(&ifa))
		return -errno;
	cand_local_from(l, ifa, skip_ifname, port, v6_source(&src) ? &src : NULL);
	freeifaddrs(ifa);
	return 0;
}

/* LAN (an IPv4 private address, an IPv6 link-local or ULA) 2, another IPv6
 * 1, a public IPv4 0: on a LAN nothing is in the way; an IPv6 address is
 * the host itself, where a public IPv4 one is a NAT's mapping that can
 * expire, move or need rebinding (RFC 8421 and RFC 6724 prefer IPv6 too). */
int cand_rank(const struct wg_endpoint *ep)
{
	struct wg_endpoint e = *ep;

	wg_endpoint_unmap(&e);
	if (e.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LINKLOCAL(&e.in6.sin6_addr) ||
				       (e.in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc
			       ? CAND_RANK_LAN
			       : CAND_RANK_V6;
	return cand_is_lan(&e) ? CAND_RANK_LAN : CAND_RANK_PUBLIC4;
}

/* IPv6 comes first by rank, but its path is not always the better one: a
 * tunnel broker or a poor peering can add tens of milliseconds, which a
 * game feels. So when both round trips are known, IPv4 wins if it is
 * clearly faster: by CAND_V4_GAIN_US (less is not felt in play and is
 * within a busy host's scheduling noise on one probe) and by a
 * 1/CAND_V4_GAIN_DIV share (10 ms is nothing on a 200 ms intercontinental
 * path). Going back to IPv6 takes half those margins, so a measure that
 * wobbles around one threshold does not move the path each time. */
bool cand_prefer(const struct cand_path *a, const struct cand_path *cur)
{
	int ra = cand_rank(&a->ep), rc = cand_rank(&cur->ep);
	const struct cand_path *v6, *v4;
	int64_t lead, gain, back;

	if (ra == rc || ra == CAND_RANK_LAN || rc == CAND_RANK_LAN || !a->rtt_us || !cur->rtt_us)
		return ra > rc;
	v6 = ra == CAND_RANK_V6 ? a : cur;
	v4 = ra == CAND_RANK_V6 ? cur : a;
	lead = (int64_t)v6->rtt_us - v4->rtt_us; /* how much faster IPv4 is */
	if (v4 == a) {
		gain = v6->rtt_us / CAND_V4_GAIN_DIV;
		return lead > (gain > CAND_V4_GAIN_US ? gain : CAND_V4_GAIN_US);
	}
	back = v6->rtt_us / CAND_V6_BACK_DIV;
	return lead < (back > CAND_V6_BACK_US ? back : CAND_V6_BACK_US);
}

void cand_choice_reset(struct cand_choice *ch)
{
	memset(ch, 0, sizeof(*ch));
}

void cand_choice_sent(struct cand_choice *ch, uint32_t seq, uint64_t now_ns)
{
	ch->round[seq % CAND_ROUNDS].seq = seq;
	ch->round[seq % CAND_ROUNDS].sent_ns = now_ns;
	ch->round[seq % CAND_ROUNDS].used = true;
}

static struct cand_path *choice_find(const struct cand_choice *ch, const struct wg_endpoint *ep)
{
	for (size_t i = 0; i < ch->n_paths; i++)
		if (wg_endpoint_equal(&ch->path[i].ep, ep))
			return (struct cand_path *)&ch->path[i];
	return NULL;
}

void cand_choice_answer(struct cand_choice *ch, const struct wg_endpoint *ep, bool ack,
			uint32_t seq, uint64_t now_ns)
{
	const struct cand_round *r = &ch->round[seq % CAND_ROUNDS];
	struct wg_endpoint e = *ep;
	struct cand_path *p;
	uint64_t rtt;

	wg_endpoint_unmap(&e);
	p = choice_find(ch, &e);
	if (!p) {
		if (ch->n_paths == CAND_MAX)
			return; /* the paths already there are plenty to choose from */
		p = &ch->path[ch->n_paths++];
		p->ep = e;
		p->rtt_us = 0;
	}
	if (!ack || !r->used || r->seq != seq || now_ns < r->sent_ns)
		return;
	rtt = (now_ns - r->sent_ns) / 1000;
	if (rtt == 0)
		rtt = 1; /* under a microsecond: still measured */
	if (rtt > UINT32_MAX)
		rtt = UINT32_MAX;
	if (!p->rtt_us || rtt < p->rtt_us)
		p->rtt_us = (uint32_t)rtt;
}

struct cand_path cand_choice_path(const struct cand_choice *ch, const struct wg_endpoint *ep)
{
	struct cand_path out = { .ep = *ep };
	const struct cand_path *p;

	wg_endpoint_unmap(&out.ep);
	p = choice_find(ch, &out.ep);
	out.rtt_us = p ? p->rtt_us : 0;
	return out;
}

/* IPv6 against public IPv4 with a round trip missing on either side. */
static bool choice_unmeasured(const struct cand_path *a, const struct cand_path *b)
{
	int ra = cand_rank(&a->ep), rb = cand_rank(&b->ep);

	return ra != rb && ra != CAND_RANK_LAN && rb != CAND_RANK_LAN && (!a->rtt_us || !b->rtt_us);
}

/* a replaces cur. An IPv4 path in use that did not win on round trips
 * (it answered first) is no incumbent: IPv6 takes it over unless IPv4
 * would have replaced IPv6, so the first decision does not depend on which
 * answer came first. */
static bool choice_replaces(const struct cand_choice *ch, const struct cand_path *a,
			    const struct cand_path *cur)
{
	if (!ch->v4_won && cand_rank(&cur->ep) == CAND_RANK_PUBLIC4 &&
	    cand_rank(&a->ep) == CAND_RANK_V6 && a->rtt_us && cur->rtt_us)
		return !cand_prefer(cur, a);
	return cand_prefer(a, cur);
}

struct wg_endpoint cand_choice_best(struct cand_choice *ch, const struct wg_endpoint *cur,
				    bool settled)
{
	struct cand_path best = cand_choice_path(ch, cur);
	bool v6_measured = false;

	for (size_t i = 0; i < ch->n_paths; i++) {
		const struct cand_path *p = &ch->path[i];

		v6_measured |= cand_rank(&p->ep) == CAND_RANK_V6 && p->rtt_us;
		if (!settled && choice_unmeasured(p, &best))
			continue;
		if (choice_replaces(ch, p, &best))
			best = *p;
	}
	ch->v4_won = cand_rank(&best.ep) == CAND_RANK_PUBLIC4 && best.rtt_us && v6_measured;
	return best.ep;
}

bool cand_choice_open(const struct cand_choice *ch, const struct cand_list *cands,
		      const struct wg_endpoint *cur)
{
	struct cand_path now = cand_choice_path(ch, cur);
	int rank = cand_rank(cur), other;
	bool other_cands = false, other_measured = false;

	for (size_t i = 0; i < cands->n; i++)
		if (cand_rank(&cands->ep[i]) > rank && !choice_find(ch, &cands->ep[i]))
			return true;
	if (rank == CAND_RANK_LAN)
		return false;
	other = rank == CAND_RANK_V6 ? CAND_RANK_PUBLIC4 : CAND_RANK_V6;
	for (size_t i = 0; i < cands->n; i++)
		other_cands |= cand_rank(&cands->ep[i]) == other;
	for (size_t i = 0; i < ch->n_paths; i++)
		other_measured |= cand_rank(&ch->path[i].ep) == other && ch->path[i].rtt_us;
	return other_cands && (!now.rtt_us || !other_measured);
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
