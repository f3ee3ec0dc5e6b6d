/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Aggregate rows in LMDB: per metric key the running count, compensated
 * sum, mean and variance, min, max, first and last seen and the quantile
 * sketch; per
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

#define AGG_ROW_V1 0x41470001u /* count, sum, sum of squares: read, converted */
#define AGG_ROW_V2 0x41470002u

/* The fixed head of an aggregate row; the sketch's buckets follow it.
 * LMDB aligns values to 2 bytes only, so rows are copied in and out with
 * memcpy, never accessed in place. */
typedef struct {
	uint32_t version;
	uint32_t nbuckets;
	fb_moments_t m;
	int64_t first_ms, last_ms;
	uint64_t zero;
} agg_head_t;

typedef struct {
	uint64_t count;
	double sum, sumsq, min, max;
} moments_v1_t;

typedef struct {
	uint32_t version;
	uint32_t nbuckets;
	moments_v1_t m;
	int64_t first_ms, last_ms;
	uint64_t zero;
} agg_head_v1_t;

void fb_moments_add(fb_moments_t *m, double x)
{
	if (m->count == 0)
		m->min = m->max = x;
	m->count++;
	/* Neumaier's compensated sum */
	double t = m->sum + x;
	if (fabs(m->sum) >= fabs(x))
		m->sum_c += (m->sum - t) + x;
	else
		m->sum_c += (x - t) + m->sum;
	m->sum = t;
	/* Welford's running mean and squared deviations */
	double d = x - m->mean;
	m->mean += d / (double)m->count;
	m->m2 += d * (x - m->mean);
	if (x < m->min)
		m->min = x;
	if (x > m->max)
		m->max = x;
}

double fb_moments_sum(const fb_moments_t *m)
{
	return m->sum + m->sum_c;
}

double fb_moments_stddev(const fb_moments_t *m)
{
	return m->count > 0 && m->m2 > 0 ? sqrt(m->m2 / (double)m->count) : 0;
}

static fb_moments_t s_from_v1(const moments_v1_t *o)
{
	fb_moments_t m = { .count = o->count, .sum = o->sum, .min = o->min, .max = o->max };
	if (o->count > 0) {
		m.mean = o->sum / (double)o->count;
		m.m2 = o->sumsq - (double)o->count * m.mean * m.mean;
		if (!(m.m2 > 0))
			m.m2 = 0;
	}
	return m;
}

int fb_moments_read(const void *data, size_t len, fb_moments_t *out)
{
	if (len == sizeof(*out)) {
		memcpy(out, data, sizeof(*out));
		return 0;
	}
	if (len == sizeof(moments_v1_t)) {
		moments_v1_t o;
		memcpy(&o, data, sizeof(o));
		*out = s_from_v1(&o);
		return 0;
	}
	return TRC_ECORRUPT;
}

static const int64_t s_granularity_ms[3] = { 0, 3600000, 86400000 };

bool fb_key(trc_dbkey_t *k, const char *s, const char *v, const char *sc, const char *m)
{
	trc_dbkey_of(k, s, v, sc);
	if (m != NULL)
		trc_dbkey_str(k, m);
	return trc_dbkey_ok(k);
}

const char *fb_key_metric(const MDB_val *key, size_t *len)
{
	trc_dbsplit_t sp;
	trc_dbsplit_init(&sp, key);
	for (int part = 0; part < 3; part++)
		trc_dbsplit_str(&sp, len);
	const char *m = trc_dbsplit_str(&sp, len);
	return trc_dbsplit_done(&sp) ? m : NULL;
}

int fb_agg_load(trc_txn_t *txn, const void *key, size_t klen, fb_agg_t *a)
{
	MDB_val v;
	agg_head_t h;
	memset(a, 0, sizeof(*a));
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_AGG), key, klen, &v);
	if (rc != 0)
		return rc;
	size_t hl = sizeof(h);
	uint32_t version;
	if (v.mv_size < sizeof(version))
		return TRC_ECORRUPT;
	memcpy(&version, v.mv_data, sizeof(version));
	if (version == AGG_ROW_V1 && v.mv_size >= sizeof(agg_head_v1_t)) {
		agg_head_v1_t o;
		memcpy(&o, v.mv_data, sizeof(o));
		h = (agg_head_t){ .version = AGG_ROW_V2, .nbuckets = o.nbuckets, .m = s_from_v1(&o.m),
				  .first_ms = o.first_ms, .last_ms = o.last_ms, .zero = o.zero };
		hl = sizeof(o);
	} else if (version == AGG_ROW_V2 && v.mv_size >= sizeof(h)) {
		memcpy(&h, v.mv_data, sizeof(h));
	} else {
		return TRC_ECORRUPT;
	}
	if (h.nbuckets > SKETCH_MAX_BUCKETS ||
	    v.mv_size != hl + sizeof(sketch_bucket_t) * h.nbuckets)
		return TRC_ECORRUPT;
	a->m = h.m;
	a->first_ms = h.first_ms;
	a->last_ms = h.last_ms;
	a->sketch.zero = h.zero;
	if (h.nbuckets > 0) {
		a->sketch.b = malloc(sizeof(sketch_bucket_t) * h.nbuckets);
		if (a->sketch.b == NULL)
			return TRC_ENOMEM;
		memcpy(a->sketch.b, (const uint8_t *)v.mv_data + hl,
		       sizeof(sketch_bucket_t) * h.nbuckets);
		a->sketch.n = a->sketch.cap = h.nbuckets;
	}
	return 0;
}

void fb_agg_free(fb_agg_t *a)
{
	sketch_free(&a->sketch);
}

int fb_agg_store(trc_txn_t *txn, const void *key, size_t klen, const fb_agg_t *a)
{
	agg_head_t h = {
		.version = AGG_ROW_V2, .nbuckets = a->sketch.n, .m = a->m, .first_ms = a->first_ms,
		.last_ms = a->last_ms, .zero = a->sketch.zero,
	};
	size_t blen = sizeof(sketch_bucket_t) * a->sketch.n;
	uint8_t *dst = trc_txn_reserve(txn, trc_txn_db(txn, FB_DB_AGG), key, klen, sizeof(h) + blen,
				       0);
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
	st->sum = fb_moments_sum(&a->m);
	/* the wire keeps sum_squares; it is derived from the running terms */
	st->sum_squares = a->m.m2 + (double)a->m.count * a->m.mean * a->m.mean;
	st->min = a->m.min;
	st->max = a->m.max;
	st->first_seen_ms = a->first_ms;
	st->last_seen_ms = a->last_ms;
	if (a->m.count > 0) {
		st->mean = a->m.mean;
		st->stddev = fb_moments_stddev(&a->m);
		st->p50 = sketch_quantile(&a->sketch, 0.50);
		st->p90 = sketch_quantile(&a->sketch, 0.90);
		st->p99 = sketch_quantile(&a->sketch, 0.99);
	}
}

int fb_trend_read(trc_call_t *call, const void *key, size_t klen, int g, int64_t from,
		  int64_t to, Traction__V1__TrendBucket ***out, size_t *n)
{
	/* key is the metric's (s, v, sc, metric): its rows' keys go on with
	 * the granularity and the bucket's start */
	trc_dbkey_t lo, hi;
	int64_t start = from > 0 ? from - (from % s_granularity_ms[g]) : 0;
	trc_dbkey_init(&lo);
	trc_dbkey_raw(&lo, key, klen);
	trc_dbkey_sep(&lo);
	trc_dbkey_u8(&lo, (uint8_t)g);
	hi = lo;
	trc_dbkey_be64(&lo, (uint64_t)start);
	trc_dbkey_be64(&hi, to > 0 ? (uint64_t)to : UINT64_MAX);
	if (!trc_dbkey_ok(&hi))
		return TRC_EINVAL;
	size_t cap = 64;
	*n = 0;
	*out = NULL;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_TREND), &it, lo.buf, lo.len,
				hi.buf, hi.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		fb_moments_t row;
		trc_dbsplit_t sp;
		size_t l;
		trc_dbsplit_init(&sp, &it.key);
		for (int part = 0; part < 4; part++)
			trc_dbsplit_str(&sp, &l);
		trc_dbsplit_u8(&sp);
		int64_t bstart = (int64_t)trc_dbsplit_be64(&sp);
		if (!trc_dbsplit_done(&sp) ||
		    fb_moments_read(it.val.mv_data, it.val.mv_size, &row) != 0)
			continue;
		*out = trc_arena_grow(call->arena, *out, *n, &cap, sizeof(**out));
		Traction__V1__TrendBucket *b = trc_arena_alloc(call->arena, sizeof(*b));
		if (*out == NULL || b == NULL) {
			rc = TRC_ENOMEM; /* the cursor is closed below */
			break;
		}
		traction__v1__trend_bucket__init(b);
		b->start_ms = bstart;
		b->count = row.count;
		b->mean = row.mean;
		b->min = row.min;
		b->max = row.max;
		(*out)[(*n)++] = b;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int fb_evidence_load(trc_txn_t *txn, const void *key, size_t klen, fb_evidence_t *e)
{
	MDB_val v;
	memset(e, 0, sizeof(*e));
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_EVIDENCE), key, klen, &v);
	if (rc == TRC_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != sizeof(*e))
		return TRC_ECORRUPT;
	memcpy(e, v.mv_data, sizeof(*e));
	return 0;
}

int fb_evidence_store(trc_txn_t *txn, const void *key, size_t klen, const fb_evidence_t *e)
{
	return trc_txn_put(txn, trc_txn_db(txn, FB_DB_EVIDENCE), key, klen, e, sizeof(*e), 0);
}

int fb_dirty(trc_txn_t *txn, const char *s, const char *v, const char *sc)
{
	trc_dbkey_t k;
	if (!fb_key(&k, s, v, sc, NULL))
		return TRC_EINVAL;
	return trc_txn_put(txn, trc_txn_db(txn, FB_DB_DIRTY), k.buf, k.len, "", 0, 0);
}
