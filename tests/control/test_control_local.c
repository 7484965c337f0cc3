/*
 * test_control_local: local mode (ctl_local, the core in this process) with
 * several clients: create, join, events to every other member, a signal to
 * exactly its addressee, leave; expiry of a member that stops heartbeating
 * while another keeps going through the local ticker; bad input answered
 * like the server does. The database is a temporary file, removed after.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "crypto/crypto.h"

enum { N = 4, WAIT_MS = 10000 };

struct lfix {
	char dir[64], db[96];
	struct ctl_local *local;
	struct th_client *cl[N];
};

static int lsetup(void **state)
{
	struct lfix *f = calloc(1, sizeof(*f));
	struct ctl_core_opts o;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lanrage-ctl-local.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/local.db", f->dir);
	ctl_core_opts_default(&o);
	o.db_path = f->db;
	o.peer_timeout_ms = 2000;
	if (ctl_local_open(&o, &f->local)) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int lteardown(void **state)
{
	static const char *const files[] = { "local.db", "local.db-wal", "local.db-shm" };
	struct lfix *f = *state;
	char path[128];
	size_t i;

	for (i = 0; i < N; i++)
		th_client_close(f->cl[i]);
	ctl_local_close(f->local);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct th_client *lclient(struct lfix *f, size_t i, const char *name, uint64_t hb)
{
	f->cl[i] = th_client_open(NULL, f->local, hb);
	assert_non_null(f->cl[i]);
	assert_int_equal(th_client_register(f->cl[i], name), 0);
	assert_int_equal(strlen(ctl_client_peer_id(f->cl[i]->c)), CTL_ID_LEN);
	return f->cl[i];
}

#define ID(t) ctl_client_peer_id((t)->c)

static void test_local_flow(void **state)
{
	struct lfix *f = *state;
	struct th_client *a = lclient(f, 0, "alice", 0), *b = lclient(f, 1, "bob", 0);
	struct th_client *c = lclient(f, 2, "carol", 0);
	struct ctl_nat nat = { "full-cone", "endpoint-independent", "endpoint-independent" };
	struct ctl_peer_update u = { .nat = &nat };
	struct ctl_party p, pb, pc;
	struct th_event *e;

	assert_int_equal(ctl_party_create(a->c, "local", 0, &p), 0);
	assert_int_equal(p.max_members, CTL_DEFAULT_MAX_MEMBERS);
	assert_int_equal(ctl_party_join(b->c, p.party_id, &pb), 0);
	assert_int_equal(ctl_party_join(c->c, p.party_id, &pc), 0);
	assert_int_equal(pc.member_count, 3);
	assert_string_not_equal(pb.peers[0].virtual_ip, pb.peers[1].virtual_ip);
	assert_non_null(th_wait(a, CTL_EV_PEER_JOINED, ID(b), WAIT_MS));
	assert_non_null(th_wait(a, CTL_EV_PEER_JOINED, ID(c), WAIT_MS));
	e = th_wait(b, CTL_EV_PEER_JOINED, ID(c), WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->party_id, p.party_id);
	assert_int_equal(th_count(c, CTL_EV_PEER_JOINED), 0);

	assert_int_equal(ctl_peer_update(b->c, &u, NULL), 0);
	assert_non_null(th_wait(a, CTL_EV_PEER_UPDATED, ID(b), WAIT_MS));
	assert_non_null(th_wait(c, CTL_EV_PEER_UPDATED, ID(b), WAIT_MS));
	assert_int_equal(th_count(b, CTL_EV_PEER_UPDATED), 0);

	assert_int_equal(ctl_signal(c->c, ID(a), "{\"hole\":\"punch\"}"), 0);
	e = th_wait(a, CTL_EV_SIGNAL, ID(c), WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->payload, "{\"hole\":\"punch\"}");
	assert_int_equal(th_count(b, CTL_EV_SIGNAL), 0);
	assert_int_equal(th_count(c, CTL_EV_SIGNAL), 0);

	assert_int_equal(ctl_party_leave(b->c), 0);
	e = th_wait(c, CTL_EV_PEER_LEFT, ID(b), WAIT_MS);
	assert_non_null(e);
	assert_string_equal(e->reason, "left");
	assert_non_null(th_wait(a, CTL_EV_PEER_LEFT, ID(b), WAIT_MS));
	ctl_party_clear(&p);
	ctl_party_clear(&pb);
	ctl_party_clear(&pc);
}

static void test_local_timeout(void **state)
{
	struct lfix *f = *state;
	struct th_client *a = lclient(f, 0, "alive", 200), *b = lclient(f, 1, "silent", 0);
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct ctl_party p;
	struct th_event *e;

	assert_int_equal(ctl_party_create(a->c, "t", 0, &p), 0);
	memcpy(party_id, p.party_id, sizeof(party_id));
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_join(b->c, party_id, &p), 0);
	ctl_party_clear(&p);
	e = th_wait(a, CTL_EV_PEER_LEFT, ID(b), 15000);
	assert_non_null(e);
	assert_string_equal(e->reason, "timeout");
	assert_int_equal(ctl_party_get(a->c, party_id, &p), 0);
	assert_int_equal(p.member_count, 1);
	ctl_party_clear(&p);
}

static void test_local_bad_input(void **state)
{
	struct lfix *f = *state;
	struct th_client *a = lclient(f, 0, "alice", 0);
	char *reply = NULL;
	json_t *m;

	assert_int_equal(ctl_client_send_raw(a->c, "{nope", 5, &reply), 0);
	m = json_loads(reply, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "code")), "bad_json");
	json_decref(m);
	free(reply);
	assert_int_equal(ctl_party_join(a->c, "ZZZZ-ZZZZ-ZZZZ", &(struct ctl_party){ 0 }), -ENOENT);
	assert_string_equal(ctl_client_error(a->c, NULL), "not_found");
	assert_int_equal(ctl_heartbeat(a->c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_flow, lsetup, lteardown),
		cmocka_unit_test_setup_teardown(test_local_timeout, lsetup, lteardown),
		cmocka_unit_test_setup_teardown(test_local_bad_input, lsetup, lteardown),
	};

	crypto_init();
	return cmocka_run_group_tests_name("control_local", tests, NULL, NULL);
}
