/*
 * traction-supplyd: The supply registry: providers, supplies, capabilities and versions.
 *
 * Its requests are answered by handlers in this folder; the runtime in
 * lib/service.c does the sockets, group commit and events.
 */
#include "service.h"

static const trc_service_table_t s_services[] = {
	{ "supply", NULL, 0 },
};

static const char *const s_consumes[] = {  NULL };

static const trc_daemon_def_t s_def = {
	.daemon = "supplyd",
	.program = "traction-supplyd",
	.summary = "The supply registry: providers, supplies, capabilities and versions.",
	.event_source = "supply",
	.services = s_services,
	.n_services = sizeof(s_services) / sizeof(s_services[0]),
	.schema_version = 1,
	.consumes = s_consumes,
};

int main(int argc, char **argv)
{
	return trc_service_main(argc, argv, &s_def);
}
