/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log's bound (issue #28; docs/protocol.md "Compaction"), on
 * real daemons of the real runtime (traction-testd): a producer whose
 * events are keyed by their key, with [events] keep_max small; a consumer
 * stopped while the producer writes far past the trim, then restarted,
 * converges to the state of a consumer that never stopped (every key's
 * value the same, and the last one written), with no event applied twice
 * by either; and at steady writes over a bounded set of keys, the
 * producer's events database stays under a bound while its head grows.
 * Then the same on the real set: scenariod stopped while feedbackd's log
 * is trimmed far past its position answers scenario.match and .gaps, once
 * restarted, as the scenariod of a second set that never stopped (and
 * whose feedbackd trims nothing), after the same story.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define KEEP_MAX 50

static void s_put(traction_client_t *c, const char *key, const char *value)
{
	Traction__V1__KeyValue req = TRACTION__V1__KEY_VALUE__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	req.key = (char *)key;
	req.value = (char *)value;
	int code = traction_call(c, "kv", "put", &req.base, &traction__v1__key_value__descriptor,
				 &rep, &st);
	CHECK_MSG(code == 0, "put %s: %d %s", key, code, st.message);
	traction_reply_free(rep);
}

/* The producer's event log: its entries, floor and head. */
static void s_log(traction_client_t *c, unsigned long *entries, unsigned long long *floor,
		  unsigned long long *head)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__KeyValue *rep = NULL;
	CHECK_EQ_INT(traction_call(c, "kv", "log", &req.base, &traction__v1__key_value__descriptor,
				   (ProtobufCMessage **)&rep, NULL),
		     0);
	CHECK(sscanf(rep->value, "%lu %llu %llu", entries, floor, head) == 3);
	traction_reply_free(&rep->base);
}

/* What service has applied of source (0: not answering). */
static uint64_t s_position(traction_client_t *c, const char *service, const char *source)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	if (traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
			  (ProtobufCMessage **)&p, NULL) != 0)
		return 0;
	uint64_t seq = 0;
	for (size_t i = 0; i < p->n_positions; i++)
		if (strcmp(p->positions[i]->source, source) == 0)
			seq = p->positions[i]->applied_seq;
	traction_reply_free(&p->base);
	return seq;
}

static bool s_wait_applied(traction_client_t *c, const char *service, uint64_t head)
{
	uint64_t at = 0;
	for (int waited = 0; waited < 20000; waited += 20) {
		if ((at = s_position(c, service, "supply")) == head)
			return true;
		h_sleep_ms(20);
	}
	fprintf(stderr, "%s has applied up to %llu, the head is %llu\n", service,
		(unsigned long long)at, (unsigned long long)head);
	return false;
}

/* The value of key at a consumer ("" if it has none). */
static void s_get(traction_client_t *c, const char *service, const char *key, char *out,
		  size_t len)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__KeyValue *rep = NULL;
	req.id = (char *)key;
	out[0] = '\0';
	if (traction_call(c, service, "get", &req.base, &traction__v1__key_value__descriptor,
			  (ProtobufCMessage **)&rep, NULL) == 0) {
		snprintf(out, len, "%s", rep->value);
		traction_reply_free(&rep->base);
	}
}

static pid_t s_consumer(const char *service)
{
	setenv("TESTD_MODE", "consumer", 1);
	setenv("TESTD_SERVICE", service, 1);
	pid_t pid = h_start(&H, "traction-testd", service);
	unsetenv("TESTD_MODE");
	unsetenv("TESTD_SERVICE");
	CHECK_MSG(h_wait_live(&H, service, 1, 10000), "%s is not live", service);
	return pid;
}

/* Keys k00..k39 and u00..u59 written over and over (every tenth write
 * a u): the last value of each, as the test wrote it. */
#define NK 40
#define NU 60
static char s_last_k[NK][32], s_last_u[NU][32];

static void s_write(traction_client_t *c, long from, long to)
{
	char key[32], val[32];
	for (long i = from; i < to; i++) {
		snprintf(val, sizeof(val), "v%ld", i);
		if (i % 10 == 9) {
			long u = (i / 10) % NU;
			snprintf(key, sizeof(key), "u%03ld", u);
			snprintf(s_last_u[u], sizeof(s_last_u[u]), "%s", val);
		} else {
			snprintf(key, sizeof(key), "k%02ld", i % NK);
			snprintf(s_last_k[i % NK], sizeof(s_last_k[i % NK]), "%s", val);
		}
		s_put(c, key, val);
	}
}

static void s_same(traction_client_t *c, const char *prefix, long n, char (*last)[32])
{
	char key[32], a[64], b[64];
	for (long i = 0; i < n; i++) {
		if (last[i][0] == '\0')
			continue;
		snprintf(key, sizeof(key), prefix[0] == 'k' ? "%s%02ld" : "%s%03ld", prefix, i);
		s_get(c, "mirror", key, a, sizeof(a));
		s_get(c, "mirror2", key, b, sizeof(b));
		CHECK_MSG(strcmp(a, b) == 0 && strcmp(a, last[i]) == 0,
			  "%s: the restarted consumer has '%s', the other '%s', written '%s'", key,
			  a, b, last[i]);
	}
}

TEST(a_consumer_behind_the_floor_converges)
{
	traction_client_t *c = h_client(&H);
	pid_t a = s_consumer("mirror");
	s_consumer("mirror2");

	s_write(c, 0, 100);
	unsigned long entries;
	unsigned long long floor, head;
	s_log(c, &entries, &floor, &head);
	CHECK(s_wait_applied(c, "mirror", head));
	uint64_t stopped_at = head;
	h_kill(&H, a, SIGTERM);

	/* far past the trim: the stopped consumer's position is below the floor */
	s_write(c, 100, 1500);
	for (int waited = 0; waited < 10000; waited += 50) {
		s_log(c, &entries, &floor, &head);
		if (head - floor < KEEP_MAX)
			break;
		h_sleep_ms(50);
	}
	fprintf(stderr, "log: %lu entries, floor %llu, head %llu; the stopped consumer at %llu\n",
		entries, floor, head, (unsigned long long)stopped_at);
	CHECK_MSG(head - floor < KEEP_MAX, "the log was not trimmed to keep_max");
	CHECK(floor > stopped_at + 1);
	/* below the floor, at most the newest event of each key */
	CHECK_MSG(entries <= (head - floor + 1) + NK + NU, "%lu entries", entries);

	/* on the wire: a replay from below the floor says where it is */
	for (int from = 1; from <= 2; from++) {
		Traction__V1__ReplayRequest rq = TRACTION__V1__REPLAY_REQUEST__INIT;
		Traction__V1__ReplayReply *rr = NULL;
		rq.from_seq = from == 1 ? 1 : floor;
		CHECK_EQ_INT(traction_call(c, "kv", "events.replay", &rq.base,
					   &traction__v1__replay_reply__descriptor,
					   (ProtobufCMessage **)&rr, NULL),
			     0);
		CHECK_EQ_INT(rr->compacted_below, from == 1 ? floor : 0);
		CHECK(rr->n_events > 0 && rr->events[0]->seq > (from == 1 ? 1 : floor - 1));
		CHECK(from == 2 || rr->events[rr->n_events - 1]->seq - rr->events[0]->seq >=
					   rr->n_events); /* with gaps */
		traction_reply_free(&rr->base);
	}

	a = s_consumer("mirror");
	CHECK(s_wait_applied(c, "mirror", head));
	CHECK(s_wait_applied(c, "mirror2", head));
	CHECK_EQ_INT(h_testd_count(c, "mirror"), h_testd_count(c, "mirror2"));
	long written = 0;
	for (long i = 0; i < NK; i++)
		written += s_last_k[i][0] != '\0';
	for (long i = 0; i < NU; i++)
		written += s_last_u[i][0] != '\0';
	CHECK_EQ_INT(h_testd_count(c, "mirror"), written);
	s_same(c, "k", NK, s_last_k);
	s_same(c, "u", NU, s_last_u);
	CHECK_EQ_INT(h_testd_number(c, "mirror", "dups"), 0);
	CHECK_EQ_INT(h_testd_number(c, "mirror2", "dups"), 0);

	/* and it goes on from there, live */
	s_write(c, 1500, 1510);
	s_log(c, &entries, &floor, &head);
	CHECK(s_wait_applied(c, "mirror", head));
	s_same(c, "k", NK, s_last_k);
	traction_client_destroy(&c);
}

TEST(the_log_stops_growing_at_steady_writes)
{
	traction_client_t *c = h_client(&H);
	unsigned long entries, most = 0;
	unsigned long long floor, head, first = 0;
	/* k00..k39 only now: every event but the newest of each key goes */
	char key[32], val[32];
	int64_t t0 = 0;
	for (long i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "k%02ld", i % NK);
		snprintf(val, sizeof(val), "w%ld", i);
		snprintf(s_last_k[i % NK], sizeof(s_last_k[i % NK]), "%s", val);
		s_put(c, key, val);
		if (i % 100 == 99) {
			s_log(c, &entries, &floor, &head);
			if (first == 0) {
				first = head;
				t0 = s_mono_ms();
			}
			if (i >= 1000 && entries > most)
				most = entries;
		}
	}
	double rate = (double)(head - first) * 1000.0 / (double)(s_mono_ms() - t0 + 1);
	/* keep_max whole, the newest of each of the 100 keys below the floor,
	 * and what comes in between two trims (250 ms; twice that for the
	 * turn the tick waits for) */
	unsigned long bound = KEEP_MAX + NK + NU + (unsigned long)(rate * 0.5) + 100;
	fprintf(stderr, "steady: head %llu -> %llu at %.0f/s, the log at most %lu entries "
		"(bound %lu)\n", first, head, rate, most, bound);
	CHECK_MSG(most <= bound, "the log grew to %lu entries", most);
	CHECK(head - first > 3000);
	CHECK(s_wait_applied(c, "mirror", head));
	CHECK(s_wait_applied(c, "mirror2", head));
	s_same(c, "k", NK, s_last_k);
	traction_client_destroy(&c);
}

/* ---- the real set -------------------------------------------------------------- */

static const char *const s_daemons[] = { "traction-supplyd", "traction-scenariod",
					 "traction-feedbackd", "traction-iterationd", NULL };
static const char *const s_services[] = { "supply", "scenario", "feedback", "iteration", NULL };

/* A set on a broker of its own, its state under H.dir/state; each daemon
 * live before the next starts (h_start writes state's config again). */
static pid_t s_start_set(const char *state, pid_t *scenariod)
{
	pid_t broker = h_start_broker(&H, false);
	for (int i = 0; s_daemons[i] != NULL; i++) {
		pid_t pid = h_start(&H, s_daemons[i], state);
		if (i == 1)
			*scenariod = pid;
		CHECK_MSG(h_wait_live(&H, s_services[i], 1, 10000), "%s is not live", s_services[i]);
	}
	return broker;
}

static uint64_t s_head(traction_client_t *c, const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	CHECK_EQ_INT(traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				   (ProtobufCMessage **)&p, NULL),
		     0);
	uint64_t head = p->event_head;
	traction_reply_free(&p->base);
	return head;
}

/* scenariod has applied every event of supply, iteration and feedback,
 * and their heads stayed where they were meanwhile (feedbackd's tick may
 * still send evidence owed for the last records). */
static void s_scenariod_caught_up(traction_client_t *c)
{
	const char *const src[] = { "supply", "iteration", "feedback" };
	bool still = false;
	for (int round = 0; round < 50 && !still; round++) {
		still = true;
		for (int i = 0; i < 3; i++) {
			uint64_t head = s_head(c, src[i]), at = 0;
			for (int waited = 0;
			     waited < 20000 && (at = s_position(c, "scenario", src[i])) < head;
			     waited += 20)
				h_sleep_ms(20);
			CHECK_MSG(at >= head, "scenariod has applied %s up to %llu of %llu", src[i],
				  (unsigned long long)at, (unsigned long long)head);
			h_sleep_ms(300);
			still = still && s_head(c, src[i]) == head && at == head;
		}
	}
	CHECK_MSG(still, "the sources' heads did not stay still");
}

/* 1,200 records in batches of 50: problems of 25 signatures, value
 * verifications, demand signals over 10 capabilities (and, in the first
 * batch only, over others). */
static void s_field(traction_client_t *c)
{
	enum { BATCH = 50 };
	for (int b = 0; b < 24; b++) {
		Traction__V1__FeedbackRecord r[BATCH], *rp[BATCH];
		Traction__V1__Problem pr[BATCH];
		Traction__V1__ValueVerification vv[BATCH];
		Traction__V1__DemandSignal ds[BATCH];
		char keys[BATCH][32], sigs[BATCH][32], caps[BATCH][2][16];
		char *capp[BATCH][2];
		for (int j = 0; j < BATCH; j++) {
			int i = b * BATCH + j;
			traction__v1__feedback_record__init(&r[j]);
			rp[j] = &r[j];
			r[j].scenario_id = (char *)"weld-line-3";
			r[j].supply_id = (char *)"defect-vision";
			r[j].version = (char *)"1.0";
			snprintf(keys[j], sizeof(keys[j]), "ev-%d", i);
			r[j].idempotency_key = keys[j];
			if (i % 3 == 0) {
				traction__v1__problem__init(&pr[j]);
				snprintf(sigs[j], sizeof(sigs[j]), "sig-%d", i % 25);
				pr[j].signature = sigs[j];
				pr[j].title = sigs[j];
				pr[j].severity = (Traction__V1__Severity)(1 + i % 4);
				r[j].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
				r[j].problem = &pr[j];
			} else if (i % 3 == 1) {
				traction__v1__value_verification__init(&vv[j]);
				vv[j].kpi = (char *)"scrap";
				vv[j].baseline = 10;
				vv[j].achieved = 10 - 0.5 * (i % 7);
				r[j].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
				r[j].value = &vv[j];
			} else {
				traction__v1__demand_signal__init(&ds[j]);
				/* the first batch's capabilities are named by no later
				 * record: their only events end up far below the floor */
				snprintf(caps[j][0], sizeof(caps[j][0]), b == 0 ? "early-%d" : "cap-%d",
					 i % 10);
				snprintf(caps[j][1], sizeof(caps[j][1]), "cap-%d", (i + 3) % 10);
				capp[j][0] = caps[j][0];
				capp[j][1] = caps[j][1];
				ds[j].text = (char *)"wanted";
				ds[j].capabilities = capp[j];
				ds[j].n_capabilities = 2;
				r[j].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
				r[j].demand = &ds[j];
			}
		}
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		req.records = rp;
		req.n_records = BATCH;
		CHECK_MSG(traction_call(c, "feedback", "publish", &req.base,
					&traction__v1__publish_reply__descriptor,
					(ProtobufCMessage **)&rep, &st) == 0,
			  "publish: %s", st.message);
		for (size_t j = 0; j < rep->n_results; j++)
			CHECK_MSG(rep->results[j]->status->code == 0, "record %d: %s",
				  b * BATCH + (int)j, rep->results[j]->status->message);
		traction_reply_free(&rep->base);
	}
}

/* scenario.match of weld-line-3 and scenario.gaps, as one line each. */
static void s_answers(traction_client_t *c, char *out, size_t len)
{
	Traction__V1__MatchRequest mq = TRACTION__V1__MATCH_REQUEST__INIT;
	Traction__V1__MatchReply *m = NULL;
	mq.scenario_id = (char *)"weld-line-3";
	CHECK_EQ_INT(traction_call(c, "scenario", "match", &mq.base,
				   &traction__v1__match_reply__descriptor, (ProtobufCMessage **)&m,
				   NULL),
		     0);
	size_t at = (size_t)snprintf(out, len, "match:");
	for (size_t i = 0; i < m->n_matches && at < len; i++) {
		const Traction__V1__Match *x = m->matches[i];
		const Traction__V1__MatchEvidence *e = x->evidence;
		at += (size_t)snprintf(out + at, len - at, " %u %s %.3f", x->rank, x->supply->id,
				       x->coverage);
		if (e != NULL && at < len)
			at += (size_t)snprintf(out + at, len - at, " [%llu %.6f %llu %llu %llu %llu]",
					       (unsigned long long)e->value_verifications,
					       e->mean_improvement_pct,
					       (unsigned long long)e->open_critical_problems,
					       (unsigned long long)e->open_problems,
					       (unsigned long long)e->deployments,
					       (unsigned long long)e->deployments_in_service);
	}
	traction_reply_free(&m->base);
	Traction__V1__GapsRequest gq = TRACTION__V1__GAPS_REQUEST__INIT;
	Traction__V1__GapsReply *g = NULL;
	CHECK_EQ_INT(traction_call(c, "scenario", "gaps", &gq.base,
				   &traction__v1__gaps_reply__descriptor, (ProtobufCMessage **)&g, NULL),
		     0);
	if (at < len)
		at += (size_t)snprintf(out + at, len - at, "\ngaps:");
	for (size_t i = 0; i < g->n_gaps && at < len; i++)
		at += (size_t)snprintf(out + at, len - at, " %s/%u/%llu", g->gaps[i]->capability,
				       g->gaps[i]->scenarios,
				       (unsigned long long)g->gaps[i]->demand_signals);
	traction_reply_free(&g->base);
}

/* How many events feedbackd's log holds from `from` on (events.read). */
static uint64_t s_kept_from(traction_client_t *c, uint64_t from)
{
	uint64_t n = 0, head = 0;
	do {
		Traction__V1__EventsReadRequest q = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
		Traction__V1__EventsReadReply *r = NULL;
		q.from_seq = from;
		CHECK_EQ_INT(traction_call(c, "feedback", "events.read", &q.base,
					   &traction__v1__events_read_reply__descriptor,
					   (ProtobufCMessage **)&r, NULL),
			     0);
		n += r->n_events;
		head = r->head_seq;
		from = r->next_seq;
		traction_reply_free(&r->base);
	} while (from <= head);
	return n;
}

TEST(scenariod_behind_feedbackds_floor_answers_as_one_that_never_stopped)
{
	static char a[8192], b[8192];
	/* set A: feedbackd keeps 50 events whole; scenariod misses the field */
	pid_t scen;
	pid_t broker = s_start_set("set-a", &scen);
	traction_client_t *c = h_client(&H);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");
	for (int waited = 0; waited < 5000 && s_head(c, "feedback") == 0; waited += 20)
		h_sleep_ms(20); /* the ready record's evidence, at feedbackd's tick */
	s_scenariod_caught_up(c);
	uint64_t stopped_at = s_position(c, "scenario", "feedback");
	h_kill(&H, scen, SIGTERM);
	s_field(c);
	/* compacted past where scenariod stopped: fewer than half of the
	 * events since are kept (keep_max, and the newest of each problem,
	 * capability and evidence key) */
	uint64_t head = 0, kept = 0;
	for (int waited = 0; waited < 10000; waited += 50) {
		head = s_head(c, "feedback");
		kept = s_kept_from(c, stopped_at + 1);
		if (kept < (head - stopped_at) / 2)
			break;
		h_sleep_ms(50);
	}
	fprintf(stderr, "feedbackd: head %llu; of the %llu events after scenariod's %llu, %llu "
		"kept\n", (unsigned long long)head, (unsigned long long)(head - stopped_at),
		(unsigned long long)stopped_at, (unsigned long long)kept);
	CHECK_MSG(kept < (head - stopped_at) / 2, "feedbackd's log was not compacted");
	CHECK(stopped_at > 0);
	scen = h_start(&H, "traction-scenariod", "set-a");
	CHECK(h_wait_live(&H, "scenario", 1, 10000));
	s_scenariod_caught_up(c);
	s_answers(c, a, sizeof(a));
	traction_client_destroy(&c);
	for (int i = H.n - 1; i >= 0; i--) /* set A's daemons, then its broker */
		if (H.pids[i] > 0 && strncmp(H.names[i], "traction-", 9) == 0 &&
		    strcmp(H.names[i], "traction-testd") != 0)
			h_kill(&H, H.pids[i], SIGTERM);
	h_kill(&H, broker, SIGTERM);

	/* set B: nothing trimmed, scenariod never stopped */
	snprintf(H.extra, sizeof(H.extra), "[events]\nreplay_interval_ms = 200\nkeep_max = 0\n"
					   "keep_days = 0\n");
	s_start_set("set-b", &scen);
	c = h_client(&H);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");
	s_field(c);
	s_scenariod_caught_up(c);
	CHECK_EQ_INT(s_kept_from(c, 1), s_head(c, "feedback")); /* nothing trimmed */
	s_answers(c, b, sizeof(b));
	fprintf(stderr, "set A: %s\nset B: %s\n", a, b);
	CHECK_MSG(strcmp(a, b) == 0, "the restarted scenariod answers otherwise");
	CHECK(strstr(b, "early-") != NULL && strstr(b, " 1 defect-vision") != NULL);
	traction_client_destroy(&c);
}

int main(void)
{
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "[events]\nreplay_interval_ms = 200\nkeep_max = %d\ntrim_per_tick = 100\n",
		 KEEP_MAX);
	h_init(&H, extra);
	h_start_broker(&H, false);
	setenv("TESTD_MODE", "producer", 1);
	h_start(&H, "traction-testd", "producer");
	unsetenv("TESTD_MODE");
	CHECK(h_wait_live(&H, "kv", 1, 10000));
	RUN(a_consumer_behind_the_floor_converges);
	RUN(the_log_stops_growing_at_steady_writes);
	RUN(scenariod_behind_feedbackds_floor_answers_as_one_that_never_stopped);
	h_done(&H);
	DONE();
}
