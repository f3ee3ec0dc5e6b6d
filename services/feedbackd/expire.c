/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expiry of raw feedback records, a little at every tick (retention.h).
 *
 * A pass walks the records by id from the oldest left, examining at most
 * expire_per_tick of them a tick, so that the group commit it rides in
 * stays short: an ingest batch waits for at most one bounded slice, never
 * for a whole expiry. The pass's cursor is in the store, written in the
 * same transaction as the deletions: after a restart the pass goes on
 * where the last committed tick left it. A pass ends at its horizon, the
 * first record received after "now less the shortest TTL in force" when
 * it began (ids grow with receipt, so every later record is younger),
 * and the next one starts pass_every_s later, from the oldest record
 * again: the held, and those of a longer TTL, are looked at once a pass.
 *
 * A record that goes takes with it its ends of the by_supply and
 * by_scenario runs (runs.c: each run a slice touched is shrunk once, not
 * once per record) and its idempotency key when the key's own
 * time is up too; a key whose time is not up yet is noted in idem_late
 * and deleted when it is, so that a retry within idempotency_days is
 * still answered as a duplicate of the record it named.
 */
#include <string.h>

#include "error.h"
#include "feedbackd.h"
#include "log.h"
#include "retention.h"
#include "util.h"

#define PASS_KEY "pass"
#define NEXT_ID_KEY "next_id"

typedef struct {
	uint64_t cursor;      /* the next id to examine; 0: no pass under way */
	int64_t horizon_ms;   /* records received at or after it are not examined */
	int64_t rest_ms;      /* no pass starts before it */
} pass_t;

static int s_pass_load(trc_txn_t *txn, pass_t *p)
{
	MDB_val v;
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_RET_META), PASS_KEY, strlen(PASS_KEY), &v);
	memset(p, 0, sizeof(*p));
	if (rc == TRC_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 24)
		return TRC_ECORRUPT;
	p->cursor = trc_be64_get(v.mv_data);
	p->horizon_ms = (int64_t)trc_be64_get((const uint8_t *)v.mv_data + 8);
	p->rest_ms = (int64_t)trc_be64_get((const uint8_t *)v.mv_data + 16);
	return 0;
}

static int s_pass_store(trc_txn_t *txn, const pass_t *p)
{
	uint8_t v[24];
	trc_be64_put(v, p->cursor);
	trc_be64_put(v + 8, (uint64_t)p->horizon_ms);
	trc_be64_put(v + 16, (uint64_t)p->rest_ms);
	return trc_txn_put(txn, trc_txn_db(txn, FB_DB_RET_META), PASS_KEY, strlen(PASS_KEY), v,
			   sizeof(v), 0);
}

/* What a pass keeps of a record it deletes, read as it walked past it:
 * the deletions come after the walk (its cursor stays on its page). */
typedef struct {
	uint64_t id;
	int64_t received_ms;
	const char *keys[2];       /* its supply and scenario: the indexes' keys */
	trc_dbkey_t idem;          /* its idempotency key (len 0: none) */
} doomed_t;

/* The runs of one key a slice deleted records of: from lo to hi. */
typedef struct {
	fb_index_t index;
	const char *key;
	uint64_t lo, hi;
} span_t;

static int s_doom(trc_call_t *call, const Traction__V1__FeedbackRecord *r, doomed_t *d)
{
	d->id = r->id;
	d->received_ms = r->received_ms;
	d->keys[FB_INDEX_SUPPLY] = trc_arena_strdup(call->arena, r->supply_id);
	d->keys[FB_INDEX_SCENARIO] = trc_arena_strdup(call->arena, r->scenario_id);
	trc_dbkey_init(&d->idem);
	if (r->idempotency_key != NULL && r->idempotency_key[0] != '\0' &&
	    !fb_idem_key(&d->idem, r->client_id, r))
		trc_dbkey_init(&d->idem); /* one that did not fit was never stored */
	return d->keys[0] != NULL && d->keys[1] != NULL ? 0 : TRC_ENOMEM;
}

/* Notes that d's record left the runs of its keys (spans, *n of them). */
static int s_span(trc_call_t *call, span_t **spans, size_t *n, size_t *cap, const doomed_t *d)
{
	for (int x = 0; x < 2; x++) {
		size_t i = 0;
		while (i < *n && ((*spans)[i].index != (fb_index_t)x ||
				  strcmp((*spans)[i].key, d->keys[x]) != 0))
			i++;
		if (i < *n) {
			(*spans)[i].hi = d->id; /* ids come in order */
			continue;
		}
		if ((*spans = trc_arena_grow(call->arena, *spans, *n, cap, sizeof(span_t))) == NULL)
			return TRC_ENOMEM;
		(*spans)[(*n)++] = (span_t){ (fb_index_t)x, d->keys[x], d->id, d->id };
	}
	return 0;
}

/* Its idempotency key goes now if its time is up, else when it is. */
static int s_drop_key(trc_txn_t *txn, const fb_retention_t *pol, int64_t now_ms,
		      const doomed_t *d)
{
	if (d->idem.len == 0)
		return 0;
	int64_t due = d->received_ms + (int64_t)pol->idempotency_days * pol->day_s * 1000;
	if (due > now_ms) {
		uint8_t id[8];
		trc_be64_put(id, d->id);
		uint8_t *v = trc_txn_reserve(txn, trc_txn_db(txn, FB_DB_IDEM_LATE), id, 8,
					     8 + d->idem.len, 0);
		if (v == NULL)
			return txn->err != 0 ? txn->err : TRC_EINTERNAL;
		trc_be64_put(v, (uint64_t)d->received_ms);
		memcpy(v + 8, d->idem.buf, d->idem.len);
		return 0;
	}
	MDB_val v;
	const trc_db_t *idem = trc_txn_db(txn, FB_DB_IDEM);
	int rc = trc_txn_get(txn, idem, d->idem.buf, d->idem.len, &v);
	if (rc == TRC_ENOENT || (rc == 0 && (v.mv_size < 8 || trc_be64_get(v.mv_data) != d->id)))
		return 0; /* the key names another record: not ours to delete */
	return rc != 0 ? rc : trc_txn_del(txn, idem, d->idem.buf, d->idem.len);
}

/* Deletes the doomed records, their keys (or notes them in idem_late),
 * and shrinks the runs they leave, each run once. */
static int s_delete(trc_call_t *call, const fb_retention_t *pol, const doomed_t *doomed, size_t n)
{
	trc_txn_t *txn = call->txn;
	size_t ns = 0, cap = 16;
	span_t *spans = NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t k[8];
		trc_be64_put(k, doomed[i].id);
		rc = trc_txn_del(txn, trc_txn_db(txn, FB_DB_RECORDS), k, 8);
		if (rc == 0)
			rc = s_drop_key(txn, pol, call->now_ms, &doomed[i]);
		if (rc == 0)
			rc = s_span(call, &spans, &ns, &cap, &doomed[i]);
	}
	for (size_t i = 0; rc == 0 && i < ns; i++)
		rc = fb_runs_trim(txn, spans[i].index, spans[i].key, spans[i].lo, spans[i].hi);
	return rc;
}

/* Ids only grow, also past the newest record deleted (publish.c reads
 * this beside the last record). */
static int s_keep_next_id(trc_txn_t *txn, uint64_t next)
{
	const trc_db_t *db = trc_txn_db(txn, FB_DB_RET_META);
	MDB_val v;
	int rc = trc_txn_get(txn, db, NEXT_ID_KEY, strlen(NEXT_ID_KEY), &v);
	if (rc == 0 && v.mv_size == 8 && trc_be64_get(v.mv_data) >= next)
		return 0;
	if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	uint8_t be[8];
	trc_be64_put(be, next);
	return trc_txn_put(txn, db, NEXT_ID_KEY, strlen(NEXT_ID_KEY), be, 8, 0);
}

/* Starts a pass when one is due: false when none runs this tick. */
static int s_begin(trc_call_t *call, const fb_retention_t *pol, pass_t *p, bool *run)
{
	*run = p->cursor != 0;
	/* resting; unless the clock went back by more than a rest */
	if (*run || (call->now_ms < p->rest_ms &&
		     p->rest_ms - call->now_ms <= (int64_t)pol->pass_every_s * 1000))
		return 0;
	int64_t min_ttl;
	int rc = fb_retention_min_ttl_ms(call->txn, pol, &min_ttl);
	if (rc != 0)
		return rc;
	if (min_ttl == 0) /* everything is kept (the default): nothing to write */
		return 0;
	p->cursor = 1;
	p->horizon_ms = call->now_ms - min_ttl;
	*run = true;
	return 0;
}

/* One slice of the pass: up to pol->expire_per_tick records examined. */
static int s_slice(trc_call_t *call, const fb_retention_t *pol, pass_t *p, size_t *deleted)
{
	trc_txn_t *txn = call->txn;
	doomed_t *doomed = trc_arena_alloc(call->arena, sizeof(doomed_t) * pol->expire_per_tick);
	if (doomed == NULL)
		return TRC_ENOMEM;
	size_t n = 0, seen = 0;
	bool end = true;
	fb_ret_memo_t memo = { 0 };
	trc_dbkey_t lo;
	trc_dbkey_init(&lo);
	trc_dbkey_be64(&lo, p->cursor);
	trc_iter_t it;
	/* deletions wait until the walk is over: the cursor stays on its page */
	int rc = trc_iter_begin(txn, trc_txn_db(txn, FB_DB_RECORDS), &it, lo.buf, lo.len, NULL, 0,
				false);
	while (rc == 0 && trc_iter_next(&it)) {
		if (seen == pol->expire_per_tick) {
			end = false;
			p->cursor = trc_be64_get(it.key.mv_data);
			break;
		}
		seen++;
		Traction__V1__FeedbackRecord *r =
			traction__v1__feedback_record__unpack(NULL, it.val.mv_size, it.val.mv_data);
		if (r == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		int64_t ttl;
		bool held;
		/* past the horizon, the rest came later; but one received after
		 * now came before a clock stepped back: passed over, not an end */
		bool young = r->received_ms >= p->horizon_ms;
		bool future = r->received_ms > call->now_ms;
		if (!young)
			rc = fb_retention_ttl_ms(txn, pol, &memo, r, &ttl, &held);
		if (rc == 0 && !young && !held && ttl > 0 && r->received_ms + ttl <= call->now_ms)
			rc = s_doom(call, r, &doomed[n++]);
		traction__v1__feedback_record__free_unpacked(r, NULL);
		if (young && !future)
			break;
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	if (rc == 0 && n > 0)
		rc = s_delete(call, pol, doomed, n);
	if (rc == 0 && n > 0)
		rc = s_keep_next_id(txn, doomed[n - 1].id + 1);
	if (rc == 0 && end) {
		trc_debug("retention: pass ended at horizon %lld", (long long)p->horizon_ms);
		p->cursor = 0;
		p->rest_ms = call->now_ms + (int64_t)pol->pass_every_s * 1000;
	}
	if (deleted != NULL)
		*deleted += n;
	return rc != 0 ? rc : s_pass_store(txn, p);
}

/* Keys that outlived their records, whose time is up: in the order their
 * records came (idem_late holds when), so the walk stops at the first not
 * yet due. */
static int s_late_keys(trc_call_t *call, const fb_retention_t *pol)
{
	trc_txn_t *txn = call->txn;
	const trc_db_t *late = trc_txn_db(txn, FB_DB_IDEM_LATE), *idem = trc_txn_db(txn, FB_DB_IDEM);
	typedef struct {
		uint64_t id;
		trc_dbkey_t key;
	} due_t;
	size_t cap = pol->expire_per_tick < 64 ? pol->expire_per_tick : 64, n = 0;
	/* the TTL now: a shorter one configured applies to the keys noted before */
	int64_t idem_ttl = (int64_t)pol->idempotency_days * pol->day_s * 1000;
	due_t *due = trc_arena_alloc(call->arena, sizeof(due_t) * cap);
	if (due == NULL)
		return TRC_ENOMEM;
	trc_iter_t it;
	int rc = trc_iter_begin(txn, late, &it, NULL, 0, NULL, 0, false);
	while (rc == 0 && n < cap && trc_iter_next(&it)) {
		if (it.key.mv_size != 8 || it.val.mv_size < 8 || it.val.mv_size - 8 > TRC_DBKEY_MAX) {
			rc = TRC_ECORRUPT;
			break;
		}
		if ((int64_t)trc_be64_get(it.val.mv_data) + idem_ttl > call->now_ms)
			break;
		due[n].id = trc_be64_get(it.key.mv_data);
		trc_dbkey_init(&due[n].key);
		trc_dbkey_raw(&due[n].key, (const uint8_t *)it.val.mv_data + 8, it.val.mv_size - 8);
		n++;
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t k[8];
		MDB_val v;
		trc_be64_put(k, due[i].id);
		rc = trc_txn_get(txn, idem, due[i].key.buf, due[i].key.len, &v);
		if (rc == 0 && v.mv_size >= 8 && trc_be64_get(v.mv_data) == due[i].id)
			rc = trc_txn_del(txn, idem, due[i].key.buf, due[i].key.len);
		if (rc == 0 || rc == TRC_ENOENT)
			rc = trc_txn_del(txn, late, k, 8);
	}
	return rc;
}

bool fb_expire_due(trc_call_t *call, const fb_retention_t *pol)
{
	pass_t p;
	int64_t min_ttl = 0;
	if (s_pass_load(call->txn, &p) != 0 || p.cursor != 0)
		return true;
	bool resting = call->now_ms < p.rest_ms &&
		       p.rest_ms - call->now_ms <= (int64_t)pol->pass_every_s * 1000;
	if (!resting && (fb_retention_min_ttl_ms(call->txn, pol, &min_ttl) != 0 || min_ttl != 0))
		return true;
	/* the oldest idempotency key noted (s_late_keys): past its days? */
	trc_iter_t it;
	bool due = false;
	int rc = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_IDEM_LATE), &it, NULL, 0,
				NULL, 0, false);
	if (rc == 0 && trc_iter_next(&it))
		due = it.val.mv_size < 8 ||
		      (int64_t)trc_be64_get(it.val.mv_data) +
				      (int64_t)pol->idempotency_days * pol->day_s * 1000 <=
			      call->now_ms;
	trc_iter_end(&it);
	return due || rc != 0;
}

int fb_expire_tick(trc_call_t *call, const fb_retention_t *pol, size_t *deleted)
{
	pass_t p;
	bool run;
	int rc = s_pass_load(call->txn, &p);
	if (rc == 0)
		rc = s_begin(call, pol, &p, &run);
	if (rc == 0 && run)
		rc = s_slice(call, pol, &p, deleted);
	return rc != 0 ? rc : s_late_keys(call, pol);
}
