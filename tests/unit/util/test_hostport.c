/* hostport_split: the accepted forms and every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/hostport.h"

static void test_forms(void **state)
{
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(hostport_split("127.0.0.1:8666", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8666);
	assert_int_equal(hostport_split("[::1]:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1);
	assert_int_equal(hostport_split(":65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 65535);
	/* The last colon splits, so an unbracketed IPv6 address still parses. */
	assert_int_equal(hostport_split("::1:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80x", "127.0.0.1:99999999999999999999",
		"", NULL,
	};
	char host[64];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hostport_split(bad[i], host, sizeof(host), &port), -EINVAL);
}

static void test_host_too_long(void **state)
{
	char host[8];
	uint16_t port;

	(void)state;
	assert_int_equal(hostport_split("1234567:80", host, sizeof(host), &port), 0);
	assert_int_equal(hostport_split("12345678:80", host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_host_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
