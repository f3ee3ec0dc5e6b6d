/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LMDB store: databases declared once in a table and opened as
 * handles (a table that disagrees with its enum is refused), records typed
 * by their database, sticky errors, nested transactions, range iteration in
 * both directions, the schema version, map full as an error (not a
 * crash) after which reads still work, and the file written ahead of
 * LMDB's last page without touching the store.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "traction/v1/supply.pb-c.h"

static const char *s_dir;

enum { DB_THINGS, DB_COUNT };
static const trc_db_decl_t s_decl[DB_COUNT] = { [DB_THINGS] = { "things", "k -> v", NULL } };
static const trc_dbs_t s_dbs = TRC_DBS(s_decl);

TEST(open_put_get_commit)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/a", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 3), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	CHECK(db != NULL);
	CHECK_STR(trc_db_name(db), "things");
	CHECK(trc_store_db(st, DB_COUNT) == NULL); /* past the table: no handle */

	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "k1", 2, "v1", 2, 0), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "k1", 2, "v2", 2, MDB_NOOVERWRITE), TRC_EEXIST);
	CHECK_EQ_INT(txn.err, 0); /* an expected EEXIST is not sticky */
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "k1", 2, &v), 0);
	CHECK(v.mv_size == 2 && memcmp(v.mv_data, "v1", 2) == 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "zz", 2, &v), TRC_ENOENT);
	CHECK_EQ_INT(txn.err, 0);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
	CHECK(st == NULL);

	/* Another schema version is refused. */
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 4), TRC_ECORRUPT);
	CHECK(st == NULL);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 3), 0);
	trc_store_destroy(&st);
}

TEST(sticky_error_aborts_commit)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/b", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 1), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "a", 1, "1", 1, 0), 0);
	/* An empty key is refused by LMDB: the error sticks. */
	CHECK(trc_txn_put(&txn, db, "", 0, "x", 1, 0) != 0);
	int err = txn.err;
	CHECK(err != 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "b", 1, "2", 1, 0), err);
	MDB_val v;
	CHECK_EQ_INT(trc_txn_get(&txn, db, "a", 1, &v), err);
	CHECK_EQ_INT(trc_txn_commit(&txn), err);

	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "a", 1, &v), TRC_ENOENT); /* nothing committed */
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

TEST(nested_abort_keeps_parent)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/c", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 1), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn, child;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_begin_nested(&txn, &child), 0);
	CHECK_EQ_INT(trc_txn_put(&child, db, "kept", 4, "1", 1, 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&child), 0);
	CHECK_EQ_INT(trc_txn_begin_nested(&txn, &child), 0);
	CHECK_EQ_INT(trc_txn_put(&child, db, "gone", 4, "1", 1, 0), 0);
	trc_txn_abort(&child);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "kept", 4, &v), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "gone", 4, &v), TRC_ENOENT);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

TEST(iteration_ranges)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/d", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 1), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	for (uint64_t i = 1; i <= 300; i++) {
		uint8_t k[8];
		trc_be64_put(k, i * 10); /* big-endian: LMDB order is numeric order */
		CHECK_EQ_INT(trc_txn_put(&txn, db, k, 8, &i, sizeof(i), 0), 0);
	}
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	uint8_t lo[8], hi[8];
	trc_be64_put(lo, 255);
	trc_be64_put(hi, 300);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	trc_iter_t it;
	uint64_t seen[8];
	int n = 0;
	CHECK_EQ_INT(trc_iter_begin(&txn, db, &it, lo, 8, hi, 8, false), 0);
	while (trc_iter_next(&it) && n < 8)
		seen[n++] = trc_be64_get(it.key.mv_data);
	trc_iter_end(&it);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(seen[0], 260);
	CHECK_EQ_INT(seen[3], 290);

	n = 0;
	CHECK_EQ_INT(trc_iter_begin(&txn, db, &it, lo, 8, hi, 8, true), 0);
	while (trc_iter_next(&it) && n < 8)
		seen[n++] = trc_be64_get(it.key.mv_data);
	trc_iter_end(&it);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(seen[0], 290);
	CHECK_EQ_INT(seen[3], 260);

	/* reverse from the very end */
	n = 0;
	CHECK_EQ_INT(trc_iter_begin(&txn, db, &it, NULL, 0, NULL, 0, true), 0);
	while (trc_iter_next(&it) && n < 2)
		seen[n++] = trc_be64_get(it.key.mv_data);
	trc_iter_end(&it);
	CHECK_EQ_INT(seen[0], 3000);
	CHECK_EQ_INT(seen[1], 2990);

	MDB_val k;
	CHECK_EQ_INT(trc_txn_last(&txn, db, &k, NULL), 0);
	CHECK_EQ_INT(trc_be64_get(k.mv_data), 3000);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

/* trc_iter_prefix: the keys "prefix\0..." and no others, both ways. */
TEST(iteration_by_prefix)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/p", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 1), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	/* "ab" alone, "ab\0x", "ab\0y", "abc\0z", "aa\0q" */
	static const struct { const char *k; size_t len; } keys[] = {
		{ "ab", 2 }, { "ab\0x", 4 }, { "ab\0y", 4 }, { "abc\0z", 5 }, { "aa\0q", 4 }
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK_EQ_INT(trc_txn_put(&txn, db, keys[i].k, keys[i].len, "", 0, 0), 0);
	trc_iter_t it;
	char seen[4];
	int n = 0;
	CHECK_EQ_INT(trc_iter_prefix(&txn, db, &it, "ab", 2, false), 0);
	while (trc_iter_next(&it) && n < 4)
		seen[n++] = ((const char *)it.key.mv_data)[it.key.mv_size - 1];
	trc_iter_end(&it);
	CHECK_EQ_INT(n, 2);
	CHECK(seen[0] == 'x' && seen[1] == 'y');
	n = 0;
	CHECK_EQ_INT(trc_iter_prefix(&txn, db, &it, "ab", 2, true), 0);
	while (trc_iter_next(&it) && n < 4)
		seen[n++] = ((const char *)it.key.mv_data)[it.key.mv_size - 1];
	trc_iter_end(&it);
	CHECK_EQ_INT(n, 2);
	CHECK(seen[0] == 'y' && seen[1] == 'x');
	static char longp[TRC_PREFIX_MAX + 1];
	CHECK_EQ_INT(trc_iter_prefix(&txn, db, &it, longp, sizeof(longp), false), TRC_EINVAL);
	CHECK(!trc_iter_next(&it));
	trc_iter_end(&it);
	/* the longest prefix: its bounds are keys LMDB takes */
	memset(longp, 'p', sizeof(longp));
	CHECK_EQ_INT(trc_txn_put(&txn, db, longp, TRC_DBKEY_MAX, "", 0, 0), 0);
	longp[TRC_PREFIX_MAX] = '\0';
	CHECK_EQ_INT(trc_txn_put(&txn, db, longp, TRC_DBKEY_MAX, "", 0, 0), 0);
	CHECK_EQ_INT(trc_iter_prefix(&txn, db, &it, longp, TRC_PREFIX_MAX, false), 0);
	CHECK(trc_iter_next(&it) && it.key.mv_size == TRC_DBKEY_MAX);
	CHECK(((const char *)it.key.mv_data)[TRC_PREFIX_MAX] == '\0');
	CHECK(!trc_iter_next(&it));
	trc_iter_end(&it);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

TEST(map_full_is_an_error_and_reads_go_on)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/e", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 1 << 20, &s_dbs, 1), 0); /* 1 MiB map */
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "first", 5, "x", 1, 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);

	static uint8_t blob[4096];
	int rc = 0;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	for (uint64_t i = 0; i < 10000 && rc == 0; i++) {
		uint8_t k[8];
		trc_be64_put(k, i);
		rc = trc_txn_put(&txn, db, k, 8, blob, sizeof(blob), 0);
	}
	CHECK_EQ_INT(rc, TRC_ENOSPC);
	CHECK_EQ_INT(trc_txn_commit(&txn), TRC_ENOSPC);

	MDB_val v;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "first", 5, &v), 0);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);

	/* A bigger map resumes writes with nothing lost. */
	CHECK_EQ_INT(trc_store_open(&st, path, 64 << 20, &s_dbs, 1), 0);
	db = trc_store_db(st, DB_THINGS);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, db, "second", 6, blob, sizeof(blob), 0), 0);
	CHECK_EQ_INT(trc_txn_get(&txn, db, "first", 5, &v), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	trc_store_destroy(&st);
}

static uint64_t s_file_size(const char *dir)
{
	char p[200];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static uint64_t s_used(trc_store_t *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	mdb_env_info(trc_store_env(st), &info);
	mdb_env_stat(trc_store_env(st), &ms);
	return ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
}

static void s_value(uint8_t *v, size_t n, uint64_t i)
{
	for (size_t j = 0; j < n; j++)
		v[j] = (uint8_t)(i * 31 + j + 1);
}

TEST(write_ahead_leaves_the_store_alone)
{
	enum { N = 3000, VLEN = 1000 };
	trc_store_t *st = NULL;
	char path[128], copy[160];
	snprintf(path, sizeof(path), "%s/ahead", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 64 << 20, &s_dbs, 1), 0);
	const trc_db_t *db = trc_store_db(st, DB_THINGS);
	uint8_t v[VLEN];
	bool was_ahead = false;
	for (uint64_t i = 0; i < N; i += 10) {
		trc_txn_t txn;
		CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
		for (uint64_t j = i; j < i + 10; j++) {
			uint8_t k[8];
			trc_be64_put(k, j);
			s_value(v, sizeof(v), j);
			CHECK_EQ_INT(trc_txn_put(&txn, db, k, 8, v, sizeof(v), MDB_APPEND), 0);
		}
		CHECK_EQ_INT(trc_txn_commit(&txn), 0);
		CHECK_EQ_INT(trc_store_write_ahead(st, 1), 0);
		uint64_t size = s_file_size(path), used = s_used(st);
		CHECK(size >= used);
		CHECK(size <= used + TRC_STORE_AHEAD + TRC_STORE_AHEAD_PIECE);
		was_ahead |= size >= used + TRC_STORE_AHEAD;
	}
	CHECK(was_ahead); /* the commits overwrote zeros, not the file's end */
	trc_store_destroy(&st);

	/* Every value reads back after a reopen; a copy leaves the zeros out. */
	CHECK_EQ_INT(trc_store_open(&st, path, 64 << 20, &s_dbs, 1), 0);
	db = trc_store_db(st, DB_THINGS);
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	for (uint64_t i = 0; i < N; i++) {
		uint8_t k[8];
		MDB_val got;
		trc_be64_put(k, i);
		s_value(v, sizeof(v), i);
		CHECK_EQ_INT(trc_txn_get(&txn, db, k, 8, &got), 0);
		CHECK(got.mv_size == VLEN && memcmp(got.mv_data, v, VLEN) == 0);
	}
	trc_txn_abort(&txn);
	snprintf(copy, sizeof(copy), "%s/ahead-copy", s_dir);
	CHECK_EQ_INT(trc_mkdir_p(copy), 0);
	CHECK_EQ_INT(mdb_env_copy(trc_store_env(st), copy), 0);
	CHECK(s_file_size(copy) <= s_used(st));
	trc_store_destroy(&st);

	/* Never past the map: a 1 MiB store is not written ahead to 2 MiB. */
	snprintf(path, sizeof(path), "%s/ahead-small", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 1 << 20, &s_dbs, 1), 0);
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(trc_store_write_ahead(st, 1), 0);
	CHECK(s_file_size(path) <= 1 << 20);
	trc_store_destroy(&st);
}

TEST(databases_declared_once)
{
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/decl", s_dir);
	/* an entry the designated initialisers left out: enum and table disagree */
	static const trc_db_decl_t gap[2] = { [1] = { "b", "k -> v", NULL } };
	static const trc_dbs_t gap_dbs = TRC_DBS(gap);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &gap_dbs, 1), TRC_EINVAL);
	CHECK(st == NULL);
	/* a name twice, or one of the store's own */
	static const trc_db_decl_t twice[2] = { { "a", "k -> v", NULL }, { "a", "k -> v", NULL } };
	static const trc_dbs_t twice_dbs = TRC_DBS(twice);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &twice_dbs, 1), TRC_EINVAL);
	static const trc_db_decl_t theirs[1] = { { "events", "k -> v", NULL } };
	static const trc_dbs_t theirs_dbs = TRC_DBS(theirs);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &theirs_dbs, 1), TRC_EINVAL);
	/* more than LMDB is told to hold */
	static trc_db_decl_t many[64]; /* past MAX_DBS (48) of store.c */
	static char names[64][8];
	for (int i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "db%d", i);
		many[i] = (trc_db_decl_t){ names[i], "k -> v", NULL };
	}
	trc_dbs_t many_dbs = { many, 64 };
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &many_dbs, 1), TRC_EINVAL);
	CHECK(st == NULL);

	/* the handles: the daemon's by its enum, the store's own beside them */
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &s_dbs, 1), 0);
	CHECK_STR(trc_db_name(trc_store_db(st, DB_THINGS)), "things");
	CHECK_STR(trc_db_name(trc_store_sysdb(st, TRC_SYSDB_META)), "meta");
	CHECK_STR(trc_db_name(trc_store_sysdb(st, TRC_SYSDB_EVENTS)), "events");
	CHECK_STR(trc_db_name(trc_store_sysdb(st, TRC_SYSDB_POSITIONS)), "positions");
	CHECK(trc_store_sysdb(st, TRC_SYSDB_COUNT) == NULL);
	/* an index past the table is a bug: every call refuses it, stickily */
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK(trc_txn_db(&txn, DB_THINGS) == trc_store_db(st, DB_THINGS));
	CHECK_EQ_INT(trc_txn_put(&txn, trc_txn_db(&txn, DB_COUNT), "k", 1, "v", 1, 0),
		     TRC_EINTERNAL);
	CHECK_EQ_INT(txn.err, TRC_EINTERNAL);
	CHECK_EQ_INT(trc_txn_commit(&txn), TRC_EINTERNAL);
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	trc_iter_t it;
	CHECK_EQ_INT(trc_iter_begin(&txn, NULL, &it, NULL, 0, NULL, 0, false), TRC_EINTERNAL);
	CHECK(!trc_iter_next(&it));
	trc_iter_end(&it);
	trc_txn_abort(&txn);
	trc_store_destroy(&st);
}

TEST(records_are_typed_by_their_database)
{
	enum { T_SUPPLIES, T_RAW, T_COUNT };
	static const trc_db_decl_t decl[T_COUNT] = {
		[T_SUPPLIES] = { "supplies", "id -> Supply", &traction__v1__supply__descriptor },
		[T_RAW] = { "raw", "k -> bytes", NULL },
	};
	static const trc_dbs_t dbs = TRC_DBS(decl);
	trc_store_t *st = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/typed", s_dir);
	CHECK_EQ_INT(trc_store_open(&st, path, 8 << 20, &dbs, 1), 0);
	const trc_db_t *sup = trc_store_db(st, T_SUPPLIES), *raw = trc_store_db(st, T_RAW);
	CHECK(trc_db_record(sup) == &traction__v1__supply__descriptor);
	CHECK(trc_db_record(raw) == NULL);
	trc_arena_t *arena = trc_arena_new();
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	s.id = (char *)"s-1";
	p.id = (char *)"p-1";

	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_rec_put(&txn, sup, "s-1", 3, &s.base), 0);
	CHECK_EQ_INT(trc_txn_put(&txn, sup, "bad", 3, "\xff\xff", 2, 0), 0);
	CHECK_EQ_INT(trc_txn_commit(&txn), 0);
	/* another message into it: refused before anything is written */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_rec_put(&txn, sup, "p-1", 3, &p.base), TRC_EINTERNAL);
	CHECK_EQ_INT(txn.err, TRC_EINTERNAL);
	trc_txn_abort(&txn);
	/* a record into, or out of, a database of raw values: the same */
	CHECK_EQ_INT(trc_txn_begin(st, &txn, true), 0);
	CHECK_EQ_INT(trc_rec_put(&txn, raw, "s-1", 3, &s.base), TRC_EINTERNAL);
	trc_txn_abort(&txn);

	void *out = NULL;
	CHECK_EQ_INT(trc_txn_begin(st, &txn, false), 0);
	CHECK_EQ_INT(trc_rec_get(&txn, raw, "s-1", 3, arena, &out), TRC_EINTERNAL);
	CHECK_EQ_INT(txn.err, 0); /* a read wrote nothing: not sticky */
	CHECK_EQ_INT(trc_rec_get(&txn, sup, "p-1", 3, arena, &out), TRC_ENOENT);
	CHECK_EQ_INT(trc_rec_get(&txn, sup, "bad", 3, arena, &out), TRC_ECORRUPT);
	CHECK_EQ_INT(trc_rec_get(&txn, sup, "s-1", 3, arena, &out), 0);
	CHECK_STR(((Traction__V1__Supply *)out)->id, "s-1");
	trc_iter_t it;
	CHECK_EQ_INT(trc_iter_begin(&txn, sup, &it, "s", 1, NULL, 0, false), 0);
	CHECK(trc_iter_next(&it));
	CHECK_EQ_INT(trc_iter_rec(&it, arena, &out), 0);
	CHECK_STR(((Traction__V1__Supply *)out)->id, "s-1");
	trc_iter_end(&it);
	trc_txn_abort(&txn);
	trc_arena_destroy(&arena);
	trc_store_destroy(&st);
}

int main(void)
{
	s_dir = check_tmpdir("trc-store");
	RUN(open_put_get_commit);
	RUN(databases_declared_once);
	RUN(records_are_typed_by_their_database);
	RUN(sticky_error_aborts_commit);
	RUN(nested_abort_keeps_parent);
	RUN(iteration_ranges);
	RUN(iteration_by_prefix);
	RUN(map_full_is_an_error_and_reads_go_on);
	RUN(write_ahead_leaves_the_store_alone);
	DONE();
}
