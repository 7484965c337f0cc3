/*
 * allowedips: a path-compressed binary trie for longest-prefix match, one per
 * address family. Every node is a prefix (bits, cidr); walking from the root,
 * each node's prefix extends its parent's, and a child hangs under child[b]
 * where b is the child's bit at position parent->cidr. Only nodes that branch
 * are stored, so a lookup visits at most 33 (IPv4) or 129 (IPv6) nodes
 * whatever the number of prefixes.
 *
 * Invariants:
 *  - bits are masked to cidr; a node's cidr is strictly greater than its
 *    parent's, so a root-to-leaf path has at most maxbits + 1 nodes (this bounds
 *    the recursion in free and remove_owner);
 *  - a node without an owner is a fork: it exists only because it has two
 *    children, and is freed or spliced out as soon as it has fewer;
 *  - a node with cidr == maxbits has no children.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wg/allowedips.h"

#define WG_AIP_MAXBYTES 16

struct wg_aip_node {
	struct wg_aip_node *child[2];
	struct wg_aip_node *parent; /* NULL for the root of a family */
	void *owner;		    /* NULL for a fork */
	uint8_t bits[WG_AIP_MAXBYTES];
	uint8_t cidr;
};

/* Address length in bits for family, or 0 if the family is not supported. */
static unsigned wg_aip_maxbits(int family)
{
	if (family == AF_INET)
		return 32;
	if (family == AF_INET6)
		return 128;
	return 0;
}

static struct wg_aip_node **wg_aip_root(struct wg_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

/* Bit i of a big-endian bit string; bit 0 is the top bit of byte 0. */
static unsigned wg_aip_bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void wg_aip_mask(uint8_t *a, unsigned cidr)
{
	for (unsigned i = 0; i < WG_AIP_MAXBYTES; i++) {
		if (cidr >= 8 * (i + 1))
			continue;
		a[i] &= cidr <= 8 * i ? 0 : (uint8_t)(0xff << (8 * (i + 1) - cidr));
	}
}

/* Index of the first bit in [from, to) where a and b differ, or to if none.
 * Works a byte at a time so a lookup costs O(address bits) in total: each node
 * only compares the bits its ancestors have not already checked. */
static unsigned wg_aip_first_diff(const uint8_t *a, const uint8_t *b, unsigned from, unsigned to)
{
	for (unsigned i = from / 8; 8 * i < to; i++) {
		unsigned x = a[i] ^ b[i];
		unsigned d = 8 * i;

		if (i == from / 8)
			x &= 0xffu >> (from % 8);
		if (!x)
			continue;
		while (!(x & 0x80)) {
			x <<= 1;
			d++;
		}
		return d < to ? d : to;
	}
	return to;
}

/* key must hold WG_AIP_MAXBYTES bytes; it is copied and masked to cidr. */
static struct wg_aip_node *wg_aip_node_new(const uint8_t *key, unsigned cidr, void *owner)
{
	struct wg_aip_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	memcpy(n->bits, key, WG_AIP_MAXBYTES);
	wg_aip_mask(n->bits, cidr);
	n->cidr = (uint8_t)cidr;
	n->owner = owner;
	return n;
}

static void wg_aip_link(struct wg_aip_node **slot, struct wg_aip_node *parent,
			struct wg_aip_node *n)
{
	*slot = n;
	if (n)
		n->parent = parent;
}

/* The pointer that points at n: its parent's child slot, or the root. */
static struct wg_aip_node **wg_aip_slot(struct wg_aip_node **root, struct wg_aip_node *n)
{
	if (!n->parent)
		return root;
	return &n->parent->child[n->parent->child[1] == n];
}

/*
 * Puts a new prefix (key, cidr) where slot points, above the existing subtree
 * n whose prefix is not contained in key's; common is how many leading bits
 * they share. Both nodes it may need are allocated before anything changes.
 */
static int wg_aip_graft(struct wg_aip_node **slot, struct wg_aip_node *parent,
			struct wg_aip_node *n, const uint8_t *key, unsigned cidr, unsigned common,
			void *owner)
{
	struct wg_aip_node *leaf = wg_aip_node_new(key, cidr, owner);
	struct wg_aip_node *fork;

	if (!leaf)
		return -ENOMEM;
	if (!n || common == cidr) {
		/* key's prefix is empty space or contains n: n goes under the leaf. */
		if (n)
			wg_aip_link(&leaf->child[wg_aip_bit(n->bits, cidr)], leaf, n);
		wg_aip_link(slot, parent, leaf);
		return 0;
	}
	/* They diverge at bit common: a fork there holds both. */
	fork = wg_aip_node_new(key, common, NULL);
	if (!fork) {
		free(leaf);
		return -ENOMEM;
	}
	wg_aip_link(&fork->child[wg_aip_bit(n->bits, common)], fork, n);
	wg_aip_link(&fork->child[wg_aip_bit(key, common)], fork, leaf);
	wg_aip_link(slot, parent, fork);
	return 0;
}

static int wg_aip_insert(struct wg_aip_node **root, const uint8_t *key, unsigned cidr, void *owner)
{
	struct wg_aip_node **slot = root, *parent = NULL, *n;
	unsigned common = 0;

	/* Descend while the node's prefix contains key's prefix. */
	while ((n = *slot)) {
		common = wg_aip_first_diff(n->bits, key, 0, n->cidr < cidr ? n->cidr : cidr);
		if (common < n->cidr)
			break;
		if (n->cidr == cidr) {
			/* Same prefix: it moves to the new owner, as in WireGuard. */
			n->owner = owner;
			return 0;
		}
		parent = n;
		slot = &n->child[wg_aip_bit(key, n->cidr)];
	}
	return wg_aip_graft(slot, parent, n, key, cidr, common, owner);
}

/* The node holding exactly (key, cidr), fork or not, or NULL. */
static struct wg_aip_node *wg_aip_find(struct wg_aip_node *n, const uint8_t *key, unsigned cidr)
{
	/* Steering by key's bits is enough: a wrong turn can only end at a node
	 * whose bits differ, which the final comparison rejects. */
	while (n && n->cidr < cidr)
		n = n->child[wg_aip_bit(key, n->cidr)];
	if (!n || n->cidr != cidr || wg_aip_first_diff(n->bits, key, 0, cidr) != cidr)
		return NULL;
	return n;
}

/* Frees n if it lost its reason to exist (no owner and fewer than two
 * children), putting its only child, if any, in its place. */
static bool wg_aip_drop_if_useless(struct wg_aip_node **root, struct wg_aip_node *n)
{
	struct wg_aip_node *child;

	if (n->owner || (n->child[0] && n->child[1]))
		return false;
	child = n->child[0] ? n->child[0] : n->child[1];
	wg_aip_link(wg_aip_slot(root, n), n->parent, child);
	free(n);
	return true;
}

/* Removing an owner from n can make n useless, and freeing a childless n can
 * leave its parent, if a fork, with one child. Nothing above that changes: the
 * grandparent still has as many children as before. */
static void wg_aip_disown(struct wg_aip_node **root, struct wg_aip_node *n)
{
	struct wg_aip_node *parent = n->parent;

	n->owner = NULL;
	if (wg_aip_drop_if_useless(root, n) && parent)
		wg_aip_drop_if_useless(root, parent);
}

/* Post-order: children are pruned before their parent decides whether it is
 * still needed. Returns what now takes n's place. Depth is bounded by the
 * invariant on cidr (at most 129 frames). */
static struct wg_aip_node *wg_aip_prune(struct wg_aip_node *n, const void *owner)
{
	struct wg_aip_node *child;

	if (!n)
		return NULL;
	for (unsigned i = 0; i < 2; i++)
		wg_aip_link(&n->child[i], n, wg_aip_prune(n->child[i], owner));
	if (n->owner == owner)
		n->owner = NULL;
	if (n->owner || (n->child[0] && n->child[1]))
		return n;
	child = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	return child;
}

static void wg_aip_free_tree(struct wg_aip_node *n)
{
	if (!n)
		return;
	wg_aip_free_tree(n->child[0]);
	wg_aip_free_tree(n->child[1]);
	free(n);
}

/* Pre-order successor, found with parent pointers so walking needs no stack.
 * Pre-order is address order, a prefix before the longer ones it contains. */
static const struct wg_aip_node *wg_aip_next(const struct wg_aip_node *n)
{
	if (n->child[0])
		return n->child[0];
	if (n->child[1])
		return n->child[1];
	for (; n->parent; n = n->parent)
		if (n == n->parent->child[0] && n->parent->child[1])
			return n->parent->child[1];
	return NULL;
}

/* Copies addr into a full-size buffer masked to cidr, after checking the
 * arguments every mutating call shares. */
static int wg_aip_key(int family, const uint8_t *addr, unsigned cidr, uint8_t *key)
{
	unsigned maxbits = wg_aip_maxbits(family);

	if (!maxbits || cidr > maxbits)
		return -EINVAL;
	memset(key, 0, WG_AIP_MAXBYTES);
	memcpy(key, addr, maxbits / 8);
	wg_aip_mask(key, cidr);
	return 0;
}

void wg_allowedips_init(struct wg_allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
}

void wg_allowedips_free(struct wg_allowedips *t)
{
	wg_aip_free_tree(t->root4);
	wg_aip_free_tree(t->root6);
	wg_allowedips_init(t);
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *owner)
{
	uint8_t key[WG_AIP_MAXBYTES];

	/* A NULL owner would be indistinguishable from a fork. */
	if (!owner || wg_aip_key(family, addr, cidr, key))
		return -EINVAL;
	return wg_aip_insert(wg_aip_root(t, family), key, cidr, owner);
}

int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *owner)
{
	uint8_t key[WG_AIP_MAXBYTES];
	struct wg_aip_node **root, *n;

	/* A prefix that cannot be stored is, by definition, absent. */
	if (!owner || wg_aip_key(family, addr, cidr, key))
		return -ENOENT;
	root = wg_aip_root(t, family);
	n = wg_aip_find(*root, key, cidr);
	if (!n || n->owner != owner)
		return -ENOENT;
	wg_aip_disown(root, n);
	return 0;
}

void wg_allowedips_remove_owner(struct wg_allowedips *t, void *owner)
{
	/* Forks have a NULL owner; pruning "NULL" would be a no-op anyway. */
	if (!owner)
		return;
	wg_aip_link(&t->root4, NULL, wg_aip_prune(t->root4, owner));
	wg_aip_link(&t->root6, NULL, wg_aip_prune(t->root6, owner));
}

void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *addr)
{
	unsigned maxbits = wg_aip_maxbits(family);
	const struct wg_aip_node *n = family == AF_INET ? t->root4 : t->root6;
	unsigned checked = 0;
	void *found = NULL;

	if (!maxbits)
		return NULL;
	while (n && wg_aip_first_diff(n->bits, addr, checked, n->cidr) == n->cidr) {
		/* Deeper nodes are longer prefixes: the last owner seen wins. */
		if (n->owner)
			found = n->owner;
		if (n->cidr == maxbits)
			break;
		checked = n->cidr;
		n = n->child[wg_aip_bit(addr, n->cidr)];
	}
	return found;
}

/* cb must not change the table: the walk holds a pointer to the next node. */
void wg_allowedips_walk_owner(const struct wg_allowedips *t, const void *owner,
			      wg_allowedips_cb cb, void *ctx)
{
	const struct wg_aip_node *roots[2] = { t->root4, t->root6 };
	static const int families[2] = { AF_INET, AF_INET6 };

	if (!owner)
		return;
	for (unsigned i = 0; i < 2; i++)
		for (const struct wg_aip_node *n = roots[i]; n; n = wg_aip_next(n))
			if (n->owner == owner)
				cb(ctx, families[i], n->bits, n->cidr);
}

static void wg_aip_count_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	(*(size_t *)ctx)++;
}

size_t wg_allowedips_count_owner(const struct wg_allowedips *t, const void *owner)
{
	size_t n = 0;

	wg_allowedips_walk_owner(t, owner, wg_aip_count_cb, &n);
	return n;
}
