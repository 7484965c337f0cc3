/*
 * lanrage-relay: LANrage's relay server (docs/RELAY.md). It forwards already
 * encrypted WireGuard datagrams between peers that proved their WireGuard
 * key, addressed by public key, on UDP 51821; it doubles as a STUN server
 * (UDP 3478, RFC 5780 with two addresses) so a deployment needs no third
 * party; with --control it registers with the control server and heartbeats.
 *
 * One epoll loop on one thread owns every socket and the bindings; only the
 * control client runs on its own thread (relay_ctl.c). Datagrams come in and
 * go out in batches (recvmmsg/sendmmsg) through buffers allocated at start:
 * nothing is allocated per datagram. SIGINT/SIGTERM stop it (exit 0), so
 * does a control server that refuses our relay secret (exit 1: retrying
 * cannot help); SIGUSR1 logs the statistics, which are logged at exit too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "metrics/metrics_http.h"
#include "relay_core.h"
#include "relay_ctl.h"
#include "relay_metrics.h"
#include "relay_opts.h"
#include "relay_stun.h"
#include "util/mem.h"
#include "util/time.h"

enum {
	BATCH = 32,
	BUF_LEN = 65536, /* any UDP payload */
	TAG_STUN = 0, /* | ip << 1 | port */
	TAG_RELAY = 8,
	TAG_SIGNAL = 9,
	TICK_MS = 1000,
};

/* Batch buffers: in[i] holds datagram i; out[k] points at in[i] (a DELIVER)
 * or reply[i]. */
struct relay_io {
	uint8_t (*buf)[BUF_LEN];
	uint8_t reply[BATCH][RELAY_REPLY_MAX];
	struct wg_endpoint src[BATCH], dst[BATCH];
	struct iovec iov_in[BATCH], iov_out[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
};

struct relay {
	struct relay_core core;
	struct relay_stun stun;
	struct relay_io *io;
	struct relay_ctl *ctl;
	struct metrics_http *metrics; /* NULL without --metrics-listen */
	uint64_t metrics_ns;          /* when the text was last published */
	int ep, fd, sfd;
};

/* A frame too big for our link (EMSGSIZE: the socket sends with DF). It
 * can only have come in as fragments, from a client with path_mtu false:
 * one that probes its paths sends with DF, so nothing bigger than the link
 * reaches us whole. It leaves as fragments too, as its sender allowed; DF
 * is back on for the next frame. */
static int send_fragmented(struct relay *r, struct msghdr *m)
{
	int dont = IP_PMTUDISC_DONT, probe = IP_PMTUDISC_PROBE;
	int dont6 = IPV6_PMTUDISC_DONT, probe6 = IPV6_PMTUDISC_PROBE;
	ssize_t k;

	/* the IPv6 option fails on an IPv4 socket: nothing to undo then */
	setsockopt(r->fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
	setsockopt(r->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &dont6, sizeof(dont6));
	k = sendmsg(r->fd, m, MSG_DONTWAIT);
	setsockopt(r->fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
	setsockopt(r->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof(probe6));
	return k < 0 ? -1 : 0;
}

/* Sends out[0..n), skipping a datagram the kernel refuses. */
static void send_batch(struct relay *r, unsigned n)
{
	unsigned done = 0;
	int k;

	while (done < n) {
		k = sendmmsg(r->fd, r->io->out + done, n - done, MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EMSGSIZE &&
		    !send_fragmented(r, &r->io->out[done].msg_hdr)) {
			done++;
			continue;
		}
		if (k <= 0) {
			r->core.stats.send_errors++;
			done++;
			continue;
		}
		done += (unsigned)k;
	}
}

/* Drains the relay socket, a batch at a time. */
static void relay_rx(struct relay *r)
{
	struct relay_io *io = r->io;
	struct relay_out o;
	uint64_t now, wall;
	unsigned i, nout;
	int n;

	do {
		for (i = 0; i < BATCH; i++) {
			io->iov_in[i] = (struct iovec){ io->buf[i], BUF_LEN };
			io->in[i].msg_hdr = (struct msghdr){ .msg_name = &io->src[i],
							     .msg_namelen = sizeof(io->src[i]),
							     .msg_iov = &io->iov_in[i],
							     .msg_iovlen = 1 };
		}
		n = recvmmsg(r->fd, io->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		now = time_mono_ns();
		wall = time_wall_ms();

		for (i = 0, nout = 0; i < (unsigned)n; i++) {
			if (io->in[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			if (!relay_core_input(&r->core, &io->src[i], io->buf[i], io->in[i].msg_len,
					      now, wall, io->reply[i], &o))
				continue;
			io->dst[nout] = o.dst;
			io->iov_out[nout] = (struct iovec){ (void *)o.buf, o.len };
			io->out[nout].msg_hdr = (struct msghdr){ .msg_name = &io->dst[nout],
								 .msg_namelen = wg_endpoint_socklen(&o.dst),
								 .msg_iov = &io->iov_out[nout],
								 .msg_iovlen = 1 };
			nout++;
		}
		send_batch(r, nout);
	} while (n == BATCH);
}

/* Hands the metrics text to the HTTP thread, at most once a second: the
 * counters are this thread's, so it renders them itself. */
static void publish_metrics(struct relay *r, uint64_t now_ns)
{
	if (!r->metrics || (r->metrics_ns && now_ns - r->metrics_ns < TICK_MS * TIME_NS_PER_MS))
		return;
	r->metrics_ns = now_ns;
	metrics_http_publish(r->metrics, relay_metrics_render(&r->core, &r->stun));
}

/* true when the loop must stop. */
static bool on_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			relay_core_log_stats(&r->core, "statistics");
			/* now, not within the second: a scrape right after
			 * the line reads the same counters */
			r->metrics_ns = 0;
			publish_metrics(r, time_mono_ns());
		} else {
			return true;
		}
	}
	return false;
}

static int open_relay_socket(struct relay *r, const struct wg_endpoint *addr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_RELAY };
	int zero = 0, size = 4 << 20, probe = IP_PMTUDISC_PROBE, probe6 = IPV6_PMTUDISC_PROBE;
	char name[64];

	wg_endpoint_format(addr, name, sizeof(name));
	r->fd = socket(addr->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0)
		goto err;
	if (addr->sa.sa_family == AF_INET6)
		setsockopt(r->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* Frames go out whole with DF set, whatever the kernel's PMTU cache
	 * says: the clients probe each relayed path's MTU (docs/NET.md "Path
	 * MTU") and a frame too big must be lost whole, as the probe expects,
	 * not cut into fragments a NAT may drop. Only a frame that came in
	 * as fragments leaves as fragments (send_fragmented). */
	setsockopt(r->fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
	if (addr->sa.sa_family == AF_INET6)
		setsockopt(r->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof(probe6));
	/* Best effort: bursts between two loop turns queue in the kernel. */
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(r->fd, &addr->sa, wg_endpoint_socklen(addr)) ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, r->fd, &ev))
		goto err;
	log_info("relay", "relay frames on %s", name);
	return 0;
err:
	relay_opts_listen_failed("for relay frames", name, errno, "--listen ADDR:PORT");
	return -1;
}

static int open_signals(struct relay *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_SIGNAL };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	r->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sfd < 0 || epoll_ctl(r->ep, EPOLL_CTL_ADD, r->sfd, &ev))
		return -1;
	return 0;
}

static int start_metrics(struct relay *r, const char *listen)
{
	int ret;

	if (!listen)
		return 0;
	ret = metrics_http_start(listen, &r->metrics);
	if (ret) {
		relay_opts_listen_failed("for metrics", listen, -ret, "--metrics-listen ADDR:PORT");
		return -1;
	}
	publish_metrics(r, time_mono_ns());
	log_info("relay", "metrics on http://%s/metrics", listen);
	return 0;
}

static int setup(struct relay *r, const struct relay_opts *o, const uint8_t priv[32])
{
	struct relay_config cfg = { .lifetime_s = o->lifetime_s, .rate_pps = o->rate_pps,
				    .rate_bytes = o->rate_bytes, .max_bindings = o->max_bindings,
				    .max_per_ip = o->max_per_ip, .no_tickets = o->no_tickets,
				    .has_ticket_key = o->has_ticket_key };
	int ret;

	memcpy(cfg.private_key, priv, 32);
	memcpy(cfg.ticket_key, o->ticket_key, 32);
	ret = relay_core_init(&r->core, &cfg);
	crypto_wipe(cfg.private_key, sizeof(cfg.private_key));
	r->io = calloc(1, sizeof(*r->io));
	if (r->io)
		r->io->buf = calloc(BATCH, BUF_LEN);
	if (ret || !r->io || !r->io->buf) {
		log_error("relay", "out of memory for %u bindings", o->max_bindings);
		return -1;
	}
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0 || open_signals(r) || open_relay_socket(r, &o->listen))
		return -1;
	if (o->n_stun && relay_stun_open(&r->stun, o->stun, o->n_stun, o->stun_alt_port, r->ep,
					 TAG_STUN))
		return -1;
	return start_metrics(r, o->metrics_listen);
}

/* A ticket key the control thread learned (a new one replaces ours). */
static void take_ticket_key(struct relay *r)
{
	char b64[CTL_KEY_B64 + 1];
	uint8_t key[32];

	if (!relay_ctl_ticket_key(r->ctl, key))
		return;
	if (r->core.cfg.has_ticket_key && !memcmp(r->core.cfg.ticket_key, key, 32))
		return;
	relay_core_set_ticket_key(&r->core, key);
	ctl_key_to_b64(key, b64);
	log_info("relay", "ticket key %s from the control server: BINDs with its tickets are "
			  "accepted", b64);
}

/* Says at start who may bind. */
static void warn_tickets(const struct relay_opts *o)
{
	if (o->no_tickets)
		log_warn("relay", "--no-tickets: ANY key that proves itself can bind and use "
				  "this relay as a free forwarder; for labs only, never on the "
				  "internet");
	else if (!o->has_ticket_key && !o->control_url)
		log_warn("relay", "no --ticket-key and no --control: no ticket can verify, so "
				  "every BIND is refused");
	else if (!o->has_ticket_key)
		log_info("relay", "BINDs are refused until the control server gives its ticket "
				  "key");
}

/* Runs until a signal stops it (0) or the control server refused our relay
 * secret (1, the exit status; relay_ctl.c said why). */
static int run(struct relay *r)
{
	uint64_t last_load = UINT64_MAX;
	struct epoll_event evs[8];
	int i, n;

	for (;;) {
		n = epoll_wait(r->ep, evs, 8, TICK_MS);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;

			if (tag == TAG_SIGNAL && on_signal(r))
				return 0;
			if (tag == TAG_RELAY)
				relay_rx(r);
			else if (tag < TAG_RELAY)
				relay_stun_serve(&r->stun, tag >> 1 & 1, tag & 1, &r->core);
		}
		relay_core_expire(&r->core, time_mono_ns());
		publish_metrics(r, time_mono_ns());
		if (r->ctl && relay_ctl_refused(r->ctl))
			return 1;
		if (r->ctl)
			take_ticket_key(r);
		if (r->ctl && relay_core_bindings(&r->core) != last_load) {
			last_load = relay_core_bindings(&r->core);
			relay_ctl_set_bindings(r->ctl, last_load);
		}
	}
	log_error("relay", "event loop: %s", strerror(errno));
	return 1;
}

static void start_ctl(struct relay *r, const struct relay_opts *o, const uint8_t pub[32])
{
	struct relay_ctl_opts co = { .url = o->control_url, .secret = o->secret,
				     .name = o->name, .endpoint = o->public_endpoint,
				     .pin = o->control_pin, .insecure = o->control_insecure };

	memcpy(co.public_key, pub, 32);
	if (relay_ctl_start(&co, &r->ctl))
		log_error("relay", "cannot start the control client; running unregistered");
}

int main(int argc, char **argv)
{
	struct relay r = { .ep = -1, .fd = -1, .sfd = -1 };
	struct relay_opts o;
	uint8_t priv[32], pub[32];
	char pub_b64[CTL_KEY_B64 + 1];
	bool created;
	int ret = 1;

	mem_secure_process(); /* 0600 key file, wiped JSON copies of tickets */
	memset(r.stun.fd, -1, sizeof(r.stun.fd));
	ret = relay_opts_parse(argc, argv, &o);
	if (ret) {
		relay_opts_free(&o);
		return ret == 1 ? 0 : 2;
	}
	ret = 1;
	if (crypto_init() || relay_key_load(o.key_file, priv, &created))
		goto out;
	crypto_x25519_public(pub, priv);
	ctl_key_to_b64(pub, pub_b64);
	if (!o.key_file)
		log_warn("relay", "no --key: using an ephemeral key, clients must learn it anew "
				  "after every restart");
	else if (created)
		log_info("relay", "created key file %s", o.key_file);
	if (setup(&r, &o, priv))
		goto out;
	log_kv(LOG_INFO, "relay", "ready", LOG_STR("public_key", pub_b64),
	       LOG_UINT("lifetime_s", o.lifetime_s), LOG_UINT("rate_pps", o.rate_pps),
	       LOG_UINT("rate_bytes", o.rate_bytes), LOG_UINT("max_bindings", o.max_bindings),
	       LOG_UINT("max_bindings_per_ip", o.max_per_ip),
	       LOG_UINT("stun_sockets", o.n_stun == 2 ? 4 : o.n_stun));
	printf("public_key=%s\n", pub_b64);
	fflush(stdout);
	warn_tickets(&o);
	if (o.control_url)
		start_ctl(&r, &o, pub);
	relay_opts_free(&o); /* the control thread has its own copy of the secret */
	ret = run(&r);
	relay_ctl_stop(r.ctl);
	relay_core_log_stats(&r.core, "stopping");
	log_info("relay", "STUN: %lu requests, %lu answers, %lu send errors", r.stun.requests,
		 r.stun.answers, r.stun.errors);
out:
	metrics_http_stop(r.metrics); /* first: its thread reads nothing of ours, but frees */
	relay_opts_free(&o);
	crypto_wipe(priv, sizeof(priv));
	relay_stun_close(&r.stun);
	relay_core_free(&r.core);
	if (r.io)
		free(r.io->buf);
	free(r.io);
	if (r.sfd >= 0)
		close(r.sfd);
	if (r.fd >= 0)
		close(r.fd);
	if (r.ep >= 0)
		close(r.ep);
	return ret;
}
