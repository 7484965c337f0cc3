/* hostport: splits "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (empty ADDR) as
 * the programs' --listen options and settings write them. Only the split and
 * the port range (1..65535) are checked; what ADDR may be is the caller's. */
#ifndef LR_UTIL_HOSTPORT_H
#define LR_UTIL_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -EINVAL with host and port unspecified. */
int hostport_split(const char *s, char *host, size_t host_len, uint16_t *port);
/* Takes TCP ip:port (a numeric IPv4 or IPv6 address) as a server would
 * (SO_REUSEADDR, listen) and lets it go: 0, -EINVAL for a non-numeric ip,
 * or bind's -errno (-EADDRINUSE). Servers learn a busy port this way,
 * before libwebsockets, which only logs it (and leaks on that path). */
int hostport_tcp_listen_probe(const char *ip, uint16_t port);

#endif
