/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who sees what of iterationd (the rules of lib/scope.h, docs/security.md):
 * versions are the catalogue, public; a deployment is one scenario's, seen
 * by that scenario's enterprise and by its supply's provider; what sums a
 * supply over its scenarios (history, diff) by the provider alone. The
 * enterprise and the provider are iterationd's own copies, from the
 * scenario and supply events, as they are now.
 */
#include "iterationd.h"

bool it_sees_deployment(trc_call_t *call, const char *scenario, const char *supply)
{
	if (!trc_scope_on(call))
		return true;
	/* only the lookups the caller's scope can match */
	if (call->n_providers > 0 && trc_scope_sees(call, NULL, it_supply_provider(call, supply)))
		return true;
	return call->n_enterprises > 0 &&
	       trc_scope_sees(call, it_scenario_enterprise(call, scenario), NULL);
}

bool it_sees_supply_sums(trc_call_t *call, const char *supply)
{
	return !trc_scope_on(call) || trc_scope_sees(call, NULL, it_supply_provider(call, supply));
}

bool iterationd_event_visible(trc_call_t *call, const Traction__V1__Event *ev)
{
	switch (ev->payload_case) {
	case TRACTION__V1__EVENT__PAYLOAD_ITERATION:
		return true;
	case TRACTION__V1__EVENT__PAYLOAD_DEPLOYMENT:
		return ev->deployment != NULL &&
		       it_sees_deployment(call, ev->deployment->scenario_id, ev->deployment->supply_id);
	default:
		return false; /* none of ours: shown to no scope */
	}
}
