/*
 * ctl_local: local mode. The control core runs in this process behind a
 * mutex; a thread ticks it (member expiry, batched commits) and sends the
 * heartbeats of attached clients. Each attached client has one ctl_session
 * whose send hands the text straight to the client's inbox, so answers
 * arrive before ctl_session_input returns.
 *
 * Lock order: l->lock, then a client's lock (the core calls session ops,
 * which take the client's lock, while l->lock is held). A client never
 * holds its own lock while it calls in here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ctl_client_priv.h"
#include "log/log.h"

#define CTL_LOCAL_TAG "control"

enum { CTL_LOCAL_TICK_MAX_MS = 1000 };

struct ctl_local_link {
	struct ctl_local *l;
	struct ctl_client *c;
	struct ctl_session *s; /* under l->lock */
	bool dead;             /* the core closed s; reopened on next use; under l->lock */
	uint64_t next_beat_ns; /* under l->lock */
	struct ctl_local_link *next;
};

struct ctl_local {
	struct ctl_core *core; /* under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* wakes the ticker for stop */
	pthread_t thread;
	bool stop;                    /* under lock */
	struct ctl_local_link *links; /* under lock */
};

static void link_send(void *arg, const char *msg, size_t len)
{
	struct ctl_local_link *k = arg;

	ctl_client_input(k->c, msg, len);
}

static void link_close(void *arg)
{
	struct ctl_local_link *k = arg;

	k->dead = true;
}

/* l->lock held. Feeds one internal request; the answer comes back before
 * this returns. */
static void link_internal(struct ctl_local_link *k, json_t *req, ctl_internal_fn cb)
{
	char *text = req ? ctl_client_internal(k->c, req, cb) : NULL;

	if (text)
		ctl_session_input(k->s, text, strlen(text));
	free(text);
}

/* l->lock held. A session the core closed (a too-large message, the same
 * peer authenticating elsewhere) is replaced and re-authenticated. */
static int link_revive(struct ctl_local_link *k)
{
	struct ctl_session_ops ops = { .send = link_send, .close = link_close, .arg = k };

	ctl_session_close(k->s);
	k->dead = false;
	k->s = ctl_session_open(k->l->core, &ops);
	if (!k->s)
		return -ENOMEM;
	link_internal(k, ctl_client_auth_req(k->c), NULL);
	return 0;
}

static int local_send(struct ctl_client *c, const char *msg, size_t len, uint64_t gen)
{
	struct ctl_local_link *k = c->tr_priv;
	int r = 0;

	pthread_mutex_lock(&k->l->lock);
	if (k->dead || !k->s)
		r = link_revive(k);
	if (!r)
		r = ctl_session_input(k->s, msg, len);
	if (r == -ENOTCONN && !(r = link_revive(k))) /* closed without our noticing */
		r = ctl_session_input(k->s, msg, len);
	if (r == -EMSGSIZE) { /* answered; the core wants the session gone */
		k->dead = true;
		r = 0;
	}
	pthread_mutex_unlock(&k->l->lock);
	return r;
}

static void local_close(struct ctl_client *c)
{
	struct ctl_local_link *k = c->tr_priv, **pp;

	pthread_mutex_lock(&k->l->lock);
	for (pp = &k->l->links; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	ctl_session_close(k->s);
	pthread_mutex_unlock(&k->l->lock);
	free(k);
}

static const struct ctl_transport local_transport = {
	.send = local_send,
	.close = local_close,
};

int ctl_local_attach(struct ctl_client *c, struct ctl_local *l)
{
	struct ctl_local_link *k = calloc(1, sizeof(*k));
	struct ctl_session_ops ops = { .send = link_send, .close = link_close, .arg = k };

	if (!k)
		return -ENOMEM;
	k->l = l;
	k->c = c;
	c->tr = &local_transport;
	c->tr_priv = k;
	pthread_mutex_lock(&l->lock);
	k->s = ctl_session_open(l->core, &ops); /* the hello reaches c now */
	if (k->s) {
		k->next = l->links;
		l->links = k;
		k->next_beat_ns = ctl_now_ns() + c->opts.heartbeat_ms * 1000000ULL;
	}
	pthread_mutex_unlock(&l->lock);
	if (!k->s) {
		free(k);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	c->ready = true;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* l->lock held. Heartbeats of authenticated clients that are due; returns
 * the nanoseconds until the next one (UINT64_MAX when none). */
static uint64_t local_beats(struct ctl_local *l, uint64_t now)
{
	uint64_t next = UINT64_MAX, hb;
	struct ctl_local_link *k;

	for (k = l->links; k; k = k->next) {
		hb = k->c->opts.heartbeat_ms * 1000000ULL;
		if (!hb)
			continue;
		if (now >= k->next_beat_ns) {
			k->next_beat_ns = now + hb;
			if (!k->dead && ctl_client_has_creds(k->c))
				link_internal(k, json_pack("{s:s}", "type", "heartbeat"), NULL);
		}
		if (k->next_beat_ns - now < next)
			next = k->next_beat_ns - now;
	}
	return next;
}

static void *local_thread(void *arg)
{
	struct ctl_local *l = arg;
	uint64_t wait_ns, beat_ns, deadline;
	struct timespec ts;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		wait_ns = ctl_core_tick(l->core) * 1000000ULL;
		if (wait_ns > CTL_LOCAL_TICK_MAX_MS * 1000000ULL)
			wait_ns = CTL_LOCAL_TICK_MAX_MS * 1000000ULL;
		beat_ns = local_beats(l, ctl_now_ns());
		if (beat_ns < wait_ns)
			wait_ns = beat_ns;
		deadline = ctl_now_ns() + wait_ns;
		ts.tv_sec = (time_t)(deadline / 1000000000ULL);
		ts.tv_nsec = (long)(deadline % 1000000000ULL);
		if (!l->stop)
			pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int ctl_local_open(const struct ctl_core_opts *o, struct ctl_local **out)
{
	struct ctl_local *l = calloc(1, sizeof(*l));
	struct ctl_core_opts lo = *o;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	/* In-process clients attach before they register and are trusted: no
	 * authentication deadline (per-source limits need a source anyway). */
	lo.auth_timeout_ms = 0;
	r = ctl_core_open(&lo, &l->core);
	if (r) {
		free(l);
		return r;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&l->thread, NULL, local_thread, l);
	if (r) {
		log_error(CTL_LOCAL_TAG, "cannot start the local control thread: %s", strerror(-r));
		ctl_core_close(l->core);
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

void ctl_local_close(struct ctl_local *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	if (l->links)
		log_warn(CTL_LOCAL_TAG, "local control plane closed with clients attached");
	ctl_core_close(l->core);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
