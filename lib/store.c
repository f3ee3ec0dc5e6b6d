/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LMDB store: environment, the databases a daemon declares (opened
 * once into handles), schema version, sticky-error transactions and range
 * iteration. See store.h.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbkey.h"
#include "error.h"
#include "log.h"
#include "storecopy.h"
#include "util.h"
#include "traction/v1/events.pb-c.h"

#define MAX_DBS TRC_STORE_MAX_DBS /* storecopy.h */
static const char s_schema_key[] = "schema_version";

struct trc_db {
	MDB_dbi dbi;
	const trc_db_decl_t *decl;
};

/* The store's own databases: every daemon's store has them. */
static const trc_db_decl_t s_sysdbs[TRC_SYSDB_COUNT] = {
	[TRC_SYSDB_META] = { "meta",
			     "name -> value (schema_version, events_floor: be64; "
			     "events_unindexed: be64 from, be64 to)",
			     NULL },
	[TRC_SYSDB_EVENTS] = { "events", "be64 seq -> Event", &traction__v1__event__descriptor },
	[TRC_SYSDB_POSITIONS] = { "positions", "source -> be64 applied seq", NULL },
	[TRC_SYSDB_AUDIT] = { "audit", "be64 seq -> AuditEntry, append-only (svc_audit.c)",
			      &traction__v1__audit_entry__descriptor },
	[TRC_SYSDB_EVENT_KEYS] = { "event_keys",
				   "an event's key (its daemon's kind, ids) -> be64 seq of the "
				   "key's newest event (evtrim.c)",
				   NULL },
};

struct trc_store {
	MDB_env *env;
	size_t map_size;
	uint64_t ahead_end;      /* where the zeros of write-ahead end (0: ask) */
	trc_db_t sys[TRC_SYSDB_COUNT];
	trc_db_t own[MAX_DBS - TRC_SYSDB_COUNT];
	size_t nown;
};

int trc_store_open(trc_store_t **store_p, const char *dir, size_t map_size,
		   const trc_dbs_t *dbs, uint32_t schema_version)
{
	return trc_store_open_migrate(store_p, dir, map_size, dbs, schema_version, NULL);
}

/* The LMDB environment of s in dir: 0, or an error (logged). */
static int s_env_open(trc_store_t *s, const char *dir, size_t map_size)
{
	int mrc = mdb_env_create(&s->env);
	if (mrc == 0)
		mrc = mdb_env_set_maxdbs(s->env, MAX_DBS);
	if (mrc == 0)
		mrc = mdb_env_set_mapsize(s->env, map_size);
	if (mrc == 0)
		mrc = mdb_env_set_maxreaders(s->env, 126);
	/* MDB_NOTLS: read transactions are not tied to threads. Durable sync is
	 * kept on: an acknowledgement means the data is on disk. */
	if (mrc == 0)
		mrc = mdb_env_open(s->env, dir, MDB_NOTLS, 0640);
	/* dbkey.h builds keys up to TRC_DBKEY_MAX: an LMDB built with smaller
	 * keys would refuse some of them at a put, long after the start */
	if (mrc == 0 && mdb_env_get_maxkeysize(s->env) < TRC_DBKEY_MAX)
		mrc = MDB_BAD_VALSIZE;
	if (mrc != 0) {
		trc_err("store: cannot open LMDB in %s: %s", dir, mdb_strerror(mrc));
		if (s->env != NULL) {
			mdb_env_close(s->env);
			s->env = NULL;
		}
		return trc_err_from_mdb(mrc);
	}
	/* LMDB may have grown the map to what the file already holds. */
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) == 0)
		s->map_size = info.me_mapsize;
	return 0;
}

/* The store's schema version, in txn: a new store is stamped with
 * schema_version, an older one upgraded by migrate (if given) and
 * stamped, any other refused (TRC_ECORRUPT, sticky in txn). */
static void s_schema(trc_txn_t *txn, trc_store_t *s, const char *dir, uint32_t schema_version,
		     trc_migrate_fn migrate)
{
	MDB_val v;
	const trc_db_t *meta = &s->sys[TRC_SYSDB_META];
	int g = trc_txn_get(txn, meta, s_schema_key, sizeof(s_schema_key) - 1, &v);
	uint64_t found = g == 0 && v.mv_size == 8 ? trc_be64_get(v.mv_data) : UINT64_MAX;
	if (g == 0 && found < schema_version && migrate != NULL) {
		trc_notice("store: %s has schema version %llu: upgrading it to %u", dir,
			   (unsigned long long)found, schema_version);
		int m = migrate(txn, (uint32_t)found);
		if (m != 0) {
			trc_err("store: cannot upgrade %s: %s", dir, trc_strerror(m));
			trc_txn_fail(txn, m);
		}
		g = TRC_ENOENT; /* stamp it with the version it now has */
	}
	if (g == TRC_ENOENT) {
		uint8_t be[8];
		trc_be64_put(be, schema_version);
		trc_txn_put(txn, meta, s_schema_key, sizeof(s_schema_key) - 1, be, 8, 0);
	} else if (g == 0 && found != schema_version) {
		trc_err("store: %s has schema version %llu, this build reads %u", dir,
			(unsigned long long)found, schema_version);
		trc_txn_fail(txn, TRC_ECORRUPT);
	}
}

/* Whether name is declared before entry i of the daemon's table or is
 * one of the store's own. */
static bool s_taken(const trc_dbs_t *dbs, size_t i, const char *name)
{
	for (size_t j = 0; j < TRC_SYSDB_COUNT; j++)
		if (strcmp(s_sysdbs[j].name, name) == 0)
			return true;
	for (size_t j = 0; j < i; j++)
		if (strcmp(dbs->decl[j].name, name) == 0)
			return true;
	return false;
}

/* The daemon's table into s, checked: every entry named (an entry the
 * designated initialisers left out has none: its enum and table
 * disagree), no name twice, no more than LMDB is told to hold. */
static int s_declare(trc_store_t *s, const trc_dbs_t *dbs)
{
	size_t n = dbs != NULL ? dbs->n : 0;
	if (n > MAX_DBS - TRC_SYSDB_COUNT) {
		trc_err("store: %zu databases declared, at most %d", n, MAX_DBS - TRC_SYSDB_COUNT);
		return TRC_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = dbs->decl[i].name;
		if (name == NULL || name[0] == '\0') {
			trc_err("store: database %zu of %zu has no name: the table and its enum "
				"disagree", i, n);
			return TRC_EINVAL;
		}
		if (s_taken(dbs, i, name)) {
			trc_err("store: database '%s' is declared twice", name);
			return TRC_EINVAL;
		}
		s->own[i].decl = &dbs->decl[i];
	}
	s->nown = n;
	for (size_t i = 0; i < TRC_SYSDB_COUNT; i++)
		s->sys[i].decl = &s_sysdbs[i];
	return 0;
}

/* Opens every database in txn (creating those a new store lacks). */
static int s_dbs_open(trc_store_t *s, trc_txn_t *txn)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < TRC_SYSDB_COUNT + s->nown; i++) {
		trc_db_t *db = i < TRC_SYSDB_COUNT ? &s->sys[i] : &s->own[i - TRC_SYSDB_COUNT];
		int r = mdb_dbi_open(txn->txn, db->decl->name, MDB_CREATE, &db->dbi);
		if (r != 0)
			rc = trc_txn_fail(txn, trc_err_from_mdb(r));
	}
	return rc;
}

int trc_store_open_migrate(trc_store_t **store_p, const char *dir, size_t map_size,
			   const trc_dbs_t *dbs, uint32_t schema_version,
			   trc_migrate_fn migrate)
{
	trc_store_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return TRC_ENOMEM;
	s->map_size = map_size;
	int rc = s_declare(s, dbs);
	if (rc == 0 && (rc = trc_mkdir_p(dir)) != 0)
		trc_err("store: cannot prepare %s: %s", dir, trc_strerror(rc));
	if (rc == 0)
		rc = s_env_open(s, dir, map_size);
	trc_txn_t txn;
	if (rc == 0)
		rc = trc_txn_begin(s, &txn, true);
	if (rc != 0) {
		trc_store_destroy(&s);
		return rc;
	}
	rc = s_dbs_open(s, &txn);
	if (rc == 0) {
		s_schema(&txn, s, dir, schema_version, migrate);
		rc = trc_txn_commit(&txn);
	} else {
		trc_txn_abort(&txn);
	}
	if (rc != 0) {
		trc_store_destroy(&s);
		return rc;
	}
	*store_p = s;
	return TRC_OK;
}

void trc_store_destroy(trc_store_t **store_p)
{
	if (store_p == NULL || *store_p == NULL)
		return;
	trc_store_t *s = *store_p;
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
	*store_p = NULL;
}

const trc_db_t *trc_store_db(const trc_store_t *s, unsigned i)
{
	if (i < s->nown)
		return &s->own[i];
	trc_err("store: no database %u: %zu are declared", i, s->nown);
	return NULL;
}

const trc_db_t *trc_store_sysdb(const trc_store_t *s, unsigned i)
{
	if (i < TRC_SYSDB_COUNT)
		return &s->sys[i];
	trc_err("store: no database %u of the store's own", i);
	return NULL;
}

size_t trc_store_count(const trc_store_t *s)
{
	return TRC_SYSDB_COUNT + s->nown;
}

const trc_db_t *trc_store_nth(const trc_store_t *s, size_t i)
{
	return i < TRC_SYSDB_COUNT ? &s->sys[i] : &s->own[i - TRC_SYSDB_COUNT];
}

int trc_store_copy(trc_txn_t *txn, const char *path, const int *cancel)
{
	const trc_store_t *s = txn->store;
	MDB_dbi dbis[MAX_DBS];
	const char *names[MAX_DBS];
	size_t n = trc_store_count(s);
	for (size_t i = 0; i < n; i++) {
		dbis[i] = trc_store_nth(s, i)->dbi;
		names[i] = trc_store_nth(s, i)->decl->name;
	}
	if (txn->err != 0)
		return txn->err;
	int r = trc_storecopy_write(txn->txn, dbis, names, n, path, s->map_size, cancel);
	if (r != 0 && r != ECANCELED) /* stopped on purpose: nothing to say */
		trc_err("store: cannot copy to %s: %s", path, mdb_strerror(r));
	return trc_err_from_mdb(r);
}

void trc_store_copy_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, TRC_STORE_COPY_PREFIX, sizeof(TRC_STORE_COPY_PREFIX) - 1) != 0)
			continue;
		char path[4096 + 320];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			trc_notice("removed %s, a backup's copy left behind", path);
	}
	closedir(d);
}

const char *trc_db_name(const trc_db_t *db)
{
	return db != NULL ? db->decl->name : "(none)";
}

const ProtobufCMessageDescriptor *trc_db_record(const trc_db_t *db)
{
	return db != NULL ? db->decl->record : NULL;
}

/* LMDB's last page (of the last commit), in bytes; 0 if unknown. */
static uint64_t s_used(MDB_env *env, uint64_t *map_size)
{
	MDB_envinfo info;
	MDB_stat ms;
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0)
		return 0;
	*map_size = info.me_mapsize;
	return ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
}

static bool s_far_enough(uint64_t end, uint64_t used, uint64_t map_size)
{
	return end >= used + TRC_STORE_AHEAD || end + TRC_STORE_AHEAD_PIECE > map_size;
}

int trc_env_write_ahead(MDB_env *env, uint64_t *end, unsigned pieces)
{
	static uint8_t zeros[TRC_STORE_AHEAD_PIECE]; /* not const: .bss, not 256 KiB of file */
	uint64_t map_size, used = s_used(env, &map_size);
	int fd;
	/* No system call while the margin lasts: on ext4 even an fstat of the
	 * store made the next commit ~55 us slower (one record in flight). */
	if (pieces == 0 || used == 0 || s_far_enough(*end, used, map_size) ||
	    mdb_env_get_fd(env, &fd) != 0)
		return 0;
	/* Beyond LMDB's last page the file holds nothing LMDB will read; hold
	 * its writer lock so no commit (of any process) lands there meanwhile.
	 * lseek moves the descriptor's offset, which LMDB sets itself before
	 * each writev of a commit, and no commit runs while we hold the lock. */
	MDB_txn *t;
	int r = mdb_txn_begin(env, NULL, 0, &t);
	if (r != 0)
		return trc_err_from_mdb(r);
	int rc = 0;
	used = s_used(env, &map_size);
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		rc = trc_err_from_errno(errno);
	else
		*end = (uint64_t)size > used ? (uint64_t)size : used;
	for (unsigned i = 0; rc == 0 && i < pieces && !s_far_enough(*end, used, map_size); i++) {
		ssize_t w = pwrite(fd, zeros, sizeof(zeros), (off_t)*end);
		if (w < 0) {
			/* a full disk, say: LMDB extends the file itself as before;
			 * try again once the store has grown by the margin */
			rc = trc_err_from_errno(errno);
			*end = used + TRC_STORE_AHEAD;
			break;
		}
		/* start the writeback now, not in the next commit's flush */
		(void)sync_file_range(fd, (off_t)*end, w, SYNC_FILE_RANGE_WRITE);
		*end += (uint64_t)w;
	}
	mdb_txn_abort(t);
	return rc;
}

int trc_store_write_ahead(trc_store_t *s, unsigned pieces)
{
	return trc_env_write_ahead(s->env, &s->ahead_end, pieces);
}

MDB_env *trc_store_env(trc_store_t *s)
{
	return s->env;
}

int trc_store_log_backed(trc_store_t *s)
{
	int mrc = mdb_env_set_flags(s->env, MDB_NOMETASYNC, 1);
	return mrc == 0 ? 0 : trc_err_from_mdb(mrc);
}

int trc_store_sync(trc_store_t *s)
{
	int mrc = mdb_env_sync(s->env, 1);
	if (mrc != 0)
		trc_err("store: cannot sync: %s", mdb_strerror(mrc));
	return mrc == 0 ? 0 : trc_err_from_mdb(mrc);
}

size_t trc_store_map_size(const trc_store_t *s)
{
	return s->map_size;
}

int trc_txn_begin(trc_store_t *store, trc_txn_t *txn, bool write)
{
	memset(txn, 0, sizeof(*txn));
	txn->store = store;
	txn->write = write;
	int r = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (r != 0) {
		txn->txn = NULL;
		txn->err = trc_err_from_mdb(r);
	}
	return txn->err;
}

uint64_t trc_txn_snapshot(const trc_txn_t *txn)
{
	return txn->txn != NULL ? (uint64_t)mdb_txn_id(txn->txn) : 0;
}

int trc_txn_begin_nested(trc_txn_t *parent, trc_txn_t *child)
{
	memset(child, 0, sizeof(*child));
	child->store = parent->store;
	child->write = true;
	child->nested = true;
	if (parent->err != 0) {
		child->err = parent->err;
		return child->err;
	}
	int r = mdb_txn_begin(parent->store->env, parent->txn, 0, &child->txn);
	if (r != 0) {
		child->txn = NULL;
		child->err = trc_err_from_mdb(r);
	}
	return child->err;
}

int trc_txn_commit(trc_txn_t *txn)
{
	if (txn->txn == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	if (txn->err != 0) {
		mdb_txn_abort(txn->txn);
		txn->txn = NULL;
		return txn->err;
	}
	int r = mdb_txn_commit(txn->txn);
	txn->txn = NULL;
	if (r != 0)
		txn->err = trc_err_from_mdb(r);
	return txn->err;
}

void trc_txn_abort(trc_txn_t *txn)
{
	if (txn->txn != NULL)
		mdb_txn_abort(txn->txn);
	txn->txn = NULL;
}

int trc_txn_fail(trc_txn_t *txn, int err)
{
	if (txn->err == 0)
		txn->err = err;
	return err;
}

/* The LMDB handle of db: false, with TRC_EINTERNAL sticky, for none (an
 * index past the daemon's table: trc_store_db logged it). */
static bool s_dbi(trc_txn_t *txn, const trc_db_t *db, MDB_dbi *dbi)
{
	if (db == NULL) {
		trc_txn_fail(txn, TRC_EINTERNAL);
		return false;
	}
	*dbi = db->dbi;
	return true;
}

int trc_txn_get(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen, MDB_val *val)
{
	MDB_dbi dbi;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_get(txn->txn, dbi, &k, val);
	if (r == MDB_NOTFOUND)
		return TRC_ENOENT;
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	return TRC_OK;
}

static int s_put(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen, MDB_val *v,
		 unsigned flags)
{
	MDB_dbi dbi;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_put(txn->txn, dbi, &k, v, flags);
	if (r == MDB_KEYEXIST)
		return TRC_EEXIST; /* asked for with MDB_NOOVERWRITE: not sticky */
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	return TRC_OK;
}

int trc_txn_put(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		const void *val, size_t vlen, unsigned flags)
{
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	return s_put(txn, db, key, klen, &v, flags);
}

int trc_txn_insert(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		   const void *val, size_t vlen, MDB_val *found)
{
	/* on MDB_KEYEXIST, LMDB points v at the value that is there */
	*found = (MDB_val){ .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	return s_put(txn, db, key, klen, found, MDB_NOOVERWRITE);
}

void *trc_txn_reserve(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		      size_t vlen, unsigned flags)
{
	MDB_dbi dbi;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return NULL;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	MDB_val v = { .mv_size = vlen, .mv_data = NULL };
	int r = mdb_put(txn->txn, dbi, &k, &v, MDB_RESERVE | flags);
	if (r != 0) {
		trc_txn_fail(txn, trc_err_from_mdb(r));
		return NULL;
	}
	return v.mv_data;
}

int trc_txn_del(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen)
{
	MDB_dbi dbi;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_del(txn->txn, dbi, &k, NULL);
	if (r == MDB_NOTFOUND)
		return TRC_ENOENT;
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	return TRC_OK;
}

int trc_txn_entries(trc_txn_t *txn, const trc_db_t *db, size_t *n)
{
	MDB_dbi dbi;
	MDB_stat st;
	*n = 0;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return txn->err;
	int r = mdb_stat(txn->txn, dbi, &st);
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	*n = st.ms_entries;
	return TRC_OK;
}

static int s_keycmp(const MDB_val *k, const void *b, size_t blen)
{
	size_t n = k->mv_size < blen ? k->mv_size : blen;
	int c = memcmp(k->mv_data, b, n);
	if (c != 0)
		return c;
	return k->mv_size < blen ? -1 : (k->mv_size > blen ? 1 : 0);
}

int trc_iter_begin(trc_txn_t *txn, const trc_db_t *db, trc_iter_t *it, const void *from,
		   size_t fromlen, const void *to, size_t tolen, bool reverse)
{
	memset(it, 0, sizeof(*it));
	it->txn = txn;
	it->db = db;
	it->lo = from;
	it->lolen = fromlen;
	it->hi = to;
	it->hilen = tolen;
	it->reverse = reverse;
	MDB_dbi dbi;
	if (txn->err != 0 || !s_dbi(txn, db, &dbi))
		return txn->err;
	int r = mdb_cursor_open(txn->txn, dbi, &it->cur);
	if (r != 0) {
		it->cur = NULL;
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	}
	return TRC_OK;
}

int trc_iter_prefix(trc_txn_t *txn, const trc_db_t *db, trc_iter_t *it, const void *prefix,
		    size_t plen, bool reverse)
{
	trc_dbkey_t lo, hi; /* prefix "\0", prefix "\1" */
	trc_dbkey_init(&lo);
	trc_dbkey_raw(&lo, prefix, plen);
	hi = lo;
	trc_dbkey_sep(&lo);
	trc_dbkey_past(&hi);
	if (!trc_dbkey_ok(&lo) || !trc_dbkey_ok(&hi)) {
		memset(it, 0, sizeof(*it));
		return TRC_EINVAL;
	}
	int rc = trc_iter_begin(txn, db, it, NULL, 0, NULL, 0, reverse);
	/* the bounds live in the iterator (trc_iter_begin cleared it) */
	it->bounds[0] = lo;
	it->bounds[1] = hi;
	it->lo = it->bounds[0].buf;
	it->lolen = lo.len;
	it->hi = it->bounds[1].buf;
	it->hilen = hi.len;
	return rc;
}

bool trc_iter_next(trc_iter_t *it)
{
	int r;
	if (it->cur == NULL || it->txn->err != 0)
		return false;
	if (!it->reverse) {
		if (!it->started) {
			it->started = true;
			if (it->lo != NULL && it->lolen > 0) {
				it->key.mv_data = (void *)(uintptr_t)it->lo;
				it->key.mv_size = it->lolen;
				r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_SET_RANGE);
			} else {
				r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_FIRST);
			}
		} else {
			r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_NEXT);
		}
		if (r == 0 && it->hi != NULL && s_keycmp(&it->key, it->hi, it->hilen) >= 0)
			r = MDB_NOTFOUND;
	} else {
		if (!it->started) {
			it->started = true;
			if (it->hi != NULL) {
				it->key.mv_data = (void *)(uintptr_t)it->hi;
				it->key.mv_size = it->hilen;
				r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_SET_RANGE);
				/* SET_RANGE lands on the first key >= hi; we want the one before. */
				if (r == 0)
					r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_PREV);
				else if (r == MDB_NOTFOUND)
					r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_LAST);
			} else {
				r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_LAST);
			}
		} else {
			r = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_PREV);
		}
		if (r == 0 && it->lo != NULL && s_keycmp(&it->key, it->lo, it->lolen) < 0)
			r = MDB_NOTFOUND;
	}
	if (r == MDB_NOTFOUND)
		return false;
	if (r != 0) {
		trc_txn_fail(it->txn, trc_err_from_mdb(r));
		return false;
	}
	return true;
}

void trc_iter_end(trc_iter_t *it)
{
	if (it->cur != NULL)
		mdb_cursor_close(it->cur);
	it->cur = NULL;
}

int trc_txn_last(trc_txn_t *txn, const trc_db_t *db, MDB_val *key, MDB_val *val)
{
	trc_iter_t it;
	int rc = trc_iter_begin(txn, db, &it, NULL, 0, NULL, 0, true);
	if (rc != 0)
		return rc;
	bool found = trc_iter_next(&it);
	if (found) {
		*key = it.key;
		if (val != NULL)
			*val = it.val;
	}
	trc_iter_end(&it);
	if (txn->err != 0)
		return txn->err;
	return found ? TRC_OK : TRC_ENOENT;
}
