/*
 * relay_ctl: the registration thread (see relay_ctl.h). The loop and the
 * thread share only the binding count, the ticket key, the stop flag and the
 * refusal flag, all under mu. The relay secret is wiped when the thread ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/control.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "relay_ctl.h"
#include "util/time.h"

struct relay_ctl {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* signalled on stop */
	bool stop; /* under mu */
	bool refused; /* under mu: the server refused our secret */
	uint64_t bindings; /* under mu */
	uint8_t ticket_key[32]; /* under mu */
	bool have_ticket_key, ticket_key_new; /* under mu */
	char *url, *secret, *name, *endpoint, *pin;
	bool insecure;
	uint8_t public_key[32];
};

/* Sleeps up to ms unless stopped; true when stopped. */
static bool wait_or_stop(struct relay_ctl *r, uint64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->mu, &ts) != ETIMEDOUT)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

static uint64_t load(struct relay_ctl *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->mu);
	n = r->bindings;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void publish_ticket_key(struct relay_ctl *r, const uint8_t key[32])
{
	pthread_mutex_lock(&r->mu);
	if (!r->have_ticket_key || memcmp(r->ticket_key, key, 32)) {
		memcpy(r->ticket_key, key, 32);
		r->have_ticket_key = true;
		r->ticket_key_new = true;
	}
	pthread_mutex_unlock(&r->mu);
}

bool relay_ctl_ticket_key(struct relay_ctl *r, uint8_t key[32])
{
	bool fresh;

	pthread_mutex_lock(&r->mu);
	fresh = r->ticket_key_new;
	if (fresh)
		memcpy(key, r->ticket_key, 32);
	r->ticket_key_new = false;
	pthread_mutex_unlock(&r->mu);
	return fresh;
}

/* An unauthorized answer is the server's word on our secret, final until an
 * operator changes a file: retrying would only fill the log. A transport
 * failure (server down, TLS) is not, and is retried. */
static bool refused(struct relay_ctl *r, struct ctl_client *c)
{
	const char *msg = "";

	if (strcmp(ctl_client_error(c, &msg), "unauthorized"))
		return false;
	log_error("relay", "the control server at %s refused our relay secret%s%s%s: check "
			   "--relay-secret-file (it must hold the same secret as the control "
			   "server's)", r->url, msg && *msg ? " (" : "", msg ? msg : "",
		  msg && *msg ? ")" : "");
	pthread_mutex_lock(&r->mu);
	r->refused = true;
	pthread_mutex_unlock(&r->mu);
	return true;
}

/* Registers until it works, we stop or the server refuses us; true when
 * registered. */
static bool do_register(struct relay_ctl *r, struct ctl_client *c, char id[CTL_ID_LEN + 1])
{
	uint64_t backoff = 1000;
	const char *code, *msg = "";
	uint8_t key[32];
	int ret;

	for (;;) {
		ret = ctl_relay_register(c, r->secret, r->name, r->endpoint, r->public_key, id,
					 key);
		if (ret == 0) {
			log_info("relay", "registered with %s as %s (%s)", r->url, id,
				 r->endpoint);
			publish_ticket_key(r, key);
			return true;
		}
		if (ret == -EBADMSG)
			log_error("relay", "%s sent no ticket key: it predates relay tickets, and "
					   "every BIND stays refused", r->url);
		if (ret == -EACCES && refused(r, c))
			return false;
		code = ctl_client_error(c, &msg);
		log_warn("relay", "registration with %s failed: %s%s%s; retrying", r->url,
			 *code ? code : strerror(-ret), msg && *msg ? ": " : "", msg ? msg : "");
		if (wait_or_stop(r, backoff))
			return false;
		backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
	}
}

/* ctl_client events, dispatched on this thread: a new connection must
 * prove itself at once (the control server closes a session that has not
 * authenticated within its deadline, shorter than the heartbeat period). */
static void on_ctl_event(void *arg, const struct ctl_event *ev)
{
	bool *reconnected = arg;

	if (ev->kind == CTL_EV_CONNECTED)
		*reconnected = true;
}

/* Heartbeats every RELAY_CTL_HEARTBEAT_S, and at once after a reconnect,
 * until the server forgets us (-ENOENT) or we stop. */
static void heartbeat_loop(struct relay_ctl *r, struct ctl_client *c, const char *id)
{
	uint64_t last_ns = time_mono_ns();
	bool reconnected = false;
	int ret;

	ctl_client_subscribe(c, on_ctl_event, &reconnected);
	while (!wait_or_stop(r, 0)) {
		ctl_client_wait_event(c, 1000);
		if (!reconnected &&
		    time_mono_ns() - last_ns < RELAY_CTL_HEARTBEAT_S * TIME_NS_PER_SEC)
			continue;
		reconnected = false;
		last_ns = time_mono_ns();
		ret = ctl_relay_heartbeat(c, r->secret, id, load(r));
		if (ret == -ENOENT)
			break; /* the server forgot us: register again */
		if (ret)
			log_warn("relay", "heartbeat to %s: %s", r->url, strerror(-ret));
	}
	ctl_client_subscribe(c, NULL, NULL);
}

static void *ctl_thread(void *arg)
{
	struct relay_ctl *r = arg;
	struct ctl_client_opts o;
	struct ctl_client *c = NULL;
	char id[CTL_ID_LEN + 1];
	int ret;

	ctl_client_opts_default(&o);
	o.url = r->url;
	o.pin = r->pin;
	o.insecure = r->insecure;
	o.request_timeout_ms = 5000;
	o.heartbeat_ms = 0; /* relays heartbeat with relay_heartbeat below */
	ret = ctl_client_open(&o, &c);
	if (ret) {
		log_error("relay", "control client for %s: %s", r->url, strerror(-ret));
		return NULL;
	}
	while (do_register(r, c, id)) {
		heartbeat_loop(r, c, id);
		pthread_mutex_lock(&r->mu);
		ret = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (ret)
			break;
		log_warn("relay", "control server does not know us; registering again");
	}
	ctl_client_close(c);
	return NULL;
}

static void ctl_free(struct relay_ctl *r)
{
	if (r->secret)
		crypto_wipe(r->secret, strlen(r->secret));
	free(r->url);
	free(r->secret);
	free(r->name);
	free(r->endpoint);
	free(r->pin);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	free(r);
}

int relay_ctl_start(const struct relay_ctl_opts *o, struct relay_ctl **out)
{
	struct relay_ctl *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->url = strdup(o->url);
	r->secret = strdup(o->secret);
	r->name = strdup(o->name);
	r->endpoint = strdup(o->endpoint);
	r->pin = o->pin && *o->pin ? strdup(o->pin) : NULL;
	r->insecure = o->insecure;
	memcpy(r->public_key, o->public_key, 32);
	if (!r->url || !r->secret || !r->name || !r->endpoint || (o->pin && *o->pin && !r->pin) ||
	    pthread_create(&r->thread, NULL, ctl_thread, r)) {
		ctl_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

bool relay_ctl_refused(struct relay_ctl *r)
{
	bool refused;

	pthread_mutex_lock(&r->mu);
	refused = r->refused;
	pthread_mutex_unlock(&r->mu);
	return refused;
}

void relay_ctl_set_bindings(struct relay_ctl *r, uint64_t bindings)
{
	pthread_mutex_lock(&r->mu);
	r->bindings = bindings;
	pthread_mutex_unlock(&r->mu);
}

void relay_ctl_stop(struct relay_ctl *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	ctl_free(r);
}
