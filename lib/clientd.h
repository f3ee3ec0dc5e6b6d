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
 * until the watchdog's next ping. (trc_hosted_t: hosted.h, which the
 * service runtime shares.)
 */
#ifndef TRC_CLIENTD_H
#define TRC_CLIENTD_H

#include "config.h"
#include "hosted.h"
#include "metrics.h"

#define TRC_CLIENTD_HOSTED TRC_HOSTED_MAX   /* hosted loops at most */

typedef struct trc_clientd trc_clientd_t;

typedef struct {
	const char *daemon;          /* "gatewayd": the log's name */
	const char *program;         /* "traction-gatewayd" */
	const char *summary;         /* one line for --help */
	/* another form of the command and what it does, which main() serves
	 * before trc_clientd_main (trc_daemon_info_t; NULL: none) */
	const char *also, *also_help;
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
