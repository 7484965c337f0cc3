/*
 * log: leveled, structured logging with a module tag.
 *
 * Every entry is one line written with one write() to the log fd (stderr unless
 * log_set_fd() says otherwise), so lines from several threads never interleave.
 * Two formats, chosen at run time:
 *   text: 2026-11-25T18:40:01.123Z INFO  ctl: party created party_id=ABCD peer_id=x
 *   json: {"ts":"2026-11-25T18:40:01.123Z","level":"info","module":"ctl",
 *          "msg":"party created","party_id":"ABCD","peer_id":"x"}
 * Each line carries the calling thread's context (struct log_ctx: peer, party,
 * session and correlation IDs) and, with log_kv(), extra key=value fields.
 *
 * Secrets: messages never carry key material. There is no field type for bytes;
 * the only way to put a key in a line is LOG_KEY() / log_key(), which print the
 * short public-key label (first 8 base64 characters). Private and session keys,
 * tokens and PSKs are never passed here.
 */
#ifndef LR_LOG_H
#define LR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_SILENT = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "silent", "error", "warn", "info", "verbose", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
/* "silent", "error", "warn", "info", "debug". */
const char *log_level_name(enum log_level level);

void log_set_format(enum log_format format);
enum log_format log_get_format(void);
/* Parses "text" or "json"; -EINVAL otherwise. */
int log_format_parse(const char *s, enum log_format *out);

/* Where lines go (default STDERR_FILENO). The fd stays the caller's: it is
 * never closed here. A failed write is dropped, never retried forever. */
void log_set_fd(int fd);
int log_get_fd(void);

/* Also writes every line to the file at path (opened O_APPEND, created mode
 * 0600), the same bytes as the fd gets. When a line would take the file past
 * max_bytes, the file is renamed to path + ".1" (replacing the older one) and
 * a fresh one started: at most about 2 * max_bytes on disk. A second call
 * replaces the first file. 0, or -errno (logged). */
int log_open_file(const char *path, size_t max_bytes);
/* Stops writing to the file and closes it. Safe when none is open. */
void log_close_file(void);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends libwebsockets' own lines here at debug level (log_lws.c): every
 * program that uses lws calls it before its first lws context. Idempotent,
 * thread-safe. */
void log_lws_setup(void);
/* Short, non-secret label for a public key: first 8 base64 chars + "...". buf >= 16. */
const char *log_key(char buf[16], const uint8_t key[32]);

#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                                  \
	do {                                                 \
		if (log_get_level() >= LOG_DEBUG)            \
			log_msg(LOG_DEBUG, mod, __VA_ARGS__); \
	} while (0)

/*
 * Per-thread context. Each field is a short ID (at most LOG_CTX_VALUE_MAX - 1
 * bytes; longer values are cut). An empty field is left out of the line.
 * log_ctx_push() saves the whole context into *saved and sets one field;
 * log_ctx_pop() puts the saved context back, so scopes nest:
 *	struct log_ctx saved;
 *	log_ctx_push(&saved, LOG_CTX_PARTY_ID, party->id);
 *	...
 *	log_ctx_pop(&saved);
 */
enum log_ctx_field {
	LOG_CTX_PARTY_ID,
	LOG_CTX_PEER_ID,
	LOG_CTX_SESSION_ID,
	LOG_CTX_CORRELATION_ID,
	LOG_CTX_NFIELDS,
};
#define LOG_CTX_VALUE_MAX 64

struct log_ctx {
	char v[LOG_CTX_NFIELDS][LOG_CTX_VALUE_MAX];
};

/* value NULL or "" clears the field. */
void log_ctx_set(enum log_ctx_field field, const char *value);
void log_ctx_clear(void);
/* A copy of the calling thread's context. */
void log_ctx_get(struct log_ctx *out);
void log_ctx_push(struct log_ctx *saved, enum log_ctx_field field, const char *value);
void log_ctx_pop(const struct log_ctx *saved);
/* "party_id", "peer_id", "session_id", "correlation_id" (the order lines show them in). */
const char *log_ctx_field_name(enum log_ctx_field field);

/*
 * Extra fields for one line. Keys are C identifiers chosen by the caller
 * (constants, not user input); the reserved names ts, level, module and msg
 * and any key that is not [A-Za-z0-9_.-]+ are dropped. A field with the name
 * of a context field replaces the context's value for that line.
 */
enum log_field_type { LOG_FIELD_STR, LOG_FIELD_INT, LOG_FIELD_UINT, LOG_FIELD_BOOL, LOG_FIELD_KEY };

struct log_field {
	const char *key;
	enum log_field_type type;
	union {
		const char *s; /* NULL prints as "" */
		long long i;
		unsigned long long u;
		bool b;
		const uint8_t *pubkey; /* 32 bytes of a PUBLIC key: printed as its label */
	};
};

#define LOG_STR(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_STR, .s = (v) })
#define LOG_INT(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_INT, .i = (v) })
#define LOG_UINT(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_UINT, .u = (v) })
#define LOG_BOOL(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_BOOL, .b = (v) })
#define LOG_KEY(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_KEY, .pubkey = (v) })

bool log_enabled(enum log_level level);
/* msg is a fixed string (not a format): what varies goes into fields. */
void log_fields(enum log_level level, const char *module, const char *msg,
		const struct log_field *fields, size_t nfields);

/* log_kv(LOG_INFO, "ctl", "party created", LOG_STR("party_id", id), LOG_INT("peers", n)); */
#define log_kv(level, module, msg, ...)                                                    \
	do {                                                                               \
		if (log_enabled(level)) {                                                  \
			const struct log_field log_kv_fields_[] = { __VA_ARGS__ };         \
			log_fields(level, module, msg, log_kv_fields_,                     \
				   sizeof(log_kv_fields_) / sizeof(log_kv_fields_[0]));    \
		}                                                                          \
	} while (0)

/*
 * Timing of slow operations, on the monotonic clock (util/time.h):
 *	struct log_timer t = log_timer_start("db", "commit");
 *	...
 *	log_timer_end(&t, 100);
 * logs a warning "slow: commit" with elapsed_ms and threshold_ms when the
 * operation took longer than threshold_ms, and returns the elapsed ms.
 */
struct log_timer {
	const char *module;
	const char *what;
	uint64_t start_ns;
};

struct log_timer log_timer_start(const char *module, const char *what);
uint64_t log_timer_end(const struct log_timer *t, uint64_t threshold_ms);

#endif
