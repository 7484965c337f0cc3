/*
 * conn_mon: in-tunnel monitor statistics over the last MON_WINDOW echo
 * requests: smoothed RTT (EWMA, 1/8 as TCP's SRTT), jitter (EWMA of the RTT
 * change, 1/16 as RFC 3550), loss, and how many requests in a row got no
 * answer (what triggers a reconnect). Each request is settled exactly once.
 * Only requests sent after the tunnel first answered are RTT samples: the
 * earlier ones include the WireGuard handshake (and its 5 s retry), which
 * would dominate the smoothed RTT for minutes.
 */
#include <string.h>

#include "conn/conn_internal.h"

void mon_reset(struct mon_stats *m)
{
	uint32_t seq = m->next_seq; /* keep numbering: late replies stay ignored */

	memset(m, 0, sizeof(*m));
	m->next_seq = seq;
}

static void record(struct mon_stats *m, bool answered)
{
	m->outcome[m->outcome_next] = answered;
	m->outcome_next = (m->outcome_next + 1) % MON_WINDOW;
	if (m->n_outcomes < MON_WINDOW)
		m->n_outcomes++;
}

static void settle_lost(struct mon_stats *m, unsigned i)
{
	if (!m->slot[i].used || m->slot[i].settled)
		return;
	m->slot[i].settled = true;
	m->consecutive_lost++;
	record(m, false);
}

uint32_t mon_sent(struct mon_stats *m, uint64_t now_ns)
{
	uint32_t seq = m->next_seq++;
	unsigned i = seq % MON_WINDOW;

	settle_lost(m, i);
	m->slot[i].seq = seq;
	m->slot[i].sent_ns = now_ns;
	m->slot[i].used = true;
	m->slot[i].settled = false;
	m->slot[i].answered = false;
	return seq;
}

void mon_expire(struct mon_stats *m, uint64_t deadline_ns)
{
	/* oldest first, so consecutive_lost counts in order */
	for (uint32_t k = MON_WINDOW; k > 0; k--) {
		uint32_t seq = m->next_seq - k;
		unsigned i = seq % MON_WINDOW;

		if (m->slot[i].used && m->slot[i].seq == seq && m->slot[i].sent_ns < deadline_ns)
			settle_lost(m, i);
	}
}

bool mon_reply(struct mon_stats *m, uint32_t seq, uint64_t now_ns)
{
	unsigned i = seq % MON_WINDOW;
	double rtt;

	if (!m->slot[i].used || m->slot[i].seq != seq || m->slot[i].settled ||
	    now_ns < m->slot[i].sent_ns)
		return false;
	m->slot[i].settled = true;
	m->slot[i].answered = true;
	m->consecutive_lost = 0;
	record(m, true);
	if (!m->up) {
		m->up = true;
		m->up_ns = now_ns;
	}
	if (m->slot[i].sent_ns < m->up_ns)
		return true; /* answered, but waited for the handshake */
	rtt = (double)(now_ns - m->slot[i].sent_ns) / 1e6;
	if (!m->rtt_valid) {
		m->rtt_ms = rtt;
		m->jitter_ms = 0;
		m->rtt_valid = true;
	} else {
		double d = rtt > m->last_rtt_ms ? rtt - m->last_rtt_ms : m->last_rtt_ms - rtt;

		m->rtt_ms += (rtt - m->rtt_ms) / 8;
		m->jitter_ms += (d - m->jitter_ms) / 16;
	}
	m->last_rtt_ms = rtt;
	return true;
}

double mon_loss_pct(const struct mon_stats *m)
{
	unsigned lost = 0;

	for (unsigned i = 0; i < m->n_outcomes; i++)
		lost += !m->outcome[i];
	return m->n_outcomes ? 100.0 * lost / m->n_outcomes : 0;
}
