/*
 * relay_cookie: return-routability cookies (see relay_cookie.h).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "relay_cookie.h"

#define NS_PER_SEC 1000000000ULL

void relay_cookie_init(struct relay_cookie *k, uint64_t now_ns)
{
	crypto_random(k->secret, sizeof(k->secret));
	k->cur = 0;
	k->rotated_ns = now_ns;
}

void relay_cookie_free(struct relay_cookie *k)
{
	crypto_wipe(k, sizeof(*k));
}

void relay_cookie_tick(struct relay_cookie *k, uint64_t now_ns)
{
	/* A clock that went back restarts the period rather than rotating. */
	if (now_ns < k->rotated_ns) {
		k->rotated_ns = now_ns;
		return;
	}
	if (now_ns - k->rotated_ns < RELAY_COOKIE_ROTATE_S * NS_PER_SEC)
		return;
	k->cur ^= 1;
	crypto_random(k->secret[k->cur], sizeof(k->secret[k->cur]));
	/* Two periods without a tick: the previous secret is too old as well. */
	if (now_ns - k->rotated_ns >= 2 * RELAY_COOKIE_ROTATE_S * NS_PER_SEC)
		crypto_random(k->secret[k->cur ^ 1], sizeof(k->secret[k->cur ^ 1]));
	k->rotated_ns = now_ns;
}

/* Family, port and address, as the table compares them. */
static void cookie_of(const uint8_t secret[32], const struct wg_endpoint *a,
		      uint8_t out[RELAY_COOKIE_LEN])
{
	uint8_t in[19] = { 0 };

	if (a->sa.sa_family == AF_INET) {
		in[0] = 4;
		memcpy(in + 1, &a->in4.sin_port, 2);
		memcpy(in + 3, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		in[0] = 6;
		memcpy(in + 1, &a->in6.sin6_port, 2);
		memcpy(in + 3, &a->in6.sin6_addr, 16);
	}
	crypto_blake2s(out, RELAY_COOKIE_LEN, secret, 32, in, sizeof(in));
}

void relay_cookie_make(const struct relay_cookie *k, const struct wg_endpoint *addr,
		       uint8_t out[RELAY_COOKIE_LEN])
{
	cookie_of(k->secret[k->cur], addr, out);
}

bool relay_cookie_check(const struct relay_cookie *k, const struct wg_endpoint *addr,
			const uint8_t cookie[RELAY_COOKIE_LEN])
{
	uint8_t cur[RELAY_COOKIE_LEN], prev[RELAY_COOKIE_LEN];
	bool ok;

	cookie_of(k->secret[k->cur], addr, cur);
	cookie_of(k->secret[k->cur ^ 1], addr, prev);
	/* Both compares always run. */
	ok = crypto_equal(cur, cookie, RELAY_COOKIE_LEN);
	ok |= crypto_equal(prev, cookie, RELAY_COOKIE_LEN);
	return ok;
}
