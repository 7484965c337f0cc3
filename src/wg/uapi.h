/*
 * uapi: the cross-platform userspace configuration protocol
 * (wireguard.com/xplatform), text "key=value" lines ending in a blank line.
 *
 * A set request is parsed whole into a struct wg_uapi_config before anything
 * changes; only a request that parsed and validated is applied, so bad input
 * changes nothing. Private to the wg layer (the fuzz target uses it too).
 */
#ifndef LR_WG_UAPI_H
#define LR_WG_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

struct wg_uapi_aip {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	bool remove; /* "allowed_ip=-prefix" */
};

struct wg_uapi_peer {
	uint8_t public_key[32];
	bool remove, update_only, replace_allowed_ips;
	bool has_psk, has_endpoint, has_keepalive;
	uint8_t psk[32];
	struct wg_endpoint endpoint;
	uint16_t keepalive;
	struct wg_uapi_aip *aips;
	size_t naips, aips_cap;
};

struct wg_uapi_config {
	bool has_private_key, has_listen_port, has_fwmark, replace_peers;
	uint8_t private_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_uapi_peer *peers;
	size_t npeers, peers_cap;
};

/* Largest request the server buffers (a syncconf of thousands of peers fits). */
#define WG_UAPI_MAX_REQUEST (16u << 20)

/* Parses the body of a set request (the lines after "set=1", without the final
 * blank line). Returns 0, -EINVAL (bad key or value), -EPROTO (a line without
 * '=') or -ENOMEM; on error cfg holds nothing. */
int wg_uapi_parse_set(const char *body, size_t len, struct wg_uapi_config *cfg);
/* Wipes keys and frees. */
void wg_uapi_config_free(struct wg_uapi_config *cfg);
/* Applies a parsed config. Returns 0 or a negative errno (-EADDRINUSE when the
 * port cannot be bound: then nothing changed). */
int wg_uapi_apply(struct wg_device *dev, const struct wg_uapi_config *cfg);
/* The get reply body without the trailing errno line; NULL on ENOMEM. */
char *wg_uapi_get(struct wg_device *dev);

#endif
