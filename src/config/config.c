/*
 * config: the settings database (see config.h). The file is created before
 * SQLite opens it, so its mode is ours (0600), not the umask's; SQLite gives
 * its journal the same mode.
 *
 * Invariants: cfg->values[i] always holds a valid canonical value of
 * config_defs[i]; memory changes only after the database accepted the write,
 * and the database is written only for a value that passed validation, so a
 * refused value leaves both untouched. Schema changes run in one transaction
 * with the version bump: a crash mid-migration leaves the old version whole.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config/config_internal.h"
#include "log/log.h"
#include "util/time.h"

#define CONFIG_BUSY_TIMEOUT_MS 5000
/* A settings write slower than this is worth a warning (slow or busy disk). */
#define CONFIG_SLOW_WRITE_MS 200

struct config {
	sqlite3 *db;
	char *path;
	char *values[]; /* config_ndefs entries, canonical, owned */
};

/* migrations[v] takes the schema from version v to v + 1. */
static const char *const config_migrations[] = {
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER)",
	/* 2: broadcast_forward became lan_discovery (same meaning, now built). */
	"UPDATE settings SET key = 'lan_discovery' WHERE key = 'broadcast_forward'",
	/* 3: control_listen and relay_listen were server flags, never read by the daemon. */
	"DELETE FROM settings WHERE key IN ('control_listen', 'relay_listen')",
};
_Static_assert(sizeof(config_migrations) / sizeof(config_migrations[0]) == CONFIG_SCHEMA_VERSION,
	       "one migration per schema version");

const char *config_type_name(enum config_type type)
{
	static const char *const names[] = {
		[CONFIG_BOOL] = "bool",	    [CONFIG_INT] = "int",   [CONFIG_STRING] = "string",
		[CONFIG_ENUM] = "enum",	    [CONFIG_ENDPOINT] = "endpoint",
		[CONFIG_CIDR] = "cidr",	    [CONFIG_URL] = "url",
	};

	return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* Creates dir and its missing parents, each 0700. Existing ones are left alone. */
static int config_mkdirs(const char *dir)
{
	char *p = strdup(dir);
	struct stat st;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		bool last = !*s;

		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST) {
			rc = -errno;
			log_error("config", "cannot create %s: %s", p, strerror(errno));
			goto out;
		}
		if (last)
			break;
		*s = '/';
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		log_error("config", "state directory %s is not a directory", dir);
		goto out;
	}
	if (st.st_mode & 022)
		log_warn("config", "state directory %s is writable by others (mode %03o)", dir,
			 st.st_mode & 0777);
out:
	free(p);
	return rc;
}

/* Makes sure path is a regular file of mode 0600 before SQLite touches it. */
static int config_create_file(const char *path)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		log_error("config", "cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		log_error("config", "%s is not a regular file", path);
	} else if ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600)) {
		rc = -errno;
		log_error("config", "cannot make %s mode 0600: %s", path, strerror(errno));
	}
	close(fd);
	return rc;
}

static int config_exec(struct config *cfg, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(cfg->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	log_error("config", "%s: %s", cfg->path, msg ? msg : sqlite3_errmsg(cfg->db));
	sqlite3_free(msg);
	return -EIO;
}

static int config_user_version(struct config *cfg, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(cfg->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		log_error("config", "%s: %s", cfg->path, sqlite3_errmsg(cfg->db));
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int config_migrate(struct config *cfg, int from)
{
	char sql[48];
	int rc = 0;

	if (from < 0 || from > CONFIG_SCHEMA_VERSION) {
		log_error("config", "%s has schema version %d, newer than this lanrage knows (%d); "
			  "upgrade lanrage or use another state directory", cfg->path, from,
			  CONFIG_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	for (int v = from; v < CONFIG_SCHEMA_VERSION && !rc; v++)
		rc = config_exec(cfg, config_migrations[v]);
	if (rc || from == CONFIG_SCHEMA_VERSION)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", CONFIG_SCHEMA_VERSION);
	rc = config_exec(cfg, sql);
	if (!rc && from)
		log_info("config", "%s: schema migrated from version %d to %d", cfg->path, from,
			 CONFIG_SCHEMA_VERSION);
	return rc;
}

/* Stores key=value; with only_missing, an existing row is left as it is. */
static int config_write(struct config *cfg, const char *key, const char *value, bool only_missing)
{
	static const char upsert[] = "INSERT INTO settings (key, value, updated_at) "
				     "VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE "
				     "SET value = excluded.value, updated_at = excluded.updated_at";
	static const char insert[] = "INSERT OR IGNORE INTO settings (key, value, updated_at) "
				     "VALUES (?1, ?2, ?3)";
	struct log_timer t = log_timer_start("config", "settings write");
	sqlite3_stmt *st = NULL;
	uint64_t now;
	uint32_t ns;
	int rc = -EIO;

	time_wall(&now, &ns);
	if (sqlite3_prepare_v2(cfg->db, only_missing ? insert : upsert, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)now) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		log_error("config", "%s: cannot store %s: %s", cfg->path, key,
			  sqlite3_errmsg(cfg->db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	log_timer_end(&t, CONFIG_SLOW_WRITE_MS);
	return rc;
}

/* Migrates and stores missing defaults in one transaction. */
static int config_prepare_db(struct config *cfg)
{
	int version, rc;

	rc = config_exec(cfg, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = config_user_version(cfg, &version);
	if (!rc)
		rc = config_migrate(cfg, version);
	for (size_t i = 0; i < config_ndefs && !rc; i++)
		rc = config_write(cfg, config_defs[i].key, config_defs[i].def, true);
	if (!rc)
		return config_exec(cfg, "COMMIT");
	sqlite3_exec(cfg->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Reads every stored value; a bad one is reported and its default used (the row is kept
 * for the user to fix: nothing is lost). Unknown keys are left alone. */
static int config_load(struct config *cfg)
{
	sqlite3_stmt *st = NULL;
	int step, rc = -EIO;

	if (sqlite3_prepare_v2(cfg->db, "SELECT key, value FROM settings", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *value = (const char *)sqlite3_column_text(st, 1);
		const struct config_def *d = config_def_find(key);
		char canon[CONFIG_VALUE_MAX], err[CONFIG_ERR_MAX];
		char **slot;

		if (!d)
			continue;
		slot = &cfg->values[d - config_defs];
		if (config_validate(d, value, canon, err, sizeof(err))) {
			log_warn("config", "%s: stored %s; using the default '%s'", cfg->path, err,
				 d->def);
			continue;
		}
		free(*slot);
		*slot = strdup(canon);
		if (!*slot) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (step == SQLITE_DONE)
		rc = 0;
out:
	if (rc == -EIO)
		log_error("config", "%s: cannot read settings: %s", cfg->path,
			  sqlite3_errmsg(cfg->db));
	sqlite3_finalize(st);
	return rc;
}

int config_open(const char *state_dir, struct config **out)
{
	struct config *cfg;
	int rc;

	*out = NULL;
	if (!state_dir || !*state_dir) {
		log_error("config", "no state directory given");
		return -EINVAL;
	}
	cfg = calloc(1, sizeof(*cfg) + config_ndefs * sizeof(cfg->values[0]));
	if (!cfg || asprintf(&cfg->path, "%s/%s", state_dir, CONFIG_DB_FILE) < 0) {
		free(cfg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < config_ndefs; i++) {
		cfg->values[i] = strdup(config_defs[i].def);
		if (!cfg->values[i]) {
			rc = -ENOMEM;
			goto err;
		}
	}
	rc = config_mkdirs(state_dir);
	if (!rc)
		rc = config_create_file(cfg->path);
	if (rc)
		goto err;
	if (sqlite3_open_v2(cfg->path, &cfg->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		log_error("config", "%s: %s", cfg->path,
			  cfg->db ? sqlite3_errmsg(cfg->db) : "cannot open");
		rc = -EIO;
		goto err;
	}
	sqlite3_busy_timeout(cfg->db, CONFIG_BUSY_TIMEOUT_MS);
	rc = config_prepare_db(cfg);
	if (!rc)
		rc = config_load(cfg);
	if (rc)
		goto err;
	*out = cfg;
	return 0;
err:
	config_close(cfg);
	return rc;
}

void config_close(struct config *cfg)
{
	if (!cfg)
		return;
	sqlite3_close_v2(cfg->db);
	for (size_t i = 0; i < config_ndefs; i++)
		free(cfg->values[i]);
	free(cfg->path);
	free(cfg);
}

const char *config_get(const struct config *cfg, const char *key)
{
	const struct config_def *d = config_def_find(key);

	return d ? cfg->values[d - config_defs] : NULL;
}

static int config_typed(const struct config *cfg, const char *key, enum config_type type,
			const char **value)
{
	const struct config_def *d = config_def_find(key);

	if (!d)
		return -ENOENT;
	if (d->type != type)
		return -EINVAL;
	*value = cfg->values[d - config_defs];
	return 0;
}

int config_get_int(const struct config *cfg, const char *key, int64_t *out)
{
	const char *v;
	int rc = config_typed(cfg, key, CONFIG_INT, &v);

	if (!rc)
		*out = strtoll(v, NULL, 10); /* canonical: always a valid in-range number */
	return rc;
}

int config_get_bool(const struct config *cfg, const char *key, bool *out)
{
	const char *v;
	int rc = config_typed(cfg, key, CONFIG_BOOL, &v);

	if (!rc)
		*out = !strcmp(v, "true");
	return rc;
}

/* not_above / not_below: the pair's other half as it is now. */
static int config_check_related(const struct config *cfg, const struct config_def *d,
				const char *canon, char *err, size_t errlen)
{
	long long v = strtoll(canon, NULL, 10), other;

	if (d->not_above) {
		other = strtoll(config_get(cfg, d->not_above), NULL, 10);
		if (v > other) {
			snprintf(err, errlen, "%s: must not exceed %s (now %lld)", d->key,
				 d->not_above, other);
			return -EINVAL;
		}
	}
	if (d->not_below) {
		other = strtoll(config_get(cfg, d->not_below), NULL, 10);
		if (v < other) {
			snprintf(err, errlen, "%s: must not be below %s (now %lld)", d->key,
				 d->not_below, other);
			return -EINVAL;
		}
	}
	return 0;
}

static int config_store(struct config *cfg, const struct config_def *d, const char *value,
			char *err, size_t errlen)
{
	char canon[CONFIG_VALUE_MAX], *copy;
	char **slot = &cfg->values[d - config_defs];
	int rc;

	rc = config_validate(d, value, canon, err, errlen);
	if (!rc)
		rc = config_check_related(cfg, d, canon, err, errlen);
	if (rc || !strcmp(canon, *slot))
		return rc;
	copy = strdup(canon);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", d->key);
		return -ENOMEM;
	}
	rc = config_write(cfg, d->key, canon, false);
	if (rc) {
		snprintf(err, errlen, "%s: could not save the settings database (see the log)",
			 d->key);
		free(copy);
		return rc;
	}
	free(*slot);
	*slot = copy;
	log_kv(LOG_INFO, "config", "setting changed", LOG_STR("key", d->key),
	       LOG_STR("value", canon));
	return 0;
}

static const struct config_def *config_find_or_err(const char *key, char *err, size_t errlen)
{
	const struct config_def *d = config_def_find(key);
	bool printable = key && strlen(key) <= 64;

	for (const char *p = key; printable && *p; p++)
		printable = *p >= 0x20 && *p <= 0x7e;
	if (!d)
		snprintf(err, errlen, "unknown setting%s%s%s", printable ? " '" : "",
			 printable ? key : "", printable ? "'" : "");
	return d;
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	char dummy[CONFIG_ERR_MAX];
	const struct config_def *d;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	d = config_find_or_err(key, err, errlen);
	return d ? config_store(cfg, d, value, err, errlen) : -ENOENT;
}

int config_reset(struct config *cfg, const char *key, char *err, size_t errlen)
{
	const struct config_def *d = config_def_find(key);

	return config_set(cfg, key, d ? d->def : NULL, err, errlen);
}

int config_reset_all(struct config *cfg, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < config_ndefs && !rc; i++)
		rc = config_reset(cfg, config_defs[i].key, err, errlen);
	return rc;
}

static void config_info_fill(const struct config *cfg, const struct config_def *d,
			     struct config_info *out)
{
	*out = (struct config_info){
		.key = d->key,
		.type = d->type,
		.def = d->def,
		.allowed = d->allowed,
		.description = d->description,
		.value = cfg ? cfg->values[d - config_defs] : NULL,
		.live = d->flags & CONFIG_F_LIVE,
	};
}

int config_describe(const struct config *cfg, const char *key, struct config_info *out)
{
	const struct config_def *d = config_def_find(key);

	if (!d)
		return -ENOENT;
	config_info_fill(cfg, d, out);
	return 0;
}

int config_list(const struct config *cfg, int (*fn)(const struct config_info *info, void *arg),
		void *arg)
{
	struct config_info info;
	int rc;

	for (size_t i = 0; i < config_ndefs; i++) {
		config_info_fill(cfg, &config_defs[i], &info);
		rc = fn(&info, arg);
		if (rc)
			return rc;
	}
	return 0;
}
