/*
 * fuzz_control: the control protocol's message parser (every byte a client
 * sends reaches it) on raw bytes, then the same bytes through a whole core:
 * once on an unauthenticated session and once on a session registered and
 * in a party with a second peer, so the handlers behind authentication are
 * reached too; the bytes also go to the REST router as a path. Every message
 * the core sends must be one valid JSON object, and the parser must agree
 * with itself on what it accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_core.h"
#include "control/ctl_ids.h"
#include "control/ctl_proto.h"
#include "crypto/crypto.h"
#include "log/log.h"

static struct ctl_core *core;
static struct ctl_session *anon, *member, *other;
static uint8_t hello_key[32], hello_chal[32];
static char party_id[32];

/* Checks every message the core sends; during setup (arg set) also reads
 * the hello and the new party's ID. */
static void fz_send(void *arg, const char *msg, size_t len)
{
	json_t *j = json_loadb(msg, len, 0, NULL), *party;
	const char *s;

	if (!j || !json_is_object(j) || strlen(msg) != len)
		abort();
	if (arg) {
		s = json_string_value(json_object_get(j, "server_key"));
		if (s && ctl_b64_to_key(s, strlen(s), hello_key))
			abort();
		s = json_string_value(json_object_get(j, "challenge"));
		if (s && ctl_b64_to_key(s, strlen(s), hello_chal))
			abort();
		party = json_object_get(json_object_get(j, "data"), "party");
		s = json_string_value(json_object_get(party, "party_id"));
		if (s)
			snprintf(party_id, sizeof(party_id), "%s", s);
	}
	json_decref(j);
}

static void fz_close(void *arg)
{
}

static void fz_register(struct ctl_session **s, const char *then)
{
	struct ctl_session_ops ops = { fz_send, fz_close, (void *)1 };
	uint8_t priv[32], pub[32], proof[32];
	char k[45], p[45], msg[512];

	*s = ctl_session_open(core, &ops);
	crypto_x25519_generate(priv, pub);
	if (ctl_register_proof(proof, priv, hello_key, hello_chal))
		abort();
	ctl_key_to_b64(pub, k);
	ctl_key_to_b64(proof, p);
	snprintf(msg, sizeof(msg),
		 "{\"type\":\"register\",\"id\":1,\"public_key\":\"%s\",\"proof\":\"%s\","
		 "\"name\":\"fuzz\",\"version\":\"0\"}",
		 k, p);
	if (!*s)
		abort();
	ctl_session_input(*s, msg, strlen(msg));
	ctl_session_input(*s, then, strlen(then));
	crypto_wipe(priv, sizeof(priv));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ctl_core_opts o;
	struct ctl_session_ops ops = { fz_send, fz_close, NULL };

	log_set_level(LOG_SILENT);
	if (crypto_init())
		abort();
	ctl_core_opts_default(&o);
	o.rate_per_sec = 1000000;
	o.rate_burst = 1000000;
	o.relay_secret = "fuzz";
	o.auth_timeout_ms = 0; /* anon must stay open however long the run */
	if (ctl_core_open(&o, &core))
		abort();
	anon = ctl_session_open(core, &ops);
	fz_register(&member, "{\"type\":\"party_create\",\"id\":2,\"name\":\"fuzz\"}");
	{
		char join[128];

		snprintf(join, sizeof(join), "{\"type\":\"party_join\",\"id\":2,\"party_id\":\"%s\"}",
			 party_id);
		fz_register(&other, join);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct ctl_req req;
	struct ctl_perr err;
	char *path, *body = NULL;
	int ret;

	ret = ctl_proto_parse(buf, size, &req, &err);
	if (ret == 0) {
		if (!req.root || (unsigned)req.type >= CTL_REQ_COUNT || req.id < 1 ||
		    err.code != CTL_OK)
			abort();
		ctl_req_free(&req);
	} else if (err.code == CTL_OK || req.root || !err.message[0]) {
		abort();
	}

	ctl_session_input(anon, buf, size);
	ctl_session_input(member, buf, size);
	ctl_core_tick(core);

	path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	ret = ctl_core_rest(core, path, "Bearer 0123456789abcdef:x", &body);
	if (ret >= 0 && !body)
		abort();
	free(body);
	free(path);
	return 0;
}
