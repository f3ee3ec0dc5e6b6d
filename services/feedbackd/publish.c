/* SPDX-License-Identifier: Apache-2.0 */
/*
 * feedback.publish: one record or a batch, each stored or refused as a
 * whole in a nested transaction of its own, with its own result. A record
 * is checked (fields, the caller's scope, references to what supplyd,
 * scenariod and iterationd have announced), deduplicated by the caller's
 * idempotency key, stored, indexed, and folded into the aggregates, all in
 * the transaction the runtime commits before anyone is told.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "alerts.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "validate.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/scenario.pb-c.h"

#define DAY_MS 86400000LL

static int s_validate_body(trc_call_t *call, const Traction__V1__FeedbackRecord *r)
{
	int rc;
	switch (r->body_case) {
	case TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC:
		if ((rc = trc_check_slug(call, "metric.name", r->metric->name)) != 0)
			return rc;
		return trc_check_value(call, "metric.value", r->metric->value);
	case TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM:
		if ((rc = trc_check_enum(call, "problem.severity", r->problem->severity,
					 &traction__v1__severity__descriptor, false)) != 0)
			return rc;
		if ((rc = trc_check_text(call, "problem.title", r->problem->title, 1, TRC_NAME_MAX)) != 0)
			return rc;
		if ((rc = trc_check_text(call, "problem.details", r->problem->details, 0,
					 TRC_TEXT_MAX)) != 0)
			return rc;
		return trc_check_slug_opt(call, "problem.signature", r->problem->signature);
	case TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE:
		if ((rc = trc_check_slug(call, "value.kpi", r->value->kpi)) != 0)
			return rc;
		if ((rc = trc_check_value(call, "value.baseline", r->value->baseline)) != 0)
			return rc;
		if ((rc = trc_check_value(call, "value.achieved", r->value->achieved)) != 0)
			return rc;
		/* the improvement is relative to it: bounded away from 0, it stays
		 * finite (at most 2e26 percent) */
		if (fabs(r->value->baseline) < FB_BASELINE_MIN)
			return trc_call_fail(call, TRC_EINVAL,
					     "value.baseline: must not be 0 or of magnitude below "
					     "%g (the improvement is relative to it)",
					     FB_BASELINE_MIN);
		return trc_check_text(call, "value.unit", r->value->unit, 0, 32);
	case TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND:
		if ((rc = trc_check_text(call, "demand.text", r->demand->text, 1, TRC_TEXT_MAX)) != 0)
			return rc;
		if (r->demand->n_capabilities == 0)
			return trc_call_fail(call, TRC_EINVAL, "demand.capabilities: name at least one");
		return trc_check_slugs(call, "demand.capabilities", r->demand->capabilities,
				       r->demand->n_capabilities, TRC_LIST_MAX);
	default:
		return trc_call_fail(call, TRC_EINVAL,
				     "body: one of metric, problem, value or demand is required");
	}
}

static int s_validate(trc_call_t *call, Traction__V1__FeedbackRecord *r)
{
	int rc = trc_check_slug(call, "scenario_id", r->scenario_id);
	if (rc == 0)
		rc = trc_check_slug(call, "supply_id", r->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "version", r->version);
	if (rc == 0)
		rc = trc_check_text(call, "idempotency_key", r->idempotency_key, 0, FB_IDEM_KEY_MAX);
	if (rc == 0)
		rc = trc_check_pairs(call, "labels", r->labels, r->n_labels, FB_LABELS_MAX,
				     TRC_NAME_MAX);
	if (rc == 0 && (r->observed_at_ms < 0 || r->observed_at_ms > call->now_ms + DAY_MS))
		rc = trc_call_fail(call, TRC_EINVAL,
				   "observed_at_ms: %lld is before 1970 or more than a day ahead",
				   (long long)r->observed_at_ms);
	if (rc == 0)
		rc = s_validate_body(call, r);
	return rc;
}

static bool s_in_scope(const trc_call_t *call, const char *scenario)
{
	if (call->role != TRACTION__V1__ROLE__ROLE_PUBLISHER)
		return true;
	for (size_t i = 0; i < call->n_scenarios; i++)
		if (strcmp(call->scenarios[i], scenario) == 0)
			return true;
	return false;
}

/* The references of r (missing: which source announces the one not
 * known, when it is TRC_ENOENT). */
static int s_check_refs_store(trc_call_t *call, const Traction__V1__FeedbackRecord *r,
			      const char **missing)
{
	MDB_val v;
	trc_txn_t *txn = call->txn;
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_REF_SCENARIO), r->scenario_id,
			     strlen(r->scenario_id), &v);
	*missing = rc == TRC_ENOENT ? "scenario" : NULL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "scenario_id: no scenario '%s'", r->scenario_id);
	if (rc != 0)
		return rc;
	/* the status byte, then the enterprise (refs.c) */
	if (v.mv_size >= 1 && *(const uint8_t *)v.mv_data ==
				      TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED)
		return trc_call_fail(call, TRC_EPRECOND,
				     "scenario_id: '%s' is closed and takes no more feedback",
				     r->scenario_id);
	rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_REF_SUPPLY), r->supply_id, strlen(r->supply_id),
			 &v);
	*missing = rc == TRC_ENOENT ? "supply" : NULL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "supply_id: no supply '%s'", r->supply_id);
	if (rc != 0)
		return rc;
	trc_dbkey_t k;
	trc_dbkey_of(&k, r->supply_id, r->version);
	rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_REF_VERSION), k.buf, k.len, &v);
	*missing = rc == TRC_ENOENT ? "iteration" : NULL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "version: supply '%s' has no version '%s'",
				     r->supply_id, r->version);
	return rc;
}

static int s_check_refs(trc_call_t *call, const Traction__V1__FeedbackRecord *r,
			const char **missing)
{
	fb_state_t *st = call->user;
	trc_dbkey_t k; /* scenario, supply, version */
	bool fits = trc_dbkey_of(&k, r->scenario_id, r->supply_id, r->version);
	*missing = NULL;
	if (fits && k.len > 0 && k.len == st->refs_ok.len &&
	    memcmp(k.buf, st->refs_ok.buf, k.len) == 0)
		return 0;
	int rc = s_check_refs_store(call, r, missing);
	if (rc == 0 && fits)
		st->refs_ok = k;
	return rc;
}

/* Read-your-writes across daemons, before anything is written: whether a
 * record names a scenario, supply or version not known here, which may
 * have just been announced, its event not here yet. Then the request
 * catches up with the sources that announce them (trc_call_catch_up) and
 * runs again; the second run refuses what is still unknown. Only the
 * first run asks (call->may_wait); a supply not known may be a version
 * of it too; a record whose ids are not slugs is refused by its checks. */
static bool s_catch_up_refs(trc_call_t *call, const Traction__V1__PublishRequest *req)
{
	bool asked = false;
	for (size_t i = 0; call->may_wait && i < req->n_records; i++) {
		const Traction__V1__FeedbackRecord *r = req->records[i];
		const char *missing;
		if (!trc_is_slug(r->scenario_id) || !trc_is_slug(r->supply_id) ||
		    !trc_is_slug(r->version) || s_check_refs(call, r, &missing) != TRC_ENOENT ||
		    missing == NULL)
			continue;
		asked |= trc_call_catch_up(call, missing);
		if (strcmp(missing, "supply") == 0)
			asked |= trc_call_catch_up(call, "iteration");
	}
	call->code = 0; /* what the checks said is said again when the records run */
	call->message = NULL;
	return asked;
}

/* Value verification: the improvement in percent of the baseline, signed
 * so that positive is better whichever way the KPI points. */
static double s_improvement(const Traction__V1__ValueVerification *v)
{
	double pct = (v->achieved - v->baseline) / fabs(v->baseline) * 100.0;
	return v->higher_is_better ? pct : -pct;
}

static int s_demand(trc_call_t *call, const Traction__V1__FeedbackRecord *r)
{
	Traction__V1__CapabilityDemand **out =
		trc_arena_alloc(call->arena, sizeof(void *) * r->demand->n_capabilities);
	if (out == NULL)
		return TRC_ENOMEM;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->demand->n_capabilities; i++) {
		const char *cap = r->demand->capabilities[i];
		Traction__V1__CapabilityDemand *d = NULL;
		rc = trc_rec_get(call->txn, trc_txn_db(call->txn, FB_DB_DEMANDS), cap, strlen(cap),
				 call->arena, (void **)&d);
		if (rc == TRC_ENOENT) {
			d = trc_arena_alloc(call->arena, sizeof(*d));
			if (d == NULL)
				return TRC_ENOMEM;
			traction__v1__capability_demand__init(d);
			d->capability = (char *)cap;
			rc = 0;
		}
		if (rc != 0)
			break;
		d->signals++;
		if (r->observed_at_ms > d->last_seen_ms)
			d->last_seen_ms = r->observed_at_ms;
		bool known = false;
		for (size_t k = 0; k < d->n_scenario_ids && !known; k++)
			known = strcmp(d->scenario_ids[k], r->scenario_id) == 0;
		if (!known && d->n_scenario_ids < 100) {
			char **ids = trc_arena_alloc(call->arena, sizeof(char *) * (d->n_scenario_ids + 1));
			if (ids == NULL)
				return TRC_ENOMEM;
			if (d->n_scenario_ids > 0)
				memcpy(ids, d->scenario_ids, sizeof(char *) * d->n_scenario_ids);
			ids[d->n_scenario_ids++] = r->scenario_id;
			d->scenario_ids = ids;
		}
		rc = trc_rec_put(call->txn, trc_txn_db(call->txn, FB_DB_DEMANDS), cap, strlen(cap),
				 &d->base);
		const trc_db_t *ds = trc_txn_db(call->txn, FB_DB_DEMAND_SUPPLY);
		trc_dbkey_t k;
		trc_dbkey_of(&k, r->supply_id, cap);
		MDB_val v;
		uint64_t n = 0;
		if (rc == 0 && trc_txn_get(call->txn, ds, k.buf, k.len, &v) == 0 && v.mv_size == 8)
			n = trc_be64_get(v.mv_data);
		uint8_t be[8];
		trc_be64_put(be, n + 1);
		if (rc == 0)
			rc = trc_txn_put(call->txn, ds, k.buf, k.len, be, 8, 0);
		out[i] = d;
	}
	if (rc != 0)
		return rc;
	/* The totals so far: consumers store them as they are. */
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__DemandUpdate du = TRACTION__V1__DEMAND_UPDATE__INIT;
	du.demands = out;
	du.n_demands = r->demand->n_capabilities;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEMAND;
	ev.demand = &du;
	return trc_call_emit(call, "feedback.demand", &ev);
}

/* What a record changes besides the aggregate rows (those are folded in
 * by the batch cache once its transaction has committed): problem states
 * and demand signals, written through. */
static int s_side_effects(trc_call_t *call, const Traction__V1__FeedbackRecord *r)
{
	if (r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM)
		return fb_problem_report(call, r);
	if (r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND)
		return s_demand(call, r);
	return 0;
}

static int s_fold(trc_call_t *call, const Traction__V1__FeedbackRecord *r)
{
	fb_state_t *st = call->user;
	double improvement = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE
				     ? s_improvement(r->value)
				     : 0;
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	/* one log() for the four aggregates' sketches and the alert windows' */
	sketch_point_t v = metric ? sketch_point(r->metric->value) : (sketch_point_t){ 0 };
	int rc = fb_cache_record(st->cache, call->txn, r, metric ? &v : NULL, improvement);
	if (rc == 0 && metric)
		rc = fb_alerts_record(call, r, &v);
	if (rc != 0) /* the record is in the transaction, its aggregates not: fail it all */
		trc_txn_fail(call->txn, rc);
	return rc;
}

/* Record ids increase; the next one is read from the store once per
 * batch and counted in memory after that (batch_done forgets it). The
 * id a record would get; s_take_id uses it up. */
static uint64_t s_next_id(trc_call_t *call)
{
	fb_state_t *st = call->user;
	if (st->next_id == 0) {
		MDB_val k;
		trc_dbsplit_t sp; /* be64 id */
		trc_txn_t *txn = call->txn;
		if (trc_txn_last(txn, trc_txn_db(txn, FB_DB_RECORDS), &k, NULL) != 0)
			k = (MDB_val){ 0, NULL };
		trc_dbsplit_init(&sp, &k);
		uint64_t last = trc_dbsplit_be64(&sp);
		st->next_id = trc_dbsplit_done(&sp) ? last + 1 : 1;
		/* expiry may have deleted the newest records: ids are never reused */
		MDB_val v;
		if (trc_txn_get(txn, trc_txn_db(txn, FB_DB_RET_META), "next_id", 7, &v) == 0 &&
		    v.mv_size == 8 && trc_be64_get(v.mv_data) > st->next_id)
			st->next_id = trc_be64_get(v.mv_data);
	}
	return st->next_id;
}

static uint64_t s_take_id(trc_call_t *call)
{
	fb_state_t *st = call->user;
	uint64_t id = s_next_id(call);
	st->next_id++;
	return id;
}

/* A record is stored as its bytes came in the request, followed by the
 * fields the service sets: protobuf keeps the last value of a field that
 * occurs twice, so these win over anything a client put there, and the
 * stored bytes decode to exactly the record that was checked. Packing each
 * record again cost a tenth of feedbackd's time. */
static int s_put_record(trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
			const trc_frame_t *raw, const trc_dbkey_t *id)
{
	uint8_t tail[64];
	size_t tl = 0, cl = strlen(r->client_id);
	tl += trc_varint_put(tail + tl, FB_FIELD_ID << 3 | 0); /* varint */
	tl += trc_varint_put(tail + tl, r->id);
	tl += trc_varint_put(tail + tl, FB_FIELD_OBSERVED_AT_MS << 3 | 0);
	tl += trc_varint_put(tail + tl, (uint64_t)r->observed_at_ms);
	tl += trc_varint_put(tail + tl, FB_FIELD_RECEIVED_MS << 3 | 0);
	tl += trc_varint_put(tail + tl, (uint64_t)r->received_ms);
	tl += trc_varint_put(tail + tl, FB_FIELD_CLIENT_ID << 3 | 2); /* length-delimited */
	tl += trc_varint_put(tail + tl, cl);
	/* ids only grow: append, so record pages are filled, not halved */
	uint8_t *dst = trc_txn_reserve(txn, trc_txn_db(txn, FB_DB_RECORDS), id->buf, id->len,
				       raw->len + tl + cl, MDB_APPEND);
	if (dst == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	memcpy(dst, raw->data, raw->len);
	memcpy(dst + raw->len, tail, tl);
	memcpy(dst + raw->len + tl, r->client_id, cl);
	return 0;
}

/* The bytes of each record of the request as they came (packed again from
 * the decoded request when the caller has no bytes, as in unit tests). */
static int s_raw_records(trc_call_t *call, const Traction__V1__PublishRequest *req,
			 trc_frame_t **out)
{
	const uint8_t *p = call->body;
	size_t n = call->body_len;
	if (p == NULL) {
		uint8_t *b;
		n = traction__v1__publish_request__get_packed_size(req);
		if ((b = trc_arena_alloc(call->arena, n > 0 ? n : 1)) == NULL)
			return TRC_ENOMEM;
		traction__v1__publish_request__pack(req, b);
		p = b;
	}
	*out = trc_arena_alloc(call->arena, sizeof(**out) * req->n_records);
	if (*out == NULL)
		return TRC_ENOMEM;
	if (trc_wire_fields(p, n, 1, *out, req->n_records) != (int)req->n_records)
		return trc_call_fail(call, TRC_EINTERNAL, "records: the request's bytes do not "
							  "match its decoded records");
	return 0;
}

/* Checks (no writes), then writes. A record refused by its checks leaves
 * nothing; once *wrote is set, only a store error can stop it, and that
 * fails the whole request. So no nested transaction is needed per record.
 * A retry is answered with the record its key names even if the record
 * would now be refused (its scenario closed since, say). */
static int s_store(trc_call_t *call, Traction__V1__FeedbackRecord *r, const trc_frame_t *raw,
		   Traction__V1__RecordResult *res, bool *wrote)
{
	trc_txn_t *txn = call->txn;
	trc_dbkey_t idem;
	bool keyed = r->idempotency_key != NULL && r->idempotency_key[0] != '\0';
	uint64_t digest = 0;
	MDB_val v, bytes = { raw->len, (void *)raw->data };
	if (keyed) {
		if (!fb_idem_key(&idem, call->client_id, r))
			return trc_call_fail(call, TRC_EINVAL, "idempotency_key: too long");
		digest = fb_idem_digest(raw->data, raw->len);
	}
	const char *missing;
	int rc = s_check_refs(call, r, &missing);
	if (rc != 0 && keyed) {
		int g = trc_txn_get(txn, trc_txn_db(txn, FB_DB_IDEM), idem.buf, idem.len, &v);
		return g == 0 ? fb_idem_found(call, &v, digest, &bytes, r, res) : g == TRC_ENOENT ? rc : g;
	}
	if (rc != 0)
		return rc;
	trc_dbkey_t id;
	trc_dbkey_init(&id);
	trc_dbkey_be64(&id, s_next_id(call));
	/* the key and the record id in one descent; a retry finds its key */
	if (keyed) {
		uint8_t val[FB_IDEM_VALUE];
		fb_idem_value(val, s_next_id(call), digest);
		rc = trc_txn_insert(txn, trc_txn_db(txn, FB_DB_IDEM), idem.buf, idem.len, val,
				    sizeof(val), &v);
		if (rc == TRC_EEXIST)
			return fb_idem_found(call, &v, digest, &bytes, r, res);
	}
	*wrote = true;
	if (rc != 0)
		return rc;
	r->id = s_take_id(call);
	r->received_ms = call->now_ms;
	r->client_id = (char *)call->client_id;
	if (r->observed_at_ms == 0)
		r->observed_at_ms = call->now_ms;
	rc = s_put_record(txn, r, raw, &id);
	fb_state_t *st = call->user;
	if (rc == 0)
		rc = fb_runs_add(st->runs, txn, FB_INDEX_SUPPLY, r->supply_id, r->id);
	if (rc == 0)
		rc = fb_runs_add(st->runs, txn, FB_INDEX_SCENARIO, r->scenario_id, r->id);
	if (rc == 0)
		rc = s_side_effects(call, r);
	res->record_id = r->id;
	return rc;
}

int feedbackd_publish(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__PublishRequest *req = (const void *)req_;
	Traction__V1__PublishReply *rep = (void *)rep_;
	if (req->n_records == 0)
		return trc_call_fail(call, TRC_EINVAL, "records: at least one record is required");
	if (req->n_records > FB_BATCH_MAX)
		return trc_call_fail(call, TRC_EINVAL, "records: at most %d in one request, got %zu",
				     FB_BATCH_MAX, req->n_records);
	if (s_catch_up_refs(call, req))
		return TRC_EUNAVAIL;
	rep->results = trc_arena_alloc(call->arena, sizeof(void *) * req->n_records);
	if (rep->results == NULL)
		return TRC_ENOMEM;
	trc_txn_t *parent = call->txn;
	trc_frame_t *raw;
	int rrc = s_raw_records(call, req, &raw);
	if (rrc != 0)
		return rrc;
	for (size_t i = 0; i < req->n_records; i++) {
		Traction__V1__RecordResult *res = trc_arena_alloc(call->arena, sizeof(*res));
		Traction__V1__Status *st = trc_arena_alloc(call->arena, sizeof(*st));
		if (res == NULL || st == NULL)
			return TRC_ENOMEM;
		traction__v1__record_result__init(res);
		traction__v1__status__init(st);
		res->status = st;
		rep->results[rep->n_results++] = res;

		Traction__V1__FeedbackRecord *r = req->records[i];
		call->code = 0;
		call->message = NULL;
		int rc = s_validate(call, r);
		if (rc == 0 && !s_in_scope(call, r->scenario_id))
			rc = trc_call_fail(call, TRC_EPERM,
					   "scenario_id: this publisher may not write to '%s'",
					   r->scenario_id);
		bool wrote = false;
		if (rc == 0)
			rc = s_store(call, r, &raw[i], res, &wrote);
		if (rc != 0 && wrote) /* mid-record: nothing of this batch may commit */
			return trc_txn_fail(parent, rc);
		/* stored: now into the aggregates */
		if (rc == 0 && !res->duplicate)
			rc = s_fold(call, r);
		if (rc != 0 && (wrote || parent->err != 0))
			return trc_txn_fail(parent, rc);
		if (rc != 0) {
			st->code = call->code != 0 ? call->code : trc_err_to_code(rc);
			st->message = (char *)(call->message != NULL ? call->message : trc_strerror(rc));
		}
	}
	call->code = 0;
	call->message = NULL;
	return 0;
}
