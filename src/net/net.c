/*
 * net: the interface lifecycle around a backend. net_up = privilege check,
 * stale cleanup, backend up, then MTU, address, link up and the subnet route
 * over rtnetlink (platform/); net_down undoes all of it.
 *
 * Invariants: net->state is non-NULL exactly while the backend is up; every
 * failure inside net_up undoes what it did, so the caller never cleans up
 * after a failed net_up; net_down may be called any number of times.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log/log.h"
#include "net/net.h"
#include "platform/platform.h"

enum { NET_MTU_MIN = 576, NET_MTU_MAX = 65535 };

struct net {
	char ifname[IFNAMSIZ];
	char uapi_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" = none */
	const struct net_backend_ops *ops;
	void *state;
	unsigned mtu; /* the interface's */
};

void net_config_init(struct net_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ifname = NET_DEFAULT_IFNAME;
	cfg->prefix = 16;
	cfg->mtu = NET_DEFAULT_MTU;
	cfg->listen_port = NET_DEFAULT_LISTEN_PORT;
}

/* Prefix 0 would route everything into the party network: never wanted. */
static int check_config(const struct net_config *cfg)
{
	const char *name = cfg->ifname ? cfg->ifname : NET_DEFAULT_IFNAME;

	if (!cfg->keys || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    cfg->prefix == 0 || cfg->prefix > 32 || cfg->mtu < NET_MTU_MIN ||
	    cfg->mtu > NET_MTU_MAX) {
		log_error("net", "bad interface configuration (name \"%s\", prefix /%u, MTU %u)",
			  name, cfg->prefix, cfg->mtu);
		return -EINVAL;
	}
	return 0;
}

/* Logs a failure the user must act on, and copies it to cfg->err. */
__attribute__((format(printf, 2, 3))) static void net_fail(const struct net_config *cfg,
							   const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("net", "%s", line);
	if (cfg->err && cfg->err_len)
		snprintf(cfg->err, cfg->err_len, "%s", line);
}

/* A link LANrage made: our mark, and a kind we create. A stale one of ours
 * may go; anything else of that name (docker0, a VPN's tun0, eth0) is the
 * user's and is never deleted, re-addressed or reused. */
static bool link_is_ours(const struct platform_link *l)
{
	return !strcmp(l->alias, NET_LINK_MARK) &&
	       (!strcmp(l->kind, "tun") || !strcmp(l->kind, "wireguard"));
}

/* True when a process accepts connections on the UNIX socket at path. */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool answers;

	if (fd < 0)
		return false;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	answers = !connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return answers;
}

/* Binds a dual-stack UDP socket to port without SO_REUSEPORT, so that any
 * holder of the port, sharing or not, makes it fail; closes it at once. */
static int udp_port_free(uint16_t port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int off = 0, fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		ret = bind(fd, (struct sockaddr *)&sa6, sizeof(sa6));
	} else {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* no IPv6 here */
		if (fd < 0)
			return -errno;
		ret = bind(fd, (struct sockaddr *)&sa4, sizeof(sa4));
	}
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* Locks /run/lanrage/NAME.lock for this process (its PID written in it):
 * fd, -EBUSY with the holder's PID in *holder, or 0 with fd -1 when the
 * directory cannot be made (no privilege: the checks still run). */
static int claim_lock(const char *name, int *fd, long *holder)
{
	char path[128], buf[24];
	ssize_t n;

	*fd = -1;
	if (mkdir("/run/lanrage", 0755) && errno != EEXIST)
		return 0;
	snprintf(path, sizeof(path), "/run/lanrage/%s.lock", name);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0) {
		*fd = -1;
		return 0;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB)) {
		n = pread(*fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		*holder = atol(buf);
		close(*fd);
		*fd = -1;
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) || pwrite(*fd, buf, (size_t)n, 0) != n) {
		/* the lock holds without the PID; only the message loses it */
	}
	return 0;
}

static int claim_all(const char *ifname, uint16_t port, struct net_claim *c, char *why,
		     size_t len)
{
	char name[64];
	struct stat ns;
	long holder = 0;

	snprintf(name, sizeof(name), "if-%s", ifname);
	if (claim_lock(name, &c->fd[0], &holder)) {
		snprintf(why, len, "interface %s is in use by another lanrage daemon (PID %ld); "
			 "give this daemon another name with --interface NAME", ifname, holder);
		return -EBUSY;
	}
	if (!port)
		return 0;
	/* Ports are per network namespace: daemons in two namespaces may share one. */
	snprintf(name, sizeof(name), "udp-%llu-%u",
		 stat("/proc/self/ns/net", &ns) ? 0ULL : (unsigned long long)ns.st_ino, port);
	if (claim_lock(name, &c->fd[1], &holder)) {
		snprintf(why, len, "UDP port %u is in use by another lanrage daemon (PID %ld); "
			 "give this daemon another with --listen-port N (0 = any free port)", port,
			 holder);
		return -EBUSY;
	}
	return 0;
}

static int check_free(const char *ifname, uint16_t listen_port, char *why, size_t len)
{
	struct platform_link link;
	char uapi[128];

	snprintf(uapi, sizeof(uapi), "/var/run/wireguard/%s.sock", ifname);
	if (socket_answers(uapi)) {
		snprintf(why, len, "interface %s is in use: a running daemon answers on %s "
			 "(another lanrage daemon on this host or in another network namespace?); "
			 "stop it, or give this daemon another name with --interface NAME",
			 ifname, uapi);
		return -EBUSY;
	}
	if (platform_link_get(ifname, &link) == 0 && !link_is_ours(&link)) {
		snprintf(why, len, "interface %s already exists and LANrage did not create it "
			 "(kind %s); give this daemon another name with --interface NAME",
			 ifname, *link.kind ? link.kind : "device");
		return -EEXIST;
	}
	if (listen_port && udp_port_free(listen_port) == -EADDRINUSE) {
		snprintf(why, len, "UDP port %u is in use (another lanrage daemon or WireGuard "
			 "device?); give this daemon another with --listen-port N (0 = any free "
			 "port)", listen_port);
		return -EADDRINUSE;
	}
	return 0;
}

int net_claim(const char *ifname, uint16_t listen_port, struct net_claim *out, char *why,
	      size_t len)
{
	int ret;

	out->fd[0] = out->fd[1] = -1;
	ret = claim_all(ifname, listen_port, out, why, len);
	if (!ret)
		ret = check_free(ifname, listen_port, why, len);
	if (ret)
		net_claim_release(out);
	return ret;
}

void net_claim_release(struct net_claim *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		c->fd[i] = -1;
	}
}

/* A crashed run can leave its interface (a kernel or persistent device) and
 * its UAPI socket file behind. Both block the next start, so they go; but an
 * interface whose daemon still answers is someone's live device. */
static int remove_stale(const struct net *net, const struct net_config *cfg)
{
	struct platform_link link;
	struct stat st;
	int exists, ret;

	if (*net->uapi_path && socket_answers(net->uapi_path)) {
		log_error("net", "%s is in use: a running daemon answers on %s; stop it first",
			  net->ifname, net->uapi_path);
		return -EBUSY;
	}
	ret = platform_link_get(net->ifname, &link);
	exists = ret == 0;
	if (ret && ret != -ENODEV) {
		log_error("net", "cannot look up interface %s: %s", net->ifname, strerror(-ret));
		return ret;
	}
	if (exists && !link_is_ours(&link)) {
		net_fail(cfg, "interface %s already exists and LANrage did not create it (kind %s): "
			 "refusing to touch it; choose another name with --interface NAME or "
			 "`lanrage settings set interface NAME`",
			 net->ifname, *link.kind ? link.kind : "device");
		return -EEXIST;
	}
	if (exists) {
		log_warn("net", "removing stale interface %s left by an earlier run", net->ifname);
		ret = platform_link_delete(net->ifname);
		if (ret && ret != -ENODEV) {
			log_error("net", "cannot remove stale interface %s: %s", net->ifname,
				  strerror(-ret));
			return ret;
		}
	}
	if (*net->uapi_path && !lstat(net->uapi_path, &st) && S_ISSOCK(st.st_mode) &&
	    !unlink(net->uapi_path))
		log_warn("net", "removed stale UAPI socket %s", net->uapi_path);
	return 0;
}

/* Our route for the subnet would take over (or, with NLM_F_REPLACE, replace)
 * whatever the host already routes there: a LAN, a container bridge, another
 * VPN. Refused unless the user said so. */
static int check_overlap(const struct net *net, const struct net_config *cfg)
{
	struct platform_overlap o;
	char mine[INET_ADDRSTRLEN], theirs[INET_ADDRSTRLEN];
	struct in_addr subnet = cfg->addr;
	int ret;

	subnet.s_addr &= htonl(~0u << (32 - cfg->prefix)); /* prefix is 1..32 */
	ret = platform_overlap4(subnet, cfg->prefix, net->ifname, &o);
	if (ret < 0) {
		log_error("net", "cannot read the host's routes: %s", strerror(-ret));
		return ret;
	}
	if (!ret)
		return 0;
	inet_ntop(AF_INET, &subnet, mine, sizeof(mine));
	inet_ntop(AF_INET, &o.dst, theirs, sizeof(theirs));
	if (cfg->allow_subnet_overlap) {
		log_warn("net", "virtual subnet %s/%u overlaps the %s %s/%u%s%s; using it anyway "
			 "(allow_subnet_overlap)", mine, cfg->prefix, o.is_route ? "route" : "address",
			 theirs, o.prefix, *o.ifname ? " on " : "", o.ifname);
		return 0;
	}
	net_fail(cfg, "virtual subnet %s/%u overlaps the %s %s/%u%s%s on this host: choose a free "
		 "one with `lanrage settings set subnet ADDR/PREFIX`, or use it anyway with "
		 "`lanrage settings set allow_subnet_overlap true`",
		 mine, cfg->prefix, o.is_route ? "route" : "address", theirs, o.prefix,
		 *o.ifname ? " on " : "", o.ifname);
	return -EADDRINUSE;
}

/* Mark, MTU, address, link up, route: the interface exists and is ours. */
static int configure_link(const struct net *net, const struct net_config *cfg)
{
	char addr[INET_ADDRSTRLEN];
	const char *step;
	int ret;

	step = "mark it as LANrage's";
	ret = platform_link_set_alias(net->ifname, NET_LINK_MARK);
	if (!ret) {
		step = "set the MTU";
		ret = platform_link_set_mtu(net->ifname, cfg->mtu);
	}
	if (!ret) {
		step = "set the address";
		ret = platform_addr_flush4(net->ifname);
	}
	if (!ret)
		ret = platform_addr_add4(net->ifname, cfg->addr, cfg->prefix);
	if (!ret) {
		step = "bring the link up";
		ret = platform_link_set_up(net->ifname, true);
	}
	if (!ret) {
		step = "add the route";
		ret = platform_route_add4(net->ifname, cfg->addr, cfg->prefix);
	}
	if (ret) {
		inet_ntop(AF_INET, &cfg->addr, addr, sizeof(addr));
		log_error("net", "%s (%s/%u, MTU %u): cannot %s: %s", net->ifname, addr,
			  cfg->prefix, cfg->mtu, step, strerror(-ret));
	}
	return ret;
}

int net_up(struct net **out, const struct net_config *cfg)
{
	struct net_backend_config bc = { 0 };
	struct net *net = NULL;
	char addr[INET_ADDRSTRLEN];
	int ret;

	*out = NULL;
	ret = check_config(cfg);
	if (!ret)
		ret = platform_check_privileges();
	if (ret)
		return ret;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	snprintf(net->ifname, sizeof(net->ifname), "%s", cfg->ifname ? cfg->ifname
								 : NET_DEFAULT_IFNAME);
	net->ops = cfg->backend ? cfg->backend : &net_backend_userspace;
	if (cfg->uapi_path)
		snprintf(net->uapi_path, sizeof(net->uapi_path), "%s", cfg->uapi_path);
	else
		snprintf(net->uapi_path, sizeof(net->uapi_path), "/var/run/wireguard/%s.sock",
			 net->ifname);
	ret = remove_stale(net, cfg);
	if (!ret)
		ret = check_overlap(net, cfg);
	if (ret)
		goto err;
	bc.ifname = net->ifname;
	bc.private_key = cfg->keys->private_key;
	bc.listen_port = cfg->listen_port;
	bc.uapi_path = net->uapi_path;
	ret = net->ops->up(&net->state, &bc);
	if (ret)
		goto err;
	ret = configure_link(net, cfg);
	if (ret)
		goto err;
	net->mtu = cfg->mtu;
	inet_ntop(AF_INET, &cfg->addr, addr, sizeof(addr));
	log_info("net", "%s up (%s backend): %s/%u, MTU %u", net->ifname, net->ops->name, addr,
		 cfg->prefix, cfg->mtu);
	*out = net;
	return 0;
err:
	net_free(net);
	return ret;
}

int net_down(struct net *net)
{
	struct platform_link link;
	int ret;

	if (!net || !net->state)
		return 0;
	net->ops->down(net->state);
	net->state = NULL;
	/* A userspace device's interface goes with its fd; a kernel one must be
	 * deleted. Either way, nothing of ours stays, and nothing else goes: a
	 * link that took the name after ours went is left alone. */
	ret = platform_link_get(net->ifname, &link);
	if (!ret && !link_is_ours(&link)) {
		log_warn("net", "%s is no longer ours (kind %s, not marked): left alone",
			 net->ifname, *link.kind ? link.kind : "device");
		return 0;
	}
	if (!ret)
		ret = platform_link_delete(net->ifname);
	if (ret == -ENODEV)
		ret = 0;
	if (ret)
		log_error("net", "cannot remove interface %s: %s", net->ifname, strerror(-ret));
	else
		log_info("net", "%s removed", net->ifname);
	return ret;
}

void net_free(struct net *net)
{
	if (!net)
		return;
	net_down(net);
	free(net);
}

const char *net_ifname(const struct net *net)
{
	return net->ifname;
}

int net_peer_set(struct net *net, const struct net_peer_config *peer)
{
	char label[16];
	int ret;

	if (!net->state)
		return -ENODEV;
	ret = net->ops->set_peer(net->state, peer);
	if (ret)
		log_error("net", "cannot set peer %s on %s: %s", log_key(label, peer->public_key),
			  net->ifname, strerror(-ret));
	return ret;
}

int net_peer_remove(struct net *net, const uint8_t public_key[NET_KEY_LEN])
{
	char label[16];
	int ret;

	if (!net->state)
		return -ENODEV;
	ret = net->ops->remove_peer(net->state, public_key);
	if (ret && ret != -ENOENT)
		log_error("net", "cannot remove peer %s from %s: %s", log_key(label, public_key),
			  net->ifname, strerror(-ret));
	return ret;
}

int net_status(struct net *net, struct net_status *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->ifname, sizeof(st->ifname), "%s", net->ifname);
	st->backend = net->ops->name;
	if (!net->state)
		return -ENODEV;
	return net->ops->status(net->state, st);
}

int net_listen_port(struct net *net, uint16_t *port)
{
	return net->state ? net->ops->listen_port(net->state, port) : -ENODEV;
}

int net_send_raw(struct net *net, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	return net->state ? net->ops->send_raw(net->state, dst, buf, len) : -ENODEV;
}

int net_set_rx_hook(struct net *net, wg_rx_hook hook, void *ctx)
{
	return net->state ? net->ops->set_rx_hook(net->state, hook, ctx) : -ENODEV;
}

unsigned net_mtu(const struct net *net)
{
	return net->mtu;
}

int net_set_dont_fragment(struct net *net, bool on)
{
	if (!net->state)
		return -ENODEV;
	return net->ops->set_dont_fragment ? net->ops->set_dont_fragment(net->state, on)
					   : -EOPNOTSUPP;
}

int net_peer_mtu(struct net *net, struct in_addr vip, unsigned mtu)
{
	int ret;

	if (!net->state)
		return -ENODEV;
	if (!mtu) {
		ret = platform_route_del4(net->ifname, vip, 32);
		return ret == -ESRCH || ret == -ENODEV ? 0 : ret;
	}
	return platform_route_mtu4(net->ifname, vip, 32, mtu < net->mtu ? mtu : net->mtu);
}
