/*
 * test_cli_locator: the file by which the CLI finds its daemon
 * (src/cmd/lanrage_locator.c): written whole and readable by all, read
 * back, a dead or foreign PID ignored, removed only by the daemon it names,
 * and cli_locate's choice between flags, locator and defaults.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/lanrage_cli.h"

static char tmp[64];

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/lr-test-locator.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_write_read_remove(void **state)
{
	struct cli_locator w = { .pid = 4242, .uid = 1000, .state_dir = "/srv/lr",
				 .api = "127.0.0.1:9000" }, r;
	char path[4200];
	struct stat st;

	assert_non_null(cli_locator_path(false, path, sizeof(path)));
	assert_non_null(strstr(path, "/lanrage/daemon.json"));
	assert_int_equal(cli_locator_read(path, &r), -ENOENT);
	assert_int_equal(cli_locator_write(path, &w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* no secret in it */
	assert_int_equal(cli_locator_read(path, &r), 0);
	assert_int_equal(r.pid, 4242);
	assert_int_equal(r.uid, 1000);
	assert_string_equal(r.state_dir, "/srv/lr");
	assert_string_equal(r.api, "127.0.0.1:9000");
	/* another daemon's file stays */
	cli_locator_remove(path, 4243);
	assert_int_equal(access(path, F_OK), 0);
	cli_locator_remove(path, 4242);
	assert_int_equal(access(path, F_OK), -1);
	/* not a locator */
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("{\"pid\": \"x\", \"state_dir\": \"rel\"}", f);
	fclose(f);
	assert_int_equal(cli_locator_read(path, &r), -EINVAL);
	assert_string_equal(cli_locator_path(true, path, sizeof(path)), "/run/lanrage/daemon.json");
	unsetenv("XDG_RUNTIME_DIR");
	assert_null(cli_locator_path(false, path, sizeof(path)));
}

/* Alive and a lanrage: the test program is "cli_test_cli_locator" (comm
 * cut to 15), so only a dead PID and a foreign live one can be checked. */
static void test_liveness(void **state)
{
	struct cli_locator l = { .uid = 0 };
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	l.pid = child; /* reaped: dead */
	assert_false(cli_locator_live(&l));
	l.pid = 1; /* init: alive, not lanrage */
	assert_false(cli_locator_live(&l));
}

/* Flags win; the live locator fills in the rest only when it is the daemon
 * the flags name; otherwise the defaults. The test's own locator file: as
 * root the real one is /run/lanrage's, which a daemon may be using. */
static void test_locate(void **state)
{
	struct cli_args a = { 0 };
	struct cli_locator w = { .uid = 0, .api = "127.0.0.1:9001" };
	char path[4200], dir[4096], api[80], def[4096];

	cli_default_state_dir(def, sizeof(def));
	cli_locator_path(false, path, sizeof(path));
	/* no locator: the default state directory */
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, def);
	cli_locate_with(&a, NULL, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, def);
	/* a locator naming a process that is not lanrage: ignored */
	w.pid = 1;
	snprintf(w.state_dir, sizeof(w.state_dir), "%s", tmp);
	assert_int_equal(cli_locator_write(path, &w), 0);
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, def);
	/* explicit flags always win */
	a.state_dir = "/elsewhere";
	a.api = "127.0.0.1:7000";
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, "/elsewhere");
	assert_string_equal(api, "127.0.0.1:7000");
}

/* A live lanrage named by the locator (a child renamed "lanrage"): its
 * state dir and API are used, and with flags only when they name it. */
static void test_locate_live(void **state)
{
	struct cli_locator w = { .uid = 0, .api = "127.0.0.1:9001" };
	struct cli_args a = { 0 };
	char path[4200], dir[4096], api[80], def[4096];
	int ready[2];
	pid_t child;

	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "lanrage");
		assert_int_equal(write(ready[1], "x", 1), 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(ready[0], dir, 1), 1);
	cli_default_state_dir(def, sizeof(def));
	cli_locator_path(false, path, sizeof(path));
	w.pid = child;
	snprintf(w.state_dir, sizeof(w.state_dir), "%s", tmp);
	assert_int_equal(cli_locator_write(path, &w), 0);
	assert_true(cli_locator_live(&w));
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, tmp);
	assert_string_equal(api, "127.0.0.1:9001");
	a.state_dir = tmp; /* the same daemon: its API comes from the locator */
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(api, "127.0.0.1:9001");
	a.state_dir = NULL;
	a.api = "127.0.0.1:9002"; /* another daemon: not this state dir */
	cli_locate_with(&a, path, dir, sizeof(dir), api, sizeof(api));
	assert_string_equal(dir, def);
	assert_string_equal(api, "127.0.0.1:9002");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_false(cli_locator_live(&w));
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_liveness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locate_live, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
