/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-supplyd: the supply registry: providers, supplies, capabilities
 * and versions (service "supply"; events provider.* and supply.*).
 *
 * Its handlers live in this folder; the runtime in lib/service.c does the
 * sockets, group commit and events.
 */
#include "supplyd.h"

int main(int argc, char **argv)
{
	static trc_service_table_t services[1];
	services[0] = (trc_service_table_t){ "supply", supplyd_methods, supplyd_n_methods,
					     &traction__v1__supply_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "supplyd",
		.program = "traction-supplyd",
		.metrics_offset = 1,
		.summary = "The supply registry: providers, supplies, capabilities and versions.",
		.event_source = "supply",
		.event_topics = supplyd_event_topics,
		.event_keys = supplyd_event_keys,
		.services = services,
		.n_services = 1,
		.dbs = &supplyd_dbs,
		.schema_version = 1,
	};
	return trc_service_main(argc, argv, &def);
}
