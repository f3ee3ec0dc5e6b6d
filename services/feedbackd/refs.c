/*
 * What feedbackd knows of the rest of the platform, from events only:
 * which supplies exist (supply.*), their versions and lineage (the initial
 * version from supply.registered, the rest from iteration.recorded),
 * which scenarios exist and whether they are open (scenario.*), and which
 * problems an iteration claims to address.
 */
#include <string.h>

#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static MDB_dbi s_db(trc_txn_t *txn, const char *name)
{
	return trc_store_db(txn->store, name);
}

static int s_version(trc_call_t *call, const char *supply, const char *version,
		     const char *parent)
{
	char key[2 * TRC_SLUG_MAX + 2];
	size_t kl = trc_key2(key, sizeof(key), supply, version);
	if (kl == 0)
		return TRC_EINVAL;
	const char *p = parent != NULL ? parent : "";
	return trc_txn_put(call->txn, s_db(call->txn, FB_DB_REF_VERSION), key, kl, p, strlen(p), 0);
}

int feedbackd_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	fb_state_t *state = call->user;
	if (state != NULL) /* what exists or is open may change now */
		state->refs_ok_len = 0;
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_SUPPLY: {
		const Traction__V1__Supply *s = ev->supply;
		if (!trc_is_slug(s->id))
			return trc_call_fail(call, TRC_EINVAL, "supply event without a valid id");
		uint8_t st = (uint8_t)s->status;
		int rc = trc_txn_put(call->txn, s_db(call->txn, FB_DB_REF_SUPPLY), s->id,
				     strlen(s->id), &st, 1, 0);
		if (rc == 0 && trc_is_slug(s->initial_version)) {
			/* the initial version has no parent; never overwrite a
			 * lineage an iteration recorded */
			char key[2 * TRC_SLUG_MAX + 2];
			size_t kl = trc_key2(key, sizeof(key), s->id, s->initial_version);
			MDB_val v;
			if (trc_txn_get(call->txn, s_db(call->txn, FB_DB_REF_VERSION), key, kl, &v) ==
			    TRC_ENOENT)
				rc = s_version(call, s->id, s->initial_version, NULL);
		}
		return rc != 0 ? rc : call->txn->err;
	}
	case TRACTION__V1__EVENT__PAYLOAD_SCENARIO: {
		const Traction__V1__Scenario *s = ev->scenario;
		if (!trc_is_slug(s->id))
			return trc_call_fail(call, TRC_EINVAL, "scenario event without a valid id");
		uint8_t st = (uint8_t)s->status;
		return trc_txn_put(call->txn, s_db(call->txn, FB_DB_REF_SCENARIO), s->id,
				   strlen(s->id), &st, 1, 0);
	}
	case TRACTION__V1__EVENT__PAYLOAD_ITERATION: {
		const Traction__V1__Iteration *it = ev->iteration;
		if (!trc_is_slug(it->supply_id) || !trc_is_slug(it->version))
			return trc_call_fail(call, TRC_EINVAL, "iteration event without valid ids");
		int rc = s_version(call, it->supply_id, it->version, it->parent_version);
		if (rc == 0)
			rc = fb_problem_addressed(call, it);
		return rc;
	}
	default:
		return 0; /* providers, deployments: nothing feedback needs */
	}
}
