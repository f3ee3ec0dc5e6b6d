/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records kept as packed protobuf messages in a database declared with
 * their message type (store.h: trc_db_decl_t.record). The helpers take
 * the type from the database's handle, so no caller names it: a put of
 * another message is a bug, refused (logged) with a sticky TRC_EINTERNAL
 * before anything is written, as is a record read from a database of raw
 * values (TRC_EINTERNAL, not sticky: nothing was written).
 */
#ifndef TRC_RECORD_H
#define TRC_RECORD_H

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "store.h"

/* Packs msg into db under key. */
int trc_rec_put(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		const ProtobufCMessage *msg);
/* Unpacks the record under key into the arena: 0 and *out, TRC_ENOENT,
 * TRC_ECORRUPT if it does not decode, or TRC_ENOMEM. */
int trc_rec_get(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		trc_arena_t *arena, void **out);
/* Unpacks a value already read from db: 0 and *out, TRC_ECORRUPT if it
 * does not decode, or TRC_ENOMEM (out of memory is not data loss). */
int trc_rec_decode(const trc_db_t *db, const MDB_val *val, trc_arena_t *arena, void **out);
/* The same for the value an iteration is at. */
static inline int trc_iter_rec(const trc_iter_t *it, trc_arena_t *arena, void **out)
{
	return trc_rec_decode(it->db, &it->val, arena, out);
}

#endif
