/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event, to stderr, with the ids a reader needs
 * ("client=... request=... supply=..."). When stderr is the journal
 * (JOURNAL_STREAM names it) each line starts with a syslog priority prefix
 * "<N>" so journald keeps the level; otherwise with a UTC timestamp.
 *
 * The level is checked before the message is formatted, so a debug line
 * in a hot path costs one comparison when debug is off.
 */
#ifndef TRC_LOG_H
#define TRC_LOG_H

#include <stdbool.h>

typedef enum {
	TRC_LOG_ERR = 3,
	TRC_LOG_WARNING = 4,
	TRC_LOG_NOTICE = 5,
	TRC_LOG_INFO = 6,
	TRC_LOG_DEBUG = 7,
} trc_log_level_t;

extern trc_log_level_t trc_log_level_;

/* Name shown at the start of each line ("broker", "supplyd"). */
void trc_log_init(const char *ident, trc_log_level_t level);
void trc_log_set_level(trc_log_level_t level);

/* "error", "warning", "notice", "info", "debug" -> level; -1 if unknown. */
int trc_log_level_parse(const char *name);

void trc_log_write(trc_log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define trc_log(level, ...) \
	do { \
		if ((level) <= trc_log_level_) \
			trc_log_write((level), __VA_ARGS__); \
	} while (0)

#define trc_err(...) trc_log(TRC_LOG_ERR, __VA_ARGS__)
#define trc_warn(...) trc_log(TRC_LOG_WARNING, __VA_ARGS__)
#define trc_notice(...) trc_log(TRC_LOG_NOTICE, __VA_ARGS__)
#define trc_info(...) trc_log(TRC_LOG_INFO, __VA_ARGS__)
#define trc_debug(...) trc_log(TRC_LOG_DEBUG, __VA_ARGS__)

#endif
