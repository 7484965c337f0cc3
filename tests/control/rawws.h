/*
 * rawws: a bare socket speaking just enough HTTP and WebSocket (RFC 6455)
 * to play a misbehaving client against the real lanrage-control: one that
 * never authenticates, never answers a PING, opens too many sessions,
 * sends a request the server must refuse at once, or stops reading. Plain ws:// and http://
 * (the server runs with --insecure in these tests). Every read is bounded
 * by a generous receive timeout, so a server that hangs fails the test
 * instead of stalling it; no duration is asserted.
 */
#ifndef LR_TESTS_CONTROL_RAWWS_H
#define LR_TESTS_CONTROL_RAWWS_H

#include <stddef.h>

enum {
	RW_TIMEOUT_S = 15,
	RW_TEXT = 0x1,
	RW_CLOSE = 0x8,
	RW_PING = 0x9,
};

/* Connects to 127.0.0.1:port and upgrades to a WebSocket on /v1/ws. The fd,
 * or a negative errno. */
int rw_connect(int port);
/* The same with a receive buffer of rcvbuf bytes (set before the connect,
 * so the window the server sees is small from the start): a client that
 * stops reading then holds little in the kernel. */
int rw_connect_rcvbuf(int port, int rcvbuf);
/* Sends text as one masked text frame, as a client must. 0 or -errno. */
int rw_send_text(int fd, const char *text);
/* Reads one frame: its payload (NUL-terminated, cut at cap - 1) in buf and
 * its opcode. The payload length, -ECONNRESET at end of stream, -ETIMEDOUT,
 * or another negative errno. */
int rw_read(int fd, int *opcode, char *buf, size_t cap);
/* Reads frames until a text frame (PINGs are skipped, never answered). */
int rw_read_text(int fd, char *buf, size_t cap);
/* Reads until the server closes the stream: 0, or -ETIMEDOUT. */
int rw_wait_closed(int fd);
/* Sends request (raw bytes) on a new connection and reads the answer until
 * the server closes or the headers and Content-Length body are in. The
 * HTTP status, body in buf; -ETIMEDOUT when nothing complete came. */
int rw_http(int port, const char *request, size_t len, char *buf, size_t cap);

#endif
