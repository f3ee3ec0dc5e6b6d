/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log's bound (issue #28; docs/protocol.md "Compaction"): the
 * index of each key's newest event, kept at every append, and the trim
 * that moves the log's floor up in bounded steps, keeping below it only
 * the events that are still the newest of one of their keys. A consumer
 * further behind than the retention so gets, for every record, its latest
 * state, and the log holds one event per record plus the retention's
 * window, whatever the ingest. See evlog.h.
 *
 * In the store's meta database: "events_floor" (be64; absent: 1) and
 * "events_unindexed" (be64 from, be64 to: events of a store written before
 * the index, not yet in it; absent: the index was not there yet; from ==
 * to: every event is indexed).
 */
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "evlog.h"
#include "log.h"
#include "util.h"
#include "traction/v1/events.pb-c.h"

#define S_FLOOR "events_floor"
#define S_UNINDEXED "events_unindexed"

static const trc_db_t *s_db(const trc_txn_t *txn, unsigned i)
{
	return trc_store_sysdb(txn->store, i);
}

static int s_meta_get(trc_txn_t *txn, const char *name, uint64_t *v, size_t nv)
{
	MDB_val val;
	int rc = trc_txn_get(txn, s_db(txn, TRC_SYSDB_META), name, strlen(name), &val);
	if (rc != 0)
		return rc;
	if (val.mv_size != 8 * nv)
		return trc_txn_fail(txn, TRC_ECORRUPT);
	for (size_t i = 0; i < nv; i++)
		v[i] = trc_be64_get((const uint8_t *)val.mv_data + 8 * i);
	return 0;
}

static int s_meta_put(trc_txn_t *txn, const char *name, const uint64_t *v, size_t nv)
{
	uint8_t be[16];
	for (size_t i = 0; i < nv; i++)
		trc_be64_put(be + 8 * i, v[i]);
	return trc_txn_put(txn, s_db(txn, TRC_SYSDB_META), name, strlen(name), be, 8 * nv, 0);
}

uint64_t trc_evlog_floor(trc_txn_t *txn)
{
	uint64_t floor = 1;
	return s_meta_get(txn, S_FLOOR, &floor, 1) == 0 ? floor : 1;
}

static void s_seq_key(trc_dbkey_t *k, uint64_t seq)
{
	trc_dbkey_init(k);
	trc_dbkey_be64(k, seq);
}

/* The event at seq, decoded (free with traction__v1__event__free_unpacked):
 * 0, TRC_ENOENT, or a sticky error. */
static int s_event(trc_txn_t *txn, uint64_t seq, Traction__V1__Event **ev)
{
	trc_dbkey_t k;
	MDB_val v;
	s_seq_key(&k, seq);
	int rc = trc_txn_get(txn, s_db(txn, TRC_SYSDB_EVENTS), k.buf, k.len, &v);
	if (rc != 0)
		return rc;
	*ev = traction__v1__event__unpack(NULL, v.mv_size, v.mv_data);
	return *ev != NULL ? 0 : trc_txn_fail(txn, TRC_ECORRUPT);
}

/* ---- the index --------------------------------------------------------------- */

typedef struct {
	trc_evlog_t *log;
	trc_txn_t *txn;
	uint64_t seq;
	bool only_newer;   /* indexing an old event: never point a key back */
	uint64_t floor;    /* 0: not read yet */
	bool newest;       /* s_points_here: some key points at seq */
} idx_t;

static int s_points_here(void *ud, const void *key, size_t len)
{
	idx_t *x = ud;
	MDB_val v;
	int rc = trc_txn_get(x->txn, s_db(x->txn, TRC_SYSDB_EVENT_KEYS), key, len, &v);
	if (rc == 0 && v.mv_size == 8 && trc_be64_get(v.mv_data) == x->seq)
		x->newest = true;
	return rc == TRC_ENOENT ? 0 : rc;
}

/* Whether the decoded event ev is the newest of one of its keys. */
static int s_is_newest(trc_evlog_t *log, trc_txn_t *txn, const Traction__V1__Event *ev,
		       bool *newest)
{
	idx_t x = { .log = log, .txn = txn, .seq = ev->seq };
	int rc = trc_evlog_keys_of(log, ev, s_points_here, &x);
	*newest = x.newest;
	return rc != 0 ? rc : txn->err;
}

static int s_delete(trc_txn_t *txn, uint64_t seq)
{
	trc_dbkey_t k;
	s_seq_key(&k, seq);
	int rc = trc_txn_del(txn, s_db(txn, TRC_SYSDB_EVENTS), k.buf, k.len);
	return rc == TRC_ENOENT ? 0 : rc;
}

/* An event below the floor goes once no key points at it. */
static int s_drop_if_superseded(trc_evlog_t *log, trc_txn_t *txn, uint64_t seq)
{
	Traction__V1__Event *ev;
	int rc = s_event(txn, seq, &ev);
	if (rc != 0)
		return rc == TRC_ENOENT ? 0 : rc;
	bool newest;
	rc = s_is_newest(log, txn, ev, &newest);
	traction__v1__event__free_unpacked(ev, NULL);
	return rc != 0 || newest ? rc : s_delete(txn, seq);
}

static int s_index_key(void *ud, const void *key, size_t len)
{
	idx_t *x = ud;
	trc_txn_t *txn = x->txn;
	const trc_db_t *db = s_db(txn, TRC_SYSDB_EVENT_KEYS);
	if (len == 0 || len > TRC_DBKEY_MAX)
		return trc_txn_fail(txn, TRC_EINTERNAL);
	MDB_val v;
	uint64_t old = 0;
	int rc = trc_txn_get(txn, db, key, len, &v);
	if (rc == 0 && v.mv_size == 8)
		old = trc_be64_get(v.mv_data);
	else if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	if (old == x->seq || (x->only_newer && old > x->seq))
		return 0;
	uint8_t be[8];
	trc_be64_put(be, x->seq);
	rc = trc_txn_put(txn, db, key, len, be, 8, 0);
	if (rc != 0 || old == 0 || x->only_newer)
		return rc;
	/* the key's event below the floor may be of no use now */
	if (x->floor == 0)
		x->floor = trc_evlog_floor(txn);
	return old < x->floor ? s_drop_if_superseded(x->log, txn, old) : 0;
}

int trc_evlog_index_append(trc_evlog_t *log, trc_txn_t *txn, const Traction__V1__Event *ev)
{
	idx_t x = { .log = log, .txn = txn, .seq = ev->seq };
	int rc = trc_evlog_keys_of(log, ev, s_index_key, &x);
	return rc != 0 ? rc : txn->err;
}

/* ---- the store written before the index ----------------------------------------- */

int trc_evlog_open(trc_evlog_t *log, trc_txn_t *txn)
{
	uint64_t r[2];
	if (!trc_evlog_keyed(log))
		return 0;
	int rc = s_meta_get(txn, S_UNINDEXED, r, 2);
	if (rc != TRC_ENOENT)
		return rc;
	/* the events so far are not in the index: index them before any trim */
	r[0] = 1;
	r[1] = trc_evlog_head(txn) + 1;
	if (r[1] > 1)
		trc_notice("events: %llu events to index before the log is trimmed",
			   (unsigned long long)(r[1] - 1));
	return s_meta_put(txn, S_UNINDEXED, r, 2);
}

/* Up to *budget old events into the index; *done: all are. */
static int s_index_old(trc_evlog_t *log, trc_txn_t *txn, size_t *budget, bool *done)
{
	uint64_t r[2];
	int rc = s_meta_get(txn, S_UNINDEXED, r, 2);
	*done = false;
	if (rc == TRC_ENOENT) /* trc_evlog_open has not run: not ours to trim */
		return 0;
	if (rc != 0)
		return rc;
	if (r[0] >= r[1]) {
		*done = true;
		return 0;
	}
	for (; rc == 0 && *budget > 0 && r[0] < r[1]; r[0]++, (*budget)--) {
		Traction__V1__Event *ev;
		rc = s_event(txn, r[0], &ev);
		if (rc == TRC_ENOENT) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		idx_t x = { .log = log, .txn = txn, .seq = r[0], .only_newer = true };
		rc = trc_evlog_keys_of(log, ev, s_index_key, &x);
		traction__v1__event__free_unpacked(ev, NULL);
	}
	if (rc == 0)
		rc = s_meta_put(txn, S_UNINDEXED, r, 2);
	*done = r[0] >= r[1];
	return rc != 0 ? rc : txn->err;
}

/* ---- the trim ------------------------------------------------------------------ */

int trc_evlog_trim(trc_evlog_t *log, trc_txn_t *txn, const trc_evlog_retention_t *ret,
		   int64_t now_ms, size_t *trimmed, bool *more)
{
	size_t budget = ret->per_tick, n = 0;
	bool indexed;
	if (trimmed != NULL)
		*trimmed = 0;
	if (more != NULL)
		*more = false;
	if (!trc_evlog_keyed(log) || (ret->keep_ms <= 0 && ret->keep_max == 0) || budget == 0)
		return 0;
	int rc = s_index_old(log, txn, &budget, &indexed);
	if (rc != 0 || !indexed) {
		if (more != NULL)
			*more = rc == 0 && budget == 0;
		return rc;
	}
	uint64_t floor = trc_evlog_floor(txn), head = trc_evlog_head(txn), start = floor;
	for (; rc == 0 && budget > 0 && floor < head; budget--) {
		bool old_by_count = ret->keep_max > 0 && head - floor >= ret->keep_max;
		Traction__V1__Event *ev;
		rc = s_event(txn, floor, &ev);
		if (rc == TRC_ENOENT) { /* cannot be: the log is whole from the floor on */
			rc = trc_txn_fail(txn, TRC_ECORRUPT);
			break;
		}
		if (rc != 0)
			break;
		bool old_by_age = ret->keep_ms > 0 && ev->time_ms < now_ms - ret->keep_ms;
		bool newest = false;
		if (old_by_count || old_by_age)
			rc = s_is_newest(log, txn, ev, &newest);
		traction__v1__event__free_unpacked(ev, NULL);
		if (!old_by_count && !old_by_age)
			break; /* the rest is younger */
		if (rc == 0 && !newest) {
			rc = s_delete(txn, floor);
			n++;
		}
		if (rc == 0)
			floor++;
	}
	if (rc == 0 && floor != start)
		rc = s_meta_put(txn, S_FLOOR, &floor, 1);
	if (rc == 0 && trimmed != NULL)
		*trimmed = n;
	if (rc == 0 && more != NULL)
		*more = budget == 0 && floor < head;
	return rc != 0 ? rc : txn->err;
}
