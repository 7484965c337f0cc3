/* rawws: see rawws.h. Test code: the server's frames are unmasked; ours
 * carry a fixed mask (RFC 6455 wants a random one only against proxies
 * that cache, which loopback has none of). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rawws.h"

static int rw_dial(int port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { RW_TIMEOUT_S, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int rw_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		got += (size_t)n;
	}
	return 0;
}

int rw_connect(int port)
{
	return rw_connect_rcvbuf(port, 0);
}

int rw_connect_rcvbuf(int port, int rcvbuf)
{
	static const char req[] = "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n";
	char head[2048];
	size_t got = 0;
	int fd = rw_dial(port, rcvbuf), r;

	if (fd < 0)
		return fd;
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		goto err;
	/* Byte by byte up to the blank line: what follows is frames. */
	while (got + 1 < sizeof(head)) {
		if ((r = rw_full(fd, head + got, 1)))
			goto err;
		head[++got] = '\0';
		if (got >= 4 && !memcmp(head + got - 4, "\r\n\r\n", 4))
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12))
		goto err;
	return fd;
err:
	close(fd);
	return -EPROTO;
}

int rw_send_text(int fd, const char *text)
{
	static const uint8_t mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t len = strlen(text), h = 2;
	uint8_t *frame = malloc(len + 14);
	int r = 0;

	if (!frame)
		return -ENOMEM;
	frame[0] = 0x80 | RW_TEXT; /* FIN */
	if (len < 126) {
		frame[1] = 0x80 | (uint8_t)len;
	} else if (len < 65536) {
		frame[1] = 0x80 | 126;
		frame[h++] = (uint8_t)(len >> 8);
		frame[h++] = (uint8_t)len;
	} else {
		free(frame);
		return -EMSGSIZE;
	}
	memcpy(frame + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		frame[h + i] = (uint8_t)text[i] ^ mask[i % 4];
	if (write(fd, frame, h + len) != (ssize_t)(h + len))
		r = -EIO;
	free(frame);
	return r;
}

int rw_read(int fd, int *opcode, char *buf, size_t cap)
{
	uint8_t h[8];
	uint64_t len;
	size_t keep;
	char *tmp;
	int r;

	if ((r = rw_full(fd, h, 2)))
		return r;
	*opcode = h[0] & 0x0f;
	len = h[1] & 0x7f;
	if (len == 126) {
		if ((r = rw_full(fd, h, 2)))
			return r;
		len = (uint64_t)h[0] << 8 | h[1];
	} else if (len == 127) {
		if ((r = rw_full(fd, h, 8)))
			return r;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[i];
	}
	if (len > 64u << 20)
		return -EMSGSIZE;
	tmp = malloc(len + 1);
	if (!tmp)
		return -ENOMEM;
	r = rw_full(fd, tmp, len);
	if (!r) {
		keep = len < cap - 1 ? len : cap - 1;
		memcpy(buf, tmp, keep);
		buf[keep] = '\0';
		r = (int)len;
	}
	free(tmp);
	return r;
}

int rw_read_text(int fd, char *buf, size_t cap)
{
	int op, r;

	while ((r = rw_read(fd, &op, buf, cap)) >= 0 && op != RW_TEXT)
		if (op == RW_CLOSE)
			return -ECONNRESET;
	return r;
}

int rw_wait_closed(int fd)
{
	char buf[512];
	int op, r;

	while ((r = rw_read(fd, &op, buf, sizeof(buf))) >= 0)
		;
	return r == -ECONNRESET ? 0 : r;
}

int rw_http(int port, const char *request, size_t len, char *buf, size_t cap)
{
	int fd = rw_dial(port, 0), status = -ETIMEDOUT;
	size_t got = 0;
	ssize_t n;
	char *body;

	if (fd < 0)
		return fd;
	if (write(fd, request, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	buf[0] = '\0';
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0) {
		const char *cl;

		got += (size_t)n;
		buf[got] = '\0';
		body = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "\r\ncontent-length:");
		if (body && cl && cl < body &&
		    got >= (size_t)(body + 4 - buf) + strtoul(cl + 17, NULL, 10))
			break;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -ETIMEDOUT;
	body = strstr(buf, "\r\n\r\n");
	if (body)
		memmove(buf, body + 4, strlen(body + 4) + 1);
	close(fd);
	return status;
}
