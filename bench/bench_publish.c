/*
 * bench_publish: durable feedback publish through the real broker and
 * feedbackd, against the raw limits measured in the same run:
 *   1. bare ZeroMQ DEALER -> ROUTER echo (no disk);
 *   2. the bare group-commit loop: ROUTER, drain what has arrived, one
 *      durable LMDB transaction putting every record, then the acks;
 *   3. traction: feedback.publish of 256-byte metric records through the
 *      broker, W requests in flight on one connection, each request
 *      carrying B records (B = 1: one record per message; the client
 *      library may batch, as Kafka producers do).
 * Each at W = 1000 in flight (throughput, records acknowledged durable per
 * second) and W = 1 (ack latency p50/p99).
 *   bench_publish [RECORDS]
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"
#include "harness.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

#define RECORD_BYTES 256

static harness_t H;

/* the steady open-loop row: requests of one record per second, for seconds */
enum { STEADY_RATE = 10000, STEADY_S = 5 };

typedef struct {
	double rate;      /* records per second */
	double p50, p99;  /* ack latency, microseconds */
} result_t;

/* ---- a generic driver: W requests in flight on a DEALER (closed loop), or
 * requests sent at a fixed rate whatever the replies do (open loop) ------- */

typedef int (*send_fn)(void *sock, uint64_t id, void *ud);
typedef int (*recv_fn)(void *sock, uint64_t *id, void *ud); /* records acked */

static int s_poll_in(void *sock, int ms);

/* rate > 0: open loop at rate requests/s, each one's latency counted from
 * when it was due, not when it went out (no coordinated omission). */
static result_t s_drive(void *sock, uint64_t total_msgs, int window, double rate,
			int recs_per_msg, send_fn snd, recv_fn rcv, void *ud)
{
	double *sent_at = calloc(total_msgs + 1, sizeof(double));
	double *lat = calloc(total_msgs + 1, sizeof(double));
	uint64_t next = 1, done = 0, nlat = 0;
	double t0 = bench_now_us();
	while (done < total_msgs) {
		double now = bench_now_us();
		while (next <= total_msgs &&
		       (rate > 0 ? t0 + (double)(next - 1) * 1e6 / rate <= now
				 : next - done - 1 < (uint64_t)window)) {
			sent_at[next] = rate > 0 ? t0 + (double)(next - 1) * 1e6 / rate : bench_now_us();
			if (snd(sock, next, ud) != 0) {
				fprintf(stderr, "bench_publish: send failed\n");
				exit(1);
			}
			next++;
		}
		if (rate > 0 && next <= total_msgs &&
		    (next - 1 == done || s_poll_in(sock, 0) != 0)) {
			/* nothing to read: nap until the next request is due, at most
			 * 50 us, so neither a late send nor a spinning core (the
			 * daemons share two) skews the figure */
			double due = t0 + (double)(next - 1) * 1e6 / rate - bench_now_us();
			if (due > 0) {
				struct timespec ts = { 0, (long)(due < 50 ? due : 50) * 1000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		uint64_t id;
		if (rcv(sock, &id, ud) != 0) {
			fprintf(stderr, "bench_publish: no reply in time (done %llu of %llu)\n",
				(unsigned long long)done, (unsigned long long)total_msgs);
			exit(1);
		}
		if (id >= 1 && id <= total_msgs)
			lat[nlat++] = bench_now_us() - sent_at[id];
		done++;
	}
	double t1 = bench_now_us();
	result_t r;
	r.rate = (double)total_msgs * recs_per_msg / ((t1 - t0) / 1e6);
	r.p50 = bench_quantile(lat, nlat, 0.5);
	r.p99 = bench_quantile(lat, nlat, 0.99);
	free(sent_at);
	free(lat);
	return r;
}

static int s_poll_in(void *sock, int ms)
{
	zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
	return zmq_poll(&it, 1, ms) > 0 ? 0 : -1;
}

/* ---- baseline 1 and 2: a ROUTER server thread -------------------------------- */

typedef struct {
	void *ctx;
	char endpoint[128];
	bool durable;          /* group commit to LMDB before acking */
	char dir[400];
	volatile int stop;
	pthread_t th;
} server_t;

static void *s_server(void *arg)
{
	server_t *sv = arg;
	void *r = zmq_socket(sv->ctx, ZMQ_ROUTER);
	int hwm = 0, linger = 0;
	zmq_setsockopt(r, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_bind(r, "tcp://127.0.0.1:*");
	size_t n = sizeof(sv->endpoint);
	zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, sv->endpoint, &n);
	MDB_env *env = NULL;
	MDB_dbi dbi = 0;
	uint64_t seq = 0;
	if (sv->durable) {
		mdb_env_create(&env);
		mdb_env_set_mapsize(env, 4ull << 30);
		mdb_env_open(env, sv->dir, 0, 0640);
		MDB_txn *t;
		mdb_txn_begin(env, NULL, 0, &t);
		mdb_dbi_open(t, NULL, 0, &dbi);
		mdb_txn_commit(t);
	}
	enum { MAXB = 8192 };
	static zmq_msg_t ids[MAXB], bodies[MAXB];
	__atomic_store_n(&sv->stop, 0, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&sv->stop, __ATOMIC_SEQ_CST)) {
		if (s_poll_in(r, 50) != 0)
			continue;
		int nb = 0;
		while (nb < MAXB) {
			zmq_msg_init(&ids[nb]);
			if (zmq_msg_recv(&ids[nb], r, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&ids[nb]);
				break;
			}
			zmq_msg_init(&bodies[nb]);
			zmq_msg_recv(&bodies[nb], r, 0);
			nb++;
		}
		if (sv->durable && nb > 0) {
			MDB_txn *t;
			mdb_txn_begin(env, NULL, 0, &t);
			for (int i = 0; i < nb; i++) {
				uint8_t k[8];
				trc_be64_put(k, ++seq);
				MDB_val kv = { 8, k }, vv = { zmq_msg_size(&bodies[i]), zmq_msg_data(&bodies[i]) };
				mdb_put(t, dbi, &kv, &vv, MDB_APPEND);
			}
			mdb_txn_commit(t); /* durable: two fdatasyncs */
		}
		for (int i = 0; i < nb; i++) {
			zmq_msg_send(&ids[i], r, ZMQ_SNDMORE);
			/* the ack echoes the first 8 bytes (the request id) */
			zmq_send(r, zmq_msg_data(&bodies[i]), 8, 0);
			zmq_msg_close(&bodies[i]);
		}
	}
	zmq_close(r);
	if (env != NULL)
		mdb_env_close(env);
	return NULL;
}

static int s_raw_send(void *sock, uint64_t id, void *ud)
{
	uint8_t buf[RECORD_BYTES];
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, &id, 8);
	return zmq_send(sock, buf, sizeof(buf), 0) < 0 ? -1 : 0;
}

static int s_raw_recv(void *sock, uint64_t *id, void *ud)
{
	uint8_t buf[16];
	if (s_poll_in(sock, 10000) != 0)
		return -1;
	if (zmq_recv(sock, buf, sizeof(buf), 0) < 8)
		return -1;
	memcpy(id, buf, 8);
	return 0;
}

static result_t s_bare(void *ctx, bool durable, uint64_t msgs, int window, double rate)
{
	server_t sv = { .ctx = ctx, .durable = durable };
	snprintf(sv.dir, sizeof(sv.dir), "%s/bare-%d-%d-%.0f", H.dir, durable, window, rate);
	if (durable) {
		if (trc_mkdir_p(sv.dir) != 0)
			exit(1);
	}
	pthread_create(&sv.th, NULL, s_server, &sv);
	while (sv.endpoint[0] == '\0')
		h_sleep_ms(1);
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	int hwm = 0, linger = 0;
	zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(d, sv.endpoint);
	result_t r = s_drive(d, msgs, window, rate, 1, s_raw_send, s_raw_recv, NULL);
	zmq_close(d);
	__atomic_store_n(&sv.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(sv.th, NULL);
	return r;
}

/* ---- traction: feedback.publish through the broker ------------------------------- */

typedef struct {
	int recs;                 /* records per request */
	uint64_t key_base;
	uint8_t *body;            /* a packed PublishRequest, rebuilt per send */
} pub_t;

static int s_pub_send(void *sock, uint64_t id, void *ud)
{
	pub_t *p = ud;
	Traction__V1__FeedbackRecord recs[256], *rp[256];
	Traction__V1__Metric m[256];
	Traction__V1__KeyValue lab = TRACTION__V1__KEY_VALUE__INIT, *labp = &lab;
	char keys[256][32];
	/* labels pad each record to about 256 bytes on the wire */
	static char pad[160];
	if (pad[0] == '\0')
		memset(pad, 'p', sizeof(pad) - 1);
	lab.key = (char *)"site";
	lab.value = pad;
	for (int i = 0; i < p->recs; i++) {
		traction__v1__feedback_record__init(&recs[i]);
		traction__v1__metric__init(&m[i]);
		recs[i].scenario_id = (char *)"weld-line-3";
		recs[i].supply_id = (char *)"defect-vision";
		recs[i].version = (char *)"1.0";
		snprintf(keys[i], sizeof(keys[i]), "k%llu-%llu-%d", (unsigned long long)p->key_base,
			 (unsigned long long)id, i);
		recs[i].idempotency_key = keys[i];
		recs[i].labels = &labp;
		recs[i].n_labels = 1;
		m[i].name = (char *)"defect_rate";
		m[i].value = 0.01 + (double)((id * 7 + (uint64_t)i) % 100) / 1000.0;
		recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		recs[i].metric = &m[i];
		rp[i] = &recs[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	req.records = rp;
	req.n_records = (size_t)p->recs;
	size_t blen = traction__v1__publish_request__get_packed_size(&req);
	traction__v1__publish_request__pack(&req, p->body);
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hbuf[256];
	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"feedback";
	h.method = (char *)"publish";
	h.request_id = id;
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	trc_frame_t f[2] = { { hbuf, hlen }, { p->body, blen } };
	return trc_send(sock, f, 2, 0);
}

static int s_pub_recv(void *sock, uint64_t *id, void *ud)
{
	if (s_poll_in(sock, 30000) != 0)
		return -1;
	trc_msg_t m;
	if (trc_msg_recv(sock, &m, 0) != 0)
		return -1;
	const char *why;
	Traction__V1__Header *h = trc_header_unpack(NULL, trc_msg_data(&m, 0), trc_msg_size(&m, 0),
						    &why);
	int rc = -1;
	if (h != NULL && (h->status == NULL || h->status->code == 0)) {
		*id = h->request_id;
		rc = 0;
	} else if (h != NULL) {
		fprintf(stderr, "bench_publish: %s\n", h->status->message);
	}
	if (h != NULL)
		protobuf_c_message_free_unpacked(&h->base, NULL);
	trc_msg_close(&m);
	return rc;
}

static result_t s_traction(uint64_t msgs, int window, double rate, int recs)
{
	static uint64_t base;
	pub_t p = { .recs = recs, .key_base = ++base, .body = malloc(300 * 256 + 1024) };
	void *ctx = zmq_ctx_new();
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	int hwm = 0, linger = 0;
	zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(d, H.client_ep);
	result_t r = s_drive(d, msgs, window, rate, recs, s_pub_send, s_pub_recv, &p);
	zmq_close(d);
	zmq_ctx_term(ctx);
	free(p.body);
	return r;
}

static void setup(void)
{
	traction_client_t *c = h_client(&H);
	traction_status_t st;
	ProtobufCMessage *rep = NULL;
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	p.id = (char *)"acme";
	p.name = (char *)"Acme";
	p.kind = 1;
	pr.provider = &p;
	traction_call(c, "supply", "provider.register", &pr.base,
		      &traction__v1__provider_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	s.id = (char *)"defect-vision";
	s.provider_id = (char *)"acme";
	s.kind = 3;
	s.name = (char *)"Defect Vision";
	s.initial_version = (char *)"1.0";
	sr.supply = &s;
	traction_call(c, "supply", "register", &sr.base, &traction__v1__supply_reply__descriptor,
		      &rep, &st);
	traction_reply_free(rep);
	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	sc.id = (char *)"weld-line-3";
	sc.enterprise = (char *)"Northern Steel";
	sc.domain = 2;
	sc.name = (char *)"Weld";
	req.scenario = &sc;
	traction_call(c, "scenario", "submit", &req.base, &traction__v1__scenario_reply__descriptor,
		      &rep, &st);
	traction_reply_free(rep);
	/* wait until feedbackd knows both */
	for (int i = 0; i < 400; i++) {
		pub_t pb = { .recs = 1, .key_base = 999999, .body = malloc(4096) };
		void *ctx = zmq_ctx_new();
		void *d = zmq_socket(ctx, ZMQ_DEALER);
		zmq_connect(d, H.client_ep);
		s_pub_send(d, 1, &pb);
		bool ok = false;
		if (s_poll_in(d, 2000) == 0) {
			trc_msg_t m;
			trc_msg_recv(d, &m, 0);
			Traction__V1__PublishReply *pr2 = m.n > 1 ? traction__v1__publish_reply__unpack(
								      NULL, trc_msg_size(&m, 1), trc_msg_data(&m, 1))
								: NULL;
			ok = pr2 != NULL && pr2->n_results == 1 && pr2->results[0]->status->code == 0;
			if (pr2 != NULL)
				traction__v1__publish_reply__free_unpacked(pr2, NULL);
			trc_msg_close(&m);
		}
		zmq_close(d);
		zmq_ctx_term(ctx);
		free(pb.body);
		if (ok)
			break;
		h_sleep_ms(25);
	}
	traction_client_destroy(&c);
}

static void row(const char *name, result_t r)
{
	printf("%-52s %10.0f rec/s   ack p50 %8.1f us   p99 %8.1f us\n", name, r.rate, r.p50, r.p99);
}

/* Resident memory of a process, KiB (0 if unknown): field is "RssAnon"
 * (its heap: what the daemon holds) or "RssFile" (the LMDB map's pages it
 * has touched: page cache the kernel may take back). */
static long s_rss_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = 0;
	size_t fl = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtol(line + fl + 1, NULL, 10);
			break;
		}
	if (f != NULL)
		fclose(f);
	return kb;
}

/* bench_publish growth M: M million records, 32 per request, 100 requests
 * in flight, into one store; the rate of each million, the store's size and
 * feedbackd's memory as it grows. */
static int s_growth(void *ctx, pid_t fb, int millions)
{
	result_t loop = s_bare(ctx, true, 100000, 1000, 0);
	row("baseline: bare group-commit loop, 1000 in flight", loop);
	double first = 0;
	for (int m = 1; m <= millions; m++) {
		result_t r = s_traction(1000000 / 32, 100, 0, 32);
		char cmd[600], size[64] = "?";
		snprintf(cmd, sizeof(cmd), "du -sh '%s/var/feedbackd' 2>/dev/null | cut -f1", H.dir);
		FILE *p = popen(cmd, "r");
		if (p != NULL) {
			if (fgets(size, sizeof(size), p) != NULL)
				size[strcspn(size, "\n")] = '\0';
			pclose(p);
		}
		if (m == 1)
			first = r.rate;
		printf("million %2d: %8.0f rec/s (%.2f of the first)   p99 %6.1f ms   store %s   "
		       "feedbackd heap %ld MiB, mapped store pages %ld MiB\n",
		       m, r.rate, r.rate / first, r.p99 / 1e3, size, s_rss_kb(fb, "RssAnon") / 1024,
		       s_rss_kb(fb, "RssFile") / 1024);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool growth = argc > 1 && strcmp(argv[1], "growth") == 0;
	uint64_t records = argc > 1 && !growth ? strtoull(argv[1], NULL, 10) : 100000;
	h_init(&H, growth ? "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 65536\n"
			    "[log]\nlevel = warning\n"
			  : "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 8192\n"
			    "[log]\nlevel = warning\n");
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	pid_t fb = h_start(&H, "traction-feedbackd", NULL);
	if (!h_wait_live(&H, "feedback", 1, 5000) || !h_wait_live(&H, "scenario", 1, 5000))
		return 1;
	setup();
	void *ctx = zmq_ctx_new();
	if (growth) {
		int rc = s_growth(ctx, fb, argc > 2 ? atoi(argv[2]) : 10);
		zmq_ctx_term(ctx);
		h_done(&H);
		return rc;
	}

	result_t echo = s_bare(ctx, false, records, 1000, 0);
	result_t loop = s_bare(ctx, true, records, 1000, 0);
	result_t loop1 = s_bare(ctx, true, 2000, 1, 0);
	result_t loop10k = s_bare(ctx, true, STEADY_RATE * STEADY_S, 0, STEADY_RATE);
	result_t t1000 = s_traction(records, 1000, 0, 1);
	result_t t1000b = s_traction(records / 32, 100, 0, 32);
	result_t t1 = s_traction(2000, 1, 0, 1);
	result_t t10k = s_traction(STEADY_RATE * STEADY_S, 0, STEADY_RATE, 1);

	printf("records of %d bytes; %llu records per throughput row\n", RECORD_BYTES,
	       (unsigned long long)records);
	row("baseline: bare ZeroMQ echo, 1000 in flight", echo);
	row("baseline: bare group-commit loop, 1000 in flight", loop);
	row("baseline: bare group-commit loop, 1 in flight", loop1);
	row("baseline: bare group-commit loop, open loop 10k/s", loop10k);
	row("traction publish, 1 record/request, 1000 in flight", t1000);
	row("traction publish, 32 records/request, 100 in flight", t1000b);
	row("traction publish, 1 in flight", t1);
	row("traction publish, open loop 10k/s", t10k);
	printf("ratio: traction (1/request) / bare loop = %.2f\n", t1000.rate / loop.rate);
	printf("ratio: traction (32/request) / bare loop = %.2f\n", t1000b.rate / loop.rate);
	printf("one in flight: traction p50 - bare loop p50 = %+.2f ms\n", (t1.p50 - loop1.p50) / 1e3);
	printf("open loop 10k/s: traction p99 / bare loop p99 = %.2f\n", t10k.p99 / loop10k.p99);
	zmq_ctx_term(ctx);
	h_done(&H);
	return 0;
}
