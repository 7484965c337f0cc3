/*
 * disco_fwd: what happens to each datagram the tap sees or a member sends.
 * Called on the engine's thread with the engine's lock held; allocates
 * nothing.
 *
 * Loops cannot form: only datagrams whose source is one of this host's own
 * addresses are captured (a native delivery carries the member's address and
 * is sent on lo, which the tap ignores); the copies sent on are unicast,
 * which the tap's filter never takes as discovery.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "disco/disco_internal.h"
#include "disco/disco_pkt.h"
#include "log/log.h"

struct disco_peer *disco_peer_by_vip(struct disco *d, struct in_addr vip)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i].m.vip.s_addr == vip.s_addr)
			return &d->peers[i];
	return NULL;
}

static bool disco_peer_wants(const struct disco_peer *p, struct in_addr group, uint64_t now_ms)
{
	if (!p->groups_at_ms || now_ms - p->groups_at_ms > DISCO_GROUP_EXPIRY_S * 1000ULL)
		return false;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i].s_addr == group.s_addr)
			return true;
	return false;
}

static int disco_send_to(int fd, const uint8_t *buf, size_t len, struct in_addr to, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = to, .sin_port = htons(port) };

	return sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0 ? -errno : 0;
}

/* One copy to one member; true when it was sent. */
static bool disco_copy(struct disco *d, const struct disco_peer *p, const struct disco_udp *u,
		       bool native)
{
	uint8_t pkt[DISCO_MAX_PACKET];
	struct disco_udp c = *u;
	ssize_t len;

	if (native) {
		struct disco_msg m = { .type = DISCO_MSG_NATIVE, .native = *u };

		/* The member re-injects a broadcast as 255.255.255.255: our
		 * subnet's broadcast address means nothing on its host. */
		if (!IN_MULTICAST(ntohl(u->dst.s_addr)))
			m.native.dst.s_addr = htonl(INADDR_BROADCAST);
		len = disco_msg_build(pkt, sizeof(pkt), &m);
		return len > 0 && !disco_send_to(d->msg_fd, pkt, (size_t)len, p->m.vip, DISCO_PORT);
	}
	c.src = d->self_ip;
	c.dst = p->m.vip;
	c.ttl = 64;
	len = disco_udp_build(pkt, sizeof(pkt), &c, d->ip_id++);
	/* A raw socket takes port 0 in sendto; the header says the rest. */
	return len > 0 && !disco_send_to(d->raw_fd, pkt, (size_t)len, p->m.vip, 0);
}

/* A broadcast or multicast destination, or false for unicast (ordinary
 * traffic to a game port). The subnet broadcasts are the ones the tap's
 * filter was made with (the party subnet's among them). */
static bool disco_is_discovery(const struct disco *d, struct in_addr dst)
{
	uint32_t h = ntohl(dst.s_addr);

	if (h == INADDR_BROADCAST || IN_MULTICAST(h))
		return true;
	for (size_t i = 0; i < d->n_tap_bcasts; i++)
		if (d->tap_bcasts[i].s_addr == dst.s_addr)
			return true;
	return false;
}

static void disco_fan_out(struct disco *d, const struct disco_udp *u, unsigned ifindex,
			  uint64_t now_ms)
{
	bool mcast = IN_MULTICAST(ntohl(u->dst.s_addr));
	bool native = disco_policy_native(&d->policy, u->dport);
	uint64_t sent = 0;

	for (size_t i = 0; i < d->n_peers; i++) {
		const struct disco_peer *p = &d->peers[i];

		if (mcast && !disco_peer_wants(p, u->dst, now_ms))
			continue;
		/* The datagram left by a physical NIC whose subnet holds the
		 * member's direct endpoint: the member is on this LAN and got
		 * the original. */
		if (ifindex != d->vif && p->m.direct_ip.s_addr &&
		    disco_addrs_same_subnet(&d->addrs, ifindex, p->m.direct_ip)) {
			d->c.same_lan++;
			continue;
		}
		sent += disco_copy(d, p, u, native);
	}
	d->c.copies += sent;
	d->c.forwarded += sent > 0;
}

static void disco_capture(struct disco *d, const uint8_t *pkt, size_t len, unsigned ifindex,
			  uint64_t now_ms)
{
	struct disco_udp u;
	uint64_t key;

	if (disco_udp_parse(&u, pkt, len)) {
		d->c.invalid++;
		return;
	}
	if (!disco_is_discovery(d, u.dst))
		return;
	if (u.src.s_addr != d->self_ip.s_addr && !disco_addrs_is_local(&d->addrs, u.src))
		return; /* not sent by this host */
	d->c.captured++;
	switch (disco_policy_check(&d->policy, u.dst, u.dport)) {
	case DISCO_DENIED:
		d->c.denied++;
		return;
	case DISCO_NOT_GAME:
		d->c.not_game++;
		return;
	case DISCO_FORWARD:
		break;
	}
	/* Whole in the tunnel: a native delivery adds its message header. */
	if (len + (disco_policy_native(&d->policy, u.dport) ? DISCO_NATIVE_HDR : 0) > d->mtu ||
	    u.payload_len == 0) {
		d->c.invalid++;
		return;
	}
	/* Identity as the members will see it (our virtual IP as source), so
	 * the same query sent on two NICs counts once. */
	key = disco_filter_key(d->self_ip.s_addr, u.sport, u.dport, u.payload, u.payload_len);
	switch (disco_filter_check(&d->out_filter, key,
				   (uint64_t)u.src.s_addr << 16 | u.sport, now_ms)) {
	case DISCO_DUPLICATE:
		d->c.duplicates++;
		return;
	case DISCO_RATE_LIMITED:
		d->c.rate_limited++;
		return;
	case DISCO_PASS:
		break;
	}
	disco_fan_out(d, &u, ifindex, now_ms);
}

/* ---- Games seen ---------------------------------------------------------- */

static void disco_game_seen(struct disco *d, const struct disco_peer *p, const char *game,
			    uint16_t port, const char *info, uint64_t now_ms)
{
	struct disco_seen *s = NULL;

	for (size_t i = 0; i < d->n_games && !s; i++)
		if (d->games[i].g.port == port && !strcmp(d->games[i].g.game, game) &&
		    !strcmp(d->games[i].g.peer_id, p->m.peer_id))
			s = &d->games[i];
	if (!s) {
		size_t oldest = 0;

		for (size_t i = 1; i < d->n_games; i++)
			if (d->games[i].at_ms < d->games[oldest].at_ms)
				oldest = i;
		s = d->n_games < DISCO_MAX_GAMES ? &d->games[d->n_games++] : &d->games[oldest];
		memset(s, 0, sizeof(*s));
		snprintf(s->g.game, sizeof(s->g.game), "%s", game);
		memcpy(s->g.peer_id, p->m.peer_id, sizeof(s->g.peer_id));
		inet_ntop(AF_INET, &p->m.vip, s->g.virtual_ip, sizeof(s->g.virtual_ip));
		s->g.port = port;
		log_kv(LOG_INFO, DISCO_TAG, "LAN game found", LOG_STR("game", game),
		       LOG_STR("member", p->m.name), LOG_STR("virtual_ip", s->g.virtual_ip),
		       LOG_UINT("port", port));
	}
	memcpy(s->g.member, p->m.name, sizeof(s->g.member));
	if (info[0])
		snprintf(s->g.info, sizeof(s->g.info), "%s", info);
	s->at_ms = now_ms;
}

/* A datagram a member's host sent us through the tunnel: a game server's
 * answer (from its port) or announcement (to the game's port). */
static void disco_observe_udp(struct disco *d, const struct disco_peer *p,
			      const struct disco_udp *u, uint64_t now_ms)
{
	const struct disco_game *g = disco_game_by_port(u->sport);
	const struct disco_game *to = disco_game_by_port(u->dport);
	char info[64] = "";
	uint16_t port = u->dport;

	/* A query from a port that happens to be another game's (an
	 * ephemeral 44400 to OpenArena's 27960) is not that game's answer. */
	if (g && to && to != g)
		g = NULL;
	if (g && g->kind == DISCO_QUERY &&
	    (!g->reply_prefix || (u->payload_len >= g->reply_prefix_len &&
				  !memcmp(u->payload, g->reply_prefix, g->reply_prefix_len)))) {
		if (g->info == DISCO_INFO_QUAKE)
			disco_quake_info(u->payload, u->payload_len, info, sizeof(info));
		else if (g->info == DISCO_INFO_SOURCE)
			disco_source_info(u->payload, u->payload_len, info, sizeof(info));
		disco_game_seen(d, p, g->name, u->sport, info, now_ms);
	} else if (to && to->kind == DISCO_ANNOUNCE) {
		disco_minecraft_parse(u->payload, u->payload_len, info, sizeof(info), &port);
		disco_game_seen(d, p, to->name, port, info, now_ms);
	}
}

static void disco_observe(struct disco *d, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	const struct disco_peer *p;
	struct disco_udp u;

	if (!disco_udp_parse(&u, pkt, len) && (p = disco_peer_by_vip(d, u.src)))
		disco_observe_udp(d, p, &u, now_ms);
}

void disco_on_tap(struct disco *d, const uint8_t *pkt, size_t len, unsigned ifindex,
		  unsigned pkttype, uint64_t now_ms)
{
	if (pkttype == PACKET_OUTGOING)
		disco_capture(d, pkt, len, ifindex, now_ms);
	else if (pkttype == PACKET_HOST && ifindex == d->vif)
		disco_observe(d, pkt, len, now_ms);
}

/* ---- Members' messages --------------------------------------------------- */

static int disco_lo_join(struct disco *d, struct in_addr group)
{
	struct ip_mreqn mr = { .imr_multiaddr = group, .imr_ifindex = (int)d->lo };

	for (size_t i = 0; i < d->n_lo_groups; i++)
		if (d->lo_groups[i].s_addr == group.s_addr)
			return 0;
	if (d->n_lo_groups == DISCO_MAX_GROUPS)
		return -ENOSPC;
	/* lo accepts the injected group only once this host joined it there;
	 * sockets that joined elsewhere still get it unless they set
	 * IP_MULTICAST_ALL to 0 (Java does: use unicast for Minecraft). */
	if (setsockopt(d->join_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) &&
	    errno != EADDRINUSE)
		return -errno;
	d->lo_groups[d->n_lo_groups++] = group;
	return 0;
}

/* Native delivery: the member's datagram with its broadcast or multicast
 * destination, re-injected here as if the member were on our LAN. Our own
 * policy decides, so a member cannot make us broadcast to DHCP. */
static void disco_native_in(struct disco *d, const struct disco_peer *p, struct disco_udp *u,
			    struct in_addr from, uint64_t now_ms)
{
	uint8_t pkt[DISCO_MAX_PACKET];
	uint64_t key;
	ssize_t len;

	if (!d->policy.enabled || disco_policy_check(&d->policy, u->dst, u->dport) != DISCO_FORWARD) {
		d->c.native_refused++;
		return;
	}
	key = disco_filter_key(from.s_addr, u->sport, u->dport, u->payload, u->payload_len);
	if (disco_filter_check(&d->in_filter, key, (uint64_t)from.s_addr << 16 | u->sport,
			       now_ms) != DISCO_PASS) {
		d->c.native_refused++;
		return;
	}
	if (IN_MULTICAST(ntohl(u->dst.s_addr)) && disco_lo_join(d, u->dst)) {
		d->c.native_refused++;
		return;
	}
	/* A foreign subnet's broadcast would be dropped here: use the
	 * limited broadcast, which every socket on the port receives. */
	if (!IN_MULTICAST(ntohl(u->dst.s_addr)))
		u->dst.s_addr = htonl(INADDR_BROADCAST);
	u->src = from;
	u->ttl = 1;
	len = disco_udp_build(pkt, sizeof(pkt), u, d->ip_id++);
	if (len > 0 && !disco_send_to(d->lo_fd, pkt, (size_t)len, u->dst, 0)) {
		d->c.native_received++;
		disco_observe_udp(d, p, u, now_ms); /* an announcement names a game */
	} else
		d->c.native_refused++;
}

void disco_on_msg(struct disco *d, const uint8_t *buf, size_t len, struct in_addr from,
		  uint64_t now_ms)
{
	struct disco_peer *p = disco_peer_by_vip(d, from);
	struct disco_msg m;

	if (!p || disco_msg_parse(&m, buf, len))
		return;
	if (m.type == DISCO_MSG_GROUPS) {
		memcpy(p->groups, m.groups, sizeof(m.groups[0]) * m.n_groups);
		p->n_groups = m.n_groups;
		p->groups_at_ms = now_ms;
		d->c.adverts_received++;
	} else {
		disco_native_in(d, p, &m.native, from, now_ms);
	}
}
