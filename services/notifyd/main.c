/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-notifyd: webhook delivery of alerts (service "notify"). It
 * consumes feedback's events and POSTs each alert.fired and
 * alert.resolved to the webhooks that want it. See notifyd.h.
 */
#include "notifyd.h"

static nt_state_t s_state = { .wake_fd = -1 };

int main(int argc, char **argv)
{
	static trc_service_table_t services[1];
	services[0] = (trc_service_table_t){ "notify", notifyd_methods, notifyd_n_methods,
					     &traction__v1__notify_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "notifyd",
		.program = "traction-notifyd",
		.metrics_offset = 7,
		.summary = "Webhook delivery of alerts: signed HTTP POSTs from a durable queue.",
		.services = services,
		.n_services = 1,
		.dbs = &notifyd_dbs,
		.schema_version = NT_SCHEMA_VERSION,
		.consumes = notifyd_consumes,
		.apply_event = notifyd_apply,
		.tick = notifyd_tick,
		.tick_ms = 100,
		.tick_fd = notifyd_tick_fd,
		.batch_done = nt_batch_done,
		.config = notifyd_config,
		.open = notifyd_open,
		.close = notifyd_close,
		.metrics = notifyd_metrics,
		.user = &s_state,
	};
	return trc_service_main(argc, argv, &def);
}
