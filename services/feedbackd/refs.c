/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What feedbackd knows of the rest of the platform, from events only:
 * which supplies exist (supply.*), their versions and lineage (the initial
 * version from supply.registered, the rest from iteration.recorded),
 * which scenarios exist and whether they are open (scenario.*), who owns
 * each (a supply's provider, a scenario's enterprise: what a scoped
 * reader is matched against), and which problems an iteration claims to
 * address; and, for alert rules, the active deployments and the
 * scenarios' targets (alert_targets.c).
 *
 * A supply's or scenario's entry is its status byte followed by its owner;
 * readers of the status look at byte 0 only. Stores of schema 2 held the
 * byte alone: the upgrade replays the catalogue events from the start to
 * learn the owners (fb_refs_migrate).
 */
#include <string.h>

#include "alerts.h"
#include "dbkey.h"
#include "error.h"
#include "evlog.h"
#include "feedbackd.h"
#include "log.h"
#include "record.h"
#include "util.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static int s_version(trc_call_t *call, const char *supply, const char *version,
		     const char *parent)
{
	trc_dbkey_t k;
	if (!trc_dbkey_of(&k, supply, version))
		return TRC_EINVAL;
	const char *p = parent != NULL ? parent : "";
	return trc_txn_put(call->txn, trc_txn_db(call->txn, FB_DB_REF_VERSION), k.buf, k.len, p,
			   strlen(p), 0);
}

/* A source's mark: the position it had when the store was upgraded. An
 * event replayed up to it brings the owner only: the status stored is that
 * of the mark already, and the event's older one would undo it (reopen a
 * closed scenario) until the replay caught up. */
static int s_keep_status(trc_call_t *call, const Traction__V1__Event *ev, bool *keep)
{
	*keep = false;
	if (ev->source == NULL || ev->source[0] == '\0')
		return 0;
	const trc_db_t *marks = trc_txn_db(call->txn, FB_DB_REF_MARK);
	MDB_val v;
	int rc = trc_txn_get(call->txn, marks, ev->source, strlen(ev->source), &v);
	if (rc == TRC_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size == 8 && ev->seq <= trc_be64_get(v.mv_data)) {
		*keep = true;
		return 0;
	}
	rc = trc_txn_del(call->txn, marks, ev->source, strlen(ev->source)); /* caught up */
	return rc == TRC_ENOENT ? 0 : rc;
}

static int s_ref(trc_call_t *call, bool keep, unsigned db, const char *id, int status,
		 const char *owner)
{
	trc_txn_t *txn = call->txn;
	uint8_t st = (uint8_t)status;
	int rc = 0;
	MDB_val cur;
	if (rc == 0 && keep && trc_txn_get(txn, trc_txn_db(txn, db), id, strlen(id), &cur) == 0 &&
	    cur.mv_size >= 1)
		st = *(const uint8_t *)cur.mv_data;
	if (rc != 0 || txn->err != 0)
		return rc != 0 ? rc : txn->err;
	size_t ol = owner != NULL ? strlen(owner) : 0;
	uint8_t *dst = trc_txn_reserve(txn, trc_txn_db(txn, db), id, strlen(id), 1 + ol, 0);
	if (dst == NULL)
		return txn->err != 0 ? txn->err : TRC_EINTERNAL;
	dst[0] = st;
	if (ol > 0)
		memcpy(dst + 1, owner, ol);
	return 0;
}

int fb_ref_owner(trc_txn_t *txn, unsigned db, const char *id, char out[FB_OWNER_MAX + 1])
{
	out[0] = '\0';
	if (id == NULL || id[0] == '\0')
		return TRC_ENOENT;
	MDB_val v;
	int rc = trc_txn_get(txn, trc_txn_db(txn, db), id, strlen(id), &v);
	if (rc == 0 && v.mv_size >= 1 && v.mv_size - 1 <= FB_OWNER_MAX) {
		memcpy(out, (const char *)v.mv_data + 1, v.mv_size - 1);
		out[v.mv_size - 1] = '\0';
	}
	return rc;
}

int fb_refs_migrate(trc_txn_t *txn, const char *const *sources)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && sources[i] != NULL; i++) {
		uint64_t at;
		rc = trc_position_get(txn, sources[i], &at);
		if (rc == 0 && at > 0) {
			uint8_t be[8];
			trc_be64_put(be, at);
			rc = trc_txn_put(txn, trc_txn_db(txn, FB_DB_REF_MARK), sources[i],
					 strlen(sources[i]), be, 8, 0);
		}
		if (rc == 0)
			rc = trc_position_set(txn, sources[i], 0);
	}
	for (size_t i = 0; rc == 0 && sources[i] != NULL; i++)
		trc_notice("store: the events of %s will be replayed from the start to learn "
			   "what this schema keeps of them",
			   sources[i]);
	return rc;
}

int feedbackd_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	fb_state_t *state = call->user;
	if (state != NULL) /* what exists or is open may change now */
		trc_dbkey_init(&state->refs_ok);
	/* an event a store upgrade replays (up to the source's mark) was
	 * applied before: it brings only what the new schema keeps */
	bool replayed;
	int mrc = s_keep_status(call, ev, &replayed);
	if (mrc != 0)
		return mrc;
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_SUPPLY: {
		const Traction__V1__Supply *s = ev->supply;
		if (!trc_is_slug(s->id))
			return trc_call_fail(call, TRC_EINVAL, "supply event without a valid id");
		int rc = s_ref(call, replayed, FB_DB_REF_SUPPLY, s->id, s->status, s->provider_id);
		if (rc == 0 && trc_is_slug(s->initial_version)) {
			/* the initial version has no parent; never overwrite a
			 * lineage an iteration recorded */
			const trc_db_t *versions = trc_txn_db(call->txn, FB_DB_REF_VERSION);
			trc_dbkey_t k;
			MDB_val v;
			trc_dbkey_of(&k, s->id, s->initial_version);
			if (trc_txn_get(call->txn, versions, k.buf, k.len, &v) == TRC_ENOENT)
				rc = s_version(call, s->id, s->initial_version, NULL);
		}
		return rc != 0 ? rc : call->txn->err;
	}
	case TRACTION__V1__EVENT__PAYLOAD_SCENARIO: {
		const Traction__V1__Scenario *s = ev->scenario;
		if (!trc_is_slug(s->id))
			return trc_call_fail(call, TRC_EINVAL, "scenario event without a valid id");
		int rc = s_ref(call, replayed, FB_DB_REF_SCENARIO, s->id, s->status, s->enterprise);
		return rc != 0 ? rc : fb_alerts_scenario(call, s, replayed);
	}
	case TRACTION__V1__EVENT__PAYLOAD_ITERATION: {
		const Traction__V1__Iteration *it = ev->iteration;
		if (!trc_is_slug(it->supply_id) || !trc_is_slug(it->version))
			return trc_call_fail(call, TRC_EINVAL, "iteration event without valid ids");
		int rc = s_version(call, it->supply_id, it->version, it->parent_version);
		if (rc == 0 && !replayed) /* a replay would undo a regression since */
			rc = fb_problem_addressed(call, it);
		return rc;
	}
	case TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT:
		return fb_alerts_deployment(call, ev->deployment, replayed);
	default:
		return 0; /* providers: nothing feedback needs */
	}
}
