/* strbuf: growable string; see strbuf.h. */
#include "util/strbuf.h"

#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->failed = false;
}

static bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t cap = sb->cap ? sb->cap : 256;
	char *n;

	if (sb->len + extra + 1 <= sb->cap)
		return true;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	/* Replies carry private keys, so the old block is wiped. */
	n = mem_grow_wiped(sb->buf, sb->cap, sb->len, cap);
	if (!n) {
		sb->failed = true;
		return false;
	}
	sb->buf = n;
	sb->cap = cap;
	return true;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(sb, (size_t)n)) {
		sb->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *strbuf_take(struct strbuf *sb)
{
	char *s;

	if (sb->failed || !strbuf_reserve(sb, 0)) {
		strbuf_free(sb);
		return NULL;
	}
	sb->buf[sb->len] = '\0';
	s = sb->buf;
	strbuf_init(sb);
	return s;
}

void strbuf_free(struct strbuf *sb)
{
	if (sb->buf)
		explicit_bzero(sb->buf, sb->cap);
	free(sb->buf);
	strbuf_init(sb);
}
