/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Alert rules (docs/alerts.md): kept in feedbackd because the figures
 * they judge live here, and judged incrementally, never by scanning raw
 * records:
 *
 *   metric      each metric record a rule names goes into the rule's
 *               sliding window (window.h) as it is stored; the window's
 *               mean or quantile is judged at every tick (no state of
 *               the judging outlives a tick that fails, so none is kept);
 *   problem     a problem's change of state or severity (problems.c) is
 *               judged against the critical-problem and regression rules;
 *   target      each evidence event of a deployment's key, each change of
 *               a deployment or of its scenario's targets (alert_targets.c)
 *               is judged against the target rules.
 *
 * An alert is one (rule, subject): pending while its condition holds for
 * less than the rule's for_s, firing after, resolved when the condition
 * clears. Firing and resolving are events (alert.fired, alert.resolved)
 * and entries of the append-only history, in the transaction of the
 * change that caused them.
 */
#ifndef TRC_FB_ALERTS_H
#define TRC_FB_ALERTS_H

#include <stdbool.h>

#include "call.h"
#include "dbkey.h"
#include "sketch.h"
#include "util.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"

/* Rules a store holds: the metric ones are all judged at every tick
 * (250 ms), each from its window's ten slots. */
#define FB_RULES_MAX 1000

typedef struct fb_alerts fb_alerts_t;

fb_alerts_t *fb_alerts_new(void);
void fb_alerts_destroy(fb_alerts_t **a);

/* A rule as the evaluation keeps it in memory. */
typedef struct {
	char id[TRC_SLUG_MAX + 1];
	int kind;                      /* Traction__V1__AlertKind */
	char supply[TRC_SLUG_MAX + 1];
	char version[TRC_SLUG_MAX + 1];
	char scenario[TRC_SLUG_MAX + 1];
	char metric[TRC_SLUG_MAX + 1];
	double quantile;
	int cmp;
	double threshold;
	int64_t window_ms, for_ms;
	uint64_t min_count;
	int severity;
	/* METRIC: the window it judges, shared by every rule over the same
	 * records and span: (supply, version, scenario, metric, window_ms) */
	trc_dbkey_t window;
} fb_rule_t;

/* The rules of the store, as of call's transaction (loaded once, again
 * after a rule changed): *n of them. NULL with *n 0 on error (rc). */
const fb_rule_t *fb_alert_rules(trc_call_t *call, size_t *n, int *rc);

/* A metric record stored in this batch, v its value (sketch.h): into
 * the windows of the rules that name it (a batch cache, written by
 * fb_alerts_batch_end). Only the rules of its metric are looked at. */
int fb_alerts_record(trc_call_t *call, const Traction__V1__FeedbackRecord *r,
		     const sketch_point_t *v);
int fb_alerts_batch_end(trc_call_t *call);
/* After the commit, whether it succeeded or not: the batch's windows
 * and, if a rule changed, the rules are read from the store again. */
void fb_alerts_batch_done(fb_alerts_t *a);
/* The tick: metric rules judged, and pending alerts whose for_s has
 * passed fired. */
int fb_alerts_tick(trc_call_t *call);

/* A problem created or changed, judged as it now is. */
int fb_alerts_problem(trc_call_t *call, const Traction__V1__ProblemInfo *p);

/* Targets (alert_targets.c): what feedbackd keeps of deployments and
 * scenario targets, from their events (replayed: an event a store
 * upgrade replays, stored but not judged), and evidence judged against
 * them. */
int fb_alerts_scenario(trc_call_t *call, const Traction__V1__Scenario *s, bool replayed);
int fb_alerts_deployment(trc_call_t *call, const Traction__V1__Deployment *d, bool replayed);
int fb_alerts_evidence(trc_call_t *call, const Traction__V1__EvidenceUpdate *u);
/* Judges every deployment now in service against target rules (a rule
 * just added). */
int fb_alerts_targets_all(trc_call_t *call);

/* ---- the life of an alert (alerts.c), for alert_targets.c ---- */

/* The alert (rule, subject) with the figure judged now: ev carries the
 * evidence (value, count, ids, problem, ...), holds whether the rule's
 * condition holds; cleared_reason says why it resolves if it does not. */
int fb_alert_step(trc_call_t *call, const fb_rule_t *r, const char *subject, bool holds,
		  Traction__V1__Alert *ev, const char *cleared_reason);
/* Resolves (or drops, when pending) every alert of rule r whose subject
 * starts with prefix and for which keep (may be NULL: none) says false. */
int fb_alert_clear(trc_call_t *call, const fb_rule_t *r, const char *prefix,
		   bool (*keep)(const char *subject, void *arg), void *arg, const char *reason);
/* A rule was added or removed in this transaction: the rules are read
 * again now (the transaction sees its own writes) and after the batch
 * (which may not commit). */
void fb_alert_rules_changed(trc_call_t *call);
/* Rule r is being removed: its window's row goes too, unless another
 * rule judges the same window. */
int fb_alert_forget_window(trc_call_t *call, const fb_rule_t *r);
/* Whether a rule names this supply and scenario (empty in a rule: any). */
bool fb_rule_covers(const fb_rule_t *r, const char *supply, const char *scenario);

/* Whether a scoped caller may see this alert, this rule. */
bool fb_alert_visible(trc_call_t *call, const Traction__V1__Alert *a);

#endif
