/*
 * Aggregate rows in LMDB: per metric key the running count, sum, sum of
 * squares, min, max, first and last seen and the quantile sketch; per
 * (key, granularity, bucket start) a trend row; per (supply, version,
 * scenario) an evidence row. Rows are fixed binary layouts (host byte
 * order, like LMDB's own files), read, updated and written back whole.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "feedbackd.h"
#include "util.h"

#define AGG_ROW_V1 0x41470001u

/* The fixed head of an aggregate row; the sketch's buckets follow it.
 * LMDB aligns values to 2 bytes only, so rows are copied in and out with
 * memcpy, never accessed in place. */
typedef struct {
	uint32_t version;
	uint32_t nbuckets;
	uint64_t count;
	double sum, sumsq, min, max;
	int64_t first_ms, last_ms;
	uint64_t zero;
} agg_head_t;

static const int64_t s_granularity_ms[3] = { 0, 3600000, 86400000 };

size_t fb_key(char *buf, const char *s, const char *v, const char *sc, const char *m)
{
	size_t ls = strlen(s), lv = strlen(v), lsc = strlen(sc), lm = m != NULL ? strlen(m) : 0;
	size_t n = ls + 1 + lv + 1 + lsc + (m != NULL ? 1 + lm : 0);
	if (n > FB_KEY_MAX)
		return 0;
	char *p = buf;
	memcpy(p, s, ls);
	p += ls;
	*p++ = '\0';
	memcpy(p, v, lv);
	p += lv;
	*p++ = '\0';
	memcpy(p, sc, lsc);
	p += lsc;
	if (m != NULL) {
		*p++ = '\0';
		memcpy(p, m, lm);
	}
	return n;
}

static MDB_dbi s_db(trc_txn_t *txn, const char *name)
{
	return trc_store_db(txn->store, name);
}

int fb_agg_load(trc_txn_t *txn, const char *key, size_t klen, fb_agg_t *a)
{
	MDB_val v;
	agg_head_t h;
	memset(a, 0, sizeof(*a));
	int rc = trc_txn_get(txn, s_db(txn, FB_DB_AGG), key, klen, &v);
	if (rc != 0)
		return rc;
	if (v.mv_size < sizeof(h))
		return TRC_ECORRUPT;
	memcpy(&h, v.mv_data, sizeof(h));
	if (h.version != AGG_ROW_V1 || h.nbuckets > SKETCH_MAX_BUCKETS ||
	    v.mv_size != sizeof(h) + sizeof(sketch_bucket_t) * h.nbuckets)
		return TRC_ECORRUPT;
	a->m = (fb_moments_t){ h.count, h.sum, h.sumsq, h.min, h.max };
	a->first_ms = h.first_ms;
	a->last_ms = h.last_ms;
	a->sketch.zero = h.zero;
	if (h.nbuckets > 0) {
		a->sketch.b = malloc(sizeof(sketch_bucket_t) * h.nbuckets);
		if (a->sketch.b == NULL)
			return TRC_ENOMEM;
		memcpy(a->sketch.b, (const uint8_t *)v.mv_data + sizeof(h),
		       sizeof(sketch_bucket_t) * h.nbuckets);
		a->sketch.n = a->sketch.cap = h.nbuckets;
	}
	return 0;
}

void fb_agg_free(fb_agg_t *a)
{
	sketch_free(&a->sketch);
}

int fb_agg_store(trc_txn_t *txn, const char *key, size_t klen, const fb_agg_t *a)
{
	agg_head_t h = {
		.version = AGG_ROW_V1, .nbuckets = a->sketch.n, .count = a->m.count,
		.sum = a->m.sum, .sumsq = a->m.sumsq, .min = a->m.min, .max = a->m.max, .first_ms = a->first_ms,
		.last_ms = a->last_ms, .zero = a->sketch.zero,
	};
	size_t blen = sizeof(sketch_bucket_t) * a->sketch.n;
	uint8_t *dst = trc_txn_reserve(txn, s_db(txn, FB_DB_AGG), key, klen, sizeof(h) + blen, 0);
	if (dst == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	memcpy(dst, &h, sizeof(h));
	if (blen > 0)
		memcpy(dst + sizeof(h), a->sketch.b, blen);
	return 0;
}

void fb_agg_stats(const fb_agg_t *a, Traction__V1__MetricStats *st)
{
	st->count = a->m.count;
	st->sum = a->m.sum;
	st->sum_squares = a->m.sumsq;
	st->min = a->m.min;
	st->max = a->m.max;
	st->first_seen_ms = a->first_ms;
	st->last_seen_ms = a->last_ms;
	if (a->m.count > 0) {
		double mean = a->m.sum / (double)a->m.count;
		double var = a->m.sumsq / (double)a->m.count - mean * mean;
		st->mean = mean;
		st->stddev = var > 0 ? sqrt(var) : 0;
		st->p50 = sketch_quantile(&a->sketch, 0.50);
		st->p90 = sketch_quantile(&a->sketch, 0.90);
		st->p99 = sketch_quantile(&a->sketch, 0.99);
	}
}

int fb_trend_read(trc_call_t *call, const char *key, size_t klen, int g, int64_t from,
		  int64_t to, Traction__V1__TrendBucket ***out, size_t *n)
{
	char lo[FB_KEY_MAX + 16], hi[FB_KEY_MAX + 16];
	memcpy(lo, key, klen);
	lo[klen] = '\0';
	lo[klen + 1] = (char)g;
	memcpy(hi, lo, klen + 2);
	int64_t start = from > 0 ? from - (from % s_granularity_ms[g]) : 0;
	trc_be64_put((uint8_t *)lo + klen + 2, (uint64_t)start);
	trc_be64_put((uint8_t *)hi + klen + 2, to > 0 ? (uint64_t)to : UINT64_MAX);
	size_t cap = 64;
	*n = 0;
	*out = NULL;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, s_db(call->txn, FB_DB_TREND), &it, lo, klen + 10, hi,
				klen + 10, false);
	while (rc == 0 && trc_iter_next(&it)) {
		if (it.val.mv_size != sizeof(fb_moments_t))
			continue;
		fb_moments_t row;
		memcpy(&row, it.val.mv_data, sizeof(row));
		*out = trc_arena_grow(call->arena, *out, *n, &cap, sizeof(**out));
		Traction__V1__TrendBucket *b = trc_arena_alloc(call->arena, sizeof(*b));
		if (*out == NULL || b == NULL)
			return TRC_ENOMEM;
		traction__v1__trend_bucket__init(b);
		b->start_ms = (int64_t)trc_be64_get((const uint8_t *)it.key.mv_data + klen + 2);
		b->count = row.count;
		b->mean = row.count > 0 ? row.sum / (double)row.count : 0;
		b->min = row.min;
		b->max = row.max;
		(*out)[(*n)++] = b;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int fb_evidence_load(trc_txn_t *txn, const char *key, size_t klen, fb_evidence_t *e)
{
	MDB_val v;
	memset(e, 0, sizeof(*e));
	int rc = trc_txn_get(txn, s_db(txn, FB_DB_EVIDENCE), key, klen, &v);
	if (rc == TRC_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != sizeof(*e))
		return TRC_ECORRUPT;
	memcpy(e, v.mv_data, sizeof(*e));
	return 0;
}

int fb_evidence_store(trc_txn_t *txn, const char *key, size_t klen, const fb_evidence_t *e)
{
	return trc_txn_put(txn, s_db(txn, FB_DB_EVIDENCE), key, klen, e, sizeof(*e), 0);
}
