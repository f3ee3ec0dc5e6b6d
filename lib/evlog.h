/*
 * The event log of a daemon: every state change writes an event in the
 * same LMDB transaction, under a gap-free sequence number (the last key of
 * the events database plus one), and the event is published on the bus
 * only after the commit. Consumers keep, in their own store, the last
 * sequence they applied of each source, and ask the source to replay from
 * there on start and on a gap.
 */
#ifndef TRC_EVLOG_H
#define TRC_EVLOG_H

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

/* Fills in ev->source, ev->seq and (if 0) ev->time_ms, stores it in txn and
 * queues it for publishing. Returns 0 and the sequence in *seq (may be NULL),
 * or a negative trc_err (also made sticky on txn). */
int trc_evlog_append(trc_evlog_t *log, trc_txn_t *txn, Traction__V1__Event *ev,
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

/* Decodes up to max events from seq `from` on into out[] (allocated with al;
 * out must hold max pointers), and no more than max_bytes of them (but
 * always one, if there is one). *n is how many; they are consecutive. */
int trc_evlog_read(trc_txn_t *txn, uint64_t from, size_t max, size_t max_bytes,
		   ProtobufCAllocator *al, Traction__V1__Event **out, size_t *n);

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
