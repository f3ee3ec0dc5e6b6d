/*
 * What iterationd keeps from other daemons' events: supplies (and their
 * initial version, recorded as the root of their lineage), scenarios (with
 * their target metrics, for the service gate), the evidence feedbackd
 * publishes per (supply, version, scenario), and problems with their state.
 */
#include <string.h>

#include "error.h"
#include "iterationd.h"
#include "record.h"
#include "util.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static MDB_dbi s_db(trc_call_t *call, const char *name)
{
	return trc_store_db(call->txn->store, name);
}

int iterationd_open(void *user, trc_store_t *store, const trc_config_t *cfg)
{
	it_state_t *st = user;
	st->cfg = *cfg;
	return 0;
}

static int s_supply(trc_call_t *call, const Traction__V1__Supply *s, int64_t at)
{
	if (!trc_is_slug(s->id))
		return trc_call_fail(call, TRC_EINVAL, "supply event without a valid id");
	uint8_t status = (uint8_t)s->status;
	int rc = trc_txn_put(call->txn, s_db(call, IT_DB_SUPPLIES), s->id, strlen(s->id), &status, 1,
			     0);
	if (rc != 0 || !trc_is_slug(s->initial_version))
		return rc;
	Traction__V1__Iteration *it;
	rc = it_version_get(call, s->id, s->initial_version, &it);
	if (rc != TRC_ENOENT)
		return rc; /* already recorded (a replayed or later event) */
	/* The initial version: the root of the supply's lineage. */
	it = trc_arena_alloc(call->arena, sizeof(*it));
	if (it == NULL)
		return TRC_ENOMEM;
	traction__v1__iteration__init(it);
	it->supply_id = s->id;
	it->version = s->initial_version;
	it->released_ms = s->created_ms != 0 ? s->created_ms : at;
	it->recorded_ms = call->now_ms;
	it->notes = (char *)"initial version, from the supply's registration";
	return it_version_store(call, it);
}

int iterationd_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_SUPPLY:
		return s_supply(call, ev->supply, ev->time_ms);
	case TRACTION__V1__EVENT__PAYLOAD_SCENARIO: {
		const Traction__V1__Scenario *s = ev->scenario;
		if (!trc_is_slug(s->id))
			return trc_call_fail(call, TRC_EINVAL, "scenario event without a valid id");
		return trc_rec_put(call->txn, s_db(call, IT_DB_SCENARIOS), s->id, strlen(s->id),
				   &s->base);
	}
	case TRACTION__V1__EVENT__PAYLOAD_EVIDENCE: {
		const Traction__V1__EvidenceUpdate *u = ev->evidence;
		if (!trc_is_slug(u->supply_id) || !trc_is_slug(u->version))
			return trc_call_fail(call, TRC_EINVAL, "evidence event without valid ids");
		char key[3 * TRC_SLUG_MAX + 3];
		size_t kl = trc_key3(key, sizeof(key), u->supply_id, u->version,
				     u->scenario_id != NULL ? u->scenario_id : "");
		if (kl == 0)
			return trc_call_fail(call, TRC_EINVAL, "evidence event key too long");
		return trc_rec_put(call->txn, s_db(call, IT_DB_EVIDENCE), key, kl, &u->base);
	}
	case TRACTION__V1__EVENT__PAYLOAD_PROBLEM: {
		const Traction__V1__ProblemInfo *p = ev->problem->problem;
		if (p == NULL || !trc_is_slug(p->supply_id) || p->signature == NULL)
			return trc_call_fail(call, TRC_EINVAL, "problem event without valid ids");
		char key[2 * TRC_SLUG_MAX + 24];
		size_t kl = trc_key2(key, sizeof(key), p->supply_id, p->signature);
		if (kl == 0)
			return trc_call_fail(call, TRC_EINVAL, "problem event key too long");
		return trc_rec_put(call->txn, s_db(call, IT_DB_PROBLEMS), key, kl, &p->base);
	}
	default:
		return 0;
	}
}
