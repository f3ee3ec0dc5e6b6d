/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method table of service "feedback": names, message types, flags, help.
 */
#include <inttypes.h>
#include <stdio.h>

#include "feedbackd.h"

/* s, v, sc: supply, version, scenario, an empty part meaning "all"
 * (feedbackd.h); the rows' layouts are agg.c's. */
static const trc_db_decl_t s_dbs[FB_DB_COUNT] = {
	[FB_DB_RECORDS] = { "records", "be64 id -> FeedbackRecord (publish.c)",
			    &traction__v1__feedback_record__descriptor },
	[FB_DB_IDEM] = { "idem", "client, scenario, supply, version, key -> be64 id, be64 digest, kind (idem.c)",
			 NULL },
	[FB_DB_BY_SUPPLY] = { "by_supply", "supply, be64 first -> be64 last (runs.c)", NULL },
	[FB_DB_BY_SCENARIO] = { "by_scenario", "scenario, be64 first -> be64 last", NULL },
	[FB_DB_REF_SUPPLY] = { "ref_supply", "supply -> u8 status, provider (refs.c)", NULL },
	[FB_DB_REF_VERSION] = { "ref_version", "supply, version -> parent version", NULL },
	[FB_DB_REF_SCENARIO] = { "ref_scenario", "scenario -> u8 status, enterprise", NULL },
	[FB_DB_REF_MARK] = { "ref_mark", "source -> be64 seq: replayed to here, keep statuses",
			     NULL },
	[FB_DB_AGG] = { "agg", "s, v, sc, metric -> agg row", NULL },
	[FB_DB_TREND] = { "trend", "s, v, sc, metric, u8 granularity, be64 start -> trend row",
			  NULL },
	[FB_DB_EVIDENCE] = { "evidence", "s, v, sc -> evidence row", NULL },
	[FB_DB_PROBLEMS] = { "problems", "supply, signature -> ProblemInfo (problems.c)",
			     &traction__v1__problem_info__descriptor },
	[FB_DB_PROB_AT] = { "prob_at", "s, v, sc, signature -> \"\" (the 4 levels)", NULL },
	[FB_DB_PROB_WHERE] = { "prob_where", "supply, signature, v, sc -> \"\"", NULL },
	[FB_DB_DEMANDS] = { "demands", "capability -> CapabilityDemand",
			    &traction__v1__capability_demand__descriptor },
	[FB_DB_DEMAND_SUPPLY] = { "demand_supply", "supply, capability -> be64 signals", NULL },
	[FB_DB_DIRTY] = { "dirty", "s, v, sc -> \"\": an evidence event owed (evidence.c)", NULL },
	[FB_DB_ALERT_RULES] = { "alert_rules", "rule id -> AlertRule (alerts.c)",
				&traction__v1__alert_rule__descriptor },
	[FB_DB_ALERTS] = { "alerts", "rule id, subject -> Alert: pending or firing",
			   &traction__v1__alert__descriptor },
	[FB_DB_ALERT_LOG] = { "alert_log", "be64 n -> Alert: fired and resolved, append-only",
			      &traction__v1__alert__descriptor },
	[FB_DB_ALERT_WIN] = { "alert_win",
			      "s, v, sc, metric, be64 window_ms -> window row (window.h), shared",
			      NULL },
	[FB_DB_ALERT_META] = { "alert_meta", "\"next_id\" -> be64", NULL },
	[FB_DB_DEPLOYS] = { "deploys", "scenario, supply -> Deployment, active (alert_targets.c)",
			    &traction__v1__deployment__descriptor },
	[FB_DB_TARGETS] = { "targets", "scenario -> Scenario: its demands' targets only",
			    &traction__v1__scenario__descriptor },
	[FB_DB_RET_SCENARIO] = { "retention", "scenario, u8 kind -> RetentionOverride (retention.c)",
				 &traction__v1__retention_override__descriptor },
	[FB_DB_HOLDS] = { "holds", "scenario, supply (\"\": all of it) -> Hold",
			  &traction__v1__hold__descriptor },
	[FB_DB_RET_META] = { "ret_meta",
			     "\"pass\" -> be64 cursor, horizon, rest until; \"next_id\" -> be64 "
			     "(expire.c)",
			     NULL },
	[FB_DB_IDEM_LATE] = { "idem_late",
			      "be64 record id -> be64 received ms, idem key: a key outliving its record",
			      NULL },
};
const trc_dbs_t feedbackd_dbs = TRC_DBS(s_dbs);

/* The topic prefixes of our events ("feedback"): each daemon that consumes
 * them declares the same (tests/unit/test_methods.c holds them to it). */
const char *const feedbackd_event_topics[] = { "feedback.", "alert.", NULL };

/* What each event is the whole state of: the evidence of a (supply,
 * version, scenario), a problem, an alert, and the demand totals of each
 * capability a demand record named (a consumer stores each total as it
 * is, so the newest event naming a capability has its total). */
int feedbackd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_EVIDENCE:
		return trc_evlog_emit(emit, ud, "evidence", ev->evidence->supply_id,
				      ev->evidence->version, ev->evidence->scenario_id);
	case TRACTION__V1__EVENT__PAYLOAD_PROBLEM:
		if (ev->problem->problem == NULL)
			return 0;
		return trc_evlog_emit(emit, ud, "problem", ev->problem->problem->supply_id,
				      ev->problem->problem->signature);
	case TRACTION__V1__EVENT__PAYLOAD_ALERT: {
		char id[24];
		snprintf(id, sizeof(id), "%" PRIu64, ev->alert->id);
		return trc_evlog_emit(emit, ud, "alert", id);
	}
	case TRACTION__V1__EVENT__PAYLOAD_DEMAND: {
		int rc = 0;
		for (size_t i = 0; rc == 0 && i < ev->demand->n_demands; i++)
			rc = trc_evlog_emit(emit, ud, "demand", ev->demand->demands[i]->capability);
		return rc;
	}
	default:
		return 0;
	}
}

/* The sources whose events we apply, with the topics each declares. */
const trc_consume_t feedbackd_consumes[] = {
	{ "supply", (const char *const[]){ "provider.", "supply.", NULL } },
	{ "scenario", (const char *const[]){ "scenario.", NULL } },
	{ "iteration", (const char *const[]){ "iteration.", "deployment.", NULL } },
	{ NULL, NULL },
};

const trc_method_t feedbackd_methods[] = {
	{ "publish", &traction__v1__publish_request__descriptor,
	  &traction__v1__publish_reply__descriptor, feedbackd_publish,
	  TRC_METHOD_WRITE | TRC_METHOD_PUBLISH | TRC_METHOD_FLAT,
	  "store feedback records, each exactly once, acknowledged once on disk" },
	{ "list", &traction__v1__feedback_list_request__descriptor,
	  &traction__v1__feedback_list_reply__descriptor, feedbackd_list, 0,
	  "records, by id, filtered by supply, version, scenario, kind, time, label" },
	{ "stats", &traction__v1__stats_request__descriptor, &traction__v1__stats_reply__descriptor,
	  feedbackd_stats, 0, "aggregates of a supply [version] [scenario] [metric]" },
	{ "problems", &traction__v1__problems_request__descriptor,
	  &traction__v1__problems_reply__descriptor, feedbackd_problems, 0,
	  "problems with their state, filtered" },
	{ "regressions", &traction__v1__regressions_request__descriptor,
	  &traction__v1__problems_reply__descriptor, feedbackd_regressions, 0,
	  "problems that came back after an iteration addressed them" },
	{ "demands", &traction__v1__demands_request__descriptor,
	  &traction__v1__demands_reply__descriptor, feedbackd_demands, 0,
	  "demand signals by capability" },
	{ "alert.add", &traction__v1__alert_add_request__descriptor,
	  &traction__v1__alert_rule_reply__descriptor, feedbackd_alert_add,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "a new alert rule (docs/alerts.md)" },
	{ "alert.list", &traction__v1__alert_list_request__descriptor,
	  &traction__v1__alert_list_reply__descriptor, feedbackd_alert_list, 0,
	  "alert rules, with their alerts now pending or firing" },
	{ "alert.remove", &traction__v1__id_request__descriptor,
	  &traction__v1__alert_rule_reply__descriptor, feedbackd_alert_remove,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "remove an alert rule; its alerts resolve" },
	{ "alert.history", &traction__v1__alert_history_request__descriptor,
	  &traction__v1__alert_history_reply__descriptor, feedbackd_alert_history, 0,
	  "fired and resolved alerts, newest first" },
	{ "retention.set", &traction__v1__retention_set_request__descriptor,
	  &traction__v1__retention_set_reply__descriptor, feedbackd_retention_set,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN,
	  "how long a scenario's raw records are kept, of one kind or all; 0 removes it" },
	{ "retention.list", &traction__v1__retention_list_request__descriptor,
	  &traction__v1__retention_list_reply__descriptor, feedbackd_retention_list,
	  TRC_METHOD_ADMIN, "the configured retention and the overrides by scenario" },
	{ "hold.add", &traction__v1__hold_add_request__descriptor,
	  &traction__v1__hold_reply__descriptor, feedbackd_hold_add,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN,
	  "hold a scenario's or a deployment's records against deletion, with a reason" },
	{ "hold.remove", &traction__v1__hold_remove_request__descriptor,
	  &traction__v1__hold_reply__descriptor, feedbackd_hold_remove,
	  TRC_METHOD_WRITE | TRC_METHOD_ADMIN, "end a hold: its records expire again" },
	{ "hold.list", &traction__v1__hold_list_request__descriptor,
	  &traction__v1__hold_list_reply__descriptor, feedbackd_hold_list, TRC_METHOD_ADMIN,
	  "the holds, by scenario" },
};

const size_t feedbackd_n_methods = sizeof(feedbackd_methods) / sizeof(feedbackd_methods[0]);
