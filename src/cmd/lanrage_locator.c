/*
 * lanrage_locator: how the CLI finds its daemon. A daemon started with
 * --state-dir or --api would otherwise need the same flags on every CLI
 * call, or the CLI reads the wrong token. So the daemon, once its API is up,
 * writes a small file naming its state directory, API address and PID:
 * /run/lanrage/daemon.json as root, $XDG_RUNTIME_DIR/lanrage/daemon.json
 * otherwise (docs/API.md). It holds nothing secret (the token stays in the
 * state directory, readable by the daemon's user only), so it is 0644.
 *
 * One file per user: with several daemons the last one started wins, and a
 * daemon removes the file at exit only while it still names it. A file left
 * by a crash names a dead PID and is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cmd/lanrage_cli.h"
#include "log/log.h"

#define LOCATOR_TAG "locator"
#define LOCATOR_ROOT_DIR "/run/lanrage"
#define LOCATOR_FILE "daemon.json"

/* The file this daemon wrote, for cli_locator_withdraw. */
static char locator_written[4200];

const char *cli_locator_path(bool root, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (root)
		snprintf(buf, len, "%s/%s", LOCATOR_ROOT_DIR, LOCATOR_FILE);
	else if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/lanrage/%s", xdg, LOCATOR_FILE);
	else
		return NULL;
	return buf;
}

/* The directory of path: 0755 for root's (others read the locator to know
 * a root daemon runs), 0700 in a user's runtime directory. */
static int locator_mkdir(const char *path)
{
	char dir[4200], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -EINVAL;
	*slash = '\0';
	if (strcmp(dir, LOCATOR_ROOT_DIR))
		return mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
	/* the daemon's umask (077) would make it 0700, and so would other
	 * users of /run/lanrage (net.c's interface locks): set it outright */
	if ((mkdir(dir, 0755) && errno != EEXIST) || chmod(dir, 0755))
		return -errno;
	return 0;
}

static int locator_write_fd(int fd, const char *text)
{
	size_t len = strlen(text);

	if (write(fd, text, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return fchmod(fd, 0644) ? -errno : 0;
}

int cli_locator_write(const char *path, const struct cli_locator *l)
{
	char tmp[4300], *text;
	json_t *j;
	int fd, r;

	if ((r = locator_mkdir(path)))
		return r;
	j = json_pack("{s:I, s:I, s:s, s:s, s:s}", "pid", (json_int_t)l->pid, "uid",
		      (json_int_t)l->uid, "state_dir", l->state_dir, "api", l->api, "version",
		      LANRAGE_VERSION);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, l->pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		free(text);
		return -errno;
	}
	errno = 0;
	r = locator_write_fd(fd, text);
	free(text);
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int locator_parse(json_t *j, struct cli_locator *l)
{
	const char *dir = json_string_value(json_object_get(j, "state_dir"));
	const char *api = json_string_value(json_object_get(j, "api"));
	json_t *pid = json_object_get(j, "pid"), *uid = json_object_get(j, "uid");

	if (!dir || dir[0] != '/' || !api || !json_is_integer(pid) || !json_is_integer(uid) ||
	    json_integer_value(pid) <= 0 || strlen(dir) >= sizeof(l->state_dir) ||
	    strlen(api) >= sizeof(l->api))
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->pid = (long)json_integer_value(pid);
	l->uid = (long)json_integer_value(uid);
	memcpy(l->state_dir, dir, strlen(dir) + 1);
	memcpy(l->api, api, strlen(api) + 1);
	return 0;
}

int cli_locator_read(const char *path, struct cli_locator *l)
{
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	int r;

	if (!j)
		return access(path, F_OK) ? -ENOENT : -EINVAL;
	r = locator_parse(j, l);
	json_decref(j);
	return r;
}

bool cli_locator_live(const struct cli_locator *l)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (kill((pid_t)l->pid, 0) && errno != EPERM)
		return false;
	/* A PID reused since a crash belongs to some other program. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", l->pid);
	f = fopen(path, "r");
	if (!f)
		return true; /* /proc hidden: the PID is all there is to go by */
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "lanrage", 7);
}

void cli_locator_remove(const char *path, long pid)
{
	struct cli_locator l;

	if (!cli_locator_read(path, &l) && l.pid == pid)
		unlink(path);
}

void cli_locator_publish(const char *state_dir, const char *api)
{
	struct cli_locator l = { .pid = (long)getpid(), .uid = (long)geteuid() };
	char abs[4096];
	int r;

	if (!cli_locator_path(geteuid() == 0, locator_written, sizeof(locator_written))) {
		log_info(LOCATOR_TAG, "no XDG_RUNTIME_DIR: the CLI finds this daemon only "
				      "with --state-dir (and --api)");
		return;
	}
	/* the CLI may run from another directory */
	if (!realpath(state_dir, abs))
		snprintf(abs, sizeof(abs), "%s", state_dir);
	snprintf(l.state_dir, sizeof(l.state_dir), "%s", abs);
	snprintf(l.api, sizeof(l.api), "%s", api);
	r = cli_locator_write(locator_written, &l);
	if (r) {
		log_warn(LOCATOR_TAG, "cannot write %s: %s (the CLI needs --state-dir to find "
				      "this daemon)", locator_written, strerror(-r));
		locator_written[0] = '\0';
	}
}

void cli_locator_withdraw(void)
{
	if (locator_written[0])
		cli_locator_remove(locator_written, (long)getpid());
	locator_written[0] = '\0';
}


bool cli_root_daemon_live(void)
{
	struct cli_locator l;
	char path[4200];

	return !cli_locator_read(cli_locator_path(true, path, sizeof(path)), &l) &&
	       cli_locator_live(&l);
}

/* The api_listen setting of state_dir when its database is readable. */
static void locator_api_setting(const char *state_dir, char *api, size_t alen)
{
	char db[4200];
	struct config *cfg;
	const char *v;

	snprintf(db, sizeof(db), "%s/%s", state_dir, CONFIG_DB_FILE);
	if (access(db, R_OK | W_OK) || config_open(state_dir, &cfg))
		return;
	v = config_get(cfg, "api_listen");
	if (v)
		snprintf(api, alen, "%s", v);
	config_close(cfg);
}

void cli_locate(const struct cli_args *a, char *state_dir, size_t dlen, char *api, size_t alen)
{
	char path[4200];

	cli_locate_with(a, cli_locator_path(geteuid() == 0, path, sizeof(path)), state_dir, dlen,
			api, alen);
}

void cli_locate_with(const struct cli_args *a, const char *locator, char *state_dir, size_t dlen,
		     char *api, size_t alen)
{
	struct cli_locator l;
	bool found = locator && !cli_locator_read(locator, &l) && cli_locator_live(&l);

	/* The locator fills in what the flags leave open, when it is the daemon
	 * the flags name (or they name none). */
	if (found && a->state_dir) {
		char abs[4096];

		found = realpath(a->state_dir, abs) && !strcmp(abs, l.state_dir);
	}
	if (found && a->api && strcmp(a->api, l.api))
		found = false;
	if (a->state_dir)
		snprintf(state_dir, dlen, "%s", a->state_dir);
	else if (found)
		snprintf(state_dir, dlen, "%s", l.state_dir);
	else
		cli_default_state_dir(state_dir, dlen);
	if (a->api || found) {
		snprintf(api, alen, "%s", a->api ? a->api : l.api);
		return;
	}
	snprintf(api, alen, "%s", API_DEFAULT_LISTEN);
	locator_api_setting(state_dir, api, alen);
}
