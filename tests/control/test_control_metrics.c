/*
 * test_control_metrics: the real lanrage-control with --metrics-listen on
 * loopback, driven by the client library (suite 'control'): a party create
 * and a join show in lanrage_control_requests_total and the gauges of the
 * next publication, a REST query and an HTTP request with a body count
 * under their route and reason, and a second server whose metrics port is
 * taken exits 1 without serving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/control.h"
#include "harness.h"

enum { WAIT_MS = 10000 };

static char metrics_listen[32];
static int metrics_port;

/* A loopback port free a moment ago (the kernel's pick). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int setup(void **state)
{
	const char *const extra[] = { "--metrics-listen", metrics_listen, NULL };

	metrics_port = free_port();
	snprintf(metrics_listen, sizeof(metrics_listen), "127.0.0.1:%d", metrics_port);
	return th_fixture_start(state, extra);
}

static int teardown(void **state)
{
	return th_fixture_stop(state);
}

static struct th_client *client(struct th_fixture *f, const char *name)
{
	struct th_client *t = th_client_open(f->srv.url, NULL, 0);

	assert_non_null(t);
	f->cl[f->n++] = t;
	assert_int_equal(th_client_register(t, name), 0);
	return t;
}

/* The value of series (name{labels} as rendered) in the served text, or -1. */
static long long scrape(const char *series)
{
	static char buf[1 << 17];
	char key[256];
	const char *p;

	assert_int_equal(th_http_get(metrics_port, "/metrics", NULL, buf, sizeof(buf)), 200);
	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Scrapes until series reads want (the text is published once a second). */
static void wait_for(const char *series, long long want)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	long long v = -2;

	for (int i = 0; i < WAIT_MS / 50 && (v = scrape(series)) != want; i++)
		nanosleep(&ts, NULL);
	if (v != want)
		fail_msg("%s is %lld, not %lld", series, v, want);
}

#define REQ(type, result) "lanrage_control_requests_total{type=\"" type "\",result=\"" result "\"}"

static void test_create_and_join_counted(void **state)
{
	struct th_fixture *f = *state;
	struct th_client *a, *b;
	struct ctl_party p;
	char party[CTL_PARTY_ID_LEN + 1], buf[1024];

	wait_for(REQ("party_create", "ok"), 0);
	a = client(f, "alice");
	b = client(f, "bob");
	assert_int_equal(ctl_party_create(a->c, "metrics", 0, &p), 0);
	memcpy(party, p.party_id, sizeof(party));
	ctl_party_clear(&p);
	assert_int_equal(ctl_party_join(b->c, party, &p), 0);
	ctl_party_clear(&p);
	wait_for(REQ("party_create", "ok"), 1);
	wait_for(REQ("party_join", "ok"), 1);
	wait_for(REQ("register", "ok"), 2);
	wait_for("lanrage_control_sessions", 2);
	wait_for("lanrage_control_parties", 1);
	wait_for("lanrage_control_members", 2);
	wait_for("lanrage_control_request_duration_seconds_count{type=\"party_join\"}", 1);
	assert_int_equal(th_http_get(f->srv.port, "/v1/health", NULL, buf, sizeof(buf)), 200);
	wait_for(REQ("rest_health", "ok"), 1);
}

/* A refusal of the transport's own shows under its reason. */
static void test_http_body_refusal_counted(void **state)
{
	struct th_fixture *f = *state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->srv.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Content-Length: 10\r\n\r\n{";
	char buf[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	wait_for("lanrage_control_rejected_total{reason=\"http_body\"}", 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	close(fd);
	wait_for("lanrage_control_rejected_total{reason=\"http_body\"}", 1);
}

static void test_taken_metrics_port_exits_1(void **state)
{
	struct th_fixture *f = *state;
	char listen[32], db[128];
	int status = -1;
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
	snprintf(db, sizeof(db), "%s/control2.db", f->srv.dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(th_server_bin, th_server_bin, "--insecure", "--listen", listen, "--db", db,
		      "--metrics-listen", metrics_listen, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	/* before the database: it was never made */
	assert_int_equal(access(db, F_OK), -1);
	/* the first server still serves */
	assert_true(scrape("lanrage_control_sessions") >= 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_join_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_body_refusal_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_taken_metrics_port_exits_1, setup, teardown),
	};

	if (th_main_init(argc, argv))
		return 2;
	return cmocka_run_group_tests_name("control_metrics", tests, NULL, NULL);
}
