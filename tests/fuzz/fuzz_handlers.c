/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the request handlers and event consumers, fed what a hostile
 * client or a broken peer could send: the first byte picks an entry point,
 * the rest is its protobuf body, decoded as the runtime decodes it and run
 * in a write transaction on a real store (aborted afterwards, so every run
 * starts from the same state). The stores hold data first — a provider, a
 * supply with two versions, a scenario, feedback of every kind, a
 * deployment — so that inputs reach the paths that find something, not
 * only the NOT_FOUND ones. A handler must answer (OK or an error), never
 * crash, leak or touch memory it does not own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "call.h"
#include "error.h"
#include "evlog.h"
#include "feedbackd.h"
#include "iterationd.h"
#include "scenariod.h"
#include "store.h"
#include "supplyd.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	trc_store_t *store;
	trc_evlog_t *evlog;
	void *user;
} env_t;

static env_t s_sup, s_scen, s_fb, s_it;
static fb_state_t s_fb_state;
static it_state_t s_it_state;
static trc_arena_t *s_arena;

static void s_open(env_t *e, const char *dir, const char *name, const trc_dbs_t *dbs,
		   const char *source)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (trc_store_open(&e->store, path, 64u << 20, dbs, 1) != 0)
		abort();
	e->evlog = trc_evlog_new(source);
}

static void s_seed(void);

static void s_init(void)
{
	char dir[] = "/tmp/trc-fuzz-XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	s_open(&s_sup, dir, "supplyd", &supplyd_dbs, "supply");
	s_open(&s_scen, dir, "scenariod", &scenariod_dbs, "scenario");
	s_open(&s_fb, dir, "feedbackd", &feedbackd_dbs, "feedback");
	s_open(&s_it, dir, "iterationd", &iterationd_dbs, "iteration");
	/* The stores stay open (and mapped) for the process's life; their
	 * files can go now, so no run leaves a directory behind, whether
	 * libFuzzer exits, finds a crash, or is killed. */
	static const char *const names[] = { "supplyd", "scenariod", "feedbackd", "iterationd" };
	for (size_t i = 0; i < 4; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/data.mdb", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s/lock.mdb", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rmdir(path);
	}
	rmdir(dir);
	feedbackd_open(&s_fb_state, s_fb.store, NULL);
	static trc_config_t cfg;
	char err[256];
	if (trc_config_init(&cfg, iterationd_config, NULL, err, sizeof(err)) != 0)
		abort();
	s_it_state.gates = *it_gates(&cfg);
	s_fb.user = &s_fb_state;
	s_it.user = &s_it_state;
	s_arena = trc_arena_new();
	s_seed();
}

/* ---- the data every run starts from ----------------------------------------- */

static const trc_method_t *s_method(const trc_method_t *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	abort();
}

static void s_no_publish(void *ud, const char *topic, const void *data, size_t len)
{
	(void)ud;
	(void)topic;
	(void)data;
	(void)len;
}

/* Runs a handler, or applies an event, in a transaction that commits: the
 * seed must go in, or the fuzzer would explore an empty store. */
static void s_commit(env_t *e, const trc_method_t *m, const ProtobufCMessage *req,
		     const Traction__V1__Event *ev,
		     int (*apply)(trc_call_t *, const Traction__V1__Event *))
{
	trc_txn_t txn;
	if (trc_txn_begin(e->store, &txn, true) != 0)
		abort();
	trc_call_t call = { .txn = &txn, .arena = s_arena, .evlog = e->evlog, .user = e->user,
			    .client_id = "seed", .role = TRACTION__V1__ROLE__ROLE_ADMIN,
			    .now_ms = 1764325000000 };
	int rc;
	if (m != NULL) {
		size_t len = protobuf_c_message_get_packed_size(req);
		uint8_t *bytes = trc_arena_alloc(s_arena, len + 1);
		protobuf_c_message_pack(req, bytes);
		ProtobufCAllocator al = trc_arena_allocator(s_arena);
		ProtobufCMessage *in = protobuf_c_message_unpack(m->request, &al, len, bytes);
		ProtobufCMessage *rep = trc_arena_alloc(s_arena, m->reply->sizeof_message);
		protobuf_c_message_init(m->reply, rep);
		call.body = bytes;
		call.body_len = len;
		rc = in != NULL ? m->handler(&call, in, rep) : -1;
	} else {
		rc = apply(&call, ev);
	}
	if (rc == 0 && e == &s_fb)
		rc = feedbackd_batch_end(&call);
	if (rc != 0 || call.code != 0 || trc_txn_commit(&txn) != 0) {
		fprintf(stderr, "fuzz_handlers: the seed did not go in (%s: %s)\n",
			m != NULL ? m->name : ev->type, call.message ? call.message : "");
		abort();
	}
	trc_evlog_flush(e->evlog, s_no_publish, NULL);
	if (e == &s_fb)
		feedbackd_batch_done(&s_fb_state, true);
	trc_arena_reset(s_arena);
}

static void s_event(const char *source, uint64_t seq, const char *type,
		    Traction__V1__Event *ev, env_t *const *to, size_t n,
		    int (*const *apply)(trc_call_t *, const Traction__V1__Event *))
{
	ev->source = (char *)source;
	ev->seq = seq;
	ev->type = (char *)type;
	ev->time_ms = 1764325000000;
	for (size_t i = 0; i < n; i++)
		s_commit(to[i], NULL, NULL, ev, apply[i]);
}

static void s_seed(void)
{
	env_t *consumers[] = { &s_scen, &s_fb, &s_it };
	int (*const applies[])(trc_call_t *, const Traction__V1__Event *) = {
		scenariod_apply, feedbackd_apply, iterationd_apply };

	Traction__V1__Provider pv = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest prq = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	pv.id = (char *)"acme";
	pv.name = (char *)"Acme";
	pv.kind = 1;
	prq.provider = &pv;
	s_commit(&s_sup, s_method(supplyd_methods, supplyd_n_methods, "provider.register"),
		 &prq.base, NULL, NULL);
	Traction__V1__Supply sp = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest srq = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	char *caps[] = { (char *)"defect-detection", (char *)"visual-inspection" };
	sp.id = (char *)"defect-vision";
	sp.provider_id = (char *)"acme";
	sp.kind = 3;
	sp.name = (char *)"Defect Vision";
	sp.initial_version = (char *)"1.0";
	sp.capabilities = caps;
	sp.n_capabilities = 2;
	srq.supply = &sp;
	s_commit(&s_sup, s_method(supplyd_methods, supplyd_n_methods, "register"), &srq.base, NULL,
		 NULL);
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	sp.status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &sp;
	s_event("supply", 1, "supply.registered", &ev, consumers, 3, applies);

	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__ScenarioSubmitRequest scq = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric tm = TRACTION__V1__TARGET_METRIC__INIT, *tmp = &tm;
	tm.metric = (char *)"defect_rate";
	tm.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	tm.threshold = 0.02;
	d.capabilities = caps;
	d.n_capabilities = 1;
	d.targets = &tmp;
	d.n_targets = 1;
	sc.id = (char *)"weld-line-3";
	sc.enterprise = (char *)"Northern Steel";
	sc.domain = 2;
	sc.name = (char *)"Weld seams";
	sc.demands = &dp;
	sc.n_demands = 1;
	scq.scenario = &sc;
	s_commit(&s_scen, s_method(scenariod_methods, scenariod_n_methods, "submit"), &scq.base,
		 NULL, NULL);
	sc.status = TRACTION__V1__SCENARIO_STATUS__SCENARIO_OPEN;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SCENARIO;
	ev.scenario = &sc;
	s_event("scenario", 1, "scenario.submitted", &ev, consumers + 1, 2, applies + 1);

	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest irq = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	char *fixes[] = { (char *)"hairline-miss" };
	it.supply_id = (char *)"defect-vision";
	it.version = (char *)"1.1";
	it.parent_version = (char *)"1.0";
	it.notes = (char *)"hairline model";
	it.addresses = fixes;
	it.n_addresses = 1;
	irq.iteration = &it;
	s_commit(&s_it, s_method(iterationd_iteration_methods, iterationd_n_iteration_methods,
				 "record"),
		 &irq.base, NULL, NULL);
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ITERATION;
	ev.iteration = &it;
	s_event("iteration", 1, "iteration.recorded", &ev, consumers, 2, applies);

	/* feedback of every kind, for both versions */
	const trc_method_t *publish = s_method(feedbackd_methods, feedbackd_n_methods, "publish");
	for (int i = 0; i < 24; i++) {
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
		Traction__V1__Metric mt = TRACTION__V1__METRIC__INIT;
		Traction__V1__Problem pb = TRACTION__V1__PROBLEM__INIT;
		Traction__V1__ValueVerification vv = TRACTION__V1__VALUE_VERIFICATION__INIT;
		Traction__V1__DemandSignal dm = TRACTION__V1__DEMAND_SIGNAL__INIT;
		Traction__V1__PublishRequest pq = TRACTION__V1__PUBLISH_REQUEST__INIT;
		char key[16];
		snprintf(key, sizeof(key), "seed-%d", i);
		r.scenario_id = (char *)"weld-line-3";
		r.supply_id = (char *)"defect-vision";
		r.version = (char *)(i % 2 ? "1.1" : "1.0");
		r.idempotency_key = key;
		r.observed_at_ms = 1764325000000 - 3600000LL * i;
		switch (i % 4) {
		case 0:
			mt.name = (char *)"defect_rate";
			mt.value = 0.01 * i;
			r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
			r.metric = &mt;
			break;
		case 1:
			pb.severity = 1 + i % 4;
			pb.title = (char *)"misses hairline cracks";
			pb.signature = (char *)"hairline-miss";
			r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
			r.problem = &pb;
			break;
		case 2:
			vv.kpi = (char *)"scrap_rate";
			vv.baseline = 0.05;
			vv.achieved = 0.03;
			r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
			r.value = &vv;
			break;
		default:
			dm.text = (char *)"run on the PLC";
			dm.capabilities = caps + 1;
			dm.n_capabilities = 1;
			r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
			r.demand = &dm;
			break;
		}
		pq.records = &rp;
		pq.n_records = 1;
		s_commit(&s_fb, publish, &pq.base, NULL, NULL);
	}

	Traction__V1__DeploymentAdoptRequest aq = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	aq.scenario_id = (char *)"weld-line-3";
	aq.supply_id = (char *)"defect-vision";
	aq.version = (char *)"1.0";
	s_commit(&s_it, s_method(iterationd_deployment_methods, iterationd_n_deployment_methods,
				 "adopt"),
		 &aq.base, NULL, NULL);
}

typedef struct {
	env_t *env;
	const trc_method_t *m;   /* a request, or */
	int (*apply)(trc_call_t *, const Traction__V1__Event *); /* an event */
} target_t;

static size_t s_targets(target_t *t)
{
	size_t n = 0;
	for (size_t i = 0; i < supplyd_n_methods; i++)
		t[n++] = (target_t){ &s_sup, &supplyd_methods[i], NULL };
	for (size_t i = 0; i < scenariod_n_methods; i++)
		t[n++] = (target_t){ &s_scen, &scenariod_methods[i], NULL };
	for (size_t i = 0; i < feedbackd_n_methods; i++)
		t[n++] = (target_t){ &s_fb, &feedbackd_methods[i], NULL };
	for (size_t i = 0; i < iterationd_n_iteration_methods; i++)
		t[n++] = (target_t){ &s_it, &iterationd_iteration_methods[i], NULL };
	for (size_t i = 0; i < iterationd_n_deployment_methods; i++)
		t[n++] = (target_t){ &s_it, &iterationd_deployment_methods[i], NULL };
	t[n++] = (target_t){ &s_scen, NULL, scenariod_apply };
	t[n++] = (target_t){ &s_fb, NULL, feedbackd_apply };
	t[n++] = (target_t){ &s_it, NULL, iterationd_apply };
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static target_t targets[128];
	static size_t ntargets;
	if (s_arena == NULL) {
		s_init();
		ntargets = s_targets(targets);
	}
	if (size < 1)
		return 0;
	target_t *t = &targets[data[0] % ntargets];
	ProtobufCAllocator al = trc_arena_allocator(s_arena);
	trc_txn_t txn;
	if (trc_txn_begin(t->env->store, &txn, true) != 0)
		abort();
	trc_call_t call = { .txn = &txn, .arena = s_arena, .evlog = t->env->evlog,
			    .user = t->env->user, .client_id = "fuzz",
			    .role = TRACTION__V1__ROLE__ROLE_ADMIN, .now_ms = 1764325000000 };
	char bad[256];
	if (t->m != NULL &&
	    trc_wire_check_strings(t->m->request, data + 1, size - 1, bad, sizeof(bad)) == TRC_EINVAL) {
		/* refused before any handler, as the runtime does */
	} else if (t->m != NULL) {
		ProtobufCMessage *req = protobuf_c_message_unpack(t->m->request, &al, size - 1, data + 1);
		if (req != NULL) {
			/* as the runtime does: the bytes as they came, too */
			call.body = data + 1;
			call.body_len = size - 1;
			ProtobufCMessage *rep = trc_arena_alloc(s_arena, t->m->reply->sizeof_message);
			protobuf_c_message_init(t->m->reply, rep);
			int rc = t->m->handler(&call, req, rep);
			if (rc == 0) {
				/* a reply that packs */
				size_t len = protobuf_c_message_get_packed_size(rep);
				uint8_t *buf = malloc(len + 1);
				protobuf_c_message_pack(rep, buf);
				free(buf);
			}
		}
	} else {
		Traction__V1__Event *ev = traction__v1__event__unpack(&al, size - 1, data + 1);
		if (ev != NULL)
			t->apply(&call, ev);
	}
	trc_txn_abort(&txn);
	trc_evlog_rollback(t->env->evlog, 0);
	if (t->env == &s_fb)
		feedbackd_batch_done(&s_fb_state, false);
	trc_arena_reset(s_arena);
	return 0;
}
