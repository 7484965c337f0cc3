/*
 * platform_linux: link, address and route configuration over rtnetlink
 * (libmnl), and the privilege check (capget).
 *
 * Each call opens one NETLINK_ROUTE socket, sends one request with NLM_F_ACK
 * (or one dump), reads until the kernel's answer ends it and closes the
 * socket: configuration is rare, and a socket per call keeps no state between
 * calls and works from any thread. Requests that create use NLM_F_REPLACE so
 * repeating one is harmless: that is why net/ checks first that a link is its
 * own (platform_link_get) and that its route replaces nobody's
 * (platform_overlap4).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "platform/platform.h"

enum {
	NL_BUF = 16384, /* one request, or one batch of a dump */
	ADDR_MAX = 64,  /* addresses one flush removes; an interface of ours has one */
};

struct nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
};

int platform_check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	bool ok;

	/* The capability decides, not the UID: root in a container may lack it,
	 * and a binary with `setcap cap_net_admin+ep` has it without being root. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		ok = geteuid() == 0;
	else
		ok = data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
	if (ok)
		return 0;
	log_error("platform", "configuring network interfaces needs root or CAP_NET_ADMIN: run "
			      "with sudo, or grant it with `setcap cap_net_admin+ep` on the binary");
	return -EPERM;
}

static int nl_open(struct nl *nl)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		mnl_socket_close(nl->sock);
		return ret;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	return 0;
}

static void nl_close(struct nl *nl)
{
	mnl_socket_close(nl->sock);
}

static struct nlmsghdr *nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Sends nlh and runs cb on every answer until the ACK, the end of the dump or
 * an error (returned as a negative errno). */
static int nl_talk(struct nl *nl, char *buf, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	unsigned seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, buf, NL_BUF);
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

/* One request that only wants an ACK, on a socket of its own. */
static int nl_request(char *buf, struct nl *nl)
{
	int ret = nl_talk(nl, buf, NULL, NULL);

	nl_close(nl);
	return ret;
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

/* Index of name, or a negative errno (-ENODEV when it does not exist). */
static int link_index(struct nl *nl, const char *name)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int index = 0, ret;

	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	nlh = nl_msg(nl, buf, RTM_GETLINK, NLM_F_ACK); /* the ACK ends the answer */
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = nl_talk(nl, buf, link_index_cb, &index);
	if (ret)
		return ret;
	return index > 0 ? index : -ENODEV;
}

/* Opens a socket and looks up name: on success the caller owns nl. */
static int nl_open_link(struct nl *nl, const char *name)
{
	int ret = nl_open(nl);

	if (ret)
		return ret;
	ret = link_index(nl, name);
	if (ret < 0)
		nl_close(nl);
	return ret;
}

int platform_link_exists(const char *name)
{
	struct nl nl = { 0 };
	int ret = nl_open_link(&nl, name);

	if (ret == -ENODEV)
		return 0;
	if (ret < 0)
		return ret;
	nl_close(&nl);
	return 1;
}

struct link_get {
	struct platform_link *out;
	bool found;
};

static int linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
	struct platform_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && !mnl_attr_validate(attr, MNL_TYPE_STRING))
		snprintf(l->kind, sizeof(l->kind), "%.*s", (int)mnl_attr_get_payload_len(attr),
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct platform_link *l = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFALIAS:
		if (!mnl_attr_validate(attr, MNL_TYPE_STRING))
			snprintf(l->alias, sizeof(l->alias), "%.*s",
				 (int)mnl_attr_get_payload_len(attr), mnl_attr_get_str(attr));
		break;
	case IFLA_LINKINFO:
		if (!mnl_attr_validate(attr, MNL_TYPE_NESTED))
			mnl_attr_parse_nested(attr, linkinfo_attr_cb, l);
		break;
	}
	return MNL_CB_OK;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_get *g = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	g->found = true;
	g->out->index = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, g->out);
	return MNL_CB_OK;
}

int platform_link_get(const char *name, struct platform_link *out)
{
	struct link_get g = { .out = out };
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nl nl = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	ret = nl_open(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, buf, RTM_GETLINK, NLM_F_ACK);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = nl_talk(&nl, buf, link_get_cb, &g);
	nl_close(&nl);
	if (ret)
		return ret;
	return g.found && out->index > 0 ? 0 : -ENODEV;
}

static struct nlmsghdr *link_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags,
				 int index)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, type, NLM_F_ACK | flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

int platform_link_delete(const char *name)
{
	char buf[NL_BUF];
	struct nl nl = { 0 };
	int index = nl_open_link(&nl, name);

	if (index < 0)
		return index;
	link_msg(&nl, buf, RTM_DELLINK, 0, index);
	return nl_request(buf, &nl);
}

int platform_link_set_up(const char *name, bool up)
{
	char buf[NL_BUF];
	struct nl nl = { 0 };
	struct ifinfomsg *ifi;
	int index = nl_open_link(&nl, name);

	if (index < 0)
		return index;
	ifi = mnl_nlmsg_get_payload(link_msg(&nl, buf, RTM_NEWLINK, 0, index));
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_request(buf, &nl);
}

int platform_link_set_alias(const char *name, const char *alias)
{
	char buf[NL_BUF];
	struct nl nl = { 0 };
	int index;

	if (strlen(alias) >= PLATFORM_ALIAS_LEN)
		return -EINVAL;
	index = nl_open_link(&nl, name);
	if (index < 0)
		return index;
	mnl_attr_put_strz(link_msg(&nl, buf, RTM_NEWLINK, 0, index), IFLA_IFALIAS, alias);
	return nl_request(buf, &nl);
}

int platform_link_set_mtu(const char *name, unsigned mtu)
{
	char buf[NL_BUF];
	struct nl nl = { 0 };
	int index = nl_open_link(&nl, name);

	if (index < 0)
		return index;
	mnl_attr_put_u32(link_msg(&nl, buf, RTM_NEWLINK, 0, index), IFLA_MTU, mtu);
	return nl_request(buf, &nl);
}

static struct nlmsghdr *addr_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags,
				 int index, struct in_addr addr, unsigned prefix)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, type, NLM_F_ACK | flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
	return nlh;
}

int platform_addr_add4(const char *name, struct in_addr addr, unsigned prefix)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct nl nl = { 0 };
	int index;

	if (prefix > 32)
		return -EINVAL;
	index = nl_open_link(&nl, name);
	if (index < 0)
		return index;
	nlh = addr_msg(&nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, index, addr, prefix);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NOPREFIXROUTE);
	return nl_request(buf, &nl);
}

struct addr_list {
	int index;
	size_t n;
	struct in_addr addr[ADDR_MAX];
	unsigned prefix[ADDR_MAX];
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == IFA_LOCAL &&
	    mnl_attr_get_payload_len(attr) == sizeof(struct in_addr))
		memcpy(data, mnl_attr_get_payload(attr), sizeof(struct in_addr));
	return MNL_CB_OK;
}

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_list *l = data;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    (int)ifa->ifa_index != l->index || l->n == ADDR_MAX)
		return MNL_CB_OK;
	l->addr[l->n].s_addr = 0;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &l->addr[l->n]);
	l->prefix[l->n++] = ifa->ifa_prefixlen;
	return MNL_CB_OK;
}

int platform_addr_flush4(const char *name)
{
	struct addr_list list = { 0 };
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct nl nl = { 0 };
	int ret;

	list.index = nl_open_link(&nl, name);
	if (list.index < 0)
		return list.index;
	/* Collect first: the socket cannot take requests while a dump runs. */
	nlh = nl_msg(&nl, buf, RTM_GETADDR, NLM_F_DUMP);
	((struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg)))
		->ifa_family = AF_INET;
	ret = nl_talk(&nl, buf, addr_dump_cb, &list);
	for (size_t i = 0; i < list.n && !ret; i++) {
		addr_msg(&nl, buf, RTM_DELADDR, 0, list.index, list.addr[i], list.prefix[i]);
		ret = nl_talk(&nl, buf, NULL, NULL);
		if (ret == -EADDRNOTAVAIL) /* went away meanwhile */
			ret = 0;
	}
	nl_close(&nl);
	return ret;
}

/* RTM_NEWROUTE or RTM_DELROUTE for dst/prefix through the link; mtu > 0 adds
 * the metric with its lock bit (RTAX_LOCK), so PMTU discovery never raises
 * it and TCP takes its MSS from it. */
static int route_msg4(const char *name, int type, struct in_addr dst, unsigned prefix,
		      unsigned mtu)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl nl = { 0 };
	int index;

	if (prefix > 32)
		return -EINVAL;
	index = nl_open_link(&nl, name);
	if (index < 0)
		return index;
	if (prefix < 32) /* the kernel refuses a destination with host bits set */
		dst.s_addr &= htonl(prefix ? ~0u << (32 - prefix) : 0);
	nlh = nl_msg(&nl, buf, (uint16_t)type,
		     NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0));
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(dst), &dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	if (mtu) {
		struct nlattr *metrics = mnl_attr_nest_start(nlh, RTA_METRICS);

		mnl_attr_put_u32(nlh, RTAX_LOCK, 1u << RTAX_MTU);
		mnl_attr_put_u32(nlh, RTAX_MTU, mtu);
		mnl_attr_nest_end(nlh, metrics);
	}
	return nl_request(buf, &nl);
}

int platform_route_add4(const char *name, struct in_addr dst, unsigned prefix)
{
	return route_msg4(name, RTM_NEWROUTE, dst, prefix, 0);
}

int platform_route_mtu4(const char *name, struct in_addr dst, unsigned prefix, unsigned mtu)
{
	if (mtu < 68 || mtu > 65535)
		return -EINVAL;
	return route_msg4(name, RTM_NEWROUTE, dst, prefix, mtu);
}

int platform_route_del4(const char *name, struct in_addr dst, unsigned prefix)
{
	return route_msg4(name, RTM_DELROUTE, dst, prefix, 0);
}

/* ---- Overlap ------------------------------------------------------------- */

struct overlap {
	struct in_addr net;
	unsigned prefix;
	int skip_index; /* 0 = none */
	bool found;
	struct platform_overlap *out;
};

static bool nets_overlap(struct in_addr a, unsigned alen, struct in_addr b, unsigned blen)
{
	unsigned p = alen < blen ? alen : blen;
	uint32_t mask = p ? htonl(~0u << (32 - p)) : 0;

	return (a.s_addr & mask) == (b.s_addr & mask);
}

static void overlap_found(struct overlap *o, bool is_route, struct in_addr dst, unsigned prefix,
			  unsigned index)
{
	char name[IF_NAMESIZE] = "";

	if (o->found || !nets_overlap(o->net, o->prefix, dst, prefix))
		return;
	o->found = true;
	o->out->is_route = is_route;
	o->out->dst = dst;
	o->out->prefix = prefix;
	if (index && !if_indextoname(index, name))
		name[0] = '\0';
	snprintf(o->out->ifname, sizeof(o->out->ifname), "%s", name);
}

struct route_attrs {
	struct in_addr dst;
	uint32_t table, oif;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_attrs *r = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		if (mnl_attr_get_payload_len(attr) == sizeof(r->dst))
			memcpy(&r->dst, mnl_attr_get_payload(attr), sizeof(r->dst));
		break;
	case RTA_TABLE:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32))
			r->table = mnl_attr_get_u32(attr);
		break;
	case RTA_OIF:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32))
			r->oif = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* Every route of the main table counts, whatever its type (a blackhole or
 * unreachable route is someone's decision too); only default routes do not,
 * since they overlap everything. */
static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct overlap *o = data;
	struct route_attrs r = { .table = 0 };

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET || !rtm->rtm_dst_len ||
	    rtm->rtm_dst_len > 32)
		return MNL_CB_OK;
	r.table = rtm->rtm_table;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, &r);
	if (r.table != RT_TABLE_MAIN || (o->skip_index && r.oif == (uint32_t)o->skip_index))
		return MNL_CB_OK;
	overlap_found(o, true, r.dst, rtm->rtm_dst_len, r.oif);
	return MNL_CB_OK;
}

static int addr_overlap_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct overlap *o = data;
	struct in_addr a = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    (o->skip_index && (int)ifa->ifa_index == o->skip_index))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &a);
	overlap_found(o, false, a, ifa->ifa_prefixlen, ifa->ifa_index);
	return MNL_CB_OK;
}

int platform_overlap4(struct in_addr net, unsigned prefix, const char *skip_ifname,
		      struct platform_overlap *found)
{
	struct overlap o = { .net = net, .prefix = prefix, .out = found };
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct nl nl = { 0 };
	int ret;

	if (prefix > 32)
		return -EINVAL;
	memset(found, 0, sizeof(*found));
	ret = nl_open(&nl);
	if (ret)
		return ret;
	if (skip_ifname) {
		ret = link_index(&nl, skip_ifname);
		if (ret < 0 && ret != -ENODEV)
			goto out;
		o.skip_index = ret > 0 ? ret : 0;
	}
	nlh = nl_msg(&nl, buf, RTM_GETROUTE, NLM_F_DUMP);
	((struct rtmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)))->rtm_family =
		AF_INET;
	ret = nl_talk(&nl, buf, route_dump_cb, &o);
	if (!ret && !o.found) {
		nlh = nl_msg(&nl, buf, RTM_GETADDR, NLM_F_DUMP);
		((struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg)))
			->ifa_family = AF_INET;
		ret = nl_talk(&nl, buf, addr_overlap_cb, &o);
	}
out:
	nl_close(&nl);
	return ret ? ret : o.found;
}
