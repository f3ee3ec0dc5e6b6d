/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log-bucketed quantile sketch. See sketch.h.
 */
#include "sketch.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Positive buckets keep their index k (about -1040..+1040 for 1e-9..1e9,
 * more for larger magnitudes); negative values get NEG_BASE - k, so that
 * they sort below every positive key, larger magnitudes lower. */
#define NEG_BASE (-1000000)

static double s_gamma(void)
{
	return (1.0 + SKETCH_ALPHA) / (1.0 - SKETCH_ALPHA);
}

static double s_log_gamma(void)
{
	static double lg;
	if (lg == 0)
		lg = log(s_gamma());
	return lg;
}

int32_t sketch_key(double x)
{
	double m = fabs(x);
	int32_t k = (int32_t)ceil(log(m) / s_log_gamma());
	return x > 0 ? k : NEG_BASE - k;
}

double sketch_value(int32_t key)
{
	bool neg = key <= NEG_BASE / 2;
	int32_t k = neg ? NEG_BASE - key : key;
	double g = s_gamma();
	double v = 2.0 * pow(g, k) / (g + 1.0);
	return neg ? -v : v;
}

static int s_grow(sketch_t *s)
{
	uint32_t ncap = s->cap == 0 ? 16 : s->cap * 2;
	sketch_bucket_t *nb = realloc(s->b, sizeof(*nb) * ncap);
	if (nb == NULL)
		return TRC_ENOMEM;
	s->b = nb;
	s->cap = ncap;
	return 0;
}

/* Keeps the sketch bounded: fold the lowest bucket into its neighbour.
 * The lowest quantiles lose accuracy first, as in DDSketch. */
static void s_collapse(sketch_t *s)
{
	while (s->n > SKETCH_MAX_BUCKETS) {
		s->b[1].count += s->b[0].count;
		memmove(&s->b[0], &s->b[1], sizeof(*s->b) * (s->n - 1));
		s->n--;
	}
}

int sketch_add_key(sketch_t *s, int32_t key, uint32_t n)
{
	/* binary search for key */
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->b[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && s->b[lo].key == key) {
		s->b[lo].count += n;
		return 0;
	}
	if (s->n == s->cap && s_grow(s) != 0)
		return TRC_ENOMEM;
	memmove(&s->b[lo + 1], &s->b[lo], sizeof(*s->b) * (s->n - lo));
	s->b[lo].key = key;
	s->b[lo].count = n;
	s->n++;
	s_collapse(s);
	return 0;
}

sketch_point_t sketch_point(double x)
{
	sketch_point_t p = { .x = x, .zero = fabs(x) < SKETCH_ZERO_BELOW };
	if (!p.zero)
		p.key = sketch_key(x);
	return p;
}

int sketch_add_point(sketch_t *s, const sketch_point_t *p)
{
	if (p->zero) {
		s->zero++;
		return 0;
	}
	return sketch_add_key(s, p->key, 1);
}

int sketch_add(sketch_t *s, double x, uint32_t n)
{
	if (!isfinite(x))
		return TRC_EINVAL;
	if (fabs(x) < SKETCH_ZERO_BELOW) {
		s->zero += n;
		return 0;
	}
	return sketch_add_key(s, sketch_key(x), n);
}

int sketch_merge(sketch_t *s, const sketch_t *o)
{
	s->zero += o->zero;
	for (uint32_t i = 0; i < o->n; i++) {
		int rc = sketch_add_key(s, o->b[i].key, o->b[i].count);
		if (rc != 0)
			return rc;
	}
	return 0;
}

uint64_t sketch_count(const sketch_t *s)
{
	uint64_t n = s->zero;
	for (uint32_t i = 0; i < s->n; i++)
		n += s->b[i].count;
	return n;
}

double sketch_quantile(const sketch_t *s, double q)
{
	uint64_t total = sketch_count(s);
	if (total == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	uint64_t rank = (uint64_t)floor(q * (double)(total - 1));
	uint64_t seen = 0;
	bool zero_done = false;
	for (uint32_t i = 0; i < s->n; i++) {
		/* zeros sit between the negative and the positive buckets */
		if (!zero_done && s->b[i].key > NEG_BASE / 2) {
			zero_done = true;
			seen += s->zero;
			if (rank < seen)
				return 0;
		}
		seen += s->b[i].count;
		if (rank < seen)
			return sketch_value(s->b[i].key);
	}
	return 0; /* the rank falls among the zeros after the negatives */
}

void sketch_free(sketch_t *s)
{
	free(s->b);
	memset(s, 0, sizeof(*s));
}
