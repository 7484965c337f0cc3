/*
 * stun_server: answers STUN Binding requests (RFC 8489) and, when the server
 * has two addresses and two ports, the RFC 5780 behaviour-discovery requests
 * (CHANGE-REQUEST answered from the other address and/or port, with
 * RESPONSE-ORIGIN and OTHER-ADDRESS).
 *
 * The logic is a pure function from one request to one response, so it is
 * unit-tested and fuzzed without sockets; the program owning the sockets
 * (lanrage-relay) sends the answer from the socket it names.
 */
#ifndef LR_NAT_STUN_SERVER_H
#define LR_NAT_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

/* The sockets a server listens on: sock[ip][port]. With only one address (or a
 * wildcard bind), only sock[0][0] exists and CHANGE-REQUEST is refused. */
struct stun_server_topo {
	struct wg_endpoint sock[2][2];
	bool rfc5780; /* all four sockets exist */
	bool wildcard; /* sock[0][0] is a wildcard bind: no RESPONSE-ORIGIN */
	const char *software; /* SOFTWARE attribute, or NULL */
};

struct stun_server_reply {
	unsigned ip, port; /* which socket the answer leaves from */
	size_t len; /* 0: stay silent (not a request we answer) */
};

/* Handles one datagram that arrived on sock[in_ip][in_port] from src. The
 * answer is written to out (cap >= STUN_MAX_MSG). Returns 0 (reply->len may
 * be 0 for silence) or a negative errno if the answer could not be built. */
int stun_server_answer(const struct stun_server_topo *t, unsigned in_ip, unsigned in_port,
		       const uint8_t *req, size_t len, const struct wg_endpoint *src, uint8_t *out,
		       size_t cap, struct stun_server_reply *reply);

#endif
