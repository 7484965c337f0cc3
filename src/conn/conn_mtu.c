/*
 * conn_mtu: each member's path MTU on the host (docs/NET.md "Path MTU"):
 * the ceiling of a new path from the local route, the member's route, the
 * probe rounds through the tunnel and their answers, DF on the outer
 * sockets. The search itself is pure and lives in conn_pmtu.c. Control
 * thread only, like the rest of conn.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn/conn_priv.h"
#include "log/log.h"
#include "util/time.h"

#define MS 1000000ULL

/* The local link's MTU toward dst: what the kernel would send there in one
 * packet (the route's or interface's MTU, or a smaller one an ICMP message
 * reported: a hint, RFC 8899 allows it). PMTU_UNDERLAY_DEFAULT when unknown. */
static unsigned underlay_mtu(const struct wg_endpoint *dst)
{
	int v6 = dst->sa.sa_family == AF_INET6, mtu = 0;
	socklen_t len = sizeof(mtu);
	int fd = socket(dst->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return PMTU_UNDERLAY_DEFAULT;
	if (connect(fd, &dst->sa, wg_endpoint_socklen(dst)) ||
	    getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len))
		mtu = 0;
	close(fd);
	return mtu > 0 ? (unsigned)mtu : PMTU_UNDERLAY_DEFAULT;
}

/* Puts the search's MTU on the member's route when it changed. */
static void pmtu_apply(struct conn *c, struct conn_member *m)
{
	struct pmtu *p = &m->pmtu;
	int ret;

	if (p->mtu && p->mtu != m->route_mtu) {
		ret = net_peer_mtu(c->cfg.net, m->aip.v4, p->mtu);
		if (ret)
			log_warn(CONN_TAG, "member %s: cannot set MTU %u on its route: %s",
				 m->peer.peer_id, p->mtu, strerror(-ret));
		else
			log_debug(CONN_TAG, "member %s: MTU %u", m->peer.peer_id, p->mtu);
		m->route_mtu = ret ? 0 : p->mtu;
	}
	if (p->phase != m->pmtu_logged) {
		if (p->phase == PMTU_DONE)
			log_info(CONN_TAG, "member %s: path MTU %u (ceiling %u, %s path, %llu ms)",
				 m->peer.peer_id, p->mtu, p->ceiling,
				 m->pmtu_relayed ? "relayed" : "direct",
				 (unsigned long long)((p->converged_ns - p->start_ns) / MS));
		m->pmtu_logged = p->phase;
	}
}

/* A new first hop (the direct endpoint, or the relay when relayed): its
 * ceiling goes on the route at once and a search starts. */
void conn_mtu_path(struct conn *c, struct conn_member *m, const struct wg_endpoint *hop,
		      bool relayed)
{
	struct wg_endpoint ep = *hop;

	if (!c->cfg.path_mtu)
		return;
	wg_endpoint_unmap(&ep);
	if (m->pmtu.phase != PMTU_IDLE && m->pmtu_relayed == relayed &&
	    wg_endpoint_equal(&m->pmtu_hop, &ep))
		return;
	m->pmtu_hop = ep;
	m->pmtu_relayed = relayed;
	pmtu_start(&m->pmtu, pmtu_ceiling(underlay_mtu(&ep), ep.sa.sa_family == AF_INET6,
					  relayed ? RELAY_KEYED_HDR_LEN : 0, net_mtu(c->cfg.net)),
		   time_mono_ns());
	m->pmtu_logged = PMTU_SEARCH;
	pmtu_apply(c, m);
}

static void pmtu_send(struct conn *c, struct conn_member *m, uint32_t seq, unsigned size)
{
	uint8_t buf[2048];
	int n = echo_probe_build(buf, sizeof(buf), ECHO_PROBE, seq, size);

	if (n > 0)
		(void)sendto(c->echo_fd, buf, (size_t)n, MSG_NOSIGNAL, &m->vip.sa,
			     sizeof(m->vip.in4));
}

/* A round waits about three RTTs for its answers, within [250 ms, 2 s]: the
 * monitor's smoothed RTT, else the last small probe's (a new path has no
 * monitor RTT for one monitor interval), else 1 s. */
static uint64_t pmtu_timeout(const struct conn_member *m)
{
	uint64_t t = m->mon.rtt_valid ? (uint64_t)(3 * m->mon.rtt_ms) * MS
		     : m->pmtu.rtt_ns ? 3 * m->pmtu.rtt_ns
				      : 1000 * MS;

	return t < 250 * MS ? 250 * MS : t > 2000 * MS ? 2000 * MS : t;
}

/* Rounds on a path whose tunnel answers echoes; returns the next deadline. */
uint64_t conn_mtu_run(struct conn *c, struct conn_member *m, uint64_t now)
{
	unsigned size;
	uint32_t round;

	if (!c->cfg.path_mtu || c->echo_fd < 0 || !m->mon.up ||
	    (m->path != CONN_PATH_DIRECT && m->path != CONN_PATH_RELAY))
		return UINT64_MAX;
	if (pmtu_tick(&m->pmtu, now, pmtu_timeout(m), &size, &round)) {
		pmtu_send(c, m, 2 * round + 1, size);
		pmtu_send(c, m, 2 * round, PMTU_IP_UDP_LEN + ECHO_PROBE_LEN);
	}
	pmtu_apply(c, m);
	return pmtu_next_ns(&m->pmtu);
}

/* A probe is answered small, with the size that arrived; an answer goes to
 * the member whose virtual IP sent it. */
void conn_mtu_echo_rx(struct conn *c, const uint8_t *buf, size_t len,
			 const struct wg_endpoint *src, socklen_t sl)
{
	uint8_t out[ECHO_PROBE_LEN];
	unsigned size;
	uint32_t seq;
	int type, n;

	if (echo_probe_parse(buf, len, &type, &seq, &size))
		return;
	if (type == ECHO_PROBE) {
		n = echo_probe_build(out, sizeof(out), ECHO_PROBE_REPLY, seq, size);
		if (n > 0)
			(void)sendto(c->echo_fd, out, (size_t)n, MSG_NOSIGNAL, &src->sa, sl);
		return;
	}
	for (size_t i = 0; i < c->n_members; i++) {
		struct conn_member *m = c->members[i];

		if (!wg_endpoint_equal(&m->vip, src))
			continue;
		if (!(seq & 1))
			pmtu_answer(&m->pmtu, seq / 2, false, time_mono_ns());
		else if (size == m->pmtu.probe)
			pmtu_answer(&m->pmtu, seq / 2, true, time_mono_ns());
		return;
	}
}

/* Every outer datagram (the device's, the relay socket's) leaves with DF
 * and is never fragmented here, and the echo socket sends a probe whole up
 * to the interface MTU whatever the member's route says (IP_PMTUDISC_PROBE
 * ignores the route MTU). Without the device's DF the probes would measure
 * nothing: the path MTU falls back to the interface MTU, as before. */
void conn_mtu_setup(struct conn *c)
{
	int probe = IP_PMTUDISC_PROBE, probe6 = IPV6_PMTUDISC_PROBE, ret;

	if (!c->cfg.path_mtu)
		return;
	ret = net_set_dont_fragment(c->cfg.net, true);
	if (ret) {
		log_warn(CONN_TAG, "the WireGuard socket cannot refuse fragmentation (%s): "
			 "every path uses the interface MTU", strerror(-ret));
		c->cfg.path_mtu = false;
		return;
	}
	if (setsockopt(c->relay_fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe)) < 0 ||
	    (c->echo_fd >= 0 &&
	     setsockopt(c->echo_fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe)) < 0))
		log_warn(CONN_TAG, "IP_PMTUDISC_PROBE: %s", strerror(errno));
	/* the relay socket is dual-stack: IPv6 relays follow the IPv6 option
	 * (it fails, harmlessly, on the IPv4-only socket of a host without IPv6) */
	(void)setsockopt(c->relay_fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof(probe6));
}
