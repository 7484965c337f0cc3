/*
 * disco_tool: the LAN discovery engine (src/disco) alone, on any interface,
 * so a test can run it over a tunnel LANrage does not carry (wireguard-go's,
 * or kernel WireGuard's) and show that capture and delivery never read the
 * tunnel's own device. Runs until SIGINT/SIGTERM, then prints its status as
 * one JSON line on stdout.
 *
 *   disco_tool IFACE SELF_IP/PREFIX MEMBER_IP... [--mode PORTS=native,...]
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disco/disco.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: disco_tool IFACE SELF_IP/PREFIX MEMBER_IP... [--mode LIST]\n");
	return 2;
}

static void print_status(struct disco *d)
{
	struct disco_status s;
	const struct disco_counters *c = &s.c;
	json_t *j;
	char *text;

	disco_status(d, &s);
	j = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "capturing",
		      s.capturing, "error", s.error, "captured", (json_int_t)c->captured,
		      "forwarded", (json_int_t)c->forwarded, "copies", (json_int_t)c->copies,
		      "duplicates", (json_int_t)c->duplicates, "denied", (json_int_t)c->denied,
		      "native_received", (json_int_t)c->native_received, "adverts_sent",
		      (json_int_t)c->adverts_sent, "adverts_received",
		      (json_int_t)c->adverts_received, "same_lan", (json_int_t)c->same_lan);
	text = json_dumps(j, JSON_COMPACT);
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(j);
}

int main(int argc, char **argv)
{
	struct disco_member m[16];
	struct disco_config cfg = { .mtu = 1420 };
	struct disco_policy pol;
	const char *mode = "";
	struct disco *d;
	char ip[INET_ADDRSTRLEN], err[256], *slash;
	size_t n = 0;

	if (argc < 4)
		return usage();
	cfg.ifname = argv[1];
	snprintf(ip, sizeof(ip), "%s", argv[2]);
	slash = strchr(ip, '/');
	if (!slash || inet_pton(AF_INET, (*slash = '\0', ip), &cfg.self_ip) != 1)
		return usage();
	cfg.prefix = (unsigned)atoi(slash + 1);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			mode = argv[++i];
			continue;
		}
		if (n == sizeof(m) / sizeof(m[0]))
			return usage();
		memset(&m[n], 0, sizeof(m[n]));
		if (inet_pton(AF_INET, argv[i], &m[n].vip) != 1)
			return usage();
		snprintf(m[n].peer_id, sizeof(m[n].peer_id), "member%zu", n);
		snprintf(m[n].name, sizeof(m[n].name), "%s", argv[i]);
		m[n].reachable = true;
		n++;
	}
	if (disco_policy_parse(&pol, true, "", mode, "", err, sizeof(err))) {
		fprintf(stderr, "disco_tool: %s\n", err);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (disco_new(&cfg, &pol, &d))
		return 1;
	disco_set_members(d, m, n);
	while (!stop)
		pause();
	print_status(d);
	disco_free(d);
	return 0;
}
