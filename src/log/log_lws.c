/*
 * log_lws: libwebsockets' own log lines, routed into ours at debug level.
 *
 * Why debug: every program that uses lws (control server, relay, daemon, CLI)
 * already says what failed in its own words, once, where it decides; lws's
 * lines ("ERROR on binding fd ...", "init server failed") repeat that on
 * stderr in another format. At debug level they help find the cause.
 *
 * lws keeps its level and emitter in process-wide globals, so the setup runs
 * once per process whichever thread asks first. The mask stays on and the
 * emitter checks our level on each line, so a level changed at run time
 * applies to lws too; lws only formats the few lines of these classes.
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <string.h>

#include "log/log.h"

static pthread_once_t log_lws_once = PTHREAD_ONCE_INIT;

static const char *log_lws_level_name(int level)
{
	if (level & LLL_ERR)
		return "error";
	if (level & LLL_WARN)
		return "warn";
	return "notice";
}

static void log_lws_emit(int level, const char *line)
{
	size_t n;

	if (!log_enabled(LOG_DEBUG))
		return;
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(LOG_DEBUG, "lws", "%s: %.*s", log_lws_level_name(level), (int)n, line);
}

static void log_lws_init(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, log_lws_emit);
}

void log_lws_setup(void)
{
	pthread_once(&log_lws_once, log_lws_init);
}
