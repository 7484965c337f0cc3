/* prom: the text exposition format: escaping, value spelling, labels that
 * do not fit, histograms and the process families. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics/prom.h"

/* The text rendered (the test frees it). */
static char *take(struct strbuf *sb)
{
	char *s = strbuf_take(sb);

	assert_non_null(s);
	return s;
}

static void test_help_escapes_backslash_and_newline_only(void **state)
{
	struct strbuf sb;
	char *s;

	(void)state;
	strbuf_init(&sb);
	prom_family(&sb, "lanrage_x_total", PROM_COUNTER, "a \\ b\nc \"quoted\"");
	s = take(&sb);
	assert_string_equal(s, "# HELP lanrage_x_total a \\\\ b\\nc \"quoted\"\n"
			       "# TYPE lanrage_x_total counter\n");
	free(s);
}

static void test_label_values_are_escaped(void **state)
{
	char lb[PROM_LABELS_MAX] = "";

	(void)state;
	assert_int_equal(prom_label(lb, sizeof(lb), "name", "a\"b\\c\nd"), 0);
	assert_string_equal(lb, "name=\"a\\\"b\\\\c\\nd\"");
	assert_int_equal(prom_label(lb, sizeof(lb), "le", "+Inf"), 0);
	assert_string_equal(lb, "name=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"");
}

/* Every cut of a label that does not fit leaves the labels as they were,
 * whether it falls in the name, the value, an escape or the closing quote. */
static void test_label_truncation_leaves_labels_unchanged(void **state)
{
	const char *before = "a=\"1\"";
	char lb[32];

	(void)state;
	for (size_t cap = strlen(before) + 1; cap < sizeof(lb); cap++) {
		int r;

		strcpy(lb, before);
		r = prom_label(lb, cap, "key", "x\"y");
		/* a="1",key="x\"y" is 16 bytes, and its NUL */
		if (cap < 17) {
			assert_int_equal(r, -ENOSPC);
			assert_string_equal(lb, before);
		} else {
			assert_int_equal(r, 0);
			assert_string_equal(lb, "a=\"1\",key=\"x\\\"y\"");
		}
	}
	lb[0] = '\0';
	assert_int_equal(prom_label(lb, 4, "k", "v"), -ENOSPC);
	assert_string_equal(lb, "");
	assert_int_equal(prom_label(lb, 6, "k", "v"), 0);
	assert_string_equal(lb, "k=\"v\"");
}

static void test_values_spelled_as_prometheus_reads_them(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 42, "42" },
		{ -7, "-7" },
		{ 9007199254740991.0, "9007199254740991" },
		{ 0.005, "0.005" },
		{ 0.1, "0.1" },
		{ 1.0 / 3.0, "0.33333333333333331" },
		{ 2.5e-7, "2.5e-07" },
		{ 1e300, "1e+300" },
		{ 0.1 + 0.2, "0.30000000000000004" },
	};
	char want[128];
	struct strbuf sb;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_init(&sb);
		prom_sample(&sb, "m", NULL, cases[i].v);
		s = take(&sb);
		snprintf(want, sizeof(want), "m %s\n", cases[i].text);
		assert_string_equal(s, want);
		/* and it reads back as the same double */
		assert_true(strtod(s + 2, NULL) == cases[i].v);
		free(s);
	}
	strbuf_init(&sb);
	prom_sample(&sb, "m", "", NAN);
	prom_sample(&sb, "m", NULL, INFINITY);
	prom_sample(&sb, "m", "k=\"v\"", -INFINITY);
	prom_sample_u64(&sb, "c_total", "k=\"v\"", UINT64_MAX);
	prom_sample_u64(&sb, "c_total", NULL, 0);
	s = take(&sb);
	assert_string_equal(s, "m NaN\nm +Inf\nm{k=\"v\"} -Inf\n"
			       "c_total{k=\"v\"} 18446744073709551615\nc_total 0\n");
	free(s);
}

static void test_histogram_buckets_are_cumulative_ending_in_inf(void **state)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct prom_hist h;
	struct strbuf sb;
	char *s;

	(void)state;
	prom_hist_init(&h, bounds, 3);
	prom_hist_observe(&h, 0.005); /* first bucket */
	prom_hist_observe(&h, 0.01);  /* on a bound: that bucket (le) */
	prom_hist_observe(&h, 0.5);
	prom_hist_observe(&h, 7);     /* +Inf only */
	prom_hist_observe(&h, 8);
	strbuf_init(&sb);
	prom_hist_render(&sb, "d_seconds", "type=\"x\"", &h);
	s = take(&sb);
	assert_string_equal(s, "d_seconds_bucket{type=\"x\",le=\"0.01\"} 2\n"
			       "d_seconds_bucket{type=\"x\",le=\"0.1\"} 2\n"
			       "d_seconds_bucket{type=\"x\",le=\"1\"} 3\n"
			       "d_seconds_bucket{type=\"x\",le=\"+Inf\"} 5\n"
			       "d_seconds_sum{type=\"x\"} 15.515\n"
			       "d_seconds_count{type=\"x\"} 5\n");
	free(s);
}

static void test_histogram_without_labels_or_observations(void **state)
{
	static const double bounds[] = { 1, 2 };
	struct prom_hist h;
	struct strbuf sb;
	char *s;

	(void)state;
	prom_hist_init(&h, bounds, 2);
	strbuf_init(&sb);
	prom_hist_render(&sb, "h", NULL, &h);
	s = take(&sb);
	assert_string_equal(s, "h_bucket{le=\"1\"} 0\nh_bucket{le=\"2\"} 0\n"
			       "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
	free(s);
}

/* The value of the sample `name value` in text, or NAN. */
static double sample(const char *text, const char *name)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(text, key);
	return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void test_process_families_describe_this_process(void **state)
{
	static const char *const families[] = {
		"process_cpu_seconds_total counter", "process_start_time_seconds gauge",
		"process_virtual_memory_bytes gauge", "process_resident_memory_bytes gauge",
		"process_open_fds gauge", "process_max_fds gauge",
	};
	char type[128];
	struct strbuf sb;
	double fds;
	char *s;
	int fd;

	(void)state;
	strbuf_init(&sb);
	prom_process(&sb);
	s = take(&sb);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(type, sizeof(type), "# TYPE %s\n", families[i]);
		assert_non_null(strstr(s, type));
	}
	assert_true(sample(s, "process_resident_memory_bytes") > 4096);
	assert_true(sample(s, "process_virtual_memory_bytes") >=
		    sample(s, "process_resident_memory_bytes"));
	assert_true(sample(s, "process_cpu_seconds_total") >= 0);
	assert_true(sample(s, "process_start_time_seconds") > 1.5e9);
	fds = sample(s, "process_open_fds");
	assert_true(fds >= 3 && fds <= sample(s, "process_max_fds"));
	free(s);

	/* one more open file is one more fd */
	fd = dup(0);
	assert_true(fd >= 0);
	strbuf_init(&sb);
	prom_process(&sb);
	s = take(&sb);
	assert_true(sample(s, "process_open_fds") == fds + 1);
	close(fd);
	free(s);
}

static void test_build_info_names_the_version(void **state)
{
	struct strbuf sb;
	char *s;

	(void)state;
	strbuf_init(&sb);
	prom_build_info(&sb);
	s = take(&sb);
	assert_non_null(strstr(s, "# TYPE lanrage_build_info gauge\n"
				  "lanrage_build_info{version=\"" LANRAGE_VERSION "\"} 1\n"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_escapes_backslash_and_newline_only),
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_label_truncation_leaves_labels_unchanged),
		cmocka_unit_test(test_values_spelled_as_prometheus_reads_them),
		cmocka_unit_test(test_histogram_buckets_are_cumulative_ending_in_inf),
		cmocka_unit_test(test_histogram_without_labels_or_observations),
		cmocka_unit_test(test_process_families_describe_this_process),
		cmocka_unit_test(test_build_info_names_the_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
