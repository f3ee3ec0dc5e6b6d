/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_match: scenario match and gaps over a registry of 10,000 supplies,
 * through the real broker, supplyd and scenariod on loopback, with the
 * raw baselines measured in the same run:
 *   - ping through the broker to scenariod (the cost of the request path),
 *   - a bare LMDB cursor walk over as many index entries as match reads.
 * Prints p50/p99 latencies and the ratios, one line each.
 *   bench_match [SUPPLIES] [CALLS]
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_util.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;

static void must(int code, const traction_status_t *st, const char *what)
{
	if (code != 0) {
		fprintf(stderr, "bench_match: %s: %s\n", what, st->message);
		exit(1);
	}
}

static const char *const s_caps[] = { "defect-detection", "visual-inspection",
				      "edge-deployment", "thermal-imaging", "ocr",
				      "anomaly-detection", "forecasting", "nlp" };

static void populate(int nsupplies)
{
	traction_status_t st;
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	p.id = (char *)"acme";
	p.name = (char *)"Acme";
	p.kind = 1;
	pr.provider = &p;
	must(traction_call(C, "supply", "provider.register", &pr.base,
			   &traction__v1__provider_reply__descriptor, &rep, &st),
	     &st, "provider");
	traction_reply_free(rep);
	for (int i = 0; i < nsupplies; i++) {
		Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
		Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
		char id[32];
		char *caps[3];
		snprintf(id, sizeof(id), "supply-%05d", i);
		/* every supply offers 3 of the 8 capabilities */
		for (int k = 0; k < 3; k++)
			caps[k] = (char *)s_caps[(i + k * 3) % 8];
		s.id = id;
		s.provider_id = (char *)"acme";
		s.kind = 3;
		s.name = id;
		s.capabilities = caps;
		s.n_capabilities = 3;
		s.initial_version = (char *)"1.0";
		req.supply = &s;
		must(traction_call(C, "supply", "register", &req.base,
				   &traction__v1__supply_reply__descriptor, &rep, &st),
		     &st, "supply");
		traction_reply_free(rep);
	}
	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__ScenarioSubmitRequest sr = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	char *need[] = { (char *)"defect-detection", (char *)"visual-inspection",
			 (char *)"edge-deployment", (char *)"not-offered" };
	d.capabilities = need;
	d.n_capabilities = 4;
	sc.id = (char *)"weld-line-3";
	sc.enterprise = (char *)"Northern Steel";
	sc.domain = 2;
	sc.name = (char *)"Weld seam inspection";
	sc.demands = &dp;
	sc.n_demands = 1;
	sr.scenario = &sc;
	must(traction_call(C, "scenario", "submit", &sr.base,
			   &traction__v1__scenario_reply__descriptor, &rep, &st),
	     &st, "scenario");
	traction_reply_free(rep);
}

static void wait_caught_up(uint64_t seq)
{
	bench_wait_applied(C, "scenario", "supply", seq);
}

static size_t s_last_matches;

static void op_ping(void)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	must(traction_call(C, "scenario", "ping", &e.base, &traction__v1__ping_reply__descriptor,
			   &rep, &st),
	     &st, "ping");
	traction_reply_free(rep);
}

static void op_match(void)
{
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	Traction__V1__MatchReply *rep = NULL;
	traction_status_t st;
	req.scenario_id = (char *)"weld-line-3";
	req.limit = 20;
	must(traction_call(C, "scenario", "match", &req.base, &traction__v1__match_reply__descriptor,
			   (ProtobufCMessage **)&rep, &st),
	     &st, "match");
	s_last_matches = rep->n_matches;
	traction_reply_free(&rep->base);
}

static void op_gaps(void)
{
	Traction__V1__GapsRequest req = TRACTION__V1__GAPS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	must(traction_call(C, "scenario", "gaps", &req.base, &traction__v1__gaps_reply__descriptor,
			   &rep, &st),
	     &st, "gaps");
	traction_reply_free(rep);
}

static char s_store[512];
static size_t s_walked;

/* The raw limit of the index part of a match: walk the capability index
 * entries of the three offered capabilities in scenariod's own store. */
static void op_lmdb_walk(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	static MDB_env *s_env;
	if (s_env == NULL) {
		mdb_env_create(&s_env);
		mdb_env_set_maxdbs(s_env, 32);
		mdb_env_set_mapsize(s_env, 64u << 20);
		if (mdb_env_open(s_env, s_store, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0640) != 0) {
			fprintf(stderr, "bench_match: cannot open %s\n", s_store);
			exit(1);
		}
	}
	env = s_env;
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	mdb_dbi_open(txn, "m_cap", 0, &dbi);
	mdb_cursor_open(txn, dbi, &cur);
	s_walked = 0;
	for (int k = 0; k < 3; k++) {
		char key[64];
		size_t n = strlen(s_caps[k]);
		memcpy(key, s_caps[k], n);
		key[n] = '\0';
		MDB_val kv = { n + 1, key }, v;
		int rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
		while (rc == 0 && kv.mv_size > n && memcmp(kv.mv_data, key, n + 1) == 0) {
			s_walked++;
			rc = mdb_cursor_get(cur, &kv, &v, MDB_NEXT);
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

int main(int argc, char **argv)
{
	int nsupplies = argc > 1 ? atoi(argv[1]) : 10000;
	int calls = argc > 2 ? atoi(argv[2]) : 300;
	bench_section = "queries";
	h_init(&H, "[bus]\nheartbeat_ms = 1000\n[log]\nlevel = warning\n");
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	if (!h_wait_live(&H, "supply", 1, 5000) || !h_wait_live(&H, "scenario", 1, 5000))
		return 1;
	C = h_client(&H);
	traction_client_set_timeout(C, 30000);
	double t0 = bench_now_us();
	populate(nsupplies);
	double t1 = bench_now_us();
	wait_caught_up((uint64_t)nsupplies + 1);
	double t2 = bench_now_us();
	printf("registry: %d supplies registered in %.2f s (%.0f/s, one at a time); "
	       "scenariod caught up %.2f s later\n",
	       nsupplies, (t1 - t0) / 1e6, nsupplies / ((t1 - t0) / 1e6), (t2 - t1) / 1e6);
	snprintf(s_store, sizeof(s_store), "%s/var/scenariod", H.dir);

	double ping50, ping99, walk50, walk99, m50, m99, g50, g99;
	bench_measure("baseline: ping via broker", op_ping, calls, &ping50, &ping99);
	bench_measure("baseline: bare LMDB index walk", op_lmdb_walk, calls, &walk50, &walk99);
	bench_measure("scenario.match (top 20)", op_match, calls, &m50, &m99);
	bench_measure("scenario.gaps", op_gaps, calls, &g50, &g99);
	printf("match walked %zu index entries, returned %zu matches\n", s_walked, s_last_matches);
	printf("match p50 = ping p50 + %.2f ms; index walk alone %.2f ms\n", (m50 - ping50) / 1e3,
	       walk50 / 1e3);
	printf("gaps  p50 = ping p50 + %.2f ms\n", (g50 - ping50) / 1e3);
	traction_client_destroy(&C);
	h_done(&H);
	return 0;
}
