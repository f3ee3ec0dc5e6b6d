/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client daemon runtime: its life (new, run, destroy, main) and its
 * poll loop over the signals, a stop eventfd and the hosted loops. See
 * clientd.h.
 */
#include "clientd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"
#include "log.h"
#include "util.h"

struct trc_clientd {
	const trc_clientd_def_t *def;
	trc_config_t cfg;
	int stop_fd;                              /* eventfd: trc_clientd_stop */
	trc_hosts_t hosts;                        /* the loops it hosts */
	trc_metrics_t *metrics;                   /* NULL: [metrics] base_port 0 */
};

int trc_clientd_new(trc_clientd_t **cd_p, const trc_clientd_def_t *def,
		    const trc_config_t *cfg)
{
	trc_clientd_t *cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return TRC_ENOMEM;
	cd->def = def;
	cd->cfg = *cfg;
	cd->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cd->stop_fd < 0) {
		int rc = trc_err_from_errno(errno);
		free(cd);
		return rc;
	}
	if (cfg->metrics_base_port != 0) {
		unsigned port = cfg->metrics_base_port + def->metrics_offset;
		cd->metrics = trc_metrics_new(def->program, TRACTION_VERSION);
		/* metrics are not worth stopping the daemon for: said, and left out */
		if (cd->metrics == NULL ||
		    trc_metrics_listen(cd->metrics, cfg->metrics_address, port) != 0)
			trc_err("metrics: no listener on %s:%u; this daemon runs without one",
				cfg->metrics_address, port);
	}
	*cd_p = cd;
	return 0;
}

trc_metrics_t *trc_clientd_metrics(trc_clientd_t *cd)
{
	return cd->metrics;
}

void trc_clientd_destroy(trc_clientd_t **cd_p)
{
	if (cd_p == NULL || *cd_p == NULL)
		return;
	trc_metrics_destroy(&(*cd_p)->metrics);
	close((*cd_p)->stop_fd);
	free(*cd_p);
	*cd_p = NULL;
}

const trc_config_t *trc_clientd_config(const trc_clientd_t *cd)
{
	return &cd->cfg;
}

int trc_clientd_host(trc_clientd_t *cd, const trc_hosted_t *h)
{
	return trc_hosts_add(&cd->hosts, h);
}

void trc_clientd_stop(trc_clientd_t *cd)
{
	uint64_t one = 1;
	if (write(cd->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		trc_warn("cannot wake the loop to stop: %s", strerror(errno));
}

/* What a client daemon takes from a reloaded configuration: the log level
 * (trc_daemon_reload sets it), and whatever its reload hook takes. */
static void s_reload(void *ud, const trc_config_t *ncfg)
{
	trc_clientd_t *cd = ud;
	cd->cfg.log_level = ncfg->log_level;
	if (cd->def->reload != NULL)
		cd->def->reload(cd->def->user, ncfg);
}

/* The poll timeout: the nearest hosted loop's turn, or the watchdog's
 * next ping; -1: nothing to wake for but an fd. */
static int s_timeout(trc_clientd_t *cd)
{
	int64_t now = trc_mono_ms(), next = trc_hosts_next(&cd->hosts, now);
	int64_t wd = trc_daemon_watchdog_ms();
	if (wd > 0 && (next < 0 || now + wd / 2 < next))
		next = now + wd / 2;
	if (next < 0)
		return -1;
	return next > now ? (int)(next - now < INT32_MAX ? next - now : INT32_MAX) : 0;
}

/* One turn: wait, then the signal, a stop, and each hosted loop whose fd
 * is ready or whose time has come. Sets *stop to end the loop. */
static int s_turn(trc_clientd_t *cd, int sigfd, const char *config_path, bool *stop)
{
	struct pollfd pfd[2 + TRC_CLIENTD_HOSTED] = {
		{ sigfd, POLLIN, 0 },
		{ cd->stop_fd, POLLIN, 0 },
	};
	for (size_t i = 0; i < cd->hosts.n; i++)
		pfd[2 + i] = (struct pollfd){ cd->hosts.h[i].fd, cd->hosts.h[i].events, 0 };
	if (poll(pfd, 2 + cd->hosts.n, s_timeout(cd)) < 0 && errno != EINTR) {
		trc_err("poll failed: %s", strerror(errno));
		return TRC_EIO;
	}
	trc_daemon_watchdog();
	if (pfd[0].revents & POLLIN) {
		int sig = trc_daemon_signal_read(sigfd);
		if (sig == SIGINT || sig == SIGTERM) {
			trc_info("signal %d: stopping", sig);
			*stop = true;
		} else if (sig == SIGHUP) {
			trc_daemon_reload(&cd->cfg, config_path, s_reload, cd);
		}
	}
	if (pfd[1].revents & POLLIN)
		*stop = true;
	short rev[TRC_HOSTED_MAX];
	for (size_t i = 0; i < cd->hosts.n; i++)
		rev[i] = pfd[2 + i].revents;
	if (!*stop)
		trc_hosts_run(&cd->hosts, rev, trc_mono_ms());
	return 0;
}

int trc_clientd_run(trc_clientd_t *cd, int sigfd, const char *config_path)
{
	const trc_clientd_def_t *def = cd->def;
	if (def->start != NULL && def->start(cd, def->user) != 0)
		return TRC_EINVAL;
	trc_daemon_ready("serving");
	int rc = 0;
	for (bool stop = false; !stop && rc == 0;)
		rc = s_turn(cd, sigfd, config_path, &stop);
	trc_daemon_stopping();
	if (def->stop != NULL)
		def->stop(def->user);
	return rc;
}

int trc_clientd_main(int argc, char **argv, const trc_clientd_def_t *def)
{
	trc_daemon_info_t info = { def->program, def->summary, def->config, def->also,
				   def->also_help };
	trc_config_t *cfg = malloc(sizeof(*cfg)); /* large: its sections' paths */
	const char *config_path = NULL;
	int sigfd = -1;
	int rc = cfg == NULL ? TRC_ENOMEM
			     : trc_daemon_start(argc, argv, &info, def->daemon, cfg, &config_path,
						&sigfd);
	trc_clientd_t *cd = NULL;
	if (rc == 0 && (rc = trc_clientd_new(&cd, def, cfg)) != 0)
		trc_err("cannot start: %s", trc_strerror(rc));
	if (rc == 0) {
		trc_info("started pid=%d broker=%s", (int)getpid(), cfg->client_endpoint);
		rc = trc_clientd_run(cd, sigfd, config_path);
		trc_info("stopped");
	}
	trc_clientd_destroy(&cd);
	if (sigfd >= 0)
		close(sigfd);
	free(cfg);
	return rc == 0 ? 0 : rc > 0 ? 0 : 1;
}
