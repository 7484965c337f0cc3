/*
 * uapi_server: the UNIX stream socket (/var/run/wireguard/IFACE.sock) that
 * wg and wg-quick talk to. Requests are split strictly at the first blank
 * line; any bytes after it stay buffered for the next request on the same
 * connection. Private to the wg layer; driven by the loop.
 */
#ifndef LR_WG_UAPI_SERVER_H
#define LR_WG_UAPI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "wg/wg.h"

enum { WG_UAPI_MAX_CLIENTS = 64 };

struct wg_uapi_client {
	int fd; /* -1 = free slot */
	char *buf;
	size_t len, cap;
};

struct wg_uapi_server {
	int listen_fd;
	char path[108];
	struct wg_uapi_client clients[WG_UAPI_MAX_CLIENTS];
};

/* Creates the directory (0755) and the socket (0700), replacing a stale one. */
int wg_uapi_server_open(struct wg_uapi_server *s, const char *path);
void wg_uapi_server_close(struct wg_uapi_server *s);
/* Accepts one connection; returns its fd (caller adds it to epoll) or negative. */
int wg_uapi_server_accept(struct wg_uapi_server *s);
/* Reads from client fd and answers every complete request. Returns false when
 * the connection is finished (closed by the peer or by us); it is then freed. */
bool wg_uapi_server_serve(struct wg_uapi_server *s, int fd, struct wg_device *dev);
/* False once the socket file was removed or replaced (the daemon then exits). */
bool wg_uapi_server_alive(const struct wg_uapi_server *s);

#endif
