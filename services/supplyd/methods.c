/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method table of service "supply": names, message types, flags, help.
 */
#include "supplyd.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static const trc_db_decl_t s_dbs[SUPPLYD_DB_COUNT] = {
	[SUPPLYD_DB_PROVIDERS] = { "providers", "id -> Provider",
				   &traction__v1__provider__descriptor },
	[SUPPLYD_DB_SUPPLIES] = { "supplies", "id -> Supply", &traction__v1__supply__descriptor },
	[SUPPLYD_DB_BY_PROVIDER] = { "by_provider", "provider, supply -> \"\"", NULL },
	[SUPPLYD_DB_BY_CAP] = { "by_capability", "capability, supply -> \"\"", NULL },
};
const trc_dbs_t supplyd_dbs = TRC_DBS(s_dbs);

/* The topic prefixes of our events ("supply"): each daemon that consumes
 * them declares the same (tests/unit/test_methods.c holds them to it). */
const char *const supplyd_event_topics[] = { "provider.", "supply.", NULL };

/* Each event carries the whole of one provider or supply: the newest of
 * each is what a consumer further behind than the retention gets. */
int supplyd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	if (ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_PROVIDER)
		return trc_evlog_emit(emit, ud, "provider", ev->provider->id);
	if (ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_SUPPLY)
		return trc_evlog_emit(emit, ud, "supply", ev->supply->id);
	return 0;
}

#define W (TRC_METHOD_WRITE | TRC_METHOD_ADMIN)

const trc_method_t supplyd_methods[] = {
	{ "provider.register", &traction__v1__provider_register_request__descriptor,
	  &traction__v1__provider_reply__descriptor, supplyd_provider_register, W,
	  "register a provider" },
	{ "provider.update", &traction__v1__provider_update_request__descriptor,
	  &traction__v1__provider_reply__descriptor, supplyd_provider_update, W,
	  "change the fields of a provider named in update_mask" },
	{ "provider.get", &traction__v1__id_request__descriptor,
	  &traction__v1__provider_reply__descriptor, supplyd_provider_get, 0, "one provider" },
	{ "provider.list", &traction__v1__provider_list_request__descriptor,
	  &traction__v1__provider_list_reply__descriptor, supplyd_provider_list, 0,
	  "providers, by id, filtered by kind" },
	{ "register", &traction__v1__supply_register_request__descriptor,
	  &traction__v1__supply_reply__descriptor, supplyd_supply_register, W,
	  "register a supply of a known provider" },
	{ "update", &traction__v1__supply_update_request__descriptor,
	  &traction__v1__supply_reply__descriptor, supplyd_supply_update, W,
	  "change the fields of a supply named in update_mask" },
	{ "retire", &traction__v1__supply_retire_request__descriptor,
	  &traction__v1__supply_reply__descriptor, supplyd_supply_retire, W,
	  "retire a supply (it stays readable, it is no longer matched)" },
	{ "get", &traction__v1__id_request__descriptor, &traction__v1__supply_reply__descriptor,
	  supplyd_supply_get, 0, "one supply" },
	{ "list", &traction__v1__supply_list_request__descriptor,
	  &traction__v1__supply_list_reply__descriptor, supplyd_supply_list, 0,
	  "supplies, by id, filtered by kind, provider, capability, status" },
};

const size_t supplyd_n_methods = sizeof(supplyd_methods) / sizeof(supplyd_methods[0]);
