/*
 * relay_core: the relay's input handler (see relay_core.h and docs/RELAY.md).
 * Frames from a bound address refresh its binding; BIND shows the source's
 * cookie, the control plane's ticket and the proof of the key, then (re)binds
 * the key to the source address (a proven BIND outside the timestamp window
 * gets the relay's time in CLOCK instead); SEND is charged to the sender's
 * buckets and the receiver's, and forwarded as DELIVER (from an unbound
 * address it is answered UNBOUND, so the client rebinds at once); PING is answered freely to a bound
 * address and within a per-source limit to any other. Relay-to-client frame
 * types arriving here are dropped.
 *
 * A binding counts toward its source IP's cap while it is live (not dormant):
 * count_live/count_dead are called at every such change.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "nat/relay_proto.h"
#include "nat/relay_ticket.h"
#include "relay_core.h"

#define NS_PER_SEC 1000000000ULL

int relay_core_init(struct relay_core *c, const struct relay_config *cfg)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (!c->cfg.max_per_ip)
		c->cfg.max_per_ip = RELAY_DEFAULT_MAX_PER_IP;
	if (!c->cfg.limiter_sources)
		c->cfg.limiter_sources = RELAY_LIMITER_SOURCES;
	relay_cookie_init(&c->cookie, 0);
	relay_bucket_init(&c->stun_global, RELAY_STUN_GLOBAL_PPS, 0);
	ret = relay_table_init(&c->table, cfg->max_bindings);
	if (ret)
		goto err;
	ret = wg_ratelimiter_init_rate(&c->bind_rl, RELAY_BIND_PPS, RELAY_BIND_BURST,
				       c->cfg.limiter_sources);
	if (ret)
		goto err;
	ret = wg_ratelimiter_init_rate(&c->ping_rl, RELAY_PING_PPS, RELAY_PING_BURST,
				       c->cfg.limiter_sources);
	if (ret)
		goto err;
	ret = wg_ratelimiter_init_rate(&c->stun_rl, RELAY_STUN_PPS, RELAY_STUN_BURST,
				       c->cfg.limiter_sources);
	if (ret)
		goto err;
	ret = wg_ratelimiter_init_rate(&c->unbound_rl, RELAY_UNBOUND_PPS, RELAY_UNBOUND_BURST,
				       c->cfg.limiter_sources);
	if (ret)
		goto err;
	return 0;
err:
	relay_core_free(c);
	return ret;
}

void relay_core_free(struct relay_core *c)
{
	relay_table_free(&c->table);
	wg_ratelimiter_free(&c->bind_rl);
	wg_ratelimiter_free(&c->ping_rl);
	wg_ratelimiter_free(&c->stun_rl);
	wg_ratelimiter_free(&c->unbound_rl);
	relay_cookie_free(&c->cookie);
	crypto_wipe(c->cfg.private_key, sizeof(c->cfg.private_key));
}

void relay_core_set_ticket_key(struct relay_core *c, const uint8_t key[32])
{
	memcpy(c->cfg.ticket_key, key, 32);
	c->cfg.has_ticket_key = true;
}

static bool expired(const struct relay_core *c, const struct relay_binding *b, uint64_t now_ns)
{
	return now_ns > b->last_ns && now_ns - b->last_ns >= c->cfg.lifetime_s * NS_PER_SEC;
}

/* An expired binding stays in the table, dormant (nothing is forwarded from
 * or to it), until its last BIND timestamp is outside the replay window:
 * forgetting it sooner would let a captured BIND rebind the key. */
static bool forgettable(const struct relay_core *c, const struct relay_binding *b,
			uint64_t now_ns)
{
	return now_ns > b->last_ns &&
	       now_ns - b->last_ns >= c->cfg.lifetime_s * NS_PER_SEC +
					       RELAY_BIND_WINDOW_MS * 1000000ULL;
}

static void count_live(struct relay_core *c, struct relay_binding *b)
{
	relay_table_ip_adjust(&c->table, &b->addr, 1);
}

static void count_dead(struct relay_core *c, struct relay_binding *b)
{
	relay_table_ip_adjust(&c->table, &b->addr, -1);
}

/* false when b is expired (marking it dormant the first time). */
static bool still_live(struct relay_core *c, struct relay_binding *b, uint64_t now_ns)
{
	if (b->dormant)
		return false;
	if (!expired(c, b, now_ns))
		return true;
	b->dormant = true;
	c->dormant++;
	c->stats.expired++;
	count_dead(c, b);
	return false;
}

static void forget(struct relay_core *c, struct relay_binding *b)
{
	if (b->dormant)
		c->dormant--;
	else
		count_dead(c, b);
	relay_table_remove(&c->table, b);
}

void relay_core_expire(struct relay_core *c, uint64_t now_ns)
{
	relay_cookie_tick(&c->cookie, now_ns);
	if (now_ns >= c->last_sweep_ns && now_ns - c->last_sweep_ns < NS_PER_SEC)
		return;
	c->last_sweep_ns = now_ns;
	for (uint32_t i = 0; i < c->table.cap && c->table.count; i++) {
		struct relay_binding *b = &c->table.pool[i];

		if (b->used && !still_live(c, b, now_ns) && forgettable(c, b, now_ns))
			forget(c, b);
	}
}

/* When the pool is used up, a dormant binding makes room for a live one. */
static void reclaim_dormant(struct relay_core *c)
{
	for (uint32_t i = 0; i < c->table.cap && c->dormant; i++) {
		if (c->table.pool[i].used && c->table.pool[i].dormant) {
			forget(c, &c->table.pool[i]);
			return;
		}
	}
}

uint32_t relay_core_bindings(const struct relay_core *c)
{
	return c->table.count - c->dormant;
}

static struct relay_binding *live_by_addr(struct relay_core *c, const struct wg_endpoint *addr,
					  uint64_t now_ns)
{
	struct relay_binding *b = relay_table_find_addr(&c->table, addr);

	return b && still_live(c, b, now_ns) ? b : NULL;
}

static struct relay_binding *live_by_key(struct relay_core *c, const uint8_t key[32],
					 uint64_t now_ns)
{
	struct relay_binding *b = relay_table_find_key(&c->table, key);

	return b && still_live(c, b, now_ns) ? b : NULL;
}

static bool reply_to(struct relay_out *out, const struct wg_endpoint *dst, const uint8_t *buf,
		     int len)
{
	if (len <= 0)
		return false;
	out->dst = *dst;
	out->buf = buf;
	out->len = (size_t)len;
	return true;
}

static bool refuse(struct relay_core *c, const struct wg_endpoint *src, const uint8_t *nonce,
		   uint8_t code, uint8_t *reply, struct relay_out *out)
{
	uint64_t *counter[RELAY_REFUSED_MAX + 1] = {
		[RELAY_REFUSED_BAD_MAC] = &c->stats.refused_mac,
		[RELAY_REFUSED_STALE] = &c->stats.refused_stale,
		[RELAY_REFUSED_FULL] = &c->stats.refused_full,
		[RELAY_REFUSED_RATE] = &c->stats.refused_rate,
		[RELAY_REFUSED_UNAUTHORIZED] = &c->stats.refused_unauthorized,
		[RELAY_REFUSED_EXPIRED] = &c->stats.refused_expired,
		[RELAY_REFUSED_IP_FULL] = &c->stats.refused_ip_full,
	};

	(*counter[code])++;
	return reply_to(out, src, reply, relay_build_refused(reply, RELAY_REPLY_MAX, nonce, code));
}

static bool send_cookie(struct relay_core *c, const struct relay_frame *f,
			const struct wg_endpoint *src, uint8_t *reply, struct relay_out *out)
{
	uint8_t cookie[RELAY_COOKIE_LEN];

	relay_cookie_make(&c->cookie, src, cookie);
	c->stats.cookies++;
	return reply_to(out, src, reply,
			relay_build_cookie(reply, RELAY_REPLY_MAX, f->nonce, cookie));
}

/* 0 when the BIND's ticket vouches for its key, else the REFUSED code. Its
 * expiry is checked before its signature (relay_ticket_verify). */
static uint8_t check_ticket(const struct relay_core *c, const struct relay_frame *f,
			    uint64_t wall_ms)
{
	int ret;

	if (c->cfg.no_tickets)
		return 0;
	if (!c->cfg.has_ticket_key || crypto_is_zero(f->ticket, RELAY_TICKET_LEN))
		return RELAY_REFUSED_UNAUTHORIZED;
	ret = relay_ticket_verify(f->ticket, c->cfg.ticket_key, f->key, wall_ms / 1000);
	if (ret == -EKEYEXPIRED)
		return RELAY_REFUSED_EXPIRED;
	return ret ? RELAY_REFUSED_UNAUTHORIZED : 0;
}

/* True when binding b (NULL: a new one) to src would put more live bindings
 * on src's IP than the cap allows. other is the binding src's address holds
 * (the BIND ends it); b stops counting where it was. */
static bool over_ip_cap(struct relay_core *c, const struct relay_binding *b,
			const struct relay_binding *other, const struct wg_endpoint *src)
{
	uint32_t n = relay_table_ip_count(&c->table, src);

	if (other && other != b && !other->dormant)
		n--;
	if (b && !b->dormant && relay_table_same_ip(&b->addr, src))
		n--;
	return n >= c->cfg.max_per_ip;
}

/* (Re)binds f->key to src; f is fully verified. k is the BIND's shared key. */
static bool do_bind(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, struct relay_binding *b, const uint8_t k[32],
		    uint64_t now_ns, uint8_t *reply, struct relay_out *out)
{
	struct relay_binding *other = relay_table_find_addr(&c->table, src);

	if (b)
		still_live(c, b, now_ns); /* an expired one is revived as dormant */
	if (over_ip_cap(c, b, other, src))
		return refuse(c, src, f->nonce, RELAY_REFUSED_IP_FULL, reply, out);
	/* An address holds one key: a proven BIND takes the address over (the NAT
	 * gave the port to someone else, or the client changed keys). */
	if (other && other != b) {
		forget(c, other);
		c->stats.evicted++;
	}
	if (b && b->dormant) {
		b->dormant = false;
		c->dormant--;
	} else if (b) {
		count_dead(c, b); /* counted again below, at its new address */
	}
	if (b && !wg_endpoint_equal(&b->addr, src)) {
		relay_table_move(&c->table, b, src);
		c->stats.roams++;
	} else if (b) {
		c->stats.refreshes++;
	} else {
		b = relay_table_add(&c->table, f->key, src);
		if (!b) {
			relay_core_expire(c, now_ns);
			reclaim_dormant(c);
			b = relay_table_add(&c->table, f->key, src);
		}
		if (!b)
			return refuse(c, src, f->nonce, RELAY_REFUSED_FULL, reply, out);
		relay_bucket_init(&b->pkts, c->cfg.rate_pps, now_ns);
		relay_bucket_init(&b->bytes, c->cfg.rate_bytes, now_ns);
		relay_bucket_init(&b->rx_pkts, c->cfg.rate_pps, now_ns);
		relay_bucket_init(&b->rx_bytes, c->cfg.rate_bytes, now_ns);
		c->stats.binds++;
	}
	count_live(c, b);
	b->last_bind_ms = f->timestamp_ms;
	b->last_ns = now_ns;
	return reply_to(out, src, reply,
			relay_build_bound(reply, RELAY_REPLY_MAX, k, f->nonce, c->cfg.lifetime_s));
}

/* A proven BIND whose timestamp is outside the window: the relay's time,
 * under the BIND's key, so the client can bind with it (docs/RELAY.md). */
static bool send_clock(struct relay_core *c, const struct relay_frame *f,
		       const struct wg_endpoint *src, const uint8_t k[32], uint64_t wall_ms,
		       uint8_t *reply, struct relay_out *out)
{
	c->stats.clocks++;
	return reply_to(out, src, reply,
			relay_build_clock(reply, RELAY_REPLY_MAX, k, f->nonce, wall_ms));
}

/*
 * A BIND, checked from the cheapest to the costliest (docs/RELAY.md): the
 * per-source limit; the cookie (until a source shows its cookie, the only
 * answer it gets is a COOKIE, smaller than the BIND, and nothing in the table
 * changes); the ticket's expiry, then its signature (Ed25519); the MAC
 * (X25519); the timestamp window (outside it, a proven BIND is told the
 * relay's time: a client with a wrong clock can still bind); the replay check.
 */
static bool on_bind(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, uint64_t now_ns, uint64_t wall_ms,
		    uint8_t *reply, struct relay_out *out)
{
	struct relay_binding *b;
	uint8_t k[32], code;
	bool sent;

	if (!wg_ratelimiter_allow(&c->bind_rl, &src->sa, now_ns)) {
		c->stats.drop_bind_rate++;
		return false;
	}
	relay_cookie_tick(&c->cookie, now_ns);
	if (!relay_cookie_check(&c->cookie, src, f->cookie))
		return send_cookie(c, f, src, reply, out);
	code = check_ticket(c, f, wall_ms);
	if (code)
		return refuse(c, src, f->nonce, code, reply, out);
	if (relay_verify_bind_proof(f, c->cfg.private_key, k))
		return refuse(c, src, f->nonce, RELAY_REFUSED_BAD_MAC, reply, out);
	/* Dormant bindings count too: they remember the last timestamp. */
	b = relay_table_find_key(&c->table, f->key);
	if (!relay_bind_in_window(f, wall_ms))
		sent = send_clock(c, f, src, k, wall_ms, reply, out);
	else if (b && f->timestamp_ms <= b->last_bind_ms)
		sent = refuse(c, src, f->nonce, RELAY_REFUSED_STALE, reply, out);
	else
		sent = do_bind(c, f, src, b, k, now_ns, reply, out);
	crypto_wipe(k, sizeof(k));
	return sent;
}

/* A SEND from an address without a live binding (the relay restarted, the
 * binding expired, or the client's NAT gave it a new address): nothing is
 * forwarded; the source is told, with its cookie, within a per-source limit,
 * only when the answer is no larger than the SEND and a BIND could pass. The echo of the SEND's
 * last bytes lets the client tell a real answer from a forged one. */
static bool on_unbound_send(struct relay_core *c, const struct relay_frame *f,
			    const struct wg_endpoint *src, uint64_t now_ns, uint8_t *reply,
			    struct relay_out *out)
{
	uint8_t cookie[RELAY_COOKIE_LEN];

	c->stats.drop_unbound++;
	/* Without the ticket key (a restart, until the control server gives it)
	 * every BIND would be refused and the client would back off: say
	 * nothing yet, the first SEND after the key comes is answered. */
	if (f->raw_len < RELAY_UNBOUND_LEN || (!c->cfg.has_ticket_key && !c->cfg.no_tickets))
		return false;
	if (!wg_ratelimiter_allow(&c->unbound_rl, &src->sa, now_ns)) {
		c->stats.drop_unbound_rate++;
		return false;
	}
	relay_cookie_tick(&c->cookie, now_ns);
	relay_cookie_make(&c->cookie, src, cookie);
	c->stats.unbound++;
	return reply_to(out, src, reply,
			relay_build_unbound(reply, RELAY_REPLY_MAX, f->raw, f->raw_len, cookie));
}

static bool on_send(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, uint8_t *buf, uint64_t now_ns, uint8_t *reply,
		    struct relay_out *out)
{
	struct relay_binding *b = live_by_addr(c, src, now_ns), *d;
	int len;

	if (!b)
		return on_unbound_send(c, f, src, now_ns, reply, out);
	b->last_ns = now_ns;
	if (!relay_rate_take(&b->pkts, &b->bytes, c->cfg.rate_pps, c->cfg.rate_bytes, f->raw_len,
			     now_ns)) {
		c->stats.drop_rate++;
		return false;
	}
	d = live_by_key(c, f->key, now_ns);
	if (!d) {
		if (b->last_unreachable_ns && now_ns - b->last_unreachable_ns < NS_PER_SEC)
			return false;
		b->last_unreachable_ns = now_ns;
		c->stats.unreachable++;
		return reply_to(out, src, reply,
				relay_build_unreachable(reply, RELAY_REPLY_MAX, f->key));
	}
	/* The receiver's buckets: a few senders cannot flood one member. */
	if (!relay_rate_take(&d->rx_pkts, &d->rx_bytes, c->cfg.rate_pps, c->cfg.rate_bytes,
			     f->raw_len, now_ns)) {
		c->stats.drop_dst_rate++;
		return false;
	}
	len = relay_build_keyed(buf, f->raw_len, RELAY_DELIVER, b->key, f->payload,
				f->payload_len);
	if (len <= 0)
		return false;
	c->stats.forwarded++;
	c->stats.forwarded_bytes += (uint64_t)len;
	return reply_to(out, &d->addr, buf, len);
}

/* A bound address is answered freely (its PINGs are its own keepalives);
 * any other within the per-source limit (PONG is no larger than PING). */
static bool on_ping(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, uint64_t now_ns, uint8_t *reply,
		    struct relay_out *out)
{
	struct relay_binding *b = live_by_addr(c, src, now_ns);

	if (b) {
		b->last_ns = now_ns;
	} else if (!wg_ratelimiter_allow(&c->ping_rl, &src->sa, now_ns)) {
		c->stats.drop_ping_rate++;
		return false;
	}
	c->stats.pongs++;
	return reply_to(out, src, reply,
			relay_build_ping(reply, RELAY_REPLY_MAX, RELAY_PONG, f->nonce));
}

bool relay_core_input(struct relay_core *c, const struct wg_endpoint *src, uint8_t *buf,
		      size_t len, uint64_t now_ns, uint64_t wall_ms,
		      uint8_t reply[RELAY_REPLY_MAX], struct relay_out *out)
{
	struct relay_frame f;

	c->stats.rx_frames++;
	c->stats.rx_bytes += len;
	if (relay_parse(buf, len, &f)) {
		c->stats.drop_malformed++;
		return false;
	}
	switch (f.type) {
	case RELAY_BIND:
		return on_bind(c, &f, src, now_ns, wall_ms, reply, out);
	case RELAY_SEND:
		return on_send(c, &f, src, buf, now_ns, reply, out);
	case RELAY_PING:
		return on_ping(c, &f, src, now_ns, reply, out);
	default:
		c->stats.drop_unexpected++;
		return false;
	}
}

bool relay_core_stun_allow(struct relay_core *c, const struct wg_endpoint *src,
			   uint64_t now_ns)
{
	if (!wg_ratelimiter_allow(&c->stun_rl, &src->sa, now_ns)) {
		c->stats.drop_stun_rate++;
		return false;
	}
	if (!relay_bucket_take(&c->stun_global, RELAY_STUN_GLOBAL_PPS, now_ns)) {
		c->stats.drop_stun_global++;
		return false;
	}
	c->stats.stun_allowed++;
	return true;
}

void relay_core_log_stats(const struct relay_core *c, const char *why)
{
	const struct relay_stats *s = &c->stats;

	log_kv(LOG_INFO, "relay", why, LOG_UINT("bindings", relay_core_bindings(c)),
	       LOG_UINT("dormant", c->dormant),
	       LOG_UINT("rx_frames", s->rx_frames), LOG_UINT("rx_bytes", s->rx_bytes),
	       LOG_UINT("forwarded", s->forwarded), LOG_UINT("forwarded_bytes", s->forwarded_bytes),
	       LOG_UINT("binds", s->binds), LOG_UINT("roams", s->roams),
	       LOG_UINT("refreshes", s->refreshes), LOG_UINT("expired", s->expired),
	       LOG_UINT("evicted", s->evicted), LOG_UINT("pongs", s->pongs),
	       LOG_UINT("unreachable", s->unreachable), LOG_UINT("cookies", s->cookies),
	       LOG_UINT("unbound", s->unbound), LOG_UINT("clocks", s->clocks),
	       LOG_UINT("drop_malformed", s->drop_malformed),
	       LOG_UINT("drop_unexpected", s->drop_unexpected),
	       LOG_UINT("drop_unbound", s->drop_unbound), LOG_UINT("drop_rate", s->drop_rate),
	       LOG_UINT("drop_dst_rate", s->drop_dst_rate),
	       LOG_UINT("drop_bind_rate", s->drop_bind_rate),
	       LOG_UINT("drop_ping_rate", s->drop_ping_rate),
	       LOG_UINT("drop_unbound_rate", s->drop_unbound_rate),
	       LOG_UINT("refused_mac", s->refused_mac), LOG_UINT("refused_stale", s->refused_stale),
	       LOG_UINT("refused_full", s->refused_full), LOG_UINT("refused_rate", s->refused_rate),
	       LOG_UINT("refused_unauthorized", s->refused_unauthorized),
	       LOG_UINT("refused_expired", s->refused_expired),
	       LOG_UINT("refused_ip_full", s->refused_ip_full),
	       LOG_UINT("stun_allowed", s->stun_allowed),
	       LOG_UINT("drop_stun_rate", s->drop_stun_rate),
	       LOG_UINT("drop_stun_global", s->drop_stun_global),
	       LOG_UINT("send_errors", s->send_errors));
}
