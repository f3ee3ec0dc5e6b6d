/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store keys: one builder and one splitter for the composite keys of every
 * daemon's databases, instead of buffers sized by hand at each call.
 *
 * A key is a sequence of parts: strings (ids, slugs), big-endian u64s
 * (sequences, times: LMDB's order is then the natural one), single bytes
 * and raw bytes. A string part is followed by a '\0' when another part
 * comes after it, and by nothing when it ends the key: "supply\0version",
 * "supply\0" be64 seq. Those are the bytes the stores have always held;
 * they must not change (tests/integration/test_upgrade opens old stores).
 *
 * The builder writes into a buffer of LMDB's largest key (511 bytes,
 * mdb_env_get_maxkeysize of the default build) and keeps a sticky
 * overflow flag: a part that does not fit marks the key bad and empties
 * it (LMDB refuses an empty key, so a bad key that reaches the store
 * fails there rather than naming another record). Check trc_dbkey_ok
 * where a part's length is not bounded by validation.
 *
 *   trc_dbkey_t k;
 *   trc_dbkey_of(&k, supply, version);     // "supply\0version"
 *   trc_dbkey_be64(&k, seq);               // "supply\0version\0" be64
 *   if (!trc_dbkey_ok(&k)) return TRC_EINVAL;
 *   trc_txn_put(txn, db, k.buf, k.len, ...);
 *
 * The splitter walks a stored key part by part with bounds checks; a part
 * that is not there (too few bytes, no part left) marks it bad, and every
 * later part reads as empty. trc_dbsplit_done says the key was exactly
 * the parts read.
 *
 *   trc_dbsplit_t sp;
 *   trc_dbsplit_init(&sp, &it.key);
 *   const char *id = trc_dbsplit_str(&sp, &len);
 *   uint64_t n = trc_dbsplit_be64(&sp);
 *   if (!trc_dbsplit_done(&sp)) continue;   // not a key of this layout
 */
#ifndef TRC_DBKEY_H
#define TRC_DBKEY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* LMDB's largest key (MDB_MAXKEYSIZE of the build Debian ships; the store
 * opens no environment with a smaller one: trc_store_open checks). */
#define TRC_DBKEY_MAX 511

typedef struct {
	size_t len;        /* of the key in buf: read-only */
	bool overflow;     /* sticky: a part did not fit (len is then 0) */
	bool sep;          /* the last part was a string: a '\0' is owed */
	uint8_t buf[TRC_DBKEY_MAX];
} trc_dbkey_t;

/* An empty key. */
void trc_dbkey_init(trc_dbkey_t *k);
/* Appends a string part (s is NUL-terminated, or n bytes without a NUL).
 * Each append returns whether the key still fits. */
bool trc_dbkey_str(trc_dbkey_t *k, const char *s);
bool trc_dbkey_strn(trc_dbkey_t *k, const char *s, size_t n);
/* Appends a big-endian u64, one byte, raw bytes. */
bool trc_dbkey_be64(trc_dbkey_t *k, uint64_t v);
bool trc_dbkey_u8(trc_dbkey_t *k, uint8_t b);
bool trc_dbkey_raw(trc_dbkey_t *k, const void *p, size_t n);
/* Ends the key with a '\0', the byte another part would start with: as
 * a lower bound, the first key after the key itself ("cursor\0": strictly
 * after "cursor"). */
bool trc_dbkey_sep(trc_dbkey_t *k);
/* Ends the key with '\x01' where that '\0' would be: the first key past
 * every key that continues it with another part ("prefix\x01" bounds the
 * keys "prefix\0..."). */
bool trc_dbkey_past(trc_dbkey_t *k);
/* A key of string parts: trc_dbkey_of(&k, supply, version, id) starts k
 * afresh with them. */
#define trc_dbkey_of(k, ...) trc_dbkey_strv((k), (const char *const[]){ __VA_ARGS__, NULL })
bool trc_dbkey_strv(trc_dbkey_t *k, const char *const *parts);

static inline bool trc_dbkey_ok(const trc_dbkey_t *k)
{
	return !k->overflow;
}

typedef struct {
	const uint8_t *p, *end;
	bool part;         /* a '\0' was passed: another part, maybe empty, follows */
	bool bad;          /* sticky: a part was missing */
} trc_dbsplit_t;

void trc_dbsplit_init(trc_dbsplit_t *sp, const MDB_val *key);
void trc_dbsplit_bytes(trc_dbsplit_t *sp, const void *key, size_t len);
/* The next string part: its bytes up to the next '\0' or the key's end
 * (not NUL-terminated), *len their count. "" with bad set when no part is
 * left. */
const char *trc_dbsplit_str(trc_dbsplit_t *sp, size_t *len);
/* The same, copied NUL-terminated into out; false (and bad) if it is not
 * there or does not fit in cap bytes with its NUL. */
bool trc_dbsplit_cstr(trc_dbsplit_t *sp, char *out, size_t cap);
/* The next 8 bytes as a big-endian u64, the next byte: 0 and bad set when
 * fewer are left. */
uint64_t trc_dbsplit_be64(trc_dbsplit_t *sp);
uint8_t trc_dbsplit_u8(trc_dbsplit_t *sp);

/* Whether every part read was there. */
static inline bool trc_dbsplit_ok(const trc_dbsplit_t *sp)
{
	return !sp->bad;
}

/* Whether every part read was there and the key holds nothing more. */
static inline bool trc_dbsplit_done(const trc_dbsplit_t *sp)
{
	return !sp->bad && !sp->part && sp->p == sp->end;
}

#endif
