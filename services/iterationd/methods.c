/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method tables of services "iteration" and "deployment".
 */
#include "iterationd.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

/* "(events)": kept from other daemons' events (index.c). */
static const trc_db_decl_t s_dbs[IT_DB_COUNT] = {
	[IT_DB_VERSIONS] = { "versions", "supply, version -> Iteration",
			     &traction__v1__iteration__descriptor },
	[IT_DB_SUPPLIES] = { "supplies", "supply -> u8 status, provider (events)", NULL },
	[IT_DB_SCENARIOS] = { "scenarios", "scenario -> Scenario (events)",
			      &traction__v1__scenario__descriptor },
	[IT_DB_DEPLOYMENTS] = { "deployments", "id -> Deployment",
				&traction__v1__deployment__descriptor },
	[IT_DB_DEP_BY_VERSION] = { "dep_by_version", "supply, version, deployment -> \"\"", NULL },
	[IT_DB_DEP_BY_SCENARIO] = { "dep_by_scenario", "scenario, deployment -> \"\"", NULL },
	[IT_DB_TRANSITIONS] = { "transitions", "deployment, be64 n -> Transition",
				&traction__v1__transition__descriptor },
	[IT_DB_EVIDENCE] = { "evidence", "supply, version, scenario -> EvidenceUpdate (events)",
			     &traction__v1__evidence_update__descriptor },
	[IT_DB_PROBLEMS] = { "problems", "supply, signature -> ProblemInfo (events)",
			     &traction__v1__problem_info__descriptor },
};
const trc_dbs_t iterationd_dbs = TRC_DBS(s_dbs);

/* The topic prefixes of our events ("iteration"): each daemon that consumes
 * them declares the same (tests/unit/test_methods.c holds them to it). */
const char *const iterationd_event_topics[] = { "iteration.", "deployment.", NULL };

/* Each event carries the whole of one version (recorded once) or one
 * deployment. */
int iterationd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	if (ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_ITERATION)
		return trc_evlog_emit(emit, ud, "iteration", ev->iteration->supply_id,
				      ev->iteration->version);
	if (ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT)
		return trc_evlog_emit(emit, ud, "deployment", ev->deployment->id);
	return 0;
}

/* The sources whose events we apply, with the topics each declares. */
const trc_consume_t iterationd_consumes[] = {
	{ "supply", (const char *const[]){ "provider.", "supply.", NULL } },
	{ "scenario", (const char *const[]){ "scenario.", NULL } },
	{ "feedback", (const char *const[]){ "feedback.", "alert.", NULL } },
	{ NULL, NULL },
};

/* Read-your-writes across daemons: what judges on other daemons' data
 * catches up with them first (docs/protocol.md, "Positions"): the
 * evidence feedbackd sends (and the scenarios whose targets a gate
 * checks). A supply just registered is caught up with only when its
 * name is not known (the handlers ask: trc_call_catch_up). */
const trc_catch_up_t iterationd_catch_up[] = {
	{ "iteration", "history", (const char *const[]){ "feedback", NULL } },
	{ "iteration", "diff", (const char *const[]){ "feedback", NULL } },
	{ "deployment", "advance", (const char *const[]){ "scenario", "feedback", NULL } },
	{ "deployment", "gates", (const char *const[]){ "scenario", "feedback", NULL } },
	{ NULL, NULL, NULL },
};

#define W (TRC_METHOD_WRITE | TRC_METHOD_ADMIN)

const trc_method_t iterationd_iteration_methods[] = {
	{ "record", &traction__v1__iteration_record_request__descriptor,
	  &traction__v1__iteration_reply__descriptor, iterationd_record, W,
	  "record a new version of a supply, with its parent and what it addresses" },
	{ "get", &traction__v1__iteration_get_request__descriptor,
	  &traction__v1__iteration_reply__descriptor, iterationd_get, 0, "one version" },
	{ "list", &traction__v1__iteration_list_request__descriptor,
	  &traction__v1__iteration_list_reply__descriptor, iterationd_list, 0,
	  "the versions of a supply in lineage order" },
	{ "history", &traction__v1__supply_history_request__descriptor,
	  &traction__v1__supply_history_reply__descriptor, iterationd_history, 0,
	  "every version with what it addressed, its aggregates and deltas, its deployments" },
	{ "diff", &traction__v1__iteration_diff_request__descriptor,
	  &traction__v1__iteration_diff_reply__descriptor, iterationd_diff, 0,
	  "metric deltas and problems fixed, new and regressed between two versions" },
};
const size_t iterationd_n_iteration_methods =
	sizeof(iterationd_iteration_methods) / sizeof(iterationd_iteration_methods[0]);

const trc_method_t iterationd_deployment_methods[] = {
	{ "adopt", &traction__v1__deployment_adopt_request__descriptor,
	  &traction__v1__deployment_reply__descriptor, iterationd_adopt, W,
	  "adopt a supply version into a scenario (starts at validation)" },
	{ "upgrade", &traction__v1__deployment_upgrade_request__descriptor,
	  &traction__v1__deployment_reply__descriptor, iterationd_upgrade, W,
	  "move a deployment to a newer version of its supply" },
	{ "advance", &traction__v1__deployment_advance_request__descriptor,
	  &traction__v1__deployment_reply__descriptor, iterationd_advance, W,
	  "move a deployment to another stage: up gated by evidence, down recorded" },
	{ "retire", &traction__v1__deployment_retire_request__descriptor,
	  &traction__v1__deployment_reply__descriptor, iterationd_retire, W, "retire a deployment" },
	{ "get", &traction__v1__id_request__descriptor, &traction__v1__deployment_reply__descriptor,
	  iterationd_dep_get, 0, "one deployment" },
	{ "list", &traction__v1__deployment_list_request__descriptor,
	  &traction__v1__deployment_list_reply__descriptor, iterationd_dep_list, 0,
	  "deployments, filtered" },
	{ "history", &traction__v1__deployment_history_request__descriptor,
	  &traction__v1__deployment_history_reply__descriptor, iterationd_dep_history, 0,
	  "the stage timeline with the evidence of each step, and the versions it ran" },
	{ "gates", &traction__v1__deployment_gates_request__descriptor,
	  &traction__v1__deployment_reply__descriptor, iterationd_dep_gates, 0,
	  "what an advance would be judged on now: every criterion on the way, met or not" },
};
const size_t iterationd_n_deployment_methods =
	sizeof(iterationd_deployment_methods) / sizeof(iterationd_deployment_methods[0]);
