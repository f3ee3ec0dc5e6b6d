/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-feedbackd's handlers on a real store: validation of each kind
 * with the field named, references known from events, closed scenarios,
 * a publisher's scope, batch statuses, idempotent retries scoped per
 * client, scenario, supply and version (a reused key refused), aggregates equal to those computed directly from the published
 * values at every key level (quantiles within 1%), a problem opened,
 * addressed by an iteration and re-opened as a regression, demand signals,
 * and coalesced evidence events; a metric record goes into the alert
 * windows of its own metric's rules, once each, and touches no other.
 * Scoped readers (two enterprises, two
 * providers) get exactly their part of list, stats, problems, regressions,
 * demands and events; a store of schema 2 learns the owners by a replay.
 */
#include <math.h>

#include "alerts.h"
#include "check.h"
#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "henv.h"
#include "util.h"
#include "window.h"
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
			    .now_ms = E.now_ms, .user = E.user };
	CHECK_EQ_INT(feedbackd_apply(&call, ev), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	/* what it emitted (problem state changes) is not looked at here */
	trc_evlog_rollback(E.evlog, 0);
}

static void known_supply_of(const char *id, const char *version, const char *provider)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)id;
	s.provider_id = (char *)provider;
	s.initial_version = (char *)version;
	s.status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE;
	ev.type = (char *)"supply.registered";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	apply(&ev, 0);
}

static void known_supply(const char *id, const char *version)
{
	known_supply_of(id, version, "");
}

static void known_scenario_of(const char *id, int status, const char *enterprise)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	s.id = (char *)id;
	s.status = status;
	s.enterprise = (char *)enterprise;
	ev.type = (char *)"scenario.submitted";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &s;
	apply(&ev, 1);
}

static void known_scenario(const char *id, int status)
{
	known_scenario_of(id, status, "");
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

/* r carries metric m: name = value. */
static void as_metric(Traction__V1__FeedbackRecord *r, Traction__V1__Metric *m, const char *name,
		      double value)
{
	traction__v1__metric__init(m);
	m->name = (char *)name;
	m->value = value;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
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

/* A key's value names its digest's kind: XXH3 now (17 bytes), FNV-1a in
 * stores of schemas 2-4 (16 bytes, kept as they are). A retry of a key
 * written before the upgrade is still a duplicate, and another record
 * under it still ALREADY_EXISTS: the old digest is worked out for it. */
TEST(idempotency_digests_old_and_new)
{
	Traction__V1__RecordResult first, r;
	CHECK_EQ_INT(publish_named("digest_ppm", "weld-line-3", "1.0", 0.25, "d-1", &first), 0);
	CHECK(!first.duplicate);
	henv_reset(&E);
	/* the record's bytes as publish_named sends them */
	Traction__V1__FeedbackRecord rec;
	Traction__V1__Metric m;
	base(&rec, "weld-line-3", "1.0", "d-1");
	as_metric(&rec, &m, "digest_ppm", 0.25);
	uint8_t bytes[512];
	size_t n = traction__v1__feedback_record__pack(&rec, bytes);
	trc_dbkey_t key;
	CHECK(fb_idem_key(&key, E.client_id != NULL ? E.client_id : "test", &rec));
	const trc_db_t *idem = trc_store_db(E.store, FB_DB_IDEM);
	trc_txn_t txn;
	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, idem, key.buf, key.len, &v), 0);
	CHECK_EQ_INT(v.mv_size, FB_IDEM_VALUE);
	CHECK_EQ_INT(((const uint8_t *)v.mv_data)[16], FB_IDEM_XXH3);
	CHECK(trc_be64_get((const uint8_t *)v.mv_data + 8) == fb_idem_digest(bytes, n));
	/* the value as schema 4 wrote it */
	uint8_t old[FB_IDEM_VALUE_FNV];
	trc_be64_put(old, first.record_id);
	trc_be64_put(old + 8, trc_fnv64(bytes, n));
	CHECK_EQ_INT(trc_txn_put(&txn, idem, key.buf, key.len, old, sizeof(old), 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	CHECK_EQ_INT(publish_named("digest_ppm", "weld-line-3", "1.0", 0.25, "d-1", &r), 0);
	CHECK_MSG(r.duplicate && r.record_id == first.record_id,
		  "a retry of a key of schema 4 was not answered with its record");
	henv_reset(&E);
	CHECK_EQ_INT(publish_named("digest_ppm", "weld-line-3", "1.0", 0.5, "d-1", &r),
		     TRACTION__V1__CODE__ALREADY_EXISTS);
	CHECK(!r.duplicate);
	henv_reset(&E);
	/* a value of neither kind is a corrupt store, not a guess */
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, true), 0);
	uint8_t odd[FB_IDEM_VALUE];
	fb_idem_value(odd, first.record_id, fb_idem_digest(bytes, n));
	odd[16] = 9;
	CHECK_EQ_INT(trc_txn_put(&txn, idem, key.buf, key.len, odd, sizeof(odd), 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	int rc;
	Traction__V1__FeedbackRecord *rp = &rec;
	Traction__V1__PublishReply *rep = publish(&rp, 1, &rc);
	CHECK_MSG(rc != 0 || (rep->n_results == 1 && rep->results[0]->status->code != 0 &&
			      !rep->results[0]->duplicate),
		  "a value of an unknown kind was taken for a retry");
	henv_reset(&E);
}

/* A store of schema 1 keyed client '\0' key: opened by this build, each
 * key moves to its record's scope, in the transaction that opens it. */
TEST(schema_1_keys_move_to_their_scope)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/v1", check_tmpdir("trc-feedbackd-v1"));
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, 1), 0);
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
	const trc_db_t *recs = trc_store_db(st, FB_DB_RECORDS),
		       *idem = trc_store_db(st, FB_DB_IDEM);
	CHECK_EQ_INT(trc_txn_put(&txn, recs, id, 8, buf, n, 0), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, idem, "site-7\0k-old", 12, id, 8, 0), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, idem, "site-7\0k-gone", 13, "\0\0\0\0\0\0\0\x09", 8, 0),
		     0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);

	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION),
		     TRC_ECORRUPT); /* without a migration: refused, as before */
	CHECK_EQ_INT(trc_store_open_migrate(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION,
					    fb_migrate),
		     0);
	idem = trc_store_db(st, FB_DB_IDEM); /* a handle lives as long as its store */
	trc_dbkey_t key;
	CHECK(fb_idem_key(&key, "site-7", &r));
	/* the bytes of schema 2's keys: client, scenario, supply, version, key */
	static const char scoped[] = "site-7\0weld-line-3\0defect-vision\0" "1.0\0k-old";
	CHECK(key.len == sizeof(scoped) - 1 && memcmp(key.buf, scoped, key.len) == 0);
	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, idem, key.buf, key.len, &v), 0);
	CHECK_EQ_INT(v.mv_size, 8);
	CHECK_EQ_INT(trc_be64_get(v.mv_data), 7);
	CHECK_EQ_INT(trc_txn_get(&txn, idem, "site-7\0k-old", 12, &v), TRC_ENOENT);
	/* a key whose record is gone has nothing left to answer */
	CHECK_EQ_INT(trc_txn_get(&txn, idem, "site-7\0k-gone", 13, &v), TRC_ENOENT);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION), 0);
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
	feedbackd_batch_done(E.user, true);
	trc_evlog_rollback(E.evlog, 0);
	henv_reset(&E);
}

static size_t index_entries(unsigned db, const char *key)
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
			as_metric(&recs[i], &ms[i], "gap_mm", i);
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

/* ---- scoped readers ------------------------------------------------------------------ */

/* Two enterprises' scenarios and two providers' supplies, with records of
 * each of the four pairs: cell [scenario][supply]. */
static const char *const s_scs[2] = { "ent1-line", "ent2-line" };
static const char *const s_sus[2] = { "sa1", "sb1" };
static char *s_ent1[] = { (char *)"Ent One" }, *s_ent2[] = { (char *)"Ent Two" };
static char *s_prova[] = { (char *)"prov-a" }, *s_provb[] = { (char *)"prov-b" };

static void as_reader(char **enterprises, size_t ne, char **providers, size_t np)
{
	E.enterprises = enterprises;
	E.n_enterprises = ne;
	E.providers = providers;
	E.n_providers = np;
	E.role = ne + np > 0 ? TRACTION__V1__ROLE__ROLE_READER : TRACTION__V1__ROLE__ROLE_ADMIN;
}

static void check_out_of_scope(int rc, const char *subject, const char *current)
{
	CHECK_EQ_INT(rc, TRC_EPERM);
	CHECK_EQ_INT(E.call.code, TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_EQ_INT(E.call.n_details, 1);
	CHECK_STR(E.call.details[0]->reason, "out_of_scope");
	CHECK_STR(E.call.details[0]->subject, subject);
	CHECK_STR(E.call.details[0]->current, current);
	henv_reset(&E);
}

static int cell(const char *const names[2], const char *v)
{
	return strcmp(names[0], v) == 0 ? 0 : strcmp(names[1], v) == 0 ? 1 : -1;
}

/* Lists as the current reader through pages of `limit`: records per cell,
 * records of no cell in *others, and pages that came back short with a
 * cursor (a bounded scan) in *shorts. The first failure's code, or 0. */
static int scoped_list(const char *supply, const char *scenario, uint32_t limit,
		       size_t cells[2][2], size_t *others, size_t *shorts)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__FeedbackListReply rep;
	char cursor[32] = "";
	memset(cells, 0, sizeof(size_t[2][2]));
	*others = *shorts = 0;
	q.supply_id = (char *)supply;
	q.scenario_id = (char *)scenario;
	page.limit = limit;
	q.page = &page;
	do {
		page.cursor = cursor;
		int rc = henv_call(&E, feedbackd_list, false, &q, &rep,
				   &traction__v1__feedback_list_reply__descriptor);
		if (rc != 0)
			return rc;
		bool more = rep.next_cursor != NULL && rep.next_cursor[0] != '\0';
		CHECK(rep.n_records <= limit);
		*shorts += more && rep.n_records < limit;
		for (size_t i = 0; i < rep.n_records; i++) {
			int sc = cell(s_scs, rep.records[i]->scenario_id);
			int su = cell(s_sus, rep.records[i]->supply_id);
			if (sc >= 0 && su >= 0)
				cells[sc][su]++;
			else
				(*others)++;
		}
		snprintf(cursor, sizeof(cursor), "%s", more ? rep.next_cursor : "");
		henv_reset(&E);
	} while (cursor[0] != '\0');
	return 0;
}

static void check_cells(size_t cells[2][2], size_t a, size_t b, size_t c, size_t d)
{
	CHECK_MSG(cells[0][0] == a && cells[0][1] == b && cells[1][0] == c && cells[1][1] == d,
		  "cells %zu %zu %zu %zu, want %zu %zu %zu %zu", cells[0][0], cells[0][1],
		  cells[1][0], cells[1][1], a, b, c, d);
}

static int stats_count(const char *supply, const char *scenario, uint64_t *count)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply rep;
	q.supply_id = (char *)supply;
	q.scenario_id = (char *)scenario;
	q.metric = (char *)"scope_ppm";
	int rc = henv_call(&E, feedbackd_stats, false, &q, &rep,
			   &traction__v1__stats_reply__descriptor);
	if (rc == 0) {
		CHECK_EQ_INT(rep.n_metrics, 1);
		*count = rep.metrics[0]->stats->count;
		henv_reset(&E);
	}
	return rc;
}

static void publish_cell(int sc, int su, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Traction__V1__FeedbackRecord r;
		Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
		char msg[512];
		base(&r, s_scs[sc], "1.0", NULL);
		r.supply_id = (char *)s_sus[su];
		m.name = (char *)"scope_ppm";
		m.value = (double)(10 * sc + su + (int)i);
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
		CHECK_EQ_INT(one(&r, msg), 0);
	}
	henv_reset(&E);
}

TEST(scoped_readers_see_their_part)
{
	known_supply_of("sa1", "1.0", "prov-a");
	known_supply_of("sb1", "1.0", "prov-b");
	known_scenario_of("ent1-line", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN, "Ent One");
	known_scenario_of("ent2-line", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN, "Ent Two");
	known_scenario_of("ent2-shut", TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED, "Ent Two");
	for (int sc = 0; sc < 2; sc++)
		for (int su = 0; su < 2; su++)
			publish_cell(sc, su, 3);
	/* the status byte is read with the owner after it */
	Traction__V1__FeedbackRecord r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	char msg[512];
	base(&r, "ent2-shut", "1.0", NULL);
	r.supply_id = (char *)"sa1";
	m.name = (char *)"scope_ppm";
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	CHECK_EQ_INT(one(&r, msg), TRACTION__V1__CODE__FAILED_PRECONDITION);
	henv_reset(&E);

	size_t cells[2][2], others, shorts;
	uint64_t n;
	/* unscoped: everything, as before */
	as_reader(NULL, 0, NULL, 0);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 1000, cells, &others, &shorts), 0);
	check_cells(cells, 3, 3, 3, 3);
	CHECK(others > 0);
	CHECK_EQ_INT(stats_count("sb1", "", &n), 0);
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_INT(stats_count("sa1", "ent2-line", &n), 0);
	CHECK_EQ_INT(n, 3);

	/* an enterprise: its scenarios' records, of every supply; small
	 * pages come back full although most records are filtered out */
	as_reader(s_ent1, 1, NULL, 0);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 2, cells, &others, &shorts), 0);
	check_cells(cells, 3, 3, 0, 0);
	CHECK_EQ_INT(others, 0);
	CHECK_EQ_INT(shorts, 0);
	CHECK_EQ_INT(scoped_list("sb1", NULL, 2, cells, &others, &shorts), 0);
	check_cells(cells, 0, 3, 0, 0);
	CHECK_EQ_INT(scoped_list(NULL, "ent1-line", 2, cells, &others, &shorts), 0);
	check_cells(cells, 3, 3, 0, 0);
	check_out_of_scope(scoped_list(NULL, "ent2-line", 2, cells, &others, &shorts), "scenario",
			   "ent2-line");
	CHECK_EQ_INT(stats_count("sb1", "ent1-line", &n), 0);
	CHECK_EQ_INT(n, 3);
	check_out_of_scope(stats_count("sb1", "ent2-line", &n), "scenario", "ent2-line");
	/* the roll-up over every scenario is the provider's */
	check_out_of_scope(stats_count("sb1", "", &n), "supply", "sb1");

	/* a provider: its supplies' records, in every scenario */
	as_reader(NULL, 0, s_prova, 1);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 2, cells, &others, &shorts), 0);
	check_cells(cells, 3, 0, 3, 0);
	CHECK_EQ_INT(others, 0);
	CHECK_EQ_INT(shorts, 0);
	CHECK_EQ_INT(scoped_list(NULL, "ent2-line", 2, cells, &others, &shorts), 0);
	check_cells(cells, 0, 0, 3, 0);
	CHECK_EQ_INT(scoped_list("sb1", NULL, 2, cells, &others, &shorts), 0);
	check_cells(cells, 0, 0, 0, 0);
	CHECK_EQ_INT(stats_count("sa1", "", &n), 0);
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_INT(stats_count("sa1", "ent2-line", &n), 0);
	CHECK_EQ_INT(n, 3);
	check_out_of_scope(stats_count("sb1", "", &n), "supply", "sb1");
	check_out_of_scope(stats_count("sb1", "ent1-line", &n), "supply", "sb1");

	/* both kinds: the union */
	as_reader(s_ent2, 1, s_prova, 1);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 2, cells, &others, &shorts), 0);
	check_cells(cells, 3, 0, 3, 3);
	CHECK_EQ_INT(others, 0);
	as_reader(NULL, 0, NULL, 0);
}

/* A problem report in a cell; its record id. */
static uint64_t report_at(int sc, int su, const char *version, const char *sig)
{
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Problem p = TRACTION__V1__PROBLEM__INIT;
	base(&r, s_scs[sc], version, NULL);
	r.supply_id = (char *)s_sus[su];
	p.severity = TRACTION__V1__SEVERITY__SEVERITY_HIGH;
	p.title = (char *)"scope problem";
	p.signature = (char *)sig;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	r.problem = &p;
	int rc;
	Traction__V1__PublishReply *rep = publish(&rp, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	uint64_t id = rep->results[0]->record_id;
	henv_reset(&E);
	return id;
}

/* The signatures of the problems the current reader gets (of the scope
 * test's supplies), through pages of `limit`, joined by spaces in order;
 * the reply of the last page stays in *last. */
static int scoped_problems(bool regressions, const char *scenario, uint32_t limit, char *out,
			   size_t cap, Traction__V1__ProblemsReply *last)
{
	Traction__V1__ProblemsRequest q = TRACTION__V1__PROBLEMS_REQUEST__INIT;
	Traction__V1__RegressionsRequest rq = TRACTION__V1__REGRESSIONS_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	char cursor[TRC_DBKEY_MAX * 2 + 1] = "";
	out[0] = '\0';
	q.scenario_id = (char *)scenario;
	page.limit = limit;
	q.page = rq.page = &page;
	for (;;) {
		page.cursor = cursor;
		int rc = regressions ? henv_call(&E, feedbackd_regressions, false, &rq, last,
						 &traction__v1__problems_reply__descriptor)
				     : henv_call(&E, feedbackd_problems, false, &q, last,
						 &traction__v1__problems_reply__descriptor);
		if (rc != 0)
			return rc;
		bool more = last->next_cursor != NULL && last->next_cursor[0] != '\0';
		CHECK(!more || last->n_problems == limit);
		for (size_t i = 0; i < last->n_problems; i++) {
			if (cell(s_sus, last->problems[i]->supply_id) < 0)
				continue;
			size_t l = strlen(out);
			snprintf(out + l, cap - l, "%s%s", l ? " " : "", last->problems[i]->signature);
		}
		if (!more)
			return 0;
		snprintf(cursor, sizeof(cursor), "%s", last->next_cursor);
	}
}

static Traction__V1__ProblemInfo *find_problem(Traction__V1__ProblemsReply *rep, const char *sig)
{
	for (size_t i = 0; i < rep->n_problems; i++)
		if (strcmp(rep->problems[i]->signature, sig) == 0)
			return rep->problems[i];
	return NULL;
}

TEST(scoped_problems_regressions_and_demands)
{
	uint64_t shared1 = report_at(0, 0, "1.0", "p-shared");
	uint64_t shared2 = report_at(1, 0, "1.0", "p-shared");
	report_at(0, 0, "1.0", "p-e1only");
	report_at(1, 1, "1.0", "p-b-e2");
	char sigs[512];
	Traction__V1__ProblemsReply rep;
	Traction__V1__ProblemInfo *p;

	/* unscoped: all of them, whole */
	CHECK_EQ_INT(scoped_problems(false, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-e1only p-shared p-b-e2");
	p = find_problem(&rep, "p-shared");
	CHECK(p != NULL && p->n_scenario_ids == 2 && p->n_record_ids == 2);
	CHECK(rep.n_problems > 3); /* defect-vision's too */
	henv_reset(&E);

	/* an enterprise: whole, what only its scenarios reported; asked about
	 * one of its scenarios, its part of the others reported there */
	as_reader(s_ent1, 1, NULL, 0);
	CHECK_EQ_INT(scoped_problems(false, NULL, 1, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-e1only");
	henv_reset(&E);
	CHECK_EQ_INT(scoped_problems(false, "ent1-line", 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-e1only p-shared");
	CHECK_EQ_INT(rep.n_problems, 2);
	p = find_problem(&rep, "p-shared");
	CHECK_EQ_INT(p->n_scenario_ids, 1);
	CHECK_STR(p->scenario_ids[0], "ent1-line");
	CHECK_EQ_INT(p->n_record_ids, 1);
	CHECK_EQ_INT(p->record_ids[0], shared1);
	henv_reset(&E);
	check_out_of_scope(scoped_problems(false, "ent2-line", 1000, sigs, sizeof(sigs), &rep),
			   "scenario", "ent2-line");
	as_reader(s_ent2, 1, NULL, 0);
	CHECK_EQ_INT(scoped_problems(false, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-b-e2");
	CHECK_EQ_INT(rep.n_problems, 1);
	henv_reset(&E);

	/* a provider: its supplies' problems, whole, wherever reported */
	as_reader(NULL, 0, s_prova, 1);
	CHECK_EQ_INT(scoped_problems(false, NULL, 1, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-e1only p-shared");
	henv_reset(&E);
	CHECK_EQ_INT(scoped_problems(false, "ent2-line", 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-shared");
	p = find_problem(&rep, "p-shared");
	CHECK(p->n_scenario_ids == 2 && p->n_record_ids == 2 && p->record_ids[1] == shared2);
	henv_reset(&E);
	as_reader(NULL, 0, s_provb, 1);
	CHECK_EQ_INT(scoped_problems(false, "ent1-line", 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "");
	CHECK_EQ_INT(rep.n_problems, 0);
	henv_reset(&E);

	/* regressions: a problem comes back on a version that addressed it */
	as_reader(NULL, 0, NULL, 0);
	iteration("sa1", "1.1", "1.0", "p-shared");
	iteration("sb1", "1.1", "1.0", "p-b-e2");
	report_at(0, 0, "1.1", "p-shared");
	report_at(1, 1, "1.1", "p-b-e2");
	CHECK_EQ_INT(scoped_problems(true, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-shared p-b-e2");
	CHECK(find_problem(&rep, "hairline-miss") != NULL);
	henv_reset(&E);
	as_reader(NULL, 0, s_prova, 1);
	CHECK_EQ_INT(scoped_problems(true, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-shared");
	CHECK_EQ_INT(rep.n_problems, 1);
	henv_reset(&E);
	as_reader(s_ent1, 1, NULL, 0); /* p-shared came from ent2-line too */
	CHECK_EQ_INT(scoped_problems(true, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_EQ_INT(rep.n_problems, 0);
	henv_reset(&E);
	as_reader(s_ent2, 1, NULL, 0);
	CHECK_EQ_INT(scoped_problems(true, NULL, 1000, sigs, sizeof(sigs), &rep), 0);
	CHECK_STR(sigs, "p-b-e2");
	CHECK_EQ_INT(rep.n_problems, 1);
	henv_reset(&E);

	/* demands: every signal to every provider scope; an enterprise cannot
	 * be shown its own share, so it is refused with the reason */
	Traction__V1__DemandsRequest dq = TRACTION__V1__DEMANDS_REQUEST__INIT;
	Traction__V1__DemandsReply drep;
	as_reader(NULL, 0, NULL, 0);
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &dq, &drep,
			       &traction__v1__demands_reply__descriptor),
		     0);
	size_t all = drep.n_demands;
	CHECK(all > 0);
	henv_reset(&E);
	as_reader(NULL, 0, s_provb, 1);
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &dq, &drep,
			       &traction__v1__demands_reply__descriptor),
		     0);
	CHECK_EQ_INT(drep.n_demands, all);
	henv_reset(&E);
	as_reader(s_ent1, 1, s_provb, 1);
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &dq, &drep,
			       &traction__v1__demands_reply__descriptor),
		     0);
	CHECK_EQ_INT(drep.n_demands, all);
	henv_reset(&E);
	dq.supply_id = (char *)"sa1"; /* one supply's signals: its provider's */
	check_out_of_scope(henv_call(&E, feedbackd_demands, false, &dq, &drep,
				     &traction__v1__demands_reply__descriptor),
			   "supply", "sa1");
	dq.supply_id = NULL;
	as_reader(s_ent1, 1, NULL, 0);
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &dq, &drep,
			       &traction__v1__demands_reply__descriptor),
		     TRC_EPERM);
	CHECK_CONTAINS(E.call.message, "shown to provider-scoped readers only");
	CHECK_STR(E.call.details[0]->reason, "out_of_scope");
	henv_reset(&E);
	as_reader(NULL, 0, NULL, 0);
}

static bool visible_to(char **ents, size_t ne, char **provs, size_t np,
		       const Traction__V1__Event *ev)
{
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	trc_call_t call = { .txn = &txn, .arena = E.arena, .user = E.user,
			    .role = TRACTION__V1__ROLE__ROLE_READER, .enterprises = ents,
			    .n_enterprises = ne, .providers = provs, .n_providers = np };
	bool v = feedbackd_event_visible(&call, ev);
	trc_txn_abort(&txn);
	return v;
}

/* Who sees an event: e1 e2 pa pb as 0/1 in a string, and the unscoped
 * call sees everything. */
static void check_visible(const Traction__V1__Event *ev, const char *want)
{
	char got[5] = {
		visible_to(s_ent1, 1, NULL, 0, ev) ? '1' : '0',
		visible_to(s_ent2, 1, NULL, 0, ev) ? '1' : '0',
		visible_to(NULL, 0, s_prova, 1, ev) ? '1' : '0',
		visible_to(NULL, 0, s_provb, 1, ev) ? '1' : '0',
		'\0',
	};
	CHECK_MSG(strcmp(got, want) == 0, "%s: seen by %s, want %s", ev->type, got, want);
	CHECK(visible_to(NULL, 0, NULL, 0, ev));
}

TEST(scoped_events)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__EvidenceUpdate u = TRACTION__V1__EVIDENCE_UPDATE__INIT;
	ev.type = (char *)"feedback.evidence";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_EVIDENCE;
	ev.evidence = &u;
	u.supply_id = (char *)"sa1";
	u.version = (char *)"1.0";
	u.scenario_id = (char *)"ent1-line";
	check_visible(&ev, "1010"); /* one scenario: its enterprise, the provider */
	u.supply_id = (char *)"sb1";
	u.scenario_id = (char *)"ent2-line";
	check_visible(&ev, "0101");
	u.scenario_id = (char *)""; /* the roll-up: the provider only */
	check_visible(&ev, "0001");

	Traction__V1__ProblemUpdate pu = TRACTION__V1__PROBLEM_UPDATE__INIT;
	Traction__V1__ProblemInfo p = TRACTION__V1__PROBLEM_INFO__INIT;
	char *both[] = { (char *)"ent1-line", (char *)"ent2-line" };
	ev.type = (char *)"feedback.problem";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_PROBLEM;
	ev.problem = &pu;
	pu.problem = &p;
	p.supply_id = (char *)"sa1";
	p.signature = (char *)"p-shared";
	p.scenario_ids = both;
	p.n_scenario_ids = 2;
	check_visible(&ev, "0010"); /* from two enterprises: the provider only */
	p.n_scenario_ids = 1;
	check_visible(&ev, "1010"); /* from ent1-line only: Ent One's too */

	Traction__V1__DemandUpdate du = TRACTION__V1__DEMAND_UPDATE__INIT;
	ev.type = (char *)"feedback.demand";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEMAND;
	ev.demand = &du;
	check_visible(&ev, "0011");
	/* feedbackd writes no other event: one would be nobody's but the
	 * unscoped's */
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	ev.type = (char *)"supply.registered";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	check_visible(&ev, "0000");
}

/* A scoped list stops after FB_SCOPE_SCAN_MAX records it may not see: the
 * page comes back short with a cursor, and the next goes on. */
TEST(scoped_scans_are_bounded)
{
	enum { N = FB_SCOPE_SCAN_MAX + 5 };
	static Traction__V1__FeedbackRecord recs[N], *rp[N];
	static Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	m.name = (char *)"flood_ppm";
	for (int i = 0; i < N; i++) {
		base(&recs[i], "ent2-line", "1.0", NULL);
		recs[i].supply_id = (char *)"sb1";
		recs[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		recs[i].metric = &m;
		rp[i] = &recs[i];
	}
	size_t before[2][2], cells[2][2], others, shorts;
	as_reader(s_ent1, 1, NULL, 0);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 100, before, &others, &shorts), 0);
	CHECK_EQ_INT(shorts, 0);
	as_reader(NULL, 0, NULL, 0);
	int rc;
	for (size_t at = 0; at < N; at += FB_BATCH_MAX) {
		publish(rp + at, N - at < FB_BATCH_MAX ? N - at : FB_BATCH_MAX, &rc);
		CHECK_EQ_INT(rc, 0);
		henv_reset(&E);
	}
	publish_cell(0, 0, 1); /* one more of Ent One's, after the flood */
	as_reader(s_ent1, 1, NULL, 0);
	CHECK_EQ_INT(scoped_list(NULL, NULL, 100, cells, &others, &shorts), 0);
	check_cells(cells, before[0][0] + 1, before[0][1], 0, 0);
	CHECK_EQ_INT(others, 0);
	CHECK(shorts >= 1);
	as_reader(NULL, 0, NULL, 0);
}

/* A store of schema 2 held a status byte per supply and scenario: opened
 * by this build, the catalogue sources are read again from the start; an
 * event up to where they had been brings the owner and keeps the status
 * (a scenario closed since stays closed), one after it brings both. */
TEST(schema_2_refs_learn_their_owners)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/v2", check_tmpdir_); /* removed with it at exit */
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, 2), 0);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	uint8_t closed = TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED;
	uint8_t active = TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE;
	CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(st, FB_DB_REF_SCENARIO), "line-x", 6, &closed,
				 1, 0),
		     0);
	CHECK_EQ_INT(trc_txn_put(&txn, trc_store_db(st, FB_DB_REF_SUPPLY), "sx", 2, &active, 1, 0),
		     0);
	CHECK_EQ_INT(trc_position_set(&txn, "supply", 5), 0);
	CHECK_EQ_INT(trc_position_set(&txn, "scenario", 7), 0);
	CHECK_EQ_INT(trc_position_set(&txn, "iteration", 9), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);

	CHECK_EQ_INT(trc_store_open_migrate(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION,
					    fb_migrate),
		     0);
	uint64_t at;
	char owner[FB_OWNER_MAX + 1];
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_position_get(&txn, "supply", &at), 0);
	CHECK_EQ_INT(at, 0);
	CHECK_EQ_INT(trc_position_get(&txn, "scenario", &at), 0);
	CHECK_EQ_INT(at, 0);
	CHECK_EQ_INT(trc_position_get(&txn, "iteration", &at), 0);
	/* schema 4 replays it for deployments, up to 9 without addressing a
	 * problem again (schema_3_replay_keeps_regressions) */
	CHECK_EQ_INT(at, 0);
	CHECK_EQ_INT(fb_ref_owner(&txn, FB_DB_REF_SCENARIO, "line-x", owner), 0);
	CHECK_STR(owner, ""); /* not known yet: nobody's */
	trc_txn_abort(&txn);

	/* the replay, as the runtime applies it */
	static const struct {
		const char *source;
		uint64_t seq;
		int status;
		const char *owner;
		uint8_t want;
	} steps[] = {
		{ "scenario", 1, TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN, "Ent X",
		  TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED },
		{ "supply", 1, TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE, "prov-x",
		  TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE },
		{ "scenario", 7, TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN, "Ent X",
		  TRACTION__V1__SCENARIO_STATUS__SCENARIO_CLOSED },
		{ "scenario", 8, TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN, "Ent Y",
		  TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
		Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
		Traction__V1__Supply su = TRACTION__V1__SUPPLY__INIT;
		bool is_sc = strcmp(steps[i].source, "scenario") == 0;
		ev.source = (char *)steps[i].source;
		ev.seq = steps[i].seq;
		if (is_sc) {
			sc.id = (char *)"line-x";
			sc.status = steps[i].status;
			sc.enterprise = (char *)steps[i].owner;
			ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
			ev.scenario = &sc;
		} else {
			su.id = (char *)"sx";
			su.status = steps[i].status;
			su.provider_id = (char *)steps[i].owner;
			ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
			ev.supply = &su;
		}
		CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
		trc_call_t call = { .txn = &txn, .arena = E.arena, .role = 4, .now_ms = E.now_ms };
		CHECK_EQ_INT(feedbackd_apply(&call, &ev), 0);
		unsigned db = is_sc ? FB_DB_REF_SCENARIO : FB_DB_REF_SUPPLY;
		const char *id = is_sc ? "line-x" : "sx";
		MDB_val v;
		CHECK_EQ_INT(trc_txn_get(&txn, trc_store_db(st, db), id, strlen(id), &v), 0);
		CHECK_MSG(*(const uint8_t *)v.mv_data == steps[i].want, "step %zu: status %d", i,
			  *(const uint8_t *)v.mv_data);
		CHECK_EQ_INT(fb_ref_owner(&txn, db, id, owner), 0);
		CHECK_STR(owner, steps[i].owner);
		CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	}
	/* past the mark, it is forgotten */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	MDB_val v;
	CHECK_EQ_INT(trc_txn_get(&txn, trc_store_db(st, FB_DB_REF_MARK), "scenario", 8, &v),
		     TRC_ENOENT);
	CHECK_EQ_INT(trc_txn_get(&txn, trc_store_db(st, FB_DB_REF_MARK), "supply", 6, &v), 0);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
	/* stamped 3: opened again, nothing is replayed again */
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION), 0);
	trc_store_destroy(&st);
}

/* Schema 3 to 4: iteration events are replayed from the start so that
 * alert rules know the deployments; one up to where they had been applied
 * stores its deployment but addresses no problem again (a problem that
 * regressed since would be marked addressed by its old fix), one after it
 * does both. */
TEST(schema_3_replay_keeps_regressions)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/v3", check_tmpdir_);
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &feedbackd_dbs, 3), 0);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	Traction__V1__ProblemInfo p = TRACTION__V1__PROBLEM_INFO__INIT;
	p.supply_id = (char *)"sx";
	p.signature = (char *)"glare";
	p.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	p.state = TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED;
	p.addressed_by = (char *)"1.1";
	p.regressed_in = (char *)"1.1";
	trc_dbkey_t k;
	trc_dbkey_of(&k, "sx", "glare");
	CHECK_EQ_INT(trc_rec_put(&txn, trc_store_db(st, FB_DB_PROBLEMS), k.buf, k.len, &p.base), 0);
	CHECK_EQ_INT(trc_position_set(&txn, "iteration", 5), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);
	CHECK_EQ_INT(trc_store_open_migrate(&st, path, 8 << 20, &feedbackd_dbs, FB_SCHEMA_VERSION,
					    fb_migrate),
		     0);
	static fb_state_t state; /* its own: the rules it knows are of this store */
	CHECK_EQ_INT(feedbackd_open(&state, st, NULL), 0);
	trc_evlog_t *log = trc_evlog_new("feedback");
	static const struct {
		uint64_t seq;
		bool deployment;
		const char *version;
		int want; /* the problem's state after it */
	} steps[] = {
		{ 2, false, "1.1", TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED }, /* replayed */
		{ 3, true, "1.1", TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED },
		{ 6, false, "1.2", TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED }, /* new */
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
		Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
		Traction__V1__Deployment d = TRACTION__V1__DEPLOYMENT__INIT;
		char *addr[] = { (char *)"glare" };
		ev.source = (char *)"iteration";
		ev.seq = steps[i].seq;
		if (steps[i].deployment) {
			d.id = (char *)"dep-1";
			d.scenario_id = (char *)"line-x";
			d.supply_id = (char *)"sx";
			d.version = (char *)steps[i].version;
			d.stage = TRACTION__V1__STAGE__STAGE_SERVICE;
			d.status = TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE;
			ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT;
			ev.deployment = &d;
		} else {
			it.supply_id = (char *)"sx";
			it.version = (char *)steps[i].version;
			it.parent_version = (char *)"1.0";
			it.addresses = addr;
			it.n_addresses = 1;
			ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ITERATION;
			ev.iteration = &it;
		}
		CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
		trc_call_t call = { .txn = &txn, .arena = E.arena, .role = 4, .now_ms = E.now_ms,
				    .user = &state, .evlog = log };
		int arc = feedbackd_apply(&call, &ev);
		CHECK_MSG(arc == 0, "step %zu: %d %s", i, arc, call.message ? call.message : "");
		Traction__V1__ProblemInfo *got = NULL;
		CHECK_EQ_INT(trc_rec_get(&txn, trc_store_db(st, FB_DB_PROBLEMS), k.buf, k.len, E.arena,
					 (void **)&got),
			     0);
		CHECK_MSG((int)got->state == steps[i].want, "step %zu: state %d", i, got->state);
		CHECK_EQ_INT(trc_txn_commit(&txn), 0);
		trc_evlog_rollback(log, 0); /* what it emitted is not looked at here */
		feedbackd_batch_done(&state, true);
	}
	trc_evlog_destroy(&log);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	MDB_val v;
	trc_dbkey_t dk;
	trc_dbkey_of(&dk, "line-x", "sx");
	CHECK_EQ_INT(trc_txn_get(&txn, trc_store_db(st, FB_DB_DEPLOYS), dk.buf, dk.len, &v), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, trc_store_db(st, FB_DB_REF_MARK), "iteration", 9, &v),
		     TRC_ENOENT); /* past the mark: forgotten */
	trc_txn_abort(&txn);
	feedbackd_close(&state);
	trc_store_destroy(&st);
}

/* publish.c writes four fields of FeedbackRecord by hand: their numbers
 * and wire types must be the proto's. */
TEST(hand_written_field_numbers_match_the_proto)
{
	static const struct {
		const char *name;
		unsigned number;
		ProtobufCType type;
	} f[] = {
		{ "id", FB_FIELD_ID, PROTOBUF_C_TYPE_UINT64 },
		{ "observed_at_ms", FB_FIELD_OBSERVED_AT_MS, PROTOBUF_C_TYPE_INT64 },
		{ "received_ms", FB_FIELD_RECEIVED_MS, PROTOBUF_C_TYPE_INT64 },
		{ "client_id", FB_FIELD_CLIENT_ID, PROTOBUF_C_TYPE_STRING },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const ProtobufCFieldDescriptor *d = protobuf_c_message_descriptor_get_field_by_name(
			&traction__v1__feedback_record__descriptor, f[i].name);
		CHECK_MSG(d != NULL, "FeedbackRecord has no field %s", f[i].name);
		CHECK_MSG(d->id == f[i].number, "%s is field %u in the proto, %u in publish.c",
			  f[i].name, d->id, f[i].number);
		CHECK_MSG(d->type == f[i].type && d->label != PROTOBUF_C_LABEL_REPEATED,
			  "%s: not the type publish.c writes", f[i].name);
	}
}

/* ---- retention (retention.h) ------------------------------------------------------ */

static fb_state_t *state_of(void)
{
	return E.user;
}

/* A record's observed_at_ms (0: a fixed time twenty days back). */
static int64_t s_ret_observed;

/* A record of supply ret-vision@1.0 in scenario, of kind (1..4), keyed. */
static uint64_t ret_publish(const char *scenario, int kind, const char *key, bool *duplicate)
{
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__Problem pr = TRACTION__V1__PROBLEM__INIT;
	Traction__V1__DemandSignal d = TRACTION__V1__DEMAND_SIGNAL__INIT;
	char *caps[] = { (char *)"ret-capability" };
	traction__v1__feedback_record__init(&r);
	r.scenario_id = (char *)scenario;
	r.supply_id = (char *)"ret-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = (char *)key;
	/* observed long before it came: the clock of retention is receipt */
	r.observed_at_ms = s_ret_observed != 0 ? s_ret_observed
					       : 1764325000000LL - 20 * 86400000LL; /* retries: same bytes */
	if (kind == TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC) {
		m.name = (char *)"ret_ms";
		m.value = 7;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
	} else if (kind == TRACTION__V1__FEEDBACK_KIND__FEEDBACK_PROBLEM) {
		pr.severity = TRACTION__V1__SEVERITY__SEVERITY_HIGH;
		pr.title = (char *)"drifts";
		pr.signature = (char *)"ret-drift";
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
		r.problem = &pr;
	} else {
		d.text = (char *)"wants more";
		d.capabilities = caps;
		d.n_capabilities = 1;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
		r.demand = &d;
	}
	int rc;
	Traction__V1__PublishReply *rep = publish(&rp, 1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	if (duplicate != NULL)
		*duplicate = rep->results[0]->duplicate;
	uint64_t id = rep->results[0]->record_id;
	henv_reset(&E);
	return id;
}

/* One tick. */
static void ret_tick(void)
{
	Traction__V1__Empty none = TRACTION__V1__EMPTY__INIT, out;
	CHECK_EQ_INT(henv_call(&E, tick, true, &none, &out, &traction__v1__empty__descriptor), 0);
	henv_reset(&E);
}

/* Whether an expiry pass is under way (its cursor in ret_meta). */
static bool ret_pass_on(void)
{
	trc_txn_t txn;
	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	bool on = trc_txn_get(&txn, trc_store_db(E.store, FB_DB_RET_META), "pass", 4, &v) == 0 &&
		  v.mv_size >= 8 && trc_be64_get(v.mv_data) != 0;
	trc_txn_abort(&txn);
	return on;
}

/* Ticks until a pass is over (the store holds other tests' records
 * first); ret-vision's records left. */
static size_t ret_expire(void)
{
	int ticks = 0;
	do
		ret_tick();
	while (ret_pass_on() && ++ticks < 1000);
	CHECK(ticks < 1000);
	return list_ids("ret-vision", NULL, 1000, NULL, 0);
}

/* A list of ret-vision's records through pages of 2 (paging across gaps). */
static size_t ret_ids(const char *scenario, uint64_t *ids, size_t cap)
{
	return list_ids("ret-vision", scenario, 2, ids, cap);
}

/* stats, problems and demands of ret-vision, packed, into out. */
static size_t ret_figures(uint8_t *out, size_t cap)
{
	Traction__V1__StatsRequest sq = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply sr;
	Traction__V1__ProblemsRequest pq = TRACTION__V1__PROBLEMS_REQUEST__INIT;
	Traction__V1__ProblemsReply pr;
	Traction__V1__DemandsRequest dq = TRACTION__V1__DEMANDS_REQUEST__INIT;
	Traction__V1__DemandsReply dr;
	sq.supply_id = pq.supply_id = dq.supply_id = (char *)"ret-vision";
	sq.granularity = TRACTION__V1__GRANULARITY__GRANULARITY_DAY;
	CHECK_EQ_INT(henv_call(&E, feedbackd_stats, false, &sq, &sr,
			       &traction__v1__stats_reply__descriptor), 0);
	size_t n = traction__v1__stats_reply__get_packed_size(&sr);
	CHECK(n < cap);
	traction__v1__stats_reply__pack(&sr, out);
	CHECK_EQ_INT(henv_call(&E, feedbackd_problems, false, &pq, &pr,
			       &traction__v1__problems_reply__descriptor), 0);
	CHECK(n + traction__v1__problems_reply__get_packed_size(&pr) < cap);
	n += traction__v1__problems_reply__pack(&pr, out + n);
	CHECK_EQ_INT(henv_call(&E, feedbackd_demands, false, &dq, &dr,
			       &traction__v1__demands_reply__descriptor), 0);
	CHECK(n + traction__v1__demands_reply__get_packed_size(&dr) < cap);
	n += traction__v1__demands_reply__pack(&dr, out + n);
	henv_reset(&E);
	return n;
}

static int ret_call(trc_handler_fn fn, const void *req, void *rep,
		    const ProtobufCMessageDescriptor *d)
{
	int rc = henv_call(&E, fn, true, req, rep, d);
	henv_reset(&E);
	return rc;
}

static int ret_set(const char *scenario, int kind, unsigned days)
{
	Traction__V1__RetentionSetRequest q = TRACTION__V1__RETENTION_SET_REQUEST__INIT;
	Traction__V1__RetentionSetReply rep;
	q.scenario_id = (char *)scenario;
	q.kind = kind;
	q.days = days;
	return ret_call(feedbackd_retention_set, &q, &rep,
			&traction__v1__retention_set_reply__descriptor);
}

static int ret_hold(bool add, const char *scenario, const char *deployment)
{
	Traction__V1__HoldReply rep;
	if (add) {
		Traction__V1__HoldAddRequest q = TRACTION__V1__HOLD_ADD_REQUEST__INIT;
		Traction__V1__Hold h = TRACTION__V1__HOLD__INIT;
		h.scenario_id = (char *)scenario;
		h.deployment_id = (char *)deployment;
		h.reason = (char *)"audit 2026-Q4";
		q.hold = &h;
		return ret_call(feedbackd_hold_add, &q, &rep, &traction__v1__hold_reply__descriptor);
	}
	Traction__V1__HoldRemoveRequest q = TRACTION__V1__HOLD_REMOVE_REQUEST__INIT;
	q.scenario_id = (char *)scenario;
	q.deployment_id = (char *)deployment;
	return ret_call(feedbackd_hold_remove, &q, &rep, &traction__v1__hold_reply__descriptor);
}

static void ret_policy(unsigned def, unsigned metric, unsigned idem, unsigned per_tick)
{
	fb_retention_t *p = &state_of()->retention;
	fb_retention_from(p, NULL);
	p->days[0] = def;
	p->days[TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC] = metric;
	p->idempotency_days = idem;
	p->expire_per_tick = per_tick;
	p->pass_every_s = 0;
	p->day_s = 10; /* a retention day of 10 s: the clock moves by hand */
}

static void ret_deployment(const char *id, const char *scenario)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Deployment d = TRACTION__V1__DEPLOYMENT__INIT;
	d.id = (char *)id;
	d.scenario_id = (char *)scenario;
	d.supply_id = (char *)"ret-vision";
	d.version = (char *)"1.0";
	d.stage = TRACTION__V1__STAGE__STAGE_PILOT;
	d.status = TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_ACTIVE;
	ev.type = (char *)"deployment.adopted";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT;
	ev.deployment = &d;
	apply(&ev, 2);
}

/* Records past their kind's TTL (by receipt, not by observation) leave
 * list and the indexes; stats, problems and demands answer the same; a
 * held scenario's and a held deployment's records stay until the hold
 * ends; a scenario's override beats the kind's days; and ids never come
 * back, even when the newest records expired. */
TEST(retention_expires_records_not_figures)
{
	int64_t t0 = E.now_ms;
	known_supply("ret-vision", "1.0");
	known_scenario("ret-a", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	known_scenario("ret-b", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	known_scenario("ret-c", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	ret_deployment("dep-ret", "ret-c");
	ret_policy(0, 2, 30, 10000); /* metrics: 2 days (20 s); the rest forever */
	uint64_t ids[64];
	for (int i = 0; i < 3; i++) {
		ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL, NULL);
		ret_publish("ret-b", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL, NULL);
		ret_publish("ret-c", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL, NULL);
	}
	s_ret_observed = t0 + 43200000; /* observed half a day ahead: received is what counts */
	ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL, NULL);
	s_ret_observed = 0;
	uint64_t problem = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_PROBLEM, NULL,
				       NULL);
	uint64_t demand = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_DEMAND, NULL,
				      NULL);
	CHECK_EQ_INT(ret_ids(NULL, NULL, 0), 12);
	static uint8_t before[1 << 16], after[1 << 16];
	size_t nb = ret_figures(before, sizeof(before));
	CHECK_EQ_INT(ret_hold(true, "ret-b", NULL), 0);
	CHECK_EQ_INT(ret_hold(true, "ret-b", NULL), TRC_EEXIST);
	CHECK_EQ_INT(ret_hold(true, NULL, "dep-ret"), 0);
	CHECK_EQ_INT(ret_hold(true, NULL, "dep-none"), TRC_ENOENT);
	CHECK_EQ_INT(ret_hold(true, "ret-a", "dep-ret"), TRC_EINVAL);

	E.now_ms = t0 + 19000; /* young still (observed 20 days ago) */
	CHECK_EQ_INT(ret_expire(), 12);
	E.now_ms = t0 + 21000;
	CHECK_EQ_INT(ret_expire(), 8); /* ret-a's four metrics went */
	CHECK_EQ_INT(ret_ids("ret-a", ids, 64), 2);
	CHECK(ids[0] == problem && ids[1] == demand);
	CHECK_EQ_INT(ret_ids("ret-b", NULL, 0), 3);
	CHECK_EQ_INT(ret_ids("ret-c", NULL, 0), 3);
	size_t na = ret_figures(after, sizeof(after));
	CHECK(na == nb && memcmp(before, after, nb) == 0);

	/* holds end: their records go at the next pass */
	CHECK_EQ_INT(ret_hold(false, NULL, "dep-ret"), 0);
	CHECK_EQ_INT(ret_hold(false, NULL, "dep-ret"), TRC_ENOENT);
	CHECK_EQ_INT(ret_expire(), 5);
	CHECK_EQ_INT(ret_hold(false, "ret-b", NULL), 0);
	/* an override for the scenario: its problems and demands too */
	CHECK_EQ_INT(ret_set("ret-a", 0, 1), 0);
	CHECK_EQ_INT(ret_set("ret-zz", 0, 1), TRC_ENOENT);
	CHECK_EQ_INT(ret_expire(), 0);
	na = ret_figures(after, sizeof(after));
	CHECK(na == nb && memcmp(before, after, nb) == 0);
	CHECK_EQ_INT(index_entries(FB_DB_BY_SCENARIO, "ret-a"), 0); /* no run outlives its records */
	CHECK_EQ_INT(index_entries(FB_DB_BY_SUPPLY, "ret-vision"), 0);

	/* every record of the supply went, the newest too: ids still grow */
	uint64_t next = ret_publish("ret-c", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL, NULL);
	CHECK(next > demand);
	CHECK_EQ_INT(ret_set("ret-a", 0, 0), 0);
	E.now_ms = t0;
	ret_policy(0, 0, 7, 500);
	fb_retention_from(&state_of()->retention, NULL);
}

/* An idempotency key outlives its record: a retry within
 * idempotency_days is a duplicate of the record that expired, not a new
 * one; after it the key is gone and the same key stores a new record. */
TEST(retention_keys_outlive_their_records)
{
	int64_t t0 = E.now_ms;
	ret_policy(0, 1, 3, 10000); /* metrics: 10 s; keys: 30 s */
	bool dup;
	uint64_t first = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, "k-1",
				     &dup);
	CHECK(!dup);
	E.now_ms = t0 + 11000;
	ret_expire();
	CHECK_EQ_INT(ret_ids("ret-a", NULL, 0), 0);
	uint64_t again = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, "k-1",
				     &dup);
	CHECK(dup && again == first);
	CHECK_EQ_INT(ret_ids("ret-a", NULL, 0), 0);
	E.now_ms = t0 + 29999; /* at the key's TTL, not past it */
	ret_expire();
	again = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, "k-1", &dup);
	CHECK(dup && again == first);
	E.now_ms = t0 + 30000;
	ret_expire();
	again = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, "k-1", &dup);
	CHECK(!dup && again > first);
	/* a key whose record lives longer than it lives as long as the record */
	E.now_ms = t0 + 31000;
	ret_policy(0, 5, 1, 10000); /* metrics: 50 s; keys: 10 s */
	ret_expire();
	uint64_t third = ret_publish("ret-a", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, "k-1",
				     &dup);
	CHECK(dup && third == again);
	E.now_ms = t0;
	fb_retention_from(&state_of()->retention, NULL);
}

/* At most expire_per_tick records a tick, from a cursor in the store: a
 * daemon started again (its memory new) goes on where the pass was. */
TEST(retention_is_bounded_and_resumes)
{
	int64_t t0 = E.now_ms;
	known_scenario("ret-d", TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN);
	uint64_t ids[10];
	ret_policy(0, 0, 7, 500);
	for (int i = 0; i < 10; i++)
		ids[i] = ret_publish("ret-d", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, NULL,
				     NULL);
	CHECK_EQ_INT(ret_set("ret-d", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, 1), 0);
	ret_policy(0, 0, 7, 4);
	E.now_ms = t0 + 11000;
	/* the store's older records come first, four a tick */
	size_t left = ret_ids("ret-d", NULL, 0), rounds = 0;
	while (left == 10 && rounds++ < 5000) {
		ret_tick();
		left = ret_ids("ret-d", NULL, 0);
	}
	CHECK(left >= 6 && left < 10);
	/* a restart: new state, the same store; the pass goes on at once */
	fb_state_t *old = state_of();
	static fb_state_t fresh;
	feedbackd_close(old);
	CHECK_EQ_INT(feedbackd_open(&fresh, E.store, NULL), 0);
	E.user = &fresh;
	ret_policy(0, 0, 7, 4);
	ret_tick();
	size_t now_left = ret_ids("ret-d", NULL, 0);
	CHECK(now_left < left && left - now_left <= 4);
	for (int i = 0; i < 3 && now_left > 0; i++) {
		ret_tick();
		size_t l = ret_ids("ret-d", NULL, 0);
		CHECK(l <= now_left && now_left - l <= 4);
		now_left = l;
	}
	CHECK_EQ_INT(now_left, 0);
	(void)ids;
	feedbackd_close(&fresh);
	CHECK_EQ_INT(feedbackd_open(old, E.store, NULL), 0);
	E.user = old;
	CHECK_EQ_INT(ret_set("ret-d", TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC, 0), 0);
	E.now_ms = t0;
}

/* ---- alert windows (alerts.c) --------------------------------------------------- */

static void alert_rule(const char *id, const char *supply, const char *metric, double q)
{
	Traction__V1__AlertRule r = TRACTION__V1__ALERT_RULE__INIT;
	Traction__V1__AlertAddRequest req = TRACTION__V1__ALERT_ADD_REQUEST__INIT;
	Traction__V1__AlertRuleReply rep;
	r.id = (char *)id;
	r.kind = metric != NULL ? TRACTION__V1__ALERT_KIND__ALERT_METRIC
				: TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM;
	r.supply_id = (char *)supply;
	if (metric != NULL) {
		r.metric = (char *)metric;
		r.quantile = q;
		r.comparison = TRACTION__V1__COMPARISON__CMP_GT;
		r.threshold = 1e12; /* never crossed: windows, not alerts, are looked at */
		r.window_s = 60;
	}
	req.rule = &r;
	CHECK_EQ_INT(henv_call(&E, feedbackd_alert_add, true, &req, &rep,
			       &traction__v1__alert_rule_reply__descriptor), 0);
	henv_reset(&E);
}

static void alert_rule_remove(const char *id)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__AlertRuleReply rep;
	req.id = (char *)id;
	CHECK_EQ_INT(henv_call(&E, feedbackd_alert_remove, true, &req, &rep,
			       &traction__v1__alert_rule_reply__descriptor), 0);
	henv_reset(&E);
}

/* The records in the stored window of (supply, metric) over 60 s, every
 * version and scenario; -1 if there is no row. */
static int64_t window_count(const char *supply, const char *metric)
{
	trc_dbkey_t k;
	CHECK(trc_dbkey_of(&k, supply, "", "", metric));
	trc_dbkey_be64(&k, 60000);
	trc_txn_t txn;
	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	int rc = trc_txn_get(&txn, trc_store_db(E.store, FB_DB_ALERT_WIN), k.buf, k.len, &v);
	int64_t n = -1;
	if (rc == 0) {
		fb_window_t w;
		double value = 0;
		uint64_t count = 0;
		CHECK_EQ_INT(fb_window_decode(&w, v.mv_data, v.mv_size), 0);
		CHECK_EQ_INT(fb_window_figure(&w, E.now_ms, 0, &value, &count), 0);
		fb_window_free(&w);
		n = (int64_t)count;
	} else {
		CHECK_EQ_INT(rc, TRC_ENOENT);
	}
	trc_txn_abort(&txn);
	return n;
}

static size_t window_rows(void)
{
	size_t n = 0;
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(E.store, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_entries(&txn, trc_store_db(E.store, FB_DB_ALERT_WIN), &n), 0);
	trc_txn_abort(&txn);
	return n;
}

/* Records of one metric, n of them in one batch, of defect-vision@1.0 in
 * weld-line-3. */
static void publish_batch_of(const char *metric, size_t n, const char *key)
{
	Traction__V1__FeedbackRecord r[8], *rp[8];
	Traction__V1__Metric m[8];
	char keys[8][48];
	CHECK(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s-%zu", key, i);
		base(&r[i], "weld-line-3", "1.0", keys[i]);
		as_metric(&r[i], &m[i], metric, 10 + (double)i);
		rp[i] = &r[i];
	}
	int rc;
	Traction__V1__PublishReply *rep = publish(rp, n, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rep->n_results, n);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(rep->results[i]->status->code, 0);
	henv_reset(&E);
}

/* Metric rules are found by the record's metric name (alerts.c indexes
 * them): a record goes into the window of its own metric's rules, once
 * for a mean and a p99 that share it, and a record of a metric with no
 * rule, or of a metric whose rule names another supply, touches no
 * window at all (no row is written). The names sort around each other
 * so that a lookup that lands on a neighbour is seen. */
TEST(a_record_goes_into_its_own_metrics_windows_only)
{
	known_supply("al-other", "1.0");
	size_t rows0 = window_rows();
	alert_rule("al-b-mean", "defect-vision", "al_b_ms", 0);
	alert_rule("al-critical", NULL, NULL, 0);
	alert_rule("al-a-mean", "defect-vision", "al_a_ms", 0);
	alert_rule("al-b-p99", "defect-vision", "al_b_ms", 0.99);
	alert_rule("al-d-mean", "al-other", "al_d_ms", 0);
	alert_rule("al-c-p99", "defect-vision", "al_c_ms", 0.99);

	publish_batch_of("al_b_ms", 3, "al-b1");
	CHECK_EQ_INT(window_count("defect-vision", "al_b_ms"), 3); /* once, not once a rule */
	CHECK_EQ_INT(window_count("defect-vision", "al_a_ms"), -1);
	CHECK_EQ_INT(window_count("defect-vision", "al_c_ms"), -1);
	CHECK_EQ_INT(window_rows(), rows0 + 1);

	/* no rule of this metric: no window touched */
	publish_batch_of("al_bb_ms", 4, "al-bb");
	publish_batch_of("al_0_ms", 2, "al-0");
	publish_batch_of("al_z_ms", 2, "al-z");
	/* its only rule names another supply */
	publish_batch_of("al_d_ms", 2, "al-d");
	CHECK_EQ_INT(window_rows(), rows0 + 1);
	CHECK_EQ_INT(window_count("defect-vision", "al_b_ms"), 3);
	CHECK_EQ_INT(window_count("al-other", "al_d_ms"), -1);

	publish_batch_of("al_a_ms", 2, "al-a");
	publish_batch_of("al_c_ms", 5, "al-c");
	publish_batch_of("al_b_ms", 1, "al-b2");
	CHECK_EQ_INT(window_count("defect-vision", "al_a_ms"), 2);
	CHECK_EQ_INT(window_count("defect-vision", "al_c_ms"), 5);
	CHECK_EQ_INT(window_count("defect-vision", "al_b_ms"), 4);
	CHECK_EQ_INT(window_rows(), rows0 + 3);

	/* a rule removed: its metric's records go nowhere, the others' still do */
	alert_rule_remove("al-a-mean");
	publish_batch_of("al_a_ms", 2, "al-a2");
	publish_batch_of("al_c_ms", 1, "al-c2");
	CHECK_EQ_INT(window_count("defect-vision", "al_a_ms"), -1);
	CHECK_EQ_INT(window_count("defect-vision", "al_c_ms"), 6);
	for (size_t i = 0; i < 5; i++) {
		static const char *const ids[] = { "al-b-mean", "al-critical", "al-b-p99",
						   "al-d-mean", "al-c-p99" };
		alert_rule_remove(ids[i]);
	}
	CHECK_EQ_INT(window_rows(), rows0);
}

int main(void)
{
	static fb_state_t state;
	henv_open(&E, check_tmpdir("trc-feedbackd"), &feedbackd_dbs, "feedback");
	CHECK_EQ_INT(feedbackd_open(&state, E.store, NULL), 0);
	E.user = &state;
	E.batch_end = feedbackd_batch_end;
	E.batch_done = feedbackd_batch_done;
	RUN(validation_and_references);
	RUN(batches_and_idempotency);
	RUN(idempotency_digests_old_and_new);
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
	RUN(scoped_readers_see_their_part);
	RUN(scoped_problems_regressions_and_demands);
	RUN(scoped_events);
	RUN(scoped_scans_are_bounded);
	RUN(schema_2_refs_learn_their_owners);
	RUN(schema_3_replay_keeps_regressions);
	RUN(hand_written_field_numbers_match_the_proto);
	RUN(retention_expires_records_not_figures);
	RUN(retention_keys_outlive_their_records);
	RUN(retention_is_bounded_and_resumes);
	RUN(a_record_goes_into_its_own_metrics_windows_only);
	feedbackd_close(&state);
	henv_close(&E);
	DONE();
}
