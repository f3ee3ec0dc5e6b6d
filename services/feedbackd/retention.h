/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retention of raw feedback records (issue #28, docs/operations.md
 * "Retention"): how long a record is kept, by kind and by default
 * ([retention] of the configuration) and per scenario (feedback.retention.set),
 * and holds on a scenario or a deployment that suspend deletion
 * (feedback.hold.add). Only raw records and what indexes them go: the
 * aggregates, trends, evidence, problems and demand totals were folded at
 * ingest and stay as they are.
 *
 * Expiry runs in the tick (expire.c), in the group commit's transaction,
 * over at most expire_per_tick records, from a cursor kept in the store: a
 * pass resumes where it was after a restart. The clock is received_ms, the
 * service's own, never the site's observed_at_ms.
 *
 * Idempotency keys live idempotency_days after their record came, and at
 * least as long as their record: a retry within that time is answered as a
 * duplicate of the first record even when the record itself has expired,
 * never stored again.
 */
#ifndef TRC_FB_RETENTION_H
#define TRC_FB_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "config.h"
#include "util.h"
#include "traction/v1/feedback.pb-c.h"

#define FB_KINDS 5 /* FeedbackKind: 0 (every kind: the default) and 1..4 */
#define FB_RETENTION_DAYS_MAX 36500
#define FB_HOLD_REASON_MAX 1000
#define FB_RETENTION_SCAN_MAX 10000 /* keys a list page passes over */

/* [retention]: days (0: forever; a kind's 0: the default), the work bound. */
typedef struct {
	unsigned days[FB_KINDS];      /* [0] default_days, [kind] metric_days, ... */
	unsigned idempotency_days;
	unsigned expire_per_tick;     /* records examined per tick */
	unsigned pass_every_s;        /* rest between the end of a pass and the next */
	unsigned day_s;               /* seconds of a retention day (tests shorten it) */
} fb_retention_t;

extern const trc_conf_section_t fb_retention_section;
extern const trc_conf_section_t *const feedbackd_config[];

/* The policy in the configuration (defaults without one: keep everything). */
void fb_retention_from(fb_retention_t *out, const trc_config_t *cfg);

/* A record's kind (FeedbackKind) from its body. */
int fb_record_kind(const Traction__V1__FeedbackRecord *r);

/* What expiry asks of one record, memoised over a pass (the records of one
 * scenario and supply come in runs): its TTL in ms (0: kept) and whether a
 * hold keeps it. */
typedef struct {
	char scenario[TRC_SLUG_MAX + 1];
	char supply[TRC_SLUG_MAX + 1];
	bool scenario_known, pair_known;
	unsigned days[FB_KINDS];      /* the scenario's overrides (0: none) */
	bool scenario_held, pair_held;
} fb_ret_memo_t;

int fb_retention_ttl_ms(trc_txn_t *txn, const fb_retention_t *pol, fb_ret_memo_t *memo,
			const Traction__V1__FeedbackRecord *r, int64_t *ttl_ms, bool *held);
/* The shortest TTL any record may have now (0: none expires): records
 * received after now less it are all young, so a pass ends there. */
int fb_retention_min_ttl_ms(trc_txn_t *txn, const fb_retention_t *pol, int64_t *ttl_ms);

/* Examines up to pol->expire_per_tick records from the stored cursor and
 * deletes those past their TTL and not held, with what indexes them
 * (expire.c); then the idempotency keys that outlived their records and
 * whose own time is up. *deleted: records deleted (may be NULL). */
int fb_expire_tick(trc_call_t *call, const fb_retention_t *pol, size_t *deleted);
/* Whether fb_expire_tick has work now (in a read txn): a pass under way
 * or due (some retention configured, its rest over), or an idempotency
 * key past its days. Errors say yes. */
bool fb_expire_due(trc_call_t *call, const fb_retention_t *pol);

int feedbackd_retention_set(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_retention_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_hold_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_hold_remove(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int feedbackd_hold_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

#endif
