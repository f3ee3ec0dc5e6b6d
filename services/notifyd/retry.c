/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an attempt's outcome means, and how long to wait before the next:
 * the retry policy, pure, so that its unit test pins it down.
 *
 * Retried: what may pass — a 5xx (the receiver is failing, maybe for
 * now), 408 and 429 (it asks to come back), a timeout, no connection.
 * Not retried: any other answer (a 4xx says the request itself is wrong,
 * and the same request would be refused again; a 3xx is a receiver that
 * moved, for an admin to change the URL), and a request that cannot be
 * made (a URL libcurl refuses).
 */
#include "notifyd.h"

nt_outcome_t nt_outcome(nt_net_t net, long status)
{
	if (net == NT_NET_TIMEOUT || net == NT_NET_CONNECT)
		return NT_RETRY;
	if (net != NT_NET_OK)
		return NT_REJECTED;
	if (status >= 200 && status <= 299)
		return NT_DELIVERED;
	if (status >= 500 || status == 408 || status == 429)
		return NT_RETRY;
	return NT_REJECTED;
}

const char *nt_outcome_name(nt_outcome_t o)
{
	switch (o) {
	case NT_DELIVERED:
		return "delivered";
	case NT_RETRY:
		return "retry";
	default:
		return "rejected";
	}
}

/* Exponential, capped, with "equal jitter" (half fixed, half random):
 * the fixed half keeps the spacing growing as it should, the random half
 * spreads out the senders a receiver's outage lined up. */
uint64_t nt_backoff_ms(unsigned base_ms, unsigned cap_ms, unsigned attempts, uint32_t rnd)
{
	uint64_t d = base_ms > 0 ? base_ms : 1;
	for (unsigned i = 1; i < attempts && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	uint64_t half = d / 2;
	return d - half + (half > 0 ? (uint64_t)rnd % (half + 1) : 0);
}
