/* SPDX-License-Identifier: Apache-2.0 */
/*
 * [broker]: the broker's own keys of the config file (config.h says how a
 * daemon declares its sections), read by broker.c and route.c.
 */
#include "broker.h"

#include "util.h"

#define B(member, type, min, max, def, help) \
	{ #member, TRC_CONF_##type, TRC_CONF_AT(trc_broker_conf_t, member), min, max, def, help }

static const trc_conf_key_t s_keys[] = {
	B(max_in_flight_per_client, UINT, 1, 10000000, "20000",
	  "requests one client may have in flight; more get RESOURCE_EXHAUSTED"),
	B(max_mb_in_flight_per_client, UINT, 1, 1048576, "256",
	  "MiB of requests one client may have in flight; more get RESOURCE_EXHAUSTED"),
	B(max_mb_in_flight, UINT, 1, 1048576, "1024",
	  "MiB of requests all clients together may have in flight; more get "
	  "RESOURCE_EXHAUSTED"),
	B(max_subscriptions, UINT, 1, 1000000, "1024",
	  "distinct topic prefixes subscribers may hold on the event feed; a new one past it "
	  "is refused"),
	B(max_subscriptions_per_peer, UINT, 1, 1000000, "256",
	  "distinct topic prefixes one subscriber key (or all without a key) may hold"),
	B(endpoints_file, PATH, 0, 0, "",
	  "if set, the broker writes the endpoints it bound there (for ports chosen with :*)"),
	B(services, NAMES, 0, 0, "",
	  "services known before they register, separated by commas: a request to one with no "
	  "live instance is UNAVAILABLE (clients retry), to a name neither here nor ever "
	  "registered NOT_FOUND"),
	B(instance, UINT, 1, TRC_BROKERS_MAX, "1",
	  "with several brokers (one endpoint each in every [bus] list): which entry of the "
	  "lists this broker binds, 1 for the first (traction-broker@N: --set broker.instance=N)"),
};

const trc_conf_section_t trc_broker_section = {
	"broker", s_keys, sizeof(s_keys) / sizeof(s_keys[0]), sizeof(trc_broker_conf_t)
};
const trc_conf_section_t *const trc_broker_config[] = { &trc_broker_section, NULL };

const trc_broker_conf_t *trc_broker_conf(const trc_config_t *cfg)
{
	return trc_config_section(cfg, &trc_broker_section);
}
