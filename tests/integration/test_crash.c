/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crashes under load. A client publishes a steady stream of records, each
 * under an idempotency key of its own, through the asynchronous publisher
 * (which retries with the same keys; its timeout is a third of a round).
 * Every round ends with a SIGKILL of feedbackd while acknowledgements are
 * coming: at the first ones of a burst (with iterationd), at one of the
 * stream, or 100 ms after the broker's, which loses the replies on their
 * way; after the rounds, a SIGTERM of feedbackd in a burst. Before each
 * kill: the round lasted longer than the publisher's timeout, records
 * published since the last kill were acknowledged (acknowledgements keep
 * coming, not only at a final flush), every record published before it
 * too, and something is in flight. After each kill the stored records are
 * read back by key: every acknowledged key stored exactly once, no key
 * stored twice, none that was never sent. At the end nothing is in
 * flight; every sent key was acknowledged once, without error, and is
 * stored exactly once, under the record id its acknowledgement named,
 * with its value; a record stored before a kill whose acknowledgement came
 * a timeout after it says duplicate (it answered a retry); the aggregates
 * equal a recount of the stored records; every consumer's position equals
 * its source's event head.
 */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "traction/publisher.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

#define TIMEOUT_MS 500     /* the publisher's: a request unanswered this long goes again */
#define ROUND_MIN_MS 1500  /* a round lasts at least this: three timeouts */
#define RATE 2000          /* records published per second, steady */
#define WINDOW 3000        /* records unacknowledged at most (the stream waits) */
#define BATCH 25           /* records per request */
#define IN_FLIGHT 16       /* requests in flight */
#define BURST (2 * BATCH * IN_FLIGHT) /* published at once before a kill */
#define CAUGHT_UP 500      /* records unacknowledged at most when a round ends */
#define MIN_ACKS 200       /* records published after a kill, acknowledged before the next */
#define STALL_MS 30000     /* longer than this without progress fails the test */
#define KEY_FMT "crash-%08" PRIu64

static harness_t H;
static pid_t s_broker, s_feedbackd, s_iterationd;

/* What the test sent, by tag (the record's number, in its key). */
typedef struct {
	int64_t ack_ms;      /* the start of the poll that delivered the acknowledgement */
	uint64_t record_id;  /* what the acknowledgement named */
	int code;
	uint8_t acks;        /* how many acknowledgements came: one, in the end */
	bool duplicate;
	int doubt;           /* stored but unacknowledged at kill number `doubt` (0: never) */
} sent_t;

static sent_t *s_sent;
static uint64_t s_n, s_cap;      /* published */
static uint64_t s_first_unacked; /* every tag below it is acknowledged */
static uint64_t s_new_from;      /* the first tag published after the last kill */
static long s_acked, s_acked_new, s_refused, s_twice, s_dups;
static int64_t s_poll_ms;

/* A kill of feedbackd: when it was dead, on both clocks. */
typedef struct {
	int64_t mono_ms, wall_ms;
} kill_t;

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double s_value(uint64_t tag)
{
	return (double)(tag % 1000) / 10.0;
}

static void on_ack(void *ud, const traction_ack_t *ack)
{
	(void)ud;
	if (ack->tag >= s_n) {
		fprintf(stderr, "an acknowledgement of record %" PRIu64 ", never published\n",
			ack->tag);
		s_twice++;
		return;
	}
	sent_t *s = &s_sent[ack->tag];
	if (s->acks++ > 0) {
		fprintf(stderr, "record %" PRIu64 " acknowledged again\n", ack->tag);
		s_twice++;
		return;
	}
	s->ack_ms = s_poll_ms;
	s->code = ack->code;
	s->record_id = ack->record_id;
	s->duplicate = ack->duplicate;
	if (ack->code != 0) {
		s_refused++;
		fprintf(stderr, "record %" PRIu64 " refused: %s\n", ack->tag, ack->message);
		return;
	}
	s_acked++;
	s_dups += ack->duplicate;
	s_acked_new += ack->tag >= s_new_from;
}

/* Every acknowledgement is stamped with the start of the poll that
 * delivered it: a reply is taken only if its request had not timed out
 * when that poll began. */
static void s_poll(traction_publisher_t *p, int ms)
{
	s_poll_ms = s_mono_ms();
	traction_publisher_poll(p, ms);
	while (s_first_unacked < s_n && s_sent[s_first_unacked].acks > 0)
		s_first_unacked++;
}

static void s_publish(traction_publisher_t *p)
{
	if (s_n == s_cap) {
		s_cap = s_cap != 0 ? s_cap * 2 : 16384;
		s_sent = realloc(s_sent, s_cap * sizeof(*s_sent));
		CHECK(s_sent != NULL);
	}
	uint64_t tag = s_n++;
	memset(&s_sent[tag], 0, sizeof(s_sent[tag]));
	char key[32];
	snprintf(key, sizeof(key), KEY_FMT, tag);
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	r.scenario_id = (char *)"weld-line-3";
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = key;
	m.name = (char *)"cycle_time_s";
	m.value = s_value(tag);
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	int code;
	while ((code = traction_publish(p, &r, tag)) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
		s_poll(p, 10);
	CHECK_EQ_INT(code, 0);
}

/* One step of the steady stream: publish what the rate allows, with at
 * most `window` records unacknowledged, then poll. */
static void s_stream(traction_publisher_t *p, int64_t start_ms, size_t window)
{
	uint64_t due = (uint64_t)(s_mono_ms() - start_ms) * RATE / 1000;
	while (s_n < due && traction_publisher_pending(p) < window)
		s_publish(p);
	s_poll(p, 5);
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

/* The stored records of the test, by tag, read back with feedback.list. */
typedef struct {
	uint32_t *count;     /* records stored under the tag's key */
	uint64_t *id;
	int64_t *received_ms;
	double *value;
	uint64_t records;    /* cycle_time_s records */
	uint64_t ready;      /* the harness's "ready" record */
	double sum, min, max;
} stored_t;

static void s_stored_free(stored_t *s)
{
	free(s->count);
	free(s->id);
	free(s->received_ms);
	free(s->value);
	memset(s, 0, sizeof(*s));
}

/* Pages through every record of defect-vision; a key that was never sent
 * fails the test here. */
static void s_read_back(stored_t *s)
{
	memset(s, 0, sizeof(*s));
	uint64_t n = s_n > 0 ? s_n : 1;
	s->count = calloc(n, sizeof(*s->count));
	s->id = calloc(n, sizeof(*s->id));
	s->received_ms = calloc(n, sizeof(*s->received_ms));
	s->value = calloc(n, sizeof(*s->value));
	CHECK(s->count != NULL && s->id != NULL && s->received_ms != NULL && s->value != NULL);
	s->min = INFINITY;
	s->max = -INFINITY;
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 2000);
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	char cursor[32] = "";
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
			const Traction__V1__FeedbackRecord *r = lr->records[i];
			const char *key = r->idempotency_key != NULL ? r->idempotency_key : "";
			if (strcmp(key, "ready-weld-line-3") == 0) {
				s->ready++;
				continue;
			}
			uint64_t tag = 0;
			int used = 0;
			bool ours = sscanf(key, "crash-%" SCNu64 "%n", &tag, &used) == 1 &&
				    key[used] == '\0' && tag < s_n;
			CHECK_MSG(ours, "record %" PRIu64 " is stored under key '%s', never sent",
				  r->id, key);
			CHECK_MSG(r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC &&
					  strcmp(r->metric->name, "cycle_time_s") == 0,
				  "record %" PRIu64 " (key %s) is not the metric sent", r->id, key);
			if (s->count[tag]++ == 0) {
				s->id[tag] = r->id;
				s->received_ms[tag] = r->received_ms;
				s->value[tag] = r->metric->value;
			}
			double v = r->metric->value;
			s->records++;
			s->sum += v;
			s->min = v < s->min ? v : s->min;
			s->max = v > s->max ? v : s->max;
		}
		snprintf(cursor, sizeof(cursor), "%s", lr->next_cursor);
		traction_reply_free(&lr->base);
	} while (cursor[0] != '\0');
	traction_client_destroy(&c);
	CHECK_EQ_INT(s->ready, 1);
}

/* Right after kill k: every record acknowledged so far is stored exactly
 * once (the publisher has not been polled since the kill, so these are the
 * acknowledgements sent before it), nothing is stored twice, and the
 * records stored by the killed instance but not acknowledged are noted:
 * their first attempt is in doubt. Returns how many there are. */
static uint64_t s_check_after_kill(int k, const kill_t *kl)
{
	stored_t s;
	uint64_t doubt = 0;
	s_read_back(&s);
	for (uint64_t t = 0; t < s_n; t++) {
		CHECK_MSG(s.count[t] <= 1, "after kill %d: key " KEY_FMT " stored %u times", k, t,
			  s.count[t]);
		if (s_sent[t].acks > 0 && s_sent[t].code == 0)
			CHECK_MSG(s.count[t] == 1,
				  "after kill %d: key " KEY_FMT " was acknowledged (record %" PRIu64
				  ") but is not stored",
				  k, t, s_sent[t].record_id);
		if (s_sent[t].acks == 0 && s.count[t] == 1 && s.received_ms[t] < kl->wall_ms) {
			s_sent[t].doubt = k;
			doubt++;
		}
	}
	s_stored_free(&s);
	return doubt;
}

/* How a round ends. feedbackd commits a small batch on its loop and a
 * large one on its writer thread: a kill comes just after acknowledgements
 * from each. */
typedef enum {
	KILL_WITH_BROKER,     /* a burst; the broker, then feedbackd 100 ms later */
	KILL_WITH_ITERATIOND, /* a burst; feedbackd and iterationd at its first acks */
	KILL_STEADY,          /* feedbackd at an acknowledgement of the steady stream */
	STOP_GRACEFUL,        /* a burst; SIGTERM to feedbackd at its first acks */
} kind_t;

/* Until records published since the last kill are acknowledged, and all
 * from before it, and the stream has caught up (the stream holds back
 * then, so that a slow machine gets there too); the round lasts a few of
 * the publisher's timeouts. */
static void s_round(traction_publisher_t *p, int k, int64_t start, int64_t last_kill,
		    uint64_t n_at_kill)
{
	int64_t stall = s_mono_ms() + STALL_MS;
	for (;;) {
		bool done = s_mono_ms() - last_kill >= ROUND_MIN_MS && s_acked_new >= MIN_ACKS &&
			    s_first_unacked >= n_at_kill;
		if (done && traction_publisher_pending(p) <= CAUGHT_UP)
			break;
		CHECK_MSG(s_mono_ms() < stall,
			  "round %d: %ld records published after the last kill acknowledged, "
			  "record %" PRIu64 " of %" PRIu64 " published before it not, %zu "
			  "unacknowledged",
			  k, s_acked_new, s_first_unacked, n_at_kill,
			  traction_publisher_pending(p));
		s_stream(p, start, done ? CAUGHT_UP / 2 : WINDOW);
	}
	CHECK_MSG(s_acked_new >= MIN_ACKS, "round %d: acknowledgements stopped", k);
	CHECK(s_first_unacked >= n_at_kill);
	CHECK(s_mono_ms() - last_kill > TIMEOUT_MS);
}

/* Returns when acknowledgements have just come, with more in flight:
 * after a burst (requests enough for a large commit; a poll takes the
 * replies of at most max_in_flight requests, half the burst), or in the
 * stream (then one more request is sent). */
static void s_acks_flowing(traction_publisher_t *p, int k, bool burst, int64_t start)
{
	int64_t stall = s_mono_ms() + STALL_MS;
	if (burst)
		for (int i = 0; i < BURST; i++)
			s_publish(p);
	for (;;) {
		long acked = s_acked;
		if (burst)
			s_poll(p, 5);
		else
			s_stream(p, start, WINDOW);
		if (s_acked > acked)
			break;
		CHECK_MSG(s_mono_ms() < stall, "round %d: no acknowledgement comes", k);
	}
	if (!burst) {
		for (int i = 0; i < BATCH; i++)
			s_publish(p);
		s_poll(p, 0); /* sends it */
	}
}

static void s_kill(kind_t kind)
{
	int sig = kind == STOP_GRACEFUL ? SIGTERM : SIGKILL;
	if (kind == KILL_WITH_BROKER) {
		/* feedbackd commits what the broker had handed it, with no way
		 * to answer: stored, unacknowledged, retried after the timeout */
		h_sleep_ms(1); /* the requests sent with those acknowledgements reach feedbackd */
		h_kill(&H, s_broker, SIGKILL);
		h_sleep_ms(100);
	} else if (kind == KILL_WITH_ITERATIOND) {
		kill(s_iterationd, SIGKILL);
	}
	h_kill(&H, s_feedbackd, sig);
	if (kind == KILL_WITH_ITERATIOND)
		h_kill(&H, s_iterationd, SIGKILL);
}

static void s_restart(kind_t kind)
{
	h_sleep_ms(2); /* no record of the next instance shares the kill's millisecond */
	if (kind == KILL_WITH_BROKER)
		s_broker = h_start_broker(&H, true);
	else if (kind == KILL_WITH_ITERATIOND)
		s_iterationd = h_start(&H, "traction-iterationd", NULL);
	s_feedbackd = h_start(&H, "traction-feedbackd", NULL);
}

/* Kills 1..rounds SIGKILL feedbackd, kill rounds+1 is the SIGTERM. */
static void s_rounds(traction_publisher_t *p, int rounds, kill_t *kills)
{
	static const char *what[] = {
		"SIGKILL broker and feedbackd after a burst",
		"SIGKILL feedbackd and iterationd in a burst",
		"SIGKILL feedbackd in the stream",
		"SIGTERM feedbackd in a burst",
	};
	int64_t start = s_mono_ms(), last_kill = start;
	uint64_t n_at_kill = 0;
	for (int k = 1; k <= rounds + 1; k++) {
		kind_t kind = k > rounds ? STOP_GRACEFUL : (kind_t)((k - 1) % 3);
		s_round(p, k, start, last_kill, n_at_kill);
		s_acks_flowing(p, k, kind != KILL_STEADY, start);
		size_t pending = traction_publisher_pending(p);
		CHECK_MSG(pending > 0, "round %d: nothing in flight at the kill", k);
		s_kill(kind);
		kills[k - 1].mono_ms = s_mono_ms();
		kills[k - 1].wall_ms = s_wall_ms();
		s_restart(kind);
		uint64_t doubt = s_check_after_kill(k, &kills[k - 1]);
		fprintf(stderr,
			"kill %d: %s, after %lld ms: %ld records acknowledged (%ld of them "
			"published since the last kill), %zu not, of which %" PRIu64 " stored\n",
			k, what[kind], (long long)(kills[k - 1].mono_ms - last_kill), s_acked,
			s_acked_new, pending, doubt);
		last_kill = kills[k - 1].mono_ms;
		n_at_kill = s_n;
		s_new_from = s_n;
		s_acked_new = 0;
	}
}

TEST(kills_under_load)
{
	const char *env = getenv("TRACTION_CRASH_ROUNDS");
	int rounds = env != NULL ? atoi(env) : 6;
	CHECK(rounds >= 1);
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
	traction_client_destroy(&c);

	traction_publisher_t *p = NULL;
	traction_publisher_options_t o = { .timeout_ms = TIMEOUT_MS, .batch = BATCH,
					   .max_in_flight = IN_FLIGHT, .on_ack = on_ack };
	CHECK_EQ_INT(traction_publisher_new(&p, H.client_ep, &o), 0);
	kill_t *kills = calloc((size_t)rounds + 1, sizeof(*kills));
	CHECK(kills != NULL);
	s_rounds(p, rounds, kills);

	/* the last records: acknowledged once, nothing left in flight */
	int64_t stall = s_mono_ms() + 2 * STALL_MS;
	while (traction_publisher_pending(p) > 0) {
		CHECK_MSG(s_mono_ms() < stall, "%zu records never acknowledged",
			  traction_publisher_pending(p));
		s_poll(p, 50);
	}
	traction_publisher_destroy(&p);
	CHECK_EQ_INT(s_twice, 0);
	CHECK_EQ_INT(s_refused, 0);
	CHECK_EQ_INT(s_acked, (long)s_n);
	CHECK_EQ_INT(s_first_unacked, s_n);

	/* exactly once, by key; and what each acknowledgement said */
	stored_t s;
	s_read_back(&s);
	uint64_t must_dup = 0, doubt = 0, doubt_dup = 0;
	for (uint64_t t = 0; t < s_n; t++) {
		const sent_t *x = &s_sent[t];
		CHECK_MSG(s.count[t] == 1, "key " KEY_FMT " stored %u times", t, s.count[t]);
		CHECK_MSG(s.id[t] == x->record_id,
			  "key " KEY_FMT " is record %" PRIu64 ", its acknowledgement said %" PRIu64
			  " (duplicate: %d)",
			  t, s.id[t], x->record_id, x->duplicate);
		CHECK_MSG(s.value[t] == s_value(t), "key " KEY_FMT " holds %g, sent %g", t,
			  s.value[t], s_value(t));
		/* Stored before kill k, the record was sent before it; the reply
		 * to that request is taken only by a poll that starts within
		 * TIMEOUT_MS of its sending. An acknowledgement from a later poll
		 * answers a retry, which found the key: a duplicate. */
		for (int k = 0; k <= rounds; k++) {
			if (s.received_ms[t] >= kills[k].wall_ms)
				continue;
			if (x->ack_ms >= kills[k].mono_ms + TIMEOUT_MS) {
				CHECK_MSG(x->duplicate,
					  "key " KEY_FMT " stored before kill %d, acknowledged "
					  "%lld ms after it, not as a duplicate",
					  t, k + 1, (long long)(x->ack_ms - kills[k].mono_ms));
				must_dup++;
			}
			break;
		}
		doubt += x->doubt != 0;
		doubt_dup += x->doubt != 0 && x->duplicate;
	}
	CHECK_EQ_INT(s.records, s_n);

	/* the aggregates equal a recount */
	c = h_client(&H);
	traction_client_set_timeout(c, 2000);
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *srep = NULL;
	q.supply_id = (char *)"defect-vision";
	q.metric = (char *)"cycle_time_s";
	CHECK_EQ_INT(call(c, "feedback", "stats", &q.base, &traction__v1__stats_reply__descriptor, &srep),
		     0);
	CHECK_EQ_INT(srep->n_metrics, 1);
	Traction__V1__MetricStats *st = srep->metrics[0]->stats;
	CHECK_EQ_INT(st->count, s.records);
	CHECK(fabs(st->sum - s.sum) < 1e-6 * s.sum);
	CHECK(st->min == s.min && st->max == s.max);
	traction_reply_free(&srep->base);

	/* every consumer caught up with every source */
	bool caught = false;
	uint64_t a1;
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
	fprintf(stderr,
		"survived %d rounds and a SIGTERM: %" PRIu64 " keys sent, each acknowledged once "
		"and stored once; %ld acknowledged as duplicates, %" PRIu64 " of them necessarily "
		"(stored before a kill, acknowledged a timeout after it); %" PRIu64
		" stored but unacknowledged at a kill, %" PRIu64 " of them acknowledged as "
		"duplicates\n",
		rounds, s_n, s_dups, must_dup, doubt, doubt_dup);
	s_stored_free(&s);
	free(kills);
	free(s_sent);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	RUN(kills_under_load);
	h_done(&H);
	DONE();
}
