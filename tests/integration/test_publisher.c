/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtraction's asynchronous publisher against the real set: a bounded
 * queue says RESOURCE_EXHAUSTED when full; thousands of records in flight
 * are each acknowledged once; the broker killed with SIGKILL and restarted
 * mid-stream is ridden out by retries with the same idempotency keys, so
 * every record ends up stored exactly once; and feedbackd keeps its store's
 * file written ahead of LMDB's last page (lib/store.h).
 */
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "harness.h"
#include "store.h"
#include "traction/publisher.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
enum { N = 5000 };
static unsigned char s_acked[N];
static long s_ok, s_bad, s_dup;

static void on_ack(void *ud, const traction_ack_t *ack)
{
	CHECK(ack->tag < N);
	CHECK_MSG(s_acked[ack->tag] == 0, "record %llu acknowledged twice",
		  (unsigned long long)ack->tag);
	s_acked[ack->tag] = 1;
	if (ack->code == 0)
		s_ok++;
	else
		s_bad++;
	if (ack->duplicate)
		s_dup++;
}

static void record(Traction__V1__FeedbackRecord *r, Traction__V1__Metric *m, double v)
{
	traction__v1__feedback_record__init(r);
	traction__v1__metric__init(m);
	r->scenario_id = (char *)"weld-line-3";
	r->supply_id = (char *)"defect-vision";
	r->version = (char *)"1.0";
	m->name = (char *)"cycle_time_s";
	m->value = v;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
}

/* The running feedbackd's data.mdb ends well past LMDB's last page, and
 * not further than the margin and a piece. */
/* The keys the publisher made: "<its prefix>-<12 hex digits>", one prefix,
 * each its own. (They rise in publish order; requests in flight together
 * may be stored in another order, so the list is not checked for it.) */
static void s_check_generated_keys(traction_client_t *c)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__FeedbackListReply *rep = NULL;
	traction_status_t st;
	page.limit = 51;
	q.page = &page;
	q.supply_id = (char *)"defect-vision";
	int code = traction_call(c, "feedback", "list", &q.base,
				 &traction__v1__feedback_list_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	CHECK_MSG(code == 0, "%s", st.message);
	CHECK(rep->n_records == 51);
	size_t plen = 0, first = 0;
	/* the harness's own probe record comes first, with a key of its own */
	while (first < rep->n_records &&
	       strncmp(rep->records[first]->idempotency_key, "ready-", 6) == 0)
		first++;
	CHECK(first == 1);
	for (size_t i = first; i < rep->n_records; i++) {
		const char *k = rep->records[i]->idempotency_key;
		const char *dash = strrchr(k, '-');
		CHECK_MSG(k[0] == 'p' && dash != NULL && strlen(dash + 1) == 12 &&
				  strspn(dash + 1, "0123456789abcdef") == 12,
			  "key '%s'", k);
		if (i == first)
			plen = (size_t)(dash - k);
		CHECK_MSG((size_t)(dash - k) == plen &&
				  strncmp(k, rep->records[first]->idempotency_key, plen) == 0,
			  "key '%s': another prefix", k);
		for (size_t j = first; j < i; j++)
			CHECK_MSG(strcmp(rep->records[j]->idempotency_key, k) != 0, "key '%s' twice", k);
	}
	traction_reply_free(&rep->base);
}

static void s_check_written_ahead(void)
{
	char dir[600], file[640];
	snprintf(dir, sizeof(dir), "%s/var/feedbackd", H.dir);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	MDB_env *env = NULL;
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	CHECK_EQ_INT(mdb_env_create(&env), 0);
	CHECK_EQ_INT(mdb_env_set_mapsize(env, 64u << 20), 0);
	CHECK_EQ_INT(mdb_env_open(env, dir, MDB_RDONLY, 0), 0);
	CHECK_EQ_INT(mdb_env_info(env, &info), 0);
	CHECK_EQ_INT(mdb_env_stat(env, &ms), 0);
	CHECK_EQ_INT(stat(file, &sb), 0);
	uint64_t used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize, size = (uint64_t)sb.st_size;
	CHECK_MSG(size >= used + TRC_STORE_AHEAD / 4 && size <= used + TRC_STORE_AHEAD + TRC_STORE_AHEAD_PIECE,
		  "data.mdb is %llu bytes, LMDB's pages end at %llu", (unsigned long long)size,
		  (unsigned long long)used);
	mdb_env_close(env);
}

TEST(bounded_queue)
{
	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .max_queued = 10, .on_ack = NULL };
	CHECK_EQ_INT(traction_publisher_new(&p, "tcp://127.0.0.1:1", &o), 0);
	Traction__V1__FeedbackRecord r;
	Traction__V1__Metric m;
	record(&r, &m, 1);
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(traction_publish(p, &r, (uint64_t)i), 0);
	CHECK_EQ_INT(traction_publish(p, &r, 10), TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_EQ_INT(traction_publisher_pending(p), 10);
	/* nobody is there: flush gives up at its deadline, not never */
	CHECK_EQ_INT(traction_publisher_flush(p, 300), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	traction_publisher_destroy(&p);
}

TEST(broker_killed_mid_stream)
{
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	h_start(&H, "traction-feedbackd", NULL);
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	CHECK(h_wait_live(&H, "scenario", 1, 5000));
	traction_client_t *c = h_client(&H);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");

	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .timeout_ms = 700, .batch = 50, .max_in_flight = 20,
					   .on_ack = on_ack };
	CHECK_EQ_INT(traction_publisher_new(&p, H.client_ep, &o), 0);
	double sum = 0;
	for (int i = 0; i < N; i++) {
		Traction__V1__FeedbackRecord r;
		Traction__V1__Metric m;
		record(&r, &m, (double)i);
		sum += i;
		while (traction_publish(p, &r, (uint64_t)i) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			traction_publisher_poll(p, 10);
		traction_publisher_poll(p, 0);
		if (i == N / 3) {
			h_kill(&H, H.pids[0], SIGKILL);
			h_start_broker(&H, true);
		}
	}
	CHECK_EQ_INT(traction_publisher_flush(p, 60000), 0);
	traction_publisher_destroy(&p);
	CHECK_EQ_INT(s_ok, N);
	CHECK_EQ_INT(s_bad, 0);

	/* stored exactly once: count and sum of the metric */
	traction_client_destroy(&c);
	c = h_client(&H);
	Traction__V1__StatsReply *rep = NULL;
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 100 && code != 0; i++) {
		code = h_stats(c, "defect-vision", "cycle_time_s", &rep, &st);
		if (code != 0)
			h_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "%s", st.message);
	CHECK_EQ_INT(rep->metrics[0]->stats->count, N);
	CHECK(rep->metrics[0]->stats->sum == sum);
	traction_reply_free(&rep->base);
	s_check_generated_keys(c);
	traction_client_destroy(&c);
	s_check_written_ahead();
	fprintf(stderr, "%d records, %ld acknowledged as duplicates of a lost acknowledgement\n", N,
		s_dup);
	/* only what was in flight when the broker died can have lost its
	 * acknowledgement: at most max_in_flight (20) batches of 50 */
	CHECK_MSG(s_dup <= 20 * 50, "%ld duplicates, more than were ever in flight", s_dup);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	RUN(bounded_queue);
	RUN(broker_killed_mid_stream);
	h_done(&H);
	DONE();
}
