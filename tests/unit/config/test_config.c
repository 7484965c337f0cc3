/*
 * test_config: the settings database in a fresh temporary state directory per
 * test: defaults on a fresh database, every key's valid values (with their
 * canonical forms) and invalid values, the boundaries of every integer
 * setting, a refused value leaving memory and the file byte-for-byte as they
 * were, persistence across reopen, related thresholds, schema versions (fresh,
 * refused when newer), bad stored values, and file modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config/config.h"
#include "config/config_internal.h"

struct fixture {
	char base[64];
	char dir[128];
	char db[160];
	struct config *cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->base, "/tmp/lr-test-config.XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->dir, sizeof(f->dir), "%s/state/lanrage", f->base);
	snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, CONFIG_DB_FILE);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_close(f->cfg);
	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void close_cfg(struct fixture *f)
{
	config_close(f->cfg);
	f->cfg = NULL;
}

static struct config *open_cfg(struct fixture *f)
{
	close_cfg(f);
	assert_int_equal(config_open(f->dir, &f->cfg), 0);
	return f->cfg;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Runs sql on the file directly, as another program (or a user) would. */
static void db_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The stored value of key ("" if no row); caller frees. */
static char *db_value(const char *path, const char *key, long long *updated_at)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value, updated_at FROM settings WHERE key = ?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = strdup((const char *)sqlite3_column_text(st, 0));
		if (updated_at)
			*updated_at = sqlite3_column_int64(st, 1);
	} else {
		v = strdup("");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void assert_stored(const struct fixture *f, const char *key, const char *want)
{
	char *stored = db_value(f->db, key, NULL);

	assert_string_equal(stored, want);
	free(stored);
}

/* The file still holds exactly before[0..len); frees before. */
static void assert_file_is(const char *path, char *before, size_t len)
{
	size_t now_len;
	char *now = slurp(path, &now_len);

	assert_int_equal(now_len, len);
	assert_memory_equal(now, before, len);
	free(now);
	free(before);
}

static int db_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_fresh_defaults(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);

	assert_int_equal(db_int(f->db, "PRAGMA user_version"), CONFIG_SCHEMA_VERSION);
	assert_int_equal(db_int(f->db, "SELECT count(*) FROM settings"), (int)config_ndefs);
	for (size_t i = 0; i < config_ndefs; i++) {
		assert_string_equal(config_get(cfg, config_defs[i].key), config_defs[i].def);
		assert_stored(f, config_defs[i].key, config_defs[i].def);
	}
	/* The DESIGN.md defaults, spelled out. */
	assert_string_equal(config_get(cfg, "interface"), "lanrage0");
	assert_string_equal(config_get(cfg, "mtu"), "1420");
	assert_string_equal(config_get(cfg, "subnet"), "10.66.0.0/16");
	assert_string_equal(config_get(cfg, "listen_port"), "51820");
	assert_string_equal(config_get(cfg, "keepalive"), "25");
	assert_string_equal(config_get(cfg, "api_listen"), "127.0.0.1:8666");
	assert_string_equal(config_get(cfg, "control_server"), "");
	assert_string_equal(config_get(cfg, "log_level"), "info");
	assert_string_equal(config_get(cfg, "log_format"), "text");
	assert_string_equal(config_get(cfg, "peer_timeout"), "90");
	assert_null(config_get(cfg, "no_such_key"));
}

/* Every default is valid and already canonical; every entry is complete. */
static void test_defs_consistent(void **state)
{
	for (size_t i = 0; i < config_ndefs; i++) {
		const struct config_def *d = &config_defs[i];
		char canon[CONFIG_VALUE_MAX], err[CONFIG_ERR_MAX] = "";

		if (config_validate(d, d->def, canon, err, sizeof(err)))
			fail_msg("default of %s invalid: %s", d->key, err);
		assert_string_equal(canon, d->def);
		assert_non_null(d->allowed);
		assert_non_null(d->description);
		assert_true(strlen(d->key) > 0);
		assert_ptr_equal(config_def_find(d->key), d);
		assert_true(d->type != CONFIG_STRING || d->check);
		assert_true(d->type != CONFIG_ENUM || d->words);
	}
}

struct vcase {
	const char *key, *in, *canon;
};

static const struct vcase valid[] = {
	{ "interface", "lanrage0", "lanrage0" },
	{ "interface", "wg-0.a_B", "wg-0.a_B" },
	{ "interface", "abcdefghijklmno", "abcdefghijklmno" },
	{ "mtu", "1280", "1280" },
	{ "mtu", "9000", "9000" },
	{ "mtu", "01500", "1500" },
	{ "subnet", "10.66.0.0/16", "10.66.0.0/16" },
	{ "subnet", "10.0.0.0/8", "10.0.0.0/8" },
	{ "subnet", "192.168.50.0/24", "192.168.50.0/24" },
	{ "subnet", "172.16.0.4/30", "172.16.0.4/30" },
	{ "listen_port", "0", "0" },
	{ "listen_port", "65535", "65535" },
	{ "keepalive", "0", "0" },
	{ "keepalive", "65535", "65535" },
	{ "api_listen", "127.0.0.1:8666", "127.0.0.1:8666" },
	{ "api_listen", "127.1.2.3:1", "127.1.2.3:1" },
	{ "api_listen", "127.0.0.1:65535", "127.0.0.1:65535" },
	{ "api_listen", "[::1]:8666", "[::1]:8666" },
	{ "api_listen", "[0:0::0001]:80", "[::1]:80" },
	{ "control_server", "", "" },
	{ "control_server", "ws://control.example:8667/v1/ws", "ws://control.example:8667/v1/ws" },
	{ "control_server", "WSS://Example.com", "wss://Example.com" },
	{ "control_server", "wss://[2001:db8::1]:443/x?y=1", "wss://[2001:db8::1]:443/x?y=1" },
	{ "control_pin", "", "" },
	{ "control_pin", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	  "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "control_insecure", "yes", "true" },
	{ "control_server", "ws://localhost?x", "ws://localhost?x" },
	{ "log_level", "DEBUG", "debug" },
	{ "log_level", "silent", "silent" },
	{ "log_level", "Warn", "warn" },
	{ "log_format", "json", "json" },
	{ "log_format", "TEXT", "text" },
	{ "peer_timeout", "10", "10" },
	{ "peer_timeout", "3600", "3600" },
	{ "punch_timeout_ms", "60000", "60000" },
	{ "monitor_interval_ms", "100", "100" },
	{ "relay_switch_rtt_ms", "0", "0" },
	{ "upgrade_interval_s", "0", "0" },
	{ "stun_servers", "", "" },
	{ "stun_servers", "stun.example.net:19302", "stun.example.net:19302" },
	{ "stun_servers", "a.example , 192.0.2.1:3478,[2001:db8::1]:3478",
	  "a.example,192.0.2.1:3478,[2001:db8::1]:3478" },
	{ "stun_servers", "x-1.example", "x-1.example" },
	{ "lan_discovery", "off", "false" },
	{ "lan_discovery", "YES", "true" },
	{ "lan_discovery", "0", "false" },
};

struct icase {
	const char *key, *in;
};

static const struct icase invalid[] = {
	{ "interface", "" },
	{ "control_server", "http://10.0.0.1" },
	{ "control_server", "https://control.example" },
	{ "control_pin", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" },
	{ "control_pin", "sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "control_pin", "sha256/!7DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "interface", "abcdefghijklmnop" },
	{ "interface", "wg 0" },
	{ "interface", "wg/0" },
	{ "interface", "wg:0" },
	{ "interface", ".." },
	{ "interface", "caf\xc3\xa9" },
	{ "mtu", "1279" },
	{ "mtu", "9001" },
	{ "mtu", "abc" },
	{ "mtu", "" },
	{ "mtu", "-1" },
	{ "mtu", "+1420" },
	{ "mtu", " 1420" },
	{ "mtu", "1420 " },
	{ "mtu", "1e3" },
	{ "mtu", "0x500" },
	{ "mtu", "14\n20" },
	{ "mtu", "99999999999999999999999" },
	{ "subnet", "10.66.0.1/16" },
	{ "subnet", "10.0.0.0/7" },
	{ "subnet", "10.66.0.0/31" },
	{ "subnet", "10.66.0.0" },
	{ "subnet", "10.66.0/16" },
	{ "subnet", "10.66.0.0/016" },
	{ "subnet", "10.66.0.0/-8" },
	{ "subnet", "10.66.0.0/" },
	{ "subnet", "fd00::/64" },
	{ "subnet", "127.0.0.0/8" },
	{ "subnet", "224.0.0.0/8" },
	{ "subnet", "0.0.0.0/8" },
	{ "listen_port", "65536" },
	{ "listen_port", "-1" },
	{ "keepalive", "65536" },
	{ "api_listen", "0.0.0.0:8666" },
	{ "api_listen", "192.168.1.1:8666" },
	{ "api_listen", "[::]:8666" },
	{ "api_listen", "127.0.0.1" },
	{ "api_listen", "127.0.0.1:0" },
	{ "api_listen", "127.0.0.1:65536" },
	{ "api_listen", "127.0.0.1:" },
	{ "api_listen", "localhost:8666" },
	{ "api_listen", "::1:8666" },
	{ "api_listen", "[::1]" },
	{ "api_listen", "[::1:8666" },
	{ "api_listen", "[::1]x8666" },
	{ "control_server", "ftp://x" },
	{ "control_server", "ws://" },
	{ "control_server", "ws:// host" },
	{ "control_server", "ws://user:pw@host" },
	{ "control_server", "ws://host:0" },
	{ "control_server", "ws://host:99999" },
	{ "control_server", "example.com" },
	{ "control_server", "ws://host#frag" },
	{ "control_server", "ws://bad_host" },
	{ "control_server", "ws://-bad.example" },
	{ "control_server", "ws://999.1.1.1" },
	{ "log_level", "verbose" },
	{ "log_level", "trace" },
	{ "log_level", "" },
	{ "log_format", "xml" },
	{ "peer_timeout", "9" },
	{ "peer_timeout", "3601" },
	{ "stun_servers", "a.example,,b.example" },
	{ "stun_servers", "," },
	{ "stun_servers", "a.example:0" },
	{ "stun_servers", "a.example:70000" },
	{ "stun_servers", "bad host" },
	{ "stun_servers", "999.1.1.1" },
	{ "stun_servers", "[2001:db8::1" },
	{ "stun_servers", "2001:db8::1" },
	{ "stun_servers", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q" },
	{ "lan_discovery", "maybe" },
	{ "lan_discovery", "" },
};

static void test_valid_values(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX];

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int rc = config_set(cfg, valid[i].key, valid[i].in, err, sizeof(err));

		if (rc)
			fail_msg("%s=%s refused: %s", valid[i].key, valid[i].in, err);
		assert_string_equal(config_get(cfg, valid[i].key), valid[i].canon);
	}
}

static void test_invalid_values(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char err[CONFIG_ERR_MAX] = "", before[CONFIG_VALUE_MAX], prefix[64];

		snprintf(before, sizeof(before), "%s", config_get(cfg, invalid[i].key));
		if (config_set(cfg, invalid[i].key, invalid[i].in, err, sizeof(err)) != -EINVAL)
			fail_msg("%s=%s accepted", invalid[i].key, invalid[i].in);
		snprintf(prefix, sizeof(prefix), "%s: ", invalid[i].key);
		assert_memory_equal(err, prefix, strlen(prefix));
		assert_true(strlen(err) > strlen(prefix) + 5);
		assert_string_equal(config_get(cfg, invalid[i].key), before);
	}
}

/* min and max of every integer setting pass, min-1 and max+1 do not. */
static void test_int_boundaries(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char v[32], err[CONFIG_ERR_MAX];
	int64_t got;

	for (size_t i = 0; i < config_ndefs; i++) {
		const struct config_def *d = &config_defs[i];

		if (d->type != CONFIG_INT)
			continue;
		/* Free the related half so each bound is reachable on its own. */
		if (d->not_above) {
			snprintf(v, sizeof(v), "%lld", config_def_find(d->not_above)->max);
			assert_int_equal(config_set(cfg, d->not_above, v, err, sizeof(err)), 0);
		}
		if (d->not_below) {
			snprintf(v, sizeof(v), "%lld", config_def_find(d->not_below)->min);
			assert_int_equal(config_set(cfg, d->not_below, v, err, sizeof(err)), 0);
		}
		snprintf(v, sizeof(v), "%lld", d->min);
		assert_int_equal(config_set(cfg, d->key, v, err, sizeof(err)), 0);
		assert_int_equal(config_get_int(cfg, d->key, &got), 0);
		assert_int_equal(got, d->min);
		snprintf(v, sizeof(v), "%lld", d->max);
		assert_int_equal(config_set(cfg, d->key, v, err, sizeof(err)), 0);
		assert_int_equal(config_get_int(cfg, d->key, &got), 0);
		assert_int_equal(got, d->max);
		snprintf(v, sizeof(v), "%lld", d->min - 1);
		assert_int_equal(config_set(cfg, d->key, v, err, sizeof(err)), -EINVAL);
		snprintf(v, sizeof(v), "%lld", d->max + 1);
		assert_int_equal(config_set(cfg, d->key, v, err, sizeof(err)), -EINVAL);
		assert_int_equal(config_get_int(cfg, d->key, &got), 0);
		assert_int_equal(got, d->max);
		for (size_t j = 0; j < config_ndefs; j++)
			assert_int_equal(config_reset(cfg, config_defs[j].key, err, sizeof(err)), 0);
	}
}

static void test_refused_value_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX], big[CONFIG_VALUE_MAX + 10];
	size_t len_before;
	char *before;

	assert_int_equal(config_set(cfg, "mtu", "1380", err, sizeof(err)), 0);
	before = slurp(f->db, &len_before);
	assert_int_equal(config_set(cfg, "mtu", "100000", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "mtu: 100000 is out of range 1280..9000");
	assert_int_equal(config_set(cfg, "api_listen", "0.0.0.0:80", err, sizeof(err)), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "ws://", 5);
	assert_int_equal(config_set(cfg, "control_server", big, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(cfg, "nope", "1", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown setting 'nope'");
	assert_int_equal(config_set(cfg, "mtu", NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(cfg, "mtu", "1", NULL, 0), -EINVAL); /* err is optional */
	/* Same value again: accepted, nothing written either. */
	assert_int_equal(config_set(cfg, "mtu", "1380", err, sizeof(err)), 0);
	assert_file_is(f->db, before, len_before);
	assert_string_equal(config_get(cfg, "mtu"), "1380");
	cfg = open_cfg(f);
	assert_string_equal(config_get(cfg, "mtu"), "1380");
}

static void test_persistence(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX], *stored;
	long long updated_at = 0;
	int64_t port;
	bool fwd;

	assert_int_equal(config_set(cfg, "listen_port", "40000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "control_server", "wss://c.example/v1/ws", err,
				    sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "lan_discovery", "no", err, sizeof(err)), 0);
	stored = db_value(f->db, "listen_port", &updated_at);
	assert_string_equal(stored, "40000");
	assert_true(updated_at > 1700000000); /* wall-clock seconds */
	free(stored);
	cfg = open_cfg(f);
	assert_int_equal(config_get_int(cfg, "listen_port", &port), 0);
	assert_int_equal(port, 40000);
	assert_string_equal(config_get(cfg, "control_server"), "wss://c.example/v1/ws");
	assert_int_equal(config_get_bool(cfg, "lan_discovery", &fwd), 0);
	assert_false(fwd);
	assert_int_equal(db_int(f->db, "SELECT count(*) FROM settings"), (int)config_ndefs);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_set(cfg, "log_level", "debug", err, sizeof(err)), 0);
	assert_int_equal(config_reset(cfg, "log_level", err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "log_level"), "info");
	assert_stored(f, "log_level", "info");
	assert_int_equal(config_reset(cfg, "bogus", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown setting 'bogus'");
}

/* reset --all: every setting back to its default, even related pairs moved to
 * their extremes (each range stops at the other's default). */
static void test_reset_all(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_set(cfg, "mtu", "1300", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "punch_timeout_ms", "60000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "punch_interval_ms", "5000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "reconnect_backoff_max_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "reconnect_backoff_min_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_reset_all(cfg, err, sizeof(err)), 0);
	for (size_t i = 0; i < config_ndefs; i++) {
		assert_string_equal(config_get(cfg, config_defs[i].key), config_defs[i].def);
		assert_stored(f, config_defs[i].key, config_defs[i].def);
	}
}

/* Only the LAN discovery settings say they apply at once: that is what the
 * daemon does (party_setting_set reloads discovery, nothing else). */
static void test_live_flag(void **state)
{
	struct config_info info;

	for (size_t i = 0; i < config_ndefs; i++) {
		assert_int_equal(config_describe(NULL, config_defs[i].key, &info), 0);
		assert_int_equal(info.live, !strncmp(info.key, "lan_discovery", 13) ||
						    !strcmp(info.key, "metrics"));
	}
}

static void test_related_thresholds(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_set(cfg, "punch_timeout_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "punch_interval_ms", "1001", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "punch_interval_ms: must not exceed punch_timeout_ms (now 1000)");
	assert_int_equal(config_set(cfg, "punch_interval_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "punch_timeout_ms", "999", err, sizeof(err)), -EINVAL);
	assert_string_equal(config_get(cfg, "punch_timeout_ms"), "1000");
	assert_int_equal(config_set(cfg, "reconnect_backoff_max_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "reconnect_backoff_min_ms", "2000", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(config_set(cfg, "reconnect_backoff_min_ms", "900", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "reconnect_backoff_max_ms", "899", err, sizeof(err)),
			 -EINVAL);
	/* Resets always keep the pairs consistent. */
	for (size_t i = 0; i < config_ndefs; i++)
		assert_int_equal(config_reset(cfg, config_defs[i].key, err, sizeof(err)), 0);
}

static void test_typed_getters(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	int64_t v;
	bool b;

	assert_int_equal(config_get_int(cfg, "mtu", &v), 0);
	assert_int_equal(v, 1420);
	assert_int_equal(config_get_int(cfg, "subnet", &v), -EINVAL);
	assert_int_equal(config_get_int(cfg, "nope", &v), -ENOENT);
	assert_int_equal(config_get_bool(cfg, "lan_discovery", &b), 0);
	assert_true(b);
	assert_int_equal(config_get_bool(cfg, "mtu", &b), -EINVAL);
	assert_int_equal(config_get_bool(cfg, "nope", &b), -ENOENT);
}

struct list_ctx {
	size_t n, stop_at;
	bool with_values;
};

static int list_cb(const struct config_info *info, void *arg)
{
	struct list_ctx *c = arg;

	assert_string_equal(info->key, config_defs[c->n].key);
	assert_non_null(info->description);
	assert_non_null(info->allowed);
	assert_string_equal(config_type_name(info->type), config_type_name(config_defs[c->n].type));
	if (c->with_values)
		assert_non_null(info->value);
	else
		assert_null(info->value);
	return ++c->n == c->stop_at ? 7 : 0;
}

static void test_list_and_describe(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct list_ctx c = { .with_values = true };
	struct config_info info;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_list(cfg, list_cb, &c), 0);
	assert_int_equal(c.n, config_ndefs);
	c = (struct list_ctx){ .stop_at = 3 };
	assert_int_equal(config_list(NULL, list_cb, &c), 7);
	assert_int_equal(c.n, 3);
	assert_int_equal(config_set(cfg, "mtu", "1300", err, sizeof(err)), 0);
	assert_int_equal(config_describe(cfg, "mtu", &info), 0);
	assert_string_equal(info.value, "1300");
	assert_string_equal(info.def, "1420");
	assert_string_equal(info.allowed, "1280..9000");
	assert_string_equal(config_type_name(info.type), "int");
	assert_int_equal(config_describe(NULL, "subnet", &info), 0);
	assert_null(info.value);
	assert_string_equal(config_type_name(info.type), "cidr");
	assert_int_equal(config_describe(cfg, "nope", &info), -ENOENT);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = NULL;
	size_t len_before;
	char *before;

	open_cfg(f);
	close_cfg(f);
	db_exec(f->db, "PRAGMA user_version = 99");
	before = slurp(f->db, &len_before);
	assert_int_equal(config_open(f->dir, &cfg), -ENOTSUP);
	assert_null(cfg);
	assert_file_is(f->db, before, len_before);
}

/* An empty (version 0) database is migrated; missing rows are filled, others kept. */
static void test_migrate_and_fill(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;
	char parent[160];

	snprintf(parent, sizeof(parent), "%s/state", f->base);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->db, "CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (42)");
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 0);
	cfg = open_cfg(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), CONFIG_SCHEMA_VERSION);
	assert_int_equal(db_int(f->db, "SELECT x FROM other"), 42);
	close_cfg(f);
	db_exec(f->db, "DELETE FROM settings WHERE key = 'mtu'; "
		       "UPDATE settings SET value = '1300' WHERE key = 'keepalive'; "
		       "INSERT INTO settings VALUES ('from_the_future', 'x', 0)");
	cfg = open_cfg(f);
	assert_string_equal(config_get(cfg, "mtu"), "1420");
	assert_string_equal(config_get(cfg, "keepalive"), "1300");
	assert_stored(f, "mtu", "1420");
	assert_stored(f, "from_the_future", "x"); /* unknown keys are not ours to delete */
}

/* Schema 3 drops control_listen and relay_listen: server flags, never daemon
 * settings. A version-2 database loses those rows and keeps the rest. */
static void test_migrate_drops_server_flags(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;
	char err[CONFIG_ERR_MAX];

	cfg = open_cfg(f);
	assert_int_equal(config_set(cfg, "mtu", "1300", err, sizeof(err)), 0);
	close_cfg(f);
	db_exec(f->db, "INSERT INTO settings VALUES ('control_listen', '0.0.0.0:8667', 0); "
		       "INSERT INTO settings VALUES ('relay_listen', '0.0.0.0:51821', 0); "
		       "PRAGMA user_version = 2");
	cfg = open_cfg(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), CONFIG_SCHEMA_VERSION);
	assert_int_equal(db_int(f->db, "SELECT count(*) FROM settings WHERE key IN "
				       "('control_listen', 'relay_listen')"),
			 0);
	assert_string_equal(config_get(cfg, "mtu"), "1300");
	assert_null(config_get(cfg, "control_listen"));
	assert_int_equal(config_set(cfg, "relay_listen", "0.0.0.0:1", err, sizeof(err)), -ENOENT);
}

/* A value edited by hand into something invalid: default used, row kept for the user. */
static void test_bad_stored_value(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;

	open_cfg(f);
	close_cfg(f);
	db_exec(f->db, "UPDATE settings SET value = 'abc' WHERE key = 'mtu';"
		       "UPDATE settings SET value = '0.0.0.0:1' WHERE key = 'api_listen'");
	cfg = open_cfg(f);
	assert_string_equal(config_get(cfg, "mtu"), "1420");
	assert_string_equal(config_get(cfg, "api_listen"), "127.0.0.1:8666");
	assert_stored(f, "mtu", "abc");
}

static void test_not_a_database(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = NULL;
	static const char junk[] = "this is not a SQLite database, just some text in a file\n";
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "%s", f->base);
	snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, CONFIG_DB_FILE);
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fputs(junk, fp);
	fclose(fp);
	assert_int_equal(config_open(f->dir, &cfg), -EIO);
	assert_null(cfg);
	assert_file_is(f->db, strdup(junk), strlen(junk));
	assert_int_equal(config_open("", &cfg), -EINVAL);
}

static void test_file_modes(void **state)
{
	struct fixture *f = *state;
	char parent[160];
	struct stat st;
	mode_t old = umask(0);

	/* umask 0: the modes are ours, not the umask's. */
	open_cfg(f);
	umask(old);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(parent, sizeof(parent), "%s/state", f->base);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A file left readable by others is tightened at open. */
	close_cfg(f);
	assert_int_equal(chmod(f->db, 0644), 0);
	open_cfg(f);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A state "directory" that is a file is refused. */
	close_cfg(f);
	assert_int_equal(config_open(f->db, &f->cfg), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defs_consistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_value_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_related_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typed_getters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_and_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_drops_server_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_stored_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
