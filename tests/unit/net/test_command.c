/*
 * test_command: net_run_command with real processes: output of both streams,
 * exit codes, death by signal (with the parent's ignored signals reset), a
 * timeout that kills the whole process group, a missing program, output past
 * the cap, and after every call no child of ours left, zombie or not.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net.h"

/* No child of this process exists any more (nothing running, nothing to reap). */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* pid is gone or a zombie that is not ours (already killed, waiting for init). */
static bool process_dead(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "r");
	if (!fp)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* SIGKILL takes effect when the victim next runs: give it up to 10 s. */
static bool wait_dead(pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		if (process_dead(pid))
			return true;
		usleep(10000);
	}
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_output_and_status(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *out;
	int status = -1;

	assert_int_equal(net_run_command(argv, 10000, &out, &status), 0);
	assert_int_equal(status, 3);
	assert_non_null(strstr(out, "out\n"));
	assert_non_null(strstr(out, "err\n"));
	free(out);
	assert_no_children();
}

static void test_success_and_args(void **state)
{
	/* No shell: the argument reaches the program as one word, unexpanded. */
	const char *argv[] = { "printf", "%s|", "a b", "$HOME", "*", NULL };
	char *out;
	int status = -1;

	assert_int_equal(net_run_command(argv, -1, &out, &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "a b|$HOME|*|");
	free(out);
	assert_no_children();
}

static void test_exit_code_without_output(void **state)
{
	const char *argv[] = { "false", NULL };
	int status = -1;

	assert_int_equal(net_run_command(argv, 10000, NULL, &status), 0);
	assert_int_equal(status, 1);
	assert_no_children();
}

static void test_stdin_is_empty(void **state)
{
	const char *argv[] = { "cat", NULL };
	char *out;
	int status = -1;

	/* Would hang on a terminal or a pipe left open; /dev/null ends at once. */
	assert_int_equal(net_run_command(argv, 10000, &out, &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_killed_by_signal(void **state)
{
	const char *argv[] = { "sh", "-c", "kill -INT $$; echo survived", NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char *out;
	int status = -1;

	/* The daemon ignores some signals; the command must not inherit that. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old);
	assert_int_equal(net_run_command(argv, 10000, &out, &status), 0);
	sigaction(SIGINT, &old, NULL);
	assert_int_equal(status, 128 + SIGINT);
	assert_null(strstr(out, "survived"));
	free(out);
	assert_no_children();
}

static void test_timeout_kills_group(void **state)
{
	/* The shell prints its own PID and a background child's, then waits. */
	const char *argv[] = { "sh", "-c", "sleep 30 & echo $$ $!; sleep 30; wait", NULL };
	char *out;
	int status = 12345, sh_pid = 0, bg_pid = 0;
	double start = now_s();

	assert_int_equal(net_run_command(argv, 300, &out, &status), -ETIMEDOUT);
	/* Far below the 30 s the command wanted: it was killed, not waited for. */
	assert_true(now_s() - start < 20);
	assert_int_equal(status, 12345); /* untouched on timeout */
	assert_int_equal(sscanf(out, "%d %d", &sh_pid, &bg_pid), 2);
	free(out);
	assert_true(process_dead(sh_pid)); /* reaped by us */
	assert_true(wait_dead(bg_pid));
	assert_no_children();
}

static void test_leftovers_killed_after_exit(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!", NULL };
	char *out;
	int status = -1, bg_pid = 0;
	double start = now_s();

	assert_int_equal(net_run_command(argv, 20000, &out, &status), 0);
	assert_true(now_s() - start < 20);
	assert_int_equal(status, 0);
	assert_int_equal(sscanf(out, "%d", &bg_pid), 1);
	free(out);
	/* Killed with the group when the shell ended; its zombie is init's. */
	assert_true(wait_dead(bg_pid));
	assert_no_children();
}

static void test_missing_program(void **state)
{
	const char *argv[] = { "/nonexistent/lanrage-no-such-tool", NULL };
	const char *argv2[] = { "lanrage-no-such-tool-in-path", NULL };
	char *out = (char *)1;
	int status = 12345;

	assert_int_equal(net_run_command(argv, 1000, &out, &status), -ENOENT);
	assert_int_equal(status, 12345);
	assert_non_null(out);
	free(out);
	assert_int_equal(net_run_command(argv2, 1000, NULL, NULL), -ENOENT);
	assert_no_children();
}

static void test_bad_arguments(void **state)
{
	const char *empty[] = { NULL };

	assert_int_equal(net_run_command(NULL, 1000, NULL, NULL), -EINVAL);
	assert_int_equal(net_run_command(empty, 1000, NULL, NULL), -EINVAL);
}

static void test_output_capped(void **state)
{
	/* Four times the cap: the command must still finish (the pipe is drained). */
	const char *argv[] = { "head", "-c", "262144", "/dev/zero", NULL };
	char *out;
	int status = -1;

	assert_int_equal(net_run_command(argv, 20000, &out, &status), 0);
	assert_int_equal(status, 0);
	assert_non_null(out);
	free(out);
	{
		const char *yes[] = { "sh", "-c", "yes abcdefg | head -c 200000; echo; echo END",
				      NULL };

		assert_int_equal(net_run_command(yes, 20000, &out, &status), 0);
		assert_int_equal(status, 0);
		assert_int_equal(strlen(out), NET_RUN_OUTPUT_MAX);
		assert_null(strstr(out, "END")); /* past the cap: dropped */
		assert_memory_equal(out, "abcdefg\nabcdefg\n", 16);
		free(out);
	}
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_status),
		cmocka_unit_test(test_success_and_args),
		cmocka_unit_test(test_exit_code_without_output),
		cmocka_unit_test(test_stdin_is_empty),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_leftovers_killed_after_exit),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_output_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
