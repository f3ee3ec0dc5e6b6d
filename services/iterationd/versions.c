/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Versions (iterations) of a supply: record and get, each version but the
 * initial one naming an existing parent, so that a cycle cannot be
 * recorded (the tree they make: lineage.c); the evidence roll-up of a
 * version and the deltas between two; diff, what changed from one version
 * to another.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

#define NOTES_MAX 8000

int it_version_get(trc_call_t *call, const char *supply, const char *version,
		   Traction__V1__Iteration **out)
{
	trc_dbkey_t k;
	if (!trc_dbkey_of(&k, supply, version))
		return TRC_EINVAL;
	return trc_rec_get(call->txn, trc_call_db(call, IT_DB_VERSIONS), k.buf, k.len, call->arena,
			   (void **)out);
}

bool it_descends(trc_call_t *call, const char *supply, const char *version,
		 const char *ancestor)
{
	const char *cur = version;
	for (int depth = 0; depth < IT_VERSIONS_MAX && cur != NULL && cur[0] != '\0'; depth++) {
		if (strcmp(cur, ancestor) == 0)
			return true;
		Traction__V1__Iteration *it;
		if (it_version_get(call, supply, cur, &it) != 0)
			return false;
		cur = it->parent_version;
	}
	return false;
}

int it_evidence_raw(trc_call_t *call, const char *supply, const char *version,
		    const char *scenario, MDB_val *raw)
{
	trc_dbkey_t k;
	*raw = (MDB_val){ 0, NULL };
	if (!trc_dbkey_of(&k, supply, version, scenario))
		return TRC_EINVAL;
	int rc = trc_txn_get(call->txn, trc_call_db(call, IT_DB_EVIDENCE), k.buf, k.len, raw);
	return rc == TRC_ENOENT ? 0 : rc;
}

int it_evidence_decode(trc_call_t *call, trc_arena_t *arena, const MDB_val *raw,
		       const char *supply, const char *version, const char *scenario,
		       Traction__V1__EvidenceUpdate **out)
{
	if (raw->mv_data != NULL)
		return trc_rec_decode(trc_call_db(call, IT_DB_EVIDENCE), raw, arena, (void **)out);
	*out = trc_arena_alloc(arena, sizeof(**out));
	if (*out == NULL)
		return TRC_ENOMEM;
	traction__v1__evidence_update__init(*out);
	(*out)->supply_id = (char *)supply;
	(*out)->version = (char *)version;
	(*out)->scenario_id = (char *)scenario;
	return 0;
}

int it_evidence(trc_call_t *call, const char *supply, const char *version, const char *scenario,
		Traction__V1__EvidenceUpdate **out)
{
	MDB_val raw;
	int rc = it_evidence_raw(call, supply, version, scenario, &raw);
	return rc != 0 ? rc
		       : it_evidence_decode(call, call->arena, &raw, supply, version, scenario,
					    out);
}

static const Traction__V1__MetricSummary *s_metric(const Traction__V1__EvidenceUpdate *e,
						    const char *name)
{
	for (size_t i = 0; e != NULL && i < e->n_metrics; i++)
		if (strcmp(e->metrics[i]->name, name) == 0)
			return e->metrics[i];
	return NULL;
}

int it_deltas(trc_call_t *call, const Traction__V1__EvidenceUpdate *from,
	      const Traction__V1__EvidenceUpdate *to, Traction__V1__MetricDelta ***out, size_t *n)
{
	size_t cap = (from != NULL ? from->n_metrics : 0) + (to != NULL ? to->n_metrics : 0);
	*n = 0;
	*out = trc_arena_alloc(call->arena, sizeof(void *) * (cap > 0 ? cap : 1));
	if (*out == NULL)
		return TRC_ENOMEM;
	/* every metric of either side, the child's first */
	for (int side = 0; side < 2; side++) {
		const Traction__V1__EvidenceUpdate *e = side == 0 ? to : from;
		for (size_t i = 0; e != NULL && i < e->n_metrics; i++) {
			const char *name = e->metrics[i]->name;
			bool seen = false;
			for (size_t k = 0; k < *n && !seen; k++)
				seen = strcmp((*out)[k]->metric, name) == 0;
			if (seen)
				continue;
			const Traction__V1__MetricSummary *a = s_metric(from, name), *b = s_metric(to, name);
			Traction__V1__MetricDelta *d = trc_arena_alloc(call->arena, sizeof(*d));
			if (d == NULL)
				return TRC_ENOMEM;
			traction__v1__metric_delta__init(d);
			d->metric = (char *)name;
			d->from_mean = a != NULL ? a->mean : 0;
			d->to_mean = b != NULL ? b->mean : 0;
			d->from_count = a != NULL ? a->count : 0;
			d->to_count = b != NULL ? b->count : 0;
			if (a != NULL && b != NULL) {
				d->abs_delta = d->to_mean - d->from_mean;
				d->pct_delta = d->from_mean != 0 ? d->abs_delta / fabs(d->from_mean) * 100.0
								 : 0;
			}
			(*out)[(*n)++] = d;
		}
	}
	return 0;
}

/* ---- iteration.record / get ------------------------------------------------------ */

int it_version_store(trc_call_t *call, Traction__V1__Iteration *it)
{
	trc_dbkey_t k;
	trc_dbkey_of(&k, it->supply_id, it->version);
	int rc = trc_rec_put(call->txn, trc_call_db(call, IT_DB_VERSIONS), k.buf, k.len, &it->base);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ITERATION;
	ev.iteration = it;
	return trc_call_emit(call, "iteration.recorded", &ev);
}

int iterationd_record(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationRecordRequest *req = (const void *)req_;
	Traction__V1__IterationReply *rep = (void *)rep_;
	Traction__V1__Iteration *it = req->iteration;
	if (it == NULL)
		return trc_call_fail(call, TRC_EINVAL, "iteration: required");
	int rc = trc_check_slug(call, "iteration.supply_id", it->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "iteration.version", it->version);
	if (rc == 0 && (it->parent_version == NULL || it->parent_version[0] == '\0'))
		rc = trc_call_fail(call, TRC_EINVAL,
				   "iteration.parent_version: required (the initial version is "
				   "the one the supply was registered with)");
	if (rc == 0)
		rc = trc_check_slug(call, "iteration.parent_version", it->parent_version);
	if (rc == 0)
		rc = trc_check_text(call, "iteration.notes", it->notes, 0, NOTES_MAX);
	if (rc == 0)
		rc = trc_check_slugs(call, "iteration.addresses", it->addresses, it->n_addresses,
				     TRC_LIST_MAX);
	if (rc == 0 && it->n_addresses_records > TRC_LIST_MAX)
		rc = trc_call_fail(call, TRC_EINVAL, "iteration.addresses_records: at most %d",
				   TRC_LIST_MAX);
	if (rc == 0 && it->released_ms < 0)
		rc = trc_call_fail(call, TRC_EINVAL, "iteration.released_ms: before 1970");
	if (rc != 0)
		return rc;
	MDB_val v;
	rc = trc_txn_get(call->txn, trc_call_db(call, IT_DB_SUPPLIES), it->supply_id,
			 strlen(it->supply_id), &v);
	/* a supply just registered: its event may not be here yet */
	if (rc == TRC_ENOENT && trc_call_catch_up(call, "supply"))
		return TRC_EUNAVAIL;
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "iteration.supply_id: no supply '%s'", it->supply_id);
	if (rc != 0)
		return rc;
	Traction__V1__Iteration *parent;
	rc = it_version_get(call, it->supply_id, it->parent_version, &parent);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "iteration.parent_version: supply '%s' has no version '%s'",
				     it->supply_id, it->parent_version);
	if (rc != 0)
		return rc;
	Traction__V1__Iteration *existing;
	rc = it_version_get(call, it->supply_id, it->version, &existing);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "iteration.version: supply '%s' has a version '%s'",
				     it->supply_id, it->version);
	if (rc != TRC_ENOENT)
		return rc;
	it->recorded_ms = call->now_ms;
	if (it->released_ms == 0)
		it->released_ms = call->now_ms;
	rep->iteration = it;
	return it_version_store(call, it);
}

int iterationd_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationGetRequest *req = (const void *)req_;
	Traction__V1__IterationReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "version", req->version);
	if (rc != 0)
		return rc;
	rc = it_version_get(call, req->supply_id, req->version, &rep->iteration);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "version: supply '%s' has no version '%s'",
				     req->supply_id, req->version);
	return rc;
}

/* ---- diff ------------------------------------------------------------------------------ */

static bool s_has(char **list, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], v) == 0)
			return true;
	return false;
}

uint64_t it_open_critical(trc_call_t *call, const char *supply, const char *version,
			  const char *scenario)
{
	uint64_t n = 0;
	trc_iter_t it;
	if (trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_PROBLEMS), &it, supply,
			    strlen(supply), false) != 0)
		return 0;
	while (trc_iter_next(&it)) {
		Traction__V1__ProblemInfo *p;
		if (trc_iter_rec(&it, call->arena, (void **)&p) == 0 &&
		    p->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL &&
		    (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN ||
		     p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED) &&
		    s_has(p->versions, p->n_versions, version) &&
		    s_has(p->scenario_ids, p->n_scenario_ids, scenario))
			n++;
	}
	trc_iter_end(&it);
	return n;
}

/* On the path (from, to]: descends from `from` (exclusive) and is an
 * ancestor of `to` (inclusive). */
static bool s_on_path(trc_call_t *call, const char *supply, const char *v, const char *from,
		      const char *to)
{
	return v != NULL && v[0] != '\0' && strcmp(v, from) != 0 &&
	       it_descends(call, supply, v, from) && it_descends(call, supply, to, v);
}

/* The problems of the supply fixed, new and regressed from rep's
 * from_version to its to_version, into rep. */
static int s_diff_problems(trc_call_t *call, Traction__V1__IterationDiffReply *rep)
{
	const char *s = rep->supply_id, *fv = rep->from_version, *tv = rep->to_version;
	size_t cap = 16;
	char **fixed = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	char **fresh = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	char **regr = trc_arena_alloc(call->arena, sizeof(char *) * cap);
	size_t nf = 0, nn = 0, nr = 0, capf = cap, capn = cap, capr = cap;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, IT_DB_PROBLEMS), &it, s, strlen(s),
				 false);
	while (rc == 0 && fixed != NULL && fresh != NULL && regr != NULL && trc_iter_next(&it)) {
		Traction__V1__ProblemInfo *p;
		if (trc_iter_rec(&it, call->arena, (void **)&p) != 0)
			continue;
		char ***list = NULL;
		size_t *nl = NULL, *capl = NULL;
		bool in_from = s_has(p->versions, p->n_versions, fv);
		bool in_to = s_has(p->versions, p->n_versions, tv);
		if (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED &&
		    (s_on_path(call, s, p->regressed_in, fv, tv) || strcmp(p->regressed_in, tv) == 0)) {
			list = &regr, nl = &nr, capl = &capr;
		} else if (in_from && !in_to && s_on_path(call, s, p->addressed_by, fv, tv)) {
			list = &fixed, nl = &nf, capl = &capf;
		} else if (in_to && !in_from) {
			list = &fresh, nl = &nn, capl = &capn;
		}
		if (list == NULL)
			continue;
		if (*nl == *capl) {
			char **g = trc_arena_alloc(call->arena, sizeof(char *) * *capl * 2);
			if (g == NULL) {
				rc = TRC_ENOMEM;
				break;
			}
			memcpy(g, *list, sizeof(char *) * *capl);
			*list = g;
			*capl *= 2;
		}
		(*list)[(*nl)++] = p->signature;
	}
	trc_iter_end(&it);
	rep->problems_fixed = fixed;
	rep->n_problems_fixed = nf;
	rep->problems_new = fresh;
	rep->n_problems_new = nn;
	rep->regressions = regr;
	rep->n_regressions = nr;
	return rc != 0 ? rc : call->txn->err;
}

int iterationd_diff(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IterationDiffRequest *req = (const void *)req_;
	Traction__V1__IterationDiffReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", req->supply_id);
	if (rc == 0)
		rc = trc_check_slug(call, "from_version", req->from_version);
	if (rc == 0)
		rc = trc_check_slug(call, "to_version", req->to_version);
	if (rc != 0)
		return rc;
	const char *s = req->supply_id, *fv = req->from_version, *tv = req->to_version;
	Traction__V1__Iteration *a, *b;
	int ra = it_version_get(call, s, fv, &a);
	int rb = ra == 0 || ra == TRC_ENOENT ? it_version_get(call, s, tv, &b) : ra;
	/* a version not known may be the initial one of a supply just
	 * registered, its event not here yet */
	if ((ra == TRC_ENOENT || rb == TRC_ENOENT) && trc_call_catch_up(call, "supply"))
		return TRC_EUNAVAIL;
	if (ra == TRC_ENOENT)
		return trc_call_fail(call, ra, "from_version: supply '%s' has no version '%s'", s, fv);
	if (ra == 0 && rb == TRC_ENOENT)
		return trc_call_fail(call, rb, "to_version: supply '%s' has no version '%s'", s, tv);
	if (ra != 0 || rb != 0)
		return ra != 0 ? ra : rb;
	/* the versions are the catalogue; their sums over scenarios are not */
	if (!it_sees_supply_sums(call, s))
		return trc_scope_deny(call, "supply", s);
	Traction__V1__EvidenceUpdate *ea, *eb;
	if ((rc = it_evidence(call, s, fv, "", &ea)) != 0 || (rc = it_evidence(call, s, tv, "", &eb)) != 0)
		return rc;
	rep->supply_id = req->supply_id;
	rep->from_version = req->from_version;
	rep->to_version = req->to_version;
	rep->from_values = ea->values;
	rep->to_values = eb->values;
	if ((rc = it_deltas(call, ea, eb, &rep->deltas, &rep->n_deltas)) != 0)
		return rc;
	return s_diff_problems(call, rep);
}
