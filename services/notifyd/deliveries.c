/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable queue. A delivery is one alert event on its way to one
 * webhook: its row (webhook, seq) holds the alert, its state and its
 * attempts; a PENDING one has a due key (webhook, next_ms, seq), which
 * the tick scans per webhook in time order; a DONE or DEAD one a
 * finished key (finished_ms, webhook, seq), by which old ones are
 * forgotten. Rows are written by apply_event in the transaction that
 * advances our position in feedback's log, so an event is never
 * acknowledged (its position passed) before its deliveries are on disk.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "notifyd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

#define NT_SCAN_MAX 10000   /* rows one deliveries request looks at, at most */

void nt_delivery_id(uint64_t seq, const char *webhook, char *out)
{
	snprintf(out, NT_ID_MAX, "%" PRIu64 "-%s", seq, webhook);
}

bool nt_delivery_id_parse(const char *id, uint64_t *seq, char *webhook, size_t cap)
{
	const char *dash = id != NULL ? strchr(id, '-') : NULL;
	if (dash == NULL || dash == id || dash - id > 20)
		return false;
	uint64_t v = 0;
	for (const char *p = id; p < dash; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (!trc_is_slug(dash + 1) || strlen(dash + 1) >= cap)
		return false;
	*seq = v;
	snprintf(webhook, cap, "%s", dash + 1);
	return true;
}

static void s_row_key(trc_dbkey_t *k, const char *webhook, uint64_t seq)
{
	trc_dbkey_of(k, webhook);
	trc_dbkey_be64(k, seq);
}

static void s_due_key(trc_dbkey_t *k, const char *webhook, int64_t next_ms, uint64_t seq)
{
	trc_dbkey_of(k, webhook);
	trc_dbkey_be64(k, (uint64_t)next_ms);
	trc_dbkey_be64(k, seq);
}

static void s_finished_key(trc_dbkey_t *k, int64_t finished_ms, const char *webhook,
			   uint64_t seq)
{
	trc_dbkey_init(k);
	trc_dbkey_be64(k, (uint64_t)finished_ms);
	trc_dbkey_str(k, webhook);
	trc_dbkey_be64(k, seq);
}

/* Where a row's state puts it: its due key, or its finished key. */
static const trc_db_t *s_where(trc_call_t *call, const Traction__V1__Delivery *d, trc_dbkey_t *k)
{
	if (d->state == TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING) {
		s_due_key(k, d->webhook, d->next_ms, d->seq);
		return trc_call_db(call, NT_DB_DUE);
	}
	s_finished_key(k, d->finished_ms, d->webhook, d->seq);
	return trc_call_db(call, NT_DB_FINISHED);
}

int nt_delivery_get(trc_call_t *call, const char *webhook, uint64_t seq,
		    Traction__V1__Delivery **out)
{
	trc_dbkey_t k;
	s_row_key(&k, webhook, seq);
	return trc_rec_get(call->txn, trc_call_db(call, NT_DB_DELIVERIES), k.buf, k.len,
			   call->arena, (void **)out);
}

int nt_delivery_put(trc_call_t *call, const Traction__V1__Delivery *d,
		    const Traction__V1__Delivery *was)
{
	trc_dbkey_t k;
	int rc = 0;
	if (was != NULL) {
		const trc_db_t *db = s_where(call, was, &k);
		rc = trc_txn_del(call->txn, db, k.buf, k.len);
		if (rc == TRC_ENOENT)
			rc = 0; /* pruned or never there: nothing to move */
	}
	if (rc == 0) {
		const trc_db_t *db = s_where(call, d, &k);
		rc = trc_txn_put(call->txn, db, k.buf, k.len, "", 0, 0);
	}
	if (rc == 0) {
		s_row_key(&k, d->webhook, d->seq);
		rc = trc_rec_put(call->txn, trc_call_db(call, NT_DB_DELIVERIES), k.buf, k.len,
				 &d->base);
	}
	return rc;
}

/* ---- the queue: an alert event's deliveries --------------------------------- */

static int s_enqueue(trc_call_t *call, const Traction__V1__Webhook *h,
		     const Traction__V1__Event *ev)
{
	Traction__V1__Delivery *old;
	int rc = nt_delivery_get(call, h->name, ev->seq, &old);
	if (rc == 0)
		return 0; /* an event applied again: its deliveries are there */
	if (rc != TRC_ENOENT)
		return rc;
	char id[NT_ID_MAX];
	nt_delivery_id(ev->seq, h->name, id);
	Traction__V1__Delivery d = TRACTION__V1__DELIVERY__INIT;
	d.id = id;
	d.webhook = h->name;
	d.seq = ev->seq;
	d.event_type = ev->type;
	d.state = TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING;
	d.created_ms = d.since_ms = d.next_ms = call->now_ms;
	d.event_ms = ev->time_ms;
	d.alert = ev->alert;
	return nt_delivery_put(call, &d, NULL);
}

int notifyd_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	/* feedback.* (most of what the source writes): nothing to read */
	if (strncmp(ev->type, "alert.", 6) != 0)
		return 0;
	if (ev->payload_case != TRACTION__V1__EVENT__PAYLOAD_ALERT || ev->alert == NULL)
		return trc_call_fail(call, TRC_EINVAL, "event %" PRIu64 " (%s): no alert in it",
				     ev->seq, ev->type);
	trc_iter_t it;
	bool queued = false;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_HOOKS), &it, NULL, 0, NULL, 0,
				false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Webhook *h;
		rc = trc_iter_rec(&it, call->arena, (void **)&h);
		if (rc == 0 && nt_webhook_takes(h, ev->alert)) {
			rc = s_enqueue(call, h, ev);
			queued = true;
		}
	}
	trc_iter_end(&it);
	if (rc == 0 && queued)
		nt_wake(call->user); /* a tick picks it once this commits */
	return rc != 0 ? rc : call->txn->err;
}

/* ---- an attempt's result ------------------------------------------------------------- */

nt_outcome_t nt_delivery_result(Traction__V1__Delivery *d, const nt_conf_t *conf,
				const nt_result_t *r, int64_t now_ms, uint32_t rnd,
				trc_arena_t *arena)
{
	nt_outcome_t o = nt_outcome(r->net, r->status);
	d->attempts++;
	d->last_status = r->net == NT_NET_OK ? (int32_t)r->status : 0;
	d->last_error = r->net == NT_NET_OK ? (o == NT_DELIVERED ? (char *)"" : trc_arena_printf(arena, "HTTP %ld", r->status))
					    : trc_arena_strdup(arena, r->error);
	if (d->last_error == NULL)
		d->last_error = (char *)"";
	bool dead = o == NT_REJECTED;
	if (o == NT_RETRY) {
		dead = d->attempts >= conf->max_attempts ||
		       now_ms - d->since_ms >= (int64_t)conf->max_age_s * 1000;
		d->next_ms = now_ms + (int64_t)nt_backoff_ms(conf->backoff_base_ms,
							    conf->backoff_cap_ms, d->attempts, rnd);
	}
	if (o == NT_DELIVERED || dead) {
		d->state = o == NT_DELIVERED ? TRACTION__V1__DELIVERY_STATE__DELIVERY_DONE
					     : TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD;
		d->finished_ms = now_ms;
		d->next_ms = 0;
	}
	return o;
}

/* ---- webhook.deliveries ---------------------------------------------------------------- */

typedef struct {
	Traction__V1__WebhookDeliveriesReply *rep;
	int state;
	size_t limit, scanned;
	char last[NT_ID_MAX];  /* the last row looked at */
	bool full;             /* stopped: a page, or NT_SCAN_MAX rows */
} list_t;

/* One webhook's rows below seq `below` (0: all), newest first. */
static int s_list_hook(trc_call_t *call, list_t *l, const char *webhook, uint64_t below)
{
	trc_dbkey_t lo, hi;
	trc_dbkey_of(&lo, webhook);
	trc_dbkey_sep(&lo);
	if (below > 0)
		s_row_key(&hi, webhook, below);
	else {
		trc_dbkey_of(&hi, webhook);
		trc_dbkey_past(&hi);
	}
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_DELIVERIES), &it, lo.buf, lo.len,
				hi.buf, hi.len, true);
	while (rc == 0 && !l->full && trc_iter_next(&it)) {
		Traction__V1__Delivery *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		if (l->rep->n_deliveries == l->limit || l->scanned == NT_SCAN_MAX) {
			l->full = true;
			break;
		}
		l->scanned++;
		snprintf(l->last, sizeof(l->last), "%s", d->id);
		if (l->state == 0 || (int)d->state == l->state)
			l->rep->deliveries[l->rep->n_deliveries++] = d;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int notifyd_webhook_deliveries(trc_call_t *call, const ProtobufCMessage *req_,
			       ProtobufCMessage *rep_)
{
	const Traction__V1__WebhookDeliveriesRequest *req = (const void *)req_;
	Traction__V1__WebhookDeliveriesReply *rep = (void *)rep_;
	int rc = trc_check_slug_opt(call, "webhook", req->webhook);
	if (rc == 0)
		rc = trc_check_enum(call, "state", req->state,
				    &traction__v1__delivery_state__descriptor, true);
	if (rc != 0)
		return rc;
	list_t l = { .rep = rep, .state = req->state,
		     .limit = trc_page_limit(req->page, NT_LIST_DEFAULT, NT_LIST_MAX) };
	/* the cursor is the id of the last row looked at: go on below it */
	const char *cursor = trc_page_cursor(req->page);
	char from[72] = "";
	uint64_t below = 0;
	if (cursor[0] != '\0' && !nt_delivery_id_parse(cursor, &below, from, sizeof(from)))
		return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	rep->deliveries = trc_arena_alloc(call->arena, sizeof(void *) * l.limit);
	if (rep->deliveries == NULL)
		return TRC_ENOMEM;
	if (req->webhook[0] != '\0') {
		if (from[0] != '\0' && strcmp(from, req->webhook) != 0)
			return trc_call_fail(call, TRC_EINVAL, "page.cursor: of another webhook");
		rc = s_list_hook(call, &l, req->webhook, below);
	} else {
		/* every webhook in name order, from the cursor's */
		trc_dbkey_t lo;
		trc_dbkey_init(&lo);
		if (from[0] != '\0')
			trc_dbkey_str(&lo, from);
		trc_iter_t it;
		rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_HOOKS), &it,
				    lo.len ? lo.buf : NULL, lo.len, NULL, 0, false);
		while (rc == 0 && !l.full && trc_iter_next(&it)) {
			char name[72];
			if (it.key.mv_size >= sizeof(name))
				continue;
			memcpy(name, it.key.mv_data, it.key.mv_size);
			name[it.key.mv_size] = '\0';
			rc = s_list_hook(call, &l, name, strcmp(name, from) == 0 ? below : 0);
		}
		trc_iter_end(&it);
	}
	if (rc == 0 && l.full && l.last[0] != '\0')
		rep->next_cursor = trc_arena_strdup(call->arena, l.last);
	return rc != 0 ? rc : call->txn->err;
}

/* ---- webhook.retry ------------------------------------------------------------------------ */

int notifyd_webhook_retry(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__DeliveryReply *rep = (void *)rep_;
	char webhook[72];
	uint64_t seq;
	if (!nt_delivery_id_parse(req->id, &seq, webhook, sizeof(webhook)))
		return trc_call_fail(call, TRC_EINVAL, "id: expected a delivery id, <seq>-<webhook>");
	Traction__V1__Delivery *d;
	int rc = nt_delivery_get(call, webhook, seq, &d);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "id: no delivery '%s'", req->id);
	if (rc != 0)
		return rc;
	if (d->state != TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD)
		return trc_call_fail(call, TRC_EPRECOND, "id: delivery '%s' is not dead", req->id);
	Traction__V1__Delivery was = *d;
	/* a new run of attempts, its age from now; its count of attempts
	 * starts again, so that max_attempts gives it as many as before */
	d->state = TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING;
	d->attempts = 0;
	d->since_ms = d->next_ms = call->now_ms;
	d->finished_ms = 0;
	rc = nt_delivery_put(call, d, &was);
	rep->delivery = d;
	if (rc == 0)
		nt_wake(call->user);
	return rc;
}

/* ---- webhook.remove: a webhook's deliveries --------------------------------------------------- */

int nt_deliveries_drop(trc_call_t *call, const char *webhook)
{
	/* its rows first (their states say where their other keys are),
	 * then each one's keys: LMDB's cursors do not survive a delete of
	 * ours under them */
	trc_iter_t it;
	Traction__V1__Delivery **v = NULL;
	size_t n = 0, cap = 0;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, NT_DB_DELIVERIES), &it, webhook,
				 strlen(webhook), false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Delivery *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		v = trc_arena_grow(call->arena, v, n, &cap, sizeof(*v));
		if (v == NULL)
			rc = TRC_ENOMEM;
		else
			v[n++] = d;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		trc_dbkey_t k;
		const trc_db_t *db = s_where(call, v[i], &k);
		rc = trc_txn_del(call->txn, db, k.buf, k.len);
		if (rc == 0 || rc == TRC_ENOENT) {
			s_row_key(&k, webhook, v[i]->seq);
			rc = trc_txn_del(call->txn, trc_call_db(call, NT_DB_DELIVERIES), k.buf, k.len);
		}
	}
	return rc != 0 ? rc : call->txn->err;
}
