/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-scenariod: scenarios and their demands, supply-demand matching
 * and gaps (service "scenario"; events scenario.*). It consumes supply,
 * iteration and feedback events into its matching index.
 */
#include "scenariod.h"

int main(int argc, char **argv)
{
	static trc_service_table_t services[1];
	services[0] = (trc_service_table_t){ "scenario", scenariod_methods, scenariod_n_methods,
					     &traction__v1__scenario_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "scenariod",
		.program = "traction-scenariod",
		.metrics_offset = 2,
		.summary = "Scenarios and their demands, supply-demand matching and gaps.",
		.event_source = "scenario",
		.event_topics = scenariod_event_topics,
		.event_keys = scenariod_event_keys,
		.services = services,
		.n_services = 1,
		.dbs = &scenariod_dbs,
		.schema_version = 1,
		.consumes = scenariod_consumes,
		.catch_up = scenariod_catch_up,
		.apply_event = scenariod_apply,
		.event_visible = scenariod_event_visible,
	};
	return trc_service_main(argc, argv, &def);
}
