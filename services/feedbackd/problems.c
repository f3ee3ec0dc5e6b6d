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

#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "traction/v1/iteration.pb-c.h"

static MDB_dbi s_db(trc_txn_t *txn, const char *name)
{
	return trc_store_db(txn->store, name);
}

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
		char key[2 * TRC_SLUG_MAX + 2];
		size_t kl = trc_key2(key, sizeof(key), supply, cur);
		MDB_val v;
		if (kl == 0 || trc_txn_get(txn, s_db(txn, FB_DB_REF_VERSION), key, kl, &v) != 0 ||
		    v.mv_size == 0 || v.mv_size > TRC_SLUG_MAX)
			return false;
		memcpy(cur, v.mv_data, v.mv_size);
		cur[v.mv_size] = '\0';
	}
	return false;
}

static size_t s_pkey(char *buf, const char *supply, const char *sig)
{
	return trc_key2(buf, FB_KEY_MAX, supply, sig);
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
	char key[FB_KEY_MAX + 2];
	size_t n = s_pkey(key, supply, sig);
	if (n == 0)
		return TRC_EINVAL;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, s_db(call->txn, FB_DB_PROB_WHERE), &it, key, n, false);
	while (rc == 0 && trc_iter_next(&it)) {
		/* ...\0version\0scenario */
		const char *p = (const char *)it.key.mv_data + n + 1;
		size_t rest = it.key.mv_size - n - 1;
		const char *sep = memchr(p, '\0', rest);
		if (sep == NULL)
			continue;
		char v[TRC_SLUG_MAX + 1], sc[TRC_SLUG_MAX + 1];
		size_t lv = (size_t)(sep - p), lsc = rest - lv - 1;
		if (lv > TRC_SLUG_MAX || lsc > TRC_SLUG_MAX)
			continue;
		memcpy(v, p, lv);
		v[lv] = '\0';
		memcpy(sc, sep + 1, lsc);
		sc[lsc] = '\0';
		/* events are owed for (s, v, sc) and (s, v, *) keys only */
		if (lv > 0)
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
	char key[FB_KEY_MAX];
	size_t kl = s_pkey(key, r->supply_id, sig);
	if (kl == 0)
		return TRC_EINVAL;
	Traction__V1__ProblemInfo *p = NULL;
	int rc = trc_rec_get(call->txn, s_db(call->txn, FB_DB_PROBLEMS), key, kl,
			     &traction__v1__problem_info__descriptor, call->arena, (void **)&p);
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
	rc = trc_rec_put(call->txn, s_db(call->txn, FB_DB_PROBLEMS), key, kl, &p->base);

	/* where it was reported, at the four levels of keys */
	const char *vs[4] = { r->version, r->version, "", "" };
	const char *scs[4] = { r->scenario_id, "", r->scenario_id, "" };
	for (int i = 0; rc == 0 && i < 4; i++) {
		char at[FB_KEY_MAX];
		size_t n = fb_key(at, r->supply_id, vs[i], scs[i], sig);
		if (n == 0)
			return TRC_EINVAL;
		rc = trc_txn_put(call->txn, s_db(call->txn, FB_DB_PROB_AT), at, n, "", 0, 0);
		char where[FB_KEY_MAX + 2];
		size_t wn = trc_key3(where, sizeof(where), r->supply_id, sig, vs[i]);
		if (rc == 0 && wn > 0 && wn + 1 + strlen(scs[i]) <= sizeof(where)) {
			where[wn] = '\0';
			memcpy(where + wn + 1, scs[i], strlen(scs[i]));
			rc = trc_txn_put(call->txn, s_db(call->txn, FB_DB_PROB_WHERE), where,
					 wn + 1 + strlen(scs[i]), "", 0, 0);
		}
	}
	if (rc == 0 && changed) {
		rc = s_emit(call, p);
		if (rc == 0 && p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED)
			rc = s_dirty_where(call, r->supply_id, sig);
	}
	return rc;
}

static int s_address(trc_call_t *call, const char *supply, const char *sig, const char *version)
{
	char key[FB_KEY_MAX];
	size_t kl = s_pkey(key, supply, sig);
	Traction__V1__ProblemInfo *p = NULL;
	if (kl == 0)
		return 0;
	int rc = trc_rec_get(call->txn, s_db(call->txn, FB_DB_PROBLEMS), key, kl,
			     &traction__v1__problem_info__descriptor, call->arena, (void **)&p);
	if (rc == TRC_ENOENT)
		return 0; /* nothing reported yet under that signature */
	if (rc != 0)
		return rc;
	if (p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED &&
	    p->addressed_by != NULL && strcmp(p->addressed_by, version) == 0)
		return 0; /* replayed event */
	p->state = TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED;
	p->addressed_by = (char *)version;
	rc = trc_rec_put(call->txn, s_db(call->txn, FB_DB_PROBLEMS), key, kl, &p->base);
	if (rc == 0)
		rc = s_emit(call, p);
	if (rc == 0)
		rc = s_dirty_where(call, supply, sig);
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

int fb_problem_counts(trc_call_t *call, const char *key, size_t klen, const fb_evidence_t *e,
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
	/* the supply is the part before the first NUL */
	char supply[TRC_SLUG_MAX + 1];
	size_t ls = strnlen(key, klen);
	if (ls > TRC_SLUG_MAX)
		return TRC_EINVAL;
	memcpy(supply, key, ls);
	supply[ls] = '\0';
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, s_db(call->txn, FB_DB_PROB_AT), &it, key, klen, false);
	while (rc == 0 && trc_iter_next(&it)) {
		const char *sig = (const char *)it.key.mv_data + klen + 1;
		size_t siglen = it.key.mv_size - klen - 1;
		char pkey[FB_KEY_MAX];
		if (ls + 1 + siglen > sizeof(pkey))
			continue;
		memcpy(pkey, supply, ls);
		pkey[ls] = '\0';
		memcpy(pkey + ls + 1, sig, siglen);
		Traction__V1__ProblemInfo *p = NULL;
		if (trc_rec_get(call->txn, s_db(call->txn, FB_DB_PROBLEMS), pkey, ls + 1 + siglen,
				&traction__v1__problem_info__descriptor, call->arena, (void **)&p) != 0)
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
