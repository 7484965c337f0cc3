/*
 * config_validate: one checker per setting type, each writing the value's
 * canonical form. Only printable ASCII passes at all, so a stored value can
 * never carry a control byte into a log line, a shell or a JSON document.
 *
 * Invariants: a checker either returns 0 with canon filled, or -EINVAL with
 * a reason; it never writes a partial canon that a caller could mistake for
 * a value (callers only use canon after 0).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "util/portlist.h"

#define CONFIG_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define CONFIG_NAME_MAX 64   /* the control plane's CTL_MAX_NAME */
#define CONFIG_HOSTLIST_MAX 16
#define CONFIG_HOST_MAX 253

static const char config_digits[] = "0123456789";

__attribute__((format(printf, 3, 4))) static int config_why(char *why, size_t len, const char *fmt,
							     ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Strict decimal: optional '-', digits only, no spaces, no '+', no overflow. */
static int config_parse_ll(const char *s, size_t len, long long *out)
{
	char buf[24];
	const char *p = buf;
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return -ERANGE;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (*p == '-')
		p++;
	if (!*p || strspn(p, config_digits) != strlen(p))
		return -EINVAL;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno ? -ERANGE : 0;
}

static int config_check_int(const struct config_def *d, const char *in, char *canon, char *why,
			    size_t whylen)
{
	long long v;
	int rc = config_parse_ll(in, strlen(in), &v);

	if (rc == -EINVAL)
		return config_why(why, whylen, "must be an integer from %lld to %lld", d->min,
				  d->max);
	if (rc || v < d->min || v > d->max)
		return config_why(why, whylen, "%s is out of range %lld..%lld", rc ? "value" : in,
				  d->min, d->max);
	snprintf(canon, CONFIG_VALUE_MAX, "%lld", v);
	return 0;
}

static int config_check_bool(const char *in, char *canon, char *why, size_t whylen)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(in, yes[i])) {
			strcpy(canon, "true");
			return 0;
		}
		if (!strcasecmp(in, no[i])) {
			strcpy(canon, "false");
			return 0;
		}
	}
	return config_why(why, whylen, "must be true or false");
}

static int config_check_enum(const struct config_def *d, const char *in, char *canon, char *why,
			     size_t whylen)
{
	for (const char *const *w = d->words; *w; w++) {
		if (!strcasecmp(in, *w)) {
			snprintf(canon, CONFIG_VALUE_MAX, "%s", *w);
			return 0;
		}
	}
	return config_why(why, whylen, "must be one of %s", d->allowed);
}

/* s[0..len) as a port in [min, 65535]. */
static int config_parse_port(const char *s, size_t len, long long min, long long max,
			     unsigned *port, char *why, size_t whylen)
{
	long long v;

	if (len == 0 || len > 5 || strspn(s, config_digits) < len ||
	    config_parse_ll(s, len, &v) || v < min || v > max)
		return config_why(why, whylen, "port must be a number from %lld to %lld", min, max);
	*port = (unsigned)v;
	return 0;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner '-'. */
static bool config_hostname_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > CONFIG_HOST_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

struct config_hostport {
	int family; /* AF_INET, AF_INET6, or 0 for a host name */
	unsigned char addr[16];
	bool has_port;
	unsigned port;
};

/*
 * s[0..len) as HOST[:PORT]: HOST is an IPv4 address, [IPv6], or a host name.
 * A name whose last label is all digits must be a valid IPv4 address.
 */
static int config_parse_hostport(const char *s, size_t len, long long port_min,
				 struct config_hostport *hp, char *why, size_t whylen)
{
	char host[CONFIG_HOST_MAX + 1];
	const char *rest, *last_dot;
	size_t hl;

	memset(hp, 0, sizeof(*hp));
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return config_why(why, whylen, "missing ']' after IPv6 address");
		hl = (size_t)(close - s - 1);
		if (hl >= sizeof(host))
			return config_why(why, whylen, "bad IPv6 address");
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, hp->addr) != 1)
			return config_why(why, whylen, "bad IPv6 address");
		hp->family = AF_INET6;
		rest = close + 1;
	} else {
		const char *colon = memchr(s, ':', len);

		hl = colon ? (size_t)(colon - s) : len;
		if (colon && memchr(colon + 1, ':', len - hl - 1))
			return config_why(why, whylen, "IPv6 addresses need brackets: [ADDR]:PORT");
		if (hl == 0)
			return config_why(why, whylen, "missing host");
		if (hl >= sizeof(host))
			return config_why(why, whylen, "host name longer than %d characters",
					  CONFIG_HOST_MAX);
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, hp->addr) == 1) {
			hp->family = AF_INET;
		} else {
			last_dot = strrchr(host, '.');
			if (!config_hostname_ok(host, hl) ||
			    strspn(last_dot ? last_dot + 1 : host, config_digits) ==
				    strlen(last_dot ? last_dot + 1 : host))
				return config_why(why, whylen, "'%s' is not a host name or IP address",
						  host);
		}
		rest = s + hl;
	}
	if (rest == s + len)
		return 0;
	if (*rest != ':')
		return config_why(why, whylen, "unexpected text after the host");
	hp->has_port = true;
	return config_parse_port(rest + 1, (size_t)(s + len - rest - 1), port_min, 65535, &hp->port,
				 why, whylen);
}

static int config_check_endpoint(const struct config_def *d, const char *in, char *canon,
				 char *why, size_t whylen)
{
	struct config_hostport hp;
	char a[INET6_ADDRSTRLEN];
	int rc = config_parse_hostport(in, strlen(in), d->min, &hp, why, whylen);

	if (rc)
		return rc;
	if (!hp.family)
		return config_why(why, whylen, "must be a numeric IP address: IPv4:PORT or [IPv6]:PORT");
	if (!hp.has_port)
		return config_why(why, whylen, "needs a port: IPv4:PORT or [IPv6]:PORT");
	if (hp.port > d->max)
		return config_why(why, whylen, "port must be a number from %lld to %lld", d->min,
				  d->max);
	if ((d->flags & CONFIG_F_LOOPBACK) &&
	    !(hp.family == AF_INET ? hp.addr[0] == 127
				   : IN6_IS_ADDR_LOOPBACK((struct in6_addr *)hp.addr)))
		return config_why(why, whylen,
				  "must be a loopback address (127.0.0.0/8 or [::1]): "
				  "the local API never listens on the network");
	inet_ntop(hp.family, hp.addr, a, sizeof(a));
	snprintf(canon, CONFIG_VALUE_MAX, hp.family == AF_INET ? "%s:%u" : "[%s]:%u", a, hp.port);
	return 0;
}

static int config_check_cidr(const struct config_def *d, const char *in, char *canon, char *why,
			     size_t whylen)
{
	const char *slash = strchr(in, '/');
	struct in_addr addr;
	char host[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];
	long long prefix;
	uint32_t ip, mask;

	if (!slash || (size_t)(slash - in) >= sizeof(host))
		return config_why(why, whylen, "must be an IPv4 network ADDR/PREFIX");
	memcpy(host, in, (size_t)(slash - in));
	host[slash - in] = '\0';
	if (inet_pton(AF_INET, host, &addr) != 1)
		return config_why(why, whylen, "must be an IPv4 network ADDR/PREFIX");
	if (strlen(slash + 1) > 2 || config_parse_ll(slash + 1, strlen(slash + 1), &prefix) ||
	    slash[1] == '-' || prefix < d->min || prefix > d->max)
		return config_why(why, whylen, "prefix length must be from %lld to %lld", d->min,
				  d->max);
	ip = ntohl(addr.s_addr);
	if ((ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 24) >= 224)
		return config_why(why, whylen, "%s is not usable as a LAN (0/8, loopback, "
					       "multicast or reserved)", host);
	mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
	if (ip & ~mask) {
		struct in_addr net = { .s_addr = htonl(ip & mask) };

		inet_ntop(AF_INET, &net, a, sizeof(a));
		return config_why(why, whylen, "host bits are set; did you mean %s/%lld?", a, prefix);
	}
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(canon, CONFIG_VALUE_MAX, "%s/%lld", a, prefix);
	return 0;
}

static int config_check_url(const char *in, char *canon, char *why, size_t whylen)
{
	static const char *const schemes[] = { "ws", "wss" };
	const char *sep = strstr(in, "://"), *auth, *path;
	struct config_hostport hp;
	size_t sl = sep ? (size_t)(sep - in) : 0;
	bool scheme_ok = false;
	int rc;

	for (size_t i = 0; sep && i < sizeof(schemes) / sizeof(schemes[0]); i++)
		scheme_ok |= strlen(schemes[i]) == sl && !strncasecmp(in, schemes[i], sl);
	if (!scheme_ok)
		return config_why(why, whylen, "must start with wss:// (or ws:// with control_insecure)");
	if (strpbrk(in, " #"))
		return config_why(why, whylen, "must not contain spaces or a '#' fragment");
	auth = sep + 3;
	path = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(path - auth)))
		return config_why(why, whylen, "must not contain credentials (user@)");
	rc = config_parse_hostport(auth, (size_t)(path - auth), 1, &hp, why, whylen);
	if (rc)
		return rc;
	snprintf(canon, CONFIG_VALUE_MAX, "%s", in);
	for (size_t i = 0; i < sl; i++)
		canon[i] = (char)tolower((unsigned char)canon[i]);
	return 0;
}

int config_check_pin(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	static const char prefix[] = "sha256/";
	unsigned char hash[32];
	size_t n = 0;

	if (strncmp(in, prefix, sizeof(prefix) - 1) || strlen(in) != sizeof(prefix) - 1 + 44 ||
	    sodium_base642bin(hash, sizeof(hash), in + sizeof(prefix) - 1, 44, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    n != sizeof(hash))
		return config_why(why, whylen, "want sha256/ and the base64 of 32 bytes, as "
				  "lanrage-control prints it");
	snprintf(canon, cap, "%s", in);
	return 0;
}

/* A display name others see: bounded, and no control characters that
 * could forge lines in their terminals or logs. */
int config_check_name(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	size_t len = strlen(in);

	if (len > CONFIG_NAME_MAX)
		return config_why(why, whylen, "must be at most %d bytes", CONFIG_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
			return config_why(why, whylen, "must not hold control characters");
	snprintf(canon, cap, "%s", in);
	return 0;
}

int config_check_ifname(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	size_t len = strlen(in);

	if (len == 0 || len > CONFIG_IFNAME_MAX)
		return config_why(why, whylen, "must be 1 to %d characters", CONFIG_IFNAME_MAX);
	if (strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
		return config_why(why, whylen, "may only hold letters, digits, '_', '.' and '-'");
	if (!strcmp(in, ".") || !strcmp(in, ".."))
		return config_why(why, whylen, "must not be '.' or '..'");
	snprintf(canon, cap, "%s", in);
	return 0;
}

int config_check_hostlist(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	const char *p = in;
	size_t used = 0;
	int n = 0;

	canon[0] = '\0';
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct config_hostport hp;
		char entry_why[CONFIG_ERR_MAX];

		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (len == 0)
			return config_why(why, whylen, "empty entry in the list");
		if (++n > CONFIG_HOSTLIST_MAX)
			return config_why(why, whylen, "at most %d servers", CONFIG_HOSTLIST_MAX);
		if (config_parse_hostport(p, len, 1, &hp, entry_why, sizeof(entry_why)))
			return config_why(why, whylen, "entry %d: %s", n, entry_why);
		/* canon holds at most strlen(in) bytes: the entries without spaces. */
		used += (size_t)snprintf(canon + used, cap - used, "%s%.*s", n > 1 ? "," : "",
					 (int)len, p);
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int config_validate(const struct config_def *d, const char *in, char canon[CONFIG_VALUE_MAX],
		    char *err, size_t errlen)
{
	char why[CONFIG_ERR_MAX];
	int rc = -EINVAL;

	if (!in) {
		config_why(why, sizeof(why), "missing value");
		goto out;
	}
	if (strlen(in) >= CONFIG_VALUE_MAX) {
		config_why(why, sizeof(why), "longer than %d characters", CONFIG_VALUE_MAX - 1);
		goto out;
	}
	for (const char *p = in; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			config_why(why, sizeof(why), "must be printable ASCII");
			goto out;
		}
	}
	if (!*in && (d->flags & CONFIG_F_EMPTY_OK)) {
		canon[0] = '\0';
		return 0;
	}
	if (!*in && d->type != CONFIG_STRING) {
		config_why(why, sizeof(why), "must not be empty (allowed: %s)", d->allowed);
		goto out;
	}
	switch (d->type) {
	case CONFIG_BOOL:
		rc = config_check_bool(in, canon, why, sizeof(why));
		break;
	case CONFIG_INT:
		rc = config_check_int(d, in, canon, why, sizeof(why));
		break;
	case CONFIG_STRING:
		rc = d->check(in, canon, CONFIG_VALUE_MAX, why, sizeof(why));
		break;
	case CONFIG_ENUM:
		rc = config_check_enum(d, in, canon, why, sizeof(why));
		break;
	case CONFIG_ENDPOINT:
		rc = config_check_endpoint(d, in, canon, why, sizeof(why));
		break;
	case CONFIG_CIDR:
		rc = config_check_cidr(d, in, canon, why, sizeof(why));
		break;
	case CONFIG_URL:
		rc = config_check_url(in, canon, why, sizeof(why));
		break;
	}
out:
	if (rc && err && errlen)
		snprintf(err, errlen, "%s: %s", d->key, why);
	return rc;
}

static int config_check_portlist(const char *in, unsigned flags, char *canon, size_t cap,
				 char *why, size_t whylen)
{
	struct portlist l;

	if (portlist_parse(&l, in, flags, why, whylen))
		return -EINVAL;
	if (portlist_format(&l, canon, cap))
		return config_why(why, whylen, "too long");
	return 0;
}

int config_check_disco_ports(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	return config_check_portlist(in, PORTLIST_GROUPS, canon, cap, why, whylen);
}

int config_check_disco_modes(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	return config_check_portlist(in, PORTLIST_MODES, canon, cap, why, whylen);
}

int config_check_disco_allow(const char *in, char *canon, size_t cap, char *why, size_t whylen)
{
	return config_check_portlist(in, 0, canon, cap, why, whylen);
}
