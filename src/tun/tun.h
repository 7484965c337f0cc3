/*
 * tun: Linux TUN devices (IFF_TUN | IFF_NO_PI: every read or write is exactly
 * one IP packet) and the few link settings the device needs. The interface
 * is not persistent: closing the fd removes it.
 */
#ifndef LR_TUN_H
#define LR_TUN_H

#include <net/if.h>

/* Creates (or attaches to) ifname; name gets the kernel's name. Returns the
 * non-blocking fd or a negative errno. */
int tun_open(const char *ifname, char name[IFNAMSIZ]);
int tun_set_mtu(const char *name, unsigned mtu);
/* Current MTU, or a negative errno (-ENODEV once the interface is gone). */
int tun_get_mtu(const char *name);

#endif
