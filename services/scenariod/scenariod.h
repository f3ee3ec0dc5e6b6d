/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-scenariod: scenarios and demands (service "scenario"), the
 * matching index kept from supply events, field evidence kept from
 * feedback and iteration events, and the match and gaps queries.
 */
#ifndef TRC_SCENARIOD_H
#define TRC_SCENARIOD_H

#include "call.h"
#include "service.h"
#include "traction/v1/events.pb-c.h"

/* Its databases, by index (methods.c declares each one's keys and values). */
enum {
	SCEN_DB_SCENARIOS,
	SCEN_DB_BY_CAP,
	SCEN_DB_OPEN_BY_CAP,
	SCEN_DB_SUPPLIES,
	SCEN_DB_SUPPLY_CAP,
	SCEN_DB_EVIDENCE,
	SCEN_DB_EV_VERSION,
	SCEN_DB_DEPLOYMENTS,
	SCEN_DB_DEMAND,
	SCEN_DB_COUNT
};

/* Most distinct capabilities over all demands of one scenario. */
#define SCEN_CAPS_MAX 64

/* Most records a scoped reader's list page passes over without returning
 * them: the page then ends early, its cursor after the last one scanned. */
#define SCEN_LIST_SKIP_MAX 1000

extern const trc_dbs_t scenariod_dbs;
extern const char *const scenariod_event_topics[];
/* The records each of our events is the whole state of (evlog.h). */
int scenariod_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
extern const trc_consume_t scenariod_consumes[];
extern const trc_catch_up_t scenariod_catch_up[];
extern const trc_method_t scenariod_methods[];
extern const size_t scenariod_n_methods;

int scenariod_submit(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_update(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_close(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_get(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_match(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int scenariod_gaps(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* A scoped reader's view (scope.c): whether the call sees every scenario
 * (unscoped, or scoped to a provider), or this one. */
bool scenariod_sees_all(const trc_call_t *call);
bool scenariod_sees(const trc_call_t *call, const Traction__V1__Scenario *s);

/* events.read: whether a scoped caller sees this scenario.* event. */
bool scenariod_event_visible(trc_call_t *call, const Traction__V1__Event *ev);

/* Applies an event of supplyd, iterationd or feedbackd to the index. */
int scenariod_apply(trc_call_t *call, const Traction__V1__Event *ev);

/* The distinct capabilities of a scenario's demands, in first-seen order;
 * returns how many (at most SCEN_CAPS_MAX) into caps. */
size_t scenariod_required(const Traction__V1__Scenario *s, const char **caps);

/* The evidence part of the ranking score (higher is better); documented in
 * docs/matching.md. */
double scenariod_evidence_score(const Traction__V1__MatchEvidence *e);

#endif
