/*
 * What libtraction's client and publisher share and nothing outside the
 * library sees (its symbols are hidden: only traction_* is exported).
 */
#ifndef TRC_LT_H
#define TRC_LT_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* A DEALER's options and its connection: linger 0, both high-water marks
 * hwm, CurveZMQ with all three keys (40 characters each) or none.
 * 0, or a negative errno (-EINVAL: a key missing or of the wrong length,
 * or no endpoint). */
int lt_connect(void *sock, const char *endpoint, const char *server_public_key,
	       const char *public_key, const char *secret_key, int hwm);

/* malloc and free for protobuf-c that remember whether an allocation
 * failed, so that a message that did not decode can be told apart from
 * memory that ran out. What it allocates is freed by the system
 * allocator too (traction_reply_free). */
typedef struct {
	ProtobufCAllocator al;
	bool failed;
} lt_alloc_t;

void lt_alloc_init(lt_alloc_t *a);

#endif
