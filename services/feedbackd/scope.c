/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a scoped reader sees of feedbackd (lib/scope.h, docs/security.md).
 * The owners come from the catalogue events (refs.c): a scenario's
 * enterprise, a supply's provider. Feedback of one scenario about a supply
 * is seen by the scenario's enterprise and by the supply's provider; what
 * sums a supply's feedback over many scenarios (roll-ups, a problem, its
 * regressions) by the provider only, unless every scenario it came from is
 * the reader's own; demand signals by every provider scope. An owner not
 * known (a store upgraded to schema 3 that is still replaying the events)
 * is nobody's: a scoped reader does not see what hangs on it.
 */
#include <string.h>

#include "alerts.h"
#include "feedbackd.h"
#include "scope.h"

static bool s_owner_in(trc_call_t *call, unsigned db, const char *id, bool enterprise)
{
	char owner[FB_OWNER_MAX + 1];
	if (fb_ref_owner(call->txn, db, id, owner) != 0 || owner[0] == '\0')
		return false;
	return enterprise ? trc_scope_sees(call, owner, NULL) : trc_scope_sees(call, NULL, owner);
}

static bool s_ours(trc_call_t *call, unsigned db, const char *id, bool enterprise,
		   char memo_id[TRC_SLUG_MAX + 1], bool *memo_ours)
{
	if (!trc_scope_on(call) || (enterprise ? call->n_enterprises : call->n_providers) == 0)
		return false;
	if (memo_id != NULL && strcmp(memo_id, id) == 0)
		return *memo_ours;
	bool ours = s_owner_in(call, db, id, enterprise);
	if (memo_id != NULL && strlen(id) <= TRC_SLUG_MAX) {
		strcpy(memo_id, id);
		*memo_ours = ours;
	}
	return ours;
}

bool fb_scenario_ours(trc_call_t *call, fb_seen_t *memo, const char *scenario)
{
	return s_ours(call, FB_DB_REF_SCENARIO, scenario, true, memo ? memo->scenario : NULL,
		      memo ? &memo->scenario_ours : NULL);
}

bool fb_supply_ours(trc_call_t *call, fb_seen_t *memo, const char *supply)
{
	return s_ours(call, FB_DB_REF_SUPPLY, supply, false, memo ? memo->supply : NULL,
		      memo ? &memo->supply_ours : NULL);
}

bool fb_sees_scenario(trc_call_t *call, const char *scenario)
{
	return !trc_scope_on(call) || call->n_providers > 0 ||
	       fb_scenario_ours(call, NULL, scenario);
}

bool fb_sees_feedback(trc_call_t *call, fb_seen_t *memo, const char *scenario,
		      const char *supply)
{
	return !trc_scope_on(call) || fb_scenario_ours(call, memo, scenario) ||
	       fb_supply_ours(call, memo, supply);
}

bool fb_sees_supply(trc_call_t *call, fb_seen_t *memo, const char *supply)
{
	return !trc_scope_on(call) || fb_supply_ours(call, memo, supply);
}

bool fb_sees_demands(const trc_call_t *call)
{
	return !trc_scope_on(call) || call->n_providers > 0;
}

fb_view_t fb_problem_view(trc_call_t *call, fb_seen_t *memo, const Traction__V1__ProblemInfo *p,
			  const char *scenario)
{
	if (fb_sees_supply(call, memo, p->supply_id))
		return FB_VIEW_WHOLE;
	/* reported only in the reader's scenarios (a full list is cut at
	 * FB_LIST_MAX, so it may not name them all): all of it is theirs */
	bool all = p->n_scenario_ids > 0 && p->n_scenario_ids < FB_LIST_MAX;
	for (size_t i = 0; all && i < p->n_scenario_ids; i++)
		all = fb_scenario_ours(call, NULL, p->scenario_ids[i]);
	if (all)
		return FB_VIEW_WHOLE;
	/* asked about one of its scenarios: the problem as seen there */
	return scenario[0] != '\0' && fb_scenario_ours(call, memo, scenario) ? FB_VIEW_PART
									      : FB_VIEW_NONE;
}

int fb_problem_part(trc_call_t *call, Traction__V1__ProblemInfo *p)
{
	/* other enterprises' scenario names and record ids are theirs; the
	 * state, severity, title and counts describe the problem itself */
	size_t ns = 0, nr = 0;
	for (size_t i = 0; i < p->n_scenario_ids; i++)
		if (fb_scenario_ours(call, NULL, p->scenario_ids[i]))
			p->scenario_ids[ns++] = p->scenario_ids[i];
	p->n_scenario_ids = ns;
	for (size_t i = 0; i < p->n_record_ids; i++) {
		uint64_t id = p->record_ids[i], first, last;
		bool keep = false;
		for (size_t k = 0; k < ns && !keep; k++)
			keep = fb_run_from(call->txn, FB_INDEX_SCENARIO, p->scenario_ids[k], id, &first,
					   &last) == 0 &&
			       first <= id;
		if (keep)
			p->record_ids[nr++] = id;
	}
	p->n_record_ids = nr;
	return call->txn->err;
}

bool feedbackd_event_visible(trc_call_t *call, const Traction__V1__Event *ev)
{
	if (!trc_scope_on(call))
		return true;
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_EVIDENCE: {
		/* one (supply, version, scenario) key; an empty scenario is the
		 * roll-up over every scenario */
		const Traction__V1__EvidenceUpdate *u = ev->evidence;
		if (u == NULL || u->supply_id == NULL)
			return false;
		return u->scenario_id != NULL && u->scenario_id[0] != '\0'
			       ? fb_sees_feedback(call, NULL, u->scenario_id, u->supply_id)
			       : fb_sees_supply(call, NULL, u->supply_id);
	}
	case TRACTION__V1__EVENT__PAYLOAD_PROBLEM:
		/* an event carries the whole problem: there is no part to show */
		return ev->problem != NULL && ev->problem->problem != NULL &&
		       ev->problem->problem->supply_id != NULL &&
		       fb_problem_view(call, NULL, ev->problem->problem, "") == FB_VIEW_WHOLE;
	case TRACTION__V1__EVENT__PAYLOAD_DEMAND:
		/* totals per capability over every scenario, as feedback.demands */
		return fb_sees_demands(call);
	case TRACTION__V1__EVENT__PAYLOAD_ALERT:
		return ev->alert != NULL && fb_alert_visible(call, ev->alert);
	default:
		return false; /* not ours to vouch for */
	}
}
