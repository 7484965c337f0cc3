/*
 * log_render: one entry -> one line, as text (logfmt-like) or a JSON object.
 *
 * Invariants: a rendered line is exactly one line. Text escapes every control
 * byte of the message and quotes field values that hold spaces, quotes, '=' or
 * control bytes, so a value can never forge a second line or a fake field. JSON
 * goes through jansson; bytes that are not UTF-8 become '?' rather than making
 * the line invalid. Field keys that are not [A-Za-z0-9_.-]+, or that name a
 * reserved member (ts, level, module, msg), are dropped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log/log_internal.h"

/* Room kept at the end of a text line for "...\n" when it must be cut. */
#define LOG_CUT_ROOM 5

struct log_out {
	char *buf;
	size_t cap, len;
	bool cut;
};

static const char *const log_level_tags[] = { "", "ERROR", "WARN", "INFO", "DEBUG" };

static bool log_key_ok(const char *key)
{
	static const char *const reserved[] = { "ts", "level", "module", "msg" };

	if (!key || !*key || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789_.-") != strlen(key))
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i]))
			return false;
	return true;
}

/* True when a valid field of the entry has this key: it replaces the context's. */
static bool log_field_overrides(const struct log_entry *e, const char *key)
{
	for (size_t i = 0; i < e->nfields; i++)
		if (e->fields[i].key && !strcmp(e->fields[i].key, key))
			return true;
	return false;
}

static const char *log_field_text(const struct log_field *f, char *buf, size_t cap)
{
	switch (f->type) {
	case LOG_FIELD_STR:
		return f->s ? f->s : "";
	case LOG_FIELD_INT:
		snprintf(buf, cap, "%lld", f->i);
		return buf;
	case LOG_FIELD_UINT:
		snprintf(buf, cap, "%llu", f->u);
		return buf;
	case LOG_FIELD_BOOL:
		return f->b ? "true" : "false";
	case LOG_FIELD_KEY:
		return f->pubkey ? log_key(buf, f->pubkey) : "";
	}
	return "";
}

static void log_ts(char out[32], uint64_t sec, uint32_t nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char when[24];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03" PRIu32 "Z", when, nsec / 1000000);
}

static void out_putc(struct log_out *o, char c)
{
	if (o->len + LOG_CUT_ROOM < o->cap)
		o->buf[o->len++] = c;
	else
		o->cut = true;
}

static void out_puts(struct log_out *o, const char *s)
{
	while (*s)
		out_putc(o, *s++);
}

/* Control bytes as C escapes; everything else (UTF-8 included) as is. */
static void out_escaped(struct log_out *o, const char *s, bool quoted)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char hex[5];

		if (c == '\n') {
			out_puts(o, "\\n");
		} else if (c == '\r') {
			out_puts(o, "\\r");
		} else if (c == '\t') {
			out_puts(o, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			out_puts(o, hex);
		} else if (quoted && (c == '"' || c == '\\')) {
			out_putc(o, '\\');
			out_putc(o, (char)c);
		} else {
			out_putc(o, (char)c);
		}
	}
}

static void out_field(struct log_out *o, const char *key, const char *value)
{
	bool quote = !*value;

	for (const char *p = value; *p && !quote; p++)
		quote = (unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
			*p == 0x7f;
	out_putc(o, ' ');
	out_puts(o, key);
	out_putc(o, '=');
	if (quote)
		out_putc(o, '"');
	out_escaped(o, value, quote);
	if (quote)
		out_putc(o, '"');
}

size_t log_render_text(const struct log_entry *e, char *buf, size_t cap)
{
	struct log_out o = { .buf = buf, .cap = cap };
	char ts[32], head[96], val[32];

	log_ts(ts, e->sec, e->nsec);
	snprintf(head, sizeof(head), "%s %-5s ", ts, log_level_tags[e->level]);
	out_puts(&o, head);
	out_escaped(&o, e->module, false);
	out_puts(&o, ": ");
	out_escaped(&o, e->msg, false);
	for (int i = 0; i < LOG_CTX_NFIELDS; i++) {
		const char *name = log_ctx_field_name(i);

		if (e->ctx->v[i][0] && !log_field_overrides(e, name))
			out_field(&o, name, e->ctx->v[i]);
	}
	for (size_t i = 0; i < e->nfields; i++)
		if (log_key_ok(e->fields[i].key))
			out_field(&o, e->fields[i].key,
				  log_field_text(&e->fields[i], val, sizeof(val)));
	if (o.cut) {
		memcpy(buf + o.len, "...", 3);
		o.len += 3;
	}
	buf[o.len++] = '\n';
	return o.len;
}

/* A JSON string for s; bytes jansson refuses (not UTF-8) become '?'. */
static json_t *log_json_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *log_json_field(const struct log_field *f)
{
	char val[32];

	switch (f->type) {
	case LOG_FIELD_INT:
		return json_integer(f->i);
	case LOG_FIELD_UINT:
		if (f->u <= (unsigned long long)INT64_MAX)
			return json_integer((json_int_t)f->u);
		break;
	case LOG_FIELD_BOOL:
		return json_boolean(f->b);
	default:
		break;
	}
	return log_json_str(log_field_text(f, val, sizeof(val)));
}

char *log_render_json(const struct log_entry *e, size_t *len)
{
	json_t *o = json_object();
	char ts[32], *s = NULL, *line = NULL;
	size_t n;

	if (!o)
		return NULL;
	log_ts(ts, e->sec, e->nsec);
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(log_level_name(e->level)));
	json_object_set_new(o, "module", log_json_str(e->module));
	json_object_set_new(o, "msg", log_json_str(e->msg));
	for (int i = 0; i < LOG_CTX_NFIELDS; i++)
		if (e->ctx->v[i][0])
			json_object_set_new(o, log_ctx_field_name(i), log_json_str(e->ctx->v[i]));
	for (size_t i = 0; i < e->nfields; i++)
		if (log_key_ok(e->fields[i].key))
			json_object_set_new(o, e->fields[i].key, log_json_field(&e->fields[i]));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		goto out;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line)
		goto out;
	s = NULL;
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
out:
	free(s);
	json_decref(o);
	return line;
}
