/*
 * harness: see harness.h. The server child gets PR_SET_PDEATHSIG so it
 * dies with the test even when the test itself is killed; teardown stops it
 * by PID in any case.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "crypto/crypto.h"

const char *th_server_bin;
const char *th_client_pin;

int th_main_init(int argc, char **argv)
{
	th_server_bin = argc > 1 ? argv[1] : getenv("LANRAGE_CONTROL");
	if (!th_server_bin) {
		fprintf(stderr, "usage: %s PATH/TO/lanrage-control [TEST]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	crypto_init();
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	return 0;
}

static void th_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int th_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool th_port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return ok;
}

int th_server_init(struct th_server *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/lanrage-ctl-test.XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->db, sizeof(s->db), "%s/control.db", s->dir);
	s->port = th_free_port();
	if (s->port < 0)
		return -EADDRNOTAVAIL;
	snprintf(s->url, sizeof(s->url), "ws://127.0.0.1:%d", s->port);
	return 0;
}

int th_server_run(struct th_server *s, const char *const *extra)
{
	char listen[32];
	const char *argv[24];
	size_t n = 0;
	int i, status;

	if (!th_server_bin)
		return -ENOENT;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
	argv[n++] = th_server_bin;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--db";
	argv[n++] = s->db;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	if (!s->tls)
		argv[n++] = "--insecure";
	for (i = 0; extra && extra[i] && n < 23; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		return -errno;
	}
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(th_server_bin, (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) { /* up to 10 s */
		if (th_port_open(s->port))
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -ECHILD;
		}
		th_sleep_ms(10);
	}
	th_server_stop(s, SIGKILL);
	return -ETIMEDOUT;
}

int th_server_stop(struct th_server *s, int sig)
{
	int status = 0;

	if (!s->pid)
		return -1;
	kill(s->pid, sig);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void th_server_cleanup(struct th_server *s)
{
	static const char *const files[] = { "control.db",	 "control.db-wal",
					     "control.db-shm",	 "control2.db",
					     "control2.db-wal",	 "control2.db-shm",
					     "control-tls.crt", "control-tls.key" };
	char path[128];
	size_t i;

	if (s->pid)
		th_server_stop(s, SIGKILL);
	if (!s->dir[0])
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
		unlink(path);
	}
	rmdir(s->dir);
	s->dir[0] = '\0';
}

int th_fixture_start(void **state, const char *const *extra)
{
	struct th_fixture *f = calloc(1, sizeof(*f));

	if (!f || th_server_init(&f->srv))
		goto err;
	if (th_server_run(&f->srv, extra)) {
		fprintf(stderr, "cannot start %s\n", th_server_bin);
		goto err;
	}
	*state = f;
	return 0;
err:
	if (f)
		th_server_cleanup(&f->srv);
	free(f);
	return -1;
}

int th_fixture_stop(void **state)
{
	struct th_fixture *f = *state;

	for (size_t i = 0; i < f->n; i++)
		th_client_close(f->cl[i]);
	th_server_cleanup(&f->srv);
	free(f);
	return 0;
}

static void th_record(void *arg, const struct ctl_event *ev)
{
	struct th_client *t = arg;
	struct th_event *e;

	if (t->n_ev == TH_MAX_EVENTS)
		return;
	e = &t->ev[t->n_ev++];
	memset(e, 0, sizeof(*e));
	e->kind = ev->kind;
	memcpy(e->party_id, ev->party_id, sizeof(e->party_id));
	if (ev->kind == CTL_EV_PEER_LEFT)
		memcpy(e->peer_id, ev->peer_id, sizeof(e->peer_id));
	else
		memcpy(e->peer_id, ev->peer.peer_id, sizeof(e->peer_id));
	memcpy(e->virtual_ip, ev->peer.virtual_ip, sizeof(e->virtual_ip));
	memcpy(e->reason, ev->reason, sizeof(e->reason));
	memcpy(e->from, ev->from, sizeof(e->from));
	if (ev->payload_json)
		snprintf(e->payload, sizeof(e->payload), "%s", ev->payload_json);
	if (ev->party) {
		e->has_party = true;
		e->party_peers = ev->party->n_peers;
		memcpy(e->party_id, ev->party->party_id, sizeof(e->party_id));
	}
}

struct th_client *th_client_open(const char *url, struct ctl_local *local, uint64_t heartbeat_ms)
{
	struct th_client *t = calloc(1, sizeof(*t));
	struct ctl_client_opts o;

	if (!t)
		return NULL;
	ctl_client_opts_default(&o);
	o.url = url;
	o.local = local;
	o.insecure = url && !strncmp(url, "ws://", 5);
	o.pin = th_client_pin;
	o.backoff_min_ms = 50;
	o.backoff_max_ms = 400;
	o.heartbeat_ms = heartbeat_ms;
	o.request_timeout_ms = 15000;
	if (ctl_client_open(&o, &t->c)) {
		free(t);
		return NULL;
	}
	ctl_client_subscribe(t->c, th_record, t);
	crypto_x25519_generate(t->priv, t->pub);
	return t;
}

int th_client_register(struct th_client *t, const char *name)
{
	return ctl_register(t->c, t->priv, name, "test");
}

void th_client_close(struct th_client *t)
{
	if (!t)
		return;
	ctl_client_close(t->c);
	crypto_wipe(t->priv, sizeof(t->priv));
	free(t);
}

static struct th_event *th_find(struct th_client *t, enum ctl_event_kind kind, const char *peer)
{
	size_t i;

	for (i = 0; i < t->n_ev; i++) {
		struct th_event *e = &t->ev[i];

		if (e->taken || e->kind != kind)
			continue;
		if (peer && strcmp(kind == CTL_EV_SIGNAL ? e->from : e->peer_id, peer))
			continue;
		return e;
	}
	return NULL;
}

static uint64_t th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct th_event *th_wait(struct th_client *t, enum ctl_event_kind kind, const char *peer,
			 uint64_t timeout_ms)
{
	uint64_t end = th_now_ms() + timeout_ms, now;
	struct th_event *e;

	ctl_client_dispatch(t->c);
	while (!(e = th_find(t, kind, peer))) {
		now = th_now_ms();
		if (now >= end)
			return NULL;
		ctl_client_wait_event(t->c, end - now);
	}
	e->taken = true;
	return e;
}

size_t th_count(struct th_client *t, enum ctl_event_kind kind)
{
	size_t i, n = 0;

	ctl_client_dispatch(t->c);
	for (i = 0; i < t->n_ev; i++)
		n += !t->ev[i].taken && t->ev[i].kind == kind;
	return n;
}

int th_http_get(int port, const char *path, const char *authorization, char *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { 10, 0 };
	char req[1024], *body;
	size_t got = 0;
	ssize_t n;
	int fd, status = -EIO;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s%s\r\n",
		     path, port, authorization ? "Authorization: " : "",
		     authorization ? authorization : "", authorization ? "\r\n" : "");
	if (write(fd, req, (size_t)n) != n)
		goto out;
	/* Until the body of Content-Length is in (or the server closes). */
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0) {
		const char *cl;
		size_t hdr;

		got += (size_t)n;
		buf[got] = '\0';
		body = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "\r\ncontent-length:");
		if (!body || !cl || cl > body)
			continue;
		hdr = (size_t)(body + 4 - buf);
		if (got >= hdr + strtoul(cl + 17, NULL, 10))
			break;
	}
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		status = -EBADMSG;
		goto out;
	}
	body = strstr(buf, "\r\n\r\n");
	if (body)
		memmove(buf, body + 4, strlen(body + 4) + 1);
out:
	close(fd);
	return status;
}
