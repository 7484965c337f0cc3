/*
 * ctl_ipam: address allocation for one party; see ctl_ipam.h.
 * Invariant: an address is in `used` exactly while a member holds it, so the
 * in-memory view agrees with the UNIQUE(party_id, virtual_ip) constraint in
 * SQLite. The search is bounded by the party size (at most
 * CTL_LIMIT_MAX_MEMBERS addresses can be taken), not by the subnet size.
 */
#include <errno.h>
#include <stdio.h>

#include "control/ctl_ipam.h"
#include "crypto/crypto.h"

int ctl_ipam_check(uint32_t subnet, unsigned prefix)
{
	if (prefix < 8 || prefix > 30)
		return -EINVAL;
	if (subnet & (0xffffffffu >> prefix))
		return -EINVAL;
	return 0;
}

void ctl_ipam_init(struct ctl_ipam *p, uint32_t subnet, unsigned prefix)
{
	p->subnet = subnet;
	p->usable = (uint32_t)((1ull << (32 - prefix)) - 2);
	ctl_map_init(&p->used);
	ctl_map_init(&p->remembered);
}

void ctl_ipam_free(struct ctl_ipam *p)
{
	ctl_map_free(&p->used);
	ctl_map_free(&p->remembered);
}

bool ctl_ipam_in_subnet(const struct ctl_ipam *p, uint32_t addr)
{
	return addr > p->subnet && addr - p->subnet <= p->usable;
}

static bool ctl_ipam_free_addr(const struct ctl_ipam *p, uint32_t addr)
{
	return !ctl_map_get(&p->used, &addr, sizeof(addr));
}

int ctl_ipam_pick(const struct ctl_ipam *p, const uint8_t key[32], uint32_t *addr)
{
	uintptr_t last = (uintptr_t)ctl_map_get(&p->remembered, key, 32);
	uint8_t h[4];
	uint32_t start;

	if (last && ctl_ipam_in_subnet(p, (uint32_t)(last - 1)) &&
	    ctl_ipam_free_addr(p, (uint32_t)(last - 1))) {
		*addr = (uint32_t)(last - 1);
		return 0;
	}
	if (ctl_map_count(&p->used) >= p->usable)
		return -ENOSPC;
	/* Unkeyed on purpose: the same key should start at the same place in
	 * every party and after restarts. */
	crypto_blake2s(h, sizeof(h), NULL, 0, key, 32);
	start = ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		 (uint32_t)h[3] << 24) % p->usable;
	for (uint32_t i = 0; i < p->usable; i++) {
		uint32_t a = p->subnet + 1 + (start + i) % p->usable;

		if (ctl_ipam_free_addr(p, a)) {
			*addr = a;
			return 0;
		}
	}
	return -ENOSPC;
}

int ctl_ipam_remember(struct ctl_ipam *p, const uint8_t key[32], uint32_t addr)
{
	return ctl_map_put(&p->remembered, key, 32, (void *)((uintptr_t)addr + 1));
}

int ctl_ipam_take(struct ctl_ipam *p, const uint8_t key[32], uint32_t addr, void *holder)
{
	void *old = ctl_map_get(&p->remembered, key, 32);
	int r;

	if (!ctl_ipam_free_addr(p, addr))
		return -EEXIST;
	r = ctl_map_put(&p->used, &addr, sizeof(addr), holder);
	if (r)
		return r;
	r = ctl_ipam_remember(p, key, addr);
	if (r) {
		ctl_map_del(&p->used, &addr, sizeof(addr));
		if (old)
			ctl_map_put(&p->remembered, key, 32, old);
	}
	return r;
}

void ctl_ipam_release(struct ctl_ipam *p, uint32_t addr)
{
	ctl_map_del(&p->used, &addr, sizeof(addr));
}

void ctl_ipam_format(uint32_t addr, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, addr >> 16 & 0xff, addr >> 8 & 0xff,
		 addr & 0xff);
}
