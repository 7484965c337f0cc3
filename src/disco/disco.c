/*
 * disco: the LAN discovery engine's lifecycle, its thread, the member list
 * and the group adverts. See disco.h; per-datagram work is in disco_fwd.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "disco/disco_internal.h"
#include "disco/disco_pkt.h"
#include "log/log.h"
#include "util/time.h"

enum {
	DISCO_BATCH = 32,
	DISCO_TICK_MS = 1000, /* groups and addresses re-read, expiries */
};

static uint64_t disco_now_ms(void)
{
	return time_mono_ns() / TIME_NS_PER_MS;
}

static void disco_wake(struct disco *d)
{
	uint64_t one = 1;

	if (write(d->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the thread wakes anyway */
	}
}

/* ---- The tap ------------------------------------------------------------- */

/* Lock held. The directed broadcasts the filter names: the host's subnets'
 * and the party subnet's (the virtual IP may sit on the interface as a /32). */
static size_t disco_bcasts(const struct disco *d, struct in_addr *out, size_t cap)
{
	size_t n = disco_addrs_bcasts(&d->addrs, out, cap - 1);
	bool dup = false;

	for (size_t i = 0; i < n; i++)
		dup |= out[i].s_addr == d->subnet_bcast.s_addr;
	if (!dup)
		out[n++] = d->subnet_bcast;
	return n;
}

/* Lock held. Opens, re-filters or closes the tap to match the policy and
 * the host's subnets. */
static void disco_tap_sync(struct disco *d)
{
	struct portlist_entry ranges[PORTLIST_MAX * 2 + 32];
	struct disco_tap_spec spec = { .vif = d->vif, .lo = d->lo, .ports = ranges,
				       .bcasts = d->tap_bcasts };
	int r;

	d->reload = false;
	if (!d->policy.enabled) {
		if (d->tap_fd >= 0)
			close(d->tap_fd);
		d->tap_fd = -1;
		d->error[0] = '\0';
		return;
	}
	spec.n_ports = disco_policy_ranges(&d->policy, ranges, sizeof(ranges) / sizeof(ranges[0]));
	d->n_tap_bcasts = disco_bcasts(d, d->tap_bcasts, DISCO_MAX_IFADDRS + 1);
	spec.n_bcasts = d->n_tap_bcasts;
	if (d->tap_fd >= 0) {
		r = disco_tap_filter(d->tap_fd, &spec);
	} else {
		r = disco_tap_open(&spec);
		if (r >= 0)
			d->tap_fd = r;
	}
	if (r < 0) {
		snprintf(d->error, sizeof(d->error), "cannot watch for discovery packets: %s%s",
			 strerror(-r), r == -EPERM ? " (needs CAP_NET_RAW)" : "");
		log_warn(DISCO_TAG, "%s", d->error);
		return;
	}
	d->error[0] = '\0';
}

static void disco_read_tap(struct disco *d)
{
	static __thread uint8_t bufs[DISCO_BATCH][DISCO_MAX_PACKET + 64];
	struct sockaddr_ll from[DISCO_BATCH];
	struct mmsghdr msgs[DISCO_BATCH];
	struct iovec iov[DISCO_BATCH];
	int n;

	for (int i = 0; i < DISCO_BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i],
							 .msg_namelen = sizeof(from[i]),
							 .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	n = recvmmsg(d->tap_fd, msgs, DISCO_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < n; i++) {
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			d->c.invalid++;
			continue;
		}
		disco_on_tap(d, bufs[i], msgs[i].msg_len, (unsigned)from[i].sll_ifindex,
			     from[i].sll_pkttype, disco_now_ms());
	}
	pthread_mutex_unlock(&d->lock);
}

static void disco_read_msgs(struct disco *d)
{
	uint8_t buf[DISCO_MAX_PACKET];

	for (int i = 0; i < DISCO_BATCH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->msg_fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		pthread_mutex_lock(&d->lock);
		disco_on_msg(d, buf, (size_t)n, from.sin_addr, disco_now_ms());
		pthread_mutex_unlock(&d->lock);
	}
}

/* ---- Group adverts ------------------------------------------------------- */

/* Lock held. Our groups to every member whose advert is due. */
static void disco_advertise(struct disco *d)
{
	struct disco_msg m = { .type = DISCO_MSG_GROUPS, .n_groups = (uint8_t)d->n_groups };
	uint8_t buf[DISCO_MSG_HDR + 1 + DISCO_MAX_GROUPS * 4];
	ssize_t len;

	memcpy(m.groups, d->groups, sizeof(d->groups[0]) * d->n_groups);
	len = disco_msg_build(buf, sizeof(buf), &m);
	for (size_t i = 0; i < d->n_peers && len > 0; i++) {
		struct disco_peer *p = &d->peers[i];
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = p->m.vip,
					  .sin_port = htons(DISCO_PORT) };

		if (!p->advert_due)
			continue;
		p->advert_due = false;
		if (sendto(d->msg_fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			d->c.adverts_sent++;
	}
}

/* Lock held. A NIC came, went or changed its subnet since the tap's filter
 * was made. */
static bool disco_subnets_changed(const struct disco *d)
{
	struct in_addr b[DISCO_MAX_IFADDRS + 1];
	size_t n = disco_bcasts(d, b, DISCO_MAX_IFADDRS + 1);

	return n != d->n_tap_bcasts || memcmp(b, d->tap_bcasts, n * sizeof(b[0]));
}

/* Lock held. Re-reads this host's game groups and addresses; advertises
 * at once when the groups changed, else every DISCO_ADVERT_S. */
static void disco_tick(struct disco *d, uint64_t now_ms, uint64_t *next_advert_ms)
{
	struct in_addr all[DISCO_MAX_GROUPS * 2], mine[DISCO_MAX_GROUPS];
	size_t n = 0;
	int r = disco_igmp_read(NULL, all, sizeof(all) / sizeof(all[0]));
	bool changed;

	disco_addrs_read(&d->addrs);
	if (d->tap_fd >= 0 && disco_subnets_changed(d))
		d->reload = true;
	for (int i = 0; i < r && n < DISCO_MAX_GROUPS; i++)
		if (disco_policy_group_known(&d->policy, all[i]))
			mine[n++] = all[i];
	if (!d->policy.enabled)
		n = 0;
	changed = n != d->n_groups || memcmp(mine, d->groups, n * sizeof(mine[0]));
	if (changed) {
		memcpy(d->groups, mine, n * sizeof(mine[0]));
		d->n_groups = n;
	}
	if (d->policy.enabled && (changed || now_ms >= *next_advert_ms)) {
		for (size_t i = 0; i < d->n_peers; i++)
			d->peers[i].advert_due = true;
		*next_advert_ms = now_ms + DISCO_ADVERT_S * 1000ULL;
	}
	if (d->policy.enabled)
		disco_advertise(d);
	for (size_t i = 0; i < d->n_games;) {
		if (now_ms - d->games[i].at_ms > DISCO_GAME_EXPIRY_S * 1000ULL)
			d->games[i] = d->games[--d->n_games];
		else
			i++;
	}
}

static void *disco_thread(void *arg)
{
	struct disco *d = arg;
	uint64_t next_tick = 0, next_advert = 0;

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = d->stop_fd, .events = POLLIN },
			{ .fd = d->msg_fd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		};
		uint64_t now = disco_now_ms(), v;

		pthread_mutex_lock(&d->lock);
		if (d->stopping) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		if (d->reload)
			disco_tap_sync(d);
		if (now >= next_tick) {
			disco_tick(d, now, &next_advert);
			next_tick = now + DISCO_TICK_MS;
		} else if (d->policy.enabled) {
			disco_advertise(d); /* members added since the last tick */
		}
		fds[2].fd = d->tap_fd;
		pthread_mutex_unlock(&d->lock);
		if (poll(fds, 3, (int)(next_tick - now)) < 0 && errno != EINTR) {
			log_error(DISCO_TAG, "poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents && read(d->stop_fd, &v, sizeof(v)) < 0) {
			/* nothing to read: a spurious wakeup */
		}
		if (fds[1].revents)
			disco_read_msgs(d);
		if (fds[2].fd >= 0 && fds[2].revents)
			disco_read_tap(d);
	}
	return NULL;
}

/* ---- Lifecycle ----------------------------------------------------------- */

static void disco_close(struct disco *d)
{
	int *fds[] = { &d->stop_fd, &d->msg_fd, &d->raw_fd, &d->lo_fd, &d->tap_fd,
		       &d->join_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int disco_open(struct disco *d, const struct disco_config *cfg)
{
	const char *what;
	int r;

	what = "eventfd";
	if ((d->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto err_errno;
	what = "the members' socket";
	if ((r = d->msg_fd = disco_msg_open(cfg->self_ip, cfg->ifname)) < 0)
		goto err;
	what = "the raw socket for copies";
	if ((r = d->raw_fd = disco_raw_open(cfg->ifname)) < 0)
		goto err;
	what = "the raw socket for native deliveries";
	if ((r = d->lo_fd = disco_raw_open("lo")) < 0)
		goto err;
	what = "the group socket";
	if ((d->join_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		goto err_errno;
	return 0;
err_errno:
	r = -errno;
err:
	log_error(DISCO_TAG, "cannot open %s: %s", what, strerror(-r));
	disco_close(d);
	return r;
}

int disco_new(const struct disco_config *cfg, const struct disco_policy *policy,
	      struct disco **out)
{
	struct disco *d = calloc(1, sizeof(*d));
	uint32_t mask;
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->stop_fd = d->msg_fd = d->raw_fd = d->lo_fd = d->tap_fd = d->join_fd = -1;
	snprintf(d->ifname, sizeof(d->ifname), "%s", cfg->ifname);
	d->vif = if_nametoindex(cfg->ifname);
	d->lo = if_nametoindex("lo");
	d->self_ip = cfg->self_ip;
	mask = cfg->prefix ? htonl(~0U << (32 - cfg->prefix)) : 0;
	d->subnet_bcast.s_addr = cfg->self_ip.s_addr | ~mask;
	d->mtu = cfg->mtu ? cfg->mtu : 1420;
	d->policy = *policy;
	d->reload = true;
	disco_addrs_read(&d->addrs);
	disco_filter_init(&d->out_filter);
	disco_filter_init(&d->in_filter);
	if (!d->vif || !d->lo) {
		log_error(DISCO_TAG, "no interface %s", d->vif ? "lo" : cfg->ifname);
		free(d);
		return -ENODEV;
	}
	pthread_mutex_init(&d->lock, NULL);
	r = disco_open(d, cfg);
	if (!r && (r = -pthread_create(&d->thread, NULL, disco_thread, d)))
		disco_close(d);
	if (r) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

void disco_free(struct disco *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_mutex_unlock(&d->lock);
	disco_wake(d);
	pthread_join(d->thread, NULL);
	disco_close(d);
	pthread_mutex_destroy(&d->lock);
	free(d->peers);
	free(d);
}

/* Lock held. A member that left hosts nothing any more. */
static void disco_games_prune(struct disco *d)
{
	for (size_t i = 0; i < d->n_games;) {
		bool member = false;

		for (size_t k = 0; k < d->n_peers && !member; k++)
			member = !strcmp(d->peers[k].m.peer_id, d->games[i].g.peer_id);
		if (member)
			i++;
		else
			d->games[i] = d->games[--d->n_games];
	}
}

int disco_set_members(struct disco *d, const struct disco_member *m, size_t n)
{
	struct disco_peer *peers = calloc(n ? n : 1, sizeof(*peers));
	bool news = false;

	if (!peers)
		return -ENOMEM;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		const struct disco_peer *old = disco_peer_by_vip(d, m[i].vip);

		/* Keep what a member advertised; a new one gets our groups now. */
		if (old && !strcmp(old->m.peer_id, m[i].peer_id))
			peers[i] = *old;
		else
			peers[i].advert_due = news = true;
		if (m[i].reachable && !(old && old->m.reachable))
			peers[i].advert_due = news = true;
		peers[i].m = m[i];
	}
	free(d->peers);
	d->peers = peers;
	d->n_peers = n;
	disco_games_prune(d);
	pthread_mutex_unlock(&d->lock);
	if (news)
		disco_wake(d);
	return 0;
}

void disco_set_policy(struct disco *d, const struct disco_policy *policy)
{
	pthread_mutex_lock(&d->lock);
	d->policy = *policy;
	d->reload = true;
	pthread_mutex_unlock(&d->lock);
	disco_wake(d);
}

void disco_status(struct disco *d, struct disco_status *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	out->enabled = d->policy.enabled;
	out->capturing = d->tap_fd >= 0;
	snprintf(out->error, sizeof(out->error), "%s", d->error);
	out->c = d->c;
	memcpy(out->groups, d->groups, sizeof(d->groups[0]) * d->n_groups);
	out->n_groups = d->n_groups;
	pthread_mutex_unlock(&d->lock);
}

static int disco_game_cmp(const void *a, const void *b)
{
	double x = ((const struct disco_game_seen *)a)->last_seen_s;
	double y = ((const struct disco_game_seen *)b)->last_seen_s;

	return (x > y) - (x < y);
}

int disco_games(struct disco *d, struct disco_game_seen **out, size_t *n)
{
	uint64_t now = disco_now_ms();

	pthread_mutex_lock(&d->lock);
	*out = calloc(d->n_games ? d->n_games : 1, sizeof(**out));
	if (!*out) {
		pthread_mutex_unlock(&d->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n_games; i++) {
		(*out)[i] = d->games[i].g;
		/* tenths of a second: what a person reads */
		(*out)[i].last_seen_s = (double)((now - d->games[i].at_ms) / 100) / 10.0;
	}
	*n = d->n_games;
	pthread_mutex_unlock(&d->lock);
	qsort(*out, *n, sizeof(**out), disco_game_cmp);
	return 0;
}
