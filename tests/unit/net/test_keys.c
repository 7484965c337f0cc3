/*
 * test_keys: the node key pair in a fresh temporary state directory per test:
 * first start creates both files with the right modes and format, the next
 * start reuses them, an unsafe or damaged private key is refused and left
 * byte-for-byte as it was, a wrong public.key is repaired, and the files are
 * what `wg genkey` / `wg pubkey` make and read (when wg is installed).
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "net/net.h"

struct fixture {
	char dir[64];
	char priv[128];
	char pub[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/lr-test-keys.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->priv, sizeof(f->priv), "%s/keys/private.key", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s/keys/public.key", f->dir);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Whole file as a string (at most 255 bytes). */
static void slurp(const char *path, char out[256])
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(out, 1, 255, fp);
	out[n] = '\0';
	fclose(fp);
}

static void spit(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_fresh(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k;
	char text[256], want[64], dir[128];
	uint8_t pub[32], priv[32];

	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(f->priv), 0600);
	slurp(f->priv, text);
	assert_int_equal(strlen(text), NET_KEY_B64_LEN + 1);
	assert_int_equal(text[NET_KEY_B64_LEN], '\n');
	text[NET_KEY_B64_LEN] = '\0';
	assert_int_equal(net_key_from_base64(priv, text), 0);
	assert_memory_equal(priv, k->private_key, 32);
	/* Clamped, as wg genkey makes them. */
	assert_int_equal(priv[0] & 7, 0);
	assert_int_equal(priv[31] & 0xc0, 0x40);
	crypto_x25519_public(pub, priv);
	assert_memory_equal(pub, k->public_key, 32);
	slurp(f->pub, text);
	snprintf(want, sizeof(want), "%s\n", k->public_b64);
	assert_string_equal(text, want);
	assert_false(crypto_is_zero(k->private_key, 32));
	net_keys_free(k);
}

static void test_reuse(void **state)
{
	struct fixture *f = *state;
	struct net_keys *a, *b;
	char before[256], after[256];

	assert_int_equal(net_keys_load_or_create(f->dir, &a), 0);
	slurp(f->priv, before);
	assert_int_equal(net_keys_load_or_create(f->dir, &b), 0);
	slurp(f->priv, after);
	assert_string_equal(before, after);
	assert_memory_equal(a->private_key, b->private_key, 32);
	assert_string_equal(a->public_b64, b->public_b64);
	net_keys_free(a);
	net_keys_free(b);
}

/* A refused file is left exactly as it was and nothing is returned. */
static void expect_refused(struct fixture *f, int err)
{
	struct net_keys *k = (struct net_keys *)0x1;
	char before[256], after[256];
	mode_t mode = mode_of(f->priv);

	slurp(f->priv, before);
	assert_int_equal(net_keys_load_or_create(f->dir, &k), err);
	assert_null(k);
	slurp(f->priv, after);
	assert_string_equal(before, after);
	assert_int_equal(mode_of(f->priv), mode);
}

static void test_bad_permissions(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k;

	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	net_keys_free(k);
	assert_int_equal(chmod(f->priv, 0644), 0);
	expect_refused(f, -EACCES);
	assert_int_equal(chmod(f->priv, 0640), 0);
	expect_refused(f, -EACCES);
	assert_int_equal(chmod(f->priv, 0600), 0);
	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	net_keys_free(k);
}

static void test_bad_content(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"not a key\n",
		/* 43 characters */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm\n",
		/* 45 characters */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=A\n",
		/* no padding */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmkA\n",
		/* non-canonical: low bits set before the '=' */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml=\n",
		/* two keys */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nyAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
		/* URL-safe alphabet */
		"yAnz5TF-lXXJte14tji3zlMNq-hd2rYUIgJBgB3fBmk=\n",
		" yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
	};
	struct fixture *f = *state;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(f->priv, bad[i], 0600);
		expect_refused(f, -EINVAL);
	}
}

static void test_good_content_forms(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k;
	char dir[128];
	uint8_t want[32];

	/* RFC 7748 test key (Alice's private key) in base64, with and without newline. */
	assert_int_equal(net_key_from_base64(want, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="),
			 0);
	snprintf(dir, sizeof(dir), "%s/keys", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	spit(f->priv, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", 0600);
	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	assert_memory_equal(k->private_key, want, 32);
	/* RFC 7748 section 6.1: Alice's public key. */
	assert_string_equal(k->public_b64, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	net_keys_free(k);
}

static void test_public_repaired(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k;
	char text[256], want[64];

	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	spit(f->pub, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 0644);
	net_keys_free(k);
	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	slurp(f->pub, text);
	snprintf(want, sizeof(want), "%s\n", k->public_b64);
	assert_string_equal(text, want);
	unlink(f->pub);
	net_keys_free(k);
	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	slurp(f->pub, text);
	assert_string_equal(text, want);
	net_keys_free(k);
}

static void test_base64(void **state)
{
	uint8_t key[32], back[32];
	char b64[NET_KEY_B64_LEN + 1];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	net_key_to_base64(b64, key);
	assert_int_equal(strlen(b64), NET_KEY_B64_LEN);
	assert_int_equal(b64[43], '=');
	assert_int_equal(net_key_from_base64(back, b64), 0);
	assert_memory_equal(key, back, 32);
	b64[10] = '*';
	assert_int_equal(net_key_from_base64(back, b64), -EINVAL);
	assert_true(crypto_is_zero(back, 32)); /* nothing half-decoded is left */
}

static bool have_wg(void)
{
	return !system("command -v wg >/dev/null 2>&1");
}

/* Our files are wg's files: wg pubkey agrees, and a wg genkey key loads. */
static void test_wg_compatible(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k;
	char cmd[1024], text[256], want[256], dir[128], path[160];
	FILE *p;

	if (!have_wg())
		skip();
	assert_int_equal(net_keys_load_or_create(f->dir, &k), 0);
	snprintf(cmd, sizeof(cmd), "wg pubkey < %s", f->priv);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(text, sizeof(text), p));
	assert_int_equal(pclose(p), 0);
	slurp(f->pub, want);
	assert_string_equal(text, want);
	net_keys_free(k);

	/* The other way: a key from wg genkey in a fresh state directory. */
	snprintf(dir, sizeof(dir), "%s/other", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -m 700 %s/keys && (umask 077; wg genkey > %s/keys/private.key) && "
		 "wg pubkey < %s/keys/private.key > %s/wg.pub",
		 dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(net_keys_load_or_create(dir, &k), 0);
	snprintf(path, sizeof(path), "%s/wg.pub", dir);
	slurp(path, text);
	snprintf(want, sizeof(want), "%s\n", k->public_b64);
	assert_string_equal(text, want);
	net_keys_free(k);
}

static void test_state_dir_missing_parent(void **state)
{
	struct fixture *f = *state;
	struct net_keys *k = (struct net_keys *)0x1;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/no/such/dir", f->dir);
	assert_int_equal(net_keys_load_or_create(dir, &k), -ENOENT);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_content_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_repaired, setup, teardown),
		cmocka_unit_test(test_base64),
		cmocka_unit_test_setup_teardown(test_wg_compatible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_missing_parent, setup, teardown),
	};

	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
