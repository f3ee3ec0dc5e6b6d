/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Out of memory on every method of every daemon. Each request goes down
 * the runtime's own path (lib/svc_dispatch.c: decode, method, role,
 * Header.after; lib/svc_writer.c: the group commit; lib/svc_frames.c: the
 * reply), in this process, on the four daemons' own definitions (their
 * main.c, compiled again so that it hands its definition over instead of
 * running) with real LMDB stores in a temp dir. Only the broker is this
 * test: a ROUTER on loopback that the services register with and that
 * reads their replies.
 *
 * A script of steps (every method of the daemons' tables and the three
 * every daemon answers, refusals too; event delivery between the
 * daemons; feedbackd's tick) runs once without faults: its replies and
 * each store's contents after each step are the reference. Then the
 * script runs again on fresh stores with each step swept: lib's Nth
 * allocation on the request's path fails (lib/fault.h: the arena's, so
 * protobuf-c's unpacking too, and the mallocs of the work lists, parking
 * and the event log's queue), N = 1, 2, ... until a run hits no fault.
 * Twice: failing only the Nth, and failing every one from the Nth on.
 *
 * Every run of a request is answered exactly once: RESOURCE_EXHAUSTED or
 * the step's own error (its store as it was before the run), or an OK
 * with exactly the reference's reply (and store). The run that hits no
 * fault matches the reference, and the next step starts where the
 * reference did: a write that failed left nothing behind, in the store or
 * in a daemon's caches. Delivered events that failed to apply are
 * applied by the next delivery, never skipped. ASan finds crashes and
 * leaks (the services are destroyed at the end).
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "blocks.h"
#include "check.h"
#include "error.h"
#include "fault.h"
#include "log.h"
#include "pbjson.h"
#include "service_int.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/iteration.pb-c.h"

/* ---- the fault: lib's Nth allocation fails ---------------------------------- */

static struct {
	atomic_bool armed;
	atomic_ulong calls;      /* allocations asked for while armed */
	unsigned long at;        /* the one that fails */
	bool onward;             /* and every one after it */
	atomic_ulong hits;
} F;

bool trc_fault_alloc(void)
{
	if (!atomic_load(&F.armed))
		return false;
	unsigned long n = atomic_fetch_add(&F.calls, 1) + 1;
	bool fail = n == F.at || (F.onward && n > F.at);
	if (fail)
		atomic_fetch_add(&F.hits, 1);
	return fail;
}

static void s_arm(unsigned long at, bool onward)
{
	atomic_store(&F.calls, 0);
	atomic_store(&F.hits, 0);
	F.at = at;
	F.onward = onward;
	atomic_store(&F.armed, at > 0);
}

static bool s_disarm(void)
{
	atomic_store(&F.armed, false);
	return atomic_load(&F.hits) > 0;
}

/* ---- the daemons, as their main.c defines them --------------------------------- */

/* Each daemon's main.c is compiled again for this test with main renamed
 * fault_main_<daemon> and trc_service_main renamed fault_capture: calling
 * it hands over the definition the daemon runs with (tests/CMakeLists.txt). */
int fault_capture(int argc, char **argv, const trc_daemon_def_t *def);
int fault_main_supplyd(int argc, char **argv);
int fault_main_scenariod(int argc, char **argv);
int fault_main_feedbackd(int argc, char **argv);
int fault_main_iterationd(int argc, char **argv);

static const trc_daemon_def_t *s_captured;

int fault_capture(int argc, char **argv, const trc_daemon_def_t *def)
{
	(void)argc;
	(void)argv;
	s_captured = def;
	return 0;
}

enum { SUP, SCN, FBK, ITR, ND };

static const trc_daemon_def_t *s_defs[ND];
static trc_service_t *s_svc[ND];
static bool s_writer_thread; /* group commits by the writer thread */
static void *s_zctx, *s_router, *s_xsub, *s_xpub;
static trc_config_t s_cfg;
static trc_config_t s_dcfg[ND]; /* each daemon's: the shared keys of s_cfg, and its own */
static uint64_t s_request_id;

#define NOW_MS 1764325000000 /* every turn's clock: replies and stores compare */

static void s_bind(void **sock, int type, char *endpoint, size_t len)
{
	*sock = zmq_socket(s_zctx, type);
	int linger = 0, timeout = 10000;
	CHECK(*sock != NULL);
	zmq_setsockopt(*sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(*sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	CHECK(zmq_bind(*sock, "tcp://127.0.0.1:*") == 0);
	CHECK(zmq_getsockopt(*sock, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
}

static void s_world_open(const char *dir)
{
	s_zctx = zmq_ctx_new();
	trc_config_defaults(&s_cfg);
	snprintf(s_cfg.state_dir, sizeof(s_cfg.state_dir), "%s", dir);
	s_bind(&s_router, ZMQ_ROUTER, s_cfg.service_endpoint, sizeof(s_cfg.service_endpoint));
	s_bind(&s_xsub, ZMQ_XSUB, s_cfg.event_publish_endpoint,
	       sizeof(s_cfg.event_publish_endpoint));
	s_bind(&s_xpub, ZMQ_XPUB, s_cfg.event_subscribe_endpoint,
	       sizeof(s_cfg.event_subscribe_endpoint));
	for (int d = 0; d < ND; d++) {
		char err[256];
		CHECK_MSG(trc_config_init(&s_dcfg[d], s_defs[d]->config, NULL, err, sizeof(err)) == 0,
			  "%s: %s", s_defs[d]->daemon, err);
		/* feedbackd's retention at a day of a second, so that a tick
		 * later in the script has records to expire, two a tick */
		static const char retention[] = "[retention]\nmetric_days = 1\nday_s = 1\n"
						"expire_per_tick = 2\npass_every_s = 0\n";
		CHECK_MSG(d != FBK || trc_config_parse(&s_dcfg[d], "retention", retention,
							 sizeof(retention) - 1, err,
							 sizeof(err)) == 0,
			  "%s: %s", s_defs[d]->daemon, err);
		memcpy(s_dcfg[d].state_dir, s_cfg.state_dir, sizeof(s_cfg.state_dir));
		memcpy(s_dcfg[d].service_endpoint, s_cfg.service_endpoint,
		       sizeof(s_cfg.service_endpoint));
		memcpy(s_dcfg[d].event_publish_endpoint, s_cfg.event_publish_endpoint,
		       sizeof(s_cfg.event_publish_endpoint));
		memcpy(s_dcfg[d].event_subscribe_endpoint, s_cfg.event_subscribe_endpoint,
		       sizeof(s_cfg.event_subscribe_endpoint));
		int rc = trc_service_new(&s_svc[d], s_defs[d], &s_dcfg[d]);
		CHECK_MSG(rc == 0, "%s: %s", s_defs[d]->daemon, trc_strerror(rc));
	}
}

static void s_world_close(void)
{
	for (int d = 0; d < ND; d++)
		trc_service_destroy(&s_svc[d]);
	zmq_close(s_router);
	zmq_close(s_xsub);
	zmq_close(s_xpub);
	zmq_ctx_term(s_zctx);
}

/* A store's contents: every record of every database, hashed (FNV-1a). */
static void s_hash(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < sizeof(n); i++)
		*h = (*h ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ull;
}

/* Every record of every database of a daemon's store, to fn. */
static void s_walk(int d, void (*fn)(void *ud, const char *db, const MDB_val *k, const MDB_val *v),
		   void *ud)
{
	trc_store_t *store = trc_service_store(s_svc[d]);
	trc_txn_t txn;
	CHECK(trc_txn_begin(store, &txn, false) == 0);
	for (int list = 0; list < 2; list++) {
		size_t n = list == 0 ? TRC_SYSDB_COUNT : s_defs[d]->dbs->n;
		for (unsigned i = 0; i < n; i++) {
			const trc_db_t *db = list == 0 ? trc_store_sysdb(store, i)
						       : trc_store_db(store, i);
			trc_iter_t it;
			CHECK(trc_iter_begin(&txn, db, &it, NULL, 0, NULL, 0, false) == 0);
			fn(ud, trc_db_name(db), NULL, NULL);
			while (trc_iter_next(&it))
				fn(ud, trc_db_name(db), &it.key, &it.val);
			trc_iter_end(&it);
		}
	}
	trc_txn_abort(&txn);
}

static void s_hash_record(void *ud, const char *db, const MDB_val *k, const MDB_val *v)
{
	if (k == NULL) {
		s_hash(ud, db, strlen(db));
		return;
	}
	s_hash(ud, k->mv_data, k->mv_size);
	s_hash(ud, v->mv_data, v->mv_size);
}

static uint64_t s_fingerprint(int d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	s_walk(d, s_hash_record, &h);
	return h;
}

/* ---- the script ---------------------------------------------------------------- */

typedef enum { STEP_CALL, STEP_SYNC, STEP_TICK } step_kind_t;

typedef struct {
	step_kind_t kind;
	int d;                   /* the daemon */
	const char *service, *method;
	const char *json;        /* the request, as tractionctl --json writes it */
	const char *raw;         /* or a body that is not the method's message */
	const char *after;       /* Header.after: one position, "source" */
	uint64_t after_seq;
	const char *scope;       /* a scoped reader's: "e:ENTERPRISE", "p:PROVIDER"; NULL: admin */
	int expect;              /* its status code without faults */
	int64_t later_ms;        /* a tick's clock: this long after the others' */
} step_t;

#define CALL(d, svc, m, j) { STEP_CALL, d, svc, m, j, NULL, NULL, 0, NULL, 0, 0 }
#define FAIL(d, svc, m, j, code) \
	{ STEP_CALL, d, svc, m, j, NULL, NULL, 0, NULL, TRACTION__V1__CODE__##code, 0 }
#define RAW(d, svc, m, r, code) \
	{ STEP_CALL, d, svc, m, NULL, r, NULL, 0, NULL, TRACTION__V1__CODE__##code, 0 }
#define AFTER(d, svc, m, j, src, seq, code) \
	{ STEP_CALL, d, svc, m, j, NULL, src, seq, NULL, TRACTION__V1__CODE__##code, 0 }
#define SCOPED(d, svc, m, j, scope, code) \
	{ STEP_CALL, d, svc, m, j, NULL, NULL, 0, scope, TRACTION__V1__CODE__##code, 0 }
#define SYNC { STEP_SYNC, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 }
#define TICK(d) { STEP_TICK, d, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 }
#define TICK_LATER(d, ms) { STEP_TICK, d, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, ms }

#define REC(key, body) \
	"{\"scenario_id\": \"weld-line-3\", \"supply_id\": \"defect-vision\", \"version\": " \
	"\"1.0\", \"idempotency_key\": \"" key "\", \"labels\": [{\"key\": \"shift\", " \
	"\"value\": \"night\"}], " body "}"

static const step_t s_script[] = {
	/* supplyd */
	CALL(SUP, "supply", "provider.register",
	     "{\"provider\": {\"id\": \"acme\", \"name\": \"Acme Vision\", \"kind\": "
	     "\"PROVIDER_AI_COMPANY\"}}"),
	FAIL(SUP, "supply", "provider.register",
	     "{\"provider\": {\"id\": \"acme\", \"name\": \"Again\", \"kind\": "
	     "\"PROVIDER_AI_COMPANY\"}}",
	     ALREADY_EXISTS),
	CALL(SUP, "supply", "provider.register",
	     "{\"provider\": {\"id\": \"globex\", \"name\": \"Globex\", \"kind\": "
	     "\"PROVIDER_SOLUTION_SERVICE\"}}"),
	CALL(SUP, "supply", "provider.update",
	     "{\"provider\": {\"id\": \"acme\", \"contact\": \"ops@acme.example\"}, "
	     "\"update_mask\": [\"contact\"]}"),
	CALL(SUP, "supply", "provider.get", "{\"id\": \"acme\"}"),
	FAIL(SUP, "supply", "provider.get", "{\"id\": \"nobody\"}", NOT_FOUND),
	CALL(SUP, "supply", "provider.list", "{\"page\": {\"limit\": 1}}"),
	CALL(SUP, "supply", "register",
	     "{\"supply\": {\"id\": \"defect-vision\", \"provider_id\": \"acme\", \"kind\": "
	     "\"SUPPLY_INDUSTRIAL_ALGORITHM\", \"name\": \"Defect Vision\", \"capabilities\": "
	     "[\"defect-detection\", \"visual-inspection\"], \"properties\": [{\"key\": "
	     "\"deployment\", \"value\": \"edge\"}], \"initial_version\": \"1.0\"}}"),
	CALL(SUP, "supply", "register",
	     "{\"supply\": {\"id\": \"weld-check\", \"provider_id\": \"globex\", \"kind\": "
	     "\"SUPPLY_MULTIMODAL_MODEL\", \"name\": \"Weld Check\", \"capabilities\": "
	     "[\"defect-detection\"], \"initial_version\": \"2.0\"}}"),
	FAIL(SUP, "supply", "register",
	     "{\"supply\": {\"id\": \"x\", \"provider_id\": \"nope\", \"kind\": "
	     "\"SUPPLY_CHIP\", \"name\": \"X\", \"initial_version\": \"1\"}}",
	     NOT_FOUND),
	CALL(SUP, "supply", "update",
	     "{\"supply\": {\"id\": \"defect-vision\", \"description\": \"finds defects\"}, "
	     "\"update_mask\": [\"description\"]}"),
	CALL(SUP, "supply", "get", "{\"id\": \"defect-vision\"}"),
	CALL(SUP, "supply", "list", "{\"page\": {\"limit\": 1}}"),
	CALL(SUP, "supply", "list", "{\"capability\": \"defect-detection\"}"),
	SYNC,
	/* scenariod */
	CALL(SCN, "scenario", "submit",
	     "{\"scenario\": {\"id\": \"weld-line-3\", \"enterprise\": \"Northern Steel\", "
	     "\"domain\": \"DOMAIN_PRODUCTION\", \"name\": \"Weld line 3\", \"demands\": [{\"id\": "
	     "\"d1\", \"capabilities\": [\"defect-detection\", \"edge-deployment\"], "
	     "\"constraints\": [{\"key\": \"deployment\", \"value\": \"edge\"}], \"targets\": "
	     "[{\"metric\": \"defect_rate\", \"comparison\": \"CMP_LT\", \"threshold\": 0.05}]}]}}"),
	CALL(SCN, "scenario", "submit",
	     "{\"scenario\": {\"id\": \"paint-shop\", \"enterprise\": \"Northern Steel\", "
	     "\"domain\": \"DOMAIN_PRODUCTION\", \"name\": \"Paint shop\", \"demands\": [{\"id\": "
	     "\"d1\", \"capabilities\": [\"visual-inspection\"]}]}}"),
	CALL(SCN, "scenario", "update",
	     "{\"scenario\": {\"id\": \"weld-line-3\", \"description\": \"the night shift\"}, "
	     "\"update_mask\": [\"description\"]}"),
	CALL(SCN, "scenario", "get", "{\"id\": \"weld-line-3\"}"),
	CALL(SCN, "scenario", "list", "{\"page\": {\"limit\": 1}}"),
	CALL(SCN, "scenario", "match", "{\"scenario_id\": \"weld-line-3\"}"),
	CALL(SCN, "scenario", "gaps", "{}"),
	SYNC,
	/* iterationd */
	CALL(ITR, "iteration", "record",
	     "{\"iteration\": {\"supply_id\": \"defect-vision\", \"version\": \"1.1\", "
	     "\"parent_version\": \"1.0\", \"notes\": \"less glare\", \"addresses\": "
	     "[\"sig-glare\"]}}"),
	CALL(ITR, "iteration", "get", "{\"supply_id\": \"defect-vision\", \"version\": \"1.1\"}"),
	CALL(ITR, "iteration", "list", "{\"supply_id\": \"defect-vision\", \"page\": {\"limit\": 1}}"),
	CALL(ITR, "deployment", "adopt",
	     "{\"scenario_id\": \"weld-line-3\", \"supply_id\": \"defect-vision\", \"version\": "
	     "\"1.0\"}"),
	SYNC,
	/* feedbackd */
	CALL(FBK, "feedback", "publish",
	     "{\"records\": [" REC("k1", "\"metric\": {\"name\": \"defect_rate\", \"value\": 0.03}")
	     ", " REC("k2", "\"metric\": {\"name\": \"defect_rate\", \"value\": 0.04}")
	     ", " REC("k3", "\"problem\": {\"severity\": \"SEVERITY_CRITICAL\", \"title\": "
			    "\"glare\", \"signature\": \"sig-glare\"}")
	     ", " REC("k4", "\"value\": {\"kpi\": \"scrap\", \"baseline\": 10, \"achieved\": 8, "
			    "\"unit\": \"%\"}")
	     ", " REC("k5", "\"demand\": {\"text\": \"at the edge\", \"capabilities\": "
			    "[\"edge-deployment\"]}")
	     ", {\"scenario_id\": \"nowhere\", \"supply_id\": \"defect-vision\", \"version\": "
	     "\"1.0\", \"metric\": {\"name\": \"defect_rate\", \"value\": 1}}]}"),
	CALL(FBK, "feedback", "publish", /* the same keys: duplicates */
	     "{\"records\": [" REC("k1", "\"metric\": {\"name\": \"defect_rate\", \"value\": 0.03}")
	     "]}"),
	CALL(FBK, "feedback", "list", "{\"supply_id\": \"defect-vision\", \"page\": {\"limit\": 2}}"),
	CALL(FBK, "feedback", "stats", "{\"supply_id\": \"defect-vision\", \"granularity\": "
				       "\"GRANULARITY_HOUR\"}"),
	CALL(FBK, "feedback", "problems", "{\"supply_id\": \"defect-vision\"}"),
	CALL(FBK, "feedback", "demands", "{}"),
	CALL(FBK, "feedback", "alert.add",
	     "{\"rule\": {\"id\": \"rate\", \"kind\": \"ALERT_METRIC\", \"supply_id\": "
	     "\"defect-vision\", \"metric\": \"defect_rate\", \"quantile\": 0.9, "
	     "\"comparison\": \"CMP_GT\", \"threshold\": 0.01, \"window_s\": 60}}"),
	CALL(FBK, "feedback", "alert.add",
	     "{\"rule\": {\"id\": \"crit\", \"kind\": \"ALERT_CRITICAL_PROBLEM\"}}"),
	CALL(FBK, "feedback", "alert.add",
	     "{\"rule\": {\"id\": \"tgt\", \"kind\": \"ALERT_TARGET\"}}"),
	CALL(FBK, "feedback", "publish",
	     "{\"records\": [" REC("k6", "\"metric\": {\"name\": \"defect_rate\", \"value\": 0.5}")
	     ", " REC("k7", "\"problem\": {\"severity\": \"SEVERITY_CRITICAL\", \"title\": "
			    "\"dust\", \"signature\": \"sig-dust\"}") "]}"),
	TICK(FBK),
	CALL(FBK, "feedback", "alert.list", "{}"),
	CALL(FBK, "feedback", "alert.history", "{\"rule_id\": \"rate\"}"),
	CALL(FBK, "feedback", "alert.remove", "{\"id\": \"crit\"}"),
	TICK(FBK),
	SYNC,
	CALL(ITR, "iteration", "history", "{\"supply_id\": \"defect-vision\"}"),
	CALL(ITR, "iteration", "diff",
	     "{\"supply_id\": \"defect-vision\", \"from_version\": \"1.0\", \"to_version\": "
	     "\"1.1\"}"),
	CALL(ITR, "deployment", "gates", "{\"deployment_id\": \"dep-1\"}"),
	FAIL(ITR, "deployment", "advance", /* the evidence is short: refused with details */
	     "{\"deployment_id\": \"dep-1\", \"to\": \"STAGE_SERVICE\"}", FAILED_PRECONDITION),
	CALL(ITR, "deployment", "advance",
	     "{\"deployment_id\": \"dep-1\", \"to\": \"STAGE_REFINEMENT\", \"force\": true, "
	     "\"reason\": \"the pilot is agreed\"}"),
	CALL(ITR, "deployment", "upgrade",
	     "{\"deployment_id\": \"dep-1\", \"version\": \"1.1\", \"reason\": \"less glare\"}"),
	CALL(ITR, "deployment", "get", "{\"id\": \"dep-1\"}"),
	CALL(ITR, "deployment", "list", "{\"page\": {\"limit\": 1}}"),
	CALL(ITR, "deployment", "history", "{\"deployment_id\": \"dep-1\"}"),
	/* a version that claims to fix the glare, and the glare again in it */
	CALL(ITR, "iteration", "record",
	     "{\"iteration\": {\"supply_id\": \"defect-vision\", \"version\": \"1.2\", "
	     "\"parent_version\": \"1.1\", \"addresses\": [\"sig-glare\"]}}"),
	SYNC,
	CALL(FBK, "feedback", "publish",
	     "{\"records\": [{\"scenario_id\": \"weld-line-3\", \"supply_id\": \"defect-vision\", "
	     "\"version\": \"1.2\", \"idempotency_key\": \"k6\", \"problem\": {\"severity\": "
	     "\"SEVERITY_HIGH\", \"title\": \"glare again\", \"signature\": \"sig-glare\"}}]}"),
	CALL(FBK, "feedback", "regressions", "{}"),
	TICK(FBK),
	/* retention: overrides and holds, then ticks a day (1 s here) later
	 * that expire metric records, two a tick, the held scenario's kept */
	CALL(FBK, "feedback", "retention.set",
	     "{\"scenario_id\": \"weld-line-3\", \"kind\": \"FEEDBACK_PROBLEM\", \"days\": 2}"),
	FAIL(FBK, "feedback", "retention.set", "{\"scenario_id\": \"nowhere\", \"days\": 2}",
	     NOT_FOUND),
	CALL(FBK, "feedback", "retention.list", "{}"),
	CALL(FBK, "feedback", "hold.add",
	     "{\"hold\": {\"deployment_id\": \"dep-1\", \"reason\": \"a dispute\"}}"),
	CALL(FBK, "feedback", "hold.add",
	     "{\"hold\": {\"scenario_id\": \"paint-shop\", \"reason\": \"an audit\"}}"),
	FAIL(FBK, "feedback", "hold.add",
	     "{\"hold\": {\"scenario_id\": \"paint-shop\", \"reason\": \"again\"}}",
	     ALREADY_EXISTS),
	CALL(FBK, "feedback", "hold.list", "{\"page\": {\"limit\": 1}}"),
	CALL(FBK, "feedback", "hold.remove", "{\"deployment_id\": \"dep-1\"}"),
	TICK_LATER(FBK, 1000),
	TICK_LATER(FBK, 3000),
	TICK_LATER(FBK, 3000),
	CALL(FBK, "feedback", "list", "{\"supply_id\": \"defect-vision\"}"),
	SYNC,
	CALL(ITR, "iteration", "diff",
	     "{\"supply_id\": \"defect-vision\", \"from_version\": \"1.0\", \"to_version\": "
	     "\"1.2\"}"),
	/* what every daemon answers */
	CALL(SUP, "supply", "ping", "{}"),
	CALL(SCN, "scenario", "ping", "{}"),
	CALL(FBK, "feedback", "ping", "{}"),
	CALL(ITR, "deployment", "ping", "{}"),
	CALL(SUP, "supply", "events.replay", "{\"from_seq\": 2, \"max\": 3}"),
	CALL(SCN, "scenario", "events.replay", "{\"from_seq\": 1}"),
	CALL(FBK, "feedback", "events.replay", "{\"from_seq\": 1}"),
	CALL(ITR, "iteration", "events.replay", "{\"from_seq\": 1}"),
	CALL(SUP, "supply", "events.read", "{\"from_seq\": 1, \"topics\": [\"supply.\"]}"),
	CALL(SCN, "scenario", "events.read", "{\"from_seq\": 1, \"max\": 1}"),
	CALL(FBK, "feedback", "events.read", "{\"from_seq\": 1}"),
	CALL(ITR, "deployment", "events.read", "{\"from_seq\": 2}"),
	CALL(SUP, "supply", "events.read", "{\"from_seq\": 1000, \"wait_ms\": 1000}"),
	CALL(SUP, "supply", "audit.list", "{}"),
	CALL(SCN, "scenario", "audit.list", "{\"action\": \"scenario.\"}"),
	CALL(FBK, "feedback", "audit.list", "{\"page\": {\"limit\": 1}}"),
	CALL(ITR, "deployment", "audit.list", "{\"subject\": \"dep-1\"}"),
	/* scoped readers: what each daemon shows them */
	SCOPED(SCN, "scenario", "list", "{}", "e:Southern Glass", OK),
	SCOPED(SCN, "scenario", "get", "{\"id\": \"weld-line-3\"}", "e:Southern Glass",
	       PERMISSION_DENIED),
	SCOPED(SCN, "scenario", "events.read", "{\"from_seq\": 1}", "e:Southern Glass", OK),
	SCOPED(FBK, "feedback", "list", "{\"supply_id\": \"defect-vision\"}", "e:Northern Steel",
	       OK),
	SCOPED(FBK, "feedback", "stats", "{\"supply_id\": \"defect-vision\"}", "p:acme", OK),
	SCOPED(FBK, "feedback", "problems", "{}", "p:globex", OK),
	SCOPED(FBK, "feedback", "events.read", "{\"from_seq\": 1}", "e:Northern Steel", OK),
	SCOPED(ITR, "deployment", "list", "{}", "p:globex", OK),
	SCOPED(ITR, "iteration", "history", "{\"supply_id\": \"defect-vision\"}", "p:acme", OK),
	SCOPED(ITR, "iteration", "events.read", "{\"from_seq\": 1}", "p:acme", OK),
	/* refusals on the way in */
	FAIL(SUP, "supply", "no.such.method", "{}", UNIMPLEMENTED),
	RAW(SCN, "scenario", "get", "\x0a\xff", INVALID_ARGUMENT),
	AFTER(FBK, "feedback", "ping", "{}", "nowhere", 1, INVALID_ARGUMENT),
	AFTER(ITR, "iteration", "get", "{\"supply_id\": \"defect-vision\", \"version\": \"1.1\"}",
	      "supply", 1000, UNAVAILABLE),
	/* the ends of things */
	CALL(ITR, "deployment", "retire", "{\"deployment_id\": \"dep-1\", \"reason\": \"done\"}"),
	CALL(SUP, "supply", "retire", "{\"id\": \"weld-check\", \"reason\": \"superseded\"}"),
	CALL(SCN, "scenario", "close", "{\"id\": \"paint-shop\", \"reason\": \"done\"}"),
	SYNC,
};

#define S_NSTEPS (sizeof(s_script) / sizeof(s_script[0]))

/* A step's request, packed once: Route (an admin), Header, body. */
typedef struct {
	uint8_t *route, *body;
	size_t rlen, blen;
} packed_t;

static packed_t s_packed[S_NSTEPS];

static void s_pack_step(size_t i)
{
	const step_t *st = &s_script[i];
	packed_t *p = &s_packed[i];
	if (st->kind != STEP_CALL)
		return;
	Traction__V1__Route rt = TRACTION__V1__ROUTE__INIT;
	char *scope[1] = { st->scope != NULL ? (char *)st->scope + 2 : NULL };
	rt.ticket = 7;
	rt.client_id = (char *)"fault-test";
	rt.role = TRACTION__V1__ROLE__ROLE_ADMIN;
	if (st->scope != NULL) {
		rt.role = TRACTION__V1__ROLE__ROLE_READER;
		if (st->scope[0] == 'e') {
			rt.enterprises = scope;
			rt.n_enterprises = 1;
		} else {
			rt.providers = scope;
			rt.n_providers = 1;
		}
	}
	p->rlen = traction__v1__route__get_packed_size(&rt);
	p->route = malloc(p->rlen);
	traction__v1__route__pack(&rt, p->route);
	if (st->raw != NULL) {
		p->blen = strlen(st->raw);
		p->body = (uint8_t *)strdup(st->raw);
		return;
	}
	const ProtobufCMethodDescriptor *md = trc_method_lookup(st->service, st->method);
	const ProtobufCMessageDescriptor *d = md != NULL ? md->input : &traction__v1__empty__descriptor;
	ProtobufCMessage *msg = calloc(1, d->sizeof_message);
	protobuf_c_message_init(d, msg);
	json_error_t jerr;
	json_t *doc = json_loads(st->json, 0, &jerr);
	char err[256] = "";
	CHECK_MSG(doc != NULL, "step %zu: %s", i, jerr.text);
	CHECK_MSG(pbjson_to_message(doc, msg, err, sizeof(err)) == 0, "step %zu: %s", i, err);
	json_decref(doc);
	p->blen = protobuf_c_message_get_packed_size(msg);
	p->body = malloc(p->blen + 1);
	protobuf_c_message_pack(msg, p->body);
	pbjson_free(msg);
	free(msg);
}

/* ---- one run of a step ------------------------------------------------------------ */

typedef struct {
	int code;
	char message[TRC_REPLY_MESSAGE_MAX];
	uint8_t *body;
	size_t blen;
} answer_t;

static void s_frame(zmq_msg_t *part, const void *data, size_t len)
{
	zmq_msg_init_size(part, len);
	if (len > 0)
		memcpy(zmq_msg_data(part), data, len);
}

/* The reply to request id: it must come (10 s), and be the next one. */
static void s_receive(uint64_t id, answer_t *a)
{
	for (;;) {
		zmq_msg_t part[8];
		int n = 0, more = 1;
		while (more && n < 8) {
			zmq_msg_init(&part[n]);
			CHECK_MSG(zmq_msg_recv(&part[n], s_router, 0) >= 0,
				  "request %llu was not answered", (unsigned long long)id);
			more = zmq_msg_more(&part[n]);
			n++;
		}
		CHECK(!more);
		Traction__V1__Header *h =
			n == 4 ? traction__v1__header__unpack(NULL, zmq_msg_size(&part[2]),
							     zmq_msg_data(&part[2]))
			       : NULL;
		bool reply = h != NULL && h->kind == TRACTION__V1__FRAME_KIND__FRAME_REPLY;
		if (reply) {
			CHECK_MSG(h->request_id == id, "a reply to request %llu while waiting for %llu",
				  (unsigned long long)h->request_id, (unsigned long long)id);
			a->code = h->status != NULL ? h->status->code : 0;
			snprintf(a->message, sizeof(a->message), "%s",
				 h->status != NULL ? h->status->message : "");
			a->blen = zmq_msg_size(&part[3]);
			a->body = malloc(a->blen + 1);
			memcpy(a->body, zmq_msg_data(&part[3]), a->blen);
		}
		if (h != NULL)
			traction__v1__header__free_unpacked(h, NULL);
		for (int i = 0; i < n; i++)
			zmq_msg_close(&part[i]);
		if (reply)
			return;
		/* a registration, or a consumer asking for a replay: not ours */
	}
}

/* The end of a turn: the reads answered, the writes committed and
 * answered; by the loop's thread (as when the daemon stops), or by the
 * writer thread with the hand-over of a busy daemon. */
static void s_turn_end(trc_service_t *svc)
{
	if (!s_writer_thread) {
		svc_turn_end(svc, true);
		return;
	}
	svc->loaded = true; /* as after a full batch: the next goes to the writer */
	svc_turn_end(svc, false);
	svc_writer_done(svc, true, false);
}

/* ping's uptime is the one thing of a reply that is not the script's */
static void s_normalise(const step_t *st, answer_t *a)
{
	if (a->code != 0 || strcmp(st->method, "ping") != 0)
		return;
	Traction__V1__PingReply *p = traction__v1__ping_reply__unpack(NULL, a->blen, a->body);
	CHECK(p != NULL);
	p->uptime_ms = 0;
	a->blen = traction__v1__ping_reply__pack(p, a->body);
	traction__v1__ping_reply__free_unpacked(p, NULL);
}

/* One request, as if from the broker, answered before this returns: a
 * read at once, a write by a group commit on this thread (as when the
 * daemon stops), a request that waits (Header.after) when it expires. */
static void s_call(size_t i, unsigned long fail_at, bool onward, answer_t *a, bool *hit)
{
	const step_t *st = &s_script[i];
	trc_service_t *svc = s_svc[st->d];
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__EventPosition pos = TRACTION__V1__EVENT_POSITION__INIT;
	Traction__V1__EventPosition *after[1] = { &pos };
	uint8_t hbuf[TRC_HEADER_MAX];
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)st->service;
	h.method = (char *)st->method;
	h.request_id = ++s_request_id;
	h.timeout_ms = 5000;
	if (st->after != NULL) {
		pos.source = (char *)st->after;
		pos.applied_seq = st->after_seq;
		h.after = after;
		h.n_after = 1;
	}
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	trc_msg_t m = { .n = 3, .total = 3 };
	s_frame(&m.part[0], s_packed[i].route, s_packed[i].rlen);
	s_frame(&m.part[1], hbuf, hlen);
	s_frame(&m.part[2], s_packed[i].body, s_packed[i].blen);
	svc->fill->now_ms = NOW_MS;
	s_arm(fail_at, onward);
	svc_handle_request(svc, &m);
	s_turn_end(svc);
	svc_unpark(svc, false, true);
	s_turn_end(svc);
	*hit = s_disarm();
	trc_msg_close(&m);
	s_receive(h.request_id, a);
	s_normalise(st, a);
}

static void s_tick(int d, int64_t later_ms, unsigned long fail_at, bool onward, bool *hit)
{
	trc_service_t *svc = s_svc[d];
	work_t *w;
	svc->fill->now_ms = NOW_MS + later_ms;
	s_arm(fail_at, onward);
	if (svc_work_push(&svc->fill->writes, &w) == 0)
		w->kind = WORK_TICK;
	s_turn_end(svc);
	*hit = s_disarm();
}

static int s_daemon_of(const char *source)
{
	for (int d = 0; d < ND; d++)
		if (s_defs[d]->event_source != NULL && strcmp(s_defs[d]->event_source, source) == 0)
			return d;
	return -1;
}

static uint64_t s_head(int d)
{
	trc_txn_t txn;
	CHECK(trc_txn_begin(trc_service_store(s_svc[d]), &txn, false) == 0);
	uint64_t head = trc_evlog_head(&txn);
	trc_txn_abort(&txn);
	return head;
}

/* Whether every consumer has applied every event of its sources. */
static bool s_caught_up(void)
{
	for (int d = 0; d < ND; d++)
		for (size_t c = 0; c < s_svc[d]->ncons; c++)
			if (s_svc[d]->cons[c].applied < s_head(s_daemon_of(s_svc[d]->cons[c].source)))
				return false;
	return true;
}

/* Every event a consumer has not applied yet, from its source's store, as
 * the bus brings them; then the group commit. */
static void s_deliver(int d)
{
	trc_service_t *svc = s_svc[d];
	svc->fill->now_ms = NOW_MS;
	for (size_t c = 0; c < svc->ncons; c++) {
		int src = s_daemon_of(svc->cons[c].source);
		CHECK(src >= 0);
		trc_txn_t txn;
		trc_iter_t it;
		uint8_t from[8];
		trc_be64_put(from, svc->cons[c].applied + 1);
		trc_store_t *store = trc_service_store(s_svc[src]);
		CHECK(trc_txn_begin(store, &txn, false) == 0);
		CHECK(trc_iter_begin(&txn, trc_store_sysdb(store, TRC_SYSDB_EVENTS), &it, from, 8,
				     NULL, 0, false) == 0);
		while (trc_iter_next(&it)) {
			trc_msg_t m = { .n = 2, .total = 2 };
			s_frame(&m.part[0], "event", 5);
			s_frame(&m.part[1], it.val.mv_data, it.val.mv_size);
			svc_handle_event(svc, &m);
			trc_msg_close(&m);
		}
		trc_iter_end(&it);
		trc_txn_abort(&txn);
		s_turn_end(svc);
	}
}

/* Events delivered until every consumer has applied all of its sources'
 * (what a consumer applies may make events of its own). */
static void s_sync(unsigned long fail_at, bool onward, bool *hit)
{
	s_arm(fail_at, onward);
	bool all = false;
	for (int round = 0; round < 8 && !all; round++) {
		for (int d = 0; d < ND; d++)
			s_deliver(d);
		all = s_caught_up();
	}
	*hit = s_disarm();
	CHECK_MSG(*hit || all, "events delivered without a fault, and not all applied");
}

/* ---- the reference, and the sweeps -------------------------------------------------- */

typedef struct {
	answer_t a;
	uint64_t fp[ND];
} expect_t;

static expect_t s_expect[S_NSTEPS];

static void s_fingerprints(uint64_t fp[ND])
{
	for (int d = 0; d < ND; d++)
		fp[d] = s_fingerprint(d);
}

static const char *s_what(size_t i)
{
	static char buf[128];
	const step_t *st = &s_script[i];
	if (st->kind == STEP_SYNC)
		snprintf(buf, sizeof(buf), "step %zu (events delivered)", i);
	else if (st->kind == STEP_TICK)
		snprintf(buf, sizeof(buf), "step %zu (%s's tick)", i, s_defs[st->d]->daemon);
	else
		snprintf(buf, sizeof(buf), "step %zu (%s.%s)", i, st->service, st->method);
	return buf;
}

/* What a store holds, on stderr (TEST_FAULT_DUMP=step: the reference's
 * after that step, and any store that differs from it). */
static void s_print_record(void *ud, const char *db, const MDB_val *k, const MDB_val *v)
{
	if (k == NULL)
		return;
	fprintf(stderr, "%s %s ", (const char *)ud, db);
	for (size_t i = 0; i < k->mv_size; i++)
		fprintf(stderr, "%02x", ((const uint8_t *)k->mv_data)[i]);
	fputc(' ', stderr);
	for (size_t i = 0; i < v->mv_size; i++)
		fprintf(stderr, "%02x", ((const uint8_t *)v->mv_data)[i]);
	fputc('\n', stderr);
}

static void s_dump(int d)
{
	s_walk(d, s_print_record, (void *)s_defs[d]->daemon);
}

static void s_reference(const char *dir)
{
	s_world_open(dir);
	for (size_t i = 0; i < S_NSTEPS; i++) {
		const step_t *st = &s_script[i];
		bool hit;
		if (st->kind == STEP_CALL) {
			const answer_t *a = &s_expect[i].a;
			s_call(i, 0, false, &s_expect[i].a, &hit);
			if (getenv("TEST_FAULT_STEPS") != NULL)
				fprintf(stderr, "%s: %s %s (%zu bytes)\n", s_what(i),
					trc_code_name(a->code), a->message, a->blen);
			CHECK_MSG(a->code == st->expect, "%s: %s \"%s\", expected %s", s_what(i),
				  trc_code_name(a->code), a->message, trc_code_name(st->expect));
		} else if (st->kind == STEP_TICK) {
			s_tick(st->d, st->later_ms, 0, false, &hit);
		} else {
			s_sync(0, false, &hit);
		}
		s_fingerprints(s_expect[i].fp);
		const char *dump = getenv("TEST_FAULT_DUMP");
		if (dump != NULL && (size_t)atoi(dump) == i)
			for (int d = 0; d < ND; d++)
				s_dump(d);
	}
	s_world_close();
}

static struct {
	unsigned long runs, refused, longest;
	size_t longest_step;
} S;

static bool s_same(const answer_t *a, const answer_t *b)
{
	return a->code == b->code && a->blen == b->blen && memcmp(a->body, b->body, a->blen) == 0;
}

/* A request swept: N = 1, 2, ... until a run hits no fault, or one that
 * did ends in the reference's OK. */
/* TEST_FAULT_ONLY=name: faults only in the steps of that method (the
 * others run once, without), to look at one. */
static bool s_swept(const step_t *st)
{
	const char *only = getenv("TEST_FAULT_ONLY");
	return only == NULL || (st->method != NULL && strcmp(st->method, only) == 0);
}

static void s_sweep_call(size_t i, bool onward)
{
	const step_t *st = &s_script[i];
	const expect_t *e = &s_expect[i];
	unsigned long n = s_swept(st) ? 1 : 0; /* 0: no fault */
	for (;; n++) {
		uint64_t before = s_fingerprint(st->d);
		answer_t a;
		bool hit;
		s_call(i, n, onward, &a, &hit);
		S.runs++;
		uint64_t now = s_fingerprint(st->d);
		const char *how = onward ? " onward" : "";
		bool ok = a.code == 0, last = !hit || ok;
		if (ok)
			CHECK_MSG(s_same(&a, &e->a),
				  "%s, allocation %lu failing%s: OK with a reply other than the "
				  "reference's (%zu bytes, expected %s with %zu)",
				  s_what(i), n, how, a.blen, trc_code_name(e->a.code), e->a.blen);
		else if (hit)
			CHECK_MSG(a.code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED ||
					  a.code == e->a.code,
				  "%s, allocation %lu failing%s: %s \"%s\", expected "
				  "RESOURCE_EXHAUSTED or %s",
				  s_what(i), n, how, trc_code_name(a.code), a.message,
				  trc_code_name(e->a.code));
		else
			CHECK_MSG(s_same(&a, &e->a), "%s, no fault: %s \"%s\", expected %s",
				  s_what(i), trc_code_name(a.code), a.message,
				  trc_code_name(e->a.code));
		if (last)
			CHECK_MSG(now == e->fp[st->d], "%s: the store differs from the reference's",
				  s_what(i));
		else
			CHECK_MSG(now == before, "%s, allocation %lu failing%s: %s, but the store "
						 "changed",
				  s_what(i), n, how, trc_code_name(a.code));
		if (!ok)
			S.refused++;
		free(a.body);
		if (last)
			break;
		CHECK_MSG(n < 100000, "%s: no end to its allocations", s_what(i));
	}
	if (n > S.longest) {
		S.longest = n;
		S.longest_step = i;
	}
}

/* An event delivery or a tick swept: what a run that failed left undone
 * the next one does (a tick's work waits for the next tick, an event
 * not applied comes again); after the one that hits no fault the stores
 * are the reference's. */
static void s_sweep_other(size_t i, bool onward)
{
	const step_t *st = &s_script[i];
	unsigned long n = s_swept(st) ? 1 : 0;
	bool hit = true;
	for (; hit; n++) {
		if (st->kind == STEP_SYNC) {
			s_sync(n, onward, &hit);
		} else { /* a tick is all or nothing */
			uint64_t before = s_fingerprint(st->d);
			s_tick(st->d, st->later_ms, n, onward, &hit);
			uint64_t now = s_fingerprint(st->d);
			CHECK_MSG(now == before || now == s_expect[i].fp[st->d],
				  "%s, allocation %lu failing%s: half done", s_what(i), n,
				  onward ? " onward" : "");
			hit = hit && now == before;
		}
		S.runs++;
		CHECK_MSG(n < 100000, "%s: no end to its allocations", s_what(i));
	}
	if (n > S.longest) {
		S.longest = n;
		S.longest_step = i;
	}
}

static void s_faults(const char *dir, bool onward)
{
	s_world_open(dir);
	for (size_t i = 0; i < S_NSTEPS; i++) {
		if (s_script[i].kind == STEP_CALL)
			s_sweep_call(i, onward);
		else
			s_sweep_other(i, onward);
		uint64_t fp[ND];
		s_fingerprints(fp);
		for (int d = 0; d < ND; d++)
			if (fp[d] != s_expect[i].fp[d] && getenv("TEST_FAULT_DUMP") != NULL)
				s_dump(d);
		for (int d = 0; d < ND; d++)
			CHECK_MSG(fp[d] == s_expect[i].fp[d],
				  "after %s, allocations failing%s: %s's store differs from the "
				  "reference's",
				  s_what(i), onward ? " onward" : "", s_defs[d]->daemon);
	}
	s_world_close();
}

/* ---- what the script covers ---------------------------------------------------------- */

static bool s_scripted(int d, const char *method)
{
	for (size_t i = 0; i < S_NSTEPS; i++)
		if (s_script[i].kind == STEP_CALL && s_script[i].d == d &&
		    strcmp(s_script[i].method, method) == 0)
			return true;
	return false;
}

/* Every method of every daemon's tables, and those of the daemon block
 * each answers (but backup.*), is in the script: a method added later
 * must be. */
static int s_coverage(void)
{
	/* backup.* are not swept: a backup's copy runs on a thread of its
	 * own, outside the turns this test drives (test_backup covers them) */
	static const char *const builtin[] = { "ping", "events.replay", "events.read",
					       "audit.list" };
	int n = 0;
	for (int d = 0; d < ND; d++) {
		for (size_t t = 0; t < s_defs[d]->n_services; t++) {
			const trc_service_table_t *tab = &s_defs[d]->services[t];
			for (size_t j = 0; j < tab->n_methods; j++, n++)
				CHECK_MSG(s_scripted(d, tab->methods[j].name),
					  "%s's %s.%s is not in the script", s_defs[d]->daemon,
					  tab->name, tab->methods[j].name);
		}
		for (size_t j = 0; j < sizeof(builtin) / sizeof(builtin[0]); j++, n++)
			CHECK_MSG(s_scripted(d, builtin[j]), "%s's %s is not in the script",
				  s_defs[d]->daemon, builtin[j]);
	}
	return n;
}

/* ---- the arena's sticky count, alone --------------------------------------------------- */

TEST(arena_failures_are_sticky)
{
	trc_arena_t *a = trc_arena_new();
	CHECK(trc_arena_alloc(a, 10) != NULL);
	CHECK_EQ_INT(trc_arena_failures(a), 0);
	s_arm(1, false);
	CHECK(trc_arena_alloc(a, 10) == NULL);
	CHECK(trc_arena_strdup(a, "x") != NULL); /* later ones succeed again... */
	s_disarm();
	CHECK_EQ_INT(trc_arena_failures(a), 1); /* ...and the failure stays */
	size_t cap = 0;
	CHECK(trc_arena_grow(a, NULL, 0, &cap, SIZE_MAX) == NULL); /* too large */
	CHECK_EQ_INT(trc_arena_failures(a), 2);
	ProtobufCAllocator al = trc_arena_allocator(a);
	uint8_t ping[] = { 0x0a, 0x01, 'x' };
	s_arm(1, true);
	CHECK(traction__v1__ping_reply__unpack(&al, sizeof(ping), ping) == NULL);
	s_disarm();
	CHECK(trc_arena_failures(a) > 2); /* protobuf-c's, through the arena */
	trc_arena_reset(a);
	CHECK_EQ_INT(trc_arena_failures(a), 0);
	trc_arena_destroy(&a);
}

int main(void)
{
	/* thousands of refusals: quiet, unless TEST_FAULT_LOG=warning (...) */
	const char *log = getenv("TEST_FAULT_LOG");
	int level = log != NULL ? trc_log_level_parse(log) : -1;
	trc_log_init("test_fault", level >= 0 ? (trc_log_level_t)level : (trc_log_level_t)0);
	RUN(arena_failures_are_sticky);
	int (*mains[ND])(int, char **) = { fault_main_supplyd, fault_main_scenariod,
					   fault_main_feedbackd, fault_main_iterationd };
	for (int d = 0; d < ND; d++) {
		s_captured = NULL;
		mains[d](0, NULL);
		CHECK(s_captured != NULL);
		s_defs[d] = s_captured;
	}
	int methods = s_coverage();
	for (size_t i = 0; i < S_NSTEPS; i++)
		s_pack_step(i);
	const char *dir = check_tmpdir("trc-fault");
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/reference", dir);
	fprintf(stderr, "-- the reference: %zu steps, %d methods\n", S_NSTEPS, methods);
	s_reference(sub);
	for (int k = 0; k < 4; k++) {
		bool onward = k & 1;
		s_writer_thread = k & 2;
		memset(&S, 0, sizeof(S));
		fprintf(stderr, "-- allocation N failing%s, commits by the %s thread\n",
			onward ? ", and every one after it" : "", s_writer_thread ? "writer" : "loop's");
		snprintf(sub, sizeof(sub), "%s/%d", dir, k);
		s_faults(sub, onward);
		fprintf(stderr, "   %lu runs (%lu requests refused), the longest sweep %lu at %s\n",
			S.runs, S.refused, S.longest, s_what(S.longest_step));
	}
	for (size_t i = 0; i < S_NSTEPS; i++) {
		free(s_packed[i].route);
		free(s_packed[i].body);
		free(s_expect[i].a.body);
	}
	DONE();
}
