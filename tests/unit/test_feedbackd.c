/*
 * traction-feedbackd's handlers on a real store: validation of each kind
 * with the field named, references known from events, closed scenarios,
 * a publisher's scope, batch statuses, idempotent retries scoped per
 * client, scenario, supply and version (a reused key refused), aggregates equal to those computed directly from the published
 * values at every key level (quantiles within 1%), a problem opened,
 * addressed by an iteration and re-opened as a regression, demand signals,
 * and coalesced evidence events.
 */
#include <math.h>

#include "check.h"
#include "error.h"
#include "feedbackd.h"
#include "henv.h"
#include "util.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static henv_t E;
static uint64_t s_seq[3];

static void apply(Traction__V1__Event *ev, int src)
{
	static const char *sources[] = { "supply", "scenario", "iteration" };
	ev->source = (char *)sources[src];
	ev->seq = ++s_seq[src];
	trc_txn_t txn;
	trc_txn_begin(E.store, &txn, true);
	trc_call_t call = { .txn = &txn, .arena = E.arena, .evlog = E.evlog, .role = 4,
			    .now_ms = E.now_ms };
	CHECK_EQ_INT(feedbackd_apply(&call, ev), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	/* what it emitted (problem state changes) is not looked at here */
	trc_evlog_rollback(E.evlog, 0);
}

static void known_supply(const char *id, const char *version)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)id;
	s.initial_version = (char *)version;
	s.status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE;
	ev.type = (char *)"supply.registered";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	apply(&ev, 0);
}

static void known_scenario(const char *id, int status)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	s.id = (char *)id;
	s.status = status;
	ev.type = (char *)"scenario.submitted";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &s;
	apply(&ev, 1);
}

static void iteration(const char *supply, const char *version, const char *parent,
		      const char *addresses)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	char *a = (char *)addresses;
	it.supply_id = (char *)supply;
	it.version = (char *)version;
	it.parent_version = (char *)parent;
	if (addresses != NULL) {
		it.addresses = &a;
		it.n_addresses = 1;
	}
	ev.type = (char *)"iteration.recorded";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ITERATION;
	ev.iteration = &it;
	apply(&ev, 2);
}

static void base(Traction__V1__FeedbackRecord *r, const char *scenario, const char *version,
		 const char *key)
{
	traction__v1__feedback_record__init(r);
	r->scenario_id = (char *)scenario;
	r->supply_id = (char *)"defect-vision";
	r->version = (char *)version;
	r->idempotency_key = (char *)key;
	r->observed_at_ms = E.now_ms - 3600000;
}

/* Publishes n records; returns the reply's results (arena). */
static Traction__V1__PublishReply *publish(Traction__V1__FeedbackRecord **recs, size_t n, int *rc)
{
	static Traction__V1__PublishReply rep;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	req.records = recs;
	req.n_records = n;
	*rc = henv_call(&E, feedbackd_publish, true, &req, &rep,
			&traction__v1__publish_reply__descriptor);
	return &rep;
}

static int publish_named(const char *metric, const char *scenario, const char *version,
			 double value, const char *key, Traction__V1__RecordResult *out)
{
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	base(&r, scenario, version, key);
	m.name = (char *)metric;
	m.value = value;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	int rc;
	Traction__V1__PublishReply *rep = publish(&rp, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->n_results, 1);
	if (out != NULL)
		*out = *rep->results[0];
	return rep->results[0]->status->code;
}

static int publish_metric(const char *scenario, const char *version, double value,
			  const char *key, Traction__V1__RecordResult *out)
{
	/* a metric no other test writes */
	return publish_named("scrap_ppm", scenario, version, value, key, out);
}

static int one(Traction__V1__FeedbackRecord *r, char *msg)
{
	int rc;
	Traction__V1__PublishReply *rep = publish(&r, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	snprintf(msg, 512, "%s", rep->results[0]->status->message);
	return rep->results[0]->status->code;
}

TEST(validation_and_references)
{
	known_supply("defect-vision", "1.0");
	known_scenario("weld-line-3", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	known_scenario("old-line", TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED);
	char msg[512];
	Traction__V1__FeedbackRecord r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__Problem p = TRACTION__V1__PROBLEM__INIT;
	Traction__V1__ValueVerification v = TRACTION__V1__VALUE_VERIFICATION__INIT;
	Traction__V1__DemandSignal d = TRACTION__V1__DEMAND_SIGNAL__INIT;

	base(&r, "weld-line-3", "1.0", "");
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(msg, "body: one of metric, problem, value or demand is required");

	m.name = (char *)"defect_rate";
	m.value = NAN;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(msg, "metric.value: must be a finite number");
	m.value = -INFINITY;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	m.value = 0.03;
	m.name = (char *)"defect rate";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(msg, "metric.name: must be");
	m.name = (char *)"defect_rate";

	r.observed_at_ms = E.now_ms + 2 * 86400000LL;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(msg, "observed_at_ms:");
	r.observed_at_ms = 0; /* means: now */

	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	r.problem = &p;
	p.title = (char *)"misses hairline cracks";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(msg, "problem.severity: required");
	p.severity = 7;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(msg, "problem.severity: 7 is not a traction.v1.Severity");

	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
	r.value = &v;
	v.kpi = (char *)"scrap_rate";
	v.baseline = 0;
	v.achieved = 0.03;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(msg, "value.baseline: must not be 0");
	v.baseline = 1e-10; /* an improvement of 3e10 percent is no measurement */
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(msg, "value.baseline: must not be 0 or of magnitude below 1e-09");
	v.baseline = 0.05;
	v.achieved = -2e15;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(msg, "value.achieved: must be a finite number of magnitude at most 1e+15, got "
		       "-2e+15");

	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
	r.demand = &d;
	d.text = (char *)"needs to run on the line PLC";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(msg, "demand.capabilities: name at least one");

	/* references (the body is a oneof: point it at the metric again) */
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	r.scenario_id = (char *)"nowhere";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(msg, "scenario_id: no scenario 'nowhere'");
	r.scenario_id = (char *)"old-line";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__FAILED_PRECONDITION);
	CHECK_STR(msg, "scenario_id: 'old-line' is closed and takes no more feedback");
	r.scenario_id = (char *)"weld-line-3";
	r.supply_id = (char *)"ghost";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(msg, "supply_id: no supply 'ghost'");
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"9.9";
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(msg, "version: supply 'defect-vision' has no version '9.9'");

	/* a publisher only writes to its scenarios */
	r.version = (char *)"1.0";
	char *scope[] = { (char *)"other-line" };
	E.role = TRACTION__V1__ROLE__ROLE_PUBLISHER;
	E.scenarios = scope;
	E.n_scenarios = 1;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_STR(msg, "scenario_id: this publisher may not write to 'weld-line-3'");
	E.role = TRACTION__V1__ROLE__ROLE_ADMIN;
	E.scenarios = NULL;
	E.n_scenarios = 0;
	CHECK_EQ_INT(one(&r, msg), 0);
	henv_reset(&E);
}

/* Lists every record (of a supply, of a scenario) through pages of
 * `limit`, their ids into ids[0..cap); how many. */
static size_t list_ids(const char *supply, const char *scenario, uint32_t limit, uint64_t *ids,
		       size_t cap)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__FeedbackListReply rep;
	char cursor[32] = "";
	size_t n = 0;
	q.supply_id = (char *)supply;
	q.scenario_id = (char *)scenario;
	page.limit = limit;
	q.page = &page;
	do {
		page.cursor = cursor;
		CHECK_EQ_INT(henv_call(&E, feedbackd_list, false, &q, &rep,
				       &traction__v1__feedback_list_reply__descriptor),
			     0);
		CHECK(rep.n_records <= limit);
		for (size_t i = 0; i < rep.n_records; i++, n++) {
			CHECK(supply == NULL || strcmp(rep.records[i]->supply_id, supply) == 0);
			CHECK(scenario == NULL || strcmp(rep.records[i]->scenario_id, scenario) == 0);
			if (n < cap)
				ids[n] = rep.records[i]->id;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep.next_cursor ? rep.next_cursor : "");
		henv_reset(&E);
	} while (cursor[0] != '\0');
	return n;
}

static size_t count_records(void)
{
	return list_ids(NULL, NULL, 1000, NULL, 0);
}

TEST(batches_and_idempotency)
{
	size_t before = count_records();
	Traction__V1__FeedbackRecord a, b, c, *recs[] = { &a, &b, &c };
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT, bad = TRACTION__V1__METRIC__INIT;
	m.name = (char *)"latency_ms";
	m.value = 41;
	bad.name = (char *)"latency_ms";
	bad.value = NAN;
	base(&a, "weld-line-3", "1.0", "k-a");
	base(&b, "weld-line-3", "1.0", "k-b");
	base(&c, "weld-line-3", "1.0", "k-c");
	a.body_case = b.body_case = c.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	a.metric = c.metric = &m;
	b.metric = &bad;
	int rc;
	Traction__V1__PublishReply *rep = publish(recs, 3, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->n_results, 3);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	CHECK_EQ_INT(rep->results[1]->status->code, TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(rep->results[2]->status->code, 0);
	uint64_t id_a = rep->results[0]->record_id, id_c = rep->results[2]->record_id;
	CHECK(id_a > 0 && id_c == id_a + 1);
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before + 2);

	/* the retry: same keys, same client -> the first ids, nothing stored */
	b.metric = &m;
	rep = publish(recs, 3, &rc);
	CHECK(rep->results[0]->duplicate && rep->results[0]->record_id == id_a);
	CHECK(!rep->results[1]->duplicate && rep->results[1]->status->code == 0);
	CHECK(rep->results[2]->duplicate && rep->results[2]->record_id == id_c);
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before + 3);

	/* another client's key space is its own */
	E.client_id = "site-7";
	rep = publish(recs, 1, &rc);
	CHECK(!rep->results[0]->duplicate);
	CHECK(rep->results[0]->record_id > id_c);
	E.client_id = NULL;
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before + 4);
}

/* Sites that know nothing of each other number their records alike: without
 * CurveZMQ they are all "anonymous", so a key is scoped by scenario, supply
 * and version too. And a key reused for another record is refused, not
 * reported as a duplicate of the first (whose value would be dropped). */
TEST(keys_are_scoped_and_never_reused)
{
	known_scenario("weld-line-4", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	iteration("defect-vision", "1.1", "1.0", NULL);
	size_t before = count_records();
	Traction__V1__RecordResult first, other, r;
	CHECK_EQ_INT(publish_named("key_ppm", "weld-line-3", "1.0", 0.03, "1", &first), 0);
	CHECK(!first.duplicate);
	henv_reset(&E);
	CHECK_EQ_INT(publish_named("key_ppm", "weld-line-4", "1.0", 0.05, "1", &other), 0);
	CHECK_MSG(!other.duplicate && other.record_id != first.record_id,
		  "a second site's key '1' took the first site's record");
	henv_reset(&E);
	CHECK_EQ_INT(publish_named("key_ppm", "weld-line-3", "1.1", 0.02, "1", &r), 0);
	CHECK(!r.duplicate);
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before + 3);

	/* the same key, scenario, supply and version, another value */
	char msg[512];
	int code = publish_named("key_ppm", "weld-line-3", "1.0", 0.5, "1", &r);
	snprintf(msg, sizeof(msg), "%s", r.status->message);
	CHECK_EQ_INT(code, TRACTION__V1__CODE__ALREADY_EXISTS);
	CHECK(!r.duplicate);
	CHECK_CONTAINS(msg, "idempotency_key: '1' already names record");
	CHECK_CONTAINS(msg, "a new record needs a new key");
	henv_reset(&E);
	/* the retry proper: the same bytes */
	CHECK_EQ_INT(publish_named("key_ppm", "weld-line-3", "1.0", 0.03, "1", &r), 0);
	CHECK(r.duplicate && r.record_id == first.record_id);
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before + 3);
}

/* A store of schema 1 keyed client '\0' key: opened by this build, each
 * key moves to its record's scope, in the transaction that opens it. */
TEST(schema_1_keys_move_to_their_scope)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/v1", check_tmpdir("trc-feedbackd-v1"));
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, feedbackd_dbs, 1), 0);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	r.id = 7;
	r.scenario_id = (char *)"weld-line-3";
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = (char *)"k-old";
	r.client_id = (char *)"site-7";
	uint8_t buf[256], id[8];
	size_t n = traction__v1__feedback_record__pack(&r, buf);
	trc_be64_put(id, 7);
	MDB_dbi recs = trc_store_db(st, FB_DB_RECORDS), idem = trc_store_db(st, FB_DB_IDEM);
	CHECK_EQ_INT(trc_txn_put(&txn, recs, id, 8, buf, n, 0), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, idem, "site-7\0k-old", 12, id, 8, 0), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, idem, "site-7\0k-gone", 13, "\0\0\0\0\0\0\0\x09", 8, 0),
		     0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);

	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, feedbackd_dbs, FB_SCHEMA_VERSION),
		     TRC_ECORRUPT); /* without a migration: refused, as before */
	CHECK_EQ_INT(trc_store_open_migrate(&st, path, 8 << 20, feedbackd_dbs, FB_SCHEMA_VERSION,
					    fb_migrate),
		     0);
	char key[FB_KEY_MAX];
	size_t kl = fb_idem_key(key, sizeof(key), "site-7", &r);
	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, idem, key, kl, &v), 0);
	CHECK_EQ_INT(v.mv_size, 8);
	CHECK_EQ_INT(trc_be64_get(v.mv_data), 7);
	CHECK_EQ_INT(trc_txn_get(&txn, idem, "site-7\0k-old", 12, &v), TRC_ENOENT);
	/* a key whose record is gone has nothing left to answer */
	CHECK_EQ_INT(trc_txn_get(&txn, idem, "site-7\0k-gone", 13, &v), TRC_ENOENT);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, feedbackd_dbs, FB_SCHEMA_VERSION), 0);
	/* an aggregate row and a trend row as schema 1 wrote them: count 4,
	 * sum 10, sum of squares 30 (1, 2, 3, 4) */
	struct {
		uint32_t version, nbuckets;
		uint64_t count;
		double sum, sumsq, min, max;
		int64_t first_ms, last_ms;
		uint64_t zero;
	} v1 = { 0x41470001u, 0, 4, 10, 30, 1, 4, 5, 6, 0 };
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(st, FB_DB_AGG), "k", 1, &v1, sizeof(v1), 0), 0);
	fb_agg_t a;
	CHECK_EQ_INT(fb_agg_load(&txn, "k", 1, &a), 0);
	Traction__V1__MetricStats ms = TRACTION__V1__METRIC_STATS__INIT;
	fb_agg_stats(&a, &ms);
	fb_agg_free(&a);
	CHECK(ms.count == 4 && ms.sum == 10 && ms.mean == 2.5 && ms.min == 1 && ms.max == 4);
	CHECK(fabs(ms.stddev - sqrt(1.25)) < 1e-12 && fabs(ms.sum_squares - 30) < 1e-12);
	fb_moments_t m;
	CHECK_EQ_INT(fb_moments_read(&v1.count, 40, &m), 0);
	CHECK(m.count == 4 && m.mean == 2.5 && fb_moments_stddev(&m) == sqrt(1.25));
	CHECK_EQ_INT(fb_moments_read(&v1.count, 41, &m), TRC_ECORRUPT);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

static Traction__V1__MetricStats *stats_of(const char *metric)
{
	static Traction__V1__StatsReply rep;
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	q.metric = (char *)metric;
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &rep,
			       &traction__v1__stats_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_metrics, 1);
	return rep.metrics[0]->stats;
}

/* Values are accepted up to a magnitude of 1e15 and refused beyond (a
 * value of 1e154 once made the sum of squares infinite and the stddev 0,
 * 1e308 the sum, mean and p50 too); within the range the aggregates stay
 * accurate where a sum of squares loses everything. */
TEST(values_at_the_edges)
{
	Traction__V1__RecordResult r;
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", 1e15, NULL, &r), 0);
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", -1e15, NULL, &r), 0);
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", 1.0000001e15, NULL, &r),
		     TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(r.status->message, "metric.value: must be a finite number of magnitude at "
					  "most 1e+15, got 1e+15");
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", 1e154, NULL, &r),
		     TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", -1e308, NULL, &r),
		     TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(publish_named("edge_big", "weld-line-3", "1.0", 1e15, NULL, &r), 0);
	henv_reset(&E);
	Traction__V1__MetricStats *st = stats_of("edge_big");
	CHECK_EQ_INT(st->count, 3);
	CHECK(st->sum == 1e15 && st->max == 1e15 && st->min == -1e15);
	CHECK(fabs(st->mean - 1e15 / 3) <= 1);
	/* population stddev of {1e15, -1e15, 1e15}: sqrt(8/9) 1e15 */
	CHECK_MSG(fabs(st->stddev - sqrt(8.0 / 9.0) * 1e15) <= 1e15 * 1e-12, "stddev %g",
		  st->stddev);
	CHECK(isfinite(st->sum_squares) && isfinite(st->p50) && fabs(st->p50 - 1e15) <= 1e13);
	henv_reset(&E);

	/* a gauge near 1e9 that moves by tenths: its spread is the whole
	 * point, and sum of squares minus squared sum cancels it away */
	double vals[200], sum = 0;
	for (int i = 0; i < 200; i++) {
		vals[i] = 1e9 + 0.1 * (i % 7);
		sum += vals[i];
		CHECK_EQ_INT(publish_named("edge_gauge", "weld-line-3", "1.0", vals[i], NULL, NULL),
			     0);
		henv_reset(&E);
	}
	double mean = sum / 200, m2 = 0;
	for (int i = 0; i < 200; i++)
		m2 += (vals[i] - mean) * (vals[i] - mean);
	double sd = sqrt(m2 / 200);
	st = stats_of("edge_gauge");
	CHECK_MSG(fabs(st->stddev - sd) <= sd * 1e-6, "stddev %.9g, exact %.9g", st->stddev, sd);
	CHECK(fabs(st->mean - mean) <= 1e-6);
	henv_reset(&E);

	/* large values that cancel, small ones between: a plain sum keeps
	 * 0.125 of each 0.1 */
	for (int i = 0; i < 10; i++) {
		CHECK_EQ_INT(publish_named("edge_sum", "weld-line-3", "1.0", 1e15, NULL, NULL), 0);
		CHECK_EQ_INT(publish_named("edge_sum", "weld-line-3", "1.0", 0.1, NULL, NULL), 0);
		CHECK_EQ_INT(publish_named("edge_sum", "weld-line-3", "1.0", -1e15, NULL, NULL), 0);
		henv_reset(&E);
	}
	st = stats_of("edge_sum");
	CHECK_MSG(fabs(st->sum - 1.0) <= 1e-9, "sum %.17g, exact 1", st->sum);
	henv_reset(&E);
}

/* A retry is idempotent even when the record would now be refused: the
 * site sent it while the scenario was open, its reply got lost, and the
 * scenario closed before the retry. It gets the first id; a new record is
 * refused. */
TEST(a_retry_after_the_scenario_closed_gets_its_record)
{
	Traction__V1__FeedbackRecord r, *recs[] = { &r };
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	m.name = (char *)"cycle_s";
	m.value = 12;
	known_scenario("press-line-9", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	base(&r, "press-line-9", "1.0", "k-before-closing");
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	int rc;
	Traction__V1__PublishReply *rep = publish(recs, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	uint64_t id = rep->results[0]->record_id;
	henv_reset(&E);
	size_t before = count_records();

	known_scenario("press-line-9", TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED);
	rep = publish(recs, 1, &rc);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	CHECK(rep->results[0]->duplicate);
	CHECK_EQ_INT(rep->results[0]->record_id, id);
	henv_reset(&E);
	r.idempotency_key = (char *)"k-after-closing";
	rep = publish(recs, 1, &rc);
	CHECK_EQ_INT(rep->results[0]->status->code, TRACTION__V1__CODE__FAILED_PRECONDITION);
	CHECK(!rep->results[0]->duplicate);
	henv_reset(&E);
	CHECK_EQ_INT(count_records(), before);
}

/* A record is stored as its bytes came with the service's fields after
 * them: what the service sets wins over what a client put there, and the
 * rest (labels, body) reads back as sent. */
TEST(stored_records_carry_the_services_fields)
{
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__KeyValue kv = TRACTION__V1__KEY_VALUE__INIT, *kvp = &kv;
	base(&r, "weld-line-3", "1.0", "forged-1");
	r.id = 424242;
	r.client_id = (char *)"someone-else";
	r.received_ms = 7;
	r.observed_at_ms = 0; /* the time of receipt */
	kv.key = (char *)"shift";
	kv.value = (char *)"night — 夜班";
	r.labels = &kvp;
	r.n_labels = 1;
	m.name = (char *)"seam_width_mm";
	m.value = 1.25;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	int rc;
	Traction__V1__PublishReply *rep = publish(&rp, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	uint64_t id = rep->results[0]->record_id;
	CHECK(id != 424242);
	henv_reset(&E);

	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply lrep;
	q.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, feedbackd_list, false, &q, &lrep,
			       &traction__v1__feedback_list_reply__descriptor),
		     0);
	Traction__V1__FeedbackRecord *got = NULL;
	for (size_t i = 0; i < lrep.n_records; i++)
		if (lrep.records[i]->id == id)
			got = lrep.records[i];
	CHECK(got != NULL);
	CHECK_STR(got->client_id, "test");
	CHECK_EQ_INT(got->received_ms, E.now_ms);
	CHECK_EQ_INT(got->observed_at_ms, E.now_ms);
	CHECK_STR(got->idempotency_key, "forged-1");
	CHECK_EQ_INT(got->n_labels, 1);
	CHECK_STR(got->labels[0]->value, "night — 夜班");
	CHECK_EQ_INT(got->body_case, TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC);
	CHECK_STR(got->metric->name, "seam_width_mm");
	CHECK(got->metric->value == 1.25);
	henv_reset(&E);
}

static int cmpd(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : (a > b ? 1 : 0);
}

static const char *s_stats_supply = "defect-vision";

static void check_stats(const char *version, const char *scenario, double *vals, size_t n)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply rep;
	q.supply_id = (char *)s_stats_supply;
	q.version = (char *)version;
	q.scenario_id = (char *)scenario;
	q.metric = (char *)"scrap_ppm";
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &rep,
			       &traction__v1__stats_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_metrics, 1);
	Traction__V1__MetricStats *st = rep.metrics[0]->stats;
	double sum = 0, sumsq = 0;
	for (size_t i = 0; i < n; i++) {
		sum += vals[i];
		sumsq += vals[i] * vals[i];
	}
	double mean = sum / (double)n;
	double sd = sqrt(sumsq / (double)n - mean * mean);
	qsort(vals, n, sizeof(double), cmpd);
	CHECK_EQ_INT(st->count, n);
	CHECK(fabs(st->sum - sum) <= 1e-9 * fabs(sum));
	CHECK(st->min == vals[0] && st->max == vals[n - 1]);
	CHECK(fabs(st->mean - mean) <= 1e-9 * fabs(mean));
	CHECK(fabs(st->stddev - sd) <= 1e-6 * sd);
	double qv[3] = { st->p50, st->p90, st->p99 }, qs[3] = { 0.5, 0.9, 0.99 };
	for (int i = 0; i < 3; i++) {
		double exact = vals[(size_t)floor(qs[i] * (double)(n - 1))];
		CHECK_MSG(fabs(qv[i] - exact) <= 0.01 * exact, "q%g: %g vs exact %g", qs[i], qv[i],
			  exact);
	}
	henv_reset(&E);
}

TEST(aggregates_equal_a_direct_computation)
{
	known_scenario("paint-shop", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	iteration("defect-vision", "1.1", "1.0", NULL);
	enum { N = 400 };
	static double all[N], v10[N], v11[N], weld[N], w10[N];
	size_t na = 0, n10 = 0, n11 = 0, nw = 0, nw10 = 0;
	uint64_t rng = 12345;
	for (int i = 0; i < N; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		double x = 0.005 + (double)(rng >> 11) / 9007199254740992.0 * 0.05;
		const char *ver = i % 3 ? "1.0" : "1.1";
		const char *sc = i % 2 ? "weld-line-3" : "paint-shop";
		CHECK_EQ_INT(publish_metric(sc, ver, x, NULL, NULL), 0);
		all[na++] = x;
		if (ver[2] == '0')
			v10[n10++] = x;
		else
			v11[n11++] = x;
		if (sc[0] == 'w') {
			weld[nw++] = x;
			if (ver[2] == '0')
				w10[nw10++] = x;
		}
	}
	henv_reset(&E);
	check_stats("1.0", "weld-line-3", w10, nw10); /* (s,v,sc) */
	check_stats("1.0", "", v10, n10);             /* (s,v,*) */
	check_stats("1.1", "", v11, n11);
	check_stats("", "weld-line-3", weld, nw);     /* (s,*,sc) */
	check_stats("", "", all, na);                 /* (s,*,*) */

	/* trends: hourly buckets hold the same count */
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply rep;
	q.supply_id = (char *)"defect-vision";
	q.metric = (char *)"scrap_ppm";
	q.granularity = TRACTION__V1__GRANULARITY__GRANULARITY_HOUR;
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &rep,
			       &traction__v1__stats_reply__descriptor),
		     0);
	uint64_t total = 0;
	for (size_t i = 0; i < rep.metrics[0]->n_trend; i++)
		total += rep.metrics[0]->trend[i]->count;
	CHECK_EQ_INT(total, na);
	henv_reset(&E);

	q.metric = (char *)"nope";
	q.granularity = 0;
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &rep,
			       &traction__v1__stats_reply__descriptor),
		     TRC_ENOENT);
	CHECK_CONTAINS(E.call.message, "metric: no 'nope' reported");
	henv_reset(&E);
}

/* One request whose records cycle through versions, scenarios, metrics and
 * hours: the batch cache resolves each series once and switches between
 * them record by record; every level and every hourly bucket must still
 * equal a direct computation. */
TEST(one_batch_of_interleaved_series)
{
	known_supply("press-vision", "2.0");
	iteration("press-vision", "2.1", "2.0", NULL);
	known_scenario("stamping", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	enum { N = 360, HOURS = 3 };
	static Traction__V1__FeedbackRecord recs[N], *rp[N];
	static Traction__V1__Metric ms[N];
	static double all[N], v20[N], st21[N];
	static uint64_t per_hour[HOURS];
	size_t na = 0, n20 = 0, n21 = 0;
	int64_t hour0 = (E.now_ms / 3600000 - HOURS) * 3600000;
	for (int i = 0; i < N; i++) {
		const char *ver = i % 2 ? "2.0" : "2.1";
		const char *sc = i % 3 ? "weld-line-3" : "stamping";
		bool scrap = i % 5 != 0;
		int h = (i / 7) % HOURS;
		base(&recs[i], sc, ver, NULL);
		recs[i].supply_id = (char *)"press-vision";
		recs[i].observed_at_ms = hour0 + h * 3600000 + 1000 * i;
		traction__v1__metric__init(&ms[i]);
		ms[i].name = (char *)(scrap ? "scrap_ppm" : "cycle_s");
		ms[i].value = 1.0 + (double)((i * 37) % 101);
		recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		recs[i].metric = &ms[i];
		rp[i] = &recs[i];
		if (!scrap)
			continue;
		all[na++] = ms[i].value;
		per_hour[h]++;
		if (ver[2] == '0')
			v20[n20++] = ms[i].value;
		else if (sc[0] == 's')
			st21[n21++] = ms[i].value;
	}
	int rc;
	Traction__V1__PublishReply *rep = publish(rp, N, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->n_results, N);
	for (size_t i = 0; i < rep->n_results; i++)
		CHECK_EQ_INT(rep->results[i]->status->code, 0);
	henv_reset(&E);
	s_stats_supply = "press-vision";
	check_stats("2.1", "stamping", st21, n21); /* (s,v,sc) */
	check_stats("2.0", "", v20, n20);          /* (s,v,*) */
	check_stats("", "", all, na);              /* (s,*,*) */
	s_stats_supply = "defect-vision";

	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply srep;
	q.supply_id = (char *)"press-vision";
	q.metric = (char *)"scrap_ppm";
	q.granularity = TRACTION__V1__GRANULARITY__GRANULARITY_HOUR;
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &srep,
			       &traction__v1__stats_reply__descriptor),
		     0);
	CHECK_EQ_INT(srep.metrics[0]->n_trend, HOURS);
	for (size_t i = 0; i < srep.metrics[0]->n_trend; i++) {
		Traction__V1__TrendBucket *b = srep.metrics[0]->trend[i];
		int h = (int)((b->start_ms - hour0) / 3600000);
		CHECK(h >= 0 && h < HOURS);
		CHECK_EQ_INT(b->count, per_hour[h]);
	}
	henv_reset(&E);
}

/* References are checked once per batch for a run of records of the same
 * (scenario, supply, version); an event applied between two records of
 * one batch (the runtime interleaves them in one transaction) must still
 * be seen by the next record. */
TEST(an_event_between_records_of_one_batch_is_seen)
{
	known_scenario("trim-line", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, true), 0);
	trc_call_t call = { .txn = &txn, .arena = E.arena, .evlog = E.evlog, .client_id = "test",
			    .role = E.role, .now_ms = E.now_ms, .user = E.user };
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	base(&r, "trim-line", "1.0", NULL);
	m.name = (char *)"scrap_ppm";
	m.value = 3;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply rep;
	req.records = &rp;
	req.n_records = 1;
	traction__v1__publish_reply__init(&rep);
	CHECK_EQ_INT(feedbackd_publish(&call, &req.base, &rep.base), 0);
	CHECK_EQ_INT(rep.results[0]->status->code, 0);

	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	sc.id = (char *)"trim-line";
	sc.status = TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED;
	ev.type = (char *)"scenario.closed";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &sc;
	CHECK_EQ_INT(feedbackd_apply(&call, &ev), 0);

	traction__v1__publish_reply__init(&rep);
	CHECK_EQ_INT(feedbackd_publish(&call, &req.base, &rep.base), 0);
	CHECK_EQ_INT(rep.results[0]->status->code, TRACTION__V1__CODE__FAILED_PRECONDITION);
	trc_txn_abort(&txn);
	feedbackd_batch_done(E.user);
	trc_evlog_rollback(E.evlog, 0);
	henv_reset(&E);
}

static size_t index_entries(const char *db, const char *key)
{
	trc_txn_t txn;
	trc_iter_t it;
	size_t n = 0;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	CHECK_EQ_INT(trc_iter_prefix(&txn, trc_store_db(E.store, db), &it, key, strlen(key), false),
		     0);
	while (trc_iter_next(&it))
		n++;
	trc_iter_end(&it);
	trc_txn_abort(&txn);
	return n;
}

/* The by-supply and by-scenario indexes hold runs of consecutive ids: a
 * batch of one supply adds one entry, the next batch extends it, records
 * of interleaved keys make runs of one, an entry from before runs (empty
 * value) still counts, and listing by either key through small pages
 * yields exactly that key's records, in order, once each. */
TEST(list_walks_runs_of_the_indexes)
{
	known_supply("seam-ai", "1.0");
	known_supply("seam-ai-2", "1.0");
	known_scenario("line-9", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	enum { N = 120 };
	static Traction__V1__FeedbackRecord recs[N], *rp[N];
	static Traction__V1__Metric ms[N];
	static uint64_t want_a[3 * N], want_line9[3 * N], got[3 * N];
	size_t na = 0, nl = 0;
	for (int batch = 0; batch < 3; batch++) {
		for (int i = 0; i < N; i++) {
			/* batches 0 and 1: one supply, one scenario; then interleaved */
			bool a = batch < 2 || (i % 3 != 1);
			const char *sc = batch < 2 || i % 2 ? "line-9" : "weld-line-3";
			base(&recs[i], sc, "1.0", NULL);
			recs[i].supply_id = (char *)(a ? "seam-ai" : "seam-ai-2");
			traction__v1__metric__init(&ms[i]);
			ms[i].name = (char *)"gap_mm";
			ms[i].value = i;
			recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
			recs[i].metric = &ms[i];
			rp[i] = &recs[i];
		}
		int rc;
		Traction__V1__PublishReply *rep = publish(rp, N, &rc);
		CHECK_EQ_INT(rc, 0);
		for (int i = 0; i < N; i++) {
			CHECK_EQ_INT(rep->results[i]->status->code, 0);
			if (strcmp(recs[i].supply_id, "seam-ai") == 0)
				want_a[na++] = rep->results[i]->record_id;
			if (strcmp(recs[i].scenario_id, "line-9") == 0)
				want_line9[nl++] = rep->results[i]->record_id;
		}
		henv_reset(&E);
		if (batch < 2) /* one run for the batch, extended by the next */
			CHECK_EQ_INT(index_entries(FB_DB_BY_SUPPLY, "seam-ai"), 1);
	}
	/* an entry as stores before runs wrote it: one record, empty value */
	Traction__V1__FeedbackRecord *one_rec = &recs[0];
	base(one_rec, "line-9", "1.0", NULL);
	one_rec->supply_id = (char *)"seam-ai";
	one_rec->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	one_rec->metric = &ms[0];
	int rc;
	Traction__V1__PublishReply *rep = publish(&one_rec, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	uint64_t old_id = rep->results[0]->record_id;
	want_a[na++] = old_id;
	want_line9[nl++] = old_id;
	henv_reset(&E);
	trc_txn_t txn;
	uint8_t k[64];
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, true), 0);
	memcpy(k, "seam-ai", 8);
	trc_be64_put(k + 8, old_id);
	/* replace the run that now ends with it by an old-style entry */
	uint64_t first, last;
	CHECK_EQ_INT(fb_run_from(&txn, FB_INDEX_SUPPLY, "seam-ai", old_id, &first, &last), 0);
	CHECK_MSG(last == old_id, "run %llu..%llu, record %llu", (unsigned long long)first, (unsigned long long)last, (unsigned long long)old_id);
	if (first != old_id) {
		uint8_t fk[64], v[8];
		memcpy(fk, "seam-ai", 8);
		trc_be64_put(fk + 8, first);
		trc_be64_put(v, old_id - 1);
		CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(E.store, FB_DB_BY_SUPPLY), fk, 16, v, 8, 0),
			     0);
	}
	CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(E.store, FB_DB_BY_SUPPLY), k, 16, "", 0, 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	for (uint32_t limit = 1; limit <= 200; limit *= 7) {
		size_t n = list_ids("seam-ai", NULL, limit, got, 3 * N);
		CHECK_EQ_INT(n, na);
		for (size_t i = 0; i < n && i < na; i++)
			CHECK_MSG(got[i] == want_a[i], "limit %u: #%zu is %llu, want %llu", limit, i,
				  (unsigned long long)got[i], (unsigned long long)want_a[i]);
		n = list_ids(NULL, "line-9", limit, got, 3 * N);
		CHECK_EQ_INT(n, nl);
		for (size_t i = 0; i < n && i < nl; i++)
			CHECK(got[i] == want_line9[i]);
	}
	/* interleaving made more runs, but far fewer entries than records */
	size_t entries = index_entries(FB_DB_BY_SUPPLY, "seam-ai");
	CHECK(entries > 2 && entries < na);
}

static Traction__V1__ProblemInfo *problem_state(const char *sig)
{
	static Traction__V1__ProblemsReply rep;
	Traction__V1__ProblemsRequest q = TRACTION__V1__PROBLEMS_REQUEST__INIT;
	q.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, feedbackd_problems, false, &q, &rep,
			       &traction__v1__problems_reply__descriptor),
		     0);
	for (size_t i = 0; i < rep.n_problems; i++)
		if (strcmp(rep.problems[i]->signature, sig) == 0)
			return rep.problems[i];
	return NULL;
}

static void report(const char *version, const char *sig)
{
	Traction__V1__FeedbackRecord r;
	Traction__V1__Problem p = TRACTION__V1__PROBLEM__INIT;
	char msg[512];
	base(&r, "weld-line-3", version, "");
	p.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	p.title = (char *)"misses hairline cracks";
	p.signature = (char *)sig;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	r.problem = &p;
	CHECK_EQ_INT(one(&r, msg), 0);
}

TEST(problem_addressed_then_regressed)
{
	size_t ev0 = E.nevents;
	report("1.0", "hairline-miss");
	CHECK_STR(E.event_type[E.nevents - 1], "feedback.problem");
	CHECK(E.nevents > ev0);
	Traction__V1__ProblemInfo *p = problem_state("hairline-miss");
	CHECK(p != NULL);
	CHECK_EQ_INT(p->state, TRACTION__V1__PROBLEM_STATE__PROBLEM_OPEN);
	CHECK_STR(p->first_version, "1.0");
	henv_reset(&E);

	/* stats count it open and critical at (s, 1.0, weld-line-3) */
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply rep;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &q, &rep,
			       &traction__v1__stats_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.problems[3]->severity, TRACTION__V1__SEVERITY__SEVERITY_CRITICAL);
	CHECK_EQ_INT(rep.problems[3]->open, 1);
	CHECK_EQ_INT(rep.problems[3]->reports, 1);
	henv_reset(&E);

	/* 1.2 (a child of 1.1) addresses it */
	iteration("defect-vision", "1.2", "1.1", "hairline-miss");
	p = problem_state("hairline-miss");
	CHECK_EQ_INT(p->state, TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED);
	CHECK_STR(p->addressed_by, "1.2");
	henv_reset(&E);

	/* seen again on the old version: still addressed there */
	report("1.0", "hairline-miss");
	p = problem_state("hairline-miss");
	CHECK_EQ_INT(p->state, TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED);
	CHECK_EQ_INT(p->reports, 2);
	henv_reset(&E);

	/* a version descending from 1.2 has it again: a regression */
	iteration("defect-vision", "1.3", "1.2", NULL);
	report("1.3", "hairline-miss");
	p = problem_state("hairline-miss");
	CHECK_EQ_INT(p->state, TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED);
	CHECK_STR(p->regressed_in, "1.3");
	CHECK_STR(E.event_type[E.nevents - 1], "feedback.problem");
	henv_reset(&E);

	Traction__V1__RegressionsRequest rq = TRACTION__V1__REGRESSIONS_REQUEST__INIT;
	Traction__V1__ProblemsReply prep;
	CHECK_EQ_INT(henv_call(&E, feedbackd_regressions, false, &rq, &prep,
			       &traction__v1__problems_reply__descriptor),
		     0);
	CHECK_EQ_INT(prep.n_problems, 1);
	CHECK_STR(prep.problems[0]->signature, "hairline-miss");
	henv_reset(&E);
}

static int tick(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	return feedbackd_tick(call);
}

TEST(demands_and_evidence_events)
{
	Traction__V1__FeedbackRecord r;
	Traction__V1__DemandSignal d = TRACTION__V1__DEMAND_SIGNAL__INIT;
	char *caps[] = { (char *)"edge-deployment", (char *)"plc-runtime" };
	char msg[512];
	base(&r, "weld-line-3", "1.0", "");
	d.text = (char *)"needs to run on the line PLC";
	d.capabilities = caps;
	d.n_capabilities = 2;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
	r.demand = &d;
	CHECK_EQ_INT(one(&r, msg), 0);
	CHECK_STR(E.event_type[E.nevents - 1], "feedback.demand");
	d.n_capabilities = 1;
	CHECK_EQ_INT(one(&r, msg), 0);
	Traction__V1__DemandsRequest q = TRACTION__V1__DEMANDS_REQUEST__INIT;
	Traction__V1__DemandsReply rep;
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &q, &rep,
			       &traction__v1__demands_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_demands, 2);
	CHECK_STR(rep.demands[0]->capability, "edge-deployment");
	CHECK_EQ_INT(rep.demands[0]->signals, 2);
	CHECK_EQ_INT(rep.demands[1]->signals, 1);
	henv_reset(&E);

	/* the owed evidence goes out in one tick, one event per key */
	henv_clear_events(&E);
	Traction__V1__Empty none = TRACTION__V1__EMPTY__INIT;
	Traction__V1__Empty out;
	CHECK_EQ_INT(henv_call(&E, tick, true, &none, &out,
			       &traction__v1__empty__descriptor),
		     0);
	size_t n = E.nevents;
	CHECK(n >= 4); /* (s,1.0,weld), (s,1.0,*), (s,1.1,paint) ... */
	bool rollup = false;
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(E.event_type[i], "feedback.evidence");
		Traction__V1__Event *ev = traction__v1__event__unpack(NULL, E.event_len[i], E.events[i]);
		Traction__V1__EvidenceUpdate *u = ev->evidence;
		CHECK(u->version[0] != '\0'); /* never a key consumers would refuse */
		if (strcmp(u->supply_id, "defect-vision") == 0 && strcmp(u->version, "1.0") == 0 &&
		    u->scenario_id[0] == '\0') {
			rollup = true;
			CHECK(u->records > 0);
			CHECK(u->n_metrics >= 2); /* defect_rate and latency_ms */
		}
		traction__v1__event__free_unpacked(ev, NULL);
	}
	CHECK(rollup);
	henv_reset(&E);
	CHECK_EQ_INT(henv_call(&E, tick, true, &none, &out,
			       &traction__v1__empty__descriptor),
		     0);
	CHECK_EQ_INT(E.nevents, n); /* nothing more owed */
	henv_reset(&E);
}

int main(void)
{
	static fb_state_t state;
	henv_open(&E, check_tmpdir("trc-feedbackd"), feedbackd_dbs, "feedback");
	CHECK_EQ_INT(feedbackd_open(&state, E.store, NULL), 0);
	E.user = &state;
	E.batch_end = feedbackd_batch_end;
	E.batch_done = feedbackd_batch_done;
	RUN(validation_and_references);
	RUN(batches_and_idempotency);
	RUN(keys_are_scoped_and_never_reused);
	RUN(schema_1_keys_move_to_their_scope);
	RUN(a_retry_after_the_scenario_closed_gets_its_record);
	RUN(stored_records_carry_the_services_fields);
	RUN(aggregates_equal_a_direct_computation);
	RUN(one_batch_of_interleaved_series);
	RUN(an_event_between_records_of_one_batch_is_seen);
	RUN(list_walks_runs_of_the_indexes);
	RUN(problem_addressed_then_regressed);
	RUN(demands_and_evidence_events);
	RUN(values_at_the_edges);
	feedbackd_close(&state);
	henv_close(&E);
	DONE();
}
