/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The retention methods of service "feedback" (admin only: a hold's reason
 * names an audit or a dispute): retention.set and retention.list, the
 * per-scenario overrides of how long raw records are kept; hold.add,
 * hold.remove and hold.list, the holds that suspend deletion. What they
 * mean is in retention.h and docs/operations.md, "Retention".
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "retention.h"
#include "util.h"
#include "validate.h"

static const char *s_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* The scenario is known here (from scenariod's events), as a record's. */
static int s_scenario_known(trc_call_t *call, const char *field, const char *id)
{
	MDB_val v;
	int rc = trc_txn_get(call->txn, trc_call_db(call, FB_DB_REF_SCENARIO), id, strlen(id), &v);
	if (rc != TRC_ENOENT)
		return rc;
	if (trc_call_catch_up(call, "scenario"))
		return TRC_EUNAVAIL;
	return trc_call_fail(call, TRC_ENOENT, "%s: no scenario '%s'", field, id);
}

/* ---- a page of one database's records, after the key a cursor names ---- */

typedef int (*take_fn)(trc_call_t *call, void *rep, void *rec);

/* Reads db's records under prefix (none: all) from just after the key the
 * cursor names (its hex), each given to take, up to the page's limit;
 * next_cursor is set when more follow. */
static int s_page(trc_call_t *call, unsigned dbi, const Traction__V1__PageRequest *page,
		  const trc_dbkey_t *prefix, take_fn take, void *rep, char **next_cursor)
{
	const char *cursor = trc_page_cursor(page);
	size_t limit = trc_page_limit(page, 100, 1000), clen = strlen(cursor), n = 0;
	trc_dbkey_t lo, hi;
	trc_dbkey_init(&lo);
	trc_dbkey_init(&hi);
	if (prefix != NULL) {
		lo = *prefix;
		trc_dbkey_sep(&lo);
		hi = *prefix;
		trc_dbkey_past(&hi);
	}
	if (clen > 0 && fb_cursor_key(call, cursor, &lo) != 0)
		return TRC_EINVAL;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, dbi), &it, lo.len ? lo.buf : NULL,
				lo.len, hi.len ? hi.buf : NULL, hi.len, false);
	MDB_val last = { 0, NULL };
	while (rc == 0 && trc_iter_next(&it)) {
		if (n == limit) {
			rc = fb_key_cursor(call, last.mv_data, last.mv_size, next_cursor);
			break;
		}
		void *rec;
		if ((rc = trc_iter_rec(&it, call->arena, &rec)) == 0)
			rc = take(call, rep, rec);
		last = it.key;
		n++;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

/* Appends p to the array *v of *n (arena). */
static int s_append(trc_call_t *call, void ***v, size_t *n, void *p)
{
	void **nv = trc_arena_alloc(call->arena, sizeof(void *) * (*n + 1));
	if (nv == NULL)
		return TRC_ENOMEM;
	if (*n > 0)
		memcpy(nv, *v, sizeof(void *) * *n);
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

/* ---- retention.set, retention.list ---- */

static void s_override_key(trc_dbkey_t *k, const char *scenario, int kind)
{
	trc_dbkey_of(k, scenario);
	trc_dbkey_u8(k, (uint8_t)kind);
}

int feedbackd_retention_set(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__RetentionSetRequest *q = (const void *)req_;
	Traction__V1__RetentionSetReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "scenario_id", q->scenario_id);
	if (rc == 0)
		rc = trc_check_enum(call, "kind", q->kind, &traction__v1__feedback_kind__descriptor,
				    true);
	if (rc == 0 && q->days > FB_RETENTION_DAYS_MAX)
		rc = trc_call_fail(call, TRC_EINVAL, "days: at most %d, got %u", FB_RETENTION_DAYS_MAX,
				   q->days);
	if (rc == 0)
		rc = s_scenario_known(call, "scenario_id", q->scenario_id);
	if (rc != 0)
		return rc;
	Traction__V1__RetentionOverride *o = trc_arena_alloc(call->arena, sizeof(*o));
	if (o == NULL)
		return TRC_ENOMEM;
	traction__v1__retention_override__init(o);
	o->scenario_id = q->scenario_id;
	o->kind = q->kind;
	o->days = q->days;
	o->updated_ms = call->now_ms;
	o->updated_by = (char *)call->client_id;
	trc_dbkey_t k;
	s_override_key(&k, q->scenario_id, q->kind);
	const trc_db_t *db = trc_call_db(call, FB_DB_RET_SCENARIO);
	if (q->days == 0) {
		rc = trc_txn_del(call->txn, db, k.buf, k.len);
		if (rc == TRC_ENOENT)
			rc = 0; /* removing what is not there leaves it so */
	} else {
		rc = trc_rec_put(call->txn, db, k.buf, k.len, &o->base);
	}
	/* an administrative change: in the audit log, in its transaction */
	char days[16];
	snprintf(days, sizeof(days), "%u", q->days);
	const char *kind = q->kind == 0 ? "all"
					: trc_enum_label(call->arena,
							 &traction__v1__feedback_kind__descriptor, q->kind);
	if (rc == 0)
		rc = trc_call_audit(call, "retention.set", q->scenario_id, NULL,
				    (const char *const[]){ "kind", kind, "days", days, NULL });
	if (rc != 0)
		return rc;
	rep->entry = o;
	return 0;
}

static int s_take_override(trc_call_t *call, void *rep_, void *rec)
{
	Traction__V1__RetentionListReply *rep = rep_;
	return s_append(call, (void ***)&rep->overrides, &rep->n_overrides, rec);
}

int feedbackd_retention_list(trc_call_t *call, const ProtobufCMessage *req_,
			     ProtobufCMessage *rep_)
{
	const Traction__V1__RetentionListRequest *q = (const void *)req_;
	Traction__V1__RetentionListReply *rep = (void *)rep_;
	int rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc != 0)
		return rc;
	const fb_state_t *st = call->user;
	Traction__V1__RetentionPolicy *p = trc_arena_alloc(call->arena, sizeof(*p));
	if (p == NULL)
		return TRC_ENOMEM;
	traction__v1__retention_policy__init(p);
	const fb_retention_t *pol = &st->retention;
	p->default_days = pol->days[0];
	p->metric_days = pol->days[TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC];
	p->problem_days = pol->days[TRACTION__V1__FEEDBACK_KIND__FEEDBACK_PROBLEM];
	p->value_days = pol->days[TRACTION__V1__FEEDBACK_KIND__FEEDBACK_VALUE];
	p->demand_days = pol->days[TRACTION__V1__FEEDBACK_KIND__FEEDBACK_DEMAND];
	p->idempotency_days = pol->idempotency_days;
	p->expire_per_tick = pol->expire_per_tick;
	rep->policy = p;
	trc_dbkey_t k;
	bool one = q->scenario_id != NULL && q->scenario_id[0] != '\0';
	if (one)
		trc_dbkey_of(&k, q->scenario_id);
	return s_page(call, FB_DB_RET_SCENARIO, q->page, one ? &k : NULL, s_take_override, rep,
		      &rep->next_cursor);
}

/* ---- hold.add, hold.remove, hold.list ---- */

/* The active deployment id, as feedbackd learnt it from iterationd's
 * events: its scenario and supply into h (arena). */
static int s_deployment(trc_call_t *call, const char *id, Traction__V1__Hold *h)
{
	trc_iter_t it;
	bool found = false;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_DEPLOYS), &it, NULL, 0, NULL, 0,
				false);
	while (rc == 0 && !found && trc_iter_next(&it)) {
		Traction__V1__Deployment *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		if ((found = strcmp(d->id, id) == 0)) {
			h->scenario_id = d->scenario_id;
			h->supply_id = d->supply_id;
		}
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = call->txn->err;
	if (rc != 0 || found)
		return rc;
	if (trc_call_catch_up(call, "iteration"))
		return TRC_EUNAVAIL;
	return trc_call_fail(call, TRC_ENOENT, "hold.deployment_id: no active deployment '%s'", id);
}

static int s_hold_check(trc_call_t *call, Traction__V1__Hold *h)
{
	bool sc = h->scenario_id != NULL && h->scenario_id[0] != '\0';
	bool dep = h->deployment_id != NULL && h->deployment_id[0] != '\0';
	if (sc == dep)
		return trc_call_fail(call, TRC_EINVAL,
				     "hold: name one of scenario_id and deployment_id");
	int rc = trc_check_text(call, "hold.reason", s_or_empty(h->reason), 1, FB_HOLD_REASON_MAX);
	if (rc == 0 && sc)
		rc = trc_check_slug(call, "hold.scenario_id", h->scenario_id);
	if (rc == 0 && sc)
		rc = s_scenario_known(call, "hold.scenario_id", h->scenario_id);
	if (rc == 0 && dep)
		rc = trc_check_slug(call, "hold.deployment_id", h->deployment_id);
	if (rc == 0 && dep)
		rc = s_deployment(call, h->deployment_id, h);
	if (rc == 0 && sc)
		h->supply_id = (char *)"";
	return rc;
}

int feedbackd_hold_add(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__HoldAddRequest *q = (const void *)req_;
	Traction__V1__HoldReply *rep = (void *)rep_;
	Traction__V1__Hold *h = q->hold;
	if (h == NULL)
		return trc_call_fail(call, TRC_EINVAL, "hold: required");
	int rc = s_hold_check(call, h);
	if (rc != 0)
		return rc;
	h->created_ms = call->now_ms;
	h->created_by = (char *)call->client_id;
	trc_dbkey_t k;
	trc_dbkey_of(&k, h->scenario_id, h->supply_id);
	const trc_db_t *db = trc_call_db(call, FB_DB_HOLDS);
	MDB_val old;
	rc = trc_txn_get(call->txn, db, k.buf, k.len, &old);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "hold: %s '%s' is held already",
				     h->supply_id[0] ? "deployment" : "scenario",
				     h->supply_id[0] ? h->deployment_id : h->scenario_id);
	if (rc != TRC_ENOENT || (rc = trc_rec_put(call->txn, db, k.buf, k.len, &h->base)) != 0)
		return rc;
	rc = trc_call_audit(call, "hold.add", h->supply_id[0] ? h->deployment_id : h->scenario_id,
			    h->reason,
			    (const char *const[]){ "scenario", h->scenario_id, "supply", h->supply_id,
						   NULL });
	if (rc != 0)
		return rc;
	rep->hold = h;
	return 0;
}

int feedbackd_hold_remove(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__HoldRemoveRequest *q = (const void *)req_;
	Traction__V1__HoldReply *rep = (void *)rep_;
	bool sc = q->scenario_id != NULL && q->scenario_id[0] != '\0';
	bool dep = q->deployment_id != NULL && q->deployment_id[0] != '\0';
	if (sc == dep)
		return trc_call_fail(call, TRC_EINVAL, "name one of scenario_id and deployment_id");
	const char *id = sc ? q->scenario_id : q->deployment_id;
	int rc = trc_check_slug(call, sc ? "scenario_id" : "deployment_id", id);
	if (rc != 0)
		return rc;
	/* by its key's parts: a deployment's hold outlives the deployment's
	 * retirement, so it is found among the holds, not the deployments */
	trc_iter_t it;
	Traction__V1__Hold *found = NULL;
	trc_dbkey_t k;
	rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_HOLDS), &it, NULL, 0, NULL, 0, false);
	while (rc == 0 && found == NULL && trc_iter_next(&it)) {
		Traction__V1__Hold *h;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&h)) != 0)
			break;
		if (sc ? strcmp(h->scenario_id, id) == 0 && h->supply_id[0] == '\0'
		       : strcmp(h->deployment_id, id) == 0) {
			found = h;
			trc_dbkey_init(&k);
			trc_dbkey_raw(&k, it.key.mv_data, it.key.mv_size);
		}
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = call->txn->err;
	if (rc == 0 && found == NULL)
		return trc_call_fail(call, TRC_ENOENT, "%s: '%s' is not held",
				     sc ? "scenario_id" : "deployment_id", id);
	if (rc == 0)
		rc = trc_txn_del(call->txn, trc_call_db(call, FB_DB_HOLDS), k.buf, k.len);
	if (rc == 0)
		rc = trc_call_audit(call, "hold.remove", id, found->reason,
				    (const char *const[]){ "scenario", found->scenario_id, "supply",
							   found->supply_id, NULL });
	if (rc != 0)
		return rc;
	rep->hold = found;
	return 0;
}

static int s_take_hold(trc_call_t *call, void *rep_, void *rec)
{
	Traction__V1__HoldListReply *rep = rep_;
	return s_append(call, (void ***)&rep->holds, &rep->n_holds, rec);
}

int feedbackd_hold_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__HoldListRequest *q = (const void *)req_;
	Traction__V1__HoldListReply *rep = (void *)rep_;
	return s_page(call, FB_DB_HOLDS, q->page, NULL, s_take_hold, rep, &rep->next_cursor);
}
