/*
 * Packed protobuf records and composite keys. See record.h.
 */
#include "record.h"

#include <string.h>

#include "error.h"

int trc_rec_put(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *dst = trc_txn_reserve(txn, db, key, klen, len, 0);
	if (dst == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	protobuf_c_message_pack(msg, dst);
	return 0;
}

void *trc_rec_unpack(const MDB_val *val, const ProtobufCMessageDescriptor *desc,
		     trc_arena_t *arena)
{
	ProtobufCAllocator al = trc_arena_allocator(arena);
	return protobuf_c_message_unpack(desc, &al, val->mv_size, val->mv_data);
}

int trc_rec_decode(const MDB_val *val, const ProtobufCMessageDescriptor *desc,
		   trc_arena_t *arena, void **out)
{
	size_t failures = trc_arena_failures(arena);
	*out = trc_rec_unpack(val, desc, arena);
	if (*out != NULL)
		return 0;
	return trc_arena_failures(arena) != failures ? TRC_ENOMEM : TRC_ECORRUPT;
}

int trc_rec_get(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const ProtobufCMessageDescriptor *desc, trc_arena_t *arena, void **out)
{
	MDB_val v;
	int rc = trc_txn_get(txn, db, key, klen, &v);
	return rc != 0 ? rc : trc_rec_decode(&v, desc, arena, out);
}

size_t trc_key2(char *buf, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la + 1 + lb > cap)
		return 0;
	memcpy(buf, a, la);
	buf[la] = '\0';
	memcpy(buf + la + 1, b, lb);
	return la + 1 + lb;
}

size_t trc_key3(char *buf, size_t cap, const char *a, const char *b, const char *c)
{
	size_t n = trc_key2(buf, cap, a, b);
	size_t lc = strlen(c);
	if (n == 0 || n + 1 + lc > cap)
		return 0;
	buf[n] = '\0';
	memcpy(buf + n + 1, c, lc);
	return n + 1 + lc;
}

const char *trc_key_tail(const MDB_val *key, size_t *len)
{
	const char *p = memchr(key->mv_data, '\0', key->mv_size);
	if (p == NULL) {
		*len = 0;
		return (const char *)key->mv_data + key->mv_size;
	}
	*len = key->mv_size - (size_t)(p + 1 - (const char *)key->mv_data);
	return p + 1;
}
