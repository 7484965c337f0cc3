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

/* 1 when an interface called name exists, 0 when not, or a negative errno. */
int platform_link_exists(const char *name);
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

#endif
