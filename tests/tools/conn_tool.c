/*
 * conn_tool: drives the ConnectionManager (src/conn) for tests/natlab/test_conn.sh
 * the way the daemon will: keys, a remote control client (register, party
 * create or join), the interface with the party's virtual IP (src/net), then
 * conn for every other member, fed with the control plane's events. Every
 * 250 ms it rewrites --status FILE (atomically) with one line per member:
 *	member NAME VIRTUAL_IP PATH endpoint=E relay=R rtt=MS detail=...
 * plus "self nat=TYPE home=RELAY endpoints=N".
 * SIGINT/SIGTERM: conn_free, net_free (interface removed), exit 0.
 *
 * Usage: conn_tool --state DIR --control URL --name NAME
 *	(--create PARTY_FILE | --join PARTY_FILE) --status FILE
 *	[--stun HOST[:PORT]]... [--port N] [--punch-timeout MS] [--upgrade S]
 *	[--monitor MS]
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

#include "conn/conn.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "net/net.h"
#include "util/time.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void on_event(void *arg, const struct ctl_event *ev)
{
	struct conn *c = arg;

	switch (ev->kind) {
	case CTL_EV_PEER_JOINED:
		(void)conn_peer_add(c, &ev->peer);
		break;
	case CTL_EV_PEER_UPDATED:
		(void)conn_peer_update(c, &ev->peer);
		break;
	case CTL_EV_PEER_LEFT:
		conn_peer_remove(c, ev->peer_id);
		break;
	case CTL_EV_SIGNAL:
		conn_on_signal(c, ev->from, ev->payload_json);
		break;
	case CTL_EV_RESYNC:
		for (size_t i = 0; ev->party && i < ev->party->n_peers; i++)
			(void)conn_peer_update(c, &ev->party->peers[i]);
		break;
	default:
		break;
	}
}

static void write_status(struct conn *c, const char *path)
{
	char tmp[4096];
	struct conn_peer_status *st = NULL;
	struct conn_self_status self;
	size_t n = 0;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	conn_self_status(c, &self);
	fprintf(f, "self nat=%s home=%s endpoints=%zu udp_blocked=%d\n", self.nat.type,
		self.home_relay[0] ? self.home_relay : "-", self.n_endpoints, self.udp_blocked);
	if (!conn_status(c, &st, &n)) {
		for (size_t i = 0; i < n; i++) {
			char rtt[32] = "-";

			if (st[i].rtt_valid)
				snprintf(rtt, sizeof(rtt), "%.2f", st[i].rtt_ms);
			fprintf(f, "member %s %s %s endpoint=%s relay=%s rtt=%s loss=%.0f detail=%s\n",
				st[i].name, st[i].virtual_ip, conn_path_name(st[i].path),
				st[i].endpoint[0] ? st[i].endpoint : "-",
				st[i].relay_id[0] ? st[i].relay_id : "-", rtt, st[i].loss_pct,
				st[i].detail);
		}
		free(st);
	}
	fclose(f);
	rename(tmp, path);
}

static int party_file_read(const char *path, char *id, size_t len)
{
	for (int i = 0; i < 600 && !stop; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			bool ok = fgets(id, (int)len, f) != NULL;

			fclose(f);
			id[strcspn(id, "\n")] = 0;
			if (ok && id[0])
				return 0;
		}
		usleep(100000);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	const char *state = NULL, *url = NULL, *pin = NULL, *name = "conn_tool", *create = NULL, *join = NULL;
	const char *status = NULL, *stun[8];
	size_t n_stun = 0;
	struct conn_config cc;
	struct net_config nc;
	struct ctl_client_opts co;
	struct net_keys *keys = NULL;
	struct ctl_client *ctl = NULL;
	struct net *net = NULL;
	struct conn *c = NULL;
	struct ctl_party party = { 0 };
	char party_id[64];
	int ret = 1, opt;
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "control-pin", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "create", required_argument, NULL, 'C' },
		{ "join", required_argument, NULL, 'J' },
		{ "status", required_argument, NULL, 'S' },
		{ "stun", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "punch-timeout", required_argument, NULL, 'P' },
		{ "upgrade", required_argument, NULL, 'u' },
		{ "monitor", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};

	conn_config_default(&cc);
	net_config_init(&nc);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'c': url = optarg; break;
		case 'k': pin = optarg; break;
		case 'n': name = optarg; break;
		case 'C': create = optarg; break;
		case 'J': join = optarg; break;
		case 'S': status = optarg; break;
		case 't':
			if (n_stun < 8)
				stun[n_stun++] = optarg;
			break;
		case 'p': nc.listen_port = (uint16_t)atoi(optarg); break;
		case 'P': cc.punch_timeout_ms = (uint32_t)atoi(optarg); break;
		case 'u': cc.upgrade_interval_s = (uint32_t)atoi(optarg); break;
		case 'm': cc.monitor_interval_ms = (uint32_t)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!state || !url || !status || !create == !join) {
		fprintf(stderr, "usage: conn_tool --state DIR --control URL [--control-pin PIN] "
				"--status FILE (--create F | --join F) [--stun A]... [--port N]\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	log_set_level(LOG_DEBUG);
	if (crypto_init() || net_keys_load_or_create(state, &keys))
		goto out;
	ctl_client_opts_default(&co);
	co.url = url;
	co.pin = pin;
	co.insecure = !strncmp(url, "ws://", 5);
	if (ctl_client_open(&co, &ctl) || ctl_register(ctl, keys->private_key, name, "conn_tool")) {
		fprintf(stderr, "conn_tool: cannot register with %s\n", url);
		goto out;
	}
	if (create) {
		char tmp[512];
		FILE *f;

		if (ctl_party_create(ctl, "conn test", 0, &party))
			goto out;
		snprintf(tmp, sizeof(tmp), "%s.tmp", create);
		f = fopen(tmp, "w");
		if (!f)
			goto out;
		fprintf(f, "%s\n", party.party_id);
		fclose(f);
		rename(tmp, create);
	} else {
		if (party_file_read(join, party_id, sizeof(party_id)) ||
		    ctl_party_join(ctl, party_id, &party)) {
			fprintf(stderr, "conn_tool: cannot join\n");
			goto out;
		}
	}
	for (size_t i = 0; i < party.n_peers; i++) {
		if (!strcmp(party.peers[i].peer_id, ctl_client_peer_id(ctl)))
			inet_pton(AF_INET, party.peers[i].virtual_ip, &nc.addr);
	}
	nc.keys = keys;
	nc.uapi_path = "";
	if (net_up(&net, &nc)) {
		fprintf(stderr, "conn_tool: net_up failed\n");
		goto out;
	}
	cc.net = net;
	cc.ctl = ctl;
	cc.keys = keys;
	cc.self_peer_id = ctl_client_peer_id(ctl);
	cc.stun_servers = stun;
	cc.n_stun_servers = n_stun;
	if (conn_new(&cc, &c))
		goto out;
	ctl_client_subscribe(ctl, on_event, c);
	for (size_t i = 0; i < party.n_peers; i++)
		(void)conn_peer_add(c, &party.peers[i]);
	printf("up %s\n", party.party_id);
	fflush(stdout);
	{
		uint64_t next_status = 0;

		while (!stop) {
			struct pollfd p[2] = {
				{ .fd = ctl_client_event_fd(ctl), .events = POLLIN },
				{ .fd = conn_fd(c), .events = POLLIN },
			};
			uint64_t wait = conn_run(c), now;

			if (wait > 250)
				wait = 250;
			(void)poll(p, 2, (int)wait);
			ctl_client_dispatch(ctl);
			now = time_mono_ns();
			if (now >= next_status) {
				write_status(c, status);
				next_status = now + 250000000ULL;
			}
		}
	}
	ret = 0;
out:
	conn_free(c);
	net_free(net);
	if (ctl && ret == 0)
		(void)ctl_party_leave(ctl);
	ctl_party_clear(&party);
	ctl_client_close(ctl);
	net_keys_free(keys);
	return ret;
}
