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

#include "error.h"
#include "feedbackd.h"
#include "util.h"

#define TICK_MAX_KEYS 1000

static MDB_dbi s_db(trc_txn_t *txn, const char *name)
{
	return trc_store_db(txn->store, name);
}

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
	char key[FB_KEY_MAX + 2];
	size_t kl = fb_key(key, s, v, sc, NULL);
	if (kl == 0)
		return TRC_EINVAL;
	fb_evidence_t e;
	int rc = fb_evidence_load(call->txn, key, kl, &e);
	if (rc != 0)
		return rc;
	u->records = e.records;
	u->demands = e.demands;
	vs->count = e.values;
	vs->mean_improvement_pct = e.values > 0 ? e.improvement_sum / (double)e.values : 0;
	u->values = vs;
	rc = fb_problem_counts(call, key, kl, &e, &u->problems, &u->n_problems);
	if (rc != 0)
		return rc;

	/* every metric of the key: "s\0v\0sc\0<metric>" */
	size_t cap = 8;
	trc_iter_t it;
	rc = trc_iter_prefix(call->txn, s_db(call->txn, FB_DB_AGG), &it, key, kl, false);
	while (rc == 0 && trc_iter_next(&it)) {
		const char *m = (const char *)it.key.mv_data + kl + 1;
		size_t mlen = it.key.mv_size - kl - 1;
		if (memchr(m, '\0', mlen) != NULL)
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
	bool owed = trc_iter_begin(call->txn, s_db(call->txn, FB_DB_DIRTY), &it, NULL, 0, NULL, 0,
				   false) == 0 &&
		    trc_iter_next(&it);
	trc_iter_end(&it);
	return owed;
}

/* "s\0v\0sc" split in place (the arena copy has a final NUL); false if
 * it is not three parts. */
static bool s_split(char *key, size_t len, const char **v, const char **sc)
{
	*v = key + strlen(key) + 1;
	*sc = *v + strlen(*v) + 1;
	return *sc <= key + len;
}

/* One tick: an event per dirty key, at most TICK_MAX_KEYS of them. If
 * that is every dirty key, the last event covers the log's head as the
 * tick began: every record committed up to there is in these events. */
int fb_evidence_publish(trc_call_t *call)
{
	trc_iter_t it;
	char *keys[TICK_MAX_KEYS];
	size_t lens[TICK_MAX_KEYS], n = 0;
	bool more = false;
	uint64_t covers = trc_evlog_head(call->txn);
	int rc = trc_iter_begin(call->txn, s_db(call->txn, FB_DB_DIRTY), &it, NULL, 0, NULL, 0,
				false);
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
	size_t last = n; /* the last key that makes an event */
	for (size_t i = 0; i < n; i++) {
		const char *v, *sc;
		if (s_split(keys[i], lens[i], &v, &sc))
			last = i;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *v, *sc;
		if (!s_split(keys[i], lens[i], &v, &sc)) {
			trc_txn_del(call->txn, s_db(call->txn, FB_DB_DIRTY), keys[i], lens[i]);
			continue;
		}
		Traction__V1__EvidenceUpdate *u = NULL;
		rc = fb_evidence_update(call, keys[i], v, sc, &u);
		if (rc != 0)
			break;
		Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
		ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
		ev.evidence = u;
		ev.covers = i == last && !more ? covers : 0;
		rc = trc_call_emit(call, "feedback.evidence", &ev);
		if (rc == 0)
			trc_txn_del(call->txn, s_db(call->txn, FB_DB_DIRTY), keys[i], lens[i]);
	}
	return rc != 0 ? rc : call->txn->err;
}
