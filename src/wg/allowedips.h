/*
 * allowedips: longest-prefix-match trie from IPv4/IPv6 prefixes to an owner
 * (a peer). Used for both directions: routing an outgoing packet to a peer by
 * destination, and checking that a decrypted packet's source belongs to the
 * peer that sent it. Addresses are in network byte order (4 or 16 bytes).
 * Inserted prefixes are masked to their length. Not thread-safe: the device
 * loop owns it.
 */
#ifndef LR_WG_ALLOWEDIPS_H
#define LR_WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct wg_aip_node;

struct wg_allowedips {
	struct wg_aip_node *root4;
	struct wg_aip_node *root6;
};

void wg_allowedips_init(struct wg_allowedips *t);
/* Frees every node; owners are not touched. */
void wg_allowedips_free(struct wg_allowedips *t);
/* family is AF_INET or AF_INET6. Inserting an existing prefix moves it to the new
 * owner (as WireGuard does). Returns 0, -EINVAL (bad family/cidr, NULL owner) or -ENOMEM
 * (the table is unchanged then). */
int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *owner);
/* Removes the prefix if it is owned by owner. 0, or -ENOENT if absent or owned by another. */
int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *owner);
void wg_allowedips_remove_owner(struct wg_allowedips *t, void *owner);
/* Owner of the longest prefix containing addr, or NULL. */
void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *addr);
/* Calls cb for every prefix owned by owner (IPv4 first, then IPv6). addr is masked. */
typedef void (*wg_allowedips_cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr);
void wg_allowedips_walk_owner(const struct wg_allowedips *t, const void *owner,
			      wg_allowedips_cb cb, void *ctx);
size_t wg_allowedips_count_owner(const struct wg_allowedips *t, const void *owner);

#endif
