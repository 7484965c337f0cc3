/*
 * lanrage-relay: LANrage's relay server. Relays double as STUN servers so a
 * deployment needs no third party. What runs today is the STUN part: Binding
 * requests on UDP 3478 and, with two addresses, RFC 5780 behaviour discovery
 * (four sockets: both addresses x the port and the alternate port).
 * Forwarding WireGuard traffic between peers is not built yet.
 *
 *   lanrage-relay [--stun ADDR[:PORT]]... [--stun-alt-port PORT]
 *
 * With no --stun, one dual-stack wildcard socket on [::]:3478 answers plain
 * Binding requests. Give --stun twice (two addresses of one family, same port)
 * for RFC 5780. SIGINT/SIGTERM stop it cleanly; counters go to stderr at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log/log.h"
#include "nat/stun.h"
#include "nat/stun_server.h"

#define RELAY_SOFTWARE "lanrage-relay 0.1"

struct relay {
	struct stun_server_topo topo;
	int fd[2][2]; /* -1 where no socket */
	int ep;
	unsigned long requests, answers, errors;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static socklen_t ep_len(const struct wg_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET ? sizeof(ep->in4) : sizeof(ep->in6);
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" (numeric only). */
static int parse_listen(const char *s, struct wg_endpoint *ep)
{
	char buf[80];

	if (wg_endpoint_parse(ep, s) == 0)
		return 0;
	snprintf(buf, sizeof(buf), strchr(s, ':') ? "[%s]:%u" : "%s:%u", s, STUN_DEFAULT_PORT);
	return wg_endpoint_parse(ep, buf);
}

static int open_socket(struct relay *r, unsigned ip, unsigned port)
{
	struct wg_endpoint *ep = &r->topo.sock[ip][port];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = ip << 1 | port };
	char name[64];
	int fd, zero = 0;

	wg_endpoint_format(ep, name, sizeof(name));
	fd = socket(ep->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err;
	if (ep->sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, &ep->sa, ep_len(ep)) || epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev))
		goto err;
	r->fd[ip][port] = fd;
	return 0;
err:
	fprintf(stderr, "lanrage-relay: cannot listen on %s: %s\n", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int setup(struct relay *r, struct wg_endpoint *addrs, size_t n, long alt_port)
{
	unsigned ip, port;
	uint16_t p = wg_endpoint_port(&addrs[0]);

	r->topo.software = RELAY_SOFTWARE;
	r->topo.sock[0][0] = addrs[0];
	if (n == 2) {
		if (addrs[0].sa.sa_family != addrs[1].sa.sa_family ||
		    wg_endpoint_port(&addrs[1]) != p) {
			fprintf(stderr, "lanrage-relay: the two --stun addresses need one family "
					"and one port\n");
			return -1;
		}
		r->topo.rfc5780 = true;
		r->topo.sock[1][0] = addrs[1];
		for (ip = 0; ip < 2; ip++) {
			r->topo.sock[ip][1] = addrs[ip];
			wg_endpoint_set_port(&r->topo.sock[ip][1], (uint16_t)(alt_port > 0 ? alt_port : p + 1));
		}
	}
	for (ip = 0; ip < 2; ip++)
		for (port = 0; port < 2; port++)
			if ((ip == 0 && port == 0) || r->topo.rfc5780)
				if (open_socket(r, ip, port))
					return -1;
	return 0;
}

static void serve_one(struct relay *r, unsigned ip, unsigned port)
{
	uint8_t in[1500], out[STUN_MAX_MSG];
	struct wg_endpoint src;
	struct stun_server_reply reply;
	socklen_t sl = sizeof(src);
	ssize_t n;
	int fd;

	n = recvfrom(r->fd[ip][port], in, sizeof(in), 0, &src.sa, &sl);
	if (n < 0)
		return;
	r->requests++;
	if (stun_server_answer(&r->topo, ip, port, in, (size_t)n, &src, out, sizeof(out), &reply) ||
	    !reply.len)
		return;
	fd = r->fd[reply.ip][reply.port];
	if (fd < 0 || sendto(fd, out, reply.len, MSG_DONTWAIT, &src.sa, sl) < 0) {
		r->errors++;
		return;
	}
	r->answers++;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: lanrage-relay [--stun ADDR[:PORT]]... [--stun-alt-port PORT]\n"
		   "  --stun ADDR[:PORT]    STUN listen address (default [::]:3478); give two\n"
		   "                        addresses for RFC 5780 NAT behaviour discovery\n"
		   "  --stun-alt-port PORT  alternate port for RFC 5780 (default PORT+1)\n");
}

static int parse_args(int argc, char **argv, struct wg_endpoint *addrs, size_t *n, long *alt)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "stun-alt-port", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's') {
			if (*n == 2 || parse_listen(optarg, &addrs[*n])) {
				fprintf(stderr, "lanrage-relay: bad or extra --stun: %s\n", optarg);
				return 2;
			}
			(*n)++;
		} else if (c == 'a') {
			*alt = strtol(optarg, &end, 10);
			if (*end || *alt < 1 || *alt > 65535) {
				fprintf(stderr, "lanrage-relay: bad --stun-alt-port: %s\n", optarg);
				return 2;
			}
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 1 : 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (*n == 0) {
		parse_listen("[::]:3478", &addrs[0]);
		*n = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct relay r = { .fd = { { -1, -1 }, { -1, -1 } } };
	struct wg_endpoint addrs[2];
	struct sigaction sa = { .sa_handler = on_signal };
	size_t n = 0;
	long alt = 0;
	char name[64];
	int ret;

	ret = parse_args(argc, argv, addrs, &n, &alt);
	if (ret)
		return ret == 1 ? 0 : ret;
	r.topo.wildcard = n == 1 && addrs[0].sa.sa_family == AF_INET6 &&
			  IN6_IS_ADDR_UNSPECIFIED(&addrs[0].in6.sin6_addr);
	r.topo.wildcard |= n == 1 && addrs[0].sa.sa_family == AF_INET &&
			   addrs[0].in4.sin_addr.s_addr == htonl(INADDR_ANY);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0 || setup(&r, addrs, n, alt))
		return 1;
	wg_endpoint_format(&r.topo.sock[0][0], name, sizeof(name));
	fprintf(stderr, "lanrage-relay: STUN on %s%s\n", name,
		r.topo.rfc5780 ? " with RFC 5780 (two addresses, two ports)" : "");
	while (!stop_requested) {
		struct epoll_event evs[4];
		int i, k = epoll_wait(r.ep, evs, 4, -1);

		for (i = 0; i < k; i++)
			serve_one(&r, evs[i].data.u32 >> 1, evs[i].data.u32 & 1);
	}
	fprintf(stderr, "lanrage-relay: stopping; %lu requests, %lu answers, %lu send errors\n",
		r.requests, r.answers, r.errors);
	for (unsigned ip = 0; ip < 2; ip++)
		for (unsigned port = 0; port < 2; port++)
			if (r.fd[ip][port] >= 0)
				close(r.fd[ip][port]);
	close(r.ep);
	return 0;
}
