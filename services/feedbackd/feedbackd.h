/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-feedbackd: durable, idempotent feedback ingest (service
 * "feedback") and the aggregates kept incrementally with it.
 *
 * Aggregates are kept at four levels of (supply, version, scenario), an
 * empty part meaning "all": (s,v,sc), (s,v,*), (s,*,sc), (s,*,*). Each
 * ingest updates all four in the same transaction as the record, so no
 * query ever scans raw records.
 */
#ifndef TRC_FEEDBACKD_H
#define TRC_FEEDBACKD_H

#include "call.h"
#include "dbkey.h"
#include "retention.h"
#include "service.h"
#include "sketch.h"
#include "util.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

/* Its databases, by index (methods.c declares each one's keys and values). */
enum {
	FB_DB_RECORDS,
	FB_DB_IDEM,
	FB_DB_BY_SUPPLY,
	FB_DB_BY_SCENARIO,
	FB_DB_REF_SUPPLY,
	FB_DB_REF_VERSION,
	FB_DB_REF_SCENARIO,
	FB_DB_REF_MARK,
	FB_DB_AGG,
	FB_DB_TREND,
	FB_DB_EVIDENCE,
	FB_DB_PROBLEMS,
	FB_DB_PROB_AT,
	FB_DB_PROB_WHERE,
	FB_DB_DEMANDS,
	FB_DB_DEMAND_SUPPLY,
	FB_DB_DIRTY,
	FB_DB_ALERT_RULES,  /* alerts.c, alert_targets.c: schema 4 */
	FB_DB_ALERTS,
	FB_DB_ALERT_LOG,
	FB_DB_ALERT_WIN,
	FB_DB_ALERT_META,
	FB_DB_DEPLOYS,
	FB_DB_TARGETS,
	FB_DB_RET_SCENARIO, /* retention.c, expire.c: retention and holds */
	FB_DB_HOLDS,
	FB_DB_RET_META,
	FB_DB_IDEM_LATE,
	FB_DB_COUNT
};

#define FB_OWNER_MAX 800   /* bytes of an owner a read compares (TRC_NAME_MAX in UTF-8) */
#define FB_LIST_MAX 100    /* ids a ProblemInfo keeps of its scenarios, versions, records */
/* Records or problems a scoped read skips, as outside the reader's scope,
 * before it ends a page short (with a cursor to go on from). */
#define FB_SCOPE_SCAN_MAX 10000

/* Limits of a record (docs/protocol.md). */
#define FB_LABELS_MAX 16
#define FB_IDEM_KEY_MAX 128
#define FB_BATCH_MAX 10000
#define FB_BASELINE_MIN 1e-9 /* |value.baseline|, besides TRC_VALUE_MAX */

/* Schema 2: idempotency keys scoped by scenario, supply and version.
 * Schema 3: ref_supply and ref_scenario values carry the owner after the
 * status byte (migrate.c).
 * Schema 4: alert rules, and the deployments and scenario targets they
 * judge (learnt by replaying scenario and iteration events); retention's
 * policies, holds, late idempotency keys and the stored next record id
 * (empty until used). An earlier build refuses a store of schema 4, so
 * none can reuse the ids of records that expired.
 * Schema 5: idempotency values digest with XXH3 and say so (idem.c); the
 * FNV-1a values before stay as they are, and an earlier build refuses a
 * store that may hold the new ones. */
#define FB_SCHEMA_VERSION 5

extern const trc_dbs_t feedbackd_dbs;
extern const char *const feedbackd_event_topics[];
/* The records each of our events is the whole state of (evlog.h). */
int feedbackd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
extern const trc_consume_t feedbackd_consumes[];
extern const trc_method_t feedbackd_methods[];
extern const size_t feedbackd_n_methods;

/* ---- aggregates (agg.c) ---- */

/* Count, sum, mean, variance, min and max of a metric's values: the head
 * of an aggregate and, as it is (host byte order), a trend bucket's row.
 * The sum is compensated (Neumaier: sum_c holds what rounding lost) and
 * the mean and variance run (Welford: m2 is the sum of squared deviations
 * from the mean), so that a series of large, close values keeps its
 * spread: a sum of squares minus the square of the sum loses it all. */
typedef struct {
	uint64_t count;
	double sum, sum_c, mean, m2, min, max;
} fb_moments_t;

void fb_moments_add(fb_moments_t *m, double x);
double fb_moments_sum(const fb_moments_t *m);
double fb_moments_stddev(const fb_moments_t *m); /* of the population */
/* A trend row as stored, in this layout or that of the first schema
 * (count, sum, sum of squares, min, max); TRC_ECORRUPT if neither. */
int fb_moments_read(const void *data, size_t len, fb_moments_t *out);

typedef struct {
	fb_moments_t m;
	int64_t first_ms, last_ms;
	sketch_t sketch;
} fb_agg_t;

typedef struct {
	uint64_t records;
	uint64_t reports[5];          /* problem records by severity */
	uint64_t values;
	double improvement_sum;       /* percent, signed: positive is better */
	uint64_t demands;
} fb_evidence_t;

/* The key (s, v, sc), or (s, v, sc, m) with m, into k: false if it does
 * not fit. */
bool fb_key(trc_dbkey_t *k, const char *s, const char *v, const char *sc, const char *m);
/* The metric of an aggregate's key (s, v, sc, metric), *len its length;
 * NULL if the key is not of four parts. */
const char *fb_key_metric(const MDB_val *key, size_t *len);

int fb_agg_load(trc_txn_t *txn, const void *key, size_t klen, fb_agg_t *out);
void fb_agg_free(fb_agg_t *a);
void fb_agg_stats(const fb_agg_t *a, Traction__V1__MetricStats *st);
int fb_evidence_load(trc_txn_t *txn, const void *key, size_t klen, fb_evidence_t *e);
int fb_evidence_store(trc_txn_t *txn, const void *key, size_t klen, const fb_evidence_t *e);
/* Trend buckets of a metric key in [from, to) at granularity g, into the
 * arena. */
int fb_trend_read(trc_call_t *call, const void *key, size_t klen, int g, int64_t from,
		  int64_t to, Traction__V1__TrendBucket ***out, size_t *n);
/* Marks the evidence of a key as owed to the bus. */
int fb_dirty(trc_txn_t *txn, const char *s, const char *v, const char *sc);

int fb_agg_store(trc_txn_t *txn, const void *key, size_t klen, const fb_agg_t *a);

/* ---- the batch cache (cache.c) ---- */

typedef struct fb_cache fb_cache_t;

fb_cache_t *fb_cache_new(void);
void fb_cache_destroy(fb_cache_t **c);
/* Folds a stored record into the cached rows (loading them from txn);
 * v: a metric record's value with its sketch bucket (NULL for others). */
int fb_cache_record(fb_cache_t *c, trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
		    const sketch_point_t *v, double improvement);
/* Writes every cached row into txn (they stay cached). */
int fb_cache_flush(fb_cache_t *c, trc_txn_t *txn);
void fb_cache_clear(fb_cache_t *c);

/* The FeedbackRecord fields publish.c appends to a record's bytes by hand
 * (the service's own, which win over a client's): their numbers in
 * proto/traction/v1/feedback.proto, checked against the generated
 * descriptor by test_feedbackd (a renumbered field fails it). */
#define FB_FIELD_ID 1u             /* uint64: varint */
#define FB_FIELD_OBSERVED_AT_MS 5u /* int64: varint */
#define FB_FIELD_RECEIVED_MS 20u   /* int64: varint */
#define FB_FIELD_CLIENT_ID 21u     /* string: length-delimited */

/* ---- runs of record ids in the by-supply and by-scenario indexes (runs.c) ---- */

typedef enum { FB_INDEX_SUPPLY = 0, FB_INDEX_SCENARIO = 1 } fb_index_t;
typedef struct fb_runs fb_runs_t;

fb_runs_t *fb_runs_new(void);
void fb_runs_destroy(fb_runs_t **rs);
/* Notes record id under key of an index (ids only grow within a batch);
 * may write a run that ended into txn. */
int fb_runs_add(fb_runs_t *rs, trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id);
/* Writes every open run into txn (batch_end). */
int fb_runs_flush(fb_runs_t *rs, trc_txn_t *txn);
void fb_runs_clear(fb_runs_t *rs);
/* The run of key that holds id, or else the first after it: 0 with its
 * first and last ids, or TRC_ENOENT. */
int fb_run_from(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id, uint64_t *first,
		uint64_t *last);
/* The run of key that holds id, or else the last one before it (its last
 * id may be past id: the caller clamps): 0, or TRC_ENOENT. */
int fb_run_before(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id,
		  uint64_t *first, uint64_t *last);
/* Records of key between ids lo and hi were just deleted from the
 * records: each run of key there is shrunk to the first and last records
 * left in it (or removed when none is), so that no run outlives its
 * records; a run they were inside keeps gaps, which readers pass over
 * (they read the records). */
int fb_runs_trim(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t lo, uint64_t hi);

/* The daemon's own state (trc_daemon_def_t.user). */
typedef struct {
	fb_cache_t *cache;
	fb_runs_t *runs;
	uint64_t next_id;         /* the next record id, 0: read it from the store */
	/* (scenario, supply, version) whose references were found good in
	 * this batch, so that a batch of one site's records checks them once;
	 * forgotten (emptied) at batch_done and whenever an event is applied */
	trc_dbkey_t refs_ok;
	struct fb_alerts *alerts; /* alert rules, their windows (alerts.h) */
	fb_retention_t retention; /* [retention] (retention.h) */
} fb_state_t;

/* ---- the runtime's hooks (hooks.c) ---- */

int feedbackd_open(void *user, trc_store_t *store, const trc_config_t *cfg);
void feedbackd_close(void *user);
/* Writes what the batch held in memory (runs, aggregates) before the commit. */
int feedbackd_batch_end(trc_call_t *call);
/* Forgets it after the commit, whether it succeeded or not. */
void feedbackd_batch_done(void *user, bool committed);
/* Emits the coalesced feedback.evidence events owed. */
int feedbackd_tick(trc_call_t *call);
bool feedbackd_tick_due(trc_call_t *call);

/* ---- idempotency keys (idem.c) ---- */

/* The value of a key: be64 record id, be64 digest of the record's bytes
 * as they came, the digest's kind. Schema 5 writes XXH3-64 (kind 1);
 * schemas 2-4 wrote FNV-1a without a kind byte (16 bytes), and such values
 * stay valid (fb_idem_found tells them by their size). */
#define FB_IDEM_VALUE 17
#define FB_IDEM_VALUE_FNV 16
#define FB_IDEM_XXH3 1

/* The key of r's idempotency key in FB_DB_IDEM, for client, into k:
 * false if it does not fit. */
bool fb_idem_key(trc_dbkey_t *k, const char *client, const Traction__V1__FeedbackRecord *r);
uint64_t fb_idem_digest(const void *data, size_t len);
void fb_idem_value(uint8_t out[FB_IDEM_VALUE], uint64_t id, uint64_t digest);
/* The key names a record already (its value v): a retry of it (0, res is
 * that record, duplicate) or another record (TRC_EEXIST, said in call). */
int fb_idem_found(trc_call_t *call, const MDB_val *v, uint64_t digest, const MDB_val *raw,
		  const Traction__V1__FeedbackRecord *r, Traction__V1__RecordResult *res);

/* Schema 1 to 2: each key moves to its record's scope. */
int fb_idem_migrate(trc_txn_t *txn);

/* ---- upgrades (migrate.c) ---- */

/* Upgrades a store of an older schema (trc_migrate_fn). */
int fb_migrate(trc_txn_t *txn, uint32_t from);

/* ---- problems (problems.c) ---- */

int fb_problem_report(trc_call_t *call, const Traction__V1__FeedbackRecord *r);
int fb_problem_addressed(trc_call_t *call, const Traction__V1__Iteration *it);
/* Severity counts of the problems reported at key (s, v, sc). */
int fb_problem_counts(trc_call_t *call, const trc_dbkey_t *key, const fb_evidence_t *e,
		      Traction__V1__SeverityCounts ***out, size_t *n);
/* Whether version descends from (or is) ancestor, by recorded lineage. */
bool fb_version_descends(trc_txn_t *txn, const char *supply, const char *version,
			 const char *ancestor);

/* ---- handlers ---- */

int feedbackd_publish(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_stats(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_problems(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_regressions(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_demands(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_alert_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_alert_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_alert_remove(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_alert_history(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* Events of supplyd, scenariod and iterationd: what exists, what is open,
 * who owns it, which versions, which problems an iteration addresses. */
int feedbackd_apply(trc_call_t *call, const Traction__V1__Event *ev);
/* The owner a ref_supply or ref_scenario entry names, into out: "" if it
 * is not known (an entry of schema 2, until the replay refills it, or one
 * longer than FB_OWNER_MAX). 0, TRC_ENOENT (no entry) or a store error. */
int fb_ref_owner(trc_txn_t *txn, unsigned db, const char *id, char out[FB_OWNER_MAX + 1]);
/* Schema 2 to 3: supply and scenario events are replayed from the start to
 * learn the owners; those up to where they had been applied bring only the
 * owner (refs.c). Schema 3 to 4: scenario and iteration events, to learn
 * targets and deployments (only those, up to where they had been
 * applied). sources: NULL-terminated. */
int fb_refs_migrate(trc_txn_t *txn, const char *const *sources);

/* Paging by key (queries.c): a page's cursor is the hex of the last key it
 * returned; the next page starts strictly after it. */
int fb_key_cursor(trc_call_t *call, const void *key, size_t len, char **out);
/* The bound just after the key cursor names, into lo: 0, or TRC_EINVAL
 * (said in call) for a cursor that is not one. */
int fb_cursor_key(trc_call_t *call, const char *cursor, trc_dbkey_t *lo);

/* ---- scoped readers (scope.c) ---- */

/* The last scenario and supply a scan looked up (zeroed to start): a scan
 * meets the same ones record after record. */
typedef struct {
	char scenario[TRC_SLUG_MAX + 1];
	bool scenario_ours;
	char supply[TRC_SLUG_MAX + 1];
	bool supply_ours;
} fb_seen_t;

/* The scenario's enterprise, the supply's provider is in the caller's
 * scope (memo may be NULL). */
bool fb_scenario_ours(trc_call_t *call, fb_seen_t *memo, const char *scenario);
bool fb_supply_ours(trc_call_t *call, fb_seen_t *memo, const char *supply);
/* The rules of lib/scope.h, true for an unscoped call: a scenario (its
 * enterprise, every provider scope); feedback of one scenario about a
 * supply (the enterprise, the supply's provider); what sums a supply's
 * feedback over many scenarios (the provider); demand signals (every
 * provider scope). */
bool fb_sees_scenario(trc_call_t *call, const char *scenario);
bool fb_sees_feedback(trc_call_t *call, fb_seen_t *memo, const char *scenario,
		      const char *supply);
bool fb_sees_supply(trc_call_t *call, fb_seen_t *memo, const char *supply);
bool fb_sees_demands(const trc_call_t *call);

typedef enum { FB_VIEW_NONE, FB_VIEW_PART, FB_VIEW_WHOLE } fb_view_t;
/* How much of a problem the caller sees, when it asked about scenario
 * ("": none): all of it, its part of it (fb_problem_part), or nothing. */
fb_view_t fb_problem_view(trc_call_t *call, fb_seen_t *memo, const Traction__V1__ProblemInfo *p,
			  const char *scenario);
/* Keeps of p's scenarios and records those of the caller's enterprises. */
int fb_problem_part(trc_call_t *call, Traction__V1__ProblemInfo *p);
/* events.read: whether a scoped caller sees one of our events. */
bool feedbackd_event_visible(trc_call_t *call, const Traction__V1__Event *ev);

/* ---- evidence (evidence.c) ---- */

/* The EvidenceUpdate of a key, as events carry it and stats read it. */
int fb_evidence_update(trc_call_t *call, const char *s, const char *v, const char *sc,
		       Traction__V1__EvidenceUpdate **out);
/* One feedback.evidence event per key marked dirty (at most a thousand a
 * call), each key's mark removed with it; reads the stored rows, so the
 * batch's aggregates must be written first. */
int fb_evidence_publish(trc_call_t *call);
/* Whether records already committed owe evidence events (a key is dirty):
 * the next tick sends them (trc_daemon_def_t.events_owed). */
bool fb_evidence_owed(trc_call_t *call);

#endif
