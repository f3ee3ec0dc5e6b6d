/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The record indexes by supply and by scenario hold runs, not records:
 * "key\0 be64 first" -> be64 last, for record ids first..last, all of that
 * key. Ids only grow and a site's batch is mostly one supply and one
 * scenario, so a batch of a thousand records adds one entry to each index
 * instead of a thousand: two B-tree inserts per record were a fifth of
 * publish's time. Records of keys that interleave make runs of one, which
 * is what the index held before. An entry with an empty value (a store
 * written before runs) is a run of one.
 *
 * A batch keeps its runs open in memory and writes them when they end and
 * at batch_end, in the batch's transaction; a run that continues the last
 * one in the store extends it.
 */
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "feedbackd.h"
#include "util.h"

enum { OPEN_MAX = 16 };

static const unsigned s_dbs[2] = { FB_DB_BY_SUPPLY, FB_DB_BY_SCENARIO };

typedef struct {
	fb_index_t index;
	char id[TRC_SLUG_MAX + 1];   /* the supply or scenario: the index's key */
	uint64_t first, last;
} run_t;

struct fb_runs {
	run_t open[OPEN_MAX];
	size_t n;
};

fb_runs_t *fb_runs_new(void)
{
	return calloc(1, sizeof(fb_runs_t));
}

void fb_runs_destroy(fb_runs_t **rs)
{
	if (rs != NULL) {
		free(*rs);
		*rs = NULL;
	}
}

void fb_runs_clear(fb_runs_t *rs)
{
	rs->n = 0;
}

/* The key of key's run that starts at id: (key, be64 id). */
static void s_run_key(trc_dbkey_t *k, const char *key, uint64_t id)
{
	trc_dbkey_init(k);
	trc_dbkey_str(k, key);
	trc_dbkey_be64(k, id);
}

/* The run an entry of the index is: false if its key is not (key, be64
 * first). */
static bool s_decode(const trc_iter_t *it, uint64_t *first, uint64_t *last)
{
	trc_dbsplit_t sp;
	size_t l;
	trc_dbsplit_init(&sp, &it->key);
	trc_dbsplit_str(&sp, &l);
	*first = trc_dbsplit_be64(&sp);
	*last = it->val.mv_size == 8 ? trc_be64_get(it->val.mv_data) : *first;
	return trc_dbsplit_done(&sp);
}

/* The last run of key starting at or before id: 0 with it, 1 if there is
 * none, or an error. */
static int s_run_at_or_before(trc_txn_t *txn, const trc_db_t *db, const char *key, uint64_t id,
			      uint64_t *first, uint64_t *last)
{
	trc_dbkey_t lo, hi;
	s_run_key(&hi, key, id == UINT64_MAX ? id : id + 1);
	trc_dbkey_of(&lo, key);
	trc_dbkey_sep(&lo);
	trc_iter_t it;
	int rc = trc_iter_begin(txn, db, &it, lo.buf, lo.len, hi.buf, hi.len, true);
	bool found = false;
	while (rc == 0 && !found && trc_iter_next(&it))
		found = s_decode(&it, first, last);
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	return rc != 0 ? rc : (found ? 0 : 1);
}

int fb_run_before(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id,
		  uint64_t *first, uint64_t *last)
{
	if (strlen(key) > TRC_SLUG_MAX)
		return TRC_EINVAL;
	int rc = s_run_at_or_before(txn, trc_txn_db(txn, s_dbs[index]), key, id, first, last);
	return rc == 1 ? TRC_ENOENT : rc;
}

/* The run of key that holds id, or else the first one after it: 0, or
 * TRC_ENOENT when there is none. */
int fb_run_from(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id, uint64_t *first,
		uint64_t *last)
{
	const trc_db_t *db = trc_txn_db(txn, s_dbs[index]);
	if (strlen(key) > TRC_SLUG_MAX)
		return TRC_EINVAL;
	/* the last run starting at or before id, if it holds id ... */
	int rc = s_run_at_or_before(txn, db, key, id, first, last);
	if (rc < 0 || (rc == 0 && *last >= id))
		return rc;
	/* ... or the first one after it */
	trc_dbkey_t lo, hi;
	s_run_key(&lo, key, id);
	trc_dbkey_of(&hi, key);
	trc_dbkey_past(&hi);
	trc_iter_t it;
	bool found = false;
	rc = trc_iter_begin(txn, db, &it, lo.buf, lo.len, hi.buf, hi.len, false);
	while (rc == 0 && !found && trc_iter_next(&it))
		found = s_decode(&it, first, last);
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	return rc != 0 ? rc : (found ? 0 : TRC_ENOENT);
}

static int s_write(trc_txn_t *txn, const run_t *r)
{
	uint64_t first, last, start = r->first;
	/* continuing the run before it (the last batch's, typically): extend */
	int rc = r->first > 1 ? fb_run_from(txn, r->index, r->id, r->first - 1, &first, &last)
			      : TRC_ENOENT;
	if (rc == 0 && last == r->first - 1)
		start = first;
	else if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	trc_dbkey_t k;
	uint8_t v[8];
	s_run_key(&k, r->id, start);
	trc_be64_put(v, r->last);
	return trc_txn_put(txn, trc_txn_db(txn, s_dbs[r->index]), k.buf, k.len, v, 8, 0);
}

int fb_runs_add(fb_runs_t *rs, trc_txn_t *txn, fb_index_t index, const char *key, uint64_t id)
{
	if (strlen(key) > TRC_SLUG_MAX)
		return TRC_EINVAL;
	for (size_t i = 0; i < rs->n; i++) {
		run_t *r = &rs->open[i];
		if (r->index != index || strcmp(r->id, key) != 0)
			continue;
		if (r->last + 1 == id) {
			r->last = id;
			return 0;
		}
		int rc = s_write(txn, r); /* it ended: another key's records came between */
		r->first = r->last = id;
		return rc;
	}
	int rc = 0;
	if (rs->n == OPEN_MAX) { /* many keys in one batch: write the oldest */
		rc = s_write(txn, &rs->open[0]);
		memmove(&rs->open[0], &rs->open[1], sizeof(run_t) * (OPEN_MAX - 1));
		rs->n--;
	}
	run_t *r = &rs->open[rs->n++];
	r->index = index;
	strcpy(r->id, key);
	r->first = r->last = id;
	return rc;
}

int fb_runs_flush(fb_runs_t *rs, trc_txn_t *txn)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rs->n; i++)
		rc = s_write(txn, &rs->open[i]);
	rs->n = 0;
	return rc;
}

/* The nearest record id to from, toward to (both included), that is still
 * in the records: 0 and *id, 1 if none, or an error. */
static int s_record_near(trc_txn_t *txn, uint64_t from, uint64_t to, uint64_t *id)
{
	bool back = to < from;
	trc_dbkey_t lo, hi;
	trc_dbkey_init(&lo);
	trc_dbkey_init(&hi);
	trc_dbkey_be64(&lo, back ? to : from);
	trc_dbkey_be64(&hi, (back ? from : to) + 1);
	trc_iter_t it;
	int rc = trc_iter_begin(txn, trc_txn_db(txn, FB_DB_RECORDS), &it, lo.buf, lo.len, hi.buf,
				hi.len, back);
	bool found = rc == 0 && trc_iter_next(&it) && it.key.mv_size == 8;
	if (found)
		*id = trc_be64_get(it.key.mv_data);
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	return rc != 0 ? rc : (found ? 0 : 1);
}

/* A run shrunk to the records left in it: its first and last ids those
 * of records still there, or gone when none is. */
static int s_fit(trc_txn_t *txn, const trc_db_t *db, const char *key, uint64_t first,
		 uint64_t last)
{
	uint64_t nf, nl;
	trc_dbkey_t k;
	uint8_t v[8];
	int rc = s_record_near(txn, first, last, &nf);
	if (rc < 0)
		return rc;
	s_run_key(&k, key, first);
	if (rc == 1) /* nothing of it is left */
		return trc_txn_del(txn, db, k.buf, k.len);
	if ((rc = s_record_near(txn, last, nf, &nl)) != 0)
		return rc < 0 ? rc : TRC_EINTERNAL; /* nf itself is there */
	if (nf == first && nl == last)
		return 0;
	if (nf != first && (rc = trc_txn_del(txn, db, k.buf, k.len)) != 0)
		return rc;
	s_run_key(&k, key, nf);
	trc_be64_put(v, nl);
	return trc_txn_put(txn, db, k.buf, k.len, v, 8, 0);
}

int fb_runs_trim(trc_txn_t *txn, fb_index_t index, const char *key, uint64_t lo, uint64_t hi)
{
	const trc_db_t *db = trc_txn_db(txn, s_dbs[index]);
	uint64_t first, last, pos = lo;
	for (;;) {
		int rc = fb_run_from(txn, index, key, pos, &first, &last);
		if (rc == TRC_ENOENT || (rc == 0 && first > hi))
			return 0;
		if (rc != 0 || (rc = s_fit(txn, db, key, first, last)) != 0)
			return rc;
		if (last >= hi)
			return 0;
		pos = last + 1;
	}
}
