/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_lanes: interactive reads beside bulk ingest. A prober of its own
 * (a second client) asks feedbackd for `ping` and `feedback.stats` at a
 * steady pace, first with nothing else running, then while libtraction's
 * publisher runs at full speed (its default batch of 64 records, 16
 * requests in flight: the 1,024 records in flight of the ingest targets).
 * The publisher also runs without the prober, drives alternating, so the
 * run gives both ratios its target names (docs/performance.md): the
 * probes' p99 during ingest against idle, and the ingest rate with the
 * probes against without. Every publish row is checked stored.
 *   bench_lanes [RECORDS a drive] [DRIVES]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_util.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

static harness_t H;

/* One probe of each kind every PROBE_GAP_US: ~100 of each a second, a
 * dashboard's or an operator's pace, not a load of its own. */
#define PROBE_GAP_US 10000.0
#define PROBES_MAX 100000

typedef struct {
	traction_client_t *c;
	volatile int stop;
	double ping[PROBES_MAX], stats[PROBES_MAX];
	size_t nping, nstats;
	const char *failed;
} prober_t;

static int s_ping(traction_client_t *c)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "feedback", "ping", &e.base, &traction__v1__ping_reply__descriptor,
				 &rep, &st);
	traction_reply_free(rep);
	return code;
}

static int s_stats(traction_client_t *c)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	int code = traction_call(c, "feedback", "stats", &q.base,
				 &traction__v1__stats_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	return code;
}

static void s_pace(double since)
{
	double left = since + PROBE_GAP_US / 2 - bench_now_us();
	if (left > 0)
		h_sleep_ms((int)(left / 1000) + (left > 1000 ? 0 : 1));
}

static void *s_probe(void *arg)
{
	prober_t *p = arg;
	while (!p->stop && p->nping < PROBES_MAX && p->nstats < PROBES_MAX) {
		double t0 = bench_now_us();
		if (s_ping(p->c) != 0) {
			p->failed = "ping";
			break;
		}
		double t1 = bench_now_us();
		p->ping[p->nping++] = t1 - t0;
		s_pace(t0);
		double t2 = bench_now_us();
		if (s_stats(p->c) != 0) {
			p->failed = "feedback.stats";
			break;
		}
		p->stats[p->nstats++] = bench_now_us() - t2;
		s_pace(t2);
	}
	return NULL;
}

static void s_prober_start(prober_t *p, pthread_t *t)
{
	p->stop = 0;
	p->nping = p->nstats = 0;
	if (pthread_create(t, NULL, s_probe, p) != 0) {
		fprintf(stderr, "bench_lanes: no prober thread\n");
		exit(1);
	}
}

static void s_prober_stop(prober_t *p, pthread_t t)
{
	p->stop = 1;
	pthread_join(t, NULL);
	if (p->failed != NULL || p->nping < 20) {
		fprintf(stderr, "bench_lanes: the prober's %s failed (%zu probes)\n",
			p->failed != NULL ? p->failed : "probes", p->nping);
		exit(1);
	}
}

/* Latencies of several drives, pooled. */
typedef struct {
	double *v;
	size_t n;
} pool_t;

static void s_pool(pool_t *pl, const double *v, size_t n)
{
	pl->v = realloc(pl->v, (pl->n + n) * sizeof(double));
	if (pl->v == NULL)
		exit(1);
	memcpy(pl->v + pl->n, v, n * sizeof(double));
	pl->n += n;
}

static void s_row(const char *name, double rate, pool_t *pl)
{
	double p50 = bench_quantile(pl->v, pl->n, 0.5), p99 = bench_quantile(pl->v, pl->n, 0.99);
	printf("%-58s %10.0f/s  p50 %8.1f us  p99 %8.1f us  (%zu samples)\n", name, rate, p50, p99,
	       pl->n);
	bench_row(name, rate, p50, p99);
	free(pl->v);
	*pl = (pool_t){ 0 };
}

static double s_median(double *v, size_t n)
{
	return bench_quantile(v, n, 0.5);
}

#define DRIVES_MAX 16

int main(int argc, char **argv)
{
	uint64_t records = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
	int drives = argc > 2 ? atoi(argv[2]) : 3;
	if (records == 0 || drives < 1 || drives > DRIVES_MAX) {
		fprintf(stderr, "usage: bench_lanes [RECORDS] [DRIVES 1..%d]\n", DRIVES_MAX);
		return 2;
	}
	bench_section = "lanes";
	traction_client_t *c = bench_set_start(&H);
	bench_catalogue(c, true);
	static prober_t P;
	P.c = h_client(&H);
	traction_client_set_timeout(P.c, 30000);
	pthread_t t;

	/* idle: the probes alone, after a publish that gives stats a metric */
	bench_tally_t warm = { .row = "bench_lanes warm-up", .metric = "warm", .version = "1.0" };
	bench_pub_t pub;
	bench_publisher_drive(H.client_ep, records, 64, 16, &warm, &pub);
	free(pub.lat);
	bench_tally_check(c, &warm);
	h_sleep_ms(500);
	s_prober_start(&P, &t);
	h_sleep_ms(3000);
	s_prober_stop(&P, t);
	pool_t ping_idle = { 0 }, stats_idle = { 0 }, ping_busy = { 0 }, stats_busy = { 0 };
	pool_t lat_alone = { 0 }, lat_probed = { 0 };
	s_pool(&ping_idle, P.ping, P.nping);
	s_pool(&stats_idle, P.stats, P.nstats);

	/* drives alternating: the publisher alone, then with the prober */
	double alone[DRIVES_MAX], probed[DRIVES_MAX];
	static char metric[2 * DRIVES_MAX][16];
	for (int i = 0; i < 2 * drives; i++) {
		bool with = i % 2 == 1;
		snprintf(metric[i], sizeof(metric[i]), "lane%d", i);
		bench_tally_t tally = { .row = with ? "ingest with probes" : "ingest alone",
					.metric = metric[i], .version = "1.0" };
		if (with)
			s_prober_start(&P, &t);
		bench_publisher_drive(H.client_ep, records, 64, 16, &tally, &pub);
		if (with) {
			s_prober_stop(&P, t);
			s_pool(&ping_busy, P.ping, P.nping);
			s_pool(&stats_busy, P.stats, P.nstats);
		}
		s_pool(with ? &lat_probed : &lat_alone, pub.lat, pub.nlat);
		free(pub.lat);
		bench_tally_check(c, &tally);
		(with ? probed : alone)[i / 2] = pub.rate;
		printf("  drive %d, %s: %.0f records/s\n", i / 2 + 1, tally.row, pub.rate);
		h_sleep_ms(300);
	}
	printf("probes: one ping and one feedback.stats of feedbackd every %.0f ms; "
	       "ingest: libtraction's publisher, 64 x 16, %llu records a drive, %d drives each\n",
	       PROBE_GAP_US / 1000, (unsigned long long)records, drives);
	s_row("ping feedbackd, idle", 0, &ping_idle);
	s_row("ping feedbackd, during ingest", 0, &ping_busy);
	s_row("feedback.stats, idle", 0, &stats_idle);
	s_row("feedback.stats, during ingest", 0, &stats_busy);
	s_row("ingest alone (publisher 64 x 16)", s_median(alone, (size_t)drives), &lat_alone);
	s_row("ingest with the probes", s_median(probed, (size_t)drives), &lat_probed);
	traction_client_destroy(&P.c);
	traction_client_destroy(&c);
	h_done(&H);
	return 0;
}
