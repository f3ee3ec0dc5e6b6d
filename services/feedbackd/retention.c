/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The retention policy (retention.h): the [retention] section, and what
 * one record's TTL is and whether a hold keeps it. Precedence, the most
 * specific first: the scenario's override for the record's kind, the
 * scenario's override for every kind, the configured days of the kind,
 * the configured default; 0 all the way down is "kept forever".
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "feedbackd.h"
#include "retention.h"

/* The section as the file spells it; fb_retention_t keeps the days by kind. */
typedef struct {
	unsigned default_days, metric_days, problem_days, value_days, demand_days;
	unsigned idempotency_days, expire_per_tick, pass_every_s, day_s;
} conf_t;

#define K(member, min, max, def, help) \
	{ #member, TRC_CONF_UINT, TRC_CONF_AT(conf_t, member), min, max, def, help }

static const trc_conf_key_t s_keys[] = {
	K(default_days, 0, FB_RETENTION_DAYS_MAX, "0",
	  "raw records older than this (by receipt) are deleted; 0: kept forever"),
	K(metric_days, 0, FB_RETENTION_DAYS_MAX, "0", "for metric records; 0: the default"),
	K(problem_days, 0, FB_RETENTION_DAYS_MAX, "0", "for problem records; 0: the default"),
	K(value_days, 0, FB_RETENTION_DAYS_MAX, "0", "for value verifications; 0: the default"),
	K(demand_days, 0, FB_RETENTION_DAYS_MAX, "0", "for demand records; 0: the default"),
	K(idempotency_days, 1, FB_RETENTION_DAYS_MAX, "7",
	  "a record's idempotency key is remembered this long after it came (and while the record "
	  "is kept); a client must not retry a record after it"),
	K(expire_per_tick, 1, 10000, "500",
	  "records the expiry examines per 250 ms tick, in the group commit's transaction"),
	K(pass_every_s, 0, 86400, "60", "rest between the end of an expiry pass and the next"),
	K(day_s, 1, 86400, "86400",
	  "seconds in a retention day: 86400; shorter only to try retention out (tests)"),
};

const trc_conf_section_t fb_retention_section = {
	"retention", s_keys, sizeof(s_keys) / sizeof(s_keys[0]), sizeof(conf_t)
};
const trc_conf_section_t *const feedbackd_config[] = { &fb_retention_section, NULL };

void fb_retention_from(fb_retention_t *out, const trc_config_t *cfg)
{
	static const conf_t defaults = { .idempotency_days = 7, .expire_per_tick = 500,
					 .pass_every_s = 60, .day_s = 86400 };
	const conf_t *c = cfg != NULL ? trc_config_section(cfg, &fb_retention_section) : NULL;
	if (c == NULL)
		c = &defaults;
	*out = (fb_retention_t){ .days = { c->default_days, c->metric_days, c->problem_days,
					   c->value_days, c->demand_days },
				 .idempotency_days = c->idempotency_days,
				 .expire_per_tick = c->expire_per_tick,
				 .pass_every_s = c->pass_every_s,
				 .day_s = c->day_s };
}

int fb_record_kind(const Traction__V1__FeedbackRecord *r)
{
	switch (r->body_case) {
	case TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC:
		return TRACTION__V1__FEEDBACK_KIND__FEEDBACK_METRIC;
	case TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM:
		return TRACTION__V1__FEEDBACK_KIND__FEEDBACK_PROBLEM;
	case TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE:
		return TRACTION__V1__FEEDBACK_KIND__FEEDBACK_VALUE;
	case TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND:
		return TRACTION__V1__FEEDBACK_KIND__FEEDBACK_DEMAND;
	default:
		return 0;
	}
}

/* Whether holds holds (scenario, supply): 0 and *held, or a store error. */
static int s_held(trc_txn_t *txn, const char *scenario, const char *supply, bool *held)
{
	trc_dbkey_t k;
	MDB_val v;
	trc_dbkey_of(&k, scenario, supply);
	int rc = trc_txn_get(txn, trc_txn_db(txn, FB_DB_HOLDS), k.buf, k.len, &v);
	*held = rc == 0;
	return rc == TRC_ENOENT ? 0 : rc;
}

/* The scenario's overrides into memo->days (one entry per kind it has). */
static int s_overrides(trc_txn_t *txn, const char *scenario, unsigned days[FB_KINDS])
{
	trc_dbkey_t k;
	trc_iter_t it;
	memset(days, 0, sizeof(unsigned) * FB_KINDS);
	trc_dbkey_of(&k, scenario);
	int rc = trc_iter_prefix(txn, trc_txn_db(txn, FB_DB_RET_SCENARIO), &it, k.buf, k.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__RetentionOverride *o = traction__v1__retention_override__unpack(
			NULL, it.val.mv_size, it.val.mv_data);
		if (o == NULL) {
			rc = TRC_ECORRUPT; /* or out of memory: either way, keep everything */
			break;
		}
		if (o->kind >= 0 && o->kind < FB_KINDS)
			days[o->kind] = o->days;
		traction__v1__retention_override__free_unpacked(o, NULL);
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : txn->err;
}

int fb_retention_ttl_ms(trc_txn_t *txn, const fb_retention_t *pol, fb_ret_memo_t *memo,
			const Traction__V1__FeedbackRecord *r, int64_t *ttl_ms, bool *held)
{
	int rc = 0;
	if (!memo->scenario_known || strcmp(memo->scenario, r->scenario_id) != 0) {
		memo->scenario_known = memo->pair_known = false;
		snprintf(memo->scenario, sizeof(memo->scenario), "%s", r->scenario_id);
		if ((rc = s_overrides(txn, r->scenario_id, memo->days)) == 0)
			rc = s_held(txn, r->scenario_id, "", &memo->scenario_held);
		if (rc != 0)
			return rc;
		memo->scenario_known = true;
	}
	if (!memo->pair_known || strcmp(memo->supply, r->supply_id) != 0) {
		snprintf(memo->supply, sizeof(memo->supply), "%s", r->supply_id);
		if ((rc = s_held(txn, r->scenario_id, r->supply_id, &memo->pair_held)) != 0)
			return rc;
		memo->pair_known = true;
	}
	int kind = fb_record_kind(r);
	unsigned days = memo->days[kind];
	if (days == 0)
		days = memo->days[0];
	if (days == 0)
		days = pol->days[kind];
	if (days == 0)
		days = pol->days[0];
	*ttl_ms = (int64_t)days * pol->day_s * 1000;
	*held = memo->scenario_held || memo->pair_held;
	return 0;
}

int fb_retention_min_ttl_ms(trc_txn_t *txn, const fb_retention_t *pol, int64_t *ttl_ms)
{
	unsigned min = 0;
	for (int k = 0; k < FB_KINDS; k++)
		if (pol->days[k] != 0 && (min == 0 || pol->days[k] < min))
			min = pol->days[k];
	trc_iter_t it;
	int rc = trc_iter_begin(txn, trc_txn_db(txn, FB_DB_RET_SCENARIO), &it, NULL, 0, NULL, 0,
				false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__RetentionOverride *o = traction__v1__retention_override__unpack(
			NULL, it.val.mv_size, it.val.mv_data);
		if (o == NULL) {
			rc = TRC_ECORRUPT;
			break;
		}
		if (o->days != 0 && (min == 0 || o->days < min))
			min = o->days;
		traction__v1__retention_override__free_unpacked(o, NULL);
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = txn->err;
	*ttl_ms = (int64_t)min * pol->day_s * 1000;
	return rc;
}
