/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_history: iteration.history of a supply with 200 versions and
 * 100,000 feedback records spread over them (record k of version k mod
 * 200, so every version has metrics and deltas), through the real daemon
 * set, with the ping through the broker to iterationd measured in the same
 * run as baseline. The rows name the records they stand on: each record's
 * own result must be OK and the store must hold them all (feedback.stats),
 * or the run stops before it measures anything.
 *   bench_history [VERSIONS] [RECORDS] [CALLS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_util.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"

static harness_t H;
static traction_client_t *C;

static void must(int code, const traction_status_t *st, const char *what)
{
	if (code != 0) {
		fprintf(stderr, "bench_history: %s: %s\n", what, st->message);
		exit(1);
	}
}

static void op_ping(void)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	must(traction_call(C, "iteration", "ping", &e.base, &traction__v1__ping_reply__descriptor, &rep,
			   &st),
	     &st, "ping");
	traction_reply_free(rep);
}

static void op_diff(void)
{
	Traction__V1__IterationDiffRequest q = TRACTION__V1__ITERATION_DIFF_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.from_version = (char *)"1.0";
	q.to_version = (char *)"v199";
	must(traction_call(C, "iteration", "diff", &q.base,
			   &traction__v1__iteration_diff_reply__descriptor, &rep, &st),
	     &st, "diff");
	traction_reply_free(rep);
}

int main(int argc, char **argv)
{
	int versions = argc > 1 ? atoi(argv[1]) : 200;
	int records = argc > 2 ? atoi(argv[2]) : 100000;
	int calls = argc > 3 ? atoi(argv[3]) : 1000;
	bench_section = "queries";
	C = bench_set_start(&H);
	bench_catalogue(C, true);
	bench_wait_applied(C, "iteration", "supply", 2);

	/* a chain of versions: 1.0 (registered), v1 .. v{n-1} */
	traction_status_t st;
	char *vers = bench_versions(C, versions);

	/* feedback spread over the versions, 1000 records per request; each
	 * metric's records counted by their own results */
	char row[96];
	snprintf(row, sizeof(row), "bench_history setup, %d versions, %d records", versions,
		 records);
	static const char *const metric[2] = { "latency_ms", "defect_rate" };
	bench_tally_t tally[2] = { { .row = row, .metric = metric[0], .version = "" },
				   { .row = row, .metric = metric[1], .version = "" } };
	double t0 = bench_now_us();
	enum { B = 1000 };
	Traction__V1__FeedbackRecord *recs = calloc(B, sizeof(*recs));
	Traction__V1__FeedbackRecord **rp = calloc(B, sizeof(*rp));
	Traction__V1__Metric *ms = calloc(B, sizeof(*ms));
	for (int done = 0; done < records; done += B) {
		int n = records - done < B ? records - done : B;
		for (int i = 0; i < n; i++) {
			int k = done + i;
			traction__v1__feedback_record__init(&recs[i]);
			traction__v1__metric__init(&ms[i]);
			recs[i].scenario_id = (char *)"weld-line-3";
			recs[i].supply_id = (char *)"defect-vision";
			recs[i].version = vers + (size_t)(k % versions) * 32;
			ms[i].name = (char *)metric[k % 2];
			ms[i].value = 0.01 + (k % 100) * 0.001;
			recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
			recs[i].metric = &ms[i];
			rp[i] = &recs[i];
		}
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		req.records = rp;
		req.n_records = (size_t)n;
		must(traction_call(C, "feedback", "publish", &req.base,
				   &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep, &st),
		     &st, "publish");
		for (int i = 0; i < n; i++) {
			const Traction__V1__RecordResult *res =
				(size_t)i < rep->n_results ? rep->results[i] : NULL;
			/* each record is sent once: a duplicate is no record of this run */
			bench_tally_result(&tally[(done + i) % 2],
					   res == NULL ? TRACTION__V1__CODE__INTERNAL
					   : res->status != NULL ? res->status->code : 0,
					   res == NULL ? "a reply without this record's result"
					   : res->status != NULL ? res->status->message : "",
					   res != NULL && res->duplicate, false);
		}
		traction_reply_free(&rep->base);
	}
	double t1 = bench_now_us();
	for (int i = 0; i < 2 && records > i; i++)
		bench_tally_check(C, &tally[i]);
	/* let the coalesced evidence reach iterationd */
	h_sleep_ms(1500);
	printf("setup: %d versions; %d records published in %.2f s\n", versions, records,
	       (t1 - t0) / 1e6);
	double p50, p99, d50, d99;
	bench_measure("baseline: ping iterationd via broker", op_ping, 200, &p50, &p99);
	char suffix[96];
	snprintf(suffix, sizeof(suffix), ", %d versions, %d records", versions, records);
	bench_queries(C, suffix, calls);
	bench_measure("iteration.diff (first vs last)", op_diff, 200, &d50, &d99);
	free(recs);
	free(rp);
	free(ms);
	free(vers);
	traction_client_destroy(&C);
	h_done(&H);
	return 0;
}
