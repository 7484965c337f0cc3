/*
 * test_liveness: member and relay expiry on the fake clock (docs/CONTROL.md
 * "Liveness"): any message refreshes a member, a silent one is removed with
 * peer_left reason timeout to the others, an empty party is deleted, a
 * dropped session alone removes nobody, relays drop out of relays_list, and
 * ctl_core_tick reports when it next needs to run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;

static int setup(void **state)
{
	struct ctl_core_opts o;

	th_opts(&o);
	o.peer_timeout_ms = 90000;
	o.relay_timeout_ms = 60000;
	o.relay_secret = "relay-pw";
	o.rate_burst = 10000;
	return th_core_open(&o, &core);
}

static int teardown(void **state)
{
	return th_core_close(&core);
}

static void advance_s(uint64_t s)
{
	time_fake_advance(s * TIME_NS_PER_SEC);
}

static void test_member_timeout(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b"), *c = th_peer(core, "c");
	struct ctl_core_stats st;
	char id[15];
	json_t *ev;

	assert_int_equal(th_create(a, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	assert_non_null(th_ok(th_req(c, "party_join", "\"party_id\":\"%s\"", id)));
	/* The open batch is due first, then the oldest member. */
	assert_int_equal(ctl_core_tick(core), 20);
	time_fake_advance(20 * TIME_NS_PER_MS);
	assert_int_equal(ctl_core_tick(core), 90000 - 20);
	advance_s(60);
	assert_non_null(th_ok(th_req0(a, "heartbeat")));
	/* Any message counts, even a refused one. */
	assert_string_equal(th_code(th_req0(b, "no_such")), "unknown_type");
	advance_s(31);
	th_clear(a);
	th_clear(b);
	ctl_core_tick(core);
	ctl_core_stats(core, &st);
	assert_int_equal(st.members, 2);
	ev = th_event(a, "peer_left");
	assert_non_null(ev);
	assert_string_equal(th_str(ev, "peer_id"), c->peer_id);
	assert_string_equal(th_str(ev, "reason"), "timeout");
	assert_non_null(th_event(b, "peer_left"));
	/* c is still registered, just out of the party. */
	assert_non_null(th_ok(th_req0(c, "heartbeat")));
	assert_string_equal(th_code(th_req0(c, "party_leave")), "not_member");
	/* The next deadline is a's, 59 s away (heard at 60 s, now 91 s). */
	assert_int_equal(ctl_core_flush(core), 0);
	assert_int_equal(ctl_core_tick(core), 59000);
	/* A dropped session alone does not remove a member. */
	th_free(b);
	b = NULL;
	advance_s(58);
	assert_non_null(th_ok(th_req0(a, "heartbeat")));
	ctl_core_tick(core);
	ctl_core_stats(core, &st);
	assert_int_equal(st.members, 2);
	advance_s(89);
	ctl_core_tick(core);
	ctl_core_stats(core, &st);
	assert_int_equal(st.members, 1); /* b timed out; a heard 89 s ago */
	advance_s(1);
	ctl_core_tick(core);
	ctl_core_stats(core, &st);
	assert_int_equal(st.members, 0);
	assert_int_equal(st.parties, 0);
	assert_string_equal(th_code(th_req(a, "party_get", "\"party_id\":\"%s\"", id)),
			    "not_found");
	th_free(a);
	th_free(c);
}

/* Many members expire in one tick, in order, without touching the others. */
static void test_many_expire(void **state)
{
	struct th_client *cl[20];
	struct ctl_core_stats st;
	char id[15];

	for (int i = 0; i < 20; i++)
		cl[i] = th_peer(core, "m");
	assert_int_equal(th_create(cl[0], "p", 0, id), 0);
	for (int i = 1; i < 20; i++) {
		assert_non_null(th_ok(th_req(cl[i], "party_join", "\"party_id\":\"%s\"", id)));
		advance_s(1);
	}
	advance_s(90 - 10);
	ctl_core_tick(core);
	ctl_core_stats(core, &st);
	/* joined at t=0..18 (cl[0] and cl[1] at 0); now t=99: joiners at
	 * t >= 10 survive. */
	assert_int_equal(st.members, 9);
	for (int i = 0; i < 20; i++)
		th_free(cl[i]);
}

static void test_relays(void **state)
{
	struct th_client *a = th_peer(core, "a"), *r = th_open(core);
	char rid[32];
	json_t *d, *list;

	d = th_ok(th_req(r, "relay_register",
			 "\"secret\":\"relay-pw\",\"name\":\"eu1\",\"endpoint\":\"198.51.100.7:51821\","
			 "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""));
	assert_non_null(d);
	snprintf(rid, sizeof(rid), "%s", th_str(d, "relay_id"));
	assert_int_equal(strlen(rid), 16);
	list = json_object_get(th_ok(th_req0(a, "relays_list")), "relays");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(th_str(json_array_get(list, 0), "endpoint"), "198.51.100.7:51821");
	assert_string_equal(th_str(json_array_get(list, 0), "name"), "eu1");
	/* Re-registering from the same endpoint keeps the ID. */
	d = th_ok(th_req(r, "relay_register",
			 "\"secret\":\"relay-pw\",\"name\":\"eu1b\",\"endpoint\":\"198.51.100.7:51821\""));
	assert_string_equal(th_str(d, "relay_id"), rid);
	list = json_object_get(th_ok(th_req0(a, "relays_list")), "relays");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(th_str(json_array_get(list, 0), "public_key"), "");

	advance_s(50);
	assert_non_null(th_ok(th_req(r, "relay_heartbeat",
				     "\"secret\":\"relay-pw\",\"relay_id\":\"%s\",\"clients\":12",
				     rid)));
	assert_string_equal(th_code(th_req(r, "relay_heartbeat",
					   "\"secret\":\"relay-pw!\",\"relay_id\":\"%s\"", rid)),
			    "unauthorized");
	advance_s(50);
	ctl_core_tick(core);
	list = json_object_get(th_ok(th_req0(a, "relays_list")), "relays");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "clients")), 12);
	advance_s(10);
	ctl_core_tick(core);
	list = json_object_get(th_ok(th_req0(a, "relays_list")), "relays");
	assert_int_equal(json_array_size(list), 0);
	assert_string_equal(th_code(th_req(r, "relay_heartbeat",
					   "\"secret\":\"relay-pw\",\"relay_id\":\"%s\"", rid)),
			    "not_found");
	th_free(a);
	th_free(r);
}

static void test_relay_disabled(void **state)
{
	struct ctl_core_opts o;
	struct ctl_core *c2;
	struct th_client *r;

	th_opts(&o);
	assert_int_equal(ctl_core_open(&o, &c2), 0);
	r = th_open(c2);
	assert_string_equal(th_code(th_req(r, "relay_register",
					   "\"secret\":\"\",\"name\":\"x\",\"endpoint\":\"1.2.3.4:5\"")),
			    "bad_request");
	assert_string_equal(th_code(th_req(r, "relay_register",
					   "\"secret\":\"x\",\"name\":\"x\",\"endpoint\":\"1.2.3.4:5\"")),
			    "unauthorized");
	th_free(r);
	ctl_core_close(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_member_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_disabled, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
