/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An entry: one group-commit batch of a service daemon as a replica
 * applies it (proto/traction/v1/cluster.proto; docs/architecture.md,
 * "Entries"). The service runtime encodes the batches it commits
 * (svc_entry.c) and applies decoded ones to its store as a replica would
 * (trc_service_apply_entry); this is the wire's side of it, what a
 * replica decodes from bytes another host sent, and so a decoder that is
 * fuzzed (tests/fuzz/fuzz_entry.c).
 */
#ifndef TRC_ENTRY_H
#define TRC_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "traction/v1/bus.pb-c.h"
#include "traction/v1/cluster.pb-c.h"
#include "traction/v1/events.pb-c.h"

#define TRC_ENTRY_FORMAT 1

/* A checked entry, all of it in al (NULL: malloc; free it with
 * protobuf_c_message_free_unpacked(&e->entry->base, al)): every item's
 * kind known; a request names a service and a method, carries a Route
 * frame that decodes (decoded: routes[i]) and a body; an event decodes,
 * with its source and type (decoded: events[i]); every string of the
 * entry, of its routes and of its events valid UTF-8 without NUL bytes.
 * The request's body is the method's to check (the runtime decodes it as
 * the method's message, as it does a request off the bus). */
typedef struct {
	Traction__V1__Entry *entry;
	Traction__V1__Route **routes;   /* by item; NULL where not a request */
	Traction__V1__Event **events;   /* by item; NULL where not an event */
} trc_entry_t;

/* 0, or TRC_EPROTO with why (a C string) saying what is wrong, or
 * TRC_ENOMEM; on error nothing is left allocated (with al == NULL). */
int trc_entry_decode(const uint8_t *buf, size_t len, ProtobufCAllocator *al, trc_entry_t *e,
		     char *why, size_t whylen);
/* What trc_entry_decode allocated, with al == NULL. */
void trc_entry_free(trc_entry_t *e);

#endif
