/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_publish: durable feedback publish through the real broker and
 * feedbackd, against the raw limits measured in the same run:
 *   1. bare ZeroMQ DEALER -> ROUTER echo (no disk), direct and through a
 *      bare relay (ROUTER -> DEALER proxy: a broker that reads nothing);
 *   2. the bare group-commit loop: ROUTER, drain what has arrived, one
 *      durable LMDB transaction putting every record (P puts for a
 *      message of P records), then the acks: 1 record a message, direct
 *      and through the relay, plain and with the file written ahead of
 *      LMDB's last page as feedbackd does (lib/store.h); and, beside each
 *      traction row a target compares, the loop of that row's shape: the
 *      same records per message and in flight, through the relay (the
 *      broker's hops), its file written ahead (feedbackd's layout);
 *   3. traction: feedback.publish of 256-byte metric records through the
 *      broker: 1 record per request with 1000 requests in flight; 32
 *      records per request with 32 requests in flight (1,024 records) and
 *      with 100 (3,200); libtraction's asynchronous publisher with its
 *      default batch of 64 records, 16 requests in flight (1,024 records);
 *      one record in flight (latency); a steady open loop of 10,000/s.
 * Throughput rows count records acknowledged stored per second: a traction
 * row counts a record only if its own result in the PublishReply is OK (a
 * duplicate only as the publisher's retry of its own record), publishes
 * under a metric name of its own, and stops the run before printing
 * anything if a record was refused or feedback.stats of that metric
 * counts other than what the row counted (bench_tally_t); a bare loop
 * stops it unless its store holds every record it counted. The
 * 1,000-in-flight rows that a target compares run warm: an unmeasured
 * drive first, then three measured back to back (s_bare_warm). The
 * open-loop rows of the bare loops and traction take turns in one-second
 * slices (s_open_rows), so all of them see the same seconds of the disk.
 * Every bare loop writes a store of its own, removed after its row, and
 * stops the run if LMDB refuses a write; each traction row a target
 * compares runs on a feedbackd restarted with an empty store
 * (s_fresh_feedbackd).
 *   bench_publish [RECORDS]
 *   bench_publish batch RECORDS [WINDOW [PER_REQUEST]]   one row only, W
 *        requests of P records in flight (default 100 x 32), for perf record -a
 *   bench_publish publisher RECORDS [BATCH [IN_FLIGHT]]   only the libtraction
 *        publisher row (default 64 x 16, as in the full run)
 *   bench_publish alerts|metrics RECORDS [DRIVES]   only the cost rows of alert
 *        rules (or metrics): DRIVES drives (default 3) of RECORDS on a feedbackd
 *        without, taking turns with as many on one with, each on a fresh store;
 *        the rate, and feedbackd's CPU time a record (every thread: bench_cpu_t)
 *   bench_publish retention RECORDS   the ack p99 beside a large expiry and without
 *   bench_publish steady SECONDS RATE a store at steady ingest with a TTL
 *   bench_publish open                only the open-loop rows (with the bare loops)
 *   bench_publish one                 only the one-in-flight rows (with the bare loops)
 *   bench_publish growth M            one store from empty to M million records
 */
#include <arpa/inet.h>
#include <errno.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_common.h"
#include "bench_util.h"
#include "harness.h"
#include "store.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"
#include "traction/publisher.h"

#define RECORD_BYTES 256

static harness_t H;

/* The rows the report's targets read (bench/report.py names them too).
 * A traction row and the bare loop of its shape: the same records per
 * message and in flight, through a relay as traction goes through its
 * broker, the store's file written ahead as feedbackd's is. */
#define T1000 "traction publish, 1 record/request, 1000 in flight"
#define T32 "traction publish, 32 records/request, 32 in flight"
#define T100 "traction publish, 32 records/request, 100 in flight"
#define TPUB "traction publish, libtraction publisher (64 x 16), 1024 in flight"
#define T1 "traction publish, 1 in flight"
#define T10K "traction publish, open loop 10k/s"
#define B1000 "baseline: bare group-commit loop, 1000 in flight"
#define B1 "baseline: bare group-commit loop, 1 in flight"
#define B10K "baseline: bare group-commit loop, open loop 10k/s"
#define B10K_AHEAD "baseline: bare group-commit loop, file written ahead, open loop 10k/s"
#define SHAPE "baseline: bare group-commit loop via a relay, file written ahead, "
#define B32_SHAPE SHAPE "32 records/request, 32 in flight"
#define B100_SHAPE SHAPE "32 records/request, 100 in flight"
#define BPUB_SHAPE SHAPE "64 records/request, 16 in flight"
#define B1_SHAPE SHAPE "1 in flight"
#define B10K_SHAPE SHAPE "open loop 10k/s"

/* the steady open-loop rows: one-record requests at STEADY_RATE per second,
 * in turns of STEADY_SLICE_MS (s_open_rows) */
enum { STEADY_RATE = 10000, STEADY_SLICES = 10, STEADY_SLICE_MS = 1000 };

/* the 1,000-in-flight rows: drives of RECORDS each after one unmeasured
 * (s_bare_warm) */
enum { WARM_DRIVES = 3 };

typedef struct {
	double rate;      /* records per second */
	double p50, p99;  /* ack latency, microseconds */
} result_t;

/* ---- a generic driver: W requests in flight on a DEALER (closed loop), or
 * requests sent at a fixed rate whatever the replies do (open loop) ------- */

typedef int (*send_fn)(void *sock, uint64_t id, void *ud);
/* One reply: sets *id to its request's id and returns how many of the
 * request's records it acknowledged stored (a row counts only those), or
 * -1 if none came in time. */
typedef int (*recv_fn)(void *sock, uint64_t *id, void *ud);

static int s_poll_in(void *sock, int ms);

/* Latencies pooled over several drives (the interleaved open loop). */
typedef struct {
	double *lat;
	uint64_t n, cap;
	uint64_t records;         /* acknowledged stored */
	double busy_us;           /* the drives' time, summed */
} pool_t;

static void s_pool_add(pool_t *pool, const double *lat, uint64_t n, uint64_t records,
		       double busy_us)
{
	if (pool == NULL)
		return;
	if (pool->n + n > pool->cap) {
		pool->cap = (pool->n + n) * 2;
		pool->lat = realloc(pool->lat, pool->cap * sizeof(double));
		if (pool->lat == NULL)
			exit(1);
	}
	memcpy(pool->lat + pool->n, lat, n * sizeof(double));
	pool->n += n;
	pool->records += records;
	pool->busy_us += busy_us;
}

/* rate > 0: open loop at rate requests/s, each one's latency counted from
 * when it was due, not when it went out (no coordinated omission).
 * first_id: requests are numbered from it (a socket driven again must not
 * take a late reply of an earlier drive for one of its own). pool: if not
 * NULL, the latencies and time are added to it too. */
static result_t s_drive_pool(void *sock, uint64_t total_msgs, int window, double rate,
			     send_fn snd, recv_fn rcv, void *ud, uint64_t first_id, pool_t *pool)
{
	double *sent_at = calloc(total_msgs + 1, sizeof(double));
	double *lat = calloc(total_msgs + 1, sizeof(double));
	uint64_t next = 1, done = 0, nlat = 0, acked = 0, base = first_id - 1;
	double t0 = bench_now_us();
	while (done < total_msgs) {
		double now = bench_now_us();
		while (next <= total_msgs &&
		       (rate > 0 ? t0 + (double)(next - 1) * 1e6 / rate <= now
				 : next - done - 1 < (uint64_t)window)) {
			sent_at[next] = rate > 0 ? t0 + (double)(next - 1) * 1e6 / rate : bench_now_us();
			if (snd(sock, base + next, ud) != 0) {
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
		int n = rcv(sock, &id, ud);
		if (n < 0) {
			fprintf(stderr, "bench_publish: no reply in time (done %llu of %llu)\n",
				(unsigned long long)done, (unsigned long long)total_msgs);
			exit(1);
		}
		if (id > base && id <= base + total_msgs) {
			lat[nlat++] = bench_now_us() - sent_at[id - base];
			acked += (uint64_t)n;
			done++;
		}
	}
	double t1 = bench_now_us();
	s_pool_add(pool, lat, nlat, acked, t1 - t0);
	result_t r;
	/* what was acknowledged stored, never what was sent */
	r.rate = (double)acked / ((t1 - t0) / 1e6);
	r.p50 = bench_quantile(lat, nlat, 0.5);
	r.p99 = bench_quantile(lat, nlat, 0.99);
	free(sent_at);
	free(lat);
	return r;
}

static result_t s_drive(void *sock, uint64_t total_msgs, int window, double rate, send_fn snd,
			recv_fn rcv, void *ud)
{
	return s_drive_pool(sock, total_msgs, window, rate, snd, rcv, ud, 1, NULL);
}

static result_t s_pooled(pool_t *p)
{
	result_t r = { (double)p->records / (p->busy_us / 1e6), bench_quantile(p->lat, p->n, 0.5),
		       bench_quantile(p->lat, p->n, 0.99) };
	free(p->lat);
	*p = (pool_t){ 0 };
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
	bool ahead;            /* ... with the file written ahead (store.h) */
	char dir[400];
	volatile int stop;
	uint64_t stored;       /* entries in its store when it stopped */
	pthread_t th;
} server_t;

/* A baseline that failed to write would measure nothing: stop the run. */
static void s_mdb_check(int rc, const char *dir)
{
	if (rc != 0) {
		fprintf(stderr, "bench_publish: bare loop in %s: %s\n", dir, mdb_strerror(rc));
		exit(1);
	}
}

/* A socket of the benchmark: queues without bound (the drivers bound what
 * is in flight), nothing kept at close. */
static void *s_socket(void *ctx, int type)
{
	void *sock = zmq_socket(ctx, type);
	int hwm = 0, linger = 0;
	zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	return sock;
}

static void *s_server(void *arg)
{
	server_t *sv = arg;
	void *r = s_socket(sv->ctx, ZMQ_ROUTER);
	zmq_bind(r, "tcp://127.0.0.1:*");
	size_t n = sizeof(sv->endpoint);
	zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, sv->endpoint, &n);
	MDB_env *env = NULL;
	MDB_dbi dbi = 0;
	uint64_t seq = 0, ahead_end = 0;
	if (sv->durable) {
		MDB_txn *t;
		int mrc = mdb_env_create(&env);
		if (mrc == 0)
			mrc = mdb_env_set_mapsize(env, 4ull << 30);
		if (mrc == 0)
			mrc = mdb_env_open(env, sv->dir, 0, 0640);
		if (mrc == 0)
			mrc = mdb_txn_begin(env, NULL, 0, &t);
		if (mrc == 0)
			mrc = mdb_dbi_open(t, NULL, 0, &dbi);
		if (mrc == 0)
			mrc = mdb_txn_commit(t);
		s_mdb_check(mrc, sv->dir);
	}
	enum { MAXB = 8192 };
	/* mids: the client's identity when a relay stands between (3 frames) */
	static zmq_msg_t ids[MAXB], mids[MAXB], bodies[MAXB];
	static bool has_mid[MAXB];
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
			has_mid[nb] = zmq_msg_more(&bodies[nb]);
			if (has_mid[nb]) {
				mids[nb] = bodies[nb];
				zmq_msg_init(&bodies[nb]);
				zmq_msg_recv(&bodies[nb], r, 0);
			}
			nb++;
		}
		if (sv->durable && nb > 0) {
			MDB_txn *t;
			s_mdb_check(mdb_txn_begin(env, NULL, 0, &t), sv->dir);
			for (int i = 0; i < nb; i++) {
				/* a message of P records: P puts, as feedbackd stores
				 * each record of a request on its own */
				size_t len = zmq_msg_size(&bodies[i]);
				uint8_t *data = zmq_msg_data(&bodies[i]);
				for (size_t off = 0; off == 0 || off < len; off += RECORD_BYTES) {
					uint8_t k[8];
					trc_be64_put(k, ++seq);
					MDB_val kv = { 8, k },
						vv = { len - off < RECORD_BYTES ? len - off : RECORD_BYTES,
						       data + off };
					s_mdb_check(mdb_put(t, dbi, &kv, &vv, MDB_APPEND), sv->dir);
				}
			}
			s_mdb_check(mdb_txn_commit(t), sv->dir); /* durable: two fdatasyncs */
			if (sv->ahead)
				trc_env_write_ahead(env, &ahead_end, 1);
		}
		for (int i = 0; i < nb; i++) {
			zmq_msg_send(&ids[i], r, ZMQ_SNDMORE);
			if (has_mid[i])
				zmq_msg_send(&mids[i], r, ZMQ_SNDMORE);
			/* the ack echoes the first 8 bytes (the request id) */
			zmq_send(r, zmq_msg_data(&bodies[i]), 8, 0);
			zmq_msg_close(&bodies[i]);
		}
	}
	zmq_close(r);
	if (env != NULL) {
		MDB_stat ms;
		s_mdb_check(mdb_env_stat(env, &ms), sv->dir);
		sv->stored = ms.ms_entries;
		mdb_env_close(env);
	}
	return NULL;
}

/* A bare relay (ROUTER in, DEALER out: what a broker does without looking
 * at the message), in a thread of its own context. */
typedef struct {
	void *ctx;
	char front[128];
	const char *back;
	pthread_t th;
} relay_t;

static void *s_relay(void *arg)
{
	relay_t *rl = arg;
	void *f = s_socket(rl->ctx, ZMQ_ROUTER), *b = s_socket(rl->ctx, ZMQ_DEALER);
	zmq_bind(f, "tcp://127.0.0.1:*");
	zmq_connect(b, rl->back);
	size_t n = sizeof(rl->front);
	zmq_getsockopt(f, ZMQ_LAST_ENDPOINT, rl->front, &n);
	zmq_proxy(f, b, NULL); /* until the context is shut down */
	zmq_close(f);
	zmq_close(b);
	return NULL;
}

/* disk: BARE_ECHO, BARE_LOOP, or BARE_LOOP_AHEAD (the loop with the file
 * written ahead of LMDB's last page, as feedbackd does: store.h) */
enum { BARE_ECHO, BARE_LOOP, BARE_LOOP_AHEAD };

/* Records per message of the bare rows, at most (traction's requests in
 * this benchmark: at most 256). */
enum { BARE_MAX_RECS = 256 };

/* A bare server (and relay) with a client DEALER connected to it; stays up
 * for as many drives as the caller makes. recs: records per message. */
typedef struct {
	server_t sv;
	relay_t rl;
	bool relay;
	int recs;
	uint64_t acked;        /* records acknowledged, over all its drives */
	void *d;
} bare_t;

/* ud: the bare_t */
static int s_raw_send(void *sock, uint64_t id, void *ud)
{
	static uint8_t buf[BARE_MAX_RECS * RECORD_BYTES];
	int recs = ((const bare_t *)ud)->recs;
	if (buf[RECORD_BYTES - 1] != 'x')
		memset(buf, 'x', sizeof(buf));
	memcpy(buf, &id, 8);
	return zmq_send(sock, buf, (size_t)recs * RECORD_BYTES, 0) < 0 ? -1 : 0;
}

/* The bare loop acknowledges a message once all its records are committed. */
static int s_raw_recv(void *sock, uint64_t *id, void *ud)
{
	uint8_t buf[16];
	if (s_poll_in(sock, 10000) != 0)
		return -1;
	if (zmq_recv(sock, buf, sizeof(buf), 0) < 8)
		return -1;
	memcpy(id, buf, 8);
	bare_t *b = ud;
	b->acked += (uint64_t)b->recs;
	return b->recs;
}

static void s_bare_start(bare_t *b, void *ctx, int disk, bool relay, int recs)
{
	static int gen;
	bool durable = disk != BARE_ECHO;
	*b = (bare_t){ .sv = { .ctx = ctx, .durable = durable, .ahead = disk == BARE_LOOP_AHEAD },
		       .relay = relay, .recs = recs };
	if (recs < 1 || recs > BARE_MAX_RECS)
		exit(2);
	/* a store of its own, removed when the row is done (s_bare_stop) */
	snprintf(b->sv.dir, sizeof(b->sv.dir), "%s/bare-%d", H.dir, ++gen);
	if (durable) {
		if (trc_mkdir_p(b->sv.dir) != 0)
			exit(1);
	}
	pthread_create(&b->sv.th, NULL, s_server, &b->sv);
	while (__atomic_load_n(&b->sv.endpoint[0], __ATOMIC_SEQ_CST) == '\0')
		h_sleep_ms(1);
	b->rl.back = b->sv.endpoint;
	if (relay) {
		b->rl.ctx = zmq_ctx_new();
		pthread_create(&b->rl.th, NULL, s_relay, &b->rl);
		while (__atomic_load_n(&b->rl.front[0], __ATOMIC_SEQ_CST) == '\0')
			h_sleep_ms(1);
	}
	b->d = s_socket(ctx, ZMQ_DEALER);
	zmq_connect(b->d, relay ? b->rl.front : b->sv.endpoint);
}

static void s_bare_stop(bare_t *b)
{
	zmq_close(b->d);
	if (b->relay) {
		zmq_ctx_shutdown(b->rl.ctx);
		pthread_join(b->rl.th, NULL);
		zmq_ctx_term(b->rl.ctx);
	}
	__atomic_store_n(&b->sv.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(b->sv.th, NULL);
	/* a baseline counts what it claims too: every record it counted is in
	 * its store (a late reply of a drive's last requests is impossible: a
	 * drive ends when every request is answered) */
	if (b->sv.durable && b->sv.stored != b->acked) {
		fprintf(stderr, "bench_publish: a bare loop counted %llu records, its store holds %llu\n",
			(unsigned long long)b->acked, (unsigned long long)b->sv.stored);
		exit(1);
	}
	if (b->sv.durable) {
		char f[600];
		snprintf(f, sizeof(f), "%s/data.mdb", b->sv.dir);
		unlink(f);
		snprintf(f, sizeof(f), "%s/lock.mdb", b->sv.dir);
		unlink(f);
		rmdir(b->sv.dir);
	}
}

/* One drive of `msgs` one-record messages. */
static result_t s_bare_via(void *ctx, int disk, uint64_t msgs, int window, double rate,
			   bool relay)
{
	bare_t b;
	s_bare_start(&b, ctx, disk, relay, 1);
	result_t r = s_drive(b.d, msgs, window, rate, s_raw_send, s_raw_recv, &b);
	s_bare_stop(&b);
	return r;
}

static result_t s_bare(void *ctx, int disk, uint64_t msgs, int window, double rate)
{
	return s_bare_via(ctx, disk, msgs, window, rate, false);
}

/* ---- traction: feedback.publish through the broker ------------------------------- */

typedef struct {
	int recs;                 /* records per request */
	uint64_t key_base;
	const char *metric;       /* the row's own (bench_tally_t) */
	/* NULL: every record of version 1.0; else nversions names 32 bytes
	 * apart (bench_versions), the drive's span requests spread evenly over
	 * them in consecutive runs (version k gets the k-th run), as a
	 * supply's versions each get feedback while they run */
	const char *versions;
	int nversions;
	uint64_t span;
	bench_tally_t *tally;     /* what the replies said, record by record */
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
	const char *version =
		p->versions != NULL
			? p->versions + (size_t)(((id - 1) % p->span) * (uint64_t)p->nversions / p->span) * 32
			: "1.0";
	for (int i = 0; i < p->recs; i++) {
		traction__v1__feedback_record__init(&recs[i]);
		traction__v1__metric__init(&m[i]);
		recs[i].scenario_id = (char *)"weld-line-3";
		recs[i].supply_id = (char *)"defect-vision";
		recs[i].version = (char *)version;
		/* keys as libtraction's publisher makes them: a prefix of its
		 * own and a fixed-width counter, so they sort in publish order */
		snprintf(keys[i], sizeof(keys[i]), "k%llx-%012llx", (unsigned long long)p->key_base,
			 (unsigned long long)((id - 1) * (uint64_t)p->recs + (uint64_t)i));
		recs[i].idempotency_key = keys[i];
		recs[i].labels = &labp;
		recs[i].n_labels = 1;
		m[i].name = (char *)p->metric;
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

/* A request's records count one by one, by their own results (a request
 * answered OK may still have refused every record). The driver sends each
 * request once, so a duplicate here is never a retry of the row's own
 * record: it is not counted. */
static int s_pub_recv(void *sock, uint64_t *id, void *ud)
{
	pub_t *p = ud;
	if (s_poll_in(sock, 30000) != 0)
		return -1;
	trc_msg_t m;
	if (trc_msg_recv(sock, &m, 0) != 0)
		return -1;
	const char *why;
	Traction__V1__Header *h = trc_header_unpack(NULL, trc_msg_data(&m, 0), trc_msg_size(&m, 0),
						    &why);
	if (h == NULL) {
		fprintf(stderr, "bench_publish: a reply with no header: %s\n", why);
		trc_msg_close(&m);
		return -1;
	}
	*id = h->request_id;
	int acked = 0;
	if (h->status != NULL && h->status->code != 0) {
		for (int i = 0; i < p->recs; i++)
			bench_tally_result(p->tally, h->status->code, h->status->message, false, false);
	} else {
		Traction__V1__PublishReply *rep =
			m.n >= 2 ? traction__v1__publish_reply__unpack(NULL, trc_msg_size(&m, 1),
								       trc_msg_data(&m, 1))
				 : NULL;
		for (int i = 0; i < p->recs; i++) {
			const Traction__V1__RecordResult *res =
				rep != NULL && (size_t)i < rep->n_results ? rep->results[i] : NULL;
			if (res == NULL)
				bench_tally_result(p->tally, TRACTION__V1__CODE__INTERNAL,
						   "a reply without this record's result", false, false);
			else
				acked += bench_tally_result(
					p->tally, res->status != NULL ? res->status->code : 0,
					res->status != NULL ? res->status->message : "", res->duplicate,
					false);
		}
		if (rep != NULL)
			traction__v1__publish_reply__free_unpacked(rep, NULL);
	}
	protobuf_c_message_free_unpacked(&h->base, NULL);
	trc_msg_close(&m);
	return acked;
}

/* A client DEALER to the broker, with its own context (as an application's
 * would be) and idempotency keys of its own. */
typedef struct {
	pub_t p;
	void *ctx, *d;
} trac_t;

static void s_trac_start(trac_t *t, int recs, bench_tally_t *tally, const char *versions,
			 int nversions, uint64_t span)
{
	static uint64_t base;
	t->p = (pub_t){ .recs = recs, .key_base = ++base, .metric = tally->metric,
			.versions = versions, .nversions = nversions, .span = span, .tally = tally,
			.body = malloc(300 * 256 + 1024) };
	t->ctx = zmq_ctx_new();
	t->d = s_socket(t->ctx, ZMQ_DEALER);
	zmq_connect(t->d, H.client_ep);
}

static void s_trac_stop(trac_t *t)
{
	zmq_close(t->d);
	zmq_ctx_term(t->ctx);
	free(t->p.body);
}

/* A publish row's tally: records of version 1.0, of a metric of its own. */
static bench_tally_t s_tally(const char *row, const char *metric)
{
	return (bench_tally_t){ .row = row, .metric = metric, .version = "1.0" };
}

/* Stops the run unless the store holds exactly what the row counted. */
static void s_check(const bench_tally_t *t)
{
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 30000);
	bench_tally_check(c, t);
	traction_client_destroy(&c);
}

/* One drive of msgs requests of recs records, window in flight; checked. */
static result_t s_traction(uint64_t msgs, int window, int recs, bench_tally_t *tally,
			   const char *versions, int nversions)
{
	trac_t t;
	s_trac_start(&t, recs, tally, versions, nversions, msgs);
	result_t r = s_drive(t.d, msgs, window, 0, s_pub_send, s_pub_recv, &t.p);
	s_trac_stop(&t);
	s_check(tally);
	return r;
}

/* The open-loop rows: the bare loops and traction take turns,
 * STEADY_SLICES slices of STEADY_SLICE_MS each, and each row pools its
 * slices' latencies. Run one after the other, five seconds each, the rows
 * saw different disks: this VM's flushes slow down for tens of
 * milliseconds now and then (every commit of every store alike), and
 * whichever row caught more of those had the higher p99. Taking turns,
 * all of them see the same seconds. Each first drives one unmeasured
 * slice (connections, the stores' first pages). bare[]: the plain loop,
 * the loop with its file written ahead, and the loop of traction's shape
 * (via a relay, file written ahead). */
enum { OPEN_BARE = 3 };

static void s_open_rows(void *ctx, result_t bare[OPEN_BARE], result_t *trac, bench_tally_t *tally)
{
	static const int disk[OPEN_BARE] = { BARE_LOOP, BARE_LOOP_AHEAD, BARE_LOOP_AHEAD };
	static const bool relay[OPEN_BARE] = { false, false, true };
	bare_t b[OPEN_BARE];
	pool_t pb[OPEN_BARE] = { { 0 } }, pt = { 0 };
	trac_t t;
	for (int k = 0; k < OPEN_BARE; k++)
		s_bare_start(&b[k], ctx, disk[k], relay[k], 1);
	s_trac_start(&t, 1, tally, NULL, 0, 0);
	const uint64_t n = (uint64_t)STEADY_RATE * STEADY_SLICE_MS / 1000;
	for (int i = 0; i <= STEADY_SLICES; i++) {
		uint64_t first = (uint64_t)i * n + 1;
		for (int k = 0; k < OPEN_BARE; k++)
			s_drive_pool(b[k].d, n, 0, STEADY_RATE, s_raw_send, s_raw_recv, &b[k],
				     first, i > 0 ? &pb[k] : NULL);
		s_drive_pool(t.d, n, 0, STEADY_RATE, s_pub_send, s_pub_recv, &t.p, first,
			     i > 0 ? &pt : NULL);
	}
	s_trac_stop(&t);
	for (int k = 0; k < OPEN_BARE; k++) {
		s_bare_stop(&b[k]);
		bare[k] = s_pooled(&pb[k]);
	}
	s_check(tally);
	*trac = s_pooled(&pt);
}

/* ---- traction through libtraction's asynchronous publisher ------------------- */

/* What an application does (bench_publisher_drive); latency runs from
 * traction_publish to the record's acknowledgement. The caller checks the
 * tally. */
static result_t s_publisher(uint64_t records, size_t batch, size_t in_flight, pool_t *pool,
			    bench_tally_t *tally)
{
	bench_pub_t d;
	bench_publisher_drive(H.client_ep, records, batch, in_flight, tally, &d);
	s_pool_add(pool, d.lat, d.nlat, d.nlat, d.elapsed_us);
	result_t res = { d.rate, bench_quantile(d.lat, d.nlat, 0.5),
			 bench_quantile(d.lat, d.nlat, 0.99) };
	free(d.lat);
	return res;
}

/* The rows the 1,000-in-flight targets compare, warm: one drive of
 * `records` unmeasured, then WARM_DRIVES measured back to back. After the
 * disk has been idle for half a second or more, durable commits run slower
 * for a while (the bare loop ~600k -> ~480k records/s over 100,000
 * records, traction 32 x 32 ~445k -> ~380k; the echo, which writes
 * nothing, does not slow), so whichever row happened to follow a row
 * without disk work measured a cold disk. The bare loop here: `recs`
 * records a message, `window` messages in flight, via a relay or not. */
static result_t s_bare_warm(void *ctx, int disk, bool relay, int recs, int window,
			    uint64_t records)
{
	bare_t b;
	pool_t p = { 0 };
	uint64_t msgs = records / (uint64_t)recs;
	s_bare_start(&b, ctx, disk, relay, recs);
	for (uint64_t i = 0; i <= WARM_DRIVES; i++)
		s_drive_pool(b.d, msgs, window, 0, s_raw_send, s_raw_recv, &b, i * msgs + 1,
			     i > 0 ? &p : NULL);
	s_bare_stop(&b);
	return s_pooled(&p);
}

/* 32 records per request, `window` requests in flight; checked over all
 * its drives */
static result_t s_traction_warm(uint64_t records, int window, bench_tally_t *tally)
{
	trac_t t;
	pool_t p = { 0 };
	uint64_t req = records / 32;
	s_trac_start(&t, 32, tally, NULL, 0, 0);
	for (uint64_t i = 0; i <= WARM_DRIVES; i++)
		s_drive_pool(t.d, req, window, 0, s_pub_send, s_pub_recv, &t.p, i * req + 1,
			     i > 0 ? &p : NULL);
	s_trac_stop(&t);
	s_check(tally);
	return s_pooled(&p);
}

/* The publisher as an application gets it: its default batch
 * (traction_publisher_options_t.batch 0: 64 records a request), with the
 * window that makes the targets' 1,024 records in flight. */
#define PUB_BATCH 64
#define PUB_WINDOW 16

static result_t s_publisher_warm(uint64_t records, bench_tally_t *tally)
{
	pool_t p = { 0 };
	for (uint64_t i = 0; i <= WARM_DRIVES; i++)
		s_publisher(records, PUB_BATCH, PUB_WINDOW, i > 0 ? &p : NULL, tally);
	s_check(tally);
	return s_pooled(&p);
}

/* A feedbackd with an empty store of its own for the next target row, as
 * each bare loop row writes a store of its own: the old one's store is
 * deleted. This VM charges ~8 us for each page of guest memory touched
 * for the first time, and takes freed memory back within seconds
 * (docs/performance.md, "Growth"): a store that goes on growing row after
 * row lands on new memory from some point on (the write-ahead's piece
 * after each commit, 256 KiB of new page cache, went from ~0.1 to
 * ~0.6 ms at 32 x 32 once the page cache passed ~1.7 GB in one run),
 * So every target row, bare or traction, starts from an empty store
 * (traction's on the memory its previous row's store freed); how the
 * rate holds as a store grows is the growth row's. */
static int s_fb_gen; /* the fresh feedbackd's store: H.dir/fb<gen>/feedbackd */

static void s_fresh_feedbackd(pid_t *pid)
{
	int gen = s_fb_gen;
	char cmd[600], name[32];
	h_kill(&H, *pid, SIGTERM);
	if (gen == 0)
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/var/feedbackd'", H.dir);
	else
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/fb%d'", H.dir, gen);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_publish: cannot remove feedbackd's store\n");
		exit(1);
	}
	snprintf(name, sizeof(name), "fb%d", ++s_fb_gen);
	*pid = h_start(&H, "traction-feedbackd", name);
	traction_client_t *c = h_client(&H);
	if (!h_wait_live(&H, "feedback", 1, 5000))
		exit(1);
	bench_wait_feedback(c);
	traction_client_destroy(&c);
}

/* ---- the cost of metrics ---------------------------------------------------------- */

/* A Prometheus of our own: GET /metrics of port every second. */
typedef struct {
	unsigned port;
	volatile int stop;
	unsigned scrapes;
} scraper_t;

static void *s_scrape(void *arg)
{
	scraper_t *sc = arg;
	while (!sc->stop) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sc->port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
		char buf[65536];
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write(fd, get, sizeof(get) - 1) == (ssize_t)(sizeof(get) - 1)) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			sc->scrapes++;
		}
		if (fd >= 0)
			close(fd);
		for (int i = 0; i < 10 && !sc->stop; i++)
			h_sleep_ms(100);
	}
	return NULL;
}

/* A port nothing listens on now, as the kernel hands out. */
static unsigned s_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		exit(1);
	close(fd);
	return ntohs(sa.sin_port);
}

#define METRICS_DRIVES 4 /* a side's drives in the report: even, so each side goes
			  * first in as many pairs */
#define COST_DRIVES_MAX 32 /* bench_publish alerts|metrics RECORDS [DRIVES] */
static int s_cost_drives = METRICS_DRIVES;
#define ALERT_RULES 16 /* metric rules on the records' metric: half means, half p99 */

/* Alert rules a plant would have on the metric being published: every
 * record goes into ALERT_RULES windows, and the tick judges them all;
 * plus one rule of each other kind. Their thresholds are never crossed,
 * so what is measured is the judging, not the firing. */
static void s_alert_rules(const char *metric)
{
	traction_client_t *c = h_client(&H);
	for (int i = 0; i < ALERT_RULES + 3; i++) {
		Traction__V1__AlertRule r = TRACTION__V1__ALERT_RULE__INIT;
		Traction__V1__AlertAddRequest req = TRACTION__V1__ALERT_ADD_REQUEST__INIT;
		char id[32];
		snprintf(id, sizeof(id), "rule-%d", i);
		r.id = id;
		if (i < ALERT_RULES) {
			r.kind = TRACTION__V1__ALERT_KIND__ALERT_METRIC;
			r.supply_id = (char *)"defect-vision";
			r.metric = (char *)metric;
			r.quantile = i % 2 == 0 ? 0 : 0.99;
			r.comparison = TRACTION__V1__COMPARISON__CMP_GT;
			r.threshold = 1e12;
			r.window_s = 60;
		} else {
			r.kind = TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM + (i - ALERT_RULES);
		}
		req.rule = &r;
		ProtobufCMessage *rep = NULL;
		traction_status_t st;
		if (traction_call(c, "feedback", "alert.add", &req.base,
				  &traction__v1__alert_rule_reply__descriptor, &rep, &st) != 0) {
			fprintf(stderr, "bench_publish: alert.add: %s\n", st.message);
			exit(1);
		}
		traction_reply_free(rep);
	}
	traction_client_destroy(&c);
}

/* The fresh feedbackd's store as LMDB sees it, opened read-only beside the
 * daemon: its records, and the pages in use (the last page's number: the
 * file never shrinks, freed pages are used again), 0 if it cannot tell. */
static void s_store_stat_ev(size_t *records, size_t *events, double *used_mib);
static void s_store_stat(size_t *records, double *used_mib)
{
	size_t events;
	s_store_stat_ev(records, &events, used_mib);
}

/* feedbackd's store: its records, the events in its log, its pages in use. */
static void s_store_stat_ev(size_t *records, size_t *events, double *used_mib)
{
	char dir[600];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	MDB_envinfo info;
	*records = 0;
	*events = 0;
	*used_mib = 0;
	snprintf(dir, sizeof(dir), "%s/fb%d/feedbackd", H.dir, s_fb_gen);
	if (mdb_env_create(&env) != 0)
		return;
	mdb_env_set_maxdbs(env, 64);
	mdb_env_set_mapsize(env, (size_t)8192 << 20);
	if (mdb_env_open(env, dir, MDB_RDONLY, 0) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, "records", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
			*records = st.ms_entries;
		if (mdb_dbi_open(txn, "events", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
			*events = st.ms_entries;
		if (mdb_env_info(env, &info) == 0 && mdb_env_stat(env, &st) == 0)
			*used_mib = (double)(info.me_last_pgno + 1) * st.ms_psize / 1048576.0;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
}

/* H.extra: extra and a [retention] whose metric records live ttl_s, and
 * their idempotency keys idem_days of ttl_s. */
static void s_with_retention(const char *extra, int ttl_s, int pass_s, int idem_days)
{
	int n = snprintf(H.extra, sizeof(H.extra),
			 "%s[retention]\nmetric_days = 1\nday_s = %d\npass_every_s = %d\n"
			 "idempotency_days = %d\n",
			 extra, ttl_s, pass_s, idem_days);
	if (n < 0 || (size_t)n >= sizeof(H.extra))
		exit(1);
}

typedef enum { COST_METRICS, COST_ALERTS, COST_RETENTION } cost_t;
#define ROW_METRICS_OFF "publisher (64 x 16), feedbackd without metrics"
#define ROW_METRICS_ON "publisher (64 x 16), feedbackd with metrics, scraped every second"
#define ROW_ALERTS_OFF "publisher (64 x 16), feedbackd without alert rules"
#define ROW_ALERTS_ON "publisher (64 x 16), feedbackd with 19 alert rules"
#define ROW_RETENTION_OFF "publisher (64 x 16), feedbackd keeping its backlog"
#define ROW_RETENTION_ON "publisher (64 x 16), feedbackd expiring its backlog"
/* the retention rows' [retention]: metric records live 2 s; the default
 * bound of the expiry's work a tick */
#define RETENTION_TTL_S 2

/* What feedbackd spent a record, without the feature [0] and with it
 * [1], over all the drives of a side (bench_spent_t: CPU ns of every
 * thread, the tick's work during the drive included; its user part;
 * instructions, -1 where not counted). */
typedef struct {
	bench_spent_t side[2];
	/* the CPU a record with / without of each pair of drives (one
	 * of each side, in either order), and their median: what the pooled figure
	 * is, pair by pair */
	double pair[COST_DRIVES_MAX];
	int n_pairs;
	double pair_median;
} cost_cpu_t;

/* d into sum, figure by figure (-1 sticks: not counted) */
static void s_spent_add(bench_spent_t *sum, const bench_spent_t *d)
{
	sum->cpu_ns = sum->cpu_ns < 0 || d->cpu_ns < 0 ? -1 : sum->cpu_ns + d->cpu_ns;
	sum->user_ns = sum->user_ns < 0 || d->user_ns < 0 ? -1 : sum->user_ns + d->user_ns;
	sum->instructions = sum->instructions < 0 || d->instructions < 0
				    ? -1
				    : sum->instructions + d->instructions;
}

/* The publisher's rate on a feedbackd without a feature and on one with
 * it, drives taking turns (each on a fresh store, as the target rows):
 * metrics scraped every second (what counting every request, batch and
 * commit costs), or ALERT_RULES alert rules on the metric published;
 * and what feedbackd spent a record on each side (*cpu). */
static void s_cost_rows(cost_t cost, uint64_t records, pid_t *fbd, result_t *off, result_t *on,
			cost_cpu_t *cpu)
{
	pool_t p[2] = { { 0 } };
	bench_spent_t sum[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	double n[2] = { 0 };
	char extra[sizeof(H.extra)];
	memcpy(extra, H.extra, sizeof(extra));
	static char metric[3][2 * COST_DRIVES_MAX][24], backlog[2 * COST_DRIVES_MAX][24];
	static const char *const names[3][2] = {
		{ "publisher, metrics off", "publisher, metrics on" },
		{ "publisher, no alert rules", "publisher, alert rules" },
		{ "publisher, backlog kept", "publisher, backlog expiring" },
	};
	static const char *const tags[3] = { "metrics", "alerts", "retention" };
	cpu->n_pairs = 0;
	double pair_cpu[2] = { -1, -1 };
	for (int i = 0; i < 2 * s_cost_drives; i++) {
		/* off, on, on, off, off, on, ...: each side goes first in half
		 * the pairs, so whatever drifts from one drive to the next (a
		 * previous store's pages written back, the machine's other
		 * work) does not land on one side only */
		bool with = (i + 1) / 2 % 2 == 1;
		unsigned port = with && cost == COST_METRICS ? s_free_port() : 0;
		if (port != 0) /* feedbackd's offset is 3 */
			snprintf(H.extra, sizeof(H.extra), "%s[metrics]\nbase_port = %u\n", extra,
				 port - 3);
		if (with && cost == COST_RETENTION)
			s_with_retention(extra, RETENTION_TTL_S, 0, 7);
		s_fresh_feedbackd(fbd);
		memcpy(H.extra, extra, sizeof(extra));
		snprintf(metric[cost][i], sizeof(metric[cost][i]), "%s%d", tags[cost], i);
		if (with && cost == COST_ALERTS)
			s_alert_rules(metric[cost][i]);
		if (cost == COST_RETENTION) {
			/* a backlog as large as the drive, past its TTL when the drive
			 * starts where it expires (kept where it does not) */
			snprintf(backlog[i], sizeof(backlog[i]), "backlog%d", i);
			bench_tally_t b = s_tally(names[cost][with], backlog[i]);
			s_publisher(records, PUB_BATCH, PUB_WINDOW, NULL, &b);
			s_check(&b);
			usleep((RETENTION_TTL_S * 1000 + 500) * 1000);
		}
		size_t before = 0, after = 0;
		double mib;
		if (cost == COST_RETENTION)
			s_store_stat(&before, &mib);
		scraper_t sc = { .port = port };
		pthread_t t;
		if (port != 0 && pthread_create(&t, NULL, s_scrape, &sc) != 0)
			exit(1);
		bench_tally_t k = s_tally(names[cost][with], metric[cost][i]);
		bench_cpu_t probe;
		bench_cpu_begin(&probe, (long)*fbd);
		s_publisher(records, PUB_BATCH, PUB_WINDOW, &p[with], &k);
		bench_spent_t d = bench_cpu_end(&probe);
		s_spent_add(&sum[with], &d);
		pair_cpu[with] = d.cpu_ns;
		if (i % 2 == 1 && pair_cpu[0] > 0 && pair_cpu[1] >= 0)
			cpu->pair[cpu->n_pairs++] = pair_cpu[1] / pair_cpu[0];
		n[with] += (double)records;
		if (cost == COST_RETENTION) {
			/* that the drive ran beside an expiry under way */
			s_store_stat(&after, &mib);
			printf("  %s: %zu records in the store before the drive, %zu after it "
			       "(+%llu published)\n",
			       names[cost][with], before, after, (unsigned long long)records);
		}
		if (port != 0) {
			sc.stop = 1;
			pthread_join(t, NULL);
			if (sc.scrapes == 0) {
				fprintf(stderr, "bench_publish: no scrape of feedbackd's metrics\n");
				exit(1);
			}
		}
		s_check(&k);
	}
	*off = s_pooled(&p[0]);
	*on = s_pooled(&p[1]);
	for (int w = 0; w < 2; w++) {
		cpu->side[w].cpu_ns = sum[w].cpu_ns < 0 ? -1 : sum[w].cpu_ns / n[w];
		cpu->side[w].user_ns = sum[w].user_ns < 0 ? -1 : sum[w].user_ns / n[w];
		cpu->side[w].instructions = sum[w].instructions < 0 ? -1
								    : sum[w].instructions / n[w];
	}
	double sorted[COST_DRIVES_MAX];
	memcpy(sorted, cpu->pair, sizeof(double) * (size_t)cpu->n_pairs);
	cpu->pair_median = cpu->n_pairs > 0 ? bench_quantile(sorted, (size_t)cpu->n_pairs, 0.5) : -1;
}

/* The CPU rows of a cost (bench/report.py divides them within a run):
 * "feedbackd CPU ns a record, <row>" and, where counted, "feedbackd
 * instructions a record, <row>". */
static void s_cost_cpu_rows(const char *row_off, const char *row_on, const char *what,
			    const cost_cpu_t *c)
{
	const char *names[2] = { row_off, row_on };
	char name[160];
	for (int w = 0; w < 2; w++) {
		const bench_spent_t *s = &c->side[w];
		printf("  feedbackd: %6.0f ns CPU a record (%6.0f ns user)", s->cpu_ns, s->user_ns);
		if (s->instructions >= 0)
			printf(", %6.0f instructions a record", s->instructions);
		else
			printf(", instructions not counted (no hardware counter here)");
		printf(" (%s)\n", names[w]);
		snprintf(name, sizeof(name), "feedbackd CPU ns a record, %s", names[w]);
		if (s->cpu_ns >= 0)
			bench_row(name, s->cpu_ns, -1, -1);
		snprintf(name, sizeof(name), "feedbackd user CPU ns a record, %s", names[w]);
		if (s->user_ns >= 0)
			bench_row(name, s->user_ns, -1, -1);
		snprintf(name, sizeof(name), "feedbackd instructions a record, %s", names[w]);
		if (s->instructions >= 0)
			bench_row(name, s->instructions, -1, -1);
	}
	const bench_spent_t *off = &c->side[0], *on = &c->side[1];
	if (off->cpu_ns > 0 && on->cpu_ns >= 0)
		printf("feedbackd CPU a record with %s / without: %.3f (pooled), %.3f (median of "
		       "%d pairs of drives)\n",
		       what, on->cpu_ns / off->cpu_ns, c->pair_median, c->n_pairs);
	printf("  pairs:");
	for (int i = 0; i < c->n_pairs; i++)
		printf(" %.3f", c->pair[i]);
	printf("\n");
	if (off->user_ns > 0 && on->user_ns >= 0)
		printf("feedbackd user CPU a record with %s / without: %.3f\n", what,
		       on->user_ns / off->user_ns);
	if (off->instructions > 0 && on->instructions >= 0)
		printf("feedbackd instructions a record with %s / without: %.3f\n", what,
		       on->instructions / off->instructions);
}

#define STEADY_TTL_S 20
#define STEADY_PASS_S 5
/* the event log's bound in the steady run: [events] keep_max, so that two
 * minutes show it (the default keeps a week, or a million events) */
#define STEADY_EVENTS 100

/* bench_publish steady SECONDS RATE: a store under steady ingest (RATE
 * records a second, a publisher drive each second) whose metric records
 * and their idempotency keys live STEADY_TTL_S, passes STEADY_PASS_S
 * apart, and its event log STEADY_EVENTS events whole: its records, its
 * events and the pages it uses every five seconds. With a TTL they level
 * off (docs/performance.md, "Retention"); without one they would grow by
 * RATE a second. */
static void s_retention_growth(pid_t *fbd, uint64_t seconds, unsigned rate)
{
	char extra[sizeof(H.extra)], with_events[sizeof(H.extra)];
	memcpy(extra, H.extra, sizeof(extra));
	int w = snprintf(with_events, sizeof(with_events), "%s[events]\nkeep_max = %d\n", extra,
			 STEADY_EVENTS);
	if (w < 0 || (size_t)w >= sizeof(with_events))
		exit(1);
	s_with_retention(with_events, STEADY_TTL_S, STEADY_PASS_S, 1);
	s_fresh_feedbackd(fbd);
	memcpy(H.extra, extra, sizeof(extra));
	bench_section = "retention";
	bench_tally_t k = s_tally("steady ingest with a TTL", "steady");
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t s = 1; s <= seconds; s++) {
		s_publisher(rate, PUB_BATCH, PUB_WINDOW, NULL, &k);
		do {
			usleep(10000);
			clock_gettime(CLOCK_MONOTONIC, &now);
		} while ((uint64_t)(now.tv_sec - t0.tv_sec) < s);
		if (s % 5 != 0)
			continue;
		size_t n, nev;
		double mib;
		char name[96];
		s_store_stat_ev(&n, &nev, &mib);
		printf("at %3llu s: %8zu records in the store, %6zu events in its log, %7.1f MiB of "
		       "pages used\n",
		       (unsigned long long)s, n, nev, mib);
		snprintf(name, sizeof(name), "steady %u rec/s, TTL %d s: events at %llu s", rate,
			 STEADY_TTL_S, (unsigned long long)s);
		bench_row(name, (double)nev, -1, -1);
		snprintf(name, sizeof(name), "steady %u rec/s, TTL %d s: records at %llu s", rate,
			 STEADY_TTL_S, (unsigned long long)s);
		bench_row(name, (double)n, -1, -1);
		snprintf(name, sizeof(name), "steady %u rec/s, TTL %d s: MiB used at %llu s", rate,
			 STEADY_TTL_S, (unsigned long long)s);
		bench_row(name, mib, -1, -1);
	}
	s_check(&k);
}

static void row(const char *name, result_t r)
{
	printf("%-52s %10.0f rec/s   ack p50 %8.1f us   p99 %8.1f us\n", name, r.rate, r.p50, r.p99);
	if (strcmp(bench_section, "growth") != 0)
		bench_section = strncmp(name, "baseline", 8) == 0 ? "limits" : "traction";
	bench_row(name, r.rate, r.p50, r.p99);
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

static const char *const s_daemons[] = { "traction-broker", "traction-supplyd",
					  "traction-scenariod", "traction-feedbackd",
					  "traction-iterationd" };

/* The queries and every daemon's resident memory at a store size. */
static void s_checkpoint(traction_client_t *c, const pid_t *pids, const char *at)
{
	char name[128];
	bench_queries(c, at, 1000);
	/* VmRSS counts the store's pages the daemon has touched through its
	 * map (page cache the kernel may take back) with its own memory:
	 * both are shown, the second for feedbackd, whose store grows */
	for (int i = 0; i < 5; i++) {
		long rss = s_rss_kb(pids[i], "VmRSS"), file = s_rss_kb(pids[i], "RssFile");
		snprintf(name, sizeof(name), "RSS MiB %s%s", s_daemons[i], at);
		printf("%-52s %6ld MiB (of which mapped store pages %ld MiB)\n", name, rss / 1024,
		       file / 1024);
		bench_row(name, (double)rss / 1024.0, -1, -1);
		if (i == 3) {
			snprintf(name, sizeof(name), "RSS MiB %s%s, without mapped store pages",
				 s_daemons[i], at);
			bench_row(name, (double)(rss - file) / 1024.0, -1, -1);
		}
	}
}

/* bench_publish growth M: M million records, 32 per request, 100 requests
 * in flight, into one store; the rate of each million, the store's size and
 * feedbackd's memory as it grows; at 0, 1 M and M M records the queries
 * (history of a supply with 200 versions, stats) and every daemon's RSS.
 * Each million is spread evenly over the 200 versions, 5,000 records each
 * in consecutive runs (pub_t.span), so that history at 1 M and M M
 * records answers every version with its metrics and deltas, the reply
 * its target is about (as bench_history's records are spread); a batch
 * still touches one or two versions' aggregates, as before, not a
 * hundred. One metric for the whole run: after each million the store
 * holds every record counted. */
enum { GROWTH_VERSIONS = 200 };

static int s_growth(const pid_t *pids, int millions)
{
	bench_section = "growth";
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 30000);
	bench_catalogue(c, true);
	char *versions = bench_versions(c, GROWTH_VERSIONS);
	s_checkpoint(c, pids, " at 0 records");
	pid_t fb = pids[3];
	double first = 0;
	bench_tally_t tally = s_tally("publish rate (growth, every million so far)", "defect_rate");
	tally.version = "";
	for (int m = 1; m <= millions; m++) {
		result_t r = s_traction(1000000 / 32, 100, 32, &tally, versions, GROWTH_VERSIONS);
		char cmd[600], size[64] = "?", name[64];
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
		snprintf(name, sizeof(name), "publish rate, million %d", m);
		bench_row(name, r.rate, r.p50, r.p99);
		if (m == 1 || m == millions) {
			char at[64];
			snprintf(at, sizeof(at), " at %dM records", m);
			s_checkpoint(c, pids, at);
		}
	}
	free(versions);
	traction_client_destroy(&c);
	return 0;
}

int main(int argc, char **argv)
{
	bool growth = argc > 1 && strcmp(argv[1], "growth") == 0;
	bool batch = argc > 2 && strcmp(argv[1], "batch") == 0;
	bool publisher = argc > 2 && strcmp(argv[1], "publisher") == 0;
	bool metrics = argc > 2 && strcmp(argv[1], "metrics") == 0;
	bool alerts = argc > 2 && strcmp(argv[1], "alerts") == 0;
	bool retention = argc > 2 && strcmp(argv[1], "retention") == 0;
	bool steady = argc > 2 && strcmp(argv[1], "steady") == 0;
	bool open = argc > 1 && strcmp(argv[1], "open") == 0;
	bool one = argc > 1 && strcmp(argv[1], "one") == 0;
	uint64_t records = batch || publisher || metrics || alerts || retention || steady
				   ? strtoull(argv[2], NULL, 10)
			   : argc > 1 && !growth && !open && !one ? strtoull(argv[1], NULL, 10) : 100000;
	h_init(&H, growth ? "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 65536\n"
			    "[log]\nlevel = warning\n"
			  : "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 8192\n"
			    "[log]\nlevel = warning\n");
	pid_t pids[5] = { h_start_broker(&H, false) };
	for (int i = 1; i < (growth ? 5 : 4); i++)
		pids[i] = h_start(&H, s_daemons[i], NULL);
	if (!h_wait_live(&H, "feedback", 1, 5000) || !h_wait_live(&H, "scenario", 1, 5000))
		return 1;
	void *ctx = zmq_ctx_new();
	if (growth) {
		/* Bounded as the unit bounds it (MemoryHigh=): the kernel then
		 * recycles the store's page cache instead of taking ever new
		 * memory, which a VM pays for on first touch (docs/performance.md) */
		static bench_memcg_t g;
		int bounded = bench_memcg_enter(&g, "trc-bench-feedbackd", pids[3], BENCH_GROWTH_MEMORY);
		printf("feedbackd's memory bound: %zu MiB (%s)\n",
		       bounded == 0 ? BENCH_GROWTH_MEMORY >> 20 : 0, g.how);
		bench_section = "growth";
		bench_row("memory bound of feedbackd (MiB)",
			  bounded == 0 ? (double)(BENCH_GROWTH_MEMORY >> 20) : 0, -1, -1);
		int rc = s_growth(pids, argc > 2 ? atoi(argv[2]) : 10);
		zmq_ctx_term(ctx);
		h_done(&H);
		bench_memcg_remove(&g);
		return rc;
	}
	traction_client_t *c = h_client(&H);
	bench_catalogue(c, true);
	traction_client_destroy(&c);
	if (batch) {
		int window = argc > 3 ? atoi(argv[3]) : 100, per = argc > 4 ? atoi(argv[4]) : 32;
		char name[96];
		snprintf(name, sizeof(name), "traction publish, %d records/request, %d in flight", per,
			 window);
		if (window <= 0 || per <= 0 || per > 256)
			return 2;
		bench_tally_t k = s_tally(name, "bench_batch");
		row(name, s_traction(records / (uint64_t)per, window, per, &k, NULL, 0));
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (metrics || alerts) {
		result_t off, on;
		if (argc > 3)
			s_cost_drives = atoi(argv[3]);
		if (s_cost_drives < 1 || s_cost_drives > COST_DRIVES_MAX)
			return 2;
		cost_cpu_t cpu;
		s_cost_rows(metrics ? COST_METRICS : COST_ALERTS, records, &pids[3], &off, &on,
			    &cpu);
		row(metrics ? ROW_METRICS_OFF : ROW_ALERTS_OFF, off);
		row(metrics ? ROW_METRICS_ON : ROW_ALERTS_ON, on);
		printf("with %s / without: %.3f\n", metrics ? "metrics" : "alert rules",
		       on.rate / off.rate);
		s_cost_cpu_rows(metrics ? ROW_METRICS_OFF : ROW_ALERTS_OFF,
				metrics ? ROW_METRICS_ON : ROW_ALERTS_ON,
				metrics ? "metrics" : "alert rules", &cpu);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (retention) {
		result_t off, on;
		cost_cpu_t cpu;
		s_cost_rows(COST_RETENTION, records, &pids[3], &off, &on, &cpu);
		row(ROW_RETENTION_OFF, off);
		row(ROW_RETENTION_ON, on);
		printf("ack p99 expiring / keeping: %.3f (rate %.3f)\n", on.p99 / off.p99,
		       on.rate / off.rate);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (steady) {
		s_retention_growth(&pids[3], records, argc > 3 ? (unsigned)atoi(argv[3]) : 1000);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (publisher) {
		size_t per = argc > 3 ? (size_t)atoi(argv[3]) : PUB_BATCH,
		       window = argc > 4 ? (size_t)atoi(argv[4]) : PUB_WINDOW;
		char name[96];
		snprintf(name, sizeof(name), "traction publish, libtraction publisher, %zu x %zu",
			 per, window);
		if (per == 0 || window == 0 || per > 10000)
			return 2;
		bench_tally_t k = s_tally(name, "bench_pub");
		result_t r = s_publisher(records, per, window, NULL, &k);
		s_check(&k);
		row(name, r);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (one) {
		bench_tally_t k = s_tally(T1, "bench_1x1");
		result_t b = s_bare(ctx, BARE_LOOP, 2000, 1, 0);
		result_t ba = s_bare_via(ctx, BARE_LOOP_AHEAD, 2000, 1, 0, true);
		result_t t = s_traction(2000, 1, 1, &k, NULL, 0);
		row(B1, b);
		row(B1_SHAPE, ba);
		row(T1, t);
		printf("one in flight: traction p50 - bare loop p50 = %+.2f ms (its shape: %+.2f ms)\n",
		       (t.p50 - b.p50) / 1e3, (t.p50 - ba.p50) / 1e3);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}
	if (open) {
		bench_tally_t k = s_tally(T10K, "bench_open");
		result_t b[OPEN_BARE], t;
		s_open_rows(ctx, b, &t, &k);
		row(B10K, b[0]);
		row(B10K_AHEAD, b[1]);
		row(B10K_SHAPE, b[2]);
		row(T10K, t);
		printf("open loop 10k/s: traction p99 / bare loop p99 = %.2f (its shape: %.2f)\n",
		       t.p99 / b[0].p99, t.p99 / b[2].p99);
		zmq_ctx_term(ctx);
		h_done(&H);
		return 0;
	}

	bench_tally_t k1000 = s_tally(T1000, "bench_1x1000"), k32 = s_tally(T32, "bench_32x32"),
		      k100 = s_tally(T100, "bench_32x100"), kpub = s_tally(TPUB, "bench_pub"),
		      k1 = s_tally(T1, "bench_1x1"), k10k = s_tally(T10K, "bench_open");
	result_t echo = s_bare(ctx, BARE_ECHO, records, 1000, 0);
	result_t echo_relay = s_bare_via(ctx, BARE_ECHO, records, 1000, 0, true);
	result_t loop = s_bare_warm(ctx, BARE_LOOP, false, 1, 1000, records);
	result_t loop_ahead = s_bare_warm(ctx, BARE_LOOP_AHEAD, false, 1, 1000, records);
	result_t loop_relay = s_bare_via(ctx, BARE_LOOP, records, 1000, 0, true);
	result_t loop1 = s_bare(ctx, BARE_LOOP, 2000, 1, 0);
	result_t t1000 = s_traction(records, 1000, 1, &k1000, NULL, 0);
	/* Each target row right after the bare loop of its shape: the same
	 * records per message and in flight, through a relay (the broker's
	 * hops, without its work) and its file written ahead (as feedbackd's
	 * store is, lib/store.h) */
	s_fresh_feedbackd(&pids[3]);
	result_t b32 = s_bare_warm(ctx, BARE_LOOP_AHEAD, true, 32, 32, records);
	result_t t32 = s_traction_warm(records, 32, &k32);
	s_fresh_feedbackd(&pids[3]);
	result_t b100 = s_bare_warm(ctx, BARE_LOOP_AHEAD, true, 32, 100, records);
	result_t t100 = s_traction_warm(records, 100, &k100);
	s_fresh_feedbackd(&pids[3]);
	result_t bpub = s_bare_warm(ctx, BARE_LOOP_AHEAD, true, PUB_BATCH, PUB_WINDOW, records);
	result_t tpub = s_publisher_warm(records, &kpub);
	s_fresh_feedbackd(&pids[3]);
	result_t loop1_shape = s_bare_via(ctx, BARE_LOOP_AHEAD, 2000, 1, 0, true);
	result_t t1 = s_traction(2000, 1, 1, &k1, NULL, 0);
	result_t loop10k[OPEN_BARE], t10k;
	s_fresh_feedbackd(&pids[3]);
	s_open_rows(ctx, loop10k, &t10k, &k10k);
	result_t moff, mon, aoff, aon;
	cost_cpu_t mcpu, acpu;
	s_cost_rows(COST_METRICS, records, &pids[3], &moff, &mon, &mcpu);
	s_cost_rows(COST_ALERTS, records, &pids[3], &aoff, &aon, &acpu);

	printf("records of %d bytes; %llu records per throughput row (%d drives of them after "
	       "one unmeasured for the rows the targets compare); every traction row counts "
	       "only records stored, checked against feedback.stats\n",
	       RECORD_BYTES, (unsigned long long)records, WARM_DRIVES);
	row("baseline: bare ZeroMQ echo, 1000 in flight", echo);
	row("baseline: bare ZeroMQ echo via a relay, 1000 in flight", echo_relay);
	row(B1000, loop);
	row("baseline: bare group-commit loop, file written ahead, 1000 in flight", loop_ahead);
	row("baseline: bare group-commit loop via a relay, 1000 in flight", loop_relay);
	row(B32_SHAPE, b32);
	row(B100_SHAPE, b100);
	row(BPUB_SHAPE, bpub);
	row(B1, loop1);
	row(B1_SHAPE, loop1_shape);
	row(B10K, loop10k[0]);
	row(B10K_AHEAD, loop10k[1]);
	row(B10K_SHAPE, loop10k[2]);
	row(T1000, t1000);
	row(T32, t32);
	row(T100, t100);
	row(TPUB, tpub);
	row(T1, t1);
	row(T10K, t10k);
	row(ROW_METRICS_OFF, moff);
	row(ROW_METRICS_ON, mon);
	row(ROW_ALERTS_OFF, aoff);
	row(ROW_ALERTS_ON, aon);
	s_cost_cpu_rows(ROW_METRICS_OFF, ROW_METRICS_ON, "metrics", &mcpu);
	s_cost_cpu_rows(ROW_ALERTS_OFF, ROW_ALERTS_ON, "alert rules", &acpu);
	printf("ratio: traction 32 x 32 / bare loop of its shape = %.2f (plain bare loop: %.2f)\n",
	       t32.rate / b32.rate, t32.rate / loop.rate);
	printf("ratio: traction 32 x 100 / bare loop of its shape = %.2f (plain bare loop: %.2f)\n",
	       t100.rate / b100.rate, t100.rate / loop.rate);
	printf("ratio: libtraction publisher 64 x 16 / bare loop of its shape = %.2f "
	       "(plain bare loop: %.2f)\n",
	       tpub.rate / bpub.rate, tpub.rate / loop.rate);
	printf("one in flight: traction p50 - bare loop of its shape p50 = %+.2f ms "
	       "(plain bare loop: %+.2f ms)\n",
	       (t1.p50 - loop1_shape.p50) / 1e3, (t1.p50 - loop1.p50) / 1e3);
	printf("open loop 10k/s: traction p99 / bare loop of its shape p99 = %.2f "
	       "(plain bare loop: %.2f)\n",
	       t10k.p99 / loop10k[2].p99, t10k.p99 / loop10k[0].p99);
	zmq_ctx_term(ctx);
	h_done(&H);
	return 0;
}
