/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenarios: real application settings at an enterprise, with demands
 * (required capabilities, constraints, target metrics). Submit, update,
 * close, get, list. Two indexes: every scenario by capability (for list)
 * and open scenarios by capability (for gaps). A scoped reader gets and
 * lists only the scenarios it sees (scope.c).
 */
#include <stdio.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "record.h"
#include "scenariod.h"
#include "scope.h"
#include "util.h"
#include "validate.h"
#include "traction/v1/scenario.pb-c.h"

#define DEMANDS_MAX 32
#define CONSTRAINT_VALUE_MAX 200

size_t scenariod_required(const Traction__V1__Scenario *s, const char **caps)
{
	size_t n = 0;
	for (size_t d = 0; d < s->n_demands; d++) {
		const Traction__V1__Demand *dm = s->demands[d];
		for (size_t i = 0; i < dm->n_capabilities; i++) {
			bool seen = false;
			for (size_t k = 0; k < n && !seen; k++)
				seen = strcmp(caps[k], dm->capabilities[i]) == 0;
			if (!seen && n < SCEN_CAPS_MAX)
				caps[n++] = dm->capabilities[i];
		}
	}
	return n;
}

static int s_validate_demand(trc_call_t *call, Traction__V1__Demand *d, size_t idx)
{
	char f[128];
	int rc;
	if (d->id == NULL || d->id[0] == '\0')
		d->id = trc_arena_printf(call->arena, "d%zu", idx + 1);
	snprintf(f, sizeof(f), "scenario.demands[%zu].id", idx);
	if ((rc = trc_check_slug(call, f, d->id)) != 0)
		return rc;
	snprintf(f, sizeof(f), "scenario.demands[%zu].description", idx);
	if ((rc = trc_check_text(call, f, d->description, 0, TRC_TEXT_MAX)) != 0)
		return rc;
	snprintf(f, sizeof(f), "scenario.demands[%zu].capabilities", idx);
	if ((rc = trc_check_slugs(call, f, d->capabilities, d->n_capabilities, TRC_LIST_MAX)) != 0)
		return rc;
	snprintf(f, sizeof(f), "scenario.demands[%zu].constraints", idx);
	if ((rc = trc_check_pairs(call, f, d->constraints, d->n_constraints, TRC_LIST_MAX,
				  CONSTRAINT_VALUE_MAX)) != 0)
		return rc;
	if (d->n_targets > TRC_LIST_MAX)
		return trc_call_fail(call, TRC_EINVAL, "scenario.demands[%zu].targets: at most %d",
				     idx, TRC_LIST_MAX);
	for (size_t t = 0; t < d->n_targets; t++) {
		Traction__V1__TargetMetric *tm = d->targets[t];
		snprintf(f, sizeof(f), "scenario.demands[%zu].targets[%zu].metric", idx, t);
		if ((rc = trc_check_slug(call, f, tm->metric)) != 0)
			return rc;
		snprintf(f, sizeof(f), "scenario.demands[%zu].targets[%zu].comparison", idx, t);
		if ((rc = trc_check_enum(call, f, tm->comparison,
					 &traction__v1__comparison__descriptor, false)) != 0)
			return rc;
		snprintf(f, sizeof(f), "scenario.demands[%zu].targets[%zu].threshold", idx, t);
		if ((rc = trc_check_value(call, f, tm->threshold)) != 0)
			return rc;
	}
	return 0;
}

static int s_validate(trc_call_t *call, Traction__V1__Scenario *s)
{
	int rc = trc_check_slug(call, "scenario.id", s->id);
	if (rc == 0)
		rc = trc_check_text(call, "scenario.enterprise", s->enterprise, 1, TRC_NAME_MAX);
	if (rc == 0)
		rc = trc_check_enum(call, "scenario.domain", s->domain,
				    &traction__v1__domain__descriptor, false);
	if (rc == 0)
		rc = trc_check_text(call, "scenario.name", s->name, 1, TRC_NAME_MAX);
	if (rc == 0)
		rc = trc_check_text(call, "scenario.description", s->description, 0, TRC_TEXT_MAX);
	if (rc == 0 && s->n_demands > DEMANDS_MAX)
		rc = trc_call_fail(call, TRC_EINVAL, "scenario.demands: at most %d, got %zu",
				   DEMANDS_MAX, s->n_demands);
	for (size_t i = 0; rc == 0 && i < s->n_demands; i++) {
		rc = s_validate_demand(call, s->demands[i], i);
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (strcmp(s->demands[i]->id, s->demands[j]->id) == 0)
				rc = trc_call_fail(call, TRC_EINVAL,
						   "scenario.demands[%zu].id: '%s' appears twice", i,
						   s->demands[i]->id);
	}
	if (rc == 0) {
		/* The union is what matching works with: keep it bounded. */
		size_t total = 0;
		for (size_t i = 0; i < s->n_demands; i++)
			total += s->demands[i]->n_capabilities;
		const char *caps[SCEN_CAPS_MAX];
		if (total > SCEN_CAPS_MAX && scenariod_required(s, caps) == SCEN_CAPS_MAX)
			rc = trc_call_fail(call, TRC_EINVAL,
					   "scenario.demands: more than %d distinct capabilities",
					   SCEN_CAPS_MAX);
	}
	return rc;
}

/* Adds or removes the scenario's capability index entries. */
static int s_index(trc_call_t *call, const Traction__V1__Scenario *s, bool add)
{
	const char *caps[SCEN_CAPS_MAX];
	size_t n = scenariod_required(s, caps);
	const trc_db_t *all = trc_call_db(call, SCEN_DB_BY_CAP);
	const trc_db_t *opened = trc_call_db(call, SCEN_DB_OPEN_BY_CAP);
	trc_dbkey_t k;
	uint8_t domain = (uint8_t)s->domain;
	bool open = s->status == TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN;
	for (size_t i = 0; i < n; i++) {
		trc_dbkey_of(&k, caps[i], s->id);
		if (add) {
			trc_txn_put(call->txn, all, k.buf, k.len, "", 0, 0);
			if (open)
				trc_txn_put(call->txn, opened, k.buf, k.len, &domain, 1, 0);
		} else {
			trc_txn_del(call->txn, all, k.buf, k.len);
			trc_txn_del(call->txn, opened, k.buf, k.len);
		}
	}
	return call->txn->err;
}

static int s_save(trc_call_t *call, const char *type, Traction__V1__Scenario *s)
{
	int rc = trc_rec_put(call->txn, trc_call_db(call, SCEN_DB_SCENARIOS), s->id, strlen(s->id),
			     &s->base);
	if (rc == 0)
		rc = s_index(call, s, true);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = s;
	return trc_call_emit(call, type, &ev);
}

static int s_load(trc_call_t *call, const char *field, const char *id,
		  Traction__V1__Scenario **out)
{
	return trc_check_load(call, trc_call_db(call, SCEN_DB_SCENARIOS), field, id, "scenario",
			      (void **)out);
}

int scenariod_submit(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ScenarioSubmitRequest *req = (const void *)req_;
	Traction__V1__ScenarioReply *rep = (void *)rep_;
	if (req->scenario == NULL)
		return trc_call_fail(call, TRC_EINVAL, "scenario: required");
	Traction__V1__Scenario *s = req->scenario;
	int rc = s_validate(call, s);
	if (rc != 0)
		return rc;
	MDB_val v;
	rc = trc_txn_get(call->txn, trc_call_db(call, SCEN_DB_SCENARIOS), s->id, strlen(s->id), &v);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "scenario.id: '%s' is already submitted", s->id);
	if (rc != TRC_ENOENT)
		return rc;
	s->status = TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN;
	s->created_ms = s->updated_ms = call->now_ms;
	s->closed_reason = NULL;
	rep->scenario = s;
	return s_save(call, "scenario.submitted", s);
}

static const char *const s_fields[] = { "enterprise", "name", "description", "domain", "demands",
					NULL };

int scenariod_update(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ScenarioUpdateRequest *req = (const void *)req_;
	Traction__V1__ScenarioReply *rep = (void *)rep_;
	Traction__V1__Scenario *cur = NULL;
	if (req->scenario == NULL)
		return trc_call_fail(call, TRC_EINVAL, "scenario: required");
	const Traction__V1__Scenario *in = req->scenario;
	int rc = trc_check_mask(call, req->update_mask, req->n_update_mask, s_fields);
	if (rc == 0)
		rc = s_load(call, "scenario.id", in->id, &cur);
	if (rc != 0)
		return rc;
	if (cur->status == TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED)
		return trc_call_fail(call, TRC_EPRECOND, "scenario.id: '%s' is closed", cur->id);
	if ((rc = s_index(call, cur, false)) != 0)
		return rc;
	char **m = req->update_mask;
	size_t n = req->n_update_mask;
	if (trc_mask_has(m, n, "enterprise"))
		cur->enterprise = in->enterprise;
	if (trc_mask_has(m, n, "name"))
		cur->name = in->name;
	if (trc_mask_has(m, n, "description"))
		cur->description = in->description;
	if (trc_mask_has(m, n, "domain"))
		cur->domain = in->domain;
	if (trc_mask_has(m, n, "demands")) {
		cur->demands = in->demands;
		cur->n_demands = in->n_demands;
	}
	if ((rc = s_validate(call, cur)) != 0)
		return rc;
	cur->updated_ms = call->now_ms;
	rep->scenario = cur;
	return s_save(call, "scenario.updated", cur);
}

int scenariod_close(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ScenarioCloseRequest *req = (const void *)req_;
	Traction__V1__ScenarioReply *rep = (void *)rep_;
	Traction__V1__Scenario *cur = NULL;
	int rc = s_load(call, "id", req->id, &cur);
	if (rc == 0)
		rc = trc_check_text(call, "reason", req->reason, 0, TRC_TEXT_MAX);
	if (rc != 0)
		return rc;
	if (cur->status == TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED)
		return trc_call_fail(call, TRC_EPRECOND, "id: '%s' is already closed", cur->id);
	if ((rc = s_index(call, cur, false)) != 0)
		return rc;
	if ((rc = trc_call_audit(call, "scenario.close", cur->id, req->reason, NULL)) != 0)
		return rc;
	cur->status = TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED;
	cur->closed_reason = req->reason;
	cur->updated_ms = call->now_ms;
	rep->scenario = cur;
	return s_save(call, "scenario.closed", cur);
}

int scenariod_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__ScenarioReply *rep = (void *)rep_;
	Traction__V1__Scenario *s = NULL;
	int rc = s_load(call, "id", req->id, &s);
	if (rc != 0)
		return rc;
	if (!scenariod_sees(call, s))
		return trc_scope_deny(call, "scenario", s->id);
	rep->scenario = s;
	return 0;
}

static bool s_matches(const Traction__V1__ScenarioListRequest *req,
		      const Traction__V1__Scenario *s)
{
	if (req->domain != 0 && s->domain != req->domain)
		return false;
	if (req->status != 0 && s->status != req->status)
		return false;
	if (req->enterprise != NULL && req->enterprise[0] != '\0' &&
	    strcmp(req->enterprise, s->enterprise) != 0)
		return false;
	return true;
}

int scenariod_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ScenarioListRequest *req = (const void *)req_;
	Traction__V1__ScenarioListReply *rep = (void *)rep_;
	int rc = trc_check_enum(call, "domain", req->domain, &traction__v1__domain__descriptor, true);
	if (rc == 0)
		rc = trc_check_enum(call, "status", req->status,
				    &traction__v1__scenario_status__descriptor, true);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "capability", req->capability);
	if (rc == 0)
		rc = trc_check_text(call, "enterprise", req->enterprise, 0, TRC_NAME_MAX);
	const char *cursor = trc_page_cursor(req->page);
	if (rc == 0 && cursor[0] != '\0' && !trc_is_slug(cursor))
		rc = trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	if (rc != 0)
		return rc;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	rep->scenarios = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->scenarios == NULL)
		return TRC_ENOMEM;

	bool by_cap = req->capability != NULL && req->capability[0] != '\0';
	trc_dbkey_t lo, hi;
	trc_dbkey_init(&hi);
	if (by_cap) {
		trc_dbkey_of(&lo, req->capability, cursor);
		trc_dbkey_of(&hi, req->capability);
		trc_dbkey_past(&hi);
	} else {
		trc_dbkey_of(&lo, cursor);
	}
	if (cursor[0] != '\0')
		trc_dbkey_sep(&lo); /* strictly after the cursor */
	/* A scoped reader's page keeps scanning past what it does not see, so
	 * it is not short for that, but only so far: then it ends early and
	 * its cursor resumes after the last record scanned. */
	bool scoped = !scenariod_sees_all(call);
	size_t skipped = 0;
	trc_iter_t it;
	const trc_db_t *db = trc_call_db(call, by_cap ? SCEN_DB_BY_CAP : SCEN_DB_SCENARIOS);
	rc = trc_iter_begin(call->txn, db, &it, lo.len ? lo.buf : NULL, lo.len,
			    hi.len ? hi.buf : NULL, hi.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Scenario *s = NULL;
		if (by_cap) {
			trc_dbsplit_t sp; /* capability, scenario */
			size_t idlen;
			trc_dbsplit_init(&sp, &it.key);
			trc_dbsplit_str(&sp, &idlen);
			const char *id = trc_dbsplit_str(&sp, &idlen);
			rc = trc_rec_get(call->txn, trc_call_db(call, SCEN_DB_SCENARIOS), id, idlen,
					 call->arena, (void **)&s);
		} else {
			rc = trc_iter_rec(&it, call->arena, (void **)&s);
		}
		if (rc != 0)
			break;
		if (!s_matches(req, s) || (scoped && !scenariod_sees(call, s))) {
			if (scoped && ++skipped == SCEN_LIST_SKIP_MAX) {
				rep->next_cursor = s->id;
				break;
			}
			continue;
		}
		if (rep->n_scenarios == limit) {
			rep->next_cursor = trc_arena_strdup(call->arena, rep->scenarios[limit - 1]->id);
			break;
		}
		rep->scenarios[rep->n_scenarios++] = s;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}
