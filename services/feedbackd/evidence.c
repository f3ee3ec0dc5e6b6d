/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evidence: the summary of one (supply, version, scenario) key that other
 * daemons use (scenariod for ranking, iterationd for gates and deltas),
 * and its coalesced publication: ingest marks keys dirty in the same
 * transaction as the record (fb_dirty, agg.c); every tick sends one
 * feedback.evidence event per dirty key with its whole current state, so a
 * burst of records on one key costs one event, and a crash loses no owed
 * event (the dirty marks are in the store). The last event of a tick
 * that leaves no key dirty says which position of our log it covers
 * (Event.covers): a daemon told our committed position waits for it
 * while we say evidence is owed (fb_evidence_owed, in ping).
 */
#include <string.h>

#include "alerts.h"
#include "dbkey.h"
#include "error.h"
#include "feedbackd.h"
#include "util.h"

#define TICK_MAX_KEYS 1000

int fb_evidence_update(trc_call_t *call, const char *s, const char *v, const char *sc,
		       Traction__V1__EvidenceUpdate **out)
{
	Traction__V1__EvidenceUpdate *u = trc_arena_alloc(call->arena, sizeof(*u));
	Traction__V1__ValueSummary *vs = trc_arena_alloc(call->arena, sizeof(*vs));
	if (u == NULL || vs == NULL)
		return TRC_ENOMEM;
	traction__v1__evidence_update__init(u);
	traction__v1__value_summary__init(vs);
	u->supply_id = (char *)s;
	u->version = (char *)v;
	u->scenario_id = (char *)sc;
	trc_dbkey_t k;
	if (!fb_key(&k, s, v, sc, NULL))
		return TRC_EINVAL;
	fb_evidence_t e;
	int rc = fb_evidence_load(call->txn, k.buf, k.len, &e);
	if (rc != 0)
		return rc;
	u->records = e.records;
	u->demands = e.demands;
	vs->count = e.values;
	vs->mean_improvement_pct = e.values > 0 ? e.improvement_sum / (double)e.values : 0;
	u->values = vs;
	rc = fb_problem_counts(call, &k, &e, &u->problems, &u->n_problems);
	if (rc != 0)
		return rc;

	/* every metric of the key: (s, v, sc, metric) */
	size_t cap = 8;
	trc_iter_t it;
	rc = trc_iter_prefix(call->txn, trc_txn_db(call->txn, FB_DB_AGG), &it, k.buf, k.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		size_t mlen;
		const char *m = fb_key_metric(&it.key, &mlen);
		if (m == NULL)
			continue;
		fb_agg_t a;
		rc = fb_agg_load(call->txn, it.key.mv_data, it.key.mv_size, &a);
		if (rc != 0)
			break;
		Traction__V1__MetricStats st = TRACTION__V1__METRIC_STATS__INIT;
		fb_agg_stats(&a, &st);
		fb_agg_free(&a);
		Traction__V1__MetricSummary *ms = trc_arena_alloc(call->arena, sizeof(*ms));
		char *name = trc_arena_alloc(call->arena, mlen + 1);
		u->metrics = trc_arena_grow(call->arena, u->metrics, u->n_metrics, &cap,
					    sizeof(*u->metrics));
		if (ms == NULL || name == NULL || u->metrics == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		memcpy(name, m, mlen);
		traction__v1__metric_summary__init(ms);
		ms->name = name;
		ms->count = st.count;
		ms->sum = st.sum;
		ms->sum_squares = st.sum_squares;
		ms->min = st.min;
		ms->max = st.max;
		ms->mean = st.mean;
		ms->p50 = st.p50;
		ms->p90 = st.p90;
		ms->p99 = st.p99;
		u->metrics[u->n_metrics++] = ms;
	}
	trc_iter_end(&it);
	*out = u;
	return rc != 0 ? rc : call->txn->err;
}

bool fb_evidence_owed(trc_call_t *call)
{
	trc_iter_t it;
	bool owed = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_DIRTY), &it, NULL, 0,
				   NULL, 0, false) == 0 &&
		    trc_iter_next(&it);
	trc_iter_end(&it);
	return owed;
}

/* A dirty key (s, v, sc) split in place: its copy in the arena ends with
 * a NUL, so each part is a C string. False if it is not three parts. */
static bool s_split(const char *key, size_t len, const char *part[3])
{
	trc_dbsplit_t sp;
	size_t n;
	trc_dbsplit_bytes(&sp, key, len);
	for (int i = 0; i < 3; i++)
		part[i] = trc_dbsplit_str(&sp, &n);
	return trc_dbsplit_done(&sp);
}

/* One tick: an event per dirty key, at most TICK_MAX_KEYS of them. If
 * that is every dirty key, the last event covers the log's head as the
 * tick began, plus one: every record committed while the head was below
 * that is in these events (the plus one, so that a log empty before the
 * tick can be said: a covers of 0 says nothing). */
int fb_evidence_publish(trc_call_t *call)
{
	trc_iter_t it;
	char *keys[TICK_MAX_KEYS];
	size_t lens[TICK_MAX_KEYS], n = 0;
	bool more = false;
	uint64_t covers = trc_evlog_head(call->txn) + 1;
	int rc = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_DIRTY), &it, NULL, 0, NULL,
				0, false);
	while (rc == 0 && (more = trc_iter_next(&it)) && n < TICK_MAX_KEYS) {
		keys[n] = trc_arena_alloc(call->arena, it.key.mv_size + 1);
		if (keys[n] == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		memcpy(keys[n], it.key.mv_data, it.key.mv_size);
		lens[n] = it.key.mv_size;
		n++;
		more = false;
	}
	trc_iter_end(&it);
	const trc_db_t *dirty = trc_txn_db(call->txn, FB_DB_DIRTY);
	const char *p[3];
	size_t last = n; /* the last key that makes an event */
	for (size_t i = 0; i < n; i++)
		if (s_split(keys[i], lens[i], p))
			last = i;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!s_split(keys[i], lens[i], p)) {
			trc_txn_del(call->txn, dirty, keys[i], lens[i]);
			continue;
		}
		Traction__V1__EvidenceUpdate *u = NULL;
		rc = fb_evidence_update(call, p[0], p[1], p[2], &u);
		if (rc == 0) /* a deployment on this key judged against its targets */
			rc = fb_alerts_evidence(call, u);
		if (rc != 0)
			break;
		Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
		ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
		ev.evidence = u;
		ev.covers = i == last && !more ? covers : 0;
		rc = trc_call_emit(call, "feedback.evidence", &ev);
		if (rc == 0)
			trc_txn_del(call->txn, dirty, keys[i], lens[i]);
	}
	return rc != 0 ? rc : call->txn->err;
}
