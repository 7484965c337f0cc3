/*
 * config: the daemon's settings, kept in SQLite (`lanrage.db` in the state
 * directory, table settings(key, value, updated_at), schema version in
 * PRAGMA user_version).
 *
 * Every setting is declared once in a static table (config_defs.c) with its
 * type, default, allowed values and a one-line description; docs/SETTINGS.md
 * lists them. Values are stored and returned in canonical form ("TRUE" is
 * stored as "true", "[0::1]:80" as "[::1]:80").
 *
 * Invariants: a value that fails validation changes nothing, in memory or on
 * disk; every key of the table has a valid value after config_open (a bad
 * value found in the file is reported and its default used, the row left as
 * it was); a database with a newer schema than this build knows is refused.
 *
 * Threading: none inside; its owner serialises every call (the
 * PartyManager holds its config_lock), and a string config_get returned
 * lives until the next config_set. Settings hold no secrets.
 */
#ifndef LR_CONFIG_H
#define LR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DB_FILE "lanrage.db"
#define CONFIG_SCHEMA_VERSION 3
/* Longest value, including the NUL. */
#define CONFIG_VALUE_MAX 1024
/* A buffer this size holds any error message config_set writes. */
#define CONFIG_ERR_MAX 256

enum config_type {
	CONFIG_BOOL,	 /* true|false (also yes/no, on/off, 1/0 on input) */
	CONFIG_INT,	 /* decimal integer in [min, max] */
	CONFIG_STRING,	 /* free text checked by the setting's own rule */
	CONFIG_ENUM,	 /* one of a fixed list of words */
	CONFIG_ENDPOINT, /* IPv4:PORT or [IPv6]:PORT, numeric */
	CONFIG_CIDR,	 /* IPv4 network ADDR/PREFIX, host bits zero */
	CONFIG_URL,	 /* wss:// or ws:// URL */
};

struct config;

/* One setting as config_list and config_describe show it. The strings are the
 * table's, or the config's current value (valid until that key next changes). */
struct config_info {
	const char *key;
	enum config_type type;
	const char *def;
	const char *allowed; /* human-readable: "1280..9000", "text|json", ... */
	const char *description;
	const char *value; /* current; NULL when described without a config */
	bool live;	   /* a running daemon applies a change at once, else at its next start */
};

/* Opens (creating when missing) STATE_DIR/lanrage.db: creates state_dir and its
 * missing parents with mode 0700 and the file with 0600, migrates an older
 * schema, stores the default of every setting not yet stored. Errors are logged.
 * -ENOTSUP: the file's schema is newer than this build. */
int config_open(const char *state_dir, struct config **out);
void config_close(struct config *cfg);

/* The current value in canonical form; NULL for an unknown key. */
const char *config_get(const struct config *cfg, const char *key);
/* -ENOENT: unknown key; -EINVAL: the setting is not of that type. */
int config_get_int(const struct config *cfg, const char *key, int64_t *out);
int config_get_bool(const struct config *cfg, const char *key, bool *out);

/*
 * Validates value for key and stores its canonical form. On failure nothing
 * changes and err (if not NULL) gets one clear line: -ENOENT for an unknown key,
 * -EINVAL for a bad value, -EIO when the database refused the write.
 */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Sets key back to its default (same errors as config_set). Resetting any one
 * setting always passes the cross-setting rules (config_defs.c). */
int config_reset(struct config *cfg, const char *key, char *err, size_t errlen);
/* Every setting back to its default; the first error stops it (the ones
 * before stay reset). */
int config_reset_all(struct config *cfg, char *err, size_t errlen);

/* Describes one setting (cfg may be NULL: no current value). -ENOENT if unknown. */
int config_describe(const struct config *cfg, const char *key, struct config_info *out);
/* Calls fn for every setting in table order until it returns non-zero, which
 * config_list then returns (0 when all were visited). cfg may be NULL. */
int config_list(const struct config *cfg, int (*fn)(const struct config_info *info, void *arg),
		void *arg);
/* "bool", "int", "string", "enum", "endpoint", "cidr", "url". */
const char *config_type_name(enum config_type type);

#endif
