/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deployments: one supply version adopted into one scenario. It starts at
 * validation and climbs validation -> refinement -> pilot -> service ->
 * solution, one stage at a time, each step gated by evidence (gates.c);
 * an admin may force a step with a reason; moving back is allowed. Every
 * change is a transition kept in order, with the evidence that allowed it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "validate.h"
#include "traction/v1/bus.pb-c.h"

static int s_load(trc_call_t *call, const char *field, const char *id,
		  Traction__V1__Deployment **out)
{
	return trc_check_load(call, trc_call_db(call, IT_DB_DEPLOYMENTS), field, id, "deployment",
			      (void **)out);
}

static int s_scenario(trc_call_t *call, const char *id, Traction__V1__Scenario **out)
{
	return trc_rec_get(call->txn, trc_call_db(call, IT_DB_SCENARIOS), id, strlen(id),
			   call->arena, (void **)out);
}

/* The number of a transition's key (deployment, be64 n); 0 if the key
 * is not one. */
static uint64_t s_transition_n(const MDB_val *key)
{
	trc_dbsplit_t sp;
	size_t l;
	trc_dbsplit_init(&sp, key);
	trc_dbsplit_str(&sp, &l);
	uint64_t n = trc_dbsplit_be64(&sp);
	return trc_dbsplit_done(&sp) ? n : 0;
}

/* The next transition number of a deployment: one past its last. */
static uint64_t s_next_transition(trc_call_t *call, const char *id)
{
	const trc_db_t *db = trc_call_db(call, IT_DB_TRANSITIONS);
	trc_iter_t it;
	uint64_t next = 1;
	if (trc_iter_prefix(call->txn, db, &it, id, strlen(id), true) == 0 && trc_iter_next(&it) &&
	    s_transition_n(&it.key) > 0)
		next = s_transition_n(&it.key) + 1;
	trc_iter_end(&it);
	return next;
}

/* The deployment an index entry names: its key's last part (the index by
 * version has three, by scenario two). */
static int s_indexed(trc_call_t *call, const MDB_val *key, int parts,
		     Traction__V1__Deployment **out)
{
	trc_dbsplit_t sp;
	size_t idlen = 0;
	const char *id = "";
	trc_dbsplit_init(&sp, key);
	for (int i = 0; i < parts; i++)
		id = trc_dbsplit_str(&sp, &idlen);
	if (!trc_dbsplit_done(&sp))
		return TRC_ECORRUPT;
	return trc_rec_get(call->txn, trc_call_db(call, IT_DB_DEPLOYMENTS), id, idlen, call->arena,
			   (void **)out);
}

/* Stores the deployment and its transition, indexes it, and emits type. */
/* Stores the deployment and its new transition t (NULL: out of memory),
 * indexes it, emits `type`, and answers with both. */
static int s_save(trc_call_t *call, Traction__V1__DeploymentReply *rep,
		  Traction__V1__Deployment *d, Traction__V1__Transition *t, const char *type)
{
	if (t == NULL)
		return TRC_ENOMEM;
	rep->deployment = d;
	rep->transition = t;
	d->updated_ms = call->now_ms;
	int rc = trc_rec_put(call->txn, trc_call_db(call, IT_DB_DEPLOYMENTS), d->id, strlen(d->id),
			     &d->base);
	trc_dbkey_t k;
	trc_dbkey_init(&k);
	trc_dbkey_str(&k, d->id);
	trc_dbkey_be64(&k, s_next_transition(call, d->id));
	t->at_ms = call->now_ms;
	t->version = d->version;
	t->actor = (char *)call->client_id;
	if (rc == 0)
		rc = trc_rec_put(call->txn, trc_call_db(call, IT_DB_TRANSITIONS), k.buf, k.len,
				 &t->base);
	if (rc == 0 && trc_dbkey_of(&k, d->supply_id, d->version, d->id))
		rc = trc_txn_put(call->txn, trc_call_db(call, IT_DB_DEP_BY_VERSION), k.buf, k.len,
				 "", 0, 0);
	if (rc == 0 && trc_dbkey_of(&k, d->scenario_id, d->id))
		rc = trc_txn_put(call->txn, trc_call_db(call, IT_DB_DEP_BY_SCENARIO), k.buf, k.len,
				 "", 0, 0);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT;
	ev.deployment = d;
	return trc_call_emit(call, type, &ev);
}

static Traction__V1__Transition *s_transition(trc_call_t *call, int kind, int from, int to,
					      const char *reason)
{
	Traction__V1__Transition *t = trc_arena_alloc(call->arena, sizeof(*t));
	if (t == NULL)
		return NULL;
	traction__v1__transition__init(t);
	t->kind = kind;
	t->from_stage = from;
	t->to_stage = to;
	t->reason = (char *)reason;
	return t;
}

/* An active deployment of this supply in this scenario, if any. */
static int s_existing(trc_call_t *call, const char *scenario, const char *supply,
		      Traction__V1__Deployment **out)
{
	trc_iter_t it;
	*out = NULL;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_DEP_BY_SCENARIO), &it, scenario,
				 strlen(scenario), false);
	while (rc == 0 && *out == NULL && trc_iter_next(&it)) {
		Traction__V1__Deployment *d;
		if (s_indexed(call, &it.key, 2, &d) != 0)
			continue;
		if (d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE &&
		    strcmp(d->supply_id, supply) == 0)
			*out = d;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int iterationd_adopt(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentAdoptRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "scenario_id", req->scenario_id);
	if (rc == 0)
		rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "version", req->version);
	if (rc != 0)
		return rc;
	Traction__V1__Scenario *sc;
	rc = s_scenario(call, req->scenario_id, &sc);
	/* a scenario just submitted: its event may not be here yet */
	if (rc == TRC_ENOENT && trc_call_catch_up(call, "scenario"))
		return TRC_EUNAVAIL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "scenario_id: no scenario '%s'", req->scenario_id);
	if (rc != 0)
		return rc;
	if (sc->status == TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED)
		return trc_call_fail(call, TRC_EPRECOND, "scenario_id: '%s' is closed", req->scenario_id);
	Traction__V1__Iteration *v;
	rc = it_version_get(call, req->supply_id, req->version, &v);
	/* the initial version of a supply just registered */
	if (rc == TRC_ENOENT && trc_call_catch_up(call, "supply"))
		return TRC_EUNAVAIL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "version: supply '%s' has no version '%s'",
				     req->supply_id, req->version);
	if (rc != 0)
		return rc;
	Traction__V1__Deployment *old;
	if ((rc = s_existing(call, req->scenario_id, req->supply_id, &old)) != 0)
		return rc;
	if (old != NULL)
		return trc_call_fail(call, TRC_EEXIST,
				     "scenario '%s' already runs supply '%s' as deployment '%s' "
				     "(upgrade it instead)",
				     req->scenario_id, req->supply_id, old->id);

	Traction__V1__Deployment *d = trc_arena_alloc(call->arena, sizeof(*d));
	if (d == NULL)
		return TRC_ENOMEM;
	traction__v1__deployment__init(d);
	size_t n = 0;
	/* ids dep-1, dep-2, ...: the count of deployments so far, plus one */
	trc_txn_entries(call->txn, trc_call_db(call, IT_DB_DEPLOYMENTS), &n);
	d->id = trc_arena_printf(call->arena, "dep-%llu", (unsigned long long)n + 1);
	if (d->id == NULL)
		return TRC_ENOMEM;
	d->scenario_id = req->scenario_id;
	d->supply_id = req->supply_id;
	d->version = req->version;
	d->stage = TRACTION__V1__STAGE__STAGE_VALIDATION;
	d->status = TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE;
	d->adopted_ms = call->now_ms;
	Traction__V1__Transition *t = s_transition(call, TRACTION__V1__TRANSITION_KIND__TRANSITION_ADOPT,
						   0, d->stage, NULL);
	return s_save(call, rep, d, t, "deployment.adopted");
}

int iterationd_upgrade(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentUpgradeRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	Traction__V1__Deployment *d;
	int rc = s_load(call, "deployment_id", req->deployment_id, &d);
	if (rc == 0)
		rc = trc_check_slug(call, "version", req->version);
	if (rc == 0)
		rc = trc_check_text(call, "reason", req->reason, 0, TRC_TEXT_MAX);
	if (rc != 0)
		return rc;
	if (d->status != TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE)
		return trc_call_fail(call, TRC_EPRECOND, "deployment_id: '%s' is retired", d->id);
	Traction__V1__Iteration *v;
	rc = it_version_get(call, d->supply_id, req->version, &v);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "version: supply '%s' has no version '%s'", d->supply_id,
				     req->version);
	if (rc != 0)
		return rc;
	if (strcmp(req->version, d->version) == 0 ||
	    !it_descends(call, d->supply_id, req->version, d->version))
		return trc_call_fail(call, TRC_EPRECOND,
				     "version: '%s' is not a newer version of '%s' (it must descend "
				     "from it)",
				     req->version, d->version);
	/* the old version's index entry goes; the new one is written by s_save */
	trc_dbkey_t k;
	trc_dbkey_of(&k, d->supply_id, d->version, d->id);
	trc_txn_del(call->txn, trc_call_db(call, IT_DB_DEP_BY_VERSION), k.buf, k.len);
	d->version = req->version;
	Traction__V1__Transition *t = s_transition(
		call, TRACTION__V1__TRANSITION_KIND__TRANSITION_UPGRADE, d->stage, d->stage, req->reason);
	return s_save(call, rep, d, t, "deployment.upgraded");
}

/* Scenarios in which this supply version is active at service or beyond. */
static uint64_t s_in_service(trc_call_t *call, const char *supply, const char *version)
{
	trc_dbkey_t k;
	trc_dbkey_of(&k, supply, version);
	uint64_t n = 0;
	trc_iter_t it;
	if (trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_DEP_BY_VERSION), &it, k.buf, k.len,
			    false) == 0) {
		while (trc_iter_next(&it)) {
			Traction__V1__Deployment *d;
			if (s_indexed(call, &it.key, 3, &d) != 0)
				continue;
			if (d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE &&
			    d->stage >= TRACTION__V1__STAGE__STAGE_SERVICE)
				n++;
		}
	}
	trc_iter_end(&it);
	return n;
}

/* The gate of every stage from d's next one up to `to` (several stages up
 * at once pass each on the way), joined into *g; the unmet ones in words
 * into unmet ("to pilot: metric_records is 3, needs >= 20; to ..."). */
static int s_judge(trc_call_t *call, const Traction__V1__Deployment *d, int to, it_gate_t *g,
		   char *unmet, size_t unmet_len)
{
	it_state_t *st = call->user;
	Traction__V1__EvidenceUpdate *e;
	Traction__V1__Scenario *sc = NULL;
	int rc = it_evidence(call, d->supply_id, d->version, d->scenario_id, &e);
	if (rc != 0)
		return rc;
	if (s_scenario(call, d->scenario_id, &sc) != 0)
		sc = NULL;
	uint64_t critical = it_open_critical(call, d->supply_id, d->version, d->scenario_id);
	*g = (it_gate_t){ .met = true };
	size_t ulen = 0;
	unmet[0] = '\0';
	for (int stage = d->stage + 1; stage <= to; stage++) {
		it_gate_t one;
		uint64_t in_service = stage == TRACTION__V1__STAGE__STAGE_SOLUTION
					      ? s_in_service(call, d->supply_id, d->version)
					      : 0;
		rc = it_gate(call->arena, &st->gates, stage, e, sc, in_service, critical, &one);
		if (rc == 0)
			rc = it_gate_join(call->arena, g, &one);
		if (rc != 0)
			return rc;
		if (!one.met) {
			int n = snprintf(unmet + ulen, unmet_len - ulen, "%sto %s: %s",
					 ulen > 0 ? "; " : "",
					 trc_enum_label(call->arena, &traction__v1__stage__descriptor, stage),
					 it_gate_unmet(call->arena, &one));
			if (n > 0 && (size_t)n < unmet_len - ulen)
				ulen += (size_t)n;
		}
	}
	return 0;
}

int iterationd_advance(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentAdvanceRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	Traction__V1__Deployment *d;
	/* the request's own fields first: a bad one is the caller's to fix
	 * whatever the store holds */
	int rc = trc_check_enum(call, "to", req->to, &traction__v1__stage__descriptor, false);
	if (rc == 0)
		rc = trc_check_text(call, "reason", req->reason, 0, TRC_TEXT_MAX);
	if (rc == 0)
		rc = s_load(call, "deployment_id", req->deployment_id, &d);
	if (rc != 0)
		return rc;
	if (d->status != TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE)
		return trc_call_fail(call, TRC_EPRECOND, "deployment_id: '%s' is retired", d->id);
	const char *to_name = trc_enum_label(call->arena, &traction__v1__stage__descriptor, req->to);
	if ((int)req->to == (int)d->stage)
		return trc_call_fail(call, TRC_EPRECOND, "to: '%s' is already at %s", d->id, to_name);
	if (req->force) {
		if (call->role != TRACTION__V1__ROLE__ROLE_ADMIN)
			return trc_call_fail(call, TRC_EPERM, "force: only an admin may force a stage");
		if (req->reason == NULL || req->reason[0] == '\0')
			return trc_call_fail(call, TRC_EINVAL, "reason: a forced move needs a reason");
	}
	Traction__V1__Transition *t;
	if ((int)req->to < (int)d->stage) {
		t = s_transition(call, TRACTION__V1__TRANSITION_KIND__TRANSITION_BACK, d->stage, req->to,
				 req->reason);
	} else {
		it_gate_t g;
		char unmet[1024];
		if ((rc = s_judge(call, d, (int)req->to, &g, unmet, sizeof(unmet))) != 0)
			return rc;
		rep->criteria = g.c;
		rep->n_criteria = g.n;
		if (!g.met && !req->force) {
			if ((rc = it_gate_details(call, &g)) != 0)
				return rc;
			return trc_call_fail(call, TRC_EPRECOND, "to %s refused: %s", to_name, unmet);
		}
		t = s_transition(call, TRACTION__V1__TRANSITION_KIND__TRANSITION_ADVANCE, d->stage,
				 req->to, req->reason);
		if (t != NULL) {
			t->forced = req->force;
			t->evidence = g.c;
			t->n_evidence = g.n;
		}
	}
	/* a forced or backward move is an administrative change: audited,
	 * with where it went from and to (an advance the gates allowed is the
	 * evidence's doing, and is in the deployment's history) */
	bool back = (int)req->to < (int)d->stage;
	if (req->force || back) {
		const char *from_name = trc_enum_label(call->arena, &traction__v1__stage__descriptor,
						       d->stage);
		rc = trc_call_audit(call, "deployment.advance", d->id, req->reason,
				    (const char *const[]){ "from", from_name, "to", to_name, "forced",
							   req->force ? "true" : "false",
							   "backward", back ? "true" : "false", NULL });
		if (rc != 0)
			return rc;
	}
	d->stage = req->to;
	return s_save(call, rep, d, t, "deployment.advanced");
}

int iterationd_retire(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentRetireRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	Traction__V1__Deployment *d;
	int rc = s_load(call, "deployment_id", req->deployment_id, &d);
	if (rc == 0)
		rc = trc_check_text(call, "reason", req->reason, 0, TRC_TEXT_MAX);
	if (rc != 0)
		return rc;
	if (d->status != TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE)
		return trc_call_fail(call, TRC_EPRECOND, "deployment_id: '%s' is already retired", d->id);
	rc = trc_call_audit(call, "deployment.retire", d->id, req->reason,
			    (const char *const[]){ "scenario", d->scenario_id, "supply", d->supply_id,
						   "version", d->version, NULL });
	if (rc != 0)
		return rc;
	d->status = TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_RETIRED;
	Traction__V1__Transition *t = s_transition(
		call, TRACTION__V1__TRANSITION_KIND__TRANSITION_RETIRE, d->stage, d->stage, req->reason);
	return s_save(call, rep, d, t, "deployment.retired");
}

/* A deployment a reader names: refused when it is outside its scope. */
static int s_load_seen(trc_call_t *call, const char *field, const char *id,
		       Traction__V1__Deployment **out)
{
	int rc = s_load(call, field, id, out);
	if (rc == 0 && !it_sees_deployment(call, (*out)->scenario_id, (*out)->supply_id))
		return trc_scope_deny(call, "deployment", id);
	return rc;
}

int iterationd_dep_gates(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentGatesRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	int rc = trc_check_enum(call, "to", req->to, &traction__v1__stage__descriptor, true);
	if (rc == 0)
		rc = s_load_seen(call, "deployment_id", req->deployment_id, &rep->deployment);
	if (rc != 0)
		return rc;
	const Traction__V1__Deployment *d = rep->deployment;
	int to = req->to != 0 ? (int)req->to : (int)d->stage + 1;
	if (to > TRACTION__V1__STAGE__STAGE_SOLUTION)
		return 0; /* at the last stage: nothing above to judge */
	it_gate_t g;
	char unmet[1024];
	if ((rc = s_judge(call, d, to, &g, unmet, sizeof(unmet))) != 0)
		return rc;
	rep->criteria = g.c;
	rep->n_criteria = g.n;
	return 0;
}

int iterationd_dep_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__DeploymentReply *rep = (void *)rep_;
	return s_load_seen(call, "id", req->id, &rep->deployment);
}

/* How many deployments a scoped list passes over (outside the scope) in
 * one call before it answers with what it found and a cursor to go on. */
#define LIST_SCAN_MAX 10000

int iterationd_dep_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentListRequest *q = (const void *)req_;
	Traction__V1__DeploymentListReply *rep = (void *)rep_;
	int rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "supply_id", q->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "version", q->version);
	if (rc == 0)
		rc = trc_check_enum(call, "stage", q->stage, &traction__v1__stage__descriptor, true);
	if (rc == 0)
		rc = trc_check_enum(call, "status", q->status,
				    &traction__v1__deployment_status__descriptor, true);
	const char *cursor = trc_page_cursor(q->page);
	if (rc == 0 && cursor[0] != '\0' && !trc_is_slug(cursor))
		rc = trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	if (rc != 0)
		return rc;
	size_t limit = trc_page_limit(q->page, 100, 1000);
	rep->deployments = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->deployments == NULL)
		return TRC_ENOMEM;
	trc_dbkey_t lo; /* just after the cursor */
	trc_dbkey_of(&lo, cursor);
	if (lo.len > 0)
		trc_dbkey_sep(&lo);
	trc_iter_t it;
	size_t hidden = 0;
	rc = trc_iter_begin(call->txn, trc_call_db(call, IT_DB_DEPLOYMENTS), &it,
			    lo.len ? lo.buf : NULL, lo.len, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Deployment *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		if ((q->scenario_id && q->scenario_id[0] && strcmp(q->scenario_id, d->scenario_id)) ||
		    (q->supply_id && q->supply_id[0] && strcmp(q->supply_id, d->supply_id)) ||
		    (q->version && q->version[0] && strcmp(q->version, d->version)) ||
		    (q->stage != 0 && q->stage != d->stage) ||
		    (q->status != 0 && q->status != d->status))
			continue;
		if (!it_sees_deployment(call, d->scenario_id, d->supply_id)) {
			/* a page may come back short, never the scan unbounded:
			 * the cursor goes on after the last one passed over */
			if (++hidden == LIST_SCAN_MAX) {
				rep->next_cursor = trc_arena_strdup(call->arena, d->id);
				break;
			}
			continue;
		}
		if (rep->n_deployments == limit) {
			rep->next_cursor = trc_arena_strdup(call->arena, rep->deployments[limit - 1]->id);
			break;
		}
		rep->deployments[rep->n_deployments++] = d;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int iterationd_dep_history(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DeploymentHistoryRequest *q = (const void *)req_;
	Traction__V1__DeploymentHistoryReply *rep = (void *)rep_;
	int rc = s_load_seen(call, "deployment_id", q->deployment_id, &rep->deployment);
	if (rc != 0)
		return rc;
	const char *cursor = trc_page_cursor(q->page);
	uint64_t after = 0;
	if (cursor[0] != '\0') {
		char *end;
		after = strtoull(cursor, &end, 10);
		if (*end != '\0')
			return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	}
	size_t limit = trc_page_limit(q->page, 100, 1000);
	int64_t from = q->range != NULL ? q->range->from_ms : 0, to = q->range != NULL ? q->range->to_ms : 0;
	trc_dbkey_t lo, hi; /* the deployment's transitions after the cursor */
	trc_dbkey_init(&lo);
	trc_dbkey_str(&lo, q->deployment_id);
	trc_dbkey_be64(&lo, after + 1);
	trc_dbkey_of(&hi, q->deployment_id);
	trc_dbkey_past(&hi);
	rep->transitions = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	size_t vcap = 8;
	if (rep->transitions == NULL)
		return TRC_ENOMEM;
	trc_iter_t it;
	uint64_t last = after;
	rc = trc_iter_begin(call->txn, trc_call_db(call, IT_DB_TRANSITIONS), &it, lo.buf, lo.len,
			    hi.buf, hi.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Transition *t;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&t)) != 0)
			break;
		/* the versions it ran, with when (from the whole timeline) */
		if (t->kind == TRACTION__V1__TRANSITION_KIND__TRANSITION_ADOPT ||
		    t->kind == TRACTION__V1__TRANSITION_KIND__TRANSITION_UPGRADE) {
			if (rep->n_versions > 0)
				rep->versions[rep->n_versions - 1]->to_ms = t->at_ms;
			rep->versions = trc_arena_grow(call->arena, rep->versions, rep->n_versions,
						       &vcap, sizeof(*rep->versions));
			Traction__V1__VersionSpan *vs = trc_arena_alloc(call->arena, sizeof(*vs));
			if (rep->versions == NULL || vs == NULL) {
				rc = TRC_ENOMEM; /* the cursor is closed below */
				break;
			}
			traction__v1__version_span__init(vs);
			vs->version = t->version;
			vs->from_ms = t->at_ms;
			rep->versions[rep->n_versions++] = vs;
		}
		if ((from != 0 && t->at_ms < from) || (to != 0 && t->at_ms >= to))
			continue;
		if (rep->n_transitions == limit) {
			rep->next_cursor = trc_arena_printf(call->arena, "%llu", (unsigned long long)last);
			break;
		}
		rep->transitions[rep->n_transitions++] = t;
		last = s_transition_n(&it.key);
	}
	trc_iter_end(&it);
	if (rc == 0 && rep->n_versions > 0 &&
	    rep->deployment->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_RETIRED)
		rep->versions[rep->n_versions - 1]->to_ms = rep->deployment->updated_ms;
	return rc != 0 ? rc : call->txn->err;
}
