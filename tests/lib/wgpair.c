/* wgpair: in-memory WireGuard devices for unit tests; see wgpair.h. */
#include "wgpair.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "wg/internal.h"

static int node_udp_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wgp_node *node = ctx;
	struct wgp_net *net = node->net;
	struct wgp_dgram *d;

	if (net->nqueue == WGP_MAX_QUEUE)
		return -105; /* ENOBUFS */
	d = &net->queue[net->nqueue++];
	d->from = node->id;
	d->src = node->addr;
	d->dst = *dst;
	d->buf = malloc(len + 64);
	assert_non_null(d->buf);
	memcpy(d->buf, buf, len);
	d->len = len;
	return 0;
}

static int node_tun_write(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wgp_node *node = ctx;
	struct wgp_tun_pkt *p;

	if (node->ntun == WGP_MAX_TUN)
		return -105;
	p = &node->tun[node->ntun++];
	p->buf = malloc(len);
	assert_non_null(p->buf);
	memcpy(p->buf, pkt, len);
	p->len = len;
	return 0;
}

static int node_bind(void *ctx, uint16_t port, uint16_t *bound)
{
	struct wgp_node *node = ctx;

	*bound = port ? port : (uint16_t)(40000 + node->id);
	return 0;
}

static const struct wgp_io_ops_holder {
	struct wg_io_ops ops;
} wgp_io = { { node_udp_send, node_tun_write, node_bind, NULL } };

void wgp_key_hex(char out[65], const uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", key[i]);
}

void wgp_hex_decode(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

struct wg_peer *wgp_peer(struct wgp_net *net, int a, int b)
{
	return wg_peer_lookup(net->nodes[a].dev, net->nodes[b].pub);
}

void wgp_init(struct wgp_net *net, int n)
{
	char req[256], hex[65];

	memset(net, 0, sizeof(*net));
	net->n = n;
	assert_int_equal(crypto_init(), 0);
	for (int i = 0; i < n; i++) {
		struct wgp_node *node = &net->nodes[i];

		node->net = net;
		node->id = i;
		node->addr.in4.sin_family = AF_INET;
		node->addr.in4.sin_port = htons((uint16_t)(51820 + i));
		node->addr.in4.sin_addr.s_addr = htonl(0xc0000201u + (uint32_t)i);
		crypto_x25519_generate(node->priv, node->pub);
		assert_int_equal(wg_device_new(&node->dev, &wgp_io.ops, node), 0);
		wgp_key_hex(hex, node->priv);
		snprintf(req, sizeof(req), "set=1\nprivate_key=%s\nlisten_port=%d\n\n", hex,
			 51820 + i);
		assert_int_equal(wgp_uapi(net, i, req, NULL), 0);
	}
}

void wgp_tun_clear(struct wgp_node *node)
{
	for (size_t i = 0; i < node->ntun; i++)
		free(node->tun[i].buf);
	node->ntun = 0;
}

size_t wgp_drop(struct wgp_net *net)
{
	size_t n = net->nqueue;

	for (size_t i = 0; i < net->nqueue; i++)
		free(net->queue[i].buf);
	net->nqueue = 0;
	return n;
}

void wgp_free(struct wgp_net *net)
{
	wgp_drop(net);
	for (int i = 0; i < net->n; i++) {
		wgp_tun_clear(&net->nodes[i]);
		wg_device_free(net->nodes[i].dev);
	}
}

int wgp_uapi(struct wgp_net *net, int a, const char *req, char **out)
{
	char *reply = NULL;
	const char *e;
	int ret;

	ret = wg_device_uapi(net->nodes[a].dev, req, strlen(req), &reply);
	if (ret)
		return ret;
	e = strstr(reply, "errno=");
	assert_non_null(e);
	ret = atoi(e + 6);
	if (out)
		*out = reply;
	else
		free(reply);
	return ret;
}

void wgp_add_peer(struct wgp_net *net, int a, int b, const char *psk_hex)
{
	char req[512], hex[65], psk[128] = "";
	struct wgp_node *nb = &net->nodes[b];

	wgp_key_hex(hex, nb->pub);
	if (psk_hex)
		snprintf(psk, sizeof(psk), "preshared_key=%s\n", psk_hex);
	snprintf(req, sizeof(req),
		 "set=1\npublic_key=%s\n%sendpoint=192.0.2.%d:%d\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.%d/32\n\n",
		 hex, psk, b + 1, 51820 + b, b + 1);
	assert_int_equal(wgp_uapi(net, a, req, NULL), 0);
}

void wgp_link(struct wgp_net *net, int a, int b, const char *psk_hex)
{
	wgp_add_peer(net, a, b, psk_hex);
	wgp_add_peer(net, b, a, psk_hex);
}

static struct wgp_node *node_at(struct wgp_net *net, const struct wg_endpoint *ep)
{
	for (int i = 0; i < net->n; i++) {
		const struct wg_endpoint *a = &net->nodes[i].addr;

		if (ep->sa.sa_family == AF_INET && a->in4.sin_port == ep->in4.sin_port &&
		    a->in4.sin_addr.s_addr == ep->in4.sin_addr.s_addr)
			return &net->nodes[i];
	}
	return NULL;
}

size_t wgp_deliver(struct wgp_net *net)
{
	size_t delivered = 0;

	for (int round = 0; round < 1000 && net->nqueue; round++) {
		struct wgp_dgram d = net->queue[0];
		struct wgp_node *to;

		memmove(&net->queue[0], &net->queue[1], (net->nqueue - 1) * sizeof(d));
		net->nqueue--;
		to = node_at(net, &d.dst);
		if (to) {
			wg_device_rx(to->dev, d.buf, d.len, &d.src);
			delivered++;
		}
		free(d.buf);
	}
	return delivered;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void wgp_send_ip(struct wgp_net *net, int a, int b, const void *payload, size_t len)
{
	size_t total = 28 + len;
	uint8_t *buf = calloc(1, WG_TX_HEADROOM + total + WG_TX_TAILROOM);
	uint8_t *ip = buf + WG_TX_HEADROOM;
	uint32_t sum = 0;

	assert_non_null(buf);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[15] = (uint8_t)(a + 1);
	ip[16] = 10, ip[19] = (uint8_t)(b + 1);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	uint16_t c = csum_fold(sum);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	ip[20] = 0x30, ip[21] = 0x39; /* port 12345 */
	ip[22] = 0x30, ip[23] = 0x39;
	ip[24] = (uint8_t)((8 + len) >> 8);
	ip[25] = (uint8_t)(8 + len);
	memcpy(ip + 28, payload, len);
	wg_device_tx_packet(net->nodes[a].dev, ip, total);
	free(buf);
}

size_t wgp_count_type(const struct wgp_net *net, int type)
{
	size_t n = 0;

	for (size_t i = 0; i < net->nqueue; i++)
		if (net->queue[i].len >= 4 && net->queue[i].buf[0] == type)
			n++;
	return n;
}

bool wgp_tun_has(const struct wgp_node *node, const void *payload, size_t len)
{
	for (size_t i = 0; i < node->ntun; i++)
		if (node->tun[i].len == 28 + len && !memcmp(node->tun[i].buf + 28, payload, len))
			return true;
	return false;
}

bool wgp_get_peer_value(struct wgp_net *net, int a, int b, const char *key, char *out,
			size_t outlen)
{
	char *reply = NULL, hex[65], want[80], *sec, *line, *end;
	bool found = false;

	assert_int_equal(wgp_uapi(net, a, "get=1\n\n", &reply), 0);
	wgp_key_hex(hex, net->nodes[b].pub);
	snprintf(want, sizeof(want), "public_key=%s\n", hex);
	sec = strstr(reply, want);
	if (sec) {
		end = strstr(sec + 1, "public_key=");
		for (line = sec; line && (!end || line < end); line = strchr(line, '\n')) {
			if (*line == '\n')
				line++;
			if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == '=') {
				size_t n = strcspn(line + strlen(key) + 1, "\n");

				snprintf(out, outlen, "%.*s", (int)n, line + strlen(key) + 1);
				found = true;
				break;
			}
		}
	}
	free(reply);
	return found;
}
