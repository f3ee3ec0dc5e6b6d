/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The context of one request as a handler sees it: the store transaction,
 * who is calling, the clock, an arena for the reply, and the event log.
 * A handler is a pure function of (call, decoded request) to a reply: it
 * touches no socket, so unit tests call it with a transaction of their own.
 */
#ifndef TRC_CALL_H
#define TRC_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "traction/v1/common.pb-c.h"

#include "arena.h"
#include "evlog.h"
#include "store.h"

#define TRC_CALL_CATCH_UP_MAX 4 /* sources one call may ask to catch up with */

typedef struct trc_call {
	trc_txn_t *txn;          /* read txn for reads, nested write txn for writes */
	trc_arena_t *arena;      /* everything the reply points to lives here */
	trc_evlog_t *evlog;      /* NULL in a read, or in a daemon without events */
	void *user;              /* the daemon's own state */
	const char *client_id;   /* authenticated identity, or "anonymous" */
	int role;                /* Traction__V1__Role */
	char **scenarios;        /* publisher: the scenarios it may write to */
	size_t n_scenarios;
	/* a scoped reader: what it may see (scope.h); both empty: unscoped */
	char **enterprises;
	size_t n_enterprises;
	char **providers;
	size_t n_providers;
	const char *edge;        /* through an edge: its identity; else NULL */
	int64_t now_ms;          /* wall clock at the start of the turn */
	/* the request's body as it came (writes; NULL in reads, or where a
	 * caller has only the decoded request) */
	const uint8_t *body;
	size_t body_len;
	int code;                /* the reply's status code (0: OK) */
	const char *message;     /* the reply's status message */
	/* structured error details (trc_call_detail), sent with an error */
	Traction__V1__ErrorDetail **details;
	size_t n_details;
	/* a read's reply body as the handler already has it packed
	 * (trc_call_reply_packed); NULL: the runtime packs the reply */
	const uint8_t *packed;
	size_t packed_len;
	/* runtime's own: whether the handler may ask to catch up with a
	 * source and run again (trc_call_catch_up), and what it asked */
	bool may_wait;
	const char *catch_up[TRC_CALL_CATCH_UP_MAX];
	size_t n_catch_up;
} trc_call_t;

/* The handle of the daemon's database i (its enum: store.h), in the
 * call's transaction. */
static inline const trc_db_t *trc_call_db(const trc_call_t *call, unsigned i)
{
	return trc_txn_db(call->txn, i);
}

/* A read whose handler keeps its reply packed from an earlier call (a
 * cache that knows the reply has not changed) gives those len bytes
 * instead of filling the reply: they are sent as the body when the
 * handler returns 0, and must stay as they are until it has returned.
 * Only in a read (not call->txn->write); a write's reply is packed by
 * the runtime. */
static inline void trc_call_reply_packed(trc_call_t *call, const uint8_t *data, size_t len)
{
	call->packed = data;
	call->packed_len = len;
}

/* Sets the reply status from err and a message naming the field and why;
 * returns err, so a handler can `return trc_call_fail(...)`. */
int trc_call_fail(trc_call_t *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Adds a structured detail to the call's error (strings copied; NULL is
 * ""): what a program can act on, while the message stays for people.
 * Returns 0, or TRC_ENOMEM. */
int trc_call_detail(trc_call_t *call, const char *subject, const char *reason,
		    const char *current, const char *required);

/* Read-your-writes across daemons, for a handler about to refuse a name
 * another daemon announces (NOT_FOUND: a scenario just submitted, a supply
 * just registered): true if the runtime will first wait, within the
 * request's deadline, until this daemon has applied what `source` had
 * committed when asked, and then run the request again; the handler then
 * returns TRC_EUNAVAIL at once, having written nothing (what the client
 * hears if the request cannot wait: UNAVAILABLE, try again). false: it refuses
 * as it would (this is the run after the wait, or the request may not
 * wait). Several sources may be named before returning; each a string
 * that outlives the call (a literal). */
bool trc_call_catch_up(trc_call_t *call, const char *source);

/* Appends ev with the given type to the event log in the call's
 * transaction; published after the commit. */
int trc_call_emit(trc_call_t *call, const char *type, Traction__V1__Event *ev);

/* Records an administrative change in the daemon's audit log, in the
 * call's (write) transaction: what (action, e.g. "deployment.advance"),
 * on what (subject), why (reason, may be NULL), with details as pairs of
 * strings ending in NULL (may be NULL); who and when come from the call.
 * 0, or a store error (the change then fails with it: a change that
 * cannot be recorded is not made). */
int trc_call_audit(trc_call_t *call, const char *action, const char *subject,
		   const char *reason, const char *const *details);

/* audit.list over the call's store: its audit log newest first, filtered
 * as the AuditListRequest req asks, into the AuditListReply rep, each
 * entry (and the reply) named by daemon. What a service daemon and the
 * broker both answer. */
int trc_call_audit_list(trc_call_t *call, const char *daemon, const ProtobufCMessage *req,
			ProtobufCMessage *rep);

/* backup.begin's databases: each database of cut's store and its
 * entries as cut sees them, into the BackupBeginReply rep. 0 or
 * TRC_ENOMEM. */
int trc_call_backup_databases(trc_call_t *call, trc_txn_t *cut, ProtobufCMessage *rep);
/* backup.read of a copy written (the file fd, size bytes, its SHA-256):
 * the BackupReadReply rep, ready, with the piece of the copy the
 * BackupReadRequest req asks for, at most half of max_message_kb (room
 * for the frames around it), in the call's arena. What a service daemon
 * and the broker both answer. */
int trc_call_backup_read(trc_call_t *call, int fd, uint64_t size, const char *sha256,
			 unsigned max_message_kb, const ProtobufCMessage *req,
			 ProtobufCMessage *rep);

/* A handler of one method: fills rep (already initialised from its
 * descriptor) and returns 0, or returns a negative trc_err after
 * trc_call_fail (or without it: the message is then trc_strerror(err)). */
typedef int (*trc_handler_fn)(trc_call_t *call, const ProtobufCMessage *req,
			      ProtobufCMessage *rep);

#endif
