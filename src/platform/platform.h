/*
 * platform: the host's network configuration, behind one small interface so
 * the NetworkManager (net/) holds no platform code. platform_linux.c speaks
 * rtnetlink through libmnl; another OS gets its own platform_<os>.c.
 *
 * Every call is synchronous and self-contained (it opens its own netlink
 * socket), works in the caller's network namespace, and returns 0 or a
 * negative errno (-ENODEV when the interface does not exist). Nothing here
 * logs except platform_check_privileges, whose message is the point.
 */
#ifndef LR_PLATFORM_H
#define LR_PLATFORM_H

#include <netinet/in.h>
#include <stdbool.h>

/* 0 when the process may configure interfaces (root, or CAP_NET_ADMIN in its
 * effective set); otherwise logs one line saying how to fix it and returns
 * -EPERM. */
int platform_check_privileges(void);

/* Least privilege after setup: sets PR_SET_NO_NEW_PRIVS, reduces the bounding
 * set (when CAP_SETPCAP allows) and the permitted and effective sets to
 * CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (those the process holds), and
 * clears the inheritable and ambient sets. Must be called before the process
 * starts any thread (capabilities are per thread). 0 or a negative errno
 * (logged). */
int platform_drop_capabilities(void);

/* 1 when an interface called name exists, 0 when not, or a negative errno. */
int platform_link_exists(const char *name);

/* What an existing link is: its kind (IFLA_INFO_KIND: "tun", "wireguard",
 * "bridge", ...; "" for a device without one, such as a physical NIC) and
 * its alias (IFLA_IFALIAS, "" when unset). -ENODEV when it does not exist. */
enum { PLATFORM_KIND_LEN = 32, PLATFORM_ALIAS_LEN = 64 };
struct platform_link {
	int index;
	char kind[PLATFORM_KIND_LEN];
	char alias[PLATFORM_ALIAS_LEN];
};
int platform_link_get(const char *name, struct platform_link *out);
/* Sets the alias of name (the mark a program leaves on the links it made). */
int platform_link_set_alias(const char *name, const char *alias);
int platform_link_delete(const char *name);
int platform_link_set_up(const char *name, bool up);
int platform_link_set_mtu(const char *name, unsigned mtu);

/* Adds addr/prefix to name without the kernel's automatic prefix route: the
 * route for the party subnet is added explicitly with platform_route_add4. */
int platform_addr_add4(const char *name, struct in_addr addr, unsigned prefix);
/* Removes every IPv4 address of name. */
int platform_addr_flush4(const char *name);
/* Route dst/prefix through name (created or replaced, so it is idempotent). */
int platform_route_add4(const char *name, struct in_addr dst, unsigned prefix);
/* The same with a locked MTU metric (`mtu lock N`): the most the kernel sends
 * to dst/prefix in one IP packet, and what TCP's MSS follows (68..65535). */
int platform_route_mtu4(const char *name, struct in_addr dst, unsigned prefix, unsigned mtu);
/* Removes the route dst/prefix through name; -ESRCH when there is none. */
int platform_route_del4(const char *name, struct in_addr dst, unsigned prefix);

/* Something of the host's that overlaps a network: a main-table route or an
 * interface address, with the link it is on. */
struct platform_overlap {
	bool is_route; /* else an address */
	struct in_addr dst;
	unsigned prefix;
	char ifname[16]; /* "" when the route has no output interface */
};
/* Looks for an IPv4 route of the main table (default routes excluded) or an
 * IPv4 address (with its prefix) of any link that overlaps net/prefix,
 * ignoring the link called skip_ifname (may be NULL). 1 and *found when one
 * does (the first found), 0 when none, or a negative errno. */
int platform_overlap4(struct in_addr net, unsigned prefix, const char *skip_ifname,
		      struct platform_overlap *found);

/* Watching the host's network (docs/NET.md "Network changes"): a netlink
 * socket subscribed to link, address and route events. Unlike the calls
 * above it keeps its socket; one thread owns it. */
struct platform_watch;
int platform_watch_open(struct platform_watch **out);
void platform_watch_close(struct platform_watch *w);
/* Readable when events wait; then call platform_watch_read. */
int platform_watch_fd(const struct platform_watch *w);
/* Reads every waiting event. 1 when one of them changes what this host can
 * reach the network with -- a link going up or down or going away, an
 * address added or removed (IPv6 link-local ones aside), a main-table
 * route added or removed, or events lost to a full socket -- on an
 * interface other than ignore_ifindex (the party's own, whose routes we
 * change ourselves); what then says which (the first one). 0 when none did,
 * or a negative errno. */
int platform_watch_read(struct platform_watch *w, int ignore_ifindex, char *what, size_t cap);

#endif
