/*
 * prom: the Prometheus text exposition format (prom.h).
 *
 * Values are printed with %.15g, or %.17g when that does not read back as
 * the same double, so a float survives a round trip and a bucket bound
 * reads as written (le="0.005", not 0.0050000000000000001); whole numbers
 * below 2^53 print without an exponent (counters read as integers).
 * /proc/self is read with plain stdio: these are small files the kernel
 * writes at once. Nothing here needs libm (the programs do not link it).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h> /* isnan, isinf: macros */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics/prom.h"

static const char *prom_type_name(enum prom_type t)
{
	return t == PROM_COUNTER ? "counter" : t == PROM_GAUGE ? "gauge" : "histogram";
}

/* Escapes for HELP (\\ and \n) or, with quote, label values (also \"). */
static void prom_escaped(struct strbuf *sb, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_printf(sb, "\\\\");
		else if (*s == '\n')
			strbuf_printf(sb, "\\n");
		else if (quote && *s == '"')
			strbuf_printf(sb, "\\\"");
		else
			strbuf_printf(sb, "%c", *s);
	}
}

void prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help)
{
	strbuf_printf(sb, "# HELP %s ", name);
	prom_escaped(sb, help, 0);
	strbuf_printf(sb, "\n# TYPE %s %s\n", name, prom_type_name(type));
}

static void prom_value(char *out, size_t cap, double v)
{
	if (isnan(v))
		snprintf(out, cap, "NaN");
	else if (isinf(v))
		snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
		snprintf(out, cap, "%.0f", v);
	else if (snprintf(out, cap, "%.15g", v) > 0 && strtod(out, NULL) != v)
		snprintf(out, cap, "%.17g", v);
}

void prom_sample(struct strbuf *sb, const char *name, const char *labels, double value)
{
	char v[40];

	prom_value(v, sizeof(v), value);
	if (labels && labels[0])
		strbuf_printf(sb, "%s{%s} %s\n", name, labels, v);
	else
		strbuf_printf(sb, "%s %s\n", name, v);
}

void prom_sample_u64(struct strbuf *sb, const char *name, const char *labels, uint64_t value)
{
	if (labels && labels[0])
		strbuf_printf(sb, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		strbuf_printf(sb, "%s %llu\n", name, (unsigned long long)value);
}

int prom_label(char *labels, size_t cap, const char *name, const char *value)
{
	size_t len = strlen(labels), at;

	at = len;
	if (at && at + 1 < cap)
		labels[at++] = ',';
	at += (size_t)snprintf(labels + at, at < cap ? cap - at : 0, "%s=\"", name);
	for (const char *s = value; *s && at < cap; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;

		if (esc) {
			if (at + 2 >= cap)
				at = cap;
			else
				at += (size_t)snprintf(labels + at, cap - at, "%s", esc);
		} else if (at + 1 < cap) {
			labels[at++] = *s;
		} else {
			at = cap;
		}
	}
	if (at + 1 >= cap) {
		labels[len] = '\0';
		return -ENOSPC;
	}
	labels[at++] = '"';
	labels[at] = '\0';
	return 0;
}

void prom_hist_init(struct prom_hist *h, const double *bounds, size_t n_bounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n_bounds = n_bounds < PROM_MAX_BUCKETS ? n_bounds : PROM_MAX_BUCKETS;
}

void prom_hist_observe(struct prom_hist *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

void prom_hist_render(struct strbuf *sb, const char *name, const char *labels,
		      const struct prom_hist *h)
{
	char metric[128], lb[PROM_LABELS_MAX], le[40];
	uint64_t cum = 0;

	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (size_t i = 0; i <= h->n_bounds; i++) {
		cum += h->counts[i];
		snprintf(lb, sizeof(lb), "%s", labels ? labels : "");
		if (i < h->n_bounds)
			prom_value(le, sizeof(le), h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_label(lb, sizeof(lb), "le", le);
		prom_sample_u64(sb, metric, lb, cum);
	}
	snprintf(metric, sizeof(metric), "%s_sum", name);
	prom_sample(sb, metric, labels, h->sum);
	snprintf(metric, sizeof(metric), "%s_count", name);
	prom_sample_u64(sb, metric, labels, h->count);
}

void prom_build_info(struct strbuf *sb)
{
	char lb[PROM_LABELS_MAX] = "";

	prom_family(sb, "lanrage_build_info", PROM_GAUGE,
		    "Always 1; the version label says which LANrage this is.");
	prom_label(lb, sizeof(lb), "version", LANRAGE_VERSION);
	prom_sample_u64(sb, "lanrage_build_info", lb, 1);
}

/* /proc/self/stat fields 14, 15 (utime, stime in ticks) and 22 (start time
 * in ticks since boot), after the command name's closing parenthesis. */
static int prom_proc_stat(double *cpu_s, double *start_ticks)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0, start = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
			 "%*d %*d %*d %*d %*d %*d %llu", &ut, &st, &start) != 3)
		return -EINVAL;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*start_ticks = (double)start;
	return 0;
}

/* Boot time from /proc/stat's btime line. */
static int prom_boot_time(double *btime)
{
	char line[256];
	unsigned long long bt;
	FILE *f = fopen("/proc/stat", "r");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &bt) == 1) {
			*btime = (double)bt;
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

static long prom_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void prom_gauge1(struct strbuf *sb, const char *name, enum prom_type t,
			const char *help, double v)
{
	prom_family(sb, name, t, help);
	prom_sample(sb, name, NULL, v);
}

void prom_process(struct strbuf *sb)
{
	unsigned long long vsize, rss;
	double cpu, start, btime = 0;
	struct rlimit rl;
	long fds = prom_open_fds();
	FILE *f = fopen("/proc/self/statm", "r");

	if (!prom_proc_stat(&cpu, &start)) {
		prom_gauge1(sb, "process_cpu_seconds_total", PROM_COUNTER,
			    "User and system CPU time spent in seconds.", cpu);
		if (!prom_boot_time(&btime))
			prom_gauge1(sb, "process_start_time_seconds", PROM_GAUGE,
				    "Start time of the process since unix epoch in seconds.",
				    btime + start / (double)sysconf(_SC_CLK_TCK));
	}
	if (f && fscanf(f, "%llu %llu", &vsize, &rss) == 2) {
		double page = (double)sysconf(_SC_PAGESIZE);

		prom_gauge1(sb, "process_virtual_memory_bytes", PROM_GAUGE,
			    "Virtual memory size in bytes.", (double)vsize * page);
		prom_gauge1(sb, "process_resident_memory_bytes", PROM_GAUGE,
			    "Resident memory size in bytes.", (double)rss * page);
	}
	if (f)
		fclose(f);
	if (fds >= 0)
		prom_gauge1(sb, "process_open_fds", PROM_GAUGE, "Number of open file descriptors.",
			    (double)fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		prom_gauge1(sb, "process_max_fds", PROM_GAUGE,
			    "Maximum number of open file descriptors.", (double)rl.rlim_cur);
}
