/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stage gates: what evidence a deployment needs to move up a stage. Pure
 * functions of the evidence, and of the open critical problems known from
 * problem events, which may be ahead of it (unit-tested criterion by
 * criterion); the thresholds come from [gates] in the configuration.
 *
 *   -> refinement: feedback records >= refinement_min_records
 *   -> pilot:      metric records >= pilot_min_metric_records,
 *                  open critical problems <= pilot_max_open_critical
 *   -> service:    value verifications >= service_min_value_verifications,
 *                  their mean improvement >= service_min_improvement_pct,
 *                  open critical problems <= service_max_open_critical,
 *                  every target metric of the scenario's demands met by
 *                  the deployment's mean
 *   -> solution:   the same supply version at service or beyond in at
 *                  least solution_min_scenarios scenarios
 *
 * A refused move says each unmet criterion twice: in the message, for
 * people, and as an error detail a program can act on, with stable tokens
 * (docs/protocol.md): feedback_records, metric_records,
 * value_verifications, mean_improvement_pct, scenarios_in_service
 * ("below_required"), open_critical_problems ("above_allowed") and
 * target.<metric> ("target_not_met", or "no_data").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "validate.h"
#include "iterationd.h"

#define G(member, min, max, def, help) \
	{ #member, TRC_CONF_UINT, TRC_CONF_AT(it_gates_t, member), min, max, def, help }

static const trc_conf_key_t s_gate_keys[] = {
	G(refinement_min_records, 0, 100000000, "10",
	  "to refinement: feedback records of the deployment, at least"),
	G(pilot_min_metric_records, 0, 100000000, "20",
	  "to pilot: metric records of the deployment, at least"),
	G(pilot_max_open_critical, 0, 1000000, "0",
	  "to pilot: open (or regressed) critical problems, at most"),
	G(service_min_value_verifications, 0, 100000000, "3",
	  "to service: value verifications of the deployment, at least"),
	G(service_min_improvement_pct, 0, 100000, "5",
	  "to service: their mean improvement in percent, at least"),
	G(service_max_open_critical, 0, 1000000, "0",
	  "to service: open (or regressed) critical problems, at most; and every target "
	  "metric of the scenario met"),
	G(solution_min_scenarios, 1, 1000000, "3",
	  "to solution: scenarios where the same supply version is in service, at least"),
};

const trc_conf_section_t it_gates_section = {
	"gates", s_gate_keys, sizeof(s_gate_keys) / sizeof(s_gate_keys[0]), sizeof(it_gates_t)
};
const trc_conf_section_t *const iterationd_config[] = { &it_gates_section, NULL };

/* Adds a criterion; why says, for one not met, what its error detail
 * carries (strings copied). */
static int s_add(trc_arena_t *arena, it_gate_t *g, const char *name, bool met,
		 const char *required, const char *current, it_unmet_t why)
{
	Traction__V1__GateCriterion *c = trc_arena_alloc(arena, sizeof(*c));
	Traction__V1__GateCriterion **nc = trc_arena_alloc(arena, sizeof(void *) * (g->n + 1));
	it_unmet_t *nw = trc_arena_alloc(arena, sizeof(*nw) * (g->n + 1));
	if (c == NULL || nc == NULL || nw == NULL)
		return TRC_ENOMEM;
	traction__v1__gate_criterion__init(c);
	c->name = trc_arena_strdup(arena, name);
	c->met = met;
	c->required = trc_arena_strdup(arena, required);
	c->current = trc_arena_strdup(arena, current);
	if (g->n > 0) {
		memcpy(nc, g->c, sizeof(void *) * g->n);
		memcpy(nw, g->why, sizeof(*nw) * g->n);
	}
	nw[g->n] = (it_unmet_t){ trc_arena_strdup(arena, why.subject),
				 trc_arena_strdup(arena, why.reason),
				 trc_arena_strdup(arena, why.current),
				 trc_arena_strdup(arena, why.required) };
	if (c->name == NULL || c->required == NULL || c->current == NULL ||
	    nw[g->n].subject == NULL || nw[g->n].reason == NULL || nw[g->n].current == NULL ||
	    nw[g->n].required == NULL)
		return TRC_ENOMEM; /* g is as it was */
	nc[g->n++] = c;
	g->c = nc;
	g->why = nw;
	if (!met)
		g->met = false;
	return 0;
}

static int s_at_least(trc_arena_t *arena, it_gate_t *g, const char *name, uint64_t have,
		      uint64_t need)
{
	char req[32], cur[32];
	snprintf(req, sizeof(req), ">= %llu", (unsigned long long)need);
	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)have);
	return s_add(arena, g, name, have >= need, req, cur,
		     (it_unmet_t){ name, "below_required", cur, req + 3 });
}

static int s_at_most(trc_arena_t *arena, it_gate_t *g, const char *name, uint64_t have,
		     uint64_t most)
{
	char req[32], cur[32];
	snprintf(req, sizeof(req), "<= %llu", (unsigned long long)most);
	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)have);
	return s_add(arena, g, name, have <= most, req, cur,
		     (it_unmet_t){ name, "above_allowed", cur, req + 3 });
}

static uint64_t s_metric_records(const Traction__V1__EvidenceUpdate *e)
{
	uint64_t n = 0;
	for (size_t i = 0; e != NULL && i < e->n_metrics; i++)
		n += e->metrics[i]->count;
	return n;
}

static uint64_t s_open_critical(const Traction__V1__EvidenceUpdate *e)
{
	uint64_t n = 0;
	for (size_t i = 0; e != NULL && i < e->n_problems; i++)
		if (e->problems[i]->severity == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL)
			n += e->problems[i]->open + e->problems[i]->regressed;
	return n;
}

static int s_targets(trc_arena_t *arena, it_gate_t *g, const Traction__V1__EvidenceUpdate *e,
		     const Traction__V1__Scenario *s)
{
	int rc = 0;
	for (size_t d = 0; rc == 0 && s != NULL && d < s->n_demands; d++) {
		for (size_t t = 0; rc == 0 && t < s->demands[d]->n_targets; t++) {
			const Traction__V1__TargetMetric *tm = s->demands[d]->targets[t];
			const Traction__V1__MetricSummary *m = NULL;
			for (size_t i = 0; e != NULL && i < e->n_metrics; i++)
				if (strcmp(e->metrics[i]->name, tm->metric) == 0)
					m = e->metrics[i];
			char name[128], req[64], cur[64], subject[128], mean[32];
			snprintf(name, sizeof(name), "target %s", tm->metric);
			snprintf(subject, sizeof(subject), "target.%s", tm->metric);
			snprintf(req, sizeof(req), "mean %s %g", trc_cmp_symbol(tm->comparison), tm->threshold);
			/* the scenario chooses the direction: it stays in required */
			const char *dreq = req + strlen("mean ");
			if (m == NULL || m->count == 0) {
				rc = s_add(arena, g, name, false, req, "no data",
					   (it_unmet_t){ subject, "no_data", "", dreq });
				continue;
			}
			snprintf(cur, sizeof(cur), "%g (%llu records)", m->mean,
				 (unsigned long long)m->count);
			snprintf(mean, sizeof(mean), "%g", m->mean);
			rc = s_add(arena, g, name, trc_cmp_holds(tm->comparison, m->mean, tm->threshold), req, cur,
				   (it_unmet_t){ subject, "target_not_met", mean, dreq });
		}
	}
	return rc;
}

int it_gate(trc_arena_t *arena, const it_gates_t *gates, int to,
	    const Traction__V1__EvidenceUpdate *e, const Traction__V1__Scenario *scenario,
	    uint64_t in_service, uint64_t open_critical, it_gate_t *g)
{
	memset(g, 0, sizeof(*g));
	g->met = true;
	uint64_t critical = s_open_critical(e);
	if (open_critical > critical)
		critical = open_critical;
	switch (to) {
	case TRACTION__V1__STAGE__STAGE_REFINEMENT:
		return s_at_least(arena, g, "feedback_records", e != NULL ? e->records : 0,
				  gates->refinement_min_records);
	case TRACTION__V1__STAGE__STAGE_PILOT: {
		int rc = s_at_least(arena, g, "metric_records", s_metric_records(e),
				    gates->pilot_min_metric_records);
		if (rc == 0)
			rc = s_at_most(arena, g, "open_critical_problems", critical,
				       gates->pilot_max_open_critical);
		return rc;
	}
	case TRACTION__V1__STAGE__STAGE_SERVICE: {
		uint64_t vv = e != NULL && e->values != NULL ? e->values->count : 0;
		double imp = e != NULL && e->values != NULL ? e->values->mean_improvement_pct : 0;
		int rc = s_at_least(arena, g, "value_verifications", vv,
				    gates->service_min_value_verifications);
		char req[32], cur[32], dreq[16], dcur[32];
		snprintf(req, sizeof(req), ">= %u%%", gates->service_min_improvement_pct);
		snprintf(cur, sizeof(cur), "%.2f%%", imp);
		snprintf(dreq, sizeof(dreq), "%u", gates->service_min_improvement_pct);
		snprintf(dcur, sizeof(dcur), "%.2f", imp);
		/* a mean of no value verifications is no figure: no data, not 0% */
		if (rc == 0 && vv == 0)
			rc = s_add(arena, g, "mean_improvement_pct", false, req, "no data",
				   (it_unmet_t){ "mean_improvement_pct", "no_data", "", dreq });
		else if (rc == 0)
			rc = s_add(arena, g, "mean_improvement_pct",
				   imp >= (double)gates->service_min_improvement_pct, req, cur,
				   (it_unmet_t){ "mean_improvement_pct", "below_required", dcur, dreq });
		if (rc == 0)
			rc = s_at_most(arena, g, "open_critical_problems", critical,
				       gates->service_max_open_critical);
		if (rc == 0)
			rc = s_targets(arena, g, e, scenario);
		return rc;
	}
	case TRACTION__V1__STAGE__STAGE_SOLUTION:
		return s_at_least(arena, g, "scenarios_in_service", in_service,
				  gates->solution_min_scenarios);
	default:
		return TRC_EINVAL;
	}
}

char *it_gate_unmet(trc_arena_t *arena, const it_gate_t *g)
{
	char buf[1024] = "";
	size_t len = 0;
	for (size_t i = 0; i < g->n; i++) {
		const Traction__V1__GateCriterion *c = g->c[i];
		if (c->met)
			continue;
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%s is %s, needs %s",
				 len > 0 ? "; " : "", c->name, c->current, c->required);
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	return trc_arena_strdup(arena, buf);
}

int it_gate_join(trc_arena_t *arena, it_gate_t *acc, const it_gate_t *g)
{
	size_t n = acc->n + g->n;
	Traction__V1__GateCriterion **nc = trc_arena_alloc(arena, sizeof(void *) * (n + 1));
	it_unmet_t *nw = trc_arena_alloc(arena, sizeof(*nw) * (n + 1));
	if (nc == NULL || nw == NULL)
		return TRC_ENOMEM;
	if (acc->n > 0) {
		memcpy(nc, acc->c, sizeof(void *) * acc->n);
		memcpy(nw, acc->why, sizeof(*nw) * acc->n);
	}
	if (g->n > 0) {
		memcpy(nc + acc->n, g->c, sizeof(void *) * g->n);
		memcpy(nw + acc->n, g->why, sizeof(*nw) * g->n);
	}
	acc->c = nc;
	acc->why = nw;
	acc->n = n;
	acc->met = acc->met && g->met;
	return 0;
}

static bool s_same(const it_unmet_t *a, const it_unmet_t *b)
{
	return strcmp(a->subject, b->subject) == 0 && strcmp(a->reason, b->reason) == 0 &&
	       strcmp(a->current, b->current) == 0 && strcmp(a->required, b->required) == 0;
}

int it_gate_details(trc_call_t *call, const it_gate_t *g)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		if (g->c[i]->met)
			continue;
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = !g->c[k]->met && s_same(&g->why[k], &g->why[i]);
		if (!dup)
			rc = trc_call_detail(call, g->why[i].subject, g->why[i].reason,
					     g->why[i].current, g->why[i].required);
	}
	return rc;
}
