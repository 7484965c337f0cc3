/*
 * srv_setup: lanrage-control's start-up checks (see srv_setup.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_tls.h"
#include "log/log.h"

#include "srv_setup.h"

/* The self-signed pair lives beside the database: "DIR/control-tls.crt"
 * and ".key", DIR being the database's directory. */
static int srv_tls_default_paths(struct srv_tls *t, const char *db_path)
{
	const char *slash = strrchr(db_path, '/');
	int dlen = slash ? (int)(slash - db_path) : 1;
	const char *dir = slash ? db_path : ".";

	if (slash == db_path)
		dlen = 1; /* "/x.db": the root */
	if (asprintf(&t->cert, "%.*s/control-tls.crt", dlen, dir) < 0 ||
	    asprintf(&t->key, "%.*s/control-tls.key", dlen, dir) < 0)
		return -ENOMEM;
	return 0;
}

int srv_tls_setup(struct srv_tls *t, const char *cert, const char *key,
			 const char *db_path, bool print_pin)
{
	char pin[CTL_TLS_PIN_LEN + 1];
	int r;

	if (!cert != !key || (t->insecure && (cert || print_pin))) {
		fprintf(stderr, "lanrage-control: give --tls-cert and --tls-key together, and "
				"neither with --insecure\n");
		return 2;
	}
	if (t->insecure) {
		log_warn(SRV_TAG, "--insecure: tokens and party data cross the network in clear");
		return 0;
	}
	if (cert) {
		t->cert = strdup(cert);
		t->key = strdup(key);
	} else if (srv_tls_default_paths(t, db_path)) {
		return 1;
	}
	if (!t->cert || !t->key)
		return 1;
	if (!cert && access(t->cert, F_OK) && access(t->key, F_OK)) {
		r = ctl_tls_make_selfsigned(t->cert, t->key, "lanrage-control");
		if (r == -EEXIST) {
			/* Another process (a --print-pin) made the pair first: use it
			 * once it has written the certificate. */
			for (int i = 0; i < 20 && access(t->cert, R_OK); i++)
				usleep(50000);
		} else if (r) {
			return 1;
		} else {
			t->generated = true;
			log_info(SRV_TAG, "made a self-signed TLS certificate %s (key %s)", t->cert,
				 t->key);
		}
	}
	r = ctl_tls_pin_of_file(t->cert, pin);
	if (r) {
		log_error(SRV_TAG, "cannot read the TLS certificate %s: %s", t->cert,
			  r == -EBADMSG ? "not a PEM certificate" : strerror(-r));
		return 1;
	}
	if (print_pin) {
		printf("%s\n", pin);
		return 0;
	}
	log_kv(LOG_INFO, SRV_TAG, cert ? "TLS certificate" : "self-signed TLS certificate: players "
	       "set control_pin (lanrage daemon --control-pin) to its pin", LOG_STR("cert", t->cert),
	       LOG_STR("pin", pin));
	return 0;
}

void srv_listen_failed(const char *addr, int port, int err)
{
	bool v6 = strchr(addr, ':');

	fprintf(stderr, "lanrage-control: cannot listen on %s%s%s:%d: %s%s\n", v6 ? "[" : "",
		addr[0] ? addr : "0.0.0.0", v6 ? "]" : "", port,
		err ? strerror(err) : "see the lws lines of --log-level debug",
		err == EADDRINUSE ? " (another lanrage-control running? pick another with "
				    "--listen ADDR:PORT)" : "");
}

static bool srv_has_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Fills ss with the address lws will bind: a numeric ADDR, or for "any" the
 * dual-stack [::] as lws takes it (0.0.0.0 on a host without IPv6). false
 * for an interface name, which only lws resolves. */
static bool srv_listen_sockaddr(const char *addr, int port, bool any,
				struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (any ? srv_has_ipv6() : inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return true;
	}
	if (!any && inet_pton(AF_INET, addr, &in4->sin_addr) != 1)
		return false;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*len = sizeof(*in4);
	return true;
}

bool srv_listen_any(const char *addr)
{
	return !addr[0] || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

/* Takes the address lws will take, as lws does (SO_REUSEADDR, listen), and
 * lets it go: lws reports a busy port only in its own log, and on a foreign
 * loop starts anyway, so the reason is learned here, before the database is
 * touched. 0, or 1 (the exit status) with the reason printed. */
int srv_probe_listen(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, r = 0;

	if (!srv_listen_sockaddr(addr, port, srv_listen_any(addr), &ss, &len))
		return 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = errno;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1))
			r = errno;
		close(fd);
	}
	if (!r)
		return 0;
	srv_listen_failed(addr, port, r);
	return 1;
}

