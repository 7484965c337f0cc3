/*
 * net_userspace: the embedded userspace WireGuard device as a backend.
 *
 * up creates the wg_loop (TUN interface, UDP socket, UAPI socket) on the
 * caller's thread, so every creation error comes back synchronously, then
 * runs wg_loop_run on a thread of its own with all signals blocked (the
 * daemon's handlers run on its control thread). Configuration goes through
 * wg_loop_uapi, the same text and the same code path as `wg set`.
 *
 * Invariants: loop is valid from up until down; the thread is joined exactly
 * once, in down; `running` is written by the loop thread only, once, when
 * wg_loop_run returns (the interface was deleted or its UAPI socket removed).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "net/net_uapi.h"

struct userspace {
	struct wg_loop *loop;
	pthread_t thread;
	atomic_bool running;
};

static int us_status(void *state, struct net_status *st);

static void *loop_thread(void *arg)
{
	struct userspace *u = arg;
	int ret = wg_loop_run(u->loop);

	if (ret)
		log_warn("net", "the WireGuard device stopped: %s", strerror(-ret));
	atomic_store(&u->running, false);
	return NULL;
}

/* Sends one request and turns the reply's errno into the return value. */
static int uapi(struct userspace *u, char *req)
{
	char *reply = NULL;
	int ret;

	if (!req)
		return -ENOMEM;
	ret = wg_loop_uapi(u->loop, req, strlen(req), &reply);
	crypto_wipe(req, strlen(req));
	free(req);
	if (!ret)
		ret = net_uapi_reply_errno(reply);
	free(reply); /* a set reply is only "errno=N" */
	return ret;
}

static int us_start_thread(struct userspace *u)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store(&u->running, true);
	ret = -pthread_create(&u->thread, NULL, loop_thread, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		atomic_store(&u->running, false);
	return ret;
}

static void us_down(void *state)
{
	struct userspace *u = state;

	if (!u)
		return;
	wg_loop_stop(u->loop);
	pthread_join(u->thread, NULL);
	wg_loop_free(u->loop); /* closes the TUN fd: the kernel removes the interface */
	free(u);
}

static int us_up(void **state, const struct net_backend_config *cfg)
{
	struct wg_loop_config lc = { .ifname = cfg->ifname, .tun_fd = -1,
				     .uapi_path = cfg->uapi_path };
	struct userspace *u = calloc(1, sizeof(*u));
	char *req = NULL;
	int ret;

	if (!u)
		return -ENOMEM;
	ret = wg_loop_new(&u->loop, &lc);
	if (ret) {
		log_error("net", "cannot create the WireGuard device %s: %s", cfg->ifname,
			  strerror(-ret));
		free(u);
		return ret;
	}
	net_uapi_device_request(cfg->private_key, cfg->listen_port, &req);
	ret = uapi(u, req);
	if (ret) {
		log_error("net", "cannot configure %s (listen port %u): %s", cfg->ifname,
			  cfg->listen_port, strerror(-ret));
		wg_loop_free(u->loop);
		free(u);
		return ret;
	}
	ret = us_start_thread(u);
	if (ret) {
		wg_loop_free(u->loop);
		free(u);
		return ret;
	}
	*state = u;
	return 0;
}

static int us_set_peer(void *state, const struct net_peer_config *peer)
{
	char *req = NULL;

	net_uapi_peer_request(peer, &req);
	return uapi(state, req);
}

static int us_remove_peer(void *state, const uint8_t public_key[NET_KEY_LEN])
{
	struct net_status st = { 0 };
	char *req = NULL;
	int ret;
	bool found = false;

	/* UAPI's remove of an unknown peer succeeds silently; callers want to know. */
	ret = us_status(state, &st);
	for (size_t i = 0; !ret && i < st.n_peers; i++)
		found |= crypto_equal(st.peers[i].public_key, public_key, NET_KEY_LEN);
	net_status_free(&st);
	if (ret)
		return ret;
	if (!found)
		return -ENOENT;
	net_uapi_remove_request(public_key, &req);
	return uapi(state, req);
}

static int us_status(void *state, struct net_status *st)
{
	struct userspace *u = state;
	char *reply = NULL;
	int ret = wg_loop_uapi(u->loop, "get=1\n\n", 7, &reply);

	if (!ret)
		ret = net_uapi_parse_status(reply, st);
	if (reply) {
		crypto_wipe(reply, strlen(reply)); /* it holds the private key */
		free(reply);
	}
	st->running = atomic_load(&u->running);
	return ret;
}

static int us_listen_port(void *state, uint16_t *port)
{
	struct net_status st = { 0 };
	int ret = us_status(state, &st);

	*port = st.listen_port;
	net_status_free(&st);
	return ret;
}

static int us_send_raw(void *state, const struct wg_endpoint *dst, const uint8_t *buf,
		       size_t len)
{
	struct userspace *u = state;

	return wg_loop_send_raw(u->loop, dst, buf, len);
}

static int us_set_dont_fragment(void *state, bool on)
{
	struct userspace *u = state;

	return wg_loop_set_dont_fragment(u->loop, on);
}

static int us_set_rx_hook(void *state, wg_rx_hook hook, void *ctx)
{
	struct userspace *u = state;

	wg_loop_set_rx_hook(u->loop, hook, ctx);
	return 0;
}

const struct net_backend_ops net_backend_userspace = {
	.name = "userspace",
	.up = us_up,
	.down = us_down,
	.set_peer = us_set_peer,
	.remove_peer = us_remove_peer,
	.status = us_status,
	.listen_port = us_listen_port,
	.send_raw = us_send_raw,
	.set_rx_hook = us_set_rx_hook,
	.set_dont_fragment = us_set_dont_fragment,
};
