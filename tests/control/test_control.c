/*
 * test_control: the real lanrage-control binary against clients of the
 * control library in remote mode (docs/CONTROL.md). Each test starts its own
 * server on 127.0.0.1 (random free port, temporary database) and stops it by
 * PID in teardown, whatever happened in the test.
 *
 *   test_control PATH/TO/lanrage-control [TEST-NAME]
 *
 * Waits are bounded (seconds) but never assert a duration: they only stop a
 * broken build from hanging.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "control/ctl_ids.h"
#include "crypto/crypto.h"

enum { WAIT_MS = 10000 };

static int setup(void **state)
{
	/* From the environment: the server refuses secrets on its command line. */
	setenv("LANRAGE_RELAY_SECRET", "s3cret", 1);
	return th_fixture_start(state, NULL);
}

static int setup_short_timeout(void **state)
{
	static const char *const extra[] = { "--peer-timeout", "2", NULL };

	return th_fixture_start(state, extra);
}

static int teardown(void **state)
{
	return th_fixture_stop(state);
}

/* A registered client, closed by teardown. */
static struct th_client *client(struct th_fixture *f, const char *name, uint64_t heartbeat_ms)
{
	struct th_client *t;

	assert_true(f->n < TH_MAX_CLIENTS);
	t = th_client_open(f->srv.url, NULL, heartbeat_ms);
	assert_non_null(t);
	f->cl[f->n++] = t;
	if (name)
		assert_int_equal(th_client_register(t, name), 0);
	else
		assert_int_equal(ctl_heartbeat(t->c), -EACCES); /* waits for the connection */
	/* The first connection's; later ones must come from reconnects. */
	assert_non_null(th_wait(t, CTL_EV_CONNECTED, NULL, WAIT_MS));
	return t;
}

static const char *pid_of(struct th_client *t)
{
	return ctl_client_peer_id(t->c);
}

static const struct ctl_peer *find_peer(const struct ctl_party *p, const char *peer_id)
{
	size_t i;

	for (i = 0; i < p->n_peers; i++)
		if (!strcmp(p->peers[i].peer_id, peer_id))
			return &p->peers[i];
	return NULL;
}

/* A creates a party, B and C join; everyone's joins were seen. */
static void make_party(struct th_client *a, struct th_client *b, struct th_client *c,
		       uint32_t max, char party_id[CTL_PARTY_ID_LEN + 1])
{
	struct ctl_party p;

	assert_int_equal(ctl_party_create(a->c, "lan night", max, &p), 0);
	assert_int_equal(p.member_count, 1);
	assert_string_equal(p.host_peer_id, pid_of(a));
	memcpy(party_id, p.party_id, CTL_PARTY_ID_LEN + 1);
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_join(b->c, party_id, &p), 0);
	ctl_party_clear(&p);
	assert_non_null(th_wait(a, CTL_EV_PEER_JOINED, pid_of(b), WAIT_MS));
	if (!c)
		return;
	assert_int_equal(ctl_party_join(c->c, party_id, &p), 0);
	ctl_party_clear(&p);
	assert_non_null(th_wait(a, CTL_EV_PEER_JOINED, pid_of(c), WAIT_MS));
	assert_non_null(th_wait(b, CTL_EV_PEER_JOINED, pid_of(c), WAIT_MS));
}

static void test_party_flow(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	struct th_client *c = client(f, "carol", 0);
	const char *eps[] = { "192.0.2.1:51820", "198.51.100.7:40000" };
	struct ctl_peer_update u = { .endpoints = eps, .n_endpoints = 2 };
	char party_id[CTL_PARTY_ID_LEN + 1];
	const struct ctl_peer *pa, *pb, *pc;
	struct th_event *e;
	struct ctl_party p;
	struct ctl_peer me;

	make_party(a, b, c, 8, party_id);
	assert_int_equal(ctl_party_get(b->c, party_id, &p), 0);
	assert_int_equal(p.member_count, 3);
	assert_int_equal(p.n_peers, 3);
	pa = find_peer(&p, pid_of(a));
	pb = find_peer(&p, pid_of(b));
	pc = find_peer(&p, pid_of(c));
	assert_non_null(pa);
	assert_non_null(pb);
	assert_non_null(pc);
	assert_memory_equal(pa->public_key, a->pub, 32);
	assert_string_not_equal(pa->virtual_ip, pb->virtual_ip);
	assert_string_not_equal(pa->virtual_ip, pc->virtual_ip);
	assert_string_not_equal(pb->virtual_ip, pc->virtual_ip);
	assert_int_equal(strncmp(pa->virtual_ip, "10.66.", 6), 0);
	ctl_party_clear(&p);

	/* A second party while in one: refused. */
	assert_int_equal(ctl_party_create(b->c, "other", 0, &p), -EEXIST);
	assert_string_equal(ctl_client_error(b->c, NULL), "already_member");

	/* An update reaches both others, not the sender. */
	assert_int_equal(ctl_peer_update(a->c, &u, &me), 0);
	assert_int_equal(me.n_endpoints, 2);
	e = th_wait(b, CTL_EV_PEER_UPDATED, pid_of(a), WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->party_id, party_id);
	assert_non_null(th_wait(c, CTL_EV_PEER_UPDATED, pid_of(a), WAIT_MS));
	assert_int_equal(ctl_peer_get(c->c, pid_of(a), &me), 0);
	assert_int_equal(me.n_endpoints, 2);
	assert_string_equal(me.endpoints[1], "198.51.100.7:40000");
	assert_int_equal(ctl_heartbeat(a->c), 0);
	assert_int_equal(th_count(a, CTL_EV_PEER_UPDATED), 0);

	/* C leaves: A and B hear it with reason left. */
	assert_int_equal(ctl_party_leave(c->c), 0);
	e = th_wait(a, CTL_EV_PEER_LEFT, pid_of(c), WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->reason, "left");
	assert_non_null(th_wait(b, CTL_EV_PEER_LEFT, pid_of(c), WAIT_MS));
	assert_int_equal(ctl_peers_list(a->c, party_id, &p), 0);
	assert_int_equal(p.n_peers, 2);
	assert_null(find_peer(&p, pid_of(c)));
	ctl_party_clear(&p);
	assert_int_equal(ctl_peers_list(c->c, party_id, &p), -EPERM);
	assert_string_equal(ctl_client_error(c->c, NULL), "not_member");

	/* Everyone leaves: the party is gone. */
	assert_int_equal(ctl_party_leave(b->c), 0);
	assert_int_equal(ctl_party_leave(a->c), 0);
	assert_int_equal(ctl_party_get(c->c, party_id, &p), -ENOENT);
	assert_string_equal(ctl_client_error(c->c, NULL), "not_found");
}

static void test_signal(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	struct th_client *c = client(f, "carol", 0), *d = client(f, "dave", 0);
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct th_event *e;
	json_t *got;

	make_party(a, b, c, 8, party_id);
	assert_int_equal(ctl_signal(a->c, pid_of(b), "{\"offer\":\"x\",\"n\":42}"), 0);
	e = th_wait(b, CTL_EV_SIGNAL, pid_of(a), WAIT_MS);
	assert_non_null(e);
	got = json_loads(e->payload, 0, NULL);
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(got, "n")), 42);
	json_decref(got);
	/* C and A answer a request after the signal went out: had C been sent
	 * the signal, it would be queued before the answer. */
	assert_int_equal(ctl_heartbeat(c->c), 0);
	assert_int_equal(ctl_heartbeat(a->c), 0);
	assert_int_equal(th_count(c, CTL_EV_SIGNAL), 0);
	assert_int_equal(th_count(a, CTL_EV_SIGNAL), 0);
	/* Not to someone outside the party, and only objects. */
	assert_int_not_equal(ctl_signal(a->c, pid_of(d), "{}"), 0);
	assert_int_equal(ctl_signal(a->c, pid_of(b), "[1]"), -EINVAL);
	assert_int_equal(ctl_heartbeat(d->c), 0);
	assert_int_equal(th_count(d, CTL_EV_SIGNAL), 0);
}

static void test_heartbeat_timeout(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alive", 300), *b = client(f, "silent", 0);
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct th_event *e;
	struct ctl_party p;

	make_party(a, b, NULL, 8, party_id);
	e = th_wait(a, CTL_EV_PEER_LEFT, pid_of(b), 15000);
	assert_non_null(e);
	assert_string_equal(e->reason, "timeout");
	assert_int_equal(ctl_party_get(a->c, party_id, &p), 0);
	assert_int_equal(p.member_count, 1);
	assert_non_null(find_peer(&p, pid_of(a)));
	ctl_party_clear(&p);
}

static void test_restart(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	char party_id[CTL_PARTY_ID_LEN + 1], a_id[CTL_ID_LEN + 1], token[64];
	struct th_event *e;

	make_party(a, b, NULL, 8, party_id);
	memcpy(a_id, pid_of(a), sizeof(a_id));
	snprintf(token, sizeof(token), "%s", ctl_client_token(a->c));
	assert_int_equal(th_server_stop(&f->srv, SIGTERM), 0);
	assert_non_null(th_wait(a, CTL_EV_DISCONNECTED, NULL, WAIT_MS));
	assert_non_null(th_wait(b, CTL_EV_DISCONNECTED, NULL, WAIT_MS));
	assert_int_equal(th_server_run(&f->srv, NULL), 0);

	assert_non_null(th_wait(a, CTL_EV_CONNECTED, NULL, WAIT_MS));
	e = th_wait(a, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	assert_true(e->has_party);
	assert_string_equal(e->party_id, party_id);
	assert_int_equal(e->party_peers, 2);
	e = th_wait(b, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->party_id, party_id);
	/* Same identity and token: the re-auth used them, nothing re-registered. */
	assert_string_equal(pid_of(a), a_id);
	assert_string_equal(ctl_client_token(a->c), token);
	assert_int_equal(ctl_signal(b->c, a_id, "{\"after\":\"restart\"}"), 0);
	assert_non_null(th_wait(a, CTL_EV_SIGNAL, pid_of(b), WAIT_MS));
}

/* ctl_client_reconnect (a changed network): the connection is dropped and
 * made again at once, with the same identity and party, and signals reach
 * the client on the new one. */
static void test_reconnect(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	char party_id[CTL_PARTY_ID_LEN + 1], a_id[CTL_ID_LEN + 1];
	struct th_event *e;

	make_party(a, b, NULL, 8, party_id);
	memcpy(a_id, pid_of(a), sizeof(a_id));
	ctl_client_reconnect(a->c);
	assert_non_null(th_wait(a, CTL_EV_DISCONNECTED, NULL, WAIT_MS));
	assert_non_null(th_wait(a, CTL_EV_CONNECTED, NULL, WAIT_MS));
	e = th_wait(a, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->party_id, party_id);
	assert_string_equal(pid_of(a), a_id);
	assert_int_equal(th_count(b, CTL_EV_PEER_LEFT), 0);
	assert_int_equal(ctl_signal(b->c, a_id, "{\"after\":\"reconnect\"}"), 0);
	assert_non_null(th_wait(a, CTL_EV_SIGNAL, pid_of(b), WAIT_MS));
}

/* ctl_client_poke sends a heartbeat: a client that sends none of its own
 * stays in the party while poked, and times out once the pokes stop. */
static void test_poke(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alive", 300), *b = client(f, "poked", 0);
	char party_id[CTL_PARTY_ID_LEN + 1];

	make_party(a, b, NULL, 8, party_id);
	for (int i = 0; i < 10; i++) { /* 5 s, past the 2 s peer timeout */
		ctl_client_poke(b->c);
		usleep(500 * 1000);
	}
	assert_int_equal(th_count(a, CTL_EV_PEER_LEFT), 0);
	assert_non_null(th_wait(a, CTL_EV_PEER_LEFT, pid_of(b), 15000));
}

/* A member that timed out while connected is put back by its own client
 * after the next reconnect: auth says "no party", the client joins again. */
static void test_rejoin_after_timeout(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alive", 300), *b = client(f, "silent", 0);
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct th_event *e;

	make_party(a, b, NULL, 8, party_id);
	assert_non_null(th_wait(a, CTL_EV_PEER_LEFT, pid_of(b), 15000));
	assert_int_equal(th_server_stop(&f->srv, SIGTERM), 0);
	assert_int_equal(th_server_run(&f->srv, (const char *const[]){ "--peer-timeout", "2",
									 NULL }),
			 0);
	e = th_wait(b, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	assert_true(e->has_party);
	assert_string_equal(e->party_id, party_id);
	assert_int_equal(e->party_peers, 2);
	/* A sees B back: in its own RESYNC if it reconnected after B, else as an event. */
	e = th_wait(a, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	if (e->party_peers != 2)
		assert_non_null(th_wait(a, CTL_EV_PEER_JOINED, pid_of(b), WAIT_MS));
}

/* A server that lost its database: the clients register their keys again
 * (new credentials), find no party and say so in RESYNC. */
static void test_server_forgot(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	char party_id[CTL_PARTY_ID_LEN + 1], token[64];
	struct th_event *e;
	struct ctl_peer me;

	make_party(a, b, NULL, 8, party_id);
	snprintf(token, sizeof(token), "%s", ctl_client_token(a->c));
	assert_int_equal(th_server_stop(&f->srv, SIGTERM), 0);
	snprintf(f->srv.db, sizeof(f->srv.db), "%s/control2.db", f->srv.dir);
	assert_int_equal(th_server_run(&f->srv, NULL), 0);
	assert_non_null(th_wait(a, CTL_EV_CONNECTED, NULL, WAIT_MS));
	e = th_wait(a, CTL_EV_RESYNC, NULL, WAIT_MS);
	assert_non_null(e);
	assert_false(e->has_party);
	assert_string_not_equal(ctl_client_token(a->c), token);
	assert_int_equal(ctl_peer_get(a->c, pid_of(a), &me), 0);
	assert_memory_equal(me.public_key, a->pub, 32);
	assert_non_null(th_wait(b, CTL_EV_RESYNC, NULL, WAIT_MS));
}

/* A daemon that lost its token registers its key again: the answer names the
 * party it is still in (so it can resume or leave it), and peer_update can
 * change its name for the others. */
static void test_register_answers_party(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0), *b2;
	char party_id[CTL_PARTY_ID_LEN + 1], now[CTL_PARTY_ID_LEN + 1];
	struct ctl_peer_update u = { .name = "robert" };
	struct ctl_party p;
	struct ctl_peer me;

	make_party(a, b, NULL, 8, party_id);
	b2 = client(f, NULL, 0);
	assert_int_equal(ctl_register(b2->c, b->priv, "bob", "test"), 0);
	assert_string_equal(ctl_client_peer_id(b2->c), pid_of(b));
	ctl_client_party_id(b2->c, now);
	assert_string_equal(now, party_id);
	assert_int_equal(ctl_peer_update(b2->c, &u, &me), 0);
	assert_string_equal(me.name, "robert");
	assert_non_null(th_wait(a, CTL_EV_PEER_UPDATED, pid_of(b), WAIT_MS));
	assert_int_equal(ctl_peers_list(a->c, party_id, &p), 0);
	assert_string_equal(find_peer(&p, pid_of(b))->name, "robert");
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_leave(b2->c), 0);
	assert_non_null(th_wait(a, CTL_EV_PEER_LEFT, pid_of(b), WAIT_MS));
	/* registered in no party: the answer says so */
	assert_int_equal(ctl_register(b2->c, b->priv, "bob", "test"), 0);
	ctl_client_party_id(b2->c, now);
	assert_string_equal(now, "");
}

struct joiner {
	const char *url;
	const char *party_id;
	pthread_barrier_t *barrier;
	struct th_client *t;
	int err;
	char ip[16];
};

static void *joiner_main(void *arg)
{
	struct joiner *j = arg;
	struct ctl_party p;
	size_t i;

	j->t = th_client_open(j->url, NULL, 0);
	j->err = j->t ? th_client_register(j->t, "joiner") : -ENOMEM;
	pthread_barrier_wait(j->barrier);
	if (j->err)
		return NULL;
	j->err = ctl_party_join(j->t->c, j->party_id, &p);
	for (i = 0; !j->err && i < p.n_peers; i++)
		if (!strcmp(p.peers[i].peer_id, ctl_client_peer_id(j->t->c)))
			memcpy(j->ip, p.peers[i].virtual_ip, sizeof(j->ip));
	ctl_party_clear(&p);
	return NULL;
}

static void test_concurrent_joins(void **state)
{
	enum { N = 40 };
	struct th_fixture *f = *state;
	struct th_client *host = client(f, "host", 0);
	struct joiner j[N];
	pthread_t th[N];
	pthread_barrier_t barrier;
	struct ctl_party p;
	size_t i, k;

	assert_int_equal(ctl_party_create(host->c, "crowd", 64, &p), 0);
	pthread_barrier_init(&barrier, NULL, N);
	for (i = 0; i < N; i++) {
		j[i] = (struct joiner){ .url = f->srv.url, .party_id = p.party_id,
					.barrier = &barrier };
		assert_int_equal(pthread_create(&th[i], NULL, joiner_main, &j[i]), 0);
	}
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < N; i++) {
		assert_int_equal(j[i].err, 0);
		assert_true(j[i].ip[0]);
		assert_string_not_equal(j[i].ip, p.peers[0].virtual_ip);
		for (k = 0; k < i; k++)
			assert_string_not_equal(j[i].ip, j[k].ip);
	}
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_get(host->c, j[0].party_id, &p), 0);
	assert_int_equal(p.member_count, N + 1);
	ctl_party_clear(&p);
	for (i = 0; i < N; i++)
		th_client_close(j[i].t);
}

/* Sends raw text; checks the error code in the answer. */
static void expect_error(struct th_client *t, const char *msg, size_t len, const char *code)
{
	char *reply = NULL;
	json_t *m;

	assert_int_equal(ctl_client_send_raw(t->c, msg, len ? len : strlen(msg), &reply), 0);
	m = json_loads(reply, 0, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "type")), "error");
	if (strcmp(json_string_value(json_object_get(m, "code")), code))
		fail_msg("%s: got %s, want %s", msg, reply, code);
	json_decref(m);
	free(reply);
}

static void test_bad_input(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	struct th_client *c = client(f, "carol", 0), *u = client(f, NULL, 0);
	char party_id[CTL_PARTY_ID_LEN + 1], msg[512], pub64[CTL_KEY_B64 + 1];
	char proof64[CTL_KEY_B64 + 1], *big;
	uint8_t proof[32];
	struct ctl_party before, after;
	size_t i;

	make_party(a, b, NULL, 2, party_id);
	assert_int_equal(ctl_party_get(a->c, party_id, &before), 0);

	expect_error(a, "{\"type\":\"heartbeat\",\"id\":", 0, "bad_json");
	expect_error(a, "[1,2,3]", 0, "bad_json");
	expect_error(a, "{\"type\":\"heartbeat\",\"id\":5,\"extra\":1}", 0, "bad_request");
	expect_error(a, "{\"type\":\"heartbeat\"}", 0, "bad_request");
	expect_error(a, "{\"type\":\"party_create\",\"id\":6,\"name\":7}", 0, "bad_request");
	expect_error(a, "{\"type\":\"party_create\",\"id\":6,\"name\":\"x\",\"max_members\":1}", 0,
		     "bad_request");
	expect_error(a, "{\"type\":\"teleport\",\"id\":7}", 0, "unknown_type");
	expect_error(u, "{\"type\":\"party_create\",\"id\":8,\"name\":\"x\"}", 0, "unauthorized");
	snprintf(msg, sizeof(msg),
		 "{\"type\":\"auth\",\"id\":9,\"peer_id\":\"%s\","
		 "\"token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		 pid_of(a));
	expect_error(u, msg, 0, "unauthorized");
	expect_error(c, "{\"type\":\"party_join\",\"id\":10,\"party_id\":\"ZZZZ-ZZZZ-ZZZZ\"}", 0,
		     "not_found");
	snprintf(msg, sizeof(msg), "{\"type\":\"party_join\",\"id\":11,\"party_id\":\"%s\"}",
		 party_id);
	expect_error(c, msg, 0, "party_full");
	/* A's public key with a proof made without A's private key. */
	ctl_key_to_b64(a->pub, pub64);
	crypto_random(proof, sizeof(proof));
	ctl_key_to_b64(proof, proof64);
	snprintf(msg, sizeof(msg),
		 "{\"type\":\"register\",\"id\":12,\"public_key\":\"%s\",\"proof\":\"%s\","
		 "\"name\":\"mallory\",\"version\":\"1\"}",
		 pub64, proof64);
	expect_error(u, msg, 0, "bad_proof");

	/* Oversized: answered, then the connection closes; the client comes back. */
	big = malloc(CTL_MAX_MESSAGE + 100);
	assert_non_null(big);
	i = (size_t)snprintf(big, 64, "{\"type\":\"heartbeat\",\"id\":13,\"pad\":\"");
	memset(big + i, 'x', CTL_MAX_MESSAGE + 100 - i - 2);
	memcpy(big + CTL_MAX_MESSAGE + 100 - 2, "\"}", 2);
	expect_error(c, big, CTL_MAX_MESSAGE + 100, "too_large");
	free(big);
	assert_non_null(th_wait(c, CTL_EV_DISCONNECTED, NULL, WAIT_MS));
	assert_non_null(th_wait(c, CTL_EV_RESYNC, NULL, WAIT_MS));
	assert_int_equal(ctl_heartbeat(c->c), 0);

	/* Nothing changed: same members, same addresses, A's token still good. */
	assert_int_equal(ctl_party_get(a->c, party_id, &after), 0);
	assert_int_equal(after.member_count, before.member_count);
	assert_int_equal(after.n_peers, 2);
	for (i = 0; i < before.n_peers; i++) {
		const struct ctl_peer *q = find_peer(&after, before.peers[i].peer_id);

		assert_non_null(q);
		assert_string_equal(q->virtual_ip, before.peers[i].virtual_ip);
		assert_string_equal(q->name, before.peers[i].name);
	}
	ctl_party_clear(&before);
	ctl_party_clear(&after);
	assert_int_equal(ctl_heartbeat(a->c), 0);
}

static void test_rest(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "alice", 0), *b = client(f, "bob", 0);
	char party_id[CTL_PARTY_ID_LEN + 1], path[96], auth[160], body[8192];
	json_t *m;

	make_party(a, b, NULL, 8, party_id);
	assert_int_equal(th_http_get(f->srv.port, "/v1/health", NULL, body, sizeof(body)), 200);
	m = json_loads(body, 0, NULL);
	assert_non_null(m);
	assert_true(json_is_true(json_object_get(m, "ok")));
	assert_int_equal(json_integer_value(json_object_get(m, "parties")), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "sessions")), 2);
	json_decref(m);

	snprintf(path, sizeof(path), "/v1/parties/%s", party_id);
	assert_int_equal(th_http_get(f->srv.port, path, NULL, body, sizeof(body)), 401);
	m = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "code")), "unauthorized");
	json_decref(m);
	snprintf(auth, sizeof(auth), "Bearer %s:%s", pid_of(a), "not-the-token");
	assert_int_equal(th_http_get(f->srv.port, path, auth, body, sizeof(body)), 401);
	snprintf(auth, sizeof(auth), "Bearer %s:%s", pid_of(a), ctl_client_token(a->c));
	assert_int_equal(th_http_get(f->srv.port, path, auth, body, sizeof(body)), 200);
	m = json_loads(body, 0, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "party_id")), party_id);
	assert_int_equal(json_array_size(json_object_get(m, "peers")), 2);
	json_decref(m);
	assert_int_equal(th_http_get(f->srv.port, "/v1/parties/ZZZZ-ZZZZ-ZZZZ", auth, body,
				     sizeof(body)),
			 404);
	assert_int_equal(th_http_get(f->srv.port, "/v1/nothing", NULL, body, sizeof(body)), 404);
}

static void test_relays(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *r = client(f, NULL, 0), *a = client(f, "alice", 0);
	char relay_id[CTL_ID_LEN + 1];
	struct ctl_relay *list;
	uint8_t key[32];
	size_t n;

	crypto_random(key, sizeof(key));
	assert_int_equal(ctl_relay_register(r->c, "wrong", "eu1", "192.0.2.9:51821", key, relay_id, NULL),
			 -EACCES);
	assert_int_equal(ctl_relay_register(r->c, "s3cret", "eu1", "192.0.2.9:51821", key, relay_id, NULL),
			 0);
	assert_int_equal(ctl_relay_heartbeat(r->c, "s3cret", relay_id, 3), 0);
	assert_int_equal(ctl_relays_list(a->c, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].relay_id, relay_id);
	assert_string_equal(list[0].endpoint, "192.0.2.9:51821");
	assert_true(list[0].has_public_key);
	assert_memory_equal(list[0].public_key, key, 32);
	assert_int_equal(list[0].clients, 3);
	free(list);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_party_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_timeout, setup_short_timeout,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poke, setup_short_timeout, teardown),
		cmocka_unit_test_setup_teardown(test_rejoin_after_timeout, setup_short_timeout,
						teardown),
		cmocka_unit_test_setup_teardown(test_server_forgot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_answers_party, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_joins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relays, setup, teardown),
	};

	if (th_main_init(argc, argv))
		return 2;
	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
