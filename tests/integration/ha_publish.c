/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The publisher of the two-broker failover test (tests/integration/ha.sh):
 * libtraction's publisher at full speed through an endpoint list, until
 * the file STOP exists; then it flushes and says what it saw.
 *
 *   ha_publish ENDPOINTS SCENARIO SUPPLY VERSION STOP GAPS
 *
 * Every record has a key of its own. On stdout: "acked N stored S
 * duplicates D failed F", N the records acknowledged (S of them newly
 * stored, D duplicates of a retry whose first copy was stored), F those
 * refused. GAPS gets every gap between two acknowledgements longer than
 * 2 ms, one line "END_MS LENGTH_MS" each (wall clock ms at the ack that
 * ended it), so the test can tie each gap to a broker it killed, and the
 * line "p50 P p99 Q max M" of all the gaps between acknowledgements, in
 * ms.
 *
 * HA_PUBLISH_RATE (records/s, in the environment) paces it; unset: as
 * fast as the publisher's window lets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "traction/publisher.h"

typedef struct {
	unsigned long acked, stored, dup, failed;
	double last_ms;
	double *gaps;
	size_t ngaps, cap;
	FILE *out;
	char first_error[256];
} seen_t;

static double s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void s_on_ack(void *ud, const traction_ack_t *ack)
{
	seen_t *s = ud;
	double now = s_now_ms();
	if (s->last_ms > 0) {
		double gap = now - s->last_ms;
		if (s->ngaps == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1 << 16;
			s->gaps = realloc(s->gaps, s->cap * sizeof(*s->gaps));
			if (s->gaps == NULL)
				abort();
		}
		s->gaps[s->ngaps++] = gap;
		if (gap > 2)
			fprintf(s->out, "%.0f %.1f\n", now, gap);
	}
	s->last_ms = now;
	s->acked++;
	if (ack->code != 0) {
		if (s->failed++ == 0)
			snprintf(s->first_error, sizeof(s->first_error), "%s: %s",
				 traction_code_name(ack->code), ack->message);
	} else if (ack->duplicate) {
		s->dup++;
	} else {
		s->stored++;
	}
}

static int s_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: ha_publish ENDPOINTS SCENARIO SUPPLY VERSION STOP GAPS\n");
		return 2;
	}
	seen_t seen = { 0 };
	seen.out = fopen(argv[6], "w");
	if (seen.out == NULL) {
		perror(argv[6]);
		return 2;
	}
	traction_publisher_options_t o = { .batch = 64, .max_in_flight = 16, .on_ack = s_on_ack,
					   .ud = &seen, .timeout_ms = 3000,
					   .client_name = "ha-publish" };
	traction_publisher_t *p = NULL;
	if (traction_publisher_new(&p, argv[1], &o) != 0) {
		fprintf(stderr, "cannot make a publisher for %s\n", argv[1]);
		return 2;
	}
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	r.scenario_id = argv[2];
	r.supply_id = argv[3];
	r.version = argv[4];
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	m.name = "latency_ms";
	char key[64];
	unsigned long n = 0;
	const char *pace = getenv("HA_PUBLISH_RATE");
	double rate = pace != NULL ? atof(pace) : 0, t0 = s_now_ms();
	while (access(argv[5], F_OK) != 0) {
		/* keep the queue full: the publisher's own window is the limit */
		while (traction_publisher_pending(p) < 4096 &&
		       (rate <= 0 || (double)n < (s_now_ms() - t0) * rate / 1000)) {
			snprintf(key, sizeof(key), "ha-%d-%lu", (int)getpid(), ++n);
			r.idempotency_key = key;
			m.value = (double)(n % 100);
			if (traction_publish(p, &r, n) != 0)
				break;
		}
		traction_publisher_poll(p, 20);
	}
	int rc = traction_publisher_flush(p, 30000);
	traction_publisher_destroy(&p);
	qsort(seen.gaps, seen.ngaps, sizeof(*seen.gaps), s_cmp);
	double p50 = seen.ngaps ? seen.gaps[seen.ngaps / 2] : 0;
	double p99 = seen.ngaps ? seen.gaps[seen.ngaps * 99 / 100] : 0;
	double max = seen.ngaps ? seen.gaps[seen.ngaps - 1] : 0;
	fprintf(seen.out, "p50 %.3f p99 %.3f max %.1f\n", p50, p99, max);
	fclose(seen.out);
	free(seen.gaps);
	printf("published %lu acked %lu stored %lu duplicates %lu failed %lu flush %s\n", n,
	       seen.acked, seen.stored, seen.dup, seen.failed, rc == 0 ? "ok" : "timed out");
	if (seen.failed > 0)
		printf("first refusal: %s\n", seen.first_error);
	return 0;
}
