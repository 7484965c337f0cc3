/*
 * conn_relay: the relay path (docs/RELAY.md) through a loopback shim, so the
 * WireGuard device needs no change (a kernel backend could use it too):
 *   - one relay-side UDP socket ([::]:any, dual-stack, so a relay may be
 *     listed at an IPv4 or an IPv6 address; 0.0.0.0:any on a host without
 *     IPv6, which then skips IPv6 relays) holds a BIND on every relay we
 *     use: our home relay (lowest PING RTT, published in peer_update) and the
 *     home relay of every member we reach through a relay;
 *   - per member one UDP socket on 127.0.0.1:any, its shim; while relayed it
 *     is that member's WireGuard endpoint. What WireGuard sends there leaves
 *     as SEND (dst = the member's key) to the member's home relay; DELIVER
 *     from a relay goes out of the sender's shim to WireGuard's port on
 *     127.0.0.1, so WireGuard sees it coming from the shim endpoint.
 * The home relay is PINGed every 5 s with the others; it is replaced (and
 * republished) when it stops answering or another is better by more than
 * relay_switch_rtt_ms.
 *
 * A BIND carries the control plane's ticket for our key (ctl_client_relay_ticket,
 * which never blocks; without one we do not bind and look again soon) and the
 * relay's cookie for our relay socket's address, cached per relay; a COOKIE
 * answer is stored and the BIND resent at once. REFUSED (unauthenticated, so
 * only a reason to wait) is matched to our BIND's nonce and sets when to try
 * again: a refused ticket waits for the control plane's next one, a busy or
 * full relay is backed off exponentially.
 *
 * Healing (docs/RELAY.md): an UNBOUND whose echo matches the tail of a SEND
 * we sent recently (kept in a small ring per relay) means the relay lost our
 * binding (it restarted, or our NAT moved us): we take its cookie and rebind
 * at once. Echoes lost on a relayed path rebind too (conn_relay_path_lost).
 * Both are held off CONN_HEAL_HOLDOFF_NS per relay. A CLOCK (the relay's time,
 * under our BIND's key) sets this relay's clock offset and we rebind with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn/conn_priv.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"

static int udp_socket(const char *ip, struct wg_endpoint *bound)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (bound) {
		memset(bound, 0, sizeof(*bound));
		bound->in4 = sin;
	}
	return fd;
}

static int ep_add(struct conn *c, int fd, struct conn_src *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The relay socket: dual-stack [::]:any where the host has IPv6. */
static int relay_socket(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int off = 0, fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno == EAFNOSUPPORT ? udp_socket("0.0.0.0", NULL) : -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* A relay's endpoint as the relay socket sends to it and sees it answer:
 * v4-mapped on the dual-stack socket. false when the socket cannot reach it
 * (an IPv6 relay on an IPv4-only host). */
static bool relay_sock_ep(const struct conn *c, struct wg_endpoint *ep)
{
	int family = AF_INET;
	socklen_t len = sizeof(family);
	struct sockaddr_in in4;

	if (getsockopt(c->relay_fd, SOL_SOCKET, SO_DOMAIN, &family, &len))
		return false;
	if (family == AF_INET || ep->sa.sa_family == AF_INET6)
		return family == ep->sa.sa_family;
	in4 = ep->in4;
	memset(ep, 0, sizeof(*ep));
	ep->in6.sin6_family = AF_INET6;
	ep->in6.sin6_port = in4.sin_port;
	ep->in6.sin6_addr.s6_addr[10] = 0xff;
	ep->in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&ep->in6.sin6_addr.s6_addr[12], &in4.sin_addr, 4);
	return true;
}

int conn_relay_open(struct conn *c)
{
	int ret;

	c->home = -1;
	c->relay_fd = relay_socket();
	if (c->relay_fd < 0)
		return c->relay_fd;
	c->src_relay.kind = SRC_RELAY;
	ret = ep_add(c, c->relay_fd, &c->src_relay);
	return ret;
}

void conn_relay_close(struct conn *c)
{
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	c->relay_fd = -1;
}

int conn_shim_open(struct conn *c, struct conn_member *m)
{
	int ret;

	m->src.kind = SRC_SHIM;
	m->src.m = m;
	m->shim_fd = udp_socket("127.0.0.1", &m->shim_ep);
	if (m->shim_fd < 0)
		return m->shim_fd;
	ret = ep_add(c, m->shim_fd, &m->src);
	if (ret) {
		close(m->shim_fd);
		m->shim_fd = -1;
	}
	return ret;
}

struct conn_relay *conn_relay_find(struct conn *c, const char *id)
{
	for (size_t i = 0; i < c->n_relays; i++) {
		if (id[0] && !strcmp(c->relays[i].id, id))
			return &c->relays[i];
	}
	return NULL;
}

struct conn_member *conn_member_by_key(struct conn *c, const uint8_t pub[32])
{
	for (size_t i = 0; i < c->n_members; i++) {
		if (!memcmp(c->members[i]->peer.public_key, pub, 32))
			return c->members[i];
	}
	return NULL;
}

static void relay_send(struct conn *c, struct conn_relay *r, const uint8_t *buf, size_t len)
{
	if (sendto(c->relay_fd, buf, len, MSG_NOSIGNAL, &r->ep.sa, wg_endpoint_socklen(&r->ep)) < 0)
		log_debug(CONN_TAG, "send to relay %s: %s", r->endpoint, strerror(errno));
}

/* Our BIND timestamps to r: our clock moved by r's offset (its CLOCK), and
 * always greater than the last r accepted, so no rebind looks like a replay
 * to it (docs/RELAY.md, clock skew). */
static uint64_t relay_bind_ts(const struct conn_relay *r)
{
	uint64_t ts = time_wall_ms() + (uint64_t)r->clock_offset_ms;

	return ts > r->accepted_ts_ms ? ts : r->accepted_ts_ms + 1;
}

static void relay_bind(struct conn *c, struct conn_relay *r, uint64_t now)
{
	uint8_t buf[RELAY_BIND_LEN], ticket[RELAY_TICKET_LEN];
	int n;

	if (!c->cfg.ctl || ctl_client_relay_ticket(c->cfg.ctl, ticket, sizeof(ticket))) {
		if (!c->no_ticket_logged)
			log_info(CONN_TAG, "no relay ticket from the control plane yet: relays "
					   "wait until it comes");
		c->no_ticket_logged = true;
		r->bind_next_ns = now + CONN_TICKET_WAIT_NS;
		return;
	}
	c->no_ticket_logged = false;
	crypto_random(r->bind_nonce, sizeof(r->bind_nonce));
	r->bind_ts_ms = relay_bind_ts(r);
	n = relay_build_bind(buf, sizeof(buf), c->cfg.keys->private_key, r->pub, r->bind_ts_ms,
			     r->bind_nonce, r->has_cookie ? r->cookie : NULL, ticket);
	r->bind_next_ns = now + CONN_BIND_RETRY_NS;
	if (n < 0) {
		log_warn(CONN_TAG, "relay %s: cannot build BIND: %s", r->id, strerror(-n));
		return;
	}
	relay_send(c, r, buf, (size_t)n);
}

static void relay_use(struct conn *c, struct conn_relay *r)
{
	if (r->used)
		return;
	r->used = true;
	r->bound = false;
	relay_bind(c, r, time_mono_ns());
}

static void relay_ping(struct conn *c, struct conn_relay *r, uint64_t now)
{
	uint8_t buf[RELAY_PING_LEN];

	crypto_random(r->ping_nonce, sizeof(r->ping_nonce));
	if (relay_build_ping(buf, sizeof(buf), RELAY_PING, r->ping_nonce) < 0)
		return;
	r->ping_pending = true;
	r->ping_sent_ns = now;
	relay_send(c, r, buf, sizeof(buf));
}

/* Later lists come from the signal thread (conn_ctl_relays_list), never
 * from the thread that carries relayed traffic; at most one a second. */
static void relay_list_request(struct conn *c)
{
	uint64_t now = time_mono_ns();

	if (now < c->relays_list_asked_ns + CONN_RELAY_LIST_MIN_NS)
		return;
	c->relays_list_asked_ns = now;
	c->relays_list_next_ns = now + CONN_RELAY_LIST_NS;
	conn_ctl_relays_list(c);
}

struct conn_relay *conn_relay_for(struct conn *c, struct conn_member *m)
{
	const char *id = m->peer.relay[0] ? m->peer.relay : m->sig_relay;
	struct conn_relay *r = conn_relay_find(c, id);

	if (!r && id[0])
		relay_list_request(c); /* a relay registered after our last list */
	if (r)
		relay_use(c, r);
	return r;
}

static bool relay_better(const struct conn_relay *a, const struct conn_relay *b)
{
	return a->rtt_valid && a->misses == 0 && (!b || !b->rtt_valid || a->rtt_ms < b->rtt_ms);
}

static void relay_set_home(struct conn *c, int idx)
{
	struct conn_relay *r = &c->relays[idx];

	if (c->home == idx)
		return;
	log_info(CONN_TAG, "home relay %s (%s, %.1f ms)%s%s", r->id, r->endpoint, r->rtt_ms,
		 c->home >= 0 ? " replacing " : "", c->home >= 0 ? c->relays[c->home].id : "");
	c->home = idx;
	snprintf(c->self.home_relay, sizeof(c->self.home_relay), "%s", r->id);
	relay_use(c, r);
	conn_publish(c);
}

/* Reads PONGs on the relay socket for up to wait_ms (start-up measurement);
 * everything else read meanwhile is handled as usual. */
static void relay_wait_pongs(struct conn *c, uint64_t wait_ms)
{
	uint64_t end = time_mono_ns() + wait_ms * 1000000ULL;

	for (;;) {
		uint64_t now = time_mono_ns();
		bool pending = false;
		struct pollfd p = { .fd = c->relay_fd, .events = POLLIN };

		for (size_t i = 0; i < c->n_relays; i++)
			pending |= c->relays[i].listed && c->relays[i].ping_pending;
		if (!pending || now >= end)
			break;
		if (poll(&p, 1, (int)((end - now) / 1000000 + 1)) > 0)
			conn_relay_rx(c);
	}
}

/* The control plane's relay list replaces ours (relays not in it stay
 * known, unlisted); ping: measure each listed relay at once. */
static void relay_list_apply(struct conn *c, const struct ctl_relay *list, size_t n, bool ping)
{
	uint64_t now = time_mono_ns();

	for (size_t i = 0; i < c->n_relays; i++)
		c->relays[i].listed = false;
	for (size_t i = 0; i < n; i++) {
		struct conn_relay *r = conn_relay_find(c, list[i].relay_id);
		struct wg_endpoint ep;

		if (!list[i].has_public_key || wg_endpoint_parse(&ep, list[i].endpoint))
			continue;
		wg_endpoint_unmap(&ep);
		if (!relay_sock_ep(c, &ep))
			continue;
		if (!r) {
			if (c->n_relays == CONN_MAX_RELAYS)
				continue;
			r = &c->relays[c->n_relays++];
			memset(r, 0, sizeof(*r));
			snprintf(r->id, sizeof(r->id), "%s", list[i].relay_id);
		}
		snprintf(r->name, sizeof(r->name), "%s", list[i].name);
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", list[i].endpoint);
		r->ep = ep;
		memcpy(r->pub, list[i].public_key, 32);
		r->listed = true;
		if (ping && !r->ping_pending)
			relay_ping(c, r, now);
	}
}

void conn_relay_start(struct conn *c, uint64_t wait_ms)
{
	struct ctl_relay *list = NULL;
	size_t n = 0;
	int best = -1;

	c->relays_list_next_ns = time_mono_ns() + CONN_RELAY_LIST_NS;
	if (!conn_ctl_usable(c) || ctl_relays_list(c->cfg.ctl, &list, &n))
		return;
	relay_list_apply(c, list, n, true);
	free(list);
	relay_wait_pongs(c, wait_ms);
	for (size_t i = 0; i < c->n_relays; i++) {
		if (c->relays[i].listed && relay_better(&c->relays[i], best >= 0 ? &c->relays[best] : NULL))
			best = (int)i;
	}
	if (best >= 0 && c->home < 0)
		relay_set_home(c, best);
}

void conn_relay_listed(struct conn *c, struct ctl_relay *list, size_t n)
{
	relay_list_apply(c, list, n, false);
	free(list);
	conn_relays_listed(c);
}

static struct conn_relay *relay_by_addr(struct conn *c, const struct wg_endpoint *src)
{
	for (size_t i = 0; i < c->n_relays; i++) {
		if (wg_endpoint_equal(&c->relays[i].ep, src))
			return &c->relays[i];
	}
	return NULL;
}

static const char *refused_why(uint8_t code)
{
	switch (code) {
	case RELAY_REFUSED_BAD_MAC:
		return "bad MAC: it does not have the key it was listed with";
	case RELAY_REFUSED_STALE:
		return "stale timestamp: check this host's clock";
	case RELAY_REFUSED_FULL:
		return "relay full";
	case RELAY_REFUSED_RATE:
		return "rate limited";
	case RELAY_REFUSED_UNAUTHORIZED:
		return "our relay ticket is not accepted";
	case RELAY_REFUSED_EXPIRED:
		return "our relay ticket expired";
	case RELAY_REFUSED_IP_FULL:
		return "too many bindings from our public address";
	default:
		return "unknown reason";
	}
}

/* A REFUSED answering our BIND: when to try again, said once per reason. */
static void relay_refused(struct conn_relay *r, uint8_t code, uint64_t now)
{
	uint64_t wait;

	if (code != r->last_refused)
		log_warn(CONN_TAG, "relay %s refused our BIND (code %u, %s)%s", r->id, code,
			 refused_why(code),
			 code == RELAY_REFUSED_UNAUTHORIZED || code == RELAY_REFUSED_EXPIRED ?
				 "; binding again with the control plane's next ticket" :
				 "");
	r->last_refused = code;
	r->bound = false;
	switch (code) {
	case RELAY_REFUSED_UNAUTHORIZED:
	case RELAY_REFUSED_EXPIRED:
		wait = CONN_TICKET_RETRY_NS;
		break;
	case RELAY_REFUSED_FULL:
	case RELAY_REFUSED_RATE:
	case RELAY_REFUSED_IP_FULL:
		wait = r->refused_backoff_ns ? r->refused_backoff_ns * 2 :
					       CONN_REFUSED_BACKOFF_MIN_NS;
		if (wait > CONN_REFUSED_BACKOFF_MAX_NS)
			wait = CONN_REFUSED_BACKOFF_MAX_NS;
		r->refused_backoff_ns = wait;
		break;
	default:
		wait = CONN_BIND_RETRY_NS * 5;
		break;
	}
	r->bind_next_ns = now + wait;
}

/* Remembers the last RELAY_ECHO_LEN bytes of a SEND to r, at most one per
 * CONN_TAIL_SAMPLE_NS: the ring then spans the relay's round trip even at
 * a high packet rate, and the relay answers every early SEND of an outage. */
static void relay_keep_tail(struct conn_relay *r, const uint8_t *frame, size_t len)
{
	uint64_t now;

	if (len < RELAY_ECHO_LEN)
		return;
	now = time_mono_ns();
	if (now - r->tail_ns < CONN_TAIL_SAMPLE_NS)
		return;
	r->tail_ns = now;
	memcpy(r->sent_tail[r->sent_next++ % CONN_SENT_TAILS], frame + len - RELAY_ECHO_LEN,
	       RELAY_ECHO_LEN);
}

static bool relay_sent_tail(const struct conn_relay *r, const uint8_t echo[RELAY_ECHO_LEN])
{
	unsigned n = r->sent_next < CONN_SENT_TAILS ? r->sent_next : CONN_SENT_TAILS;

	for (unsigned i = 0; i < n; i++) {
		if (crypto_equal(r->sent_tail[i], echo, RELAY_ECHO_LEN))
			return true;
	}
	return false;
}

/* Binds at r again now unless it was done within CONN_HEAL_HOLDOFF_NS. */
static void relay_heal(struct conn *c, struct conn_relay *r, uint64_t now)
{
	if (!r->used || now < r->heal_ns)
		return;
	r->heal_ns = now + CONN_HEAL_HOLDOFF_NS;
	r->cookie_answers = 0;
	r->clock_answers = 0;
	relay_bind(c, r, now);
}

/* An UNBOUND: the relay has no binding for the address our SENDs come from.
 * Believed only when it echoes one of our recent SENDs (nobody off the path
 * saw those bytes); then its cookie is the one for our address. */
static void relay_unbound(struct conn *c, struct conn_relay *r, const struct relay_frame *f,
			  uint64_t now)
{
	if (!relay_sent_tail(r, f->echo)) {
		log_debug(CONN_TAG, "relay %s: UNBOUND for no SEND of ours", r->id);
		return;
	}
	memcpy(r->cookie, f->cookie, RELAY_COOKIE_LEN);
	r->has_cookie = true;
	r->bound = false;
	if (!r->unbound_logged)
		log_warn(CONN_TAG, "relay %s lost our binding (it restarted, or our NAT "
				   "mapping changed); binding again", r->id);
	r->unbound_logged = true;
	relay_heal(c, r, now);
	/* if it was our NAT's mapping, the direct paths moved too */
	conn_netwatch_suspect(c, "a relay lost our binding");
}

void conn_relay_path_lost(struct conn *c, struct conn_member *m, uint64_t now)
{
	struct conn_relay *via = conn_relay_find(c, m->relay_used);
	struct conn_relay *home = c->home >= 0 ? &c->relays[c->home] : NULL;

	/* we send through the member's relay and receive through our home */
	if (via && now >= via->heal_ns)
		log_info(CONN_TAG, "member %s: echoes lost on the relay path; binding again",
			 m->peer.peer_id);
	if (via)
		relay_heal(c, via, now);
	if (home && home != via)
		relay_heal(c, home, now);
}

/* A CLOCK answering our BIND: the relay's time, under the key our BIND
 * proved. Our timestamps to this relay follow its clock from now on. */
static void relay_clock(struct conn *c, struct conn_relay *r, const struct relay_frame *f,
			uint64_t now)
{
	int64_t offset;

	if (relay_verify_clock(f, c->cfg.keys->private_key, r->pub, r->bind_nonce)) {
		log_debug(CONN_TAG, "relay %s: CLOCK does not verify", r->id);
		return;
	}
	offset = (int64_t)(f->timestamp_ms - time_wall_ms());
	if (llabs(offset - r->clock_offset_ms) >= 1000)
		log_warn(CONN_TAG, "clock differs from relay %s by %+lld s; using the relay's time",
			 r->id, (long long)(-offset / 1000));
	r->clock_offset_ms = offset;
	if (r->clock_answers++ < CONN_CLOCK_RETRIES)
		relay_bind(c, r, now);
}

static void relay_frame(struct conn *c, struct conn_relay *r, const struct relay_frame *f)
{
	uint64_t now = time_mono_ns();
	struct conn_member *m;

	switch (f->type) {
	case RELAY_BOUND:
		if (relay_verify_bound(f, c->cfg.keys->private_key, r->pub, r->bind_nonce)) {
			log_debug(CONN_TAG, "relay %s: BOUND does not verify", r->id);
			return;
		}
		if (!r->bound)
			log_info(CONN_TAG, "bound on relay %s (%s)", r->id, r->endpoint);
		r->bound = true;
		c->relay_binds++;
		r->unbound_logged = false;
		r->accepted_ts_ms = r->bind_ts_ms;
		r->last_refused = 0;
		r->refused_backoff_ns = 0;
		r->bound_ns = now;
		r->bind_next_ns = now + CONN_REBIND_NS;
		break;
	case RELAY_COOKIE:
		if (memcmp(f->nonce, r->bind_nonce, RELAY_NONCE_LEN))
			return; /* not an answer to our BIND */
		memcpy(r->cookie, f->cookie, RELAY_COOKIE_LEN);
		r->has_cookie = true;
		if (r->cookie_answers++ < CONN_COOKIE_RETRIES)
			relay_bind(c, r, now);
		break;
	case RELAY_REFUSED:
		if (memcmp(f->nonce, r->bind_nonce, RELAY_NONCE_LEN))
			return;
		relay_refused(r, f->code, now);
		break;
	case RELAY_DELIVER:
		m = conn_member_by_key(c, f->key);
		if (!m || m->shim_fd < 0)
			return;
		if (sendto(m->shim_fd, f->payload, f->payload_len, MSG_NOSIGNAL, &c->wg_local.sa,
			   sizeof(c->wg_local.in4)) < 0)
			log_debug(CONN_TAG, "shim to WireGuard: %s", strerror(errno));
		break;
	case RELAY_UNREACHABLE:
		log_debug(CONN_TAG, "relay %s: destination unreachable", r->id);
		break;
	case RELAY_UNBOUND:
		relay_unbound(c, r, f, now);
		break;
	case RELAY_CLOCK:
		relay_clock(c, r, f, now);
		break;
	case RELAY_PONG:
		if (!r->ping_pending || memcmp(f->nonce, r->ping_nonce, sizeof(r->ping_nonce)))
			return;
		r->ping_pending = false;
		r->misses = 0;
		{
			double rtt = (double)(now - r->ping_sent_ns) / 1e6;

			r->rtt_ms = r->rtt_valid ? r->rtt_ms + (rtt - r->rtt_ms) / 4 : rtt;
			r->rtt_valid = true;
		}
		break;
	default:
		break;
	}
}

void conn_relay_rx(struct conn *c)
{
	uint8_t buf[RELAY_MAX_FRAME];

	for (;;) {
		struct wg_endpoint src = { 0 };
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(c->relay_fd, buf, sizeof(buf), 0, &src.sa, &sl);
		struct relay_frame f;
		struct conn_relay *r;

		if (n < 0)
			break;
		r = relay_by_addr(c, &src);
		if (!r || relay_parse(buf, (size_t)n, &f))
			continue; /* only the relays we know speak on this socket */
		relay_frame(c, r, &f);
	}
}

void conn_shim_rx(struct conn *c, struct conn_member *m)
{
	uint8_t in[RELAY_MAX_DATAGRAM], out[RELAY_MAX_FRAME];

	for (;;) {
		struct wg_endpoint src = { 0 };
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(m->shim_fd, in, sizeof(in), 0, &src.sa, &sl);
		struct conn_relay *r;
		int len;

		if (n < 0)
			break;
		/* only WireGuard itself talks to a shim */
		if (!wg_endpoint_equal(&src, &c->wg_local) || n == 0)
			continue;
		r = conn_relay_for(c, m);
		if (!r)
			continue;
		len = shim_wrap(out, sizeof(out), m->peer.public_key, in, (size_t)n);
		if (len <= 0)
			continue;
		relay_keep_tail(r, out, (size_t)len);
		relay_send(c, r, out, (size_t)len);
	}
}

static void relay_check_home(struct conn *c)
{
	struct conn_relay *home = c->home >= 0 ? &c->relays[c->home] : NULL;
	int best = -1;

	for (size_t i = 0; i < c->n_relays; i++) {
		if (c->relays[i].listed &&
		    relay_better(&c->relays[i], best >= 0 ? &c->relays[best] : NULL))
			best = (int)i;
	}
	if (best < 0 || best == c->home)
		return;
	if (!home || home->misses >= CONN_RELAY_DEAD_MISSES || !home->rtt_valid) {
		if (home)
			log_warn(CONN_TAG, "home relay %s stopped answering", home->id);
		relay_set_home(c, best);
	} else if (c->relays[best].rtt_ms + c->cfg.relay_switch_rtt_ms < home->rtt_ms) {
		relay_set_home(c, best);
	}
}

uint64_t conn_relay_tick(struct conn *c, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (now >= c->relays_list_next_ns)
		relay_list_request(c);
	next = c->relays_list_next_ns;
	for (size_t i = 0; i < c->n_relays; i++) {
		struct conn_relay *r = &c->relays[i];

		if (r->used && now >= r->bind_next_ns) {
			r->cookie_answers = 0;
			r->clock_answers = 0;
			relay_bind(c, r, now);
		}
		if (r->used && r->bind_next_ns < next)
			next = r->bind_next_ns;
		if (!r->listed)
			continue;
		if (r->ping_pending && now >= r->ping_sent_ns + CONN_RELAY_PING_TIMEOUT_NS) {
			r->ping_pending = false;
			r->misses++;
			/* ask again soon: a dead home relay must be noticed quickly */
			r->ping_next_ns = now;
		}
		if (!r->ping_pending && now >= r->ping_next_ns) {
			relay_ping(c, r, now);
			r->ping_next_ns = now + CONN_RELAY_PING_NS;
		}
		if (r->ping_pending && r->ping_sent_ns + CONN_RELAY_PING_TIMEOUT_NS < next)
			next = r->ping_sent_ns + CONN_RELAY_PING_TIMEOUT_NS;
		if (r->ping_next_ns < next)
			next = r->ping_next_ns;
	}
	relay_check_home(c);
	return next;
}
