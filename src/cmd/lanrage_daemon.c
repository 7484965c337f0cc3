/*
 * lanrage_daemon: `lanrage daemon` in the foreground: the PartyManager on
 * the main thread, the local API on its own, until SIGINT, SIGTERM or
 * POST /v1/down; then it leaves the party (telling the control plane),
 * removes the interface, api.token and its locator, and exits 0. Its flags
 * are saved as settings first (a start that fails puts them back), its log
 * also goes to STATE_DIR/daemon.log.
 *
 * Also `lanrage demo`, which runs the natlab demo script found beside the
 * build (tests/natlab/demo.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cmd/lanrage_cli.h"
#include "log/log.h"
#include "party/party.h"
#include "platform/platform.h"
#include "util/mem.h"

static struct party *daemon_party;

static void daemon_on_signal(int sig)
{
	if (daemon_party)
		party_stop(daemon_party);
}

static void daemon_on_down(void *arg)
{
	party_stop(arg);
}

/* --log-level/--log-format, else the settings, else info/text. */
static int daemon_logging(const struct cli_args *a, struct party *p)
{
	enum log_level level = LOG_INFO;
	enum log_format fmt = LOG_FORMAT_TEXT;
	struct config_info info;
	char v[CONFIG_VALUE_MAX];

	if (a->log_level ? log_level_parse(a->log_level, &level)
			 : (p && !party_setting_get(p, "log_level", &info, v, sizeof(v)) &&
			    log_level_parse(v, &level))) {
		fprintf(stderr, "lanrage: bad --log-level '%s' (silent, error, warn, info, debug)\n",
			a->log_level);
		return CLI_EXIT_USAGE;
	}
	if (a->log_format ? log_format_parse(a->log_format, &fmt)
			  : (p && !party_setting_get(p, "log_format", &info, v, sizeof(v)) &&
			     log_format_parse(v, &fmt))) {
		fprintf(stderr, "lanrage: bad --log-format '%s' (text or json)\n", a->log_format);
		return CLI_EXIT_USAGE;
	}
	log_set_level(level);
	log_set_format(fmt);
	return 0;
}

/* One daemon per state directory: a second would take over the first's
 * control-plane session and API token. The lock goes with the process, so a
 * crash leaves nothing that blocks the next start. */
static int daemon_lock(const char *state_dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s", state_dir);
	for (char *s = path + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(path, 0700); /* parents; errors show in the mkdir below */
			*s = '/';
		}
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "lanrage: cannot create the state directory %s: %s\n", state_dir,
			strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/daemon.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		fprintf(stderr, "lanrage: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "lanrage: a daemon is already running with state directory %s\n",
			state_dir);
		close(fd);
		return -1;
	}
	return fd; /* kept open (and locked) until exit */
}

enum { DAEMON_NFLAGS = 6 };

/* A setting a flag changed, and its value before, for the undo. */
struct daemon_saved {
	const char *key;
	char old[CONFIG_VALUE_MAX];
};

/* Writes (undo: the saved old values) settings; 0 or CLI_EXIT_*. */
static int daemon_apply(const char *state_dir, const char *const *flags, const char *const *keys,
			const char *const *values, struct daemon_saved *saved, size_t n)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg;
	int r = config_open(state_dir, &cfg);

	if (r) {
		fprintf(stderr, "lanrage: cannot open the settings in %s: %s\n", state_dir,
			strerror(-r));
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		char cur[CONFIG_VALUE_MAX]; /* config_set frees the value config_get gave */

		snprintf(cur, sizeof(cur), "%s", config_get(cfg, keys[i]) ?: "");
		if (!values[i] || !strcmp(cur, values[i]))
			continue;
		if (config_set(cfg, keys[i], values[i], err, sizeof(err))) {
			fprintf(stderr, "lanrage: %s: %s\n", flags ? flags[i] : keys[i], err);
			r = CLI_EXIT_USAGE;
			break;
		}
		if (saved) {
			saved[i].key = keys[i];
			snprintf(saved[i].old, sizeof(saved[i].old), "%s", cur);
			log_kv(LOG_INFO, "daemon", "flag saved as a setting; later starts use it",
			       LOG_STR("flag", flags[i]), LOG_STR("setting", keys[i]),
			       LOG_STR("value", values[i]), LOG_STR("was", cur));
		}
	}
	config_close(cfg);
	return r;
}

/* A start that fails changes nothing: the flags' settings go back. */
static void daemon_undo_flags(const char *state_dir, const struct daemon_saved *saved)
{
	const char *keys[DAEMON_NFLAGS], *values[DAEMON_NFLAGS];

	for (size_t i = 0; i < DAEMON_NFLAGS; i++) {
		keys[i] = saved[i].key ? saved[i].key : "";
		values[i] = saved[i].key ? saved[i].old : NULL;
	}
	daemon_apply(state_dir, NULL, keys, values, NULL, DAEMON_NFLAGS);
}

/* True when one remote control server is replaced by another. Local mode
 * in between (empty URL) keeps the pin: it belongs to the server the user
 * comes back to, and a wrong pin is refused with a message naming it. */
static bool daemon_control_changes(const char *state_dir, const char *url)
{
	struct config *cfg;
	const char *cur;
	bool changes = false;

	if (!*url || config_open(state_dir, &cfg))
		return false;
	cur = config_get(cfg, "control_server") ?: "";
	changes = *cur && strcmp(cur, url) != 0;
	config_close(cfg);
	return changes;
}

/* Flags that say where and as whom to run are kept as settings, so a later
 * plain `lanrage daemon` runs the same way (no silent fall back to local
 * mode); each change is said once. A bad value is a usage error, and the
 * ones already written go back. */
static int daemon_save_flags(const struct cli_args *a, const char *state_dir,
			     struct daemon_saved *saved)
{
	static const char *const flags[DAEMON_NFLAGS] = {
		"--control", "--control-pin", "--control-insecure", "--name", "--interface",
		"--listen-port",
	};
	static const char *const keys[DAEMON_NFLAGS] = {
		"control_server", "control_pin", "control_insecure", "name", "interface",
		"listen_port",
	};
	char port[16];
	const char *values[DAEMON_NFLAGS] = {
		a->control && !strcmp(a->control, "local") ? "" : a->control,
		a->control_pin,
		a->control_insecure ? "true" : NULL,
		a->name,
		a->ifname,
		a->listen_port >= 0 ? port : NULL,
	};
	int r;

	snprintf(port, sizeof(port), "%d", a->listen_port);
	/* Another control server without a pin: the old server's pin would
	 * refuse it, so the pin goes back to the CA store. */
	if (values[0] && !a->control_pin && daemon_control_changes(state_dir, values[0]))
		values[1] = "";
	memset(saved, 0, DAEMON_NFLAGS * sizeof(*saved));
	r = daemon_apply(state_dir, flags, keys, values, saved, DAEMON_NFLAGS);
	if (r)
		daemon_undo_flags(state_dir, saved);
	return r;
}

int cli_daemon(const struct cli_args *a)
{
	struct party_config pc = { .listen_port = a->listen_port };
	struct api_config ac = { 0 };
	struct config_info info;
	char state_dir[4096], listen[CONFIG_VALUE_MAX];
	struct sigaction sa;
	struct api *api = NULL;
	struct party *p = NULL;
	struct daemon_saved saved[DAEMON_NFLAGS];
	bool api_failed = false;
	int r;

	/* before any file or JSON exists: state files private, token copies wiped */
	mem_secure_process();
	if ((r = daemon_logging(a, NULL)))
		return r;
	if (platform_check_privileges()) {
		fprintf(stderr, "lanrage: the daemon needs root or CAP_NET_ADMIN to create its "
				"interface (try: sudo lanrage daemon)\n");
		return CLI_EXIT_FAIL;
	}
	pc.state_dir = a->state_dir ? a->state_dir
				    : cli_default_state_dir(state_dir, sizeof(state_dir));
	if (daemon_lock(pc.state_dir) < 0)
		return CLI_EXIT_FAIL;
	cli_log_file_open(pc.state_dir);
	/* before any thread and any network input: from here on only what
	 * interfaces, routes and LAN discovery need (docs/NET.md) */
	if (platform_drop_capabilities())
		return CLI_EXIT_FAIL;
	if ((r = daemon_save_flags(a, pc.state_dir, saved)))
		return r;
	pc.listen_port = -1; /* every flag is a setting now */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = party_new(&pc, &p);
	if (r) {
		char why[PARTY_ERR_MAX];

		party_last_error(NULL, why, sizeof(why));
		if (why[0])
			fprintf(stderr, "lanrage: the daemon cannot start: %s\n", why);
		else
			fprintf(stderr, "lanrage: the daemon could not start: %s (see the log above)\n",
				strerror(-r));
		daemon_undo_flags(pc.state_dir, saved);
		return CLI_EXIT_FAIL;
	}
	daemon_party = p;
	daemon_logging(a, p);
	if (a->api)
		snprintf(listen, sizeof(listen), "%s", a->api);
	else if (party_setting_get(p, "api_listen", &info, listen, sizeof(listen)))
		snprintf(listen, sizeof(listen), "%s", API_DEFAULT_LISTEN);
	ac.listen = listen;
	ac.state_dir = pc.state_dir;
	ac.party = p;
	ac.on_down = daemon_on_down;
	ac.arg = p;
	r = api_start(&ac, &api);
	if (r) {
		fprintf(stderr, "lanrage: cannot serve the local API on %s: %s\n", listen,
			r == -EADDRINUSE ? "address in use (another lanrage daemon? give this one "
					   "another address with --api 127.0.0.1:PORT)"
					 : strerror(-r));
		api_failed = true;
		goto out;
	}
	cli_locator_publish(pc.state_dir, listen);
	log_info("daemon", "running; stop with SIGINT, SIGTERM or `lanrage down`");
	r = party_run(p);
	log_info("daemon", "stopping: leaving the party and removing the interface");
out:
	cli_locator_withdraw();
	api_stop(api);
	daemon_party = NULL;
	party_free(p);
	if (api_failed)
		daemon_undo_flags(pc.state_dir, saved);
	return r ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_demo(const char *argv0)
{
	char exe[PATH_MAX], dir[PATH_MAX], script[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("LANRAGE_DEMO_SCRIPT");

	if (n <= 0) {
		fprintf(stderr, "lanrage: cannot find my own binary\n");
		return CLI_EXIT_FAIL;
	}
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", dirname(exe));
	if (env)
		snprintf(script, sizeof(script), "%s", env);
	else
		snprintf(script, sizeof(script), "%s/../tests/natlab/demo.sh", dir);
	if (access(script, X_OK)) {
		fprintf(stderr, "lanrage: the demo script %s is missing: run the demo from a "
				"build directory inside the source tree\n",
			script);
		return CLI_EXIT_FAIL;
	}
	setenv("BUILD", dir, 1);
	execl("/bin/bash", "bash", script, (char *)NULL);
	fprintf(stderr, "lanrage: cannot run %s: %s\n", script, strerror(errno));
	return CLI_EXIT_FAIL;
}
