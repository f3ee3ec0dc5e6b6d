/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-notifyd: webhook delivery of alerts (service "notify", v1.1).
 *
 * It consumes source "feedback" and, for every alert.fired and
 * alert.resolved event and every webhook whose filter takes it, writes a
 * delivery row and its due key in the transaction that advances its
 * position: that is the durable queue, nothing is forgotten before it is
 * on disk. Its tick, in the group-commit write transaction, writes back
 * the attempts the sender finished (sender.h: libcurl on a thread of its
 * own) and picks the due deliveries, at most max_in_flight per webhook,
 * which go to the sender once that transaction is committed
 * (batch_done). The tick runs every 100 ms and at once when the sender
 * finishes an attempt or an alert is queued (tick_fd, an eventfd). What
 * is in flight is known only in memory: after a restart a delivery cut
 * short is due again and sent again (at least once; the
 * Traction-Delivery header lets a receiver drop a duplicate).
 *
 *   methods.c     the method table, databases, sources consumed
 *   conf.c        [notify] of the config file
 *   webhooks.c    webhook.add, .list, .remove
 *   deliveries.c  the queue: apply_event, webhook.deliveries, .retry,
 *                 an attempt's result written back
 *   dispatch.c    the tick: results, due deliveries to the sender, pruning
 *   body.c        what is sent: the JSON body and the headers
 *   sign.c        Traction-Signature (pure)
 *   retry.c       what an attempt's outcome means, and the backoff (pure)
 *   sender.[ch]   the HTTP client thread (libcurl multi)
 *   hooks.c       open, close, metrics
 */
#ifndef NOTIFYD_H
#define NOTIFYD_H

#include <stdbool.h>
#include <stdint.h>

#include "sender.h"
#include "service.h"
#include "traction/v1/notify.pb-c.h"

/* Its databases, by index (methods.c declares each one's layout). */
enum {
	NT_DB_HOOKS,       /* name -> Webhook (with its secret) */
	NT_DB_DELIVERIES,  /* webhook, be64 seq -> Delivery */
	NT_DB_DUE,         /* webhook, be64 next_ms, be64 seq -> "": PENDING ones */
	NT_DB_FINISHED,    /* be64 finished_ms, webhook, be64 seq -> "": DONE, DEAD */
	NT_DB_COUNT
};

#define NT_SCHEMA_VERSION 1
#define NT_URL_MAX 2048
#define NT_SECRET_MIN 16
#define NT_SECRET_MAX 1024
#define NT_RULES_MAX 64
#define NT_IN_FLIGHT_DEFAULT 4
#define NT_IN_FLIGHT_MAX 64
#define NT_LIST_DEFAULT 100
#define NT_LIST_MAX 1000
#define NT_ID_MAX 96          /* "<seq>-<webhook>" with its NUL */

/* [notify] (conf.c). */
typedef struct {
	unsigned backoff_base_ms;
	unsigned backoff_cap_ms;
	unsigned max_attempts;
	unsigned max_age_s;
	unsigned timeout_ms;
	unsigned keep_s;
	unsigned dispatch_max;   /* deliveries handed to the sender in one tick */
} nt_conf_t;

extern const trc_conf_section_t nt_conf_section;
extern const trc_conf_section_t *const notifyd_config[];

/* ---- retry.c: what an attempt's outcome means (pure) ---------------------- */

typedef enum {
	NT_DELIVERED,       /* 2xx */
	NT_RETRY,           /* 5xx, 408, 429, a timeout, no connection */
	NT_REJECTED,        /* any other answer: retrying would not change it */
} nt_outcome_t;

nt_outcome_t nt_outcome(nt_net_t net, long status);
const char *nt_outcome_name(nt_outcome_t o);

/* The wait before attempt `attempts + 1`, after `attempts` (1, 2, ...)
 * failed: base * 2^(attempts-1), at most cap, of which the upper half is
 * jitter (rnd: a uniform 32-bit number), so that receivers that come back
 * are not hit by every sender at once. */
uint64_t nt_backoff_ms(unsigned base_ms, unsigned cap_ms, unsigned attempts, uint32_t rnd);

/* ---- sign.c: Traction-Signature (pure) ------------------------------------ */

#define NT_SIG_MAX 96   /* "t=<digits>,v1=<64 hex>" with its NUL */

/* "t=<t>,v1=<hex of HMAC-SHA256(secret, "<t>.<body>")>" into out. */
void nt_sign(const uint8_t *secret, size_t secret_len, int64_t t, const void *body,
	     size_t body_len, char out[NT_SIG_MAX]);

/* "sha256:" and 16 hex digits of SHA-256(secret). */
void nt_fingerprint(const uint8_t *secret, size_t len, char out[24]);

/* ---- the daemon's state ---------------------------------------------------- */

typedef struct nt_flight nt_flight_t;   /* dispatch.c: in flight, by delivery */
typedef struct nt_load nt_load_t;       /* dispatch.c: in flight, by webhook */
typedef struct nt_series nt_series_t;   /* hooks.c: metrics by webhook */

typedef struct {
	nt_conf_t conf;
	nt_sender_t *sender;
	int wake_fd;                /* eventfd: a tick now (the runtime's tick_fd) */
	nt_flight_t *flights;
	nt_load_t *loads;
	/* of the batch under way (dispatch.c), settled by nt_batch_done */
	nt_job_t *staged;           /* picked: to the sender once it commits */
	nt_job_t *settled;          /* results written: forgotten once it commits */
	nt_job_t *retake;           /* results of a batch that failed: again */
	/* metrics (NULL without them) */
	trc_metrics_t *m;
	nt_series_t *series;
	trc_series_t *queue;        /* deliveries pending */
	trc_series_t *in_flight;
	trc_series_t *latency;      /* one attempt, seconds */
} nt_state_t;

/* ---- methods.c ---------------------------------------------------------------- */

extern const trc_dbs_t notifyd_dbs;
extern const trc_consume_t notifyd_consumes[];
extern const trc_method_t notifyd_methods[];
extern const size_t notifyd_n_methods;

/* ---- webhooks.c ----------------------------------------------------------------- */

int notifyd_webhook_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int notifyd_webhook_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int notifyd_webhook_remove(trc_call_t *call, const ProtobufCMessage *req,
			   ProtobufCMessage *rep);
/* Whether the webhook takes the alert (its rule and severity filters). */
bool nt_webhook_takes(const Traction__V1__Webhook *h, const Traction__V1__Alert *a);

/* ---- deliveries.c ------------------------------------------------------------- */

/* trc_daemon_def_t.apply_event: the deliveries of an alert event. */
int notifyd_apply(trc_call_t *call, const Traction__V1__Event *ev);
int notifyd_webhook_deliveries(trc_call_t *call, const ProtobufCMessage *req,
			       ProtobufCMessage *rep);
int notifyd_webhook_retry(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* "<seq>-<webhook>" into out (NT_ID_MAX); and back: false if malformed. */
void nt_delivery_id(uint64_t seq, const char *webhook, char *out);
bool nt_delivery_id_parse(const char *id, uint64_t *seq, char *webhook, size_t cap);

/* A delivery's row, by its webhook and seq: 0, TRC_ENOENT, or an error. */
int nt_delivery_get(trc_call_t *call, const char *webhook, uint64_t seq,
		    Traction__V1__Delivery **out);
/* Writes d, its due or finished key moved from where `was` (a copy of
 * the row before the change; NULL: a new row) had it. */
int nt_delivery_put(trc_call_t *call, const Traction__V1__Delivery *d,
		    const Traction__V1__Delivery *was);
/* An attempt's result on d: attempts, status, error (in arena), and its
 * next state under conf's retry policy (rnd: for the jitter). Returns
 * the attempt's outcome. */
nt_outcome_t nt_delivery_result(Traction__V1__Delivery *d, const nt_conf_t *conf,
				const nt_result_t *r, int64_t now_ms, uint32_t rnd,
				trc_arena_t *arena);
/* Drops every delivery of a webhook (webhook.remove). */
int nt_deliveries_drop(trc_call_t *call, const char *webhook);

/* ---- body.c ----------------------------------------------------------------------- */

/* The request of one attempt of d to h at unix time t (seconds): the JSON
 * body, its signature and headers, as a sender job (malloc'd), or NULL. */
nt_job_t *nt_job_make(const Traction__V1__Webhook *h, const Traction__V1__Delivery *d,
		      int64_t t);
/* The JSON body alone (malloc'd, *len bytes), or NULL. */
char *nt_body(const Traction__V1__Delivery *d, size_t *len);

/* ---- dispatch.c --------------------------------------------------------------------- */

int notifyd_tick(trc_call_t *call);
/* trc_daemon_def_t.batch_done: what the tick picked goes to the sender
 * if its batch committed; else its results are written again. */
void nt_batch_done(void *user, bool committed);
/* A tick at once (any thread): an attempt finished, a delivery is due. */
void nt_wake(const nt_state_t *st);
/* Forgets what is in flight (close). */
void nt_flights_free(nt_state_t *st);
/* A webhook's in-flight count (tests, metrics). */
unsigned nt_load_of(const nt_state_t *st, const char *webhook);

/* ---- hooks.c ------------------------------------------------------------------------ */

int notifyd_open(void *user, trc_store_t *store, const trc_config_t *cfg);
/* trc_daemon_def_t.tick_fd: the wake-up eventfd. */
int notifyd_tick_fd(void *user);
void notifyd_close(void *user);
void notifyd_metrics(void *user, trc_metrics_t *m);
/* An attempt counted (webhook, outcome), and a delivery finished. */
void nt_count_attempt(nt_state_t *st, const char *webhook, nt_outcome_t o, double seconds);
void nt_count_final(nt_state_t *st, const char *webhook, bool delivered);

#endif
