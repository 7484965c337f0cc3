/*
 * lanrage_args: the lanrage command line, parsed into struct cli_args
 * without side effects (tests/unit/cmd/test_cli_args.c). Options may come
 * anywhere after the verb; an option the verb does not take, a missing or
 * extra argument, or a bad number is a usage error (exit 2).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/lanrage_cli.h"

enum {
	OPT_JSON = 'j',
	OPT_STATE_DIR = 256,
	OPT_API,
	OPT_CONTROL,
	OPT_CONTROL_PIN,
	OPT_CONTROL_INSECURE,
	OPT_LISTEN_PORT,
	OPT_NAME,
	OPT_INTERFACE,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_WAIT,
	OPT_TIMEOUT,
	OPT_COUNT,
};

/* Which verbs take which options. */
#define V(x) (1u << (x))
#define V_CLIENT (V(CLI_PARTY_CREATE) | V(CLI_PARTY_JOIN) | V(CLI_PARTY_LEAVE) | V(CLI_STATUS) | \
		  V(CLI_PEERS) | V(CLI_PING) | V(CLI_SETTINGS_LIST) | V(CLI_SETTINGS_GET) |     \
		  V(CLI_SETTINGS_SET) | V(CLI_DOWN) | V(CLI_GAMES))

static const struct {
	int opt;
	unsigned verbs;
} cli_opt_verbs[] = {
	{ OPT_JSON, V_CLIENT },
	{ OPT_STATE_DIR, V_CLIENT | V(CLI_DAEMON) },
	{ OPT_API, V_CLIENT | V(CLI_DAEMON) },
	{ OPT_CONTROL, V(CLI_DAEMON) },
	{ OPT_CONTROL_PIN, V(CLI_DAEMON) },
	{ OPT_CONTROL_INSECURE, V(CLI_DAEMON) },
	{ OPT_LISTEN_PORT, V(CLI_DAEMON) },
	{ OPT_NAME, V(CLI_DAEMON) },
	{ OPT_INTERFACE, V(CLI_DAEMON) },
	{ OPT_LOG_LEVEL, V(CLI_DAEMON) },
	{ OPT_LOG_FORMAT, V(CLI_DAEMON) },
	{ OPT_WAIT, V(CLI_STATUS) },
	{ OPT_TIMEOUT, V(CLI_STATUS) | V(CLI_DOWN) },
	{ OPT_COUNT, V(CLI_PING) },
};

static const struct option cli_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "api", required_argument, NULL, OPT_API },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "control-pin", required_argument, NULL, OPT_CONTROL_PIN },
	{ "control-insecure", no_argument, NULL, OPT_CONTROL_INSECURE },
	{ "listen-port", required_argument, NULL, OPT_LISTEN_PORT },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "interface", required_argument, NULL, OPT_INTERFACE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ NULL, 0, NULL, 0 },
};

void cli_usage(FILE *f)
{
	fprintf(f,
		"Usage: lanrage VERB [OPTIONS]\n"
		"\n"
		"Daemon:\n"
		"  daemon [--control URL] [--state-dir DIR] [--listen-port N] [--name NAME]\n"
		"         [--interface IF] [--api ADDR:PORT] [--log-level L] [--log-format text|json]\n"
		"         [--control-pin sha256/BASE64] [--control-insecure]\n"
		"        Run the daemon in the foreground (needs root or CAP_NET_ADMIN).\n"
		"\n"
		"Client verbs (talk to the running daemon; --state-dir DIR, --api ADDR:PORT):\n"
		"  party create NAME     Create a party; prints its ID to share.\n"
		"  party join ID         Join a party by its ID.\n"
		"  party leave           Leave the party.\n"
		"  status [--wait] [--timeout S]\n"
		"                        The party, this node and every member's path and RTT.\n"
		"  peers                 The members.\n"
		"  games                 LAN games found across the party.\n"
		"  netcheck [--stun HOST[:PORT]]... [--port N] [--timeout S] [--no-hairpin] [--state-dir DIR]\n"
		"                        NAT report: the daemon's, or a check of its own with --stun.\n"
		"  ping PEER [--count N] In-tunnel latency to a member (peer ID, name or virtual IP).\n"
		"  settings [get KEY | set KEY VALUE]\n"
		"  down [--timeout S]    Stop the daemon cleanly (leaves the party).\n"
		"  demo                  Four players behind different NATs in a lab, end to end.\n"
		"  help                  This text.\n"
		"\n"
		"Every verb that prints data takes --json. Exit status: 0 ok, 1 failure, 2 bad usage.\n");
}

static int cli_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cli_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

static int cli_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -EINVAL : 0;
}

/* The verb and how many positional arguments it takes. */
static int cli_verb(char **pos, size_t npos, struct cli_args *a, size_t *used, char *err,
		    size_t errlen)
{
	static const struct {
		const char *w1, *w2;
		enum cli_verb verb;
		size_t nargs;
	} verbs[] = {
		{ "daemon", NULL, CLI_DAEMON, 0 },
		{ "party", "create", CLI_PARTY_CREATE, 1 },
		{ "party", "join", CLI_PARTY_JOIN, 1 },
		{ "party", "leave", CLI_PARTY_LEAVE, 0 },
		{ "status", NULL, CLI_STATUS, 0 },
		{ "peers", NULL, CLI_PEERS, 0 },
		{ "games", NULL, CLI_GAMES, 0 },
		{ "ping", NULL, CLI_PING, 1 },
		{ "settings", "get", CLI_SETTINGS_GET, 1 },
		{ "settings", "set", CLI_SETTINGS_SET, 2 },
		{ "settings", NULL, CLI_SETTINGS_LIST, 0 },
		{ "down", NULL, CLI_DOWN, 0 },
		{ "demo", NULL, CLI_DEMO, 0 },
	};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		size_t words = verbs[i].w2 ? 2 : 1;

		if (strcmp(pos[0], verbs[i].w1))
			continue;
		if (verbs[i].w2 && (npos < 2 || strcmp(pos[1], verbs[i].w2)))
			continue;
		if (npos - words < verbs[i].nargs)
			return cli_err(err, errlen, "'%s%s%s' needs %zu argument%s", pos[0],
				       words > 1 ? " " : "", words > 1 ? pos[1] : "",
				       verbs[i].nargs, verbs[i].nargs > 1 ? "s" : "");
		a->verb = verbs[i].verb;
		a->arg = verbs[i].nargs > 0 ? pos[words] : NULL;
		a->value = verbs[i].nargs > 1 ? pos[words + 1] : NULL;
		*used = words + verbs[i].nargs;
		return 0;
	}
	if (!strcmp(pos[0], "party"))
		return cli_err(err, errlen, "party needs create NAME, join ID or leave");
	if (!strcmp(pos[0], "settings"))
		return cli_err(err, errlen, "settings takes get KEY or set KEY VALUE");
	return cli_err(err, errlen, "unknown verb '%s'", pos[0]);
}

static bool cli_opt_allowed(int opt, enum cli_verb verb)
{
	for (size_t i = 0; i < sizeof(cli_opt_verbs) / sizeof(cli_opt_verbs[0]); i++)
		if (cli_opt_verbs[i].opt == opt)
			return cli_opt_verbs[i].verbs & V(verb);
	return false;
}

static int cli_option(int c, struct cli_args *a, char *err, size_t errlen)
{
	unsigned long v;

	switch (c) {
	case OPT_JSON:
		a->json = true;
		break;
	case OPT_STATE_DIR:
		a->state_dir = optarg;
		break;
	case OPT_API:
		a->api = optarg;
		break;
	case OPT_CONTROL:
		a->control = optarg;
		break;
	case OPT_CONTROL_PIN:
		a->control_pin = optarg;
		break;
	case OPT_CONTROL_INSECURE:
		a->control_insecure = true;
		break;
	case OPT_NAME:
		a->name = optarg;
		break;
	case OPT_INTERFACE:
		a->ifname = optarg;
		break;
	case OPT_LOG_LEVEL:
		a->log_level = optarg;
		break;
	case OPT_LOG_FORMAT:
		a->log_format = optarg;
		break;
	case OPT_WAIT:
		a->wait = true;
		break;
	case OPT_LISTEN_PORT:
		if (cli_uint(optarg, 0, 65535, &v))
			return cli_err(err, errlen, "bad --listen-port (0-65535): %s", optarg);
		a->listen_port = (int)v;
		break;
	case OPT_TIMEOUT:
		if (cli_uint(optarg, 1, 3600, &v))
			return cli_err(err, errlen, "bad --timeout (1-3600 seconds): %s", optarg);
		a->timeout_s = (unsigned)v;
		break;
	case OPT_COUNT:
		if (cli_uint(optarg, 1, 20, &v))
			return cli_err(err, errlen, "bad --count (1-20): %s", optarg);
		a->count = (unsigned)v;
		break;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errlen)
{
	int c, r, seen[16], nseen = 0;
	char *pos[8];
	size_t npos = 0, used = 0;

	memset(a, 0, sizeof(*a));
	a->listen_port = -1;
	a->timeout_s = 30;
	a->count = 4;
	err[0] = '\0';
	if (argc < 2)
		return cli_err(err, errlen, "no verb given");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		a->verb = CLI_HELP;
		return argc == 2 ? 0 : cli_err(err, errlen, "help takes no arguments");
	}
	if (!strcmp(argv[1], "netcheck")) {
		a->verb = CLI_NETCHECK;
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", cli_opts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			/* a positional argument: take it and go on with the options after it */
			if (npos == sizeof(pos) / sizeof(pos[0]))
				return cli_err(err, errlen, "too many arguments");
			pos[npos++] = argv[optind++];
			continue;
		}
		if (c == '?')
			return cli_err(err, errlen, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return cli_err(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		if ((r = cli_option(c, a, err, errlen)))
			return r;
		if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[nseen++] = c;
	}
	if (npos == 0)
		return cli_err(err, errlen, "no verb given");
	if ((r = cli_verb(pos, npos, a, &used, err, errlen)))
		return r;
	if (used < npos)
		return cli_err(err, errlen, "unexpected argument '%s'", pos[used]);
	for (int i = 0; i < nseen; i++)
		if (!cli_opt_allowed(seen[i], a->verb)) {
			for (size_t k = 0; cli_opts[k].name; k++)
				if (cli_opts[k].val == seen[i])
					return cli_err(err, errlen, "this verb takes no --%s",
						       cli_opts[k].name);
		}
	if (a->verb == CLI_PING && !a->arg[0])
		return cli_err(err, errlen, "ping needs a peer");
	return 0;
}

const char *cli_default_state_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0)
		snprintf(buf, len, "/var/lib/lanrage");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/lanrage", xdg);
	else
		snprintf(buf, len, "%s/.local/state/lanrage", home && home[0] ? home : ".");
	return buf;
}
