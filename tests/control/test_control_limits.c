/*
 * test_control_limits: the real lanrage-control under the attacks its
 * limits answer (docs/CONTROL.md "Limits"), each performed from a real
 * socket on 127.0.0.1 and shown to fail: a session that never authenticates
 * is closed; a connection that never answers a PING is hung up; one address
 * cannot hold more sessions than its cap; a registration flood is refused
 * while a known peer from the same address still authenticates; a signal
 * flood at one member is refused and the member stays connected; a POST
 * with a malformed body gets a 4xx at once; peers not seen for the GC time
 * are forgotten; a member that stops reading is dropped once its send
 * queue is full while the others are answered throughout. And the largest party works: 64 members join, each sees
 * the 63 others, the server restarts on the same database and every member
 * resyncs and is still a member.
 *
 *   test_control_limits PATH/TO/lanrage-control [TEST-NAME]
 *
 * Waits are bounded (seconds) but never assert a duration.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "rawws.h"
#include "control/ctl_core.h"
#include "control/ctl_ids.h"
#include "crypto/crypto.h"

#ifndef TEST_PARTY
#define TEST_PARTY CTL_DEFAULT_MAX_MEMBERS
#endif

enum { PARTY = TEST_PARTY, WAIT_MS = 15000 };

static int start(void **state, const char *const *extra)
{
	return th_fixture_start(state, extra);
}

static int teardown(void **state)
{
	return th_fixture_stop(state);
}

/* A client, registered under name unless it is NULL. */
static struct th_client *client(struct th_fixture *f, const char *name)
{
	struct th_client *t;

	assert_true(f->n < TH_MAX_CLIENTS);
	t = th_client_open(f->srv.url, NULL, 0);
	assert_non_null(t);
	f->cl[f->n++] = t;
	if (name)
		assert_int_equal(th_client_register(t, name), 0);
	return t;
}

static const char *code_of(const char *text)
{
	static char code[32];
	json_t *m = json_loads(text, 0, NULL);

	snprintf(code, sizeof(code), "%s",
		 m ? json_string_value(json_object_get(m, "code")) ?: "" : "(not json)");
	json_decref(m);
	return code;
}

static int setup_auth(void **state)
{
	return start(state, (const char *const[]){ "--auth-timeout", "1", NULL });
}

static void test_session_that_never_authenticates_is_closed(void **state)
{
	struct th_fixture *f = *state;
	char buf[1024];
	int fd = rw_connect(f->srv.port);

	assert_true(fd >= 0);
	assert_true(rw_read_text(fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"hello\""));
	/* Nothing sent: the server says why, then hangs up. */
	assert_true(rw_read_text(fd, buf, sizeof(buf)) > 0);
	assert_string_equal(code_of(buf), "unauthorized");
	assert_int_equal(rw_wait_closed(fd), 0);
	close(fd);
	/* A client that registers in time stays. */
	assert_int_equal(ctl_heartbeat(client(f, "in-time")->c), 0);
	sleep(2);
	assert_int_equal(ctl_heartbeat(f->cl[0]->c), 0);
	assert_int_equal(th_count(f->cl[0], CTL_EV_DISCONNECTED), 0);
}

static int setup_idle(void **state)
{
	return start(state, (const char *const[]){ "--auth-timeout", "0", "--ping-interval", "1",
						   "--idle-timeout", "2", NULL });
}

static void test_connection_that_never_pongs_is_hung_up(void **state)
{
	struct th_fixture *f = *state;
	char buf[1024];
	int fd = rw_connect(f->srv.port), op, r;
	bool pinged = false;

	assert_true(fd >= 0);
	while ((r = rw_read(fd, &op, buf, sizeof(buf))) >= 0)
		pinged |= op == RW_PING;
	assert_int_equal(r, -ECONNRESET);
	assert_true(pinged);
	close(fd);
	/* A real client answers the PINGs and stays. */
	assert_int_equal(ctl_heartbeat(client(f, "pongs")->c), 0);
	sleep(4);
	assert_int_equal(ctl_heartbeat(f->cl[0]->c), 0);
	assert_int_equal(th_count(f->cl[0], CTL_EV_DISCONNECTED), 0);
}

static int setup_cap(void **state)
{
	return start(state, (const char *const[]){ "--ip-sessions", "3", NULL });
}

static void test_sessions_per_address_capped(void **state)
{
	struct th_fixture *f = *state;
	char buf[1024];
	int fd[3], extra;

	for (int i = 0; i < 3; i++) {
		fd[i] = rw_connect(f->srv.port);
		assert_true(fd[i] >= 0);
		assert_true(rw_read_text(fd[i], buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "\"hello\""));
	}
	extra = rw_connect(f->srv.port);
	assert_true(extra >= 0);
	assert_true(rw_read_text(extra, buf, sizeof(buf)) > 0);
	assert_string_equal(code_of(buf), "too_many_sessions");
	assert_int_equal(rw_wait_closed(extra), 0);
	close(extra);
	/* One leaves: there is room again. */
	close(fd[0]);
	for (int tries = 0; tries < 100; tries++) {
		extra = rw_connect(f->srv.port);
		assert_true(extra >= 0);
		assert_true(rw_read_text(extra, buf, sizeof(buf)) > 0);
		if (strstr(buf, "\"hello\""))
			break;
		close(extra); /* the close of fd[0] was not seen yet */
		extra = -1;
		usleep(100 * 1000);
	}
	assert_true(extra >= 0);
	close(extra);
	close(fd[1]);
	close(fd[2]);
}

static int setup_reg(void **state)
{
	return start(state, (const char *const[]){ "--ip-register-burst", "3",
						   "--ip-register-rate", "1", NULL });
}

static void test_register_flood_refused_known_peer_still_auths(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *known = client(f, "known"), *back, *flood;
	char peer_id[CTL_ID_LEN + 1], token[64];
	int r = 0;
	size_t i;

	snprintf(peer_id, sizeof(peer_id), "%s", ctl_client_peer_id(known->c));
	snprintf(token, sizeof(token), "%s", ctl_client_token(known->c));
	/* Fresh keys from the same address until refused (the burst is 3). */
	for (i = 0; i < 5 && !r; i++) {
		flood = client(f, NULL);
		r = th_client_register(flood, "flood");
	}
	assert_int_equal(r, -EAGAIN);
	assert_string_equal(ctl_client_error(flood->c, NULL), "rate_limited");
	assert_int_equal(i, 3);
	/* The known peer resumes from the same address with its token. */
	back = client(f, NULL);
	assert_int_equal(ctl_auth(back->c, peer_id, token), 0);
	assert_int_equal(ctl_heartbeat(back->c), 0);
}

static int setup_sig(void **state)
{
	return start(state, (const char *const[]){ "--signal-burst", "16", "--signal-rate", "1",
						   NULL });
}

static void test_signal_flood_refused_recipient_stays(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a = client(f, "a"), *b = client(f, "b"), *c = client(f, "c");
	char payload[4050], party_id[CTL_PARTY_ID_LEN + 1];
	struct ctl_party p;
	size_t sent = 0;
	int r = 0;

	assert_int_equal(ctl_party_create(b->c, "p", 8, &p), 0);
	memcpy(party_id, p.party_id, sizeof(party_id));
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_join(a->c, party_id, &p), 0);
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_join(c->c, party_id, &p), 0);
	ctl_party_clear(&p);
	snprintf(payload, sizeof(payload), "{\"p\":\"%04000d\"}", 0);
	while (sent < 100 && !(r = ctl_signal(a->c, ctl_client_peer_id(b->c), payload)))
		sent++;
	assert_int_equal(r, -EAGAIN);
	assert_string_equal(ctl_client_error(a->c, NULL), "rate_limited");
	assert_true(sent >= 1 && sent < 5);
	/* Refused to another sender as well: the budget is b's. */
	assert_int_equal(ctl_signal(c->c, ctl_client_peer_id(b->c), payload), -EAGAIN);
	/* b is still connected, and got what was accepted. */
	assert_int_equal(ctl_heartbeat(b->c), 0);
	for (size_t i = 0; i < sent; i++)
		assert_non_null(th_wait(b, CTL_EV_SIGNAL, ctl_client_peer_id(a->c), WAIT_MS));
	assert_int_equal(th_count(b, CTL_EV_DISCONNECTED), 0);
	assert_int_equal(th_count(b, CTL_EV_SIGNAL), 0);
}

static int setup_plain(void **state)
{
	return start(state, NULL);
}

static int f_port(void **state)
{
	return ((struct th_fixture *)*state)->srv.port;
}

static void test_post_with_malformed_body_refused_at_once(void **state)
{
	static const char post[] = "POST /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"bad";
	static const char get_body[] = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				       "Content-Length: 10\r\n\r\n{";
	static const char put[] = "PUT /v1/relays HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n5\r\n{";
	char buf[4096];

	/* The body never ends: the answer must not wait for it. */
	assert_int_equal(rw_http(f_port(state), post, sizeof(post) - 1, buf, sizeof(buf)), 405);
	assert_string_equal(code_of(buf), "bad_request");
	assert_int_equal(rw_http(f_port(state), get_body, sizeof(get_body) - 1, buf, sizeof(buf)),
			 400);
	assert_string_equal(code_of(buf), "bad_request");
	assert_int_equal(rw_http(f_port(state), put, sizeof(put) - 1, buf, sizeof(buf)), 405);
	/* The server still serves. */
	assert_int_equal(th_http_get(f_port(state), "/v1/health", NULL, buf, sizeof(buf)), 200);
}

static int setup_gc(void **state)
{
	return start(state, (const char *const[]){ "--peer-gc", "2", NULL });
}

static long long health(struct th_fixture *f, const char *field)
{
	char buf[1024];
	json_t *m;
	long long v;

	assert_int_equal(th_http_get(f->srv.port, "/v1/health", NULL, buf, sizeof(buf)), 200);
	m = json_loads(buf, 0, NULL);
	assert_non_null(m);
	v = json_integer_value(json_object_get(m, field));
	json_decref(m);
	return v;
}

static void test_peers_not_seen_are_collected(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *gone = client(f, "gone"), *back;
	char peer_id[CTL_ID_LEN + 1], token[64];
	int i;

	snprintf(peer_id, sizeof(peer_id), "%s", ctl_client_peer_id(gone->c));
	snprintf(token, sizeof(token), "%s", ctl_client_token(gone->c));
	assert_int_equal(health(f, "peers"), 1);
	th_client_close(gone);
	f->cl[--f->n] = NULL;
	for (i = 0; i < 150 && health(f, "peers"); i++)
		usleep(100 * 1000);
	assert_int_equal(health(f, "peers"), 0);
	back = client(f, NULL);
	assert_int_equal(ctl_auth(back->c, peer_id, token), -EACCES);
}

/* Without a signal budget (so that signals can fill a queue at all). */
static int setup_slow(void **state)
{
	return start(state, (const char *const[]){ "--signal-rate", "0", NULL });
}

/* rw_read_text, then the "data" of the result it must be (NULL: not one). */
static json_t *rw_result(int fd)
{
	char buf[8192];
	json_t *m, *data = NULL;

	if (rw_read_text(fd, buf, sizeof(buf)) <= 0 || !(m = json_loads(buf, 0, NULL)))
		return NULL;
	if (!strcmp(json_string_value(json_object_get(m, "type")) ?: "", "result"))
		data = json_incref(json_object_get(m, "data"));
	json_decref(m);
	return data;
}

/* A raw client, registered (the key proof made here) and a member of
 * party_id, with a small receive buffer. Its peer ID in peer_id; the fd. */
static int rw_member(int port, const char *party_id, char peer_id[CTL_ID_LEN + 1])
{
	uint8_t priv[32], pub[32], challenge[32], server_key[32], proof[32];
	char pub64[CTL_KEY_B64 + 1], proof64[CTL_KEY_B64 + 1], buf[1024], req[512];
	int fd = rw_connect_rcvbuf(port, 4096);
	json_t *hello, *data;

	assert_true(fd >= 0);
	assert_true(rw_read_text(fd, buf, sizeof(buf)) > 0);
	hello = json_loads(buf, 0, NULL);
	assert_non_null(hello);
	assert_int_equal(ctl_b64_to_key(json_string_value(json_object_get(hello, "challenge")),
					44, challenge), 0);
	assert_int_equal(ctl_b64_to_key(json_string_value(json_object_get(hello, "server_key")),
					44, server_key), 0);
	json_decref(hello);
	crypto_random(priv, sizeof(priv));
	crypto_x25519_public(pub, priv);
	assert_int_equal(ctl_register_proof(proof, priv, server_key, challenge), 0);
	ctl_key_to_b64(pub, pub64);
	ctl_key_to_b64(proof, proof64);
	snprintf(req, sizeof(req), "{\"type\":\"register\",\"id\":1,\"public_key\":\"%s\","
		 "\"proof\":\"%s\",\"name\":\"slow\",\"version\":\"test\"}", pub64, proof64);
	assert_int_equal(rw_send_text(fd, req), 0);
	data = rw_result(fd);
	assert_non_null(data);
	snprintf(peer_id, CTL_ID_LEN + 1, "%s", json_string_value(json_object_get(data, "peer_id")));
	json_decref(data);
	snprintf(req, sizeof(req), "{\"type\":\"party_join\",\"id\":2,\"party_id\":\"%s\"}", party_id);
	assert_int_equal(rw_send_text(fd, req), 0);
	data = rw_result(fd);
	assert_non_null(data);
	json_decref(data);
	return fd;
}

/* Signals of about 4 KB from every sender to the member in turn, each
 * sender up to its message rate, until the server holds one session less
 * or limit bytes went out. The bytes sent. */
static size_t flood_until_dropped(struct th_fixture *f, struct th_client **senders, size_t n,
				  const char *to, long long sessions, size_t limit)
{
	char payload[4050];
	size_t sent = 0;
	int r;

	snprintf(payload, sizeof(payload), "{\"p\":\"%04000d\"}", 0);
	while (sent < limit && health(f, "sessions") == sessions) {
		for (size_t i = 0; i < n; i++) {
			while (!(r = ctl_signal(senders[i]->c, to, payload)))
				sent += sizeof(payload);
			assert_int_equal(r, -EAGAIN); /* the sender's message rate */
		}
		usleep(50 * 1000);
	}
	return sent;
}

static void test_member_that_stops_reading_is_dropped_others_served(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *s[6];
	char party_id[CTL_PARTY_ID_LEN + 1], slow_id[CTL_ID_LEN + 1];
	struct ctl_party p;
	size_t sent;
	int fd;

	for (int i = 0; i < 6; i++)
		s[i] = client(f, "member");
	assert_int_equal(ctl_party_create(s[0]->c, "p", 8, &p), 0);
	memcpy(party_id, p.party_id, sizeof(party_id));
	ctl_party_clear(&p);
	for (int i = 1; i < 6; i++) {
		assert_int_equal(ctl_party_join(s[i]->c, party_id, &p), 0);
		ctl_party_clear(&p);
	}
	fd = rw_member(f->srv.port, party_id, slow_id);
	assert_int_equal(health(f, "sessions"), 7);
	/* The raw member reads nothing from here on. The others' signals to
	 * it fill its queue (the cap, 512 KiB, plus what the kernel buffers)
	 * while their own requests, each waiting for its answer, go on. */
	sent = flood_until_dropped(f, s, 6, slow_id, 7, 16u << 20);
	printf("dropped after %zu KiB of signals\n", sent / 1024);
	assert_int_equal(health(f, "sessions"), 6);
	/* Its connection is closed: what it did not read, then the end. */
	assert_int_equal(rw_wait_closed(fd), 0);
	close(fd);
	/* The others were never dropped, and are still answered (once the
	 * flood's spent message rate, 20/s with a burst of 40, refilled);
	 * signals to the dropped member are accepted and go nowhere, as for
	 * any member whose session is down. */
	sleep(2);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(ctl_heartbeat(s[i]->c), 0);
		assert_int_equal(th_count(s[i], CTL_EV_DISCONNECTED), 0);
	}
	assert_int_equal(ctl_signal(s[0]->c, slow_id, "{}"), 0);
	assert_int_equal(ctl_party_get(s[1]->c, party_id, &p), 0);
	assert_int_equal(p.member_count, 7); /* it keeps its place until its timeout */
	ctl_party_clear(&p);
}

/* All from 127.0.0.1: the per-address caps would stop a party larger
 * than their defaults. */
static const char *const crowd_args[] = { "--ip-sessions", "0", "--ip-register-burst", "100000",
					  NULL };

static int setup_crowd(void **state)
{
	return start(state, crowd_args);
}

/* The largest party: PARTY clients (ctl_client, remote mode), heartbeating
 * so that none times out however long the joins take. PARTY is the default
 * max_members; building with -DTEST_PARTY=1024 (CTL_LIMIT_MAX_MEMBERS)
 * runs the protocol's largest, which takes minutes on two cores. */
static void test_full_party_resyncs_after_restart(void **state)
{
	struct th_fixture *f = *state;
	static struct th_client *m[PARTY];
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct th_event *e;
	struct ctl_party p;
	size_t i;

	for (i = 0; i < PARTY; i++) {
		m[i] = th_client_open(f->srv.url, NULL, 20000);
		assert_non_null(m[i]);
		assert_int_equal(th_client_register(m[i], "member"), 0);
	}
	assert_int_equal(ctl_party_create(m[0]->c, "full", PARTY, &p), 0);
	memcpy(party_id, p.party_id, sizeof(party_id));
	ctl_party_clear(&p);
	for (i = 1; i < PARTY; i++) {
		assert_int_equal(ctl_party_join(m[i]->c, party_id, &p), 0);
		assert_int_equal(p.n_peers, i + 1);
		ctl_party_clear(&p);
	}
	for (i = 0; i < PARTY; i++) {
		assert_int_equal(ctl_peers_list(m[i]->c, party_id, &p), 0);
		assert_int_equal(p.n_peers, PARTY); /* itself and all the others */
		ctl_party_clear(&p);
	}
	/* Full: one more is refused. */
	assert_int_equal(ctl_party_join(client(f, "late")->c, party_id, &p), -ENOSPC);

	/* Forget what was recorded (the joins): room for the RESYNC. */
	for (i = 0; i < PARTY; i++) {
		ctl_client_dispatch(m[i]->c);
		m[i]->n_ev = 0;
	}
	assert_int_equal(th_server_stop(&f->srv, SIGTERM), 0);
	assert_int_equal(th_server_run(&f->srv, crowd_args), 0);
	for (i = 0; i < PARTY; i++) {
		e = th_wait(m[i], CTL_EV_RESYNC, NULL, 60000);
		assert_non_null(e);
		assert_true(e->has_party);
		assert_string_equal(e->party_id, party_id);
		assert_int_equal(e->party_peers, PARTY);
	}
	for (i = 0; i < PARTY; i++) {
		assert_int_equal(ctl_party_get(m[i]->c, party_id, &p), 0);
		assert_int_equal(p.member_count, PARTY);
		assert_int_equal(p.n_peers, PARTY);
		ctl_party_clear(&p);
	}
	for (i = 0; i < PARTY; i++)
		th_client_close(m[i]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_that_never_authenticates_is_closed,
						setup_auth, teardown),
		cmocka_unit_test_setup_teardown(test_connection_that_never_pongs_is_hung_up,
						setup_idle, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_address_capped, setup_cap,
						teardown),
		cmocka_unit_test_setup_teardown(test_register_flood_refused_known_peer_still_auths,
						setup_reg, teardown),
		cmocka_unit_test_setup_teardown(test_signal_flood_refused_recipient_stays,
						setup_sig, teardown),
		cmocka_unit_test_setup_teardown(test_post_with_malformed_body_refused_at_once,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_peers_not_seen_are_collected, setup_gc,
						teardown),
		cmocka_unit_test_setup_teardown(test_member_that_stops_reading_is_dropped_others_served,
						setup_slow, teardown),
		cmocka_unit_test_setup_teardown(test_full_party_resyncs_after_restart, setup_crowd,
						teardown),
	};

	if (th_main_init(argc, argv))
		return 2;
	return cmocka_run_group_tests_name("control_limits", tests, NULL, NULL);
}
