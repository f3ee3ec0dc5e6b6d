/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the daemon benchmarks share: timing one operation many times, and
 * a minimal catalogue (provider acme, supply defect-vision@1.0, scenario
 * weld-line-3) registered through the broker.
 */
#ifndef TRC_BENCH_COMMON_H
#define TRC_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

typedef void (*bench_op_fn)(void);

/* Each measured figure is printed for people and once more as a line
 * bench/compare.sh collects: "=row<TAB>section<TAB>name<TAB>rate<TAB>p50 us
 * <TAB>p99 us", "-" where a figure does not apply. */
extern const char *bench_section;
void bench_row(const char *name, double rate, double p50, double p99);

/* Runs op `calls` times after 5 warm-ups; prints and returns p50 and p99
 * in microseconds. */
void bench_measure(const char *name, bench_op_fn op, int calls, double *p50, double *p99);
/* The same, running pre (untimed) before each timed call of op. */
void bench_measure_after(const char *name, bench_op_fn pre, bench_op_fn op, int calls,
			 double *p50, double *p99);

/* The daemon set (broker, supplyd, scenariod, feedbackd, iterationd) in
 * harness h, stores of up to 4 GiB, warnings only in the logs; a client
 * with a 30 s timeout. Exits if the set does not come up. */
traction_client_t *bench_set_start(harness_t *h);

/* Registers the catalogue and waits until feedbackd and iterationd know
 * it (when they run). */
void bench_catalogue(traction_client_t *c, bool wait_feedback);
/* Waits until feedbackd has applied the catalogue's events (its supply
 * and version, its scenario): a feedbackd started after the catalogue. */
void bench_wait_feedback(traction_client_t *c);

/* Records the chain of versions 1.0 (the catalogue's), v1 .. v{n-1} of
 * defect-vision and waits until feedbackd knows them; their names, 32
 * bytes apart (free them). */
char *bench_versions(traction_client_t *c, int n);

/* The queries of the report, each timed `calls` times (client c):
 * iteration.history of defect-vision (every version), again with a write
 * to iterationd's store before each call (a version of another supply),
 * so that nothing it read before is current, and feedback.stats of
 * defect-vision@1.0 in weld-line-3. `suffix` ends the row names. */
void bench_queries(traction_client_t *c, const char *suffix, int calls);

/* What a publish row claims, and the check that the store holds it. A row
 * counts a record only if its own result says it was stored (status OK);
 * a duplicate only if it is a retry of a record of the same row (the
 * caller knows: the raw driver never sends a request twice, the publisher
 * resends only its own records under their keys). Each row publishes
 * under a metric name of its own (growth: one for the whole run, checked
 * cumulatively), so feedback.stats of that metric counts exactly what the
 * row stored: its aggregate is written in the records' own commit. */
typedef struct {
	const char *row;     /* for messages */
	const char *metric;  /* the row's own metric name */
	const char *version; /* whose aggregate is counted: "1.0", or "" for every version */
	uint64_t ok;         /* records stored, counted */
	uint64_t refused;    /* records whose status was not OK */
	uint64_t foreign;    /* duplicates that are no retry of this row's records */
	char why[256];       /* the first refusal */
} bench_tally_t;

/* One record's result; returns 1 if the row may count it, else 0. */
int bench_tally_result(bench_tally_t *t, int code, const char *message, bool duplicate,
		       bool own_retry);
/* Records of defect-vision in weld-line-3 with metric `metric` and version
 * `version` ("": every version) as feedback.stats counts them; 0 if none. */
uint64_t bench_stored(traction_client_t *c, const char *version, const char *metric);
/* Stops the benchmark (exit 1, with why) unless every record the row sent
 * was stored, at least one was, and the store holds exactly t->ok records
 * of the row's metric. Call before the row's figures are printed. */
void bench_tally_check(traction_client_t *c, const bench_tally_t *t);

/* libtraction's asynchronous publisher as an application uses it:
 * traction_publish one record at a time (it packs a copy and gets its
 * idempotency key) and poll; the publisher batches up to `batch` records
 * a request, `in_flight` requests at once. `records` records of
 * defect-vision@1.0 in weld-line-3 with metric tally->metric, each result
 * counted in tally. out->lat: each counted record's latency (us, from
 * traction_publish to its acknowledgement), the caller frees it. */
typedef struct {
	double rate;         /* records acknowledged stored per second */
	double elapsed_us;
	double *lat;
	uint64_t nlat;
} bench_pub_t;
void bench_publisher_drive(const char *endpoint, uint64_t records, size_t batch, size_t in_flight,
			   bench_tally_t *tally, bench_pub_t *out);

/* The CPU time a process spends over a stretch of work, every thread of
 * it: on a shared 2-core machine a rate moves with whatever else runs,
 * the CPU the daemon itself spent on a fixed number of records does
 * much less (docs/performance.md, "Alert rules"). cpu_ns sums the
 * threads' run time (/proc/PID/task/TID/schedstat: user and system, in
 * ns); user_ns the user part alone (/proc/PID/stat, in clock ticks: ~10
 * ms, so for long stretches only), where the daemon's own code runs and
 * a system call's cost under contention does not blur it; instructions
 * are counted (user space, perf_event_open per thread) where the machine
 * has the hardware counter, else -1. Threads started after
 * bench_cpu_begin are counted in cpu_ns and user_ns only. */
#define BENCH_CPU_THREADS 64
typedef struct {
	long pid;
	double cpu_ns, user_ns;
	int fd[BENCH_CPU_THREADS];
	int nfd;
} bench_cpu_t;
typedef struct {
	double cpu_ns, user_ns, instructions; /* -1: not counted here */
} bench_spent_t;
void bench_cpu_begin(bench_cpu_t *c, long pid);
/* What was spent since bench_cpu_begin. */
bench_spent_t bench_cpu_end(bench_cpu_t *c);

/* Waits until daemon `service` has applied events of `source` up to seq. */
void bench_wait_applied(traction_client_t *c, const char *service, const char *source,
			uint64_t seq);

/* A memory cgroup of the benchmark's own: it bounds a process's memory,
 * the page cache of its store included, as MemoryHigh= does for the
 * traction units under systemd (deploy/systemd). cgroup v2's memory.high
 * where the memory controller is there, else v1's memory.limit_in_bytes. */
typedef struct {
	char path[256];  /* the cgroup's directory, "" when there is none */
	const char *how; /* what bounds it, for the output */
} bench_memcg_t;

/* The bound of the growth runs (traction's feedbackd and bare LMDB alike). */
#define BENCH_GROWTH_MEMORY ((size_t)1 << 30)

/* Creates the cgroup name-<our pid> bounded to bytes and moves pid into it:
 * 0, or -1 if this machine has no memory cgroup we may write (g->how says
 * why; nothing is bounded then). */
int bench_memcg_enter(bench_memcg_t *g, const char *name, long pid, size_t bytes);
/* Moves what is still in the cgroup to the hierarchy's root, removes it
 * (at exit too, however the benchmark ends). */
void bench_memcg_remove(bench_memcg_t *g);

#endif
