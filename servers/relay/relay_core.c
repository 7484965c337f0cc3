/*
 * relay_core: the relay's input handler (see relay_core.h and docs/RELAY.md).
 * Frames from a bound address refresh its binding; BIND proves the key and
 * (re)binds it to the source address; SEND is charged to the sender's token
 * buckets and forwarded as DELIVER; PING is answered without a binding.
 * Relay-to-client frame types arriving here are dropped.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "nat/relay_proto.h"
#include "relay_core.h"

#define NS_PER_SEC 1000000000ULL

int relay_core_init(struct relay_core *c, const struct relay_config *cfg)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	ret = relay_table_init(&c->table, cfg->max_bindings);
	if (ret)
		goto err;
	ret = wg_ratelimiter_init(&c->source_rl);
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
	wg_ratelimiter_free(&c->source_rl);
	crypto_wipe(c->cfg.private_key, sizeof(c->cfg.private_key));
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
	return false;
}

static void forget(struct relay_core *c, struct relay_binding *b)
{
	if (b->dormant)
		c->dormant--;
	relay_table_remove(&c->table, b);
}

void relay_core_expire(struct relay_core *c, uint64_t now_ns)
{
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
	uint64_t *counter[] = {
		[RELAY_REFUSED_BAD_MAC] = &c->stats.refused_mac,
		[RELAY_REFUSED_STALE] = &c->stats.refused_stale,
		[RELAY_REFUSED_FULL] = &c->stats.refused_full,
		[RELAY_REFUSED_RATE] = &c->stats.refused_rate,
	};

	(*counter[code])++;
	return reply_to(out, src, reply, relay_build_refused(reply, RELAY_REPLY_MAX, nonce, code));
}

/* Binds (or rebinds) f->key to src once the frame proves the key. The source
 * limiter runs first: each check costs an X25519. */
static bool on_bind(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, uint64_t now_ns, uint64_t wall_ms,
		    uint8_t *reply, struct relay_out *out)
{
	struct relay_binding *b, *other;
	uint8_t k[32];
	int ret, len;

	if (!wg_ratelimiter_allow(&c->source_rl, &src->sa, now_ns))
		return refuse(c, src, f->nonce, RELAY_REFUSED_RATE, reply, out);
	/* Dormant bindings count too: they remember the last timestamp. */
	b = relay_table_find_key(&c->table, f->key);
	ret = relay_verify_bind(f, c->cfg.private_key, wall_ms, b ? b->last_bind_ms : 0, k);
	if (ret)
		return refuse(c, src, f->nonce,
			      ret == -ESTALE ? RELAY_REFUSED_STALE : RELAY_REFUSED_BAD_MAC, reply,
			      out);
	/* An address holds one key: a proven BIND takes the address over (the NAT
	 * gave the port to someone else, or the client changed keys). */
	other = relay_table_find_addr(&c->table, src);
	if (other && other != b) {
		forget(c, other);
		c->stats.evicted++;
	}
	if (b && b->dormant) {
		b->dormant = false;
		c->dormant--;
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
		if (!b) {
			crypto_wipe(k, sizeof(k));
			return refuse(c, src, f->nonce, RELAY_REFUSED_FULL, reply, out);
		}
		relay_bucket_init(&b->pkts, c->cfg.rate_pps, now_ns);
		relay_bucket_init(&b->bytes, c->cfg.rate_bytes, now_ns);
		c->stats.binds++;
	}
	b->last_bind_ms = f->timestamp_ms;
	b->last_ns = now_ns;
	len = relay_build_bound(reply, RELAY_REPLY_MAX, k, f->nonce, c->cfg.lifetime_s);
	crypto_wipe(k, sizeof(k));
	return reply_to(out, src, reply, len);
}

static bool on_send(struct relay_core *c, const struct relay_frame *f,
		    const struct wg_endpoint *src, uint8_t *buf, uint64_t now_ns, uint8_t *reply,
		    struct relay_out *out)
{
	struct relay_binding *b = live_by_addr(c, src, now_ns), *d;
	int len;

	if (!b) {
		c->stats.drop_unbound++;
		return false;
	}
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
	len = relay_build_keyed(buf, f->raw_len, RELAY_DELIVER, b->key, f->payload,
				f->payload_len);
	if (len <= 0)
		return false;
	c->stats.forwarded++;
	c->stats.forwarded_bytes += (uint64_t)len;
	return reply_to(out, &d->addr, buf, len);
}

bool relay_core_input(struct relay_core *c, const struct wg_endpoint *src, uint8_t *buf,
		      size_t len, uint64_t now_ns, uint64_t wall_ms,
		      uint8_t reply[RELAY_REPLY_MAX], struct relay_out *out)
{
	struct relay_binding *b;
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
		b = live_by_addr(c, src, now_ns);
		if (b)
			b->last_ns = now_ns;
		if (!wg_ratelimiter_allow(&c->source_rl, &src->sa, now_ns)) {
			c->stats.drop_source_rate++;
			return false;
		}
		c->stats.pongs++;
		return reply_to(out, src, reply,
				relay_build_ping(reply, RELAY_REPLY_MAX, RELAY_PONG, f.nonce));
	default:
		c->stats.drop_unexpected++;
		return false;
	}
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
	       LOG_UINT("unreachable", s->unreachable),
	       LOG_UINT("drop_malformed", s->drop_malformed),
	       LOG_UINT("drop_unexpected", s->drop_unexpected),
	       LOG_UINT("drop_unbound", s->drop_unbound), LOG_UINT("drop_rate", s->drop_rate),
	       LOG_UINT("drop_source_rate", s->drop_source_rate),
	       LOG_UINT("refused_mac", s->refused_mac), LOG_UINT("refused_stale", s->refused_stale),
	       LOG_UINT("refused_full", s->refused_full), LOG_UINT("refused_rate", s->refused_rate),
	       LOG_UINT("send_errors", s->send_errors));
}
