/*
 * uapi: parsing of set requests and the request dispatcher. Parsing is strict:
 * keys as wireguard-go accepts them, 64-hex-digit keys, decimal numbers with
 * range checks, numeric endpoints, prefixes with an explicit length. Nothing
 * is applied unless the whole request parses (see uapi.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "util/mem.h"
#include "util/strbuf.h"
#include "wg/uapi.h"

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_key(const char *v, uint8_t key[32])
{
	if (strlen(v) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		int hi = hex_nibble(v[2 * i]), lo = hex_nibble(v[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			crypto_wipe(key, 32);
			return -EINVAL;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v || strlen(v) > 20)
		return -EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > max)
			return -EINVAL;
	}
	*out = n;
	return 0;
}

static int parse_true(const char *v, bool *out)
{
	if (strcmp(v, "true"))
		return -EINVAL;
	*out = true;
	return 0;
}

static int parse_prefix(const char *v, struct wg_uapi_aip *aip)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	uint64_t cidr;
	size_t hl;

	memset(aip, 0, sizeof(*aip));
	if (*v == '-') {
		aip->remove = true;
		v++;
	}
	slash = strchr(v, '/');
	if (!slash || (hl = (size_t)(slash - v)) == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, aip->addr) == 1)
		aip->family = AF_INET;
	else if (inet_pton(AF_INET6, host, aip->addr) == 1)
		aip->family = AF_INET6;
	else
		return -EINVAL;
	if (parse_uint(slash + 1, aip->family == AF_INET ? 32 : 128, &cidr))
		return -EINVAL;
	aip->cidr = (uint8_t)cidr;
	return 0;
}

static int add_peer(struct wg_uapi_config *cfg, const char *v)
{
	struct wg_uapi_peer *p;

	if (cfg->npeers == cfg->peers_cap) {
		size_t cap = cfg->peers_cap ? cfg->peers_cap * 2 : 8;

		/* Peers hold preshared keys, so the old block is wiped. */
		p = mem_grow_wiped(cfg->peers, cfg->peers_cap * sizeof(*p), cfg->npeers * sizeof(*p),
				   cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		cfg->peers = p;
		cfg->peers_cap = cap;
	}
	p = &cfg->peers[cfg->npeers];
	memset(p, 0, sizeof(*p));
	if (parse_key(v, p->public_key))
		return -EINVAL;
	cfg->npeers++;
	return 0;
}

static int add_aip(struct wg_uapi_peer *p, const char *v)
{
	struct wg_uapi_aip aip;

	if (parse_prefix(v, &aip))
		return -EINVAL;
	if (p->naips == p->aips_cap) {
		size_t cap = p->aips_cap ? p->aips_cap * 2 : 4;
		struct wg_uapi_aip *n = realloc(p->aips, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->aips = n;
		p->aips_cap = cap;
	}
	p->aips[p->naips++] = aip;
	return 0;
}

static int parse_device_line(struct wg_uapi_config *cfg, const char *k, const char *v)
{
	uint64_t n;

	if (!strcmp(k, "private_key")) {
		cfg->has_private_key = true;
		return parse_key(v, cfg->private_key);
	}
	if (!strcmp(k, "listen_port")) {
		cfg->has_listen_port = true;
		if (parse_uint(v, 65535, &n))
			return -EINVAL;
		cfg->listen_port = (uint16_t)n;
		return 0;
	}
	if (!strcmp(k, "fwmark")) {
		cfg->has_fwmark = true;
		if (parse_uint(v, UINT32_MAX, &n))
			return -EINVAL;
		cfg->fwmark = (uint32_t)n;
		return 0;
	}
	if (!strcmp(k, "replace_peers"))
		return parse_true(v, &cfg->replace_peers);
	return -EINVAL;
}

static int parse_peer_line(struct wg_uapi_peer *p, const char *k, const char *v)
{
	uint64_t n;

	if (!strcmp(k, "remove"))
		return parse_true(v, &p->remove);
	if (!strcmp(k, "update_only"))
		return parse_true(v, &p->update_only);
	if (!strcmp(k, "replace_allowed_ips"))
		return parse_true(v, &p->replace_allowed_ips);
	if (!strcmp(k, "preshared_key")) {
		p->has_psk = true;
		return parse_key(v, p->psk);
	}
	if (!strcmp(k, "endpoint")) {
		p->has_endpoint = true;
		return wg_endpoint_parse(&p->endpoint, v);
	}
	if (!strcmp(k, "persistent_keepalive_interval")) {
		p->has_keepalive = true;
		if (parse_uint(v, 65535, &n))
			return -EINVAL;
		p->keepalive = (uint16_t)n;
		return 0;
	}
	if (!strcmp(k, "allowed_ip"))
		return add_aip(p, v);
	if (!strcmp(k, "protocol_version"))
		return strcmp(v, "1") ? -EINVAL : 0;
	return -EINVAL;
}

static int parse_line(struct wg_uapi_config *cfg, char *line)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return -EPROTO;
	*eq = '\0';
	if (!strcmp(line, "public_key"))
		return add_peer(cfg, eq + 1);
	if (!cfg->npeers)
		return parse_device_line(cfg, line, eq + 1);
	return parse_peer_line(&cfg->peers[cfg->npeers - 1], line, eq + 1);
}

int wg_uapi_parse_set(const char *body, size_t len, struct wg_uapi_config *cfg)
{
	char *copy, *line, *next;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (memchr(body, '\0', len))
		return -EINVAL;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	for (line = copy; *line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		ret = parse_line(cfg, line);
	}
	crypto_wipe(copy, len);
	free(copy);
	if (ret)
		wg_uapi_config_free(cfg);
	return ret;
}

void wg_uapi_config_free(struct wg_uapi_config *cfg)
{
	for (size_t i = 0; i < cfg->npeers; i++)
		free(cfg->peers[i].aips);
	if (cfg->peers)
		crypto_wipe(cfg->peers, cfg->peers_cap * sizeof(*cfg->peers));
	free(cfg->peers);
	crypto_wipe(cfg, sizeof(*cfg));
}

static char *reply_errno(struct strbuf *sb, int err)
{
	strbuf_printf(sb, "errno=%d\n\n", err);
	return strbuf_take(sb);
}

static int handle_set(struct wg_device *dev, const char *body, size_t len, char **reply)
{
	struct wg_uapi_config cfg;
	struct strbuf sb;
	int ret;

	strbuf_init(&sb);
	ret = wg_uapi_parse_set(body, len, &cfg);
	if (!ret) {
		ret = wg_uapi_apply(dev, &cfg);
		wg_uapi_config_free(&cfg);
	} else {
		log_info("uapi", "set request refused: %s", strerror(-ret));
	}
	*reply = reply_errno(&sb, ret);
	return *reply ? 0 : -ENOMEM;
}

static int handle_get(struct wg_device *dev, char **reply)
{
	char *body = wg_uapi_get(dev);
	struct strbuf sb;

	strbuf_init(&sb);
	if (!body) {
		/* wg wants a non-negative errno on get replies. */
		*reply = reply_errno(&sb, ENOMEM);
		return *reply ? 0 : -ENOMEM;
	}
	strbuf_printf(&sb, "%serrno=0\n\n", body);
	crypto_wipe(body, strlen(body));
	free(body);
	*reply = strbuf_take(&sb);
	return *reply ? 0 : -ENOMEM;
}

/* req is one request: its first line, then its body, then the blank line. */
int wg_device_uapi(struct wg_device *dev, const char *req, size_t len, char **reply)
{
	*reply = NULL;
	if (len < 2 || req[len - 1] != '\n' || req[len - 2] != '\n')
		return -EPROTO;
	if (len == 7 && !memcmp(req, "get=1\n\n", 7))
		return handle_get(dev, reply);
	if (len >= 7 && !memcmp(req, "set=1\n", 6))
		return handle_set(dev, req + 6, len - 7, reply);
	return -EPROTO;
}
