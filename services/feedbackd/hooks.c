/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the runtime calls around feedbackd's handlers (trc_daemon_def_t):
 * open and close make and free the batch's memory (the aggregate cache,
 * the runs of record ids); batch_end writes it in the batch's transaction,
 * batch_done forgets it; the tick publishes the evidence owed, judges the
 * alert rules and expires a slice of the records past their retention.
 */
#include "error.h"
#include "alerts.h"
#include "feedbackd.h"

int feedbackd_open(void *user, trc_store_t *store, const trc_config_t *cfg)
{
	fb_state_t *st = user;
	st->cache = fb_cache_new();
	st->runs = fb_runs_new();
	st->alerts = fb_alerts_new();
	fb_retention_from(&st->retention, cfg);
	return st->cache != NULL && st->runs != NULL && st->alerts != NULL ? 0 : TRC_ENOMEM;
}

void feedbackd_close(void *user)
{
	fb_state_t *st = user;
	fb_cache_destroy(&st->cache);
	fb_runs_destroy(&st->runs);
	fb_alerts_destroy(&st->alerts);
}

int feedbackd_batch_end(trc_call_t *call)
{
	fb_state_t *st = call->user;
	int rc = fb_runs_flush(st->runs, call->txn);
	if (rc == 0)
		rc = fb_alerts_batch_end(call);
	return rc != 0 ? rc : fb_cache_flush(st->cache, call->txn);
}

void feedbackd_batch_done(void *user, bool committed)
{
	(void)committed; /* what it forgets goes either way */
	fb_state_t *st = user;
	fb_cache_clear(st->cache);
	fb_runs_clear(st->runs);
	fb_alerts_batch_done(st->alerts);
	st->next_id = 0;
	trc_dbkey_init(&st->refs_ok);
}

/* The tick has work: evidence owed, alert rules to judge (or alerts to
 * resolve), records or idempotency keys to expire. */
bool feedbackd_tick_due(trc_call_t *call)
{
	fb_state_t *st = call->user;
	size_t rules = 0, alerts = 0;
	if (fb_evidence_owed(call) ||
	    trc_txn_entries(call->txn, trc_txn_db(call->txn, FB_DB_ALERT_RULES), &rules) != 0 ||
	    trc_txn_entries(call->txn, trc_txn_db(call->txn, FB_DB_ALERTS), &alerts) != 0)
		return true;
	return rules > 0 || alerts > 0 || fb_expire_due(call, &st->retention);
}

int feedbackd_tick(trc_call_t *call)
{
	/* what this batch folded so far must be in the rows the events read */
	fb_state_t *st = call->user;
	int rc = fb_cache_flush(st->cache, call->txn);
	if (rc == 0)
		rc = fb_evidence_publish(call);
	if (rc == 0)
		rc = fb_alerts_tick(call);
	return rc != 0 ? rc : fb_expire_tick(call, &st->retention, NULL);
}
