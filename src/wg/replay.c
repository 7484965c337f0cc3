/*
 * replay: the anti-replay window, with the Linux kernel's semantics
 * (drivers/net/wireguard/receive.c counter_validate) so lanrage-wg accepts and
 * drops exactly what a kernel peer would.
 *
 * The window is a ring of 64-bit blocks indexed by (counter + 1). Moving the
 * window forward clears the blocks it skips, at most the whole ring, so a huge
 * jump costs O(ring) and never a loop over the jump distance. The newest block
 * may be partly ahead of the greatest counter, which is why the usable window
 * is one block shorter than the ring.
 */
#include <string.h>

#include "wg/replay.h"

enum {
	REPLAY_BLOCK_BITS = 64,
	REPLAY_BLOCKS = WG_REPLAY_BITS_TOTAL / REPLAY_BLOCK_BITS,
};

void wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Clears the blocks between the current newest one and new_block (exclusive of
 * the current, inclusive of new_block). */
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
	if (counter >= reject_after)
		return false;
	/* Work on counter + 1 so that "nothing received yet" (greatest == 0) needs no
	 * special case; counter < reject_after <= UINT64_MAX so this cannot wrap. */
	uint64_t n = counter + 1;

	if (n + WG_REPLAY_WINDOW < r->greatest)
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
