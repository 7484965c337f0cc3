/*
 * net: the NetworkManager. It owns the node's WireGuard identity (the key
 * pair in the state directory), the virtual interface (created, addressed,
 * brought up, removed) and the WireGuard peers on it, and runs the few
 * external tools still needed (net_run_command).
 *
 * The WireGuard device itself sits behind struct net_backend_ops. The one
 * backend today is the embedded userspace device (wg/ over a TUN, its loop on
 * a thread of its own, configured through the UAPI text protocol as `wg`
 * does); a kernel-WireGuard backend plugs in beside it.
 *
 * Threading: a struct net is used from one thread (the daemon's control loop);
 * the data plane runs on the backend's threads and never waits for it.
 * Secrets: private keys live only in struct net_keys and the device; both are
 * wiped when freed and never logged.
 */
#ifndef LR_NET_H
#define LR_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

#define NET_DEFAULT_IFNAME "lanrage0"
enum {
	NET_KEY_LEN = 32,
	NET_KEY_B64_LEN = 44, /* base64 with padding, as `wg genkey` writes it */
	NET_DEFAULT_MTU = 1420,
	NET_DEFAULT_LISTEN_PORT = 51820,
	NET_DEFAULT_KEEPALIVE = 25,
	NET_RUN_OUTPUT_MAX = 64 * 1024, /* bytes of a command's output kept */
};

/* ---- Keys ---------------------------------------------------------------- */

struct net_keys {
	uint8_t private_key[NET_KEY_LEN]; /* secret: wiped by net_keys_free */
	uint8_t public_key[NET_KEY_LEN];
	char public_b64[NET_KEY_B64_LEN + 1];
};

/* Loads STATE_DIR/keys/private.key, or on first start creates it (mode 0600,
 * directory 0700, written atomically) and STATE_DIR/keys/public.key, both
 * base64 plus a newline as `wg genkey` / `wg pubkey` write them. public.key is
 * rewritten when missing or not matching. A private key file that others may
 * read, that is not a regular file of ours, or that does not hold one base64
 * key is refused (-EACCES / -EINVAL, with one clear log line) and left as is.
 * *out is freed with net_keys_free. */
int net_keys_load_or_create(const char *state_dir, struct net_keys **out);
void net_keys_free(struct net_keys *keys);
/* Strict: exactly 44 characters of canonical standard base64 for 32 bytes. */
int net_key_from_base64(uint8_t key[NET_KEY_LEN], const char *b64);
void net_key_to_base64(char b64[NET_KEY_B64_LEN + 1], const uint8_t key[NET_KEY_LEN]);

/* ---- Peers and status ---------------------------------------------------- */

struct net_allowed_ip {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	uint8_t cidr;
};

/* "10.66.0.2/32", "fd00::/64"; a bare address means a host route. */
int net_allowed_ip_parse(struct net_allowed_ip *aip, const char *s);
void net_allowed_ip_format(const struct net_allowed_ip *aip, char *buf, size_t len);

struct net_peer_config {
	uint8_t public_key[NET_KEY_LEN];
	/* Without an endpoint the peer keeps the one it has (or learns it from the
	 * peer's first handshake): WireGuard cannot unset an endpoint. */
	bool has_endpoint;
	struct wg_endpoint endpoint;
	/* Replace the peer's allowed IPs with exactly these. */
	const struct net_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
	uint16_t keepalive; /* persistent keepalive in seconds, 0 = off */
};

struct net_peer_status {
	uint8_t public_key[NET_KEY_LEN];
	bool has_endpoint;
	struct wg_endpoint endpoint;
	struct net_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
	uint64_t last_handshake_sec; /* wall-clock; 0 = never */
	uint32_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes; /* every datagram, handshakes included */
	/* IP packets carried each way (keepalives not counted) and handshakes
	 * completed; has_packet_counters is false when the device does not give
	 * them (wireguard-go, kernel WireGuard): they are 0 then. */
	bool has_packet_counters;
	uint64_t rx_packets, tx_packets, handshakes;
	uint16_t keepalive;
};

struct net_status {
	char ifname[IFNAMSIZ];
	const char *backend;
	bool running; /* false once the device stopped on its own (interface deleted) */
	bool has_public_key;
	uint8_t public_key[NET_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct net_peer_status *peers;
	size_t n_peers;
};

void net_status_free(struct net_status *st);

/* ---- Backends ------------------------------------------------------------ */

struct net_backend_config {
	const char *ifname;
	const uint8_t *private_key; /* NET_KEY_LEN bytes */
	uint16_t listen_port; /* 0 = any */
	const char *uapi_path; /* userspace: NULL = /var/run/wireguard/IFNAME.sock */
};

/* One WireGuard implementation. Every call but up takes the state up made;
 * all return 0 or a negative errno. */
struct net_backend_ops {
	const char *name;
	/* Creates the interface named cfg->ifname (link still down, no address)
	 * with the private key and listen port; *state is the backend's. */
	int (*up)(void **state, const struct net_backend_config *cfg);
	/* Removes the interface and frees state; never fails. */
	void (*down)(void *state);
	int (*set_peer)(void *state, const struct net_peer_config *peer);
	int (*remove_peer)(void *state, const uint8_t public_key[NET_KEY_LEN]); /* -ENOENT */
	/* Fills all of st but ifname and backend. */
	int (*status)(void *state, struct net_status *st);
	int (*listen_port)(void *state, uint16_t *port);
	/* Non-WireGuard datagrams on the WireGuard socket (STUN, probes, relay
	 * frames): send one, and receive them through hook (called on the
	 * backend's thread; buf valid during the call only). */
	int (*send_raw)(void *state, const struct wg_endpoint *dst, const uint8_t *buf,
			size_t len);
	int (*set_rx_hook)(void *state, wg_rx_hook hook, void *ctx);
	/* Optional: the device's datagrams never fragmented here, DF set
	 * (wg_loop_set_dont_fragment); NULL = not supported. */
	int (*set_dont_fragment)(void *state, bool on);
};

/* The embedded userspace device (wg/ and tun/). */
extern const struct net_backend_ops net_backend_userspace;

/* ---- The interface ------------------------------------------------------- */

struct net;

struct net_config {
	const char *ifname; /* NET_DEFAULT_IFNAME */
	struct in_addr addr; /* the virtual IP */
	unsigned prefix; /* of the party subnet, routed through the interface */
	unsigned mtu;
	uint16_t listen_port; /* 0 = any free port */
	const struct net_keys *keys; /* borrowed: must outlive the struct net */
	const struct net_backend_ops *backend; /* NULL = net_backend_userspace */
	const char *uapi_path; /* userspace backend; NULL = /var/run/wireguard/IFNAME.sock */
	/* Route the subnet even when a route or address of another link
	 * overlaps it (setting allow_subnet_overlap). */
	bool allow_subnet_overlap;
	/* When set, a failure the user must act on (a foreign link of that
	 * name, an overlapping subnet) is also written here, one line. */
	char *err;
	size_t err_len;
};

/* The alias (IFLA_IFALIAS) on every link LANrage creates: net_up and net_down
 * delete or reuse only a link of the configured name that carries it and is
 * of a kind LANrage makes (a TUN or a kernel WireGuard device). */
#define NET_LINK_MARK "lanrage"

/* Defaults of DESIGN.md: lanrage0, MTU 1420, port 51820, prefix 16. */
void net_config_init(struct net_config *cfg);

/* Checks privileges, removes a stale interface of the same name and its
 * stale UAPI socket (refusing with -EBUSY when a live daemon answers on
 * that socket, and with -EEXIST when the link of that name is not one
 * LANrage made: it is left untouched), refuses a subnet that overlaps a
 * route or address of another link (-EADDRINUSE) unless
 * allow_subnet_overlap, creates the interface through the backend, marks
 * it, sets MTU and address, brings it up and routes addr/prefix through
 * it. On failure nothing is left behind. */
int net_up(struct net **out, const struct net_config *cfg);
/* What a daemon holds from its start to its exit, idle or not: locks on its
 * interface name (host-wide, as the UAPI socket path is) and its UDP port
 * (per network namespace) under /run/lanrage. */
struct net_claim {
	int fd[2];
};
/* At a daemon's start rather than at its first join: claims ifname and
 * listen_port (0: any) against other lanrage daemons (-EBUSY), and checks
 * that no live daemon answers on the interface's UAPI socket (-EBUSY), no
 * link of that name is someone else's (-EEXIST) and the UDP port is free
 * (-EADDRINUSE). why gets one line naming the conflict and the flag that
 * avoids it. On failure nothing is held. Without /run/lanrage (not root)
 * only the checks run. */
int net_claim(const char *ifname, uint16_t listen_port, struct net_claim *out, char *why,
	      size_t len);
void net_claim_release(struct net_claim *c);
/* Removes the interface (only while it carries our mark) and everything on
 * it. Idempotent: a second call, or
 * one after the device stopped on its own, does nothing and returns 0. */
int net_down(struct net *net);
/* net_down and free; NULL is fine. */
void net_free(struct net *net);

const char *net_ifname(const struct net *net);
int net_peer_set(struct net *net, const struct net_peer_config *peer);
int net_peer_remove(struct net *net, const uint8_t public_key[NET_KEY_LEN]);
/* *st is freed with net_status_free. */
int net_status(struct net *net, struct net_status *st);
int net_listen_port(struct net *net, uint16_t *port);
int net_send_raw(struct net *net, const struct wg_endpoint *dst, const uint8_t *buf, size_t len);
int net_set_rx_hook(struct net *net, wg_rx_hook hook, void *ctx);
/* The interface MTU net_up set. */
unsigned net_mtu(const struct net *net);
/* on: WireGuard's datagrams leave with DF set and are never fragmented by
 * this host, so each must fit its path (net_peer_mtu); -EOPNOTSUPP when the
 * backend cannot. */
int net_set_dont_fragment(struct net *net, bool on);
/* The most one IP packet to the member at vip may carry: a host route
 * vip/32 through the interface with that locked MTU (capped at the
 * interface's), so TCP's MSS follows it and larger UDP datagrams are
 * fragmented inside the tunnel. 0 removes the route (the interface MTU
 * applies again). */
int net_peer_mtu(struct net *net, struct in_addr vip, unsigned mtu);

/* ---- External tools ------------------------------------------------------ */

/* Runs argv[0] (looked up in PATH, no shell) with argv, stdin from /dev/null,
 * stdout and stderr together into *output (malloc'd, NUL-terminated, the first
 * NET_RUN_OUTPUT_MAX bytes; the rest is read and dropped). The command runs in
 * a process group of its own; when it exits, anything left in that group is
 * killed, and after timeout_ms (< 0: no limit) the whole group is killed and
 * -ETIMEDOUT returned (*output then holds what came so far). The child is
 * always reaped. Returns 0 when the command ran to its end; *exit_status is
 * its exit code, or 128 + signal number when a signal ended it. -ENOENT (or
 * -EACCES, ...) when it could not be started. output and exit_status may be
 * NULL. */
int net_run_command(const char *const argv[], int timeout_ms, char **output, int *exit_status);

#endif
