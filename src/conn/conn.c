/*
 * conn: the ConnectionManager (see conn.h for the strategy). This file holds
 * the members, the punching state machine, in-tunnel monitoring, signaling
 * and status; conn_relay.c holds the relays and the loopback shim.
 *
 * Per member: CONNECTING (punching) -> DIRECT when a valid probe or ACK
 * arrives, else RELAY when a relay is known, else FAILED (retried with
 * exponential backoff). On RELAY, a new punching attempt every
 * upgrade_interval_s; on DIRECT, CONN_LOST_ECHOES echoes lost in a row (sent
 * faster once one is lost) move the member to the relay and punch again.
 * Invariants: a member always has a WireGuard peer with its /32 as allowed IP;
 * its endpoint is the direct one on DIRECT and its shim on RELAY, and the shim
 * from the start while the first punching runs (when a relay is known).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "conn/conn_priv.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "nat/rxq.h"
#include "nat/stun.h"
#include "util/time.h"

#define MS 1000000ULL

void conn_config_default(struct conn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keepalive_s = 25;
	cfg->punch_timeout_ms = 5000;
	cfg->punch_interval_ms = 200;
	cfg->monitor_interval_ms = 2000;
	cfg->relay_switch_rtt_ms = 30;
	cfg->reconnect_backoff_min_ms = 500;
	cfg->reconnect_backoff_max_ms = 30000;
	cfg->upgrade_interval_s = 30;
	cfg->path_mtu = true;
}

const char *conn_path_name(enum conn_path p)
{
	switch (p) {
	case CONN_PATH_CONNECTING:
		return "connecting";
	case CONN_PATH_DIRECT:
		return "direct";
	case CONN_PATH_RELAY:
		return "relay";
	case CONN_PATH_FAILED:
		return "failed";
	}
	return "?";
}

/* ---- Helpers ------------------------------------------------------------- */

static struct conn_member *member_find(const struct conn *c, const char *peer_id)
{
	for (size_t i = 0; i < c->n_members; i++) {
		if (!strcasecmp(c->members[i]->peer.peer_id, peer_id))
			return c->members[i];
	}
	return NULL;
}

static void hex(char *out, const uint8_t *in, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(uint8_t *out, size_t n, const char *s)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < 2 * n; i++) {
		int v = s[i] >= '0' && s[i] <= '9'	 ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
			: s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
						     : -1;

		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int wg_set(struct conn *c, struct conn_member *m, const struct wg_endpoint *ep)
{
	struct net_peer_config pc = {
		.has_endpoint = ep != NULL,
		.allowed_ips = &m->aip,
		.n_allowed_ips = 1,
		.keepalive = c->cfg.keepalive_s,
	};
	int ret;

	memcpy(pc.public_key, m->peer.public_key, 32);
	if (ep)
		pc.endpoint = *ep;
	ret = net_peer_set(c->cfg.net, &pc);
	if (ret)
		log_warn(CONN_TAG, "member %s: cannot set WireGuard peer: %s", m->peer.peer_id,
			 strerror(-ret));
	return ret;
}

static void set_path(struct conn_member *m, enum conn_path p)
{
	if (m->path != p) {
		m->path = p;
		m->since_ns = time_mono_ns();
		mon_reset(&m->mon);
		/* an echo now: the new path's first answer starts its MTU probes */
		m->echo_next_ns = m->since_ns;
	}
}

/* ---- Signaling ----------------------------------------------------------- */

/* Requests to the control plane (punch signals, endpoint updates) go out
 * from conn's own thread: a request waits for the control connection up to
 * its timeout (10 s), and the control thread also carries the relayed
 * members' traffic (the shims), which must not stall while the control
 * server is away or slow. Only the newest signal per member is kept; the
 * oldest is dropped when the queue is full. Only the newest endpoint update
 * is kept too; a failed one is tried again every CONN_PUBLISH_RETRY_NS
 * until a newer one replaces it (at once when the connection was lost
 * under it: the request waits for the next one). */
bool conn_ctl_usable(const struct conn *c)
{
	return c->cfg.ctl && ctl_client_ready(c->cfg.ctl);
}

/* Sends the pending endpoint update; called and returns with sig_mu held. */
static void sig_publish(struct conn *c)
{
	struct conn_self_status self = c->pub_self;
	const char *eps[CTL_MAX_ENDPOINTS];
	struct ctl_peer_update u = { .endpoints = eps, .nat = &self.nat,
				     .relay = self.home_relay };
	struct ctl_peer out;
	int ret;

	c->pub_want = false;
	pthread_mutex_unlock(&c->sig_mu);
	for (size_t i = 0; i < self.n_endpoints; i++)
		eps[i] = self.endpoints[i];
	u.n_endpoints = self.n_endpoints;
	ret = ctl_peer_update(c->cfg.ctl, &u, &out);
	if (!ret)
		log_debug(CONN_TAG, "endpoints and home relay published");
	pthread_mutex_lock(&c->sig_mu);
	if (ret && !c->pub_want) {
		/* a connection lost under the request: again on the next one */
		bool reset = ret == -ECONNRESET;

		if (!reset)
			log_warn(CONN_TAG, "cannot publish endpoints and home relay (%s); "
				 "retrying", strerror(-ret));
		c->pub_want = true;
		c->pub_retry_ns = reset ? 0 : time_mono_ns() + CONN_PUBLISH_RETRY_NS;
	}
}

static void sig_wait(struct conn *c)
{
	struct timespec ts;
	uint64_t now = time_mono_ns(), wait;

	if (!c->pub_want) {
		pthread_cond_wait(&c->sig_cond, &c->sig_mu);
		return;
	}
	if (now >= c->pub_retry_ns)
		return;
	wait = c->pub_retry_ns - now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(wait / 1000000000ULL);
	ts.tv_nsec += (long)(wait % 1000000000ULL);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&c->sig_cond, &c->sig_mu, &ts);
}

/* Fetches the relay list asked for; called and returns with sig_mu held.
 * The control thread takes it when sig_event_fd says so. */
static void sig_relays_list(struct conn *c)
{
	struct ctl_relay *list = NULL;
	size_t n = 0;
	uint64_t one = 1;
	int ret;

	c->list_want = false;
	pthread_mutex_unlock(&c->sig_mu);
	ret = ctl_relays_list(c->cfg.ctl, &list, &n);
	pthread_mutex_lock(&c->sig_mu);
	if (ret) {
		log_debug(CONN_TAG, "relay list not fetched: %s", strerror(-ret));
		return;
	}
	free(c->list);
	c->list = list; /* NULL for an empty list */
	c->n_list = n;
	c->list_ready = true;
	(void)!write(c->sig_event_fd, &one, sizeof(one));
}

static void *sig_thread(void *arg)
{
	struct conn *c = arg;

	pthread_mutex_lock(&c->sig_mu);
	while (!c->sig_stop) {
		struct conn_sig sig;

		if (c->pub_want && time_mono_ns() >= c->pub_retry_ns) {
			sig_publish(c);
			continue;
		}
		if (!c->n_sigq && c->list_want) {
			sig_relays_list(c);
			continue;
		}
		if (!c->n_sigq) {
			sig_wait(c);
			continue;
		}
		sig = c->sigq[0];
		memmove(c->sigq, c->sigq + 1, --c->n_sigq * sizeof(c->sigq[0]));
		pthread_mutex_unlock(&c->sig_mu);
		if (ctl_signal(c->cfg.ctl, sig.to, sig.text))
			log_warn(CONN_TAG, "member %s: punch signal not sent", sig.to);
		else
			log_debug(CONN_TAG, "member %s: punch signal sent", sig.to);
		free(sig.text);
		pthread_mutex_lock(&c->sig_mu);
	}
	pthread_mutex_unlock(&c->sig_mu);
	return NULL;
}

void conn_ctl_relays_list(struct conn *c)
{
	if (!c->sig_started)
		return;
	pthread_mutex_lock(&c->sig_mu);
	c->list_want = true;
	pthread_cond_signal(&c->sig_cond);
	pthread_mutex_unlock(&c->sig_mu);
}

/* The control thread's side: the list the signal thread fetched. */
static void sig_listed(struct conn *c)
{
	struct ctl_relay *list;
	size_t n;
	uint64_t exp;
	bool ready;

	(void)!read(c->sig_event_fd, &exp, sizeof(exp));
	pthread_mutex_lock(&c->sig_mu);
	ready = c->list_ready;
	list = c->list;
	n = c->n_list;
	c->list = NULL;
	c->list_ready = false;
	pthread_mutex_unlock(&c->sig_mu);
	if (ready)
		conn_relay_listed(c, list, n);
}

static void sig_queue(struct conn *c, const char *to, char *text)
{
	size_t i;

	pthread_mutex_lock(&c->sig_mu);
	for (i = 0; i < c->n_sigq && strcasecmp(c->sigq[i].to, to); i++)
		;
	if (i < c->n_sigq) {
		free(c->sigq[i].text);
	} else {
		if (c->n_sigq == CONN_SIGQ_LEN) {
			free(c->sigq[0].text);
			memmove(c->sigq, c->sigq + 1, --c->n_sigq * sizeof(c->sigq[0]));
		}
		i = c->n_sigq++;
		snprintf(c->sigq[i].to, sizeof(c->sigq[i].to), "%s", to);
	}
	c->sigq[i].text = text;
	pthread_cond_signal(&c->sig_cond);
	pthread_mutex_unlock(&c->sig_mu);
}

static void send_punch(struct conn *c, struct conn_member *m)
{
	char session[2 * PROBE_SESSION_LEN + 1], ep[CTL_ENDPOINT_LEN];
	json_t *o = json_object(), *cands = json_array();
	char *text;

	hex(session, m->local_session, PROBE_SESSION_LEN);
	for (size_t i = 0; i < c->self_cands.n; i++) {
		wg_endpoint_format(&c->self_cands.ep[i], ep, sizeof(ep));
		json_array_append_new(cands, json_string(ep));
	}
	json_object_set_new(o, "t", json_string("punch"));
	json_object_set_new(o, "session", json_string(session));
	json_object_set_new(o, "candidates", cands);
	json_object_set_new(o, "relay", json_string(c->self.home_relay));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text || !c->sig_started) {
		free(text);
		return;
	}
	sig_queue(c, m->peer.peer_id, text);
}

/* The member's candidates, replaced: what it publishes now and what its last
 * punch signal said, through the filter (conn_cand.c), before any probe. */
static void member_cands_update(struct conn *c, struct conn_member *m)
{
	struct cand_list in = { .n = 0 };
	struct cand_filter f;

	for (size_t i = 0; i < m->peer.n_endpoints; i++)
		(void)cand_add_str(&in, m->peer.endpoints[i]);
	for (size_t i = 0; i < m->sig_cands.n; i++)
		(void)cand_add(&in, &m->sig_cands.ep[i]);
	(void)cand_filter_init(&f, net_ifname(c->cfg.net));
	(void)cand_select(&m->cands, &in, &f, m->peer.peer_id);
}

static void punch_start(struct conn *c, struct conn_member *m)
{
	uint64_t now = time_mono_ns();

	crypto_random(m->local_session, sizeof(m->local_session));
	m->has_local_session = true;
	m->punching = true;
	m->punch_next_ns = now;
	m->punch_end_ns = now + c->cfg.punch_timeout_ms * MS;
	cand_choice_reset(&m->choice);
	member_cands_update(c, m);
	/* a UDP-blocked node stays FAILED while it tries again: "connecting"
	 * every few seconds would hide the one thing the user must know */
	if (m->path == CONN_PATH_FAILED && !c->self.udp_blocked)
		set_path(m, CONN_PATH_CONNECTING);
	log_info(CONN_TAG, "member %s: punching %zu candidates", m->peer.peer_id, m->cands.n);
	send_punch(c, m);
}

void conn_punch_again(struct conn *c, struct conn_member *m)
{
	m->repairing = true;
	punch_start(c, m);
}

/* ---- Paths --------------------------------------------------------------- */

/* "IPv6; probes IPv4 0.3 ms, IPv6 40.4 ms": the family of the path in use
 * and the smallest probe round trip seen per family in the last attempt. */
static void path_text(const struct conn_member *m, char *out, size_t n)
{
	uint32_t v4 = 0, v6 = 0;
	int len;

	for (size_t i = 0; i < m->choice.n_paths; i++) {
		const struct cand_path *p = &m->choice.path[i];
		uint32_t *best = p->ep.sa.sa_family == AF_INET6 ? &v6 : &v4;

		if (p->rtt_us && (!*best || p->rtt_us < *best))
			*best = p->rtt_us;
	}
	len = snprintf(out, n, "%s", m->endpoint.sa.sa_family == AF_INET6 ? "IPv6" : "IPv4");
	if ((v4 || v6) && len > 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, "; probes");
	if (v4 && len > 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, " IPv4 %.1f ms%s", v4 / 1000.0,
				v6 ? "," : "");
	if (v6 && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, " IPv6 %.1f ms", v6 / 1000.0);
}

/* Punching goes on for a few rounds while an answer could still change the
 * path (cand_choice_open); the path in use needs no more probes. */
static void punch_settle(struct conn *c, struct conn_member *m)
{
	uint64_t grace;

	if (!m->punching)
		return;
	if (!cand_choice_open(&m->choice, &m->cands, &m->endpoint)) {
		m->punching = false;
		return;
	}
	/* a few more rounds from the first direct answer, never more */
	grace = time_mono_ns() + 3ULL * c->cfg.punch_interval_ms * MS;
	if (grace < m->punch_end_ns)
		m->punch_end_ns = grace;
}

/* Makes to the member's direct path, and says why in the log. */
static void path_set(struct conn *c, struct conn_member *m, const struct wg_endpoint *to)
{
	char ep[CTL_ENDPOINT_LEN], why[64];

	if (wg_set(c, m, to))
		return;
	m->repairing = false;
	m->endpoint = *to;
	set_path(m, CONN_PATH_DIRECT);
	m->backoff_ms = 0;
	conn_mtu_path(c, m, to, false);
	wg_endpoint_format(to, ep, sizeof(ep));
	path_text(m, why, sizeof(why));
	log_info(CONN_TAG, "member %s: direct via %s (%s)", m->peer.peer_id, ep, why);
	/* relayed packets still in flight may move WireGuard back to the shim */
	c->ep_check_ns = time_mono_ns() + 300 * MS;
	punch_settle(c, m);
}

/* src answered (cand_choice_answer has it): the first answer makes the
 * member DIRECT at once; later ones move it to the best path that answered
 * (cand_choice_best: LAN, then IPv6 unless IPv4 is clearly faster). */
static void go_direct(struct conn *c, struct conn_member *m, const struct wg_endpoint *src)
{
	struct wg_endpoint to = *src;

	if (m->path == CONN_PATH_DIRECT) {
		/* doubt about the path in use: one side's network changed (a
		 * repair) and it may be dead, or echoes are being lost in a row
		 * (one alone is plain loss); then the answer takes over */
		bool doubt = m->repairing || m->mon.consecutive_lost >= 2;

		if (!doubt)
			to = cand_choice_best(&m->choice, &m->endpoint, !m->punching);
		if (wg_endpoint_equal(&m->endpoint, &to)) {
			if (!doubt)
				punch_settle(c, m);
			return;
		}
	}
	path_set(c, m, &to);
}

static void go_relay_or_fail(struct conn *c, struct conn_member *m)
{
	uint64_t now = time_mono_ns();
	struct conn_relay *r = conn_relay_for(c, m);

	/* c->home < 0: no relay answers us (UDP blocked), so none can carry
	 * anything for us either */
	if (r && c->home >= 0 && m->shim_fd >= 0 && !wg_set(c, m, &m->shim_ep)) {
		if (m->path != CONN_PATH_RELAY || strcmp(m->relay_used, r->id))
			log_info(CONN_TAG, "member %s: relay %s (no direct path)", m->peer.peer_id,
				 r->id);
		snprintf(m->relay_used, sizeof(m->relay_used), "%s", r->id);
		set_path(m, CONN_PATH_RELAY);
		conn_mtu_path(c, m, &r->ep, true);
		m->backoff_ms = 0;
		m->upgrade_ns = c->cfg.upgrade_interval_s
					? now + c->cfg.upgrade_interval_s * 1000 * MS
					: UINT64_MAX;
		return;
	}
	m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : c->cfg.reconnect_backoff_min_ms;
	if (m->backoff_ms > c->cfg.reconnect_backoff_max_ms)
		m->backoff_ms = c->cfg.reconnect_backoff_max_ms;
	m->retry_ns = now + m->backoff_ms * MS;
	if (m->path != CONN_PATH_FAILED)
		log_warn(CONN_TAG, "member %s: no direct path and no relay; retrying in %u ms",
			 m->peer.peer_id, m->backoff_ms);
	set_path(m, CONN_PATH_FAILED);
}

void conn_relays_listed(struct conn *c)
{
	for (size_t i = 0; i < c->n_members; i++) {
		struct conn_member *m = c->members[i];
		const char *id = m->peer.relay[0] ? m->peer.relay : m->sig_relay;

		if (m->path == CONN_PATH_FAILED && !m->punching && conn_relay_find(c, id))
			go_relay_or_fail(c, m);
	}
}

/* ---- Probes -------------------------------------------------------------- */

static void probe_send(struct conn *c, struct conn_member *m, enum probe_type type,
		       const uint8_t session[PROBE_SESSION_LEN], uint32_t seq,
		       const struct wg_endpoint *dst)
{
	struct probe_frame f = { .type = type, .seq = seq };
	uint8_t buf[PROBE_LEN];

	memcpy(f.session, session, PROBE_SESSION_LEN);
	if (probe_build(buf, sizeof(buf), &f, m->pair_key, c->cfg.keys->public_key) > 0)
		(void)net_send_raw(c->cfg.net, dst, buf, sizeof(buf));
}

static void probe_rx(struct conn *c, const uint8_t *buf, size_t len, const struct wg_endpoint *src)
{
	struct probe_frame f;

	for (size_t i = 0; i < c->n_members; i++) {
		struct conn_member *m = c->members[i];

		if (probe_parse(buf, len, m->pair_key, m->peer.public_key, &f))
			continue;
		if (f.type == PROBE_PROBE) {
			/* answer from where it came: that is the hole */
			probe_send(c, m, PROBE_ACK, f.session, f.seq, src);
			if (m->punching)
				(void)cand_add(&m->cands, src); /* peer-reflexive */
			if (m->has_remote_session &&
			    !memcmp(f.session, m->remote_session, PROBE_SESSION_LEN)) {
				cand_choice_answer(&m->choice, src, false, 0, time_mono_ns());
				go_direct(c, m, src);
			}
		} else if (m->has_local_session &&
			   !memcmp(f.session, m->local_session, PROBE_SESSION_LEN)) {
			/* our round seq came back: its round trip */
			cand_choice_answer(&m->choice, src, true, f.seq, time_mono_ns());
			go_direct(c, m, src);
		}
		return;
	}
}

static void hook_rx(struct conn *c)
{
	uint8_t buf[2048];
	struct wg_endpoint src;
	ssize_t n;

	while ((n = rxq_read(&c->rxq, buf, sizeof(buf), &src)) != -EAGAIN && n != -EWOULDBLOCK) {
		if (n < 0)
			break;
		if (probe_is_frame(buf, (size_t)n))
			probe_rx(c, buf, (size_t)n, &src);
		else if (stun_is_message(buf, (size_t)n))
			conn_netwatch_stun_rx(c, buf, (size_t)n, &src);
		/* anything else: dropped */
	}
}

/* ---- Echo (in-tunnel monitoring) ----------------------------------------- */

static void echo_rx(struct conn *c)
{
	uint8_t buf[64];

	for (;;) {
		struct wg_endpoint src = { 0 };
		socklen_t sl = sizeof(src);
		/* MSG_TRUNC: a path MTU probe's whole length, read truncated */
		ssize_t n = recvfrom(c->echo_fd, buf, sizeof(buf), MSG_TRUNC, &src.sa, &sl);
		int type;
		uint32_t seq;
		uint64_t stamp;

		if (n < 0)
			break;
		if (n >= 4 && (buf[3] == ECHO_PROBE || buf[3] == ECHO_PROBE_REPLY)) {
			conn_mtu_echo_rx(c, buf, (size_t)n, &src, sl);
			continue;
		}
		if ((size_t)n > sizeof(buf) || echo_parse(buf, (size_t)n, &type, &seq, &stamp))
			continue;
		if (type == ECHO_REQUEST) {
			echo_build(buf, ECHO_REPLY, seq, stamp);
			(void)sendto(c->echo_fd, buf, ECHO_LEN, MSG_NOSIGNAL, &src.sa, sl);
			continue;
		}
		for (size_t i = 0; i < c->n_members; i++) {
			if (wg_endpoint_equal(&c->members[i]->vip, &src)) {
				mon_reply(&c->members[i]->mon, seq, time_mono_ns());
				break;
			}
		}
	}
}

static void echo_open(struct conn *c)
{
	struct ifaddrs *ifa = NULL;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(CONN_ECHO_PORT) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->src_echo };

	c->echo_fd = -1;
	if (getifaddrs(&ifa))
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, net_ifname(c->cfg.net))) {
			c->self_vip = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			c->has_vip = true;
			break;
		}
	}
	freeifaddrs(ifa);
	if (!c->has_vip) {
		log_warn(CONN_TAG, "%s has no IPv4 address: no in-tunnel monitoring",
			 net_ifname(c->cfg.net));
		return;
	}
	sin.sin_addr = c->self_vip;
	c->echo_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->echo_fd < 0 || bind(c->echo_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->echo_fd, &ev)) {
		log_warn(CONN_TAG, "echo socket on port %d: %s: no in-tunnel monitoring",
			 CONN_ECHO_PORT, strerror(errno));
		if (c->echo_fd >= 0)
			close(c->echo_fd);
		c->echo_fd = -1;
	}
}

static void monitor(struct conn *c, struct conn_member *m, uint64_t now)
{
	uint8_t buf[ECHO_LEN];
	uint64_t interval = c->cfg.monitor_interval_ms * MS;

	if (m->path != CONN_PATH_DIRECT && m->path != CONN_PATH_RELAY) {
		m->echo_next_ns = now + interval;
		return;
	}
	mon_expire(&m->mon, now - interval + 1);
	/* the first thing a NAT's new public address shows: lost echoes */
	if (m->path == CONN_PATH_DIRECT && m->mon.consecutive_lost)
		conn_netwatch_check_mapping(c);
	if (m->path == CONN_PATH_RELAY && m->mon.consecutive_lost >= CONN_RELAY_LOSS_REBIND)
		conn_relay_path_lost(c, m, now);
	/* a path whose tunnel never answered yet may be waiting for one
	 * WireGuard handshake retry (5 s): give it that before giving up */
	if (m->mon.consecutive_lost >= CONN_LOST_ECHOES &&
	    (m->mon.up || now - m->since_ns >= CONN_FIRST_ANSWER_NS)) {
		log_warn(CONN_TAG, "member %s: no echo answer for %u echoes in a row on the %s "
			 "path; reconnecting", m->peer.peer_id, m->mon.consecutive_lost,
			 conn_path_name(m->path));
		mon_reset(&m->mon);
		conn_netwatch_suspect(c, "a path stopped answering");
		if (m->path == CONN_PATH_DIRECT)
			go_relay_or_fail(c, m);
		if (!m->punching)
			punch_start(c, m);
	}
	if (c->echo_fd >= 0 && (m->path == CONN_PATH_DIRECT || m->path == CONN_PATH_RELAY)) {
		uint32_t seq = mon_sent(&m->mon, now);

		echo_build(buf, ECHO_REQUEST, seq, now);
		(void)sendto(c->echo_fd, buf, sizeof(buf), MSG_NOSIGNAL, &m->vip.sa,
			     sizeof(m->vip.in4));
	}
	/* after a loss, ask again sooner: a dead path is found in about the
	 * same time as before, a lossy one is not taken for dead */
	m->echo_next_ns = now + (m->mon.consecutive_lost ? interval / CONN_FAST_ECHO_DIV : interval);
}

/* ---- Members ------------------------------------------------------------- */

static void member_free(struct conn *c, struct conn_member *m)
{
	(void)net_peer_remove(c->cfg.net, m->peer.public_key);
	if (m->route_mtu)
		(void)net_peer_mtu(c->cfg.net, m->aip.v4, 0);
	if (m->shim_fd >= 0)
		close(m->shim_fd); /* leaves the epoll set with it */
	crypto_wipe(m->pair_key, sizeof(m->pair_key));
	free(m);
}

static int member_key(struct conn *c, struct conn_member *m)
{
	int ret = probe_pair_key(m->pair_key, c->cfg.keys->private_key, m->peer.public_key);

	if (ret)
		log_warn(CONN_TAG, "member %s: unusable public key", m->peer.peer_id);
	return ret;
}

static void replay_pending(struct conn *c, const char *peer_id)
{
	for (size_t i = 0; i < CONN_MAX_PENDING_SIGNALS; i++) {
		char *p = c->pending[i].payload;

		if (!p || strcasecmp(c->pending[i].from, peer_id))
			continue;
		c->pending[i].payload = NULL;
		conn_on_signal(c, peer_id, p);
		free(p);
	}
}

int conn_peer_add(struct conn *c, const struct ctl_peer *peer)
{
	struct conn_member *m, **grown;
	struct conn_relay *r;
	int ret;

	if (!strcasecmp(peer->peer_id, c->self_id))
		return 0;
	if (member_find(c, peer->peer_id))
		return conn_peer_update(c, peer);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->peer = *peer;
	m->shim_fd = -1;
	m->path = CONN_PATH_CONNECTING;
	m->since_ns = time_mono_ns();
	m->vip.in4.sin_family = AF_INET;
	m->vip.in4.sin_port = htons(CONN_ECHO_PORT);
	ret = -EINVAL;
	if (inet_pton(AF_INET, peer->virtual_ip, &m->vip.in4.sin_addr) != 1) {
		log_warn(CONN_TAG, "member %s: bad virtual IP '%s'", peer->peer_id, peer->virtual_ip);
		goto fail;
	}
	m->aip.family = AF_INET;
	m->aip.v4 = m->vip.in4.sin_addr;
	m->aip.cidr = 32;
	ret = member_key(c, m);
	if (ret)
		goto fail;
	ret = conn_shim_open(c, m);
	if (ret)
		goto fail;
	/* While punching, WireGuard's endpoint is the relay shim: a packet sent
	 * right after joining (a ping, our first echo) makes WireGuard send a
	 * handshake initiation at once and no other for REKEY_TIMEOUT (5 s);
	 * through the relay it arrives, so the session is up when the direct
	 * path is found (WireGuard keeps it across the endpoint change), and a
	 * relayed pair does not wait for the punching timeout. */
	r = c->home >= 0 ? conn_relay_for(c, m) : NULL;
	ret = wg_set(c, m, r ? &m->shim_ep : NULL);
	if (ret)
		goto fail;
	if (r)
		conn_mtu_path(c, m, &r->ep, true); /* the shim is the path meanwhile */
	grown = realloc(c->members, (c->n_members + 1) * sizeof(*grown));
	ret = -ENOMEM;
	if (!grown)
		goto fail_peer;
	c->members = grown;
	c->members[c->n_members++] = m;
	m->echo_next_ns = time_mono_ns();
	log_info(CONN_TAG, "member %s (%s, %s) added", peer->peer_id, peer->name, peer->virtual_ip);
	punch_start(c, m);
	replay_pending(c, peer->peer_id);
	return 0;
fail_peer:
	(void)net_peer_remove(c->cfg.net, m->peer.public_key);
fail:
	if (m->shim_fd >= 0)
		close(m->shim_fd);
	crypto_wipe(m->pair_key, sizeof(m->pair_key));
	free(m);
	return ret;
}

int conn_peer_update(struct conn *c, const struct ctl_peer *peer)
{
	struct conn_member *m = member_find(c, peer->peer_id);
	bool relay_changed;

	if (!m)
		return conn_peer_add(c, peer);
	if (memcmp(m->peer.public_key, peer->public_key, 32) ||
	    strcmp(m->peer.virtual_ip, peer->virtual_ip)) {
		/* a new identity or address: start over */
		conn_peer_remove(c, peer->peer_id);
		return conn_peer_add(c, peer);
	}
	relay_changed = strcmp(m->peer.relay, peer->relay) != 0;
	m->peer = *peer;
	member_cands_update(c, m);
	if (relay_changed && m->path == CONN_PATH_RELAY) {
		/* the member moved home (its relay died or degraded): follow it */
		go_relay_or_fail(c, m);
	} else if (m->path == CONN_PATH_FAILED) {
		m->retry_ns = time_mono_ns();
	}
	return 0;
}

void conn_peer_remove(struct conn *c, const char *peer_id)
{
	for (size_t i = 0; i < c->n_members; i++) {
		struct conn_member *m = c->members[i];

		if (strcasecmp(m->peer.peer_id, peer_id))
			continue;
		log_info(CONN_TAG, "member %s removed", m->peer.peer_id);
		member_free(c, m);
		c->members[i] = c->members[--c->n_members];
		return;
	}
}

void conn_peer_remove_all(struct conn *c)
{
	while (c->n_members)
		conn_peer_remove(c, c->members[0]->peer.peer_id);
}

static void pending_store(struct conn *c, const char *from, const char *payload)
{
	size_t slot = 0;

	for (size_t i = 0; i < CONN_MAX_PENDING_SIGNALS; i++) {
		if (!c->pending[i].payload) {
			slot = i;
			break;
		}
		slot = (size_t)crypto_random_uniform(CONN_MAX_PENDING_SIGNALS);
	}
	free(c->pending[slot].payload);
	c->pending[slot].payload = strdup(payload);
	snprintf(c->pending[slot].from, sizeof(c->pending[slot].from), "%s", from);
}

void conn_on_signal(struct conn *c, const char *from_peer_id, const char *payload_json)
{
	struct conn_member *m = member_find(c, from_peer_id);
	json_t *o, *cands;
	const char *t, *session, *relay;
	uint8_t s[PROBE_SESSION_LEN];
	size_t i;
	json_t *v;

	if (!m) {
		/* the signal overtook the member's arrival: keep it for conn_peer_add */
		pending_store(c, from_peer_id, payload_json);
		return;
	}
	o = json_loads(payload_json, 0, NULL);
	if (!json_is_object(o))
		goto out;
	t = json_string_value(json_object_get(o, "t"));
	session = json_string_value(json_object_get(o, "session"));
	relay = json_string_value(json_object_get(o, "relay"));
	cands = json_object_get(o, "candidates");
	if (!t || strcmp(t, "punch") || !session || unhex(s, sizeof(s), session) ||
	    (cands && !json_is_array(cands))) {
		log_debug(CONN_TAG, "member %s: unknown or bad signal ignored", from_peer_id);
		goto out;
	}
	m->sig_cands.n = 0;
	json_array_foreach(cands, i, v) {
		if (json_is_string(v))
			(void)cand_add_str(&m->sig_cands, json_string_value(v));
	}
	member_cands_update(c, m);
	if (relay && strlen(relay) <= CTL_MAX_NAME)
		snprintf(m->sig_relay, sizeof(m->sig_relay), "%s", relay);
	if (m->has_remote_session && !memcmp(s, m->remote_session, sizeof(s)))
		goto out; /* a repeat: answered already */
	memcpy(m->remote_session, s, sizeof(s));
	m->has_remote_session = true;
	log_debug(CONN_TAG, "member %s: punch signal, %zu candidates", from_peer_id,
		  m->sig_cands.n);
	/* a member on a direct path punching again: its network changed */
	if (m->path == CONN_PATH_DIRECT)
		m->repairing = true;
	/* answer each new session of theirs once, with ours */
	if (!m->punching)
		punch_start(c, m);
	else
		send_punch(c, m);
out:
	json_decref(o);
}

/* ---- Timers and the loop ------------------------------------------------- */

static uint64_t member_tick(struct conn *c, struct conn_member *m, uint64_t now)
{
	uint64_t next = UINT64_MAX, t;

	if (m->punching && now >= m->punch_end_ns) {
		m->punching = false;
		m->repairing = false;
		if (m->path != CONN_PATH_DIRECT) {
			go_relay_or_fail(c, m);
		} else {
			/* what answered is all there is: a round trip still
			 * missing leaves IPv6 against IPv4 to the rank */
			struct wg_endpoint to = cand_choice_best(&m->choice, &m->endpoint, true);

			if (!wg_endpoint_equal(&m->endpoint, &to))
				path_set(c, m, &to);
		}
	}
	if (m->punching && now >= m->punch_next_ns) {
		for (size_t i = 0; i < m->cands.n; i++)
			probe_send(c, m, PROBE_PROBE, m->local_session, m->probe_seq, &m->cands.ep[i]);
		cand_choice_sent(&m->choice, m->probe_seq, now);
		m->probe_seq++;
		m->punch_next_ns = now + c->cfg.punch_interval_ms * MS;
	}
	if (m->punching) {
		next = m->punch_next_ns < m->punch_end_ns ? m->punch_next_ns : m->punch_end_ns;
	} else if (m->path == CONN_PATH_FAILED) {
		if (now >= m->retry_ns)
			punch_start(c, m);
		next = m->punching ? now : m->retry_ns;
	} else if (m->path == CONN_PATH_RELAY && now >= m->upgrade_ns) {
		log_info(CONN_TAG, "member %s: trying to upgrade to direct", m->peer.peer_id);
		m->upgrade_ns = c->cfg.upgrade_interval_s
					? now + c->cfg.upgrade_interval_s * 1000 * MS
					: UINT64_MAX;
		punch_start(c, m);
		next = now;
	} else if (m->path == CONN_PATH_RELAY) {
		next = m->upgrade_ns;
	}
	if (now >= m->echo_next_ns)
		monitor(c, m, now);
	t = conn_mtu_run(c, m, now);
	if (t < next)
		next = t;
	return m->echo_next_ns < next ? m->echo_next_ns : next;
}

/* WireGuard roams: its endpoint follows the source of the peer's latest
 * authenticated packet. Packets the member sent through the relay before it
 * found the direct path too (it punches on its own clock) arrive after ours
 * switched to direct and move WireGuard back to the shim; if both sides do
 * that, both stay on the relay for good. So the direct endpoint is put back
 * when WireGuard moved to a shim (loopback) or to a path ours would replace
 * (cand_prefer, with the moved-to path as the one in use: from a LAN
 * address to a public one, from IPv4 to an IPv6 path as fast, from IPv6 to
 * an IPv4 path clearly slower). The member's own choice between IPv6 and
 * IPv4 is followed when ours did not clearly differ: the two ends measure
 * the same round trips, so the margins' band lets them agree instead of
 * each putting its own back. Anywhere else the member itself moved (its
 * NAT gave it a new mapping, its host a new address): that is followed, as
 * WireGuard did. */
static void endpoint_moved(struct conn *c, struct conn_member *m, const struct wg_endpoint *ep)
{
	char text[CTL_ENDPOINT_LEN];
	bool loopback = ep->sa.sa_family == AF_INET &&
			(ntohl(ep->in4.sin_addr.s_addr) >> 24) == 127;
	struct cand_path ours = cand_choice_path(&m->choice, &m->endpoint);
	struct cand_path moved = cand_choice_path(&m->choice, ep);
	/* while an attempt (not a repair) still measures, the member may be
	 * trying a path it will not keep: ours holds until both are known */
	bool measuring = m->punching && !m->repairing && (!ours.rtt_us || !moved.rtt_us);

	if (loopback || measuring || cand_prefer(&ours, &moved)) {
		log_debug(CONN_TAG, "member %s: WireGuard left the direct endpoint; "
			  "putting it back", m->peer.peer_id);
		(void)wg_set(c, m, &m->endpoint);
		return;
	}
	wg_endpoint_format(ep, text, sizeof(text));
	log_info(CONN_TAG, "member %s: direct via %s (it moved)", m->peer.peer_id, text);
	m->endpoint = *ep;
	conn_mtu_path(c, m, ep, false);
}

static uint64_t endpoints_check(struct conn *c, uint64_t now)
{
	struct net_status st;

	if (now < c->ep_check_ns)
		return c->ep_check_ns;
	c->ep_check_ns = now + c->cfg.monitor_interval_ms * MS / 2;
	if (net_status(c->cfg.net, &st))
		return c->ep_check_ns;
	for (size_t i = 0; i < c->n_members; i++) {
		struct conn_member *m = c->members[i];

		if (m->path != CONN_PATH_DIRECT)
			continue;
		for (size_t j = 0; j < st.n_peers; j++) {
			if (memcmp(st.peers[j].public_key, m->peer.public_key, 32))
				continue;
			if (st.peers[j].has_endpoint &&
			    !wg_endpoint_equal(&st.peers[j].endpoint, &m->endpoint))
				endpoint_moved(c, m, &st.peers[j].endpoint);
			else if (!st.peers[j].has_endpoint)
				(void)wg_set(c, m, &m->endpoint);
			break;
		}
	}
	net_status_free(&st);
	return c->ep_check_ns;
}

int conn_fd(const struct conn *c)
{
	return c->epfd;
}

uint64_t conn_run(struct conn *c)
{
	struct epoll_event ev[16];
	int n = epoll_wait(c->epfd, ev, 16, 0);
	uint64_t now, next, t_ep, t;
	struct itimerspec its = { 0 };

	for (int i = 0; i < n; i++) {
		struct conn_src *s = ev[i].data.ptr;

		switch (s->kind) {
		case SRC_HOOK:
			hook_rx(c);
			break;
		case SRC_RELAY:
			conn_relay_rx(c);
			break;
		case SRC_ECHO:
			echo_rx(c);
			break;
		case SRC_TIMER: {
			uint64_t exp;

			(void)!read(c->timerfd, &exp, sizeof(exp));
			break;
		}
		case SRC_SHIM:
			conn_shim_rx(c, s->m);
			break;
		case SRC_WATCH:
			conn_netwatch_rx(c);
			break;
		case SRC_NETCHECK:
			conn_netwatch_event(c);
			break;
		case SRC_LISTED:
			sig_listed(c);
			break;
		}
	}
	now = time_mono_ns();
	next = conn_relay_tick(c, now);
	t_ep = endpoints_check(c, now);
	t = conn_netwatch_tick(c, now);
	if (t < next)
		next = t;
	if (t_ep < next)
		next = t_ep;
	for (size_t i = 0; i < c->n_members; i++) {
		t = member_tick(c, c->members[i], now);
		if (t < next)
			next = t;
	}
	now = time_mono_ns();
	next = next > now ? (next - now + MS - 1) / MS : 0;
	if (next > 1000)
		next = 1000;
	its.it_value.tv_sec = (time_t)(next / 1000);
	its.it_value.tv_nsec = (long)(next % 1000) * 1000000 + 1;
	(void)timerfd_settime(c->timerfd, 0, &its, NULL);
	return next;
}

/* ---- Self status and publication ----------------------------------------- */

void conn_publish(struct conn *c)
{
	if (!c->sig_started)
		return;
	pthread_mutex_lock(&c->sig_mu);
	c->pub_self = c->self;
	c->pub_want = true;
	c->pub_retry_ns = 0;
	pthread_cond_signal(&c->sig_cond);
	pthread_mutex_unlock(&c->sig_mu);
}

int conn_new(const struct conn_config *cfg, struct conn **out)
{
	pthread_condattr_t ca;
	struct conn *c;
	int ret = -EINVAL;

	*out = NULL;
	if (!cfg->net || !cfg->keys || !cfg->self_peer_id || !cfg->punch_interval_ms ||
	    !cfg->monitor_interval_ms)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	pthread_mutex_init(&c->sig_mu, NULL);
	/* sig_wait's deadlines are on the monotonic clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->sig_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->epfd = c->timerfd = c->relay_fd = c->echo_fd = c->nc_event_fd = c->sig_event_fd = -1;
	c->rxq.fd[0] = c->rxq.fd[1] = -1; /* closed until rxq_open */
	c->nc_rxq.fd[0] = c->nc_rxq.fd[1] = -1;
	c->home = -1;
	snprintf(c->self_id, sizeof(c->self_id), "%s", cfg->self_peer_id);
	ret = net_listen_port(cfg->net, &c->wg_port);
	if (ret)
		goto fail;
	c->wg_local.in4.sin_family = AF_INET;
	c->wg_local.in4.sin_port = htons(c->wg_port);
	c->wg_local.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->src_hook.kind = SRC_HOOK;
	c->src_timer.kind = SRC_TIMER;
	c->src_echo.kind = SRC_ECHO;
	c->src_listed.kind = SRC_LISTED;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->sig_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->epfd < 0 || c->timerfd < 0 || c->sig_event_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = rxq_open(&c->rxq);
	if (ret)
		goto fail;
	{
		struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &c->src_hook };
		struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &c->src_timer };
		struct epoll_event e3 = { .events = EPOLLIN, .data.ptr = &c->src_listed };

		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, rxq_fd(&c->rxq), &e1) ||
		    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->timerfd, &e2) ||
		    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sig_event_fd, &e3)) {
			ret = -errno;
			goto fail;
		}
	}
	if (cfg->ctl) {
		ret = -pthread_create(&c->sig_thread_id, NULL, sig_thread, c);
		if (ret)
			goto fail;
		c->sig_started = true;
	}
	ret = conn_relay_open(c);
	if (ret)
		goto fail;
	ret = net_set_rx_hook(cfg->net, rxq_hook, &c->rxq);
	if (ret)
		goto fail;
	echo_open(c);
	conn_mtu_setup(c);
	conn_self_discover(c);
	conn_netwatch_open(c);
	conn_relay_start(c, 1000);
	c->self.udp_blocked = !strcmp(c->self.nat.type, "udp-blocked") && c->home < 0;
	conn_publish(c);
	*out = c;
	(void)conn_run(c);
	return 0;
fail:
	log_error(CONN_TAG, "cannot start: %s", strerror(-ret));
	conn_free(c);
	return ret;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	conn_netwatch_close(c);
	conn_peer_remove_all(c);
	if (c->sig_started) {
		/* waits for a signal being sent (at most the request timeout) */
		pthread_mutex_lock(&c->sig_mu);
		c->sig_stop = true;
		pthread_cond_signal(&c->sig_cond);
		pthread_mutex_unlock(&c->sig_mu);
		pthread_join(c->sig_thread_id, NULL);
	}
	for (size_t i = 0; i < c->n_sigq; i++)
		free(c->sigq[i].text);
	free(c->list);
	if (c->sig_event_fd >= 0)
		close(c->sig_event_fd);
	pthread_mutex_destroy(&c->sig_mu);
	pthread_cond_destroy(&c->sig_cond);
	if (rxq_fd(&c->rxq) >= 0)
		(void)net_set_rx_hook(c->cfg.net, NULL, NULL);
	free(c->members);
	for (size_t i = 0; i < CONN_MAX_PENDING_SIGNALS; i++)
		free(c->pending[i].payload);
	conn_relay_close(c);
	if (c->echo_fd >= 0)
		close(c->echo_fd);
	rxq_close(&c->rxq);
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

void conn_self_status(const struct conn *c, struct conn_self_status *out)
{
	*out = c->self;
	out->relays_bound = 0;
	for (size_t i = 0; i < c->n_relays; i++)
		out->relays_bound += c->relays[i].bound;
	out->relay_binds = c->relay_binds;
}

static void member_detail(const struct conn *c, const struct conn_member *m, char *d, size_t n)
{
	char ep[CTL_ENDPOINT_LEN], why[64];
	uint64_t now = time_mono_ns();

	switch (m->path) {
	case CONN_PATH_CONNECTING:
		snprintf(d, n, "punching %zu candidates", m->cands.n);
		break;
	case CONN_PATH_DIRECT:
		wg_endpoint_format(&m->endpoint, ep, sizeof(ep));
		path_text(m, why, sizeof(why));
		/* a long IPv6 endpoint may cut the figures short: that is fine */
		if (snprintf(d, n, "direct via %s (%s)%s", ep, why,
			     m->punching ? " (probing)" : "") >= (int)n)
			d[n - 1] = 0;
		break;
	case CONN_PATH_RELAY:
		snprintf(d, n, "relay %s (%s)", m->relay_used,
			 m->punching ? "trying direct" : "no direct path");
		break;
	case CONN_PATH_FAILED:
		if (m->punching)
			snprintf(d, n, "%s; trying again",
				 c->self.udp_blocked ? "UDP blocked, no relay"
						     : "no direct path, no relay");
		else
			snprintf(d, n, "%s; retry in %llu ms",
				 c->self.udp_blocked ? "UDP blocked, no relay"
						     : "no direct path, no relay",
				 (unsigned long long)(m->retry_ns > now ? (m->retry_ns - now) / MS
									: 0));
		break;
	}
}

void conn_counters_fill(struct conn_peer_status *out, const uint8_t public_key[32],
			const struct net_status *st)
{
	for (size_t j = 0; j < st->n_peers; j++) {
		const struct net_peer_status *p = &st->peers[j];

		if (memcmp(p->public_key, public_key, 32))
			continue;
		out->has_counters = true;
		out->rx_bytes = p->rx_bytes;
		out->tx_bytes = p->tx_bytes;
		out->last_handshake_sec = p->last_handshake_sec;
		out->has_packet_counters = p->has_packet_counters;
		out->rx_packets = p->rx_packets;
		out->tx_packets = p->tx_packets;
		out->handshakes = p->handshakes;
		return;
	}
}

int conn_status(const struct conn *c, struct conn_peer_status **out, size_t *n)
{
	struct conn_peer_status *st = calloc(c->n_members ? c->n_members : 1, sizeof(*st));
	uint64_t now = time_mono_ns();
	struct net_status ns = { 0 };
	bool have_ns;

	*out = NULL;
	*n = 0;
	if (!st)
		return -ENOMEM;
	/* One device query for all members (the web UI asks every second); the
	 * rest of the status stands without it. */
	have_ns = c->n_members && !net_status(c->cfg.net, &ns);
	for (size_t i = 0; i < c->n_members; i++) {
		const struct conn_member *m = c->members[i];
		struct conn_peer_status *s = &st[i];
		const struct conn_relay *r;

		snprintf(s->peer_id, sizeof(s->peer_id), "%s", m->peer.peer_id);
		snprintf(s->name, sizeof(s->name), "%s", m->peer.name);
		snprintf(s->virtual_ip, sizeof(s->virtual_ip), "%s", m->peer.virtual_ip);
		s->nat = m->peer.nat;
		s->path = m->path;
		if (m->path == CONN_PATH_DIRECT) {
			wg_endpoint_format(&m->endpoint, s->endpoint, sizeof(s->endpoint));
		} else if (m->path == CONN_PATH_RELAY) {
			snprintf(s->relay_id, sizeof(s->relay_id), "%s", m->relay_used);
			r = conn_relay_find((struct conn *)c, m->relay_used);
			if (r)
				snprintf(s->endpoint, sizeof(s->endpoint), "%s", r->endpoint);
		}
		s->rtt_valid = m->mon.rtt_valid;
		s->rtt_ms = m->mon.rtt_ms;
		s->jitter_ms = m->mon.jitter_ms;
		s->loss_pct = mon_loss_pct(&m->mon);
		s->since_ms = (now - m->since_ns) / MS;
		s->mtu = m->route_mtu ? m->route_mtu : net_mtu(c->cfg.net);
		member_detail(c, m, s->detail, sizeof(s->detail));
		if (have_ns)
			conn_counters_fill(s, m->peer.public_key, &ns);
	}
	if (have_ns)
		net_status_free(&ns);
	*out = st;
	*n = c->n_members;
	return 0;
}
