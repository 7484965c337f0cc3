/* strbuf: a growable NUL-terminated string for building replies. On allocation
 * failure the buffer records it (sb->failed) and further appends do nothing.
 * Memory it gives back (on growth and on free) is wiped first: it may hold keys. */
#ifndef LR_UTIL_STRBUF_H
#define LR_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool failed;
};

void strbuf_init(struct strbuf *sb);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (who frees it); NULL if an append failed. */
char *strbuf_take(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
