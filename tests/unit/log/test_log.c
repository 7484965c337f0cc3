/*
 * test_log: the log module's output read back from a temporary file: the text
 * line layout, escaping that keeps one entry on one line, JSON lines parsed back
 * with jansson (members, types, escaping, non-UTF-8 bytes), per-thread context
 * with push/pop, level filtering, the slow-operation timer on the fake clock,
 * key labels only, long lines cut, errno kept, and whole lines under threads.
 */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
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
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>

#include "log/log.h"
#include "log/log_internal.h"
#include "util/time.h"

static int cap_fd = -1;
static char cap_buf[1 << 20];

static int setup(void **state)
{
	char path[] = "/tmp/lr-test-log.XXXXXX";

	cap_fd = mkstemp(path);
	assert_true(cap_fd >= 0);
	unlink(path);
	assert_int_equal(fcntl(cap_fd, F_SETFL, O_APPEND), 0);
	log_set_fd(cap_fd);
	log_set_level(LOG_DEBUG);
	log_set_format(LOG_FORMAT_TEXT);
	log_ctx_clear();
	return 0;
}

static int teardown(void **state)
{
	log_set_fd(STDERR_FILENO);
	log_set_level(LOG_ERROR);
	log_set_format(LOG_FORMAT_TEXT);
	log_ctx_clear();
	time_fake_set(0);
	close(cap_fd);
	return 0;
}

/* Everything logged since the last call; the file is emptied. */
static const char *captured(void)
{
	ssize_t n = pread(cap_fd, cap_buf, sizeof(cap_buf) - 1, 0);

	assert_true(n >= 0);
	cap_buf[n] = '\0';
	assert_int_equal(ftruncate(cap_fd, 0), 0);
	return cap_buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_matches(const char *s, const char *pattern)
{
	regex_t re;
	int rc;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	if (rc)
		fail_msg("'%s' does not match /%s/", s, pattern);
}

/* The one JSON object of the last line logged. */
static json_t *captured_json(void)
{
	const char *s = captured();
	json_error_t err;
	json_t *j;

	assert_int_equal(count_lines(s), 1);
	j = json_loads(s, 0, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, s);
	assert_true(json_is_object(j));
	return j;
}

static void test_text_layout(void **state)
{
	log_info("ctl", "party %s created", "lan");
	assert_matches(captured(), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
				   "INFO  ctl: party lan created\n$");
	log_error("wg", "x");
	assert_matches(captured(), "Z ERROR wg: x\n$");
	log_warn("wg", "x");
	assert_matches(captured(), "Z WARN  wg: x\n$");
	log_debug("wg", "x");
	assert_matches(captured(), "Z DEBUG wg: x\n$");
}

static void test_text_context_and_fields(void **state)
{
	log_ctx_set(LOG_CTX_PEER_ID, "peer-7");
	log_ctx_set(LOG_CTX_PARTY_ID, "ABCD-1234");
	log_kv(LOG_INFO, "ctl", "party created", LOG_INT("peers", -3), LOG_UINT("bytes", 42),
	       LOG_BOOL("relay", true), LOG_STR("name", "my party"), LOG_STR("empty", ""));
	assert_matches(captured(), "INFO  ctl: party created party_id=ABCD-1234 peer_id=peer-7 "
				   "peers=-3 bytes=42 relay=true name=\"my party\" empty=\"\"\n$");
	/* A field with a context name replaces the context's value on that line. */
	log_kv(LOG_INFO, "ctl", "m", LOG_STR("peer_id", "other"));
	assert_matches(captured(), "ctl: m party_id=ABCD-1234 peer_id=other\n$");
	log_ctx_clear();
	log_info("ctl", "m");
	assert_matches(captured(), "ctl: m\n$");
}

static void test_text_escaping(void **state)
{
	const char *s;

	log_kv(LOG_WARN, "api", "bad\nrequest\x01", LOG_STR("path", "/a b\"c\\d\ninjected=1"),
	       LOG_STR("eq", "a=b"), LOG_STR("utf8", "caf\xc3\xa9"));
	s = captured();
	assert_int_equal(count_lines(s), 1);
	assert_non_null(strstr(s, "api: bad\\nrequest\\x01 path=\"/a b\\\"c\\\\d\\ninjected=1\" "
				  "eq=\"a=b\" utf8=caf\xc3\xa9\n"));
}

static void test_bad_and_reserved_keys_dropped(void **state)
{
	json_t *j;

	log_kv(LOG_INFO, "m", "x", LOG_STR("msg", "forged"), LOG_STR("level", "error"),
	       LOG_STR("a b", "1"), LOG_STR("", "2"), LOG_STR(NULL, "3"), LOG_STR("ok", "4"));
	assert_matches(captured(), "INFO  m: x ok=4\n$");
	log_set_format(LOG_FORMAT_JSON);
	log_kv(LOG_INFO, "m", "x", LOG_STR("msg", "forged"), LOG_STR("ts", "0"),
	       LOG_STR("module", "z"), LOG_STR("ok", "4"));
	j = captured_json();
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "x");
	assert_string_equal(json_string_value(json_object_get(j, "module")), "m");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);
}

static void test_json_members_and_types(void **state)
{
	json_t *j;

	log_set_format(LOG_FORMAT_JSON);
	log_ctx_set(LOG_CTX_SESSION_ID, "s1");
	log_ctx_set(LOG_CTX_CORRELATION_ID, "req-9");
	log_kv(LOG_WARN, "conn", "relay switch", LOG_INT("rtt_ms", -5), LOG_UINT("big", UINT64_MAX),
	       LOG_UINT("n", 7), LOG_BOOL("direct", false), LOG_STR("null", NULL));
	j = captured_json();
	assert_matches(json_string_value(json_object_get(j, "ts")),
		       "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "module")), "conn");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "relay switch");
	assert_string_equal(json_string_value(json_object_get(j, "session_id")), "s1");
	assert_string_equal(json_string_value(json_object_get(j, "correlation_id")), "req-9");
	assert_null(json_object_get(j, "peer_id"));
	assert_int_equal(json_integer_value(json_object_get(j, "rtt_ms")), -5);
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 7);
	/* Past int64: a string, not a wrapped number. */
	assert_string_equal(json_string_value(json_object_get(j, "big")), "18446744073709551615");
	assert_true(json_is_false(json_object_get(j, "direct")));
	assert_string_equal(json_string_value(json_object_get(j, "null")), "");
	json_decref(j);
}

static void test_json_escaping(void **state)
{
	const char *nasty = "quote\" backslash\\ nl\n tab\t ctl\x01\x1f del\x7f caf\xc3\xa9 </script>";
	json_t *j;

	log_set_format(LOG_FORMAT_JSON);
	log_msg(LOG_ERROR, "api", "%s", nasty);
	j = captured_json();
	assert_string_equal(json_string_value(json_object_get(j, "msg")), nasty);
	json_decref(j);
	log_kv(LOG_INFO, "api\n", "m", LOG_STR("v", nasty));
	j = captured_json();
	assert_string_equal(json_string_value(json_object_get(j, "v")), nasty);
	assert_string_equal(json_string_value(json_object_get(j, "module")), "api\n");
	json_decref(j);
	/* Not UTF-8: still one valid JSON line, the bad bytes replaced. */
	log_kv(LOG_INFO, "api", "bad \xff\xfe", LOG_STR("v", "x\xc3("));
	j = captured_json();
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "bad ??");
	assert_string_equal(json_string_value(json_object_get(j, "v")), "x?(");
	json_decref(j);
}

static void test_level_filter(void **state)
{
	log_set_level(LOG_WARN);
	log_info("m", "info");
	log_debug("m", "debug");
	log_kv(LOG_INFO, "m", "kv info", LOG_INT("a", 1));
	assert_string_equal(captured(), "");
	log_warn("m", "warn");
	log_error("m", "error");
	log_kv(LOG_WARN, "m", "kv warn", LOG_INT("a", 1));
	assert_int_equal(count_lines(captured()), 3);
	log_set_level(LOG_SILENT);
	log_error("m", "error");
	assert_string_equal(captured(), "");
	/* SILENT is never a level of a message, whatever the filter. */
	log_set_level(LOG_DEBUG);
	log_msg(LOG_SILENT, "m", "never");
	assert_string_equal(captured(), "");
	assert_false(log_enabled(LOG_SILENT));
	assert_true(log_enabled(LOG_DEBUG));
}

static void test_parse(void **state)
{
	enum log_level l;
	enum log_format f;

	assert_int_equal(log_level_parse("verbose", &l), 0);
	assert_int_equal(l, LOG_INFO);
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_level_parse("DEBUG", &l), -EINVAL);
	assert_int_equal(log_format_parse("json", &f), 0);
	assert_int_equal(f, LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("text", &f), 0);
	assert_int_equal(f, LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("xml", &f), -EINVAL);
	for (l = LOG_SILENT; l <= LOG_DEBUG; l++) {
		enum log_level back;

		assert_int_equal(log_level_parse(log_level_name(l), &back), 0);
		assert_int_equal(back, l);
	}
}

static void test_ctx_push_pop(void **state)
{
	struct log_ctx outer, inner, now;
	char long_id[200];

	log_ctx_set(LOG_CTX_PARTY_ID, "P1");
	log_ctx_push(&outer, LOG_CTX_PEER_ID, "A");
	log_ctx_push(&inner, LOG_CTX_PEER_ID, "B");
	log_info("m", "x");
	assert_matches(captured(), "party_id=P1 peer_id=B\n$");
	log_ctx_pop(&inner);
	log_info("m", "x");
	assert_matches(captured(), "party_id=P1 peer_id=A\n$");
	log_ctx_pop(&outer);
	log_info("m", "x");
	assert_matches(captured(), "m: x party_id=P1\n$");
	log_ctx_set(LOG_CTX_PARTY_ID, NULL);
	log_ctx_get(&now);
	assert_string_equal(now.v[LOG_CTX_PARTY_ID], "");
	/* Too long: cut, never overflowing. */
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	log_ctx_set(LOG_CTX_SESSION_ID, long_id);
	log_ctx_get(&now);
	assert_int_equal(strlen(now.v[LOG_CTX_SESSION_ID]), LOG_CTX_VALUE_MAX - 1);
}

static void *other_thread_ctx(void *arg)
{
	struct log_ctx *seen = arg;

	log_ctx_get(seen);
	log_ctx_set(LOG_CTX_PEER_ID, "from-thread");
	return NULL;
}

static void test_ctx_is_per_thread(void **state)
{
	struct log_ctx seen, mine;
	pthread_t t;

	log_ctx_set(LOG_CTX_PEER_ID, "main");
	assert_int_equal(pthread_create(&t, NULL, other_thread_ctx, &seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_string_equal(seen.v[LOG_CTX_PEER_ID], "");
	log_ctx_get(&mine);
	assert_string_equal(mine.v[LOG_CTX_PEER_ID], "main");
}

static void test_timer(void **state)
{
	struct log_timer t;
	json_t *j;

	log_set_format(LOG_FORMAT_JSON);
	time_fake_set(1000 * TIME_NS_PER_SEC);
	t = log_timer_start("db", "commit");
	time_fake_advance(100 * TIME_NS_PER_MS);
	assert_int_equal(log_timer_end(&t, 100), 100);
	assert_string_equal(captured(), ""); /* at the threshold: not slow */
	time_fake_advance(50 * TIME_NS_PER_MS + 999999);
	assert_int_equal(log_timer_end(&t, 100), 150);
	j = captured_json();
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "module")), "db");
	assert_string_equal(json_string_value(json_object_get(j, "op")), "commit");
	assert_int_equal(json_integer_value(json_object_get(j, "elapsed_ms")), 150);
	assert_int_equal(json_integer_value(json_object_get(j, "threshold_ms")), 100);
	json_decref(j);
	/* Filtered like any warning. */
	log_set_level(LOG_ERROR);
	assert_int_equal(log_timer_end(&t, 0), 150);
	assert_string_equal(captured(), "");
}

static void test_key_label_only(void **state)
{
	uint8_t key[32];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)], label[16];
	const char *s;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	log_kv(LOG_INFO, "wg", "peer added", LOG_KEY("peer", key));
	s = captured();
	assert_non_null(strstr(s, log_key(label, key)));
	assert_int_equal(strlen(label), 11);
	assert_null(strstr(s, b64 + 8)); /* nothing past the label's 8 characters */
	log_set_format(LOG_FORMAT_JSON);
	log_kv(LOG_INFO, "wg", "peer added", LOG_KEY("peer", key));
	s = captured();
	assert_non_null(strstr(s, label));
	assert_null(strstr(s, b64 + 8));
}

static void test_long_line_cut(void **state)
{
	static char big[3 * LOG_LINE_MAX];
	const char *s;
	json_t *j;

	memset(big, 'a', sizeof(big) - 1);
	log_kv(LOG_INFO, "m", "x", LOG_STR("big", big));
	s = captured();
	assert_int_equal(count_lines(s), 1);
	assert_true(strlen(s) <= LOG_LINE_MAX);
	assert_matches(s, "aaa\\.\\.\\.\n$");
	log_info("m", "%s", big);
	s = captured();
	assert_int_equal(count_lines(s), 1);
	assert_true(strlen(s) <= LOG_LINE_MAX);
	/* JSON is never cut (a cut object is not JSON): the field comes whole. */
	log_set_format(LOG_FORMAT_JSON);
	log_kv(LOG_INFO, "m", "x", LOG_STR("big", big));
	j = captured_json();
	assert_int_equal(strlen(json_string_value(json_object_get(j, "big"))), sizeof(big) - 1);
	json_decref(j);
}

static void test_errno_kept(void **state)
{
	errno = EADDRINUSE;
	log_error("m", "bind failed");
	assert_int_equal(errno, EADDRINUSE);
	log_set_fd(-1); /* a failing write must not leak its errno either */
	errno = ENOENT;
	log_kv(LOG_ERROR, "m", "x", LOG_INT("a", 1));
	assert_int_equal(errno, ENOENT);
	log_set_fd(cap_fd);
}

#define THREADS 4
#define LINES 500

static void *log_lines(void *arg)
{
	char id[16];

	snprintf(id, sizeof(id), "t%d", (int)(intptr_t)arg);
	log_ctx_set(LOG_CTX_PEER_ID, id);
	for (int i = 0; i < LINES; i++)
		log_kv(LOG_INFO, "thr", "line", LOG_INT("i", i),
		       LOG_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	return NULL;
}

static void test_threads_whole_lines(void **state)
{
	pthread_t t[THREADS];
	size_t n = 0;
	char *line, *save;

	log_set_format(LOG_FORMAT_JSON);
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_lines, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (line = strtok_r((char *)captured(), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		if (!j)
			fail_msg("torn line: %s", line);
		assert_string_equal(json_string_value(json_object_get(j, "msg")), "line");
		json_decref(j);
		n++;
	}
	assert_int_equal(n, THREADS * LINES);
}

/* The log file gets the same lines; past the cap it becomes FILE.1 (the
 * older one replaced) and a fresh file starts, each 0600, no line split. */
static void test_file_rotation(void **state)
{
	char dir[] = "/tmp/lr-test-logfile.XXXXXX", path[64], old[80], buf[4096];
	struct stat st;
	FILE *f;
	int lines = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	assert_int_equal(log_open_file(path, 1000), 0);
	log_info("t", "first line");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, captured()); /* the same bytes as the fd */
	assert_non_null(strstr(buf, "INFO  t: first line\n"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (int i = 0; i < 40; i++)
		log_info("t", "line %d of some length to fill the file up", i);
	log_close_file();
	log_info("t", "after close: stderr only");
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 1000);
	assert_int_equal(stat(old, &st), 0);
	assert_true(st.st_size <= 1000);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* whole lines in each file; the newest file ends with the last line */
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		assert_non_null(strstr(buf, "INFO  t: line "));
		lines++;
	}
	fclose(f);
	assert_true(lines > 0);
	assert_non_null(strstr(buf, "line 39 of"));
	/* reopening appends; a second rotation replaces the old file */
	assert_int_equal(log_open_file(path, 1000), 0);
	log_info("t", "appended");
	log_close_file();
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(old), 0);
	assert_int_equal(rmdir(dir), 0);
	/* an impossible path: refused, logging goes on */
	assert_int_equal(log_open_file("/nonexistent-dir/x.log", 1000), -ENOENT);
	log_info("t", "still here");
	assert_non_null(strstr(captured(), "still here"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_context_and_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_reserved_keys_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_members_and_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_push_pop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_is_per_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_label_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_whole_lines, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
