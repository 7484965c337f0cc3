/*
 * test_client: the shared client's bookkeeping (control.h), in local mode:
 * answers that match no request are kept only up to a bound; the relay
 * ticket from register and from heartbeats (internal requests answered to
 * no one) is stored and verifies under the relay_register ticket key; a
 * request over CTL_MAX_MESSAGE is refused before it is sent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "control/ctl_client_priv.h"
#include "crypto/crypto.h"
#include "nat/relay_ticket.h"
#include "util/time.h"

static struct ctl_local *local;
static struct ctl_client *cl;

static int setup(void **state)
{
	struct ctl_core_opts o;
	struct ctl_client_opts co;

	ctl_core_opts_default(&o);
	o.relay_secret = "pw";
	if (ctl_local_open(&o, &local))
		return -1;
	ctl_client_opts_default(&co);
	co.local = local;
	co.heartbeat_ms = 0;
	return ctl_client_open(&co, &cl);
}

static int teardown(void **state)
{
	ctl_client_close(cl);
	ctl_local_close(local);
	return 0;
}

static void input(struct ctl_client *c, const char *msg)
{
	ctl_client_input(c, msg, strlen(msg));
}

static void test_unmatched_answers_bounded(void **state)
{
	const char *nope = "{\"type\":\"nope\",\"id\":7}";
	char msg[128], *reply = NULL;
	size_t most = 0;

	for (int i = 0; i < 10000; i++) {
		int n = snprintf(msg, sizeof(msg), "{\"type\":\"result\",\"id\":%d,\"data\":{}}",
				 1000000 + i);

		ctl_client_input(cl, msg, (size_t)n);
		pthread_mutex_lock(&cl->lock);
		most = cl->raw_count > most ? cl->raw_count : most;
		pthread_mutex_unlock(&cl->lock);
	}
	assert_true(most > 0);
	assert_true(most <= 16);
	/* A raw request still gets its own answer afterwards. */
	assert_int_equal(ctl_client_send_raw(cl, nope, strlen(nope), &reply), 0);
	assert_non_null(strstr(reply, "unknown_type"));
	free(reply);
}

static void test_ticket_stored_from_register_and_heartbeat(void **state)
{
	uint8_t priv[32], pub[32], t[RELAY_TICKET_LEN], pk[RELAY_TICKET_PK_LEN];
	char relay_id[CTL_ID_LEN + 1];
	uint64_t now;
	uint32_t ns;

	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t)), -ENOENT);
	crypto_x25519_generate(priv, pub);
	assert_int_equal(ctl_register(cl, priv, "a", "t"), 0);
	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t)), 0);
	assert_int_equal(ctl_relay_register(cl, "pw", "r", "192.0.2.1:3478", NULL, relay_id, pk), 0);
	time_wall(&now, &ns);
	assert_int_equal(relay_ticket_verify(t, pk, pub, now), 0);
	/* An internal heartbeat (answered to no caller) refreshes it too. */
	pthread_mutex_lock(&cl->lock);
	cl->have_ticket = false;
	pthread_mutex_unlock(&cl->lock);
	input(cl, "{\"type\":\"result\",\"id\":99999,\"data\":{\"now\":1}}");
	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t)), -ENOENT);
	assert_int_equal(ctl_heartbeat(cl), 0);
	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t)), 0);
	assert_int_equal(relay_ticket_verify(t, pk, pub, now), 0);
	/* A malformed ticket is ignored, the good one kept. */
	input(cl, "{\"type\":\"result\",\"id\":99998,\"data\":{\"relay_ticket\":\"AAAA\"}}");
	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t)), 0);
	assert_int_equal(relay_ticket_verify(t, pk, pub, now), 0);
	assert_int_equal(ctl_client_relay_ticket(cl, t, sizeof(t) - 1), -EINVAL);
	crypto_wipe(priv, sizeof(priv));
}

static void test_oversized_request_not_sent(void **state)
{
	uint8_t priv[32], pub[32];
	char *big = malloc(CTL_MAX_MESSAGE + 16);

	assert_non_null(big);
	crypto_x25519_generate(priv, pub);
	assert_int_equal(ctl_register(cl, priv, "a", "t"), 0);
	memset(big, 'x', CTL_MAX_MESSAGE);
	memcpy(big, "{\"k\":\"", 6);
	memcpy(big + CTL_MAX_MESSAGE - 2, "\"}", 3);
	assert_int_equal(ctl_signal(cl, ctl_client_peer_id(cl), big), -EMSGSIZE);
	/* Nothing went out: the session is still there. */
	assert_int_equal(ctl_heartbeat(cl), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unmatched_answers_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_stored_from_register_and_heartbeat,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request_not_sent, setup, teardown),
	};

	crypto_init();
	return cmocka_run_group_tests_name("ctl_client", tests, NULL, NULL);
}
