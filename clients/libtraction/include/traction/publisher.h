/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous feedback publisher of libtraction: many records in
 * flight, batched into publish requests, each record acknowledged once it
 * is on disk (a callback per record), retried on timeout, on a broker
 * restart or while the service is unavailable, re-using its idempotency
 * key so that a retry never stores a record twice. Bounded: when its queue
 * is full, traction_publish says RESOURCE_EXHAUSTED instead of growing.
 *
 * Single-threaded like the rest of libtraction: call traction_publisher_poll
 * often (it sends, receives and retries), and traction_publisher_flush to
 * wait for every acknowledgement. Errors follow traction.h's convention.
 */
#ifndef TRACTION_PUBLISHER_H
#define TRACTION_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traction/traction.h"
#include "traction/v1/feedback.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct traction_publisher traction_publisher_t;

typedef struct {
	uint64_t tag;            /* what the caller passed to traction_publish */
	int code;                /* 0: stored durably; else the status code */
	const char *message;     /* why, when code is not 0; valid during the call only */
	uint64_t record_id;      /* the stored record (the first one, for a duplicate) */
	bool duplicate;          /* its key had been stored before */
} traction_ack_t;

typedef void (*traction_ack_fn)(void *ud, const traction_ack_t *ack);

typedef struct {
	int timeout_ms;          /* a request unanswered this long is sent again (0: 5000) */
	size_t max_queued;       /* records queued or in flight, at most (0: 100000) */
	size_t batch;            /* records per request, at most (0: 64) */
	size_t max_in_flight;    /* requests in flight, at most (0: 32) */
	traction_ack_fn on_ack;  /* called once per record, from poll or flush */
	void *ud;
	const char *client_name;
	const char *server_public_key; /* CurveZMQ, as in traction_options_t */
	const char *public_key;
	const char *secret_key;
} traction_publisher_options_t;

/* Returns 0, or a negative errno (*pub_p NULL); opts may be NULL. */
TRACTION_API int traction_publisher_new(traction_publisher_t **pub_p, const char *endpoint,
					const traction_publisher_options_t *opts);
TRACTION_API void traction_publisher_destroy(traction_publisher_t **pub_p);

/* Queues a copy of record. Without an idempotency key it gets one, unique
 * to this publisher, kept across retries. Returns 0, RESOURCE_EXHAUSTED
 * when the queue is full (poll, then try again), or INVALID_ARGUMENT. */
TRACTION_API int traction_publish(traction_publisher_t *pub,
				  const Traction__V1__FeedbackRecord *record, uint64_t tag);

/* Sends what it may, waits up to timeout_ms for replies, delivers
 * acknowledgements, resends what timed out. Returns how many records were
 * acknowledged (0 for a NULL publisher). A reply it cannot decode (out of
 * memory) acknowledges nothing: its records are sent again, under their
 * keys. */
TRACTION_API int traction_publisher_poll(traction_publisher_t *pub, int timeout_ms);

/* Polls until every queued record is acknowledged: 0, or
 * DEADLINE_EXCEEDED if timeout_ms passed first (INVALID_ARGUMENT for a
 * NULL publisher). */
TRACTION_API int traction_publisher_flush(traction_publisher_t *pub, int timeout_ms);

/* Records queued or in flight (0 for a NULL publisher). */
TRACTION_API size_t traction_publisher_pending(const traction_publisher_t *pub);

#ifdef __cplusplus
}
#endif

#endif
