/*
 * test_cli_args: the lanrage command line (src/cmd/lanrage_args.c): every
 * verb with its arguments and options, options anywhere after the verb,
 * and the usage errors (exit 2) for unknown verbs and options, missing or
 * extra arguments, options a verb does not take and bad numbers.
 */
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
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
