/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method table of service "scenario": names, message types, flags, help.
 */
#include "scenariod.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

/* m_*: the matching index, kept from other daemons' events (index.c). */
static const trc_db_decl_t s_dbs[SCEN_DB_COUNT] = {
	[SCEN_DB_SCENARIOS] = { "scenarios", "id -> Scenario",
				&traction__v1__scenario__descriptor },
	[SCEN_DB_BY_CAP] = { "scen_by_cap", "capability, scenario -> \"\" (every scenario)", NULL },
	[SCEN_DB_OPEN_BY_CAP] = { "open_by_cap", "capability, scenario -> u8 domain (open ones)",
				  NULL },
	[SCEN_DB_SUPPLIES] = { "m_supplies", "supply -> Supply, as its events say",
			       &traction__v1__supply__descriptor },
	[SCEN_DB_SUPPLY_CAP] = { "m_cap", "capability, supply -> \"\" (active supplies)", NULL },
	[SCEN_DB_EVIDENCE] = { "m_evidence", "supply -> MatchEvidence",
			       &traction__v1__match_evidence__descriptor },
	[SCEN_DB_EV_VERSION] = { "m_ev_version", "supply, version -> EvidenceUpdate (roll-up)",
				 &traction__v1__evidence_update__descriptor },
	[SCEN_DB_DEPLOYMENTS] = { "m_deploy", "deployment -> Deployment",
				  &traction__v1__deployment__descriptor },
	[SCEN_DB_DEMAND] = { "m_demand", "capability -> be64 demand signals", NULL },
};
const trc_dbs_t scenariod_dbs = TRC_DBS(s_dbs);

/* The topic prefixes of our events ("scenario"): each daemon that consumes
 * them declares the same (tests/unit/test_methods.c holds them to it). */
const char *const scenariod_event_topics[] = { "scenario.", NULL };

/* Each event carries the whole of one scenario. */
int scenariod_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	if (ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_SCENARIO)
		return trc_evlog_emit(emit, ud, "scenario", ev->scenario->id);
	return 0;
}

/* The sources whose events we apply, with the topics each declares. */
const trc_consume_t scenariod_consumes[] = {
	{ "supply", (const char *const[]){ "provider.", "supply.", NULL } },
	{ "iteration", (const char *const[]){ "iteration.", "deployment.", NULL } },
	{ "feedback", (const char *const[]){ "feedback.", "alert.", NULL } },
	{ NULL, NULL },
};

/* Read-your-writes across daemons: what judges on other daemons' data
 * catches up with them first (docs/protocol.md, "Positions"): matching
 * ranks the supplies by their deployments and their evidence from the
 * field; gaps are what no active supply offers. */
const trc_catch_up_t scenariod_catch_up[] = {
	{ "scenario", "match", (const char *const[]){ "supply", "iteration", "feedback", NULL } },
	{ "scenario", "gaps", (const char *const[]){ "supply", NULL } },
	{ NULL, NULL, NULL },
};

#define W (TRC_METHOD_WRITE | TRC_METHOD_ADMIN)

const trc_method_t scenariod_methods[] = {
	{ "submit", &traction__v1__scenario_submit_request__descriptor,
	  &traction__v1__scenario_reply__descriptor, scenariod_submit, W,
	  "submit a scenario with its demands" },
	{ "update", &traction__v1__scenario_update_request__descriptor,
	  &traction__v1__scenario_reply__descriptor, scenariod_update, W,
	  "change the fields of an open scenario named in update_mask" },
	{ "close", &traction__v1__scenario_close_request__descriptor,
	  &traction__v1__scenario_reply__descriptor, scenariod_close, W,
	  "close a scenario (feedback to it is refused from then on)" },
	{ "get", &traction__v1__id_request__descriptor, &traction__v1__scenario_reply__descriptor,
	  scenariod_get, 0, "one scenario" },
	{ "list", &traction__v1__scenario_list_request__descriptor,
	  &traction__v1__scenario_list_reply__descriptor, scenariod_list, 0,
	  "scenarios, by id, filtered by domain, status, enterprise, capability" },
	{ "match", &traction__v1__match_request__descriptor, &traction__v1__match_reply__descriptor,
	  scenariod_match, 0, "ranked supplies for a scenario's demands, with reasons" },
	{ "gaps", &traction__v1__gaps_request__descriptor, &traction__v1__gaps_reply__descriptor,
	  scenariod_gaps, 0, "capabilities open scenarios need that no active supply offers" },
};

const size_t scenariod_n_methods = sizeof(scenariod_methods) / sizeof(scenariod_methods[0]);
