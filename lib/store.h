/*
 * The LMDB store of one daemon: one environment in its own directory,
 * named databases declared up front, a schema version key, and
 * transactions with a sticky error (after the first failure every call on
 * the transaction does nothing and commit aborts), after Knot DNS's
 * knot_lmdb_txn_t. Keys that carry numbers are big-endian, so LMDB's order
 * is the natural one.
 */
#ifndef TRC_STORE_H
#define TRC_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct trc_store trc_store_t;

/* Databases every store has, whatever its daemon declares. */
#define TRC_DB_META "meta"       /* schema version and other singletons */
#define TRC_DB_EVENTS "events"   /* be64 seq -> packed traction.v1.Event */
#define TRC_DB_POSITIONS "positions" /* source name -> be64 applied seq */

/* Opens (creating if needed) the environment in dir with map_size bytes
 * and the named databases in dbs (NULL-terminated; the three above are
 * added). A store of another schema version is refused with TRC_ECORRUPT;
 * a new one is stamped with schema_version. */
int trc_store_open(trc_store_t **store_p, const char *dir, size_t map_size,
		   const char *const *dbs, uint32_t schema_version);

struct trc_txn;
/* Brings a store of schema version `from` up to the daemon's, in the
 * transaction that opens it (so an upgrade is all or nothing). */
typedef int (*trc_migrate_fn)(struct trc_txn *txn, uint32_t from);

/* trc_store_open, and a store of an older schema version is upgraded by
 * migrate (NULL: refused like any other version). */
int trc_store_open_migrate(trc_store_t **store_p, const char *dir, size_t map_size,
			   const char *const *dbs, uint32_t schema_version,
			   trc_migrate_fn migrate);
void trc_store_destroy(trc_store_t **store_p);

/* The handle of a named database; (MDB_dbi)-1 if it was not declared. */
MDB_dbi trc_store_db(const trc_store_t *store, const char *name);
MDB_env *trc_store_env(trc_store_t *store);

/* Writes zeros into data.mdb ahead of LMDB's last page, up to `pieces`
 * pieces, so that the commits that follow overwrite the file rather than
 * extend it. An extending write makes the commit's fdatasync write the
 * file's size and allocation too (the inode, or the file system's
 * journal); an overwrite flushes only the data (bench_limits, one page
 * and fdatasync: p50 ~189 us appended, ~125 us into zeros written ahead;
 * space from fallocate is no better than appending, ext4 converts its
 * unwritten extents at the commit; docs/performance.md). LMDB never reads
 * past its last page, so the zeros are not part of the store; a copy
 * (mdb_copy) leaves them out. Call it between write transactions (it
 * takes LMDB's writer lock): a daemon fills the margin once when it
 * starts and writes one piece after a commit when the store has grown
 * into it. 0, or a trc_err from the write (nothing is lost: LMDB extends
 * the file itself as before). The file ends at most TRC_STORE_AHEAD plus
 * a piece past the last page, and never past the map size. */
#define TRC_STORE_AHEAD (2u << 20)
#define TRC_STORE_AHEAD_PIECE (256u << 10)
int trc_store_write_ahead(trc_store_t *store, unsigned pieces);
/* The same for an environment opened without trc_store (the benchmarks'
 * bare loop); *end is the caller's memory of where the zeros end (start
 * with 0). */
int trc_env_write_ahead(MDB_env *env, uint64_t *end, unsigned pieces);
size_t trc_store_map_size(const trc_store_t *store);

typedef struct trc_txn {
	trc_store_t *store;
	MDB_txn *txn;
	int err;            /* sticky: the first failure, as a trc_err */
	bool write;
	bool nested;
} trc_txn_t;

int trc_txn_begin(trc_store_t *store, trc_txn_t *txn, bool write);
/* A child of a write transaction: its writes vanish with trc_txn_abort,
 * and join the parent with trc_txn_commit. */
int trc_txn_begin_nested(trc_txn_t *parent, trc_txn_t *child);
/* The snapshot a read transaction sees (LMDB's transaction id): every
 * commit makes a new one, so state derived from a snapshot is current as
 * long as a later read sees the same id. */
uint64_t trc_txn_snapshot(const trc_txn_t *txn);
/* Commits (durably, for a top-level write transaction) unless an error is
 * sticky, in which case it aborts and returns that error. */
int trc_txn_commit(trc_txn_t *txn);
void trc_txn_abort(trc_txn_t *txn);
/* Records err as the transaction's error if it has none yet; returns err. */
int trc_txn_fail(trc_txn_t *txn, int err);

/* Get: 0 and *val, TRC_ENOENT (not sticky), or a sticky error. */
int trc_txn_get(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, MDB_val *val);
int trc_txn_put(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const void *val, size_t vlen, unsigned flags);
/* Puts only if the key is absent: 0, or TRC_EEXIST (not sticky) with the
 * value that is there in *found; one descent of the tree where a get and
 * a put take two. */
int trc_txn_insert(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, const void *val,
		   size_t vlen, MDB_val *found);
/* Reserves vlen bytes for the value and returns where to write them.
 * flags: 0, or MDB_APPEND for a key known to sort after every key of db
 * (LMDB then fills pages instead of splitting them in half: a database of
 * increasing ids stays about half the size). */
void *trc_txn_reserve(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, size_t vlen,
		      unsigned flags);
/* Delete: 0, TRC_ENOENT (not sticky), or a sticky error. */
int trc_txn_del(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen);

/* The longest prefix trc_iter_prefix takes (LMDB's keys are at most 511). */
#define TRC_PREFIX_MAX 511

/* Iteration over keys in [from, to) in order (to NULL: to the end) or,
 * with reverse, from the last key below `to` down to `from`. */
typedef struct {
	trc_txn_t *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	const void *lo;
	size_t lolen;
	const void *hi;
	size_t hilen;
	bool started;
	bool reverse;
	char bounds[2][TRC_PREFIX_MAX + 1]; /* trc_iter_prefix's lo and hi */
} trc_iter_t;

int trc_iter_begin(trc_txn_t *txn, MDB_dbi db, trc_iter_t *it, const void *from,
		   size_t fromlen, const void *to, size_t tolen, bool reverse);
/* Iteration over the keys "prefix\0...", i.e. [prefix "\0", prefix "\1"):
 * every key whose first plen bytes are prefix, followed by a NUL (the
 * separator of trc_key2/trc_key3 keys). The bounds live in the iterator. */
int trc_iter_prefix(trc_txn_t *txn, MDB_dbi db, trc_iter_t *it, const void *prefix, size_t plen,
		    bool reverse);
/* Advances; true while it->key/it->val hold the next record. */
bool trc_iter_next(trc_iter_t *it);
void trc_iter_end(trc_iter_t *it);

/* The last key of a database (for sequences): 0 and *key, or TRC_ENOENT. */
int trc_txn_last(trc_txn_t *txn, MDB_dbi db, MDB_val *key, MDB_val *val);

#endif
