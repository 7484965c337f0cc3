/*
 * internal: the wg layer's private structures, shared by its files and by
 * nobody else. One thread (the device's driver) touches all of this; no locks.
 *
 * Ownership: the device owns its peers (list), the index table and the
 * allowed-IPs trie; a peer owns its handshake, up to three keypairs and its
 * staged packets. Index-table entries are embedded in the handshake and the
 * keypairs, so removing those removes their entries first.
 */
#ifndef LR_WG_INTERNAL_H
#define LR_WG_INTERNAL_H

#include "wg/allowedips.h"
#include "wg/messages.h"
#include "wg/ratelimiter.h"
#include "wg/replay.h"
#include "wg/wg.h"

enum { WG_INDEX_BUCKETS = 4096, WG_JITTER_POOL = 64 };

enum wg_index_type { WG_INDEX_HANDSHAKE = 1, WG_INDEX_KEYPAIR = 2 };

struct wg_peer;

struct wg_index_entry {
	struct wg_index_entry *next;
	uint32_t index; /* 0 when not in the table */
	enum wg_index_type type;
	struct wg_peer *peer;
};

struct wg_index_table {
	struct wg_index_entry *buckets[WG_INDEX_BUCKETS];
};

enum wg_handshake_state {
	WG_HS_ZEROED,
	WG_HS_CREATED_INITIATION,
	WG_HS_CONSUMED_INITIATION,
	WG_HS_CREATED_RESPONSE,
	WG_HS_CONSUMED_RESPONSE,
};

struct wg_handshake {
	struct wg_index_entry entry;
	enum wg_handshake_state state;
	uint8_t ephemeral_private[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t precomputed_static_static[WG_KEY_LEN];
	bool static_static_valid;
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
	uint32_t remote_index;
	uint64_t last_initiation_consumption; /* mono ns, 0 = never */
};

struct wg_keypair {
	struct wg_index_entry entry;
	uint8_t send_key[WG_KEY_LEN];
	uint8_t recv_key[WG_KEY_LEN];
	uint64_t send_counter;
	struct wg_replay replay;
	uint32_t remote_index;
	uint64_t birth; /* mono ns */
	bool initiator;
	bool send_valid;
	bool recv_valid;
};

struct wg_peer_cookie {
	uint8_t mac1_key[WG_HASH_LEN];
	uint8_t decryption_key[WG_HASH_LEN];
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t birth; /* mono ns, 0 = no cookie */
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

struct wg_staged {
	uint8_t *buf[WG_MAX_STAGED_PACKETS]; /* each WG_TX_HEADROOM + len + WG_TX_TAILROOM */
	uint16_t len[WG_MAX_STAGED_PACKETS];
	unsigned head, count;
};

/* Timer deadlines in mono ns; 0 = not armed. */
struct wg_peer_timers {
	uint64_t retransmit_handshake;
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	unsigned handshake_attempts;
};

struct wg_peer {
	struct wg_peer *next; /* device list, in creation order */
	struct wg_device *dev;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	struct wg_handshake hs;
	struct wg_keypair *kp_prev, *kp_cur, *kp_next;
	struct wg_endpoint endpoint;
	bool has_endpoint;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	struct wg_peer_cookie cookie;
	struct wg_peer_timers timers;
	uint64_t last_sent_handshake; /* mono ns, 0 = never */
	uint64_t last_handshake_sec;  /* wall clock of the last completed handshake */
	uint32_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes; /* every datagram of the peer, as wireguard-go */
	uint64_t rx_packets, tx_packets; /* IP packets carried (no keepalives) */
	uint64_t handshakes; /* completed: each session confirmed, either side */
	struct wg_staged staged;
};

struct wg_cookie_checker {
	uint8_t mac1_key[WG_HASH_LEN];
	uint8_t encryption_key[WG_HASH_LEN];
	uint8_t secret[WG_HASH_LEN];
	uint64_t secret_birth; /* mono ns, 0 = none yet */
};

struct wg_device {
	uint8_t static_private[WG_KEY_LEN];
	uint8_t static_public[WG_KEY_LEN];
	bool has_identity;
	struct wg_cookie_checker cookie_checker;
	struct wg_peer *peers, *peers_tail;
	size_t npeers;
	struct wg_allowedips aip;
	struct wg_index_table index;
	struct wg_ratelimiter ratelimiter;
	uint16_t listen_port;
	uint32_t fwmark;
	unsigned mtu;
	const struct wg_io_ops *io;
	void *io_ctx;
	/* Set by the loop (NULL elsewhere): queue one transport-data datagram that
	 * lies in the buffer the driver passed to wg_device_tx_packet; the driver
	 * sends it, batched, before it reuses that buffer and before anything it
	 * sends with io->udp_send. Returns 0 or a negative errno. */
	int (*udp_queue)(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len);
	wg_rx_hook rx_hook;
	void *rx_hook_ctx;
	/* Load estimate: handshake messages seen in the current one-second window. */
	uint64_t load_window_start;
	unsigned load_window_count;
	uint64_t under_load_until;
	bool force_under_load;
	uint64_t next_deadline; /* earliest armed timer, UINT64_MAX if none */
	uint32_t jitter_pool[WG_JITTER_POOL]; /* random words for timer jitter (timers.c) */
	unsigned jitter_left;
	uint8_t *scratch;	/* WG_TX_HEADROOM + WG_TX_TAILROOM: keepalives */
};

/* Handshake messages per second past which the device counts as under load. */
#define WG_UNDER_LOAD_HANDSHAKES_PER_SEC 256

/* index.c-like helpers (device.c) */
int wg_index_insert(struct wg_device *dev, struct wg_index_entry *e, enum wg_index_type type,
		    struct wg_peer *peer);
void wg_index_remove(struct wg_device *dev, struct wg_index_entry *e);
/* Moves old's index value to e (a keypair taking over its handshake's index). */
void wg_index_replace(struct wg_device *dev, struct wg_index_entry *old, struct wg_index_entry *e,
		      enum wg_index_type type);
struct wg_index_entry *wg_index_lookup(struct wg_device *dev, uint32_t index);
bool wg_device_under_load(struct wg_device *dev, uint64_t now);
void wg_device_note_deadline(struct wg_device *dev, uint64_t deadline);

/* peer.c */
struct wg_peer *wg_peer_lookup(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN]);
int wg_peer_create(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN], struct wg_peer **out);
void wg_peer_remove(struct wg_peer *peer);
void wg_peer_remove_all(struct wg_device *dev);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep);
void wg_peer_staged_purge(struct wg_peer *peer);
int wg_peer_send_datagram(struct wg_peer *peer, const uint8_t *buf, size_t len);

/* noise.c */
void wg_noise_init(void);
void wg_noise_set_private_key(struct wg_device *dev, const uint8_t priv[WG_KEY_LEN]);
void wg_noise_precompute_static_static(struct wg_peer *peer);
int wg_noise_create_initiation(struct wg_peer *peer, struct wg_msg_initiation *msg);
struct wg_peer *wg_noise_consume_initiation(struct wg_device *dev,
					    const struct wg_msg_initiation *msg);
int wg_noise_create_response(struct wg_peer *peer, struct wg_msg_response *msg);
struct wg_peer *wg_noise_consume_response(struct wg_device *dev,
					  const struct wg_msg_response *msg);
int wg_noise_begin_session(struct wg_peer *peer);
/* True when keypair was next and is now current (key confirmation). */
bool wg_noise_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp);
void wg_noise_handshake_clear(struct wg_peer *peer);
void wg_noise_keypairs_clear(struct wg_peer *peer);
void wg_noise_expire_current_keypairs(struct wg_peer *peer);
void wg_noise_tai64n_now(uint8_t out[WG_TIMESTAMP_LEN]);

/* cookie.c */
void wg_cookie_checker_init(struct wg_device *dev);
void wg_cookie_peer_init(struct wg_peer *peer);
enum wg_cookie_result { WG_COOKIE_INVALID, WG_COOKIE_VALID_NO_COOKIE, WG_COOKIE_VALID_WITH_COOKIE };
enum wg_cookie_result wg_cookie_validate(struct wg_device *dev, const uint8_t *msg, size_t len,
					 const struct wg_endpoint *src, bool check_cookie);
void wg_cookie_add_macs(struct wg_peer *peer, uint8_t *msg, size_t len);
void wg_cookie_create_reply(struct wg_device *dev, struct wg_msg_cookie *reply,
			    const uint8_t *msg, size_t len, uint32_t receiver_index,
			    const struct wg_endpoint *src);
void wg_cookie_consume_reply(struct wg_device *dev, const struct wg_msg_cookie *reply);

/* timers.c */
void wg_timers_data_sent(struct wg_peer *peer);
void wg_timers_data_received(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_received(struct wg_peer *peer);
void wg_timers_handshake_initiated(struct wg_peer *peer);
void wg_timers_handshake_complete(struct wg_peer *peer);
void wg_timers_session_derived(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer);
void wg_timers_stop(struct wg_peer *peer);
/* Fires due timers of peer; returns its next deadline (UINT64_MAX if none). */
uint64_t wg_timers_run(struct wg_peer *peer, uint64_t now);

/* send.c */
void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry);
void wg_send_handshake_response(struct wg_peer *peer);
void wg_send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len,
			  uint32_t sender_index, const struct wg_endpoint *src);
void wg_send_keepalive(struct wg_peer *peer);
void wg_send_staged(struct wg_peer *peer);
/* queue: pkt is the driver's buffer and may be sent batched (wg_io_ops.udp_queue). */
void wg_send_packet(struct wg_peer *peer, uint8_t *pkt, size_t len, bool queue);

/* receive.c */
void wg_receive(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *src);

#endif
