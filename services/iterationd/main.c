/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-iterationd: versions, deployments, evidence-gated stages and
 * history (services "iteration" and "deployment"; events iteration.* and
 * deployment.*). It consumes supply, scenario and feedback events.
 */
#include "iterationd.h"

static it_state_t s_state;

int main(int argc, char **argv)
{
	static trc_service_table_t services[2];
	services[0] = (trc_service_table_t){ "iteration", iterationd_iteration_methods,
					     iterationd_n_iteration_methods,
					     &traction__v1__iteration_service__descriptor };
	services[1] = (trc_service_table_t){ "deployment", iterationd_deployment_methods,
					     iterationd_n_deployment_methods,
					     &traction__v1__deployment_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "iterationd",
		.program = "traction-iterationd",
		.metrics_offset = 4,
		.summary = "Versions, deployments, evidence-gated stages and history.",
		.event_source = "iteration",
		.event_topics = iterationd_event_topics,
		.event_keys = iterationd_event_keys,
		.services = services,
		.n_services = 2,
		.dbs = &iterationd_dbs,
		.schema_version = IT_SCHEMA_VERSION,
		.migrate = iterationd_migrate,
		.consumes = iterationd_consumes,
		.catch_up = iterationd_catch_up,
		.apply_event = iterationd_apply,
		.event_visible = iterationd_event_visible,
		.config = iterationd_config,
		.open = iterationd_open,
		.close = iterationd_close,
		.user = &s_state,
	};
	return trc_service_main(argc, argv, &def);
}
