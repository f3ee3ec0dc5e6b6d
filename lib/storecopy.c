/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A store's copy from one read transaction, its digest, and what a copy
 * holds: see storecopy.h.
 */
#include "storecopy.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing a copy ---------------------------------------------------------- */

static int s_copy_db(MDB_txn *src, MDB_dbi sdbi, MDB_txn *dst, const char *name,
		     const int *cancel)
{
	MDB_dbi ddbi;
	MDB_cursor *cur = NULL;
	int rc = mdb_dbi_open(dst, name, MDB_CREATE, &ddbi);
	if (rc == 0)
		rc = mdb_cursor_open(src, sdbi, &cur);
	MDB_val k, v;
	for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
		rc = mdb_cursor_get(cur, &k, &v, op);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc == 0)
			rc = mdb_put(dst, ddbi, &k, &v, MDB_APPEND);
		if (rc == 0 && cancel != NULL && __atomic_load_n(cancel, __ATOMIC_RELAXED))
			rc = ECANCELED;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

int trc_storecopy_write(MDB_txn *src, const MDB_dbi *dbis, const char *const *names, size_t n,
			const char *path, size_t map_size, const int *cancel)
{
	MDB_env *env = NULL;
	MDB_txn *dst = NULL;
	(void)unlink(path);
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, TRC_STORE_MAX_DBS);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, map_size);
	/* one file, no lock file: nothing else opens it while it is written */
	if (rc == 0)
		rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0600);
	/* One write transaction for the whole copy: LMDB spills dirty pages
	 * to the file when they outgrow its list, and one commit leaves no
	 * free pages behind, as several would. */
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &dst);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = s_copy_db(src, dbis[i], dst, names[i], cancel);
	if (dst != NULL)
		rc = rc == 0 ? mdb_txn_commit(dst) : (mdb_txn_abort(dst), rc);
	if (env != NULL)
		mdb_env_close(env);
	if (rc != 0)
		(void)unlink(path);
	return rc;
}

int trc_storecopy_sha256(const char *path, char hex[TRC_SHA256_HEX], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	crypto_hash_sha256_state st;
	unsigned char buf[1 << 16], h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	uint64_t total = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = errno;
		if (r <= 0)
			break;
		crypto_hash_sha256_update(&st, buf, (unsigned long long)r);
		total += (uint64_t)r;
	}
	close(fd);
	if (rc != 0)
		return rc;
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, TRC_SHA256_HEX, h, sizeof(h));
	*size = total;
	return 0;
}

/* ---- what a copy holds ------------------------------------------------------- */

static uint64_t s_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static char *s_strndup(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* info->why: what (and the database's name, if any) and LMDB's words. */
static int s_why(trc_storecopy_info_t *info, int rc, const char *what, const char *name)
{
	if (name != NULL)
		snprintf(info->why, sizeof(info->why), "%s '%s': %s", what, name, mdb_strerror(rc));
	else
		snprintf(info->why, sizeof(info->why), "%s: %s", what, mdb_strerror(rc));
	return rc;
}

/* Bytes into the digest, after their length (so that no two sequences
 * of records hash alike). */
static void s_hash(crypto_hash_sha256_state *st, const void *p, size_t n)
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	crypto_hash_sha256_update(st, be, sizeof(be));
	crypto_hash_sha256_update(st, p, n);
}

/* Every record of database dbi, walked: how many, against what LMDB's
 * own count says (a copy whose tree disagrees with its counts is not one
 * to restore). The store's own databases are read on the way; with hash,
 * each record goes into the digest, after the database's name. */
static int s_walk(MDB_txn *txn, MDB_dbi dbi, const char *name, trc_storecopy_info_t *info,
		  uint64_t *entries, crypto_hash_sha256_state *hash)
{
	MDB_cursor *cur;
	MDB_stat st;
	int rc = mdb_stat(txn, dbi, &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return s_why(info, rc, "database", name);
	uint64_t n = 0;
	MDB_val k, v;
	bool events = strcmp(name, "events") == 0, positions = strcmp(name, "positions") == 0,
	     meta = strcmp(name, "meta") == 0;
	if (hash != NULL)
		s_hash(hash, name, strlen(name));
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		n++;
		if (hash != NULL) {
			s_hash(hash, k.mv_data, k.mv_size);
			s_hash(hash, v.mv_data, v.mv_size);
		}
		if (events && k.mv_size == 8)
			info->event_head = s_be64(k.mv_data);
		if (meta && k.mv_size == 14 && memcmp(k.mv_data, "schema_version", 14) == 0 &&
		    v.mv_size == 8)
			info->schema_version = (uint32_t)s_be64(v.mv_data);
		if (meta && k.mv_size == 12 && memcmp(k.mv_data, "raft_applied", 12) == 0 &&
		    v.mv_size == 8)
			info->raft_applied = s_be64(v.mv_data);
		if (positions && v.mv_size == 8) {
			trc_storecopy_pos_t *p =
				realloc(info->pos, (info->npos + 1) * sizeof(*info->pos));
			if (p == NULL) {
				rc = ENOMEM;
				break;
			}
			info->pos = p;
			p[info->npos].seq = s_be64(v.mv_data);
			p[info->npos].source = s_strndup(k.mv_data, k.mv_size);
			if (p[info->npos++].source == NULL) {
				rc = ENOMEM;
				break;
			}
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return s_why(info, rc, "database", name);
	if (n != st.ms_entries) {
		snprintf(info->why, sizeof(info->why),
			 "database '%s': %llu records walked, its count says %llu", name,
			 (unsigned long long)n, (unsigned long long)st.ms_entries);
		return MDB_CORRUPTED;
	}
	*entries = n;
	return 0;
}

/* The names of the named databases (the main database's keys), in order. */
static int s_names(MDB_txn *txn, trc_storecopy_info_t *info)
{
	MDB_dbi main;
	MDB_cursor *cur;
	int rc = mdb_dbi_open(txn, NULL, 0, &main);
	if (rc == 0)
		rc = mdb_cursor_open(txn, main, &cur);
	if (rc != 0)
		return s_why(info, rc, "the list of databases", NULL);
	MDB_val k, v;
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		trc_storecopy_db_t *d = realloc(info->dbs, (info->ndbs + 1) * sizeof(*d));
		if (d == NULL || info->ndbs >= TRC_STORE_MAX_DBS) {
			if (d != NULL)
				info->dbs = d;
			rc = d == NULL ? ENOMEM : MDB_CORRUPTED;
			break;
		}
		info->dbs = d;
		d[info->ndbs].entries = 0;
		d[info->ndbs].name = s_strndup(k.mv_data, k.mv_size);
		if (d[info->ndbs++].name == NULL) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : s_why(info, rc, "the list of databases", NULL);
}

/* What the copy at path holds, and with st its digest; live: path is the
 * directory of a store its daemon has open. */
static int s_inspect(const char *path, bool live, trc_storecopy_info_t *info,
		     crypto_hash_sha256_state *st)
{
	memset(info, 0, sizeof(*info));
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, TRC_STORE_MAX_DBS);
	/* read-only, no lock file: a copy in a backup directory is no live
	 * store, and the directory may be read-only. A live one's read is a
	 * reader in its lock file, else its daemon's commits may reuse the
	 * pages it walks (a torn read, or LMDB's assertion aborting us). */
	if (rc == 0)
		rc = mdb_env_open(env, path,
				  live ? MDB_RDONLY : MDB_NOSUBDIR | MDB_NOLOCK | MDB_RDONLY, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		s_why(info, rc, "cannot open it as an LMDB environment", NULL);
	} else {
		rc = s_names(txn, info);
		for (size_t i = 0; rc == 0 && i < info->ndbs; i++) {
			MDB_dbi dbi;
			rc = mdb_dbi_open(txn, info->dbs[i].name, 0, &dbi);
			if (rc != 0)
				s_why(info, rc, "database", info->dbs[i].name);
			else
				rc = s_walk(txn, dbi, info->dbs[i].name, info, &info->dbs[i].entries,
					    st);
		}
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}

void trc_storecopy_info_free(trc_storecopy_info_t *info)
{
	for (size_t i = 0; i < info->ndbs; i++)
		free(info->dbs[i].name);
	for (size_t i = 0; i < info->npos; i++)
		free(info->pos[i].source);
	free(info->dbs);
	free(info->pos);
	info->dbs = NULL;
	info->pos = NULL;
	info->ndbs = info->npos = 0;
}

int trc_storecopy_inspect(const char *path, trc_storecopy_info_t *info)
{
	return s_inspect(path, false, info, NULL);
}

static int s_digest(const char *path, bool live, trc_storecopy_info_t *info,
		    char hex[TRC_SHA256_HEX])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	int rc = s_inspect(path, live, info, &st);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, TRC_SHA256_HEX, h, sizeof(h));
	return rc;
}

int trc_storecopy_digest(const char *path, trc_storecopy_info_t *info, char hex[TRC_SHA256_HEX])
{
	return s_digest(path, false, info, hex);
}

int trc_storecopy_digest_live(const char *dir, trc_storecopy_info_t *info,
			      char hex[TRC_SHA256_HEX])
{
	return s_digest(dir, true, info, hex);
}
