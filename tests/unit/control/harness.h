/*
 * harness: a fake transport for the control core's unit tests. Each client
 * is one session whose sent messages are split into replies (result/error)
 * and events, and which records a close from the core. Header-only so every
 * test program stays one file.
 */
#ifndef LR_TESTS_CONTROL_HARNESS_H
#define LR_TESTS_CONTROL_HARNESS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/ctl_core.h"
#include "crypto/crypto.h"
#include "util/time.h"

enum { TH_MAX = 4096 };

struct th_client {
	struct ctl_core *core;
	struct ctl_session *s;
	json_t *replies[TH_MAX], *events[TH_MAX];
	size_t n_replies, n_events;
	bool closed;
	uint8_t priv[32], pub[32], server_key[32], challenge[32];
	char peer_id[32], token[64];
	long long next_id;
};

static inline void th_on_send(void *arg, const char *msg, size_t len)
{
	struct th_client *cl = arg;
	json_t *j = json_loadb(msg, len, 0, NULL);
	const char *type;

	if (!j || strlen(msg) != len)
		abort();
	type = json_string_value(json_object_get(j, "type"));
	if (type && !strcmp(type, "event") && cl->n_events < TH_MAX)
		cl->events[cl->n_events++] = j;
	else if (cl->n_replies < TH_MAX)
		cl->replies[cl->n_replies++] = j;
	else
		abort();
}

static inline void th_on_close(void *arg)
{
	((struct th_client *)arg)->closed = true;
}

static inline void th_b64_decode(const char *in, uint8_t out[32])
{
	size_t n = 0;

	if (!in || sodium_base642bin(out, 32, in, strlen(in), NULL, &n, NULL,
				     sodium_base64_VARIANT_ORIGINAL) ||
	    n != 32)
		abort();
}

static inline void th_b64(const uint8_t in[32], char out[45])
{
	sodium_bin2base64(out, 45, in, 32, sodium_base64_VARIANT_ORIGINAL);
}

static inline void th_clear(struct th_client *cl)
{
	for (size_t i = 0; i < cl->n_replies; i++)
		json_decref(cl->replies[i]);
	for (size_t i = 0; i < cl->n_events; i++)
		json_decref(cl->events[i]);
	cl->n_replies = cl->n_events = 0;
}

/* Opens a session from source (NULL: an in-process one) and reads its
 * hello. */
static inline struct th_client *th_open_from(struct ctl_core *c, const char *source)
{
	struct th_client *cl = calloc(1, sizeof(*cl));
	struct ctl_session_ops ops = { th_on_send, th_on_close, NULL };
	json_t *hello;

	ops.arg = cl;
	cl->core = c;
	cl->s = ctl_session_open_from(c, &ops, source);
	if (!cl->s || cl->n_replies != 1)
		abort();
	hello = cl->replies[0];
	th_b64_decode(json_string_value(json_object_get(hello, "server_key")), cl->server_key);
	th_b64_decode(json_string_value(json_object_get(hello, "challenge")), cl->challenge);
	crypto_x25519_generate(cl->priv, cl->pub);
	th_clear(cl);
	return cl;
}

static inline struct th_client *th_open(struct ctl_core *c)
{
	return th_open_from(c, NULL);
}

static inline void th_free(struct th_client *cl)
{
	if (!cl)
		return;
	th_clear(cl);
	ctl_session_close(cl->s);
	free(cl);
}

/* Sends raw text; returns ctl_session_input's value. */
static inline int th_raw(struct th_client *cl, const char *text)
{
	return ctl_session_input(cl->s, text, strlen(text));
}

/* Sends a request (fmt: the JSON members after type and id) and returns the
 * reply (owned by the client until th_clear). */
__attribute__((format(printf, 3, 4))) static inline json_t *th_req(struct th_client *cl,
								    const char *type,
								    const char *fmt, ...)
{
	char body[20000], msg[20100];
	size_t before = cl->n_replies;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "{\"type\":\"%s\",\"id\":%lld%s%s}", type, ++cl->next_id,
		 body[0] ? "," : "", body);
	th_raw(cl, msg);
	if (cl->n_replies != before + 1)
		return NULL;
	return cl->replies[before];
}

/* A request with no fields. */
static inline json_t *th_req0(struct th_client *cl, const char *type)
{
	return th_req(cl, type, "%s", "");
}

/* The data of a result, or NULL when r is not a result. */
static inline json_t *th_ok(json_t *r)
{
	const char *type = r ? json_string_value(json_object_get(r, "type")) : NULL;

	if (!type || strcmp(type, "result"))
		return NULL;
	return json_object_get(r, "data");
}

/* The error code of r ("" when r is not an error). */
static inline const char *th_code(json_t *r)
{
	const char *type = r ? json_string_value(json_object_get(r, "type")) : NULL;

	if (!type || strcmp(type, "error"))
		return "";
	return json_string_value(json_object_get(r, "code"));
}

static inline int th_register_as(struct th_client *cl, const char *name)
{
	uint8_t proof[32];
	char pub[45], pr[45];
	json_t *d;

	if (ctl_register_proof(proof, cl->priv, cl->server_key, cl->challenge))
		return -1;
	th_b64(cl->pub, pub);
	th_b64(proof, pr);
	d = th_ok(th_req(cl, "register",
			 "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"%s\",\"version\":\"t\"",
			 pub, pr, name));
	if (!d)
		return -1;
	snprintf(cl->peer_id, sizeof(cl->peer_id), "%s",
		 json_string_value(json_object_get(d, "peer_id")));
	snprintf(cl->token, sizeof(cl->token), "%s",
		 json_string_value(json_object_get(d, "token")));
	return 0;
}

/* A session registered under a new key. */
static inline struct th_client *th_peer(struct ctl_core *c, const char *name)
{
	struct th_client *cl = th_open(c);

	if (th_register_as(cl, name))
		abort();
	th_clear(cl);
	return cl;
}

static inline const char *th_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The last event of cl with the given name, or NULL. */
static inline json_t *th_event(struct th_client *cl, const char *name)
{
	for (size_t i = cl->n_events; i-- > 0;)
		if (!strcmp(th_str(cl->events[i], "event"), name))
			return cl->events[i];
	return NULL;
}

/* Creates a party, returns its printed ID in id (15 bytes). */
static inline int th_create(struct th_client *cl, const char *name, int max, char id[15])
{
	json_t *d;

	if (max)
		d = th_ok(th_req(cl, "party_create", "\"name\":\"%s\",\"max_members\":%d", name,
				 max));
	else
		d = th_ok(th_req(cl, "party_create", "\"name\":\"%s\"", name));
	if (!d)
		return -1;
	snprintf(id, 15, "%s", th_str(json_object_get(d, "party"), "party_id"));
	return 0;
}

static inline void th_opts(struct ctl_core_opts *o)
{
	ctl_core_opts_default(o);
	o->db_path = ":memory:";
}

/* Freezes the clock at 1000 s and opens a core with o. */
static inline int th_core_open(const struct ctl_core_opts *o, struct ctl_core **c)
{
	time_fake_set(1000 * TIME_NS_PER_SEC);
	return ctl_core_open(o, c);
}

/* Closes the core and releases the clock. */
static inline int th_core_close(struct ctl_core **c)
{
	ctl_core_close(*c);
	*c = NULL;
	time_fake_set(0);
	return 0;
}

#endif
