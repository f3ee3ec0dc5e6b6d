/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-gatewayd: main(). A client daemon (lib/clientd.h): the one
 * config file, logging, signals, sd_notify and the watchdog as the other
 * daemons have them; the HTTP server runs on its own threads (docs/http.md),
 * the main thread runs lib's loop (SIGHUP: log level and the users' tokens
 * again).
 */
#include <stdio.h>
#include <unistd.h>

#include "clientd.h"
#include "error.h"
#include "gateway.h"
#include "log.h"
#include "util.h"

static struct {
	const trc_config_t *cfg;
	gw_server_t *srv;
} s_gw;

/* The base URL for port = 0 (tests, run-local.sh), written atomically. */
static int s_write_address(const gw_conf_t *gc, unsigned port)
{
	if (gc->address_file[0] == '\0')
		return 0;
	char url[TRC_CONFIG_STR + 32];
	snprintf(url, sizeof(url), "%s://%s:%u\n", gc->tls_cert_file[0] != '\0' ? "https" : "http",
		 gc->address, port);
	return trc_write_file_atomic(gc->address_file, url);
}

static int s_start(trc_clientd_t *cd, void *user)
{
	(void)user;
	const trc_config_t *cfg = s_gw.cfg = trc_clientd_config(cd);
	const gw_conf_t *gc = gw_conf(cfg);
	if (gc->auth && gw_auth_load(cfg) != 0) {
		trc_err("cannot start: [gateway] auth = 1 needs the users of keys_dir (%s)",
			cfg->keys_dir);
		return -1;
	}
	gw_http_metrics(trc_clientd_metrics(cd));
	if (gw_server_start(&s_gw.srv, cfg) != 0) {
		gw_auth_free();
		return -1;
	}
	unsigned port = gw_server_port(s_gw.srv);
	if (s_write_address(gc, port) != 0)
		trc_warn("cannot write %s", gc->address_file);
	trc_info("serving %s://%s:%u auth=%s", gc->tls_cert_file[0] != '\0' ? "https" : "http",
		 gc->address, port, gc->auth ? "tokens" : "none");
	return 0;
}

/* SIGHUP: the users' tokens again (a bad keys_dir keeps those in force). */
static void s_reload(void *user, const trc_config_t *ncfg)
{
	(void)user;
	(void)ncfg; /* keys_dir is read at start; the files in it now */
	if (gw_conf(s_gw.cfg)->auth)
		gw_auth_load(s_gw.cfg);
}

static void s_stop(void *user)
{
	(void)user;
	__atomic_store_n(&gw_stopping, 1, __ATOMIC_RELAXED);
	gw_server_stop(&s_gw.srv);
	gw_auth_free();
}

int main(int argc, char **argv)
{
	static const trc_clientd_def_t def = {
		.daemon = "gatewayd",
		.program = "traction-gatewayd",
		.metrics_offset = 5,
		.summary = "The HTTP/JSON API of traction: REST, feedback and events for systems "
			   "without ZeroMQ.",
		.config = gw_config,
		.start = s_start,
		.reload = s_reload,
		.stop = s_stop,
	};
	return trc_clientd_main(argc, argv, &def);
}
