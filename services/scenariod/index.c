/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The matching index and the field evidence, kept from other daemons'
 * events (scenariod never opens their stores nor asks them per match):
 * - supply.*: the supply itself, and capability -> supply for active ones;
 * - deployment.*: deployments per supply, and how many reached service;
 * - feedback.evidence (roll-ups per supply version): value verifications
 *   and open problems per supply;
 * - feedback.demand: demand signals per capability, for gaps.
 * Every event carries the whole new state of its record, so each is
 * applied by comparing with what is stored: applying twice changes nothing.
 */
#include <math.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "record.h"
#include "scenariod.h"
#include "util.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static void s_caps(trc_call_t *call, const Traction__V1__Supply *s, bool add)
{
	const trc_db_t *db = trc_call_db(call, SCEN_DB_SUPPLY_CAP);
	trc_dbkey_t k;
	for (size_t i = 0; i < s->n_capabilities; i++) {
		if (!trc_is_slug(s->capabilities[i]))
			continue;
		trc_dbkey_of(&k, s->capabilities[i], s->id);
		if (add)
			trc_txn_put(call->txn, db, k.buf, k.len, "", 0, 0);
		else
			trc_txn_del(call->txn, db, k.buf, k.len);
	}
}

static int s_apply_supply(trc_call_t *call, Traction__V1__Supply *s)
{
	if (s == NULL || !trc_is_slug(s->id))
		return trc_call_fail(call, TRC_EINVAL, "supply event without a valid supply id");
	Traction__V1__Supply *old = NULL;
	int rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_SUPPLIES), s->id, strlen(s->id),
			     call->arena, (void **)&old);
	if (rc == 0)
		s_caps(call, old, false);
	else if (rc != TRC_ENOENT)
		return rc;
	if (s->status == TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE)
		s_caps(call, s, true);
	rc = trc_rec_put(call->txn, trc_call_db(call, SCEN_DB_SUPPLIES), s->id, strlen(s->id),
			 &s->base);
	return rc != 0 ? rc : call->txn->err;
}

static int s_get_evidence(trc_call_t *call, const char *supply, Traction__V1__MatchEvidence **e)
{
	int rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_EVIDENCE), supply, strlen(supply),
			     call->arena, (void **)e);
	if (rc == TRC_ENOENT) {
		*e = trc_arena_alloc(call->arena, sizeof(**e));
		if (*e == NULL)
			return TRC_ENOMEM;
		traction__v1__match_evidence__init(*e);
		return 0;
	}
	return rc;
}

static int s_put_evidence(trc_call_t *call, const char *supply, Traction__V1__MatchEvidence *e)
{
	return trc_rec_put(call->txn, trc_call_db(call, SCEN_DB_EVIDENCE), supply, strlen(supply),
			   &e->base);
}

static bool s_in_service(const Traction__V1__Deployment *d)
{
	return d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE &&
	       d->stage >= TRACTION__V1__STAGE__STAGE_SERVICE;
}

static bool s_active(const Traction__V1__Deployment *d)
{
	return d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE;
}

/* Moves one deployment's contribution from its old state to its new one. */
static int s_count_deployment(trc_call_t *call, const Traction__V1__Deployment *d, int sign)
{
	Traction__V1__MatchEvidence *e;
	int rc = s_get_evidence(call, d->supply_id, &e);
	if (rc != 0)
		return rc;
	if (s_active(d))
		e->deployments = (uint64_t)((int64_t)e->deployments + sign);
	if (s_in_service(d))
		e->deployments_in_service = (uint64_t)((int64_t)e->deployments_in_service + sign);
	return s_put_evidence(call, d->supply_id, e);
}

static int s_apply_deployment(trc_call_t *call, Traction__V1__Deployment *d)
{
	if (d == NULL || !trc_is_slug(d->id) || !trc_is_slug(d->supply_id))
		return trc_call_fail(call, TRC_EINVAL, "deployment event without valid ids");
	Traction__V1__Deployment *old = NULL;
	int rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_DEPLOYMENTS), d->id,
			     strlen(d->id), call->arena, (void **)&old);
	if (rc == 0)
		rc = s_count_deployment(call, old, -1);
	else if (rc == TRC_ENOENT)
		rc = 0;
	if (rc == 0)
		rc = s_count_deployment(call, d, +1);
	if (rc == 0)
		rc = trc_rec_put(call->txn, trc_call_db(call, SCEN_DB_DEPLOYMENTS), d->id,
				 strlen(d->id), &d->base);
	return rc;
}

/* Recounts a supply's field evidence from the roll-ups of its versions. */
static int s_recount_feedback(trc_call_t *call, const char *supply)
{
	Traction__V1__MatchEvidence *e;
	int rc = s_get_evidence(call, supply, &e);
	if (rc != 0)
		return rc;
	e->value_verifications = 0;
	e->mean_improvement_pct = 0;
	e->open_problems = 0;
	e->open_critical_problems = 0;
	double weighted = 0;
	trc_iter_t it;
	rc = trc_iter_prefix(call->txn, trc_call_db(call, SCEN_DB_EV_VERSION), &it, supply,
			     strlen(supply), false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__EvidenceUpdate *u;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&u)) != 0)
			break;
		if (u->values != NULL && isfinite(u->values->mean_improvement_pct)) {
			e->value_verifications += u->values->count;
			weighted += u->values->mean_improvement_pct * (double)u->values->count;
		}
		for (size_t i = 0; i < u->n_problems; i++) {
			uint64_t open = u->problems[i]->open + u->problems[i]->regressed;
			e->open_problems += open;
			if (u->problems[i]->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL)
				e->open_critical_problems += open;
		}
	}
	trc_iter_end(&it);
	if (rc != 0)
		return rc;
	if (e->value_verifications > 0)
		e->mean_improvement_pct = weighted / (double)e->value_verifications;
	return s_put_evidence(call, supply, e);
}

static int s_apply_evidence(trc_call_t *call, Traction__V1__EvidenceUpdate *u)
{
	if (u == NULL || !trc_is_slug(u->supply_id) || !trc_is_slug(u->version))
		return trc_call_fail(call, TRC_EINVAL, "evidence event without valid ids");
	/* Per-scenario keys carry nothing the per-supply evidence needs. */
	if (u->scenario_id != NULL && u->scenario_id[0] != '\0')
		return 0;
	trc_dbkey_t k;
	trc_dbkey_of(&k, u->supply_id, u->version);
	int rc = trc_rec_put(call->txn, trc_call_db(call, SCEN_DB_EV_VERSION), k.buf, k.len,
			     &u->base);
	return rc != 0 ? rc : s_recount_feedback(call, u->supply_id);
}

static int s_apply_demand(trc_call_t *call, Traction__V1__DemandUpdate *d)
{
	if (d == NULL)
		return trc_call_fail(call, TRC_EINVAL, "demand event without a payload");
	/* The event says the total so far per capability: store it as is. */
	for (size_t i = 0; i < d->n_demands; i++) {
		const Traction__V1__CapabilityDemand *cd = d->demands[i];
		if (!trc_is_slug(cd->capability))
			continue;
		uint8_t be[8];
		trc_be64_put(be, cd->signals);
		trc_txn_put(call->txn, trc_call_db(call, SCEN_DB_DEMAND), cd->capability,
			    strlen(cd->capability), be, 8, 0);
	}
	return call->txn->err;
}

int scenariod_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_SUPPLY:
		return s_apply_supply(call, ev->supply);
	case TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT:
		return s_apply_deployment(call, ev->deployment);
	case TRACTION__V1__EVENT__PAYLOAD_EVIDENCE:
		return s_apply_evidence(call, ev->evidence);
	case TRACTION__V1__EVENT__PAYLOAD_DEMAND:
		return s_apply_demand(call, ev->demand);
	default:
		return 0; /* providers, iterations, problems: nothing to index */
	}
}
