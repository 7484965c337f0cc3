/* uapi_server: the UAPI UNIX socket; see uapi_server.h. */
#include "wg/uapi_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "util/mem.h"
#include "wg/uapi.h"

static int make_dirs(const char *path)
{
	char dir[108];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file nobody answers on is left over from a crash: remove it. */
static bool stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool is_stale;

	if (fd < 0)
		return false;
	is_stale = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0 &&
		   errno == ECONNREFUSED;
	close(fd);
	return is_stale;
}

static int bind_socket(int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0077);
	int ret = bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0 ? -errno : 0;

	umask(old);
	return ret;
}

int wg_uapi_server_open(struct wg_uapi_server *s, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	for (int i = 0; i < WG_UAPI_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("uapi", "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	ret = make_dirs(path);
	if (ret) {
		log_error("uapi", "cannot create the directory of %s: %s", path, strerror(-ret));
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = bind_socket(fd, &sun);
	if (ret == -EADDRINUSE && stale(&sun)) {
		unlink(path);
		ret = bind_socket(fd, &sun);
	}
	if (!ret && listen(fd, 16) < 0)
		ret = -errno;
	if (ret) {
		log_error("uapi", "cannot listen on %s: %s", path,
			  ret == -EADDRINUSE ? "another daemon owns this interface" : strerror(-ret));
		close(fd);
		return ret;
	}
	s->listen_fd = fd;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return 0;
}

static void client_free(struct wg_uapi_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->buf)
		crypto_wipe(c->buf, c->cap);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void wg_uapi_server_close(struct wg_uapi_server *s)
{
	for (int i = 0; i < WG_UAPI_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_free(&s->clients[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (wg_uapi_server_alive(s))
			unlink(s->path);
	}
	s->listen_fd = -1;
}

bool wg_uapi_server_alive(const struct wg_uapi_server *s)
{
	struct stat st;

	return !lstat(s->path, &st) && S_ISSOCK(st.st_mode);
}

int wg_uapi_server_accept(struct wg_uapi_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < WG_UAPI_MAX_CLIENTS; i++) {
		if (s->clients[i].fd < 0) {
			s->clients[i].fd = fd;
			return fd;
		}
	}
	log_warn("uapi", "too many UAPI connections, refusing one");
	close(fd);
	return -EMFILE;
}

static struct wg_uapi_client *client_find(struct wg_uapi_server *s, int fd)
{
	for (int i = 0; i < WG_UAPI_MAX_CLIENTS; i++)
		if (s->clients[i].fd == fd)
			return &s->clients[i];
	return NULL;
}

/* Writes all of buf, waiting up to a second at a time for a slow reader. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int client_grow(struct wg_uapi_client *c)
{
	size_t cap = c->cap ? c->cap * 2 : 4096;
	char *n;

	if (c->cap >= WG_UAPI_MAX_REQUEST)
		return -EMSGSIZE;
	/* Requests carry private keys, so the old block is wiped. */
	n = mem_grow_wiped(c->buf, c->cap, c->len, cap);
	if (!n)
		return -ENOMEM;
	c->buf = n;
	c->cap = cap;
	return 0;
}

/* Answers each complete request in the buffer. False: close the connection. */
static bool client_answer(struct wg_uapi_client *c, struct wg_device *dev)
{
	char *end, *reply;
	size_t rlen;
	int ret;

	while ((end = memmem(c->buf, c->len, "\n\n", 2))) {
		rlen = (size_t)(end - c->buf) + 2;
		ret = wg_device_uapi(dev, c->buf, rlen, &reply);
		crypto_wipe(c->buf, rlen);
		memmove(c->buf, c->buf + rlen, c->len - rlen);
		c->len -= rlen;
		if (ret)
			return false; /* not a get or set: hang up, as wireguard-go does */
		ret = write_all(c->fd, reply, strlen(reply));
		crypto_wipe(reply, strlen(reply));
		free(reply);
		if (ret)
			return false;
	}
	return true;
}

bool wg_uapi_server_serve(struct wg_uapi_server *s, int fd, struct wg_device *dev)
{
	struct wg_uapi_client *c = client_find(s, fd);
	ssize_t n;

	if (!c)
		return false;
	for (;;) {
		if (c->len == c->cap && client_grow(c)) {
			log_warn("uapi", "request too large, closing the connection");
			break;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			break;
		c->len += (size_t)n;
		if (!client_answer(c, dev))
			break;
	}
	client_free(c);
	return false;
}
