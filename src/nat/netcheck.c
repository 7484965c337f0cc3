/*
 * netcheck: the RFC 5780 behaviour-discovery procedure over one UDP transport.
 *
 * Order matters because every packet we send opens our NAT's filter toward its
 * destination:
 *   A. Binding to every server (mapping, RTT, OTHER-ADDRESS).
 *   B. Filtering tests on the primary server (the first with OTHER-ADDRESS):
 *      CHANGE-REQUEST ip+port and port only, sent to the primary address only,
 *      so the answers come from places we have never sent to.
 *   C. Mapping tests to the alternate address (ip, then ip+port) and the
 *      hairpin test; these open filters, so they come after B.
 * A server list that already contacted the alternate address in A would spoil
 * B; then filtering is reported unknown with a note instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log/log.h"
#include "nat/netcheck.h"
#include "nat/stun.h"
#include "util/time.h"

#define NC_SOFTWARE "lanrage netcheck"
#define NC_RTO_FIRST_MS 200
#define NC_RTO_MAX_MS 1000
#define NC_MAX_PROBES 16

struct probe {
	uint8_t txid[STUN_TXID_LEN];
	struct wg_endpoint dst;
	uint32_t change; /* CHANGE-REQUEST flags, 0 = none */
	bool hairpin; /* sent from hair_fd to our own mapping: success = we receive it */
	uint64_t deadline_ns, next_ns, last_sent_ns;
	unsigned rto_ms;
	bool done, ok;
	int err; /* negative errno from the transport, or 0 */
	uint16_t error_code; /* STUN error response */
	double rtt_ms;
	struct stun_msg resp;
};

struct nc {
	const struct netcheck_io *io;
	int hair_fd; /* a second local socket for the hairpin test, or -1 */
	struct netcheck_report *rep;
	uint64_t deadline_ns;
};

static void note(struct netcheck_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct netcheck_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->n_notes == NETCHECK_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->notes[rep->n_notes++], NETCHECK_NOTE_LEN, fmt, ap);
	va_end(ap);
}

/* "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT"; numeric or DNS names. */
static int resolve(struct netcheck_server *s)
{
	char host[256], port[8] = "3478";
	const char *name = s->name, *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	size_t hl;
	int ret;

	if (name[0] == '[') {
		colon = strchr(name, ']');
		if (!colon || (colon[1] && colon[1] != ':'))
			goto bad;
		hl = (size_t)(colon - name - 1);
		memcpy(host, name + 1, hl < sizeof(host) ? hl : 0);
		colon = colon[1] ? colon + 1 : NULL;
	} else {
		colon = strchr(name, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address without brackets */
		hl = colon ? (size_t)(colon - name) : strlen(name);
		memcpy(host, name, hl < sizeof(host) ? hl : 0);
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	host[hl] = '\0';
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (!colon[1] || *end || p == 0 || p > 65535)
			goto bad;
		snprintf(port, sizeof(port), "%lu", p);
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(s->error, sizeof(s->error), "cannot resolve %.64s: %s", host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	memset(&s->addr, 0, sizeof(s->addr));
	memcpy(&s->addr, res->ai_addr,
	       res->ai_addrlen < sizeof(s->addr) ? res->ai_addrlen : sizeof(s->addr));
	freeaddrinfo(res);
	wg_endpoint_unmap(&s->addr);
	s->resolved = true;
	return 0;
bad:
	snprintf(s->error, sizeof(s->error), "bad server address (want HOST[:PORT] or [IPV6]:PORT)");
	return -EINVAL;
}

/* Our own address on the route toward dst: a connected UDP socket sends nothing. */
static int local_address(const struct wg_endpoint *dst, uint16_t port, struct wg_endpoint *out)
{
	socklen_t len = sizeof(*out);
	int fd, ret = 0;

	fd = socket(dst->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &dst->sa, dst->sa.sa_family == AF_INET ? sizeof(dst->in4) :
								      sizeof(dst->in6)) ||
	    getsockname(fd, &out->sa, &len))
		ret = -errno;
	close(fd);
	if (!ret)
		wg_endpoint_set_port(out, port);
	return ret;
}

static void probe_init(struct probe *p, const struct wg_endpoint *dst, uint32_t change,
		       unsigned budget_ms, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	stun_new_txid(p->txid);
	p->dst = *dst;
	p->change = change;
	p->deadline_ns = now + (uint64_t)budget_ms * 1000000u;
	p->rtt_ms = -1;
	p->rto_ms = NC_RTO_FIRST_MS;
}

static int probe_send(struct nc *nc, struct probe *p, uint64_t now)
{
	uint8_t buf[STUN_MAX_MSG];
	struct stun_builder b;
	int len, ret;

	stun_build_init(&b, buf, sizeof(buf), STUN_METHOD_BINDING, STUN_REQUEST, p->txid);
	stun_add_bytes(&b, STUN_ATTR_SOFTWARE, NC_SOFTWARE, strlen(NC_SOFTWARE));
	if (p->change)
		stun_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, p->change);
	len = stun_build_finish(&b, true);
	if (len < 0)
		return len;
	if (p->hairpin)
		ret = sendto(nc->hair_fd, buf, (size_t)len, MSG_DONTWAIT, &p->dst.sa,
			     sizeof(p->dst.in4)) < 0 ? -errno : 0;
	else
		ret = nc->io->send(nc->io->ctx, &p->dst, buf, (size_t)len);
	p->last_sent_ns = now;
	p->next_ns = now + (uint64_t)p->rto_ms * 1000000u;
	p->rto_ms = p->rto_ms * 2 > NC_RTO_MAX_MS ? NC_RTO_MAX_MS : p->rto_ms * 2;
	return ret;
}

static void probe_fail(struct probe *p, int err)
{
	p->done = true;
	p->ok = false;
	p->err = err;
}

/* Matches one received datagram against the probes in flight. */
static void nc_input(struct probe *ps, size_t n, const uint8_t *buf, size_t len, uint64_t now)
{
	struct stun_msg m;
	size_t i;

	if (stun_parse(&m, buf, len) || m.method != STUN_METHOD_BINDING)
		return;
	for (i = 0; i < n; i++) {
		struct probe *p = &ps[i];

		if (p->done || memcmp(p->txid, m.txid, STUN_TXID_LEN))
			continue;
		if (p->hairpin) {
			/* Our own request came back through the NAT. */
			if (m.cls == STUN_REQUEST) {
				p->done = p->ok = true;
				p->rtt_ms = (double)(now - p->last_sent_ns) / 1e6;
			}
			return;
		}
		if (m.cls == STUN_SUCCESS && stun_msg_mapped(&m)) {
			p->done = p->ok = true;
			p->resp = m;
			wg_endpoint_unmap(&p->resp.xor_mapped);
			wg_endpoint_unmap(&p->resp.mapped);
			wg_endpoint_unmap(&p->resp.other_address);
			p->rtt_ms = (double)(now - p->last_sent_ns) / 1e6;
		} else if (m.cls == STUN_ERROR) {
			p->done = true;
			p->error_code = (m.has & STUN_HAS_ERROR) ? m.error_code : 500;
			p->resp = m;
		}
		return;
	}
}

/* ICMP error about a datagram we sent to src: fails the probes aimed there. */
static void nc_icmp(struct probe *ps, size_t n, const struct wg_endpoint *src, int err)
{
	struct wg_endpoint dst = *src;
	size_t i;

	wg_endpoint_unmap(&dst);
	for (i = 0; i < n; i++)
		if (!ps[i].done && !ps[i].hairpin && wg_endpoint_equal(&ps[i].dst, &dst))
			probe_fail(&ps[i], err);
}

static void nc_drain(struct nc *nc, struct probe *ps, size_t n)
{
	uint8_t buf[2048];
	struct wg_endpoint src;
	ssize_t r;

	for (;;) {
		memset(&src, 0, sizeof(src));
		r = nc->io->recv(nc->io->ctx, buf, sizeof(buf), &src);
		if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR)
			return;
		if (r < 0)
			nc_icmp(ps, n, &src, (int)r);
		else
			nc_input(ps, n, buf, (size_t)r, time_mono_ns());
	}
}

/* Sends, retransmits and collects until every probe is done or out of time. */
static void run_probes(struct nc *nc, struct probe *ps, size_t n)
{
	for (;;) {
		uint64_t now = time_mono_ns(), wake = UINT64_MAX;
		struct pollfd pfd = { .fd = nc->io->fd, .events = POLLIN };
		size_t i, pending = 0;
		int ret;

		for (i = 0; i < n; i++) {
			struct probe *p = &ps[i];

			if (p->done)
				continue;
			if (now >= p->deadline_ns || now >= nc->deadline_ns) {
				probe_fail(p, -ETIMEDOUT);
				continue;
			}
			if (now >= p->next_ns) {
				ret = probe_send(nc, p, now);
				if (ret && ret != -EAGAIN && ret != -ENOBUFS) {
					probe_fail(p, ret);
					continue;
				}
			}
			pending++;
			wake = p->next_ns < wake ? p->next_ns : wake;
			wake = p->deadline_ns < wake ? p->deadline_ns : wake;
		}
		if (!pending)
			return;
		wake = nc->deadline_ns < wake ? nc->deadline_ns : wake;
		ret = poll(&pfd, 1, wake > now ? (int)((wake - now) / 1000000u + 1) : 0);
		if (ret > 0)
			nc_drain(nc, ps, n);
	}
}

static unsigned remaining_ms(const struct nc *nc)
{
	uint64_t now = time_mono_ns();

	return now >= nc->deadline_ns ? 0 : (unsigned)((nc->deadline_ns - now) / 1000000u);
}

static void describe_failure(char *buf, size_t len, const struct probe *p)
{
	if (p->error_code)
		snprintf(buf, len, "STUN error %u %s", p->error_code, p->resp.error_reason);
	else if (p->err == -ETIMEDOUT)
		snprintf(buf, len, "no answer (timed out)");
	else
		snprintf(buf, len, "%s", strerror(-p->err));
}

static void add_public(struct netcheck_report *rep, const struct wg_endpoint *ep)
{
	size_t i;

	for (i = 0; i < rep->n_public; i++)
		if (wg_endpoint_equal(&rep->public_eps[i], ep))
			return;
	if (rep->n_public < NETCHECK_MAX_PUBLIC)
		rep->public_eps[rep->n_public++] = *ep;
}

/* Phase A: one Binding to every resolved server, in parallel. */
static void phase_binding(struct nc *nc, struct probe *ps, size_t *idx)
{
	struct netcheck_report *rep = nc->rep;
	unsigned budget = remaining_ms(nc) * 3 / 5;
	uint64_t now = time_mono_ns();
	size_t i, n = 0;

	for (i = 0; i < rep->n_servers; i++)
		if (rep->servers[i].resolved) {
			idx[n] = i;
			probe_init(&ps[n++], &rep->servers[i].addr, 0, budget, now);
		}
	run_probes(nc, ps, n);
	for (i = 0; i < n; i++) {
		struct netcheck_server *s = &rep->servers[idx[i]];
		const struct probe *p = &ps[i];

		if (!p->ok) {
			describe_failure(s->error, sizeof(s->error), p);
			continue;
		}
		s->answered = true;
		s->rtt_ms = p->rtt_ms;
		s->mapped = *stun_msg_mapped(&p->resp);
		s->has_other = p->resp.has & STUN_HAS_OTHER_ADDRESS;
		s->other = p->resp.other_address;
		snprintf(s->software, sizeof(s->software), "%.63s", p->resp.software);
		add_public(rep, &s->mapped);
	}
}

/* True when phase A sent to a place whose answers would pass the filters that
 * the filtering test is about: the alternate IP, or the primary IP's alternate port. */
static bool filter_test_spoiled(const struct netcheck_report *rep, const struct netcheck_server *pri)
{
	struct wg_endpoint alt_port = pri->addr;
	size_t i;

	wg_endpoint_set_port(&alt_port, wg_endpoint_port(&pri->other));
	for (i = 0; i < rep->n_servers; i++) {
		const struct netcheck_server *s = &rep->servers[i];

		if (s == pri || !s->resolved)
			continue;
		if (wg_endpoint_same_addr(&s->addr, &pri->other) || wg_endpoint_equal(&s->addr, &alt_port))
			return true;
	}
	return false;
}

/* Phase B: RFC 5780 section 4.4 filtering tests II and III, in parallel. */
static void phase_filtering(struct nc *nc, const struct netcheck_server *pri)
{
	struct netcheck_report *rep = nc->rep;
	unsigned budget = (unsigned)(pri->rtt_ms * 4) + 700;
	struct probe ps[2];
	uint64_t now = time_mono_ns();

	if (filter_test_spoiled(rep, pri)) {
		note(rep, "filtering not tested: the server list includes %s's alternate "
			  "address, which already opened the NAT's filter", pri->name);
		return;
	}
	if (budget > remaining_ms(nc) / 2)
		budget = remaining_ms(nc) / 2;
	probe_init(&ps[0], &pri->addr, STUN_CHANGE_IP | STUN_CHANGE_PORT, budget, now);
	probe_init(&ps[1], &pri->addr, STUN_CHANGE_PORT, budget, now);
	run_probes(nc, ps, 2);
	if (ps[0].error_code || ps[1].error_code) {
		note(rep, "filtering not tested: %s refused CHANGE-REQUEST (STUN error %u)",
		     pri->name, ps[0].error_code ? ps[0].error_code : ps[1].error_code);
		return;
	}
	if (ps[0].ok)
		rep->filtering = NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
	else if (ps[1].ok)
		rep->filtering = NAT_BEHAVIOR_ADDRESS_DEPENDENT;
	else if (ps[0].err == -ETIMEDOUT && ps[1].err == -ETIMEDOUT)
		rep->filtering = NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT;
	else
		note(rep, "filtering not determined: %s", strerror(-ps[1].err));
}

/* Phase C: RFC 5780 section 4.3 mapping tests II and III, plus hairpinning. */
static void phase_mapping(struct nc *nc, const struct netcheck_server *pri, bool test_hairpin)
{
	struct netcheck_report *rep = nc->rep;
	unsigned budget = remaining_ms(nc);
	struct wg_endpoint alt_ip = pri->other;
	uint64_t now = time_mono_ns();
	struct probe ps[3];
	size_t n = 0;

	wg_endpoint_set_port(&alt_ip, wg_endpoint_port(&pri->addr));
	probe_init(&ps[n++], &alt_ip, 0, budget, now);
	probe_init(&ps[n++], &pri->other, 0, budget, now);
	/* Hairpinning is tested from a second socket of ours: a NAT cannot hairpin
	 * a socket to itself (both directions of the flow would be one tuple). */
	if (test_hairpin && pri->mapped.sa.sa_family == AF_INET)
		nc->hair_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (nc->hair_fd < 0)
		test_hairpin = false;
	if (test_hairpin) {
		unsigned hb = (unsigned)(pri->rtt_ms * 4) + 500;

		probe_init(&ps[n], &pri->mapped, 0, hb < budget ? hb : budget, now);
		ps[n++].hairpin = true;
	}
	run_probes(nc, ps, n);
	if (test_hairpin) {
		rep->hairpinning = ps[2].ok ? NC_YES : NC_NO;
		close(nc->hair_fd);
		nc->hair_fd = -1;
	}
	if (ps[0].ok)
		add_public(rep, stun_msg_mapped(&ps[0].resp));
	if (ps[1].ok)
		add_public(rep, stun_msg_mapped(&ps[1].resp));
	if (!ps[0].ok) {
		note(rep, "mapping not determined: no answer from %s's alternate address", pri->name);
		return;
	}
	if (wg_endpoint_equal(stun_msg_mapped(&ps[0].resp), &pri->mapped))
		rep->mapping = NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
	else if (!ps[1].ok)
		note(rep, "mapping depends on the destination address; whether it also depends "
			  "on the port was not determined (no answer from the alternate port)");
	else if (wg_endpoint_equal(stun_msg_mapped(&ps[1].resp), stun_msg_mapped(&ps[0].resp)))
		rep->mapping = NAT_BEHAVIOR_ADDRESS_DEPENDENT;
	else
		rep->mapping = NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT;
	if (rep->mapping != NAT_BEHAVIOR_ENDPOINT_INDEPENDENT)
		rep->mapping_varies = NC_YES;
}

/* Without OTHER-ADDRESS: compare what servers at different places saw. */
static void mapping_from_servers(struct netcheck_report *rep)
{
	const struct netcheck_server *first = NULL;
	bool diff_ip = false, varies_ip = false, same_ip_port = false, varies_port = false;
	size_t i, j;

	for (i = 0; i < rep->n_servers; i++) {
		const struct netcheck_server *a = &rep->servers[i];

		if (!a->answered)
			continue;
		if (!first)
			first = a;
		for (j = i + 1; j < rep->n_servers; j++) {
			const struct netcheck_server *b = &rep->servers[j];
			bool same = wg_endpoint_equal(&a->mapped, &b->mapped);

			if (!b->answered || a->addr.sa.sa_family != b->addr.sa.sa_family)
				continue;
			if (wg_endpoint_same_addr(&a->addr, &b->addr)) {
				same_ip_port = true;
				varies_port |= !same;
			} else {
				diff_ip = true;
				varies_ip |= !same;
			}
		}
	}
	if (!diff_ip && !same_ip_port) {
		note(rep, "mapping not determined: needs a server with RFC 5780 OTHER-ADDRESS "
			  "or a second STUN server");
		return;
	}
	rep->mapping_varies = (varies_ip || varies_port) ? NC_YES : NC_NO;
	if (!varies_ip && !varies_port && diff_ip)
		rep->mapping = NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
	else if (varies_port)
		rep->mapping = NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT;
	else if (varies_ip && same_ip_port)
		rep->mapping = NAT_BEHAVIOR_ADDRESS_DEPENDENT;
	else
		note(rep, "mapping varies with the destination; whether it depends on the address "
			  "only or also the port was not determined (no two servers share an address)");
}

/* The classic name for an endpoint-independent mapping (or no NAT at all). */
static enum nat_type cone_type(enum nat_behavior filtering, bool no_nat)
{
	switch (filtering) {
	case NAT_BEHAVIOR_ENDPOINT_INDEPENDENT:
		return no_nat ? NAT_TYPE_OPEN : NAT_TYPE_FULL_CONE;
	case NAT_BEHAVIOR_ADDRESS_DEPENDENT:
		return NAT_TYPE_RESTRICTED_CONE;
	case NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT:
		return NAT_TYPE_PORT_RESTRICTED_CONE;
	default:
		return NAT_TYPE_UNKNOWN;
	}
}

/* No NAT but a filtering firewall is named after its filtering, like a cone. */
static enum nat_type classify(const struct netcheck_report *rep)
{
	if (rep->behind_nat == NC_NO)
		return cone_type(rep->filtering, true);
	if (rep->mapping_varies == NC_YES)
		return NAT_TYPE_SYMMETRIC;
	if (rep->mapping != NAT_BEHAVIOR_ENDPOINT_INDEPENDENT)
		return NAT_TYPE_UNKNOWN;
	return cone_type(rep->filtering, false);
}

static const struct netcheck_server *first_answered(const struct netcheck_report *rep,
						    bool want_other)
{
	size_t i;

	for (i = 0; i < rep->n_servers; i++)
		if (rep->servers[i].answered && (!want_other || rep->servers[i].has_other))
			return &rep->servers[i];
	return NULL;
}

/* Decides behind_nat from the first answer; notes when servers disagree on it. */
static void detect_nat(struct netcheck_report *rep, const struct netcheck_server *s)
{
	if (!rep->has_local) {
		note(rep, "could not learn the local address; NAT presence unknown");
		return;
	}
	rep->behind_nat = wg_endpoint_equal(&s->mapped, &rep->local) ? NC_NO : NC_YES;
	if (rep->behind_nat == NC_NO)
		rep->mapping = NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
}

static void analyse(struct nc *nc, bool test_hairpin)
{
	struct netcheck_report *rep = nc->rep;
	const struct netcheck_server *any = first_answered(rep, false);
	const struct netcheck_server *pri = first_answered(rep, true);

	if (!any) {
		rep->type = NAT_TYPE_UDP_BLOCKED;
		note(rep, "no STUN server answered over UDP: UDP is blocked on this network, "
			  "or every server is down");
		return;
	}
	if (!local_address(&any->addr, nc->io->local_port, &rep->local)) {
		wg_endpoint_unmap(&rep->local);
		rep->has_local = true;
	}
	detect_nat(rep, any);
	if (pri) {
		phase_filtering(nc, pri);
		if (rep->behind_nat == NC_YES)
			phase_mapping(nc, pri, test_hairpin);
	} else {
		note(rep, "no server offered RFC 5780 OTHER-ADDRESS: filtering not tested");
		if (rep->behind_nat == NC_YES)
			mapping_from_servers(rep);
	}
	if (rep->mapping_varies == NC_UNKNOWN && rep->mapping == NAT_BEHAVIOR_ENDPOINT_INDEPENDENT)
		rep->mapping_varies = NC_NO;
	rep->type = classify(rep);
}

int netcheck_run(const struct netcheck_config *cfg, const struct netcheck_io *io,
		 struct netcheck_report *rep)
{
	struct probe ps[NETCHECK_MAX_SERVERS];
	size_t idx[NETCHECK_MAX_SERVERS], i, resolved = 0;
	uint64_t start = time_mono_ns();
	struct nc nc = { .io = io, .rep = rep, .hair_fd = -1 };

	memset(rep, 0, sizeof(*rep));
	rep->behind_nat = rep->mapping_varies = rep->hairpinning = NC_UNKNOWN;
	if (cfg->n_servers == 0 || cfg->n_servers > NETCHECK_MAX_SERVERS)
		return -EINVAL;
	for (i = 0; i < cfg->n_servers; i++) {
		struct netcheck_server *s = &rep->servers[rep->n_servers++];

		snprintf(s->name, sizeof(s->name), "%s", cfg->servers[i]);
		s->rtt_ms = -1;
		resolved += resolve(s) == 0;
	}
	if (!resolved)
		return -EHOSTUNREACH;
	nc.deadline_ns = time_mono_ns() +
			 (uint64_t)(cfg->timeout_ms ? cfg->timeout_ms : NETCHECK_DEFAULT_TIMEOUT_MS) *
				 1000000u;
	phase_binding(&nc, ps, idx);
	analyse(&nc, !cfg->skip_hairpin);
	rep->duration_ms = (double)(time_mono_ns() - start) / 1e6;
	log_debug("netcheck", "done in %.0f ms: %s", rep->duration_ms, nat_type_name(rep->type));
	return 0;
}
