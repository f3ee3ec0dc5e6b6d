/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Alert rules and the life of their alerts (alerts.h): the rules in
 * memory, the metric rules' windows over a batch, judging, firing and
 * resolving with the events and the history. The handlers are in
 * alert_methods.c, targets in alert_targets.c.
 *
 * Stores:
 *   alert_rules  rule id -> AlertRule
 *   alerts       rule id, subject -> Alert (pending or firing)
 *   alert_log    be64 n -> Alert (every firing and resolution, append-only)
 *   alert_win    supply, version, scenario, metric, be64 window_ms -> window
 *                row (window.h): one window for every rule over the same
 *                records and span (a mean and a p99 rule on one metric
 *                share it: every window keeps its sketches)
 *   alert_meta   "next_id" -> be64: the next alert's id
 */
#include "alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "feedbackd.h"
#include "validate.h"
#include "record.h"
#include "util.h"
#include "window.h"

typedef struct {
	trc_dbkey_t key; /* fb_rule_t.window */
	fb_window_t w;
	bool dirty; /* a record went in: written at batch_end */
} win_t;

struct fb_alerts {
	bool loaded;     /* rules holds the store's rules */
	bool changed;    /* a rule was added or removed in this batch */
	fb_rule_t *rules;
	size_t n, n_metric;
	win_t *wins;     /* the windows this batch touched */
	size_t n_wins, cap_wins;
	/* by rule (rules[i]): its window in wins, -1 if not loaded yet; a
	 * record finds its rules' windows without a search */
	int *win_of;
	/* by rule: the first rule of the same window (itself if none before
	 * it): a record goes into each window once, through its first rule */
	size_t *lead;
	/* the metric rules that lead a window, sorted by metric name: a
	 * record looks at the rules of its metric only (s_first_of) */
	size_t *by_metric;
	size_t n_by_metric;
};

fb_alerts_t *fb_alerts_new(void)
{
	return calloc(1, sizeof(fb_alerts_t));
}

static void s_wins_clear(fb_alerts_t *a)
{
	for (size_t i = 0; i < a->n_wins; i++)
		fb_window_free(&a->wins[i].w);
	a->n_wins = 0;
	for (size_t i = 0; a->win_of != NULL && i < a->n; i++)
		a->win_of[i] = -1;
}

void fb_alerts_destroy(fb_alerts_t **ap)
{
	fb_alerts_t *a = *ap;
	if (a == NULL)
		return;
	s_wins_clear(a);
	free(a->wins);
	free(a->rules);
	free(a->win_of);
	free(a->lead);
	free(a->by_metric);
	free(a);
	*ap = NULL;
}

static fb_alerts_t *s_alerts(trc_call_t *call)
{
	fb_state_t *st = call->user;
	return st->alerts;
}

/* ---- the rules in memory ---------------------------------------------------------- */

static void s_copy(char *dst, const char *src)
{
	snprintf(dst, TRC_SLUG_MAX + 1, "%s", src != NULL ? src : "");
}

static void s_rule_from(fb_rule_t *r, const Traction__V1__AlertRule *p)
{
	memset(r, 0, sizeof(*r));
	s_copy(r->id, p->id);
	r->kind = p->kind;
	s_copy(r->supply, p->supply_id);
	s_copy(r->version, p->version);
	s_copy(r->scenario, p->scenario_id);
	s_copy(r->metric, p->metric);
	r->quantile = p->quantile;
	r->cmp = p->comparison;
	r->threshold = p->threshold;
	r->window_ms = (int64_t)p->window_s * 1000;
	r->for_ms = (int64_t)p->for_s * 1000;
	r->min_count = p->min_count > 0 ? p->min_count : 1;
	r->severity = p->severity;
	trc_dbkey_of(&r->window, r->supply, r->version, r->scenario, r->metric);
	trc_dbkey_be64(&r->window, (uint64_t)r->window_ms);
}

static bool s_same_window(const fb_rule_t *a, const fb_rule_t *b)
{
	return a->kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC &&
	       b->kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC && a->window.len == b->window.len &&
	       memcmp(a->window.buf, b->window.buf, a->window.len) == 0;
}

/* by, the window-leading metric rules of rules[0..n), sorted by metric
 * name (by insertion: a store holds at most FB_RULES_MAX rules): how
 * many. */
static size_t s_index_metrics(const fb_rule_t *rules, const size_t *lead, size_t n, size_t *by)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (lead[i] != i || rules[i].kind != TRACTION__V1__ALERT_KIND__ALERT_METRIC)
			continue;
		size_t j = m++;
		for (; j > 0 && strcmp(rules[by[j - 1]].metric, rules[i].metric) > 0; j--)
			by[j] = by[j - 1];
		by[j] = i;
	}
	return m;
}

/* The first entry of a->by_metric whose rule names metric (n_by_metric if
 * none). */
static size_t s_first_of(const fb_alerts_t *a, const char *metric)
{
	size_t lo = 0, hi = a->n_by_metric;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(a->rules[a->by_metric[mid]].metric, metric) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const fb_rule_t *fb_alert_rules(trc_call_t *call, size_t *n, int *rcp)
{
	fb_alerts_t *a = s_alerts(call);
	*rcp = 0;
	if (!a->loaded) {
		size_t cap = 0, got = 0, metric = 0;
		fb_rule_t *rules = NULL;
		trc_iter_t it;
		int rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_ALERT_RULES), &it, NULL,
					0, NULL, 0, false);
		while (rc == 0 && trc_iter_next(&it)) {
			Traction__V1__AlertRule *p;
			trc_arena_mark_t mark = trc_arena_mark(call->arena);
			if ((rc = trc_iter_rec(&it, call->arena, (void **)&p)) != 0)
				break;
			if (got == cap) {
				cap = cap ? cap * 2 : 16;
				fb_rule_t *nr = realloc(rules, sizeof(*rules) * cap);
				if (nr == NULL) {
					rc = TRC_ENOMEM;
					break;
				}
				rules = nr;
			}
			s_rule_from(&rules[got], p);
			metric += rules[got].kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC;
			got++;
			trc_arena_rewind(call->arena, mark);
		}
		trc_iter_end(&it);
		if (rc == 0)
			rc = call->txn->err;
		int *win_of = rc == 0 ? malloc(sizeof(int) * (got > 0 ? got : 1)) : NULL;
		size_t *lead = rc == 0 ? malloc(sizeof(size_t) * (got > 0 ? got : 1)) : NULL;
		size_t *by = rc == 0 ? malloc(sizeof(size_t) * (got > 0 ? got : 1)) : NULL;
		if (rc == 0 && (win_of == NULL || lead == NULL || by == NULL))
			rc = TRC_ENOMEM;
		if (rc != 0) {
			free(rules);
			free(win_of);
			free(lead);
			free(by);
			*n = 0;
			*rcp = rc;
			return NULL;
		}
		/* the windows of this batch stay (by key); the index is redone */
		for (size_t i = 0; i < got; i++) {
			lead[i] = i;
			for (size_t j = 0; j < i && lead[i] == i; j++)
				if (s_same_window(&rules[j], &rules[i]))
					lead[i] = j;
			win_of[i] = -1;
			for (size_t w = 0; w < a->n_wins; w++)
				if (a->wins[w].key.len == rules[i].window.len &&
				    memcmp(a->wins[w].key.buf, rules[i].window.buf, rules[i].window.len) == 0)
					win_of[i] = (int)w;
		}
		free(a->rules);
		free(a->win_of);
		free(a->lead);
		free(a->by_metric);
		a->rules = rules;
		a->win_of = win_of;
		a->lead = lead;
		a->by_metric = by;
		a->n_by_metric = s_index_metrics(rules, lead, got, by);
		a->n = got;
		a->n_metric = metric;
		a->loaded = true;
	}
	*n = a->n;
	return a->rules;
}

void fb_alert_rules_changed(trc_call_t *call)
{
	fb_alerts_t *a = s_alerts(call);
	a->loaded = false;
	a->changed = true;
}

int fb_alert_forget_window(trc_call_t *call, const fb_rule_t *r)
{
	fb_alerts_t *a = s_alerts(call);
	if (r->kind != TRACTION__V1__ALERT_KIND__ALERT_METRIC)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (&a->rules[i] != r && s_same_window(&a->rules[i], r))
			return 0;
	int rc = trc_txn_del(call->txn, trc_call_db(call, FB_DB_ALERT_WIN), r->window.buf,
			     r->window.len);
	return rc == TRC_ENOENT ? 0 : rc;
}

bool fb_rule_covers(const fb_rule_t *r, const char *supply, const char *scenario)
{
	return (r->supply[0] == '\0' || strcmp(r->supply, supply) == 0) &&
	       (r->scenario[0] == '\0' || strcmp(r->scenario, scenario) == 0);
}

/* ---- metric windows over a batch ----------------------------------------------------- */

/* The window of rule r in this batch: loaded from the store (or new) the
 * first time. */
static int s_window(trc_call_t *call, const fb_rule_t *r, win_t **out)
{
	fb_alerts_t *a = s_alerts(call);
	size_t ri = a->lead[r - a->rules]; /* r is one of a->rules: its window's first */
	r = &a->rules[ri];
	if (a->win_of[ri] >= 0) {
		*out = &a->wins[a->win_of[ri]];
		return 0;
	}
	if (a->n_wins == a->cap_wins) {
		size_t cap = a->cap_wins ? a->cap_wins * 2 : 8;
		win_t *nw = realloc(a->wins, sizeof(*nw) * cap);
		if (nw == NULL)
			return TRC_ENOMEM;
		a->wins = nw;
		a->cap_wins = cap;
	}
	win_t *w = &a->wins[a->n_wins];
	w->key = r->window;
	w->dirty = false;
	MDB_val v;
	int rc = trc_txn_get(call->txn, trc_call_db(call, FB_DB_ALERT_WIN), r->window.buf,
			     r->window.len, &v);
	if (rc == 0)
		rc = fb_window_decode(&w->w, v.mv_data, v.mv_size);
	if (rc == TRC_ENOENT || rc == TRC_ECORRUPT) {
		/* a window's first record, or a row of another layout: start empty */
		fb_window_init(&w->w, r->window_ms, true);
		rc = 0;
	}
	if (rc != 0)
		return rc;
	/* every rule of this window finds it at once */
	for (size_t i = ri; i < a->n; i++)
		if (a->lead[i] == ri)
			a->win_of[i] = (int)a->n_wins;
	a->n_wins++;
	*out = w;
	return 0;
}

int fb_alerts_record(trc_call_t *call, const Traction__V1__FeedbackRecord *r,
		     const sketch_point_t *v)
{
	fb_alerts_t *a = s_alerts(call);
	if (a->loaded && a->n_metric == 0)
		return 0; /* the common case costs one branch */
	size_t n;
	int rc;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	if (rc != 0)
		return rc;
	const char *metric = r->metric->name;
	/* each window once, through the rule that leads it (a->lead) */
	for (size_t k = s_first_of(a, metric); rc == 0 && k < a->n_by_metric; k++) {
		const fb_rule_t *ru = &rules[a->by_metric[k]];
		if (strcmp(ru->metric, metric) != 0)
			break; /* past the rules of its metric */
		if (strcmp(ru->supply, r->supply_id) != 0 ||
		    (ru->version[0] != '\0' && strcmp(ru->version, r->version) != 0) ||
		    (ru->scenario[0] != '\0' && strcmp(ru->scenario, r->scenario_id) != 0))
			continue;
		win_t *w;
		rc = s_window(call, ru, &w);
		/* the service's clock: the sites' clocks differ and lag */
		if (rc == 0)
			rc = fb_window_add(&w->w, call->now_ms, v, r->id);
		if (rc == 0)
			w->dirty = true;
	}
	return rc;
}

int fb_alerts_batch_end(trc_call_t *call)
{
	fb_alerts_t *a = s_alerts(call);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < a->n_wins; i++) {
		const fb_window_t *w = &a->wins[i].w;
		if (!a->wins[i].dirty)
			continue;
		size_t len = fb_window_size(w);
		uint8_t *dst = trc_txn_reserve(call->txn, trc_call_db(call, FB_DB_ALERT_WIN),
					       a->wins[i].key.buf, a->wins[i].key.len, len, 0);
		if (dst == NULL)
			rc = call->txn->err != 0 ? call->txn->err : TRC_EINTERNAL;
		else
			fb_window_encode(w, dst);
		a->wins[i].dirty = false;
	}
	return rc;
}

void fb_alerts_batch_done(fb_alerts_t *a)
{
	s_wins_clear(a);
	if (a->changed) {
		a->loaded = false;
		a->changed = false;
	}
}

/* ---- the life of an alert ------------------------------------------------------------- */

static bool s_alert_key(trc_dbkey_t *k, const char *rule, const char *subject)
{
	trc_dbkey_init(k);
	trc_dbkey_str(k, rule);
	trc_dbkey_str(k, subject);
	return trc_dbkey_ok(k);
}

static int s_next_id(trc_call_t *call, uint64_t *id)
{
	const trc_db_t *meta = trc_call_db(call, FB_DB_ALERT_META);
	MDB_val v;
	int rc = trc_txn_get(call->txn, meta, "next_id", 7, &v);
	*id = rc == 0 && v.mv_size == 8 ? trc_be64_get(v.mv_data) : 1;
	if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	uint8_t be[8];
	trc_be64_put(be, *id + 1);
	return trc_txn_put(call->txn, meta, "next_id", 7, be, 8, 0);
}

/* The alert into the history and onto the bus as an event of type. */
static int s_record(trc_call_t *call, Traction__V1__Alert *al, const char *type)
{
	const trc_db_t *log = trc_call_db(call, FB_DB_ALERT_LOG);
	MDB_val k;
	uint64_t n = 1;
	if (trc_txn_last(call->txn, log, &k, NULL) == 0 && k.mv_size == 8)
		n = trc_be64_get(k.mv_data) + 1;
	uint8_t be[8];
	trc_be64_put(be, n);
	int rc = trc_rec_put(call->txn, log, be, 8, &al->base);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ALERT;
	ev.alert = al;
	return trc_call_emit(call, type, &ev);
}

/* One line for people: what, where, the figure against the threshold. */
static char *s_summary(trc_call_t *call, const fb_rule_t *r, const Traction__V1__Alert *a)
{
	const char *where = a->scenario_id && a->scenario_id[0] ? a->scenario_id : "every scenario";
	switch (r->kind) {
	case TRACTION__V1__ALERT_KIND__ALERT_METRIC: {
		char fig[16];
		if (r->quantile > 0)
			snprintf(fig, sizeof(fig), "p%g", r->quantile * 100);
		else
			snprintf(fig, sizeof(fig), "mean");
		return trc_arena_printf(call->arena, "%s %s of %s@%s over %llds in %s: %g %s %g "
						     "(%llu records)",
					a->metric, fig, a->supply_id,
					a->version && a->version[0] ? a->version : "*",
					(long long)(r->window_ms / 1000), where, a->value,
					trc_cmp_symbol(r->cmp), r->threshold,
					(unsigned long long)a->count);
	}
	case TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM:
		return trc_arena_printf(call->arena, "critical problem %s of %s: %s",
					a->problem ? a->problem->signature : "",
					a->supply_id, a->problem ? a->problem->title : "");
	case TRACTION__V1__ALERT_KIND__ALERT_REGRESSION:
		return trc_arena_printf(call->arena, "problem %s of %s came back in %s (addressed by %s)",
					a->problem ? a->problem->signature : "", a->supply_id,
					a->problem ? a->problem->regressed_in : "",
					a->problem ? a->problem->addressed_by : "");
	default:
		return trc_arena_printf(call->arena,
					"deployment %s (%s@%s) no longer meets target %s %s %g in %s: "
					"mean %g (%llu records)",
					a->deployment_id, a->supply_id, a->version, a->metric,
					trc_cmp_symbol(a->comparison), a->threshold, a->scenario_id,
					a->value, (unsigned long long)a->count);
	}
}

static int s_fire(trc_call_t *call, const fb_rule_t *r, Traction__V1__Alert *al)
{
	int rc = s_next_id(call, &al->id);
	if (rc != 0)
		return rc;
	al->state = TRACTION__V1__ALERT_STATE__ALERT_FIRING;
	al->fired_ms = call->now_ms;
	al->summary = s_summary(call, r, al);
	if (al->summary == NULL)
		return TRC_ENOMEM;
	trc_dbkey_t k;
	if (!s_alert_key(&k, r->id, al->subject))
		return TRC_EINVAL;
	rc = trc_rec_put(call->txn, trc_call_db(call, FB_DB_ALERTS), k.buf, k.len, &al->base);
	return rc != 0 ? rc : s_record(call, al, "alert.fired");
}

static int s_resolve(trc_call_t *call, Traction__V1__Alert *al, const trc_dbkey_t *k,
		     const char *reason)
{
	int rc = trc_txn_del(call->txn, trc_call_db(call, FB_DB_ALERTS), k->buf, k->len);
	if (rc != 0 || al->state != TRACTION__V1__ALERT_STATE__ALERT_FIRING)
		return rc; /* a pending alert goes quietly: it never fired */
	al->state = TRACTION__V1__ALERT_STATE__ALERT_RESOLVED;
	al->resolved_ms = call->now_ms;
	al->reason = (char *)reason;
	return s_record(call, al, "alert.resolved");
}

/* The evidence of ev over what cur had (the judged figure now). */
static void s_evidence(Traction__V1__Alert *cur, const Traction__V1__Alert *ev)
{
	cur->value = ev->value;
	cur->count = ev->count;
	cur->problem = ev->problem;
	cur->record_ids = ev->record_ids;
	cur->n_record_ids = ev->n_record_ids;
	cur->version = ev->version;
}

int fb_alert_step(trc_call_t *call, const fb_rule_t *r, const char *subject, bool holds,
		  Traction__V1__Alert *ev, const char *cleared_reason)
{
	trc_dbkey_t k;
	if (!s_alert_key(&k, r->id, subject))
		return TRC_EINVAL;
	Traction__V1__Alert *cur = NULL;
	int rc = trc_rec_get(call->txn, trc_call_db(call, FB_DB_ALERTS), k.buf, k.len,
			     call->arena, (void **)&cur);
	if (rc != 0 && rc != TRC_ENOENT)
		return rc;
	if (!holds) {
		if (cur == NULL)
			return 0;
		s_evidence(cur, ev);
		return s_resolve(call, cur, &k, cleared_reason);
	}
	if (cur != NULL && cur->state == TRACTION__V1__ALERT_STATE__ALERT_FIRING)
		return 0; /* firing until it clears: nothing to write */
	if (cur == NULL) {
		cur = ev;
		cur->rule_id = (char *)r->id;
		cur->kind = r->kind;
		cur->subject = (char *)subject;
		cur->severity = r->severity;
		cur->pending_ms = call->now_ms;
		cur->state = TRACTION__V1__ALERT_STATE__ALERT_PENDING;
	} else {
		s_evidence(cur, ev);
	}
	if (call->now_ms - cur->pending_ms >= r->for_ms)
		return s_fire(call, r, cur);
	return trc_rec_put(call->txn, trc_call_db(call, FB_DB_ALERTS), k.buf, k.len, &cur->base);
}

int fb_alert_clear(trc_call_t *call, const fb_rule_t *r, const char *prefix,
		   bool (*keep)(const char *subject, void *arg), void *arg, const char *reason)
{
	trc_dbkey_t k;
	if (!s_alert_key(&k, r->id, prefix))
		return TRC_EINVAL;
	/* every key "rule\0subject" whose subject starts with prefix: from
	 * "rule\0prefix" to it with 0xff after (no byte of UTF-8 text) */
	uint8_t hi[TRC_DBKEY_MAX + 1];
	memcpy(hi, k.buf, k.len);
	hi[k.len] = 0xff;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_ALERTS), &it, k.buf, k.len, hi,
				k.len + 1, false);
	/* collected first: resolving deletes under the cursor */
	Traction__V1__Alert **found = NULL;
	size_t n = 0, cap = 0;
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Alert *al;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&al)) != 0)
			break;
		if (keep != NULL && keep(al->subject, arg))
			continue;
		if ((found = trc_arena_grow(call->arena, found, n, &cap, sizeof(*found))) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		found[n++] = al;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		trc_dbkey_t ak;
		if (!s_alert_key(&ak, r->id, found[i]->subject))
			continue;
		rc = s_resolve(call, found[i], &ak, reason);
	}
	return rc != 0 ? rc : call->txn->err;
}

/* ---- the judges ----------------------------------------------------------------------- */

static int s_judge_metric(trc_call_t *call, const fb_rule_t *r)
{
	win_t *win;
	int rc = s_window(call, r, &win);
	if (rc != 0)
		return rc;
	const fb_window_t *w = &win->w;
	Traction__V1__Alert *ev = trc_arena_alloc(call->arena, sizeof(*ev));
	uint64_t *ids = trc_arena_alloc(call->arena, sizeof(uint64_t) * FB_WIN_IDS);
	if (ev == NULL || ids == NULL)
		return TRC_ENOMEM;
	traction__v1__alert__init(ev);
	double value = 0;
	uint64_t count = 0;
	if ((rc = fb_window_figure(w, call->now_ms, r->quantile, &value, &count)) != 0)
		return rc;
	/* too few records in the window is no figure: the condition does not hold */
	bool holds = count >= r->min_count && trc_cmp_holds(r->cmp, value, r->threshold);
	ev->value = value;
	ev->count = count;
	ev->supply_id = (char *)r->supply;
	ev->version = (char *)r->version;
	ev->scenario_id = (char *)r->scenario;
	ev->metric = (char *)r->metric;
	ev->comparison = r->cmp;
	ev->threshold = r->threshold;
	ev->record_ids = ids;
	ev->n_record_ids = fb_window_ids(w, ids);
	return fb_alert_step(call, r, "", holds, ev, "condition_cleared");
}

/* Pending alerts (of any kind) whose for_s has passed fire now: a metric
 * rule's are judged again anyway, the others' condition still holds (it
 * would have dropped them when it cleared). */
static int s_promote(trc_call_t *call, const fb_rule_t *rules, size_t n)
{
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, FB_DB_ALERTS), &it, NULL, 0, NULL, 0,
				false);
	Traction__V1__Alert **due = NULL;
	size_t nd = 0, cap = 0;
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Alert *al;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&al)) != 0)
			break;
		if (al->state != TRACTION__V1__ALERT_STATE__ALERT_PENDING ||
		    al->kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC)
			continue;
		if ((due = trc_arena_grow(call->arena, due, nd, &cap, sizeof(*due))) == NULL) {
			rc = TRC_ENOMEM;
			break;
		}
		due[nd++] = al;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < nd; i++)
		for (size_t j = 0; rc == 0 && j < n; j++)
			if (strcmp(rules[j].id, due[i]->rule_id) == 0)
				rc = fb_alert_step(call, &rules[j], due[i]->subject, true, due[i],
						   "condition_cleared");
	return rc != 0 ? rc : call->txn->err;
}

int fb_alerts_tick(trc_call_t *call)
{
	fb_alerts_t *a = s_alerts(call);
	size_t n;
	int rc;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (rules[i].kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC)
			rc = s_judge_metric(call, &rules[i]);
	if (rc == 0 && n > a->n_metric)
		rc = s_promote(call, rules, n);
	return rc;
}

int fb_alerts_problem(trc_call_t *call, const Traction__V1__ProblemInfo *p)
{
	size_t n;
	int rc;
	const fb_rule_t *rules = fb_alert_rules(call, &n, &rc);
	if (rc != 0 || n == s_alerts(call)->n_metric)
		return rc;
	char *subject = trc_arena_printf(call->arena, "%s/%s", p->supply_id, p->signature);
	if (subject == NULL)
		return TRC_ENOMEM;
	bool addressed = p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_ADDRESSED;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const fb_rule_t *r = &rules[i];
		bool holds;
		if (r->kind == TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM)
			holds = p->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL && !addressed;
		else if (r->kind == TRACTION__V1__ALERT_KIND__ALERT_REGRESSION)
			holds = p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED;
		else
			continue;
		if (r->supply[0] != '\0' && strcmp(r->supply, p->supply_id) != 0)
			continue;
		bool where = r->scenario[0] == '\0';
		for (size_t s = 0; !where && s < p->n_scenario_ids; s++)
			where = strcmp(p->scenario_ids[s], r->scenario) == 0;
		if (!where)
			continue;
		Traction__V1__Alert *ev = trc_arena_alloc(call->arena, sizeof(*ev));
		if (ev == NULL)
			return TRC_ENOMEM;
		traction__v1__alert__init(ev);
		ev->supply_id = p->supply_id;
		ev->scenario_id = (char *)r->scenario;
		ev->version = p->state == TRACTION__V1__PROBLEM_STATE__PROBLEM_REGRESSED
				      ? p->regressed_in
				      : p->first_version;
		ev->problem = (Traction__V1__ProblemInfo *)p;
		ev->count = p->reports;
		/* the latest of its records */
		size_t k = p->n_record_ids < FB_WIN_IDS ? p->n_record_ids : FB_WIN_IDS;
		ev->record_ids = p->record_ids + (p->n_record_ids - k);
		ev->n_record_ids = k;
		rc = fb_alert_step(call, r, subject, holds, ev,
				   addressed ? "problem_addressed" : "condition_cleared");
	}
	return rc;
}

bool fb_alert_visible(trc_call_t *call, const Traction__V1__Alert *a)
{
	if (!trc_scope_on(call))
		return true;
	const char *sc = a->scenario_id != NULL ? a->scenario_id : "";
	const char *s = a->supply_id != NULL ? a->supply_id : "";
	if (sc[0] != '\0')
		return fb_sees_feedback(call, NULL, sc, s);
	return s[0] != '\0' && fb_sees_supply(call, NULL, s);
}
