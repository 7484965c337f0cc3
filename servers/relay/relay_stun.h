/*
 * relay_stun: the STUN server inside lanrage-relay (src/nat/stun_server.c
 * answers; this owns the sockets). One address: one socket answering plain
 * Binding requests. Two addresses of one family and port: four sockets (both
 * addresses x the port and the alternate port) for RFC 5780. Every request
 * passes relay_core_stun_allow first (per-source and relay-wide limits: an
 * answer is larger than its request, so an unlimited server amplifies).
 */
#ifndef LR_RELAY_STUN_H
#define LR_RELAY_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "nat/stun_server.h"
#include "relay_core.h"

struct relay_stun {
	struct stun_server_topo topo;
	int fd[2][2]; /* -1 where no socket */
	unsigned long requests, answers, errors;
};

/* Opens the sockets and adds them to epfd with data.u32 = tag | ip << 1 | port.
 * n is 1 or 2; alt_port 0 means port + 1. 0 or -1 (message printed). */
int relay_stun_open(struct relay_stun *s, const struct wg_endpoint *addrs, size_t n,
		    uint64_t alt_port, int epfd, uint32_t tag);
/* Answers one datagram waiting on socket (ip, port), if core allows it. */
void relay_stun_serve(struct relay_stun *s, unsigned ip, unsigned port, struct relay_core *core);
void relay_stun_close(struct relay_stun *s);

#endif
