/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl provider|supply|scenario: the two-sided catalogue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static char s_lbl[96];
#define LABEL(desc, v) pbjson_enum_label(&(desc), (v), s_lbl, sizeof(s_lbl))

/* ---- provider ------------------------------------------------------------------ */

static int provider_add(ctl_t *ctl, args_t *a)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest req = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	int kind;
	const char *name = arg_req(a, "name"), *k = arg_req(a, "kind");
	if (name == NULL || k == NULL ||
	    ctl_enum(&traction__v1__provider_kind__descriptor, "kind", k, &kind) != 0)
		return 1;
	p.id = a->pos[0];
	p.name = (char *)name;
	p.kind = kind;
	p.description = (char *)arg(a, "description");
	p.contact = (char *)arg(a, "contact");
	req.provider = &p;
	return ctl_call(ctl, "supply", "provider.register", &req.base,
			&traction__v1__provider_reply__descriptor, NULL);
}

static int provider_show(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "supply", "provider.get", &req.base,
			&traction__v1__provider_reply__descriptor, NULL);
}

static void print_providers(const ProtobufCMessage *m)
{
	const Traction__V1__ProviderListReply *r = (const void *)m;
	printf("%-24s %-28s %s\n", "ID", "KIND", "NAME");
	for (size_t i = 0; i < r->n_providers; i++)
		printf("%-24s %-28s %s\n", r->providers[i]->id,
		       LABEL(traction__v1__provider_kind__descriptor, r->providers[i]->kind),
		       r->providers[i]->name);
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int provider_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__ProviderListRequest req = TRACTION__V1__PROVIDER_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	int kind = 0;
	if (arg(a, "kind") && ctl_enum(&traction__v1__provider_kind__descriptor, "kind", arg(a, "kind"),
				       &kind) != 0)
		return 1;
	req.kind = kind;
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "supply", "provider.list", &req.base,
			&traction__v1__provider_list_reply__descriptor, print_providers);
}

/* ---- supply ---------------------------------------------------------------------- */

/* Fills the fields of a supply from flags; mask collects what was given. */
static int supply_fields(args_t *a, Traction__V1__Supply *s, char **mask, size_t *nmask,
			 void ***props, int *nprops)
{
	*nmask = 0;
	if (arg(a, "name")) {
		s->name = (char *)arg(a, "name");
		mask[(*nmask)++] = (char *)"name";
	}
	if (arg(a, "description")) {
		s->description = (char *)arg(a, "description");
		mask[(*nmask)++] = (char *)"description";
	}
	if (arg(a, "kind")) {
		int kind;
		if (ctl_enum(&traction__v1__supply_kind__descriptor, "kind", arg(a, "kind"), &kind) != 0)
			return 1;
		s->kind = kind;
		mask[(*nmask)++] = (char *)"kind";
	}
	if (arg_set(a, "capability")) {
		s->n_capabilities = (size_t)args_all(a, "capability", &s->capabilities);
		mask[(*nmask)++] = (char *)"capabilities";
	}
	char **pv;
	*nprops = args_all(a, "property", &pv);
	if (*nprops > 0) {
		if (ctl_pairs("property", pv, *nprops, props) != 0)
			return 1;
		s->properties = (Traction__V1__KeyValue **)*props;
		s->n_properties = (size_t)*nprops;
		mask[(*nmask)++] = (char *)"properties";
	}
	return 0;
}

static int supply_register(ctl_t *ctl, args_t *a)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	char *mask[8];
	size_t nmask;
	void **props = NULL;
	int nprops = 0;
	if (!arg(a, "provider") || !arg(a, "kind") || !arg(a, "name") || !arg(a, "version"))
		return ctl_fail("supply register needs --provider, --kind, --name and --version");
	if (supply_fields(a, &s, mask, &nmask, &props, &nprops) != 0)
		return 1;
	s.id = a->pos[0];
	s.provider_id = (char *)arg(a, "provider");
	s.initial_version = (char *)arg(a, "version");
	req.supply = &s;
	int rc = ctl_call(ctl, "supply", "register", &req.base, &traction__v1__supply_reply__descriptor,
			  NULL);
	ctl_pairs_free(props, nprops);
	return rc;
}

static int supply_update(ctl_t *ctl, args_t *a)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyUpdateRequest req = TRACTION__V1__SUPPLY_UPDATE_REQUEST__INIT;
	char *mask[8];
	size_t nmask;
	void **props = NULL;
	int nprops = 0;
	if (supply_fields(a, &s, mask, &nmask, &props, &nprops) != 0)
		return 1;
	if (nmask == 0)
		return ctl_fail("supply update: give at least one of --name, --description, --kind, "
				"--capability, --property");
	s.id = a->pos[0];
	req.supply = &s;
	req.update_mask = mask;
	req.n_update_mask = nmask;
	int rc = ctl_call(ctl, "supply", "update", &req.base, &traction__v1__supply_reply__descriptor,
			  NULL);
	ctl_pairs_free(props, nprops);
	return rc;
}

static int supply_retire(ctl_t *ctl, args_t *a)
{
	Traction__V1__SupplyRetireRequest req = TRACTION__V1__SUPPLY_RETIRE_REQUEST__INIT;
	req.id = a->pos[0];
	req.reason = (char *)arg(a, "reason");
	return ctl_call(ctl, "supply", "retire", &req.base, &traction__v1__supply_reply__descriptor,
			NULL);
}

static int supply_show(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "supply", "get", &req.base, &traction__v1__supply_reply__descriptor, NULL);
}

static void print_supplies(const ProtobufCMessage *m)
{
	const Traction__V1__SupplyListReply *r = (const void *)m;
	printf("%-24s %-24s %-16s %-8s %s\n", "ID", "KIND", "PROVIDER", "STATUS", "CAPABILITIES");
	for (size_t i = 0; i < r->n_supplies; i++) {
		const Traction__V1__Supply *s = r->supplies[i];
		char kind[64], status[32];
		pbjson_enum_label(&traction__v1__supply_kind__descriptor, s->kind, kind, sizeof(kind));
		pbjson_enum_label(&traction__v1__supply_status__descriptor, s->status, status,
				  sizeof(status));
		printf("%-24s %-24s %-16s %-8s ", s->id, kind, s->provider_id, status);
		for (size_t k = 0; k < s->n_capabilities; k++)
			printf("%s%s", k ? "," : "", s->capabilities[k]);
		printf("\n");
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int supply_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__SupplyListRequest req = TRACTION__V1__SUPPLY_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	int v;
	if (arg(a, "kind")) {
		if (ctl_enum(&traction__v1__supply_kind__descriptor, "kind", arg(a, "kind"), &v) != 0)
			return 1;
		req.kind = v;
	}
	if (arg(a, "status")) {
		if (ctl_enum(&traction__v1__supply_status__descriptor, "status", arg(a, "status"), &v) != 0)
			return 1;
		req.status = v;
	}
	req.provider_id = (char *)arg(a, "provider");
	req.capability = (char *)arg(a, "capability");
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "supply", "list", &req.base, &traction__v1__supply_list_reply__descriptor,
			print_supplies);
}

/* ---- scenario -------------------------------------------------------------------- */

/* "defect_rate<=0.02" into a target metric. */
static int parse_target(const char *s, Traction__V1__TargetMetric *t, char *name, size_t nlen)
{
	static const struct {
		const char *op;
		int cmp;
	} ops[] = { { "<=", TRACTION__V1__COMPARISON__CMP_LE }, { ">=", TRACTION__V1__COMPARISON__CMP_GE },
		    { "==", TRACTION__V1__COMPARISON__CMP_EQ }, { "<", TRACTION__V1__COMPARISON__CMP_LT },
		    { ">", TRACTION__V1__COMPARISON__CMP_GT }, { "=", TRACTION__V1__COMPARISON__CMP_EQ } };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const char *p = strstr(s, ops[i].op);
		if (p == NULL)
			continue;
		size_t n = (size_t)(p - s);
		double v;
		if (n == 0 || n >= nlen)
			break;
		if (ctl_double("target", p + strlen(ops[i].op), &v) != 0)
			return 1;
		memcpy(name, s, n);
		name[n] = '\0';
		traction__v1__target_metric__init(t);
		t->metric = name;
		t->comparison = ops[i].cmp;
		t->threshold = v;
		return 0;
	}
	return ctl_fail("--target: '%s' is not METRIC<=NUMBER (or <, >=, >, ==)", s);
}

typedef struct {
	Traction__V1__Demand d;
	Traction__V1__Demand *dp;
	Traction__V1__TargetMetric t[CTL_MAX_VALUES];
	Traction__V1__TargetMetric *tp[CTL_MAX_VALUES];
	char names[CTL_MAX_VALUES][80];
	void **constraints;
	int nconstraints;
} demand_t;

/* One demand from --need, --constraint and --target. */
static int demand_from_flags(args_t *a, demand_t *dm, bool *any)
{
	traction__v1__demand__init(&dm->d);
	dm->dp = &dm->d;
	dm->d.description = (char *)arg(a, "demand");
	dm->d.n_capabilities = (size_t)args_all(a, "need", &dm->d.capabilities);
	char **tv, **cv;
	int nt = args_all(a, "target", &tv);
	for (int i = 0; i < nt; i++) {
		if (parse_target(tv[i], &dm->t[i], dm->names[i], sizeof(dm->names[i])) != 0)
			return 1;
		dm->tp[i] = &dm->t[i];
	}
	dm->d.targets = dm->tp;
	dm->d.n_targets = (size_t)nt;
	dm->nconstraints = args_all(a, "constraint", &cv);
	if (ctl_pairs("constraint", cv, dm->nconstraints, &dm->constraints) != 0)
		return 1;
	dm->d.constraints = (Traction__V1__KeyValue **)dm->constraints;
	dm->d.n_constraints = (size_t)dm->nconstraints;
	*any = dm->d.n_capabilities > 0 || nt > 0 || dm->nconstraints > 0 || dm->d.description;
	return 0;
}

static int scenario_write(ctl_t *ctl, args_t *a, bool submit)
{
	Traction__V1__Scenario s = TRACTION__V1__SCENARIO__INIT;
	demand_t dm;
	bool demand;
	char *mask[8];
	size_t nmask = 0;
	s.id = a->pos[0];
	if (demand_from_flags(a, &dm, &demand) != 0)
		return 1;
	if (arg(a, "enterprise")) {
		s.enterprise = (char *)arg(a, "enterprise");
		mask[nmask++] = (char *)"enterprise";
	}
	if (arg(a, "name")) {
		s.name = (char *)arg(a, "name");
		mask[nmask++] = (char *)"name";
	}
	if (arg(a, "description")) {
		s.description = (char *)arg(a, "description");
		mask[nmask++] = (char *)"description";
	}
	if (arg(a, "domain")) {
		int d;
		if (ctl_enum(&traction__v1__domain__descriptor, "domain", arg(a, "domain"), &d) != 0)
			goto fail;
		s.domain = d;
		mask[nmask++] = (char *)"domain";
	}
	if (demand) {
		s.demands = &dm.dp;
		s.n_demands = 1;
		mask[nmask++] = (char *)"demands";
	}
	int rc;
	if (submit) {
		if (!s.enterprise || !s.name || !s.domain) {
			ctl_fail("scenario submit needs --enterprise, --domain and --name");
			goto fail;
		}
		Traction__V1__ScenarioSubmitRequest req = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
		req.scenario = &s;
		rc = ctl_call(ctl, "scenario", "submit", &req.base,
			      &traction__v1__scenario_reply__descriptor, NULL);
	} else {
		if (nmask == 0) {
			ctl_fail("scenario update: give a field to change");
			goto fail;
		}
		Traction__V1__ScenarioUpdateRequest req = TRACTION__V1__SCENARIO_UPDATE_REQUEST__INIT;
		req.scenario = &s;
		req.update_mask = mask;
		req.n_update_mask = nmask;
		rc = ctl_call(ctl, "scenario", "update", &req.base,
			      &traction__v1__scenario_reply__descriptor, NULL);
	}
	ctl_pairs_free(dm.constraints, dm.nconstraints);
	return rc;
fail:
	ctl_pairs_free(dm.constraints, dm.nconstraints);
	return 1;
}

static int scenario_submit(ctl_t *ctl, args_t *a)
{
	return scenario_write(ctl, a, true);
}

static int scenario_update(ctl_t *ctl, args_t *a)
{
	return scenario_write(ctl, a, false);
}

static int scenario_close(ctl_t *ctl, args_t *a)
{
	Traction__V1__ScenarioCloseRequest req = TRACTION__V1__SCENARIO_CLOSE_REQUEST__INIT;
	req.id = a->pos[0];
	req.reason = (char *)arg(a, "reason");
	return ctl_call(ctl, "scenario", "close", &req.base, &traction__v1__scenario_reply__descriptor,
			NULL);
}

static int scenario_show(ctl_t *ctl, args_t *a)
{
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	req.id = a->pos[0];
	return ctl_call(ctl, "scenario", "get", &req.base, &traction__v1__scenario_reply__descriptor,
			NULL);
}

static void print_scenarios(const ProtobufCMessage *m)
{
	const Traction__V1__ScenarioListReply *r = (const void *)m;
	printf("%-24s %-16s %-8s %-24s %s\n", "ID", "DOMAIN", "STATUS", "ENTERPRISE", "NAME");
	for (size_t i = 0; i < r->n_scenarios; i++) {
		const Traction__V1__Scenario *s = r->scenarios[i];
		char dom[64], st[32];
		pbjson_enum_label(&traction__v1__domain__descriptor, s->domain, dom, sizeof(dom));
		pbjson_enum_label(&traction__v1__scenario_status__descriptor, s->status, st, sizeof(st));
		printf("%-24s %-16s %-8s %-24s %s\n", s->id, dom, st, s->enterprise, s->name);
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int scenario_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__ScenarioListRequest req = TRACTION__V1__SCENARIO_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	int v;
	if (arg(a, "domain")) {
		if (ctl_enum(&traction__v1__domain__descriptor, "domain", arg(a, "domain"), &v) != 0)
			return 1;
		req.domain = v;
	}
	if (arg(a, "status")) {
		if (ctl_enum(&traction__v1__scenario_status__descriptor, "status", arg(a, "status"), &v) != 0)
			return 1;
		req.status = v;
	}
	req.enterprise = (char *)arg(a, "enterprise");
	req.capability = (char *)arg(a, "capability");
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "scenario", "list", &req.base,
			&traction__v1__scenario_list_reply__descriptor, print_scenarios);
}

static void print_matches(const ProtobufCMessage *m)
{
	const Traction__V1__MatchReply *r = (const void *)m;
	printf("scenario %s needs:", r->scenario_id);
	for (size_t i = 0; i < r->n_required; i++)
		printf(" %s", r->required[i]);
	printf("\n%-4s %-24s %-9s %-7s %s\n", "RANK", "SUPPLY", "COVERAGE", "SCORE", "WHY");
	for (size_t i = 0; i < r->n_matches; i++) {
		const Traction__V1__Match *x = r->matches[i];
		printf("%-4u %-24s %8.0f%% %7.1f %s\n", x->rank, x->supply->id, x->coverage * 100,
		       x->score, x->reason);
		if (x->n_missing > 0) {
			printf("%38s missing:", "");
			for (size_t k = 0; k < x->n_missing; k++)
				printf(" %s", x->missing[k]);
			printf("\n");
		}
		for (size_t k = 0; k < x->n_unmet_constraints; k++)
			printf("%38s constraint: %s\n", "", x->unmet_constraints[k]);
	}
	if (r->n_matches == 0)
		printf("(no active supply offers any of these capabilities)\n");
}

static int scenario_match(ctl_t *ctl, args_t *a)
{
	Traction__V1__MatchRequest req = TRACTION__V1__MATCH_REQUEST__INIT;
	req.scenario_id = a->pos[0];
	if (ctl_arg_u32(a, "limit", &req.limit) != 0)
		return 1;
	req.full_only = arg_set(a, "full-only");
	return ctl_call(ctl, "scenario", "match", &req.base, &traction__v1__match_reply__descriptor,
			print_matches);
}

static void print_gaps(const ProtobufCMessage *m)
{
	const Traction__V1__GapsReply *r = (const void *)m;
	printf("%-28s %9s %8s  %s\n", "CAPABILITY", "SCENARIOS", "SIGNALS", "DOMAINS / SCENARIOS");
	for (size_t i = 0; i < r->n_gaps; i++) {
		const Traction__V1__Gap *g = r->gaps[i];
		printf("%-28s %9u %8llu  ", g->capability, g->scenarios,
		       (unsigned long long)g->demand_signals);
		for (size_t k = 0; k < g->n_domains; k++) {
			char d[64];
			printf("%s%s", k ? "," : "",
			       pbjson_enum_label(&traction__v1__domain__descriptor, g->domains[k], d, sizeof(d)));
		}
		printf("%s", g->n_domains ? " / " : "");
		for (size_t k = 0; k < g->n_scenario_ids; k++)
			printf("%s%s", k ? "," : "", g->scenario_ids[k]);
		printf("\n");
	}
	if (r->n_gaps == 0)
		printf("(every capability open scenarios need is offered)\n");
}

static int scenario_gaps(ctl_t *ctl, args_t *a)
{
	Traction__V1__GapsRequest req = TRACTION__V1__GAPS_REQUEST__INIT;
	int v;
	if (arg(a, "domain")) {
		if (ctl_enum(&traction__v1__domain__descriptor, "domain", arg(a, "domain"), &v) != 0)
			return 1;
		req.domain = v;
	}
	if (ctl_arg_u32(a, "limit", &req.limit) != 0)
		return 1;
	return ctl_call(ctl, "scenario", "gaps", &req.base, &traction__v1__gaps_reply__descriptor,
			print_gaps);
}

#define SCEN_FLAGS "enterprise,domain,name,description,need*,constraint*,target*,demand"

const cmd_t ctl_catalogue_cmds[] = {
	{ "provider", "add", provider_add, "name,kind,description,contact", 1, 1,
	  "provider add ID --name NAME --kind KIND [--description TEXT] [--contact TEXT]",
	  "Register a provider. KIND: ai-company, solution-service, platform-collaboration,\n"
	  "traditional-enterprise.",
	  "tractionctl provider add acme --name \"Acme Vision\" --kind ai-company" },
	{ "provider", "show", provider_show, "", 1, 1, "provider show ID", "Show one provider.",
	  "tractionctl provider show acme" },
	{ "provider", "list", provider_list, "kind,limit,cursor", 0, 0,
	  "provider list [--kind KIND] [--limit N] [--cursor C]", "List providers by id.",
	  "tractionctl provider list --kind ai-company" },
	{ "supply", "register", supply_register,
	  "provider,kind,name,description,capability*,property*,version", 1, 1,
	  "supply register ID --provider P --kind KIND --name NAME --version V [--capability TAG]...\n"
	  "                  [--property KEY=VALUE]... [--description TEXT]",
	  "Register a supply of a provider, with its initial version. KIND: chip, basic-software,\n"
	  "industrial-algorithm, multimodal-model, dataset, intelligent-terminal, toolchain,\n"
	  "open-source-component.",
	  "tractionctl supply register defect-vision --provider acme --kind industrial-algorithm \\\n"
	  "    --name \"Defect Vision\" --capability defect-detection --version 1.0" },
	{ "supply", "update", supply_update, "kind,name,description,capability*,property*", 1, 1,
	  "supply update ID [--name N] [--description T] [--kind K] [--capability TAG]... "
	  "[--property K=V]...",
	  "Change the given fields of a supply (capabilities and properties are replaced whole).",
	  "tractionctl supply update defect-vision --capability defect-detection --capability ocr" },
	{ "supply", "retire", supply_retire, "reason", 1, 1, "supply retire ID [--reason TEXT]",
	  "Retire a supply: it stays readable and is no longer matched.",
	  "tractionctl supply retire defect-vision --reason superseded" },
	{ "supply", "show", supply_show, "", 1, 1, "supply show ID", "Show one supply.",
	  "tractionctl supply show defect-vision" },
	{ "supply", "list", supply_list, "kind,provider,capability,status,limit,cursor", 0, 0,
	  "supply list [--kind K] [--provider P] [--capability TAG] [--status active|retired] "
	  "[--limit N]",
	  "List supplies by id, filtered.", "tractionctl supply list --capability defect-detection" },
	{ "scenario", "submit", scenario_submit, SCEN_FLAGS, 1, 1,
	  "scenario submit ID --enterprise E --domain D --name N [--need TAG]... "
	  "[--target METRIC<=X]...\n"
	  "                  [--constraint KEY=VALUE]... [--demand TEXT] [--description TEXT]",
	  "Submit a scenario with one demand built from --need, --target and --constraint.\n"
	  "DOMAIN: rnd, production, supply-chain, brand-marketing, operations, other.",
	  "tractionctl scenario submit weld-line-3 --enterprise \"Northern Steel\" --domain production \\\n"
	  "    --name \"Weld seam inspection\" --need defect-detection --target \"defect_rate<=0.02\"" },
	{ "scenario", "update", scenario_update, SCEN_FLAGS, 1, 1,
	  "scenario update ID [--name N] [--domain D] [--need TAG]... ...",
	  "Change the given fields of an open scenario (a demand flag replaces the demands).",
	  "tractionctl scenario update weld-line-3 --need defect-detection --need edge-deployment" },
	{ "scenario", "close", scenario_close, "reason", 1, 1, "scenario close ID [--reason TEXT]",
	  "Close a scenario: feedback to it is refused from then on.",
	  "tractionctl scenario close weld-line-3 --reason \"line rebuilt\"" },
	{ "scenario", "show", scenario_show, "", 1, 1, "scenario show ID", "Show one scenario.",
	  "tractionctl scenario show weld-line-3" },
	{ "scenario", "list", scenario_list, "domain,status,enterprise,capability,limit,cursor", 0, 0,
	  "scenario list [--domain D] [--status open|closed] [--enterprise E] [--capability TAG]",
	  "List scenarios by id, filtered.", "tractionctl scenario list --status open" },
	{ "scenario", "match", scenario_match, "limit,full-only!", 1, 1,
	  "scenario match ID [--limit N] [--full-only]",
	  "Rank the active supplies for a scenario's demands, with the reasons (docs/matching.md).",
	  "tractionctl scenario match weld-line-3" },
	{ "scenario", "gaps", scenario_gaps, "domain,limit", 0, 0, "scenario gaps [--domain D]",
	  "Capabilities that open scenarios need and no active supply offers.",
	  "tractionctl scenario gaps" },
};
const int ctl_n_catalogue_cmds = sizeof(ctl_catalogue_cmds) / sizeof(ctl_catalogue_cmds[0]);
