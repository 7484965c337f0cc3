/* log_internal: what log.c hands the renderers (log_render.c). Private to src/log/. */
#ifndef LR_LOG_INTERNAL_H
#define LR_LOG_INTERNAL_H

#include "log/log.h"

/* One line, atomic on pipes (PIPE_BUF) and well under any sane line limit. */
#define LOG_LINE_MAX 4096

/* One entry as the renderers see it; nothing in it outlives the call. */
struct log_entry {
	enum log_level level;
	const char *module;
	const char *msg;
	const struct log_field *fields;
	size_t nfields;
	const struct log_ctx *ctx;
	uint64_t sec;
	uint32_t nsec;
};

/* Renders the text line into buf (always '\n'-terminated, cut to cap with "...").
 * Returns its length. cap >= 64. */
size_t log_render_text(const struct log_entry *e, char *buf, size_t cap);
/* Renders one JSON object plus '\n' into a malloc'd string (caller frees);
 * NULL when out of memory. */
char *log_render_json(const struct log_entry *e, size_t *len);

#endif
