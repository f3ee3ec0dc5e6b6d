/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime of a client daemon: a daemon of the set that is a client of
 * the bus, not a service (traction-gatewayd, the MQTT daemon to come). It
 * lives as a service daemon does, without being one: the config file (the
 * shared sections and its own), logging, signals (SIGTERM and SIGINT stop
 * it, SIGHUP reloads through trc_daemon_reload), sd_notify READY and
 * STOPPING, and the watchdog pinged from its loop; no store, no
 * registration with the broker, no events of its own.
 *
 * Its main thread runs a poll loop over the signals and what the daemon
 * hosts there: another library's event loop, given as an fd and a timeout
 * (libuv: uv_backend_fd and uv_backend_timeout, and uv_run(UV_RUN_NOWAIT)
 * as its turn). A hosted loop gets a turn when its fd is ready or its
 * timeout is due, never otherwise: an idle daemon sleeps until then, or
 * until the watchdog's next ping.
 */
#ifndef TRC_CLIENTD_H
#define TRC_CLIENTD_H

#include "config.h"
#include "metrics.h"

#define TRC_CLIENTD_HOSTED 8   /* hosted loops at most */

typedef struct trc_clientd trc_clientd_t;

/* Another library's event loop, in ours. */
typedef struct {
	int fd;             /* polled for events (e.g. uv_backend_fd); -1: none */
	short events;       /* POLLIN, POLLOUT */
	/* Asked before every wait: ms until it needs a turn whether or not
	 * its fd is ready, -1 for only when it is (uv_backend_timeout). May
	 * be NULL: -1. */
	int (*timeout)(void *ud);
	/* Its turn (uv_run(loop, UV_RUN_NOWAIT)): revents of its fd, 0 when
	 * its timeout came. */
	void (*run)(void *ud, short revents);
	void *ud;
} trc_hosted_t;

typedef struct {
	const char *daemon;          /* "gatewayd": the log's name */
	const char *program;         /* "traction-gatewayd" */
	const char *summary;         /* one line for --help */
	/* Its metrics listener's port: [metrics] base_port plus this (one
	 * offset a daemon of the set: docs/operations.md). */
	unsigned metrics_offset;
	/* Its own sections of the config file (NULL-terminated; may be NULL):
	 * their values through trc_config_section(trc_clientd_config(cd)). */
	const trc_conf_section_t *const *config;
	/* Starts serving, before READY: listeners, threads, trc_clientd_host.
	 * Non-zero (having logged why, and undone what it did): the daemon
	 * exits 1. May be NULL. */
	int (*start)(trc_clientd_t *cd, void *user);
	/* SIGHUP with a valid file, after the log level: what else it takes
	 * from ncfg. May be NULL. */
	void (*reload)(void *user, const trc_config_t *ncfg);
	/* After STOPPING was sent: stop serving, free what start made. May be
	 * NULL. */
	void (*stop)(void *user);
	void *user;
} trc_clientd_def_t;

/* The whole main() of a client daemon. */
int trc_clientd_main(int argc, char **argv, const trc_clientd_def_t *def);

/* Its parts, for a main() of its own and for tests: cfg is copied (made
 * for def->config). */
int trc_clientd_new(trc_clientd_t **cd_p, const trc_clientd_def_t *def,
		    const trc_config_t *cfg);
void trc_clientd_destroy(trc_clientd_t **cd_p);
const trc_config_t *trc_clientd_config(const trc_clientd_t *cd);
/* Its metrics registry, for the daemon's own series (NULL: no metrics;
 * series made on NULL are NULL, and counting on them does nothing). */
trc_metrics_t *trc_clientd_metrics(trc_clientd_t *cd);

/* Hosts h in the loop (from start, or before run): TRC_EINVAL without a
 * run or with more than TRC_CLIENTD_HOSTED. */
int trc_clientd_host(trc_clientd_t *cd, const trc_hosted_t *h);

/* Starts (def->start), says READY, loops until a stop signal or
 * trc_clientd_stop, says STOPPING and stops (def->stop). config_path is
 * read again on SIGHUP. 0, or the error that ended it. */
int trc_clientd_run(trc_clientd_t *cd, int sigfd, const char *config_path);

/* Ends the loop at its next turn, as SIGTERM does; from any thread. */
void trc_clientd_stop(trc_clientd_t *cd);

#endif
