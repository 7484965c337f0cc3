/*
 * lanrage_offline: the verbs that work without a running daemon. The
 * settings verbs work on STATE_DIR/lanrage.db directly, with the same
 * validation as the API (config/), so a player can set control_server
 * before the first start; `lanrage logs` reads STATE_DIR/daemon.log, also
 * after a crash. Both need only the state directory's permissions, which
 * is what they say when those are missing (cli_fail_access).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cmd/lanrage_cli.h"
#include "config/config.h"
#include "log/log.h"

#define OFFLINE_NOTE "no daemon running: saved; it applies when the daemon starts"
#define LOGS_POLL_US (250 * 1000)

int cli_daemon_running(const char *state_dir)
{
	char path[4200];
	int fd, r;

	snprintf(path, sizeof(path), "%s/daemon.lock", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* the daemon holds LOCK_EX for its whole life (lanrage_daemon.c) */
	r = flock(fd, LOCK_SH | LOCK_NB) ? (errno == EWOULDBLOCK ? 1 : -errno) : 0;
	close(fd);
	return r;
}

/* "sudo lanrage settings set mtu 1400", quoting what the shell would split. */
static void cli_command_line(const struct cli_args *a, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "lanrage");

	for (int i = 1; i < a->argc && n < len; i++) {
		const char *w = a->argv[i];
		bool quote = !w[0] || strpbrk(w, " \t'\"$`\\;&|<>*?()[]{}!#~");

		n += (size_t)snprintf(buf + n, len - n, quote ? " '%s'" : " %s", w);
	}
}

int cli_fail_root(const struct cli_args *a)
{
	char cmd[1024];

	cli_command_line(a, cmd, sizeof(cmd));
	fprintf(stderr, "lanrage: the daemon runs as root; run this as root: sudo %s\n", cmd);
	return CLI_EXIT_FAIL;
}

int cli_fail_access(const struct cli_args *a, const char *path, int err, bool daemon)
{
	char dir[4200];
	struct passwd *pw;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	/* the owner of what we could not read, or of its directory */
	if (stat(path, &st) && stat(dirname(dir), &st))
		st.st_uid = 0;
	if (st.st_uid == 0 && geteuid() != 0 && daemon)
		return cli_fail_root(a);
	if (st.st_uid == 0 && geteuid() != 0) {
		char cmd[1024];

		cli_command_line(a, cmd, sizeof(cmd));
		fprintf(stderr, "lanrage: %s is root's; run this as root: sudo %s\n", path, cmd);
		return CLI_EXIT_FAIL;
	}
	pw = getpwuid(st.st_uid);
	fprintf(stderr, "lanrage: cannot use %s: %s (run this as %s, the daemon's user, or root)\n",
		path, strerror(err), pw ? pw->pw_name : "the owner");
	return CLI_EXIT_FAIL;
}

/* ---- settings ------------------------------------------------------------ */

/* Whether we could write what config_open touches: the database if it
 * exists, else the nearest directory that does. */
static int offline_writable(const char *state_dir, char *denied, size_t len)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", state_dir, CONFIG_DB_FILE);
	if (!access(path, F_OK)) {
		snprintf(denied, len, "%s", path);
		return access(path, R_OK | W_OK) || access(state_dir, W_OK) ? -EACCES : 0;
	}
	snprintf(path, sizeof(path), "%s", state_dir);
	while (access(path, F_OK) && strcmp(path, "/") && strcmp(path, ".")) {
		char up[4200];

		snprintf(up, sizeof(up), "%s", path);
		snprintf(path, sizeof(path), "%s", dirname(up));
	}
	snprintf(denied, len, "%s", path);
	return access(path, W_OK) ? -EACCES : 0;
}

/* list and get: the database when there is one, else the defaults (a
 * look must not create the state directory). */
static json_t *offline_read(const struct cli_args *a, struct config *cfg, char *err,
			    size_t errlen)
{
	struct config_info info;

	if (a->verb == CLI_SETTINGS_LIST) {
		json_t *o = json_object();

		if (o && config_list(cfg, api_setting_json_add, o)) {
			json_decref(o);
			return NULL;
		}
		return o;
	}
	if (config_describe(cfg, a->arg, &info)) {
		snprintf(err, errlen, "no such setting: %s", a->arg);
		return NULL;
	}
	return json_pack("{s:s, s:s}", "key", info.key, "value", info.value ? info.value : info.def);
}

/* {"key","value","note"} after set or reset of one key. */
static json_t *offline_change(const struct cli_args *a, struct config *cfg, char *err,
			      size_t errlen)
{
	const char *now = config_get(cfg, a->arg);
	char before[CONFIG_VALUE_MAX];
	int r;

	snprintf(before, sizeof(before), "%s", now ? now : "");
	r = a->verb == CLI_SETTINGS_SET ? config_set(cfg, a->arg, a->value, err, errlen)
					: config_reset(cfg, a->arg, err, errlen);
	if (r)
		return NULL;
	now = config_get(cfg, a->arg);
	return json_pack("{s:s, s:s, s:s}", "key", a->arg, "value", now, "note",
			 strcmp(before, now) ? OFFLINE_NOTE : "unchanged");
}

static int offline_key_add(const struct config_info *info, void *arg)
{
	return json_array_append_new(arg, json_string(info->key));
}

/* {"changed":[...]}: what reset --all moved, as the API answers. */
static json_t *offline_reset_all(struct config *cfg, char *err, size_t errlen)
{
	json_t *keys = json_array(), *changed = json_array(), *k, *out = NULL;
	struct cli_args one = { .verb = CLI_SETTINGS_RESET };
	size_t i;

	if (!keys || !changed || config_list(cfg, offline_key_add, keys))
		goto out;
	json_array_foreach(keys, i, k) {
		json_t *c;

		one.arg = json_string_value(k);
		c = offline_change(&one, cfg, err, errlen);
		if (!c)
			goto out;
		if (strcmp(json_string_value(json_object_get(c, "note")), "unchanged"))
			json_array_append_new(changed, c);
		else
			json_decref(c);
	}
	out = json_pack("{s:O}", "changed", changed);
out:
	json_decref(keys);
	json_decref(changed);
	return out;
}

static json_t *offline_do(const struct cli_args *a, struct config *cfg, char *err,
			  size_t errlen)
{
	if (a->verb == CLI_SETTINGS_LIST || a->verb == CLI_SETTINGS_GET)
		return offline_read(a, cfg, err, errlen);
	if (a->verb == CLI_SETTINGS_RESET && a->all)
		return offline_reset_all(cfg, err, errlen);
	return offline_change(a, cfg, err, errlen);
}

/* A player who will start the daemon with sudo wants root's settings: say
 * where these went, and how to reach those. */
static void offline_root_hint(const struct cli_args *a, const char *state_dir)
{
	char cmd[1024];

	cli_command_line(a, cmd, sizeof(cmd));
	fprintf(stderr, "lanrage: saved in %s, for a daemon run as you; `sudo lanrage daemon` "
			"reads /var/lib/lanrage: for it, run: sudo %s\n", state_dir, cmd);
}

int cli_settings_offline(const struct cli_args *a, const char *state_dir)
{
	char err[CONFIG_ERR_MAX] = "", denied[4200], db[4200];
	bool read_only = a->verb == CLI_SETTINGS_LIST || a->verb == CLI_SETTINGS_GET;
	struct config *cfg = NULL;
	json_t *out;
	int r;

	snprintf(db, sizeof(db), "%s/%s", state_dir, CONFIG_DB_FILE);
	if (!(read_only && access(db, F_OK))) {
		if (offline_writable(state_dir, denied, sizeof(denied)))
			return cli_fail_access(a, denied, EACCES, false);
		r = config_open(state_dir, &cfg); /* its errors are logged */
		if (r) {
			fprintf(stderr, "lanrage: cannot open the settings in %s: %s\n", db,
				strerror(-r));
			return CLI_EXIT_FAIL;
		}
	}
	out = offline_do(a, cfg, err, sizeof(err));
	config_close(cfg);
	if (!out) {
		fprintf(stderr, "lanrage: %s\n", err[0] ? err : "out of memory");
		return CLI_EXIT_FAIL;
	}
	cli_settings_print(a, out);
	json_decref(out);
	if (!read_only && geteuid() != 0 && !a->state_dir)
		offline_root_hint(a, state_dir);
	return CLI_EXIT_OK;
}

/* ---- logs ---------------------------------------------------------------- */

/* The whole file (daemon.log stays under CLI_LOG_MAX_BYTES); NULL with errno. */
static char *logs_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		char *nb;

		if (*len + 65536 > cap) {
			nb = realloc(buf, cap = cap * 2 + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	return buf ? buf : strdup("");
}

/* Where the last `want` lines of buf start; *have counts the lines found. */
static size_t logs_tail_start(const char *buf, size_t len, unsigned want, unsigned *have)
{
	size_t i = len;

	*have = 0;
	if (i && buf[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (buf[i - 1] == '\n' && ++*have == want)
			return i;
		i--;
	}
	if (len)
		++*have; /* the first line */
	return 0;
}

/* The last n lines across daemon.log.1 and daemon.log. */
static int logs_print_tail(const char *path, unsigned n)
{
	char old[4300], *cur, *prev;
	size_t len, plen, start, pstart;
	unsigned have = 0, phave;

	cur = logs_slurp(path, &len);
	if (!cur)
		return -errno;
	start = logs_tail_start(cur, len, n, &have);
	snprintf(old, sizeof(old), "%s.1", path);
	if (have < n && (prev = logs_slurp(old, &plen))) {
		pstart = logs_tail_start(prev, plen, n - have, &phave);
		fwrite(prev + pstart, 1, plen - pstart, stdout);
		free(prev);
	}
	fwrite(cur + start, 1, len - start, stdout);
	free(cur);
	fflush(stdout);
	return 0;
}

/* Prints what fd has past *off. */
static void logs_copy_new(int fd, off_t *off)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		*off += n;
	}
	fflush(stdout);
}

/* -f: new lines as they come, across rotations, until interrupted. */
static int logs_follow(const char *path)
{
	struct stat open_st, path_st;
	off_t off;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &open_st))
		return fd < 0 ? -errno : -EIO;
	off = open_st.st_size;
	for (;;) {
		usleep(LOGS_POLL_US);
		logs_copy_new(fd, &off);
		if (stat(path, &path_st) || path_st.st_ino == open_st.st_ino)
			continue;
		/* rotated: the rest of the old file is printed; the new one from its start */
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &open_st))
			return -errno;
		off = 0;
	}
}

void cli_log_file_open(const char *state_dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", state_dir, CLI_LOG_FILE);
	log_open_file(path, CLI_LOG_MAX_BYTES); /* a failure is logged; stderr goes on */
}

int cli_logs(const struct cli_args *a)
{
	char dir[4096], api[80], path[4200];
	int r;

	cli_locate(a, dir, sizeof(dir), api, sizeof(api));
	snprintf(path, sizeof(path), "%s/%s", dir, CLI_LOG_FILE);
	r = logs_print_tail(path, a->lines);
	if (r == -EACCES || r == -EPERM)
		return cli_fail_access(a, path, -r, false);
	if (r == -ENOENT) {
		fprintf(stderr, "lanrage: no log in %s yet: no daemon has run with this state "
				"directory (give --state-dir DIR for another)\n", dir);
		return CLI_EXIT_FAIL;
	}
	if (r) {
		fprintf(stderr, "lanrage: cannot read %s: %s\n", path, strerror(-r));
		return CLI_EXIT_FAIL;
	}
	if (!a->follow)
		return CLI_EXIT_OK;
	r = logs_follow(path);
	fprintf(stderr, "lanrage: stopped following %s: %s\n", path, strerror(-r));
	return CLI_EXIT_FAIL;
}
