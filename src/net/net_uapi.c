/*
 * net_uapi: structured peers to UAPI "set=1" text, and "get=1" replies back
 * to struct net_status (what `wg show` prints, as data).
 *
 * The reply comes from our own device, but it is still parsed strictly:
 * every number is range-checked and every key must be 64 hex digits, so a
 * future backend that proxies a foreign device cannot hand us garbage. The
 * private key in a reply is used only to derive the public key, in a buffer
 * that is wiped at once; the parser's working copy is wiped too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "net/net_uapi.h"
#include "util/strbuf.h"

int net_allowed_ip_parse(struct net_allowed_ip *aip, const char *s)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long cidr;
	char *end;

	memset(aip, 0, sizeof(*aip));
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &aip->v4) == 1)
		aip->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &aip->v6) == 1)
		aip->family = AF_INET6;
	else
		return -EINVAL;
	cidr = aip->family == AF_INET ? 32 : 128;
	if (slash) {
		unsigned long max = cidr;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		cidr = strtoul(slash + 1, &end, 10);
		if (errno || *end || cidr > max)
			return -EINVAL;
	}
	aip->cidr = (uint8_t)cidr;
	return 0;
}

void net_allowed_ip_format(const struct net_allowed_ip *aip, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(aip->family, &aip->v4, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, aip->cidr);
}

static void put_hex(struct strbuf *sb, const char *name, const uint8_t key[NET_KEY_LEN])
{
	char hex[2 * NET_KEY_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), key, NET_KEY_LEN);
	strbuf_printf(sb, "%s=%s\n", name, hex);
	crypto_wipe(hex, sizeof(hex));
}

static int take(struct strbuf *sb, char **req)
{
	strbuf_printf(sb, "\n");
	*req = strbuf_take(sb);
	return *req ? 0 : -ENOMEM;
}

int net_uapi_device_request(const uint8_t private_key[NET_KEY_LEN], uint16_t listen_port,
			    char **req)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "set=1\n");
	put_hex(&sb, "private_key", private_key);
	strbuf_printf(&sb, "listen_port=%u\n", listen_port);
	return take(&sb, req);
}

int net_uapi_peer_request(const struct net_peer_config *peer, char **req)
{
	char text[80];
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "set=1\n");
	put_hex(&sb, "public_key", peer->public_key);
	if (peer->has_endpoint) {
		wg_endpoint_format(&peer->endpoint, text, sizeof(text));
		strbuf_printf(&sb, "endpoint=%s\n", text);
	}
	strbuf_printf(&sb, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
		      peer->keepalive);
	for (size_t i = 0; i < peer->n_allowed_ips; i++) {
		net_allowed_ip_format(&peer->allowed_ips[i], text, sizeof(text));
		strbuf_printf(&sb, "allowed_ip=%s\n", text);
	}
	return take(&sb, req);
}

int net_uapi_remove_request(const uint8_t public_key[NET_KEY_LEN], char **req)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "set=1\n");
	put_hex(&sb, "public_key", public_key);
	strbuf_printf(&sb, "update_only=true\nremove=true\n");
	return take(&sb, req);
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return -EPROTO;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || *end || *out > max ? -EPROTO : 0;
}

static int parse_hex_key(const char *v, uint8_t key[NET_KEY_LEN])
{
	size_t n;

	if (strlen(v) != 2 * NET_KEY_LEN ||
	    sodium_hex2bin(key, NET_KEY_LEN, v, 2 * NET_KEY_LEN, NULL, &n, NULL) ||
	    n != NET_KEY_LEN)
		return -EPROTO;
	return 0;
}

int net_uapi_reply_errno(const char *reply)
{
	const char *p = strstr(reply, "errno=");
	uint64_t v;
	char num[24];
	size_t len;
	bool neg;

	/* errno is a line of its own: at the start or after a newline. */
	while (p && p != reply && p[-1] != '\n')
		p = strstr(p + 1, "errno=");
	if (!p)
		return -EPROTO;
	p += 6;
	neg = *p == '-'; /* our device answers with negative numbers, wg's with positive */
	p += neg;
	len = strcspn(p, "\n");
	if (len == 0 || len >= sizeof(num))
		return -EPROTO;
	memcpy(num, p, len);
	num[len] = '\0';
	if (parse_u64(num, 4095, &v))
		return -EPROTO;
	return -(int)v;
}

static int add_aip(struct net_peer_status *p, const char *v)
{
	struct net_allowed_ip *a;

	a = realloc(p->allowed_ips, (p->n_allowed_ips + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->allowed_ips = a;
	if (net_allowed_ip_parse(&a[p->n_allowed_ips], v))
		return -EPROTO;
	p->n_allowed_ips++;
	return 0;
}

static int add_peer(struct net_status *st, const char *v)
{
	struct net_peer_status *peers;

	peers = realloc(st->peers, (st->n_peers + 1) * sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	st->peers = peers;
	memset(&peers[st->n_peers], 0, sizeof(*peers));
	if (parse_hex_key(v, peers[st->n_peers].public_key))
		return -EPROTO;
	st->n_peers++;
	return 0;
}

static int parse_device_line(struct net_status *st, const char *k, const char *v)
{
	uint8_t priv[NET_KEY_LEN];
	uint64_t n = 0; /* parse_u64 leaves it alone on error */
	int ret;

	if (!strcmp(k, "private_key")) {
		ret = parse_hex_key(v, priv);
		if (!ret) {
			crypto_x25519_public(st->public_key, priv);
			st->has_public_key = true;
		}
		crypto_wipe(priv, sizeof(priv));
		return ret;
	}
	if (!strcmp(k, "listen_port")) {
		ret = parse_u64(v, 65535, &n);
		st->listen_port = (uint16_t)n;
		return ret;
	}
	if (!strcmp(k, "fwmark")) {
		ret = parse_u64(v, UINT32_MAX, &n);
		st->fwmark = (uint32_t)n;
		return ret;
	}
	return 0;
}

/* Keys only our device writes (src/wg/config.c); it writes all three. */
static int parse_packet_counter(struct net_peer_status *p, const char *k, const char *v)
{
	uint64_t *dst = NULL;

	if (!strcmp(k, "rx_packets"))
		dst = &p->rx_packets;
	else if (!strcmp(k, "tx_packets"))
		dst = &p->tx_packets;
	else if (!strcmp(k, "handshakes"))
		dst = &p->handshakes;
	if (!dst)
		return 0; /* preshared_key, protocol_version and keys we do not know */
	p->has_packet_counters = true;
	return parse_u64(v, UINT64_MAX, dst);
}

static int parse_peer_line(struct net_peer_status *p, const char *k, const char *v)
{
	uint64_t n = 0; /* parse_u64 leaves it alone on error */
	int ret = 0;

	if (!strcmp(k, "endpoint")) {
		p->has_endpoint = true;
		return wg_endpoint_parse(&p->endpoint, v) ? -EPROTO : 0;
	}
	if (!strcmp(k, "allowed_ip"))
		return add_aip(p, v);
	if (!strcmp(k, "last_handshake_time_sec"))
		return parse_u64(v, UINT64_MAX, &p->last_handshake_sec);
	if (!strcmp(k, "last_handshake_time_nsec")) {
		ret = parse_u64(v, 999999999, &n);
		p->last_handshake_nsec = (uint32_t)n;
	} else if (!strcmp(k, "persistent_keepalive_interval")) {
		ret = parse_u64(v, 65535, &n);
		p->keepalive = (uint16_t)n;
	} else if (!strcmp(k, "rx_bytes")) {
		ret = parse_u64(v, UINT64_MAX, &p->rx_bytes);
	} else if (!strcmp(k, "tx_bytes")) {
		ret = parse_u64(v, UINT64_MAX, &p->tx_bytes);
	} else {
		return parse_packet_counter(p, k, v);
	}
	return ret;
}

static int parse_line(struct net_status *st, char *line)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return -EPROTO;
	*eq = '\0';
	if (!strcmp(line, "errno"))
		return 0; /* checked as a whole by the caller */
	if (!strcmp(line, "public_key"))
		return add_peer(st, eq + 1);
	if (!st->n_peers)
		return parse_device_line(st, line, eq + 1);
	return parse_peer_line(&st->peers[st->n_peers - 1], line, eq + 1);
}

int net_uapi_parse_status(const char *reply, struct net_status *st)
{
	size_t len = strlen(reply);
	char *copy, *line, *next;
	int ret = net_uapi_reply_errno(reply);

	if (ret)
		return ret;
	copy = strdup(reply);
	if (!copy)
		return -ENOMEM;
	st->has_public_key = false;
	st->listen_port = 0;
	st->fwmark = 0;
	st->peers = NULL;
	st->n_peers = 0;
	for (line = copy; *line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line)
			ret = parse_line(st, line);
	}
	crypto_wipe(copy, len);
	free(copy);
	if (ret)
		net_status_free(st);
	return ret;
}

void net_status_free(struct net_status *st)
{
	for (size_t i = 0; i < st->n_peers; i++)
		free(st->peers[i].allowed_ips);
	free(st->peers);
	st->peers = NULL;
	st->n_peers = 0;
}
