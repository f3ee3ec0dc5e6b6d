/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every traction binary does the same way: command-line arguments
 * (--config FILE, --help, --version), loading the configuration, signals
 * as a file descriptor the main loop polls, and the systemd notification
 * protocol (READY, WATCHDOG, RELOADING, STOPPING) when NOTIFY_SOCKET is set.
 */
#ifndef TRC_DAEMON_H
#define TRC_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "textout.h"

typedef struct {
	const char *name;     /* "traction-supplyd" */
	const char *summary;  /* one line for --help */
	/* its own sections of the file, NULL-terminated (NULL: none) */
	const trc_conf_section_t *const *config;
	/* another form of the command ("refusals [--config FILE]") and what
	 * it does, for --help and the manual page (NULL: none) */
	const char *also, *also_help;
} trc_daemon_info_t;

/* The names of the daemon set's sections of the file, separated by
 * blanks: those of its sample, deploy/traction.conf, which the build hands
 * to lib/daemon.c (tests/unit/test_config keeps the sample equal to what
 * the binaries declare). A daemon passes over those it does not read and
 * refuses any other section. */
extern const char trc_daemon_set_sections[];

/* Parses the arguments and loads the configuration (the shared sections,
 * info's own and the set's others: trc_config_init). Returns 0 to go on,
 * 1 when it printed --help or --version (exit 0), or a negative trc_err
 * after printing why on stderr (exit 1). *config_path is the file given (or
 * NULL); it points into argv. */
int trc_daemon_args(int argc, char **argv, const trc_daemon_info_t *info,
		    trc_config_t *cfg, const char **config_path);

/* daemon_help.c: the options every daemon takes (n of them), with their
 * help; --help; and, for the hidden --man WHAT, the manual page ("page")
 * or the keys of the shared or own sections ("shared", "own") as roff:
 * 0, or -1 for a WHAT it does not know. */
const trc_opt_t *trc_daemon_opts(size_t *n);
void trc_daemon_usage(const trc_daemon_info_t *info, FILE *out);
int trc_daemon_man(const trc_daemon_info_t *info, const trc_config_t *cfg, const char *what,
		   FILE *out);

/* What every daemon's main() does first: trc_daemon_args, the log as
 * log_name at the configured level, then trc_daemon_signals into *sigfd.
 * Returns 0 to go on, 1 when there is nothing more to do (exit 0), or a
 * negative trc_err having said why (exit 1). */
int trc_daemon_start(int argc, char **argv, const trc_daemon_info_t *info,
		     const char *log_name, trc_config_t *cfg, const char **config_path,
		     int *sigfd);

/* Blocks SIGINT, SIGTERM and SIGHUP in this thread (call before any thread
 * is made, so ZeroMQ's threads inherit it) and returns a signalfd that is
 * readable when one arrives; -1 on error. */
int trc_daemon_signals(void);

/* Reads one pending signal from the signalfd: its number, or 0. */
int trc_daemon_signal_read(int fd);
/* The same, and who sent it: the sender's real uid and pid (0 for the
 * kernel's own, e.g. a terminal's SIGINT). */
int trc_daemon_signal_from(int fd, unsigned *uid, int *pid);

/* systemd notifications; each does nothing without NOTIFY_SOCKET. */
void trc_daemon_ready(const char *status);
void trc_daemon_reloading(void);

/* SIGHUP, the same in every daemon: tells systemd, reads config_path
 * again (for the sections running was made for) and, if it is valid, sets
 * the log level from it and hands it to apply (may be NULL) for whatever
 * else the daemon takes on a reload; if not, logs why and keeps the
 * running configuration. Then READY again. */
void trc_daemon_reload(const trc_config_t *running, const char *config_path,
		       void (*apply)(void *ud, const trc_config_t *ncfg), void *ud);
void trc_daemon_stopping(void);
/* Pings the watchdog if half its interval has passed since the last ping;
 * call from every turn of the main loop, so a hung loop is restarted. */
void trc_daemon_watchdog(void);
/* The watchdog interval in ms (0: none), to bound the loop's poll timeout. */
int64_t trc_daemon_watchdog_ms(void);

/* state_dir/<name> into buf. */
int trc_daemon_state_path(const trc_config_t *cfg, const char *name, char *buf,
			  size_t len);

#endif
