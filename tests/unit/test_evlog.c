/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log: gap-free sequences written in the caller's transaction,
 * nothing published for a rolled-back or failed transaction, replay reads
 * consecutive events, and the consumer's verdict on what arrives. And its
 * bound (evtrim.c): the trim moves the floor past what the retention
 * lets go, keeping below it the newest event of each key; an append
 * removes the event below the floor it supersedes; a store written
 * before the key index is indexed before anything is trimmed.
 */
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "evlog.h"
#include "util.h"

static const char *s_dir;

/* a batch's clock, far from this host's wall clock */
#define S_CLOCK ((int64_t)1234567890123)

typedef struct {
	char topics[16][64];
	uint64_t seqs[16];
	int n;
} published_t;

static void on_publish(void *ud, const char *topic, const void *data, size_t len)
{
	published_t *p = ud;
	Traction__V1__Event *ev = traction__v1__event__unpack(NULL, len, data);
	CHECK(ev != NULL);
	snprintf(p->topics[p->n], 64, "%s", topic);
	CHECK_STR(ev->type, topic);
	p->seqs[p->n++] = ev->seq;
	traction__v1__event__free_unpacked(ev, NULL);
}

static void append(trc_evlog_t *log, trc_txn_t *txn, const char *type, uint64_t want)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	uint64_t seq = 0;
	s.id = (char *)"defect-vision";
	ev.type = (char *)type;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	CHECK_EQ_INT(trc_evlog_append(log, txn, &ev, S_CLOCK, &seq), 0);
	CHECK_EQ_INT(seq, want);
	CHECK_STR(ev.source, "supply");
	CHECK(ev.time_ms == S_CLOCK); /* the batch's clock, not the wall clock */
}

TEST(append_publish_replay)
{
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, s_dir, 8 << 20, NULL, 1), 0);
	trc_evlog_t *log = trc_evlog_new("supply");
	published_t pub = { 0 };
	trc_txn_t txn, child;

	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_evlog_head(&txn), 0);
	append(log, &txn, "supply.registered", 1);
	append(log, &txn, "supply.updated", 2);

	/* A nested transaction that aborts takes its event with it. */
	size_t mark = trc_evlog_mark(log);
	CHECK_EQ_INT(trc_txn_begin_nested(&txn, &child), 0);
	append(log, &child, "supply.retired", 3);
	trc_txn_abort(&child);
	trc_evlog_rollback(log, mark);
	CHECK_EQ_INT(trc_evlog_pending(log), 2);

	/* The next one reuses 3: no gap. */
	CHECK_EQ_INT(trc_txn_begin_nested(&txn, &child), 0);
	append(log, &child, "supply.retired", 3);
	CHECK_EQ_INT(trc_txn_commit(&child), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_flush(log, on_publish, &pub);
	CHECK_EQ_INT(pub.n, 3);
	CHECK_EQ_INT(pub.seqs[2], 3);
	CHECK_STR(pub.topics[2], "supply.retired");
	CHECK_EQ_INT(trc_evlog_pending(log), 0);

	/* A failed commit publishes nothing and leaves no trace. */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	append(log, &txn, "supply.updated", 4);
	trc_txn_fail(&txn, TRC_EIO);
	CHECK_EQ_INT(trc_txn_commit(&txn), TRC_EIO);
	trc_evlog_rollback(log, 0);
	pub.n = 0;
	trc_evlog_flush(log, on_publish, &pub);
	CHECK_EQ_INT(pub.n, 0);

	/* Replay from 2 gives 2 and 3, consecutive. */
	Traction__V1__Event *out[10];
	size_t n;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_evlog_head(&txn), 3);
	CHECK_EQ_INT(trc_evlog_read(&txn, 2, 10, 1 << 20, NULL, out, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(out[0]->seq, 2);
	CHECK_EQ_INT(out[1]->seq, 3);
	CHECK_STR(out[1]->supply->id, "defect-vision");
	for (size_t i = 0; i < n; i++)
		traction__v1__event__free_unpacked(out[i], NULL);
	CHECK_EQ_INT(trc_evlog_read(&txn, 4, 10, 1 << 20, NULL, out, &n), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(trc_evlog_read(&txn, 1, 1, 1 << 20, NULL, out, &n), 0); /* max respected */
	CHECK_EQ_INT(n, 1);
	traction__v1__event__free_unpacked(out[0], NULL);
	/* so is max_bytes, but one event always goes */
	CHECK_EQ_INT(trc_evlog_read(&txn, 1, 10, 1, NULL, out, &n), 0);
	CHECK_EQ_INT(n, 1);
	traction__v1__event__free_unpacked(out[0], NULL);
	trc_txn_abort(&txn);

	trc_evlog_destroy(&log);
	trc_store_destroy(&st);
}

/* With its topics declared, the log refuses a type outside them (consumers
 * subscribe by prefix and would see it only by replay), as an empty one. */
TEST(declared_topics_bound_the_types)
{
	static const char *const topics[] = { "provider.", "supply.", NULL };
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/topics", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	trc_evlog_t *log = trc_evlog_new("supply");
	trc_evlog_set_topics(log, topics);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	append(log, &txn, "provider.registered", 1);
	append(log, &txn, "supply.registered", 2);
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.type = (char *)"scenario.submitted";
	CHECK_EQ_INT(trc_evlog_append(log, &txn, &ev, S_CLOCK, NULL), TRC_EINTERNAL);
	CHECK_EQ_INT(trc_evlog_pending(log), 2);
	trc_txn_abort(&txn);
	trc_evlog_rollback(log, 0);
	trc_evlog_destroy(&log);
	trc_store_destroy(&st);
}

TEST(positions_persist)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/consumer", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	trc_txn_t txn;
	uint64_t seq = 99;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_position_get(&txn, "supply", &seq), 0);
	CHECK_EQ_INT(seq, 0);
	CHECK_EQ_INT(trc_position_set(&txn, "supply", 41), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);

	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_position_get(&txn, "supply", &seq), 0);
	CHECK_EQ_INT(seq, 41);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

/* ---- the bound ---- */

/* Supply events are keyed by the supply; other types name no key. */
static int s_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	if (ev->payload_case != TRACTION__V1__EVENT__PAYLOAD_SUPPLY)
		return 0;
	return trc_evlog_emit(emit, ud, "supply", ev->supply->id);
}

static uint64_t s_add(trc_evlog_t *log, trc_txn_t *txn, const char *id, int64_t t)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	uint64_t seq = 0;
	ev.type = (char *)(id != NULL ? "supply.updated" : "supply.news");
	if (id != NULL) {
		s.id = (char *)id;
		ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
		ev.supply = &s;
	}
	CHECK_EQ_INT(trc_evlog_append(log, txn, &ev, t, &seq), 0);
	CHECK(ev.time_ms == t);
	return seq;
}

/* The sequences a replay from `from` reads, as "4 6 7 8". */
static void s_read(trc_txn_t *txn, uint64_t from, char *out, size_t len)
{
	Traction__V1__Event *evs[64];
	size_t n = 0, at = 0;
	CHECK_EQ_INT(trc_evlog_read(txn, from, 64, 1 << 20, NULL, evs, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		at += (size_t)snprintf(out + at, len - at, "%s%llu", i > 0 ? " " : "",
				       (unsigned long long)evs[i]->seq);
		traction__v1__event__free_unpacked(evs[i], NULL);
	}
}

static void s_trim(trc_evlog_t *log, trc_store_t *st, const trc_evlog_retention_t *ret,
		   int64_t now, size_t *trimmed, bool *more)
{
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_evlog_trim(log, &txn, ret, now, trimmed, more), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
}

TEST(trim_compacts_below_the_floor)
{
	char path[512], got[256];
	snprintf(path, sizeof(path), "%s/trim", s_dir);
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	trc_evlog_t *log = trc_evlog_new("supply");
	trc_evlog_set_keys(log, s_keys);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_evlog_open(log, &txn), 0);
	/* 1 a, 2 b, 3 a, 4 c, 5 (no key), 6 a, 7 b, 8 d, 9 e, 10 e */
	const char *ids[] = { "a", "b", "a", "c", NULL, "a", "b", "d", "e", "e" };
	for (size_t i = 0; i < 10; i++)
		CHECK_EQ_INT(s_add(log, &txn, ids[i], 1000 + (int64_t)i), i + 1);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_rollback(log, 0);

	/* no bound: nothing goes */
	trc_evlog_retention_t ret = { .per_tick = 100 };
	size_t trimmed = 99;
	bool more = true;
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 0);
	CHECK(!more);

	/* 3 stay whole (8, 9, 10); below, the newest of c, a, b: 4, 6, 7 */
	ret.keep_max = 3;
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 4);
	CHECK(!more);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_evlog_floor(&txn), 8);
	CHECK_EQ_INT(trc_evlog_head(&txn), 10);
	s_read(&txn, 0, got, sizeof(got));
	CHECK_STR(got, "4 6 7 8 9 10");
	s_read(&txn, 5, got, sizeof(got));
	CHECK_STR(got, "6 7 8 9 10");
	s_read(&txn, 9, got, sizeof(got));
	CHECK_STR(got, "9 10");
	trc_txn_abort(&txn);

	/* a new event of a: its event below the floor (6) is of no use now */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(s_add(log, &txn, "a", 2000), 11);
	s_read(&txn, 1, got, sizeof(got));
	CHECK_STR(got, "4 7 8 9 10 11");
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_rollback(log, 0);

	/* by age, in bounded steps: everything before 1010 ms is old, and
	 * two are examined per step; the head is never trimmed */
	ret = (trc_evlog_retention_t){ .keep_ms = 1000, .per_tick = 2 };
	s_trim(log, st, &ret, 2010, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 1); /* 8 (d) is kept: the newest of d; 9 goes */
	CHECK(more);
	s_trim(log, st, &ret, 2010, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 0); /* 10 (e) kept; 11 is the head */
	CHECK(!more);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_evlog_floor(&txn), 11);
	s_read(&txn, 1, got, sizeof(got));
	CHECK_STR(got, "4 7 8 10 11");
	trc_txn_abort(&txn);

	/* the floor survives a restart */
	trc_store_destroy(&st);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_evlog_floor(&txn), 11);
	trc_txn_abort(&txn);
	trc_evlog_destroy(&log);
	trc_store_destroy(&st);
}

TEST(a_store_from_before_the_index_is_indexed_first)
{
	char path[512], got[256];
	snprintf(path, sizeof(path), "%s/old", s_dir);
	trc_store_t *st = NULL;
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, NULL, 1), 0);
	trc_evlog_t *log = trc_evlog_new("supply");
	trc_txn_t txn;
	/* written without keys: 1 a, 2 b, 3 a, 4 b */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	const char *ids[] = { "a", "b", "a", "b" };
	for (size_t i = 0; i < 4; i++)
		s_add(log, &txn, ids[i], 1000);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_rollback(log, 0);

	/* a trim of a log trc_evlog_open has not seen does nothing */
	trc_evlog_set_keys(log, s_keys);
	trc_evlog_retention_t ret = { .keep_max = 1, .per_tick = 3 };
	size_t trimmed;
	bool more;
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 0);

	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_evlog_open(log, &txn), 0);
	CHECK_EQ_INT(s_add(log, &txn, "c", 1000), 5); /* indexed as it is written */
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_evlog_rollback(log, 0);
	/* the first step indexes 3 of the 4 old ones and trims nothing */
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	CHECK_EQ_INT(trimmed, 0);
	CHECK(more);
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	s_trim(log, st, &ret, 5000, &trimmed, &more);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_evlog_floor(&txn), 5);
	s_read(&txn, 1, got, sizeof(got));
	CHECK_STR(got, "3 4 5"); /* the newest of a and b, and the head */
	trc_txn_abort(&txn);
	trc_evlog_destroy(&log);
	trc_store_destroy(&st);
}

TEST(verdicts)
{
	CHECK(trc_event_verdict(0, 1) == TRC_EVENT_APPLY);
	CHECK(trc_event_verdict(5, 6) == TRC_EVENT_APPLY);
	CHECK(trc_event_verdict(5, 5) == TRC_EVENT_OLD);
	CHECK(trc_event_verdict(5, 2) == TRC_EVENT_OLD);
	CHECK(trc_event_verdict(5, 7) == TRC_EVENT_GAP);
	CHECK(trc_event_verdict(0, 2) == TRC_EVENT_GAP);
}

int main(void)
{
	s_dir = check_tmpdir("trc-evlog");
	RUN(append_publish_replay);
	RUN(declared_topics_bound_the_types);
	RUN(positions_persist);
	RUN(verdicts);
	RUN(trim_compacts_below_the_floor);
	RUN(a_store_from_before_the_index_is_indexed_first);
	DONE();
}
