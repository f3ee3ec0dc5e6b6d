/*
 * Records kept as packed protobuf messages in a named database, keyed by
 * string ids or composite keys; and composite index keys "a\0b".
 */
#ifndef TRC_RECORD_H
#define TRC_RECORD_H

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "store.h"

/* Packs msg into db under key. */
int trc_rec_put(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const ProtobufCMessage *msg);
/* Unpacks the record under key into the arena: 0 and *out, TRC_ENOENT,
 * TRC_ECORRUPT if it does not decode, or TRC_ENOMEM. */
int trc_rec_get(trc_txn_t *txn, MDB_dbi db, const void *key, size_t klen,
		const ProtobufCMessageDescriptor *desc, trc_arena_t *arena, void **out);
/* Unpacks a value already read. NULL if it does not decode, or if the
 * arena ran out (the arena's trc_arena_failures tells). */
void *trc_rec_unpack(const MDB_val *val, const ProtobufCMessageDescriptor *desc,
		     trc_arena_t *arena);
/* The same, saying why: 0 and *out, TRC_ECORRUPT if it does not decode,
 * or TRC_ENOMEM (out of memory is not data loss). */
int trc_rec_decode(const MDB_val *val, const ProtobufCMessageDescriptor *desc,
		   trc_arena_t *arena, void **out);

/* "a\0b" (or "a\0b\0c" with c non-NULL) into buf; returns the length, or 0
 * if it does not fit. The trailing NUL of the last part is not included. */
size_t trc_key2(char *buf, size_t cap, const char *a, const char *b);
size_t trc_key3(char *buf, size_t cap, const char *a, const char *b, const char *c);

/* The part after the first NUL of a composite key (points into key). */
const char *trc_key_tail(const MDB_val *key, size_t *len);

#endif
