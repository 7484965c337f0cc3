/*
 * udp: the real device's UDP sockets (private to the wg layer; used by
 * loop.c). One dual-stack socket, or for a device with n queues a group of n
 * SO_REUSEPORT sockets on one port. A classic BPF program on the group hands
 * each datagram to member (CPU that received it) % n, so the queue thread that
 * runs on that CPU is the one woken: no wakeup has to cross to another CPU.
 *
 * Invariant: every member is bound to the same port with the same options;
 * fd[0] is the one used for sends that belong to no queue (STUN, probes).
 */
#ifndef LR_WG_UDP_H
#define LR_WG_UDP_H

#include <stdbool.h>
#include <stdint.h>

#define WG_UDP_MAX 4

struct wg_udp_set {
	int fd[WG_UDP_MAX];
	unsigned n;
	int family; /* AF_INET6 (dual-stack) or AF_INET when IPv6 is off */
	bool gro;   /* every member has UDP_GRO on */
};

/* Opens n sockets on port (0: one the kernel picks), with gro asking for UDP
 * GRO. With n > 1 the port is first checked free with a plain bind, so the
 * group never joins another program's SO_REUSEPORT sockets. On failure
 * returns a negative errno and *s is untouched. */
int wg_udp_open(struct wg_udp_set *s, uint16_t port, uint32_t fwmark, unsigned n, bool gro);
void wg_udp_close(struct wg_udp_set *s);
/* on: every datagram leaves with DF set and is never fragmented here, whatever
 * path MTU ICMP reported (IP_PMTUDISC_PROBE, IPv4 and IPv6): one too big for
 * the path is lost, as a path MTU probe must be. off: the kernel's default
 * (DF until ICMP reports a smaller path, then local fragments). */
int wg_udp_dont_fragment(const struct wg_udp_set *s, bool on);
/* The bound port (host order), 0 if unknown. */
uint16_t wg_udp_port(int fd);

#endif
