/*
 * platform_watch: rtnetlink events boiled down to "the network changed",
 * in a network namespace of the test's own (root; skipped otherwise), with
 * real links, addresses and routes made by ip(8).
 */
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

struct watch_fixture {
	struct platform_watch *w;
};

static void sh(const char *cmd)
{
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	static struct watch_fixture f;

	/* a namespace of our own: nothing the host does is seen, and nothing
	 * we make outlives the test */
	if (geteuid() != 0 || unshare(CLONE_NEWNET))
		return -1;
	if (system("ip link set lo up && ip link add lrw0 type veth peer name lrw1"))
		return -1;
	if (platform_watch_open(&f.w))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct watch_fixture *f = *state;

	platform_watch_close(f->w);
	return 0;
}

/* Runs cmd, then reads what waits (the kernel queued the events before
 * ip(8) returned) after settle_s more seconds, ignoring link ignore:
 * asserts it is one change or none, and returns what it said. */
static const char *step(struct watch_fixture *f, const char *cmd, unsigned settle_s, int ignore,
			int want)
{
	static char what[128];

	if (cmd)
		sh(cmd);
	sleep(settle_s);
	assert_int_equal(platform_watch_read(f->w, ignore, what, sizeof(what)), want);
	return what;
}

static void test_watch(void **state)
{
	struct watch_fixture *f = *state;
	int lrw0 = (int)if_nametoindex("lrw0");

	assert_true(lrw0 > 0);
	step(f, NULL, 0, 0, 0); /* nothing yet */
	/* an address: a change, said with the address and the link */
	assert_string_equal(step(f, "ip addr add 192.0.2.1/24 dev lrw0", 0, 0, 1),
			    "address 192.0.2.1 added on lrw0");
	/* on the ignored link (the party's own): none */
	step(f, "ip addr add 192.0.2.2/24 dev lrw0", 0, lrw0, 0);
	/* both ends up: the links come up (the carrier follows within a
	 * second: linkwatch), the kernel adds lrw0's prefix route */
	step(f, "ip link set lrw1 up && ip link set lrw0 up", 2, 0, 1);
	/* the IPv6 link-local addresses that came with them (after DAD) are
	 * no change of their own */
	step(f, NULL, 2, 0, 0);
	step(f, "ip addr add 198.51.100.1/24 dev lrw1", 0, 0, 1);
	/* a route: a change, unless through the ignored link */
	assert_string_equal(step(f, "ip route add 203.0.113.0/24 via 198.51.100.2 dev lrw1", 0, 0, 1),
			    "route added through lrw1");
	step(f, "ip route add 10.99.0.0/16 dev lrw0", 0, lrw0, 0);
	/* the same link state again: no change */
	step(f, "ip link set lrw0 up", 0, 0, 0);
	/* a link going down: a change (its routes go with it) */
	assert_non_null(strstr(step(f, "ip link set lrw1 down", 0, lrw0, 1), "lrw1"));
	/* a link removed: a change (both ends go) */
	step(f, "ip link del lrw1", 0, lrw0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch),
	};

	if (geteuid() != 0) {
		printf("platform_watch: needs root for a network namespace; skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
