/*
 * lanrage_cli: what the lanrage program's files share. lanrage.c
 * dispatches, lanrage_args.c parses the command line (pure, unit-tested),
 * lanrage_daemon.c runs the daemon, lanrage_client.c is every verb that
 * talks to a running daemon over its local API (lanrage_http.c: the HTTP
 * client on libwebsockets).
 *
 * Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
 */
#ifndef LR_CMD_LANRAGE_CLI_H
#define LR_CMD_LANRAGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
};

/* Parses argv (argv[0] is the program). 0, or CLI_EXIT_USAGE with one line
 * in err. args points into argv. */
int cli_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen);
void cli_usage(FILE *f);

/* The state directory: /var/lib/lanrage as root, else
 * $XDG_STATE_HOME/lanrage or ~/.local/state/lanrage. */
const char *cli_default_state_dir(char *buf, size_t len);

int cli_daemon(const struct cli_args *a);
int cli_client(const struct cli_args *a);
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
