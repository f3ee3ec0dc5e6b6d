/*
 * The method table of service "feedback": names, message types, flags, help.
 */
#include "feedbackd.h"

const char *const feedbackd_dbs[] = {
	FB_DB_RECORDS, FB_DB_IDEM, FB_DB_BY_SUPPLY, FB_DB_BY_SCENARIO, FB_DB_REF_SUPPLY,
	FB_DB_REF_VERSION, FB_DB_REF_SCENARIO, FB_DB_AGG, FB_DB_TREND, FB_DB_EVIDENCE,
	FB_DB_PROBLEMS, FB_DB_PROB_AT, FB_DB_PROB_WHERE, FB_DB_DEMANDS, FB_DB_DEMAND_SUPPLY,
	FB_DB_DIRTY, FB_DB_REF_MARK, NULL,
};

/* The topic prefixes of our events ("feedback"): each daemon that consumes
 * them declares the same (tests/unit/test_methods.c holds them to it). */
const char *const feedbackd_event_topics[] = { "feedback.", NULL };

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
};

const size_t feedbackd_n_methods = sizeof(feedbackd_methods) / sizeof(feedbackd_methods[0]);
