/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loop closed, through the broker with the whole daemon set: register,
 * submit, adopt, publish feedback, an advance refused with reasons, a new
 * version addressing the problem, an upgrade, advances allowed by the new
 * evidence, the problem's regression, and the history and diff showing all
 * of it: what changed, what feedback drove it, and whether it helped.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;

static int call(const char *svc, const char *method, const void *req,
		const ProtobufCMessageDescriptor *rd, void *rep, traction_status_t *st)
{
	return traction_call(C, svc, method, req, rd, (ProtobufCMessage **)rep, st);
}

/* Retries while the answer is one of the codes that mean "the event has
 * not arrived yet"; returns the last code. */
static int eventually(int (*fn)(void *ud, traction_status_t *st), void *ud, int pending,
		      traction_status_t *st)
{
	int code = -1;
	for (int i = 0; i < 400; i++) {
		code = fn(ud, st);
		if (code != pending)
			return code;
		h_sleep_ms(25);
	}
	return code;
}

static void setup(void)
{
	traction_status_t st;
	ProtobufCMessage *rep = NULL;
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	p.id = (char *)"acme";
	p.name = (char *)"Acme Vision";
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	pr.provider = &p;
	CHECK_EQ_INT(call("supply", "provider.register", &pr, &traction__v1__provider_reply__descriptor,
			  &rep, &st),
		     0);
	traction_reply_free(rep);
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	char *caps[] = { (char *)"defect-detection", (char *)"visual-inspection" };
	s.id = (char *)"defect-vision";
	s.provider_id = (char *)"acme";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)"Defect Vision";
	s.capabilities = caps;
	s.n_capabilities = 2;
	s.initial_version = (char *)"1.0";
	sr.supply = &s;
	CHECK_EQ_INT(call("supply", "register", &sr, &traction__v1__supply_reply__descriptor, &rep, &st),
		     0);
	traction_reply_free(rep);
	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	char *need[] = { (char *)"defect-detection", (char *)"edge-deployment" };
	t.metric = (char *)"defect_rate";
	t.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	t.threshold = 0.02;
	d.capabilities = need;
	d.n_capabilities = 2;
	d.targets = &tp;
	d.n_targets = 1;
	sc.id = (char *)"weld-line-3";
	sc.enterprise = (char *)"Northern Steel";
	sc.domain = TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION;
	sc.name = (char *)"Weld seam inspection";
	sc.demands = &dp;
	sc.n_demands = 1;
	req.scenario = &sc;
	CHECK_EQ_INT(call("scenario", "submit", &req, &traction__v1__scenario_reply__descriptor, &rep,
			  &st),
		     0);
	traction_reply_free(rep);
}

static char s_dep[64];

static int try_adopt(void *ud, traction_status_t *st)
{
	Traction__V1__DeploymentAdoptRequest req = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	Traction__V1__DeploymentReply *rep = NULL;
	req.scenario_id = (char *)"weld-line-3";
	req.supply_id = (char *)"defect-vision";
	req.version = (char *)"1.0";
	int code = call("deployment", "adopt", &req, &traction__v1__deployment_reply__descriptor, &rep,
			st);
	if (code == 0) {
		snprintf(s_dep, sizeof(s_dep), "%s", rep->deployment->id);
		traction_reply_free(&rep->base);
	}
	return code;
}

/* Publishes n records built by fill(i, record) in one request; all must be
 * accepted (retrying while the references are not known yet). */
typedef void (*fill_fn)(int i, Traction__V1__FeedbackRecord *r, void *body);

static void publish(const char *version, int n, fill_fn fill, size_t body_size)
{
	Traction__V1__FeedbackRecord *recs = calloc((size_t)n, sizeof(*recs));
	Traction__V1__FeedbackRecord **rp = calloc((size_t)n, sizeof(*rp));
	char *bodies = calloc((size_t)n, body_size);
	for (int i = 0; i < n; i++) {
		traction__v1__feedback_record__init(&recs[i]);
		recs[i].scenario_id = (char *)"weld-line-3";
		recs[i].supply_id = (char *)"defect-vision";
		recs[i].version = (char *)version;
		fill(i, &recs[i], bodies + (size_t)i * body_size);
		rp[i] = &recs[i];
	}
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	req.records = rp;
	req.n_records = (size_t)n;
	for (int tries = 0;; tries++) {
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		CHECK_EQ_INT(call("feedback", "publish", &req, &traction__v1__publish_reply__descriptor,
				  &rep, &st),
			     0);
		int bad = 0;
		for (size_t i = 0; i < rep->n_results; i++)
			if (rep->results[i]->status->code != 0)
				bad = rep->results[i]->status->code;
		traction_reply_free(&rep->base);
		if (bad == 0)
			break;
		CHECK_EQ_INT(bad, TRACTION__V1__CODE__NOT_FOUND); /* a version not known yet */
		CHECK(tries < 400);
		h_sleep_ms(25);
	}
	free(recs);
	free(rp);
	free(bodies);
}

static double s_rate = 0.031;

static void fill_metric(int i, Traction__V1__FeedbackRecord *r, void *body)
{
	Traction__V1__Metric *m = body;
	traction__v1__metric__init(m);
	m->name = (char *)"defect_rate";
	m->value = s_rate + ((i % 5) - 2) * 0.001; /* mean exactly s_rate over 5s */
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
}

static void fill_problem(int i, Traction__V1__FeedbackRecord *r, void *body)
{
	Traction__V1__Problem *p = body;
	traction__v1__problem__init(p);
	p->severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	p->title = (char *)"misses hairline cracks";
	p->signature = (char *)"hairline-miss";
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	r->problem = p;
}

static void fill_value(int i, Traction__V1__FeedbackRecord *r, void *body)
{
	Traction__V1__ValueVerification *v = body;
	traction__v1__value_verification__init(v);
	v->kpi = (char *)"scrap_rate";
	v->baseline = 0.05;
	v->achieved = 0.04; /* 20% better */
	v->unit = (char *)"ratio";
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
	r->value = v;
}

typedef struct {
	int to;
	char message[512];
	Traction__V1__DeploymentReply *rep;
} adv_t;

static int try_advance(void *ud, traction_status_t *st)
{
	adv_t *a = ud;
	Traction__V1__DeploymentAdvanceRequest req = TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	req.deployment_id = s_dep;
	req.to = a->to;
	if (a->rep != NULL)
		traction_reply_free(&a->rep->base);
	a->rep = NULL;
	int code = call("deployment", "advance", &req, &traction__v1__deployment_reply__descriptor,
			&a->rep, st);
	snprintf(a->message, sizeof(a->message), "%s", st->message);
	return code;
}

/* Advances once the evidence allows it (evidence events take a moment). */
static void advance_ok(int to)
{
	adv_t a = { .to = to };
	traction_status_t st;
	int code = eventually(try_advance, &a, TRACTION__V1__CODE__FAILED_PRECONDITION, &st);
	CHECK_MSG(code == 0, "advance to %d: %s", to, a.message);
	traction_reply_free(&a.rep->base);
}

static Traction__V1__ProblemInfo *s_problem;

static int problem_state(void *ud, traction_status_t *st)
{
	Traction__V1__ProblemsRequest q = TRACTION__V1__PROBLEMS_REQUEST__INIT;
	Traction__V1__ProblemsReply *rep = NULL;
	q.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(call("feedback", "problems", &q, &traction__v1__problems_reply__descriptor, &rep,
			  st),
		     0);
	int state = rep->n_problems > 0 ? (int)rep->problems[0]->state : 0;
	if (s_problem != NULL)
		traction__v1__problem_info__free_unpacked(s_problem, NULL);
	s_problem = NULL;
	if (rep->n_problems > 0) {
		/* keep a copy: the reply goes */
		size_t len = traction__v1__problem_info__get_packed_size(rep->problems[0]);
		uint8_t *buf = malloc(len);
		traction__v1__problem_info__pack(rep->problems[0], buf);
		s_problem = traction__v1__problem_info__unpack(NULL, len, buf);
		free(buf);
	}
	traction_reply_free(&rep->base);
	return state == *(int *)ud ? 0 : 1;
}

TEST(the_whole_story)
{
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < 4; i++)
		h_start(&H, d[i], NULL);
	const char *svcs[] = { "supply", "scenario", "feedback", "iteration", "deployment" };
	for (int i = 0; i < 5; i++)
		CHECK(h_wait_live(&H, svcs[i], 1, 5000));
	C = h_client(&H);
	setup();
	traction_status_t st;

	/* adopt, once iterationd has heard of the scenario */
	CHECK_EQ_INT(eventually(try_adopt, NULL, TRACTION__V1__CODE__NOT_FOUND, &st), 0);
	CHECK_STR(s_dep, "dep-1");

	/* the field reports: defect rate too high, and a critical problem */
	s_rate = 0.031;
	publish("1.0", 25, fill_metric, sizeof(Traction__V1__Metric));
	publish("1.0", 1, fill_problem, sizeof(Traction__V1__Problem));
	advance_ok(TRACTION__V1__STAGE__STAGE_REFINEMENT);

	/* to pilot: refused while the critical problem is open */
	adv_t a = { .to = TRACTION__V1__STAGE__STAGE_PILOT };
	int code = eventually(try_advance, &a, 0, &st); /* (an OK would be wrong) */
	CHECK_EQ_INT(code, TRACTION__V1__CODE__FAILED_PRECONDITION);
	CHECK_CONTAINS(a.message, "to pilot refused: to pilot: open_critical_problems is 1, needs <= 0");

	/* deployment.gates: the same judgement, asked without moving */
	Traction__V1__DeploymentGatesRequest gq = TRACTION__V1__DEPLOYMENT_GATES_REQUEST__INIT;
	Traction__V1__DeploymentReply *grep_ = NULL;
	gq.deployment_id = s_dep; /* to 0: the next stage, pilot */
	CHECK_EQ_INT(call("deployment", "gates", &gq, &traction__v1__deployment_reply__descriptor,
			  &grep_, &st),
		     0);
	CHECK_EQ_INT(grep_->deployment->stage, TRACTION__V1__STAGE__STAGE_REFINEMENT);
	size_t to_pilot = grep_->n_criteria, unmet = 0;
	bool critical_named = false;
	for (size_t i = 0; i < grep_->n_criteria; i++) {
		const Traction__V1__GateCriterion *c = grep_->criteria[i];
		unmet += !c->met;
		if (strcmp(c->name, "open_critical_problems") == 0) {
			critical_named = true;
			CHECK(!c->met);
			CHECK_STR(c->current, "1");
		}
	}
	CHECK(critical_named);
	CHECK_EQ_INT(unmet, 1); /* the metric records are there: only the problem is in the way */
	traction_reply_free(&grep_->base);
	gq.to = TRACTION__V1__STAGE__STAGE_SERVICE; /* two gates on the way: more criteria */
	CHECK_EQ_INT(call("deployment", "gates", &gq, &traction__v1__deployment_reply__descriptor,
			  &grep_, &st),
		     0);
	CHECK(grep_->n_criteria > to_pilot);
	traction_reply_free(&grep_->base);

	/* the provider ships 1.1, addressing the problem */
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest ir = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	Traction__V1__IterationReply *irep = NULL;
	char *addr[] = { (char *)"hairline-miss" };
	it.supply_id = (char *)"defect-vision";
	it.version = (char *)"1.1";
	it.parent_version = (char *)"1.0";
	it.notes = (char *)"hairline crack model";
	it.addresses = addr;
	it.n_addresses = 1;
	ir.iteration = &it;
	CHECK_EQ_INT(call("iteration", "record", &ir, &traction__v1__iteration_reply__descriptor, &irep,
			  &st),
		     0);
	traction_reply_free(&irep->base);
	int want = TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED;
	CHECK_EQ_INT(eventually(problem_state, &want, 1, &st), 0);
	CHECK_STR(s_problem->addressed_by, "1.1");

	/* upgrade and more feedback: better defect rate, value verified */
	Traction__V1__DeploymentUpgradeRequest up = TRACTION__V1__DEPLOYMENT_UPGRADE_REQUEST__INIT;
	Traction__V1__DeploymentReply *urep = NULL;
	up.deployment_id = s_dep;
	up.version = (char *)"1.1";
	CHECK_EQ_INT(call("deployment", "upgrade", &up, &traction__v1__deployment_reply__descriptor,
			  &urep, &st),
		     0);
	traction_reply_free(&urep->base);
	s_rate = 0.015;
	publish("1.1", 25, fill_metric, sizeof(Traction__V1__Metric));
	publish("1.1", 3, fill_value, sizeof(Traction__V1__ValueVerification));
	advance_ok(TRACTION__V1__STAGE__STAGE_PILOT);
	advance_ok(TRACTION__V1__STAGE__STAGE_SERVICE);

	/* the problem comes back on 1.1: a regression */
	publish("1.1", 1, fill_problem, sizeof(Traction__V1__Problem));
	want = TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED;
	CHECK_EQ_INT(eventually(problem_state, &want, 1, &st), 0);
	CHECK_STR(s_problem->regressed_in, "1.1");

	/* the history: 1.0 then 1.1, what 1.1 changed and whether it held */
	Traction__V1__SupplyHistoryRequest hq = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	Traction__V1__SupplyHistoryReply *h = NULL;
	hq.supply_id = (char *)"defect-vision";
	bool ok = false;
	for (int i = 0; i < 400 && !ok; i++) {
		if (h != NULL)
			traction_reply_free(&h->base);
		CHECK_EQ_INT(call("iteration", "history", &hq,
				  &traction__v1__supply_history_reply__descriptor, &h, &st),
			     0);
		/* wait for the regression to reach iterationd too */
		ok = h->n_versions == 2 && h->versions[1]->n_addressed == 1 &&
		     !h->versions[1]->addressed[0]->stayed_fixed;
		if (!ok)
			h_sleep_ms(25);
	}
	CHECK_MSG(ok, "history never showed the regression");
	CHECK_STR(h->versions[0]->iteration->version, "1.0");
	Traction__V1__VersionHistory *v = h->versions[1];
	CHECK_STR(v->iteration->version, "1.1");
	CHECK_STR(v->iteration->notes, "hairline crack model");
	CHECK_STR(v->addressed[0]->signature, "hairline-miss");
	CHECK_STR(v->addressed[0]->regressed_in, "1.1");
	CHECK_EQ_INT(v->n_deltas, 1);
	CHECK_STR(v->deltas[0]->metric, "defect_rate");
	CHECK(fabs(v->deltas[0]->from_mean - 0.031) < 1e-9);
	CHECK(fabs(v->deltas[0]->to_mean - 0.015) < 1e-9);
	CHECK_EQ_INT(v->deltas[0]->from_count, 25);
	CHECK_EQ_INT(v->deltas[0]->to_count, 25);
	CHECK(v->values->count == 3 && fabs(v->values->mean_improvement_pct - 20.0) < 1e-9);
	CHECK_EQ_INT(v->n_deployment_ids, 1);
	traction_reply_free(&h->base);

	/* the diff says the same in short */
	Traction__V1__IterationDiffRequest dq = TRACTION__V1__ITERATION_DIFF_REQUEST__INIT;
	Traction__V1__IterationDiffReply *dr = NULL;
	dq.supply_id = (char *)"defect-vision";
	dq.from_version = (char *)"1.0";
	dq.to_version = (char *)"1.1";
	CHECK_EQ_INT(call("iteration", "diff", &dq, &traction__v1__iteration_diff_reply__descriptor, &dr,
			  &st),
		     0);
	CHECK_EQ_INT(dr->n_regressions, 1);
	CHECK_STR(dr->regressions[0], "hairline-miss");
	CHECK(fabs(dr->deltas[0]->pct_delta - (-0.016 / 0.031 * 100.0)) < 1e-6);
	traction_reply_free(&dr->base);

	/* and the deployment's timeline, each step with its evidence */
	Traction__V1__DeploymentHistoryRequest dh = TRACTION__V1__DEPLOYMENT_HISTORY_REQUEST__INIT;
	Traction__V1__DeploymentHistoryReply *tl = NULL;
	dh.deployment_id = s_dep;
	CHECK_EQ_INT(call("deployment", "history", &dh,
			  &traction__v1__deployment_history_reply__descriptor, &tl, &st),
		     0);
	CHECK_EQ_INT(tl->n_transitions, 5); /* adopt, refinement, upgrade, pilot, service */
	CHECK_EQ_INT(tl->transitions[4]->to_stage, TRACTION__V1__STAGE__STAGE_SERVICE);
	CHECK(tl->transitions[4]->n_evidence >= 4);
	CHECK_EQ_INT(tl->n_versions, 2);
	CHECK_EQ_INT(tl->deployment->stage, TRACTION__V1__STAGE__STAGE_SERVICE);
	traction_reply_free(&tl->base);
	if (a.rep != NULL)
		traction_reply_free(&a.rep->base);
	traction__v1__problem_info__free_unpacked(s_problem, NULL);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n"
		   "[events]\nreplay_interval_ms = 200\n");
	RUN(the_whole_story);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
