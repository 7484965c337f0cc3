/*
 * test_party: party requests and events (docs/CONTROL.md "Requests after
 * authentication", "Events"): create, join, leave, get, peers_list,
 * peer_get, peer_update, heartbeat, signal; who receives which event; every
 * refusal (already_member, not_found, not_member, party_full, no_address) and
 * that a refusal changes nothing; share-code input forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

static struct ctl_core *core;

static int open_core(unsigned prefix)
{
	struct ctl_core_opts o;

	th_opts(&o);
	o.prefix = prefix;
	o.subnet = prefix == 29 ? 0x0a420008 : 0x0a420000; /* 10.66.0.8/29 */
	o.rate_burst = 1000;
	return th_core_open(&o, &core);
}

static int setup(void **state)
{
	return open_core(16);
}

static int setup29(void **state)
{
	return open_core(29);
}

static int teardown(void **state)
{
	return th_core_close(&core);
}

static json_t *party_of(json_t *r)
{
	return json_object_get(th_ok(r), "party");
}

static void test_create_join_leave(void **state)
{
	struct th_client *a = th_peer(core, "alice"), *b = th_peer(core, "bob"),
			 *c = th_peer(core, "carol");
	struct ctl_core_stats st;
	char id[15];
	json_t *p, *ev;

	assert_int_equal(th_create(a, "lan night", 0, id), 0);
	assert_int_equal(strlen(id), 14);
	assert_true(id[4] == '-' && id[9] == '-');
	p = party_of(th_req(a, "party_get", "\"party_id\":\"%s\"", id));
	assert_string_equal(th_str(p, "name"), "lan night");
	assert_string_equal(th_str(p, "host_peer_id"), a->peer_id);
	assert_int_equal(json_integer_value(json_object_get(p, "max_members")), 64);
	assert_int_equal(json_integer_value(json_object_get(p, "member_count")), 1);
	assert_int_equal(json_array_size(json_object_get(p, "peers")), 1);

	/* Lowercase and without dashes is the same party. */
	{
		char loose[32];
		size_t n = 0;

		for (const char *s = id; *s; s++)
			if (*s != '-')
				loose[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		loose[n] = '\0';
		p = party_of(th_req(b, "party_join", "\"party_id\":\"%s\"", loose));
	}
	assert_non_null(p);
	assert_int_equal(json_integer_value(json_object_get(p, "member_count")), 2);
	/* The joiner's own entry carries its address; others learn by event. */
	ev = th_event(a, "peer_joined");
	assert_non_null(ev);
	assert_string_equal(th_str(ev, "party_id"), id);
	assert_string_equal(th_str(json_object_get(ev, "peer"), "peer_id"), b->peer_id);
	assert_string_not_equal(th_str(json_object_get(ev, "peer"), "virtual_ip"), "");
	assert_null(th_event(b, "peer_joined")); /* not to the joiner itself */

	th_clear(a);
	th_clear(b);
	assert_non_null(party_of(th_req(c, "party_join", "\"party_id\":\"%s\"", id)));
	assert_non_null(th_event(a, "peer_joined"));
	assert_non_null(th_event(b, "peer_joined"));
	assert_null(th_event(c, "peer_joined"));

	ctl_core_stats(core, &st);
	assert_int_equal(st.parties, 1);
	assert_int_equal(st.members, 3);

	th_clear(a);
	th_clear(c);
	assert_non_null(th_ok(th_req0(b, "party_leave")));
	ev = th_event(a, "peer_left");
	assert_non_null(ev);
	assert_string_equal(th_str(ev, "peer_id"), b->peer_id);
	assert_string_equal(th_str(ev, "reason"), "left");
	assert_non_null(th_event(c, "peer_left"));
	assert_null(th_event(b, "peer_left"));
	/* b now sees only the summary. */
	p = party_of(th_req(b, "party_get", "\"party_id\":\"%s\"", id));
	assert_null(json_object_get(p, "peers"));
	assert_int_equal(json_integer_value(json_object_get(p, "member_count")), 2);

	/* The party goes away with its last member. */
	assert_non_null(th_ok(th_req0(a, "party_leave")));
	assert_non_null(th_ok(th_req0(c, "party_leave")));
	ctl_core_stats(core, &st);
	assert_int_equal(st.parties, 0);
	assert_int_equal(st.members, 0);
	assert_string_equal(th_code(th_req(a, "party_get", "\"party_id\":\"%s\"", id)),
			    "not_found");
	th_free(a);
	th_free(b);
	th_free(c);
}

static void test_refusals(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b"), *c = th_peer(core, "c");
	char id[15], id2[15];

	assert_int_equal(th_create(a, "one", 2, id), 0);
	assert_string_equal(th_code(th_req(a, "party_create", "\"name\":\"again\"")),
			    "already_member");
	assert_string_equal(th_code(th_req(a, "party_join", "\"party_id\":\"%s\"", id)),
			    "already_member");
	assert_string_equal(th_code(th_req(b, "party_join", "\"party_id\":\"2222-3333-4444\"")),
			    "not_found");
	assert_string_equal(th_code(th_req0(b, "party_leave")), "not_member");
	assert_string_equal(th_code(th_req(b, "peers_list", "\"party_id\":\"%s\"", id)),
			    "not_member");
	assert_string_equal(th_code(th_req(b, "peer_get", "\"peer_id\":\"%s\"", a->peer_id)),
			    "not_member");
	assert_string_equal(th_code(th_req(b, "peer_get", "\"peer_id\":\"0000000000000000\"")),
			    "not_found");
	assert_string_equal(th_code(th_req(b, "signal", "\"to\":\"%s\",\"payload\":{}", a->peer_id)),
			    "not_member");
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	{
		json_t *r = th_req(c, "party_join", "\"party_id\":\"%s\"", id);

		assert_string_equal(th_code(r), "party_full");
		assert_non_null(strstr(th_str(r, "message"), id));
	}
	/* c in its own party cannot signal or see a member of another. */
	assert_int_equal(th_create(c, "two", 0, id2), 0);
	assert_string_equal(th_code(th_req(c, "signal", "\"to\":\"%s\",\"payload\":{}", a->peer_id)),
			    "not_found");
	assert_string_equal(th_code(th_req(c, "peer_get", "\"peer_id\":\"%s\"", a->peer_id)),
			    "not_member");
	assert_string_equal(th_code(th_req(c, "peers_list", "\"party_id\":\"%s\"", id)),
			    "not_member");
	th_free(a);
	th_free(b);
	th_free(c);
}

static void test_peers_and_update(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b");
	char id[15];
	json_t *d, *peer, *ev;

	assert_int_equal(th_create(a, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	d = th_ok(th_req(a, "peers_list", "\"party_id\":\"%s\"", id));
	assert_int_equal(json_array_size(json_object_get(d, "peers")), 2);
	/* Self is visible without a party too; defaults are "unknown". */
	peer = json_object_get(th_ok(th_req(a, "peer_get", "\"peer_id\":\"%s\"", a->peer_id)),
			       "peer");
	assert_string_equal(th_str(json_object_get(peer, "nat"), "type"), "unknown");
	assert_int_equal(json_array_size(json_object_get(peer, "endpoints")), 0);
	assert_string_equal(th_str(peer, "relay"), "");
	assert_string_equal(th_str(peer, "version"), "t");
	assert_true(json_integer_value(json_object_get(peer, "joined_at")) > 0);

	th_clear(a);
	th_clear(b);
	peer = json_object_get(
		th_ok(th_req(b, "peer_update",
			     "\"endpoints\":[\"192.0.2.1:51820\",\"[2001:db8::1]:51820\"],"
			     "\"nat\":{\"type\":\"full-cone\",\"mapping\":\"endpoint-independent\","
			     "\"filtering\":\"endpoint-independent\"},\"relay\":\"r1\"")),
		"peer");
	assert_non_null(peer);
	assert_int_equal(json_array_size(json_object_get(peer, "endpoints")), 2);
	assert_string_equal(th_str(json_object_get(peer, "nat"), "type"), "full-cone");
	assert_string_equal(th_str(peer, "relay"), "r1");
	ev = th_event(a, "peer_updated");
	assert_non_null(ev);
	assert_string_equal(th_str(json_object_get(ev, "peer"), "relay"), "r1");
	assert_null(th_event(b, "peer_updated"));
	/* A partial update keeps the other fields. */
	peer = json_object_get(th_ok(th_req(b, "peer_update", "\"relay\":\"\"")), "peer");
	assert_int_equal(json_array_size(json_object_get(peer, "endpoints")), 2);
	assert_string_equal(th_str(peer, "relay"), "");
	/* a sees b's new state. */
	peer = json_object_get(th_ok(th_req(a, "peer_get", "\"peer_id\":\"%s\"", b->peer_id)),
			       "peer");
	assert_string_equal(th_str(json_object_get(peer, "nat"), "filtering"),
			    "endpoint-independent");
	assert_true(json_integer_value(json_object_get(th_ok(th_req0(a, "heartbeat")), "now")) >
		    1700000000);
	th_free(a);
	th_free(b);
}

static void test_signal(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b"), *c = th_peer(core, "c");
	char id[15];
	json_t *ev;

	assert_int_equal(th_create(a, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	assert_non_null(th_ok(th_req(c, "party_join", "\"party_id\":\"%s\"", id)));
	th_clear(a);
	th_clear(b);
	th_clear(c);
	assert_non_null(th_ok(th_req(a, "signal", "\"to\":\"%s\",\"payload\":{\"k\":[1,2,{\"x\":null}]}",
				     b->peer_id)));
	assert_int_equal(b->n_events, 1);
	assert_int_equal(c->n_events, 0);
	assert_int_equal(a->n_events, 0);
	ev = b->events[0];
	assert_string_equal(th_str(ev, "event"), "signal");
	assert_string_equal(th_str(ev, "from"), a->peer_id);
	assert_string_equal(th_str(ev, "party_id"), id);
	assert_int_equal(json_array_size(json_object_get(json_object_get(ev, "payload"), "k")), 3);
	/* Addressee offline: dropped, still {}. */
	th_free(c);
	assert_non_null(th_ok(th_req(a, "signal", "\"to\":\"%s\",\"payload\":{}", b->peer_id)));
	th_free(a);
	th_free(b);
}

/* 10.66.0.8/29 has 6 usable addresses: .9 .. .14. */
static void test_no_address(void **state)
{
	struct th_client *cl[7];
	char id[15], ip[16];
	struct ctl_core_stats before, after;

	for (int i = 0; i < 7; i++)
		cl[i] = th_peer(core, "p");
	assert_int_equal(th_create(cl[0], "small", 0, id), 0);
	for (int i = 1; i < 6; i++)
		assert_non_null(th_ok(th_req(cl[i], "party_join", "\"party_id\":\"%s\"", id)));
	for (int i = 0; i < 6; i++) {
		json_t *peer = json_object_get(
			th_ok(th_req(cl[i], "peer_get", "\"peer_id\":\"%s\"", cl[i]->peer_id)),
			"peer");
		unsigned a, b, c2, d;

		snprintf(ip, sizeof(ip), "%s", th_str(peer, "virtual_ip"));
		assert_int_equal(sscanf(ip, "%u.%u.%u.%u", &a, &b, &c2, &d), 4);
		assert_true(a == 10 && b == 66 && c2 == 0 && d >= 9 && d <= 14);
		for (int j = 0; j < i; j++) {
			json_t *o = json_object_get(th_ok(th_req(cl[j], "peer_get",
								 "\"peer_id\":\"%s\"",
								 cl[j]->peer_id)),
						    "peer");
			assert_string_not_equal(th_str(o, "virtual_ip"), ip);
		}
	}
	ctl_core_stats(core, &before);
	assert_string_equal(th_code(th_req(cl[6], "party_join", "\"party_id\":\"%s\"", id)),
			    "no_address");
	ctl_core_stats(core, &after);
	assert_memory_equal(&before.parties, &after.parties, 3 * sizeof(uint64_t));
	/* A leave frees an address for the next one. */
	assert_non_null(th_ok(th_req0(cl[2], "party_leave")));
	assert_non_null(th_ok(th_req(cl[6], "party_join", "\"party_id\":\"%s\"", id)));
	for (int i = 0; i < 7; i++)
		th_free(cl[i]);
}

/* The same key gets its address back after leave and rejoin. */
static void test_address_stable(void **state)
{
	struct th_client *a = th_peer(core, "a"), *b = th_peer(core, "b");
	char id[15], ip[16];
	json_t *peer;

	assert_int_equal(th_create(a, "p", 0, id), 0);
	assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
	peer = json_object_get(th_ok(th_req(b, "peer_get", "\"peer_id\":\"%s\"", b->peer_id)),
			       "peer");
	snprintf(ip, sizeof(ip), "%s", th_str(peer, "virtual_ip"));
	for (int i = 0; i < 3; i++) {
		assert_non_null(th_ok(th_req0(b, "party_leave")));
		assert_non_null(th_ok(th_req(b, "party_join", "\"party_id\":\"%s\"", id)));
		peer = json_object_get(
			th_ok(th_req(b, "peer_get", "\"peer_id\":\"%s\"", b->peer_id)), "peer");
		assert_string_equal(th_str(peer, "virtual_ip"), ip);
	}
	th_free(a);
	th_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_join_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers_and_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_address, setup29, teardown),
		cmocka_unit_test_setup_teardown(test_address_stable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
