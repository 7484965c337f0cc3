/*
 * tun: Linux TUN devices (IFF_TUN | IFF_NO_PI: every read or write is exactly
 * one IP packet, optionally after a virtio_net_hdr) and the few link settings
 * the device needs. The interface
 * is not persistent: closing the fd removes it.
 */
#ifndef LR_TUN_H
#define LR_TUN_H

#include <net/if.h>
#include <stdbool.h>

/* In *offloads from tun_open: every read and write starts with a struct
 * virtio_net_hdr (tun/offload.h). The other bits are the kernel's TUN_F_ flags
 * (linux/if_tun.h) it accepted: TUN_F_TSO4 means reads may be TCP super-packets. */
#define TUN_OFFLOAD_VNET 0x10000u
/* TUN_F_USO4 | TUN_F_USO6 (Linux 6.2), which older headers lack. */
#define TUN_OFFLOAD_USO 0x60u

/* Creates (or attaches to) ifname; name gets the kernel's name. With vnet,
 * asks for IFF_VNET_HDR and checksum/TSO/USO offloads, and *offloads says what
 * was granted (0: plain packets). Returns the non-blocking fd or a negative
 * errno. */
int tun_open(const char *ifname, char name[IFNAMSIZ], bool vnet, unsigned *offloads);
/* The same with n queues (IFF_MULTI_QUEUE when n > 1): fds gets one
 * non-blocking fd per queue. Returns how many queues were opened (at least
 * one; fewer than n when the kernel refused more) or a negative errno. */
int tun_open_queues(const char *ifname, char name[IFNAMSIZ], bool vnet, unsigned *offloads,
		    int *fds, unsigned n);
/* Makes a multi-queue interface hand each packet to the queue numbered by the
 * CPU that sent it (modulo the number of queues), with a two-instruction eBPF
 * program (needs CAP_BPF or CAP_SYS_ADMIN and Linux 4.16+). Returns 0 or a
 * negative errno; the interface is unchanged on failure. */
int tun_steer_by_cpu(int fd);
int tun_set_mtu(const char *name, unsigned mtu);
/* Current MTU, or a negative errno (-ENODEV once the interface is gone). */
int tun_get_mtu(const char *name);

#endif
