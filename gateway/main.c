/*
 * traction-gatewayd: main(). The life of a client daemon (docs/http.md):
 * the one config file, logging, signals, sd_notify and the watchdog as the
 * other daemons have them; the HTTP server runs on its own threads, the
 * main thread waits for signals (SIGHUP: log level and the users' tokens
 * again) and pings systemd's watchdog.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"
#include "gateway.h"
#include "log.h"
#include "util.h"

/* The base URL for port = 0 (tests, run-local.sh), written atomically. */
static int s_write_address(const trc_config_t *cfg, unsigned port)
{
	if (gw_conf(cfg)->address_file[0] == '\0')
		return 0;
	char tmp[TRC_CONFIG_PATH + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", gw_conf(cfg)->address_file);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s://%s:%u\n", gw_conf(cfg)->tls_cert_file[0] != '\0' ? "https" : "http",
		gw_conf(cfg)->address, port);
	if (fclose(f) != 0 || rename(tmp, gw_conf(cfg)->address_file) != 0)
		return -1;
	return 0;
}

/* SIGHUP: the users' tokens again (a bad keys_dir keeps those in force). */
static void s_reload(void *ud, const trc_config_t *ncfg)
{
	const trc_config_t *cfg = ud;
	(void)ncfg; /* keys_dir is read at start; the files in it now */
	if (gw_conf(cfg)->auth)
		gw_auth_load(cfg);
}

int main(int argc, char **argv)
{
	static const trc_daemon_info_t info = {
		"traction-gatewayd",
		"The HTTP/JSON API of traction: REST, feedback and events for systems without ZeroMQ.",
		gw_config,
	};
	trc_config_t cfg;
	const char *config_path = NULL;
	int rc = trc_daemon_args(argc, argv, &info, &cfg, &config_path);
	if (rc != 0)
		return rc > 0 ? 0 : 1;
	trc_log_init("gatewayd", (trc_log_level_t)cfg.log_level);
	int sigfd = trc_daemon_signals();
	if (sigfd < 0) {
		trc_err("cannot set up signal handling");
		return 1;
	}
	if (gw_conf(&cfg)->auth && gw_auth_load(&cfg) != 0) {
		trc_err("cannot start: [gateway] auth = 1 needs the users of keys_dir (%s)",
			cfg.keys_dir);
		close(sigfd);
		return 1;
	}
	gw_server_t *srv = NULL;
	if (gw_server_start(&srv, &cfg) != 0) {
		gw_auth_free();
		close(sigfd);
		return 1;
	}
	if (s_write_address(&cfg, gw_server_port(srv)) != 0)
		trc_warn("cannot write %s", gw_conf(&cfg)->address_file);
	trc_info("started pid=%d %s://%s:%u broker=%s auth=%s", (int)getpid(),
		 gw_conf(&cfg)->tls_cert_file[0] != '\0' ? "https" : "http", gw_conf(&cfg)->address,
		 gw_server_port(srv), cfg.client_endpoint,
		 gw_conf(&cfg)->auth ? "tokens" : "none");
	trc_daemon_ready("serving HTTP");
	for (bool stop = false; !stop;) {
		int64_t wd = trc_daemon_watchdog_ms();
		struct pollfd pfd = { sigfd, POLLIN, 0 };
		int n = poll(&pfd, 1, wd > 0 ? (int)(wd / 2) : -1);
		trc_daemon_watchdog();
		if (n <= 0)
			continue;
		int sig = trc_daemon_signal_read(sigfd);
		if (sig == SIGINT || sig == SIGTERM) {
			trc_info("signal %d: stopping", sig);
			stop = true;
		} else if (sig == SIGHUP) {
			trc_daemon_reload(&cfg, config_path, s_reload, &cfg);
		}
	}
	trc_daemon_stopping();
	__atomic_store_n(&gw_stopping, 1, __ATOMIC_RELAXED);
	gw_server_stop(&srv);
	gw_auth_free();
	close(sigfd);
	trc_info("stopped");
	return 0;
}
