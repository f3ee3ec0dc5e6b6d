/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a scoped reader sees of scenariod (lib/scope.h, docs/security.md):
 * a scenario is seen by its enterprise's scope and by every provider scope,
 * since demand is shown to providers. get, list, match, gaps and the
 * scenario.* events all follow from this one rule.
 */
#include "scenariod.h"
#include "scope.h"
#include "traction/v1/scenario.pb-c.h"

bool scenariod_sees_all(const trc_call_t *call)
{
	return !trc_scope_on(call) || call->n_providers > 0;
}

bool scenariod_sees(const trc_call_t *call, const Traction__V1__Scenario *s)
{
	return scenariod_sees_all(call) || trc_scope_sees(call, s->enterprise, NULL);
}

bool scenariod_event_visible(trc_call_t *call, const Traction__V1__Event *ev)
{
	/* scenariod writes scenario events only: anything else is not ours
	 * to vouch for, so it stays hidden. The event carries the scenario's
	 * new state, so a move to another enterprise is seen by the new one. */
	return ev->payload_case == TRACTION__V1__EVENT__PAYLOAD_SCENARIO && ev->scenario != NULL &&
	       scenariod_sees(call, ev->scenario);
}
