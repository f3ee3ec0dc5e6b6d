/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-scenariod on a real store, fed by supplyd's real handlers'
 * events: scenario validation and life cycle, matching ranked by coverage,
 * then constraints, then field evidence (each rule on a hand-built case
 * with a known answer; coverage dominates however strong the evidence, and
 * the reasons given say the order that was followed), and gaps (what open
 * scenarios need and no active supply offers), with demand signals; and
 * what scoped readers see of it all: an enterprise its own scenarios, a
 * provider every one (lib/scope.h).
 */
#include <math.h>

#include "check.h"
#include "error.h"
#include "henv.h"
#include "scenariod.h"
#include "supplyd.h"
#include "util.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static henv_t SUP, SCEN;

static void provider(const char *id)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest req = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	Traction__V1__ProviderReply rep;
	p.id = (char *)id;
	p.name = (char *)id;
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	req.provider = &p;
	CHECK_EQ_INT(henv_call(&SUP, supplyd_provider_register, true, &req, &rep,
			       &traction__v1__provider_reply__descriptor),
		     0);
}

/* caps: comma-separated; props: "k=v" or NULL */
static void supply(const char *id, const char *caps, const char *prop)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT, *kvp = &kv;
	char buf[256], *list[16], pbuf[64];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", caps);
	for (char *t = strtok(buf, ","); t != NULL && n < 16; t = strtok(NULL, ","))
		list[n++] = t;
	s.id = (char *)id;
	s.provider_id = (char *)"acme";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)id;
	s.capabilities = list;
	s.n_capabilities = n;
	s.initial_version = (char *)"1.0";
	if (prop != NULL) {
		snprintf(pbuf, sizeof(pbuf), "%s", prop);
		char *eq = strchr(pbuf, '=');
		*eq = '\0';
		kv.key = pbuf;
		kv.value = eq + 1;
		s.properties = &kvp;
		s.n_properties = 1;
	}
	req.supply = &s;
	CHECK_EQ_INT(henv_call(&SUP, supplyd_supply_register, true, &req, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
}

static int scenario_of(const char *enterprise, const char *id, int domain, const char *caps,
		       const char *constraint)
{
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT, *kvp = &kv;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	Traction__V1__ScenarioReply rep;
	char buf[256], *list[16], cbuf[64];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", caps);
	for (char *tok = strtok(buf, ","); tok != NULL && n < 16; tok = strtok(NULL, ","))
		list[n++] = tok;
	s.id = (char *)id;
	s.enterprise = (char *)enterprise;
	s.domain = domain;
	s.name = (char *)"Weld seam inspection";
	d.capabilities = list;
	d.n_capabilities = n;
	t.metric = (char *)"defect_rate";
	t.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	t.threshold = 0.02;
	d.targets = &tp;
	d.n_targets = 1;
	if (constraint != NULL) {
		snprintf(cbuf, sizeof(cbuf), "%s", constraint);
		char *eq = strchr(cbuf, '=');
		*eq = '\0';
		kv.key = cbuf;
		kv.value = eq + 1;
		d.constraints = &kvp;
		d.n_constraints = 1;
	}
	s.demands = &dp;
	s.n_demands = 1;
	req.scenario = &s;
	return henv_call(&SCEN, scenariod_submit, true, &req, &rep,
			 &traction__v1__scenario_reply__descriptor);
}

static int scenario(const char *id, int domain, const char *caps, const char *constraint)
{
	return scenario_of("Northern Steel", id, domain, caps, constraint);
}

static Traction__V1__MatchReply *match(const char *id, bool full_only)
{
	static Traction__V1__MatchReply rep;
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	req.scenario_id = (char *)id;
	req.full_only = full_only;
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_match, false, &req, &rep,
			       &traction__v1__match_reply__descriptor),
		     0);
	return &rep;
}

static void feed_event(Traction__V1__Event *ev)
{
	/* As if iterationd or feedbackd had sent it. */
	static uint64_t seq[2];
	int which = ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT ? 0 : 1;
	ev->source = (char *)(which == 0 ? "iteration" : "feedback");
	ev->seq = ++seq[which];
	trc_txn_t txn;
	trc_txn_begin(SCEN.store, &txn, true);
	trc_call_t call = { .txn = &txn, .arena = SCEN.arena, .role = 4 };
	CHECK_EQ_INT(scenariod_apply(&call, ev), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
}

static void deployment(const char *id, const char *supply_id, int stage, int status)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Deployment d = TRACTION__V1__DEPLOYMENT__INIT;
	d.id = (char *)id;
	d.supply_id = (char *)supply_id;
	d.scenario_id = (char *)"elsewhere";
	d.version = (char *)"1.0";
	d.stage = stage;
	d.status = status;
	ev.type = (char *)"deployment.advanced";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT;
	ev.deployment = &d;
	feed_event(&ev);
}

TEST(scenario_validation)
{
	CHECK_EQ_INT(scenario("bad id", 2, "a", NULL), TRC_EINVAL);
	CHECK_CONTAINS(SCEN.call.message, "scenario.id: must be");
	CHECK_EQ_INT(scenario("s", 0, "a", NULL), TRC_EINVAL);
	CHECK_STR(SCEN.call.message, "scenario.domain: required");
	CHECK_EQ_INT(scenario("s", 17, "a", NULL), TRC_EINVAL);
	CHECK_STR(SCEN.call.message, "scenario.domain: 17 is not a traction.v1.Domain");
	CHECK_EQ_INT(scenario("s", 2, "a,b,a", NULL), TRC_EINVAL);
	CHECK_STR(SCEN.call.message, "scenario.demands[0].capabilities: 'a' appears twice");
	CHECK_EQ_INT(SCEN.nevents, 0);
	henv_reset(&SCEN);
}

TEST(matching_ranks_by_coverage_constraints_evidence)
{
	provider("acme");
	supply("full-a", "cap-a,cap-b", NULL);
	supply("full-b", "cap-a,cap-b,extra", NULL);
	supply("full-cloud", "cap-a,cap-b", "deployment=cloud");
	supply("half-x", "cap-a", NULL);
	supply("half-y", "cap-b", NULL);
	supply("unrelated", "other", NULL);
	henv_feed(&SCEN, &SUP, scenariod_apply);
	CHECK_EQ_INT(scenario("weld-line-3", TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION, "cap-a,cap-b",
			      "deployment=on-prem"),
		     0);
	CHECK_EQ_INT(SCEN.nevents, 1);
	CHECK_STR(SCEN.event_type[0], "scenario.submitted");

	/* no evidence yet: full coverage first, the one contradicting the
	 * constraint after the others, ties by id; partial after full */
	Traction__V1__MatchReply *r = match("weld-line-3", false);
	CHECK_EQ_INT(r->n_required, 2);
	CHECK_EQ_INT(r->n_matches, 5);
	CHECK_STR(r->matches[0]->supply->id, "full-a");
	CHECK_STR(r->matches[1]->supply->id, "full-b");
	CHECK_STR(r->matches[2]->supply->id, "full-cloud");
	CHECK_EQ_INT(r->matches[2]->n_unmet_constraints, 1);
	CHECK_STR(r->matches[2]->unmet_constraints[0], "deployment=on-prem (supply says cloud)");
	CHECK_STR(r->matches[3]->supply->id, "half-x");
	CHECK_STR(r->matches[4]->supply->id, "half-y");
	CHECK(r->matches[3]->coverage == 0.5);
	CHECK_EQ_INT(r->matches[3]->n_missing, 1);
	CHECK_STR(r->matches[3]->missing[0], "cap-b");
	CHECK_EQ_INT(r->matches[0]->rank, 1);
	CHECK_CONTAINS(r->matches[0]->reason, "covers 2 of 2 required capabilities");
	CHECK_CONTAINS(r->matches[3]->reason, "(partial)");
	CHECK_EQ_INT(match("weld-line-3", true)->n_matches, 3);
	henv_reset(&SCEN);

	/* evidence moves full-b ahead of full-a: a deployment in service */
	deployment("dep-1", "full-b", TRACTION__V1__STAGE__STAGE_SERVICE,
		   TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE);
	r = match("weld-line-3", false);
	CHECK_STR(r->matches[0]->supply->id, "full-b");
	CHECK_EQ_INT(r->matches[0]->evidence->deployments_in_service, 1);
	CHECK_CONTAINS(r->matches[0]->reason, "1 deployments (1 in service)");
	CHECK_STR(r->matches[1]->supply->id, "full-a");
	henv_reset(&SCEN);

	/* applying the same state again changes nothing (idempotent) */
	deployment("dep-1", "full-b", TRACTION__V1__STAGE__STAGE_SERVICE,
		   TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE);
	r = match("weld-line-3", false);
	CHECK_EQ_INT(r->matches[0]->evidence->deployments_in_service, 1);
	CHECK_EQ_INT(r->matches[0]->evidence->deployments, 1);
	henv_reset(&SCEN);

	/* an open critical problem on full-b's version sends it back */
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__EvidenceUpdate u = TRACTION__V1__EVIDENCE_UPDATE__INIT;
	Traction__V1__SeverityCounts sc = TRACTION__V1__SEVERITY_COUNTS__INIT, *scp = &sc;
	Traction__V1__ValueSummary vs = TRACTION__V1__VALUE_SUMMARY__INIT;
	u.supply_id = (char *)"full-b";
	u.version = (char *)"1.0";
	sc.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	sc.open = 1;
	u.problems = &scp;
	u.n_problems = 1;
	vs.count = 4;
	vs.mean_improvement_pct = 12.5;
	u.values = &vs;
	ev.type = (char *)"feedback.evidence";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
	ev.evidence = &u;
	feed_event(&ev);
	r = match("weld-line-3", false);
	CHECK_STR(r->matches[0]->supply->id, "full-a");
	CHECK_STR(r->matches[1]->supply->id, "full-b");
	CHECK_EQ_INT(r->matches[1]->evidence->open_critical_problems, 1);
	CHECK_EQ_INT(r->matches[1]->evidence->value_verifications, 4);
	CHECK(r->matches[1]->evidence->mean_improvement_pct == 12.5);
	henv_reset(&SCEN);

	/* the problem addressed: the same key, new state, overwrites */
	sc.open = 0;
	sc.addressed = 1;
	feed_event(&ev);
	r = match("weld-line-3", false);
	CHECK_STR(r->matches[0]->supply->id, "full-b");
	CHECK_EQ_INT(r->matches[0]->evidence->open_critical_problems, 0);
	henv_reset(&SCEN);

	/* the deployment retired: no longer counted */
	deployment("dep-1", "full-b", TRACTION__V1__STAGE__STAGE_SERVICE,
		   TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_RETIRED);
	r = match("weld-line-3", false);
	for (size_t i = 0; i < r->n_matches; i++)
		if (strcmp(r->matches[i]->supply->id, "full-b") == 0)
			CHECK_EQ_INT(r->matches[i]->evidence->deployments, 0);
	henv_reset(&SCEN);
}

TEST(retired_supply_is_not_matched)
{
	Traction__V1__SupplyRetireRequest rr = TRACTION__V1__SUPPLY_RETIRE_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	rr.id = (char *)"full-a";
	CHECK_EQ_INT(henv_call(&SUP, supplyd_supply_retire, true, &rr, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
	henv_feed(&SCEN, &SUP, scenariod_apply);
	Traction__V1__MatchReply *r = match("weld-line-3", false);
	for (size_t i = 0; i < r->n_matches; i++)
		CHECK(strcmp(r->matches[i]->supply->id, "full-a") != 0);
	CHECK_EQ_INT(r->n_matches, 4);
	henv_reset(&SCEN);
}

/* The evidence score as docs/matching.md states it, not as match.c
 * computes it: the test holds the code to the documented promise. */
static double documented_evidence(uint64_t in_service, uint64_t deployments,
				  uint64_t verifications, double mean_pct, uint64_t open_critical,
				  uint64_t open)
{
	double imp = mean_pct > 50 ? 50 : (mean_pct < -50 ? -50 : mean_pct);
	return 10.0 * (double)in_service + 1.0 * (double)deployments +
	       2.0 * log((double)verifications + 1.0) + imp / 10.0 - 20.0 * (double)open_critical -
	       2.0 * (double)open;
}

/* What a match's reason says, read back from its words. */
typedef struct {
	unsigned covered, required;
	bool partial;
	unsigned long long deployments, in_service, verifications, open, critical;
	double mean_pct;
	double coverage, evidence;
} said_t;

static said_t reason_says(const char *reason)
{
	said_t s = { 0 };
	int n = 0;
	CHECK_MSG(sscanf(reason, "covers %u of %u required capabilities%n", &s.covered,
			 &s.required, &n) == 2 &&
			  n > 0 && s.required > 0,
		  "a reason that does not say its coverage: \"%s\"", reason);
	const char *rest = reason + n;
	s.partial = strncmp(rest, " (partial)", 10) == 0;
	if (s.partial)
		rest += 10;
	CHECK_MSG(sscanf(rest, "; %llu deployments (%llu in service), %llu value verifications%n",
			 &s.deployments, &s.in_service, &s.verifications, &n) == 3,
		  "a reason that does not say its evidence: \"%s\"", reason);
	rest += n;
	/* the mean of the value verifications, only if there are some: a
	 * figure with no data behind it is absent, never a zero */
	int means = sscanf(rest, " (mean %lf%%)%n", &s.mean_pct, &n);
	CHECK_MSG((means == 1) == (s.verifications > 0),
		  "a reason whose mean does not go with its verifications: \"%s\"", reason);
	if (means == 1)
		rest += n;
	CHECK_MSG(sscanf(rest, ", %llu open problems (%llu critical)", &s.open, &s.critical) == 2,
		  "a reason that does not say its problems: \"%s\"", reason);
	s.coverage = (double)s.covered / (double)s.required;
	s.evidence = documented_evidence(s.in_service, s.deployments, s.verifications, s.mean_pct,
					 s.critical, s.open);
	return s;
}

/* n deployments of supply_id, all active at stage service */
static void in_service(const char *supply_id, int n)
{
	for (int i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "dep-%s-%d", supply_id, i);
		deployment(id, supply_id, TRACTION__V1__STAGE__STAGE_SERVICE,
			   TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE);
	}
}

/* The (supply, version) roll-up feedbackd would send after `records`
 * records, `verifications` of them value verifications. */
static void field_evidence(const char *supply_id, uint64_t records, uint64_t verifications,
			   double mean_pct, uint64_t open_critical)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__EvidenceUpdate u = TRACTION__V1__EVIDENCE_UPDATE__INIT;
	Traction__V1__MetricSummary ms = TRACTION__V1__METRIC_SUMMARY__INIT, *msp = &ms;
	Traction__V1__SeverityCounts sc = TRACTION__V1__SEVERITY_COUNTS__INIT, *scp = &sc;
	Traction__V1__ValueSummary vs = TRACTION__V1__VALUE_SUMMARY__INIT;
	u.supply_id = (char *)supply_id;
	u.version = (char *)"1.0";
	u.records = records;
	ms.name = (char *)"defect_rate";
	ms.count = records - verifications - open_critical;
	ms.mean = 0.01;
	u.metrics = &msp;
	u.n_metrics = 1;
	vs.count = verifications;
	vs.mean_improvement_pct = mean_pct;
	u.values = &vs;
	sc.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	sc.open = open_critical;
	sc.reports = open_critical;
	u.problems = &scp;
	u.n_problems = open_critical > 0 ? 1 : 0;
	ev.type = (char *)"feedback.evidence";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
	ev.evidence = &u;
	feed_event(&ev);
}

TEST(coverage_dominates_evidence_and_reasons_say_the_order)
{
	/* three required capabilities: full, two thirds, one third */
	supply("good-full", "rank-a,rank-b,rank-c", NULL);
	supply("bare-full", "rank-a,rank-b,rank-c", NULL);
	supply("troubled-full", "rank-a,rank-b,rank-c", NULL);
	supply("strong-partial", "rank-a,rank-b", NULL);
	supply("weak-partial", "rank-b,rank-c", NULL);
	supply("strong-third", "rank-c", NULL);
	henv_feed(&SCEN, &SUP, scenariod_apply);
	CHECK_EQ_INT(scenario("rank-line", TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION,
			      "rank-a,rank-b,rank-c", NULL),
		     0);

	in_service("good-full", 1);
	field_evidence("troubled-full", 40, 2, 5.0, 2);
	/* the partial ones: the field loves them */
	in_service("strong-partial", 8);
	field_evidence("strong-partial", 5000, 400, 45.0, 0);
	in_service("strong-third", 12);
	field_evidence("strong-third", 9000, 1000, 60.0, 0);

	Traction__V1__MatchReply *r = match("rank-line", false);
	static const char *const want[] = { "good-full",      "bare-full",    "troubled-full",
					    "strong-partial", "weak-partial", "strong-third" };
	size_t nwant = sizeof(want) / sizeof(want[0]);
	CHECK_EQ_INT(r->n_required, 3);
	CHECK_EQ_INT(r->n_matches, nwant);
	said_t said[sizeof(want) / sizeof(want[0])];
	for (size_t i = 0; i < nwant; i++) {
		const Traction__V1__Match *m = r->matches[i];
		const Traction__V1__MatchEvidence *e = m->evidence;
		CHECK_MSG(strcmp(m->supply->id, want[i]) == 0, "rank %zu is %s, expected %s (%s)",
			  i + 1, m->supply->id, want[i], m->reason);
		CHECK_EQ_INT(m->rank, i + 1);
		/* the reason says what the match holds */
		said[i] = reason_says(m->reason);
		CHECK_EQ_INT(said[i].required, r->n_required);
		CHECK_EQ_INT(said[i].covered, m->n_covered);
		CHECK_EQ_INT(said[i].covered + m->n_missing, r->n_required);
		CHECK(said[i].coverage == m->coverage);
		CHECK_MSG(said[i].partial == (said[i].covered < said[i].required), "%s",
			  m->reason);
		CHECK_EQ_INT(said[i].deployments, e->deployments);
		CHECK_EQ_INT(said[i].in_service, e->deployments_in_service);
		CHECK_EQ_INT(said[i].verifications, e->value_verifications);
		CHECK_EQ_INT(said[i].open, e->open_problems);
		CHECK_EQ_INT(said[i].critical, e->open_critical_problems);
		CHECK(fabs(said[i].mean_pct - e->mean_improvement_pct) <= 0.05);
		/* score = 100 x coverage + evidence, as documented */
		double ev = documented_evidence(e->deployments_in_service, e->deployments,
						e->value_verifications, e->mean_improvement_pct,
						e->open_critical_problems, e->open_problems);
		CHECK_MSG(fabs(m->score - (100.0 * m->coverage + ev)) < 1e-9,
			  "%s: score %g, documented 100 x %g + %g", m->supply->id, m->score,
			  m->coverage, ev);
	}
	/* the case means something: the strongest partial's evidence is more
	 * than 100 x the coverage it lacks ahead of the full one with none */
	CHECK(said[3].evidence - said[1].evidence > 100.0 * (1.0 - said[3].coverage));
	CHECK(said[5].evidence > said[3].evidence);

	/* the order is the one the reasons give: coverage first, evidence only
	 * between equal coverage (no constraints here) */
	for (size_t i = 0; i + 1 < nwant; i++) {
		const said_t *a = &said[i], *b = &said[i + 1];
		const Traction__V1__Match *ma = r->matches[i], *mb = r->matches[i + 1];
		CHECK_MSG(a->coverage >= b->coverage, "'%s' before '%s', yet: \"%s\" / \"%s\"",
			  ma->supply->id, mb->supply->id, ma->reason, mb->reason);
		if (a->coverage == b->coverage)
			CHECK_MSG(a->evidence > b->evidence,
				  "'%s' before '%s' with the same coverage, yet evidence %.2f <= "
				  "%.2f: \"%s\" / \"%s\"",
				  ma->supply->id, mb->supply->id, a->evidence, b->evidence,
				  ma->reason, mb->reason);
	}
	/* every full one above every partial one, whatever the evidence */
	for (size_t i = 0; i < nwant; i++)
		for (size_t j = 0; j < i; j++)
			CHECK_MSG(!(said[i].covered == said[i].required &&
				    said[j].covered < said[j].required),
				  "partial '%s' (evidence %.1f) ranks above full '%s' (evidence %.1f)",
				  r->matches[j]->supply->id, said[j].evidence,
				  r->matches[i]->supply->id, said[i].evidence);
	henv_reset(&SCEN);

	/* full_only keeps the full ones, in the same order */
	r = match("rank-line", true);
	CHECK_EQ_INT(r->n_matches, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK_STR(r->matches[i]->supply->id, want[i]);
	henv_reset(&SCEN);
}

static Traction__V1__GapsReply *gaps(int domain)
{
	static Traction__V1__GapsReply rep;
	Traction__V1__GapsRequest req = TRACTION__V1__GAPS_REQUEST__INIT;
	req.domain = domain;
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_gaps, false, &req, &rep,
			       &traction__v1__gaps_reply__descriptor),
		     0);
	return &rep;
}

TEST(gaps_show_unserved_demand)
{
	/* weld-line-3 needs cap-a, cap-b: both offered. Two more scenarios need
	 * hairline-cracks, one also thermal. */
	CHECK_EQ_INT(scenario("paint-shop", TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION,
			      "cap-a,hairline-cracks", NULL),
		     0);
	CHECK_EQ_INT(scenario("warehouse", TRACTION__V1__DOMAIN__DOMAIN_SUPPLY_CHAIN,
			      "hairline-cracks,thermal", NULL),
		     0);
	Traction__V1__GapsReply *g = gaps(0);
	CHECK_EQ_INT(g->n_gaps, 2);
	CHECK_STR(g->gaps[0]->capability, "hairline-cracks");
	CHECK_EQ_INT(g->gaps[0]->scenarios, 2);
	CHECK_EQ_INT(g->gaps[0]->n_domains, 2);
	CHECK_EQ_INT(g->gaps[0]->n_scenario_ids, 2);
	CHECK_STR(g->gaps[0]->scenario_ids[0], "paint-shop");
	CHECK_STR(g->gaps[1]->capability, "thermal");
	CHECK_EQ_INT(g->gaps[1]->scenarios, 1);
	henv_reset(&SCEN);
	g = gaps(TRACTION__V1__DOMAIN__DOMAIN_SUPPLY_CHAIN);
	CHECK_EQ_INT(g->n_gaps, 2);
	CHECK_EQ_INT(g->gaps[0]->scenarios, 1);
	henv_reset(&SCEN);

	/* a closed scenario no longer asks */
	Traction__V1__ScenarioCloseRequest cr = TRACTION__V1__SCENARIO_CLOSE_REQUEST__INIT;
	Traction__V1__ScenarioReply srep;
	cr.id = (char *)"warehouse";
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_close, true, &cr, &srep,
			       &traction__v1__scenario_reply__descriptor),
		     0);
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_close, true, &cr, &srep,
			       &traction__v1__scenario_reply__descriptor),
		     TRC_EPRECOND);
	g = gaps(0);
	CHECK_EQ_INT(g->n_gaps, 1);
	CHECK_EQ_INT(g->gaps[0]->scenarios, 1);
	henv_reset(&SCEN);

	/* a supply that offers it closes the gap; retiring it reopens it */
	supply("crack-finder", "hairline-cracks", NULL);
	henv_feed(&SCEN, &SUP, scenariod_apply);
	CHECK_EQ_INT(gaps(0)->n_gaps, 0);
	henv_reset(&SCEN);
	Traction__V1__SupplyRetireRequest rr = TRACTION__V1__SUPPLY_RETIRE_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	rr.id = (char *)"crack-finder";
	CHECK_EQ_INT(henv_call(&SUP, supplyd_supply_retire, true, &rr, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
	henv_feed(&SCEN, &SUP, scenariod_apply);
	CHECK_EQ_INT(gaps(0)->n_gaps, 1);
	henv_reset(&SCEN);

	/* demand signals from the field count, and name gaps of their own */
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__DemandUpdate du = TRACTION__V1__DEMAND_UPDATE__INIT;
	Traction__V1__CapabilityDemand cd1 = TRACTION__V1__CAPABILITY_DEMAND__INIT;
	Traction__V1__CapabilityDemand cd2 = TRACTION__V1__CAPABILITY_DEMAND__INIT;
	Traction__V1__CapabilityDemand *cds[] = { &cd1, &cd2 };
	cd1.capability = (char *)"hairline-cracks";
	cd1.signals = 7;
	cd2.capability = (char *)"plc-runtime";
	cd2.signals = 3;
	du.demands = cds;
	du.n_demands = 2;
	ev.type = (char *)"feedback.demand";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEMAND;
	ev.demand = &du;
	feed_event(&ev);
	g = gaps(0);
	CHECK_EQ_INT(g->n_gaps, 2);
	CHECK_STR(g->gaps[0]->capability, "hairline-cracks");
	CHECK_EQ_INT(g->gaps[0]->demand_signals, 7);
	CHECK_STR(g->gaps[1]->capability, "plc-runtime");
	CHECK_EQ_INT(g->gaps[1]->scenarios, 0);
	CHECK_EQ_INT(g->gaps[1]->demand_signals, 3);
	henv_reset(&SCEN);
}

/* ---- scoped readers ------------------------------------------------------- */

#define SG "Southern Glass"
#define NS "Northern Steel"

/* The reader the next calls are made as: scoped to an enterprise, to a
 * provider, to both, or (NULL, NULL) unscoped. */
static void reader(const char *enterprise, const char *provider)
{
	static char *ents[1], *provs[1];
	ents[0] = (char *)enterprise;
	provs[0] = (char *)provider;
	SCEN.enterprises = enterprise != NULL ? ents : NULL;
	SCEN.n_enterprises = enterprise != NULL ? 1 : 0;
	SCEN.providers = provider != NULL ? provs : NULL;
	SCEN.n_providers = provider != NULL ? 1 : 0;
}

static Traction__V1__ScenarioListReply *list_page(const char *enterprise, const char *capability,
						  uint32_t limit, const char *cursor)
{
	static Traction__V1__ScenarioListReply rep;
	Traction__V1__ScenarioListRequest req = TRACTION__V1__SCENARIO_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.limit = limit;
	page.cursor = (char *)cursor;
	req.page = &page;
	req.enterprise = (char *)enterprise;
	req.capability = (char *)capability;
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_list, false, &req, &rep,
			       &traction__v1__scenario_list_reply__descriptor),
		     0);
	return &rep;
}

/* Every scenario the reader lists, following the cursors: "id,id,...",
 * and how many pages it took. */
static const char *list_ids(const char *enterprise, const char *capability, uint32_t limit,
			    size_t *pages)
{
	static char ids[4096];
	char cursor[TRC_SLUG_MAX + 1] = "";
	size_t len = 0;
	ids[0] = '\0';
	*pages = 0;
	do {
		Traction__V1__ScenarioListReply *r = list_page(enterprise, capability, limit, cursor);
		CHECK(++*pages < 100);
		for (size_t i = 0; i < r->n_scenarios; i++)
			len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%s",
						len > 0 ? "," : "", r->scenarios[i]->id);
		CHECK(len < sizeof(ids));
		snprintf(cursor, sizeof(cursor), "%s", r->next_cursor != NULL ? r->next_cursor : "");
		henv_reset(&SCEN);
	} while (cursor[0] != '\0');
	return ids;
}

static int get_rc(const char *id)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__ScenarioReply rep;
	req.id = (char *)id;
	int rc = henv_call(&SCEN, scenariod_get, false, &req, &rep,
			   &traction__v1__scenario_reply__descriptor);
	if (rc == 0)
		CHECK_STR(rep.scenario->id, id);
	return rc;
}

static int match_rc(const char *id)
{
	Traction__V1__MatchReply rep;
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	req.scenario_id = (char *)id;
	int rc = henv_call(&SCEN, scenariod_match, false, &req, &rep,
			   &traction__v1__match_reply__descriptor);
	if (rc == 0)
		CHECK_STR(rep.scenario_id, id);
	return rc;
}

/* The last call was refused as out of scope, naming the scenario. */
static void check_denied(const char *id)
{
	CHECK_EQ_INT(SCEN.call.n_details, 1);
	CHECK_STR(SCEN.call.details[0]->subject, "scenario");
	CHECK_STR(SCEN.call.details[0]->reason, "out_of_scope");
	CHECK_STR(SCEN.call.details[0]->current, id);
	CHECK_CONTAINS(SCEN.call.message, id);
}

/* One gap as "capability:scenarios:signals:id|id". */
static const char *gap_says(const Traction__V1__Gap *g)
{
	static char buf[512];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%s:%u:%llu:", g->capability, g->scenarios,
				      (unsigned long long)g->demand_signals);
	for (size_t i = 0; i < g->n_scenario_ids && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i > 0 ? "|" : "",
					g->scenario_ids[i]);
	return buf;
}

/* Whether the call would see the scenario event emitted as kept[i]. */
static bool visible(const char *enterprise, const char *provider, size_t i)
{
	char *ents[1] = { (char *)enterprise }, *provs[1] = { (char *)provider };
	trc_call_t c = { .enterprises = enterprise != NULL ? ents : NULL,
			 .n_enterprises = enterprise != NULL ? 1 : 0,
			 .providers = provider != NULL ? provs : NULL,
			 .n_providers = provider != NULL ? 1 : 0 };
	Traction__V1__Event *ev = traction__v1__event__unpack(NULL, SCEN.event_len[i], SCEN.events[i]);
	CHECK(ev != NULL);
	bool v = scenariod_event_visible(&c, ev);
	traction__v1__event__free_unpacked(ev, NULL);
	return v;
}

TEST(scoped_readers_see_their_enterprise_and_providers_see_all)
{
	/* Northern Steel already has weld-line-3, rank-line, paint-shop (open,
	 * needs hairline-cracks) and warehouse (closed). Southern Glass's two
	 * sort around them, so a page of one has to scan past Northern
	 * Steel's. */
	henv_clear_events(&SCEN);
	CHECK_EQ_INT(scenario_of(NS, "ns-furnace", TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION,
				 "furnace-vision,cap-a", NULL),
		     0);
	CHECK_EQ_INT(scenario_of(SG, "glass-cutting", TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION,
				 "cap-a,cap-b", NULL),
		     0);
	CHECK_EQ_INT(scenario_of(SG, "zz-float", TRACTION__V1__DOMAIN__DOMAIN_RND,
				 "furnace-vision,glass-bubbles", NULL),
		     0);
	const char *ns_all = "ns-furnace,paint-shop,rank-line,warehouse,weld-line-3";
	const char *everyone = "glass-cutting,ns-furnace,paint-shop,rank-line,warehouse,weld-line-3,"
			       "zz-float";
	size_t pages;

	/* list: each enterprise its own, whole pages (a page of one is not
	 * short for the five scanned past); every provider, and no scope, all */
	reader(SG, NULL);
	CHECK_STR(list_ids(NULL, NULL, 1, &pages), "glass-cutting,zz-float");
	CHECK_EQ_INT(pages, 2);
	CHECK_STR(list_ids(NULL, "cap-a", 10, &pages), "glass-cutting");
	CHECK_STR(list_ids(NS, NULL, 10, &pages), "");
	CHECK_STR(list_ids(SG, NULL, 10, &pages), "glass-cutting,zz-float");
	reader(NS, NULL);
	CHECK_STR(list_ids(NULL, NULL, 2, &pages), ns_all);
	CHECK_EQ_INT(pages, 3);
	CHECK_STR(list_ids(NULL, "cap-a", 10, &pages), "ns-furnace,paint-shop,weld-line-3");
	reader(NULL, "some-provider");
	CHECK_STR(list_ids(NULL, NULL, 3, &pages), everyone);
	reader(SG, "some-provider");
	CHECK_STR(list_ids(NULL, NULL, 100, &pages), everyone);
	reader(NULL, NULL);
	CHECK_STR(list_ids(NULL, NULL, 100, &pages), everyone);
	CHECK_STR(list_ids(SG, NULL, 100, &pages), "glass-cutting,zz-float");

	/* get and match: another enterprise's scenario is refused, naming it;
	 * an unknown one is still not found */
	reader(SG, NULL);
	CHECK_EQ_INT(get_rc("glass-cutting"), 0);
	CHECK_EQ_INT(get_rc("ns-furnace"), TRC_EPERM);
	check_denied("ns-furnace");
	CHECK_EQ_INT(get_rc("no-such"), TRC_ENOENT);
	CHECK_EQ_INT(match_rc("glass-cutting"), 0);
	CHECK_EQ_INT(match_rc("weld-line-3"), TRC_EPERM);
	check_denied("weld-line-3");
	CHECK_EQ_INT(match_rc("no-such"), TRC_ENOENT);
	reader(NS, NULL);
	CHECK_EQ_INT(get_rc("zz-float"), TRC_EPERM);
	check_denied("zz-float");
	CHECK_EQ_INT(match_rc("glass-cutting"), TRC_EPERM);
	CHECK_EQ_INT(get_rc("ns-furnace"), 0);
	CHECK_EQ_INT(match_rc("ns-furnace"), 0);
	for (int who = 0; who < 2; who++) {
		reader(NULL, who == 0 ? "some-provider" : NULL);
		CHECK_EQ_INT(get_rc("ns-furnace"), 0);
		CHECK_EQ_INT(get_rc("zz-float"), 0);
		CHECK_EQ_INT(match_rc("weld-line-3"), 0);
		CHECK_EQ_INT(match_rc("glass-cutting"), 0);
	}
	henv_reset(&SCEN);

	/* gaps: an enterprise's come from its own open scenarios only, and
	 * without the field's demand signals (summed over every enterprise);
	 * a provider sees what an unscoped reader sees */
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__DemandUpdate du = TRACTION__V1__DEMAND_UPDATE__INIT;
	Traction__V1__CapabilityDemand cd = TRACTION__V1__CAPABILITY_DEMAND__INIT, *cdp = &cd;
	cd.capability = (char *)"furnace-vision";
	cd.signals = 5;
	du.demands = &cdp;
	du.n_demands = 1;
	ev.type = (char *)"feedback.demand";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEMAND;
	ev.demand = &du;
	feed_event(&ev);
	static const char *const all_gaps[] = { "furnace-vision:2:5:ns-furnace|zz-float",
						"hairline-cracks:1:7:paint-shop",
						"glass-bubbles:1:0:zz-float", "plc-runtime:0:3:" };
	for (int who = 0; who < 3; who++) {
		reader(who == 2 ? SG : NULL, who > 0 ? "some-provider" : NULL);
		Traction__V1__GapsReply *g = gaps(0);
		CHECK_EQ_INT(g->n_gaps, 4);
		for (size_t i = 0; i < 4; i++)
			CHECK_STR(gap_says(g->gaps[i]), all_gaps[i]);
		henv_reset(&SCEN);
	}
	reader(SG, NULL);
	Traction__V1__GapsReply *g = gaps(0);
	CHECK_EQ_INT(g->n_gaps, 2);
	CHECK_STR(gap_says(g->gaps[0]), "furnace-vision:1:0:zz-float");
	CHECK_STR(gap_says(g->gaps[1]), "glass-bubbles:1:0:zz-float");
	CHECK_EQ_INT(g->gaps[0]->n_domains, 1);
	CHECK_EQ_INT(g->gaps[0]->domains[0], TRACTION__V1__DOMAIN__DOMAIN_RND);
	CHECK_EQ_INT(gaps(TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION)->n_gaps, 0);
	henv_reset(&SCEN);
	reader(NS, NULL);
	g = gaps(0);
	CHECK_EQ_INT(g->n_gaps, 2);
	CHECK_STR(gap_says(g->gaps[0]), "furnace-vision:1:0:ns-furnace");
	CHECK_STR(gap_says(g->gaps[1]), "hairline-cracks:1:0:paint-shop");
	CHECK_EQ_INT(g->gaps[0]->n_domains, 1);
	CHECK_EQ_INT(g->gaps[0]->domains[0], TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION);
	henv_reset(&SCEN);
	reader(NULL, NULL);

	/* events.read: a scenario's events to its enterprise and to every
	 * provider; scenariod writes nothing else */
	CHECK_EQ_INT(SCEN.nevents, 3);
	size_t sg_seen = 0, ns_seen = 0;
	for (size_t i = 0; i < SCEN.nevents; i++) {
		CHECK_STR(SCEN.event_type[i], "scenario.submitted");
		bool sg = visible(SG, NULL, i), ns = visible(NS, NULL, i);
		CHECK(sg != ns);
		sg_seen += sg;
		ns_seen += ns;
		CHECK(visible(NULL, "some-provider", i));
		CHECK(visible("Elsewhere Ltd", "some-provider", i));
		CHECK(!visible("Elsewhere Ltd", NULL, i));
		CHECK(visible(NULL, NULL, i));
	}
	CHECK_EQ_INT(sg_seen, 2);
	CHECK_EQ_INT(ns_seen, 1);
	{
		Traction__V1__Supply sup = TRACTION__V1__SUPPLY__INIT;
		Traction__V1__Event other = TRACTION__V1__EVENT__INIT;
		char *provs[1] = { (char *)"acme" };
		trc_call_t c = { .providers = provs, .n_providers = 1 };
		sup.id = (char *)"full-b";
		sup.provider_id = (char *)"acme";
		other.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
		other.supply = &sup;
		CHECK(!scenariod_event_visible(&c, &other));
	}
	henv_clear_events(&SCEN);
}

TEST(scoped_list_pages_end_early_past_too_many_unseen)
{
	/* More of Northern Steel's scenarios sort before Southern Glass's
	 * than a scoped page passes over: the first page ends early, empty,
	 * with a cursor, and following it finds the rest. */
	for (int i = 0; i < SCEN_LIST_SKIP_MAX + 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "bulk-%04d", i);
		CHECK_EQ_INT(scenario(id, TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION, "cap-a", NULL), 0);
	}
	henv_clear_events(&SCEN);
	reader(SG, NULL);
	Traction__V1__ScenarioListReply *r = list_page(NULL, NULL, 10, NULL);
	CHECK_EQ_INT(r->n_scenarios, 0);
	CHECK(r->next_cursor != NULL && r->next_cursor[0] != '\0');
	henv_reset(&SCEN);
	size_t pages;
	CHECK_STR(list_ids(NULL, NULL, 10, &pages), "glass-cutting,zz-float");
	CHECK_EQ_INT(pages, 2);
	CHECK_STR(list_ids(NULL, "cap-a", 10, &pages), "glass-cutting");
	CHECK_EQ_INT(pages, 2);
	/* unscoped, an enterprise filter scans on as before: one page */
	reader(NULL, NULL);
	CHECK_STR(list_ids(SG, NULL, 10, &pages), "glass-cutting,zz-float");
	CHECK_EQ_INT(pages, 1);
	/* a provider is not bounded either: it sees every one it scans */
	reader(NULL, "some-provider");
	r = list_page(NULL, NULL, 1000, NULL);
	CHECK_EQ_INT(r->n_scenarios, 1000);
	CHECK_STR(r->scenarios[0]->id, "bulk-0000");
	henv_reset(&SCEN);
	reader(NULL, NULL);
}

int main(void)
{
	const char *dir = check_tmpdir("trc-scenariod");
	char a[200], b[200];
	snprintf(a, sizeof(a), "%s/supplyd", dir);
	snprintf(b, sizeof(b), "%s/scenariod", dir);
	henv_open(&SUP, a, &supplyd_dbs, "supply");
	henv_open(&SCEN, b, &scenariod_dbs, "scenario");
	RUN(scenario_validation);
	RUN(matching_ranks_by_coverage_constraints_evidence);
	RUN(retired_supply_is_not_matched);
	RUN(gaps_show_unserved_demand);
	RUN(coverage_dominates_evidence_and_reasons_say_the_order);
	RUN(scoped_readers_see_their_enterprise_and_providers_see_all);
	RUN(scoped_list_pages_end_early_past_too_many_unseen);
	henv_close(&SUP);
	henv_close(&SCEN);
	DONE();
}
