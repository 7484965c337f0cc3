/*
 * test_tls: the control channel's TLS against the real lanrage-control
 * (docs/SECURITY.md): the pin admits the right server and refuses any other
 * key; without a pin the system's CA store and the host name decide; plain
 * ws:// needs the explicit insecure option. Certificates for the CA case
 * come from the openssl command line tool.
 *
 *   test_tls PATH/TO/lanrage-control [TEST-NAME]
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
#include <unistd.h>

#include <cmocka.h>

#include "control/ctl_tls.h"
#include "crypto/crypto.h"
#include "harness.h"

struct fixture {
	struct th_server srv;
	char pin[CTL_TLS_PIN_LEN + 1];
};

static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The pin the server prints for its (self-signed or given) certificate. */
static int read_pin(struct fixture *f, const char *extra, char out[CTL_TLS_PIN_LEN + 1])
{
	char cmd[512];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), "%s --db %s --print-pin %s", th_server_bin, f->srv.db,
		 extra ? extra : "");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, CTL_TLS_PIN_LEN + 1, p) != NULL;
	pclose(p);
	return ok && ctl_tls_pin_check(out) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || th_server_init(&f->srv))
		goto err;
	f->srv.tls = true;
	if (read_pin(f, NULL, f->pin) || th_server_run(&f->srv, NULL))
		goto err;
	*state = f;
	return 0;
err:
	if (f)
		th_server_cleanup(&f->srv);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	run_cmd("rm -f %s/ca.* %s/srv.*", f->srv.dir, f->srv.dir);
	th_server_cleanup(&f->srv);
	free(f);
	return 0;
}

static int open_client(const char *url, const char *pin, bool insecure, struct ctl_client **c)
{
	struct ctl_client_opts o;

	ctl_client_opts_default(&o);
	o.url = url;
	o.pin = pin;
	o.insecure = insecure;
	o.backoff_min_ms = 100;
	o.backoff_max_ms = 400;
	o.request_timeout_ms = 4000;
	return ctl_client_open(&o, c);
}

/* Registers a fresh key: 0 when the control server answered. */
static int try_register(struct ctl_client *c)
{
	uint8_t priv[32], pub[32];
	int r;

	crypto_x25519_generate(priv, pub);
	r = ctl_register(c, priv, "tls-test", "test");
	crypto_wipe(priv, sizeof(priv));
	return r;
}

static void wss_url(const struct fixture *f, const char *host, char *out, size_t len)
{
	snprintf(out, len, "wss://%s:%d", host, f->srv.port);
}

static void test_pinned_server_is_accepted(void **state)
{
	struct fixture *f = *state;
	struct ctl_client *c = NULL;
	char url[64];

	wss_url(f, "127.0.0.1", url, sizeof(url));
	assert_int_equal(open_client(url, f->pin, false, &c), 0);
	assert_int_equal(try_register(c), 0);
	assert_true(ctl_client_peer_id(c)[0] != '\0');
	ctl_client_close(c);
}

static void test_other_key_is_refused_before_any_request(void **state)
{
	struct fixture *f = *state;
	char other[CTL_TLS_PIN_LEN + 1], why[512], url[64];
	struct ctl_client *c = NULL;
	size_t i;

	/* A well-formed pin of some other key. */
	memcpy(other, f->pin, sizeof(other));
	for (i = 7; i < 7 + 42; i++)
		other[i] = other[i] == 'A' ? 'B' : 'A';
	assert_int_equal(ctl_tls_pin_check(other), 0);
	wss_url(f, "127.0.0.1", url, sizeof(url));
	assert_int_equal(open_client(url, other, false, &c), 0);
	assert_int_equal(try_register(c), -ENOTCONN); /* at once, not at the timeout */
	ctl_client_transport_error(c, why, sizeof(why));
	assert_non_null(strstr(why, "pin"));
	assert_non_null(strstr(why, f->pin)); /* it names the key it saw */
	assert_string_equal(ctl_client_peer_id(c), "");
	ctl_client_close(c);
}

static void test_self_signed_without_pin_is_not_trusted(void **state)
{
	struct fixture *f = *state;
	struct ctl_client *c = NULL;
	char why[512], url[64];

	wss_url(f, "127.0.0.1", url, sizeof(url));
	assert_int_equal(open_client(url, NULL, false, &c), 0);
	assert_int_equal(try_register(c), -ENOTCONN); /* at once, not at the timeout */
	ctl_client_transport_error(c, why, sizeof(why));
	assert_non_null(strstr(why, "not trusted"));
	ctl_client_close(c);
}

static void test_plain_ws_needs_insecure(void **state)
{
	struct fixture *f = *state;
	struct ctl_client *c = NULL;
	char url[64];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d", f->srv.port);
	assert_int_equal(open_client(url, NULL, false, &c), -EPROTONOSUPPORT);
	assert_null(c);
	/* And a TLS server does not speak plain WebSocket to one that insists. */
	assert_int_equal(open_client(url, NULL, true, &c), 0);
	assert_int_equal(try_register(c), -ENOTCONN); /* at once, not at the timeout */
	ctl_client_close(c);
}

static void test_malformed_pin_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ctl_client *c = NULL;
	char url[64];

	wss_url(f, "127.0.0.1", url, sizeof(url));
	assert_int_equal(open_client(url, "sha256/short", false, &c), -EINVAL);
	assert_int_equal(open_client(url, "md5/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false, &c),
			 -EINVAL);
	assert_null(c);
}

/* A CA-signed certificate for IP 127.0.0.1, verified through SSL_CERT_FILE
 * (how OpenSSL extends the system store): accepted for that address,
 * refused for a name the certificate does not carry. */
static void test_ca_store_and_host_name_decide_without_pin(void **state)
{
	struct fixture *f = *state;
	struct th_server *s = &f->srv;
	struct ctl_client *c = NULL;
	char ca[160], extra[400], why[512], url[64];
	const char *argv_extra[5];

	th_server_stop(s, SIGTERM);
	assert_int_equal(run_cmd("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
				 "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=lab-ca "
				 ">/dev/null 2>&1 && openssl req -newkey ec -pkeyopt "
				 "ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr "
				 "-subj /CN=lab-control >/dev/null 2>&1 && printf "
				 "'subjectAltName=IP:127.0.0.1\\n' >srv.ext && openssl x509 -req "
				 "-in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
				 "-extfile srv.ext -out srv.pem >/dev/null 2>&1",
				 s->dir),
			 0);
	snprintf(extra, sizeof(extra), "%s/srv.pem", s->dir);
	snprintf(ca, sizeof(ca), "%s/srv.key", s->dir);
	argv_extra[0] = "--tls-cert";
	argv_extra[1] = extra;
	argv_extra[2] = "--tls-key";
	argv_extra[3] = ca;
	argv_extra[4] = NULL;
	assert_int_equal(th_server_run(s, argv_extra), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", s->dir);
	setenv("SSL_CERT_FILE", ca, 1);

	wss_url(f, "127.0.0.1", url, sizeof(url));
	assert_int_equal(open_client(url, NULL, false, &c), 0);
	assert_int_equal(try_register(c), 0);
	ctl_client_close(c);

	wss_url(f, "localhost", url, sizeof(url));
	assert_int_equal(open_client(url, NULL, false, &c), 0);
	assert_int_equal(try_register(c), -ENOTCONN); /* at once, not at the timeout */
	ctl_client_transport_error(c, why, sizeof(why));
	assert_non_null(strstr(why, "not trusted"));
	ctl_client_close(c);
	unsetenv("SSL_CERT_FILE");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pinned_server_is_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key_is_refused_before_any_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_self_signed_without_pin_is_not_trusted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plain_ws_needs_insecure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_pin_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_store_and_host_name_decide_without_pin, setup,
						teardown),
	};

	if (th_main_init(argc, argv))
		return 2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
