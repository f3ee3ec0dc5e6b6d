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

static MDB_dbi s_db(trc_txn_t *txn, const char *name)
{
	return trc_store_db(txn->store, name);
}

/* Finds or loads the entry of (kind, key). */
static int s_get(fb_cache_t *c, trc_txn_t *txn, int kind, const char *key, size_t klen,
		 centry_t **out)
{
	char k[FB_KEY_MAX + 16];
	k[0] = (char)kind;
	memcpy(k + 1, key, klen);
	centry_t *e;
	HASH_FIND(hh, c->entries, k, klen + 1, e);
	if (e != NULL) {
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e) + klen + 1);
	if (e == NULL)
		return TRC_ENOMEM;
	e->kind = kind;
	e->klen = klen + 1;
	memcpy(e->key, k, klen + 1);
	int rc = 0;
	MDB_val v;
	switch (kind) {
	case C_AGG:
		rc = fb_agg_load(txn, key, klen, &e->u.agg);
		if (rc == TRC_ENOENT) {
			memset(&e->u.agg, 0, sizeof(e->u.agg));
			rc = 0;
		}
		break;
	case C_TREND:
		rc = trc_txn_get(txn, s_db(txn, FB_DB_TREND), key, klen, &v);
		if (rc == 0)
			rc = fb_moments_read(v.mv_data, v.mv_size, &e->u.trend);
		else if (rc == TRC_ENOENT)
			rc = 0;
		break;
	case C_EVID:
		rc = fb_evidence_load(txn, key, klen, &e->u.ev);
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

/* The series key: body kind, "s\0v\0sc[\0metric]" and, for a metric, the
 * starts of its hour and day. Its length, 0 if it does not fit. */
static size_t s_series_key(char *k, const Traction__V1__FeedbackRecord *r)
{
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	k[0] = (char)r->body_case;
	size_t n = fb_key(k + 1, r->supply_id, r->version, r->scenario_id,
			  metric ? r->metric->name : NULL);
	if (n == 0)
		return 0;
	n++;
	if (metric) {
		trc_be64_put((uint8_t *)k + n, (uint64_t)s_bucket(r->observed_at_ms, 1));
		trc_be64_put((uint8_t *)k + n + 8, (uint64_t)s_bucket(r->observed_at_ms, 2));
		n += 16;
	}
	return n;
}

/* Resolves (loading from txn where not cached) every row of r's series. */
static int s_series_load(fb_cache_t *c, trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
			 const char *skey, size_t sklen, series_t **out)
{
	series_t *se = calloc(1, sizeof(*se) + sklen);
	if (se == NULL)
		return TRC_ENOMEM;
	se->klen = sklen;
	memcpy(se->key, skey, sklen);
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	const char *vs[4] = { r->version, r->version, "", "" };
	const char *scs[4] = { r->scenario_id, "", r->scenario_id, "" };
	int rc = 0;
	for (int i = 0; rc == 0 && i < 4; i++) {
		char key[FB_KEY_MAX + 16];
		size_t kl;
		centry_t *e;
		if (metric) {
			kl = fb_key(key, r->supply_id, vs[i], scs[i], r->metric->name);
			rc = kl == 0 ? TRC_EINVAL : s_get(c, txn, C_AGG, key, kl, &se->agg[i]);
			for (int g = 1; rc == 0 && g <= 2; g++) {
				key[kl] = '\0';
				key[kl + 1] = (char)g;
				trc_be64_put((uint8_t *)key + kl + 2,
					     (uint64_t)s_bucket(r->observed_at_ms, g));
				rc = s_get(c, txn, C_TREND, key, kl + 10, &se->trend[i][g - 1]);
			}
		}
		kl = fb_key(key, r->supply_id, vs[i], scs[i], NULL);
		if (rc == 0)
			rc = s_get(c, txn, C_EVID, key, kl, &se->evid[i]);
		/* the (s,v,sc) key and its (s,v,*) roll-up owe an event */
		if (rc == 0 && i < 2)
			rc = s_get(c, txn, C_DIRTY, key, kl, &e);
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
		    double improvement)
{
	char k[FB_KEY_MAX + 32];
	size_t kl = s_series_key(k, r);
	if (kl == 0)
		return TRC_EINVAL;
	series_t *se = c->last;
	if (se == NULL || se->klen != kl || memcmp(se->key, k, kl) != 0) {
		HASH_FIND(hh, c->series, k, kl, se);
		if (se == NULL) {
			int rc = s_series_load(c, txn, r, k, kl, &se);
			if (rc != 0)
				return rc;
		}
		c->last = se;
	}
	bool metric = r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	int32_t skey = 0;
	bool zero = true;
	if (metric && fabs(r->metric->value) >= SKETCH_ZERO_BELOW) {
		zero = false;
		skey = sketch_key(r->metric->value); /* one log() for all four sketches */
	}
	for (int i = 0; i < 4; i++) {
		if (metric) {
			double v = r->metric->value;
			fb_agg_t *a = &se->agg[i]->u.agg;
			s_fold(a, v, r->observed_at_ms);
			int rc = zero ? sketch_add(&a->sketch, v, 1) : sketch_add_key(&a->sketch, skey, 1);
			if (rc != 0)
				return rc;
			fb_moments_add(&se->trend[i][0]->u.trend, v);
			fb_moments_add(&se->trend[i][1]->u.trend, v);
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
			rc = trc_txn_put(txn, s_db(txn, FB_DB_TREND), key, klen, &e->u.trend,
					 sizeof(fb_moments_t), 0);
			break;
		case C_EVID:
			rc = fb_evidence_store(txn, key, klen, &e->u.ev);
			break;
		case C_DIRTY:
			rc = trc_txn_put(txn, s_db(txn, FB_DB_DIRTY), key, klen, "", 0, 0);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}
