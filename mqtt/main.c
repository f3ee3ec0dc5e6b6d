/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd: main(). A client daemon (lib/clientd.h): the one config
 * file, logging, signals, sd_notify and the watchdog as the other daemons
 * have them; its epoll loop hosted in lib's (mqttd.h). SIGHUP: the log
 * level and the users again.
 *
 *   traction-mqttd [--config FILE]            the daemon
 *   traction-mqttd refusals [--config FILE]   the records refused for good,
 *                                             one JSON object a line
 */
#include <stdio.h>
#include <string.h>

#include "clientd.h"
#include "error.h"
#include "log.h"
#include "util.h"
#include "mqttd.h"

static struct {
	mqd_server_t *srv;
} s_m;

static int s_timeout(void *ud)
{
	return mqd_server_timeout(ud);
}

static void s_run(void *ud, short revents)
{
	(void)revents;
	mqd_server_turn(ud);
	mqd_metrics_turn(ud);
}

/* ADDRESS:PORT, and a second line "tls ADDRESS:PORT" with TLS. */
static int s_write_address(const mqd_conf_t *mc, unsigned port, unsigned tls_port)
{
	if (mc->address_file[0] == '\0')
		return 0;
	char addr[2 * TRC_CONFIG_STR + 40];
	int n = snprintf(addr, sizeof(addr), "%s:%u\n", mc->address, port);
	if (tls_port != 0)
		snprintf(addr + n, sizeof(addr) - (size_t)n, "tls %s:%u\n", mc->tls_address, tls_port);
	return trc_write_file_atomic(mc->address_file, addr);
}

static int s_start(trc_clientd_t *cd, void *user)
{
	(void)user;
	const trc_config_t *cfg = trc_clientd_config(cd);
	const mqd_conf_t *mc = mqd_conf(cfg);
	if (mqd_server_start(&s_m.srv, cfg) != 0) {
		mqd_server_stop(&s_m.srv);
		return -1;
	}
	mqd_metrics_open(trc_clientd_metrics(cd));
	trc_hosted_t h = { .fd = mqd_server_fd(s_m.srv), .events = 0x001 /* POLLIN */,
			   .timeout = s_timeout, .run = s_run, .ud = s_m.srv };
	if (trc_clientd_host(cd, &h) != 0) {
		mqd_server_stop(&s_m.srv);
		return -1;
	}
	unsigned port = mqd_server_port(s_m.srv, false), tls = mqd_server_port(s_m.srv, true);
	if (s_write_address(mc, port, tls) != 0)
		trc_warn("cannot write %s", mc->address_file);
	trc_info("serving mqtt://%s:%u auth=%s", mc->address, port, mc->auth ? "users" : "none");
	if (tls != 0)
		trc_info("serving mqtts://%s:%u client certificates=%s", mc->tls_address, tls,
			 mc->tls_ca_file[0] == '\0' ? "no" : mc->tls_client_cert ? "required" : "optional");
	return 0;
}

static void s_reload(void *user, const trc_config_t *ncfg)
{
	(void)user;
	(void)ncfg; /* keys_dir is read at start; the files in it now */
	mqd_server_reload(s_m.srv);
}

static void s_stop(void *user)
{
	(void)user;
	mqd_server_stop(&s_m.srv);
}

/* `refusals`: the store read beside the running daemon (LMDB allows it). */
static int s_refusals(int argc, char **argv)
{
	static trc_config_t cfg;
	char err[512], dir[TRC_CONFIG_PATH + TRC_CONFIG_STR + 2];
	if (trc_config_init(&cfg, mqd_config, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "traction-mqttd: %s\n", err);
		return 1;
	}
	cfg.others = NULL;
	if (argc == 4 && (strcmp(argv[2], "--config") == 0 || strcmp(argv[2], "-c") == 0)) {
		if (trc_config_read(&cfg, argv[3], err, sizeof(err)) != 0) {
			fprintf(stderr, "traction-mqttd: %s\n", err);
			return 1;
		}
	} else if (argc != 2) {
		fprintf(stderr, "usage: traction-mqttd refusals [--config FILE]\n");
		return 2;
	}
	const mqd_conf_t *mc = mqd_conf(&cfg);
	snprintf(dir, sizeof(dir), "%s/%s", cfg.state_dir, mc->state_subdir);
	mqd_store_t *st = NULL;
	int rc = mqd_store_open(&st, dir, (size_t)mc->map_size_mb << 20);
	if (rc == 0)
		rc = mqd_refusals_print(st, stdout);
	mqd_store_destroy(&st);
	if (rc != 0)
		fprintf(stderr, "traction-mqttd: %s: %s\n", dir, trc_strerror(rc));
	return rc != 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const trc_clientd_def_t def = {
		.daemon = "mqttd",
		.program = "traction-mqttd",
		.metrics_offset = 6,
		.summary = "MQTT 3.1.1 and 5.0 ingest of feedback: PUBACK once the record is on "
			   "disk, QoS 2 exactly once (docs/mqtt.md).",
		.also = "refusals [--config FILE]",
		.also_help = "print the records refused for good, one JSON object a line, read "
			     "from the store beside the running daemon, and exit",
		.config = mqd_config,
		.start = s_start,
		.reload = s_reload,
		.stop = s_stop,
	};
	if (argc >= 2 && strcmp(argv[1], "refusals") == 0)
		return s_refusals(argc, argv);
	return trc_clientd_main(argc, argv, &def);
}
