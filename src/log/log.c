/* log: leveled stderr logging with timestamps; see log.h for the secrecy rule. */
#include "log/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static enum log_level log_level = LOG_ERROR;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
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

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	static const char *const tags[] = { "", "ERROR", "WARN", "INFO", "DEBUG" };
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (level > log_level || level == LOG_SILENT)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s %s: ", when, ts.tv_nsec / 1000000, tags[level], module);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

const char *log_key(char buf[16], const uint8_t key[32])
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, 16, "%.8s...", b64);
	return buf;
}
