/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tick, in the group-commit write transaction: the attempts the
 * sender finished are written back (done, dead, or due again after a
 * backoff), then due deliveries are made ready for the sender, at most a
 * webhook's max_in_flight at once, then finished deliveries older than
 * keep_s are forgotten. It runs every 100 ms and, besides, as soon as the
 * sender finishes an attempt or a delivery is queued (the runtime's
 * tick_fd: the wake-up eventfd the sender and apply_event write).
 *
 * Nothing is handed over before the transaction that decides it is on
 * disk: batch_done (nt_batch_done) submits the deliveries the tick made
 * ready once their batch committed, and forgets the results it wrote;
 * if the batch failed, the results are written again by the next tick
 * and the deliveries are picked again. So a delivery's result is
 * committed before the delivery can be sent again (a finished attempt
 * keeps its id among the flights until then), and a delivery queued in
 * the same batch is not sent before its row is durable.
 *
 * What is in flight is known here only, in memory: a delivery is written
 * nowhere when it is sent, so one cut short by a crash is still due on
 * disk and goes again after the restart (at least once).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uthash.h>

#include "dbkey.h"
#include "error.h"
#include "log.h"
#include "notifyd.h"
#include "record.h"

#define NT_PRUNE_MAX 256   /* finished deliveries forgotten in one tick, at most */

/* A delivery between its dispatch and the commit of its result: it is
 * not picked again meanwhile. */
struct nt_flight {
	char id[NT_ID_MAX];
	UT_hash_handle hh;
};

/* A webhook's slots taken: deliveries dispatched whose result is not
 * written yet (a result written frees its slot in the same tick). */
struct nt_load {
	char name[72];
	unsigned n;
	UT_hash_handle hh;
};

unsigned nt_load_of(const nt_state_t *st, const char *webhook)
{
	nt_load_t *l = NULL;
	HASH_FIND_STR(st->loads, webhook, l);
	return l != NULL ? l->n : 0;
}

static bool s_flying(const nt_state_t *st, const char *id)
{
	nt_flight_t *f = NULL;
	HASH_FIND_STR(st->flights, id, f);
	return f != NULL;
}

/* One more (up) or one fewer of a webhook's slots taken. */
static int s_load(nt_state_t *st, const char *webhook, bool up)
{
	nt_load_t *l = NULL;
	HASH_FIND_STR(st->loads, webhook, l);
	if (l == NULL && up) {
		l = calloc(1, sizeof(*l));
		if (l == NULL)
			return TRC_ENOMEM;
		snprintf(l->name, sizeof(l->name), "%s", webhook);
		HASH_ADD_STR(st->loads, name, l);
	}
	if (l != NULL && up)
		l->n++;
	else if (l != NULL && l->n > 0)
		l->n--;
	return 0;
}

static int s_flight_begin(nt_state_t *st, const char *id, const char *webhook)
{
	nt_flight_t *f = calloc(1, sizeof(*f));
	if (f == NULL || s_load(st, webhook, true) != 0) {
		free(f);
		return TRC_ENOMEM;
	}
	snprintf(f->id, sizeof(f->id), "%s", id);
	HASH_ADD_STR(st->flights, id, f);
	return 0;
}

static void s_flight_end(nt_state_t *st, const nt_job_t *job)
{
	char id[NT_ID_MAX];
	nt_delivery_id(job->seq, job->webhook, id);
	nt_flight_t *f = NULL;
	HASH_FIND_STR(st->flights, id, f);
	if (f == NULL)
		return;
	HASH_DEL(st->flights, f);
	free(f);
}

static void s_jobs_free(nt_job_t **list)
{
	while (*list != NULL) {
		nt_job_t *j = *list;
		*list = j->next;
		nt_job_free(j);
	}
}

void nt_flights_free(nt_state_t *st)
{
	s_jobs_free(&st->staged);
	s_jobs_free(&st->settled);
	s_jobs_free(&st->retake);
	nt_flight_t *f, *ft;
	HASH_ITER(hh, st->flights, f, ft)
	{
		HASH_DEL(st->flights, f);
		free(f);
	}
	nt_load_t *l, *lt;
	HASH_ITER(hh, st->loads, l, lt)
	{
		HASH_DEL(st->loads, l);
		free(l);
	}
}

void nt_wake(const nt_state_t *st)
{
	uint64_t one = 1;
	/* without its sender (open not run: a unit test) there is no loop */
	if (st != NULL && st->sender != NULL && write(st->wake_fd, &one, sizeof(one)) != sizeof(one))
		trc_debug("wake-up: %s", strerror(errno)); /* one is waiting already */
}

/* The batch of the tick failed (or the tick did): the results go back to
 * be written again, their slots taken again, and the deliveries made
 * ready are dropped (still due on disk, picked again). */
static void s_undo(nt_state_t *st)
{
	while (st->settled != NULL) {
		nt_job_t *j = st->settled;
		st->settled = j->next;
		(void)s_load(st, j->webhook, true); /* its entry is there: no memory needed */
		j->next = st->retake;
		st->retake = j;
	}
	while (st->staged != NULL) {
		nt_job_t *j = st->staged;
		st->staged = j->next;
		s_flight_end(st, j);
		(void)s_load(st, j->webhook, false);
		nt_job_free(j);
	}
}

void nt_batch_done(void *user, bool committed)
{
	nt_state_t *st = user;
	if (!committed) {
		if (st->settled != NULL || st->staged != NULL)
			nt_wake(st); /* try again at once */
		s_undo(st);
		return;
	}
	while (st->settled != NULL) {
		nt_job_t *j = st->settled;
		st->settled = j->next;
		s_flight_end(st, j);
		nt_job_free(j);
	}
	nt_job_t *fifo = NULL; /* staged newest first */
	while (st->staged != NULL) {
		nt_job_t *j = st->staged;
		st->staged = j->next;
		j->next = fifo;
		fifo = j;
	}
	while (fifo != NULL) {
		nt_job_t *j = fifo;
		fifo = j->next;
		nt_sender_submit(st->sender, j);
	}
}

/* ---- results -------------------------------------------------------------------- */

static int s_result(trc_call_t *call, nt_state_t *st, nt_job_t *job)
{
	Traction__V1__Delivery *d;
	int rc = nt_delivery_get(call, job->webhook, job->seq, &d);
	if (rc == TRC_ENOENT)
		return 0; /* its webhook was removed while it flew */
	if (rc != 0)
		return rc;
	if (d->state != TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING)
		return 0;
	Traction__V1__Delivery was = *d;
	nt_outcome_t o = nt_delivery_result(d, &st->conf, &job->result, call->now_ms,
					    randombytes_random(), call->arena);
	rc = nt_delivery_put(call, d, &was);
	if (rc != 0)
		return rc;
	nt_count_attempt(st, d->webhook, o, job->result.seconds);
	if (d->state != TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING)
		nt_count_final(st, d->webhook, o == NT_DELIVERED);
	if (o == NT_DELIVERED)
		trc_debug("delivery=%s attempt=%u delivered status=%d", d->id, d->attempts,
			  d->last_status);
	else if (d->state == TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING)
		trc_info("delivery=%s attempt=%u failed (%s): again in %" PRId64 " ms", d->id,
			 d->attempts, d->last_error, d->next_ms - call->now_ms);
	else
		trc_warn("delivery=%s attempt=%u %s (%s): dead", d->id, d->attempts,
			 nt_outcome_name(o), d->last_error);
	return 0;
}

/* The results to write: those of a batch that failed, then the new ones.
 * Each frees its webhook's slot now; its id stays among the flights
 * until the batch commits (nt_batch_done). */
static int s_results(trc_call_t *call, nt_state_t *st)
{
	nt_job_t *done = st->retake;
	st->retake = NULL;
	nt_job_t **tail = &done;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = nt_sender_take(st->sender);
	int rc = 0;
	while (done != NULL) {
		nt_job_t *job = done;
		done = job->next;
		(void)s_load(st, job->webhook, false);
		/* after a store error the tick fails: s_undo takes them all back */
		if (rc == 0)
			rc = s_result(call, st, job);
		job->next = st->settled;
		st->settled = job;
	}
	return rc;
}

/* ---- due deliveries made ready ------------------------------------------------------ */

/* Up to the webhook's free slots (and *budget) of its due deliveries. */
static int s_dispatch_hook(trc_call_t *call, nt_state_t *st, const Traction__V1__Webhook *h,
			   unsigned *budget)
{
	unsigned limit = h->max_in_flight > 0 ? h->max_in_flight : NT_IN_FLIGHT_DEFAULT;
	unsigned load = nt_load_of(st, h->name);
	if (load >= limit)
		return 0;
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, NT_DB_DUE), &it, h->name,
				 strlen(h->name), false);
	while (rc == 0 && load < limit && *budget > 0 && trc_iter_next(&it)) {
		trc_dbsplit_t sp;
		size_t len;
		trc_dbsplit_init(&sp, &it.key);
		trc_dbsplit_str(&sp, &len);
		int64_t next_ms = (int64_t)trc_dbsplit_be64(&sp);
		uint64_t seq = trc_dbsplit_be64(&sp);
		if (!trc_dbsplit_done(&sp))
			continue;
		if (next_ms > call->now_ms)
			break; /* in time order: the rest are later */
		char id[NT_ID_MAX];
		nt_delivery_id(seq, h->name, id);
		if (s_flying(st, id))
			continue;
		Traction__V1__Delivery *d;
		rc = nt_delivery_get(call, h->name, seq, &d);
		if (rc == TRC_ENOENT) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		nt_job_t *job = nt_job_make(h, d, call->now_ms / 1000);
		if (job == NULL || s_flight_begin(st, id, h->name) != 0) {
			nt_job_free(job);
			rc = TRC_ENOMEM;
			break;
		}
		job->timeout_ms = st->conf.timeout_ms;
		job->next = st->staged; /* submitted once this commits */
		st->staged = job;
		load++;
		(*budget)--;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

static int s_dispatch(trc_call_t *call, nt_state_t *st)
{
	unsigned budget = st->conf.dispatch_max;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_HOOKS), &it, NULL, 0, NULL, 0,
				false);
	while (rc == 0 && budget > 0 && trc_iter_next(&it)) {
		Traction__V1__Webhook *h;
		rc = trc_iter_rec(&it, call->arena, (void **)&h);
		if (rc == 0)
			rc = s_dispatch_hook(call, st, h, &budget);
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

/* ---- forgetting ------------------------------------------------------------------------ */

static int s_prune(trc_call_t *call, nt_state_t *st)
{
	int64_t before = call->now_ms - (int64_t)st->conf.keep_s * 1000;
	struct {
		trc_dbkey_t fin, row;
	} *v = trc_arena_alloc(call->arena, sizeof(*v) * NT_PRUNE_MAX);
	if (v == NULL)
		return TRC_ENOMEM;
	size_t n = 0;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_FINISHED), &it, NULL, 0, NULL,
				0, false);
	while (rc == 0 && n < NT_PRUNE_MAX && trc_iter_next(&it)) {
		trc_dbsplit_t sp;
		char webhook[72];
		trc_dbsplit_init(&sp, &it.key);
		int64_t fin = (int64_t)trc_dbsplit_be64(&sp);
		bool ok = trc_dbsplit_cstr(&sp, webhook, sizeof(webhook));
		uint64_t seq = trc_dbsplit_be64(&sp);
		if (fin >= before)
			break;
		if (!ok || !trc_dbsplit_done(&sp))
			continue;
		trc_dbkey_init(&v[n].fin);
		trc_dbkey_raw(&v[n].fin, it.key.mv_data, it.key.mv_size);
		trc_dbkey_of(&v[n].row, webhook);
		trc_dbkey_be64(&v[n].row, seq);
		n++;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = trc_txn_del(call->txn, trc_call_db(call, NT_DB_FINISHED), v[i].fin.buf,
				 v[i].fin.len);
		if (rc == 0 || rc == TRC_ENOENT)
			rc = trc_txn_del(call->txn, trc_call_db(call, NT_DB_DELIVERIES), v[i].row.buf,
					 v[i].row.len);
		if (rc == TRC_ENOENT)
			rc = 0;
	}
	return rc != 0 ? rc : call->txn->err;
}

int notifyd_tick(trc_call_t *call)
{
	nt_state_t *st = call->user;
	int rc = s_results(call, st);
	if (rc == 0)
		rc = s_dispatch(call, st);
	if (rc == 0)
		rc = s_prune(call, st);
	if (rc != 0)
		s_undo(st); /* its transaction is dropped: nothing of it happened */
	size_t queued = 0;
	if (rc == 0 && st->queue != NULL &&
	    trc_txn_entries(call->txn, trc_call_db(call, NT_DB_DUE), &queued) == 0)
		trc_metric_set(st->queue, (double)queued);
	trc_metric_set(st->in_flight, (double)HASH_COUNT(st->flights));
	return rc;
}
