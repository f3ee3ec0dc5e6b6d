/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What libtraction's client and publisher share and nothing outside the
 * library sees (its symbols are hidden: only traction_* is exported).
 */
#ifndef TRC_LT_H
#define TRC_LT_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <zmq.h>

/* A DEALER's options and its connection: linger 0, both high-water marks
 * hwm, CurveZMQ with all three keys (40 characters each) or none.
 * 0, or a negative errno (-EINVAL: a key missing or of the wrong length,
 * or no endpoint). */
int lt_connect(void *sock, const char *endpoint, const char *server_public_key,
	       const char *public_key, const char *secret_key, int hwm);

/* CurveZMQ keys of a client (40 characters each), or all NULL. */
typedef struct {
	const char *server, *pub, *sec;
} lt_keys_t;

/* The brokers of an endpoint list (brokers.c): a DEALER each, connected
 * with lt_connect, and with several a monitor of each. A request goes to
 * the current broker; when its connection drops (lt_brokers_events) or it
 * does not answer (lt_brokers_suspect) the current one moves on to the
 * next broker not known to be down. The list order is the preference: a
 * client starts on the first. */
typedef struct lt_brokers lt_brokers_t;

/* 0, or a negative errno (-EINVAL: no endpoint, more than TRC_BROKERS_MAX,
 * a bad key). On error *bp may hold a half-made set: lt_brokers_destroy. */
int lt_brokers_new(lt_brokers_t **bp, void *zctx, const char *endpoints, const lt_keys_t *keys,
		   int hwm);
void lt_brokers_destroy(lt_brokers_t **bp);
size_t lt_brokers_n(const lt_brokers_t *b);
void *lt_brokers_sock(const lt_brokers_t *b, size_t i);
size_t lt_brokers_current(const lt_brokers_t *b);
/* Whether broker i's connection is not known to be down. */
bool lt_brokers_up(const lt_brokers_t *b, size_t i);
/* Broker i did not answer in time, or a send to it failed: if it is the
 * current one, the next becomes current. */
void lt_brokers_suspect(lt_brokers_t *b, size_t i);
/* Poll items: every broker's socket (with events), then every monitor
 * (room for 2 * TRC_BROKERS_MAX). How many. */
size_t lt_brokers_items(const lt_brokers_t *b, zmq_pollitem_t *items, short events);
/* Reads what the monitors said: a mask of the brokers (bit i) whose
 * connection dropped since the last call. */
uint32_t lt_brokers_events(lt_brokers_t *b);

/* malloc and free for protobuf-c that remember whether an allocation
 * failed, so that a message that did not decode can be told apart from
 * memory that ran out. What it allocates is freed by the system
 * allocator too (protobuf_c_message_free_unpacked with NULL). */
typedef struct {
	ProtobufCAllocator al;
	bool failed;
} lt_alloc_t;

void lt_alloc_init(lt_alloc_t *a);

/* A reply body decoded into an arena of its own (reply.c), or NULL:
 * *oom says whether memory ran out (else it does not decode). */
ProtobufCMessage *lt_reply_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data,
				  size_t len, bool *oom);
/* Frees what lt_reply_unpack made (NULL: nothing). */
void lt_reply_free(ProtobufCMessage *m);

#endif
