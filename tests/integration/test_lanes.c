/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interactive reads never wait behind bulk ingest (issue 21). feedbackd
 * keeps its store on trc-cutfs, whose syncs the test makes stall
 * (SIGUSR2: every fsync waits until the next one), so that a group commit
 * hangs in its sync as on a slow disk, for as long as the test likes.
 *
 *  1. Reads beside a commit: while a publish's commit hangs, ping,
 *     feedback.stats and feedback.list are answered at once, from the store
 *     as it was (the publish is neither acknowledged nor seen); once the
 *     disk goes on it is acknowledged, and then seen.
 *  2. The lane: with batch_max = 4, a commit hanging and a burst of
 *     publishes that fills the loop's next batch and more, a ping sent
 *     after them is answered while they wait; once the disk goes on every
 *     one is acknowledged, stored once, in the order sent.
 *
 *  3. The writer yields: feedbackd's writer thread runs at nice + 5 of
 *     its loop thread's (lib/svc_writer.c), so that a woken loop takes a
 *     core from a bulk commit sooner.
 *
 * Fails (seen) with reads held until the writer is idle (s_queue in
 * lib/svc_dispatch.c deferring them while svc->run is set): part 1's ping
 * waits for the disk; and with the loop not reading past a full batch
 * (s_drain in lib/service.c without svc_lane_hold): part 2's ping waits.
 * Needs root and /dev/fuse (exit 77 without: tests/run.sh counts that as a
 * failure where it should run).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

static harness_t H;
static traction_client_t *C;
static char s_backing[400], s_mnt[400];
static pid_t s_fs;

/* A read answered while the disk stalls takes far less than this; one
 * that waits for the disk takes as long as the test holds it (5 s). */
#define QUICK_MS 2500 /* half the hold: room for a TSan build on 2 busy cores */
#define HOLD_MS 5000

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_held(void)
{
	char path[450];
	snprintf(path, sizeof(path), "%s/.fsync-held", s_backing);
	return access(path, F_OK) == 0;
}

/* Makes the disk stall, or go on. */
static void s_disk(bool stall)
{
	CHECK(kill(s_fs, SIGUSR2) == 0);
	if (!stall)
		for (int i = 0; i < 500 && s_held(); i++)
			h_sleep_ms(10);
}

/* Until a sync waits on the stalled disk (a commit hangs in it). */
static void s_wait_held(const char *what)
{
	for (int i = 0; i < 500 && !s_held(); i++)
		h_sleep_ms(10);
	CHECK_MSG(s_held(), "%s: no sync reached the stalled disk in 5 s", what);
}

/* A publish request of n records with label test=label, keys label-i,
 * each with a padding label (big: a batch past the runtime's 16 KiB that
 * goes to the writer thread), sent on raw socket r as request id. */
static void s_send_publish(raw_t *r, uint64_t id, const char *label, int n, bool big)
{
	Traction__V1__FeedbackRecord *recs = calloc((size_t)n, sizeof(*recs));
	Traction__V1__FeedbackRecord **rp = calloc((size_t)n, sizeof(*rp));
	Traction__V1__Metric *m = calloc((size_t)n, sizeof(*m));
	Traction__V1__KeyValue *kv = calloc((size_t)n * 2, sizeof(*kv));
	Traction__V1__KeyValue **kvp = calloc((size_t)n * 2, sizeof(*kvp));
	char(*keys)[32] = calloc((size_t)n, sizeof(*keys));
	static char pad[200];
	memset(pad, 'p', sizeof(pad) - 1);
	CHECK(recs != NULL && rp != NULL && m != NULL && kv != NULL && kvp != NULL && keys != NULL);
	for (int i = 0; i < n; i++) {
		traction__v1__feedback_record__init(&recs[i]);
		traction__v1__metric__init(&m[i]);
		traction__v1__key_value__init(&kv[2 * i]);
		traction__v1__key_value__init(&kv[2 * i + 1]);
		snprintf(keys[i], sizeof(keys[i]), "%s-%d", label, i);
		recs[i].scenario_id = (char *)"weld-line-3";
		recs[i].supply_id = (char *)"defect-vision";
		recs[i].version = (char *)"1.0";
		recs[i].idempotency_key = keys[i];
		kv[2 * i].key = (char *)"test";
		kv[2 * i].value = (char *)label;
		kv[2 * i + 1].key = (char *)"pad";
		kv[2 * i + 1].value = big ? pad : (char *)"-";
		kvp[2 * i] = &kv[2 * i];
		kvp[2 * i + 1] = &kv[2 * i + 1];
		recs[i].labels = &kvp[2 * i];
		recs[i].n_labels = 2;
		m[i].name = (char *)label;
		m[i].value = i;
		recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		recs[i].metric = &m[i];
		rp[i] = &recs[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	req.records = rp;
	req.n_records = (size_t)n;
	size_t len = traction__v1__publish_request__get_packed_size(&req);
	uint8_t *buf = malloc(len);
	CHECK(buf != NULL);
	traction__v1__publish_request__pack(&req, buf);
	raw_request(r, "feedback", "publish", id, buf, len);
	free(buf);
	free(keys);
	free(kvp);
	free(kv);
	free(m);
	free(rp);
	free(recs);
}

/* The reply to a publish within timeout_ms: true if it came, and then
 * every record's result must be OK. */
static bool s_publish_reply(raw_t *r, int timeout_ms, uint64_t *id, int n)
{
	void *body = NULL;
	size_t blen = 0;
	Traction__V1__Header *h = raw_reply(r, timeout_ms, &body, &blen);
	if (h == NULL)
		return false;
	*id = h->request_id;
	CHECK_MSG(h->status == NULL || h->status->code == 0, "publish %llu: %s",
		  (unsigned long long)h->request_id, h->status->message);
	Traction__V1__PublishReply *rep = traction__v1__publish_reply__unpack(NULL, blen, body);
	CHECK(rep != NULL);
	CHECK_EQ_INT((int)rep->n_results, n);
	for (size_t i = 0; i < rep->n_results; i++)
		CHECK_MSG(rep->results[i]->status == NULL || rep->results[i]->status->code == 0,
			  "publish %llu, record %zu: %s", (unsigned long long)*id, i,
			  rep->results[i]->status->message);
	traction__v1__publish_reply__free_unpacked(rep, NULL);
	protobuf_c_message_free_unpacked(&h->base, NULL);
	free(body);
	return true;
}

/* ping of feedbackd: how long it took (it must succeed). */
static int64_t s_ping_ms(void)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int64_t t0 = s_now_ms();
	int code = traction_call(C, "feedback", "ping", &e.base, &traction__v1__ping_reply__descriptor,
				 &rep, &st);
	int64_t ms = s_now_ms() - t0;
	CHECK_MSG(code == 0, "ping: %s (after %lld ms)", st.message, (long long)ms);
	traction_reply_free(rep);
	return ms;
}

/* How many records of metric name the aggregates count (0: none), and
 * how long feedback.stats took. */
static uint64_t s_stats(const char *metric, int64_t *ms)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *r = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	q.metric = (char *)metric;
	int64_t t0 = s_now_ms();
	int code = traction_call(C, "feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor,
				 (ProtobufCMessage **)&r, &st);
	if (ms != NULL)
		*ms = s_now_ms() - t0;
	if (code == TRACTION__V1__CODE__NOT_FOUND)
		return 0;
	CHECK_MSG(code == 0, "stats: %s", st.message);
	uint64_t n = r->n_metrics == 1 && r->metrics[0]->stats != NULL ? r->metrics[0]->stats->count
									 : 0;
	traction_reply_free(&r->base);
	return n;
}

/* The idempotency keys of the records labelled test=label, oldest first
 * (the order they were stored in), into keys; how many. */
static size_t s_list(const char *label, char keys[][32], size_t cap, int64_t *ms)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT;
	Traction__V1__FeedbackListReply *r = NULL;
	traction_status_t st;
	kv.key = (char *)"test";
	kv.value = (char *)label;
	q.label = &kv;
	q.supply_id = (char *)"defect-vision";
	int64_t t0 = s_now_ms();
	int code = traction_call(C, "feedback", "list", &q.base,
				 &traction__v1__feedback_list_reply__descriptor,
				 (ProtobufCMessage **)&r, &st);
	if (ms != NULL)
		*ms = s_now_ms() - t0;
	CHECK_MSG(code == 0, "list: %s", st.message);
	size_t n = 0;
	for (size_t i = 0; i < r->n_records && n < cap; i++)
		snprintf(keys[n++], 32, "%s", r->records[i]->idempotency_key);
	traction_reply_free(&r->base);
	return n;
}

/* No commit of feedbackd's waits to be made: what it owed from earlier
 * publishes (its coalesced evidence, written at its next tick) is written,
 * so that the loop has nothing of its own to sync while the disk stalls. */
static void s_settled(void)
{
	for (int i = 0; i < 200; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__PingReply *rep = NULL;
		traction_status_t st;
		CHECK(traction_call(C, "feedback", "ping", &e.base, &traction__v1__ping_reply__descriptor,
				    (ProtobufCMessage **)&rep, &st) == 0);
		bool owed = rep->events_owed;
		traction_reply_free(&rep->base);
		if (!owed)
			return;
		h_sleep_ms(25);
	}
	CHECK_MSG(false, "feedbackd still owes its evidence events after 5 s");
}

static void s_reads_beside_a_commit(raw_t *pub)
{
	s_settled();
	s_disk(true);
	s_send_publish(pub, 1, "held", 200, true);
	s_wait_held("a publish of 200 records");
	int64_t ping_ms = s_ping_ms(), stats_ms, list_ms;
	uint64_t seen = s_stats("held", &stats_ms);
	char keys[4][32];
	size_t listed = s_list("held", keys, 4, &list_ms);
	printf("while a commit hangs in its sync: ping %lld ms, stats %lld ms, list %lld ms\n",
	       (long long)ping_ms, (long long)stats_ms, (long long)list_ms);
	CHECK_MSG(ping_ms < QUICK_MS, "ping took %lld ms while a commit hung", (long long)ping_ms);
	CHECK_MSG(stats_ms < QUICK_MS, "stats took %lld ms while a commit hung", (long long)stats_ms);
	CHECK_MSG(list_ms < QUICK_MS, "list took %lld ms while a commit hung", (long long)list_ms);
	CHECK_MSG(seen == 0 && listed == 0,
		  "a read saw %llu records (stats) and %zu (list) not yet on disk", (unsigned long long)seen,
		  listed);
	uint64_t id = 0;
	CHECK_MSG(!s_publish_reply(pub, 300, &id, 200),
		  "the publish was acknowledged while its commit hung in the sync");
	s_disk(false);
	CHECK_MSG(s_publish_reply(pub, HOLD_MS, &id, 200), "no reply to the publish once the disk went on");
	CHECK_EQ_INT((int)id, 1);
	CHECK_EQ_INT((int)s_stats("held", NULL), 200);
}

/* The loop's batch holds 4 requests (batch_max): 1 big publish hangs in
 * the writer, the small ones fill the next batch (with a tick, perhaps)
 * and the rest are set aside (4 at most). */
#define SMALL 6

static void s_the_lane(raw_t *pub)
{
	s_settled();
	s_disk(true);
	s_send_publish(pub, 100, "lanebig", 200, true);
	s_wait_held("the lane's big publish");
	for (int i = 0; i < SMALL; i++) {
		char label[16];
		snprintf(label, sizeof(label), "lane%d", i);
		s_send_publish(pub, 101 + (uint64_t)i, label, 1, false);
	}
	h_sleep_ms(200); /* the burst has reached feedbackd's socket */
	int64_t ping_ms = s_ping_ms();
	printf("behind a full batch and writes set aside: ping %lld ms\n", (long long)ping_ms);
	CHECK_MSG(ping_ms < QUICK_MS, "ping took %lld ms behind a full batch", (long long)ping_ms);
	uint64_t id = 0;
	CHECK_MSG(!s_publish_reply(pub, 200, &id, 200), "a publish was acknowledged while the disk stalled");
	s_disk(false);
	CHECK_MSG(s_publish_reply(pub, HOLD_MS, &id, 200), "no reply to the big publish");
	CHECK_EQ_INT((int)id, 100);
	for (int i = 0; i < SMALL; i++) {
		CHECK_MSG(s_publish_reply(pub, HOLD_MS, &id, 1), "no reply to small publish %d", i);
		CHECK_EQ_INT((int)id, 101 + i);
	}
	/* each stored once, in the order sent (record ids follow commits) */
	for (int i = 0; i < SMALL; i++) {
		char label[16], keys[2][32], want[32];
		snprintf(label, sizeof(label), "lane%d", i);
		CHECK_EQ_INT((int)s_stats(label, NULL), 1);
		CHECK_EQ_INT((int)s_list(label, keys, 2, NULL), 1);
		snprintf(want, sizeof(want), "%s-0", label);
		CHECK_MSG(strcmp(keys[0], want) == 0, "record %s has key %s", want, keys[0]);
	}
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *r = NULL;
	traction_status_t st;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.limit = 20;
	q.page = &page;
	q.supply_id = (char *)"defect-vision";
	q.newest_first = true;
	CHECK(traction_call(C, "feedback", "list", &q.base, &traction__v1__feedback_list_reply__descriptor,
			    (ProtobufCMessage **)&r, &st) == 0);
	CHECK((int)r->n_records >= SMALL);
	for (int i = 0; i < SMALL; i++) { /* newest first: lane6, lane5, ... */
		char want[32];
		snprintf(want, sizeof(want), "lane%d-0", SMALL - 1 - i);
		CHECK_MSG(strcmp(r->records[i]->idempotency_key, want) == 0,
			  "stored out of order: %d-th newest is %s, not %s", i + 1,
			  r->records[i]->idempotency_key, want);
	}
	traction_reply_free(&r->base);
}

static void s_unmount_at_exit(void)
{
	h_cutfs_stop(&H, &s_fs, s_mnt);
}

/* The nice values of process pid's threads (/proc/PID/task/TID/stat's
 * 19th field), the lowest and the highest. */
static int s_nice_range(pid_t pid, int *lo, int *hi)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/stat", (int)pid);
	FILE *f = popen(cmd, "r");
	char line[1024];
	int n = 0;
	*lo = 99, *hi = -99;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *p = strrchr(line, ')'); /* past the name, which may hold spaces */
		int nice = 0;
		/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime cutime cstime priority nice */
		if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
					"%*u %*d %*d %*d %d", &nice) != 1)
			continue;
		*lo = nice < *lo ? nice : *lo;
		*hi = nice > *hi ? nice : *hi;
		n++;
	}
	if (f != NULL)
		pclose(f);
	return n;
}

int main(void)
{
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("skipped: needs root and /dev/fuse to mount trc-cutfs\n");
		return 77;
	}
	h_init(&H, "[bus]\nheartbeat_ms = 200\n[store]\nbatch_max = 4\n");
	snprintf(s_backing, sizeof(s_backing), "%s/backing", H.dir);
	snprintf(s_mnt, sizeof(s_mnt), "%s/mnt", H.dir);
	CHECK(mkdir(s_backing, 0755) == 0 && mkdir(s_mnt, 0755) == 0);
	atexit(s_unmount_at_exit); /* runs before the harness removes the dir */
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	s_fs = h_cutfs_start(&H, s_backing, s_mnt, 1);
	pid_t fb = h_start(&H, "traction-feedbackd", "mnt");
	CHECK(h_wait_live(&H, "feedback", 1, 10000));
	int lo, hi;
	CHECK(s_nice_range(fb, &lo, &hi) >= 2);
	CHECK_MSG(hi == lo + 5, "feedbackd's threads run at nice %d to %d: the writer is to "
				"run at its loop's + 5", lo, hi);
	C = h_client(&H);
	traction_client_set_timeout(C, HOLD_MS * 2);
	h_catalogue(C, NULL);
	h_wait_feedback_ready(C, "weld-line-3");
	traction_client_set_timeout(C, 3000); /* a read that waits for the disk fails */
	raw_t pub;
	raw_open(&pub, H.client_ep);
	s_reads_beside_a_commit(&pub);
	s_the_lane(&pub);
	raw_close(&pub);
	traction_client_destroy(&C);
	h_done(&H);
	printf("ok\n");
	return 0;
}
