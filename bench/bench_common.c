/*
 * Shared pieces of the daemon benchmarks. See bench_common.h.
 */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

void bench_measure(const char *name, bench_op_fn op, int calls, double *p50, double *p99)
{
	double *v = malloc(sizeof(double) * (size_t)calls);
	for (int i = 0; i < 5; i++)
		op();
	for (int i = 0; i < calls; i++) {
		double t0 = bench_now_us();
		op();
		v[i] = bench_now_us() - t0;
	}
	*p50 = bench_quantile(v, (size_t)calls, 0.50);
	*p99 = bench_quantile(v, (size_t)calls, 0.99);
	printf("%-40s p50 %9.1f us   p99 %9.1f us\n", name, *p50, *p99);
	free(v);
}

void bench_wait_applied(traction_client_t *c, const char *service, const char *source,
			uint64_t seq)
{
	for (int i = 0; i < 12000; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__PingReply *p = NULL;
		traction_status_t st;
		if (traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				  (ProtobufCMessage **)&p, &st) == 0) {
			uint64_t applied = 0;
			for (size_t k = 0; k < p->n_positions; k++)
				if (strcmp(p->positions[k]->source, source) == 0)
					applied = p->positions[k]->applied_seq;
			traction_reply_free(&p->base);
			if (applied >= seq)
				return;
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "bench: %s did not catch up with %s\n", service, source);
	exit(1);
}

void bench_catalogue(traction_client_t *c, bool wait_feedback)
{
	h_catalogue(c, NULL);
	if (wait_feedback) {
		bench_wait_applied(c, "feedback", "supply", 2);
		bench_wait_applied(c, "feedback", "scenario", 1);
	}
}
