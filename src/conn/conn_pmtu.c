/*
 * conn_pmtu: how big a member's IP packets may be (conn_internal.h, "Path
 * MTU"). Pure: the clock and the answers come in as arguments, so the
 * unit tests drive every transition from tables.
 *
 * The search: a new path takes its ceiling at once (a 1500-byte underlay
 * carries it, so nothing waits for a probe there) and probes it. When the
 * ceiling is lost PMTU_MAX_PROBES rounds running while the small probe is
 * answered, the member falls to PMTU_BASE and a binary search over
 * PMTU_STEP multiples raises it to the largest size answered. A settled
 * size is re-probed every PMTU_CONFIRM_NS (a path that shrank is a black
 * hole for full-size packets until then), and a size below the ceiling is
 * searched upward again after PMTU_RAISE_NS.
 */
#include <errno.h>
#include <string.h>

#include "conn/conn_internal.h"
#include "util/bytes.h"

int echo_probe_build(uint8_t *out, size_t cap, int type, uint32_t seq, unsigned size)
{
	size_t len = ECHO_PROBE_LEN;

	if (type == ECHO_PROBE) {
		if (size < PMTU_IP_UDP_LEN + ECHO_PROBE_LEN || size > 0xffff)
			return -EINVAL;
		len = size - PMTU_IP_UDP_LEN;
	} else if (type != ECHO_PROBE_REPLY || size > 0xffff) {
		return -EINVAL;
	}
	if (len > cap)
		return -ENOSPC;
	memset(out, 0, len);
	out[0] = ECHO_MAGIC0;
	out[1] = ECHO_MAGIC1;
	out[2] = ECHO_PROBE_VERSION;
	out[3] = (uint8_t)type;
	bytes_put_be32(out + 4, seq);
	bytes_put_be16(out + 8, (uint16_t)size);
	return (int)len;
}

int echo_probe_parse(const uint8_t *buf, size_t len, int *type, uint32_t *seq, unsigned *size)
{
	if (len < ECHO_PROBE_LEN || buf[0] != ECHO_MAGIC0 || buf[1] != ECHO_MAGIC1 ||
	    buf[2] != ECHO_PROBE_VERSION || (buf[3] != ECHO_PROBE && buf[3] != ECHO_PROBE_REPLY))
		return -EINVAL;
	*type = buf[3];
	*seq = bytes_get_be32(buf + 4);
	*size = bytes_get_be16(buf + 8);
	if (*type == ECHO_PROBE && *size != len + PMTU_IP_UDP_LEN)
		return -EINVAL;
	if (*type == ECHO_PROBE_REPLY && len != ECHO_PROBE_LEN)
		return -EINVAL;
	return 0;
}

unsigned pmtu_ceiling(unsigned underlay_mtu, bool ipv6, unsigned relay_hdr, unsigned if_mtu)
{
	unsigned over = (ipv6 ? 48 : 28) + PMTU_WG_OVERHEAD + relay_hdr;
	unsigned fit = underlay_mtu > over ? underlay_mtu - over : 0;

	if (fit >= if_mtu)
		return if_mtu; /* padding stops at the interface MTU */
	fit -= fit % PMTU_STEP;
	return fit < PMTU_BASE ? PMTU_BASE : fit;
}

static void settle(struct pmtu *p, uint64_t now)
{
	p->phase = PMTU_DONE;
	p->probe = p->mtu;
	p->next_ns = now + PMTU_CONFIRM_NS;
	p->raise_ns = p->mtu < p->ceiling ? now + PMTU_RAISE_NS : UINT64_MAX;
	if (!p->converged_ns)
		p->converged_ns = now;
}

/* The next size to try between lo (fits) and hi (too big), or settle. */
static void next_probe(struct pmtu *p, uint64_t now)
{
	unsigned mid;

	p->fails = 0;
	p->next_ns = now;
	if (!p->hi) {
		if (p->ceiling > p->lo) {
			p->probe = p->ceiling;
			return;
		}
		settle(p, now);
		return;
	}
	mid = (p->lo + p->hi) / 2;
	mid -= mid % PMTU_STEP;
	if (mid <= p->lo)
		mid = p->lo - p->lo % PMTU_STEP + PMTU_STEP;
	if (mid >= p->hi) {
		settle(p, now);
		return;
	}
	p->probe = mid;
}

void pmtu_start(struct pmtu *p, unsigned ceiling, uint64_t now_ns)
{
	uint32_t round = p->round; /* keep numbering: late answers stay ignored */

	memset(p, 0, sizeof(*p));
	p->round = round;
	p->phase = PMTU_SEARCH;
	p->ceiling = ceiling;
	p->mtu = ceiling;
	p->lo = ceiling < PMTU_BASE ? ceiling : PMTU_BASE;
	p->start_ns = now_ns;
	p->raise_ns = UINT64_MAX;
	next_probe(p, now_ns);
}

static void round_ok(struct pmtu *p, uint64_t now)
{
	p->fails = 0;
	if (p->phase == PMTU_DONE) {
		p->next_ns = now + PMTU_CONFIRM_NS;
		return;
	}
	p->lo = p->probe;
	p->mtu = p->probe;
	next_probe(p, now);
}

static void round_too_big(struct pmtu *p, uint64_t now)
{
	if (++p->fails < PMTU_MAX_PROBES) {
		p->next_ns = now; /* again at once: it must fail MAX_PROBES times */
		return;
	}
	if (p->phase == PMTU_DONE) {
		if (p->mtu <= PMTU_BASE) {
			/* nothing smaller to fall to */
			p->fails = 0;
			p->next_ns = now + PMTU_CONFIRM_NS;
			return;
		}
		/* black hole: the path shrank under a settled size */
		p->phase = PMTU_SEARCH;
		p->lo = PMTU_BASE;
	}
	p->hi = p->probe;
	if (p->mtu >= p->hi)
		p->mtu = p->lo; /* the optimistic size does not fit: the floor */
	next_probe(p, now);
}

static void judge(struct pmtu *p, uint64_t now)
{
	p->in_round = false;
	if (p->big_ok) {
		p->quiet = 0;
		round_ok(p, now);
	} else if (p->small_ok) {
		p->quiet = 0;
		round_too_big(p, now);
	} else {
		/* plain loss, a path that is down, or a member that does not
		 * answer probes: no verdict; try again, less often after a few */
		p->quiet++;
		p->next_ns = now + (p->quiet < PMTU_MAX_PROBES ? PMTU_RETRY_NS : PMTU_CONFIRM_NS);
	}
}

bool pmtu_tick(struct pmtu *p, uint64_t now_ns, uint64_t timeout_ns, unsigned *size,
	       uint32_t *round)
{
	if (p->phase == PMTU_IDLE)
		return false;
	if (p->in_round && now_ns >= p->round_end_ns)
		judge(p, now_ns);
	if (p->in_round)
		return false;
	if (p->phase == PMTU_DONE && now_ns >= p->raise_ns) {
		/* probe upward again from what fits */
		p->phase = PMTU_SEARCH;
		p->lo = p->mtu;
		p->hi = 0;
		p->raise_ns = UINT64_MAX;
		next_probe(p, now_ns);
	}
	if (now_ns < p->next_ns)
		return false;
	p->round++;
	p->in_round = true;
	p->round_start_ns = now_ns;
	p->big_ok = p->small_ok = false;
	p->round_end_ns = now_ns + timeout_ns;
	*size = p->probe;
	*round = p->round;
	return true;
}

void pmtu_answer(struct pmtu *p, uint32_t round, bool big, uint64_t now_ns)
{
	if (!p->in_round || round != p->round)
		return;
	if (!big) {
		p->small_ok = true;
		if (now_ns >= p->round_start_ns)
			p->rtt_ns = now_ns - p->round_start_ns;
		return;
	}
	p->big_ok = true;
	judge(p, now_ns);
}

uint64_t pmtu_next_ns(const struct pmtu *p)
{
	uint64_t t;

	if (p->phase == PMTU_IDLE)
		return UINT64_MAX;
	if (p->in_round)
		return p->round_end_ns;
	t = p->next_ns;
	return p->phase == PMTU_DONE && p->raise_ns < t ? p->raise_ns : t;
}
