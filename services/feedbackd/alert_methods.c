/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The alert methods of service "feedback": alert.add and alert.remove
 * (admin writes), alert.list and alert.history (reads, within a scoped
 * reader's scope). What each rule means is in alerts.h and docs/alerts.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

#define WINDOW_DEFAULT_S 300
#define WINDOW_MIN_S 10
#define WINDOW_MAX_S 86400
#define FOR_MAX_S (7 * 86400)
#define MIN_COUNT_MAX 1000000
#define DESCRIPTION_MAX 1000
#define HISTORY_SCAN_MAX 10000 /* entries a filtered history page passes over */

static const char *s_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* A reference the rule names must be known here (from the catalogue's
 * events), as a record's must. */
static int s_known(trc_call_t *call, unsigned db, const char *field, const char *id,
		   const char *source)
{
	if (id == NULL || id[0] == '\0')
		return 0;
	MDB_val v;
	int rc = trc_txn_get(call->txn, trc_call_db(call, db), id, strlen(id), &v);
	if (rc != TRC_ENOENT)
		return rc;
	if (trc_call_catch_up(call, source))
		return TRC_EUNAVAIL;
	return trc_call_fail(call, TRC_ENOENT, "%s: no %s '%s'", field, source, id);
}

/* Fields a kind does not use must be left unset: a quantile on a problem
 * rule is a mistake, not a wish to be ignored. */
static int s_unused(trc_call_t *call, const Traction__V1__AlertRule *r)
{
	const char *field = NULL;
	if (r->metric != NULL && r->metric[0] != '\0')
		field = "metric";
	else if (r->quantile != 0)
		field = "quantile";
	else if (r->comparison != 0)
		field = "comparison";
	else if (r->threshold != 0)
		field = "threshold";
	else if (r->window_s != 0)
		field = "window_s";
	else if (r->min_count != 0)
		field = "min_count";
	else if (r->version != NULL && r->version[0] != '\0')
		field = "version";
	else if (r->kind != TRACTION__V1__ALERT_KIND__ALERT_TARGET && r->for_s != 0)
		field = "for_s";
	if (field == NULL)
		return 0;
	return trc_call_fail(call, TRC_EINVAL, "rule.%s: only for %s rules", field,
			     strcmp(field, "for_s") == 0 ? "ALERT_METRIC and ALERT_TARGET"
							 : "ALERT_METRIC");
}

static int s_check_metric(trc_call_t *call, Traction__V1__AlertRule *r)
{
	int rc = trc_check_slug(call, "rule.supply_id", r->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "rule.metric", r->metric);
	if (rc == 0 && !(r->quantile == 0 || (r->quantile > 0 && r->quantile < 1)))
		rc = trc_call_fail(call, TRC_EINVAL,
				   "rule.quantile: 0 (the mean) or between 0 and 1, got %g", r->quantile);
	if (rc == 0 && (r->comparison < TRACTION__V1__COMPARISON__CMP_LT ||
			r->comparison > TRACTION__V1__COMPARISON__CMP_GE))
		rc = trc_call_fail(call, TRC_EINVAL,
				   "rule.comparison: CMP_LT, CMP_LE, CMP_GT or CMP_GE is required");
	if (rc == 0)
		rc = trc_check_value(call, "rule.threshold", r->threshold);
	if (rc == 0 && r->window_s == 0)
		r->window_s = WINDOW_DEFAULT_S;
	if (rc == 0 && (r->window_s < WINDOW_MIN_S || r->window_s > WINDOW_MAX_S))
		rc = trc_call_fail(call, TRC_EINVAL, "rule.window_s: from %d to %d seconds, got %u",
				   WINDOW_MIN_S, WINDOW_MAX_S, r->window_s);
	if (rc == 0 && r->min_count > MIN_COUNT_MAX)
		rc = trc_call_fail(call, TRC_EINVAL, "rule.min_count: at most %d, got %u",
				   MIN_COUNT_MAX, r->min_count);
	if (rc == 0 && r->min_count == 0)
		r->min_count = 1;
	return rc;
}

static int s_check(trc_call_t *call, Traction__V1__AlertRule *r)
{
	int rc = trc_check_slug(call, "rule.id", r->id);
	if (rc == 0)
		rc = trc_check_enum(call, "rule.kind", r->kind,
				    &traction__v1__alert_kind__descriptor, false);
	if (rc == 0)
		rc = trc_check_text(call, "rule.description", s_or_empty(r->description), 0,
				    DESCRIPTION_MAX);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "rule.supply_id", r->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "rule.scenario_id", r->scenario_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "rule.version", r->version);
	if (rc == 0)
		rc = trc_check_enum(call, "rule.severity", r->severity,
				    &traction__v1__severity__descriptor, true);
	if (rc == 0 && r->for_s > FOR_MAX_S)
		rc = trc_call_fail(call, TRC_EINVAL, "rule.for_s: at most %d seconds, got %u",
				   FOR_MAX_S, r->for_s);
	if (rc == 0)
		rc = r->kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC ? s_check_metric(call, r)
								      : s_unused(call, r);
	if (rc == 0)
		rc = s_known(call, FB_DB_REF_SUPPLY, "rule.supply_id", r->supply_id, "supply");
	if (rc == 0)
		rc = s_known(call, FB_DB_REF_SCENARIO, "rule.scenario_id", r->scenario_id, "scenario");
	if (rc == 0 && r->severity == 0)
		r->severity = TRACTION__V1__SEVERITY__SEVERITY_HIGH;
	return rc;
}

int feedbackd_alert_add(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__AlertAddRequest *q = (const void *)req_;
	Traction__V1__AlertRuleReply *rep = (void *)rep_;
	Traction__V1__AlertRule *r = q->rule;
	if (r == NULL)
		return trc_call_fail(call, TRC_EINVAL, "rule: required");
	int rc = s_check(call, r);
	if (rc != 0)
		return rc;
	const trc_db_t *db = trc_call_db(call, FB_DB_ALERT_RULES);
	size_t n;
	if ((rc = trc_txn_entries(call->txn, db, &n)) != 0)
		return rc;
	if (n >= FB_RULES_MAX)
		return trc_call_fail(call, TRC_EBUSY, "rules: at most %d; remove one first",
				     FB_RULES_MAX);
	r->created_ms = call->now_ms;
	r->created_by = (char *)call->client_id;
	MDB_val old;
	rc = trc_txn_get(call->txn, db, r->id, strlen(r->id), &old);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST,
				     "rule.id: '%s' exists; remove it first to change it", r->id);
	if (rc != TRC_ENOENT)
		return rc;
	if ((rc = trc_rec_put(call->txn, db, r->id, strlen(r->id), &r->base)) != 0)
		return rc;
	const char *kind = trc_enum_label(call->arena, &traction__v1__alert_kind__descriptor,
					  r->kind);
	rc = trc_call_audit(call, "alert.add", r->id, r->description,
			    (const char *const[]){ "kind", kind, "supply", s_or_empty(r->supply_id),
						   "scenario", s_or_empty(r->scenario_id), NULL });
	if (rc != 0)
		return rc;
	fb_alert_rules_changed(call);
	/* a target rule judges the deployments in service at once; the
	 * others judge what comes after them (docs/alerts.md) */
	if (r->kind == TRACTION__V1__ALERT_KIND__ALERT_TARGET)
		rc = fb_alerts_targets_all(call);
	rep->rule = r;
	return rc;
}

int feedbackd_alert_remove(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *q = (const void *)req_;
	Traction__V1__AlertRuleReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "id", q->id);
	if (rc != 0)
		return rc;
	const trc_db_t *db = trc_call_db(call, FB_DB_ALERT_RULES);
	Traction__V1__AlertRule *p;
	rc = trc_rec_get(call->txn, db, q->id, strlen(q->id), call->arena, (void **)&p);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, TRC_ENOENT, "id: no alert rule '%s'", q->id);
	if (rc != 0)
		return rc;
	size_t n;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strcmp(rules[i].id, q->id) != 0)
			continue;
		rc = fb_alert_clear(call, &rules[i], "", NULL, NULL, "rule_removed");
		if (rc == 0)
			rc = fb_alert_forget_window(call, &rules[i]);
	}
	if (rc == 0)
		rc = trc_txn_del(call->txn, db, q->id, strlen(q->id));
	if (rc == 0)
		rc = trc_call_audit(call, "alert.remove", q->id, NULL, NULL);
	fb_alert_rules_changed(call);
	rep->rule = p;
	return rc;
}

static bool s_rule_visible(trc_call_t *call, const Traction__V1__AlertRule *r)
{
	if (!trc_scope_on(call))
		return true;
	if (r->scenario_id != NULL && r->scenario_id[0] != '\0')
		return fb_sees_feedback(call, NULL, r->scenario_id, s_or_empty(r->supply_id));
	return r->supply_id != NULL && r->supply_id[0] != '\0' &&
	       fb_sees_supply(call, NULL, r->supply_id);
}

/* The alerts now pending or firing of rule id, appended to rep. */
static int s_active(trc_call_t *call, const char *id, Traction__V1__AlertListReply *rep,
		    size_t *cap)
{
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, FB_DB_ALERTS), &it, id, strlen(id),
				 false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Alert *a;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&a)) != 0)
			break;
		if (!fb_alert_visible(call, a))
			continue;
		rep->active = trc_arena_grow(call->arena, rep->active, rep->n_active, cap,
					     sizeof(*rep->active));
		if (rep->active == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		rep->active[rep->n_active++] = a;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int feedbackd_alert_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__AlertListRequest *q = (const void *)req_;
	Traction__V1__AlertListReply *rep = (void *)rep_;
	size_t limit = trc_page_limit(q->page, 100, 1000), cap = 0;
	const char *cursor = trc_page_cursor(q->page);
	rep->rules = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->rules == NULL)
		return TRC_ENOMEM;
	trc_dbkey_t from;
	trc_dbkey_init(&from);
	if (cursor[0] != '\0') {
		trc_dbkey_raw(&from, cursor, strlen(cursor));
		trc_dbkey_raw(&from, "", 1); /* strictly after it */
	}
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_ALERT_RULES), &it,
				from.len ? from.buf : NULL, from.len, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__AlertRule *r;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&r)) != 0)
			break;
		if (!s_rule_visible(call, r))
			continue;
		if (rep->n_rules == limit) {
			rep->next_cursor = rep->rules[limit - 1]->id;
			break;
		}
		rep->rules[rep->n_rules++] = r;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < rep->n_rules; i++)
		rc = s_active(call, rep->rules[i]->id, rep, &cap);
	return rc != 0 ? rc : call->txn->err;
}

/* An entry of the history the request asks for, and the caller may see. */
static bool s_wanted(trc_call_t *call, void *rec, void *arg)
{
	const Traction__V1__AlertHistoryRequest *q = arg;
	const Traction__V1__Alert *a = rec;
	if (q->rule_id != NULL && q->rule_id[0] != '\0' && strcmp(q->rule_id, a->rule_id) != 0)
		return false;
	if (q->range != NULL && q->range->from_ms != 0 && a->fired_ms < q->range->from_ms)
		return false;
	if (q->range != NULL && q->range->to_ms != 0 && a->fired_ms >= q->range->to_ms)
		return false;
	return fb_alert_visible(call, a);
}

int feedbackd_alert_history(trc_call_t *call, const ProtobufCMessage *req_,
			    ProtobufCMessage *rep_)
{
	const Traction__V1__AlertHistoryRequest *q = (const void *)req_;
	Traction__V1__AlertHistoryReply *rep = (void *)rep_;
	int rc = trc_check_slug_opt(call, "rule_id", q->rule_id);
	if (rc != 0)
		return rc;
	return trc_page_newest(call, trc_call_db(call, FB_DB_ALERT_LOG), q->page, HISTORY_SCAN_MAX,
			       s_wanted, (void *)q, (void ***)&rep->alerts, &rep->n_alerts,
			       &rep->next_cursor);
}
