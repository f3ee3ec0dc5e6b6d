/*
 * traction-scenariod: Scenarios and their demands, supply-demand matching and gaps.
 *
 * Its requests are answered by handlers in this folder; the runtime in
 * lib/service.c does the sockets, group commit and events.
 */
#include "service.h"

static const trc_service_table_t s_services[] = {
	{ "scenario", NULL, 0 },
};

static const char *const s_consumes[] = { "supply", "iteration", "feedback", NULL };

static const trc_daemon_def_t s_def = {
	.daemon = "scenariod",
	.program = "traction-scenariod",
	.summary = "Scenarios and their demands, supply-demand matching and gaps.",
	.event_source = "scenario",
	.services = s_services,
	.n_services = sizeof(s_services) / sizeof(s_services[0]),
	.schema_version = 1,
	.consumes = s_consumes,
};

int main(int argc, char **argv)
{
	return trc_service_main(argc, argv, &s_def);
}
