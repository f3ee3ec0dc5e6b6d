/*
 * The LMDB store: environment, named databases, schema version, sticky-error
 * transactions and range iteration. See store.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "util.h"

#define MAX_DBS 32
static const char s_schema_key[] = "schema_version";

struct trc_store {
	MDB_env *env;
	size_t map_size;
	uint64_t ahead_end;      /* where the zeros of write-ahead end (0: ask) */
	int ndbs;
	char *names[MAX_DBS];
	const char *given[MAX_DBS];  /* the caller's pointers: a fast first match */
	MDB_dbi dbis[MAX_DBS];
};

static int s_add_name(trc_store_t *s, const char *name)
{
	for (int i = 0; i < s->ndbs; i++)
		if (strcmp(s->names[i], name) == 0)
			return TRC_OK;
	if (s->ndbs >= MAX_DBS)
		return TRC_EINVAL;
	s->names[s->ndbs] = strdup(name);
	if (s->names[s->ndbs] == NULL)
		return TRC_ENOMEM;
	s->given[s->ndbs] = name;
	s->ndbs++;
	return TRC_OK;
}

int trc_store_open(trc_store_t **store_p, const char *dir, size_t map_size,
		   const char *const *dbs, uint32_t schema_version)
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
	MDB_dbi meta = trc_store_db(s, TRC_DB_META);
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

int trc_store_open_migrate(trc_store_t **store_p, const char *dir, size_t map_size,
			   const char *const *dbs, uint32_t schema_version,
			   trc_migrate_fn migrate)
{
	trc_store_t *s = calloc(1, sizeof(*s));
	int rc;
	if (s == NULL)
		return TRC_ENOMEM;
	s->map_size = map_size;
	rc = s_add_name(s, TRC_DB_META);
	if (rc == 0)
		rc = s_add_name(s, TRC_DB_EVENTS);
	if (rc == 0)
		rc = s_add_name(s, TRC_DB_POSITIONS);
	for (size_t i = 0; rc == 0 && dbs != NULL && dbs[i] != NULL; i++)
		rc = s_add_name(s, dbs[i]);
	if (rc == 0)
		rc = trc_mkdir_p(dir);
	if (rc != 0)
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
	for (int i = 0; rc == 0 && i < s->ndbs; i++) {
		int r = mdb_dbi_open(txn.txn, s->names[i], MDB_CREATE, &s->dbis[i]);
		if (r != 0)
			rc = trc_txn_fail(&txn, trc_err_from_mdb(r));
	}
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
	for (int i = 0; i < s->ndbs; i++)
		free(s->names[i]);
	free(s);
	*store_p = NULL;
}

MDB_dbi trc_store_db(const trc_store_t *s, const char *name)
{
	/* Handlers name databases with the same literals the daemon declared
	 * them with: compare pointers before strings (this is on every put). */
	for (int i = 0; i < s->ndbs; i++)
		if (s->given[i] == name)
			return s->dbis[i];
	for (int i = 0; i < s->ndbs; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->dbis[i];
	return (MDB_dbi)-1;
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

int trc_txn_get(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, MDB_val *val)
{
	if (txn->err != 0)
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_get(txn->txn, db, &k, val);
	if (r == MDB_NOTFOUND)
		return TRC_ENOENT;
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	return TRC_OK;
}

static int s_put(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, MDB_val *v,
		 unsigned flags)
{
	if (txn->err != 0)
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_put(txn->txn, db, &k, v, flags);
	if (r == MDB_KEYEXIST)
		return TRC_EEXIST; /* asked for with MDB_NOOVERWRITE: not sticky */
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	return TRC_OK;
}

int trc_txn_put(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const void *val, size_t vlen, unsigned flags)
{
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	return s_put(txn, db, key, klen, &v, flags);
}

int trc_txn_insert(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, const void *val,
		   size_t vlen, MDB_val *found)
{
	/* on MDB_KEYEXIST, LMDB points v at the value that is there */
	*found = (MDB_val){ .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	return s_put(txn, db, key, klen, found, MDB_NOOVERWRITE);
}

void *trc_txn_reserve(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen, size_t vlen,
		      unsigned flags)
{
	if (txn->err != 0)
		return NULL;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	MDB_val v = { .mv_size = vlen, .mv_data = NULL };
	int r = mdb_put(txn->txn, db, &k, &v, MDB_RESERVE | flags);
	if (r != 0) {
		trc_txn_fail(txn, trc_err_from_mdb(r));
		return NULL;
	}
	return v.mv_data;
}

int trc_txn_del(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen)
{
	if (txn->err != 0)
		return txn->err;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int r = mdb_del(txn->txn, db, &k, NULL);
	if (r == MDB_NOTFOUND)
		return TRC_ENOENT;
	if (r != 0)
		return trc_txn_fail(txn, trc_err_from_mdb(r));
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

int trc_iter_begin(trc_txn_t *txn, MDB_dbi db, trc_iter_t *it, const void *from,
		   size_t fromlen, const void *to, size_t tolen, bool reverse)
{
	memset(it, 0, sizeof(*it));
	it->txn = txn;
	it->lo = from;
	it->lolen = fromlen;
	it->hi = to;
	it->hilen = tolen;
	it->reverse = reverse;
	if (txn->err != 0)
		return txn->err;
	int r = mdb_cursor_open(txn->txn, db, &it->cur);
	if (r != 0) {
		it->cur = NULL;
		return trc_txn_fail(txn, trc_err_from_mdb(r));
	}
	return TRC_OK;
}

int trc_iter_prefix(trc_txn_t *txn, MDB_dbi db, trc_iter_t *it, const void *prefix, size_t plen,
		    bool reverse)
{
	if (plen > TRC_PREFIX_MAX) {
		memset(it, 0, sizeof(*it));
		return TRC_EINVAL;
	}
	int rc = trc_iter_begin(txn, db, it, it->bounds[0], plen + 1, it->bounds[1], plen + 1,
				reverse);
	memcpy(it->bounds[0], prefix, plen);
	memcpy(it->bounds[1], prefix, plen);
	it->bounds[0][plen] = '\0';
	it->bounds[1][plen] = '\x01';
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

int trc_txn_last(trc_txn_t *txn, MDB_dbi db, MDB_val *key, MDB_val *val)
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
