/*
 * safety_tool: a hostile party member for tests/daemon/test_safety.sh. It
 * registers a fresh key with a real lanrage-control, joins a party, then
 * publishes endpoints of its choosing (ctl_peer_update) and sends every other
 * member a punch signal with the same candidates every 2 s, so a daemon
 * in the party keeps punching them. It also listens on --listen and counts
 * the datagrams that reach it there (a daemon's probes to the one candidate
 * that is real), writing the count to --count FILE after each.
 * SIGINT/SIGTERM: exits 0 at once (the control plane may be gone already:
 * the lab stops everything together), leaving the party to time it out.
 *
 * Usage: safety_tool --control URL [--control-pin PIN] --join PARTY_ID
 *	--listen IP:PORT --count FILE ENDPOINT...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"
#include "wg/wg.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void write_count(const char *path, unsigned long n)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lu\n", n);
	fclose(f);
	rename(tmp, path);
}

/* {"t":"punch","session":HEX,"candidates":[...],"relay":""}, as conn sends */
static void send_punches(struct ctl_client *ctl, const struct ctl_party *party,
			 char *const *eps, size_t n)
{
	char json[2048], session[17];
	uint8_t s[8];
	size_t off;

	crypto_random(s, sizeof(s));
	for (size_t i = 0; i < sizeof(s); i++)
		snprintf(session + 2 * i, 3, "%02x", s[i]);
	off = (size_t)snprintf(json, sizeof(json), "{\"t\":\"punch\",\"session\":\"%s\",\"candidates\":[",
			       session);
	for (size_t i = 0; i < n && off < sizeof(json); i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"%s\"", i ? "," : "", eps[i]);
	if (off < sizeof(json))
		snprintf(json + off, sizeof(json) - off, "],\"relay\":\"\"}");
	for (size_t i = 0; i < party->n_peers; i++)
		if (strcmp(party->peers[i].peer_id, ctl_client_peer_id(ctl)))
			(void)ctl_signal(ctl, party->peers[i].peer_id, json);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "control-pin", required_argument, NULL, 'k' },
		{ "join", required_argument, NULL, 'j' },
		{ "listen", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *pin = NULL, *join = NULL, *listen_at = NULL, *count = NULL;
	struct ctl_client_opts co;
	struct ctl_client *ctl = NULL;
	struct ctl_party party = { .n_peers = 0 };
	struct ctl_peer_update u = { 0 };
	struct wg_endpoint bind_ep;
	uint8_t priv[32];
	unsigned long got = 0;
	int opt, fd = -1, ret = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': url = optarg; break;
		case 'k': pin = optarg; break;
		case 'j': join = optarg; break;
		case 'l': listen_at = optarg; break;
		case 'n': count = optarg; break;
		default: return 2;
		}
	}
	if (!url || !join || !listen_at || !count || optind >= argc ||
	    wg_endpoint_parse(&bind_ep, listen_at)) {
		fprintf(stderr, "usage: safety_tool --control URL [--control-pin PIN] --join ID "
				"--listen IP:PORT --count FILE ENDPOINT...\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	log_set_level(LOG_INFO);
	fd = socket(bind_ep.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &bind_ep.sa, bind_ep.sa.sa_family == AF_INET
						    ? sizeof(bind_ep.in4) : sizeof(bind_ep.in6))) {
		perror("safety_tool: bind");
		goto out;
	}
	write_count(count, 0);
	if (crypto_init())
		goto out;
	crypto_random(priv, sizeof(priv));
	ctl_client_opts_default(&co);
	co.url = url;
	co.pin = pin;
	co.insecure = !strncmp(url, "ws://", 5);
	if (ctl_client_open(&co, &ctl) || ctl_register(ctl, priv, "mallory", "safety_tool") ||
	    ctl_party_join(ctl, join, &party)) {
		fprintf(stderr, "safety_tool: cannot join %s at %s\n", join, url);
		goto out;
	}
	u.endpoints = (const char *const *)(argv + optind);
	u.n_endpoints = (size_t)(argc - optind);
	if (ctl_peer_update(ctl, &u, NULL)) {
		fprintf(stderr, "safety_tool: the control plane refused the endpoints\n");
		goto out;
	}
	printf("joined %s as %s with %zu endpoints\n", join, ctl_client_peer_id(ctl),
	       u.n_endpoints);
	fflush(stdout);
	for (uint64_t next = 0; !stop;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[2048];

		if (time_mono_ns() >= next) {
			/* the party as it is now, then a new session to each member */
			ctl_party_clear(&party);
			(void)ctl_party_get(ctl, join, &party);
			send_punches(ctl, &party, argv + optind, u.n_endpoints);
			next = time_mono_ns() + 2000000000ULL;
		}
		(void)ctl_client_dispatch(ctl);
		if (poll(&p, 1, 200) > 0 && recv(fd, buf, sizeof(buf), 0) >= 0)
			write_count(count, ++got);
	}
	ret = 0;
out:
	ctl_party_clear(&party);
	ctl_client_close(ctl);
	crypto_wipe(priv, sizeof(priv));
	if (fd >= 0)
		close(fd);
	return ret;
}
