/* portlist: see portlist.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/portlist.h"

enum { PORTLIST_ENTRY_MAX = 64 };

static int portlist_port(const char *s, const char *end, uint16_t *out)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (const char *c = s; c < end; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* "P" or "LO-HI" in [s, end). */
static int portlist_range(const char *s, const char *end, struct portlist_entry *e)
{
	const char *dash = memchr(s, '-', (size_t)(end - s));

	if (!dash) {
		if (portlist_port(s, end, &e->lo))
			return -EINVAL;
		e->hi = e->lo;
		return 0;
	}
	if (portlist_port(s, dash, &e->lo) || portlist_port(dash + 1, end, &e->hi) ||
	    e->lo > e->hi)
		return -EINVAL;
	return 0;
}

static int portlist_group(const char *s, const char *colon, uint32_t *group)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;

	if (colon - s >= (long)sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1 || !IN_MULTICAST(ntohl(a.s_addr)))
		return -EINVAL;
	*group = a.s_addr;
	return 0;
}

static int portlist_entry(const char *s, const char *end, unsigned flags,
			  struct portlist_entry *e)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *colon = memchr(s, ':', (size_t)(end - s));

	memset(e, 0, sizeof(*e));
	if (flags & PORTLIST_MODES) {
		size_t n;

		if (!eq)
			return -EINVAL;
		n = (size_t)(end - eq - 1);
		if (n == 7 && !memcmp(eq + 1, "unicast", 7))
			e->mode = PORTLIST_MODE_UNICAST;
		else if (n == 6 && !memcmp(eq + 1, "native", 6))
			e->mode = PORTLIST_MODE_NATIVE;
		else
			return -EINVAL;
		end = eq;
	} else if (eq) {
		return -EINVAL;
	}
	if (colon) {
		if (!(flags & PORTLIST_GROUPS) || portlist_group(s, colon, &e->group))
			return -EINVAL;
		s = colon + 1;
	}
	return portlist_range(s, end, e);
}

int portlist_parse(struct portlist *out, const char *s, unsigned flags, char *err,
		   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	for (;;) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		const char *b = s;

		while (b < end && *b == ' ')
			b++;
		while (end > b && end[-1] == ' ')
			end--;
		if (end - b > PORTLIST_ENTRY_MAX || out->n == PORTLIST_MAX ||
		    portlist_entry(b, end, flags, &out->e[out->n])) {
			if (out->n == PORTLIST_MAX)
				snprintf(err, errlen, "more than %d entries", PORTLIST_MAX);
			else
				snprintf(err, errlen, "bad entry '%.*s' (expected %s)",
					 (int)(end - b > PORTLIST_ENTRY_MAX ? PORTLIST_ENTRY_MAX
									   : end - b),
					 b,
					 flags & PORTLIST_MODES
						 ? "PORT[-PORT]=unicast|native"
					 : flags & PORTLIST_GROUPS
						 ? "PORT, PORT-PORT or MULTICAST-GROUP:PORT[-PORT]"
						 : "PORT or PORT-PORT");
			memset(out, 0, sizeof(*out));
			return -EINVAL;
		}
		out->n++;
		if (!comma)
			return 0;
		s = comma + 1; /* an empty entry after it is an error too */
	}
}

const struct portlist_entry *portlist_find(const struct portlist *l, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (port >= l->e[i].lo && port <= l->e[i].hi)
			return &l->e[i];
	return NULL;
}

int portlist_format(const struct portlist *l, char *buf, size_t cap)
{
	size_t used = 0;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		const struct portlist_entry *e = &l->e[i];
		char group[INET_ADDRSTRLEN + 1] = "", range[12];
		int n;

		if (e->group) {
			inet_ntop(AF_INET, &e->group, group, sizeof(group) - 1);
			strcat(group, ":");
		}
		if (e->lo == e->hi)
			snprintf(range, sizeof(range), "%u", e->lo);
		else
			snprintf(range, sizeof(range), "%u-%u", e->lo, e->hi);
		n = snprintf(buf + used, cap - used, "%s%s%s%s", i ? "," : "", group, range,
			     e->mode == PORTLIST_MODE_NATIVE	? "=native"
			     : e->mode == PORTLIST_MODE_UNICAST ? "=unicast"
								: "");
		if (n < 0 || (size_t)n >= cap - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return 0;
}
