/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LMDB store of one daemon: one environment in its own directory, its
 * databases declared once, a schema version key, and transactions with a
 * sticky error (after the first failure every call on the transaction
 * does nothing and commit aborts), after Knot DNS's knot_lmdb_txn_t.
 *
 * A daemon declares its databases in one table, indexed by an enum of its
 * own (the table's order is the enum's, not an order on disk):
 *
 *   enum { EX_DB_NOTES, EX_DB_SUPPLIES, EX_DB_COUNT };
 *   static const trc_db_decl_t s_dbs[EX_DB_COUNT] = {
 *       [EX_DB_NOTES] = { "notes", "supply, be64 seq -> Note",
 *                         &traction__example__v1__note__descriptor },
 *       [EX_DB_SUPPLIES] = { "supplies", "supply -> \"\"", NULL },
 *   };
 *   const trc_dbs_t exampled_dbs = TRC_DBS(s_dbs);
 *
 * The store opens them (and its own: meta, events, positions, audit,
 * event_keys) once, and a handler takes a handle by index, with no lookup
 * by name:
 * trc_store_db(store, EX_DB_NOTES), trc_txn_db(txn, ...), trc_call_db(call,
 * ...) (call.h). A record helper (record.h) reads the message type from
 * the handle, so no caller names it, nor can name the wrong one. Keys are
 * built and split with dbkey.h; numbers in keys are big-endian, so LMDB's
 * order is the natural one.
 */
#ifndef TRC_STORE_H
#define TRC_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbkey.h"

struct ProtobufCMessageDescriptor;

typedef struct trc_store trc_store_t;

/* One database as its daemon declares it. */
typedef struct {
	const char *name;     /* LMDB's name of it: on disk, never renamed */
	/* its keys and values in one line: the key's parts in order with a
	 * comma between them ("supply, be64 seq": a string part, then a
	 * big-endian u64, as dbkey.h writes them), "->", the value */
	const char *layout;
	/* the message each value is (record.h checks it); NULL: raw values */
	const struct ProtobufCMessageDescriptor *record;
} trc_db_decl_t;

/* A daemon's databases: decl[i] is the one its enum names i, n its
 * count. The table outlives the store. */
typedef struct {
	const trc_db_decl_t *decl;
	size_t n;
} trc_dbs_t;

/* The trc_dbs_t of a table sized by the daemon's enum count: an entry too
 * many does not compile, one missing is refused at open (no name). */
#define TRC_DBS(table) { (table), sizeof(table) / sizeof((table)[0]) }

/* The handle of an open database (resolved at open: no lookup). */
typedef struct trc_db trc_db_t;

/* The databases every store has, whatever its daemon declares (the same
 * idiom: store.c's table). */
enum {
	TRC_SYSDB_META,       /* name -> value: schema_version, the event log's floor (be64) */
	TRC_SYSDB_EVENTS,     /* be64 seq -> traction.v1.Event */
	TRC_SYSDB_POSITIONS,  /* source -> be64 applied seq */
	TRC_SYSDB_AUDIT,      /* be64 seq -> traction.v1.AuditEntry (svc_audit.c) */
	TRC_SYSDB_EVENT_KEYS, /* an event's key -> be64 seq of its newest event (evtrim.c) */
	TRC_SYSDB_COUNT
};

/* Opens (creating if needed) the environment in dir with map_size bytes,
 * the databases of dbs (may be NULL: the store's own only) and the store's
 * own. A table with an entry without a name, a name twice (or one of the
 * store's own), or more than 29 entries is refused with TRC_EINVAL
 * (logged); a store of another schema version with TRC_ECORRUPT; a new
 * one is stamped with schema_version. */
int trc_store_open(trc_store_t **store_p, const char *dir, size_t map_size,
		   const trc_dbs_t *dbs, uint32_t schema_version);

struct trc_txn;
/* Brings a store of schema version `from` up to the daemon's, in the
 * transaction that opens it (so an upgrade is all or nothing). */
typedef int (*trc_migrate_fn)(struct trc_txn *txn, uint32_t from);

/* trc_store_open, and a store of an older schema version is upgraded by
 * migrate (NULL: refused like any other version). */
int trc_store_open_migrate(trc_store_t **store_p, const char *dir, size_t map_size,
			   const trc_dbs_t *dbs, uint32_t schema_version,
			   trc_migrate_fn migrate);
void trc_store_destroy(trc_store_t **store_p);

/* The handle of the daemon's database i (its enum), of the store's own
 * database i (TRC_SYSDB_*); it lives as long as the store. An index past
 * the table is a bug: NULL, which every call below refuses with a sticky
 * TRC_EINTERNAL (logged). */
const trc_db_t *trc_store_db(const trc_store_t *store, unsigned i);
const trc_db_t *trc_store_sysdb(const trc_store_t *store, unsigned i);
/* What the handle was declared with. */
const char *trc_db_name(const trc_db_t *db);
const struct ProtobufCMessageDescriptor *trc_db_record(const trc_db_t *db);
struct trc_txn;
MDB_env *trc_store_env(trc_store_t *store);
/* For a store that another log makes durable (cluster mode: raft's,
 * svc_raft.c): each commit syncs its pages but not LMDB's meta page
 * (MDB_NOMETASYNC), one sync instead of two. The store stays whole; a
 * power cut may undo its last commit, which that log holds to give again.
 * Before any write transaction. */
int trc_store_log_backed(trc_store_t *store);
/* Every commit so far on disk, the meta page too (a log-backed store's,
 * before the log behind it may go). */
int trc_store_sync(trc_store_t *store);

/* Writes every database of the store (its own and the daemon's), as the
 * read transaction txn sees them, into a fresh compacted environment, the
 * single file path (storecopy.h: the copy of an online backup). Safe on
 * another thread than txn's opener (MDB_NOTLS) while the store serves,
 * as long as nothing else uses txn meanwhile; cancel as storecopy.h's.
 * 0 or a trc_err. */
int trc_store_copy(struct trc_txn *txn, const char *path, const int *cancel);
/* A copy's file in the state directory starts so (then its id, ".mdb"). */
#define TRC_STORE_COPY_PREFIX "backup-"
/* Removes the copies a crash (or a kill) left in dir, each said. */
void trc_store_copy_leftovers(const char *dir);
/* How many databases the store has, its own and the daemon's. */
size_t trc_store_count(const trc_store_t *store);
/* The i-th of them (i < trc_store_count): its own first (TRC_SYSDB_*),
 * then the daemon's in its table's order. */
const trc_db_t *trc_store_nth(const trc_store_t *store, size_t i);

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

/* trc_store_db of the transaction's store. */
static inline const trc_db_t *trc_txn_db(const trc_txn_t *txn, unsigned i)
{
	return trc_store_db(txn->store, i);
}

/* Get: 0 and *val, TRC_ENOENT (not sticky), or a sticky error. */
int trc_txn_get(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen, MDB_val *val);
int trc_txn_put(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		const void *val, size_t vlen, unsigned flags);
/* Puts only if the key is absent: 0, or TRC_EEXIST (not sticky) with the
 * value that is there in *found; one descent of the tree where a get and
 * a put take two. */
int trc_txn_insert(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		   const void *val, size_t vlen, MDB_val *found);
/* Reserves vlen bytes for the value and returns where to write them.
 * flags: 0, or MDB_APPEND for a key known to sort after every key of db
 * (LMDB then fills pages instead of splitting them in half: a database of
 * increasing ids stays about half the size). */
void *trc_txn_reserve(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		      size_t vlen, unsigned flags);
/* Delete: 0, TRC_ENOENT (not sticky), or a sticky error. */
int trc_txn_del(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen);
/* How many keys db holds: 0 and *n, or a sticky error. */
int trc_txn_entries(trc_txn_t *txn, const trc_db_t *db, size_t *n);

/* The longest prefix trc_iter_prefix takes: its bounds are the prefix and
 * one byte more, a key of LMDB's (dbkey.h). */
#define TRC_PREFIX_MAX (TRC_DBKEY_MAX - 1)

/* Iteration over keys in [from, to) in order (to NULL: to the end) or,
 * with reverse, from the last key below `to` down to `from`. */
typedef struct {
	trc_txn_t *txn;
	const trc_db_t *db;
	MDB_cursor *cur;
	MDB_val key, val;
	const void *lo;
	size_t lolen;
	const void *hi;
	size_t hilen;
	bool started;
	bool reverse;
	trc_dbkey_t bounds[2]; /* trc_iter_prefix's lo and hi */
} trc_iter_t;

int trc_iter_begin(trc_txn_t *txn, const trc_db_t *db, trc_iter_t *it, const void *from,
		   size_t fromlen, const void *to, size_t tolen, bool reverse);
/* Iteration over the keys "prefix\0...", i.e. [prefix "\0", prefix "\1"):
 * every key whose first plen bytes are prefix, followed by a NUL (the
 * separator after a string part, dbkey.h): a key of string parts built
 * with trc_dbkey_of names the keys that continue it. The bounds live in
 * the iterator. */
int trc_iter_prefix(trc_txn_t *txn, const trc_db_t *db, trc_iter_t *it, const void *prefix,
		    size_t plen, bool reverse);
/* Advances; true while it->key/it->val hold the next record. */
bool trc_iter_next(trc_iter_t *it);
void trc_iter_end(trc_iter_t *it);

/* The last key of a database (for sequences): 0 and *key, or TRC_ENOENT. */
int trc_txn_last(trc_txn_t *txn, const trc_db_t *db, MDB_val *key, MDB_val *val);

#endif
