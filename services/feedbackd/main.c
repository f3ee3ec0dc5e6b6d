/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-feedbackd: durable, idempotent feedback ingest and real-time
 * aggregates (service "feedback"; events feedback.*). It consumes supply,
 * scenario and iteration events to check references and problem states,
 * and to know whom a scoped reader may show them to (scope.c).
 */
#include "feedbackd.h"

static fb_state_t s_state;

int main(int argc, char **argv)
{
	static trc_service_table_t services[1];
	services[0] = (trc_service_table_t){ "feedback", feedbackd_methods, feedbackd_n_methods,
					     &traction__v1__feedback_service__descriptor };
	static const trc_daemon_def_t def = {
		.daemon = "feedbackd",
		.program = "traction-feedbackd",
		.metrics_offset = 3,
		.summary = "Durable, idempotent feedback ingest and real-time aggregates.",
		.event_source = "feedback",
		.event_topics = feedbackd_event_topics,
		.event_keys = feedbackd_event_keys,
		.services = services,
		.n_services = 1,
		.dbs = &feedbackd_dbs,
		.schema_version = FB_SCHEMA_VERSION,
		.migrate = fb_migrate,
		.consumes = feedbackd_consumes,
		.apply_event = feedbackd_apply,
		.event_visible = feedbackd_event_visible,
		.tick = feedbackd_tick,
		.tick_due = feedbackd_tick_due,
		.tick_ms = 250,
		.events_owed = fb_evidence_owed,
		.batch_end = feedbackd_batch_end,
		.batch_done = feedbackd_batch_done,
		.config = feedbackd_config,
		.open = feedbackd_open,
		.close = feedbackd_close,
		.user = &s_state,
	};
	return trc_service_main(argc, argv, &def);
}
