/*
 * log: level, format and fd (process-wide, atomic), the per-thread context, and
 * the one place a line is written. See log.h for the formats and the secrecy rule.
 *
 * Invariants: a line is rendered whole into memory and written with one write()
 * (continued only after a partial write); the caller's errno is preserved, so
 * `log_error(...); return -errno;` stays correct. The log file (log_open_file)
 * gets the same line under log_file.lock, which also orders its rotation, so a
 * line never straddles two files.
 */
#include "log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log/log_internal.h"
#include "util/time.h"

static atomic_int log_level_cur = LOG_ERROR;
static atomic_int log_format_cur = LOG_FORMAT_TEXT;
static atomic_int log_fd_cur = STDERR_FILENO;
/* The optional copy of every line in a file; fd, size and path under lock.
 * active lets lines skip the lock when there is no file. */
static struct {
	pthread_mutex_t lock;
	atomic_bool active;
	int fd;
	size_t size, max;
	char *path;
} log_file = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };
/* Each thread's IDs; only that thread reads or writes its copy. */
static __thread struct log_ctx log_tls_ctx;

static const char *const log_level_names[] = { "silent", "error", "warn", "info", "debug" };
static const char *const log_ctx_names[LOG_CTX_NFIELDS] = {
	[LOG_CTX_PEER_ID] = "peer_id",
	[LOG_CTX_PARTY_ID] = "party_id",
	[LOG_CTX_SESSION_ID] = "session_id",
	[LOG_CTX_CORRELATION_ID] = "correlation_id",
};

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level_cur, level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&log_level_cur, memory_order_relaxed);
}

bool log_enabled(enum log_level level)
{
	return level != LOG_SILENT && level <= log_get_level();
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "silent", LOG_SILENT }, { "error", LOG_ERROR }, { "warn", LOG_WARN },
		{ "info", LOG_INFO },	  { "verbose", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(log_level_names) / sizeof(log_level_names[0]))
		return "?";
	return log_level_names[level];
}

void log_set_format(enum log_format format)
{
	atomic_store_explicit(&log_format_cur, format, memory_order_relaxed);
}

enum log_format log_get_format(void)
{
	return atomic_load_explicit(&log_format_cur, memory_order_relaxed);
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (!strcmp(s, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

void log_set_fd(int fd)
{
	atomic_store_explicit(&log_fd_cur, fd, memory_order_relaxed);
}

int log_get_fd(void)
{
	return atomic_load_explicit(&log_fd_cur, memory_order_relaxed);
}

void log_ctx_set(enum log_ctx_field field, const char *value)
{
	if ((unsigned)field >= LOG_CTX_NFIELDS)
		return;
	snprintf(log_tls_ctx.v[field], LOG_CTX_VALUE_MAX, "%s", value ? value : "");
}

void log_ctx_clear(void)
{
	memset(&log_tls_ctx, 0, sizeof(log_tls_ctx));
}

void log_ctx_get(struct log_ctx *out)
{
	*out = log_tls_ctx;
}

void log_ctx_push(struct log_ctx *saved, enum log_ctx_field field, const char *value)
{
	*saved = log_tls_ctx;
	log_ctx_set(field, value);
}

void log_ctx_pop(const struct log_ctx *saved)
{
	log_tls_ctx = *saved;
}

const char *log_ctx_field_name(enum log_ctx_field field)
{
	return (unsigned)field < LOG_CTX_NFIELDS ? log_ctx_names[field] : "?";
}

/* One write(); a pipe or O_APPEND file gets the line whole. Failures drop the line:
 * there is nowhere left to report them. */
static void log_write_fd(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static int log_file_reopen(int flags)
{
	int fd = open(log_file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags,
		      0600);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600))) {
		close(fd);
		return -EINVAL;
	}
	if (log_file.fd >= 0)
		close(log_file.fd);
	log_file.fd = fd;
	log_file.size = (size_t)st.st_size;
	return 0;
}

/* path -> path.1 and a fresh file. Lock held. On failure the old file goes on
 * growing: losing lines would be worse than a big file. */
static void log_file_rotate(void)
{
	char old[4200];

	snprintf(old, sizeof(old), "%s.1", log_file.path);
	if (rename(log_file.path, old) == 0)
		log_file_reopen(O_TRUNC);
}

static void log_write(const char *buf, size_t len)
{
	log_write_fd(log_get_fd(), buf, len);
	if (!atomic_load_explicit(&log_file.active, memory_order_acquire))
		return;
	pthread_mutex_lock(&log_file.lock);
	if (log_file.fd >= 0) {
		if (log_file.size && log_file.size + len > log_file.max)
			log_file_rotate();
		log_write_fd(log_file.fd, buf, len);
		log_file.size += len;
	}
	pthread_mutex_unlock(&log_file.lock);
}

int log_open_file(const char *path, size_t max_bytes)
{
	char *copy = strdup(path);
	int r;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&log_file.lock);
	free(log_file.path);
	log_file.path = copy;
	log_file.max = max_bytes;
	r = log_file_reopen(0);
	if (r && log_file.fd >= 0) {
		close(log_file.fd);
		log_file.fd = -1;
	}
	atomic_store_explicit(&log_file.active, r == 0, memory_order_release);
	pthread_mutex_unlock(&log_file.lock);
	if (r)
		log_warn("log", "cannot write the log file %s: %s", path, strerror(-r));
	return r;
}

void log_close_file(void)
{
	pthread_mutex_lock(&log_file.lock);
	atomic_store_explicit(&log_file.active, false, memory_order_release);
	if (log_file.fd >= 0)
		close(log_file.fd);
	log_file.fd = -1;
	free(log_file.path);
	log_file.path = NULL;
	pthread_mutex_unlock(&log_file.lock);
}

static void log_emit(enum log_level level, const char *module, const char *msg,
		     const struct log_field *fields, size_t nfields)
{
	struct log_entry e = {
		.level = level,
		.module = module ? module : "-",
		.msg = msg ? msg : "",
		.fields = fields,
		.nfields = nfields,
		.ctx = &log_tls_ctx,
	};

	time_wall(&e.sec, &e.nsec);
	if (log_get_format() == LOG_FORMAT_JSON) {
		size_t len;
		char *line = log_render_json(&e, &len);

		if (line)
			log_write(line, len);
		free(line);
	} else {
		char line[LOG_LINE_MAX];

		log_write(line, log_render_text(&e, line, sizeof(line)));
	}
}

void log_fields(enum log_level level, const char *module, const char *msg,
		const struct log_field *fields, size_t nfields)
{
	int saved_errno = errno;

	if (log_enabled(level))
		log_emit(level, module, msg, fields, nfields);
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[LOG_LINE_MAX / 2];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unprintable message)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	log_emit(level, module, msg, NULL, 0);
	errno = saved_errno;
}

const char *log_key(char buf[16], const uint8_t key[32])
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, 16, "%.8s...", b64);
	return buf;
}

struct log_timer log_timer_start(const char *module, const char *what)
{
	return (struct log_timer){ .module = module, .what = what, .start_ns = time_mono_ns() };
}

uint64_t log_timer_end(const struct log_timer *t, uint64_t threshold_ms)
{
	uint64_t now = time_mono_ns();
	uint64_t elapsed_ms = now > t->start_ns ? (now - t->start_ns) / TIME_NS_PER_MS : 0;

	if (elapsed_ms > threshold_ms)
		log_kv(LOG_WARN, t->module, "slow operation", LOG_STR("op", t->what),
		       LOG_UINT("elapsed_ms", elapsed_ms), LOG_UINT("threshold_ms", threshold_ms));
	return elapsed_ms;
}
