/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl feedback: publish (one record from flags, or JSON Lines from
 * a file or stdin through the asynchronous publisher), list, stats,
 * problems, regressions, demands.
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "jsonl.h"
#include "traction/publisher.h"
#include "util.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

/* ---- one record from flags ------------------------------------------------------- */

static int record_from_flags(args_t *a, Traction__V1__FeedbackRecord *r, char *supply,
			     char *version, void **bodies, void ***labels, int *nlabels)
{
	const char *sv = arg_req(a, "supply"), *sc = arg_req(a, "scenario");
	if (sv == NULL || sc == NULL)
		return 1;
	if (ctl_split_version(sv, supply, 80, version, 80) != 0)
		return 1;
	if (version[0] == '\0')
		return ctl_fail("--supply: write SUPPLY@VERSION");
	r->scenario_id = (char *)sc;
	r->supply_id = supply;
	r->version = version;
	r->idempotency_key = (char *)arg(a, "key");
	if (ctl_arg_time(a, "observed-at", &r->observed_at_ms) != 0)
		return 1;
	char **lv;
	*nlabels = args_all(a, "label", &lv);
	if (ctl_pairs("label", lv, *nlabels, labels) != 0)
		return 1;
	r->labels = (Traction__V1__KeyValue **)*labels;
	r->n_labels = (size_t)*nlabels;
	int kinds = arg_set(a, "metric") + arg_set(a, "problem") + arg_set(a, "kpi") +
		    arg_set(a, "demand");
	if (kinds != 1)
		return ctl_fail("give exactly one of --metric NAME=VALUE, --problem SEVERITY, --kpi KPI, "
				"--demand TEXT");
	if (arg_set(a, "metric")) {
		Traction__V1__Metric *m = bodies[0];
		traction__v1__metric__init(m);
		const char *mv = arg(a, "metric");
		const char *eq = strchr(mv, '=');
		if (eq == NULL || eq == mv)
			return ctl_fail("--metric: '%s' is not NAME=VALUE", mv);
		if (ctl_double("metric", eq + 1, &m->value) != 0)
			return 1;
		m->name = strndup(mv, (size_t)(eq - mv));
		r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r->metric = m;
	} else if (arg_set(a, "problem")) {
		Traction__V1__Problem *p = bodies[1];
		traction__v1__problem__init(p);
		int sev;
		if (ctl_enum(&traction__v1__severity__descriptor, "problem", arg(a, "problem"), &sev) != 0)
			return 1;
		p->severity = sev;
		p->title = (char *)arg(a, "title");
		p->details = (char *)arg(a, "details");
		p->signature = (char *)arg(a, "signature");
		if (p->title == NULL)
			return ctl_fail("--problem needs --title");
		r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
		r->problem = p;
	} else if (arg_set(a, "kpi")) {
		Traction__V1__ValueVerification *v = bodies[2];
		traction__v1__value_verification__init(v);
		v->kpi = (char *)arg(a, "kpi");
		if (!arg(a, "baseline") || !arg(a, "achieved"))
			return ctl_fail("--kpi needs --baseline and --achieved");
		if (ctl_double("baseline", arg(a, "baseline"), &v->baseline) != 0 ||
		    ctl_double("achieved", arg(a, "achieved"), &v->achieved) != 0)
			return 1;
		v->unit = (char *)arg(a, "unit");
		v->higher_is_better = arg_set(a, "higher-is-better");
		r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE;
		r->value = v;
	} else {
		Traction__V1__DemandSignal *d = bodies[3];
		traction__v1__demand_signal__init(d);
		d->text = (char *)arg(a, "demand");
		d->n_capabilities = (size_t)args_all(a, "capability", &d->capabilities);
		r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND;
		r->demand = d;
	}
	return 0;
}

/* ---- JSON Lines ------------------------------------------------------------------------ */

typedef struct {
	long accepted, duplicates, refused, sent;
	json_t *refusals;        /* [{line, code, message}] */
	bool tty;
} tally_t;

static void on_ack(void *ud, const traction_ack_t *ack)
{
	tally_t *t = ud;
	if (ack->code == 0 && ack->duplicate)
		t->duplicates++;
	else if (ack->code == 0)
		t->accepted++;
	else {
		t->refused++;
		json_array_append_new(t->refusals,
				      json_pack("{s:I, s:s, s:s}", "line", (json_int_t)ack->tag, "code",
						traction_code_name(ack->code), "message", ack->message));
	}
	long done = t->accepted + t->duplicates + t->refused;
	if (t->tty && done % 500 == 0)
		fprintf(stderr, "\rpublished %ld of %ld", done, t->sent);
}

/* The memory jansson takes for one line's document: bumped out of a block
 * and given back whole once the line is converted (its free does
 * nothing), instead of a malloc and a free for every value and key.
 * jansson's allocator is the process's, so it is ours only around the
 * parse: the refusals kept across lines are malloc'd as usual. Half of
 * tractionctl's time publishing a file went to malloc and free (perf,
 * docs/performance.md). A document past the block takes malloc's. */
#define LINE_MEM (256u << 10)
static _Alignas(16) unsigned char s_line_mem[LINE_MEM];
static size_t s_line_used;

static void *s_line_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n <= LINE_MEM - s_line_used) {
		void *p = s_line_mem + s_line_used;
		s_line_used += n;
		return p;
	}
	return malloc(n);
}

static void s_line_free(void *p)
{
	unsigned char *c = p;
	if (c < s_line_mem || c >= s_line_mem + LINE_MEM)
		free(p);
}

/* One line of a JSON Lines file into r: 0, or -1 with why in err. A record
 * without a key gets one stable for this line of this file (fh: the file
 * name's hash), so that running the file again stores nothing twice. */
static int s_line_record(const char *line, size_t n, long lineno, uint64_t fh,
			 Traction__V1__FeedbackRecord *r, char *err, size_t errlen)
{
	json_error_t jerr;
	json_set_alloc_funcs(s_line_alloc, s_line_free);
	json_t *o = json_loadb(line, n, 0, &jerr);
	int rc = o == NULL ? -1 : trc_record_from_json(o, r, err, errlen);
	if (o == NULL)
		snprintf(err, errlen, "not JSON: %s", jerr.text);
	json_decref(o);
	json_set_alloc_funcs(malloc, free);
	s_line_used = 0;
	if (rc == 0 && (r->idempotency_key == NULL || r->idempotency_key[0] == '\0')) {
		if (r->idempotency_key != protobuf_c_empty_string)
			free(r->idempotency_key);
		char key[96];
		snprintf(key, sizeof(key), "f%016llx-l%ld-%016llx", (unsigned long long)fh, lineno,
			 (unsigned long long)trc_fnv64(line, n));
		r->idempotency_key = strdup(key);
	}
	return rc;
}

static void s_print_tally(ctl_t *ctl, const tally_t *t)
{
	if (ctl->json) {
		ctl_print_json(json_pack("{s:I, s:I, s:I, s:O}", "accepted", (json_int_t)t->accepted,
					 "duplicates", (json_int_t)t->duplicates, "refused",
					 (json_int_t)t->refused, "refusals", t->refusals));
		return;
	}
	printf("accepted %ld, duplicates %ld, refused %ld\n", t->accepted, t->duplicates, t->refused);
	size_t i;
	json_t *x;
	json_array_foreach(t->refusals, i, x)
		printf("  line %lld: %s: %s\n", (long long)json_integer_value(json_object_get(x, "line")),
		       json_string_value(json_object_get(x, "code")),
		       json_string_value(json_object_get(x, "message")));
}

static int publish_file(ctl_t *ctl, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL)
		return ctl_fail("--file: cannot read %s", path);
	char *pathcopy = strdup(path);
	const char *base = strcmp(path, "-") == 0 ? "stdin" : basename(pathcopy);
	uint64_t fh = trc_fnv64(base, strlen(base));
	tally_t t = { .refusals = json_array(), .tty = isatty(2) && !ctl->json };
	traction_publisher_options_t o = { .timeout_ms = ctl->timeout_ms, .on_ack = on_ack, .ud = &t,
					   .client_name = "tractionctl" };
	if (ctl->server_key != NULL && ctl->public_key[0] != '\0') {
		o.server_public_key = ctl->server_key;
		o.public_key = ctl->public_key;
		o.secret_key = ctl->secret_key;
	}
	traction_publisher_t *p = NULL;
	if (traction_publisher_new(&p, ctl->endpoint, &o) != 0) {
		free(pathcopy);
		if (f != stdin)
			fclose(f);
		return ctl_fail("cannot connect to %s", ctl->endpoint);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, malformed = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		char err[256];
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
		int rc = s_line_record(line, (size_t)n, lineno, fh, &r, err, sizeof(err));
		if (rc != 0) {
			malformed++;
			json_array_append_new(t.refusals, json_pack("{s:I, s:s, s:s}", "line",
								    (json_int_t)lineno, "code",
								    "INVALID_ARGUMENT", "message", err));
			pbjson_free(&r.base);
			continue;
		}
		/* a full queue waits for acknowledgements rather than fail */
		while ((rc = traction_publish(p, &r, (uint64_t)lineno)) == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			traction_publisher_poll(p, 100);
		pbjson_free(&r.base);
		if (rc != 0) {
			ctl_fail("line %ld: %s", lineno, traction_code_name(rc));
			break;
		}
		t.sent++;
		/* a look at the socket now and then, not per record (why 16:
		 * docs/performance.md, "The HTTP API against the bus it
		 * fronts") */
		if (t.sent % 16 == 0)
			traction_publisher_poll(p, 0);
	}
	free(line);
	free(pathcopy);
	if (f != stdin)
		fclose(f);
	int frc = traction_publisher_flush(p, ctl->timeout_ms > 0 ? ctl->timeout_ms * 3 : 30000);
	traction_publisher_destroy(&p);
	if (t.tty)
		fprintf(stderr, "\r%*s\r", 40, "");
	t.refused += malformed;
	s_print_tally(ctl, &t);
	json_decref(t.refusals);
	if (frc != 0)
		return ctl_fail("not every record was acknowledged: %s", traction_code_name(frc));
	return t.refused > 0 ? 2 : 0;
}

static int feedback_publish(ctl_t *ctl, args_t *a)
{
	if (arg(a, "file"))
		return publish_file(ctl, arg(a, "file"));
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
	Traction__V1__Metric m;
	Traction__V1__Problem p;
	Traction__V1__ValueVerification v;
	Traction__V1__DemandSignal d;
	void *bodies[4] = { &m, &p, &v, &d };
	char supply[80], version[80];
	void **labels = NULL;
	int nlabels = 0;
	m.name = NULL;
	int rc = record_from_flags(a, &r, supply, version, bodies, &labels, &nlabels);
	if (rc == 0) {
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		req.records = &rp;
		req.n_records = 1;
		rc = ctl_call_rep(ctl, "feedback", "publish", &req.base,
				  &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep);
		if (rc == 0) {
			Traction__V1__RecordResult *res = rep->results[0];
			if (ctl->json)
				ctl_print_json(pbjson_from_message(&res->base));
			else if (res->status->code == 0)
				printf("%s %llu\n", res->duplicate ? "duplicate of record" : "record",
				       (unsigned long long)res->record_id);
			if (res->status->code != 0)
				rc = ctl_fail("%s: %s", traction_code_name(res->status->code),
					      res->status->message);
			traction_reply_free(&rep->base);
		}
	}
	if (r.body_case == TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC)
		free(m.name);
	ctl_pairs_free(labels, nlabels);
	return rc;
}

/* ---- queries --------------------------------------------------------------------------- */

static void print_records(const ProtobufCMessage *msg)
{
	const Traction__V1__FeedbackListReply *r = (const void *)msg;
	printf("%-8s %-24s %-22s %-16s %s\n", "ID", "OBSERVED", "SUPPLY@VERSION", "SCENARIO", "WHAT");
	for (size_t i = 0; i < r->n_records; i++) {
		const Traction__V1__FeedbackRecord *x = r->records[i];
		char when[32], sv[96], what[160], sev[32];
		ctl_when(x->observed_at_ms, when, sizeof(when));
		snprintf(sv, sizeof(sv), "%s@%s", x->supply_id, x->version);
		switch (x->body_case) {
		case TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC:
			snprintf(what, sizeof(what), "metric %s = %g", x->metric->name, x->metric->value);
			break;
		case TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM:
			snprintf(what, sizeof(what), "problem %s %s%s%s",
				 pbjson_enum_label(&traction__v1__severity__descriptor, x->problem->severity,
						   sev, sizeof(sev)),
				 x->problem->title, x->problem->signature[0] ? " #" : "",
				 x->problem->signature);
			break;
		case TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE:
			snprintf(what, sizeof(what), "value %s %g -> %g %s", x->value->kpi,
				 x->value->baseline, x->value->achieved, x->value->unit);
			break;
		case TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND:
			snprintf(what, sizeof(what), "demand \"%s\"", x->demand->text);
			break;
		default:
			snprintf(what, sizeof(what), "?");
		}
		printf("%-8llu %-24s %-22s %-16s %s\n", (unsigned long long)x->id, when, sv,
		       x->scenario_id, what);
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int feedback_list(ctl_t *ctl, args_t *a)
{
	Traction__V1__FeedbackListRequest req = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__TimeRange tr = TRACTION__V1__TIME_RANGE__INIT;
	Traction__V1__KeyValue label = TRACTION__V1__KEY_VALUE__INIT;
	char supply[80], version[80];
	if (arg(a, "supply")) {
		if (ctl_split_version(arg(a, "supply"), supply, sizeof(supply), version, sizeof(version)))
			return 1;
		req.supply_id = supply;
		req.version = version;
	}
	req.scenario_id = (char *)arg(a, "scenario");
	if (arg(a, "kind")) {
		int k;
		if (ctl_enum(&traction__v1__feedback_kind__descriptor, "kind", arg(a, "kind"), &k) != 0)
			return 1;
		req.kind = k;
	}
	if (ctl_arg_time(a, "from", &tr.from_ms) != 0 || ctl_arg_time(a, "to", &tr.to_ms) != 0)
		return 1;
	req.observed = &tr;
	if (arg(a, "label")) {
		const char *eq = strchr(arg(a, "label"), '=');
		if (eq == NULL)
			return ctl_fail("--label: expected KEY=VALUE");
		static char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - arg(a, "label")), arg(a, "label"));
		label.key = key;
		label.value = (char *)eq + 1;
		req.label = &label;
	}
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "feedback", "list", &req.base,
			&traction__v1__feedback_list_reply__descriptor, print_records);
}

static void print_stats(const ProtobufCMessage *msg)
{
	const Traction__V1__StatsReply *r = (const void *)msg;
	for (size_t i = 0; i < r->n_metrics; i++) {
		const Traction__V1__MetricAggregate *m = r->metrics[i];
		const Traction__V1__MetricStats *s = m->stats;
		printf("%s: count %llu  mean %.6g  stddev %.4g  min %.6g  max %.6g  p50 %.6g  p90 %.6g  "
		       "p99 %.6g\n",
		       m->key->metric, (unsigned long long)s->count, s->mean, s->stddev, s->min, s->max,
		       s->p50, s->p90, s->p99);
		for (size_t k = 0; k < m->n_trend; k++) {
			char when[32];
			ctl_when(m->trend[k]->start_ms, when, sizeof(when));
			printf("  %s  count %llu  mean %.6g  min %.6g  max %.6g\n", when,
			       (unsigned long long)m->trend[k]->count, m->trend[k]->mean, m->trend[k]->min,
			       m->trend[k]->max);
		}
	}
	for (size_t i = 0; i < r->n_problems; i++) {
		const Traction__V1__SeverityCounts *c = r->problems[i];
		char sev[32];
		if (c->reports == 0 && c->open == 0 && c->addressed == 0 && c->regressed == 0)
			continue;
		printf("problems %s: %llu reports, %llu open, %llu addressed, %llu regressed\n",
		       pbjson_enum_label(&traction__v1__severity__descriptor, c->severity, sev, sizeof(sev)),
		       (unsigned long long)c->reports, (unsigned long long)c->open,
		       (unsigned long long)c->addressed, (unsigned long long)c->regressed);
	}
	if (r->values != NULL && r->values->count > 0)
		printf("value verifications: %llu, mean improvement %+.2f%%\n",
		       (unsigned long long)r->values->count, r->values->mean_improvement_pct);
	if (r->demands > 0)
		printf("demand signals: %llu\n", (unsigned long long)r->demands);
}

static int feedback_stats(ctl_t *ctl, args_t *a)
{
	Traction__V1__StatsRequest req = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__TimeRange tr = TRACTION__V1__TIME_RANGE__INIT;
	char supply[80], version[80];
	const char *sv = arg_req(a, "supply");
	if (sv == NULL || ctl_split_version(sv, supply, sizeof(supply), version, sizeof(version)))
		return 1;
	req.supply_id = supply;
	req.version = version;
	req.scenario_id = (char *)arg(a, "scenario");
	req.metric = (char *)arg(a, "metric");
	if (arg(a, "granularity")) {
		int g;
		if (ctl_enum(&traction__v1__granularity__descriptor, "granularity", arg(a, "granularity"),
			     &g) != 0)
			return 1;
		req.granularity = g;
	}
	if (ctl_arg_time(a, "from", &tr.from_ms) != 0 || ctl_arg_time(a, "to", &tr.to_ms) != 0)
		return 1;
	req.window = &tr;
	return ctl_call(ctl, "feedback", "stats", &req.base, &traction__v1__stats_reply__descriptor,
			print_stats);
}

static void print_problems(const ProtobufCMessage *msg)
{
	const Traction__V1__ProblemsReply *r = (const void *)msg;
	printf("%-18s %-22s %-9s %-11s %7s  %-10s %s\n", "SUPPLY", "SIGNATURE", "SEVERITY", "STATE",
	       "REPORTS", "ADDRESSED", "TITLE");
	for (size_t i = 0; i < r->n_problems; i++) {
		const Traction__V1__ProblemInfo *p = r->problems[i];
		char sev[32], st[32], by[96];
		snprintf(by, sizeof(by), "%s%s%s", p->addressed_by, p->regressed_in[0] ? " back in " : "",
			 p->regressed_in);
		printf("%-18s %-22s %-9s %-11s %7llu  %-10s %s\n", p->supply_id, p->signature,
		       pbjson_enum_label(&traction__v1__severity__descriptor, p->severity, sev, sizeof(sev)),
		       pbjson_enum_label(&traction__v1__problem_state__descriptor, p->state, st, sizeof(st)),
		       (unsigned long long)p->reports, by, p->title);
	}
	if (r->next_cursor != NULL && r->next_cursor[0])
		printf("(more: --cursor %s)\n", r->next_cursor);
}

static int feedback_problems(ctl_t *ctl, args_t *a)
{
	Traction__V1__ProblemsRequest req = TRACTION__V1__PROBLEMS_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	char supply[80], version[80];
	int v;
	if (arg(a, "supply")) {
		if (ctl_split_version(arg(a, "supply"), supply, sizeof(supply), version, sizeof(version)))
			return 1;
		req.supply_id = supply;
		req.version = version;
	}
	req.scenario_id = (char *)arg(a, "scenario");
	if (arg(a, "state")) {
		if (ctl_enum(&traction__v1__problem_state__descriptor, "state", arg(a, "state"), &v) != 0)
			return 1;
		req.state = v;
	}
	if (arg(a, "min-severity")) {
		if (ctl_enum(&traction__v1__severity__descriptor, "min-severity", arg(a, "min-severity"),
			     &v) != 0)
			return 1;
		req.min_severity = v;
	}
	if (ctl_arg_page(a, &page) != 0)
		return 1;
	req.page = &page;
	return ctl_call(ctl, "feedback", "problems", &req.base,
			&traction__v1__problems_reply__descriptor, print_problems);
}

static int feedback_regressions(ctl_t *ctl, args_t *a)
{
	Traction__V1__RegressionsRequest req = TRACTION__V1__REGRESSIONS_REQUEST__INIT;
	req.supply_id = (char *)arg(a, "supply");
	return ctl_call(ctl, "feedback", "regressions", &req.base,
			&traction__v1__problems_reply__descriptor, print_problems);
}

static void print_demands(const ProtobufCMessage *msg)
{
	const Traction__V1__DemandsReply *r = (const void *)msg;
	printf("%-28s %8s  %s\n", "CAPABILITY", "SIGNALS", "SCENARIOS");
	for (size_t i = 0; i < r->n_demands; i++) {
		printf("%-28s %8llu  ", r->demands[i]->capability,
		       (unsigned long long)r->demands[i]->signals);
		for (size_t k = 0; k < r->demands[i]->n_scenario_ids; k++)
			printf("%s%s", k ? "," : "", r->demands[i]->scenario_ids[k]);
		printf("\n");
	}
}

static int feedback_demands(ctl_t *ctl, args_t *a)
{
	Traction__V1__DemandsRequest req = TRACTION__V1__DEMANDS_REQUEST__INIT;
	req.supply_id = (char *)arg(a, "supply");
	req.scenario_id = (char *)arg(a, "scenario");
	if (ctl_arg_u32(a, "limit", &req.limit) != 0)
		return 1;
	return ctl_call(ctl, "feedback", "demands", &req.base, &traction__v1__demands_reply__descriptor,
			print_demands);
}

const cmd_t ctl_feedback_cmds[] = {
	{ "feedback", "publish", feedback_publish,
	  "scenario,supply,key,observed-at,label*,metric,problem,title,details,signature,kpi,"
	  "baseline,achieved,unit,higher-is-better!,demand,capability*,file",
	  0, 0,
	  "feedback publish --scenario S --supply SUPPLY@VERSION (--metric NAME=VALUE |\n"
	  "                 --problem SEVERITY --title T [--signature SIG] [--details D] |\n"
	  "                 --kpi KPI --baseline B --achieved A [--unit U] [--higher-is-better] |\n"
	  "                 --demand TEXT --capability TAG...) [--label K=V]... [--key K]\n"
	  "                 [--observed-at TIME]\n\n"
	  "feedback publish --file FILE|-   (JSON Lines, docs/cli.md)",
	  "Publish one record from flags, or many from a JSON Lines file (or - for stdin)\n"
	  "through the asynchronous publisher, with a summary: accepted, duplicates, refused\n"
	  "with reasons by line number. Exit status 2 when a line was refused.",
	  "tractionctl feedback publish --scenario weld-line-3 --supply defect-vision@1.0 \\\n"
	  "    --metric defect_rate=0.031" },
	{ "feedback", "list", feedback_list, "supply,scenario,kind,from,to,label,limit,cursor", 0, 0,
	  "feedback list [--supply S[@V]] [--scenario S] [--kind K] [--from T] [--to T] "
	  "[--label K=V]",
	  "List feedback records, oldest first.", "tractionctl feedback list --supply defect-vision@1.0" },
	{ "feedback", "stats", feedback_stats, "supply,scenario,metric,granularity,from,to", 0, 0,
	  "feedback stats --supply S[@V] [--scenario S] [--metric M] [--granularity hour|day] "
	  "[--from T --to T]",
	  "Aggregates: count, mean, stddev, min, max, p50/p90/p99, trends; problems, values, "
	  "demands.",
	  "tractionctl feedback stats --supply defect-vision@1.0 --metric defect_rate" },
	{ "feedback", "problems", feedback_problems, "supply,scenario,state,min-severity,limit,cursor",
	  0, 0,
	  "feedback problems [--supply S[@V]] [--scenario S] [--state open|addressed|regressed] "
	  "[--min-severity SEV]",
	  "Problems with their state.", "tractionctl feedback problems --state open" },
	{ "feedback", "regressions", feedback_regressions, "supply", 0, 0,
	  "feedback regressions [--supply S]", "Problems that came back after a version addressed them.",
	  "tractionctl feedback regressions --supply defect-vision" },
	{ "feedback", "demands", feedback_demands, "supply,scenario,limit", 0, 0,
	  "feedback demands [--supply S] [--scenario S]", "Demand signals from the field, by capability.",
	  "tractionctl feedback demands" },
};
const int ctl_n_feedback_cmds = sizeof(ctl_feedback_cmds) / sizeof(ctl_feedback_cmds[0]);
