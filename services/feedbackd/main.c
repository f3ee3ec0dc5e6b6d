/*
 * traction-feedbackd: Durable, idempotent feedback ingest and real-time aggregates.
 *
 * Its requests are answered by handlers in this folder; the runtime in
 * lib/service.c does the sockets, group commit and events.
 */
#include "service.h"

static const trc_service_table_t s_services[] = {
	{ "feedback", NULL, 0 },
};

static const char *const s_consumes[] = { "supply", "scenario", "iteration", NULL };

static const trc_daemon_def_t s_def = {
	.daemon = "feedbackd",
	.program = "traction-feedbackd",
	.summary = "Durable, idempotent feedback ingest and real-time aggregates.",
	.event_source = "feedback",
	.services = s_services,
	.n_services = sizeof(s_services) / sizeof(s_services[0]),
	.schema_version = 1,
	.consumes = s_consumes,
};

int main(int argc, char **argv)
{
	return trc_service_main(argc, argv, &s_def);
}
