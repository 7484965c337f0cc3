/*
 * replay: the anti-replay window, with the Linux kernel's semantics
 * (drivers/net/wireguard/receive.c counter_validate, RFC 6479) so lanrage-wg
 * accepts and drops exactly what a kernel peer would.
 *
 * Invariants:
 * - greatest is the next expected counter, greatest accepted + 1, or 0 when
 *   nothing was accepted; the ring works on counter + 1 so 0 needs no special case.
 * - The ring of 64-bit blocks is indexed by (counter + 1) / 64 modulo the ring
 *   and holds the blocks of greatest and the ones just behind it. Moving the
 *   window forward clears every slot it reuses before setting a bit there, so
 *   no slot carries bits of an older lap; the clearing stops after a whole
 *   ring, so a huge jump costs O(ring), never a loop over the jump distance.
 * - The newest block may be partly ahead of greatest, which is why the usable
 *   window is one block shorter than the ring: every counter inside the window
 *   still has its own bit, every counter behind it is refused outright.
 */
#include <string.h>

#include "wg/replay.h"

enum {
	REPLAY_BLOCK_BITS = 64,
	REPLAY_BLOCKS = WG_REPLAY_BITS_TOTAL / REPLAY_BLOCK_BITS,
};

_Static_assert((REPLAY_BLOCKS & (REPLAY_BLOCKS - 1)) == 0, "ring size must be a power of two");
_Static_assert(sizeof(((struct wg_replay *)0)->bitmap) * 8 == WG_REPLAY_BITS_TOTAL,
	       "bitmap must hold WG_REPLAY_BITS_TOTAL bits");

void wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Clears the blocks after the current newest one up to and including new_block;
 * past a full ring every block is stale, so the loop stops there. */
static void replay_advance(struct wg_replay *r, uint64_t new_block)
{
	uint64_t cur_block = r->greatest / REPLAY_BLOCK_BITS;
	uint64_t steps = new_block - cur_block;

	if (steps > REPLAY_BLOCKS)
		steps = REPLAY_BLOCKS;
	for (uint64_t i = 1; i <= steps; i++)
		r->bitmap[(cur_block + i) % REPLAY_BLOCKS] = 0;
}

bool wg_replay_check(struct wg_replay *r, uint64_t counter, uint64_t reject_after)
{
	/* The kernel also refuses everything once greatest passed the limit, which
	 * only matters if a caller lowers reject_after for a live window. */
	if (counter >= reject_after || r->greatest > reject_after)
		return false;
	/* counter < reject_after <= UINT64_MAX, so counter + 1 cannot wrap. */
	uint64_t n = counter + 1;

	/* "n + WINDOW < greatest", written so it cannot wrap for any reject_after. */
	if (r->greatest > WG_REPLAY_WINDOW && n < r->greatest - WG_REPLAY_WINDOW)
		return false; /* older than the window */
	uint64_t block = n / REPLAY_BLOCK_BITS;

	if (n > r->greatest) {
		replay_advance(r, block);
		r->greatest = n;
	}
	uint64_t *word = &r->bitmap[block % REPLAY_BLOCKS];
	uint64_t bit = UINT64_C(1) << (n % REPLAY_BLOCK_BITS);

	if (*word & bit)
		return false; /* seen */
	*word |= bit;
	return true;
}
