/*
 * Crashes under load: while a client publishes through the asynchronous
 * publisher (which retries with the same keys), a random daemon among the
 * broker, feedbackd and iterationd is killed with SIGKILL and restarted,
 * for a number of rounds (TRACTION_CRASH_ROUNDS, default 6); the last
 * round stops feedbackd with SIGTERM instead (a graceful stop under load).
 * At the end: every acknowledged record is stored exactly once, the
 * aggregates equal a recount from the stored records, and every daemon's
 * event positions have caught up with their sources.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"
#include "traction/publisher.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static long s_ok, s_bad;
static pid_t s_broker, s_feedbackd, s_iterationd;

static void on_ack(void *ud, const traction_ack_t *ack)
{
	if (ack->code == 0)
		s_ok++;
	else {
		s_bad++;
		fprintf(stderr, "record %llu refused: %s\n", (unsigned long long)ack->tag, ack->message);
	}
}

static int call(traction_client_t *c, const char *svc, const char *method, const void *req,
		const ProtobufCMessageDescriptor *d, void *rep)
{
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 200; i++) { /* the daemon may be restarting */
		code = traction_call(c, svc, method, req, d, (ProtobufCMessage **)rep, &st);
		if (code != TRACTION__V1__CODE__UNAVAILABLE &&
		    code != TRACTION__V1__CODE__DEADLINE_EXCEEDED)
			break;
		h_sleep_ms(50);
	}
	return code;
}

static uint64_t s_head(traction_client_t *c, const char *service, const char *source,
		       uint64_t *applied)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	CHECK_EQ_INT(call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor, &p), 0);
	uint64_t h = p->event_head;
	*applied = 0;
	for (size_t i = 0; source != NULL && i < p->n_positions; i++)
		if (strcmp(p->positions[i]->source, source) == 0)
			*applied = p->positions[i]->applied_seq;
	traction_reply_free(&p->base);
	return h;
}

static void kill_and_restart(int which, int sig)
{
	switch (which) {
	case 0:
		h_kill(&H, s_broker, sig);
		s_broker = h_start_broker(&H, true);
		break;
	case 1:
		h_kill(&H, s_feedbackd, sig);
		s_feedbackd = h_start(&H, "traction-feedbackd", NULL);
		break;
	default:
		h_kill(&H, s_iterationd, sig);
		s_iterationd = h_start(&H, "traction-iterationd", NULL);
		break;
	}
}

TEST(random_kills_under_load)
{
	const char *env = getenv("TRACTION_CRASH_ROUNDS");
	int rounds = env != NULL ? atoi(env) : 6;
	int per_round = 1500;
	static const char *names[] = { "broker", "feedbackd", "iterationd" };
	s_broker = h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	s_feedbackd = h_start(&H, "traction-feedbackd", NULL);
	s_iterationd = h_start(&H, "traction-iterationd", NULL);
	CHECK(h_wait_live(&H, "feedback", 1, 5000));
	CHECK(h_wait_live(&H, "iteration", 1, 5000));
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 1000);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");
	uint64_t a1;

	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .timeout_ms = 800, .batch = 25, .max_in_flight = 16,
					   .on_ack = on_ack };
	CHECK_EQ_INT(traction_publisher_new(&p, H.client_ep, &o), 0);
	srand(20261128);
	uint64_t n = 0;
	double sum = 0;
	for (int round = 0; round <= rounds; round++) {
		for (int i = 0; i < per_round; i++, n++) {
			Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
			Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
			r.scenario_id = (char *)"weld-line-3";
			r.supply_id = (char *)"defect-vision";
			r.version = (char *)"1.0";
			m.name = (char *)"cycle_time_s";
			m.value = (double)(n % 1000) / 10.0;
			sum += m.value;
			r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
			r.metric = &m;
			while (traction_publish(p, &r, n) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
				traction_publisher_poll(p, 10);
			traction_publisher_poll(p, 0);
		}
		/* a moment under load: some records acknowledged, some in flight */
		for (int k = 0; k < 20; k++)
			traction_publisher_poll(p, 10);
		if (round == rounds)
			break;
		int which = rand() % 3;
		int sig = round == rounds - 1 ? SIGTERM : SIGKILL;
		if (sig == SIGTERM)
			which = 1; /* the graceful stop under load: feedbackd */
		fprintf(stderr, "round %d: %s %s with %zu records unacknowledged\n", round + 1,
			sig == SIGKILL ? "SIGKILL" : "SIGTERM", names[which],
			traction_publisher_pending(p));
		kill_and_restart(which, sig);
	}
	CHECK_EQ_INT(traction_publisher_flush(p, 120000), 0);
	traction_publisher_destroy(&p);
	CHECK_EQ_INT(s_bad, 0);
	CHECK_EQ_INT(s_ok, (long)n);

	/* exactly once: list every stored record and recount */
	traction_client_destroy(&c);
	c = h_client(&H);
	traction_client_set_timeout(c, 2000);
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	char cursor[32] = "";
	uint64_t stored = 0;
	double rsum = 0, rmin = INFINITY, rmax = -INFINITY;
	page.limit = 1000;
	lq.page = &page;
	lq.supply_id = (char *)"defect-vision";
	do {
		Traction__V1__FeedbackListReply *lr = NULL;
		page.cursor = cursor;
		CHECK_EQ_INT(call(c, "feedback", "list", &lq.base,
				  &traction__v1__feedback_list_reply__descriptor, &lr),
			     0);
		for (size_t i = 0; i < lr->n_records; i++) {
			if (lr->records[i]->body_case != TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC ||
			    strcmp(lr->records[i]->metric->name, "cycle_time_s") != 0)
				continue;
			double v = lr->records[i]->metric->value;
			stored++;
			rsum += v;
			rmin = v < rmin ? v : rmin;
			rmax = v > rmax ? v : rmax;
		}
		snprintf(cursor, sizeof(cursor), "%s", lr->next_cursor);
		traction_reply_free(&lr->base);
	} while (cursor[0] != '\0');
	CHECK_EQ_INT(stored, n);
	CHECK(fabs(rsum - sum) < 1e-6 * sum);

	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *srep = NULL;
	q.supply_id = (char *)"defect-vision";
	q.metric = (char *)"cycle_time_s";
	CHECK_EQ_INT(call(c, "feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor, &srep),
		     0);
	Traction__V1__MetricStats *st = srep->metrics[0]->stats;
	CHECK_EQ_INT(st->count, stored);
	CHECK(fabs(st->sum - rsum) < 1e-6 * rsum);
	CHECK(st->min == rmin && st->max == rmax);
	traction_reply_free(&srep->base);

	/* every consumer caught up with every source */
	bool caught = false;
	for (int i = 0; i < 200 && !caught; i++) {
		uint64_t fb_head = s_head(c, "feedback", NULL, &a1);
		uint64_t it_head = s_head(c, "iteration", NULL, &a1);
		uint64_t sup_head = s_head(c, "supply", NULL, &a1);
		uint64_t sc_head = s_head(c, "scenario", NULL, &a1);
		uint64_t x1, x2, x3, x4, x5, x6;
		s_head(c, "iteration", "feedback", &x1);
		s_head(c, "scenario", "feedback", &x2);
		s_head(c, "feedback", "iteration", &x3);
		s_head(c, "feedback", "supply", &x4);
		s_head(c, "iteration", "supply", &x5);
		s_head(c, "feedback", "scenario", &x6);
		caught = x1 == fb_head && x2 == fb_head && x3 == it_head && x4 == sup_head &&
			 x5 == sup_head && x6 == sc_head;
		if (!caught)
			h_sleep_ms(50);
	}
	CHECK_MSG(caught, "event positions did not catch up");
	traction_client_destroy(&c);
	fprintf(stderr, "survived %d rounds; %llu records checked, each stored once\n", rounds,
		(unsigned long long)stored);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	RUN(random_kills_under_load);
	h_done(&H);
	DONE();
}
