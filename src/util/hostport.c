/* hostport: see hostport.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostport.h"

int hostport_split(const char *s, char *host, size_t host_len, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	const char *a = s;
	size_t n;
	char *end;
	long p;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		a = s + 1;
		n -= 2;
	}
	if (n >= host_len)
		return -EINVAL;
	memcpy(host, a, n);
	host[n] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || colon[1] < '0' || colon[1] > '9' || p < 1 ||
	    p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}
