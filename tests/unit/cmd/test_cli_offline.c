/*
 * test_cli_offline: the settings verbs without a daemon
 * (src/cmd/lanrage_offline.c) on a temporary state directory: set saves
 * and says so, the same value again is "unchanged", reset KEY and --all
 * put defaults back and list what moved, a bad value or key changes
 * nothing, and a look at a state directory without a database shows the
 * defaults and creates nothing. The answers are the API's JSON (--json).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/lanrage_cli.h"

static char dir[64], state[96];

static int setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/lr-test-offline.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Runs `lanrage settings WORDS... --json --state-dir STATE` offline; *out
 * is its JSON (NULL when it failed). Returns the exit status. */
static int run(json_t **out, ...)
{
	char *argv[16] = { "lanrage", "settings" }, err[256], path[128];
	struct cli_args a;
	int argc = 2, saved, fd, r;
	va_list ap;

	va_start(ap, out);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc++] = "--json";
	argv[argc++] = "--state-dir";
	argv[argc++] = state;
	assert_int_equal(cli_parse(argc, argv, &a, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/out", dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	r = cli_settings_offline(&a, state);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	*out = r ? NULL : json_load_file(path, 0, NULL);
	return r;
}

static const char *note_of(json_t *j)
{
	return json_string_value(json_object_get(j, "note"));
}

static void test_set_unchanged_reset(void **st)
{
	json_t *j;

	/* a look creates nothing */
	assert_int_equal(run(&j, "get", "mtu", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(j, "value")), "1420");
	json_decref(j);
	assert_int_equal(run(&j, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "mtu"), "applies")),
			    "next start");
	json_decref(j);
	assert_int_equal(access(state, F_OK), -1);
	/* set: saved for the next start; again: unchanged */
	assert_int_equal(run(&j, "set", "mtu", "1400", NULL), 0);
	assert_string_equal(note_of(j), "no daemon running: saved; it applies when the daemon starts");
	json_decref(j);
	assert_int_equal(run(&j, "set", "mtu", "1400", NULL), 0);
	assert_string_equal(note_of(j), "unchanged");
	json_decref(j);
	/* canonical forms count as the same value */
	assert_int_equal(run(&j, "set", "lan_discovery", "yes", NULL), 0);
	assert_string_equal(note_of(j), "unchanged");
	json_decref(j);
	/* a bad value or key changes nothing */
	assert_int_equal(run(&j, "set", "mtu", "99", NULL), CLI_EXIT_FAIL);
	assert_int_equal(run(&j, "reset", "bogus", NULL), CLI_EXIT_FAIL);
	assert_int_equal(run(&j, "get", "mtu", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(j, "value")), "1400");
	json_decref(j);
	/* reset KEY, then again: unchanged */
	assert_int_equal(run(&j, "reset", "mtu", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(j, "value")), "1420");
	assert_string_equal(note_of(j), "no daemon running: saved; it applies when the daemon starts");
	json_decref(j);
	assert_int_equal(run(&j, "reset", "mtu", NULL), 0);
	assert_string_equal(note_of(j), "unchanged");
	json_decref(j);
}

static void test_reset_all(void **st)
{
	json_t *j, *changed;

	assert_int_equal(run(&j, "set", "keepalive", "10", NULL), 0);
	json_decref(j);
	assert_int_equal(run(&j, "set", "name", "alice", NULL), 0);
	json_decref(j);
	assert_int_equal(run(&j, "reset", "--all", NULL), 0);
	changed = json_object_get(j, "changed");
	assert_int_equal(json_array_size(changed), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *key = json_string_value(json_object_get(json_array_get(changed, i), "key"));

		assert_true(!strcmp(key, "name") || !strcmp(key, "keepalive"));
	}
	json_decref(j);
	assert_int_equal(run(&j, "reset", "--all", NULL), 0);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_unchanged_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_all, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
