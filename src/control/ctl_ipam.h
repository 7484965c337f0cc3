/*
 * ctl_ipam: virtual address allocation inside one party's subnet
 * (docs/CONTROL.md "IPAM"). Usable addresses are the subnet without its
 * network and broadcast addresses. A key gets back the address it last had in
 * the party if that is still free; otherwise the search starts at an address
 * derived from a hash of the key and takes the next free one, wrapping.
 */
#ifndef LR_CONTROL_CTL_IPAM_H
#define LR_CONTROL_CTL_IPAM_H

#include <stdbool.h>
#include <stdint.h>

#include "control/ctl_map.h"

struct ctl_ipam {
	uint32_t subnet;    /* host byte order, aligned to the prefix */
	uint32_t usable;    /* addresses between network and broadcast */
	struct ctl_map used;       /* 4-byte address (host order) -> holder */
	struct ctl_map remembered; /* 32-byte public key -> last address + 1 (as pointer) */
};

/* -EINVAL unless prefix is 8..30 and subnet has no host bits set. */
int ctl_ipam_check(uint32_t subnet, unsigned prefix);
void ctl_ipam_init(struct ctl_ipam *p, uint32_t subnet, unsigned prefix);
void ctl_ipam_free(struct ctl_ipam *p);
/* Picks the address for key without taking it. 0, or -ENOSPC when full. */
int ctl_ipam_pick(const struct ctl_ipam *p, const uint8_t key[32], uint32_t *addr);
bool ctl_ipam_in_subnet(const struct ctl_ipam *p, uint32_t addr);
/* Marks addr used by holder and remembers it for key. 0, -EEXIST when taken,
 * -ENOMEM (nothing changed). */
int ctl_ipam_take(struct ctl_ipam *p, const uint8_t key[32], uint32_t addr, void *holder);
/* Only remembers addr for key (loading state). 0 or -ENOMEM. */
int ctl_ipam_remember(struct ctl_ipam *p, const uint8_t key[32], uint32_t addr);
void ctl_ipam_release(struct ctl_ipam *p, uint32_t addr);
void ctl_ipam_format(uint32_t addr, char out[16]);

#endif
