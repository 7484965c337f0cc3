/* metrics_http: a real listener on loopback, asked over a TCP socket: GET
 * /metrics serves the latest text published, other paths and methods are
 * refused, and an address that cannot be taken is an error at start. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics/metrics_http.h"
#include "metrics/prom.h"

/* A loopback port free a moment ago (the kernel's pick). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Sends request to port and returns the whole answer (the server closes, or
 * the request asked it to); the caller frees. */
static char *ask(uint16_t port, const char *request)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	assert_non_null(buf);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (len + 1 < cap && (n = read(fd, buf + len, cap - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

struct fixture {
	struct metrics_http *mh;
	uint16_t port;
	char listen[32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->port = free_port();
	snprintf(f->listen, sizeof(f->listen), "127.0.0.1:%u", f->port);
	if (metrics_http_start(f->listen, &f->mh))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	metrics_http_stop(f->mh);
	free(f);
	return 0;
}

static void test_before_a_publish_it_answers_503(void **state)
{
	struct fixture *f = *state;
	char *a = ask(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

	assert_non_null(strstr(a, "HTTP/1.1 503"));
	free(a);
}

static void test_get_metrics_serves_the_latest_text(void **state)
{
	struct fixture *f = *state;
	char *a;

	metrics_http_publish(f->mh, strdup("# TYPE a gauge\na 1\n"));
	metrics_http_publish(f->mh, strdup("# TYPE a gauge\na 2\n"));
	metrics_http_publish(f->mh, NULL); /* ignored */
	a = ask(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(a, "HTTP/1.1 200"));
	assert_non_null(strcasestr(a, "\r\ncontent-type: " PROM_CONTENT_TYPE "\r\n"));
	assert_non_null(strcasestr(a, "\r\ncontent-length: 19\r\n"));
	assert_non_null(strstr(a, "\r\n\r\n# TYPE a gauge\na 2\n"));
	free(a);
}

/* Longer than one write chunk: it arrives whole. */
static void test_a_long_text_arrives_whole(void **state)
{
	struct fixture *f = *state;
	size_t n = 40000;
	char *text = malloc(n + 1), *a, *body;

	for (size_t i = 0; i < n; i++)
		text[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	text[n] = '\0';
	metrics_http_publish(f->mh, strdup(text));
	a = ask(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	body = strstr(a, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, text);
	free(a);
	free(text);
}

static void test_other_paths_404_other_methods_405(void **state)
{
	struct fixture *f = *state;
	char *a;

	metrics_http_publish(f->mh, strdup("a 1\n"));
	a = ask(f->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(a, "HTTP/1.1 404"));
	assert_null(strstr(a, "a 1"));
	free(a);
	a = ask(f->port, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(a, "HTTP/1.1 404"));
	free(a);
	a = ask(f->port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
	assert_non_null(strstr(a, "HTTP/1.1 405"));
	assert_non_null(strcasestr(a, "\r\nallow: GET\r\n"));
	free(a);
	/* the listener still serves after the refusals */
	a = ask(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(a, "\r\n\r\na 1\n"));
	free(a);
}

static void test_a_taken_or_bad_address_fails_at_start(void **state)
{
	struct fixture *f = *state;
	struct metrics_http *mh = (void *)1;

	assert_int_equal(metrics_http_start(f->listen, &mh), -EADDRINUSE);
	assert_null(mh);
	assert_int_equal(metrics_http_start("192.0.2.1:9100", &mh), -EADDRNOTAVAIL);
	assert_int_equal(metrics_http_start("localhost:9100", &mh), -EINVAL);
	assert_int_equal(metrics_http_start("127.0.0.1", &mh), -EINVAL);
	assert_int_equal(metrics_http_check("[::1]:9100"), 0);
	assert_int_equal(metrics_http_check("0.0.0.0:9100"), 0);
	assert_int_equal(metrics_http_check("::1"), -EINVAL);
	assert_int_equal(metrics_http_check("1.2.3:9100"), -EINVAL);
	assert_int_equal(metrics_http_check("127.0.0.1:0"), -EINVAL);
	metrics_http_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_a_publish_it_answers_503, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_metrics_serves_the_latest_text, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_long_text_arrives_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_paths_404_other_methods_405, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_taken_or_bad_address_fails_at_start, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
