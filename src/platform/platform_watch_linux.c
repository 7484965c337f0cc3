/*
 * platform_watch_linux: link, address and route events from rtnetlink
 * multicast groups (libmnl), boiled down to "something changed that may
 * move this host's public mapping or local addresses".
 *
 * Links report many NEWLINK events that change nothing we care about (a
 * statistics, wireless or master change), so each link's up/running flags
 * are remembered (seeded from a dump at open) and only a change of those
 * counts; a link never seen before counts when it is up. The table is
 * bounded: a link beyond it counts on every event, which is safe (a
 * spurious change costs one netcheck).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

enum { WATCH_LINKS = 64, WATCH_BUF = 32768 };

struct platform_watch {
	struct mnl_socket *sock;
	struct {
		int index;
		unsigned flags; /* IFF_UP | IFF_RUNNING as last seen */
	} link[WATCH_LINKS];
	size_t n_links;
	char buf[WATCH_BUF];
};

struct watch_ctx {
	struct platform_watch *w;
	int ignore;
	char *what;
	size_t cap;
	int changed;
};

static int seed_cb(const struct nlmsghdr *nlh, void *data)
{
	struct platform_watch *w = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK && w->n_links < WATCH_LINKS &&
	    mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi)) {
		w->link[w->n_links].index = ifi->ifi_index;
		w->link[w->n_links++].flags = ifi->ifi_flags & (IFF_UP | IFF_RUNNING);
	}
	return MNL_CB_OK;
}

/* The links as they are now (a dump on a socket of its own), so the first
 * event of a link that was already there is judged against its state. */
static void watch_seed(struct platform_watch *w)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh;
	unsigned portid;
	ssize_t n;
	int ret = MNL_CB_OK;

	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(w->buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		goto out;
	while (ret > MNL_CB_STOP && (n = mnl_socket_recvfrom(s, w->buf, sizeof(w->buf))) > 0)
		ret = mnl_cb_run(w->buf, (size_t)n, 1, portid, seed_cb, w);
out:
	if (s)
		mnl_socket_close(s);
}

int platform_watch_open(struct platform_watch **out)
{
	struct platform_watch *w = calloc(1, sizeof(*w));
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			  RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int ret;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->sock) {
		ret = -errno;
		free(w);
		return ret;
	}
	if (mnl_socket_bind(w->sock, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		platform_watch_close(w);
		return ret;
	}
	watch_seed(w); /* after the bind: no change falls between the two */
	*out = w;
	return 0;
}

void platform_watch_close(struct platform_watch *w)
{
	if (!w)
		return;
	mnl_socket_close(w->sock);
	free(w);
}

int platform_watch_fd(const struct platform_watch *w)
{
	return mnl_socket_get_fd(w->sock);
}

/* The first change read: what, then the interface's name. */
static void watch_note(struct watch_ctx *x, int index, const char *what)
{
	char name[IF_NAMESIZE] = "?";

	if (x->changed++)
		return;
	if (!if_indextoname((unsigned)index, name))
		snprintf(name, sizeof(name), "#%d", index);
	snprintf(x->what, x->cap, "%s%s", what, name);
}

/* A link event: only a change of its up/running flags (or its removal)
 * counts; the first sight of a link counts when it is up. */
static void watch_link(struct watch_ctx *x, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct platform_watch *w = x->w;
	unsigned flags = ifi->ifi_flags & (IFF_UP | IFF_RUNNING);
	size_t i;

	if (ifi->ifi_index == x->ignore)
		return;
	for (i = 0; i < w->n_links && w->link[i].index != ifi->ifi_index; i++)
		;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (i < w->n_links) {
			w->link[i] = w->link[--w->n_links];
			w->link[w->n_links].index = 0;
		}
		watch_note(x, ifi->ifi_index, "link removed: ");
		return;
	}
	if (i < w->n_links && w->link[i].flags == flags)
		return;
	if (i == w->n_links && i < WATCH_LINKS)
		w->n_links++;
	if (i < WATCH_LINKS) {
		bool first = w->link[i].index != ifi->ifi_index;

		w->link[i].index = ifi->ifi_index;
		w->link[i].flags = flags;
		if (first && flags != (IFF_UP | IFF_RUNNING))
			return;
	}
	watch_note(x, ifi->ifi_index,
		   flags == (IFF_UP | IFF_RUNNING) ? "link up: " : "link down: ");
}

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFA_ADDRESS || mnl_attr_get_type(a) == IFA_LOCAL)
		((const struct nlattr **)data)[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void watch_addr(struct watch_ctx *x, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *a;
	char text[INET6_ADDRSTRLEN + 32] = "address ";

	if ((int)ifa->ifa_index == x->ignore)
		return;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a && ifa->ifa_family == AF_INET6 &&
	    mnl_attr_get_payload_len(a) == sizeof(struct in6_addr)) {
		const struct in6_addr *v6 = mnl_attr_get_payload(a);

		if (IN6_IS_ADDR_LINKLOCAL(v6))
			return; /* comes and goes with every link; never a candidate */
		inet_ntop(AF_INET6, v6, text + 8, sizeof(text) - 8);
	} else if (a && ifa->ifa_family == AF_INET &&
		   mnl_attr_get_payload_len(a) == sizeof(struct in_addr)) {
		inet_ntop(AF_INET, mnl_attr_get_payload(a), text + 8, sizeof(text) - 8);
	}
	strcat(text, nlh->nlmsg_type == RTM_NEWADDR ? " added on " : " removed from ");
	watch_note(x, (int)ifa->ifa_index, text);
}

static int route_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*(int *)data = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static void watch_route(struct watch_ctx *x, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	int oif = 0;

	if (rt->rtm_table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST)
		return;
	mnl_attr_parse(nlh, sizeof(*rt), route_attr_cb, &oif);
	if (oif == x->ignore)
		return;
	watch_note(x, oif, nlh->nlmsg_type == RTM_NEWROUTE ? "route added through "
							    : "route removed through ");
}

static int watch_cb(const struct nlmsghdr *nlh, void *data)
{
	struct watch_ctx *x = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifinfomsg))
			watch_link(x, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifaddrmsg))
			watch_addr(x, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct rtmsg))
			watch_route(x, nlh);
		break;
	}
	return MNL_CB_OK;
}

int platform_watch_read(struct platform_watch *w, int ignore_ifindex, char *what, size_t cap)
{
	struct watch_ctx x = { .w = w, .ignore = ignore_ifindex, .what = what, .cap = cap };
	ssize_t n;

	if (cap)
		what[0] = 0;
	for (;;) {
		n = mnl_socket_recvfrom(w->sock, w->buf, sizeof(w->buf));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && (errno == ENOBUFS || errno == ENOSPC)) {
			/* events were lost: assume the worst */
			if (!x.changed++)
				snprintf(what, cap, "netlink events lost");
			continue;
		}
		if (n < 0)
			return -errno;
		/* portid 0: multicast from the kernel; seq 0: not an answer */
		(void)mnl_cb_run(w->buf, (size_t)n, 0, 0, watch_cb, &x);
	}
	return x.changed > 0;
}
