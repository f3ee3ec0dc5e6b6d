/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queries of service "feedback": list records, aggregates (stats),
 * problems, regressions and demand signals. None scans raw records except
 * list, whose job it is; the rest read the aggregates kept at ingest.
 *
 * A scoped reader (scope.c) gets what it sees of a list, filtered while
 * scanning, and is refused a request that names what it does not see.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "feedbackd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

static const char *s_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* ---- feedback.list ------------------------------------------------------------- */

static bool s_record_matches(const Traction__V1__FeedbackListRequest *q,
			     const Traction__V1__FeedbackRecord *r)
{
	if (q->supply_id && q->supply_id[0] && strcmp(q->supply_id, r->supply_id) != 0)
		return false;
	if (q->version && q->version[0] && strcmp(q->version, r->version) != 0)
		return false;
	if (q->scenario_id && q->scenario_id[0] && strcmp(q->scenario_id, r->scenario_id) != 0)
		return false;
	if (q->kind != 0 && (int)q->kind != (int)r->body_case - 9)
		return false; /* body cases are 10..13, kinds 1..4 */
	if (q->observed != NULL) {
		if (q->observed->from_ms != 0 && r->observed_at_ms < q->observed->from_ms)
			return false;
		if (q->observed->to_ms != 0 && r->observed_at_ms >= q->observed->to_ms)
			return false;
	}
	if (q->label != NULL && q->label->key != NULL && q->label->key[0] != '\0') {
		bool found = false;
		for (size_t i = 0; i < r->n_labels && !found; i++)
			found = strcmp(r->labels[i]->key, q->label->key) == 0 &&
				strcmp(r->labels[i]->value, s_or_empty(q->label->value)) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* What a list walks: the runs of a supply, of a scenario (the narrowest
 * index the filter names), or every record as one run; forward from the
 * cursor, or (newest_first) backward from it. */
typedef struct {
	trc_txn_t *txn;
	const char *key;               /* NULL: every record */
	fb_index_t index;
	bool back;
} walk_t;

/* The next run to read from position pos on (forward: ids >= pos;
 * backward: ids <= pos), clamped to pos: 0, or TRC_ENOENT when none. */
static int s_walk_run(const walk_t *w, uint64_t pos, uint64_t *first, uint64_t *last)
{
	if (w->key == NULL) {
		*first = w->back ? 1 : pos;
		*last = w->back ? pos : UINT64_MAX;
		return pos == 0 ? TRC_ENOENT : 0;
	}
	int rc = w->back ? fb_run_before(w->txn, w->index, w->key, pos, first, last)
			 : fb_run_from(w->txn, w->index, w->key, pos, first, last);
	if (rc == 0 && w->back && *last > pos)
		*last = pos;
	if (rc == 0 && !w->back && *first < pos)
		*first = pos;
	return rc;
}

typedef struct {
	trc_call_t *call;
	const Traction__V1__FeedbackListRequest *q;
	Traction__V1__FeedbackListReply *rep;
	size_t limit;
	bool check;                    /* scoped: each record's visibility checked */
	fb_seen_t seen;
	size_t hidden;
} take_t;

/* One record of the walk: taken, skipped, or the page is full (1: stop,
 * next_cursor set). */
static int s_take(take_t *t, Traction__V1__FeedbackRecord *r)
{
	if (!s_record_matches(t->q, r))
		return 0;
	if (t->check && !fb_sees_feedback(t->call, &t->seen, r->scenario_id, r->supply_id)) {
		if (++t->hidden < FB_SCOPE_SCAN_MAX)
			return 0;
		/* a bounded scan: the page ends short, the cursor goes on */
		t->rep->next_cursor = trc_arena_printf(t->call->arena, "%" PRIu64, r->id);
		return 1;
	}
	if (t->rep->n_records == t->limit) {
		t->rep->next_cursor = trc_arena_printf(t->call->arena, "%" PRIu64,
						       t->rep->records[t->limit - 1]->id);
		return 1;
	}
	t->rep->records[t->rep->n_records++] = r;
	return 0;
}

/* The records first..last of one run, in the walk's direction, into the
 * page: 0 (go on), 1 (full), or an error. */
static int s_take_run(take_t *t, const walk_t *w, uint64_t first, uint64_t last)
{
	trc_dbkey_t lo, hi;
	trc_dbkey_init(&lo);
	trc_dbkey_init(&hi);
	trc_dbkey_be64(&lo, first);
	if (last != UINT64_MAX)
		trc_dbkey_be64(&hi, last + 1);
	trc_iter_t it;
	int rc = trc_iter_begin(w->txn, trc_txn_db(w->txn, FB_DB_RECORDS), &it, lo.buf, lo.len,
				hi.len > 0 ? hi.buf : NULL, hi.len, w->back);
	int full = 0;
	while (rc == 0 && !full && trc_iter_next(&it)) {
		Traction__V1__FeedbackRecord *r;
		rc = trc_iter_rec(&it, t->call->arena, (void **)&r);
		if (rc == 0)
			full = s_take(t, r);
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : full;
}

static int s_list_check(trc_call_t *call, const Traction__V1__FeedbackListRequest *q,
			uint64_t *cursor)
{
	int rc = trc_check_slug_opt(call, "supply_id", q->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "version", q->version);
	if (rc == 0)
		rc = trc_check_enum(call, "kind", q->kind, &traction__v1__feedback_kind__descriptor, true);
	const char *text = trc_page_cursor(q->page);
	*cursor = 0;
	if (rc == 0 && text[0] != '\0') {
		char *end;
		*cursor = strtoull(text, &end, 10);
		if (*end != '\0' || *cursor == 0)
			rc = trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	}
	if (rc == 0 && q->scenario_id && q->scenario_id[0] && !fb_sees_scenario(call, q->scenario_id))
		rc = trc_scope_deny(call, "scenario", q->scenario_id);
	return rc;
}

int feedbackd_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__FeedbackListRequest *q = (const void *)req_;
	Traction__V1__FeedbackListReply *rep = (void *)rep_;
	uint64_t cursor;
	int rc = s_list_check(call, q, &cursor);
	if (rc != 0)
		return rc;
	take_t t = { .call = call, .q = q, .rep = rep, .limit = trc_page_limit(q->page, 100, 1000) };
	/* a scoped reader sees the records of its enterprises' scenarios and
	 * of its providers' supplies: all that match, if the filter names one */
	t.check = trc_scope_on(call) &&
		  !(q->supply_id && q->supply_id[0] && fb_supply_ours(call, NULL, q->supply_id)) &&
		  !(q->scenario_id && q->scenario_id[0] &&
		    fb_scenario_ours(call, NULL, q->scenario_id));
	rep->records = trc_arena_alloc(call->arena, sizeof(void *) * t.limit);
	if (rep->records == NULL)
		return TRC_ENOMEM;
	walk_t w = { .txn = call->txn, .back = q->newest_first };
	if (q->supply_id && q->supply_id[0]) {
		w.key = q->supply_id;
		w.index = FB_INDEX_SUPPLY;
	} else if (q->scenario_id && q->scenario_id[0]) {
		w.key = q->scenario_id;
		w.index = FB_INDEX_SCENARIO;
	}
	/* the cursor is the last record returned: forward, after it; backward,
	 * before it (none: from the newest) */
	uint64_t pos = w.back ? (cursor != 0 ? cursor - 1 : UINT64_MAX) : cursor + 1;
	uint64_t first, last;
	while ((rc = s_walk_run(&w, pos, &first, &last)) == 0) {
		if ((rc = s_take_run(&t, &w, first, last)) != 0)
			break; /* full, or an error */
		if (w.key == NULL || (w.back ? first <= 1 : last == UINT64_MAX))
			break;
		pos = w.back ? first - 1 : last + 1;
	}
	if (rc == TRC_ENOENT || rc == 1)
		rc = 0;
	return rc != 0 ? rc : call->txn->err;
}

/* ---- feedback.stats -------------------------------------------------------------- */

static int s_metric(trc_call_t *call, const Traction__V1__StatsRequest *q, const void *key,
		    size_t klen, const char *name, Traction__V1__MetricAggregate **out)
{
	Traction__V1__MetricAggregate *ma = trc_arena_alloc(call->arena, sizeof(*ma));
	Traction__V1__AggregateKey *k = trc_arena_alloc(call->arena, sizeof(*k));
	Traction__V1__MetricStats *st = trc_arena_alloc(call->arena, sizeof(*st));
	if (ma == NULL || k == NULL || st == NULL)
		return TRC_ENOMEM;
	traction__v1__metric_aggregate__init(ma);
	traction__v1__aggregate_key__init(k);
	traction__v1__metric_stats__init(st);
	k->supply_id = q->supply_id;
	k->version = (char *)s_or_empty(q->version);
	k->scenario_id = (char *)s_or_empty(q->scenario_id);
	k->metric = (char *)name;
	ma->key = k;
	ma->stats = st;
	int64_t from = q->window != NULL ? q->window->from_ms : 0;
	int64_t to = q->window != NULL ? q->window->to_ms : 0;
	int rc;
	if (from == 0 && to == 0) {
		fb_agg_t a;
		rc = fb_agg_load(call->txn, key, klen, &a);
		if (rc != 0)
			return rc;
		fb_agg_stats(&a, st);
		fb_agg_free(&a);
	} else {
		/* A window is answered from the hourly buckets it overlaps; the
		 * quantile sketch is not kept per bucket, so p50/p90/p99 stay 0. */
		Traction__V1__TrendBucket **b;
		size_t n;
		rc = fb_trend_read(call, key, klen, 1, from, to, &b, &n);
		if (rc != 0)
			return rc;
		double sum = 0;
		for (size_t i = 0; i < n; i++) {
			if (st->count == 0 || b[i]->min < st->min)
				st->min = b[i]->min;
			if (st->count == 0 || b[i]->max > st->max)
				st->max = b[i]->max;
			st->count += b[i]->count;
			sum += b[i]->mean * (double)b[i]->count;
		}
		st->sum = sum;
		st->mean = st->count > 0 ? sum / (double)st->count : 0;
		if (n > 0) {
			st->first_seen_ms = b[0]->start_ms;
			st->last_seen_ms = b[n - 1]->start_ms;
		}
	}
	if (q->granularity != 0) {
		rc = fb_trend_read(call, key, klen, (int)q->granularity, from, to, &ma->trend,
				   &ma->n_trend);
		if (rc != 0)
			return rc;
	}
	*out = ma;
	return 0;
}

/* The aggregates of one scenario are its enterprise's and the supply's
 * provider's; the roll-ups over every scenario the provider's only. */
static int s_stats_scope(trc_call_t *call, const char *supply, const char *scenario)
{
	if (!trc_scope_on(call))
		return 0;
	if (scenario[0] != '\0') {
		if (!fb_sees_scenario(call, scenario))
			return trc_scope_deny(call, "scenario", scenario);
		return fb_sees_feedback(call, NULL, scenario, supply)
			       ? 0
			       : trc_scope_deny(call, "supply", supply);
	}
	if (fb_supply_ours(call, NULL, supply))
		return 0;
	trc_call_detail(call, "supply", "out_of_scope", supply, "");
	return trc_call_fail(call, TRC_EPERM,
			     "supply '%s': its aggregates over every scenario are for its "
			     "provider's scope; name a scenario_id in this reader's scope",
			     supply);
}

int feedbackd_stats(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__StatsRequest *q = (const void *)req_;
	Traction__V1__StatsReply *rep = (void *)rep_;
	int rc = trc_check_slug(call, "supply_id", q->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "version", q->version);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "metric", q->metric);
	if (rc == 0)
		rc = trc_check_enum(call, "granularity", q->granularity,
				    &traction__v1__granularity__descriptor, true);
	if (rc == 0)
		rc = s_stats_scope(call, q->supply_id, s_or_empty(q->scenario_id));
	if (rc != 0)
		return rc;
	const char *v = s_or_empty(q->version), *sc = s_or_empty(q->scenario_id);
	trc_dbkey_t k;
	if (q->metric != NULL && q->metric[0] != '\0') {
		fb_key(&k, q->supply_id, v, sc, q->metric);
		Traction__V1__MetricAggregate *ma;
		rc = s_metric(call, q, k.buf, k.len, q->metric, &ma);
		if (rc == TRC_ENOENT)
			return trc_call_fail(call, rc,
					     "metric: no '%s' reported for supply '%s'%s%s%s%s",
					     q->metric, q->supply_id, v[0] ? " version " : "", v,
					     sc[0] ? " in scenario " : "", sc);
		if (rc != 0)
			return rc;
		rep->metrics = trc_arena_alloc(call->arena, sizeof(void *));
		if (rep->metrics == NULL)
			return TRC_ENOMEM;
		rep->metrics[rep->n_metrics++] = ma;
	} else {
		fb_key(&k, q->supply_id, v, sc, NULL);
		size_t cap = 16;
		trc_iter_t it;
		rc = trc_iter_prefix(call->txn, trc_txn_db(call->txn, FB_DB_AGG), &it, k.buf, k.len,
				     false);
		while (rc == 0 && trc_iter_next(&it)) {
			size_t mlen;
			const char *m = fb_key_metric(&it.key, &mlen);
			if (m == NULL)
				continue;
			char *name = trc_arena_alloc(call->arena, mlen + 1);
			rep->metrics = trc_arena_grow(call->arena, rep->metrics, rep->n_metrics, &cap,
						      sizeof(*rep->metrics));
			if (name == NULL || rep->metrics == NULL) {
				rc = TRC_ENOMEM;
				break;
			}
			memcpy(name, m, mlen);
			Traction__V1__MetricAggregate *ma;
			rc = s_metric(call, q, it.key.mv_data, it.key.mv_size, name, &ma);
			if (rc == 0)
				rep->metrics[rep->n_metrics++] = ma;
		}
		trc_iter_end(&it);
		if (rc != 0)
			return rc;
	}
	Traction__V1__EvidenceUpdate *u;
	rc = fb_evidence_update(call, q->supply_id, v, sc, &u);
	if (rc != 0)
		return rc;
	rep->problems = u->problems;
	rep->n_problems = u->n_problems;
	rep->values = u->values;
	rep->demands = u->demands;
	return 0;
}

/* ---- feedback.problems, feedback.regressions ----------------------------------------- */

static bool s_has(char **list, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], v) == 0)
			return true;
	return false;
}

int fb_key_cursor(trc_call_t *call, const void *key, size_t len, char **out)
{
	char *hex = trc_arena_alloc(call->arena, 2 * len + 1);
	if (hex == NULL)
		return TRC_ENOMEM;
	trc_hex(hex, key, len);
	*out = hex;
	return 0;
}

int fb_cursor_key(trc_call_t *call, const char *cursor, trc_dbkey_t *lo)
{
	size_t clen = strlen(cursor);
	trc_dbkey_init(lo);
	for (size_t i = 0; i + 1 < clen; i += 2) {
		unsigned byte;
		if (sscanf(cursor + i, "%2x", &byte) != 1)
			break;
		trc_dbkey_u8(lo, (uint8_t)byte);
	}
	trc_dbkey_sep(lo); /* strictly after the cursor */
	if (clen % 2 != 0 || lo->len != clen / 2 + 1)
		return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	return 0;
}

/* A problem sums the reports of every scenario of its supply: a scoped
 * reader sees the problems of its providers' supplies, those reported in
 * its enterprises' scenarios only, and, asked about one of those
 * scenarios, its part of the problems reported there (scope.c). */
/* The bounds of a problems page: of the supply's keys (supply ""
 * for all), from just after the key the cursor names (its hex). */
static int s_problems_range(trc_call_t *call, const char *cursor, const char *supply,
			    trc_dbkey_t *lo, trc_dbkey_t *hi)
{
	size_t clen = strlen(cursor);
	trc_dbkey_init(lo);
	trc_dbkey_init(hi);
	if (supply[0] != '\0') {
		trc_dbkey_of(lo, supply);
		trc_dbkey_sep(lo);
		trc_dbkey_of(hi, supply);
		trc_dbkey_past(hi);
	}
	return clen == 0 ? 0 : fb_cursor_key(call, cursor, lo);
}

static int s_problems(trc_call_t *call, const Traction__V1__PageRequest *page, const char *supply,
		      const char *version, const char *scenario, int state, int min_severity,
		      Traction__V1__ProblemsReply *rep)
{
	trc_dbkey_t lo, hi;
	int rc = s_problems_range(call, trc_page_cursor(page), supply, &lo, &hi);
	if (rc != 0)
		return rc;
	size_t limit = trc_page_limit(page, 100, 1000);
	rep->problems = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->problems == NULL)
		return TRC_ENOMEM;
	trc_iter_t it;
	rc = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_PROBLEMS), &it,
			    lo.len ? lo.buf : NULL, lo.len, hi.len ? hi.buf : NULL, hi.len, false);
	const void *lastkey = NULL;
	size_t lastlen = 0, hidden = 0;
	bool scoped = trc_scope_on(call);
	fb_seen_t seen = { 0 };
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__ProblemInfo *p;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&p)) != 0)
			break;
		if (state != 0 && (int)p->state != state)
			continue;
		if ((int)p->severity < min_severity)
			continue;
		if (version[0] != '\0' && !s_has(p->versions, p->n_versions, version))
			continue;
		if (scenario[0] != '\0' && !s_has(p->scenario_ids, p->n_scenario_ids, scenario))
			continue;
		fb_view_t view = scoped ? fb_problem_view(call, &seen, p, scenario) : FB_VIEW_WHOLE;
		if (view == FB_VIEW_NONE) {
			if (++hidden < FB_SCOPE_SCAN_MAX)
				continue;
			/* a bounded scan: the page ends short, the cursor goes on */
			rc = fb_key_cursor(call, it.key.mv_data, it.key.mv_size, &rep->next_cursor);
			break;
		}
		if (rep->n_problems == limit) {
			rc = fb_key_cursor(call, lastkey, lastlen, &rep->next_cursor);
			break;
		}
		if (view == FB_VIEW_PART && (rc = fb_problem_part(call, p)) != 0)
			break;
		rep->problems[rep->n_problems++] = p;
		lastkey = it.key.mv_data;
		lastlen = it.key.mv_size;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int feedbackd_problems(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ProblemsRequest *q = (const void *)req_;
	int rc = trc_check_slug_opt(call, "supply_id", q->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "version", q->version);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc == 0)
		rc = trc_check_enum(call, "state", q->state, &traction__v1__problem_state__descriptor,
				    true);
	if (rc == 0)
		rc = trc_check_enum(call, "min_severity", q->min_severity,
				    &traction__v1__severity__descriptor, true);
	if (rc == 0 && q->scenario_id && q->scenario_id[0] && !fb_sees_scenario(call, q->scenario_id))
		rc = trc_scope_deny(call, "scenario", q->scenario_id);
	if (rc != 0)
		return rc;
	return s_problems(call, q->page, s_or_empty(q->supply_id), s_or_empty(q->version),
			  s_or_empty(q->scenario_id), q->state, q->min_severity, (void *)rep_);
}

int feedbackd_regressions(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__RegressionsRequest *q = (const void *)req_;
	int rc = trc_check_slug_opt(call, "supply_id", q->supply_id);
	if (rc != 0)
		return rc;
	return s_problems(call, q->page, s_or_empty(q->supply_id), "", "",
			  TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED, 0, (void *)rep_);
}

/* ---- feedback.demands -------------------------------------------------------------- */

static int s_demand_cmp(const void *a_, const void *b_)
{
	const Traction__V1__CapabilityDemand *a = *(Traction__V1__CapabilityDemand *const *)a_;
	const Traction__V1__CapabilityDemand *b = *(Traction__V1__CapabilityDemand *const *)b_;
	if (a->signals != b->signals)
		return a->signals > b->signals ? -1 : 1;
	return strcmp(a->capability, b->capability);
}

int feedbackd_demands(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__DemandsRequest *q = (const void *)req_;
	Traction__V1__DemandsReply *rep = (void *)rep_;
	int rc = trc_check_slug_opt(call, "supply_id", q->supply_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "scenario_id", q->scenario_id);
	if (rc != 0)
		return rc;
	if (!fb_sees_demands(call)) {
		/* a capability's row sums its signals over every scenario and
		 * keeps no count per scenario: an enterprise's share cannot be
		 * told apart from it */
		trc_call_detail(call, "demands", "out_of_scope", "", "");
		return trc_call_fail(call, TRC_EPERM,
				     "demands: signals are counted per capability over every "
				     "scenario, so they are shown to provider-scoped readers only; "
				     "this reader's own demand signals are its feedback records "
				     "(feedback.list with kind FEEDBACK_DEMAND)");
	}
	/* the signals about one supply sum its feedback over every scenario */
	if (q->supply_id && q->supply_id[0] && !fb_sees_supply(call, NULL, q->supply_id))
		return trc_scope_deny(call, "supply", q->supply_id);
	size_t cap = 64, n = 0;
	Traction__V1__CapabilityDemand **all = NULL;
	trc_iter_t it;
	rc = trc_iter_begin(call->txn, trc_txn_db(call->txn, FB_DB_DEMANDS), &it, NULL, 0, NULL, 0,
			    false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__CapabilityDemand *d;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&d)) != 0)
			break;
		if (q->scenario_id && q->scenario_id[0] &&
		    !s_has(d->scenario_ids, d->n_scenario_ids, q->scenario_id))
			continue;
		if (q->supply_id && q->supply_id[0]) {
			/* the signals about this supply only */
			const trc_db_t *ds = trc_txn_db(call->txn, FB_DB_DEMAND_SUPPLY);
			trc_dbkey_t k;
			MDB_val v;
			if (!trc_dbkey_of(&k, q->supply_id, d->capability) ||
			    trc_txn_get(call->txn, ds, k.buf, k.len, &v) != 0 || v.mv_size != 8)
				continue;
			d->signals = trc_be64_get(v.mv_data);
		}
		if ((all = trc_arena_grow(call->arena, all, n, &cap, sizeof(*all))) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		all[n++] = d;
	}
	trc_iter_end(&it);
	if (rc == 0)
		rc = call->txn->err;
	if (rc != 0)
		return rc;
	if (n > 1)
		qsort(all, n, sizeof(*all), s_demand_cmp);
	size_t limit = q->limit == 0 ? 100 : (q->limit > 1000 ? 1000 : q->limit);
	rep->demands = all; /* in the arena, sorted: the first `limit` go out */
	rep->n_demands = n < limit ? n : limit;
	return 0;
}
