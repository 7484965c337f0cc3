/*
 * test_cli_args: the lanrage command line (src/cmd/lanrage_args.c): every
 * verb with its arguments and options, options anywhere after the verb,
 * and the usage errors (exit 2) for unknown verbs and options, missing or
 * extra arguments, options a verb does not take and bad numbers; --help on
 * every verb, --version, share codes in pieces, settings reset and logs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/lanrage_cli.h"

/* Parses a NULL-terminated list of words after "lanrage". */
static int parse(struct cli_args *a, char *err, ...)
{
	char *argv[32] = { "lanrage" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return cli_parse(argc, argv, a, err, 256);
}

static void test_verbs(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "party", "create", "lan night", NULL), 0);
	assert_int_equal(a.verb, CLI_PARTY_CREATE);
	assert_string_equal(a.arg, "lan night");
	assert_int_equal(parse(&a, err, "party", "join", "ABCD-EFGH-JKMN", NULL), 0);
	assert_int_equal(a.verb, CLI_PARTY_JOIN);
	assert_string_equal(a.arg, "ABCD-EFGH-JKMN");
	assert_int_equal(parse(&a, err, "party", "leave", NULL), 0);
	assert_int_equal(a.verb, CLI_PARTY_LEAVE);
	assert_int_equal(parse(&a, err, "status", NULL), 0);
	assert_int_equal(a.verb, CLI_STATUS);
	assert_false(a.json);
	assert_false(a.wait);
	assert_int_equal(a.timeout_s, 30);
	assert_int_equal(parse(&a, err, "peers", "--json", NULL), 0);
	assert_int_equal(a.verb, CLI_PEERS);
	assert_true(a.json);
	assert_int_equal(parse(&a, err, "ping", "bob", NULL), 0);
	assert_int_equal(a.verb, CLI_PING);
	assert_string_equal(a.arg, "bob");
	assert_int_equal(a.count, 4);
	assert_int_equal(parse(&a, err, "settings", NULL), 0);
	assert_int_equal(a.verb, CLI_SETTINGS_LIST);
	assert_int_equal(parse(&a, err, "settings", "get", "mtu", NULL), 0);
	assert_int_equal(a.verb, CLI_SETTINGS_GET);
	assert_string_equal(a.arg, "mtu");
	assert_int_equal(parse(&a, err, "settings", "set", "mtu", "1400", NULL), 0);
	assert_int_equal(a.verb, CLI_SETTINGS_SET);
	assert_string_equal(a.arg, "mtu");
	assert_string_equal(a.value, "1400");
	assert_int_equal(parse(&a, err, "down", NULL), 0);
	assert_int_equal(a.verb, CLI_DOWN);
	assert_int_equal(parse(&a, err, "demo", NULL), 0);
	assert_int_equal(a.verb, CLI_DEMO);
	assert_int_equal(parse(&a, err, "help", NULL), 0);
	assert_int_equal(a.verb, CLI_HELP);
	assert_int_equal(parse(&a, err, "--help", NULL), 0);
	assert_int_equal(a.verb, CLI_HELP);
	/* netcheck keeps its own parser: everything after it is its own */
	assert_int_equal(parse(&a, err, "netcheck", "--stun", "x", "--no-hairpin", NULL), 0);
	assert_int_equal(a.verb, CLI_NETCHECK);
}

static void test_options(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "daemon", NULL), 0);
	assert_int_equal(a.verb, CLI_DAEMON);
	assert_int_equal(a.listen_port, -1);
	assert_null(a.control);
	assert_null(a.state_dir);
	assert_int_equal(parse(&a, err, "daemon", "--control", "ws://203.0.113.10:8667",
			       "--state-dir", "/tmp/s", "--listen-port", "0", "--name", "alice",
			       "--interface", "lr1", "--log-level", "debug", "--log-format", "json",
			       "--api", "127.0.0.1:9000", NULL),
			 0);
	assert_string_equal(a.control, "ws://203.0.113.10:8667");
	assert_string_equal(a.state_dir, "/tmp/s");
	assert_int_equal(a.listen_port, 0);
	assert_string_equal(a.name, "alice");
	assert_string_equal(a.ifname, "lr1");
	assert_string_equal(a.log_level, "debug");
	assert_string_equal(a.log_format, "json");
	assert_string_equal(a.api, "127.0.0.1:9000");
	/* options before, between and after the arguments */
	assert_int_equal(parse(&a, err, "party", "--json", "create", "x", "--state-dir", "/s", NULL),
			 0);
	assert_int_equal(a.verb, CLI_PARTY_CREATE);
	assert_string_equal(a.arg, "x");
	assert_true(a.json);
	assert_string_equal(a.state_dir, "/s");
	assert_int_equal(parse(&a, err, "ping", "--count", "9", "10.66.0.2", NULL), 0);
	assert_int_equal(a.count, 9);
	assert_string_equal(a.arg, "10.66.0.2");
	assert_int_equal(parse(&a, err, "status", "--wait", "--timeout", "5", NULL), 0);
	assert_true(a.wait);
	assert_int_equal(a.timeout_s, 5);
	assert_int_equal(parse(&a, err, "settings", "set", "--json", "stun_servers", "a,b", NULL), 0);
	assert_string_equal(a.value, "a,b");
}

static void test_usage_errors(void **state)
{
	struct cli_args a;
	char err[256];

#define BAD(...)                                                                    \
	do {                                                                        \
		err[0] = '\0';                                                      \
		assert_int_equal(parse(&a, err, __VA_ARGS__, NULL), CLI_EXIT_USAGE); \
		assert_true(err[0] != '\0');                                        \
	} while (0)

	assert_int_equal(parse(&a, err, NULL), CLI_EXIT_USAGE);
	BAD("frobnicate");
	BAD("party");
	BAD("party", "dance");
	BAD("party", "create");
	BAD("party", "join");
	BAD("party", "leave", "now");
	BAD("status", "extra");
	BAD("ping");
	BAD("ping", "");
	BAD("ping", "a", "b");
	BAD("settings", "get");
	BAD("settings", "set", "mtu");
	BAD("settings", "set", "mtu", "1", "2");
	BAD("settings", "frob");
	BAD("help", "me");
	BAD("status", "--bogus");
	BAD("status", "--timeout");
	BAD("status", "--timeout", "0");
	BAD("status", "--timeout", "-1");
	BAD("status", "--timeout", "5s");
	BAD("ping", "bob", "--count", "0");
	BAD("ping", "bob", "--count", "21");
	BAD("daemon", "--listen-port", "65536");
	BAD("daemon", "--listen-port", "x");
	BAD("daemon", "--json");          /* not a data verb */
	BAD("daemon", "extra");
	BAD("status", "--control", "ws://x");
	BAD("status", "--count", "3");
	BAD("peers", "--wait");
	BAD("demo", "--json");
	BAD("settings", "reset");             /* a KEY or --all */
	BAD("settings", "reset", "mtu", "--all");
	BAD("settings", "reset", "a", "b");
	BAD("settings", "get", "mtu", "--all");
	BAD("logs", "extra");
	BAD("logs", "-n", "0");
	BAD("logs", "-n", "x");
	BAD("logs", "--json");
	BAD("status", "-f");
	BAD("status", "-n", "3");
	BAD("version", "now");
	BAD("--version", "now");
	BAD("frob", "--help");
	BAD("party", "dance", "--help");
	BAD("help", "party", "join", "now");
	BAD("party", "join", "a", "b", "c", "d", "e", "f", "g"); /* 7 pieces: too many */
#undef BAD
}

/* Every verb's --help (or -h, or help VERB) is its usage, exit 0: never a
 * usage error, whatever else is on the line. */
static void test_help_on_every_verb(void **state)
{
	static const char *const verbs[][2] = {
		{ "daemon", NULL },   { "party", NULL },    { "party", "create" },
		{ "party", "join" },  { "party", "leave" }, { "status", NULL },
		{ "peers", NULL },    { "games", NULL },    { "netcheck", NULL },
		{ "ping", NULL },     { "settings", NULL }, { "settings", "get" },
		{ "settings", "set" }, { "settings", "reset" }, { "logs", NULL },
		{ "down", NULL },     { "demo", NULL },     { "version", NULL },
		{ "help", NULL },
	};
	struct cli_args a;
	char err[256], want[32];
	FILE *null = fopen("/dev/null", "w");

	assert_non_null(null);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		snprintf(want, sizeof(want), "%s%s%s", verbs[i][0], verbs[i][1] ? " " : "",
			 verbs[i][1] ? verbs[i][1] : "");
		assert_int_equal(parse(&a, err, verbs[i][0], verbs[i][1] ? verbs[i][1] : "--help",
				       verbs[i][1] ? "--help" : NULL, NULL),
				 0);
		assert_int_equal(a.verb, CLI_HELP);
		assert_string_equal(a.help, want);
		assert_int_equal(cli_usage_verb(null, a.help), 0);
		assert_int_equal(parse(&a, err, verbs[i][0], "-h", NULL), 0);
		assert_int_equal(a.verb, CLI_HELP);
		assert_string_equal(a.help, verbs[i][0]);
		assert_int_equal(parse(&a, err, "help", verbs[i][0], verbs[i][1], NULL), 0);
		assert_string_equal(a.help, want);
	}
	/* whatever else is there: help wins */
	assert_int_equal(parse(&a, err, "party", "join", "--bogus", "--help", NULL), 0);
	assert_string_equal(a.help, "party join");
	assert_int_equal(parse(&a, err, "daemon", "--state-dir", "/x", "--help", NULL), 0);
	assert_string_equal(a.help, "daemon");
	assert_int_equal(parse(&a, err, "--help", NULL), 0);
	assert_null(a.help);
	assert_int_equal(cli_usage_verb(null, "frob"), -ENOENT);
	assert_int_equal(cli_usage_verb(null, "part"), -ENOENT);
	fclose(null);
}

static void test_version_logs_reset(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "--version", NULL), 0);
	assert_int_equal(a.verb, CLI_VERSION);
	assert_int_equal(parse(&a, err, "version", NULL), 0);
	assert_int_equal(a.verb, CLI_VERSION);
	assert_int_equal(parse(&a, err, "logs", NULL), 0);
	assert_int_equal(a.verb, CLI_LOGS);
	assert_int_equal(a.lines, 50);
	assert_false(a.follow);
	assert_int_equal(parse(&a, err, "logs", "-n", "7", "-f", "--state-dir", "/s", NULL), 0);
	assert_int_equal(a.lines, 7);
	assert_true(a.follow);
	assert_string_equal(a.state_dir, "/s");
	assert_int_equal(parse(&a, err, "logs", "--lines", "9", "--follow", NULL), 0);
	assert_int_equal(a.lines, 9);
	assert_true(a.follow);
	assert_int_equal(parse(&a, err, "settings", "reset", "mtu", NULL), 0);
	assert_int_equal(a.verb, CLI_SETTINGS_RESET);
	assert_string_equal(a.arg, "mtu");
	assert_false(a.all);
	assert_int_equal(parse(&a, err, "settings", "reset", "--all", "--json", NULL), 0);
	assert_int_equal(a.verb, CLI_SETTINGS_RESET);
	assert_null(a.arg);
	assert_true(a.all);
}

/* A share code pasted in pieces is one argument; the check is the API's. */
static void test_join_pieces(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "party", "join", "abcd", "efgh", "jkmn", NULL), 0);
	assert_int_equal(a.verb, CLI_PARTY_JOIN);
	assert_string_equal(a.arg, "abcd efgh jkmn");
	assert_int_equal(parse(&a, err, "party", "join", "ABCD-EFG", "--json", NULL), 0);
	assert_string_equal(a.arg, "ABCD-EFG");
	assert_true(a.json);
	assert_int_equal(parse(&a, err, "party", "join", "ab", "cd", "ef", "gh", "jk", "mn", NULL), 0);
	assert_string_equal(a.arg, "ab cd ef gh jk mn");
	/* the command line is kept for advice such as "sudo lanrage ..." */
	assert_int_equal(a.argc, 9);
	assert_string_equal(a.argv[1], "party");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_on_every_verb),
		cmocka_unit_test(test_version_logs_reset),
		cmocka_unit_test(test_join_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
