/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-iterationd on a real store: each gate criterion passing and
 * failing, lineage (a tree with a branch; unknown parents and supplies;
 * duplicates), deployments (adopt, the one-stage rule, a refusal that
 * lists every unmet criterion with its value, in its message and as one
 * error detail each, a forced move recorded as forced, a move back,
 * upgrade only to a descendant, retire), the history and diff computed
 * from the evidence and problem events, what scoped readers see of them
 * (and of the event feed), and the upgrade of a schema 1 store.
 */
#include <math.h>

#include "check.h"
#include "error.h"
#include "henv.h"
#include "iterationd.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static henv_t E;
static it_state_t S;
static uint64_t s_seq[3];

static void apply(Traction__V1__Event *ev, int src)
{
	static const char *sources[] = { "supply", "scenario", "feedback" };
	ev->source = (char *)sources[src];
	ev->seq = ++s_seq[src];
	trc_txn_t txn;
	trc_txn_begin(E.store, &txn, true);
	trc_call_t call = { .txn = &txn, .arena = E.arena, .evlog = E.evlog, .role = 4,
			    .now_ms = E.now_ms, .user = &S };
	CHECK_EQ_INT(iterationd_apply(&call, ev), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_rollback(E.evlog, 0);
}

static void supply_of(const char *id, const char *provider)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)id;
	s.provider_id = (char *)provider;
	s.initial_version = (char *)"1.0";
	s.status = 1;
	s.created_ms = 1000;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	ev.type = (char *)"supply.registered";
	apply(&ev, 0);
}

static void supply(const char *id)
{
	supply_of(id, "acme");
}

static void scenario_of(const char *id, int status, const char *enterprise)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	t.metric = (char *)"defect_rate";
	t.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	t.threshold = 0.02;
	d.targets = &tp;
	d.n_targets = 1;
	s.id = (char *)id;
	s.enterprise = (char *)enterprise;
	s.status = status;
	s.demands = &dp;
	s.n_demands = 1;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &s;
	ev.type = (char *)"scenario.submitted";
	apply(&ev, 1);
}

static void scenario(const char *id, int status)
{
	scenario_of(id, status, "Northern Steel");
}

/* Evidence for (s, v, sc): records, metric records with a mean, values,
 * open critical problems. */
static void evidence(const char *version, const char *sc, uint64_t records, uint64_t metrics,
		     double mean, uint64_t values, double improvement, uint64_t critical)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__EvidenceUpdate u = TRACTION__V1__EVIDENCE_UPDATE__INIT;
	Traction__V1__MetricSummary m = TRACTION__V1__METRIC_SUMMARY__INIT, *mp = &m;
	Traction__V1__ValueSummary v = TRACTION__V1__VALUE_SUMMARY__INIT;
	Traction__V1__SeverityCounts c = TRACTION__V1__SEVERITY_COUNTS__INIT, *cp = &c;
	u.supply_id = (char *)"defect-vision";
	u.version = (char *)version;
	u.scenario_id = (char *)sc;
	u.records = records;
	m.name = (char *)"defect_rate";
	m.count = metrics;
	m.mean = mean;
	u.metrics = &mp;
	u.n_metrics = metrics > 0;
	v.count = values;
	v.mean_improvement_pct = improvement;
	u.values = &v;
	c.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	c.open = critical;
	u.problems = &cp;
	u.n_problems = 1;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
	ev.evidence = &u;
	ev.type = (char *)"feedback.evidence";
	apply(&ev, 2);
}

static void problem(const char *sig, int state, const char *reported_in, const char *addressed_by,
		    const char *regressed_in)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__ProblemUpdate pu = TRACTION__V1__PROBLEM_UPDATE__INIT;
	Traction__V1__ProblemInfo p = TRACTION__V1__PROBLEM_INFO__INIT;
	char *versions[2] = { (char *)reported_in, (char *)regressed_in };
	p.supply_id = (char *)"defect-vision";
	p.signature = (char *)sig;
	p.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	p.state = state;
	p.versions = versions;
	p.n_versions = regressed_in != NULL ? 2 : 1;
	p.addressed_by = (char *)addressed_by;
	p.regressed_in = (char *)regressed_in;
	pu.problem = &p;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_PROBLEM;
	ev.problem = &pu;
	ev.type = (char *)"feedback.problem";
	apply(&ev, 2);
}

static int record(const char *version, const char *parent, const char *addresses, int64_t released)
{
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	Traction__V1__IterationReply rep;
	char *a = (char *)addresses;
	it.supply_id = (char *)"defect-vision";
	it.version = (char *)version;
	it.parent_version = (char *)parent;
	it.released_ms = released;
	it.notes = (char *)"notes";
	if (addresses != NULL) {
		it.addresses = &a;
		it.n_addresses = 1;
	}
	req.iteration = &it;
	return henv_call(&E, iterationd_record, true, &req, &rep,
			 &traction__v1__iteration_reply__descriptor);
}

#define CHECK_WHY(w, subj, why, cur, req) \
	do { \
		CHECK_STR((w).subject, subj); \
		CHECK_STR((w).reason, why); \
		CHECK_STR((w).current, cur); \
		CHECK_STR((w).required, req); \
	} while (0)

/* The error details of the last call, one by one. */
#define CHECK_DETAIL(i, subj, why, cur, req) \
	do { \
		CHECK_MSG((size_t)(i) < E.call.n_details, "no detail %d", (int)(i)); \
		CHECK_WHY(*E.call.details[i], subj, why, cur, req); \
	} while (0)

/* The gates' defaults, as iterationd declares them. */
static it_gates_t s_gate_defaults(void)
{
	static trc_config_t cfg;
	char err[256];
	CHECK_MSG(trc_config_init(&cfg, iterationd_config, NULL, err, sizeof(err)) == 0, "%s", err);
	return *it_gates(&cfg);
}

TEST(gates_each_criterion)
{
	it_gates_t cfg = s_gate_defaults();
	trc_arena_t *a = trc_arena_new();
	it_gate_t g;
	Traction__V1__EvidenceUpdate e = TRACTION__V1__EVIDENCE_UPDATE__INIT;
	Traction__V1__MetricSummary m = TRACTION__V1__METRIC_SUMMARY__INIT, *mp = &m;
	Traction__V1__ValueSummary v = TRACTION__V1__VALUE_SUMMARY__INIT;
	Traction__V1__SeverityCounts c = TRACTION__V1__SEVERITY_COUNTS__INIT, *cp = &c;
	c.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	m.name = (char *)"defect_rate";
	e.metrics = &mp;
	e.n_metrics = 1;
	e.values = &v;
	e.problems = &cp;
	e.n_problems = 1;

	/* refinement: records */
	e.records = 9;
	CHECK_EQ_INT(it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_REFINEMENT, &e, NULL, 0, 0, &g), 0);
	CHECK(!g.met);
	CHECK_STR(it_gate_unmet(a, &g), "feedback_records is 9, needs >= 10");
	/* and as its error detail says it: a stable token, why, the values bare */
	CHECK_WHY(g.why[0], "feedback_records", "below_required", "9", "10");
	e.records = 10;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_REFINEMENT, &e, NULL, 0, 0, &g);
	CHECK(g.met);

	/* pilot: metric records and open critical problems, each alone */
	m.count = 19;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_PILOT, &e, NULL, 0, 0, &g);
	CHECK(!g.met);
	CHECK_STR(it_gate_unmet(a, &g), "metric_records is 19, needs >= 20");
	m.count = 20;
	c.open = 1;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_PILOT, &e, NULL, 0, 0, &g);
	CHECK(!g.met);
	CHECK_STR(it_gate_unmet(a, &g), "open_critical_problems is 1, needs <= 0");
	c.open = 0;
	c.regressed = 1; /* a regression is open again */
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_PILOT, &e, NULL, 0, 0, &g);
	CHECK(!g.met);
	c.regressed = 0;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_PILOT, &e, NULL, 0, 0, &g);
	CHECK(g.met);
	CHECK_EQ_INT(g.n, 2);
	/* a problem event ahead of the evidence counts at once */
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_PILOT, &e, NULL, 0, 2, &g);
	CHECK(!g.met);
	CHECK_STR(it_gate_unmet(a, &g), "open_critical_problems is 2, needs <= 0");

	/* service: values, improvement, critical, targets; all listed at once */
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	t.metric = (char *)"defect_rate";
	t.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	t.threshold = 0.02;
	d.targets = &tp;
	d.n_targets = 1;
	s.demands = &dp;
	s.n_demands = 1;
	m.mean = 0.031;
	v.count = 2;
	v.mean_improvement_pct = 4.0;
	c.open = 1;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SERVICE, &e, &s, 0, 0, &g);
	CHECK(!g.met);
	CHECK_EQ_INT(g.n, 4);
	CHECK_STR(it_gate_unmet(a, &g),
		  "value_verifications is 2, needs >= 3; mean_improvement_pct is 4.00%, needs >= 5%; "
		  "open_critical_problems is 1, needs <= 0; target defect_rate is 0.031 (20 records), "
		  "needs mean <= 0.02");
	CHECK_WHY(g.why[0], "value_verifications", "below_required", "2", "3");
	CHECK_WHY(g.why[1], "mean_improvement_pct", "below_required", "4.00", "5");
	CHECK_WHY(g.why[2], "open_critical_problems", "above_allowed", "1", "0");
	/* a target's direction is the scenario's: it stays in required */
	CHECK_WHY(g.why[3], "target.defect_rate", "target_not_met", "0.031", "<= 0.02");
	v.count = 3;
	v.mean_improvement_pct = 12.5;
	c.open = 0;
	m.mean = 0.018;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SERVICE, &e, &s, 0, 0, &g);
	CHECK(g.met);
	/* a target with no data is not met */
	t.metric = (char *)"latency_ms";
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SERVICE, &e, &s, 0, 0, &g);
	CHECK(!g.met);
	CHECK_STR(it_gate_unmet(a, &g), "target latency_ms is no data, needs mean <= 0.02");
	CHECK_EQ_INT(g.n, 4);
	CHECK_WHY(g.why[3], "target.latency_ms", "no_data", "", "<= 0.02");

	/* solution: scenarios in service */
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SOLUTION, &e, NULL, 2, 0, &g);
	CHECK(!g.met);
	CHECK_WHY(g.why[0], "scenarios_in_service", "below_required", "2", "3");
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SOLUTION, &e, NULL, 3, 0, &g);
	CHECK(g.met);
	/* thresholds come from the configuration */
	cfg.solution_min_scenarios = 1;
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SOLUTION, &e, NULL, 1, 0, &g);
	CHECK(g.met);
	trc_arena_destroy(&a);
}

TEST(lineage)
{
	supply("defect-vision");
	scenario("weld-line-3", 1);
	scenario("closed-line", 2);
	CHECK_EQ_INT(record("1.1", "1.0", "hairline-miss", 2000), 0);
	CHECK_STR(E.event_type[E.nevents - 1], "iteration.recorded");
	CHECK_EQ_INT(record("1.2", "1.1", NULL, 3000), 0);
	CHECK_EQ_INT(record("2.0-exp", "1.0", NULL, 2500), 0); /* a branch */
	CHECK_EQ_INT(record("1.1", "1.0", NULL, 0), TRC_EEXIST);
	CHECK_STR(E.call.message, "iteration.version: supply 'defect-vision' has a version '1.1'");
	CHECK_EQ_INT(record("1.9", "0.9", NULL, 0), TRC_ENOENT);
	CHECK_STR(E.call.message, "iteration.parent_version: supply 'defect-vision' has no version '0.9'");
	CHECK_EQ_INT(record("1.9", "", NULL, 0), TRC_EINVAL);
	CHECK_CONTAINS(E.call.message, "iteration.parent_version: required");

	Traction__V1__IterationListRequest q = TRACTION__V1__ITERATION_LIST_REQUEST__INIT;
	Traction__V1__IterationListReply rep;
	q.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, iterationd_list, false, &q, &rep,
			       &traction__v1__iteration_list_reply__descriptor),
		     0);
	/* depth first, children by release: 1.0, 1.1, 1.2, 2.0-exp */
	CHECK_EQ_INT(rep.n_iterations, 4);
	CHECK_STR(rep.iterations[0]->version, "1.0");
	CHECK_STR(rep.iterations[1]->version, "1.1");
	CHECK_STR(rep.iterations[2]->version, "1.2");
	CHECK_STR(rep.iterations[3]->version, "2.0-exp");
	henv_reset(&E);
}

static int advance(const char *id, int to, bool force, const char *reason,
		   Traction__V1__DeploymentReply *rep)
{
	Traction__V1__DeploymentAdvanceRequest req = TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	req.deployment_id = (char *)id;
	req.to = to;
	req.force = force;
	req.reason = (char *)reason;
	return henv_call(&E, iterationd_advance, true, &req, rep,
			 &traction__v1__deployment_reply__descriptor);
}

TEST(deployments_and_stages)
{
	Traction__V1__DeploymentAdoptRequest ad = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	Traction__V1__DeploymentReply rep;
	ad.scenario_id = (char *)"closed-line";
	ad.supply_id = (char *)"defect-vision";
	ad.version = (char *)"1.0";
	CHECK_EQ_INT(henv_call(&E, iterationd_adopt, true, &ad, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     TRC_EPRECOND);
	ad.scenario_id = (char *)"weld-line-3";
	ad.version = (char *)"7.0";
	CHECK_EQ_INT(henv_call(&E, iterationd_adopt, true, &ad, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     TRC_ENOENT);
	ad.version = (char *)"1.0";
	CHECK_EQ_INT(henv_call(&E, iterationd_adopt, true, &ad, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     0);
	CHECK_STR(rep.deployment->id, "dep-1");
	CHECK_EQ_INT(rep.deployment->stage, TRACTION__V1__STAGE__STAGE_VALIDATION);
	CHECK_STR(E.event_type[E.nevents - 1], "deployment.adopted");
	CHECK_EQ_INT(henv_call(&E, iterationd_adopt, true, &ad, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     TRC_EEXIST);
	CHECK_CONTAINS(E.call.message, "already runs supply 'defect-vision' as deployment 'dep-1'");
	henv_reset(&E);

	/* no evidence: refused with the value it has */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_REFINEMENT, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message,
		  "to refinement refused: to refinement: feedback_records is 0, needs >= 10");
	CHECK_EQ_INT(E.call.n_details, 1);
	CHECK_DETAIL(0, "feedback_records", "below_required", "0", "10");
	/* two stages up: every gate on the way, each unmet criterion with its value */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message,
		  "to pilot refused: to refinement: feedback_records is 0, needs >= 10; "
		  "to pilot: metric_records is 0, needs >= 20");
	/* open_critical_problems is met (0 <= 0): no detail for it */
	CHECK_EQ_INT(E.call.n_details, 2);
	CHECK_DETAIL(0, "feedback_records", "below_required", "0", "10");
	CHECK_DETAIL(1, "metric_records", "below_required", "0", "20");

	evidence("1.0", "weld-line-3", 30, 25, 0.031, 0, 0, 1);
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_REFINEMENT, false, NULL, &rep), 0);
	CHECK_EQ_INT(rep.transition->n_evidence, 1);
	CHECK_STR(rep.transition->evidence[0]->current, "30");
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message, "to pilot refused: to pilot: open_critical_problems is 1, needs <= 0");
	CHECK_EQ_INT(E.call.n_details, 1); /* metric_records 25 >= 20: met */
	CHECK_DETAIL(0, "open_critical_problems", "above_allowed", "1", "0");

	/* forced: admin only, with a reason, recorded as forced */
	E.role = TRACTION__V1__ROLE__ROLE_READER;
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, "trial", &rep), TRC_EPERM);
	E.role = TRACTION__V1__ROLE__ROLE_ADMIN;
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, NULL, &rep), TRC_EINVAL);
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, "plant manager's call",
			     &rep),
		     0);
	CHECK(rep.transition->forced);
	CHECK_EQ_INT(E.call.n_details, 0); /* it skipped them, and went */
	CHECK_STR(rep.transition->reason, "plant manager's call");
	/* back a stage: allowed, recorded */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_REFINEMENT, false, "data issue", &rep),
		     0);
	CHECK_EQ_INT(rep.transition->kind, TRACTION__V1__TRANSITION_KIND__TRANSITION_BACK);
	/* up two gates again: pilot's and service's unmet criteria, the
	 * critical problems both gates count said once, none of the met */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_SERVICE, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_CONTAINS(E.call.message, "to service refused: to pilot: open_critical_problems is 1");
	CHECK_EQ_INT(E.call.n_details, 4);
	CHECK_DETAIL(0, "open_critical_problems", "above_allowed", "1", "0");
	CHECK_DETAIL(1, "value_verifications", "below_required", "0", "3");
	/* no value verifications: their mean is no figure (not 0.00) */
	CHECK_DETAIL(2, "mean_improvement_pct", "no_data", "", "5");
	CHECK_DETAIL(3, "target.defect_rate", "target_not_met", "0.031", "<= 0.02");
	henv_reset(&E);

	/* upgrade: only to a descendant */
	Traction__V1__DeploymentUpgradeRequest up = TRACTION__V1__DEPLOYMENT_UPGRADE_REQUEST__INIT;
	up.deployment_id = (char *)"dep-1";
	up.version = (char *)"1.2";
	CHECK_EQ_INT(henv_call(&E, iterationd_upgrade, true, &up, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     0);
	CHECK_STR(rep.deployment->version, "1.2");
	up.version = (char *)"2.0-exp"; /* a branch off 1.0, not a descendant of 1.2 */
	CHECK_EQ_INT(henv_call(&E, iterationd_upgrade, true, &up, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     TRC_EPRECOND);
	CHECK_CONTAINS(E.call.message, "'2.0-exp' is not a newer version of '1.2'");

	Traction__V1__DeploymentHistoryRequest hq = TRACTION__V1__DEPLOYMENT_HISTORY_REQUEST__INIT;
	Traction__V1__DeploymentHistoryReply hr;
	hq.deployment_id = (char *)"dep-1";
	CHECK_EQ_INT(henv_call(&E, iterationd_dep_history, false, &hq, &hr,
			       &traction__v1__deployment_history_reply__descriptor),
		     0);
	CHECK_EQ_INT(hr.n_transitions, 5); /* adopt, advance, forced, back, upgrade */
	CHECK_EQ_INT(hr.transitions[0]->kind, TRACTION__V1__TRANSITION_KIND__TRANSITION_ADOPT);
	CHECK(hr.transitions[2]->forced);
	CHECK_EQ_INT(hr.transitions[4]->kind, TRACTION__V1__TRANSITION_KIND__TRANSITION_UPGRADE);
	CHECK_EQ_INT(hr.n_versions, 2);
	CHECK_STR(hr.versions[0]->version, "1.0");
	CHECK_STR(hr.versions[1]->version, "1.2");
	henv_reset(&E);
}

TEST(history_and_diff)
{
	/* 1.0 had the problem; 1.1 addressed it; it came back in 1.2 */
	evidence("1.0", "", 100, 80, 0.040, 4, 5.0, 1);
	evidence("1.1", "", 60, 50, 0.030, 3, 20.0, 0);
	evidence("1.2", "", 10, 10, 0.035, 0, 0, 1);
	problem("hairline-miss", TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED, "1.0", "1.1", "1.2");
	problem("glare", TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN, "1.1", NULL, NULL);

	Traction__V1__SupplyHistoryRequest q = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	Traction__V1__SupplyHistoryReply rep;
	q.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, iterationd_history, false, &q, &rep,
			       &traction__v1__supply_history_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_versions, 4);
	Traction__V1__VersionHistory *v11 = rep.versions[1];
	CHECK_STR(v11->iteration->version, "1.1");
	CHECK_EQ_INT(v11->depth, 1);
	CHECK_EQ_INT(v11->n_addressed, 1);
	CHECK_STR(v11->addressed[0]->signature, "hairline-miss");
	CHECK(!v11->addressed[0]->stayed_fixed);
	CHECK_STR(v11->addressed[0]->regressed_in, "1.2");
	CHECK_EQ_INT(v11->n_deltas, 1);
	CHECK_STR(v11->deltas[0]->metric, "defect_rate");
	CHECK(fabs(v11->deltas[0]->abs_delta - (-0.010)) < 1e-12);
	CHECK(fabs(v11->deltas[0]->pct_delta - (-25.0)) < 1e-9);
	CHECK_EQ_INT(v11->deltas[0]->from_count, 80);
	CHECK_EQ_INT(v11->deltas[0]->to_count, 50);
	CHECK_EQ_INT(rep.versions[0]->n_deltas, 0); /* the root has no parent */
	CHECK_EQ_INT(rep.versions[0]->n_deployment_ids, 0); /* dep-1 moved to 1.2 */
	CHECK_EQ_INT(rep.versions[2]->n_deployment_ids, 1);
	CHECK_STR(rep.versions[2]->deployment_ids[0], "dep-1");
	henv_reset(&E);

	/* paging through lineage */
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.limit = 3;
	q.page = &page;
	CHECK_EQ_INT(henv_call(&E, iterationd_history, false, &q, &rep,
			       &traction__v1__supply_history_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_versions, 3);
	CHECK_STR(rep.next_cursor, "3");
	henv_reset(&E);

	Traction__V1__IterationDiffRequest dq = TRACTION__V1__ITERATION_DIFF_REQUEST__INIT;
	Traction__V1__IterationDiffReply dr;
	dq.supply_id = (char *)"defect-vision";
	dq.from_version = (char *)"1.0";
	dq.to_version = (char *)"1.1";
	CHECK_EQ_INT(henv_call(&E, iterationd_diff, false, &dq, &dr,
			       &traction__v1__iteration_diff_reply__descriptor),
		     0);
	CHECK_EQ_INT(dr.n_deltas, 1);
	CHECK_EQ_INT(dr.n_problems_new, 1);
	CHECK_STR(dr.problems_new[0], "glare");
	CHECK_EQ_INT(dr.n_problems_fixed, 1); /* as far as 1.1 is concerned */
	CHECK_STR(dr.problems_fixed[0], "hairline-miss");
	CHECK_EQ_INT(dr.to_values->count, 3);
	henv_reset(&E);
	dq.to_version = (char *)"1.2";
	CHECK_EQ_INT(henv_call(&E, iterationd_diff, false, &dq, &dr,
			       &traction__v1__iteration_diff_reply__descriptor),
		     0);
	CHECK_EQ_INT(dr.n_regressions, 1);
	CHECK_STR(dr.regressions[0], "hairline-miss");
	henv_reset(&E);
	dq.to_version = (char *)"9.9";
	CHECK_EQ_INT(henv_call(&E, iterationd_diff, false, &dq, &dr,
			       &traction__v1__iteration_diff_reply__descriptor),
		     TRC_ENOENT);
	CHECK_STR(E.call.message, "to_version: supply 'defect-vision' has no version '9.9'");
	henv_reset(&E);

	/* history keeps what it read, with its bytes: asked again unchanged it
	 * answers the same; after a write it checks what it kept and answers
	 * from the write: 1.1's roll-up changed (its delta), a write beside
	 * it (another scenario's evidence: nothing changes), the parent's
	 * roll-up changed (1.1's delta again), a new version (the lineage) */
	q.page = NULL;
	static const double delta[] = { -0.010, -0.010, -0.020, -0.020, -0.030, -0.030 };
	for (int round = 0; round < 6; round++) {
		if (round == 2)
			evidence("1.1", "", 60, 50, 0.020, 3, 20.0, 0);
		if (round == 3)
			evidence("1.2", "weld-line-9", 5, 5, 0.5, 0, 0, 0);
		if (round == 4)
			evidence("1.0", "", 80, 70, 0.050, 0, 0, 0);
		if (round == 5)
			CHECK_EQ_INT(record("2.0", "1.1", NULL, 5000), 0);
		CHECK_EQ_INT(henv_call(&E, iterationd_history, false, &q, &rep,
				       &traction__v1__supply_history_reply__descriptor),
			     0);
		CHECK_EQ_INT(rep.n_versions, round < 5 ? 4 : 5);
		CHECK_STR(rep.versions[1]->iteration->version, "1.1");
		CHECK_EQ_INT(rep.versions[1]->n_deltas, 1);
		CHECK_MSG(fabs(rep.versions[1]->deltas[0]->abs_delta - delta[round]) < 1e-12,
			  "round %d: 1.1's delta %g, expected %g", round,
			  rep.versions[1]->deltas[0]->abs_delta, delta[round]);
		bool has_20 = false;
		for (size_t i = 0; i < rep.n_versions; i++)
			has_20 |= strcmp(rep.versions[i]->iteration->version, "2.0") == 0;
		CHECK(has_20 == (round == 5));
		henv_reset(&E);
	}
}

/* ---- scoped readers ---------------------------------------------------------------- */

static char *s_northern[] = { (char *)"Northern Steel" };
static char *s_southern[] = { (char *)"Southern Glass" };
static char *s_acme[] = { (char *)"acme" };
static char *s_beta[] = { (char *)"beta" };

static void scope(char **enterprises, size_t ne, char **providers, size_t np)
{
	E.enterprises = enterprises;
	E.n_enterprises = ne;
	E.providers = providers;
	E.n_providers = np;
}

static void adopt(const char *scenario_id, const char *supply_id, const char *id)
{
	Traction__V1__DeploymentAdoptRequest ad = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	Traction__V1__DeploymentReply rep;
	ad.scenario_id = (char *)scenario_id;
	ad.supply_id = (char *)supply_id;
	ad.version = (char *)"1.0";
	CHECK_EQ_INT(henv_call(&E, iterationd_adopt, true, &ad, &rep,
			       &traction__v1__deployment_reply__descriptor),
		     0);
	CHECK_STR(rep.deployment->id, id);
}

/* The ids deployment.list answers (one page), joined by spaces, and its
 * cursor. */
static const char *list_ids(const char *supply_id, uint32_t limit, const char *cursor,
			    const char **next)
{
	Traction__V1__DeploymentListRequest q = TRACTION__V1__DEPLOYMENT_LIST_REQUEST__INIT;
	Traction__V1__DeploymentListReply rep;
	Traction__V1__PageRequest pg = TRACTION__V1__PAGE_REQUEST__INIT;
	pg.limit = limit;
	pg.cursor = (char *)cursor;
	q.page = &pg;
	q.supply_id = (char *)supply_id;
	CHECK_EQ_INT(henv_call(&E, iterationd_dep_list, false, &q, &rep,
			       &traction__v1__deployment_list_reply__descriptor),
		     0);
	static char out[256];
	out[0] = '\0';
	for (size_t i = 0; i < rep.n_deployments; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i > 0 ? " " : "",
			 rep.deployments[i]->id);
	if (next != NULL)
		*next = rep.next_cursor;
	return out;
}

static int dep_get(const char *id)
{
	Traction__V1__IdRequest q = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__DeploymentReply rep;
	q.id = (char *)id;
	return henv_call(&E, iterationd_dep_get, false, &q, &rep,
			 &traction__v1__deployment_reply__descriptor);
}

static int dep_history(const char *id)
{
	Traction__V1__DeploymentHistoryRequest q = TRACTION__V1__DEPLOYMENT_HISTORY_REQUEST__INIT;
	Traction__V1__DeploymentHistoryReply rep;
	q.deployment_id = (char *)id;
	return henv_call(&E, iterationd_dep_history, false, &q, &rep,
			 &traction__v1__deployment_history_reply__descriptor);
}

static int supply_history(const char *supply_id, Traction__V1__SupplyHistoryReply *rep)
{
	Traction__V1__SupplyHistoryRequest q = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	q.supply_id = (char *)supply_id;
	return henv_call(&E, iterationd_history, false, &q, rep,
			 &traction__v1__supply_history_reply__descriptor);
}

static int diff(const char *supply_id)
{
	Traction__V1__IterationDiffRequest q = TRACTION__V1__ITERATION_DIFF_REQUEST__INIT;
	Traction__V1__IterationDiffReply rep;
	q.supply_id = (char *)supply_id;
	q.from_version = (char *)"1.0";
	q.to_version = (char *)"1.1";
	return henv_call(&E, iterationd_diff, false, &q, &rep,
			 &traction__v1__iteration_diff_reply__descriptor);
}

/* Refused as outside the scope, naming what. */
#define CHECK_DENIED(call_, what, id) \
	do { \
		CHECK_EQ_INT((call_), TRC_EPERM); \
		CHECK_EQ_INT(E.call.n_details, 1); \
		CHECK_DETAIL(0, what, "out_of_scope", id, ""); \
	} while (0)

/* Two enterprises, two providers, a deployment of each supply in each
 * scenario: dep-1 weld-line-3 (Northern Steel) x defect-vision (acme),
 * dep-2 paint-shop (Southern Glass) x defect-vision, dep-3 paint-shop x
 * beta-vision (beta), dep-4 weld-line-3 x beta-vision. */
TEST(scoped_readers)
{
	supply_of("beta-vision", "beta");
	scenario_of("paint-shop", 1, "Southern Glass");
	adopt("paint-shop", "defect-vision", "dep-2");
	adopt("paint-shop", "beta-vision", "dep-3");
	adopt("weld-line-3", "beta-vision", "dep-4");
	henv_reset(&E);
	E.role = TRACTION__V1__ROLE__ROLE_READER;

	/* unscoped: everything, as before */
	CHECK_STR(list_ids(NULL, 0, NULL, NULL), "dep-1 dep-2 dep-3 dep-4");
	CHECK_EQ_INT(dep_get("dep-3"), 0);
	Traction__V1__SupplyHistoryReply h;
	CHECK_EQ_INT(supply_history("defect-vision", &h), 0);
	CHECK_EQ_INT(diff("defect-vision"), 0);
	henv_reset(&E);

	/* an enterprise: its scenarios' deployments, whoever supplies them */
	scope(s_northern, 1, NULL, 0);
	CHECK_STR(list_ids(NULL, 0, NULL, NULL), "dep-1 dep-4");
	CHECK_STR(list_ids("beta-vision", 0, NULL, NULL), "dep-4");
	CHECK_EQ_INT(dep_get("dep-1"), 0);
	CHECK_EQ_INT(dep_get("dep-4"), 0);
	CHECK_EQ_INT(dep_history("dep-4"), 0);
	CHECK_DENIED(dep_get("dep-2"), "deployment", "dep-2");
	CHECK_CONTAINS(E.call.message, "deployment 'dep-2' is outside this reader's scope");
	CHECK_DENIED(dep_history("dep-3"), "deployment", "dep-3");
	/* a page is filled past what is hidden, and its cursor goes on */
	const char *next;
	CHECK_STR(list_ids(NULL, 1, NULL, &next), "dep-1");
	CHECK_STR(next, "dep-1");
	CHECK_STR(list_ids(NULL, 1, "dep-1", &next), "dep-4");
	CHECK_STR(next, "");
	/* sums over a supply's scenarios: not an enterprise's, even with
	 * one of its scenarios among them */
	CHECK_DENIED(supply_history("defect-vision", &h), "supply", "defect-vision");
	CHECK_DENIED(diff("defect-vision"), "supply", "defect-vision");
	/* an unknown supply is still not found, whoever asks */
	CHECK_EQ_INT(supply_history("no-such", &h), TRC_ENOENT);
	henv_reset(&E);

	/* a provider: its supplies' deployments, in every scenario */
	scope(NULL, 0, s_beta, 1);
	CHECK_STR(list_ids(NULL, 0, NULL, NULL), "dep-3 dep-4");
	CHECK_EQ_INT(dep_get("dep-3"), 0);
	CHECK_DENIED(dep_get("dep-1"), "deployment", "dep-1");
	CHECK_DENIED(dep_history("dep-2"), "deployment", "dep-2");
	CHECK_EQ_INT(supply_history("beta-vision", &h), 0);
	CHECK_EQ_INT(h.n_versions, 1);
	CHECK_EQ_INT(h.versions[0]->n_deployment_ids, 2); /* dep-3, dep-4: its own */
	CHECK_DENIED(supply_history("defect-vision", &h), "supply", "defect-vision");
	CHECK_CONTAINS(E.call.message, "supply 'defect-vision' is outside this reader's scope");
	CHECK_DENIED(diff("defect-vision"), "supply", "defect-vision");
	/* the catalogue is everyone's: another provider's versions */
	Traction__V1__IterationListRequest lq = TRACTION__V1__ITERATION_LIST_REQUEST__INIT;
	Traction__V1__IterationListReply lr;
	lq.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, iterationd_list, false, &lq, &lr,
			       &traction__v1__iteration_list_reply__descriptor),
		     0);
	CHECK_EQ_INT(lr.n_iterations, 5);
	Traction__V1__IterationGetRequest gq = TRACTION__V1__ITERATION_GET_REQUEST__INIT;
	Traction__V1__IterationReply gr;
	gq.supply_id = (char *)"defect-vision";
	gq.version = (char *)"1.1";
	CHECK_EQ_INT(henv_call(&E, iterationd_get, false, &gq, &gr,
			       &traction__v1__iteration_reply__descriptor),
		     0);
	henv_reset(&E);

	scope(NULL, 0, s_acme, 1);
	CHECK_STR(list_ids(NULL, 0, NULL, NULL), "dep-1 dep-2");
	CHECK_EQ_INT(supply_history("defect-vision", &h), 0);
	CHECK_EQ_INT(h.n_versions, 5);
	CHECK_EQ_INT(diff("defect-vision"), 0);
	CHECK_DENIED(supply_history("beta-vision", &h), "supply", "beta-vision");
	henv_reset(&E);

	/* both kinds at once: either one is enough */
	scope(s_southern, 1, s_beta, 1);
	CHECK_STR(list_ids(NULL, 0, NULL, NULL), "dep-2 dep-3 dep-4");
	CHECK_DENIED(dep_get("dep-1"), "deployment", "dep-1");
	scope(NULL, 0, NULL, 0);
	E.role = TRACTION__V1__ROLE__ROLE_ADMIN;
	henv_reset(&E);
}

/* events.read's filter: iteration.* to every scope, deployment.* as the
 * deployments (the events adopt wrote). */
TEST(event_visible_by_scope)
{
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	trc_call_t call = { .txn = &txn, .arena = E.arena, .user = &S, .role = 1 };
	Traction__V1__Event *dep2 = NULL, *rec = NULL;
	for (size_t i = 0; i < E.nevents; i++) {
		Traction__V1__Event *ev =
			traction__v1__event__unpack(NULL, E.event_len[i], E.events[i]);
		CHECK(ev != NULL);
		if (rec == NULL && strcmp(ev->type, "iteration.recorded") == 0)
			rec = ev;
		else if (dep2 == NULL && strcmp(ev->type, "deployment.adopted") == 0 &&
			 strcmp(ev->deployment->id, "dep-2") == 0)
			dep2 = ev;
		else
			traction__v1__event__free_unpacked(ev, NULL);
	}
	CHECK(dep2 != NULL && rec != NULL);
	struct {
		char **e, **p;
		bool sees_dep2;
	} cases[] = {
		{ NULL, NULL, true },       /* unscoped */
		{ s_southern, NULL, true }, /* paint-shop's enterprise */
		{ NULL, s_acme, true },     /* defect-vision's provider */
		{ s_northern, NULL, false },
		{ NULL, s_beta, false },
		{ s_northern, s_beta, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call.enterprises = cases[i].e;
		call.n_enterprises = cases[i].e != NULL;
		call.providers = cases[i].p;
		call.n_providers = cases[i].p != NULL;
		CHECK_MSG(iterationd_event_visible(&call, dep2) == cases[i].sees_dep2, "case %zu", i);
		CHECK_MSG(iterationd_event_visible(&call, rec), "case %zu", i);
	}
	trc_txn_abort(&txn);
	traction__v1__event__free_unpacked(dep2, NULL);
	traction__v1__event__free_unpacked(rec, NULL);
	henv_reset(&E);
}

static char s_dir[128];

/* A store of schema 1 (a supply's value: its status byte alone) is
 * upgraded in the transaction that opens it: the supply events are read
 * again from the first, and applying them again fills the providers. */
TEST(schema_1_replays_the_supply_events)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/v1", s_dir);
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &iterationd_dbs, 1), 0);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(st, IT_DB_SUPPLIES), "defect-vision", 13,
				 "\x01", 1, 0),
		     0);
	CHECK_EQ_INT(trc_position_set(&txn, "supply", 2), 0);
	CHECK_EQ_INT(trc_position_set(&txn, "scenario", 5), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);

	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &iterationd_dbs, IT_SCHEMA_VERSION),
		     TRC_ECORRUPT); /* without the migration: refused */
	CHECK_EQ_INT(trc_store_open_migrate(&st, path, 8 << 20, &iterationd_dbs, IT_SCHEMA_VERSION,
					    iterationd_migrate),
		     0);
	uint64_t pos;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_position_get(&txn, "supply", &pos), 0);
	CHECK_EQ_INT(pos, 0);
	CHECK_EQ_INT(trc_position_get(&txn, "scenario", &pos), 0);
	CHECK_EQ_INT(pos, 5); /* the others stay where they were */
	/* until the replay, the provider is not known: no provider sees it */
	trc_evlog_t *log = trc_evlog_new("iteration"); /* it records version 1.0 */
	trc_call_t call = { .txn = &txn, .arena = E.arena, .evlog = log, .user = &S,
			    .now_ms = E.now_ms, .providers = s_acme, .n_providers = 1 };
	CHECK_STR(it_supply_provider(&call, "defect-vision"), "");
	CHECK(!it_sees_supply_sums(&call, "defect-vision"));
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)"defect-vision";
	s.provider_id = (char *)"acme";
	s.initial_version = (char *)"1.0";
	s.status = 1;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	ev.source = (char *)"supply";
	ev.seq = 1;
	CHECK_EQ_INT(iterationd_apply(&call, &ev), 0);
	CHECK_STR(it_supply_provider(&call, "defect-vision"), "acme");
	CHECK(it_sees_supply_sums(&call, "defect-vision"));
	trc_txn_abort(&txn);
	trc_evlog_destroy(&log);
	trc_store_destroy(&st);
	/* stamped: it opens as it is now */
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &iterationd_dbs, IT_SCHEMA_VERSION), 0);
	trc_store_destroy(&st);
	CHECK_EQ_INT(iterationd_migrate(NULL, 0), TRC_ECORRUPT); /* not one it knows */
	henv_reset(&E);
}

int main(void)
{
	snprintf(s_dir, sizeof(s_dir), "%s", check_tmpdir("trc-iterationd"));
	henv_open(&E, s_dir, &iterationd_dbs, "iteration");
	S.gates = s_gate_defaults();
	E.user = &S;
	RUN(gates_each_criterion);
	RUN(lineage);
	RUN(deployments_and_stages);
	RUN(history_and_diff);
	RUN(scoped_readers);
	RUN(event_visible_by_scope);
	RUN(schema_1_replays_the_supply_events);
	iterationd_close(&S);
	henv_close(&E);
	DONE();
}
