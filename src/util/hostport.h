/* hostport: splits "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (empty ADDR) as
 * the programs' --listen options and settings write them. Only the split and
 * the port range (1..65535) are checked; what ADDR may be is the caller's. */
#ifndef LR_UTIL_HOSTPORT_H
#define LR_UTIL_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -EINVAL with host and port unspecified. */
int hostport_split(const char *s, char *host, size_t host_len, uint16_t *port);

#endif
