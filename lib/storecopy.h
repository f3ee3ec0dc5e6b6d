/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A copy of a daemon's store as one read transaction sees it, and what a
 * copy holds: the two ends of an online backup (docs/operations.md,
 * "Backup and restore"). The daemon writes the copy (lib/svc_backup.c);
 * tractionctl verifies and restores it, offline, with no daemon's table
 * of databases: a copy says what it holds (its named databases, its
 * schema version, its event head and consumer positions, the store's own
 * databases of store.h).
 *
 * Only LMDB and the C library: tractionctl compiles it in, as it does
 * blocks.c. So the codes it returns are LMDB's or errno values (both
 * mdb_strerror's), not lib/error.h's; the daemon maps them
 * (trc_err_from_mdb).
 */
#ifndef TRC_STORECOPY_H
#define TRC_STORECOPY_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the databases dbis[0..n) (named names[i]) as the read
 * transaction src sees them into a fresh LMDB environment, the single
 * file path (no lock file, not synced: it is read back at once, and a
 * copy cut short by a crash is removed at the next start). Each database
 * is written in key order with MDB_APPEND, so its pages are full and the
 * copy holds no free pages: a compacted copy, as mdb_copy -c makes, but
 * of this transaction's snapshot (LMDB 0.9's mdb_env_copy takes a
 * snapshot of its own, whenever it starts). map_size: the source's.
 * cancel (may be NULL), set by another thread, stops it early (ECANCELED).
 * 0, or an LMDB code or errno value. */
int trc_storecopy_write(MDB_txn *src, const MDB_dbi *dbis, const char *const *names, size_t n,
			const char *path, size_t map_size, const int *cancel);

/* The SHA-256 of a file, as 64 hex digits, and its size. 0 or errno. */
/* LMDB's named databases an environment of ours is opened with: a
 * store's own and its daemon's (store.c), and so a copy of it. */
#define TRC_STORE_MAX_DBS 48

#define TRC_SHA256_HEX 65
int trc_storecopy_sha256(const char *path, char hex[TRC_SHA256_HEX], uint64_t *size);

typedef struct {
	char *name;
	uint64_t entries;
} trc_storecopy_db_t;

typedef struct {
	char *source;
	uint64_t seq;
} trc_storecopy_pos_t;

/* What a copy holds, read back by opening it read-only and walking every
 * record of every named database (so a page LMDB cannot follow shows up
 * here, not at a daemon's start). */
typedef struct {
	uint32_t schema_version;     /* meta's schema_version (0: none) */
	uint64_t event_head;         /* the last key of events (0: none) */
	uint64_t raft_applied;       /* meta's raft_applied: a replica's last entry (0: none) */
	trc_storecopy_db_t *dbs;     /* in LMDB's (name) order */
	size_t ndbs;
	trc_storecopy_pos_t *pos;    /* positions: source -> seq, in source order */
	size_t npos;
	char why[256];               /* what was wrong, when it returns non-zero */
} trc_storecopy_info_t;

/* Opens the copy in the file path read-only and reads what it holds into
 * info (freed with trc_storecopy_info_free, whatever it returned): 0, or
 * an LMDB code or errno value with info->why saying what. Open only a
 * file whose digest was checked first: LMDB trusts its pages. */
int trc_storecopy_inspect(const char *path, trc_storecopy_info_t *info);
void trc_storecopy_info_free(trc_storecopy_info_t *info);

/* trc_storecopy_inspect, and the digest of the records the store holds:
 * SHA-256 over every named database in name order, each database's name
 * and then each record in key order, key and value, every piece after
 * its length; as 64 hex digits in hex. Two stores holding the same
 * records have the same digest, whatever their pages (a replica's store
 * and its leader's: docs/architecture.md, "Entries"). path may also be a
 * live store's data.mdb once its daemon has closed it. */
int trc_storecopy_digest(const char *path, trc_storecopy_info_t *info, char hex[TRC_SHA256_HEX]);
/* The same of the store in dir while its daemon has it open and writes
 * (a test comparing running replicas): a reader in its lock file. */
int trc_storecopy_digest_live(const char *dir, trc_storecopy_info_t *info,
			      char hex[TRC_SHA256_HEX]);

#endif
