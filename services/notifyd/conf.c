/* SPDX-License-Identifier: Apache-2.0 */
/*
 * [notify] of the config file: the retry policy, the time an attempt may
 * take, and how long finished deliveries are kept to be listed.
 */
#include "notifyd.h"

#define K(member, min, max, def, help) \
	{ #member, TRC_CONF_UINT, TRC_CONF_AT(nt_conf_t, member), min, max, def, help }

static const trc_conf_key_t s_keys[] = {
	K(backoff_base_ms, 10, 3600000, "1000",
	  "the wait after a delivery's first failed attempt, doubled after each next one "
	  "(half of it random jitter)"),
	K(backoff_cap_ms, 10, 86400000, "600000", "the longest wait between two attempts"),
	K(max_attempts, 1, 1000, "12",
	  "attempts of one delivery before it is dead (webhook.retry brings it back)"),
	K(max_age_s, 1, 31536000, "86400",
	  "a delivery older than this is not tried again after a failure: dead"),
	K(timeout_ms, 100, 600000, "10000",
	  "one attempt, connection included, before it counts as failed (and is retried)"),
	K(keep_s, 0, 315360000, "604800",
	  "delivered and dead deliveries are listed this long, then forgotten"),
	K(dispatch_max, 1, 100000, "256",
	  "deliveries handed to the HTTP client in one tick (every 100 ms, and whenever a "
	  "transfer ends or an alert is queued), at most"),
};

const trc_conf_section_t nt_conf_section = { "notify", s_keys, sizeof(s_keys) / sizeof(s_keys[0]),
					     sizeof(nt_conf_t) };
const trc_conf_section_t *const notifyd_config[] = { &nt_conf_section, NULL };
