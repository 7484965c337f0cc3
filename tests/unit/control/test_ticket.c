/*
 * test_ticket: relay tickets from the control core (docs/CONTROL.md "Relay
 * tickets"): register, auth and heartbeat results carry a ticket for the
 * session's key that verifies under the ticket_key relay_register hands out,
 * expires RELAY_TICKET_LIFETIME_S after it was signed, is re-signed once
 * half of that is gone, and the ticket key survives a restart of the core.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "control/ctl_ids.h"
#include "nat/relay_ticket.h"

static char dir[64], path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ctl_ticket_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/control.db", dir);
	return 0;
}

static int teardown(void **state)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[160];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	time_fake_set(0);
	return 0;
}

static struct ctl_core *open_core(void)
{
	struct ctl_core_opts o;
	struct ctl_core *c = NULL;

	th_opts(&o);
	o.db_path = path;
	o.relay_secret = "pw";
	assert_int_equal(th_core_open(&o, &c), 0);
	return c;
}

static void ticket_of(json_t *data, uint8_t t[RELAY_TICKET_LEN])
{
	const char *s = th_str(data, "relay_ticket");

	assert_non_null(s);
	assert_int_equal(strlen(s), CTL_TICKET_B64);
	assert_int_equal(ctl_b64_to_bytes(s, strlen(s), t, RELAY_TICKET_LEN), 0);
}

static void relay_key(struct ctl_core *c, uint8_t pk[RELAY_TICKET_PK_LEN])
{
	struct th_client *r = th_open(c);
	json_t *d = th_ok(th_req(r, "relay_register",
				 "\"secret\":\"pw\",\"name\":\"r\",\"endpoint\":\"192.0.2.1:3478\""));

	assert_non_null(d);
	assert_int_equal(ctl_b64_to_key(th_str(d, "ticket_key"), strlen(th_str(d, "ticket_key")), pk),
			 0);
	th_free(r);
}

static uint64_t now_s(void)
{
	uint64_t s;
	uint32_t ns;

	time_wall(&s, &ns);
	return s;
}

static void test_register_ticket_verifies_with_relay_key(void **state)
{
	struct ctl_core *c = open_core();
	struct th_client *a = th_open(c);
	uint8_t t[RELAY_TICKET_LEN], pk[RELAY_TICKET_PK_LEN], proof[32], other[32];
	char pub[45], pr[45];
	uint64_t exp;
	json_t *d;

	assert_int_equal(ctl_register_proof(proof, a->priv, a->server_key, a->challenge), 0);
	th_b64(a->pub, pub);
	th_b64(proof, pr);
	d = th_ok(th_req(a, "register",
			 "\"public_key\":\"%s\",\"proof\":\"%s\",\"name\":\"a\",\"version\":\"t\"",
			 pub, pr));
	assert_non_null(d);
	ticket_of(d, t);
	relay_key(c, pk);
	assert_int_equal(relay_ticket_verify(t, pk, a->pub, now_s()), 0);
	exp = relay_ticket_expires(t);
	assert_true(exp >= now_s() + RELAY_TICKET_LIFETIME_S - 5);
	assert_true(exp <= now_s() + RELAY_TICKET_LIFETIME_S);
	/* Bound to the key: another key does not pass. */
	memcpy(other, a->pub, 32);
	other[0] ^= 1;
	assert_int_equal(relay_ticket_verify(t, pk, other, now_s()), -EBADMSG);
	th_free(a);
	th_core_close(&c);
}

static void test_auth_and_heartbeat_carry_tickets(void **state)
{
	struct ctl_core *c = open_core();
	struct th_client *a = th_peer(c, "a"), *b = th_open(c);
	uint8_t t1[RELAY_TICKET_LEN], t2[RELAY_TICKET_LEN], pk[RELAY_TICKET_PK_LEN];
	json_t *d;

	relay_key(c, pk);
	d = th_ok(th_req(b, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"", a->peer_id, a->token));
	assert_non_null(d);
	ticket_of(d, t1);
	assert_int_equal(relay_ticket_verify(t1, pk, a->pub, now_s()), 0);
	d = th_ok(th_req0(b, "heartbeat"));
	assert_non_null(d);
	ticket_of(d, t2);
	assert_int_equal(relay_ticket_verify(t2, pk, a->pub, now_s()), 0);
	/* Within half a lifetime the same ticket is handed out again: no
	 * signature per heartbeat. */
	assert_memory_equal(t1, t2, RELAY_TICKET_LEN);
	th_free(a);
	th_free(b);
	th_core_close(&c);
}

static void test_ticket_key_survives_restart(void **state)
{
	struct ctl_core *c = open_core();
	uint8_t pk1[RELAY_TICKET_PK_LEN], pk2[RELAY_TICKET_PK_LEN];
	struct th_client *a = th_peer(c, "a");
	char peer_id[32], token[64];
	uint8_t pub[32], t[RELAY_TICKET_LEN];
	json_t *d;

	relay_key(c, pk1);
	memcpy(pub, a->pub, 32);
	snprintf(peer_id, sizeof(peer_id), "%s", a->peer_id);
	snprintf(token, sizeof(token), "%s", a->token);
	th_free(a);
	th_core_close(&c);
	c = open_core();
	relay_key(c, pk2);
	assert_memory_equal(pk1, pk2, RELAY_TICKET_PK_LEN);
	a = th_open(c);
	d = th_ok(th_req(a, "auth", "\"peer_id\":\"%s\",\"token\":\"%s\"", peer_id, token));
	assert_non_null(d);
	ticket_of(d, t);
	assert_int_equal(relay_ticket_verify(t, pk1, pub, now_s()), 0);
	th_free(a);
	th_core_close(&c);
}

static void test_unauthenticated_get_no_ticket(void **state)
{
	struct ctl_core *c = open_core();
	struct th_client *u = th_open(c);

	assert_string_equal(th_code(th_req0(u, "heartbeat")), "unauthorized");
	th_free(u);
	th_core_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_ticket_verifies_with_relay_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auth_and_heartbeat_carry_tickets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ticket_key_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthenticated_get_no_ticket, setup, teardown),
	};

	crypto_init();
	return cmocka_run_group_tests_name("ctl_ticket", tests, NULL, NULL);
}
