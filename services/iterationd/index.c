/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What iterationd keeps from other daemons' events: supplies (and their
 * initial version, recorded as the root of their lineage), scenarios (with
 * their target metrics, for the service gate), the evidence feedbackd
 * publishes per (supply, version, scenario), and problems with their state.
 * A supply is kept as its status byte and its provider (which scoped
 * readers are told by); schema 1 kept the byte alone, and its upgrade
 * replays the supply events to fill the providers in.
 */
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "iterationd.h"
#include "log.h"
#include "record.h"
#include "util.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static int s_supply(trc_call_t *call, const Traction__V1__Supply *s, int64_t at)
{
	if (!trc_is_slug(s->id))
		return trc_call_fail(call, TRC_EINVAL, "supply event without a valid id");
	/* without a provider (none in the event) no provider's scope sees it */
	const char *provider = trc_is_slug(s->provider_id) ? s->provider_id : "";
	size_t plen = strlen(provider);
	uint8_t val[1 + TRC_SLUG_MAX];
	val[0] = (uint8_t)s->status;
	memcpy(val + 1, provider, plen);
	int rc = trc_txn_put(call->txn, trc_call_db(call, IT_DB_SUPPLIES), s->id, strlen(s->id),
			     val, 1 + plen, 0);
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

const char *it_supply_provider(trc_call_t *call, const char *supply)
{
	MDB_val v;
	if (supply == NULL ||
	    trc_txn_get(call->txn, trc_call_db(call, IT_DB_SUPPLIES), supply, strlen(supply), &v) !=
		    0 ||
	    v.mv_size < 2)
		return "";
	char *p = trc_arena_alloc(call->arena, v.mv_size);
	if (p == NULL)
		return "";
	memcpy(p, (const char *)v.mv_data + 1, v.mv_size - 1);
	p[v.mv_size - 1] = '\0';
	return p;
}

const char *it_scenario_enterprise(trc_call_t *call, const char *scenario)
{
	Traction__V1__Scenario *s;
	if (scenario == NULL ||
	    trc_rec_get(call->txn, trc_call_db(call, IT_DB_SCENARIOS), scenario, strlen(scenario),
			call->arena, (void **)&s) != 0 ||
	    s->enterprise == NULL)
		return "";
	return s->enterprise;
}

int iterationd_migrate(trc_txn_t *txn, uint32_t from)
{
	if (from != 1)
		return TRC_ECORRUPT;
	/* Schema 1's supplies hold no provider: applying the supply events
	 * again from the first writes it (the rest of what they say is
	 * already here, and applying it again changes nothing). */
	int rc = trc_position_set(txn, "supply", 0);
	if (rc == 0)
		trc_notice("store: supply events are applied again, for their providers");
	return rc;
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
		return trc_rec_put(call->txn, trc_call_db(call, IT_DB_SCENARIOS), s->id,
				   strlen(s->id), &s->base);
	}
	case TRACTION__V1__EVENT__PAYLOAD_EVIDENCE: {
		const Traction__V1__EvidenceUpdate *u = ev->evidence;
		if (!trc_is_slug(u->supply_id) || !trc_is_slug(u->version))
			return trc_call_fail(call, TRC_EINVAL, "evidence event without valid ids");
		trc_dbkey_t k;
		if (!trc_dbkey_of(&k, u->supply_id, u->version,
				  u->scenario_id != NULL ? u->scenario_id : ""))
			return trc_call_fail(call, TRC_EINVAL, "evidence event key too long");
		return trc_rec_put(call->txn, trc_call_db(call, IT_DB_EVIDENCE), k.buf, k.len,
				   &u->base);
	}
	case TRACTION__V1__EVENT__PAYLOAD_PROBLEM: {
		const Traction__V1__ProblemInfo *p = ev->problem->problem;
		if (p == NULL || !trc_is_slug(p->supply_id) || p->signature == NULL)
			return trc_call_fail(call, TRC_EINVAL, "problem event without valid ids");
		trc_dbkey_t k;
		if (!trc_dbkey_of(&k, p->supply_id, p->signature))
			return trc_call_fail(call, TRC_EINVAL, "problem event key too long");
		return trc_rec_put(call->txn, trc_call_db(call, IT_DB_PROBLEMS), k.buf, k.len,
				   &p->base);
	}
	default:
		return 0;
	}
}
