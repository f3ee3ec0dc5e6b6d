/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keys every daemon's databases hold, byte for byte, after one small
 * story through the handlers and the events between the daemons: a
 * provider and a supply, a scenario, a version and a deployment, a
 * record of each kind and the evidence they make, a note. Each database's
 * keys are written here as literals, so a change of a key's layout (its
 * parts, their order, a separator) turns this test red instead of
 * leaving the stores already on disk unreadable: such a change is a new
 * schema version and a migration (docs/architecture.md, "A daemon's
 * store"). The literals are the bytes the daemons wrote before dbkey.h.
 */
#include <string.h>

#include "check.h"
#include "error.h"
#include "exampled.h"
#include "feedbackd.h"
#include "henv.h"
#include "iterationd.h"
#include "scenariod.h"
#include "supplyd.h"
#include "util.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static henv_t SUP, SCEN, FB, IT, EX;
static fb_state_t s_fb;
static it_state_t s_it;

typedef struct {
	const char *k;
	size_t n;
} lkey_t;

/* A key as a literal (which may hold NULs): its bytes without the final NUL. */
#define K(lit) { (lit), sizeof(lit) - 1 }
#define KEYS(...) \
	(const lkey_t[]){ __VA_ARGS__ }, sizeof((lkey_t[]){ __VA_ARGS__ }) / sizeof(lkey_t)
/* The record ids and event sequences, as big-endian u64s. */
#define BE(n) "\0\0\0\0\0\0\0" n

static void s_print(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = ((const unsigned char *)p)[i];
		fprintf(stderr, c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
	}
	fputc('\n', stderr);
}

/* Every key of a database, in order, is want's. */
static void s_keys(henv_t *e, const trc_db_t *db, const lkey_t *want, size_t n)
{
	trc_txn_t txn;
	trc_iter_t it;
	size_t i = 0;
	CHECK_EQ_INT(trc_txn_begin(e->store, &txn, false), 0);
	CHECK_EQ_INT(trc_iter_begin(&txn, db, &it, NULL, 0, NULL, 0, false), 0);
	for (; trc_iter_next(&it); i++) {
		bool same = i < n && want[i].n == it.key.mv_size &&
			    memcmp(want[i].k, it.key.mv_data, want[i].n) == 0;
		if (!same) {
			fprintf(stderr, "%s, key %zu: ", trc_db_name(db), i);
			s_print(it.key.mv_data, it.key.mv_size);
			if (i < n) {
				fprintf(stderr, "  expected: ");
				s_print(want[i].k, want[i].n);
			}
		}
		CHECK(same);
	}
	CHECK_MSG(i == n, "%s: %zu keys, expected %zu", trc_db_name(db), i, n);
	trc_iter_end(&it);
	trc_txn_abort(&txn);
}

/* Which databases of each daemon have been checked: every one must be. */
static henv_t *const s_envs[] = { &SUP, &SCEN, &FB, &IT, &EX };
static bool s_checked[5][64];

static void s_own(henv_t *e, unsigned i, const lkey_t *want, size_t n)
{
	for (size_t d = 0; d < 5; d++)
		if (s_envs[d] == e && i < 64)
			s_checked[d][i] = true;
	s_keys(e, trc_store_db(e->store, i), want, n);
}

/* A database added to a daemon's table without its keys here fails. */
static void s_all_checked(void)
{
	const trc_dbs_t *dbs[] = { &supplyd_dbs, &scenariod_dbs, &feedbackd_dbs, &iterationd_dbs,
				   &exampled_dbs };
	for (size_t d = 0; d < 5; d++)
		for (size_t i = 0; i < dbs[d]->n; i++)
			CHECK_MSG(s_checked[d][i], "database '%s' has no layout checked here",
				  dbs[d]->decl[i].name);
}

static bool s_sys_checked[TRC_SYSDB_COUNT];

static void s_sys(henv_t *e, unsigned i, const lkey_t *want, size_t n)
{
	if (i < TRC_SYSDB_COUNT)
		s_sys_checked[i] = true;
	s_keys(e, trc_store_sysdb(e->store, i), want, n);
}

/* The store's own databases too, in one daemon's store at least. */
static void s_all_sys_checked(void)
{
	for (unsigned i = 0; i < TRC_SYSDB_COUNT; i++)
		CHECK_MSG(s_sys_checked[i], "the store's database '%s' has no layout checked here",
			  trc_db_name(trc_store_sysdb(SUP.store, i)));
}

/* The daemon's event keys, and its log opened as the runtime opens it. */
static void s_keyed(henv_t *e, trc_evlog_keys_fn keys)
{
	trc_txn_t txn;
	trc_evlog_set_keys(e->evlog, keys);
	CHECK_EQ_INT(trc_txn_begin(e->store, &txn, true), 0);
	CHECK_EQ_INT(trc_evlog_open(e->evlog, &txn), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
}

/* ---- the story ------------------------------------------------------------------- */

static void s_catalogue(void)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest preq = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	Traction__V1__ProviderReply prep;
	p.id = (char *)"lay-p";
	p.name = (char *)"Layouts";
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	preq.provider = &p;
	CHECK_EQ_INT(henv_call(&SUP, supplyd_provider_register, true, &preq, &prep,
			       &traction__v1__provider_reply__descriptor),
		     0);
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sreq = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	Traction__V1__SupplyReply srep;
	char *caps[] = { (char *)"lay-cap", (char *)"lay-cap2" };
	s.id = (char *)"lay-s";
	s.provider_id = (char *)"lay-p";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)"A supply";
	s.capabilities = caps;
	s.n_capabilities = 2;
	s.initial_version = (char *)"v1";
	sreq.supply = &s;
	CHECK_EQ_INT(henv_call(&SUP, supplyd_supply_register, true, &sreq, &srep,
			       &traction__v1__supply_reply__descriptor),
		     0);

	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	Traction__V1__ScenarioReply rep;
	sc.id = (char *)"lay-sc";
	sc.enterprise = (char *)"Layouts Steel";
	sc.domain = TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION;
	sc.name = (char *)"A scenario";
	d.capabilities = caps;
	d.n_capabilities = 1;
	sc.demands = &dp;
	sc.n_demands = 1;
	req.scenario = &sc;
	CHECK_EQ_INT(henv_call(&SCEN, scenariod_submit, true, &req, &rep,
			       &traction__v1__scenario_reply__descriptor),
		     0);
}

static void s_versions(void)
{
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	Traction__V1__IterationReply rep;
	it.supply_id = (char *)"lay-s";
	it.version = (char *)"v2";
	it.parent_version = (char *)"v1";
	it.notes = (char *)"notes";
	req.iteration = &it;
	CHECK_EQ_INT(henv_call(&IT, iterationd_record, true, &req, &rep,
			       &traction__v1__iteration_reply__descriptor),
		     0);
	Traction__V1__DeploymentAdoptRequest ad = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	Traction__V1__DeploymentReply drep;
	ad.scenario_id = (char *)"lay-sc";
	ad.supply_id = (char *)"lay-s";
	ad.version = (char *)"v1";
	CHECK_EQ_INT(henv_call(&IT, iterationd_adopt, true, &ad, &drep,
			       &traction__v1__deployment_reply__descriptor),
		     0);
	CHECK_STR(drep.deployment->id, "dep-1");
}

static int s_tick(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	return feedbackd_tick(call);
}

/* Feedbackd's policies: an alert rule that fires on the story's metric
 * at the next tick, a retention override and a hold on the scenario. */
static void s_policies(void)
{
	Traction__V1__AlertRule r = TRACTION__V1__ALERT_RULE__INIT;
	Traction__V1__AlertAddRequest areq = TRACTION__V1__ALERT_ADD_REQUEST__INIT;
	Traction__V1__AlertRuleReply arep;
	r.id = (char *)"lay-r";
	r.kind = TRACTION__V1__ALERT_KIND__ALERT_METRIC;
	r.supply_id = (char *)"lay-s";
	r.metric = (char *)"lay-m";
	r.comparison = TRACTION__V1__COMPARISON__CMP_GT;
	r.threshold = -1e15;
	areq.rule = &r;
	CHECK_EQ_INT(henv_call(&FB, feedbackd_alert_add, true, &areq, &arep,
			       &traction__v1__alert_rule_reply__descriptor),
		     0);
	Traction__V1__RetentionSetRequest rreq = TRACTION__V1__RETENTION_SET_REQUEST__INIT;
	Traction__V1__RetentionSetReply rrep;
	rreq.scenario_id = (char *)"lay-sc";
	rreq.kind = TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC;
	rreq.days = 30;
	CHECK_EQ_INT(henv_call(&FB, feedbackd_retention_set, true, &rreq, &rrep,
			       &traction__v1__retention_set_reply__descriptor),
		     0);
	Traction__V1__Hold h = TRACTION__V1__HOLD__INIT;
	Traction__V1__HoldAddRequest hreq = TRACTION__V1__HOLD_ADD_REQUEST__INIT;
	Traction__V1__HoldReply hrep;
	h.scenario_id = (char *)"lay-sc";
	h.reason = (char *)"an audit";
	hreq.hold = &h;
	CHECK_EQ_INT(henv_call(&FB, feedbackd_hold_add, true, &hreq, &hrep,
			       &traction__v1__hold_reply__descriptor),
		     0);
}

/* A record of each kind in one batch: a metric (with an idempotency
 * key), a problem, a value verification, a demand. */
static void s_feedback(void)
{
	Traction__V1__FeedbackRecord r[4], *rp[4];
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__Problem pr = TRACTION__V1__PROBLEM__INIT;
	Traction__V1__ValueVerification v = TRACTION__V1__VALUE_VERIFICATION__INIT;
	Traction__V1__DemandSignal d = TRACTION__V1__DEMAND_SIGNAL__INIT;
	char *caps[] = { (char *)"lay-cap" };
	for (int i = 0; i < 4; i++) {
		traction__v1__feedback_record__init(&r[i]);
		r[i].scenario_id = (char *)"lay-sc";
		r[i].supply_id = (char *)"lay-s";
		r[i].version = (char *)"v1";
		r[i].observed_at_ms = 1764321400000; /* 2025-11-28T09:16:40Z */
		rp[i] = &r[i];
	}
	r[0].idempotency_key = (char *)"k1";
	m.name = (char *)"lay-m";
	m.value = 3;
	r[0].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r[0].metric = &m;
	pr.severity = TRACTION__V1__SEVERITY__SEVERITY_HIGH;
	pr.title = (char *)"a problem";
	pr.signature = (char *)"lay-sig";
	r[1].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	r[1].problem = &pr;
	v.kpi = (char *)"scrap_rate";
	v.baseline = 0.05;
	v.achieved = 0.03;
	r[2].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
	r[2].value = &v;
	d.text = (char *)"a demand";
	d.capabilities = caps;
	d.n_capabilities = 1;
	r[3].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
	r[3].demand = &d;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply rep;
	req.records = rp;
	req.n_records = 4;
	CHECK_EQ_INT(henv_call(&FB, feedbackd_publish, true, &req, &rep,
			       &traction__v1__publish_reply__descriptor),
		     0);
	for (int i = 0; i < 4; i++)
		CHECK_MSG(rep.results[i]->status->code == 0, "record %d: %s", i,
			  rep.results[i]->status->message);
}

static void s_note(void)
{
	Traction__Example__V1__NoteAddRequest req = TRACTION__EXAMPLE__V1__NOTE_ADD_REQUEST__INIT;
	Traction__Example__V1__Note rep;
	req.supply = (char *)"lay-s";
	req.text = (char *)"a note";
	CHECK_EQ_INT(henv_call(&EX, exampled_methods[0].handler, true, &req, &rep,
			       &traction__example__v1__note__descriptor),
		     0);
}

/* ---- what each store holds ---------------------------------------------------------- */

static void s_check_supplyd(void)
{
	s_own(&SUP, SUPPLYD_DB_PROVIDERS, KEYS(K("lay-p")));
	s_own(&SUP, SUPPLYD_DB_SUPPLIES, KEYS(K("lay-s")));
	s_own(&SUP, SUPPLYD_DB_BY_PROVIDER, KEYS(K("lay-p\0lay-s")));
	s_own(&SUP, SUPPLYD_DB_BY_CAP, KEYS(K("lay-cap\0lay-s"), K("lay-cap2\0lay-s")));
	s_sys(&SUP, TRC_SYSDB_META, KEYS(K("events_unindexed"), K("schema_version")));
	s_sys(&SUP, TRC_SYSDB_EVENTS, KEYS(K(BE("\x01")), K(BE("\x02"))));
	s_sys(&SUP, TRC_SYSDB_EVENT_KEYS, KEYS(K("provider\0lay-p"), K("supply\0lay-s")));
	s_sys(&SUP, TRC_SYSDB_POSITIONS, NULL, 0);
}

static void s_check_scenariod(void)
{
	s_own(&SCEN, SCEN_DB_SCENARIOS, KEYS(K("lay-sc")));
	s_own(&SCEN, SCEN_DB_BY_CAP, KEYS(K("lay-cap\0lay-sc")));
	s_own(&SCEN, SCEN_DB_OPEN_BY_CAP, KEYS(K("lay-cap\0lay-sc")));
	s_own(&SCEN, SCEN_DB_SUPPLIES, KEYS(K("lay-s")));
	s_own(&SCEN, SCEN_DB_SUPPLY_CAP, KEYS(K("lay-cap\0lay-s"), K("lay-cap2\0lay-s")));
	s_own(&SCEN, SCEN_DB_EVIDENCE, KEYS(K("lay-s")));
	s_own(&SCEN, SCEN_DB_EV_VERSION, KEYS(K("lay-s\0v1")));
	s_own(&SCEN, SCEN_DB_DEPLOYMENTS, KEYS(K("dep-1")));
	s_own(&SCEN, SCEN_DB_DEMAND, KEYS(K("lay-cap")));
	s_sys(&SCEN, TRC_SYSDB_EVENTS, KEYS(K(BE("\x01"))));
	s_sys(&SCEN, TRC_SYSDB_EVENT_KEYS, KEYS(K("scenario\0lay-sc")));
	s_sys(&SCEN, TRC_SYSDB_POSITIONS, KEYS(K("feedback"), K("iteration"), K("supply")));
}

static void s_check_iterationd(void)
{
	s_own(&IT, IT_DB_VERSIONS, KEYS(K("lay-s\0v1"), K("lay-s\0v2")));
	s_own(&IT, IT_DB_SUPPLIES, KEYS(K("lay-s")));
	s_own(&IT, IT_DB_SCENARIOS, KEYS(K("lay-sc")));
	s_own(&IT, IT_DB_DEPLOYMENTS, KEYS(K("dep-1")));
	s_own(&IT, IT_DB_DEP_BY_VERSION, KEYS(K("lay-s\0v1\0dep-1")));
	s_own(&IT, IT_DB_DEP_BY_SCENARIO, KEYS(K("lay-sc\0dep-1")));
	s_own(&IT, IT_DB_TRANSITIONS, KEYS(K("dep-1\0" BE("\x01"))));
	s_own(&IT, IT_DB_EVIDENCE, KEYS(K("lay-s\0v1\0"), K("lay-s\0v1\0lay-sc")));
	s_own(&IT, IT_DB_PROBLEMS, KEYS(K("lay-s\0lay-sig")));
	s_sys(&IT, TRC_SYSDB_POSITIONS, KEYS(K("feedback"), K("scenario"), K("supply")));
	s_sys(&IT, TRC_SYSDB_EVENT_KEYS, KEYS(K("deployment\0dep-1"), K("iteration\0lay-s\0v1"), K("iteration\0lay-s\0v2")));
}

/* (s, v, sc) at the four levels, then its metric, then the metric's hour
 * (granularity 1) and day (2) buckets: 09:00 and 00:00 of 2025-11-28. */
#define HOUR "\x01\x00\x00\x01\x9a\xc9\xb0\xd2\x80"
#define DAY "\x02\x00\x00\x01\x9a\xc7\xc2\x70\x00"

static void s_check_feedbackd(void)
{
	s_own(&FB, FB_DB_RECORDS, KEYS(K(BE("\x01")), K(BE("\x02")), K(BE("\x03")), K(BE("\x04"))));
	s_own(&FB, FB_DB_IDEM, KEYS(K("test\0lay-sc\0lay-s\0v1\0k1")));
	s_own(&FB, FB_DB_BY_SUPPLY, KEYS(K("lay-s\0" BE("\x01"))));
	s_own(&FB, FB_DB_BY_SCENARIO, KEYS(K("lay-sc\0" BE("\x01"))));
	s_own(&FB, FB_DB_REF_SUPPLY, KEYS(K("lay-s")));
	s_own(&FB, FB_DB_REF_VERSION, KEYS(K("lay-s\0v1"), K("lay-s\0v2")));
	s_own(&FB, FB_DB_REF_SCENARIO, KEYS(K("lay-sc")));
	s_own(&FB, FB_DB_REF_MARK, NULL, 0);
	s_own(&FB, FB_DB_AGG,
	      KEYS(K("lay-s\0\0\0lay-m"), K("lay-s\0\0lay-sc\0lay-m"), K("lay-s\0v1\0\0lay-m"),
		   K("lay-s\0v1\0lay-sc\0lay-m")));
	s_own(&FB, FB_DB_TREND,
	      KEYS(K("lay-s\0\0\0lay-m\0" HOUR), K("lay-s\0\0\0lay-m\0" DAY),
		   K("lay-s\0\0lay-sc\0lay-m\0" HOUR), K("lay-s\0\0lay-sc\0lay-m\0" DAY),
		   K("lay-s\0v1\0\0lay-m\0" HOUR), K("lay-s\0v1\0\0lay-m\0" DAY),
		   K("lay-s\0v1\0lay-sc\0lay-m\0" HOUR), K("lay-s\0v1\0lay-sc\0lay-m\0" DAY)));
	s_own(&FB, FB_DB_EVIDENCE,
	      KEYS(K("lay-s\0\0"), K("lay-s\0\0lay-sc"), K("lay-s\0v1\0"), K("lay-s\0v1\0lay-sc")));
	s_own(&FB, FB_DB_PROBLEMS, KEYS(K("lay-s\0lay-sig")));
	s_own(&FB, FB_DB_PROB_AT,
	      KEYS(K("lay-s\0\0\0lay-sig"), K("lay-s\0\0lay-sc\0lay-sig"),
		   K("lay-s\0v1\0\0lay-sig"), K("lay-s\0v1\0lay-sc\0lay-sig")));
	s_own(&FB, FB_DB_PROB_WHERE,
	      KEYS(K("lay-s\0lay-sig\0\0"), K("lay-s\0lay-sig\0\0lay-sc"),
		   K("lay-s\0lay-sig\0v1\0"), K("lay-s\0lay-sig\0v1\0lay-sc")));
	s_own(&FB, FB_DB_DEMANDS, KEYS(K("lay-cap")));
	s_own(&FB, FB_DB_DEMAND_SUPPLY, KEYS(K("lay-s\0lay-cap")));
	s_own(&FB, FB_DB_DIRTY, NULL, 0);
	s_own(&FB, FB_DB_ALERT_RULES, KEYS(K("lay-r")));
	s_own(&FB, FB_DB_ALERTS, KEYS(K("lay-r\0")));
	s_own(&FB, FB_DB_ALERT_LOG, KEYS(K(BE("\x01"))));
	/* supply, version, scenario, metric, be64 window_ms (300,000) */
	s_own(&FB, FB_DB_ALERT_WIN, KEYS(K("lay-s\0\0\0lay-m\0\0\0\0\0\0\x04\x93\xe0")));
	s_own(&FB, FB_DB_ALERT_META, KEYS(K("next_id")));
	s_own(&FB, FB_DB_DEPLOYS, KEYS(K("lay-sc\0lay-s")));
	s_own(&FB, FB_DB_TARGETS, KEYS(K("lay-sc")));
	s_own(&FB, FB_DB_RET_SCENARIO, KEYS(K("lay-sc\0\x01")));
	s_own(&FB, FB_DB_HOLDS, KEYS(K("lay-sc\0")));
	s_own(&FB, FB_DB_RET_META, KEYS(K("pass")));
	s_own(&FB, FB_DB_IDEM_LATE, NULL, 0); /* be64 record id: no key outlived its record */
	s_sys(&FB, TRC_SYSDB_POSITIONS, KEYS(K("iteration"), K("scenario"), K("supply")));
	s_sys(&FB, TRC_SYSDB_AUDIT, KEYS(K(BE("\x01")), K(BE("\x02")), K(BE("\x03"))));
	s_sys(&FB, TRC_SYSDB_EVENT_KEYS,
	      KEYS(K("alert\0" "1"), K("demand\0lay-cap"), K("evidence\0lay-s\0v1\0"),
		   K("evidence\0lay-s\0v1\0lay-sc"), K("problem\0lay-s\0lay-sig")));
}

static void s_check_exampled(void)
{
	s_own(&EX, EX_DB_SUPPLIES, KEYS(K("lay-s")));
	s_own(&EX, EX_DB_NOTES, KEYS(K("lay-s\0" BE("\x01"))));
	s_sys(&EX, TRC_SYSDB_EVENT_KEYS, NULL, 0); /* a note names no record */
}

TEST(every_database_holds_the_keys_of_its_layout)
{
	/* each source's events to the daemons that consume them */
	henv_t *const sup_to[] = { &SCEN, &FB, &IT, &EX };
	const henv_apply_fn sup_by[] = { scenariod_apply, feedbackd_apply, iterationd_apply,
					 exampled_apply };
	henv_t *const scen_to[] = { &FB, &IT }, *const it_to[] = { &FB, &SCEN };
	henv_t *const fb_to[] = { &SCEN, &IT };
	const henv_apply_fn scen_by[] = { feedbackd_apply, iterationd_apply };
	const henv_apply_fn it_by[] = { feedbackd_apply, scenariod_apply };
	const henv_apply_fn fb_by[] = { scenariod_apply, iterationd_apply };
	s_catalogue();
	henv_feed_to(&SUP, sup_to, sup_by, 4);
	henv_feed_to(&SCEN, scen_to, scen_by, 2);
	s_versions();
	henv_feed_to(&IT, it_to, it_by, 2);
	s_policies();
	s_feedback();
	/* owed evidence, marked in the batch's transaction ... */
	s_own(&FB, FB_DB_DIRTY, KEYS(K("lay-s\0v1\0"), K("lay-s\0v1\0lay-sc")));
	/* ... sent by the next tick */
	Traction__V1__Empty none = TRACTION__V1__EMPTY__INIT, out;
	CHECK_EQ_INT(henv_call(&FB, s_tick, true, &none, &out, &traction__v1__empty__descriptor),
		     0);
	s_own(&FB, FB_DB_DIRTY, NULL, 0);
	henv_feed_to(&FB, fb_to, fb_by, 2);
	s_note();
	s_check_supplyd();
	s_check_scenariod();
	s_check_iterationd();
	s_check_feedbackd();
	s_check_exampled();
	s_all_checked();
	s_all_sys_checked();
}

int main(void)
{
	henv_open(&SUP, check_tmpdir("trc-lay-sup"), &supplyd_dbs, "supply");
	henv_open(&SCEN, check_tmpdir("trc-lay-scen"), &scenariod_dbs, "scenario");
	henv_open(&FB, check_tmpdir("trc-lay-fb"), &feedbackd_dbs, "feedback");
	henv_open(&IT, check_tmpdir("trc-lay-it"), &iterationd_dbs, "iteration");
	henv_open(&EX, check_tmpdir("trc-lay-ex"), &exampled_dbs, "note");
	s_keyed(&SUP, supplyd_event_keys);
	s_keyed(&SCEN, scenariod_event_keys);
	s_keyed(&FB, feedbackd_event_keys);
	s_keyed(&IT, iterationd_event_keys);
	s_keyed(&EX, exampled_event_keys);
	CHECK_EQ_INT(feedbackd_open(&s_fb, FB.store, NULL), 0);
	FB.user = &s_fb;
	FB.batch_end = feedbackd_batch_end;
	FB.batch_done = feedbackd_batch_done;
	IT.user = &s_it;
	RUN(every_database_holds_the_keys_of_its_layout);
	feedbackd_close(&s_fb);
	iterationd_close(&s_it);
	henv_close(&SUP);
	henv_close(&SCEN);
	henv_close(&FB);
	henv_close(&IT);
	henv_close(&EX);
	DONE();
}
