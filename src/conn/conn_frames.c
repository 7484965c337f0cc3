/*
 * conn_frames: the datagrams conn puts on the wire itself. Probe frames
 * (docs/PROBES.md) go on the WireGuard socket and authenticate the pair with a
 * BLAKE2s MAC keyed by both ends' static X25519 keys; echo frames travel
 * inside the tunnel; the relay shim turns WireGuard datagrams into relay SEND
 * frames and DELIVER frames back into datagrams with the relay_proto codec.
 * Everything here checks lengths before reading and keeps no state.
 */
#include <errno.h>
#include <string.h>

#include "conn/conn_internal.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "util/bytes.h"

static const char probe_label[] = "lanrage-probe-v1";

int probe_pair_key(uint8_t key[PROBE_KEY_LEN], const uint8_t own_priv[32],
		   const uint8_t peer_pub[32])
{
	uint8_t shared[32];
	int ret = crypto_x25519(shared, own_priv, peer_pub);

	if (ret)
		goto out;
	ret = crypto_blake2s(key, PROBE_KEY_LEN, shared, sizeof(shared),
			     (const uint8_t *)probe_label, sizeof(probe_label) - 1);
out:
	crypto_wipe(shared, sizeof(shared));
	return ret;
}

bool probe_is_frame(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == PROBE_MAGIC0 && buf[1] == PROBE_MAGIC1;
}

/* MAC = BLAKE2s-128(key, sender_pub || header || session || seq) */
static void probe_mac(uint8_t mac[PROBE_MAC_LEN], const uint8_t *signed_part,
		      const uint8_t key[PROBE_KEY_LEN], const uint8_t sender_pub[32])
{
	struct crypto_blake2s s;

	crypto_blake2s_init(&s, PROBE_MAC_LEN, key, PROBE_KEY_LEN);
	crypto_blake2s_update(&s, sender_pub, 32);
	crypto_blake2s_update(&s, signed_part, PROBE_SIGNED_LEN);
	crypto_blake2s_final(&s, mac);
}

int probe_build(uint8_t *out, size_t cap, const struct probe_frame *f,
		const uint8_t key[PROBE_KEY_LEN], const uint8_t sender_pub[32])
{
	if (f->type != PROBE_PROBE && f->type != PROBE_ACK)
		return -EINVAL;
	if (cap < PROBE_LEN)
		return -ENOSPC;
	out[0] = PROBE_MAGIC0;
	out[1] = PROBE_MAGIC1;
	out[2] = PROBE_VERSION;
	out[3] = (uint8_t)f->type;
	memcpy(out + 4, f->session, PROBE_SESSION_LEN);
	bytes_put_be32(out + 4 + PROBE_SESSION_LEN, f->seq);
	probe_mac(out + PROBE_SIGNED_LEN, out, key, sender_pub);
	return PROBE_LEN;
}

int probe_parse(const uint8_t *buf, size_t len, const uint8_t key[PROBE_KEY_LEN],
		const uint8_t sender_pub[32], struct probe_frame *f)
{
	uint8_t mac[PROBE_MAC_LEN];

	memset(f, 0, sizeof(*f));
	if (len != PROBE_LEN || !probe_is_frame(buf, len) || buf[2] != PROBE_VERSION ||
	    (buf[3] != PROBE_PROBE && buf[3] != PROBE_ACK))
		return -EINVAL;
	probe_mac(mac, buf, key, sender_pub);
	if (!crypto_equal(mac, buf + PROBE_SIGNED_LEN, PROBE_MAC_LEN))
		return -EBADMSG;
	f->type = buf[3];
	memcpy(f->session, buf + 4, PROBE_SESSION_LEN);
	f->seq = bytes_get_be32(buf + 4 + PROBE_SESSION_LEN);
	return 0;
}

int echo_build(uint8_t out[ECHO_LEN], int type, uint32_t seq, uint64_t stamp)
{
	if (type != ECHO_REQUEST && type != ECHO_REPLY)
		return -EINVAL;
	out[0] = ECHO_MAGIC0;
	out[1] = ECHO_MAGIC1;
	out[2] = 1;
	out[3] = (uint8_t)type;
	bytes_put_be32(out + 4, seq);
	bytes_put_be64(out + 8, stamp);
	return ECHO_LEN;
}

int echo_parse(const uint8_t *buf, size_t len, int *type, uint32_t *seq, uint64_t *stamp)
{
	if (len != ECHO_LEN || buf[0] != ECHO_MAGIC0 || buf[1] != ECHO_MAGIC1 || buf[2] != 1 ||
	    (buf[3] != ECHO_REQUEST && buf[3] != ECHO_REPLY))
		return -EINVAL;
	*type = buf[3];
	*seq = bytes_get_be32(buf + 4);
	*stamp = bytes_get_be64(buf + 8);
	return 0;
}

int shim_wrap(uint8_t *out, size_t cap, const uint8_t dst_pub[32], const uint8_t *dgram,
	      size_t len)
{
	return relay_build_keyed(out, cap, RELAY_SEND, dst_pub, dgram, len);
}

int shim_unwrap(const uint8_t *buf, size_t len, const uint8_t **src_pub, const uint8_t **dgram,
		size_t *dgram_len)
{
	struct relay_frame f;

	if (relay_parse(buf, len, &f) || f.type != RELAY_DELIVER)
		return -EINVAL;
	*src_pub = f.key;
	*dgram = f.payload;
	*dgram_len = f.payload_len;
	return 0;
}
