/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Problems and their state: a problem is identified by (supply,
 * signature), or by its record for problems without one. It is open until
 * an iteration that addresses it is recorded (iteration events), and comes
 * back as a regression when the same signature is reported against the
 * addressing version or one descending from it.
 *
 * Two indexes tie problems to where they were reported: prob_at (by key,
 * for counts per supply/version/scenario) and prob_where (by problem, to
 * know which keys change when its state does).
 */
#include <stdio.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "alerts.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "traction/v1/iteration.pb-c.h"

bool fb_version_descends(trc_txn_t *txn, const char *supply, const char *version,
			 const char *ancestor)
{
	char cur[TRC_SLUG_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", version);
	/* Walk up the lineage; a bounded walk, as a cycle cannot be recorded
	 * but a store is still input. */
	for (int depth = 0; depth < 100000; depth++) {
		if (strcmp(cur, ancestor) == 0)
			return true;
		trc_dbkey_t k;
		MDB_val v;
		if (!trc_dbkey_of(&k, supply, cur) ||
		    trc_txn_get(txn, trc_txn_db(txn, FB_DB_REF_VERSION), k.buf, k.len, &v) != 0 ||
		    v.mv_size == 0 || v.mv_size > TRC_SLUG_MAX)
			return false;
		memcpy(cur, v.mv_data, v.mv_size);
		cur[v.mv_size] = '\0';
	}
	return false;
}

static void s_add_str(trc_arena_t *arena, char ***list, size_t *n, const char *v)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], v) == 0)
			return;
	if (*n >= FB_LIST_MAX)
		return;
	char **nl = trc_arena_alloc(arena, sizeof(char *) * (*n + 1));
	if (nl == NULL)
		return;
	if (*n > 0)
		memcpy(nl, *list, sizeof(char *) * *n);
	nl[(*n)++] = (char *)v;
	*list = nl;
}

static int s_emit(trc_call_t *call, Traction__V1__ProblemInfo *p)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__ProblemUpdate pu = TRACTION__V1__PROBLEM_UPDATE__INIT;
	pu.problem = p;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_PROBLEM;
	ev.problem = &pu;
	return trc_call_emit(call, "feedback.problem", &ev);
}

/* Marks every key the problem was reported at, so their evidence is sent. */
static int s_dirty_where(trc_call_t *call, const char *supply, const char *sig)
{
	trc_dbkey_t k;
	if (!trc_dbkey_of(&k, supply, sig))
		return TRC_EINVAL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_txn_db(call->txn, FB_DB_PROB_WHERE), &it, k.buf,
				 k.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp; /* supply, signature, version, scenario */
		char v[TRC_SLUG_MAX + 1], sc[TRC_SLUG_MAX + 1];
		size_t l;
		trc_dbsplit_init(&sp, &it.key);
		trc_dbsplit_str(&sp, &l);
		trc_dbsplit_str(&sp, &l);
		trc_dbsplit_cstr(&sp, v, sizeof(v));
		trc_dbsplit_cstr(&sp, sc, sizeof(sc));
		/* events are owed for (s, v, sc) and (s, v, *) keys only */
		if (trc_dbsplit_done(&sp) && v[0] != '\0')
			rc = fb_dirty(call->txn, supply, v, sc);
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int fb_problem_report(trc_call_t *call, const Traction__V1__FeedbackRecord *r)
{
	const Traction__V1__Problem *pr = r->problem;
	const char *sig = pr->signature != NULL && pr->signature[0] != '\0'
				  ? pr->signature
				  : trc_arena_printf(call->arena, "record:%llu", (unsigned long long)r->id);
	trc_dbkey_t k;
	if (!trc_dbkey_of(&k, r->supply_id, sig))
		return TRC_EINVAL;
	Traction__V1__ProblemInfo *p = NULL;
	int rc = trc_rec_get(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), k.buf, k.len,
			     call->arena, (void **)&p);
	bool changed = false;
	if (rc == TRC_ENOENT) {
		p = trc_arena_alloc(call->arena, sizeof(*p));
		if (p == NULL)
			return TRC_ENOMEM;
		traction__v1__problem_info__init(p);
		p->supply_id = r->supply_id;
		p->signature = (char *)sig;
		p->state = TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN;
		p->first_seen_ms = r->observed_at_ms;
		p->first_version = r->version;
		changed = true;
	} else if (rc != 0) {
		return rc;
	} else if (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED &&
		   fb_version_descends(call->txn, r->supply_id, r->version, p->addressed_by)) {
		p->state = TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED;
		p->regressed_in = r->version;
		changed = true;
	}
	bool now_critical = pr->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL &&
			    p->severity != TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	if (pr->severity > p->severity)
		p->severity = pr->severity;
	p->title = pr->title;
	p->reports++;
	if (r->observed_at_ms > p->last_seen_ms)
		p->last_seen_ms = r->observed_at_ms;
	if (r->observed_at_ms < p->first_seen_ms)
		p->first_seen_ms = r->observed_at_ms;
	s_add_str(call->arena, &p->scenario_ids, &p->n_scenario_ids, r->scenario_id);
	s_add_str(call->arena, &p->versions, &p->n_versions, r->version);
	if (p->n_record_ids < FB_LIST_MAX) {
		uint64_t *ids = trc_arena_alloc(call->arena, sizeof(uint64_t) * (p->n_record_ids + 1));
		if (ids == NULL)
			return TRC_ENOMEM;
		if (p->n_record_ids > 0)
			memcpy(ids, p->record_ids, sizeof(uint64_t) * p->n_record_ids);
		ids[p->n_record_ids++] = r->id;
		p->record_ids = ids;
	}
	rc = trc_rec_put(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), k.buf, k.len, &p->base);

	/* where it was reported, at the four levels of keys */
	const char *vs[4] = { r->version, r->version, "", "" };
	const char *scs[4] = { r->scenario_id, "", r->scenario_id, "" };
	for (int i = 0; rc == 0 && i < 4; i++) {
		trc_dbkey_t at, where;
		if (!fb_key(&at, r->supply_id, vs[i], scs[i], sig))
			return TRC_EINVAL;
		rc = trc_txn_put(call->txn, trc_txn_db(call->txn, FB_DB_PROB_AT), at.buf, at.len,
				 "", 0, 0);
		if (rc == 0 && trc_dbkey_of(&where, r->supply_id, sig, vs[i], scs[i]))
			rc = trc_txn_put(call->txn, trc_txn_db(call->txn, FB_DB_PROB_WHERE),
					 where.buf, where.len, "", 0, 0);
	}
	if (rc == 0 && changed) {
		rc = s_emit(call, p);
		if (rc == 0 && p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED)
			rc = s_dirty_where(call, r->supply_id, sig);
	}
	if (rc == 0 && (changed || now_critical))
		rc = fb_alerts_problem(call, p);
	return rc;
}

static int s_address(trc_call_t *call, const char *supply, const char *sig, const char *version)
{
	trc_dbkey_t k;
	Traction__V1__ProblemInfo *p = NULL;
	if (!trc_dbkey_of(&k, supply, sig))
		return 0;
	int rc = trc_rec_get(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), k.buf, k.len,
			     call->arena, (void **)&p);
	if (rc == TRC_ENOENT)
		return 0; /* nothing reported yet under that signature */
	if (rc != 0)
		return rc;
	if (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED &&
	    p->addressed_by != NULL && strcmp(p->addressed_by, version) == 0)
		return 0; /* replayed event */
	p->state = TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED;
	p->addressed_by = (char *)version;
	rc = trc_rec_put(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), k.buf, k.len, &p->base);
	if (rc == 0)
		rc = s_emit(call, p);
	if (rc == 0)
		rc = s_dirty_where(call, supply, sig);
	if (rc == 0)
		rc = fb_alerts_problem(call, p);
	return rc;
}

int fb_problem_addressed(trc_call_t *call, const Traction__V1__Iteration *it)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < it->n_addresses; i++)
		if (trc_is_slug(it->addresses[i]))
			rc = s_address(call, it->supply_id, it->addresses[i], it->version);
	for (size_t i = 0; rc == 0 && i < it->n_addresses_records; i++) {
		char sig[32];
		snprintf(sig, sizeof(sig), "record:%llu", (unsigned long long)it->addresses_records[i]);
		rc = s_address(call, it->supply_id, sig, it->version);
	}
	return rc;
}

int fb_problem_counts(trc_call_t *call, const trc_dbkey_t *key, const fb_evidence_t *e,
		      Traction__V1__SeverityCounts ***out, size_t *n)
{
	Traction__V1__SeverityCounts **sc = trc_arena_alloc(call->arena, sizeof(void *) * 4);
	if (sc == NULL)
		return TRC_ENOMEM;
	for (int i = 0; i < 4; i++) {
		sc[i] = trc_arena_alloc(call->arena, sizeof(*sc[i]));
		if (sc[i] == NULL)
			return TRC_ENOMEM;
		traction__v1__severity_counts__init(sc[i]);
		sc[i]->severity = (Traction__V1__Severity)(i + 1);
		sc[i]->reports = e != NULL ? e->reports[i + 1] : 0;
	}
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_txn_db(call->txn, FB_DB_PROB_AT), &it, key->buf,
				 key->len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp; /* s, v, sc, signature: the problem's key is (s, signature) */
		trc_dbkey_t pk;
		size_t ls, l, siglen;
		trc_dbsplit_init(&sp, &it.key);
		const char *s = trc_dbsplit_str(&sp, &ls);
		trc_dbsplit_str(&sp, &l);
		trc_dbsplit_str(&sp, &l);
		const char *sig = trc_dbsplit_str(&sp, &siglen);
		trc_dbkey_init(&pk);
		trc_dbkey_strn(&pk, s, ls);
		trc_dbkey_strn(&pk, sig, siglen);
		Traction__V1__ProblemInfo *p = NULL;
		if (!trc_dbsplit_done(&sp) || !trc_dbkey_ok(&pk) ||
		    trc_rec_get(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), pk.buf, pk.len,
				call->arena, (void **)&p) != 0)
			continue;
		if (p->severity < 1 || p->severity > 4)
			continue;
		Traction__V1__SeverityCounts *c = sc[p->severity - 1];
		switch (p->state) {
		case TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN: c->open++; break;
		case TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED: c->addressed++; break;
		case TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED: c->regressed++; break;
		default: break;
		}
	}
	trc_iter_end(&it);
	*out = sc;
	*n = 4;
	return rc != 0 ? rc : call->txn->err;
}
