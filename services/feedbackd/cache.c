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
 */
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "error.h"
#include "feedbackd.h"
#include "util.h"

enum { C_AGG = 'a', C_TREND = 't', C_EVID = 'e', C_DIRTY = 'd' };

typedef struct {
	uint64_t count;
	double sum, sumsq, min, max;
} trend_row_t;

typedef struct centry {
	UT_hash_handle hh;
	int kind;
	union {
		fb_agg_t agg;
		trend_row_t trend;
		fb_evidence_t ev;
	} u;
	size_t klen;             /* of key, which starts with the kind byte */
	char key[];
} centry_t;

struct fb_cache {
	centry_t *entries;
};

static const int64_t s_granularity_ms[3] = { 0, 3600000, 86400000 };

fb_cache_t *fb_cache_new(void)
{
	return calloc(1, sizeof(fb_cache_t));
}

void fb_cache_clear(fb_cache_t *c)
{
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
		if (rc == 0 && v.mv_size == sizeof(trend_row_t))
			memcpy(&e->u.trend, v.mv_data, sizeof(trend_row_t));
		else if (rc == 0)
			rc = TRC_ECORRUPT;
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
	if (a->count == 0) {
		a->min = a->max = value;
		a->first_ms = a->last_ms = t;
	}
	a->count++;
	a->sum += value;
	a->sumsq += value * value;
	if (value < a->min)
		a->min = value;
	if (value > a->max)
		a->max = value;
	if (t < a->first_ms)
		a->first_ms = t;
	if (t > a->last_ms)
		a->last_ms = t;
}

static int s_metric(fb_cache_t *c, trc_txn_t *txn, const char *key, size_t klen, double value,
		    int64_t t)
{
	centry_t *e;
	int rc = s_get(c, txn, C_AGG, key, klen, &e);
	if (rc != 0)
		return rc;
	s_fold(&e->u.agg, value, t);
	rc = sketch_add(&e->u.agg.sketch, value, 1);
	for (int g = 1; rc == 0 && g <= 2; g++) {
		char tk[FB_KEY_MAX + 16];
		int64_t start = t - (t % s_granularity_ms[g]);
		memcpy(tk, key, klen);
		tk[klen] = '\0';
		tk[klen + 1] = (char)g;
		trc_be64_put((uint8_t *)tk + klen + 2, (uint64_t)start);
		rc = s_get(c, txn, C_TREND, tk, klen + 10, &e);
		if (rc != 0)
			break;
		trend_row_t *r = &e->u.trend;
		if (r->count == 0)
			r->min = r->max = value;
		r->count++;
		r->sum += value;
		r->sumsq += value * value;
		if (value < r->min)
			r->min = value;
		if (value > r->max)
			r->max = value;
	}
	return rc;
}

int fb_cache_record(fb_cache_t *c, trc_txn_t *txn, const Traction__V1__FeedbackRecord *r,
		    double improvement)
{
	const char *vs[4] = { r->version, r->version, "", "" };
	const char *scs[4] = { r->scenario_id, "", r->scenario_id, "" };
	int rc = 0;
	for (int i = 0; rc == 0 && i < 4; i++) {
		char key[FB_KEY_MAX];
		size_t kl;
		if (r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC) {
			kl = fb_key(key, r->supply_id, vs[i], scs[i], r->metric->name);
			if (kl == 0)
				return TRC_EINVAL;
			rc = s_metric(c, txn, key, kl, r->metric->value, r->observed_at_ms);
			if (rc != 0)
				break;
		}
		kl = fb_key(key, r->supply_id, vs[i], scs[i], NULL);
		centry_t *e;
		rc = s_get(c, txn, C_EVID, key, kl, &e);
		if (rc != 0)
			break;
		fb_evidence_t *ev = &e->u.ev;
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
		if (i < 2) /* the (s,v,sc) key and its (s,v,*) roll-up owe an event */
			rc = s_get(c, txn, C_DIRTY, key, kl, &e);
	}
	return rc;
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
					 sizeof(trend_row_t), 0);
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
