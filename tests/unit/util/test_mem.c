/*
 * test_mem: the helpers for memory that may hold secrets: growth that wipes
 * the old block, a block wiped to its last usable byte, jansson allocating
 * through the wiping free (and still working: build, dump, parse, free), and
 * the process settings for programs with secrets (umask 077).
 */
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
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

#include "util/mem.h"

static void test_grow_keeps_used_bytes(void **state)
{
	char *a = malloc(8), *b;

	(void)state;
	memcpy(a, "secret!", 8);
	b = mem_grow_wiped(a, 8, 8, 64);
	assert_non_null(b);
	assert_memory_equal(b, "secret!", 8);
	for (size_t i = 8; i < 64; i++)
		assert_int_equal(b[i], 0);
	mem_free_wiped(b);
}

static void test_wipe_block_covers_usable_size(void **state)
{
	uint8_t *p = malloc(13);
	size_t n = malloc_usable_size(p);

	(void)state;
	assert_true(n >= 13);
	memset(p, 0xa5, n);
	mem_wipe_block(p);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
	free(p);
	mem_wipe_block(NULL);
	mem_free_wiped(NULL);
}

static void test_json_uses_wiping_free(void **state)
{
	json_malloc_t m;
	json_free_t f;
	json_t *o, *back;
	char *text;

	(void)state;
	mem_json_wipe_install();
	json_get_alloc_funcs(&m, &f);
	assert_true(m == malloc);
	assert_true(f == mem_free_wiped);
	o = json_pack("{s:s, s:[i,i]}", "token", "0123456789abcdef0123456789abcdef", "n", 1, 2);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"n\":[1,2],\"token\":\"0123456789abcdef0123456789abcdef\"}");
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(o, back));
	mem_free_wiped(text);
	json_decref(back);
	json_decref(o);
}

static void test_secure_process_makes_files_private(void **state)
{
	char dir[] = "/tmp/lrmemXXXXXX", path[64];
	mode_t old = umask(022), now;
	struct stat st;
	int fd;

	(void)state;
	mem_secure_process();
	now = umask(022);
	assert_int_equal(now, 077);
	umask(now);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
	unlink(path);
	rmdir(dir);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_keeps_used_bytes),
		cmocka_unit_test(test_wipe_block_covers_usable_size),
		cmocka_unit_test(test_json_uses_wiping_free),
		cmocka_unit_test(test_secure_process_makes_files_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
