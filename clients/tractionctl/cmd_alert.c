/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl alert add|list|remove|history: alert rules of service
 * "feedback" (docs/alerts.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "traction/v1/feedback.pb-c.h"

static const struct {
	const char *name;
	int kind;
} s_kinds[] = {
	{ "metric", TRACTION__V1__ALERT_KIND__ALERT_METRIC },
	{ "critical-problem", TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM },
	{ "regression", TRACTION__V1__ALERT_KIND__ALERT_REGRESSION },
	{ "target", TRACTION__V1__ALERT_KIND__ALERT_TARGET },
};

/* The flags that say the comparison, each with its threshold. */
static const struct {
	const char *flag;
	int cmp;
	const char *symbol;
} s_cmps[] = {
	{ "above", TRACTION__V1__COMPARISON__CMP_GT, ">" },
	{ "at-least", TRACTION__V1__COMPARISON__CMP_GE, ">=" },
	{ "below", TRACTION__V1__COMPARISON__CMP_LT, "<" },
	{ "at-most", TRACTION__V1__COMPARISON__CMP_LE, "<=" },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* "90", "90s", "5m", "2h", "1d" into seconds. */
static int s_duration(const char *flag, const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mul = 1;
	if (end == s || s[0] == '-')
		return ctl_fail("--%s: '%s' is not a duration (90, 90s, 5m, 2h, 1d)", flag, s);
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "d") == 0)
		mul = 86400;
	else
		return ctl_fail("--%s: '%s' is not a duration (90, 90s, 5m, 2h, 1d)", flag, s);
	if (v > 0xffffffffULL / mul)
		return ctl_fail("--%s: '%s' is too long", flag, s);
	*out = (uint32_t)(v * mul);
	return 0;
}

/* "mean", "p99", "p99.9", "p50" into a quantile (0: the mean). */
static int s_stat(const char *s, double *q)
{
	if (strcmp(s, "mean") == 0) {
		*q = 0;
		return 0;
	}
	double p;
	if (s[0] != 'p' || ctl_double("stat", s + 1, &p) != 0 || p <= 0 || p >= 100)
		return ctl_fail("--stat: '%s' is not mean or pNN (p50, p90, p99, p99.9)", s);
	*q = p / 100;
	return 0;
}

static int s_kind(const char *name, int *kind)
{
	for (size_t i = 0; i < N_OF(s_kinds); i++)
		if (strcmp(s_kinds[i].name, name) == 0) {
			*kind = s_kinds[i].kind;
			return 0;
		}
	return ctl_fail("--kind: '%s' is not one of: metric, critical-problem, regression, target",
			name);
}

static const char *s_kind_name(int kind)
{
	for (size_t i = 0; i < N_OF(s_kinds); i++)
		if (s_kinds[i].kind == kind)
			return s_kinds[i].name;
	return "?";
}

static const char *s_symbol(int cmp)
{
	for (size_t i = 0; i < N_OF(s_cmps); i++)
		if (s_cmps[i].cmp == cmp)
			return s_cmps[i].symbol;
	return "?";
}

/* The comparison flag given (one at most) and its threshold. */
static int s_threshold(const args_t *a, Traction__V1__AlertRule *r)
{
	int given = 0;
	for (size_t i = 0; i < N_OF(s_cmps); i++) {
		if (!arg(a, s_cmps[i].flag))
			continue;
		if (given++)
			return ctl_fail("--above, --at-least, --below, --at-most: give one");
		r->comparison = s_cmps[i].cmp;
		if (ctl_double(s_cmps[i].flag, arg(a, s_cmps[i].flag), &r->threshold) != 0)
			return 1;
	}
	return 0;
}

static void print_rule(const Traction__V1__AlertRule *r)
{
	printf("%-20s %-16s", r->id, s_kind_name(r->kind));
	if (r->supply_id && r->supply_id[0])
		printf(" supply=%s%s%s", r->supply_id, r->version && r->version[0] ? "@" : "",
		       r->version ? r->version : "");
	if (r->scenario_id && r->scenario_id[0])
		printf(" scenario=%s", r->scenario_id);
	if (r->kind == TRACTION__V1__ALERT_KIND__ALERT_METRIC) {
		if (r->quantile > 0)
			printf(" p%g(%s)", r->quantile * 100, r->metric);
		else
			printf(" mean(%s)", r->metric);
		printf(" %s %g over %us", s_symbol(r->comparison), r->threshold, r->window_s);
	}
	if (r->for_s > 0)
		printf(" for %us", r->for_s);
	printf("\n");
}

static void print_alert(const Traction__V1__Alert *al)
{
	static const char *const states[] = { "?", "pending", "firing", "resolved" };
	char when[32];
	int64_t at = al->state == TRACTION__V1__ALERT_STATE__ALERT_RESOLVED ? al->resolved_ms
		     : al->state == TRACTION__V1__ALERT_STATE__ALERT_FIRING   ? al->fired_ms
									      : al->pending_ms;
	ctl_when(at, when, sizeof(when));
	printf("#%-5llu %-9s %s %-20s %s%s%s\n", (unsigned long long)al->id,
	       states[al->state <= 3 ? al->state : 0], when, al->rule_id,
	       al->summary ? al->summary : al->subject, al->reason && al->reason[0] ? " - " : "",
	       al->reason ? al->reason : "");
}

static void print_rule_reply(const ProtobufCMessage *msg)
{
	const Traction__V1__AlertRuleReply *r = (const void *)msg;
	if (r->rule != NULL)
		print_rule(r->rule);
}

static void print_list(const ProtobufCMessage *msg)
{
	const Traction__V1__AlertListReply *r = (const void *)msg;
	for (size_t i = 0; i < r->n_rules; i++)
		print_rule(r->rules[i]);
	if (r->n_active > 0)
		printf("\nactive:\n");
	for (size_t i = 0; i < r->n_active; i++)
		print_alert(r->active[i]);
	if (r->next_cursor && r->next_cursor[0])
		printf("next page: --cursor %s\n", r->next_cursor);
}

static void print_history(const ProtobufCMessage *msg)
{
	const Traction__V1__AlertHistoryReply *r = (const void *)msg;
	for (size_t i = 0; i < r->n_alerts; i++)
		print_alert(r->alerts[i]);
	if (r->next_cursor && r->next_cursor[0])
		printf("next page: --cursor %s\n", r->next_cursor);
}

static int alert_add(ctl_t *ctl, args_t *a)
{
	Traction__V1__AlertRule r = TRACTION__V1__ALERT_RULE__INIT;
	Traction__V1__AlertAddRequest req = TRACTION__V1__ALERT_ADD_REQUEST__INIT;
	char supply[80], version[80];
	int kind = 0, sev = 0;
	r.id = a->pos[0];
	if (s_kind(arg(a, "kind") ? arg(a, "kind") : "metric", &kind) != 0)
		return 1;
	r.kind = kind;
	if (arg(a, "supply")) {
		if (ctl_split_version(arg(a, "supply"), supply, sizeof(supply), version, sizeof(version)))
			return 1;
		r.supply_id = supply;
		r.version = version;
	}
	r.scenario_id = (char *)arg(a, "scenario");
	r.metric = (char *)arg(a, "metric");
	r.description = (char *)arg(a, "description");
	if (arg(a, "stat") && s_stat(arg(a, "stat"), &r.quantile) != 0)
		return 1;
	if (s_threshold(a, &r) != 0)
		return 1;
	if (arg(a, "window") && s_duration("window", arg(a, "window"), &r.window_s) != 0)
		return 1;
	if (arg(a, "for") && s_duration("for", arg(a, "for"), &r.for_s) != 0)
		return 1;
	if (ctl_arg_u32(a, "min-count", &r.min_count) != 0)
		return 1;
	if (arg(a, "severity")) {
		if (ctl_enum(&traction__v1__severity__descriptor, "severity", arg(a, "severity"),
			     &sev) != 0)
			return 1;
		r.severity = sev;
	}
	req.rule = &r;
	return ctl_call(ctl, "feedback", "alert.add", &req.base,
			&traction__v1__alert_rule_reply__descriptor, print_rule_reply);
}

static int alert_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__AlertListRequest req = TRACTION__V1__ALERT_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.cursor = (char *)arg(a, "cursor");
	if (ctl_arg_u32(a, "limit", &page.limit) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "feedback", "alert.list", &req.base,
			&traction__v1__alert_list_reply__descriptor, print_list);
}

static int alert_remove(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "feedback", "alert.remove", &req.base,
			&traction__v1__alert_rule_reply__descriptor, print_rule_reply);
}

static int alert_history(ctl_t *ctl, args_t *a)
{
	Traction__V1__AlertHistoryRequest req = TRACTION__V1__ALERT_HISTORY_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__TimeRange range = TRACTION__V1__TIME_RANGE__INIT;
	req.rule_id = (char *)arg(a, "rule");
	page.cursor = (char *)arg(a, "cursor");
	if (ctl_arg_u32(a, "limit", &page.limit) != 0 || ctl_arg_time(a, "from", &range.from_ms) != 0 ||
	    ctl_arg_time(a, "to", &range.to_ms) != 0)
		return 1;
	req.page = &page;
	req.range = &range;
	return ctl_call(ctl, "feedback", "alert.history", &req.base,
			&traction__v1__alert_history_reply__descriptor, print_history);
}

const cmd_t ctl_alert_cmds[] = {
	{ "alert", "add", alert_add,
	  "kind,supply,scenario,metric,stat,above,at-least,below,at-most,window,for,min-count,"
	  "severity,description",
	  1, 1,
	  "alert add ID [--kind metric|critical-problem|regression|target] [--supply S[@V]]\n"
	  "                 [--scenario S] [--metric M --stat mean|pNN\n"
	  "                 (--above|--at-least|--below|--at-most) X --window DUR [--min-count N]]\n"
	  "                 [--for DUR] [--severity SEV] [--description TEXT]",
	  "Add an alert rule (admin). A metric rule fires while the window's mean or quantile\n"
	  "crosses the threshold for --for; critical-problem and regression rules fire on\n"
	  "problems; a target rule when a deployment in service no longer meets a target of\n"
	  "its scenario. Durations: 90, 90s, 5m, 2h, 1d. docs/alerts.md.",
	  "tractionctl alert add vision-p99 --supply defect-vision@1.1 --metric latency_ms \\\n"
	  "    --stat p99 --above 300 --window 5m --for 1m" },
	{ "alert", "list", alert_list, "limit,cursor", 0, 0, "alert list",
	  "The rules, and the alerts now pending or firing.", "tractionctl alert list" },
	{ "alert", "remove", alert_remove, "", 1, 1, "alert remove ID",
	  "Remove a rule (admin); its firing alerts resolve (rule_removed).",
	  "tractionctl alert remove vision-p99" },
	{ "alert", "history", alert_history, "rule,from,to,limit,cursor", 0, 0,
	  "alert history [--rule ID] [--from T] [--to T]",
	  "Alerts fired and resolved, newest first, with their evidence.",
	  "tractionctl alert history --rule vision-p99" },
};
const int ctl_n_alert_cmds = sizeof(ctl_alert_cmds) / sizeof(ctl_alert_cmds[0]);
