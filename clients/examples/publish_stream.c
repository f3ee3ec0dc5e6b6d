/* SPDX-License-Identifier: Apache-2.0 */
/*
 * publish_stream: a site gateway in a few lines. It publishes a stream of
 * metric records through libtraction's asynchronous publisher and prints
 * how fast they were acknowledged (each acknowledgement means the record is
 * on disk). Build against an installed libtraction with
 *
 *   cc publish_stream.c $(pkg-config --cflags --libs libtraction) -o publish_stream
 *
 * Usage: publish_stream SCENARIO SUPPLY@VERSION METRIC COUNT [ENDPOINT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <traction/publisher.h>

static long s_ok, s_failed;

static void on_ack(void *ud, const traction_ack_t *ack)
{
	if (ack->code == 0) {
		s_ok++;
	} else {
		s_failed++;
		fprintf(stderr, "record %llu: %s: %s\n", (unsigned long long)ack->tag,
			traction_code_name(ack->code), ack->message);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s SCENARIO SUPPLY@VERSION METRIC COUNT [ENDPOINT]\n", argv[0]);
		return 1;
	}
	char supply[128];
	snprintf(supply, sizeof(supply), "%s", argv[2]);
	char *version = strchr(supply, '@');
	if (version == NULL) {
		fprintf(stderr, "write SUPPLY@VERSION\n");
		return 1;
	}
	*version++ = '\0';
	long count = atol(argv[4]);
	const char *endpoint = argc > 5 ? argv[5] : getenv("TRACTION_ENDPOINT");
	if (endpoint == NULL)
		endpoint = "tcp://127.0.0.1:7400";

	traction_publisher_options_t opts = { .on_ack = on_ack, .client_name = "publish_stream" };
	traction_publisher_t *pub = NULL;
	if (traction_publisher_new(&pub, endpoint, &opts) != 0) {
		fprintf(stderr, "cannot connect to %s\n", endpoint);
		return 1;
	}
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
		Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
		m.name = argv[3];
		m.value = 0.01 + (double)(i % 50) / 1000.0;
		r.scenario_id = argv[1];
		r.supply_id = supply;
		r.version = version;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
		/* a full queue is back-pressure: let acknowledgements drain it */
		while (traction_publish(pub, &r, (uint64_t)i) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			traction_publisher_poll(pub, 10);
		traction_publisher_poll(pub, 0);
	}
	int rc = traction_publisher_flush(pub, 60000);
	double dt = now_s() - t0;
	printf("%ld acknowledged, %ld refused in %.2f s: %.0f records/s%s\n", s_ok, s_failed, dt,
	       (double)s_ok / (dt > 0 ? dt : 1), rc == 0 ? "" : " (not all acknowledged)");
	traction_publisher_destroy(&pub);
	return rc == 0 && s_failed == 0 ? 0 : 1;
}
