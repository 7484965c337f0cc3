/*
 * relay_cookie: return-routability cookies (docs/RELAY.md). A cookie is a
 * keyed BLAKE2s of a UDP source address (family, port, address) under a
 * random secret that is replaced every RELAY_COOKIE_ROTATE_S; the current and
 * the previous secret are accepted, so a cookie lives one to two rotation
 * periods. Only a host that receives datagrams at an address learns its
 * cookie, so a BIND carrying one did not come from a forged source. Nothing
 * is stored per address. Single-threaded (relay_core's).
 */
#ifndef LR_RELAY_COOKIE_H
#define LR_RELAY_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "nat/relay_proto.h"
#include "wg/wg.h"

#define RELAY_COOKIE_ROTATE_S 120

struct relay_cookie {
	uint8_t secret[2][32]; /* [cur], [!cur] the previous one */
	unsigned cur;
	uint64_t rotated_ns;
};

/* A new secret (the previous one is random too: nothing older validates). */
void relay_cookie_init(struct relay_cookie *k, uint64_t now_ns);
/* Wipes the secrets. */
void relay_cookie_free(struct relay_cookie *k);
/* Rotates when RELAY_COOKIE_ROTATE_S passed since the last rotation. */
void relay_cookie_tick(struct relay_cookie *k, uint64_t now_ns);
/* The cookie for addr under the current secret. */
void relay_cookie_make(const struct relay_cookie *k, const struct wg_endpoint *addr,
		       uint8_t out[RELAY_COOKIE_LEN]);
/* True when cookie is addr's under the current or the previous secret
 * (constant-time compares). */
bool relay_cookie_check(const struct relay_cookie *k, const struct wg_endpoint *addr,
			const uint8_t cookie[RELAY_COOKIE_LEN]);

#endif
