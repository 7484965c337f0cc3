/*
 * test_store: persistence (docs/CONTROL.md "Storage"): a file database in
 * WAL mode with the schema version in user_version; writes batched until the
 * window passes (seen from a second connection), flush and close commit;
 * parties, members, addresses, remembered addresses, peer state and tokens
 * survive a close and reopen; every loaded member gets a fresh timeout;
 * unknown schema versions are refused, version 1 is migrated; the file is
 * owner-only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

static char dir[64], path[128];

static int setup(void **state)
{
	time_fake_set(1000 * TIME_NS_PER_SEC);
	snprintf(dir, sizeof(dir), "/tmp/ctl_store_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/control.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
	time_fake_set(0);
	return 0;
}

static struct ctl_core *open_at(const char *db)
{
	struct ctl_core_opts o;
	struct ctl_core *c = NULL;

	ctl_core_opts_default(&o);
	o.db_path = db;
	o.rate_burst = 10000;
	o.relay_secret = "pw";
	assert_int_equal(ctl_core_open(&o, &c), 0);
	return c;
}

/* The party as text without the members' last_seen: that is wall-clock
 * seconds, and the auth after a reopen touches it, so it differs whenever a
 * second boundary passes between the two reads. */
static char *party_text(const json_t *party)
{
	json_t *copy = json_deep_copy(party), *peer;
	size_t i;
	char *text;

	json_array_foreach(json_object_get(copy, "peers"), i, peer)
		json_object_del(peer, "last_seen");
	text = json_dumps(copy, JSON_SORT_KEYS);
	json_decref(copy);
	return text;
}

/* A count from a second connection: sees only committed data. */
static long long count(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return n;
}

static void test_batching(void **state)
{
	struct ctl_core *c = open_at(path);
	struct th_client *a = th_peer(c, "a");
	struct ctl_core_stats st;
	char id[15];

	assert_int_equal(count("PRAGMA user_version"), 2);
	{
		sqlite3 *db;
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	assert_int_equal(th_create(a, "p", 0, id), 0);
	/* Still in the open batch. */
	assert_int_equal(count("SELECT count(*) FROM peers"), 0);
	assert_int_equal(count("SELECT count(*) FROM parties"), 0);
	time_fake_advance(19 * TIME_NS_PER_MS);
	assert_int_equal(ctl_core_tick(c), 1);
	assert_int_equal(count("SELECT count(*) FROM parties"), 0);
	time_fake_advance(1 * TIME_NS_PER_MS);
	ctl_core_tick(c);
	assert_int_equal(count("SELECT count(*) FROM peers"), 1);
	assert_int_equal(count("SELECT count(*) FROM parties"), 1);
	assert_int_equal(count("SELECT count(*) FROM members"), 1);
	ctl_core_stats(c, &st);
	assert_int_equal(st.commits, 1);
	/* Many changes, one commit. */
	for (int i = 0; i < 10; i++) {
		assert_non_null(th_ok(th_req0(a, "party_leave")));
		assert_int_equal(th_create(a, "p", 0, id), 0);
	}
	assert_int_equal(ctl_core_flush(c), 0);
	ctl_core_stats(c, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(count("SELECT count(*) FROM parties"), 1);
	/* Heartbeats alone write nothing. */
	for (int i = 0; i < 5; i++)
		assert_non_null(th_ok(th_req0(a, "heartbeat")));
	ctl_core_tick(c);
	assert_int_equal(ctl_core_flush(c), 0);
	ctl_core_stats(c, &st);
	assert_int_equal(st.commits, 2);
	/* Close commits what is pending. */
	assert_non_null(th_ok(th_req0(a, "party_leave")));
	th_free(a);
	ctl_core_close(c);
	assert_int_equal(count("SELECT count(*) FROM parties"), 0);
	assert_int_equal(count("SELECT count(*) FROM members"), 0);
}

static json_t *self(struct th_client *cl)
{
	return json_object_get(th_ok(th_req(cl, "peer_get", "\"peer_id\":\"%s\"", cl->peer_id)),
			       "peer");
}

static void test_reopen(void **state)
{
	struct ctl_core *c = open_at(path);
	struct th_client *a = th_peer(c, "alice"), *b = th_peer(c, "bob"), *x = th_peer(c, "x");
	char id[15], ip_a[16], ip_b[16], ip_x[16], a_id[32], a_tok[64], b_id[32], b_tok[64];
	char *party_before;
	uint8_t x_priv[32], x_pub[32];
	struct ctl_core_stats st;
	json_t *d;

	assert_int_equal(th_create(a, "persist", 5, id), 0);
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	assert_non_null(th_ok(th_req(x, "party_join", "\"party_id\":\"%s\"", id)));
	snprintf(ip_x, sizeof(ip_x), "%s", th_str(self(x), "virtual_ip"));
	assert_non_null(th_ok(th_req0(x, "party_leave")));
	assert_non_null(th_ok(th_req(b, "peer_update",
				     "\"endpoints\":[\"203.0.113.5:40000\"],\"relay\":\"r9\"")));
	snprintf(ip_a, sizeof(ip_a), "%s", th_str(self(a), "virtual_ip"));
	snprintf(ip_b, sizeof(ip_b), "%s", th_str(self(b), "virtual_ip"));
	party_before = party_text(json_object_get(th_ok(th_req(a, "party_get",
								"\"party_id\":\"%s\"", id)),
						  "party"));
	strcpy(a_id, a->peer_id);
	strcpy(a_tok, a->token);
	strcpy(b_id, b->peer_id);
	strcpy(b_tok, b->token);
	{
		struct th_client *r = th_open(c);

		assert_non_null(th_ok(th_req(r, "relay_register",
					     "\"secret\":\"pw\",\"name\":\"r\","
					     "\"endpoint\":\"192.0.2.9:51821\"")));
		th_free(r);
	}
	/* x's key has a remembered address in the party; keep x out. */
	memcpy(x_priv, x->priv, 32);
	memcpy(x_pub, x->pub, 32);
	th_free(a);
	th_free(b);
	th_free(x);
	ctl_core_close(c);

	/* Reopen much later: every member gets a fresh timeout. */
	time_fake_advance(3600 * TIME_NS_PER_SEC);
	c = open_at(path);
	ctl_core_stats(c, &st);
	assert_int_equal(st.parties, 1);
	assert_int_equal(st.peers, 3);
	assert_int_equal(st.members, 2);
	assert_int_equal(st.relays, 1);
	assert_int_equal(st.sessions, 0);
	ctl_core_tick(c);
	ctl_core_stats(c, &st);
	assert_int_equal(st.members, 2);

	a = th_open(c);
	d = th_ok(th_req(a, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"", a_id, a_tok));
	assert_non_null(d);
	{
		char *party_after = party_text(json_object_get(d, "party"));

		assert_string_equal(party_before, party_after);
		free(party_after);
	}
	free(party_before);
	b = th_open(c);
	assert_non_null(th_ok(th_req(b, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"", b_id, b_tok)));
	strcpy(a->peer_id, a_id);
	strcpy(b->peer_id, b_id);
	assert_string_equal(th_str(self(a), "virtual_ip"), ip_a);
	assert_string_equal(th_str(self(b), "virtual_ip"), ip_b);
	assert_string_equal(th_str(self(b), "relay"), "r9");
	assert_string_equal(json_string_value(json_array_get(json_object_get(self(b), "endpoints"),
							     0)),
			    "203.0.113.5:40000");
	/* The remembered address survives too: x gets its old one back. */
	x = th_open(c);
	memcpy(x->priv, x_priv, 32);
	memcpy(x->pub, x_pub, 32);
	assert_int_equal(th_register_as(x, "x"), 0);
	assert_non_null(th_ok(th_req(x, "party_join", "\"party_id\":\"%s\"", id)));
	assert_string_equal(th_str(self(x), "virtual_ip"), ip_x);
	/* max_members came back: 3 of 5. */
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(th_ok(th_req(a, "party_get", "\"party_id\":\"%s\"",
							      id)),
						 "party"),
				 "max_members")),
			 5);
	/* Fresh timeout from the reopen, not from the stored last_seen. */
	time_fake_advance(89 * TIME_NS_PER_SEC);
	ctl_core_tick(c);
	ctl_core_stats(c, &st);
	assert_int_equal(st.members, 3);
	th_free(a);
	th_free(b);
	th_free(x);
	ctl_core_close(c);
}

static void test_bad_schema(void **state)
{
	struct ctl_core_opts o;
	struct ctl_core *c = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ctl_core_opts_default(&o);
	o.db_path = path;
	assert_int_equal(ctl_core_open(&o, &c), -EIO);
	assert_null(c);
	/* Unopenable path. */
	o.db_path = "/nonexistent-dir/x.db";
	assert_int_equal(ctl_core_open(&o, &c), -EIO);
}

static void test_bad_opts(void **state)
{
	struct ctl_core_opts o;
	struct ctl_core *c = NULL;

	ctl_core_opts_default(&o);
	o.prefix = 31;
	assert_int_equal(ctl_core_open(&o, &c), -EINVAL);
	ctl_core_opts_default(&o);
	o.subnet = 0x0a420001;
	assert_int_equal(ctl_core_open(&o, &c), -EINVAL);
	ctl_core_opts_default(&o);
	o.rate_per_sec = 0;
	assert_int_equal(ctl_core_open(&o, &c), -EINVAL);
	ctl_core_opts_default(&o);
	o.signal_burst = CTL_MAX_MESSAGE - 1; /* one signal must always fit */
	assert_int_equal(ctl_core_open(&o, &c), -EINVAL);
	ctl_core_opts_default(&o);
	o.source_register_burst = 0; /* rate without burst */
	assert_int_equal(ctl_core_open(&o, &c), -EINVAL);
	assert_null(c);
}

/* A version 1 database (before the ticket key) is migrated in place: its
 * peers stay, a ticket key is made and kept; the file is owner-only. */
static void test_migrate_v1(void **state)
{
	struct ctl_core *c;
	struct stat sb;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE peers(peer_id TEXT PRIMARY KEY, public_key BLOB NOT NULL "
			     "UNIQUE, name TEXT NOT NULL, version TEXT NOT NULL, token_hash BLOB NOT "
			     "NULL, nat_type TEXT NOT NULL, nat_mapping TEXT NOT NULL, nat_filtering "
			     "TEXT NOT NULL, endpoints TEXT NOT NULL, relay TEXT NOT NULL, created_at "
			     "INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
			     "CREATE TABLE parties(party_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
			     " host_peer_id TEXT NOT NULL, created_at INTEGER NOT NULL, max_members "
			     "INTEGER NOT NULL);"
			     "CREATE TABLE members(peer_id TEXT PRIMARY KEY, party_id TEXT NOT NULL,"
			     " virtual_ip INTEGER NOT NULL, joined_at INTEGER NOT NULL, "
			     "UNIQUE(party_id, virtual_ip));"
			     "CREATE TABLE addresses(party_id TEXT NOT NULL, public_key BLOB NOT NULL,"
			     " virtual_ip INTEGER NOT NULL, PRIMARY KEY(party_id, public_key));"
			     "CREATE TABLE relays(relay_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
			     "endpoint TEXT NOT NULL, public_key BLOB, clients INTEGER NOT NULL, "
			     "last_seen INTEGER NOT NULL);"
			     "INSERT INTO peers VALUES('0123456789abcdef', zeroblob(32), 'old', '1', "
			     "zeroblob(32), 'unknown', 'unknown', 'unknown', '[]', '', 1, "
			     "strftime('%s','now'));"
			     "PRAGMA user_version = 1;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	chmod(path, 0644);
	c = open_at(path);
	ctl_core_close(c);
	assert_int_equal(count("PRAGMA user_version"), 2);
	assert_int_equal(count("SELECT COUNT(*) FROM peers"), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM secrets WHERE length(value) = 64"), 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
