/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Read your writes across daemons at the closest: a write through one
 * client and, the moment its reply is in, a call naming what it created
 * through another client that shares nothing with it (its own connection,
 * no position carried over). The daemon serving the second call must
 * catch up with the first's daemon rather than refuse the name: tractionctl
 * processes (tests/integration/ryw.sh) leave the events milliseconds to
 * arrive; these leave them none. No sleep, no retry. Each kind of step
 * counts its refusals over the rounds and says so, so a daemon broken on
 * purpose shows every kind it breaks. And a request that waits is
 * answered at the deadline it came with, however many commits wake it
 * meanwhile.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

#define ROUNDS 200

static harness_t H;
static traction_client_t *A, *B; /* the writer, and the next "process" */

/* What went wrong with one kind of step over the rounds. */
typedef struct {
	const char *what;
	int tried, refused;
	char first[300];
} kind_t;

static kind_t s_kinds[] = {
	{ "scenario submit -> feedback publish", 0, 0, "" },
	{ "supply register -> iteration record", 0, 0, "" },
	{ "iteration record -> feedback publish", 0, 0, "" },
	{ "scenario submit -> deployment adopt", 0, 0, "" },
};

static void refused(kind_t *k, const char *why)
{
	if (k->refused++ == 0)
		snprintf(k->first, sizeof(k->first), "%s", why);
}

/* A call that must succeed; with k (a step right after a write), a
 * refusal is counted against it rather than stopping the test (false). */
static bool call_ok(traction_client_t *c, const char *service, const char *method,
		    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		    const char *what, kind_t *k)
{
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, service, method, req, rd, &rep, &st);
	if (k != NULL)
		k->tried++;
	if (code != 0 && k != NULL) {
		char why[300];
		snprintf(why, sizeof(why), "%s: %s %.200s", what, traction_code_name(code), st.message);
		refused(k, why);
	}
	CHECK_MSG(code == 0 || k != NULL, "%s: %s %s", what, traction_code_name(code), st.message);
	traction_reply_free(rep);
	return code == 0;
}

static void submit(const char *id)
{
	CHECK_MSG(h_scenario(A, id, "Northern Steel") == 0, "submit %s", id);
}

static void register_supply(const char *id)
{
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	char *cap = (char *)"defect-detection";
	s.id = (char *)id;
	s.provider_id = (char *)"acme";
	s.name = (char *)id;
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.capabilities = &cap;
	s.n_capabilities = 1;
	s.initial_version = (char *)"1.0";
	req.supply = &s;
	call_ok(A, "supply", "register", &req.base, &traction__v1__supply_reply__descriptor, id,
		NULL);
}

static bool record(traction_client_t *c, const char *supply, const char *version,
		   const char *parent, kind_t *k)
{
	Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	it.supply_id = (char *)supply;
	it.version = (char *)version;
	it.parent_version = (char *)parent;
	req.iteration = &it;
	return call_ok(c, "iteration", "record", &req.base,
		       &traction__v1__iteration_reply__descriptor, "iteration.record", k);
}

/* A publish of one metric record, in the caller's memory. */
typedef struct {
	Traction__V1__PublishRequest req;
	Traction__V1__FeedbackRecord r, *rp;
	Traction__V1__Metric m;
} one_t;

static void one_record(one_t *o, const char *scenario, const char *supply, const char *version,
		       const char *metric)
{
	traction__v1__publish_request__init(&o->req);
	traction__v1__feedback_record__init(&o->r);
	traction__v1__metric__init(&o->m);
	o->r.scenario_id = (char *)scenario;
	o->r.supply_id = (char *)supply;
	o->r.version = (char *)version;
	o->m.name = (char *)metric;
	o->m.value = 0.02;
	o->r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	o->r.metric = &o->m;
	o->rp = &o->r;
	o->req.records = &o->rp;
	o->req.n_records = 1;
}

/* One metric record through B; its own result must be OK. */
static void publish(const char *scenario, const char *supply, const char *version, kind_t *k)
{
	one_t o;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	one_record(&o, scenario, supply, version, "defect_rate");
	int code = traction_call(B, "feedback", "publish", &o.req.base,
				 &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep,
				 &st);
	CHECK_MSG(code == 0, "publish: %s %s", traction_code_name(code), st.message);
	k->tried++;
	const Traction__V1__Status *s = rep->n_results == 1 ? rep->results[0]->status : NULL;
	if (s != NULL && s->code != 0) {
		char why[300];
		snprintf(why, sizeof(why), "publish to %s, %s@%s: %s %.200s", scenario, supply,
			 version, traction_code_name(s->code), s->message != NULL ? s->message : "");
		refused(k, why);
	}
	traction_reply_free(&rep->base);
}

static void adopt(const char *scenario, const char *supply)
{
	Traction__V1__DeploymentAdoptRequest req = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	req.scenario_id = (char *)scenario;
	req.supply_id = (char *)supply;
	req.version = (char *)"1.0";
	call_ok(B, "deployment", "adopt", &req.base, &traction__v1__deployment_reply__descriptor,
		"adopt", &s_kinds[3]);
}

TEST(a_name_just_written_is_known_to_the_next_call)
{
	char sc[32], sup[32];
	for (int i = 0; i < ROUNDS; i++) {
		snprintf(sc, sizeof(sc), "line-%d", i);
		snprintf(sup, sizeof(sup), "lens-%d", i);
		submit(sc);
		publish(sc, "defect-vision", "1.0", &s_kinds[0]);
		register_supply(sup);
		record(B, sup, "1.1", "1.0", &s_kinds[1]);
		/* through A, right after its register too: 1.2 or not */
		if (record(A, sup, "1.2", "1.0", &s_kinds[1]))
			publish(sc, sup, "1.2", &s_kinds[2]);
		snprintf(sc, sizeof(sc), "cell-%d", i);
		submit(sc);
		adopt(sc, sup);
	}
	int bad = 0;
	for (size_t k = 0; k < sizeof(s_kinds) / sizeof(s_kinds[0]); k++) {
		printf("%s %s: %d of %d refused%s%s\n", s_kinds[k].refused ? "not ok" : "ok",
		       s_kinds[k].what, s_kinds[k].refused, s_kinds[k].tried,
		       s_kinds[k].refused ? "; first: " : "", s_kinds[k].first);
		bad += s_kinds[k].refused;
	}
	CHECK_EQ_INT(bad, 0);
}

/* Publishes a record every 20 ms until told to stop: evidence every tick,
 * so iterationd commits (and looks at what waits) four times a second. */
static int s_stop; /* atomic */

static void *s_publisher(void *arg)
{
	traction_client_t *c = arg;
	while (!__atomic_load_n(&s_stop, __ATOMIC_ACQUIRE)) {
		one_t o;
		ProtobufCMessage *rep = NULL;
		one_record(&o, "warm-up", "defect-vision", "1.0", "latency_ms");
		if (traction_call(c, "feedback", "publish", &o.req.base,
				  &traction__v1__publish_reply__descriptor, &rep, NULL) == 0)
			traction_reply_free(rep);
		h_sleep_ms(20); /* the load's pace, not a wait for a result */
	}
	return NULL;
}

static long s_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* A request waiting for a position it will not reach is answered at its
 * own deadline (timeout less the margin: UNAVAILABLE with not_applied),
 * not woken and given its whole budget again at every commit until the
 * broker answers DEADLINE_EXCEEDED for it. */
TEST(a_wait_keeps_the_deadline_it_came_with)
{
	traction_client_t *p = h_client(&H), *c = h_client(&H);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, s_publisher, p) == 0);
	traction_client_set_timeout(c, 2000);
	CHECK(traction_client_after(c, "feedback", 1ull << 40) == 0);
	Traction__V1__SupplyHistoryRequest req = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.supply_id = (char *)"defect-vision";
	long t0 = s_ms();
	int code = traction_call(c, "iteration", "history", &req.base,
				 &traction__v1__supply_history_reply__descriptor, &rep, &st);
	long took = s_ms() - t0;
	__atomic_store_n(&s_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	printf("after feedback@2^40 with a 2000 ms timeout: %s in %ld ms\n",
	       traction_code_name(code), took);
	CHECK_MSG(code == TRACTION__V1__CODE__UNAVAILABLE, "%s %s", traction_code_name(code),
		  st.message);
	/* by the daemon at its deadline (1500: the timeout less the 500 ms
	 * margin), before the client's own (2000) */
	CHECK_MSG(took >= 1400 && took < 2000, "answered after %ld ms, its deadline 1500", took);
	traction_client_destroy(&c);
	traction_client_destroy(&p);
}

int main(void)
{
	h_init(&H, "[log]\nlevel = warning\n");
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < 4; i++)
		h_start(&H, d[i], NULL);
	const char *svcs[] = { "supply", "scenario", "feedback", "iteration" };
	for (int i = 0; i < 4; i++)
		CHECK(h_wait_live(&H, svcs[i], 1, 10000));
	A = h_client(&H);
	B = h_client(&H);
	/* the catalogue, and the set known to be up: h_wait_feedback_ready
	 * is the only waiting, before the rounds */
	h_catalogue(A, (const char *const[]){ "warm-up", NULL });
	h_wait_feedback_ready(A, "warm-up");
	RUN(a_name_just_written_is_known_to_the_next_call);
	RUN(a_wait_keeps_the_deadline_it_came_with);
	traction_client_destroy(&A);
	traction_client_destroy(&B);
	h_done(&H);
	DONE();
}
