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
	OPT_ALL,
	OPT_NO_OPEN,
	OPT_LINES = 'n',
	OPT_FOLLOW = 'f',
};

/* Which verbs take which options. */
#define V(x) (1u << (x))
#define V_SETTINGS (V(CLI_SETTINGS_LIST) | V(CLI_SETTINGS_GET) | V(CLI_SETTINGS_SET) | \
		    V(CLI_SETTINGS_RESET))
#define V_CLIENT (V(CLI_PARTY_CREATE) | V(CLI_PARTY_JOIN) | V(CLI_PARTY_LEAVE) | V(CLI_STATUS) | \
		  V(CLI_PEERS) | V(CLI_PING) | V_SETTINGS | V(CLI_DOWN) | V(CLI_GAMES) | \
		  V(CLI_UI))

static const struct {
	int opt;
	unsigned verbs;
} cli_opt_verbs[] = {
	{ OPT_JSON, V_CLIENT },
	{ OPT_STATE_DIR, V_CLIENT | V(CLI_DAEMON) | V(CLI_LOGS) },
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
	{ OPT_ALL, V(CLI_SETTINGS_RESET) },
	{ OPT_LINES, V(CLI_LOGS) },
	{ OPT_FOLLOW, V(CLI_LOGS) },
	{ OPT_NO_OPEN, V(CLI_UI) },
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
	{ "all", no_argument, NULL, OPT_ALL },
	{ "lines", required_argument, NULL, OPT_LINES },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "no-open", no_argument, NULL, OPT_NO_OPEN },
	{ NULL, 0, NULL, 0 },
};

/* Each verb's synopsis and what it does; cli_usage lists them all and
 * `VERB --help` prints the entries of that verb. */
static const struct cli_help {
	const char *verb, *synopsis, *text;
	bool client; /* talks to the daemon: --state-dir, --api */
} cli_helps[] = {
	{ "daemon",
	  "daemon [--control URL [--control-pin sha256/BASE64] [--control-insecure]]\n"
	  "       [--state-dir DIR] [--api ADDR:PORT] [--listen-port N] [--name NAME]\n"
	  "       [--interface IF] [--log-level L] [--log-format text|json]",
	  "Runs the daemon in the foreground (needs root or CAP_NET_ADMIN). Without\n"
	  "--control (or the setting control_server) it runs its own control plane (local\n"
	  "mode: parties only daemons on this machine can join). It logs to stderr and to\n"
	  "STATE_DIR/daemon.log (lanrage logs), and says where it runs in\n"
	  "/run/lanrage/daemon.json so the other verbs find it without flags.", false },
	{ "party create", "party create NAME [--json]",
	  "Creates a party and joins it; prints the share code others join with.", true },
	{ "party join", "party join CODE [--json]",
	  "Joins the party with that share code: 12 letters and digits like\n"
	  "ABCD-EFGH-JKMN, in any case, dashes and spaces optional\n"
	  "(lanrage party join abcd efgh jkmn works too).", true },
	{ "party leave", "party leave [--json]", "Leaves the party.", true },
	{ "status", "status [--wait] [--timeout S] [--json]",
	  "You, the control plane, the party and every member's path and latency;\n"
	  "redraws while members connect (--wait: until they settle, exit 1 after S\n"
	  "seconds, default 30).", true },
	{ "peers", "peers [--json]", "The party's members.", true },
	{ "games", "games [--json]", "LAN games found across the party.", true },
	{ "ui", "ui [--no-open] [--json]",
	  "Prints a one-time link that logs a browser into the web UI (valid 2\n"
	  "minutes, once) and opens it in a browser when a desktop is available.", true },
	{ "netcheck",
	  "netcheck [--stun HOST[:PORT]]... [--port N] [--timeout S] [--no-hairpin]\n"
	  "         [--state-dir DIR] [--json]",
	  "NAT report: the running daemon's, or a check of its own on a UDP socket\n"
	  "with --stun or without a daemon.", false },
	{ "ping", "ping PEER [--count N] [--json]",
	  "In-tunnel latency to a member (peer ID, name or virtual IP); N is 1-20,\n"
	  "default 4.", true },
	{ "settings", "settings [--json]",
	  "Every setting with its value, default and allowed values.", true },
	{ "settings get", "settings get KEY [--json]", "One setting's value.", true },
	{ "settings set", "settings set KEY VALUE [--json]",
	  "Changes a setting after checking it; says whether it applied now\n"
	  "(metrics, lan_discovery*), applies when the daemon next starts, or was unchanged.", true },
	{ "settings reset", "settings reset KEY | --all [--json]",
	  "Puts one setting, or all of them, back to the default.", true },
	{ "logs", "logs [-n N] [-f|--follow] [--state-dir DIR]",
	  "The last N lines (default 50) of the daemon's log, STATE_DIR/daemon.log;\n"
	  "-f keeps printing new lines. Works when the daemon is not running.", false },
	{ "down", "down [--timeout S] [--json]",
	  "Stops the daemon cleanly: it leaves the party and removes its interface.", true },
	{ "demo", "demo", "Four players behind different NATs in a lab, end to end (root).", false },
	{ "version", "version", "Prints the version (also: lanrage --version).", false },
	{ "help", "help [VERB]", "This text, or one verb's (also: lanrage VERB --help).", false },
};

#define CLI_COMMON_HELP                                                                     \
	"The client verbs talk to the running daemon: the one its locator names\n"         \
	"(/run/lanrage/daemon.json as root, else $XDG_RUNTIME_DIR/lanrage/daemon.json),\n" \
	"else the one of the default state directory (/var/lib/lanrage as root);\n"        \
	"--state-dir DIR and --api ADDR:PORT name another. Without a daemon the\n"         \
	"settings verbs work on STATE_DIR/lanrage.db directly.\n"

void cli_usage(FILE *f)
{
	fprintf(f, "Usage: lanrage VERB [OPTIONS]\n\n");
	for (size_t i = 0; i < sizeof(cli_helps) / sizeof(cli_helps[0]); i++)
		fprintf(f, "  %s\n", cli_helps[i].synopsis);
	fprintf(f, "\n" CLI_COMMON_HELP "\nEvery verb that prints data takes --json; "
		   "lanrage VERB --help says more.\n"
		   "Exit status: 0 ok, 1 failure, 2 bad usage.\n");
}

/* "party" is every party verb; "party join" just that one. */
static bool cli_help_match(const struct cli_help *h, const char *verb)
{
	size_t n = strlen(verb);

	return !strncmp(h->verb, verb, n) && (!h->verb[n] || h->verb[n] == ' ');
}

static bool cli_help_known(const char *verb)
{
	for (size_t i = 0; i < sizeof(cli_helps) / sizeof(cli_helps[0]); i++)
		if (cli_help_match(&cli_helps[i], verb))
			return true;
	return false;
}

int cli_usage_verb(FILE *f, const char *verb)
{
	bool found = false, client = false;

	for (size_t i = 0; i < sizeof(cli_helps) / sizeof(cli_helps[0]); i++) {
		const struct cli_help *h = &cli_helps[i];

		if (!cli_help_match(h, verb))
			continue;
		fprintf(f, "%sUsage: lanrage %s\n\n%s\n", found ? "\n" : "", h->synopsis, h->text);
		found = true;
		client |= h->client;
	}
	if (client)
		fprintf(f, "\n" CLI_COMMON_HELP);
	return found ? 0 : -ENOENT;
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

/* party join CODE...: the words joined by spaces, so a code pasted in
 * pieces works; the API checks it (api_share_code). */
static void cli_join_words(char **w, size_t n, struct cli_args *a)
{
	size_t len = 0;

	a->code_text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(a->code_text + len, len < sizeof(a->code_text)
							     ? sizeof(a->code_text) - len
							     : 0,
					"%s%s", i ? " " : "", w[i]);
	a->arg = a->code_text;
}

/* The verb and how many positional arguments it takes. */
static int cli_verb(char **pos, size_t npos, struct cli_args *a, size_t *used, char *err,
		    size_t errlen)
{
	static const struct {
		const char *w1, *w2;
		enum cli_verb verb;
		size_t nargs, nmax; /* at least nargs; at most nmax when more than nargs */
	} verbs[] = {
		{ "daemon", NULL, CLI_DAEMON, 0, 0 },
		{ "party", "create", CLI_PARTY_CREATE, 1, 0 },
		{ "party", "join", CLI_PARTY_JOIN, 1, 6 },
		{ "party", "leave", CLI_PARTY_LEAVE, 0, 0 },
		{ "status", NULL, CLI_STATUS, 0, 0 },
		{ "peers", NULL, CLI_PEERS, 0, 0 },
		{ "games", NULL, CLI_GAMES, 0, 0 },
		{ "ui", NULL, CLI_UI, 0, 0 },
		{ "ping", NULL, CLI_PING, 1, 0 },
		{ "settings", "get", CLI_SETTINGS_GET, 1, 0 },
		{ "settings", "set", CLI_SETTINGS_SET, 2, 0 },
		{ "settings", "reset", CLI_SETTINGS_RESET, 0, 1 },
		{ "settings", NULL, CLI_SETTINGS_LIST, 0, 0 },
		{ "logs", NULL, CLI_LOGS, 0, 0 },
		{ "down", NULL, CLI_DOWN, 0, 0 },
		{ "demo", NULL, CLI_DEMO, 0, 0 },
		{ "version", NULL, CLI_VERSION, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		size_t words = verbs[i].w2 ? 2 : 1, nargs = verbs[i].nargs;

		if (strcmp(pos[0], verbs[i].w1))
			continue;
		if (verbs[i].w2 && (npos < 2 || strcmp(pos[1], verbs[i].w2)))
			continue;
		if (npos - words < nargs)
			return cli_err(err, errlen, "'%s%s%s' needs %zu argument%s", pos[0],
				       words > 1 ? " " : "", words > 1 ? pos[1] : "", nargs,
				       nargs > 1 ? "s" : "");
		if (verbs[i].nmax > nargs)
			nargs = npos - words < verbs[i].nmax ? npos - words : verbs[i].nmax;
		a->verb = verbs[i].verb;
		a->arg = nargs > 0 ? pos[words] : NULL;
		a->value = nargs > 1 && a->verb != CLI_PARTY_JOIN ? pos[words + 1] : NULL;
		if (a->verb == CLI_PARTY_JOIN)
			cli_join_words(pos + words, nargs, a);
		*used = words + nargs;
		return 0;
	}
	if (!strcmp(pos[0], "party"))
		return cli_err(err, errlen, "party needs create NAME, join CODE or leave");
	if (!strcmp(pos[0], "settings"))
		return cli_err(err, errlen,
			       "settings takes get KEY, set KEY VALUE or reset KEY|--all");
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
	case OPT_ALL:
		a->all = true;
		break;
	case OPT_LINES:
		if (cli_uint(optarg, 1, 100000, &v))
			return cli_err(err, errlen, "bad -n (1-100000 lines): %s", optarg);
		a->lines = (unsigned)v;
		break;
	case OPT_FOLLOW:
		a->follow = true;
		break;
	case OPT_NO_OPEN:
		a->no_open = true;
		break;
	}
	return 0;
}

/* `lanrage VERB [SUBVERB] ... --help` (or -h): that verb's usage. The words
 * before the first option name it; an unknown one is a usage error. */
static int cli_help_request(int argc, char **argv, struct cli_args *a, char *err, size_t errlen)
{
	int words = 0;

	for (int i = 1; i < argc && words < 2 && argv[i][0] != '-'; i++)
		words++;
	a->verb = CLI_HELP;
	if (words == 0)
		return 0;
	snprintf(a->help_buf, sizeof(a->help_buf), "%s", argv[1]);
	if (words == 2 && (!strcmp(argv[1], "party") || !strcmp(argv[1], "settings")))
		snprintf(a->help_buf, sizeof(a->help_buf), "%s %s", argv[1], argv[2]);
	a->help = a->help_buf;
	if (!cli_help_known(a->help))
		return cli_err(err, errlen, "unknown verb '%s'", a->help);
	return 0;
}

static bool cli_is_help(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

/* help, --help, -h, help VERB, --version: 1 when argv was one of them. */
static int cli_meta(int argc, char **argv, struct cli_args *a, char *err, size_t errlen, int *r)
{
	*r = 0;
	if (!strcmp(argv[1], "--version")) {
		a->verb = CLI_VERSION;
		*r = argc == 2 ? 0 : cli_err(err, errlen, "--version takes no arguments");
		return 1;
	}
	for (int i = 2; i < argc; i++)
		if (cli_is_help(argv[i])) {
			*r = cli_help_request(argc, argv, a, err, errlen);
			return 1;
		}
	if (!strcmp(argv[1], "help") || cli_is_help(argv[1])) {
		a->verb = CLI_HELP;
		if (argc > 4 || (argc > 2 && cli_is_help(argv[1])))
			*r = cli_err(err, errlen, "help takes one verb at most");
		else if (argc > 2)
			*r = cli_help_request(argc - 1, argv + 1, a, err, errlen);
		return 1;
	}
	if (!strcmp(argv[1], "netcheck")) {
		a->verb = CLI_NETCHECK; /* its options are its own (cmd_netcheck) */
		return 1;
	}
	return 0;
}

/* What the options say beyond each one alone. */
static int cli_check(struct cli_args *a, const int *seen, int nseen, char *err, size_t errlen)
{
	for (int i = 0; i < nseen; i++)
		if (!cli_opt_allowed(seen[i], a->verb)) {
			for (size_t k = 0; cli_opts[k].name; k++)
				if (cli_opts[k].val == seen[i])
					return cli_err(err, errlen, "this verb takes no --%s",
						       cli_opts[k].name);
		}
	if (a->verb == CLI_PING && !a->arg[0])
		return cli_err(err, errlen, "ping needs a peer");
	if (a->verb == CLI_SETTINGS_RESET && !a->arg == !a->all)
		return cli_err(err, errlen, "settings reset takes a KEY or --all");
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
	a->lines = 50;
	a->argc = argc;
	a->argv = argv;
	err[0] = '\0';
	if (argc < 2)
		return cli_err(err, errlen, "no verb given");
	if (cli_meta(argc, argv, a, err, errlen, &r))
		return r;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:n:f", cli_opts, NULL)) != -1 || optind < argc) {
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
	return cli_check(a, seen, nseen, err, errlen);
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
