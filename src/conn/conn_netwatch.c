/*
 * conn_netwatch: noticing that this host's network changed and repairing
 * the paths (docs/NET.md "Network changes").
 *
 * What counts as a change:
 *   - an rtnetlink event (platform_watch): a link up or down, an address or
 *     a main-table route added or removed, on any interface but the party's;
 *     events are gathered for CONN_CHANGE_SETTLE_NS, since a move to another
 *     network is several of them (address, then route);
 *   - a resume from sleep: CLOCK_BOOTTIME ran ahead of CLOCK_MONOTONIC,
 *     which stops while the machine sleeps;
 *   - our public mapping moved: every CONN_MAP_CHECK_NS (and after a lost
 *     echo on a direct path, at most once per CONN_MAP_EARLY_NS) one STUN
 *     request leaves the WireGuard socket for a STUN server that answered
 *     us, and its answer
 *     names a mapping we do not publish (a NAT whose public address or port
 *     changed tells no host behind it);
 *   - a suspicion (conn_netwatch_suspect): a path found dead, a relay that
 *     says we are unbound; at most one per CONN_SUSPECT_HOLDOFF_NS.
 * The repair: netcheck again, on its own thread so the control thread
 * keeps carrying relayed traffic (its STUN answers reach it through
 * nc_rxq); then, when the endpoints differ (or after a resume, when every
 * NAT mapping may have expired): connect to the control plane again (the
 * old connection may be dead without TCP knowing), publish the endpoints,
 * bind again at every relay we use (from the new address) and punch every
 * member again, which sends each one our new candidates. A suspicion also
 * sends the control connection's heartbeat at once: a NAT that lost its
 * mappings drops what the server pushes until we send something.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "conn/conn_priv.h"
#include "log/log.h"
#include "nat/stun.h"
#include "platform/platform.h"
#include "util/time.h"

#define MS 1000000ULL
#define CONN_CHANGE_SETTLE_NS (300ULL * MS)
#define CONN_SUSPECT_HOLDOFF_NS (10ULL * 1000000000ULL)
#define CONN_MAP_CHECK_NS (10ULL * 1000000000ULL)
#define CONN_MAP_EARLY_NS (1ULL * 1000000000ULL) /* checks asked for by a lost echo */
#define CONN_RESUME_GAP_NS (3ULL * 1000000000ULL)
#define CONN_FIRST_NETCHECK_MS 3000
#define CONN_NETCHECK_TIMEOUT_MS 2000
#define CONN_NETCHECK_RETRIES 3 /* after an incomplete one, 2, 4 and 6 s later */
#define CONN_NETCHECK_RETRY_NS (2ULL * 1000000000ULL)

/* ---- This node's endpoints ------------------------------------------------ */

/* Servers that answered in a report (0 when there is none). */
static size_t report_answered(const struct netcheck_report *rep)
{
	size_t n = 0;

	for (size_t i = 0; rep && i < rep->n_servers; i++)
		n += rep->servers[i].answered;
	return n;
}

/* This node's endpoints: the public ones from rep (or, with rep NULL, the
 * ones we had: a measurement that failed says nothing about them), then
 * the host's addresses as they are now. */
static void self_apply(struct conn *c, const struct netcheck_report *rep)
{
	struct conn_self_status *s = &c->self;
	struct cand_list pub = { .n = 0 };

	for (size_t i = 0; !rep && i < s->n_public; i++)
		(void)cand_add(&pub, &c->self_cands.ep[i]);
	if (rep) {
		snprintf(s->nat.type, sizeof(s->nat.type), "%s", nat_type_name(rep->type));
		snprintf(s->nat.mapping, sizeof(s->nat.mapping), "%s",
			 nat_behavior_name(rep->mapping));
		snprintf(s->nat.filtering, sizeof(s->nat.filtering), "%s",
			 nat_behavior_name(rep->filtering));
		for (size_t i = 0; i < rep->n_public; i++)
			(void)cand_add(&pub, &rep->public_eps[i]);
		c->has_stun_ep = false;
		for (size_t i = 0; i < rep->n_servers && !c->has_stun_ep; i++) {
			if (rep->servers[i].answered) {
				c->stun_ep = rep->servers[i].addr;
				c->has_stun_ep = true;
			}
		}
		c->nc_answered = report_answered(rep);
	}
	c->self_cands = pub;
	s->n_endpoints = 0;
	s->n_public = c->self_cands.n < CTL_MAX_ENDPOINTS ? c->self_cands.n : CTL_MAX_ENDPOINTS;
	(void)cand_local(&c->self_cands, net_ifname(c->cfg.net), c->wg_port);
	for (size_t i = 0; i < c->self_cands.n && s->n_endpoints < CTL_MAX_ENDPOINTS; i++)
		wg_endpoint_format(&c->self_cands.ep[i], s->endpoints[s->n_endpoints++],
				   CTL_ENDPOINT_LEN);
	s->udp_blocked = !strcmp(s->nat.type, "udp-blocked") && c->home < 0;
}

/* Only the endpoints count: a NAT type measured again soon after the last
 * time can read differently (the routers still hold the mappings the last
 * filtering tests opened), and changes nothing a member needs. */
static bool self_same(const struct conn_self_status *a, const struct conn_self_status *b)
{
	if (a->n_endpoints != b->n_endpoints)
		return false;
	for (size_t i = 0; i < a->n_endpoints; i++) {
		if (strcmp(a->endpoints[i], b->endpoints[i]))
			return false;
	}
	return true;
}

/* ---- The netcheck thread --------------------------------------------------- */

/* netcheck over the WireGuard socket: requests through send_raw (any
 * thread), answers from one of the receive hook's queues; anything else
 * read meanwhile, e.g. an early probe, is lost (probes are retried). */
struct nc_ctx {
	struct conn *c;
	struct rxq *q;
};

static int nc_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct nc_ctx *x = ctx;

	return net_send_raw(x->c->cfg.net, dst, buf, len);
}

static ssize_t nc_recv(void *ctx, uint8_t *buf, size_t cap, struct wg_endpoint *src)
{
	struct nc_ctx *x = ctx;

	return rxq_read(x->q, buf, cap, src);
}

static int nc_measure(struct conn *c, struct rxq *q, unsigned timeout_ms,
		      struct netcheck_report *rep)
{
	struct nc_ctx x = { .c = c, .q = q };
	struct netcheck_config nc = { .timeout_ms = timeout_ms, .skip_hairpin = true };
	struct netcheck_io io = {
		.ctx = &x, .fd = rxq_fd(q), .local_port = c->wg_port,
		.send = nc_send, .recv = nc_recv,
	};

	for (size_t i = 0; i < c->cfg.n_stun_servers && nc.n_servers < NETCHECK_MAX_SERVERS; i++)
		nc.servers[nc.n_servers++] = c->cfg.stun_servers[i];
	return nc.n_servers ? netcheck_run(&nc, &io, rep) : -EINVAL;
}

void conn_self_discover(struct conn *c)
{
	struct netcheck_report *rep = calloc(1, sizeof(*rep));
	bool ok = rep && nc_measure(c, &c->rxq, CONN_FIRST_NETCHECK_MS, rep) == 0;
	struct conn_self_status *s = &c->self;

	snprintf(s->nat.type, sizeof(s->nat.type), "unknown");
	snprintf(s->nat.mapping, sizeof(s->nat.mapping), "unknown");
	snprintf(s->nat.filtering, sizeof(s->nat.filtering), "unknown");
	self_apply(c, ok ? rep : NULL);
	if (ok)
		log_info(CONN_TAG, "NAT %s, %zu public mapping(s)", c->self.nat.type, rep->n_public);
	free(rep);
}

/* Touches only what is its own while nc_running: the configuration (fixed),
 * nc_rxq's read end, nc_rep and nc_ret; then says so on nc_event_fd. */
static void *nc_thread(void *arg)
{
	struct conn *c = arg;
	uint64_t one = 1;

	c->nc_ret = nc_measure(c, &c->nc_rxq, CONN_NETCHECK_TIMEOUT_MS, c->nc_rep);
	(void)!write(c->nc_event_fd, &one, sizeof(one));
	return NULL;
}

static void nc_start(struct conn *c)
{
	int ret;

	if (c->nc_running) {
		c->nc_again = true; /* what it measures may predate the change */
		return;
	}
	c->map_pending = false;
	ret = rxq_open(&c->nc_rxq);
	if (!ret)
		ret = -pthread_create(&c->nc_thread, NULL, nc_thread, c);
	if (ret) {
		log_warn(CONN_TAG, "cannot measure the network again: %s", strerror(-ret));
		rxq_close(&c->nc_rxq);
		return;
	}
	c->nc_running = true;
	c->nc_again = false;
}

/* ---- Repair ---------------------------------------------------------------- */

static void repair(struct conn *c)
{
	uint64_t now = time_mono_ns();

	for (size_t i = 0; i < c->n_relays; i++) {
		/* our relay socket's mapping moved with the rest: bind from it */
		if (c->relays[i].used)
			c->relays[i].bind_next_ns = now;
		c->relays[i].ping_next_ns = now;
	}
	conn_publish(c);
	for (size_t i = 0; i < c->n_members; i++)
		conn_punch_again(c, c->members[i]);
}

static void nc_done(struct conn *c)
{
	struct conn_self_status before = c->self;
	uint64_t exp;
	bool force = c->nc_force, incomplete;
	size_t answered;

	(void)!read(c->nc_event_fd, &exp, sizeof(exp));
	if (!c->nc_running)
		return;
	pthread_join(c->nc_thread, NULL);
	c->nc_running = false;
	rxq_close(&c->nc_rxq);
	/* Fewer servers answered than last time (DNS not up yet on a new
	 * network, a lost answer, UDP blocked): the public endpoints we have
	 * stay, the host's addresses are taken as they are, and we measure
	 * again a few times. A symmetric NAT's list shortened by one lost
	 * answer is no change; after the retries a report any server answered
	 * is taken (a server may be gone for good). */
	answered = c->nc_ret ? 0 : report_answered(c->nc_rep);
	incomplete = !answered ||
		     (answered < c->nc_answered && c->nc_retries < CONN_NETCHECK_RETRIES);
	self_apply(c, incomplete ? NULL : c->nc_rep);
	if (incomplete && c->nc_retries < CONN_NETCHECK_RETRIES) {
		c->nc_retries++;
		c->nc_retry_ns = time_mono_ns() + c->nc_retries * CONN_NETCHECK_RETRY_NS;
	} else if (!incomplete) {
		c->nc_retries = 0;
		c->nc_retry_ns = 0;
	}
	if (self_same(&before, &c->self) && !force) {
		log_info(CONN_TAG, "network measured again (%s): nothing changed", c->nc_reason);
	} else {
		char list[CTL_MAX_ENDPOINTS * (CTL_ENDPOINT_LEN + 1)] = "";

		for (size_t i = 0; i < c->self.n_endpoints; i++) {
			strcat(list, i ? " " : "");
			strcat(list, c->self.endpoints[i]);
		}
		log_info(CONN_TAG, "network changed (%s): NAT %s, endpoints %s; repairing paths",
			 c->nc_reason, c->self.nat.type, list[0] ? list : "none");
		c->nc_force = false;
		/* the control connection may have left from an address that is gone */
		if (c->cfg.ctl)
			ctl_client_network_changed(c->cfg.ctl);
		repair(c);
	}
	if (c->nc_again)
		nc_start(c);
}

static void rediscover(struct conn *c, const char *why, bool force)
{
	if (c->nc_event_fd < 0)
		return; /* set-up failed (logged) */
	if (!c->nc_running)
		snprintf(c->nc_reason, sizeof(c->nc_reason), "%s", why);
	c->nc_force |= force;
	nc_start(c);
}

/* ---- Triggers -------------------------------------------------------------- */

static int64_t boot_gap_ns(void)
{
	struct timespec b, m;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (int64_t)(b.tv_sec - m.tv_sec) * 1000000000LL + (b.tv_nsec - m.tv_nsec);
}

void conn_netwatch_suspect(struct conn *c, const char *why)
{
	uint64_t now = time_mono_ns();

	if (now < c->suspect_ns)
		return;
	c->suspect_ns = now + CONN_SUSPECT_HOLDOFF_NS;
	/* Our NAT may have lost the control connection's mapping as well: it
	 * then drops what the server pushes (a member's punch signal) until
	 * we send something. A new connection would be quicker still (TCP
	 * resends only when its backed-off timer fires), but it would fail
	 * the requests in flight, a user's join among them, on a mere
	 * suspicion; a changed network reconnects (nc_done). */
	if (c->cfg.ctl)
		ctl_client_poke(c->cfg.ctl);
	rediscover(c, why, false);
}

static void map_check_send(struct conn *c)
{
	uint8_t buf[64];
	struct stun_builder b;
	int len;

	stun_new_txid(c->map_txid);
	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_REQUEST, c->map_txid);
	len = stun_build_finish(&b, true);
	if (len > 0 && !net_send_raw(c->cfg.net, &c->stun_ep, buf, (size_t)len))
		c->map_pending = true;
}

void conn_netwatch_check_mapping(struct conn *c)
{
	uint64_t now = time_mono_ns();

	if (!c->has_stun_ep || c->nc_running || now < c->map_early_ns)
		return;
	c->map_early_ns = now + CONN_MAP_EARLY_NS;
	map_check_send(c);
}

void conn_netwatch_stun_rx(struct conn *c, const uint8_t *buf, size_t len,
			   const struct wg_endpoint *src)
{
	struct stun_msg msg;
	const struct wg_endpoint *mapped;
	char ep[CTL_ENDPOINT_LEN], why[CTL_ENDPOINT_LEN + 40];

	if (c->nc_running) {
		rxq_hook(&c->nc_rxq, buf, len, src);
		return;
	}
	if (!c->map_pending || stun_parse(&msg, buf, len) || msg.cls != STUN_SUCCESS ||
	    memcmp(msg.txid, c->map_txid, STUN_TXID_LEN))
		return;
	c->map_pending = false;
	mapped = stun_msg_mapped(&msg);
	if (!mapped)
		return;
	for (size_t i = 0; i < c->self.n_public; i++) {
		if (wg_endpoint_equal(&c->self_cands.ep[i], mapped))
			return;
	}
	wg_endpoint_format(mapped, ep, sizeof(ep));
	snprintf(why, sizeof(why), "public mapping now %s", ep);
	rediscover(c, why, false);
}

void conn_netwatch_rx(struct conn *c)
{
	char what[128];
	int ret = platform_watch_read(c->watch, c->own_ifindex, what, sizeof(what));

	if (ret < 0) {
		log_warn(CONN_TAG, "network events: %s; no longer watching", strerror(-ret));
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, platform_watch_fd(c->watch), NULL);
		return;
	}
	if (ret == 0)
		return;
	log_debug(CONN_TAG, "network event: %s", what);
	if (!c->change_ns) {
		snprintf(c->change_what, sizeof(c->change_what), "%s", what);
		c->change_ns = time_mono_ns() + CONN_CHANGE_SETTLE_NS;
	}
}

void conn_netwatch_event(struct conn *c)
{
	nc_done(c);
}

uint64_t conn_netwatch_tick(struct conn *c, uint64_t now)
{
	int64_t gap = boot_gap_ns();
	uint64_t next = UINT64_MAX;

	if (gap - c->boot_gap_ns > (int64_t)CONN_RESUME_GAP_NS) {
		char why[64];

		snprintf(why, sizeof(why), "resumed after %lld s asleep",
			 (long long)((gap - c->boot_gap_ns) / 1000000000LL));
		rediscover(c, why, true);
	}
	c->boot_gap_ns = gap;
	if (c->change_ns && now >= c->change_ns) {
		c->change_ns = 0;
		rediscover(c, c->change_what, false);
	}
	if (c->nc_retry_ns && now >= c->nc_retry_ns) {
		c->nc_retry_ns = 0;
		rediscover(c, "the last measurement was incomplete", false);
	}
	if (c->change_ns)
		next = c->change_ns;
	if (c->nc_retry_ns && c->nc_retry_ns < next)
		next = c->nc_retry_ns;
	/* no check while one cannot be sent: its time would stay past */
	if (!c->has_stun_ep || c->nc_running)
		return next;
	if (now >= c->map_check_ns) {
		c->map_check_ns = now + CONN_MAP_CHECK_NS;
		map_check_send(c);
	}
	return c->map_check_ns < next ? c->map_check_ns : next;
}

/* ---- Set-up ---------------------------------------------------------------- */

void conn_netwatch_open(struct conn *c)
{
	struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &c->src_watch };
	struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &c->src_netcheck };
	int ret;

	c->src_watch.kind = SRC_WATCH;
	c->src_netcheck.kind = SRC_NETCHECK;
	c->nc_rxq.fd[0] = c->nc_rxq.fd[1] = -1;
	c->own_ifindex = (int)if_nametoindex(net_ifname(c->cfg.net));
	c->boot_gap_ns = boot_gap_ns();
	c->map_check_ns = time_mono_ns() + CONN_MAP_CHECK_NS;
	c->nc_rep = calloc(1, sizeof(*c->nc_rep));
	c->nc_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->nc_rep || c->nc_event_fd < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->nc_event_fd, &e2)) {
		log_warn(CONN_TAG, "cannot set up network re-measurement: %s", strerror(errno));
		if (c->nc_event_fd >= 0)
			close(c->nc_event_fd);
		c->nc_event_fd = -1;
	}
	ret = platform_watch_open(&c->watch);
	if (!ret && epoll_ctl(c->epfd, EPOLL_CTL_ADD, platform_watch_fd(c->watch), &e1))
		ret = -errno;
	if (ret) {
		log_warn(CONN_TAG, "cannot watch for network changes: %s", strerror(-ret));
		platform_watch_close(c->watch);
		c->watch = NULL;
	}
}

void conn_netwatch_close(struct conn *c)
{
	if (c->nc_running) {
		pthread_join(c->nc_thread, NULL);
		c->nc_running = false;
	}
	rxq_close(&c->nc_rxq);
	platform_watch_close(c->watch);
	c->watch = NULL;
	if (c->nc_event_fd >= 0)
		close(c->nc_event_fd);
	c->nc_event_fd = -1;
	free(c->nc_rep);
	c->nc_rep = NULL;
}
