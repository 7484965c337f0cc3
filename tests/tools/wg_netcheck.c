/*
 * wg_netcheck: a test tool that proves netcheck runs over the WireGuard
 * device's own UDP socket. It creates a userspace device IFACE (with its UAPI
 * socket, so `wg` configures it), waits until a peer has been configured,
 * runs netcheck through wg_loop_send_raw and the device's receive hook, prints
 * the JSON report on stdout, and then keeps serving the device until
 * SIGINT/SIGTERM, so a test can compare the public endpoint STUN saw with the
 * endpoint the WireGuard peer sees.
 *
 *   wg_netcheck IFACE --stun HOST[:PORT] [--stun ...]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nat/netcheck.h"
#include "wg/wg.h"

static struct wg_loop *the_loop;

static void on_signal(int sig)
{
	(void)sig;
	if (the_loop)
		wg_loop_stop(the_loop);
}

static void *loop_thread(void *arg)
{
	wg_loop_run(arg);
	return NULL;
}

/* Polls the UAPI until a peer exists; returns the bound listen port or 0. */
static uint16_t wait_for_peer(struct wg_loop *loop)
{
	for (int i = 0; i < 600; i++) {
		char *reply = NULL, *lp;
		unsigned long port = 0;
		bool peer;

		if (wg_loop_uapi(loop, "get=1\n\n", 7, &reply) == 0 && reply) {
			peer = strstr(reply, "public_key=") != NULL;
			lp = strstr(reply, "listen_port=");
			if (lp)
				port = strtoul(lp + 12, NULL, 10);
			free(reply);
			if (peer && port)
				return (uint16_t)port;
		}
		usleep(50000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct wg_loop_config lc = { .tun_fd = -1 };
	struct netcheck_config cfg = { .timeout_ms = 5000 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct netcheck_report rep;
	struct netcheck_wg w;
	pthread_t th;
	uint16_t port;
	char *json;
	int i, ret;

	if (argc < 4) {
		fprintf(stderr, "usage: wg_netcheck IFACE --stun HOST[:PORT]...\n");
		return 2;
	}
	lc.ifname = argv[1];
	for (i = 2; i + 1 < argc && cfg.n_servers < NETCHECK_MAX_SERVERS; i += 2)
		if (!strcmp(argv[i], "--stun"))
			cfg.servers[cfg.n_servers++] = argv[i + 1];
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (wg_loop_new(&the_loop, &lc))
		return 1;
	if (pthread_create(&th, NULL, loop_thread, the_loop))
		return 1;
	port = wait_for_peer(the_loop);
	if (!port) {
		fprintf(stderr, "wg_netcheck: no peer configured within 30 s\n");
		wg_loop_stop(the_loop);
	} else if (netcheck_wg_open(&w, the_loop, port) == 0) {
		ret = netcheck_run(&cfg, &w.io, &rep);
		netcheck_wg_close(&w);
		json = ret ? NULL : netcheck_report_json(&rep);
		printf("%s\n", json ? json : "{}");
		fflush(stdout);
		free(json);
	}
	pthread_join(th, NULL);
	wg_loop_free(the_loop);
	return 0;
}
