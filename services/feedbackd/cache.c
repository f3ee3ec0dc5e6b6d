/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch cache: the aggregate, trend and evidence rows one group commit
 * touches, loaded once, updated in memory for every record of the batch,
 * and written back once, just before the batch's durable commit
 * (batch_end). A thousand records on one key cost one read and one write
 * of each of its rows instead of a thousand.
 *
 * A record is folded in only after its own nested transaction committed,
 * so the cache never holds a record the store does not. The cache lives
 * for one batch: batch_done empties it whether the commit succeeded or
 * not, so it is never stale.
 *
 * A record touches up to 18 rows (four levels of aggregate, hourly and
 * daily trend, evidence, and two owed-event marks). Looking each up by its
 * key cost a third of feedbackd's time, so the rows a record touches are
 * resolved once per series (supply, version, scenario, kind, metric, hour,
 * day) and kept as pointers: a record costs one lookup, or none when it is
 * of the same series as the record before it (the common case: a site
 * publishes a batch of one metric).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "error.h"
#include "feedbackd.h"
#include "util.h"

enum { C_AGG = 'a', C_TREND = 't', C_EVID = 'e', C_DIRTY = 'd' };

typedef struct centry {
	UT_hash_handle hh;
	int kind;
	union {
		fb_agg_t agg;
		fb_moments_t trend;
		fb_evidence_t ev;
	} u;
	size_t klen;             /* of key, which starts with the kind byte */
	char key[];
} centry_t;

/* The rows one series touches; entries live until fb_cache_clear, as do
 * these pointers to them. Levels: (s,v,sc), (s,v,*), (s,*,sc), (s,*,*). */
typedef struct series {
	UT_hash_handle hh;
	centry_t *agg[4];
	centry_t *trend[4][2];    /* hourly, daily; metric series only */
	centry_t *evid[4];
	size_t klen;
	char key[];
} series_t;

struct fb_cache {
	centry_t *entries;
	series_t *series;
	series_t *last;           /* the series of the last record */
};

static const int64_t s_granularity_ms[3] = { 0, 3600000, 86400000 };

fb_cache_t *fb_cache_new(void)
{
	return calloc(1, sizeof(fb_cache_t));
}

void fb_cache_clear(fb_cache_t *c)
{
	series_t *se, *st;
	HASH_ITER(hh, c->series, se, st) {
		HASH_DEL(c->series, se);
		free(se);
	}
	c->last = NULL;
	centry_t *e, *t;
	HASH_ITER(hh, c->entries, e, t) {
		HASH_DEL(c->entries, e);
		if (e->kind == C_AGG)
			fb_agg_free(&e->u.agg);
		free(e);
	}
}

void fb_cache_destroy(fb_cache_t **c)
{
	if (c == NULL || *c == NULL)
		return;
	fb_cache_clear(*c);
	free(*c);
	*c = NULL;
}

/* Finds or loads the entry of (kind, the row's key). */
static int s_get(fb_cache_t *c, trc_txn_t *txn, int kind, const trc_dbkey_t *key,
		 centry_t **out)
{
	trc_dbkey_t k; /* the entry's name: the kind, then the row's key */
	trc_dbkey_init(&k);
	trc_dbkey_u8(&k, (uint8_t)kind);
	if (!trc_dbkey_raw(&k, key->buf, key->len))
		return TRC_EINVAL;
	centry_t *e;
	HASH_FIND(hh, c->entries, k.buf, k.len, e);
	if (e != NULL) {
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e) + k.len);
	if (e == NULL)
		return TRC_ENOMEM;
	e->kind = kind;
	e->klen = k.len;
	memcpy(e->key, k.buf, k.len);
	int rc = 0;
	MDB_val v;
	switch (kind) {
	case C_AGG:
		rc = fb_agg_load(txn, key->buf, key->len, &e->u.agg);
		if (rc == TRC_ENOENT) {
			memset(&e->u.agg, 0, sizeof(e->u.agg));
			rc = 0;
		}
		break;
	case C_TREND:
		rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_TREND), key->buf, key->len, &v);
		if (rc == 0)
			rc = fb_moments_read(v.mv_data, v.mv_size, &e->u.trend);
		else if (rc == TRC_ENOENT)
			rc = 0;
		break;
	case C_EVID:
		rc = fb_evidence_load(txn, key->buf, key->len, &e->u.ev);
		break;
	default:
		break;
	}
	if (rc != 0) {
		free(e);
		return rc;
	}
	HASH_ADD(hh, c->entries, key, e->klen, e);
	*out = e;
	return 0;
}

static void s_fold(fb_agg_t *a, double value, int64_t t)
{
	if (a->m.count == 0)
		a->first_ms = a->last_ms = t;
	fb_moments_add(&a->m, value);
	if (t < a->first_ms)
		a->first_ms = t;
	if (t > a->last_ms)
		a->last_ms = t;
}

static int64_t s_bucket(int64_t t, int g)
{
	return t - (t % s_granularity_ms[g]);
}

/* The series key (in memory only): body kind, supply, version, scenario
 * and, for a metric, its name and the starts of its hour and day. False
 * if it does not fit. */
static bool s_series_key(trc_dbkey_t *k, const Traction__V1__FeedbackRecord *r)
{
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	trc_dbkey_init(k);
	trc_dbkey_u8(k, (uint8_t)r->body_case);
	trc_dbkey_str(k, r->supply_id);
	trc_dbkey_str(k, r->version);
	trc_dbkey_str(k, r->scenario_id);
	if (metric) {
		trc_dbkey_str(k, r->metric->name);
		trc_dbkey_be64(k, (uint64_t)s_bucket(r->observed_at_ms, 1));
		trc_dbkey_be64(k, (uint64_t)s_bucket(r->observed_at_ms, 2));
	}
	return trc_dbkey_ok(k);
}

/* Resolves (loading from txn where not cached) every row of r's series. */
static int s_series_load(fb_cache_t *c, trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
			 const trc_dbkey_t *skey, series_t **out)
{
	series_t *se = calloc(1, sizeof(*se) + skey->len);
	if (se == NULL)
		return TRC_ENOMEM;
	se->klen = skey->len;
	memcpy(se->key, skey->buf, skey->len);
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	const char *vs[4] = { r->version, r->version, "", "" };
	const char *scs[4] = { r->scenario_id, "", r->scenario_id, "" };
	int rc = 0;
	for (int i = 0; rc == 0 && i < 4; i++) {
		trc_dbkey_t key;
		centry_t *e;
		if (metric) {
			rc = fb_key(&key, r->supply_id, vs[i], scs[i], r->metric->name)
				     ? s_get(c, txn, C_AGG, &key, &se->agg[i])
				     : TRC_EINVAL;
			for (int g = 1; rc == 0 && g <= 2; g++) {
				trc_dbkey_t tk = key; /* the metric's, then its bucket */
				trc_dbkey_u8(&tk, (uint8_t)g);
				trc_dbkey_be64(&tk, (uint64_t)s_bucket(r->observed_at_ms, g));
				rc = s_get(c, txn, C_TREND, &tk, &se->trend[i][g - 1]);
			}
		}
		if (rc == 0 && !fb_key(&key, r->supply_id, vs[i], scs[i], NULL))
			rc = TRC_EINVAL;
		if (rc == 0)
			rc = s_get(c, txn, C_EVID, &key, &se->evid[i]);
		/* the (s,v,sc) key and its (s,v,*) roll-up owe an event */
		if (rc == 0 && i < 2)
			rc = s_get(c, txn, C_DIRTY, &key, &e);
	}
	if (rc != 0) {
		free(se);
		return rc;
	}
	HASH_ADD(hh, c->series, key, se->klen, se);
	*out = se;
	return 0;
}

int fb_cache_record(fb_cache_t *c, trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
		    const sketch_point_t *v, double improvement)
{
	trc_dbkey_t k;
	if (!s_series_key(&k, r))
		return TRC_EINVAL;
	series_t *se = c->last;
	if (se == NULL || se->klen != k.len || memcmp(se->key, k.buf, k.len) != 0) {
		HASH_FIND(hh, c->series, k.buf, k.len, se);
		if (se == NULL) {
			int rc = s_series_load(c, txn, r, &k, &se);
			if (rc != 0)
				return rc;
		}
		c->last = se;
	}
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC && v != NULL;
	for (int i = 0; i < 4; i++) {
		if (metric) {
			fb_agg_t *a = &se->agg[i]->u.agg;
			s_fold(a, v->x, r->observed_at_ms);
			int rc = sketch_add_point(&a->sketch, v);
			if (rc != 0)
				return rc;
			fb_moments_add(&se->trend[i][0]->u.trend, v->x);
			fb_moments_add(&se->trend[i][1]->u.trend, v->x);
		}
		fb_evidence_t *ev = &se->evid[i]->u.ev;
		ev->records++;
		switch (r->body_case) {
		case TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM:
			ev->reports[r->problem->severity]++;
			break;
		case TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE:
			ev->values++;
			ev->improvement_sum += improvement;
			break;
		case TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND:
			ev->demands++;
			break;
		default:
			break;
		}
	}
	return 0;
}

int fb_cache_flush(fb_cache_t *c, trc_txn_t *txn)
{
	centry_t *e, *t;
	int rc = 0;
	HASH_ITER(hh, c->entries, e, t) {
		const char *key = e->key + 1;
		size_t klen = e->klen - 1;
		switch (e->kind) {
		case C_AGG:
			rc = fb_agg_store(txn, key, klen, &e->u.agg);
			break;
		case C_TREND:
			rc = trc_txn_put(txn, trc_txn_db(txn, FB_DB_TREND), key, klen, &e->u.trend,
					 sizeof(fb_moments_t), 0);
			break;
		case C_EVID:
			rc = fb_evidence_store(txn, key, klen, &e->u.ev);
			break;
		case C_DIRTY:
			rc = trc_txn_put(txn, trc_txn_db(txn, FB_DB_DIRTY), key, klen, "", 0, 0);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}
