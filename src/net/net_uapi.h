/*
 * net_uapi: the UAPI text the userspace backend exchanges with its device
 * (the cross-platform protocol `wg` speaks): building set requests from
 * structured peers, and parsing get replies into struct net_status. Private
 * to net/; unit tests include it.
 *
 * Requests and replies may carry the private key: callers wipe them
 * (crypto_wipe over strlen) before freeing.
 */
#ifndef LR_NET_UAPI_H
#define LR_NET_UAPI_H

#include <stdint.h>

#include "net/net.h"

/* "set=1" requests, malloc'd, ending with the blank line. */
int net_uapi_device_request(const uint8_t private_key[NET_KEY_LEN], uint16_t listen_port,
			    char **req);
int net_uapi_peer_request(const struct net_peer_config *peer, char **req);
int net_uapi_remove_request(const uint8_t public_key[NET_KEY_LEN], char **req);

/* The errno= line of a reply: 0, or a negative errno (-EPROTO when missing). */
int net_uapi_reply_errno(const char *reply);

/* Parses a whole get reply into *st (ifname and backend untouched). Unknown
 * keys are skipped, malformed values refused (-EPROTO); a nonzero errno
 * comes back as its negative. On error *st holds nothing to free. */
int net_uapi_parse_status(const char *reply, struct net_status *st);

#endif
