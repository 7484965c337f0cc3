/*
 * net_tool: drives the NetworkManager (src/net) for the root integration
 * tests in tests/net. It loads or creates the key pair, brings the interface
 * up, prints "up PUBLIC_KEY LISTEN_PORT", then runs one command per line of
 * stdin, answering each with "ok", "error: ..." or (status) a block ending
 * in "end":
 *	peer PUBKEY ENDPOINT|none AIP[,AIP...] KEEPALIVE
 *	remove PUBKEY
 *	status
 *	down
 * End of input, SIGINT or SIGTERM: net_free (removes the interface), exit 0.
 *
 * Usage: net_tool --state DIR --ifname NAME --addr A.B.C.D/P [--port N] [--mtu N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "net/net.h"

enum { MAX_AIPS = 16 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static int parse_peer(char *args, struct net_peer_config *p, struct net_allowed_ip *aips)
{
	char *pub = strtok(args, " "), *ep = strtok(NULL, " "), *list = strtok(NULL, " ");
	char *ka = strtok(NULL, " "), *save = NULL;

	if (!pub || !ep || !list || !ka || net_key_from_base64(p->public_key, pub))
		return -EINVAL;
	p->has_endpoint = strcmp(ep, "none") != 0;
	if (p->has_endpoint && wg_endpoint_parse(&p->endpoint, ep))
		return -EINVAL;
	p->allowed_ips = aips;
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (p->n_allowed_ips == MAX_AIPS || net_allowed_ip_parse(&aips[p->n_allowed_ips++], a))
			return -EINVAL;
	}
	p->keepalive = (uint16_t)atoi(ka);
	return 0;
}

static void print_status(struct net *net)
{
	struct net_status st;
	char text[80];
	int ret = net_status(net, &st);

	if (ret) {
		printf("error: %s\n", strerror(-ret));
		return;
	}
	printf("interface: %s\nbackend: %s\nrunning: %s\n", st.ifname, st.backend,
	       st.running ? "yes" : "no");
	if (st.has_public_key) {
		net_key_to_base64(text, st.public_key);
		printf("public key: %s\n", text);
	}
	printf("listening port: %u\n", st.listen_port);
	for (size_t i = 0; i < st.n_peers; i++) {
		const struct net_peer_status *p = &st.peers[i];

		net_key_to_base64(text, p->public_key);
		printf("peer: %s\n", text);
		if (p->has_endpoint) {
			wg_endpoint_format(&p->endpoint, text, sizeof(text));
			printf("  endpoint: %s\n", text);
		}
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			net_allowed_ip_format(&p->allowed_ips[j], text, sizeof(text));
			printf("  allowed ip: %s\n", text);
		}
		printf("  latest handshake: %llu\n  rx bytes: %llu\n  tx bytes: %llu\n"
		       "  persistent keepalive: %u\n",
		       (unsigned long long)p->last_handshake_sec, (unsigned long long)p->rx_bytes,
		       (unsigned long long)p->tx_bytes, p->keepalive);
	}
	printf("end\n");
	net_status_free(&st);
}

static void reply(int ret)
{
	if (ret)
		printf("error: %s\n", strerror(-ret));
	else
		printf("ok\n");
}

static void command(struct net *net, char *line)
{
	struct net_allowed_ip aips[MAX_AIPS];
	struct net_peer_config p = { 0 };
	uint8_t key[NET_KEY_LEN];

	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "peer ", 5)) {
		int ret = parse_peer(line + 5, &p, aips);

		reply(ret ? ret : net_peer_set(net, &p));
	} else if (!strncmp(line, "remove ", 7)) {
		reply(net_key_from_base64(key, line + 7) ? -EINVAL : net_peer_remove(net, key));
	} else if (!strcmp(line, "status")) {
		print_status(net);
	} else if (!strcmp(line, "down")) {
		reply(net_down(net));
	} else {
		printf("error: unknown command\n");
	}
}

static int parse_args(int argc, char **argv, struct net_config *cfg, const char **state)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		char addr[32], *slash;

		if (!strcmp(k, "--state")) {
			*state = v;
		} else if (!strcmp(k, "--ifname")) {
			cfg->ifname = v;
		} else if (!strcmp(k, "--port")) {
			cfg->listen_port = (uint16_t)atoi(v);
		} else if (!strcmp(k, "--mtu")) {
			cfg->mtu = (unsigned)atoi(v);
		} else if (!strcmp(k, "--addr")) {
			snprintf(addr, sizeof(addr), "%s", v);
			slash = strchr(addr, '/');
			if (!slash)
				return -EINVAL;
			*slash = '\0';
			cfg->prefix = (unsigned)atoi(slash + 1);
			if (inet_pton(AF_INET, addr, &cfg->addr) != 1)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return *state && cfg->addr.s_addr ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: fgets returns */
	const char *state = NULL, *level = getenv("LOG_LEVEL");
	struct net_keys *keys = NULL;
	struct net *net = NULL;
	struct net_config cfg;
	enum log_level lvl;
	char line[512];
	uint16_t port = 0;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (level && !log_level_parse(level, &lvl))
		log_set_level(lvl);
	net_config_init(&cfg);
	if (parse_args(argc, argv, &cfg, &state) || !(argc % 2)) {
		fprintf(stderr, "usage: %s --state DIR --ifname NAME --addr A.B.C.D/P [--port N] "
				"[--mtu N]\n", argv[0]);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	crypto_init();
	ret = net_keys_load_or_create(state, &keys);
	if (!ret)
		cfg.keys = keys;
	if (!ret)
		ret = net_up(&net, &cfg);
	if (!ret)
		ret = net_listen_port(net, &port);
	if (ret) {
		printf("error: %s\n", strerror(-ret));
		goto out;
	}
	printf("up %s %u\n", keys->public_b64, port);
	while (!stop && fgets(line, sizeof(line), stdin)) {
		command(net, line);
		fflush(stdout);
	}
	if (stop)
		log_info("net_tool", "signal %d: removing %s", (int)stop, net_ifname(net));
out:
	net_free(net);
	net_keys_free(keys);
	return ret ? 1 : 0;
}
