/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr, journald-aware. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

trc_log_level_t trc_log_level_ = TRC_LOG_INFO;

static char s_ident[32] = "traction";
static bool s_journal;

/* systemd sets JOURNAL_STREAM=dev:ino of the stream it connected stderr to;
 * if stderr is still that stream, the journal reads our "<N>" prefixes. */
static bool s_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(2, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void trc_log_init(const char *ident, trc_log_level_t level)
{
	snprintf(s_ident, sizeof(s_ident), "%s", ident);
	trc_log_level_ = level;
	s_journal = s_stderr_is_journal();
}

void trc_log_set_level(trc_log_level_t level)
{
	trc_log_level_ = level;
}

int trc_log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		trc_log_level_t level;
	} names[] = {
		{ "error", TRC_LOG_ERR }, { "warning", TRC_LOG_WARNING },
		{ "notice", TRC_LOG_NOTICE }, { "info", TRC_LOG_INFO },
		{ "debug", TRC_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

static const char *s_level_name(trc_log_level_t level)
{
	switch (level) {
	case TRC_LOG_ERR: return "error";
	case TRC_LOG_WARNING: return "warning";
	case TRC_LOG_NOTICE: return "notice";
	case TRC_LOG_INFO: return "info";
	case TRC_LOG_DEBUG: return "debug";
	}
	return "?";
}

void trc_log_write(trc_log_level_t level, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (s_journal) {
		n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, s_ident);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, s_ident,
			     s_level_name(level));
	}
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return;
	/* Messages quote names and ids that came from the wire: escaped, a
	 * newline in one cannot forge a line and a reader of the journal gets
	 * well-formed UTF-8 (trc_escape). */
	char msg[sizeof(line)];
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + trc_escape(line + n, sizeof(line) - 1 - (size_t)n, msg,
					    strnlen(msg, sizeof(msg)));
	/* One write per line keeps lines whole when several daemons share a tty. */
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}
