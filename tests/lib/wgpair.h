/*
 * wgpair: real wg_device engines wired together in memory, for unit tests.
 * Each node has a fake UDP address 192.0.2.(i+1):(51820+i) and tunnel address
 * 10.0.0.(i+1); datagrams a node sends wait in the network's queue until the
 * test delivers them (so tests can drop, duplicate, reorder or inspect them).
 */
#ifndef LR_TESTS_WGPAIR_H
#define LR_TESTS_WGPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

enum { WGP_MAX_NODES = 4, WGP_MAX_QUEUE = 1024, WGP_MAX_TUN = 1024 };

struct wgp_dgram {
	int from;
	struct wg_endpoint src, dst;
	uint8_t *buf;
	size_t len;
};

struct wgp_tun_pkt {
	uint8_t *buf;
	size_t len;
};

struct wgp_node {
	struct wgp_net *net;
	int id;
	struct wg_device *dev;
	struct wg_endpoint addr;
	uint8_t priv[32], pub[32];
	struct wgp_tun_pkt tun[WGP_MAX_TUN];
	size_t ntun;
	size_t hook_calls;
};

struct wgp_net {
	struct wgp_node nodes[WGP_MAX_NODES];
	int n;
	struct wgp_dgram queue[WGP_MAX_QUEUE];
	size_t nqueue;
};

/* Creates n devices with fresh keys and their private key + listen port set. */
void wgp_init(struct wgp_net *net, int n);
void wgp_free(struct wgp_net *net);
/* Makes b a peer of a (one direction): b's key, endpoint, allowed IP 10.0.0.(b+1)/32,
 * optional hex preshared key (NULL = none). Asserts the UAPI accepted it. */
void wgp_add_peer(struct wgp_net *net, int a, int b, const char *psk_hex);
/* Both directions. */
void wgp_link(struct wgp_net *net, int a, int b, const char *psk_hex);
/* Runs a UAPI request on node a; returns the errno in the reply (0 on success).
 * If out is non-NULL it gets the malloc'd reply. */
int wgp_uapi(struct wgp_net *net, int a, const char *req, char **out);
/* Delivers queued datagrams (and whatever they cause) until the queue is empty or
 * max rounds passed. Returns how many were delivered. */
size_t wgp_deliver(struct wgp_net *net);
/* Node a's peer entry for node b (NULL if b is not a peer of a). */
struct wg_peer *wgp_peer(struct wgp_net *net, int a, int b);
/* A 32-byte key as the UAPI writes it: 64 lowercase hex digits. */
void wgp_key_hex(char out[65], const uint8_t key[32]);
/* Decodes a hex string into out (strlen(hex) / 2 bytes); asserts it is valid hex. */
void wgp_hex_decode(uint8_t *out, const char *hex);
/* Drops every queued datagram; returns how many. */
size_t wgp_drop(struct wgp_net *net);
/* Sends an IPv4 UDP packet with payload from node a's tunnel address to node b's. */
void wgp_send_ip(struct wgp_net *net, int a, int b, const void *payload, size_t len);
/* Number of queued datagrams of a given WireGuard type (1..4). */
size_t wgp_count_type(const struct wgp_net *net, int type);
/* True if node b received on TUN an IPv4 packet with exactly this payload. */
bool wgp_tun_has(const struct wgp_node *node, const void *payload, size_t len);
void wgp_tun_clear(struct wgp_node *node);
/* The UAPI get value for key within node a's section for peer b (first match). */
bool wgp_get_peer_value(struct wgp_net *net, int a, int b, const char *key, char *out,
			size_t outlen);

#endif
