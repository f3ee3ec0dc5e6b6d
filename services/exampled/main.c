/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-exampled: main(), its definition. See exampled.h.
 */
#include "exampled.h"

int main(int argc, char **argv)
{
	static trc_service_table_t services[1];
	services[0] = (trc_service_table_t){ "note", exampled_methods, exampled_n_methods,
					     &traction__example__v1__note_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "exampled",
		.program = "traction-exampled",
		.metrics_offset = 9,
		.summary = "An example daemon: notes about the supplies the registry has.",
		.event_source = "note",
		.event_topics = exampled_event_topics,
		.event_keys = exampled_event_keys,
		.services = services,
		.n_services = 1,
		.dbs = &exampled_dbs,
		.schema_version = 1,
		.consumes = exampled_consumes,
		.apply_event = exampled_apply,
	};
	return trc_service_main(argc, argv, &def);
}
