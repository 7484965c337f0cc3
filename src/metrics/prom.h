/*
 * prom: the Prometheus text exposition format (version 0.0.4), written into a
 * strbuf (docs/METRICS.md lists every metric the programs export).
 *
 * A family is announced once with prom_family (its # HELP and # TYPE lines),
 * then its samples follow. Labels are given as one preformatted string built
 * with prom_label (name="escaped value" pairs, comma-separated) so a caller
 * can reuse it for several families. Histograms keep per-bucket counts and
 * render them cumulatively, ending in le="+Inf", with _sum and _count.
 *
 * Threading: none of its own; a caller renders from its own thread or under
 * its own lock. A prom_hist is updated by one thread (or under a lock).
 */
#ifndef LR_METRICS_PROM_H
#define LR_METRICS_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

enum { PROM_MAX_BUCKETS = 16, PROM_LABELS_MAX = 512 };

/* # HELP and # TYPE for name (help is escaped). */
void prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help);
/* name{labels} value; labels may be NULL or "". Integers print exactly,
 * NaN and infinities as Prometheus spells them. */
void prom_sample(struct strbuf *sb, const char *name, const char *labels, double value);
void prom_sample_u64(struct strbuf *sb, const char *name, const char *labels, uint64_t value);

/* Appends name="value" (value escaped: \\, \" and \n) to labels, with a comma
 * when labels is not empty. Truncation leaves labels unchanged and returns
 * -ENOSPC. */
int prom_label(char *labels, size_t cap, const char *name, const char *value);

/* A histogram with fixed upper bounds (ascending, +Inf implied). */
struct prom_hist {
	const double *bounds;
	size_t n_bounds;                     /* <= PROM_MAX_BUCKETS */
	uint64_t counts[PROM_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
	uint64_t count;
	double sum;
};

void prom_hist_init(struct prom_hist *h, const double *bounds, size_t n_bounds);
void prom_hist_observe(struct prom_hist *h, double v);
/* name_bucket{labels,le="..."} cumulative, name_sum, name_count; the caller
 * announced the family as PROM_HISTOGRAM. */
void prom_hist_render(struct strbuf *sb, const char *name, const char *labels,
		      const struct prom_hist *h);

/* lanrage_build_info{version="LANRAGE_VERSION"} 1, the family every program
 * exports so a dashboard can tell versions apart. */
void prom_build_info(struct strbuf *sb);

/* The process_* families client libraries export (resident and virtual
 * memory, CPU seconds, open and max fds, start time), from /proc/self.
 * Families whose source cannot be read are left out. */
void prom_process(struct strbuf *sb);

#endif
