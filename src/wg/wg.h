/*
 * wg: the public face of the userspace WireGuard device.
 *
 * A struct wg_device is the protocol engine: keys, peers, handshakes, timers,
 * the allowed-IPs table. It owns no file descriptors; it reaches the outside
 * through struct wg_io_ops, so the same engine runs over a real TUN + UDP socket
 * (struct wg_loop, below) or in memory (tests, fuzzing).
 *
 * Threading: a device is driven by one thread (the loop). Other threads talk to
 * it through wg_loop_uapi(), which takes the loop's lock.
 */
#ifndef LR_WG_H
#define LR_WG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct wg_device;
struct wg_loop;

/* A UDP endpoint, IPv4 or IPv6. */
struct wg_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
};

struct wg_io_ops {
	/* Send one UDP datagram. Returns 0 or a negative errno. */
	int (*udp_send)(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len);
	/* Deliver one decrypted IP packet to the TUN side. pkt lies in the buffer
	 * passed to wg_device_rx, 16 bytes after the start of the datagram; a driver
	 * may keep the pointer until it reuses that buffer (to batch writes). */
	int (*tun_write)(void *ctx, const uint8_t *pkt, size_t len);
	/* (Re)bind the UDP socket to port (0 = any); *bound gets the actual port. */
	int (*bind_port)(void *ctx, uint16_t port, uint16_t *bound);
	/* Apply SO_MARK (0 = clear). */
	int (*set_fwmark)(void *ctx, uint32_t mark);
};

/* Called for each datagram on the WireGuard port that is not a WireGuard message
 * (STUN, LANrage probes, relay frames). buf is only valid during the call. */
typedef void (*wg_rx_hook)(void *ctx, const uint8_t *buf, size_t len,
			   const struct wg_endpoint *src);

/* Bytes a caller must leave before and after an IP packet handed to
 * wg_device_tx_packet (room for the data header, padding and tag). */
#define WG_TX_HEADROOM 16
#define WG_TX_TAILROOM 32

int wg_device_new(struct wg_device **out, const struct wg_io_ops *io, void *io_ctx);
void wg_device_free(struct wg_device *dev);
void wg_device_set_rx_hook(struct wg_device *dev, wg_rx_hook hook, void *ctx);
void wg_device_set_mtu(struct wg_device *dev, unsigned mtu);
/* Test and lab knob: treat the device as under load (cookie replies). */
void wg_device_force_under_load(struct wg_device *dev, bool on);

/* One received UDP datagram. buf is decrypted in place. */
void wg_device_rx(struct wg_device *dev, uint8_t *buf, size_t len, const struct wg_endpoint *src);
/* One IP packet read from TUN at pkt; WG_TX_HEADROOM bytes before pkt and
 * WG_TX_TAILROOM after pkt + len must be writable. */
void wg_device_tx_packet(struct wg_device *dev, uint8_t *pkt, size_t len);
/* Runs due timers. Returns the monotonic time of the next deadline (UINT64_MAX if none). */
uint64_t wg_device_tick(struct wg_device *dev);
/* Send a non-WireGuard datagram (STUN, probes) from the WireGuard socket. */
int wg_device_send_raw(struct wg_device *dev, const struct wg_endpoint *dst, const uint8_t *buf,
		       size_t len);

/* The UAPI on an in-memory device: req holds one whole request ("get=1\n\n" or
 * "set=1\n...\n\n"). On success *reply is a malloc'd NUL-terminated reply that
 * always ends with "errno=N\n\n" and the return is 0; -EPROTO means the request
 * was not a get or set at all (the server closes the connection). */
int wg_device_uapi(struct wg_device *dev, const char *req, size_t len, char **reply);

/* The real device: a TUN interface and one dual-stack UDP socket. */
struct wg_loop_config {
	const char *ifname;
	int tun_fd; /* an already-open TUN fd, or -1 to create ifname */
	const char *uapi_path; /* NULL: /var/run/wireguard/<ifname>.sock; "" disables */
};

int wg_loop_new(struct wg_loop **out, const struct wg_loop_config *cfg);
void wg_loop_free(struct wg_loop *loop);
struct wg_device *wg_loop_device(struct wg_loop *loop);
/* Runs until wg_loop_stop, a signal set via the stop fd, TUN removal or UAPI socket
 * removal. Returns 0 on a requested stop, negative errno on a fatal error. */
int wg_loop_run(struct wg_loop *loop);
/* Async-signal-safe. */
void wg_loop_stop(struct wg_loop *loop);
/* UAPI from another thread (takes the loop lock). Same contract as wg_device_uapi. */
int wg_loop_uapi(struct wg_loop *loop, const char *req, size_t len, char **reply);
/* Receive hook and raw send for higher layers; usable from the loop thread (hook)
 * or, for send_raw, any thread. */
void wg_loop_set_rx_hook(struct wg_loop *loop, wg_rx_hook hook, void *ctx);
int wg_loop_send_raw(struct wg_loop *loop, const struct wg_endpoint *dst, const uint8_t *buf,
		     size_t len);

/* on: the device's datagrams leave with DF set and are never fragmented by
 * this host (IP_PMTUDISC_PROBE), so a datagram too big for its path is lost
 * instead of split; the daemon fits its packets to each path (docs/NET.md,
 * "Path MTU"). off (the default, as kernel WireGuard): fragments allowed. */
int wg_loop_set_dont_fragment(struct wg_loop *loop, bool on);

/* Endpoint helpers. */
int wg_endpoint_parse(struct wg_endpoint *ep, const char *s);
/* "1.2.3.4:51820" or "[::1]:51820"; v4-mapped addresses print as IPv4. */
void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t buflen);
bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* Same address family and IP, any port. */
bool wg_endpoint_same_addr(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* Turns a v4-mapped IPv6 endpoint into AF_INET; others are left alone. */
void wg_endpoint_unmap(struct wg_endpoint *ep);
uint16_t wg_endpoint_port(const struct wg_endpoint *ep);
/* The length of ep's sockaddr for sendto/bind (AF_INET or AF_INET6). */
socklen_t wg_endpoint_socklen(const struct wg_endpoint *ep);
void wg_endpoint_set_port(struct wg_endpoint *ep, uint16_t port);

#endif
