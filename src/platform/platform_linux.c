/*
 * platform_linux: link, address and route configuration over rtnetlink
 * (libmnl), and the privilege check (capget).
 *
 * Each call opens one NETLINK_ROUTE socket, sends one request with NLM_F_ACK
 * (or one dump), reads until the kernel's answer ends it and closes the
 * socket: configuration is rare, and a socket per call keeps no state between
 * calls and works from any thread. Requests that create use NLM_F_REPLACE so
 * repeating one is harmless.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
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
	struct nl nl;
	int ret = nl_open_link(&nl, name);

	if (ret == -ENODEV)
		return 0;
	if (ret < 0)
		return ret;
	nl_close(&nl);
	return 1;
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
	struct nl nl;
	int index = nl_open_link(&nl, name);

	if (index < 0)
		return index;
	link_msg(&nl, buf, RTM_DELLINK, 0, index);
	return nl_request(buf, &nl);
}

int platform_link_set_up(const char *name, bool up)
{
	char buf[NL_BUF];
	struct nl nl;
	struct ifinfomsg *ifi;
	int index = nl_open_link(&nl, name);

	if (index < 0)
		return index;
	ifi = mnl_nlmsg_get_payload(link_msg(&nl, buf, RTM_NEWLINK, 0, index));
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_request(buf, &nl);
}

int platform_link_set_mtu(const char *name, unsigned mtu)
{
	char buf[NL_BUF];
	struct nl nl;
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
	struct nl nl;
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
	struct nl nl;
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

int platform_route_add4(const char *name, struct in_addr dst, unsigned prefix)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl nl;
	int index;

	if (prefix > 32)
		return -EINVAL;
	index = nl_open_link(&nl, name);
	if (index < 0)
		return index;
	if (prefix < 32) /* the kernel refuses a destination with host bits set */
		dst.s_addr &= htonl(prefix ? ~0u << (32 - prefix) : 0);
	nlh = nl_msg(&nl, buf, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(dst), &dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nl_request(buf, &nl);
}
