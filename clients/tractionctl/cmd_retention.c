/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl retention set|list and hold add|remove|list: how long a
 * scenario's raw feedback records are kept, and holds that suspend their
 * deletion (service "feedback", admin; docs/operations.md "Retention").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "traction/v1/feedback.pb-c.h"

static const char *s_kind_name(int kind)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&traction__v1__feedback_kind__descriptor, kind);
	return kind == 0 || v == NULL ? "all kinds" : v->name;
}

static void s_days(unsigned days, char *buf, size_t len)
{
	if (days == 0)
		snprintf(buf, len, "forever");
	else
		snprintf(buf, len, "%u days", days);
}

static void print_override(const Traction__V1__RetentionOverride *o)
{
	char d[32];
	s_days(o->days, d, sizeof(d));
	printf("%-24s %-18s %s\n", o->scenario_id, s_kind_name(o->kind),
	       o->days == 0 ? "removed" : d);
}

static void print_set(const ProtobufCMessage *msg)
{
	const Traction__V1__RetentionSetReply *r = (const void *)msg;
	if (r->entry != NULL)
		print_override(r->entry);
}

static void print_retention(const ProtobufCMessage *msg)
{
	const Traction__V1__RetentionListReply *r = (const void *)msg;
	const Traction__V1__RetentionPolicy *p = r->policy;
	if (p != NULL) {
		const struct {
			const char *name;
			unsigned days;
		} rows[] = { { "default", p->default_days }, { "metric", p->metric_days },
			     { "problem", p->problem_days }, { "value", p->value_days },
			     { "demand", p->demand_days } };
		char d[32];
		printf("configured ([retention]):\n");
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			s_days(rows[i].days, d, sizeof(d));
			printf("  %-10s %s\n", rows[i].name,
			       i > 0 && rows[i].days == 0 ? "the default" : d);
		}
		printf("  idempotency keys %u days; %u records examined a tick\n",
		       p->idempotency_days, p->expire_per_tick);
	}
	if (r->n_overrides > 0)
		printf("by scenario:\n");
	for (size_t i = 0; i < r->n_overrides; i++)
		print_override(r->overrides[i]);
	if (r->next_cursor && r->next_cursor[0])
		printf("next page: --cursor %s\n", r->next_cursor);
}

static void print_hold(const Traction__V1__Hold *h)
{
	char when[32];
	ctl_when(h->created_ms, when, sizeof(when));
	if (h->deployment_id && h->deployment_id[0])
		printf("deployment %-12s (%s, %s)", h->deployment_id, h->scenario_id, h->supply_id);
	else
		printf("scenario   %-24s", h->scenario_id);
	printf(" since %s by %s: %s\n", when, h->created_by, h->reason);
}

static void print_hold_reply(const ProtobufCMessage *msg)
{
	const Traction__V1__HoldReply *r = (const void *)msg;
	if (r->hold != NULL)
		print_hold(r->hold);
}

static void print_holds(const ProtobufCMessage *msg)
{
	const Traction__V1__HoldListReply *r = (const void *)msg;
	for (size_t i = 0; i < r->n_holds; i++)
		print_hold(r->holds[i]);
	if (r->next_cursor && r->next_cursor[0])
		printf("next page: --cursor %s\n", r->next_cursor);
}

static int retention_set(ctl_t *ctl, args_t *a)
{
	Traction__V1__RetentionSetRequest req = TRACTION__V1__RETENTION_SET_REQUEST__INIT;
	int kind = 0;
	req.scenario_id = a->pos[0];
	if (!arg(a, "days"))
		return ctl_fail("--days: required (0 removes the override)");
	if (ctl_arg_u32(a, "days", &req.days) != 0)
		return 1;
	if (arg(a, "kind") &&
	    ctl_enum(&traction__v1__feedback_kind__descriptor, "kind", arg(a, "kind"), &kind) != 0)
		return 1;
	req.kind = kind;
	return ctl_call(ctl, "feedback", "retention.set", &req.base,
			&traction__v1__retention_set_reply__descriptor, print_set);
}

static int retention_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__RetentionListRequest req = TRACTION__V1__RETENTION_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	req.scenario_id = (char *)arg(a, "scenario");
	return ctl_call(ctl, "feedback", "retention.list", &req.base,
			&traction__v1__retention_list_reply__descriptor, print_retention);
}

static int hold_add(ctl_t *ctl, args_t *a)
{
	Traction__V1__HoldAddRequest req = TRACTION__V1__HOLD_ADD_REQUEST__INIT;
	Traction__V1__Hold h = TRACTION__V1__HOLD__INIT;
	h.scenario_id = (char *)arg(a, "scenario");
	h.deployment_id = (char *)arg(a, "deployment");
	h.reason = (char *)arg(a, "reason");
	req.hold = &h;
	return ctl_call(ctl, "feedback", "hold.add", &req.base, &traction__v1__hold_reply__descriptor,
			print_hold_reply);
}

static int hold_remove(ctl_t *ctl, args_t *a)
{
	Traction__V1__HoldRemoveRequest req = TRACTION__V1__HOLD_REMOVE_REQUEST__INIT;
	req.scenario_id = (char *)arg(a, "scenario");
	req.deployment_id = (char *)arg(a, "deployment");
	return ctl_call(ctl, "feedback", "hold.remove", &req.base,
			&traction__v1__hold_reply__descriptor, print_hold_reply);
}

static int hold_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__HoldListRequest req = TRACTION__V1__HOLD_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "feedback", "hold.list", &req.base,
			&traction__v1__hold_list_reply__descriptor, print_holds);
}

const cmd_t ctl_retention_cmds[] = {
	{ "retention", "set", retention_set, "days,kind", 1, 1,
	  "retention set SCENARIO --days N [--kind metric|problem|value|demand]",
	  "How long a scenario's raw feedback records are kept, by receipt (admin): of one\n"
	  "kind, or of every kind without --kind; --days 0 removes the override. Aggregates,\n"
	  "problems and demand totals are kept whatever it says (docs/operations.md).",
	  "tractionctl retention set weld-line-3 --days 90 --kind metric" },
	{ "retention", "list", retention_list, "scenario,limit,cursor", 0, 0,
	  "retention list [--scenario S]",
	  "The configured retention ([retention] of feedbackd) and the overrides by scenario.",
	  "tractionctl retention list" },
	{ "hold", "add", hold_add, "scenario,deployment,reason", 0, 0,
	  "hold add (--scenario S | --deployment D) --reason TEXT",
	  "Hold a scenario's records, or an active deployment's, against deletion (admin),\n"
	  "whatever their age, until the hold is removed: an audit, a dispute.",
	  "tractionctl hold add --deployment dep-1 --reason \"warranty dispute 2026-17\"" },
	{ "hold", "remove", hold_remove, "scenario,deployment", 0, 0,
	  "hold remove (--scenario S | --deployment D)",
	  "End a hold (admin): its records expire again at the next pass.",
	  "tractionctl hold remove --deployment dep-1" },
	{ "hold", "list", hold_list, "limit,cursor", 0, 0, "hold list",
	  "The holds, with who placed them, when and why (admin).", "tractionctl hold list" },
};
const int ctl_n_retention_cmds = sizeof(ctl_retention_cmds) / sizeof(ctl_retention_cmds[0]);
