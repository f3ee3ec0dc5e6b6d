/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log of a daemon: every state change writes an event in the
 * same LMDB transaction, under a gap-free sequence number (the last key of
 * the events database plus one), and the event is published on the bus
 * only after the commit. Consumers keep, in their own store, the last
 * sequence they applied of each source, and ask the source to replay from
 * there on start and on a gap.
 *
 * The log is bounded (evtrim.c; docs/protocol.md "Events", "Compaction"):
 * each event names the keys of the records it carries the whole new state
 * of (the daemon's keys function), an index keeps each key's newest event,
 * and a background trim moves the log's floor up past events older than
 * the retention. Below the floor only the newest event of each key is
 * kept (the log compacts into a snapshot of every record's latest state);
 * from the floor on the log is gap-free. A replay from below the floor
 * says so (ReplayReply.compacted_below), and the consumer accepts the
 * gaps below it.
 */
#ifndef TRC_EVLOG_H
#define TRC_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "traction/v1/events.pb-c.h"

typedef struct trc_evlog trc_evlog_t;

/* source: the name in Event.source ("supply", ...). */
trc_evlog_t *trc_evlog_new(const char *source);
void trc_evlog_destroy(trc_evlog_t **log_p);
const char *trc_evlog_source(const trc_evlog_t *log);
/* The topic prefixes its events' types must start with (NULL-terminated,
 * kept by reference; NULL, the default: any type). Consumers subscribe by
 * prefix, so an event of another type would reach them only by replay:
 * trc_evlog_append refuses it as it refuses an empty type. */
void trc_evlog_set_topics(trc_evlog_t *log, const char *const *topics);

/* The keys of an event: the records whose whole new state it carries,
 * each handed to emit (key bytes: a trc_dbkey of the record's kind and
 * ids; at most TRC_DBKEY_MAX). None: the event is not state (a consumer
 * further behind than the retention does not get it). 0, or the first
 * non-zero return of emit. */
typedef int (*trc_evlog_key_fn)(void *ud, const void *key, size_t len);
typedef int (*trc_evlog_keys_fn)(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
/* For keys functions: emits the key made of string parts (the record's
 * kind, then its ids; a NULL part reads as ""). A key too long for LMDB
 * is not emitted (ids are bounded by validation long before). */
#define trc_evlog_emit(emit, ud, ...)                                   \
	trc_evlog_emitn((emit), (ud), (const char *const[]){ __VA_ARGS__ }, \
			sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
int trc_evlog_emitn(trc_evlog_key_fn emit, void *ud, const char *const *parts, size_t n);
/* Without a keys function (the default) the log is never trimmed: a
 * daemon that does not say what its events are about keeps them all. */
void trc_evlog_set_keys(trc_evlog_t *log, trc_evlog_keys_fn keys);
bool trc_evlog_keyed(const trc_evlog_t *log);
/* The keys function of log on ev (0 keys without one). */
int trc_evlog_keys_of(const trc_evlog_t *log, const Traction__V1__Event *ev,
		      trc_evlog_key_fn emit, void *ud);

/* Fills in ev->source, ev->seq and ev->time_ms (now_ms: the clock of the
 * batch whose transaction txn is, the same on every replica that applies
 * it; never this host's wall clock), stores it in txn and queues it for
 * publishing. Returns 0 and the sequence in *seq (may be NULL), or a
 * negative trc_err (also made sticky on txn). */
int trc_evlog_append(trc_evlog_t *log, trc_txn_t *txn, Traction__V1__Event *ev, int64_t now_ms,
		     uint64_t *seq);

/* Nested transactions: remember the queue, and drop what was queued since
 * when the nested transaction aborts. */
size_t trc_evlog_mark(const trc_evlog_t *log);
void trc_evlog_rollback(trc_evlog_t *log, size_t mark);

/* After a durable commit: hand every queued event to publish, in order, then
 * empty the queue. After a failed commit: trc_evlog_rollback(log, 0). */
typedef void (*trc_evlog_publish_fn)(void *ud, const char *topic, const void *data,
				     size_t len);
void trc_evlog_flush(trc_evlog_t *log, trc_evlog_publish_fn publish, void *ud);
size_t trc_evlog_pending(const trc_evlog_t *log);

/* The last sequence written (0: none). */
uint64_t trc_evlog_head(trc_txn_t *txn);

/* The floor: every event from it on is in the log; below it only the
 * newest event of each key (1: nothing was trimmed). */
uint64_t trc_evlog_floor(trc_txn_t *txn);

/* Decodes up to max events from seq `from` on into out[] (allocated with al;
 * out must hold max pointers), and no more than max_bytes of them (but
 * always one, if there is one). *n is how many; they are consecutive from
 * the floor on, and below it those compaction kept. */
int trc_evlog_read(trc_txn_t *txn, uint64_t from, size_t max, size_t max_bytes,
		   ProtobufCAllocator *al, Traction__V1__Event **out, size_t *n);

/* ---- retention (evtrim.c) ---- */

/* How long events stay whole: an event is trimmed (deleted, unless it is
 * the newest of one of its keys) once it is older than keep_ms or more
 * than keep_max behind the head (0: no bound of that kind); at most
 * per_tick events are examined by one trc_evlog_trim. The head event is
 * never trimmed (the next sequence follows it). */
typedef struct {
	int64_t keep_ms;
	uint64_t keep_max;
	unsigned per_tick;
} trc_evlog_retention_t;

/* One bounded step of the background trim, in the write transaction txn
 * at wall clock now_ms: first indexes the events a store written before
 * the index had (a range noted by trc_evlog_open), then moves the floor.
 * *trimmed: events deleted; *more: it stopped at per_tick, not where the
 * retention ends (both may be NULL). Nothing without a keys function or
 * a bound. 0 or a sticky trc_err. */
int trc_evlog_trim(trc_evlog_t *log, trc_txn_t *txn, const trc_evlog_retention_t *ret,
		   int64_t now_ms, size_t *trimmed, bool *more);

/* At start, in a write transaction: a store whose events predate the key
 * index notes them as to be indexed before any is trimmed. */
int trc_evlog_open(trc_evlog_t *log, trc_txn_t *txn);

/* For evlog.c: the key index's part of an append (each key now points at
 * seq; an event below the floor it supersedes for its last key goes). */
int trc_evlog_index_append(trc_evlog_t *log, trc_txn_t *txn, const Traction__V1__Event *ev);

/* A consumer's position: the last sequence of source it applied (0: none). */
int trc_position_get(trc_txn_t *txn, const char *source, uint64_t *seq);
int trc_position_set(trc_txn_t *txn, const char *source, uint64_t seq);

/* What to do with event seq of a source whose applied position is applied. */
typedef enum {
	TRC_EVENT_APPLY,   /* the next one: apply it and advance */
	TRC_EVENT_OLD,     /* already applied: drop it */
	TRC_EVENT_GAP,     /* something was missed: drop it and replay */
} trc_event_verdict_t;

static inline trc_event_verdict_t trc_event_verdict(uint64_t applied, uint64_t seq)
{
	if (seq <= applied)
		return TRC_EVENT_OLD;
	return seq == applied + 1 ? TRC_EVENT_APPLY : TRC_EVENT_GAP;
}

#endif
