/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether the broker forwards a request now. See admit.h.
 */
#include "admit.h"

#include <stdio.h>

#include "wire.h"
#include "traction/v1/common.pb-c.h"

/* Whether a request of `bytes` would take what `held` requests hold
 * (`held_bytes`) past a budget of `mb` MiB. */
static bool s_over_budget(uint32_t held, uint64_t held_bytes, size_t bytes, unsigned mb)
{
	return held > 0 && held_bytes + bytes > (uint64_t)mb << 20;
}

trc_admit_t trc_admit(const trc_admit_request_t *rq, const trc_admit_limits_t *lim)
{
	trc_admit_t a = { 0, "", NULL };
	if (!rq->known) {
		a.code = TRACTION__V1__CODE__NOT_FOUND;
		snprintf(a.message, sizeof(a.message), "no service named '%.64s'", rq->service);
	} else if (!rq->live) {
		a.code = TRACTION__V1__CODE__UNAVAILABLE;
		snprintf(a.message, sizeof(a.message), "service '%.64s' has no live instance",
			 rq->service);
	} else if (!rq->leader && rq->instance != NULL && rq->instance[0] != '\0') {
		/* (not an election's refusal: the one named may never come back) */
		a.code = TRACTION__V1__CODE__UNAVAILABLE;
		snprintf(a.message, sizeof(a.message),
			 "instance '%.24s' of service '%.32s' is gone, or takes only STALE "
			 "requests", rq->instance, rq->service);
	} else if (!rq->leader) {
		a.code = TRACTION__V1__CODE__UNAVAILABLE;
		a.reason = TRC_REASON_NO_LEADER;
		snprintf(a.message, sizeof(a.message),
			 "service '%.64s' has no leader: an election is under way; retry",
			 rq->service);
	} else if (rq->client_in_flight >= lim->max_in_flight_per_client) {
		a.code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
		snprintf(a.message, sizeof(a.message),
			 "too many requests in flight from this client (limit %u)",
			 lim->max_in_flight_per_client);
	} else if (s_over_budget(rq->client_in_flight, rq->client_bytes, rq->bytes,
				 lim->max_mb_in_flight_per_client)) {
		a.code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
		snprintf(a.message, sizeof(a.message),
			 "too many bytes in flight from this client (limit %u MiB)",
			 lim->max_mb_in_flight_per_client);
	} else if (s_over_budget(rq->broker_in_flight, rq->broker_bytes, rq->bytes,
				 lim->max_mb_in_flight)) {
		/* many clients, each within its budget, could still fill the
		 * queues together (ZeroMQ bounds them in messages, not bytes) */
		a.code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
		snprintf(a.message, sizeof(a.message),
			 "too many bytes in flight through the broker (limit %u MiB); retry later",
			 lim->max_mb_in_flight);
	}
	return a;
}
