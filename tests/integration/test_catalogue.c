/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two-sided catalogue through the broker: a client registers providers
 * and supplies, submits scenarios, gets ranked matches with reasons and the
 * gap list; wrong input gets a clear error naming the field; scenariod,
 * stopped while supplies are registered, catches up by replay when it
 * comes back; frozen while events flood past it, it finds the gap.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;
static pid_t s_scenariod;

static int call(const char *svc, const char *method, const void *req,
		const ProtobufCMessageDescriptor *rd, void *rep, traction_status_t *st)
{
	return traction_call(C, svc, method, req, rd, (ProtobufCMessage **)rep, st);
}

static int add_provider(const char *id, traction_status_t *st)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest req = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	Traction__V1__ProviderReply *rep = NULL;
	p.id = (char *)id;
	p.name = (char *)"Acme Vision";
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	req.provider = &p;
	int code = call("supply", "provider.register", &req,
			&traction__v1__provider_reply__descriptor, &rep, st);
	traction_reply_free(rep ? &rep->base : NULL);
	return code;
}

static int add_supply(const char *id, char **caps, size_t n, const char *desc,
		      traction_status_t *st)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	Traction__V1__SupplyReply *rep = NULL;
	s.id = (char *)id;
	s.provider_id = (char *)"acme";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)"Defect Vision";
	s.description = (char *)desc;
	s.capabilities = caps;
	s.n_capabilities = n;
	s.initial_version = (char *)"1.0";
	req.supply = &s;
	int code = call("supply", "register", &req, &traction__v1__supply_reply__descriptor, &rep,
			st);
	traction_reply_free(rep ? &rep->base : NULL);
	return code;
}

static int submit(const char *id, char **caps, size_t n, traction_status_t *st)
{
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	Traction__V1__ScenarioReply *rep = NULL;
	s.id = (char *)id;
	s.enterprise = (char *)"Northern Steel";
	s.domain = TRACTION__V1__DOMAIN__DOMAIN_PRODUCTION;
	s.name = (char *)"Weld seam inspection";
	d.capabilities = caps;
	d.n_capabilities = n;
	t.metric = (char *)"defect_rate";
	t.comparison = TRACTION__V1__COMPARISON__CMP_LE;
	t.threshold = 0.02;
	d.targets = &tp;
	d.n_targets = 1;
	s.demands = &dp;
	s.n_demands = 1;
	req.scenario = &s;
	int code = call("scenario", "submit", &req, &traction__v1__scenario_reply__descriptor, &rep,
			st);
	traction_reply_free(rep ? &rep->base : NULL);
	return code;
}

/* How many matches scenario has; SIZE_MAX while scenariod cannot answer
 * yet: match catches up with supply first, and after a flood that may
 * outlast the call (UNAVAILABLE), or the daemon, busy, may have missed
 * its heartbeats and be registering again. */
static size_t match_count(const char *scenario)
{
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	Traction__V1__MatchReply *rep = NULL;
	traction_status_t st;
	req.scenario_id = (char *)scenario;
	req.limit = 200;
	int code = call("scenario", "match", &req, &traction__v1__match_reply__descriptor, &rep, &st);
	if (code == TRACTION__V1__CODE__UNAVAILABLE || code == TRACTION__V1__CODE__DEADLINE_EXCEEDED)
		return SIZE_MAX;
	CHECK_MSG(code == 0, "match: %s", st.message);
	size_t n = rep->n_matches;
	traction_reply_free(&rep->base);
	return n;
}

static bool wait_matches(const char *scenario, size_t want, int timeout_ms)
{
	size_t n = 0;
	for (int waited = 0; waited < timeout_ms; waited += 25) {
		if ((n = match_count(scenario)) == want)
			return true;
		h_sleep_ms(25);
	}
	fprintf(stderr, "%s has %zu matches, expected %zu\n", scenario, n, want);
	return false;
}

TEST(register_submit_match_gaps)
{
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	s_scenariod = h_start(&H, "traction-scenariod", NULL);
	CHECK(h_wait_live(&H, "supply", 1, 5000));
	CHECK(h_wait_live(&H, "scenario", 1, 5000));
	C = h_client(&H);

	traction_status_t st;
	CHECK_EQ_INT(add_provider("acme", &st), 0);
	CHECK_EQ_INT(add_provider("acme", &st), TRACTION__V1__CODE__ALREADY_EXISTS);
	CHECK_STR(st.message, "provider.id: 'acme' is already registered");

	char *both[] = { (char *)"defect-detection", (char *)"visual-inspection" };
	char *one[] = { (char *)"defect-detection" };
	CHECK_EQ_INT(add_supply("defect-vision", both, 2, "", &st), 0);
	CHECK_EQ_INT(add_supply("crack-lite", one, 1, "", &st), 0);
	CHECK_EQ_INT(add_supply("x", one, 1, "\xc3\x28", &st), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_STR(st.message, "supply.description: not valid UTF-8");

	char *need[] = { (char *)"defect-detection", (char *)"visual-inspection",
			 (char *)"edge-deployment" };
	CHECK_EQ_INT(submit("weld-line-3", need, 3, &st), 0);
	CHECK_EQ_INT(submit("weld-line-3", need, 3, &st), TRACTION__V1__CODE__ALREADY_EXISTS);

	/* scenariod learns supplies from events: wait for the index */
	CHECK(wait_matches("weld-line-3", 2, 5000));
	Traction__V1__MatchRequest mr = TRACTION__V1__MATCH_REQUEST__INIT;
	Traction__V1__MatchReply *m = NULL;
	mr.scenario_id = (char *)"weld-line-3";
	CHECK_EQ_INT(call("scenario", "match", &mr, &traction__v1__match_reply__descriptor, &m, &st),
		     0);
	CHECK_EQ_INT(m->n_required, 3);
	CHECK_STR(m->matches[0]->supply->id, "defect-vision");
	CHECK_EQ_INT(m->matches[0]->n_covered, 2);
	CHECK_EQ_INT(m->matches[0]->n_missing, 1);
	CHECK_STR(m->matches[0]->missing[0], "edge-deployment");
	CHECK_CONTAINS(m->matches[0]->reason, "covers 2 of 3");
	CHECK_STR(m->matches[1]->supply->id, "crack-lite");
	traction_reply_free(&m->base);

	mr.scenario_id = (char *)"nope";
	CHECK_EQ_INT(call("scenario", "match", &mr, &traction__v1__match_reply__descriptor, &m, &st),
		     TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(st.message, "scenario_id: no scenario 'nope'");

	Traction__V1__GapsRequest gr = TRACTION__V1__GAPS_REQUEST__INIT;
	Traction__V1__GapsReply *g = NULL;
	CHECK_EQ_INT(call("scenario", "gaps", &gr, &traction__v1__gaps_reply__descriptor, &g, &st), 0);
	CHECK_EQ_INT(g->n_gaps, 1);
	CHECK_STR(g->gaps[0]->capability, "edge-deployment");
	CHECK_EQ_INT(g->gaps[0]->scenarios, 1);
	CHECK_STR(g->gaps[0]->scenario_ids[0], "weld-line-3");
	traction_reply_free(&g->base);
}

TEST(restarted_scenariod_catches_up)
{
	traction_status_t st;
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, s_scenariod, SIGTERM)), 0);
	char *one[] = { (char *)"defect-detection" };
	char id[32];
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "late-%02d", i);
		CHECK_MSG(add_supply(id, one, 1, "", &st) == 0, "%s", st.message);
	}
	s_scenariod = h_start(&H, "traction-scenariod", NULL);
	CHECK(h_wait_live(&H, "scenario", 1, 5000));
	CHECK(wait_matches("weld-line-3", 52, 5000));
}

TEST(frozen_scenariod_finds_the_gap)
{
	traction_status_t st;
	char *one[] = { (char *)"defect-detection" };
	char id[32];
	/* 4 KiB descriptions and queue_limit 16: most of these events are
	 * dropped on their way to the frozen subscriber */
	char *desc = malloc(3901);
	memset(desc, 'd', 3900);
	desc[3900] = '\0';
	kill(s_scenariod, SIGSTOP);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "flood-%03d", i);
		CHECK_MSG(add_supply(id, one, 1, desc, &st) == 0, "%s", st.message);
	}
	kill(s_scenariod, SIGCONT);
	h_sleep_ms(300);
	CHECK_EQ_INT(add_supply("after-thaw", one, 1, "", &st), 0);
	free(desc);
	Traction__V1__PingReply *p = NULL;
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	bool caught_up = false;
	/* a catch-up, not a speed test: 30 s (it took ~10 s under TSan on a
	 * loaded 2-core machine) */
	for (int waited = 0; waited < 30000; waited += 50) {
		int rc = call("scenario", "ping", &e, &traction__v1__ping_reply__descriptor, &p, &st);
		if (rc == TRACTION__V1__CODE__UNAVAILABLE ||
		    rc == TRACTION__V1__CODE__DEADLINE_EXCEEDED) {
			/* catching up on a slow machine it may miss heartbeats,
			 * be dropped and register again, or answer late: ask
			 * again */
			h_sleep_ms(50);
			continue;
		}
		CHECK_EQ_INT(rc, 0);
		uint64_t applied = 0;
		for (size_t i = 0; i < p->n_positions; i++)
			if (strcmp(p->positions[i]->source, "supply") == 0)
				applied = p->positions[i]->applied_seq;
		traction_reply_free(&p->base);
		/* 1 provider + 2 + 50 + 3000 + 1 supplies */
		if ((caught_up = applied == 3054))
			break;
		h_sleep_ms(50);
	}
	CHECK_MSG(caught_up, "scenariod did not catch up with the supply events");
	/* 52 + 3000 + 1, but match answers at most 200 */
	CHECK(wait_matches("weld-line-3", 200, 10000));
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nqueue_limit = 16\n"
		   "[events]\nreplay_interval_ms = 3600000\n");
	RUN(register_submit_match_gaps);
	RUN(restarted_scenariod_catches_up);
	RUN(frozen_scenariod_finds_the_gap);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
