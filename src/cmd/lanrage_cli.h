/*
 * lanrage_cli: what the lanrage program's files share. lanrage.c
 * dispatches, lanrage_args.c parses the command line and holds the help
 * texts (pure, unit-tested), lanrage_daemon.c runs the daemon,
 * lanrage_client.c is every verb that talks to a running daemon over its
 * local API (lanrage_http.c: the HTTP client on libwebsockets),
 * lanrage_locator.c finds that daemon, lanrage_offline.c holds what works
 * without one (settings on the database, logs).
 *
 * Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
 */
#ifndef LR_CMD_LANRAGE_CLI_H
#define LR_CMD_LANRAGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_t;

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

enum cli_verb {
	CLI_HELP,
	CLI_DAEMON,
	CLI_PARTY_CREATE,
	CLI_PARTY_JOIN,
	CLI_PARTY_LEAVE,
	CLI_STATUS,
	CLI_PEERS,
	CLI_NETCHECK,   /* parsed by cmd_netcheck itself (its options predate this) */
	CLI_PING,
	CLI_SETTINGS_LIST,
	CLI_SETTINGS_GET,
	CLI_SETTINGS_SET,
	CLI_DOWN,
	CLI_DEMO,
	CLI_GAMES,
	CLI_SETTINGS_RESET,
	CLI_LOGS,
	CLI_VERSION,
	CLI_UI,
};

struct cli_args {
	enum cli_verb verb;
	bool json;
	const char *state_dir;     /* NULL: the default for this user */
	const char *api;           /* NULL: setting api_listen, else 127.0.0.1:8666 */
	const char *arg, *value;   /* NAME, ID, PEER, KEY; VALUE */
	/* daemon */
	const char *control, *name, *ifname, *log_level, *log_format;
	const char *control_pin;   /* NULL: the setting */
	bool control_insecure;
	int listen_port;           /* -1: the setting */
	/* status */
	bool wait;                 /* poll until every member settled */
	unsigned timeout_s;        /* status --wait, down: 30 */
	/* ping */
	unsigned count;            /* 4 */
	/* help: the verb asked about ("party join", "settings"), NULL for all */
	const char *help;
	char help_buf[32];
	/* settings reset */
	bool all;
	/* logs */
	unsigned lines;            /* 50 */
	bool follow;
	/* ui */
	bool no_open;
	/* party join: its arguments joined by spaces (arg points here) */
	char code_text[64];
	/* the command line, to repeat it in advice ("sudo lanrage ...") */
	int argc;
	char **argv;
};

/* Parses argv (argv[0] is the program). 0, or CLI_EXIT_USAGE with one line
 * in err. args points into argv. */
int cli_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen);
void cli_usage(FILE *f);
/* The usage of one verb ("party", "party join", "settings reset", ...);
 * -ENOENT when there is no such verb. */
int cli_usage_verb(FILE *f, const char *verb);

/* The state directory: /var/lib/lanrage as root, else
 * $XDG_STATE_HOME/lanrage or ~/.local/state/lanrage. */
const char *cli_default_state_dir(char *buf, size_t len);

/* The state directory log file and its size cap (one old file kept). */
#define CLI_LOG_FILE "daemon.log"
#define CLI_LOG_MAX_BYTES (1024 * 1024)

int cli_daemon(const struct cli_args *a);
int cli_client(const struct cli_args *a);

/* ---- lanrage_locator.c: where the running daemon is ---------------------- */

/* What a daemon publishes about itself (not secret: no token). */
struct cli_locator {
	long pid;
	long uid;
	char state_dir[4096];
	char api[80];
};

/* The locator file for a daemon run by root (/run/lanrage/daemon.json) or
 * by this user ($XDG_RUNTIME_DIR/lanrage/daemon.json); NULL when this user
 * has no runtime directory. */
const char *cli_locator_path(bool root, char *buf, size_t len);
/* Writes l to path atomically (temporary file, rename), mode 0644, creating
 * its directory. 0 or -errno. */
int cli_locator_write(const char *path, const struct cli_locator *l);
/* 0, -ENOENT (no file), or -EINVAL (not a locator). */
int cli_locator_read(const char *path, struct cli_locator *l);
/* Whether l names a lanrage process that is still alive. */
bool cli_locator_live(const struct cli_locator *l);
/* Removes path when it still names pid (a later daemon's stays). */
void cli_locator_remove(const char *path, long pid);
/* The daemon's side: publish after the API is up, withdraw at exit. Errors
 * are logged and harmless: the CLI then falls back to the defaults. */
void cli_locator_publish(const char *state_dir, const char *api);
void cli_locator_withdraw(void);

/* Which daemon the client verbs mean: --state-dir and --api when given,
 * else what the live locator of this user names, else the default state
 * directory and its api_listen setting. */
void cli_locate(const struct cli_args *a, char *state_dir, size_t dlen, char *api,
		size_t alen);
/* The same with the locator file given (NULL: none). */
void cli_locate_with(const struct cli_args *a, const char *locator, char *state_dir, size_t dlen,
		     char *api, size_t alen);
/* A live daemon of root's locator (for a non-root caller's advice). */
bool cli_root_daemon_live(void);

/* ---- lanrage_offline.c: what works without a running daemon ------------- */

/* Whether a daemon holds STATE_DIR/daemon.lock: 1 yes, 0 no, -errno when it
 * cannot be told (-EACCES: not our state directory). */
int cli_daemon_running(const char *state_dir);
/* The settings verbs on STATE_DIR/lanrage.db directly. */
int cli_settings_offline(const struct cli_args *a, const char *state_dir);
/* The daemon's side of `lanrage logs`: its lines also go to
 * STATE_DIR/daemon.log (mode 0600, rotated at CLI_LOG_MAX_BYTES). */
void cli_log_file_open(const char *state_dir);
/* lanrage logs: the tail of STATE_DIR/daemon.log, following it with -f. */
int cli_logs(const struct cli_args *a);
/* One line on stderr when path cannot be used for lack of permission
 * (errno err): when root owns it (or its directory) "run this as root:
 * sudo lanrage VERB...", saying "the daemon runs as root" for a daemon's
 * file, else the owner's name. Returns CLI_EXIT_FAIL. */
int cli_fail_access(const struct cli_args *a, const char *path, int err, bool daemon);
/* "lanrage: the daemon runs as root; run this as root: sudo lanrage VERB...";
 * returns CLI_EXIT_FAIL. */
int cli_fail_root(const struct cli_args *a);
/* Prints a settings answer (the API's JSON, or the same built offline). */
void cli_settings_print(const struct cli_args *a, const struct json_t *out);
int cli_demo(const char *argv0);
int cmd_netcheck(int argc, char **argv);
/* netcheck through a running daemon (state_dir NULL: the default): 0 done, -ECONNREFUSED no daemon, or
 * CLI_EXIT_* when it answered. */
int cli_netcheck_daemon(const char *state_dir, bool json);

/* lanrage_http.c: one request to the API at addr ("IP:PORT"). *status is
 * the HTTP status, *body the answer (caller frees). -ECONNREFUSED when
 * nothing listens. */
int cli_http(const char *addr, const char *token, const char *method, const char *path,
	     const char *body, int *status, char **resp);

#endif
