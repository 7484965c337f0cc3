/* endpoint: parse, print and compare UDP endpoints (numeric only, like wg). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int wg_endpoint_parse(struct wg_endpoint *ep, const char *s)
{
	char host[64];
	const char *colon, *hs = s;
	size_t hl;
	uint16_t port;

	memset(ep, 0, sizeof(*ep));
	if (*s == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		hs = s + 1;
		hl = (size_t)(colon - hs);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || parse_port(colon + 1, &port))
		return -EINVAL;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (*s != '[' && inet_pton(AF_INET, host, &ep->in4.sin_addr) == 1) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = htons(port);
		return 0;
	}
	if (*s == '[' && inet_pton(AF_INET6, host, &ep->in6.sin6_addr) == 1) {
		ep->in6.sin6_family = AF_INET6;
		ep->in6.sin6_port = htons(port);
		return 0;
	}
	memset(ep, 0, sizeof(*ep));
	return -EINVAL;
}

void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t buflen)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in4.sin_addr, a, sizeof(a));
		snprintf(buf, buflen, "%s:%u", a, ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
		inet_ntop(AF_INET, &ep->in6.sin6_addr.s6_addr[12], a, sizeof(a));
		snprintf(buf, buflen, "%s:%u", a, ntohs(ep->in6.sin6_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, a, sizeof(a));
		snprintf(buf, buflen, "[%s]:%u", a, ntohs(ep->in6.sin6_port));
	} else {
		snprintf(buf, buflen, "(none)");
	}
}

bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return true;
}

bool wg_endpoint_same_addr(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->sa.sa_family == AF_INET6 && !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

void wg_endpoint_unmap(struct wg_endpoint *ep)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET };

	if (ep->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr))
		return;
	in4.sin_port = ep->in6.sin6_port;
	memcpy(&in4.sin_addr, &ep->in6.sin6_addr.s6_addr[12], 4);
	memset(ep, 0, sizeof(*ep));
	ep->in4 = in4;
}

socklen_t wg_endpoint_socklen(const struct wg_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET ? sizeof(ep->in4) : sizeof(ep->in6);
}

uint16_t wg_endpoint_port(const struct wg_endpoint *ep)
{
	return ntohs(ep->sa.sa_family == AF_INET ? ep->in4.sin_port : ep->in6.sin6_port);
}

void wg_endpoint_set_port(struct wg_endpoint *ep, uint16_t port)
{
	if (ep->sa.sa_family == AF_INET)
		ep->in4.sin_port = htons(port);
	else
		ep->in6.sin6_port = htons(port);
}
