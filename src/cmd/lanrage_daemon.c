/*
 * lanrage_daemon: `lanrage daemon` in the foreground: the PartyManager on
 * the main thread, the local API on its own, until SIGINT, SIGTERM or
 * POST /v1/down; then it leaves the party (telling the control plane),
 * removes the interface, removes api.token and exits 0.
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

int cli_daemon(const struct cli_args *a)
{
	struct party_config pc = { .listen_port = a->listen_port };
	struct api_config ac = { 0 };
	struct config_info info;
	char state_dir[4096], listen[CONFIG_VALUE_MAX];
	struct sigaction sa;
	struct api *api = NULL;
	struct party *p = NULL;
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
	/* before any thread and any network input: from here on only what
	 * interfaces, routes and LAN discovery need (docs/NET.md) */
	if (platform_drop_capabilities())
		return CLI_EXIT_FAIL;
	pc.control_url = a->control;
	pc.control_pin = a->control_pin;
	pc.control_insecure = a->control_insecure;
	pc.ifname = a->ifname;
	pc.name = a->name;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = party_new(&pc, &p);
	if (r) {
		fprintf(stderr, "lanrage: the daemon could not start: %s (see the log above)\n",
			strerror(-r));
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
			r == -EADDRINUSE ? "address in use (is another daemon running?)"
					 : strerror(-r));
		goto out;
	}
	log_info("daemon", "running; stop with SIGINT, SIGTERM or `lanrage down`");
	r = party_run(p);
	log_info("daemon", "stopping: leaving the party and removing the interface");
out:
	api_stop(api);
	daemon_party = NULL;
	party_free(p);
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
