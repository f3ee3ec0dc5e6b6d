/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_peers: the clients for the systems people would use instead of
 * traction, driven like bench_publish drives traction: 256-byte records,
 * records per second and ack latency p50/p99 (from the publish call to its
 * acknowledgement), in two shapes each: one record at a time with 1,000
 * unacknowledged (as traction's 1 record/request, 1000 in flight), and
 * groups of 64 records published back to back with 16 groups
 * unacknowledged (as libtraction's publisher keeps 16 requests of 64
 * records, and redis-benchmark -c 16 -P 64 pipelines). Neither protocol
 * carries 64 records in one message with a result each: a group is the
 * closest, each record still stored and acknowledged on its own.
 *   bench_peers nats URL RECORDS     NATS JetStream publish (libnats) to a
 *                                    file-storage stream the caller made
 *   bench_peers mqtt PORT RECORDS    Mosquitto, QoS 1 (libmosquitto)
 *   bench_peers mqttd PORT RECORDS   traction-mqttd, QoS 1, the same client and
 *                                    payload: PUBACK once the record is stored
 * Both MQTT rows publish the same 256-byte payload, a feedback record in
 * the JSON Lines format (docs/mqtt.md) with a key of its own.
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

/* A drive's shape: `group` records published back to back, at most
 * `groups` groups not yet wholly acknowledged. */
typedef struct {
	int group, groups;
	const char *tag;   /* the row's name: "1000" or "64 x 16" */
	const char *name;  /* NATS: the stream's; a store of its own per shape */
} shape_t;

static const shape_t s_shapes[] = { { 1, 1000, "1000", "BENCH_1X1000" },
				    { 64, 16, "64 x 16", "BENCH_64X16" } };
enum { MAX_IN_FLIGHT = 1024 };

static double *s_sent_at, *s_lat;
static uint64_t s_n, s_nlat, s_failed, s_groups_done, *s_group_acks;
static int s_group = 1;
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cv = PTHREAD_COND_INITIALIZER;

static void s_begin(uint64_t n, int group)
{
	pthread_mutex_lock(&s_mu);
	s_n = n;
	s_nlat = s_failed = s_groups_done = 0;
	s_group = group;
	memset(s_group_acks, 0, sizeof(*s_group_acks) * (n / (uint64_t)group + 1));
	pthread_mutex_unlock(&s_mu);
}

static void s_acked(uint64_t seq, bool ok)
{
	double now = bench_now_us();
	pthread_mutex_lock(&s_mu);
	if (ok)
		s_lat[s_nlat++] = now - s_sent_at[seq];
	else
		s_failed++;
	uint64_t g = seq / (uint64_t)s_group, start = g * (uint64_t)s_group;
	uint64_t size = s_n - start < (uint64_t)s_group ? s_n - start : (uint64_t)s_group;
	if (++s_group_acks[g] == size) {
		s_groups_done++;
		pthread_cond_broadcast(&s_cv);
	}
	pthread_mutex_unlock(&s_mu);
}

static uint64_t s_done(void)
{
	pthread_mutex_lock(&s_mu);
	uint64_t n = s_nlat + s_failed;
	pthread_mutex_unlock(&s_mu);
	return n;
}

/* May record `next` go now? Inside a group, yes; a group starts only while
 * fewer than `groups` are unacknowledged. */
static bool s_room(uint64_t next, int groups)
{
	if (next % (uint64_t)s_group != 0)
		return true;
	pthread_mutex_lock(&s_mu);
	bool room = next / (uint64_t)s_group - s_groups_done < (uint64_t)groups;
	pthread_mutex_unlock(&s_mu);
	return room;
}

/* The same, waiting (acknowledgements come on another thread). */
static void s_wait_room(uint64_t next, int groups)
{
	if (next % (uint64_t)s_group != 0)
		return;
	pthread_mutex_lock(&s_mu);
	while (next / (uint64_t)s_group - s_groups_done >= (uint64_t)groups)
		pthread_cond_wait(&s_cv, &s_mu);
	pthread_mutex_unlock(&s_mu);
}

/* Only records acknowledged count; a run with any not acknowledged stops. */
static void s_report(const char *name, uint64_t n, double t0)
{
	double t1 = bench_now_us();
	if (s_failed > 0 || s_nlat != n) {
		fprintf(stderr, "bench_peers: %s: %llu of %llu not acknowledged\n", name,
			(unsigned long long)(n - s_nlat), (unsigned long long)n);
		exit(1);
	}
	double rate = (double)s_nlat / ((t1 - t0) / 1e6);
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

/* One drive of n records in shape sh, into a stream of its own. */
static int s_nats_drive(jsCtx *js, const shape_t *sh, uint64_t n)
{
	/* the stream that keeps the records: file storage, one replica */
	char subject[64], name[128];
	snprintf(subject, sizeof(subject), "bench.%s", sh->name);
	const char *subjects[] = { subject };
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	jsStreamConfig_Init(&sc);
	sc.Name = sh->name;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	natsStatus s = js_AddStream(NULL, js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "bench_peers: nats: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
		return 1;
	}
	char buf[RECORD_BYTES];
	memset(buf, 'x', sizeof(buf));
	s_begin(n, sh->group);
	double t0 = bench_now_us();
	for (uint64_t i = 0; i < n; i++) {
		s_wait_room(i, sh->groups);
		memcpy(buf, &i, 8);
		s_sent_at[i] = bench_now_us();
		s = js_PublishAsync(js, subject, buf, sizeof(buf), NULL);
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
	snprintf(name, sizeof(name), "NATS JetStream publish (file store), %s in flight", sh->tag);
	s_report(name, n, t0);
	return 0;
}

static int s_nats(const char *url, uint64_t n)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions o;
	jsOptions_Init(&o);
	o.PublishAsync.MaxPending = MAX_IN_FLIGHT; /* the drive keeps fewer */
	o.PublishAsync.AckHandler = s_nats_ack;
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, &o);
	if (s != NATS_OK) {
		fprintf(stderr, "bench_peers: nats: %s\n", natsStatus_GetText(s));
		return 1;
	}
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < sizeof(s_shapes) / sizeof(s_shapes[0]); k++)
		rc = s_nats_drive(js, &s_shapes[k], n);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}

/* ---- Mosquitto, QoS 1 ------------------------------------------------------- */

static uint64_t s_mid_seq[65536];

static void s_mqtt_ack(struct mosquitto *m, void *ud, int mid)
{
	s_acked(s_mid_seq[mid & 0xffff], true);
}

/* Record seq of shape tag as 256 bytes of JSON: a metric with a key of
 * its own, padded with a label. */
static void s_mqtt_record(char *buf, const char *tag, uint64_t seq)
{
	int k = snprintf(buf, RECORD_BYTES,
			 "{\"key\":\"mb-%s-%llu\",\"metric\":{\"name\":\"mqttbench\",\"value\":%llu},"
			 "\"labels\":{\"pad\":\"",
			 tag, (unsigned long long)seq, (unsigned long long)(seq % 100));
	memset(buf + k, 'x', RECORD_BYTES - (size_t)k - 3);
	memcpy(buf + RECORD_BYTES - 3, "\"}}", 3);
}

/* traction-mqttd's rows, or Mosquitto's */
static const char *s_mqtt_topic = "bench/records";
static const char *s_mqtt_who = "Mosquitto QoS 1 (persistence on)";

static int s_mqtt_drive(struct mosquitto *m, const shape_t *sh, uint64_t n)
{
	char buf[RECORD_BYTES], name[160], tag[16];
	snprintf(tag, sizeof(tag), "%d", sh->group);
	s_begin(n, sh->group);
	double t0 = bench_now_us();
	uint64_t next = 0;
	while (s_done() < n) {
		while (next < n && s_room(next, sh->groups)) {
			int mid = 0;
			s_mqtt_record(buf, tag, next);
			s_sent_at[next] = bench_now_us();
			if (mosquitto_publish(m, &mid, s_mqtt_topic, sizeof(buf), buf, 1, false) !=
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
	snprintf(name, sizeof(name), "%s, %s in flight", s_mqtt_who, sh->tag);
	s_report(name, n, t0);
	return 0;
}

static int s_mqtt(int port, uint64_t n)
{
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("bench-peers", true, NULL);
	if (m == NULL)
		return 1;
	mosquitto_publish_callback_set(m, s_mqtt_ack);
	mosquitto_max_inflight_messages_set(m, MAX_IN_FLIGHT); /* the drive keeps fewer */
	if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_peers: mqtt: cannot connect to port %d\n", port);
		return 1;
	}
	for (size_t k = 0; k < sizeof(s_shapes) / sizeof(s_shapes[0]); k++)
		if (s_mqtt_drive(m, &s_shapes[k], n) != 0)
			return 1;
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_peers nats URL RECORDS | mqtt|mqttd PORT RECORDS\n");
		return 2;
	}
	uint64_t n = strtoull(argv[3], NULL, 10);
	s_sent_at = calloc(n, sizeof(double));
	s_lat = calloc(n, sizeof(double));
	s_group_acks = calloc(n + 1, sizeof(*s_group_acks));
	if (s_sent_at == NULL || s_lat == NULL || s_group_acks == NULL || n == 0)
		return 1;
	bench_section = "peers";
	int rc = strcmp(argv[1], "nats") == 0 ? s_nats(argv[2], n)
		 : strcmp(argv[1], "mqtt") == 0 ? s_mqtt(atoi(argv[2]), n)
						: 2;
	if (strcmp(argv[1], "mqttd") == 0) {
		s_mqtt_topic = "traction/v1/feedback/line-1/vision/1.0";
		s_mqtt_who = "traction-mqttd QoS 1 (PUBACK once stored)";
		rc = s_mqtt(atoi(argv[2]), n);
	}
	free(s_sent_at);
	free(s_lat);
	free(s_group_acks);
	return rc;
}
