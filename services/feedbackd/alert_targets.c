/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target rules: "a scenario's target metric no longer met by a deployment
 * in service". feedbackd keeps, from the events it already consumes, the
 * active deployments (deployment.*) and each scenario's targets
 * (scenario.*), and judges a deployment in service (or solution) the way
 * its gate to service did (iterationd's gates.c: the mean of its
 * (supply, version, scenario) key against each target), each time:
 *   - evidence of that key is published (the tick, after records came);
 *   - the deployment changes (advanced, upgraded to another version,
 *     retired: its alerts then resolve, deployment_left_service);
 *   - the scenario's targets change (a target removed resolves its alert).
 *
 * Stores:
 *   deploys  scenario, supply -> Deployment (active ones: one per pair)
 *   targets  scenario -> Scenario (its id and its demands' targets only)
 */
#include <string.h>

#include "alerts.h"
#include "dbkey.h"
#include "error.h"
#include "feedbackd.h"
#include "validate.h"
#include "record.h"

static bool s_in_service(const Traction__V1__Deployment *d)
{
	return d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE &&
	       d->stage >= TRACTION__V1__STAGE__STAGE_SERVICE;
}

static size_t s_n_targets(const fb_rule_t *rules, size_t n)
{
	size_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += rules[i].kind == TRACTION__V1__ALERT_KIND__ALERT_TARGET;
	return t;
}

/* The metric summary named m of evidence u (NULL: none). */
static const Traction__V1__MetricSummary *s_metric(const Traction__V1__EvidenceUpdate *u,
						  const char *m)
{
	for (size_t i = 0; u != NULL && i < u->n_metrics; i++)
		if (strcmp(u->metrics[i]->name, m) == 0)
			return u->metrics[i];
	return NULL;
}

typedef struct {
	const char *prefix;            /* "dep-3/" */
	const Traction__V1__Scenario *targets;
	bool in_service;
} keep_t;

/* An alert "dep-3/metric" stays while the deployment is in service and
 * the scenario still has a target on metric. */
static bool s_keep(const char *subject, void *arg)
{
	const keep_t *k = arg;
	if (!k->in_service || k->targets == NULL)
		return false;
	const char *m = subject + strlen(k->prefix);
	for (size_t d = 0; d < k->targets->n_demands; d++)
		for (size_t t = 0; t < k->targets->demands[d]->n_targets; t++)
			if (strcmp(k->targets->demands[d]->targets[t]->metric, m) == 0)
				return true;
	return false;
}

/* Judges deployment d against every target rule, with the evidence of
 * its key (u: NULL to read it). */
static int s_judge(trc_call_t *call, const Traction__V1__Deployment *d,
		   const Traction__V1__EvidenceUpdate *u)
{
	size_t n;
	int rc;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	if (rc != 0 || s_n_targets(rules, n) == 0)
		return rc;
	Traction__V1__Scenario *targets = NULL;
	rc = trc_rec_get(call->txn, trc_call_db(call, FB_DB_TARGETS), d->scenario_id,
			 strlen(d->scenario_id), call->arena, (void **)&targets);
	if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	bool in_service = s_in_service(d);
	if (in_service && u == NULL &&
	    (rc = fb_evidence_update(call, d->supply_id, d->version, d->scenario_id,
				     (Traction__V1__EvidenceUpdate **)&u)) != 0)
		return rc;
	keep_t keep = { trc_arena_printf(call->arena, "%s/", d->id), targets, in_service };
	if (keep.prefix == NULL)
		return TRC_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const fb_rule_t *r = &rules[i];
		if (r->kind != TRACTION__V1__ALERT_KIND__ALERT_TARGET ||
		    !fb_rule_covers(r, d->supply_id, d->scenario_id))
			continue;
		/* alerts of targets gone, or of a deployment out of service */
		rc = fb_alert_clear(call, r, keep.prefix, s_keep, &keep,
				    in_service ? "condition_cleared" : "deployment_left_service");
		for (size_t dm = 0; rc == 0 && in_service && targets != NULL &&
				    dm < targets->n_demands;
		     dm++) {
			const Traction__V1__Demand *dem = targets->demands[dm];
			for (size_t t = 0; rc == 0 && t < dem->n_targets; t++) {
				const Traction__V1__TargetMetric *tm = dem->targets[t];
				const Traction__V1__MetricSummary *m = s_metric(u, tm->metric);
				Traction__V1__Alert *ev = trc_arena_alloc(call->arena, sizeof(*ev));
				char *subject = trc_arena_printf(call->arena, "%s%s", keep.prefix,
								 tm->metric);
				if (ev == NULL || subject == NULL)
					return TRC_ENOMEM;
				traction__v1__alert__init(ev);
				ev->supply_id = d->supply_id;
				ev->version = d->version;
				ev->scenario_id = d->scenario_id;
				ev->deployment_id = d->id;
				ev->metric = tm->metric;
				ev->comparison = tm->comparison;
				ev->threshold = tm->threshold;
				ev->count = m != NULL ? m->count : 0;
				ev->value = m != NULL && m->count > 0 ? m->mean : 0;
				/* no data is not "no longer met": the gate let it in on data */
				bool holds = m != NULL && m->count > 0 &&
					     !trc_cmp_holds(tm->comparison, m->mean, tm->threshold);
				rc = fb_alert_step(call, r, subject, holds, ev, "condition_cleared");
			}
		}
	}
	return rc;
}

static bool s_deploy_key(trc_dbkey_t *k, const char *scenario, const char *supply)
{
	return trc_dbkey_of(k, scenario, supply);
}

int fb_alerts_deployment(trc_call_t *call, const Traction__V1__Deployment *d, bool replayed)
{
	if (!trc_is_slug(d->scenario_id) || !trc_is_slug(d->supply_id) || !trc_is_slug(d->id))
		return trc_call_fail(call, TRC_EINVAL, "deployment event without valid ids");
	trc_dbkey_t k;
	if (!s_deploy_key(&k, d->scenario_id, d->supply_id))
		return TRC_EINVAL;
	const trc_db_t *db = trc_call_db(call, FB_DB_DEPLOYS);
	int rc;
	if (d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE)
		rc = trc_rec_put(call->txn, db, k.buf, k.len, &d->base);
	else
		rc = trc_txn_del(call->txn, db, k.buf, k.len);
	if (rc == TRC_ENOENT)
		rc = 0;
	return rc != 0 || replayed ? rc : s_judge(call, d, NULL);
}

/* The scenario with its demands' targets only (what the judge reads). */
static Traction__V1__Scenario *s_targets_of(trc_call_t *call, const Traction__V1__Scenario *s)
{
	Traction__V1__Scenario *t = trc_arena_alloc(call->arena, sizeof(*t));
	Traction__V1__Demand **ds = trc_arena_alloc(call->arena, sizeof(void *) * (s->n_demands + 1));
	if (t == NULL || ds == NULL)
		return NULL;
	traction__v1__scenario__init(t);
	t->id = s->id;
	t->demands = ds;
	for (size_t i = 0; i < s->n_demands; i++) {
		if (s->demands[i]->n_targets == 0)
			continue;
		Traction__V1__Demand *d = trc_arena_alloc(call->arena, sizeof(*d));
		if (d == NULL)
			return NULL;
		traction__v1__demand__init(d);
		d->id = s->demands[i]->id;
		d->targets = s->demands[i]->targets;
		d->n_targets = s->demands[i]->n_targets;
		ds[t->n_demands++] = d;
	}
	return t;
}

/* Judges every stored deployment whose key starts with prefix (all: ""). */
static int s_judge_all(trc_call_t *call, const void *prefix, size_t plen)
{
	trc_iter_t it;
	const trc_db_t *db = trc_call_db(call, FB_DB_DEPLOYS);
	int rc = plen > 0 ? trc_iter_prefix(call->txn, db, &it, prefix, plen, false)
			  : trc_iter_begin(call->txn, db, &it, NULL, 0, NULL, 0, false);
	Traction__V1__Deployment **ds = NULL;
	size_t n = 0, cap = 0;
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Deployment *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		if ((ds = trc_arena_grow(call->arena, ds, n, &cap, sizeof(*ds))) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		ds[n++] = d;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = s_judge(call, ds[i], NULL);
	return rc != 0 ? rc : call->txn->err;
}

int fb_alerts_scenario(trc_call_t *call, const Traction__V1__Scenario *s, bool replayed)
{
	Traction__V1__Scenario *t = s_targets_of(call, s);
	if (t == NULL)
		return TRC_ENOMEM;
	int rc = trc_rec_put(call->txn, trc_call_db(call, FB_DB_TARGETS), s->id, strlen(s->id),
			     &t->base);
	if (rc != 0 || replayed)
		return rc;
	trc_dbkey_t k;
	if (!trc_dbkey_of(&k, s->id))
		return TRC_EINVAL;
	return s_judge_all(call, k.buf, k.len);
}

int fb_alerts_targets_all(trc_call_t *call)
{
	return s_judge_all(call, NULL, 0);
}

int fb_alerts_evidence(trc_call_t *call, const Traction__V1__EvidenceUpdate *u)
{
	if (u->scenario_id == NULL || u->scenario_id[0] == '\0' || u->version == NULL ||
	    u->version[0] == '\0')
		return 0; /* a roll-up: no deployment runs on it */
	size_t n;
	int rc;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	if (rc != 0 || s_n_targets(rules, n) == 0)
		return rc;
	trc_dbkey_t k;
	if (!s_deploy_key(&k, u->scenario_id, u->supply_id))
		return TRC_EINVAL;
	Traction__V1__Deployment *d = NULL;
	rc = trc_rec_get(call->txn, trc_call_db(call, FB_DB_DEPLOYS), k.buf, k.len, call->arena,
			 (void **)&d);
	if (rc == TRC_ENOENT || (rc == 0 && strcmp(d->version, u->version) != 0))
		return 0; /* evidence of a version the deployment does not run */
	return rc != 0 ? rc : s_judge(call, d, u);
}
