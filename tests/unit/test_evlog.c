/*
 * The event log: gap-free sequences written in the caller's transaction,
 * nothing published for a rolled-back or failed transaction, replay reads
 * consecutive events, and the consumer's verdict on what arrives.
 */
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "evlog.h"
#include "util.h"

static const char *s_dir;

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
	CHECK_EQ_INT(trc_evlog_append(log, txn, &ev, &seq), 0);
	CHECK_EQ_INT(seq, want);
	CHECK_STR(ev.source, "supply");
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
	CHECK_EQ_INT(trc_evlog_append(log, &txn, &ev, NULL), TRC_EINTERNAL);
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
	DONE();
}
