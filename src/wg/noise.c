/*
 * noise: the Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake and keypair
 * rotation, exactly as the WireGuard paper (section 5.4) specifies.
 *
 * Invariants: a handshake's ephemeral private key, hash and chaining key are
 * wiped as soon as a session is derived or the handshake is abandoned; state
 * only changes after a message fully authenticated (work happens on copies);
 * a keypair takes over the index of the handshake that made it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/time.h"
#include "wg/internal.h"

static uint8_t noise_initial_chain[WG_HASH_LEN]; /* HASH(CONSTRUCTION) */
static uint8_t noise_initial_hash[WG_HASH_LEN];	 /* HASH(Ci || IDENTIFIER) */

void wg_noise_init(void)
{
	struct crypto_blake2s s;

	crypto_blake2s(noise_initial_chain, WG_HASH_LEN, NULL, 0,
		       (const uint8_t *)WG_CONSTRUCTION, strlen(WG_CONSTRUCTION));
	crypto_blake2s_init(&s, WG_HASH_LEN, NULL, 0);
	crypto_blake2s_update(&s, noise_initial_chain, WG_HASH_LEN);
	crypto_blake2s_update(&s, (const uint8_t *)WG_IDENTIFIER, strlen(WG_IDENTIFIER));
	crypto_blake2s_final(&s, noise_initial_hash);
}

/* H = HASH(H || data) */
static void mix_hash(uint8_t hash[WG_HASH_LEN], const uint8_t *data, size_t len)
{
	struct crypto_blake2s s;

	crypto_blake2s_init(&s, WG_HASH_LEN, NULL, 0);
	crypto_blake2s_update(&s, hash, WG_HASH_LEN);
	crypto_blake2s_update(&s, data, len);
	crypto_blake2s_final(&s, hash);
}

/* (C, k) = KDF2(C, DH(priv, pub)); fails on a low-order result. */
static int mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
		  const uint8_t pub[WG_KEY_LEN])
{
	uint8_t dh[WG_KEY_LEN];
	int ret;

	ret = crypto_x25519(dh, priv, pub);
	if (!ret)
		crypto_kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);
	crypto_wipe(dh, sizeof(dh));
	return ret;
}

/* The static-static DH is fixed per (our key, peer key); it is precomputed. */
static void mix_precomputed(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
			    const uint8_t ss[WG_KEY_LEN])
{
	crypto_kdf(ck, key, NULL, ck, ss, WG_KEY_LEN);
}

/* The e token in psk mode: C = KDF1(C, e); H = HASH(H || e). */
static void mix_ephemeral(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
			  const uint8_t eph[WG_KEY_LEN])
{
	crypto_kdf(ck, NULL, NULL, ck, eph, WG_KEY_LEN);
	mix_hash(hash, eph, WG_KEY_LEN);
}

static void mix_psk(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
		    const uint8_t psk[WG_KEY_LEN])
{
	uint8_t tau[WG_HASH_LEN];

	crypto_kdf(ck, tau, key, ck, psk, WG_KEY_LEN);
	mix_hash(hash, tau, WG_HASH_LEN);
	crypto_wipe(tau, sizeof(tau));
}

static void encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	crypto_aead_encrypt(dst, src, len, hash, WG_HASH_LEN, 0, key);
	mix_hash(hash, dst, len + WG_TAG_LEN);
}

static int decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	if (crypto_aead_decrypt(dst, src, len, hash, WG_HASH_LEN, 0, key))
		return -EBADMSG;
	mix_hash(hash, src, len);
	return 0;
}

/* H0 = HASH(Hi || responder static public) */
static void handshake_init_hash(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
				const uint8_t responder_pub[WG_KEY_LEN])
{
	memcpy(ck, noise_initial_chain, WG_HASH_LEN);
	memcpy(hash, noise_initial_hash, WG_HASH_LEN);
	mix_hash(hash, responder_pub, WG_KEY_LEN);
}

void wg_noise_tai64n_now(uint8_t out[WG_TIMESTAMP_LEN])
{
	uint64_t sec, tai;
	uint32_t nsec;

	time_wall(&sec, &nsec);
	/* Coarsen like the kernel and wireguard-go so the timestamp leaks no fine timing. */
	nsec &= ~0xffffffU;
	tai = 0x400000000000000aULL + sec;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(tai >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void wg_noise_set_private_key(struct wg_device *dev, const uint8_t priv[WG_KEY_LEN])
{
	if (priv && !crypto_is_zero(priv, WG_KEY_LEN)) {
		memcpy(dev->static_private, priv, WG_KEY_LEN);
		crypto_x25519_public(dev->static_public, dev->static_private);
		dev->has_identity = true;
	} else {
		crypto_wipe(dev->static_private, WG_KEY_LEN);
		memset(dev->static_public, 0, WG_KEY_LEN);
		dev->has_identity = false;
	}
	wg_cookie_checker_init(dev);
	for (struct wg_peer *p = dev->peers; p; p = p->next) {
		wg_noise_precompute_static_static(p);
		wg_noise_expire_current_keypairs(p);
	}
}

void wg_noise_precompute_static_static(struct wg_peer *peer)
{
	struct wg_handshake *hs = &peer->hs;
	struct wg_device *dev = peer->dev;

	hs->static_static_valid =
		dev->has_identity && !crypto_x25519(hs->precomputed_static_static,
						    dev->static_private, peer->public_key);
	if (!hs->static_static_valid)
		crypto_wipe(hs->precomputed_static_static, WG_KEY_LEN);
}

void wg_noise_handshake_clear(struct wg_peer *peer)
{
	struct wg_handshake *hs = &peer->hs;

	wg_index_remove(peer->dev, &hs->entry);
	crypto_wipe(hs->ephemeral_private, WG_KEY_LEN);
	crypto_wipe(hs->remote_ephemeral, WG_KEY_LEN);
	crypto_wipe(hs->hash, WG_HASH_LEN);
	crypto_wipe(hs->chaining_key, WG_HASH_LEN);
	hs->remote_index = 0;
	hs->state = WG_HS_ZEROED;
}

int wg_noise_create_initiation(struct wg_peer *peer, struct wg_msg_initiation *msg)
{
	struct wg_handshake *hs = &peer->hs;
	struct wg_device *dev = peer->dev;
	uint8_t timestamp[WG_TIMESTAMP_LEN];
	uint8_t key[WG_KEY_LEN];
	int ret = -EINVAL;

	if (!dev->has_identity || !hs->static_static_valid)
		return -ENOKEY;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = htole32(WG_MSG_INITIATION);
	handshake_init_hash(hs->chaining_key, hs->hash, peer->public_key);

	crypto_x25519_generate(hs->ephemeral_private, msg->unencrypted_ephemeral);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->unencrypted_ephemeral);
	/* es */
	if (mix_dh(hs->chaining_key, key, hs->ephemeral_private, peer->public_key))
		goto out;
	/* s */
	encrypt_and_hash(msg->encrypted_static, dev->static_public, WG_KEY_LEN, key, hs->hash);
	/* ss */
	mix_precomputed(hs->chaining_key, key, hs->precomputed_static_static);
	/* {t} */
	wg_noise_tai64n_now(timestamp);
	encrypt_and_hash(msg->encrypted_timestamp, timestamp, WG_TIMESTAMP_LEN, key, hs->hash);

	wg_index_remove(dev, &hs->entry);
	ret = wg_index_insert(dev, &hs->entry, WG_INDEX_HANDSHAKE, peer);
	if (ret)
		goto out;
	msg->sender_index = htole32(hs->entry.index);
	hs->state = WG_HS_CREATED_INITIATION;
out:
	crypto_wipe(key, sizeof(key));
	if (ret)
		wg_noise_handshake_clear(peer);
	return ret;
}

/* Responder side of message 1. Returns the authenticated peer or NULL. */
struct wg_peer *wg_noise_consume_initiation(struct wg_device *dev,
					    const struct wg_msg_initiation *msg)
{
	uint8_t ck[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_KEY_LEN];
	uint8_t s[WG_KEY_LEN], t[WG_TIMESTAMP_LEN];
	struct wg_peer *peer = NULL, *ret = NULL;
	struct wg_handshake *hs;
	uint64_t now = time_mono_ns();
	bool replay, flood;

	if (!dev->has_identity)
		return NULL;
	handshake_init_hash(ck, hash, dev->static_public);
	/* e */
	mix_ephemeral(ck, hash, msg->unencrypted_ephemeral);
	/* es */
	if (mix_dh(ck, key, dev->static_private, msg->unencrypted_ephemeral))
		goto out;
	/* s */
	if (decrypt_and_hash(s, msg->encrypted_static, sizeof(msg->encrypted_static), key, hash))
		goto out;
	peer = wg_peer_lookup(dev, s);
	if (!peer || !peer->hs.static_static_valid)
		goto out;
	hs = &peer->hs;
	/* ss */
	mix_precomputed(ck, key, hs->precomputed_static_static);
	/* {t} */
	if (decrypt_and_hash(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), key,
			     hash))
		goto out;

	/* TAI64N is big-endian, so byte order is time order. */
	replay = memcmp(t, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0;
	flood = hs->last_initiation_consumption &&
		now - hs->last_initiation_consumption < TIME_NS_PER_SEC / WG_INITIATIONS_PER_SECOND;
	if (replay || flood)
		goto out;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, WG_KEY_LEN);
	memcpy(hs->latest_timestamp, t, WG_TIMESTAMP_LEN);
	memcpy(hs->hash, hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->remote_index = le32toh(msg->sender_index);
	hs->last_initiation_consumption = now;
	hs->state = WG_HS_CONSUMED_INITIATION;
	ret = peer;
out:
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(t, sizeof(t));
	return ret;
}

int wg_noise_create_response(struct wg_peer *peer, struct wg_msg_response *msg)
{
	struct wg_handshake *hs = &peer->hs;
	uint8_t key[WG_KEY_LEN];
	int ret = -EINVAL;

	if (hs->state != WG_HS_CONSUMED_INITIATION)
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = htole32(WG_MSG_RESPONSE);
	msg->receiver_index = htole32(hs->remote_index);

	/* e */
	crypto_x25519_generate(hs->ephemeral_private, msg->unencrypted_ephemeral);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->unencrypted_ephemeral);
	/* ee */
	if (mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, peer->public_key))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, peer->preshared_key);
	/* {} */
	encrypt_and_hash(msg->encrypted_nothing, key /* unused: empty */, 0, key, hs->hash);

	wg_index_remove(peer->dev, &hs->entry);
	ret = wg_index_insert(peer->dev, &hs->entry, WG_INDEX_HANDSHAKE, peer);
	if (ret)
		goto out;
	msg->sender_index = htole32(hs->entry.index);
	hs->state = WG_HS_CREATED_RESPONSE;
out:
	crypto_wipe(key, sizeof(key));
	if (ret)
		wg_noise_handshake_clear(peer);
	return ret;
}

/* Initiator side of message 2. Returns the authenticated peer or NULL. */
struct wg_peer *wg_noise_consume_response(struct wg_device *dev, const struct wg_msg_response *msg)
{
	uint8_t ck[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_KEY_LEN], nothing[1];
	struct wg_index_entry *e;
	struct wg_handshake *hs;
	struct wg_peer *peer, *ret = NULL;

	if (!dev->has_identity)
		return NULL;
	e = wg_index_lookup(dev, le32toh(msg->receiver_index));
	if (!e || e->type != WG_INDEX_HANDSHAKE)
		return NULL;
	peer = e->peer;
	hs = &peer->hs;
	if (hs->state != WG_HS_CREATED_INITIATION)
		return NULL;

	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(hash, hs->hash, WG_HASH_LEN);
	/* e */
	mix_ephemeral(ck, hash, msg->unencrypted_ephemeral);
	/* ee */
	if (mix_dh(ck, NULL, hs->ephemeral_private, msg->unencrypted_ephemeral))
		goto out;
	/* se */
	if (mix_dh(ck, NULL, dev->static_private, msg->unencrypted_ephemeral))
		goto out;
	/* psk */
	mix_psk(ck, hash, key, peer->preshared_key);
	/* {} */
	if (decrypt_and_hash(nothing, msg->encrypted_nothing, WG_TAG_LEN, key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, WG_KEY_LEN);
	memcpy(hs->hash, hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->remote_index = le32toh(msg->sender_index);
	hs->state = WG_HS_CONSUMED_RESPONSE;
	ret = peer;
out:
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(key, sizeof(key));
	return ret;
}

static void keypair_free(struct wg_device *dev, struct wg_keypair *kp)
{
	if (!kp)
		return;
	wg_index_remove(dev, &kp->entry);
	crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

/* Rotation rules from the paper: an initiator may send at once with its new
 * keypair; a responder keeps it as "next" until the initiator's first data
 * message confirms it (wg_noise_received_with_keypair). */
static void keypairs_add(struct wg_peer *peer, struct wg_keypair *kp)
{
	struct wg_device *dev = peer->dev;

	if (kp->initiator) {
		if (peer->kp_next) {
			keypair_free(dev, peer->kp_prev);
			peer->kp_prev = peer->kp_next;
			peer->kp_next = NULL;
			keypair_free(dev, peer->kp_cur);
		} else {
			keypair_free(dev, peer->kp_prev);
			peer->kp_prev = peer->kp_cur;
		}
		peer->kp_cur = kp;
	} else {
		keypair_free(dev, peer->kp_next);
		peer->kp_next = kp;
		keypair_free(dev, peer->kp_prev);
		peer->kp_prev = NULL;
	}
}

int wg_noise_begin_session(struct wg_peer *peer)
{
	struct wg_handshake *hs = &peer->hs;
	struct wg_keypair *kp;
	bool initiator;

	if (hs->state != WG_HS_CONSUMED_RESPONSE && hs->state != WG_HS_CREATED_RESPONSE)
		return -EINVAL;
	initiator = hs->state == WG_HS_CONSUMED_RESPONSE;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return -ENOMEM;
	/* (T_i->r, T_r->i) = KDF2(C, empty) */
	if (initiator)
		crypto_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
	else
		crypto_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
	wg_replay_init(&kp->replay);
	kp->remote_index = hs->remote_index;
	kp->birth = time_mono_ns();
	kp->initiator = initiator;
	kp->send_valid = kp->recv_valid = true;
	wg_index_replace(peer->dev, &hs->entry, &kp->entry, WG_INDEX_KEYPAIR);
	wg_noise_handshake_clear(peer);
	keypairs_add(peer, kp);
	return 0;
}

bool wg_noise_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	if (kp != peer->kp_next)
		return false;
	keypair_free(peer->dev, peer->kp_prev);
	peer->kp_prev = peer->kp_cur;
	peer->kp_cur = peer->kp_next;
	peer->kp_next = NULL;
	return true;
}

void wg_noise_keypairs_clear(struct wg_peer *peer)
{
	keypair_free(peer->dev, peer->kp_prev);
	keypair_free(peer->dev, peer->kp_cur);
	keypair_free(peer->dev, peer->kp_next);
	peer->kp_prev = peer->kp_cur = peer->kp_next = NULL;
}

void wg_noise_expire_current_keypairs(struct wg_peer *peer)
{
	wg_noise_handshake_clear(peer);
	if (peer->kp_next)
		peer->kp_next->send_valid = false;
	if (peer->kp_cur)
		peer->kp_cur->send_valid = false;
}
