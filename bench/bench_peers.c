/*
 * bench_peers: the clients for the systems people would use instead of
 * traction, driven like bench_publish drives traction: 256-byte records,
 * WINDOW acknowledgements outstanding, records per second and ack latency
 * p50/p99 (from the publish call to its acknowledgement).
 *   bench_peers nats URL RECORDS     NATS JetStream publish (libnats) to a
 *                                    file-storage stream the caller made
 *   bench_peers mqtt PORT RECORDS    Mosquitto, QoS 1 (libmosquitto)
 * Neither waits for the disk before it acknowledges: JetStream 2.9 syncs its
 * file store every 2 minutes by default, Mosquitto writes its persistence
 * file at autosave intervals (see docs/performance.md). bench/compare.sh
 * starts the servers; this only measures.
 */
#include <mosquitto.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_util.h"

#define RECORD_BYTES 256
enum { WINDOW = 1000 };

static double *s_sent_at, *s_lat;
static uint64_t s_nlat, s_failed;
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;

static void s_acked(uint64_t seq, bool ok)
{
	double now = bench_now_us();
	pthread_mutex_lock(&s_mu);
	if (ok)
		s_lat[s_nlat++] = now - s_sent_at[seq];
	else
		s_failed++;
	pthread_mutex_unlock(&s_mu);
}

static uint64_t s_done(void)
{
	pthread_mutex_lock(&s_mu);
	uint64_t n = s_nlat + s_failed;
	pthread_mutex_unlock(&s_mu);
	return n;
}

static void s_report(const char *name, uint64_t n, double t0)
{
	double t1 = bench_now_us();
	if (s_failed > 0) {
		fprintf(stderr, "bench_peers: %s: %llu of %llu not acknowledged\n", name,
			(unsigned long long)s_failed, (unsigned long long)n);
		exit(1);
	}
	double rate = (double)n / ((t1 - t0) / 1e6);
	double p50 = bench_quantile(s_lat, s_nlat, 0.5), p99 = bench_quantile(s_lat, s_nlat, 0.99);
	printf("%-52s %10.0f rec/s   ack p50 %8.1f us   p99 %8.1f us\n", name, rate, p50, p99);
	bench_row(name, rate, p50, p99);
}

/* ---- NATS JetStream ------------------------------------------------------ */

static void s_nats_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *ud)
{
	uint64_t seq;
	memcpy(&seq, natsMsg_GetData(msg), 8);
	s_acked(seq, pae == NULL);
	natsMsg_Destroy(msg);
}

static int s_nats(const char *url, uint64_t n)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions o;
	jsOptions_Init(&o);
	o.PublishAsync.MaxPending = WINDOW;
	o.PublishAsync.AckHandler = s_nats_ack;
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, &o);
	/* the stream that keeps the records: file storage, one replica */
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	const char *subjects[] = { "bench.records" };
	jsStreamConfig_Init(&sc);
	sc.Name = "BENCH";
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	if (s == NATS_OK)
		s = js_AddStream(NULL, js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "bench_peers: nats: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
		return 1;
	}
	char buf[RECORD_BYTES];
	memset(buf, 'x', sizeof(buf));
	double t0 = bench_now_us();
	for (uint64_t i = 0; i < n; i++) {
		memcpy(buf, &i, 8);
		s_sent_at[i] = bench_now_us();
		/* blocks while WINDOW acks are outstanding */
		s = js_PublishAsync(js, "bench.records", buf, sizeof(buf), NULL);
		if (s != NATS_OK) {
			fprintf(stderr, "bench_peers: nats publish: %s\n", natsStatus_GetText(s));
			return 1;
		}
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	js_PublishAsyncComplete(js, &po);
	while (s_done() < n)
		usleep(100);
	s_report("NATS JetStream publish (file store), 1000 in flight", n, t0);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return 0;
}

/* ---- Mosquitto, QoS 1 ------------------------------------------------------- */

static uint64_t s_mid_seq[65536];

static void s_mqtt_ack(struct mosquitto *m, void *ud, int mid)
{
	s_acked(s_mid_seq[mid & 0xffff], true);
}

static int s_mqtt(int port, uint64_t n)
{
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("bench-peers", true, NULL);
	if (m == NULL)
		return 1;
	mosquitto_publish_callback_set(m, s_mqtt_ack);
	mosquitto_max_inflight_messages_set(m, WINDOW);
	if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_peers: mqtt: cannot connect to port %d\n", port);
		return 1;
	}
	char buf[RECORD_BYTES];
	memset(buf, 'x', sizeof(buf));
	double t0 = bench_now_us();
	uint64_t next = 0;
	while (s_done() < n) {
		while (next < n && next - s_done() < WINDOW) {
			int mid = 0;
			memcpy(buf, &next, 8);
			s_sent_at[next] = bench_now_us();
			if (mosquitto_publish(m, &mid, "bench/records", sizeof(buf), buf, 1, false) !=
			    MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "bench_peers: mqtt publish failed\n");
				return 1;
			}
			s_mid_seq[mid & 0xffff] = next++;
		}
		if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bench_peers: mqtt connection lost\n");
			return 1;
		}
	}
	s_report("Mosquitto QoS 1 (persistence on), 1000 in flight", n, t0);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_peers nats URL RECORDS | mqtt PORT RECORDS\n");
		return 2;
	}
	uint64_t n = strtoull(argv[3], NULL, 10);
	s_sent_at = calloc(n, sizeof(double));
	s_lat = calloc(n, sizeof(double));
	if (s_sent_at == NULL || s_lat == NULL || n == 0)
		return 1;
	bench_section = "peers";
	int rc = strcmp(argv[1], "nats") == 0 ? s_nats(argv[2], n)
		 : strcmp(argv[1], "mqtt") == 0 ? s_mqtt(atoi(argv[2]), n)
						: 2;
	free(s_sent_at);
	free(s_lat);
	return rc;
}
