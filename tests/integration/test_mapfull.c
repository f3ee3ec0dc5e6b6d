/*
 * A full store, end to end: feedbackd with a 1 MiB LMDB map is fed until
 * publishing answers RESOURCE_EXHAUSTED with a message that says what to
 * do; reads keep working; restarted with a bigger map, the refused batch
 * goes in on retry and every record acknowledged before is there, once.
 */
#include <signal.h>
#include <stdlib.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;

enum { BATCH = 200 };
static Traction__V1__FeedbackRecord s_recs[BATCH], *s_rp[BATCH];
static Traction__V1__Metric s_m[BATCH];
static Traction__V1__KeyValue s_label, *s_labelp = &s_label;
static char s_keys[BATCH][32];
static char s_pad[180];

static int publish_batch(int b, traction_status_t *st)
{
	for (int i = 0; i < BATCH; i++) {
		traction__v1__feedback_record__init(&s_recs[i]);
		traction__v1__metric__init(&s_m[i]);
		snprintf(s_keys[i], sizeof(s_keys[i]), "b%d-%d", b, i);
		s_recs[i].scenario_id = (char *)"weld-line-3";
		s_recs[i].supply_id = (char *)"defect-vision";
		s_recs[i].version = (char *)"1.0";
		s_recs[i].idempotency_key = s_keys[i];
		s_recs[i].labels = &s_labelp;
		s_recs[i].n_labels = 1;
		s_m[i].name = (char *)"defect_rate";
		s_m[i].value = 0.01 * (i % 7);
		s_recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		s_recs[i].metric = &s_m[i];
		s_rp[i] = &s_recs[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	req.records = s_rp;
	req.n_records = BATCH;
	int code = traction_call(C, "feedback", "publish", &req.base,
				 &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep, st);
	if (code == 0) {
		for (int i = 0; i < BATCH; i++)
			if (rep->results[i]->status->code != 0)
				code = rep->results[i]->status->code;
		traction_reply_free(&rep->base);
	}
	return code;
}

static uint64_t stats_count(void)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *r = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.metric = (char *)"defect_rate";
	CHECK_MSG(traction_call(C, "feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor,
				(ProtobufCMessage **)&r, &st) == 0,
		  "stats: %s", st.message);
	uint64_t n = r->metrics[0]->stats->count;
	traction_reply_free(&r->base);
	return n;
}

TEST(full_store_refuses_then_resumes)
{
	memset(s_pad, 'p', sizeof(s_pad) - 1);
	traction__v1__key_value__init(&s_label);
	s_label.key = (char *)"site";
	s_label.value = s_pad;
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	pid_t fb = h_start(&H, "traction-feedbackd", NULL);
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	CHECK(h_wait_live(&H, "scenario", 1, 5000));
	C = h_client(&H);
	h_catalogue(C, NULL);

	traction_status_t st;
	int b = 0, code = TRACTION__V1__CODE__NOT_FOUND;
	for (int i = 0; i < 200 && code == TRACTION__V1__CODE__NOT_FOUND; i++) {
		code = publish_batch(b, &st);
		if (code == TRACTION__V1__CODE__NOT_FOUND)
			h_sleep_ms(25); /* references not known yet */
	}
	int acked = 0;
	while (code == 0 && b < 1000) {
		acked++;
		code = publish_batch(++b, &st);
	}
	CHECK_MSG(code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "code %d after %d batches: %s", code,
		  acked, st.message);
	CHECK_CONTAINS(st.message, "the store is full (map_size_mb=1)");
	CHECK_CONTAINS(st.message, "raise [store] map_size_mb and restart");
	CHECK(acked > 0);
	/* reads go on, and hold exactly what was acknowledged */
	CHECK_EQ_INT(stats_count(), (uint64_t)acked * BATCH);

	/* a bigger map: the refused batch goes in on retry, nothing lost */
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, fb, SIGTERM)), 0);
	CHECK(h_wait_live(&H, "feedback", 0, 3000));
	snprintf(H.extra, sizeof(H.extra), "[bus]\nheartbeat_ms = 100\n[store]\nmap_size_mb = 64\n");
	h_start(&H, "traction-feedbackd", "var"); /* the same state dir, a new config */
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	code = -1;
	for (int i = 0; i < 100 && code != 0; i++) {
		code = publish_batch(b, &st);
		if (code != 0)
			h_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "%s", st.message);
	CHECK_EQ_INT(stats_count(), (uint64_t)(acked + 1) * BATCH);
	/* and the earlier ones, sent again, are duplicates */
	CHECK_EQ_INT(publish_batch(0, &st), 0);
	CHECK_EQ_INT(stats_count(), (uint64_t)(acked + 1) * BATCH);
	fprintf(stderr, "store full after %d batches of %d records\n", acked, BATCH);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[store]\nmap_size_mb = 1\n"
		   "[events]\nreplay_interval_ms = 200\n");
	RUN(full_store_refuses_then_resumes);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
