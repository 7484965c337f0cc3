/*
 * replay: the anti-replay sliding window for transport counters (RFC 6479
 * style ring of 64-bit blocks). Window of WG_REPLAY_WINDOW counters behind the
 * greatest accepted one, as in the kernel and wireguard-go. Call only after the
 * packet authenticated, in arrival order per keypair.
 */
#ifndef LR_WG_REPLAY_H
#define LR_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	WG_REPLAY_BITS_TOTAL = 8192,
	WG_REPLAY_WINDOW = WG_REPLAY_BITS_TOTAL - 64,
};

struct wg_replay {
	uint64_t greatest; /* next expected counter = greatest accepted + 1 */
	uint64_t bitmap[WG_REPLAY_BITS_TOTAL / 64];
};

void wg_replay_init(struct wg_replay *r);
/* True and recorded when counter is fresh; false for a replay, a counter older than
 * the window, or counter >= reject_after (WG_REJECT_AFTER_MESSAGES in the device). */
bool wg_replay_check(struct wg_replay *r, uint64_t counter, uint64_t reject_after);

#endif
