/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The quantile sketch against exact quantiles: relative error within 1%
 * on several distributions (uniform, log-normal-like, negative and mixed,
 * with zeros), merging equals adding everything to one sketch, and the
 * number of buckets stays bounded.
 */
#include <math.h>

#include "check.h"
#include "sketch.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : (x > y ? 1 : 0);
}

static uint64_t s_rng = 88172645463325252ull;
static double rnd(void)
{
	s_rng ^= s_rng << 13;
	s_rng ^= s_rng >> 7;
	s_rng ^= s_rng << 17;
	return (double)(s_rng >> 11) / 9007199254740992.0;
}

static void check_quantiles(double *v, size_t n, const sketch_t *s)
{
	static const double qs[] = { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0 };
	qsort(v, n, sizeof(*v), cmp);
	CHECK_EQ_INT(sketch_count(s), n);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = v[(size_t)floor(qs[i] * (double)(n - 1))];
		double est = sketch_quantile(s, qs[i]);
		double err = exact == 0 ? fabs(est) : fabs(est - exact) / fabs(exact);
		CHECK_MSG(err <= SKETCH_ALPHA + 1e-12, "q=%g exact=%g est=%g err=%g", qs[i], exact, est,
			  err);
	}
}

TEST(distributions)
{
	enum { N = 20000 };
	static double v[N];
	for (int dist = 0; dist < 4; dist++) {
		sketch_t s = { 0 };
		for (size_t i = 0; i < N; i++) {
			double x;
			switch (dist) {
			case 0: x = 0.01 + 0.04 * rnd(); break;                 /* defect rates */
			case 1: x = exp(3.0 + 2.0 * (rnd() + rnd() + rnd() - 1.5)); break; /* latencies */
			case 2: x = -1000.0 * rnd(); break;                      /* negative */
			default: x = i % 10 == 0 ? 0.0 : (rnd() - 0.5) * 1e6; break; /* mixed, zeros */
			}
			v[i] = x;
			CHECK_EQ_INT(sketch_add(&s, x, 1), 0);
		}
		check_quantiles(v, N, &s);
		sketch_free(&s);
	}
}

TEST(merge_equals_whole)
{
	sketch_t a = { 0 }, b = { 0 }, whole = { 0 };
	for (int i = 0; i < 5000; i++) {
		double x = exp(10 * rnd() - 5);
		sketch_add(i % 3 ? &a : &b, x, 1);
		sketch_add(&whole, x, 1);
	}
	CHECK_EQ_INT(sketch_merge(&a, &b), 0);
	CHECK_EQ_INT(a.n, whole.n);
	CHECK_EQ_INT(sketch_count(&a), 5000);
	for (uint32_t i = 0; i < a.n; i++) {
		CHECK_EQ_INT(a.b[i].key, whole.b[i].key);
		CHECK_EQ_INT(a.b[i].count, whole.b[i].count);
	}
	sketch_free(&a);
	sketch_free(&b);
	sketch_free(&whole);
}

TEST(bounded_and_refuses_non_finite)
{
	sketch_t s = { 0 };
	for (int e = -300; e <= 300; e++)
		for (int k = 0; k < 20; k++)
			sketch_add(&s, pow(10.0, e) * (1.0 + k / 20.0), 1);
	CHECK(s.n <= SKETCH_MAX_BUCKETS);
	CHECK(sketch_add(&s, NAN, 1) != 0);
	CHECK(sketch_add(&s, INFINITY, 1) != 0);
	CHECK_EQ_INT(sketch_count(&s), 601 * 20);
	/* the top stays accurate when the bottom was folded */
	double top = sketch_quantile(&s, 1.0);
	CHECK(fabs(top - 1e300 * 1.95) / (1e300 * 1.95) <= SKETCH_ALPHA);
	sketch_free(&s);
}

int main(void)
{
	RUN(distributions);
	RUN(merge_equals_whole);
	RUN(bounded_and_refuses_non_finite);
	DONE();
}
