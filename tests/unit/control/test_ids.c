/*
 * test_ids: identifiers, tokens, the hash map and IPAM on their own: share
 * code alphabet, format and loose parsing; hex IDs; token check against its
 * hash (and refusal of near misses); map insert/replace/delete/iterate
 * across growth; IPAM bounds, remembered addresses, probing past taken
 * addresses, exhaustion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/ctl_ids.h"
#include "control/ctl_ipam.h"
#include "control/ctl_map.h"
#include "crypto/crypto.h"

static void test_share_codes(void **state)
{
	char code[CTL_CODE_SYMBOLS + 1], text[CTL_CODE_TEXT + 1], back[CTL_CODE_SYMBOLS + 1];
	int seen[256] = { 0 };

	for (int i = 0; i < 2000; i++) {
		ctl_code_new(code);
		assert_int_equal(strlen(code), 12);
		for (int j = 0; j < 12; j++) {
			assert_non_null(strchr(ctl_code_alphabet, code[j]));
			seen[(unsigned char)code[j]]++;
		}
	}
	/* All 30 symbols show up; the misreadable ones never. */
	for (const char *s = ctl_code_alphabet; *s; s++)
		assert_true(seen[(unsigned char)*s] > 0);
	for (const char *s = "01ILOU"; *s; s++)
		assert_int_equal(seen[(unsigned char)*s], 0);

	ctl_code_format("23456789ABCD", text);
	assert_string_equal(text, "2345-6789-ABCD");
	assert_int_equal(ctl_code_parse(text, strlen(text), back), 0);
	assert_string_equal(back, "23456789ABCD");
	assert_int_equal(ctl_code_parse("2345 6789 abcd", 14, back), 0);
	assert_string_equal(back, "23456789ABCD");
	assert_int_equal(ctl_code_parse("-2-3-4-5-6-7-8-9-a-b-c-d-", 25, back), 0);
	assert_int_equal(ctl_code_parse("2345-6789-ABC", 13, back), -EINVAL);
	assert_int_equal(ctl_code_parse("2345-6789-ABCDE", 15, back), -EINVAL);
	assert_int_equal(ctl_code_parse("2345-6789-ABCO", 14, back), -EINVAL);
	assert_int_equal(ctl_code_parse("2345-6789-ABCu", 14, back), -EINVAL);
	assert_int_equal(ctl_code_parse("2345-6789-AB\0D", 14, back), -EINVAL);
	assert_int_equal(ctl_code_parse("", 0, back), -EINVAL);
}

static void test_hex_ids(void **state)
{
	char id[CTL_HEXID_LEN + 1], back[CTL_HEXID_LEN + 1];

	ctl_hexid_new(id);
	assert_int_equal(strlen(id), 16);
	assert_int_equal(ctl_hexid_parse(id, 16, back), 0);
	assert_string_equal(id, back);
	assert_int_equal(ctl_hexid_parse("ABCDEF0123456789", 16, back), 0);
	assert_string_equal(back, "abcdef0123456789");
	assert_int_equal(ctl_hexid_parse("abcdef012345678", 15, back), -EINVAL);
	assert_int_equal(ctl_hexid_parse("abcdef012345678g", 16, back), -EINVAL);
}

static void test_tokens(void **state)
{
	char t1[CTL_TOKEN_TEXT + 1], t2[CTL_TOKEN_TEXT + 1];
	uint8_t h1[CTL_TOKEN_HASH], h2[CTL_TOKEN_HASH];

	ctl_token_new(t1, h1);
	ctl_token_new(t2, h2);
	assert_int_equal(strlen(t1), 43);
	assert_null(strpbrk(t1, "+/="));
	assert_string_not_equal(t1, t2);
	assert_true(ctl_token_check(t1, 43, h1));
	assert_true(ctl_token_check(t2, 43, h2));
	assert_false(ctl_token_check(t1, 43, h2));
	assert_false(ctl_token_check(t1, 42, h1));
	assert_false(ctl_token_check("", 0, h1));
	/* One symbol changed. */
	t1[5] = t1[5] == 'A' ? 'B' : 'A';
	assert_false(ctl_token_check(t1, 43, h1));
	/* Standard base64 characters are not base64url. */
	t2[0] = '+';
	assert_false(ctl_token_check(t2, 43, h2));
}

static void test_map(void **state)
{
	struct ctl_map m;
	struct ctl_map_iter it;
	static int vals[5000];
	int n = 0;
	void *v;

	ctl_map_init(&m);
	assert_null(ctl_map_get(&m, "x", 1));
	assert_null(ctl_map_del(&m, "x", 1));
	for (int i = 0; i < 5000; i++)
		assert_int_equal(ctl_map_put(&m, &i, sizeof(i), &vals[i]), 0);
	assert_int_equal(ctl_map_count(&m), 5000);
	for (int i = 0; i < 5000; i++)
		assert_ptr_equal(ctl_map_get(&m, &i, sizeof(i)), &vals[i]);
	/* Replace does not add. */
	assert_int_equal(ctl_map_put(&m, &n, sizeof(n), &vals[1]), 0);
	assert_int_equal(ctl_map_count(&m), 5000);
	assert_ptr_equal(ctl_map_get(&m, &n, sizeof(n)), &vals[1]);
	/* Delete every even key while iterating. */
	ctl_map_iter_init(&it, &m);
	while ((v = ctl_map_next(&it))) {
		int k = (int)((int *)v - vals);

		if (v == &vals[1] && n++ == 0)
			k = 0;
		if (k % 2 == 0)
			assert_ptr_equal(ctl_map_del(&m, &k, sizeof(k)), v);
	}
	assert_int_equal(ctl_map_count(&m), 2500);
	for (int i = 0; i < 5000; i++)
		assert_true((ctl_map_get(&m, &i, sizeof(i)) != NULL) == (i % 2 == 1));
	/* Keys of different lengths are different keys. */
	assert_int_equal(ctl_map_put(&m, "ab", 2, &vals[0]), 0);
	assert_null(ctl_map_get(&m, "ab", 1));
	ctl_map_free(&m);
}

static void test_ipam(void **state)
{
	struct ctl_ipam p;
	uint8_t k1[32], k2[32];
	uint32_t a1, a2, a;
	int holder;
	char text[16];

	assert_int_equal(ctl_ipam_check(0x0a420000, 16), 0);
	assert_int_equal(ctl_ipam_check(0x0a420000, 31), -EINVAL);
	assert_int_equal(ctl_ipam_check(0x0a420000, 7), -EINVAL);
	assert_int_equal(ctl_ipam_check(0x0a420100, 16), -EINVAL);

	ctl_ipam_init(&p, 0x0a420008, 29); /* .9 .. .14 */
	assert_int_equal(p.usable, 6);
	assert_false(ctl_ipam_in_subnet(&p, 0x0a420008));
	assert_true(ctl_ipam_in_subnet(&p, 0x0a420009));
	assert_true(ctl_ipam_in_subnet(&p, 0x0a42000e));
	assert_false(ctl_ipam_in_subnet(&p, 0x0a42000f));
	crypto_random(k1, 32);
	crypto_random(k2, 32);
	/* Deterministic start for a key. */
	assert_int_equal(ctl_ipam_pick(&p, k1, &a1), 0);
	assert_int_equal(ctl_ipam_pick(&p, k1, &a), 0);
	assert_int_equal(a, a1);
	assert_true(ctl_ipam_in_subnet(&p, a1));
	assert_int_equal(ctl_ipam_take(&p, k1, a1, &holder), 0);
	assert_int_equal(ctl_ipam_take(&p, k2, a1, &holder), -EEXIST);
	/* Another key never gets a taken address. */
	assert_int_equal(ctl_ipam_pick(&p, k1, &a), 0);
	assert_int_not_equal(a, a1);
	/* Released: k1 gets a1 back even though k2 probes first. */
	ctl_ipam_release(&p, a1);
	assert_int_equal(ctl_ipam_pick(&p, k2, &a2), 0);
	assert_int_equal(ctl_ipam_remember(&p, k1, a1), 0);
	if (a2 == a1) {
		/* k2 starts there too: k2 takes it, k1 must move on. */
		assert_int_equal(ctl_ipam_take(&p, k2, a2, &holder), 0);
		assert_int_equal(ctl_ipam_pick(&p, k1, &a), 0);
		assert_int_not_equal(a, a1);
		ctl_ipam_release(&p, a2);
	}
	assert_int_equal(ctl_ipam_pick(&p, k1, &a), 0);
	assert_int_equal(a, a1);
	/* Remembered address wins over the hash start. */
	assert_int_equal(ctl_ipam_remember(&p, k1, 0x0a42000e), 0);
	assert_int_equal(ctl_ipam_pick(&p, k1, &a), 0);
	assert_int_equal(a, 0x0a42000e);
	/* Fill all six: the seventh finds nothing. */
	for (int i = 0; i < 6; i++) {
		uint8_t k[32];

		crypto_random(k, 32);
		assert_int_equal(ctl_ipam_pick(&p, k, &a), 0);
		assert_int_equal(ctl_ipam_take(&p, k, a, &holder), 0);
	}
	assert_int_equal(ctl_ipam_pick(&p, k1, &a), -ENOSPC);
	ctl_ipam_format(0x0a42000e, text);
	assert_string_equal(text, "10.66.0.14");
	ctl_ipam_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_codes), cmocka_unit_test(test_hex_ids),
		cmocka_unit_test(test_tokens),      cmocka_unit_test(test_map),
		cmocka_unit_test(test_ipam),
	};

	if (crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
