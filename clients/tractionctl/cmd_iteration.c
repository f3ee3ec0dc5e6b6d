/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl iteration|deployment: versions and their history, and
 * deployments climbing the stages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "figures.h"
#include "jsonl.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/iteration.pb-c.h"

static const char *s_stage(int stage, char *buf, size_t len)
{
	return pbjson_enum_label(&traction__v1__stage__descriptor, stage, buf, len);
}


/* ---- iteration -------------------------------------------------------------------- */

static int iteration_record(ctl_t *ctl, args_t *a)
{
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	char supply[80], version[80];
	if (ctl_split_version(a->pos[0], supply, sizeof(supply), version, sizeof(version)) != 0)
		return 1;
	if (version[0] == '\0')
		return ctl_fail("iteration record: write SUPPLY@VERSION");
	const char *parent = arg_req(a, "parent");
	if (parent == NULL)
		return 1;
	it.supply_id = supply;
	it.version = version;
	it.parent_version = (char *)parent;
	it.notes = (char *)arg(a, "notes");
	it.n_addresses = (size_t)args_all(a, "addresses", &it.addresses);
	if (ctl_arg_time(a, "released-at", &it.released_ms) != 0)
		return 1;
	req.iteration = &it;
	return ctl_call(ctl, "iteration", "record", &req.base, &traction__v1__iteration_reply__descriptor,
			NULL);
}

/* How a figure prints: 0.031, +0.016, +51.6%, +40.00%. */
typedef enum { FIG_NUM, FIG_SIGNED, FIG_PCT1, FIG_PCT2 } fig_fmt_t;

/* A figure, or "no data" when nothing stands behind it (figures.h). */
static const char *s_figure(const ProtobufCMessage *m, const char *field, double v,
			    fig_fmt_t fmt, char *buf, size_t len)
{
	if (trc_figure_absent_named(m, field))
		return "no data";
	switch (fmt) {
	case FIG_NUM:
		snprintf(buf, len, "%.6g", v);
		break;
	case FIG_SIGNED:
		snprintf(buf, len, "%+.6g", v);
		break;
	case FIG_PCT1:
		snprintf(buf, len, "%+.1f%%", v);
		break;
	case FIG_PCT2:
		snprintf(buf, len, "%+.2f%%", v);
		break;
	}
	return buf;
}

static void print_history(const ProtobufCMessage *msg)
{
	const Traction__V1__SupplyHistoryReply *r = (const void *)msg;
	char when[32];
	printf("history of %s\n", r->supply_id);
	for (size_t i = 0; i < r->n_versions; i++) {
		const Traction__V1__VersionHistory *v = r->versions[i];
		const Traction__V1__Iteration *it = v->iteration;
		printf("\n%*s%s%s%s  released %s\n", (int)v->depth * 2, "", it->version,
		       it->parent_version[0] ? " <- " : "", it->parent_version,
		       ctl_when(it->released_ms, when, sizeof(when)));
		int ind = (int)v->depth * 2 + 2;
		if (it->notes[0])
			printf("%*snotes: %s\n", ind, "", it->notes);
		for (size_t k = 0; k < v->n_addressed; k++)
			printf("%*saddresses %s: %s%s\n", ind, "", v->addressed[k]->signature,
			       v->addressed[k]->stayed_fixed ? "stayed fixed" : "REGRESSED in ",
			       v->addressed[k]->stayed_fixed ? "" : v->addressed[k]->regressed_in);
		for (size_t k = 0; k < v->n_metrics; k++) {
			const Traction__V1__MetricSummary *m = v->metrics[k];
			const Traction__V1__MetricDelta *d = NULL;
			for (size_t j = 0; j < v->n_deltas; j++)
				if (strcmp(v->deltas[j]->metric, m->name) == 0)
					d = v->deltas[j];
			printf("%*s%s: mean %.6g over %llu records", ind, "", m->name, m->mean,
			       (unsigned long long)m->count);
			char pct[32];
			if (d != NULL && !trc_figure_absent_named(&d->base, "abs_delta"))
				printf("; vs parent %+.6g (%s, parent mean %.6g over %llu)", d->abs_delta,
				       s_figure(&d->base, "pct_delta", d->pct_delta, FIG_PCT1, pct,
						sizeof(pct)),
				       d->from_mean, (unsigned long long)d->from_count);
			printf("\n");
		}
		if (v->values != NULL && v->values->count > 0)
			printf("%*svalue verifications: %llu, mean improvement %+.2f%%\n", ind, "",
			       (unsigned long long)v->values->count, v->values->mean_improvement_pct);
		for (size_t k = 0; k < v->n_problems; k++) {
			const Traction__V1__SeverityCounts *c = v->problems[k];
			char sev[32];
			if (c->reports || c->open || c->addressed || c->regressed)
				printf("%*sproblems %s: %llu reports, %llu open, %llu addressed, %llu regressed\n",
				       ind, "",
				       pbjson_enum_label(&traction__v1__severity__descriptor, c->severity, sev,
							 sizeof(sev)),
				       (unsigned long long)c->reports, (unsigned long long)c->open,
				       (unsigned long long)c->addressed, (unsigned long long)c->regressed);
		}
		if (v->n_deployment_ids > 0) {
			printf("%*sdeployed as:", ind, "");
			for (size_t k = 0; k < v->n_deployment_ids; k++)
				printf(" %s", v->deployment_ids[k]);
			printf("\n");
		}
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("\n(more: --cursor %s)\n", r->next_cursor);
}

static int iteration_history(ctl_t *ctl, args_t *a)
{
	Traction__V1__SupplyHistoryRequest req = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__TimeRange tr = TRACTION__V1__TIME_RANGE__INIT;
	req.supply_id = a->pos[0];
	if (ctl_arg_time(a, "from", &tr.from_ms) != 0 || ctl_arg_time(a, "to", &tr.to_ms) != 0)
		return 1;
	req.range = &tr;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "iteration", "history", &req.base,
			&traction__v1__supply_history_reply__descriptor, print_history);
}

static void print_diff(const ProtobufCMessage *msg)
{
	const Traction__V1__IterationDiffReply *r = (const void *)msg;
	char a[32], b[32], c[32], e[32];
	printf("%s: %s -> %s\n", r->supply_id, r->from_version, r->to_version);
	for (size_t i = 0; i < r->n_deltas; i++) {
		const Traction__V1__MetricDelta *d = r->deltas[i];
		const ProtobufCMessage *m = &d->base;
		printf("  %s: %s -> %s  (", d->metric,
		       s_figure(m, "from_mean", d->from_mean, FIG_NUM, a, sizeof(a)),
		       s_figure(m, "to_mean", d->to_mean, FIG_NUM, b, sizeof(b)));
		if (trc_figure_absent_named(m, "abs_delta"))
			printf("no delta");
		else
			printf("%s, %s", s_figure(m, "abs_delta", d->abs_delta, FIG_SIGNED, c, sizeof(c)),
			       s_figure(m, "pct_delta", d->pct_delta, FIG_PCT1, e, sizeof(e)));
		printf("; %llu -> %llu records)\n", (unsigned long long)d->from_count,
		       (unsigned long long)d->to_count);
	}
	const struct {
		const char *what;
		char **list;
		size_t n;
	} groups[] = { { "fixed", r->problems_fixed, r->n_problems_fixed },
		       { "new", r->problems_new, r->n_problems_new },
		       { "regressed", r->regressions, r->n_regressions } };
	for (size_t g = 0; g < 3; g++) {
		printf("  problems %s:", groups[g].what);
		for (size_t i = 0; i < groups[g].n; i++)
			printf(" %s", groups[g].list[i]);
		printf("%s\n", groups[g].n == 0 ? " none" : "");
	}
	if (r->from_values != NULL && r->to_values != NULL)
		printf("  value verifications: %llu (%s) -> %llu (%s)\n",
		       (unsigned long long)r->from_values->count,
		       s_figure(&r->from_values->base, "mean_improvement_pct",
				r->from_values->mean_improvement_pct, FIG_PCT2, a, sizeof(a)),
		       (unsigned long long)r->to_values->count,
		       s_figure(&r->to_values->base, "mean_improvement_pct",
				r->to_values->mean_improvement_pct, FIG_PCT2, b, sizeof(b)));
}

static int iteration_diff(ctl_t *ctl, args_t *a)
{
	Traction__V1__IterationDiffRequest req = TRACTION__V1__ITERATION_DIFF_REQUEST__INIT;
	req.supply_id = a->pos[0];
	req.from_version = a->pos[1];
	req.to_version = a->pos[2];
	return ctl_call(ctl, "iteration", "diff", &req.base, &traction__v1__iteration_diff_reply__descriptor,
			print_diff);
}

/* ---- deployment ------------------------------------------------------------------- */

static void print_deployment(const ProtobufCMessage *msg)
{
	const Traction__V1__DeploymentReply *r = (const void *)msg;
	const Traction__V1__Deployment *d = r->deployment;
	char st[32];
	printf("%s  %s@%s in %s  stage %s%s\n", d->id, d->supply_id, d->version, d->scenario_id,
	       s_stage(d->stage, st, sizeof(st)),
	       d->status == TRACTION__V1__DEPLOYMENT_STATUS__DEPLOYMENT_RETIRED ? "  (retired)" : "");
	for (size_t i = 0; i < r->n_criteria; i++)
		printf("  %-28s %-4s current %s, required %s\n", r->criteria[i]->name,
		       r->criteria[i]->met ? "met" : "NOT", r->criteria[i]->current,
		       r->criteria[i]->required);
	if (r->transition != NULL && r->transition->forced)
		printf("  forced: %s\n", r->transition->reason);
}

static int deployment_adopt(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentAdoptRequest req = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	char supply[80], version[80];
	if (ctl_split_version(a->pos[1], supply, sizeof(supply), version, sizeof(version)) != 0)
		return 1;
	if (version[0] == '\0')
		return ctl_fail("deployment adopt: write SUPPLY@VERSION");
	req.scenario_id = a->pos[0];
	req.supply_id = supply;
	req.version = version;
	return ctl_call(ctl, "deployment", "adopt", &req.base, &traction__v1__deployment_reply__descriptor,
			print_deployment);
}

static int deployment_upgrade(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentUpgradeRequest req = TRACTION__V1__DEPLOYMENT_UPGRADE_REQUEST__INIT;
	req.deployment_id = a->pos[0];
	req.version = a->pos[1];
	req.reason = (char *)arg(a, "reason");
	return ctl_call(ctl, "deployment", "upgrade", &req.base,
			&traction__v1__deployment_reply__descriptor, print_deployment);
}

static int deployment_advance(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentAdvanceRequest req = TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	int to;
	const char *t = arg_req(a, "to");
	if (t == NULL || ctl_enum(&traction__v1__stage__descriptor, "to", t, &to) != 0)
		return 1;
	req.deployment_id = a->pos[0];
	req.to = to;
	req.force = arg_set(a, "force");
	req.reason = (char *)arg(a, "reason");
	return ctl_call(ctl, "deployment", "advance", &req.base,
			&traction__v1__deployment_reply__descriptor, print_deployment);
}

static int deployment_retire(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentRetireRequest req = TRACTION__V1__DEPLOYMENT_RETIRE_REQUEST__INIT;
	req.deployment_id = a->pos[0];
	req.reason = (char *)arg(a, "reason");
	return ctl_call(ctl, "deployment", "retire", &req.base,
			&traction__v1__deployment_reply__descriptor, print_deployment);
}

static int deployment_gates(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentGatesRequest req = TRACTION__V1__DEPLOYMENT_GATES_REQUEST__INIT;
	req.deployment_id = a->pos[0];
	if (arg(a, "to")) {
		int s;
		if (ctl_enum(&traction__v1__stage__descriptor, "to", arg(a, "to"), &s) != 0)
			return 1;
		req.to = s;
	}
	return ctl_call(ctl, "deployment", "gates", &req.base,
			&traction__v1__deployment_reply__descriptor, print_deployment);
}

static int deployment_show(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "deployment", "get", &req.base, &traction__v1__deployment_reply__descriptor,
			print_deployment);
}

static void print_deployments(const ProtobufCMessage *msg)
{
	const Traction__V1__DeploymentListReply *r = (const void *)msg;
	printf("%-10s %-20s %-26s %-11s %s\n", "ID", "SCENARIO", "SUPPLY@VERSION", "STAGE", "STATUS");
	for (size_t i = 0; i < r->n_deployments; i++) {
		const Traction__V1__Deployment *d = r->deployments[i];
		char sv[96], st[32], status[32];
		snprintf(sv, sizeof(sv), "%s@%s", d->supply_id, d->version);
		printf("%-10s %-20s %-26s %-11s %s\n", d->id, d->scenario_id, sv,
		       s_stage(d->stage, st, sizeof(st)),
		       pbjson_enum_label(&traction__v1__deployment_status__descriptor, d->status, status,
					 sizeof(status)));
	}
}

static int deployment_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentListRequest req = TRACTION__V1__DEPLOYMENT_LIST_REQUEST__INIT;
	char supply[80], version[80];
	if (arg(a, "supply")) {
		if (ctl_split_version(arg(a, "supply"), supply, sizeof(supply), version, sizeof(version)))
			return 1;
		req.supply_id = supply;
		req.version = version;
	}
	req.scenario_id = (char *)arg(a, "scenario");
	if (arg(a, "stage")) {
		int s;
		if (ctl_enum(&traction__v1__stage__descriptor, "stage", arg(a, "stage"), &s) != 0)
			return 1;
		req.stage = s;
	}
	return ctl_call(ctl, "deployment", "list", &req.base,
			&traction__v1__deployment_list_reply__descriptor, print_deployments);
}

static void print_timeline(const ProtobufCMessage *msg)
{
	const Traction__V1__DeploymentHistoryReply *r = (const void *)msg;
	char when[32], a[32], b[32], kind[32];
	printf("%s: %s in %s\n", r->deployment->id, r->deployment->supply_id, r->deployment->scenario_id);
	for (size_t i = 0; i < r->n_transitions; i++) {
		const Traction__V1__Transition *t = r->transitions[i];
		printf("  %s  %-8s %s -> %s  (%s)%s%s%s\n", ctl_when(t->at_ms, when, sizeof(when)),
		       pbjson_enum_label(&traction__v1__transition_kind__descriptor, t->kind, kind, sizeof(kind)),
		       t->from_stage ? s_stage(t->from_stage, a, sizeof(a)) : "-",
		       s_stage(t->to_stage, b, sizeof(b)), t->version, t->forced ? "  FORCED" : "",
		       t->reason[0] ? ": " : "", t->reason);
		for (size_t k = 0; k < t->n_evidence; k++)
			printf("      %-28s %s (needs %s)\n", t->evidence[k]->name, t->evidence[k]->current,
			       t->evidence[k]->required);
	}
	for (size_t i = 0; i < r->n_versions; i++)
		printf("  ran %s from %s%s%s\n", r->versions[i]->version,
		       ctl_when(r->versions[i]->from_ms, when, sizeof(when)),
		       r->versions[i]->to_ms ? " to " : "",
		       r->versions[i]->to_ms ? ctl_when(r->versions[i]->to_ms, a, sizeof(a)) : "");
}

static int deployment_history(ctl_t *ctl, args_t *a)
{
	Traction__V1__DeploymentHistoryRequest req = TRACTION__V1__DEPLOYMENT_HISTORY_REQUEST__INIT;
	req.deployment_id = a->pos[0];
	return ctl_call(ctl, "deployment", "history", &req.base,
			&traction__v1__deployment_history_reply__descriptor, print_timeline);
}

const cmd_t ctl_iteration_cmds[] = {
	{ "iteration", "record", iteration_record, "parent,notes,addresses*,released-at", 1, 1,
	  "iteration record SUPPLY@VERSION --parent VERSION [--notes TEXT] [--addresses SIGNATURE]...",
	  "Record a new version of a supply, its parent, and the problem signatures it addresses.",
	  "tractionctl iteration record defect-vision@1.1 --parent 1.0 --notes \"hairline crack model\" \\\n"
	  "    --addresses hairline-miss" },
	{ "iteration", "history", iteration_history, "from,to,limit,cursor", 1, 1,
	  "iteration history SUPPLY [--from T] [--to T]",
	  "Every version in lineage order: notes, what it addressed and whether it stayed fixed,\n"
	  "its aggregates and their change against its parent, its deployments.",
	  "tractionctl iteration history defect-vision" },
	{ "iteration", "diff", iteration_diff, "", 3, 3, "iteration diff SUPPLY FROM TO",
	  "Metric deltas and problems fixed, new and regressed between two versions.",
	  "tractionctl iteration diff defect-vision 1.0 1.1" },
	{ "deployment", "adopt", deployment_adopt, "", 2, 2, "deployment adopt SCENARIO SUPPLY@VERSION",
	  "Adopt a supply version into a scenario; prints the deployment id. It starts at validation.",
	  "tractionctl deployment adopt weld-line-3 defect-vision@1.0" },
	{ "deployment", "upgrade", deployment_upgrade, "reason", 2, 2,
	  "deployment upgrade ID VERSION [--reason TEXT]",
	  "Move a deployment to a newer version (one that descends from the one it runs).",
	  "tractionctl deployment upgrade dep-1 1.1" },
	{ "deployment", "advance", deployment_advance, "to,force!,reason", 1, 1,
	  "deployment advance ID --to STAGE [--force --reason TEXT]",
	  "Move a deployment to STAGE (validation, refinement, pilot, service, solution). Up one\n"
	  "stage is gated by evidence; a refusal lists every unmet criterion. --force (admin, with a\n"
	  "reason) is recorded as forced. Moving back is allowed and recorded.",
	  "tractionctl deployment advance dep-1 --to pilot" },
	{ "deployment", "gates", deployment_gates, "to", 1, 1, "deployment gates ID [--to STAGE]",
	  "What an advance to STAGE (default: the next one) would be judged on now: every\n"
	  "criterion on the way, met or not. Nothing moves.",
	  "tractionctl deployment gates dep-1" },
	{ "deployment", "retire", deployment_retire, "reason", 1, 1, "deployment retire ID [--reason T]",
	  "Retire a deployment.", "tractionctl deployment retire dep-1 --reason \"line closed\"" },
	{ "deployment", "show", deployment_show, "", 1, 1, "deployment show ID", "Show one deployment.",
	  "tractionctl deployment show dep-1" },
	{ "deployment", "list", deployment_list, "scenario,supply,stage", 0, 0,
	  "deployment list [--scenario S] [--supply S[@V]] [--stage STAGE]", "List deployments.",
	  "tractionctl deployment list --scenario weld-line-3" },
	{ "deployment", "history", deployment_history, "", 1, 1, "deployment history ID",
	  "The stage timeline, each step with the evidence that allowed it, and the versions run.",
	  "tractionctl deployment history dep-1" },
};
const int ctl_n_iteration_cmds = sizeof(ctl_iteration_cmds) / sizeof(ctl_iteration_cmds[0]);
