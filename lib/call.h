/*
 * The context of one request as a handler sees it: the store transaction,
 * who is calling, the clock, an arena for the reply, and the event log.
 * A handler is a pure function of (call, decoded request) to a reply: it
 * touches no socket, so unit tests call it with a transaction of their own.
 */
#ifndef TRC_CALL_H
#define TRC_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "evlog.h"
#include "store.h"

typedef struct trc_call {
	trc_txn_t *txn;          /* read txn for reads, nested write txn for writes */
	trc_arena_t *arena;      /* everything the reply points to lives here */
	trc_evlog_t *evlog;      /* NULL in a read, or in a daemon without events */
	void *user;              /* the daemon's own state */
	const char *client_id;   /* authenticated identity, or "anonymous" */
	int role;                /* Traction__V1__Role */
	char **scenarios;        /* publisher: the scenarios it may write to */
	size_t n_scenarios;
	int64_t now_ms;          /* wall clock at the start of the turn */
	/* the request's body as it came (writes; NULL in reads, or where a
	 * caller has only the decoded request) */
	const uint8_t *body;
	size_t body_len;
	int code;                /* the reply's status code (0: OK) */
	const char *message;     /* the reply's status message */
} trc_call_t;

/* Sets the reply status from err and a message naming the field and why;
 * returns err, so a handler can `return trc_call_fail(...)`. */
int trc_call_fail(trc_call_t *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends ev with the given type to the event log in the call's
 * transaction; published after the commit. */
int trc_call_emit(trc_call_t *call, const char *type, Traction__V1__Event *ev);

/* A handler of one method: fills rep (already initialised from its
 * descriptor) and returns 0, or returns a negative trc_err after
 * trc_call_fail (or without it: the message is then trc_strerror(err)). */
typedef int (*trc_handler_fn)(trc_call_t *call, const ProtobufCMessage *req,
			      ProtobufCMessage *rep);

#endif
