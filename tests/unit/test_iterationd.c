/*
 * traction-iterationd on a real store: each gate criterion passing and
 * failing, lineage (a tree with a branch; unknown parents and supplies;
 * duplicates), deployments (adopt, the one-stage rule, a refusal that
 * lists every unmet criterion with its value, a forced move recorded as
 * forced, a move back, upgrade only to a descendant, retire), and the
 * history and diff computed from the evidence and problem events.
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

static void supply(const char *id)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)id;
	s.initial_version = (char *)"1.0";
	s.status = 1;
	s.created_ms = 1000;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	ev.type = (char *)"supply.registered";
	apply(&ev, 0);
}

static void scenario(const char *id, int status)
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
	s.status = status;
	s.demands = &dp;
	s.n_demands = 1;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &s;
	ev.type = (char *)"scenario.submitted";
	apply(&ev, 1);
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

TEST(gates_each_criterion)
{
	trc_config_t cfg;
	trc_config_defaults(&cfg);
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

	/* solution: scenarios in service */
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SOLUTION, &e, NULL, 2, 0, &g);
	CHECK(!g.met);
	it_gate(a, &cfg, TRACTION__V1__STAGE__STAGE_SOLUTION, &e, NULL, 3, 0, &g);
	CHECK(g.met);
	/* thresholds come from the configuration */
	cfg.gate_solution_min_scenarios = 1;
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
	/* two stages up: every gate on the way, each unmet criterion with its value */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message,
		  "to pilot refused: to refinement: feedback_records is 0, needs >= 10; "
		  "to pilot: metric_records is 0, needs >= 20");

	evidence("1.0", "weld-line-3", 30, 25, 0.031, 0, 0, 1);
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_REFINEMENT, false, NULL, &rep), 0);
	CHECK_EQ_INT(rep.transition->n_evidence, 1);
	CHECK_STR(rep.transition->evidence[0]->current, "30");
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, false, NULL, &rep),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message, "to pilot refused: to pilot: open_critical_problems is 1, needs <= 0");

	/* forced: admin only, with a reason, recorded as forced */
	E.role = TRACTION__V1__ROLE__ROLE_READER;
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, "trial", &rep), TRC_EPERM);
	E.role = TRACTION__V1__ROLE__ROLE_ADMIN;
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, NULL, &rep), TRC_EINVAL);
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_PILOT, true, "plant manager's call",
			     &rep),
		     0);
	CHECK(rep.transition->forced);
	CHECK_STR(rep.transition->reason, "plant manager's call");
	/* back a stage: allowed, recorded */
	CHECK_EQ_INT(advance("dep-1", TRACTION__V1__STAGE__STAGE_REFINEMENT, false, "data issue", &rep),
		     0);
	CHECK_EQ_INT(rep.transition->kind, TRACTION__V1__TRANSITION_KIND__TRANSITION_BACK);
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

int main(void)
{
	henv_open(&E, check_tmpdir("trc-iterationd"), iterationd_dbs, "iteration");
	trc_config_defaults(&S.cfg);
	E.user = &S;
	RUN(gates_each_criterion);
	RUN(lineage);
	RUN(deployments_and_stages);
	RUN(history_and_diff);
	iterationd_close(&S);
	henv_close(&E);
	DONE();
}
