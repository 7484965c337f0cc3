/*
 * timers: the five per-peer timers of the WireGuard paper (section 6), driven
 * by events from send and receive. Each timer is a deadline in monotonic ns
 * (0 = not armed); the device's loop calls wg_timers_run when one is due.
 *
 *  retransmit_handshake  REKEY_TIMEOUT+jitter after an initiation; gives up
 *                        after MAX_TIMER_HANDSHAKES retries (REKEY_ATTEMPT_TIME)
 *  send_keepalive        KEEPALIVE_TIMEOUT after data arrived and none went back
 *  new_handshake         KEEPALIVE+REKEY_TIMEOUT+jitter after data sent and nothing
 *                        authenticated came back
 *  zero_key_material     REJECT_AFTER_TIME*3 after the last session derived
 *  persistent_keepalive  the configured interval after any authenticated packet
 */
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"
#include "wg/internal.h"

/* Uniform in [0, REKEY_TIMEOUT_JITTER_MAX). Timer jitter only spreads
 * handshakes out, so the random words come from a pool refilled with one
 * getrandom per WG_JITTER_POOL arms: new_handshake is re-armed on every data
 * packet that follows a reply, and a syscall each time showed in ping RTT. The
 * tiny bias of the multiply-shift reduction does not matter here. */
static uint64_t jitter(struct wg_device *dev)
{
	if (!dev->jitter_left) {
		crypto_random(dev->jitter_pool, sizeof(dev->jitter_pool));
		dev->jitter_left = WG_JITTER_POOL;
	}
	return ((uint64_t)dev->jitter_pool[--dev->jitter_left] * WG_REKEY_TIMEOUT_JITTER_MAX) >> 32;
}

static void arm(struct wg_peer *peer, uint64_t *timer, uint64_t delay)
{
	*timer = time_mono_ns() + delay;
	wg_device_note_deadline(peer->dev, *timer);
}

void wg_timers_data_sent(struct wg_peer *peer)
{
	if (!peer->timers.new_handshake)
		arm(peer, &peer->timers.new_handshake,
		    WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT + jitter(peer->dev));
}

void wg_timers_data_received(struct wg_peer *peer)
{
	if (!peer->timers.send_keepalive)
		arm(peer, &peer->timers.send_keepalive, WG_KEEPALIVE_TIMEOUT);
	else
		peer->timers.need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	peer->timers.send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	peer->timers.new_handshake = 0;
}

void wg_timers_handshake_initiated(struct wg_peer *peer)
{
	arm(peer, &peer->timers.retransmit_handshake, WG_REKEY_TIMEOUT + jitter(peer->dev));
}

void wg_timers_handshake_complete(struct wg_peer *peer)
{
	uint64_t sec;
	uint32_t nsec;

	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	time_wall(&sec, &nsec);
	peer->last_handshake_sec = sec;
	peer->last_handshake_nsec = nsec;
	peer->handshakes++;
}

void wg_timers_session_derived(struct wg_peer *peer)
{
	arm(peer, &peer->timers.zero_key_material, WG_REJECT_AFTER_TIME * 3);
}

void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer)
{
	if (peer->persistent_keepalive)
		arm(peer, &peer->timers.persistent_keepalive,
		    (uint64_t)peer->persistent_keepalive * TIME_NS_PER_SEC);
}

void wg_timers_stop(struct wg_peer *peer)
{
	struct wg_peer_timers *t = &peer->timers;

	t->retransmit_handshake = t->send_keepalive = t->new_handshake = 0;
	t->zero_key_material = t->persistent_keepalive = 0;
	t->need_another_keepalive = false;
}

static void expired_retransmit_handshake(struct wg_peer *peer)
{
	char kb[16];

	if (peer->timers.handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
		log_info("wg", "peer %s: handshake did not complete after %u attempts, giving up",
			 log_key(kb, peer->public_key), WG_MAX_TIMER_HANDSHAKES + 2);
		peer->timers.send_keepalive = 0;
		wg_peer_staged_purge(peer);
		if (!peer->timers.zero_key_material)
			arm(peer, &peer->timers.zero_key_material, WG_REJECT_AFTER_TIME * 3);
		return;
	}
	peer->timers.handshake_attempts++;
	log_debug("wg", "peer %s: handshake did not complete after %d seconds, retrying (try %u)",
		  log_key(kb, peer->public_key), (int)(WG_REKEY_TIMEOUT / TIME_NS_PER_SEC),
		  peer->timers.handshake_attempts + 1);
	wg_send_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct wg_peer *peer)
{
	wg_send_keepalive(peer);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		arm(peer, &peer->timers.send_keepalive, WG_KEEPALIVE_TIMEOUT);
	}
}

static void expired_new_handshake(struct wg_peer *peer)
{
	char kb[16];

	log_debug("wg", "peer %s: no reply for %d seconds, new handshake",
		  log_key(kb, peer->public_key),
		  (int)((WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT) / TIME_NS_PER_SEC));
	wg_send_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct wg_peer *peer)
{
	wg_noise_handshake_clear(peer);
	wg_noise_keypairs_clear(peer);
}

static bool due(uint64_t *timer, uint64_t now)
{
	if (!*timer || *timer > now)
		return false;
	*timer = 0;
	return true;
}

static uint64_t min_deadline(const struct wg_peer_timers *t)
{
	uint64_t all[] = { t->retransmit_handshake, t->send_keepalive, t->new_handshake,
			   t->zero_key_material, t->persistent_keepalive };
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && all[i] < m)
			m = all[i];
	return m;
}

uint64_t wg_timers_run(struct wg_peer *peer, uint64_t now)
{
	struct wg_peer_timers *t = &peer->timers;

	if (due(&t->retransmit_handshake, now))
		expired_retransmit_handshake(peer);
	if (due(&t->send_keepalive, now))
		expired_send_keepalive(peer);
	if (due(&t->new_handshake, now))
		expired_new_handshake(peer);
	if (due(&t->zero_key_material, now))
		expired_zero_key_material(peer);
	if (due(&t->persistent_keepalive, now))
		wg_send_keepalive(peer);
	return min_deadline(t);
}
