/*
 * fuzz_wg_rx: the incoming-datagram path of the WireGuard engine, all four
 * message types at any length. The first input byte picks how far in the
 * bytes get:
 *   0  raw datagram (demultiplexing, length checks, mac1 rejection)
 *   1  handshake-sized message with a correct mac1 for the victim (reaches the
 *      Diffie-Hellman, AEAD and timestamp checks of initiation/response)
 *   2  transport message under the victim's real session keys (reaches the
 *      replay window and the inner IP checks after a successful decryption)
 *   3  like 1 with the victim under load (cookie replies, mac2, ratelimiter)
 *   4  cookie reply addressed to a real index
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/internal.h"

static struct wg_device *victim, *other;
static struct wg_endpoint victim_addr, other_addr;

static int sink_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	/* Handshakes between the two devices are delivered so sessions exist. */
	uint8_t copy[256];

	if (len > sizeof(copy))
		return 0;
	memcpy(copy, buf, len);
	if (ctx == other && dst->in4.sin_port == victim_addr.in4.sin_port && buf[0] != WG_MSG_DATA)
		wg_device_rx(victim, copy, len, &other_addr);
	else if (ctx == victim && dst->in4.sin_port == other_addr.in4.sin_port &&
		 buf[0] != WG_MSG_DATA)
		wg_device_rx(other, copy, len, &victim_addr);
	return 0;
}

static int sink_tun(void *ctx, const uint8_t *pkt, size_t len)
{
	return 0;
}

static int sink_bind(void *ctx, uint16_t port, uint16_t *bound)
{
	*bound = port;
	return 0;
}

static const struct wg_io_ops ops = { sink_send, sink_tun, sink_bind, NULL };

static void hex(char *out, const uint8_t *k)
{
	for (int i = 0; i < 32; i++) {
		out[2 * i] = "0123456789abcdef"[k[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[k[i] & 15];
	}
	out[64] = 0;
}

static void configure(struct wg_device *dev, const uint8_t priv[32], const uint8_t peer[32],
		      int port, int peer_port, int peer_ip)
{
	char req[512], k1[65], k2[65], *reply = NULL;

	hex(k1, priv);
	hex(k2, peer);
	snprintf(req, sizeof(req),
		 "set=1\nprivate_key=%s\nlisten_port=%d\npublic_key=%s\nendpoint=192.0.2.1:%d\n"
		 "allowed_ip=10.0.0.%d/32\nallowed_ip=fd00::%d/128\n\n",
		 k1, port, k2, peer_port, peer_ip, peer_ip);
	if (wg_device_uapi(dev, req, strlen(req), &reply) || strstr(reply, "errno=0") == NULL)
		abort();
	free(reply);
}

static void setup(void)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32];
	uint8_t pkt[WG_TX_HEADROOM + 64 + WG_TX_TAILROOM] = { 0 };

	crypto_init();
	crypto_x25519_generate(a_priv, a_pub);
	crypto_x25519_generate(b_priv, b_pub);
	wg_device_new(&victim, &ops, NULL);
	wg_device_new(&other, &ops, NULL);
	victim->io_ctx = victim;
	other->io_ctx = other;
	victim_addr.in4.sin_family = other_addr.in4.sin_family = AF_INET;
	victim_addr.in4.sin_addr.s_addr = other_addr.in4.sin_addr.s_addr = htonl(0xc0000201);
	victim_addr.in4.sin_port = htons(1000);
	other_addr.in4.sin_port = htons(2000);
	configure(victim, a_priv, b_pub, 1000, 2000, 2);
	configure(other, b_priv, a_pub, 2000, 1000, 1);
	/* other initiates: a minimal IPv4 packet to 10.0.0.1 starts the handshake. */
	pkt[WG_TX_HEADROOM] = 0x45;
	pkt[WG_TX_HEADROOM + 3] = 20;
	pkt[WG_TX_HEADROOM + 16] = 10;
	pkt[WG_TX_HEADROOM + 19] = 1;
	wg_device_tx_packet(other, pkt + WG_TX_HEADROOM, 20);
}

static void feed_with_mac1(const uint8_t *data, size_t size)
{
	uint8_t buf[sizeof(struct wg_msg_initiation)];
	size_t len = size >= sizeof(struct wg_msg_initiation) ? sizeof(struct wg_msg_initiation)
							      : sizeof(struct wg_msg_response);
	size_t mac1_off = len - 2 * WG_MAC_LEN;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < len ? size : len);
	buf[0] = len == sizeof(struct wg_msg_initiation) ? WG_MSG_INITIATION : WG_MSG_RESPONSE;
	buf[1] = buf[2] = buf[3] = 0;
	crypto_blake2s(buf + mac1_off, WG_MAC_LEN, victim->cookie_checker.mac1_key, WG_HASH_LEN,
		       buf, mac1_off);
	wg_device_rx(victim, buf, len, &other_addr);
}

static void feed_data(const uint8_t *data, size_t size)
{
	static uint8_t buf[WG_TX_HEADROOM + 2048 + WG_TX_TAILROOM];
	struct wg_peer *peer = other->peers;
	struct wg_keypair *kp = peer ? peer->kp_cur : NULL;
	struct wg_msg_data *hdr = (void *)buf;
	uint64_t counter;

	if (!kp || size < 8 || size - 8 > 2048)
		return;
	/* The first 8 bytes choose the counter, so the replay window gets exercised. */
	memcpy(&counter, data, 8);
	counter %= 20000;
	hdr->header.type = htole32(WG_MSG_DATA);
	hdr->receiver_index = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	crypto_aead_encrypt(buf + 16, data + 8, size - 8, NULL, 0, counter, kp->send_key);
	wg_device_rx(victim, buf, 16 + size - 8 + WG_TAG_LEN, &other_addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536 + 64];

	if (!victim)
		setup();
	if (!size || size > 65536)
		return 0;
	switch (data[0] % 5) {
	case 0:
		memcpy(buf, data + 1, size - 1);
		wg_device_rx(victim, buf, size - 1, &other_addr);
		break;
	case 1:
		feed_with_mac1(data + 1, size - 1);
		break;
	case 2:
		feed_data(data + 1, size - 1);
		break;
	case 3:
		wg_device_force_under_load(victim, true);
		feed_with_mac1(data + 1, size - 1);
		wg_device_force_under_load(victim, false);
		break;
	case 4:
		if (size - 1 >= sizeof(struct wg_msg_cookie) && other->peers) {
			memcpy(buf, data + 1, sizeof(struct wg_msg_cookie));
			buf[0] = WG_MSG_COOKIE;
			buf[1] = buf[2] = buf[3] = 0;
			wg_device_rx(victim, buf, sizeof(struct wg_msg_cookie), &other_addr);
		}
		break;
	}
	wg_device_tick(victim);
	return 0;
}
