/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-iterationd: versions and their lineage (service "iteration"),
 * deployments of a version into a scenario and the stages they climb
 * (service "deployment"), gated by the evidence feedbackd publishes, and
 * the history that says what changed, what feedback drove it and whether
 * it helped.
 */
#ifndef TRC_ITERATIOND_H
#define TRC_ITERATIOND_H

#include "call.h"
#include "config.h"
#include "service.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"

/* Its databases, by index (methods.c declares each one's keys and values). */
enum {
	IT_DB_VERSIONS,
	IT_DB_SUPPLIES,
	IT_DB_SCENARIOS,
	IT_DB_DEPLOYMENTS,
	IT_DB_DEP_BY_VERSION,
	IT_DB_DEP_BY_SCENARIO,
	IT_DB_TRANSITIONS,
	IT_DB_EVIDENCE,
	IT_DB_PROBLEMS,
	IT_DB_COUNT
};

/* 2: a supply's value carries its provider after the status byte (scoped
 * readers are told by it); a store of 1 replays the supply events. */
#define IT_SCHEMA_VERSION 2

#define IT_VERSIONS_MAX 100000          /* versions of a supply read at most */

extern const trc_dbs_t iterationd_dbs;
extern const char *const iterationd_event_topics[];
/* The records each of our events is the whole state of (evlog.h). */
int iterationd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
extern const trc_consume_t iterationd_consumes[];
extern const trc_catch_up_t iterationd_catch_up[];
extern const trc_method_t iterationd_iteration_methods[];
extern const size_t iterationd_n_iteration_methods;
extern const trc_method_t iterationd_deployment_methods[];
extern const size_t iterationd_n_deployment_methods;

typedef struct it_hist_cache it_hist_cache_t;

/* [gates]: the evidence a deployment needs to advance to a stage
 * (gates.c declares the keys). */
typedef struct {
	unsigned refinement_min_records;
	unsigned pilot_min_metric_records;
	unsigned pilot_max_open_critical;
	unsigned service_min_value_verifications;
	unsigned service_min_improvement_pct;
	unsigned service_max_open_critical;
	unsigned solution_min_scenarios;
} it_gates_t;

/* Our sections of the config file: [gates] (trc_daemon_def_t.config). */
extern const trc_conf_section_t it_gates_section;
extern const trc_conf_section_t *const iterationd_config[];

static inline const it_gates_t *it_gates(const trc_config_t *cfg)
{
	return trc_config_section(cfg, &it_gates_section);
}

typedef struct {
	it_gates_t gates;          /* the gates' thresholds */
	it_hist_cache_t *hist;     /* history's reads of one supply (history.c) */
} it_state_t;

/* ---- the runtime's hooks (hooks.c) ---- */

int iterationd_open(void *user, trc_store_t *store, const trc_config_t *cfg);
void iterationd_close(void *user);

int iterationd_apply(trc_call_t *call, const Traction__V1__Event *ev);
/* Upgrades a store of an older schema (trc_migrate_fn). */
int iterationd_migrate(trc_txn_t *txn, uint32_t from);

/* ---- what other daemons told us (index.c) ---- */

/* The provider of a supply, into the arena: "" when it is not known (no
 * such supply, or a value from schema 1 not yet replayed). */
const char *it_supply_provider(trc_call_t *call, const char *supply);
/* The enterprise of a scenario, into the arena: "" when it is not known. */
const char *it_scenario_enterprise(trc_call_t *call, const char *scenario);

/* ---- who sees what (scope.c; the rules of lib/scope.h) ---- */

/* A deployment (or what one scenario's feedback says of a supply): its
 * scenario's enterprise scope and its supply's provider scope see it. */
bool it_sees_deployment(trc_call_t *call, const char *scenario, const char *supply);
/* What sums over many scenarios of a supply: its provider scope only. */
bool it_sees_supply_sums(trc_call_t *call, const char *supply);
/* events.read: iteration.* are the catalogue, deployment.* as above. */
bool iterationd_event_visible(trc_call_t *call, const Traction__V1__Event *ev);

/* iteration.* */
int iterationd_record(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_get(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_history(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_diff(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* deployment.* */
int iterationd_adopt(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_upgrade(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_advance(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_dep_gates(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_retire(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_dep_get(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_dep_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int iterationd_dep_history(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* ---- versions (versions.c) ---- */

/* Stores version it (key supply\0version) and emits iteration.recorded. */
int it_version_store(trc_call_t *call, Traction__V1__Iteration *it);

/* The stored iteration of (supply, version), into the arena. */
int it_version_get(trc_call_t *call, const char *supply, const char *version,
		   Traction__V1__Iteration **out);
/* Whether version is ancestor or a descendant of it (or it itself). */
bool it_descends(trc_call_t *call, const char *supply, const char *version,
		 const char *ancestor);
/* The stored evidence of a key (scenario "" for the version's roll-up);
 * an empty one when none has arrived. */
int it_evidence(trc_call_t *call, const char *supply, const char *version, const char *scenario,
		Traction__V1__EvidenceUpdate **out);
/* it_evidence in two steps, for history's cache: the stored bytes of a
 * roll-up (raw->mv_data NULL when none is stored), then the roll-up
 * decoded from them into arena, or an empty one naming (supply, version,
 * scenario) when none is stored. */
int it_evidence_raw(trc_call_t *call, const char *supply, const char *version,
		    const char *scenario, MDB_val *raw);
int it_evidence_decode(trc_call_t *call, trc_arena_t *arena, const MDB_val *raw,
		       const char *supply, const char *version, const char *scenario,
		       Traction__V1__EvidenceUpdate **out);
/* The metric deltas from one roll-up to another. */
int it_deltas(trc_call_t *call, const Traction__V1__EvidenceUpdate *from,
	      const Traction__V1__EvidenceUpdate *to, Traction__V1__MetricDelta ***out,
	      size_t *n);

/* ---- lineage (lineage.c) ---- */

/* A supply's versions depth first from the initial one, children in
 * release order. */
typedef struct {
	Traction__V1__Iteration **v;
	uint32_t *depth;
	size_t *parent;          /* position of each one's parent in v, or SIZE_MAX */
	size_t n;
} it_lineage_t;

/* The lineage of supply into arena; raw, if not NULL: the version
 * records' bytes as scanned, kept in arena, for it_lineage_same. */
int it_lineage(trc_call_t *call, trc_arena_t *arena, const char *supply, it_lineage_t *out,
	       MDB_val *raw);
/* Whether the supply's version records in this snapshot are, byte for
 * byte, those of raw (from it_lineage). */
int it_lineage_same(trc_call_t *call, const char *supply, const MDB_val *raw, bool *same);
/* The position a page cursor of a list in lineage order names (0 for
 * none); a cursor that is not one fails the call (*rc). */
size_t it_lineage_offset(trc_call_t *call, const Traction__V1__PageRequest *page, int *rc);

/* ---- history (history.c) ---- */

void it_hist_cache_destroy(it_hist_cache_t **cache_p);

/* ---- gates (gates.c): pure functions of the evidence ---- */

/* What an error detail says of a criterion not met: its stable token
 * ("metric_records", "target.defect_rate"), why ("below_required",
 * "above_allowed", "target_not_met", "no_data"), and the values bare
 * ("12", "20"; a target's required keeps its comparison: "<= 0.02"). */
typedef struct {
	const char *subject;
	const char *reason;
	const char *current;
	const char *required;
} it_unmet_t;

typedef struct {
	Traction__V1__GateCriterion **c;
	it_unmet_t *why;           /* parallel to c (set for the unmet) */
	size_t n;
	bool met;
} it_gate_t;

/* Open (or regressed) critical problems reported against this version in
 * this scenario, from the problem events. These arrive as each problem is
 * stored, while the evidence roll-up follows within a feedbackd tick: a
 * gate takes the larger of the two counts, so a problem just reported
 * blocks at once. */
uint64_t it_open_critical(trc_call_t *call, const char *supply, const char *version,
			  const char *scenario);

/* Evaluates the criteria of moving dep up to stage `to`: e is the
 * deployment's evidence, scenario its scenario (for target metrics),
 * in_service how many scenarios run the same version at service or
 * beyond, open_critical it_open_critical() of the deployment. */
int it_gate(trc_arena_t *arena, const it_gates_t *gates, int to,
	    const Traction__V1__EvidenceUpdate *e, const Traction__V1__Scenario *scenario,
	    uint64_t in_service, uint64_t open_critical, it_gate_t *out);
/* "metric_records 12 < 20; open_critical_problems 1 > 0" */
char *it_gate_unmet(trc_arena_t *arena, const it_gate_t *g);
/* Appends g's criteria to acc (the gates of several stages at once). */
int it_gate_join(trc_arena_t *arena, it_gate_t *acc, const it_gate_t *g);
/* One error detail per criterion of g not met (the same one twice, from
 * two stages' gates, once). */
int it_gate_details(trc_call_t *call, const it_gate_t *g);

#endif
