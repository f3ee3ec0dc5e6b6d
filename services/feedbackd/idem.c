/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idempotency keys of feedback.publish. A key is the client's, and it is
 * scoped by who sent it and what it is about: (client identity, scenario,
 * supply, version, key). Without CurveZMQ every client is the same
 * "anonymous", and two sites that both number their records "1", "2", ...
 * must not collide: the second site's record would be reported a duplicate
 * of the first's and dropped without a word.
 *
 * The key's value is the record's id and a digest of the record's bytes as
 * they came. A retry (same key, same bytes) is answered with the first
 * record; the same key with a different record is refused with
 * ALREADY_EXISTS, as payment APIs refuse a reused idempotency key, instead
 * of being reported as a duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* inlined: no library at run time, and the compiler sees the one length
 * it is called with per record */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "error.h"
#include "feedbackd.h"
#include "log.h"
#include "util.h"

bool fb_idem_key(trc_dbkey_t *k, const char *client, const Traction__V1__FeedbackRecord *r)
{
	return trc_dbkey_of(k, client, r->scenario_id, r->supply_id, r->version,
			    r->idempotency_key);
}

/* The digest tells a retry from another record a client gave the same key
 * by mistake; it does not need to resist anyone (a client can only confuse
 * its own records), but it runs on every keyed record: FNV-1a, a byte at a
 * time, took ~0.4 us of a ~260-byte record (7% of feedbackd's CPU under
 * the publisher at full speed, perf), XXH3 ~0.03 us (Debian's libxxhash). */
uint64_t fb_idem_digest(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

void fb_idem_value(uint8_t out[FB_IDEM_VALUE], uint64_t id, uint64_t digest)
{
	trc_be64_put(out, id);
	trc_be64_put(out + 8, digest);
	out[16] = FB_IDEM_XXH3;
}

int fb_idem_found(trc_call_t *call, const MDB_val *v, uint64_t digest, const MDB_val *raw,
		  const Traction__V1__FeedbackRecord *r, Traction__V1__RecordResult *res)
{
	const uint8_t *p = v->mv_data;
	/* 8 bytes: a key from a store of schema 1, whose digest is unknown;
	 * 16: schemas 2-4, FNV-1a (worked out only here, for a retry) */
	bool known = v->mv_size == FB_IDEM_VALUE_FNV ||
		     (v->mv_size == FB_IDEM_VALUE && p[16] == FB_IDEM_XXH3);
	if (v->mv_size != 8 && !known)
		return TRC_ECORRUPT;
	uint64_t id = trc_be64_get(p);
	if (v->mv_size == FB_IDEM_VALUE_FNV)
		digest = trc_fnv64(raw->mv_data, raw->mv_size);
	if (known && trc_be64_get(p + 8) != digest)
		return trc_call_fail(call, TRC_EEXIST,
				     "idempotency_key: '%.128s' already names record %llu of this "
				     "scenario, supply and version, with other content; a new "
				     "record needs a new key",
				     r->idempotency_key, (unsigned long long)id);
	res->record_id = id;
	res->duplicate = true;
	return 0;
}

/* A key of schema 1, (client, key) -> record id, moved to the scope of
 * its record (its digest stays unknown). */
static int s_scope_old(trc_txn_t *txn, const trc_dbkey_t *old, const uint8_t id[8])
{
	const trc_db_t *idem = trc_txn_db(txn, FB_DB_IDEM);
	char client[TRC_DBKEY_MAX + 1], key[TRC_DBKEY_MAX + 1];
	trc_dbsplit_t sp;
	trc_dbsplit_bytes(&sp, old->buf, old->len);
	trc_dbsplit_cstr(&sp, client, sizeof(client));
	trc_dbsplit_cstr(&sp, key, sizeof(key));
	MDB_val v;
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_RECORDS), id, 8, &v);
	if (rc == TRC_ENOENT) /* the key outlived its record */
		return trc_txn_del(txn, idem, old->buf, old->len);
	Traction__V1__FeedbackRecord *r =
		rc == 0 ? traction__v1__feedback_record__unpack(NULL, v.mv_size, v.mv_data) : NULL;
	if (r == NULL)
		return rc != 0 ? rc : TRC_ECORRUPT;
	trc_dbkey_t nk;
	char *own = r->idempotency_key; /* freed with r */
	r->idempotency_key = key;
	bool fits = fb_idem_key(&nk, client, r);
	r->idempotency_key = own;
	traction__v1__feedback_record__free_unpacked(r, NULL);
	rc = fits ? trc_txn_put(txn, idem, nk.buf, nk.len, id, 8, 0) : TRC_ECORRUPT;
	return rc != 0 ? rc : trc_txn_del(txn, idem, old->buf, old->len);
}

/* Schema 1 keyed client '\0' key; the record itself says what it was
 * about, so each key is moved to its scope. */
int fb_idem_migrate(trc_txn_t *txn)
{
	const trc_db_t *idem = trc_txn_db(txn, FB_DB_IDEM);
	typedef struct {
		trc_dbkey_t key; /* client, key */
		uint8_t id[8];
	} old_t;
	old_t *olds = NULL;
	size_t n = 0, cap = 0;
	trc_iter_t it;
	int rc = trc_iter_begin(txn, idem, &it, NULL, 0, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp;
		size_t l;
		trc_dbsplit_init(&sp, &it.key);
		trc_dbsplit_str(&sp, &l);
		trc_dbsplit_str(&sp, &l);
		if (!trc_dbsplit_done(&sp) || it.val.mv_size != 8)
			continue; /* already scoped */
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			old_t *no = realloc(olds, cap * sizeof(*olds));
			if (no == NULL) {
				rc = TRC_ENOMEM;
				break;
			}
			olds = no;
		}
		trc_dbkey_init(&olds[n].key);
		trc_dbkey_raw(&olds[n].key, it.key.mv_data, it.key.mv_size);
		memcpy(olds[n].id, it.val.mv_data, 8);
		n++;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = s_scope_old(txn, &olds[i].key, olds[i].id);
	if (rc == 0)
		trc_notice("store: %zu idempotency keys scoped by scenario, supply and version", n);
	free(olds);
	return rc;
}
