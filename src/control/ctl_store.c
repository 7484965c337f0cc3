/*
 * ctl_store: SQLite persistence for the control core; see ctl_store.h.
 *
 * Invariants:
 * - `batch` is true exactly while a BEGIN is open; every write runs inside a
 *   request savepoint inside that transaction;
 * - members(party_id, virtual_ip) is UNIQUE, so the database itself refuses
 *   two members with one address even if memory were wrong;
 * - prepared statements are made once and reset after every use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "control/ctl_store.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "util/time.h"

#define MOD "ctl-store"

enum ctl_stmt {
	S_PEER_PUT,
	S_PEER_SEEN,
	S_PARTY_PUT,
	S_PARTY_DEL,
	S_PARTY_DEL_MEMBERS,
	S_PARTY_DEL_ADDRS,
	S_MEMBER_PUT,
	S_MEMBER_DEL,
	S_ADDR_PUT,
	S_RELAY_PUT,
	S_RELAY_DEL,
	S_PEER_DEL,
	S_PEER_DEL_MEMBER,
	S_PEER_DEL_ADDRS,
	S_SECRET_GET,
	S_SECRET_PUT,
	S_COUNT,
};

static const char *const ctl_stmt_sql[S_COUNT] = {
	[S_PEER_PUT] = "INSERT OR REPLACE INTO peers(peer_id, public_key, name, version, "
		       "token_hash, nat_type, nat_mapping, nat_filtering, endpoints, relay, "
		       "created_at, last_seen) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_PEER_SEEN] = "UPDATE peers SET last_seen = ? WHERE peer_id = ?",
	[S_PARTY_PUT] = "INSERT OR REPLACE INTO parties(party_id, name, host_peer_id, created_at, "
			"max_members) VALUES(?,?,?,?,?)",
	[S_PARTY_DEL] = "DELETE FROM parties WHERE party_id = ?",
	[S_PARTY_DEL_MEMBERS] = "DELETE FROM members WHERE party_id = ?",
	[S_PARTY_DEL_ADDRS] = "DELETE FROM addresses WHERE party_id = ?",
	[S_MEMBER_PUT] = "INSERT INTO members(party_id, peer_id, virtual_ip, joined_at) "
			 "VALUES(?,?,?,?)",
	[S_MEMBER_DEL] = "DELETE FROM members WHERE peer_id = ?",
	[S_ADDR_PUT] = "INSERT OR REPLACE INTO addresses(party_id, public_key, virtual_ip) "
		       "VALUES(?,?,?)",
	[S_RELAY_PUT] = "INSERT OR REPLACE INTO relays(relay_id, name, endpoint, public_key, "
			"clients, last_seen) VALUES(?,?,?,?,?,?)",
	[S_RELAY_DEL] = "DELETE FROM relays WHERE relay_id = ?",
	[S_PEER_DEL] = "DELETE FROM peers WHERE peer_id = ?",
	[S_PEER_DEL_MEMBER] = "DELETE FROM members WHERE peer_id = ?",
	[S_PEER_DEL_ADDRS] = "DELETE FROM addresses WHERE public_key = ?",
	[S_SECRET_GET] = "SELECT value FROM secrets WHERE name = ?",
	[S_SECRET_PUT] = "INSERT OR REPLACE INTO secrets(name, value) VALUES(?,?)",
};

static const char ctl_schema_v1[] =
	"CREATE TABLE peers(peer_id TEXT PRIMARY KEY, public_key BLOB NOT NULL UNIQUE,"
	" name TEXT NOT NULL, version TEXT NOT NULL, token_hash BLOB NOT NULL,"
	" nat_type TEXT NOT NULL, nat_mapping TEXT NOT NULL, nat_filtering TEXT NOT NULL,"
	" endpoints TEXT NOT NULL, relay TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL);"
	"CREATE TABLE parties(party_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" host_peer_id TEXT NOT NULL, created_at INTEGER NOT NULL, max_members INTEGER NOT NULL);"
	"CREATE TABLE members(peer_id TEXT PRIMARY KEY, party_id TEXT NOT NULL,"
	" virtual_ip INTEGER NOT NULL, joined_at INTEGER NOT NULL, UNIQUE(party_id, virtual_ip));"
	"CREATE TABLE addresses(party_id TEXT NOT NULL, public_key BLOB NOT NULL,"
	" virtual_ip INTEGER NOT NULL, PRIMARY KEY(party_id, public_key));"
	"CREATE TABLE relays(relay_id TEXT PRIMARY KEY, name TEXT NOT NULL, endpoint TEXT NOT NULL,"
	" public_key BLOB, clients INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
	"PRAGMA user_version = 1;";

/* Version 2: the server's own secrets (the relay ticket key) and an index
 * for garbage collection of peers never seen for long. */
static const char ctl_schema_v2[] =
	"CREATE TABLE secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE INDEX addresses_key ON addresses(public_key);"
	"PRAGMA user_version = 2;";

struct ctl_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	bool batch;
	uint64_t batch_start_ns;
};

static int ctl_store_sql(struct ctl_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error(MOD, "%s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int ctl_store_user_version(struct ctl_store *st, int *v)
{
	sqlite3_stmt *s = NULL;
	int ret = -EIO;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		*v = sqlite3_column_int(s, 0);
		ret = 0;
	}
	sqlite3_finalize(s);
	return ret;
}

static int ctl_store_migrate(struct ctl_store *st)
{
	int v, ret;

	ret = ctl_store_user_version(st, &v);
	if (ret)
		return ret;
	if (v == CTL_STORE_SCHEMA_VERSION)
		return 0;
	if (v != 0 && v != 1) {
		log_error(MOD, "database schema version %d is not %d", v, CTL_STORE_SCHEMA_VERSION);
		return -EIO;
	}
	ret = ctl_store_sql(st, "BEGIN");
	if (ret)
		return ret;
	if (v == 0)
		ret = ctl_store_sql(st, ctl_schema_v1);
	if (!ret)
		ret = ctl_store_sql(st, ctl_schema_v2);
	if (ret) {
		ctl_store_sql(st, "ROLLBACK");
		return ret;
	}
	return ctl_store_sql(st, "COMMIT");
}

/* The database holds token hashes and the relay ticket key: owner only.
 * SQLite creates the -wal and -shm files with the database's mode. */
static void ctl_store_private(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat sb;
	int fd;

	if (!strcmp(path, ":memory:") || !path[0] || !strncmp(path, "file:", 5))
		return;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
			return;
		fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (i ? 0 : O_CREAT), 0600);
		if (fd < 0)
			continue;
		if (!fstat(fd, &sb) && (sb.st_mode & 077) && fchmod(fd, sb.st_mode & 0700))
			log_warn(MOD, "cannot make %s private: %s", p, strerror(errno));
		close(fd);
	}
}

int ctl_store_open(const char *path, struct ctl_store **out)
{
	struct ctl_store *st = calloc(1, sizeof(*st));
	int ret = -EIO;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	ctl_store_private(path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_error(MOD, "cannot open %s: %s", path,
			  st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto err;
	}
	sqlite3_busy_timeout(st->db, 2000);
	/* WAL: readers (backups, sqlite3 shell) never block the server; NORMAL
	 * sync in WAL mode loses no committed data on a process crash. */
	if (ctl_store_sql(st, "PRAGMA journal_mode = WAL") ||
	    ctl_store_sql(st, "PRAGMA synchronous = NORMAL") || ctl_store_migrate(st))
		goto err;
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, ctl_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK) {
			log_error(MOD, "prepare: %s", sqlite3_errmsg(st->db));
			goto err;
		}
	}
	*out = st;
	return 0;
err:
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
	return ret;
}

void ctl_store_close(struct ctl_store *st)
{
	if (!st)
		return;
	ctl_store_commit(st);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

int ctl_store_req_begin(struct ctl_store *st)
{
	if (!st->batch) {
		if (ctl_store_sql(st, "BEGIN"))
			return -EIO;
		st->batch = true;
		st->batch_start_ns = time_mono_ns();
	}
	return ctl_store_sql(st, "SAVEPOINT req");
}

int ctl_store_req_end(struct ctl_store *st, bool ok)
{
	if (ok)
		return ctl_store_sql(st, "RELEASE req");
	if (ctl_store_sql(st, "ROLLBACK TO req"))
		return -EIO;
	return ctl_store_sql(st, "RELEASE req");
}

int ctl_store_commit(struct ctl_store *st)
{
	int ret;

	if (!st->batch)
		return 0;
	ret = ctl_store_sql(st, "COMMIT");
	if (ret) {
		/* Memory stays authoritative; the next batch writes whole rows
		 * again for what changes next, but this batch is lost. */
		log_error(MOD, "batch lost");
		ctl_store_sql(st, "ROLLBACK");
	}
	st->batch = false;
	return ret;
}

bool ctl_store_pending(const struct ctl_store *st)
{
	return st->batch;
}

uint64_t ctl_store_batch_start(const struct ctl_store *st)
{
	return st->batch_start_ns;
}

/* Binds by a format ('s' text, 'i' int64, 'k' 32-byte blob, 'K' blob or
 * NULL: a pointer that may be NULL, 'b' a blob and its size_t length) and
 * steps one statement. */
static int ctl_store_run(struct ctl_store *st, enum ctl_stmt which, const char *fmt, ...)
{
	sqlite3_stmt *s = st->stmt[which];
	va_list ap;
	int rc = SQLITE_OK, ret = 0, i = 1;

	va_start(ap, fmt);
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		const void *blob;

		switch (*f) {
		case 's':
			rc = sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		case 'k':
		case 'K':
			blob = va_arg(ap, const void *);
			rc = blob ? sqlite3_bind_blob(s, i, blob, 32, SQLITE_STATIC)
				  : sqlite3_bind_null(s, i);
			break;
		case 'b':
			blob = va_arg(ap, const void *);
			rc = sqlite3_bind_blob(s, i, blob, (int)va_arg(ap, size_t), SQLITE_STATIC);
			break;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		log_error(MOD, "%s: %s", ctl_stmt_sql[which], sqlite3_errmsg(st->db));
		ret = -EIO;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int ctl_store_peer_put(struct ctl_store *st, const struct ctl_peer_rec *p)
{
	json_t *eps = json_array();
	char *text = NULL;
	int ret = -EIO;

	for (size_t i = 0; eps && i < p->n_endpoints; i++)
		if (json_array_append_new(eps, json_string(p->endpoints[i])))
			goto out;
	text = eps ? json_dumps(eps, JSON_COMPACT) : NULL;
	if (!text)
		goto out;
	ret = ctl_store_run(st, S_PEER_PUT, "skssksssssii", p->id, p->public_key, p->name,
			    p->version, p->token_hash, p->nat.type, p->nat.mapping,
			    p->nat.filtering, text, p->relay, p->created_at, p->last_seen_stored);
out:
	free(text);
	json_decref(eps);
	return ret;
}

int ctl_store_peer_seen(struct ctl_store *st, const char *peer_id, int64_t last_seen)
{
	return ctl_store_run(st, S_PEER_SEEN, "is", last_seen, peer_id);
}

int ctl_store_party_put(struct ctl_store *st, const struct ctl_party_rec *p)
{
	return ctl_store_run(st, S_PARTY_PUT, "sssii", p->id, p->name, p->host, p->created_at,
			     (int64_t)p->max_members);
}

int ctl_store_party_del(struct ctl_store *st, const char *party_id)
{
	if (ctl_store_run(st, S_PARTY_DEL_MEMBERS, "s", party_id) ||
	    ctl_store_run(st, S_PARTY_DEL_ADDRS, "s", party_id))
		return -EIO;
	return ctl_store_run(st, S_PARTY_DEL, "s", party_id);
}

int ctl_store_member_put(struct ctl_store *st, const char *party_id, const char *peer_id,
			 uint32_t vip, int64_t joined_at)
{
	return ctl_store_run(st, S_MEMBER_PUT, "ssii", party_id, peer_id, (int64_t)vip, joined_at);
}

int ctl_store_member_del(struct ctl_store *st, const char *peer_id)
{
	return ctl_store_run(st, S_MEMBER_DEL, "s", peer_id);
}

int ctl_store_address_put(struct ctl_store *st, const char *party_id, const uint8_t key[32],
			  uint32_t vip)
{
	return ctl_store_run(st, S_ADDR_PUT, "ski", party_id, key, (int64_t)vip);
}

int ctl_store_relay_put(struct ctl_store *st, const struct ctl_relay_rec *r)
{
	return ctl_store_run(st, S_RELAY_PUT, "sssKii", r->info.relay_id, r->info.name, r->info.endpoint,
			     r->info.has_public_key ? r->info.public_key : NULL, (int64_t)r->info.clients,
			     r->info.last_seen);
}

int ctl_store_relay_del(struct ctl_store *st, const char *relay_id)
{
	return ctl_store_run(st, S_RELAY_DEL, "s", relay_id);
}

int ctl_store_peer_del(struct ctl_store *st, const char *peer_id, const uint8_t key[32])
{
	if (ctl_store_run(st, S_PEER_DEL_MEMBER, "s", peer_id) ||
	    ctl_store_run(st, S_PEER_DEL_ADDRS, "k", key))
		return -EIO;
	return ctl_store_run(st, S_PEER_DEL, "s", peer_id);
}

int ctl_store_secret_put(struct ctl_store *st, const char *name, const uint8_t *value, size_t len)
{
	return ctl_store_run(st, S_SECRET_PUT, "sb", name, value, len);
}

int ctl_store_secret_get(struct ctl_store *st, const char *name, uint8_t *out, size_t len)
{
	sqlite3_stmt *s = st->stmt[S_SECRET_GET];
	int rc, ret = -EIO;

	if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) == SQLITE_BLOB &&
		    (size_t)sqlite3_column_bytes(s, 0) == len) {
			memcpy(out, sqlite3_column_blob(s, 0), len);
			ret = 0;
		} else {
			log_error(MOD, "secret %s has the wrong size", name);
		}
	} else {
		log_error(MOD, "%s: %s", ctl_stmt_sql[S_SECRET_GET], sqlite3_errmsg(st->db));
	}
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* Loading. Rows that do not fit the limits the protocol enforces mean a
 * database written by something else: refuse it (-EIO) rather than guess. */

static int ctl_col_text(sqlite3_stmt *s, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;

	if (!t || n >= cap || strlen((const char *)t) != n)
		return -EIO;
	memcpy(out, t, n + 1);
	return 0;
}

static int ctl_col_key(sqlite3_stmt *s, int col, uint8_t out[32])
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB || sqlite3_column_bytes(s, col) != 32)
		return -EIO;
	memcpy(out, sqlite3_column_blob(s, col), 32);
	return 0;
}

static int ctl_col_endpoints(sqlite3_stmt *s, int col, struct ctl_peer_rec *p)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	json_t *a = t ? json_loads(t, 0, NULL) : NULL, *e;
	size_t i;
	int ret = -EIO;

	if (!json_is_array(a) || json_array_size(a) > CTL_MAX_ENDPOINTS)
		goto out;
	json_array_foreach (a, i, e) {
		if (!json_is_string(e) || json_string_length(e) >= CTL_ENDPOINT_LEN)
			goto out;
		memcpy(p->endpoints[i], json_string_value(e), json_string_length(e) + 1);
	}
	p->n_endpoints = json_array_size(a);
	ret = 0;
out:
	json_decref(a);
	return ret;
}

static int ctl_load_peer(sqlite3_stmt *s, struct ctl_core *c)
{
	struct ctl_peer_rec *p = calloc(1, sizeof(*p));
	int64_t age;
	int ret = -EIO;

	if (!p)
		return -ENOMEM;
	if (ctl_col_text(s, 0, p->id, sizeof(p->id)) || ctl_col_key(s, 1, p->public_key) ||
	    ctl_col_text(s, 2, p->name, sizeof(p->name)) ||
	    ctl_col_text(s, 3, p->version, sizeof(p->version)) ||
	    ctl_col_key(s, 4, p->token_hash) ||
	    ctl_col_text(s, 5, p->nat.type, sizeof(p->nat.type)) ||
	    ctl_col_text(s, 6, p->nat.mapping, sizeof(p->nat.mapping)) ||
	    ctl_col_text(s, 7, p->nat.filtering, sizeof(p->nat.filtering)) ||
	    ctl_col_endpoints(s, 8, p) || ctl_col_text(s, 9, p->relay, sizeof(p->relay)))
		goto err;
	p->created_at = sqlite3_column_int64(s, 10);
	p->last_seen = p->last_seen_stored = sqlite3_column_int64(s, 11);
	/* Placed on the GC clock as long ago as the store says it was seen. */
	age = ctl_core_unix() - p->last_seen;
	p->seen_ns = (int64_t)time_mono_ns() -
		     (age > 0 ? (age < INT32_MAX ? age : INT32_MAX) : 0) * (int64_t)TIME_NS_PER_SEC;
	ret = ctl_core_peer_index(c, p);
	if (ret)
		goto err;
	return 0;
err:
	crypto_wipe(p, sizeof(*p));
	free(p);
	return ret;
}

static int ctl_load_party(sqlite3_stmt *s, struct ctl_core *c)
{
	struct ctl_party_rec *p;
	char id[CTL_CODE_SYMBOLS + 1];
	int64_t max;

	if (ctl_col_text(s, 0, id, sizeof(id)))
		return -EIO;
	max = sqlite3_column_int64(s, 4);
	if (max < 2 || max > CTL_LIMIT_MAX_MEMBERS)
		return -EIO;
	p = ctl_party_new(c, id);
	if (!p)
		return -ENOMEM;
	p->max_members = (uint32_t)max;
	p->created_at = sqlite3_column_int64(s, 3);
	if (ctl_col_text(s, 1, p->name, sizeof(p->name)) ||
	    ctl_col_text(s, 2, p->host, sizeof(p->host)))
		return -EIO; /* the party is freed with the core */
	return 0;
}

static int ctl_load_member(sqlite3_stmt *s, struct ctl_core *c)
{
	char peer_id[CTL_HEXID_LEN + 1], party_id[CTL_CODE_SYMBOLS + 1] = "";
	struct ctl_peer_rec *peer;
	struct ctl_party_rec *party;
	int64_t vip = sqlite3_column_int64(s, 2);

	if (ctl_col_text(s, 0, peer_id, sizeof(peer_id)) ||
	    ctl_col_text(s, 1, party_id, sizeof(party_id)))
		return -EIO;
	peer = ctl_map_get(&c->peers_by_id, peer_id, CTL_HEXID_LEN);
	party = ctl_map_get(&c->parties, party_id, CTL_CODE_SYMBOLS);
	if (!peer || !party || peer->party || vip < 0 || vip > UINT32_MAX ||
	    !ctl_ipam_in_subnet(&party->ipam, (uint32_t)vip) ||
	    party->n_members >= party->max_members) {
		char text[CTL_CODE_TEXT + 1];

		ctl_code_format(party_id, text);
		log_warn(MOD, "dropping stale member %s of %s", peer_id, text);
		return 0; /* subnet changed or rows left over: not fatal */
	}
	return ctl_party_add_member(c, party, peer, (uint32_t)vip, sqlite3_column_int64(s, 3));
}

static int ctl_load_address(sqlite3_stmt *s, struct ctl_core *c)
{
	char party_id[CTL_CODE_SYMBOLS + 1];
	struct ctl_party_rec *party;
	uint8_t key[32];
	int64_t vip = sqlite3_column_int64(s, 2);

	if (ctl_col_text(s, 0, party_id, sizeof(party_id)) || ctl_col_key(s, 1, key))
		return -EIO;
	party = ctl_map_get(&c->parties, party_id, CTL_CODE_SYMBOLS);
	if (!party || vip < 0 || vip > UINT32_MAX)
		return 0;
	return ctl_ipam_remember(&party->ipam, key, (uint32_t)vip);
}

static int ctl_load_relay(sqlite3_stmt *s, struct ctl_core *c)
{
	struct ctl_relay_rec *r = calloc(1, sizeof(*r));
	int ret = -EIO;

	if (!r)
		return -ENOMEM;
	if (ctl_col_text(s, 0, r->info.relay_id, sizeof(r->info.relay_id)) ||
	    ctl_col_text(s, 1, r->info.name, sizeof(r->info.name)) ||
	    ctl_col_text(s, 2, r->info.endpoint, sizeof(r->info.endpoint)))
		goto err;
	if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
		if (ctl_col_key(s, 3, r->info.public_key))
			goto err;
		r->info.has_public_key = true;
	}
	r->info.clients = (uint64_t)sqlite3_column_int64(s, 4);
	r->info.last_seen = sqlite3_column_int64(s, 5);
	ret = ctl_core_relay_index(c, r);
	if (ret)
		goto err;
	return 0;
err:
	free(r);
	return ret;
}

static int ctl_load_rows(struct ctl_store *st, struct ctl_core *c, const char *sql,
			 int (*row)(sqlite3_stmt *s, struct ctl_core *c))
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_error(MOD, "%s: %s", sql, sqlite3_errmsg(st->db));
		return -EIO;
	}
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = row(s, c);
	if (!ret && rc != SQLITE_DONE) {
		log_error(MOD, "%s: %s", sql, sqlite3_errmsg(st->db));
		ret = -EIO;
	} else if (ret == -EIO) {
		log_error(MOD, "malformed row in: %s", sql);
	}
	sqlite3_finalize(s);
	return ret;
}

int ctl_store_load(struct ctl_store *st, struct ctl_core *c)
{
	int ret;

	ret = ctl_load_rows(st, c,
			    "SELECT peer_id, public_key, name, version, token_hash, nat_type, "
			    "nat_mapping, nat_filtering, endpoints, relay, created_at, last_seen "
			    "FROM peers ORDER BY last_seen, rowid",
			    ctl_load_peer);
	if (!ret)
		ret = ctl_load_rows(st, c,
				    "SELECT party_id, name, host_peer_id, created_at, max_members "
				    "FROM parties",
				    ctl_load_party);
	/* joined_at order keeps the member lists in join order. */
	if (!ret)
		ret = ctl_load_rows(st, c,
				    "SELECT peer_id, party_id, virtual_ip, joined_at FROM members "
				    "ORDER BY joined_at, rowid",
				    ctl_load_member);
	if (!ret)
		ret = ctl_load_rows(st, c,
				    "SELECT party_id, public_key, virtual_ip FROM addresses",
				    ctl_load_address);
	if (!ret)
		ret = ctl_load_rows(st, c,
				    "SELECT relay_id, name, endpoint, public_key, clients, last_seen "
				    "FROM relays",
				    ctl_load_relay);
	return ret;
}
