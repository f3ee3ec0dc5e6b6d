/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers for the benchmarks: timing and percentiles of samples.
 */
#ifndef TRC_BENCH_UTIL_H
#define TRC_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The q-quantile (0..1) of n samples; sorts them. */
static inline double bench_quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#endif
