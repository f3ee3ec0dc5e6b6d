/*
 * What the daemon benchmarks share: timing one operation many times, and
 * a minimal catalogue (provider acme, supply defect-vision@1.0, scenario
 * weld-line-3) registered through the broker.
 */
#ifndef TRC_BENCH_COMMON_H
#define TRC_BENCH_COMMON_H

#include "harness.h"

typedef void (*bench_op_fn)(void);

/* Runs op `calls` times after 5 warm-ups; prints and returns p50 and p99
 * in microseconds. */
void bench_measure(const char *name, bench_op_fn op, int calls, double *p50, double *p99);

/* Registers the catalogue and waits until feedbackd and iterationd know
 * it (when they run). */
void bench_catalogue(traction_client_t *c, bool wait_feedback);

/* Waits until daemon `service` has applied events of `source` up to seq. */
void bench_wait_applied(traction_client_t *c, const char *service, const char *source,
			uint64_t seq);

#endif
