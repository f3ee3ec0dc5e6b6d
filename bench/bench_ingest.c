/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_ingest: what making a record costs traction-mqttd's workers, with
 * no bus and no sockets: jobs of 128 messages of bench_peers' 256-byte
 * record (a metric with a key and a label) copied in as the loop copies
 * them, made into records by mqd_job_make and freed, against the same
 * payloads through jansson's path alone (mqd_records_json, as every
 * payload went before the direct scan of mqtt/scan.c). One thread;
 * microseconds of CPU a record, best of ROUNDS.
 *   bench_ingest [RECORDS] [ROUNDS]      (defaults: 200000, 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqttd.h"

#define RECORD_BYTES 256
#define JOB 128

static const char *s_topic = "traction/v1/feedback/line-1/vision/1.0";

static double s_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* bench_peers' record (its s_mqtt_record) */
static void s_record(char *buf, uint64_t seq)
{
	int k = snprintf(buf, RECORD_BYTES,
			 "{\"key\":\"mb-1-%llu\",\"metric\":{\"name\":\"mqttbench\",\"value\":%llu},"
			 "\"labels\":{\"pad\":\"",
			 (unsigned long long)seq, (unsigned long long)(seq % 100));
	memset(buf + k, 'x', RECORD_BYTES - (size_t)k - 3);
	memcpy(buf + RECORD_BYTES - 3, "\"}}", 3);
}

/* Jobs of JOB messages: copied, made (the scan, falling back to jansson)
 * and freed. */
static int s_jobs(uint64_t n)
{
	char buf[RECORD_BYTES];
	for (uint64_t done = 0; done < n;) {
		mqd_job_t *j = mqd_job_new(1, "", "bench", 0xab);
		if (j == NULL)
			return -1;
		for (int i = 0; i < JOB && done < n; i++, done++) {
			s_record(buf, done);
			if (mqd_job_add_raw(j, done, done, (const uint8_t *)s_topic, strlen(s_topic),
					    (const uint8_t *)buf, sizeof(buf)) != 0)
				return -1;
		}
		if (mqd_job_make(j) != 0 || j->n != j->n_msgs)
			return -1;
		mqd_job_free(j);
	}
	return 0;
}

/* The same records, one at a time, through jansson's path alone. */
static int s_json(uint64_t n)
{
	char buf[RECORD_BYTES];
	for (uint64_t i = 0; i < n; i++) {
		mqd_records_t rs;
		s_record(buf, i);
		if (mqd_records_json(s_topic, strlen(s_topic), (const uint8_t *)buf, sizeof(buf), "k",
				     &rs) != 0)
			return -1;
		mqd_records_free(&rs);
	}
	return 0;
}

static double s_best(int (*fn)(uint64_t), uint64_t n, int rounds)
{
	double best = -1;
	for (int r = 0; r < rounds; r++) {
		double t0 = s_cpu_us();
		if (fn(n) != 0) {
			fprintf(stderr, "bench_ingest: a record was refused\n");
			exit(1);
		}
		double us = (s_cpu_us() - t0) / (double)n;
		if (best < 0 || us < best)
			best = us;
	}
	return best;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (n == 0 || rounds <= 0)
		return 2;
	double scan = s_best(s_jobs, n, rounds), json = s_best(s_json, n, rounds);
	printf("a job's record (copied, made, freed): %.2f us CPU\n", scan);
	printf("a record through jansson alone (made, freed): %.2f us CPU\n", json);
	printf("=row\tmqtt\tmaking a record, traction-mqttd's job\t%.0f\t-\t-\n", 1e6 / scan);
	printf("=row\tmqtt\tmaking a record, jansson's path\t%.0f\t-\t-\n", 1e6 / json);
	return 0;
}
