/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packed protobuf records in databases declared with their type. See
 * record.h.
 */
#include "record.h"

#include "error.h"
#include "log.h"

/* Whether db holds records of desc (NULL: of the type it holds); if not,
 * a bug, logged. */
static bool s_typed(const trc_db_t *db, const ProtobufCMessageDescriptor *desc)
{
	const ProtobufCMessageDescriptor *want = trc_db_record(db);
	if (want != NULL && (desc == NULL || desc == want))
		return true;
	if (db != NULL) /* no handle at all: the store said so */
		trc_err("store: database '%s' holds %s, not %s", trc_db_name(db),
			want != NULL ? want->name : "raw values",
			desc != NULL ? desc->name : "records");
	return false;
}

int trc_rec_put(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		const ProtobufCMessage *msg)
{
	if (txn->err != 0)
		return txn->err;
	if (!s_typed(db, msg->descriptor))
		return trc_txn_fail(txn, TRC_EINTERNAL);
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *dst = trc_txn_reserve(txn, db, key, klen, len, 0);
	if (dst == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	protobuf_c_message_pack(msg, dst);
	return 0;
}

int trc_rec_decode(const trc_db_t *db, const MDB_val *val, trc_arena_t *arena, void **out)
{
	*out = NULL;
	if (!s_typed(db, NULL))
		return TRC_EINTERNAL;
	size_t failures = trc_arena_failures(arena);
	ProtobufCAllocator al = trc_arena_allocator(arena);
	*out = protobuf_c_message_unpack(trc_db_record(db), &al, val->mv_size, val->mv_data);
	if (*out != NULL)
		return 0;
	return trc_arena_failures(arena) != failures ? TRC_ENOMEM : TRC_ECORRUPT;
}

int trc_rec_get(trc_txn_t *txn, const trc_db_t *db, const void *key, size_t klen,
		trc_arena_t *arena, void **out)
{
	MDB_val v;
	if (txn->err == 0 && !s_typed(db, NULL))
		return TRC_EINTERNAL;
	int rc = trc_txn_get(txn, db, key, klen, &v);
	return rc != 0 ? rc : trc_rec_decode(db, &v, arena, out);
}
