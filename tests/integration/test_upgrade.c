/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stores written by the first wave's daemons (tests/fixtures/wave1/, made
 * as its README says) open under this build's, with nothing lost: the
 * catalogue, versions, the deployment, every feedback record, aggregates
 * of schema 1 read in the new layout, event heads where they were.
 * feedbackd upgrades its store to schema 2 on open: an old idempotency key
 * moves to its record's scope, so a retry of it is still a duplicate, and
 * the same key in another scenario — which the first wave answered with
 * the first site's record, dropping the value — now stores a record.
 */
#include <math.h>
#include <sys/stat.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;

static void s_copy_fixture(const char *daemon)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/var/%s' && cp '%s/tests/fixtures/wave1/%s/data.mdb' '%s/var/%s/'",
		 H.dir, daemon, TRACTION_SOURCE_DIR, daemon, H.dir, daemon);
	CHECK_MSG(system(cmd) == 0, "%s", cmd);
}

static void *s_call(const char *service, const char *method, const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *rd)
{
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = -1;
	/* consumers catch up with their sources first: retry what is not there yet */
	for (int i = 0; i < 100; i++) {
		code = traction_call(C, service, method, req, rd, &rep, &st);
		if (code == 0)
			return rep;
		h_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "%s.%s: %s", service, method, st.message);
	return NULL;
}

static uint64_t s_head(const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = s_call(service, "ping", &e.base,
					    &traction__v1__ping_reply__descriptor);
	uint64_t h = p->event_head;
	traction_reply_free(&p->base);
	return h;
}

/* Publishes one metric under key in scenario: the record's result. */
static void s_publish(const char *scenario, const char *key, double value, uint64_t *id,
		      bool *duplicate)
{
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	r.scenario_id = (char *)scenario;
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = (char *)key;
	m.name = (char *)"defect_rate";
	m.value = value;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	req.records = &rp;
	req.n_records = 1;
	Traction__V1__PublishReply *rep =
		s_call("feedback", "publish", &req.base, &traction__v1__publish_reply__descriptor);
	CHECK_MSG(rep->results[0]->status->code == 0, "%s", rep->results[0]->status->message);
	*id = rep->results[0]->record_id;
	*duplicate = rep->results[0]->duplicate;
	traction_reply_free(&rep->base);
}

static size_t s_records(void)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest pg = TRACTION__V1__PAGE_REQUEST__INIT;
	pg.limit = 1000;
	q.page = &pg;
	Traction__V1__FeedbackListReply *rep = s_call(
		"feedback", "list", &q.base, &traction__v1__feedback_list_reply__descriptor);
	size_t n = rep->n_records;
	traction_reply_free(&rep->base);
	return n;
}

TEST(the_first_waves_stores_read_as_they_were)
{
	Traction__V1__IdRequest id = TRACTION__V1__ID_REQUEST__INIT;
	id.id = (char *)"defect-vision";
	Traction__V1__SupplyReply *s =
		s_call("supply", "get", &id.base, &traction__v1__supply_reply__descriptor);
	CHECK_STR(s->supply->name, "Defect Vision");
	CHECK_STR(s->supply->initial_version, "1.0");
	traction_reply_free(&s->base);
	id.id = (char *)"weld-line-3";
	Traction__V1__ScenarioReply *sc =
		s_call("scenario", "get", &id.base, &traction__v1__scenario_reply__descriptor);
	CHECK_STR(sc->scenario->enterprise, "Northern Steel");
	CHECK_EQ_INT(sc->scenario->n_demands, 1);
	traction_reply_free(&sc->base);

	Traction__V1__IterationListRequest il = TRACTION__V1__ITERATION_LIST_REQUEST__INIT;
	il.supply_id = (char *)"defect-vision";
	Traction__V1__IterationListReply *it = s_call(
		"iteration", "list", &il.base, &traction__v1__iteration_list_reply__descriptor);
	CHECK_EQ_INT(it->n_iterations, 2);
	CHECK_STR(it->iterations[1]->version, "1.1");
	CHECK_STR(it->iterations[1]->notes, "hairline crack model");
	traction_reply_free(&it->base);
	id.id = (char *)"dep-1";
	Traction__V1__DeploymentReply *d =
		s_call("deployment", "get", &id.base, &traction__v1__deployment_reply__descriptor);
	CHECK_STR(d->deployment->version, "1.1");
	traction_reply_free(&d->base);

	/* 30 + 3 records; 10 of the 40 sent were the first wave's collisions */
	CHECK_EQ_INT(s_records(), 33);
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.metric = (char *)"defect_rate";
	Traction__V1__StatsReply *st =
		s_call("feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor);
	Traction__V1__MetricStats *ms = st->metrics[0]->stats;
	/* schema 1's sum and sum of squares, read as a mean and a deviation
	 * (what the first wave's tractionctl printed: mean 0.048, stddev
	 * 0.02535) */
	CHECK_EQ_INT(ms->count, 30);
	CHECK(fabs(ms->mean - 0.048) < 1e-12);
	CHECK_MSG(fabs(ms->stddev - 0.02535) < 1e-5, "stddev %g", ms->stddev);
	CHECK(ms->min == 0.01 && ms->max == 0.09);
	traction_reply_free(&st->base);
}

TEST(old_keys_keep_their_records_in_their_scope)
{
	uint64_t rid;
	bool dup;
	/* key "1" named record 1, in weld-line-3: a retry finds it */
	s_publish("weld-line-3", "1", 0.02, &rid, &dup);
	CHECK(dup);
	CHECK_EQ_INT(rid, 1);
	/* key "1" in paint-shop was another site's: the first wave said
	 * "duplicate of record 1" and dropped it; now it is stored */
	size_t before = s_records();
	s_publish("paint-shop", "1", 0.5, &rid, &dup);
	CHECK_MSG(!dup, "paint-shop's key '1' is still taken for weld-line-3's record");
	CHECK(rid > 33);
	CHECK_EQ_INT(s_records(), before + 1);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	const char *daemons[] = { "supplyd", "scenariod", "feedbackd", "iterationd" };
	for (int i = 0; i < 4; i++)
		s_copy_fixture(daemons[i]);
	h_start_broker(&H, false);
	const char *bins[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			       "traction-iterationd" };
	const char *services[] = { "supply", "scenario", "feedback", "iteration" };
	for (int i = 0; i < 4; i++)
		h_start(&H, bins[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECK_MSG(h_wait_live(&H, services[i], 1, 5000), "%s did not open its old store",
			  services[i]);
	C = h_client(&H);
	/* the event logs came over whole: the heads of 2026-12-03's run */
	CHECK_EQ_INT(s_head("supply"), 2);
	CHECK_EQ_INT(s_head("scenario"), 2);
	CHECK(s_head("iteration") >= 4);
	RUN(the_first_waves_stores_read_as_they_were);
	RUN(old_keys_keep_their_records_in_their_scope);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
