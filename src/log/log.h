/*
 * log: leveled logging to stderr (or syslog-free file descriptors) with a
 * module tag. Messages never carry key material: callers log public keys in
 * shortened base64 via log_key() and never pass private or session keys.
 */
#ifndef LR_LOG_H
#define LR_LOG_H

#include <stdint.h>

enum log_level { LOG_SILENT = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "silent", "error", "warn", "info", "verbose", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Short, non-secret label for a public key: first 8 base64 chars + "…". buf >= 16. */
const char *log_key(char buf[16], const uint8_t key[32]);

#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                                  \
	do {                                                 \
		if (log_get_level() >= LOG_DEBUG)            \
			log_msg(LOG_DEBUG, mod, __VA_ARGS__); \
	} while (0)

#endif
