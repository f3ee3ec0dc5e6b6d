/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-broker: main(). See broker.h.
 */
#include <unistd.h>

#include "broker.h"
#include "daemon.h"
#include "error.h"
#include "log.h"

int main(int argc, char **argv)
{
	static const trc_daemon_info_t info = {
		"traction-broker",
		"Routes requests between traction clients and services, relays events.",
		trc_broker_config,
		NULL,
		NULL,
	};
	trc_config_t cfg;
	const char *config_path = NULL;
	int rc = trc_daemon_args(argc, argv, &info, &cfg, &config_path);
	if (rc != 0)
		return rc > 0 ? 0 : 1;
	trc_log_init("broker", (trc_log_level_t)cfg.log_level);
	int sigfd = trc_daemon_signals();
	if (sigfd < 0) {
		trc_err("cannot set up signal handling");
		return 1;
	}
	trc_broker_t *b = NULL;
	rc = trc_broker_new(&b, &cfg);
	if (rc != 0) {
		trc_err("cannot start: %s", trc_strerror(rc));
		close(sigfd);
		return 1;
	}
	trc_info("started pid=%d", (int)getpid());
	trc_daemon_ready("routing");
	rc = trc_broker_run(b, sigfd, config_path);
	trc_daemon_stopping();
	trc_broker_destroy(&b);
	close(sigfd);
	trc_info("stopped");
	return rc == 0 ? 0 : 1;
}
