/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods are declared once, in proto/'s service blocks: the naming
 * rule applied to every rpc gives exactly the wire names clients have used
 * since the first wave, and every daemon's table (handler, flags) agrees
 * with its block — a method added to one and not the other fails here (and
 * stops the daemon at start) — and docs/protocol.md's method tables list
 * exactly the declared methods with their request and reply types. The
 * methods that catch up with other sources before they run name methods
 * of their daemon and sources it consumes, as docs/protocol.md says.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "feedbackd.h"
#include "iterationd.h"
#include "methods.h"
#include "notifyd.h"
#include "scenariod.h"
#include "supplyd.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/notify.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

/* The wire names of the first wave (docs/protocol.md of 2026-11-29):
 * the rule must reproduce them, in the blocks' order. */
static const struct {
	const ProtobufCServiceDescriptor *sd;
	const char *service;
	const char *methods;
} s_wire[] = {
	{ &traction__v1__supply_service__descriptor, "supply",
	  "provider.register provider.update provider.get provider.list register update retire "
	  "get list" },
	{ &traction__v1__scenario_service__descriptor, "scenario",
	  "submit update close get list match gaps" },
	{ &traction__v1__feedback_service__descriptor, "feedback",
	  "publish list stats problems regressions demands "
	  "alert.add alert.list alert.remove alert.history " /* alert.*: v1.1 */
	  "retention.set retention.list hold.add hold.remove hold.list" }, /* v1.1 */
	{ &traction__v1__iteration_service__descriptor, "iteration",
	  "record get list history diff" },
	{ &traction__v1__deployment_service__descriptor, "deployment",
	  "adopt upgrade advance retire get list history gates" }, /* gates: v1.1 */
	{ &traction__v1__notify_service__descriptor, "notify", /* v1.1 */
	  "webhook.add webhook.list webhook.remove webhook.deliveries webhook.retry" },
	{ &traction__v1__daemon_service__descriptor, "daemon",
	  "ping events.replay events.read backup.begin backup.resume backup.read backup.end "
	  "audit.list cluster.status cluster.add cluster.remove cluster.transfer" }, /* cluster.*: v1.1 */
	/* backup.*: v1.1 */
	{ &traction__v1__broker_service__descriptor, "broker",
	  "ping status audit.list keys.reload " /* v1.1 */
	  "backup.begin backup.resume backup.read backup.end" }, /* v1.1: the broker's audit log */
};

TEST(the_rule_gives_the_first_waves_names)
{
	char buf[128], want[512];
	CHECK_EQ_INT(trc_method_wire_name("ProviderRegister", buf, sizeof(buf)), 17);
	CHECK_STR(buf, "provider.register");
	CHECK_EQ_INT(trc_method_wire_name("ProviderRegister", buf, 17), 0); /* no room for NUL */
	CHECK_EQ_INT(trc_service_wire_name("SupplyService", buf, sizeof(buf)), 6);
	CHECK_STR(buf, "supply");
	for (size_t i = 0; i < sizeof(s_wire) / sizeof(s_wire[0]); i++) {
		const ProtobufCServiceDescriptor *sd = s_wire[i].sd;
		trc_service_wire_name(sd->short_name, buf, sizeof(buf));
		CHECK_STR(buf, s_wire[i].service);
		snprintf(want, sizeof(want), "%s", s_wire[i].methods);
		char *save = NULL, *w = strtok_r(want, " ", &save);
		for (unsigned m = 0; m < sd->n_methods; m++, w = strtok_r(NULL, " ", &save)) {
			CHECK_MSG(w != NULL, "%s has more rpcs than the wire had", sd->name);
			trc_method_wire_name(sd->methods[m].name, buf, sizeof(buf));
			CHECK_STR(buf, w);
		}
		CHECK_MSG(w == NULL, "%s lacks '%s'", sd->name, w);
	}
}

TEST(every_daemon_table_agrees_with_its_block)
{
	char err[256];
	CHECK_MSG(trc_methods_check(&traction__v1__supply_service__descriptor, supplyd_methods,
				    supplyd_n_methods, err, sizeof(err)) == 0, "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__scenario_service__descriptor,
				    scenariod_methods, scenariod_n_methods, err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__feedback_service__descriptor,
				    feedbackd_methods, feedbackd_n_methods, err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__iteration_service__descriptor,
				    iterationd_iteration_methods, iterationd_n_iteration_methods,
				    err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__deployment_service__descriptor,
				    iterationd_deployment_methods, iterationd_n_deployment_methods,
				    err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__notify_service__descriptor, notifyd_methods,
				    notifyd_n_methods, err, sizeof(err)) == 0,
		  "%s", err);
	/* and a disagreement is found, whichever side has it */
	CHECK_EQ_INT(trc_methods_check(&traction__v1__supply_service__descriptor, supplyd_methods,
				       supplyd_n_methods - 1, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "rpc List ('list') has no entry");
	CHECK_EQ_INT(trc_methods_check(&traction__v1__scenario_service__descriptor,
				       supplyd_methods, supplyd_n_methods, err, sizeof(err)),
		     -1);
	trc_method_t wrong[64];
	memcpy(wrong, feedbackd_methods, sizeof(wrong[0]) * feedbackd_n_methods);
	wrong[0].reply = &traction__v1__stats_reply__descriptor;
	CHECK_EQ_INT(trc_methods_check(&traction__v1__feedback_service__descriptor, wrong,
				       feedbackd_n_methods, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "'publish' takes traction.v1.PublishRequest and answers "
			    "traction.v1.StatsReply in the table");
	wrong[feedbackd_n_methods] = feedbackd_methods[1];
	wrong[0] = feedbackd_methods[0];
	CHECK_EQ_INT(trc_methods_check(&traction__v1__feedback_service__descriptor, wrong,
				       feedbackd_n_methods + 1, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "'list' is in the table twice");
}

/* ---- docs/protocol.md against the blocks ----------------------------------- */

typedef struct {
	char service[32], method[96], req[64], rep[64];
	bool seen;
} doc_row_t;

/* The text between the next pair of backticks at or after *p. */
static bool s_ticked(const char **p, char *out, size_t cap)
{
	const char *a = strchr(*p, '`');
	const char *b = a != NULL ? strchr(a + 1, '`') : NULL;
	if (b == NULL || (size_t)(b - a - 1) >= cap)
		return false;
	snprintf(out, cap, "%.*s", (int)(b - a - 1), a + 1);
	*p = b + 1;
	return true;
}

/* Every method row of the protocol's tables: "| `method` | `Req` → `Rep` |"
 * under a line "Service `x`" (or "Services `x` and `y`", whose rows then
 * say `x.method`). */
static size_t s_doc_rows(doc_row_t *rows, size_t cap)
{
	FILE *f = fopen(TRC_SOURCE_DIR "/docs/protocol.md", "r");
	CHECK_MSG(f != NULL, "cannot read %s", TRC_SOURCE_DIR "/docs/protocol.md");
	char line[4096], cur[2][32] = { "", "" };
	size_t n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;
		if (strncmp(line, "Service `", 9) == 0 || strncmp(line, "Services `", 10) == 0) {
			cur[0][0] = cur[1][0] = '\0';
			s_ticked(&p, cur[0], sizeof(cur[0]));
			if (line[7] == 's')
				s_ticked(&p, cur[1], sizeof(cur[1]));
			continue;
		}
		if (strncmp(line, "| `", 3) != 0)
			continue;
		char name[96], req[64], rep[64];
		const char *arrow;
		if (!s_ticked(&p, name, sizeof(name)) || (arrow = strstr(p, "→")) == NULL ||
		    strchr(p, '|') == NULL || arrow > strchr(strchr(p, '|') + 1, '|'))
			continue; /* not a method row: its second cell is no "A → B" */
		if (!s_ticked(&p, req, sizeof(req)) || !s_ticked(&p, rep, sizeof(rep)))
			continue;
		CHECK_MSG(n < cap, "too many rows");
		doc_row_t *r = &rows[n++];
		memset(r, 0, sizeof(*r));
		const char *method = name;
		snprintf(r->service, sizeof(r->service), "%s", cur[0]);
		if (cur[1][0] != '\0') { /* two services: the row names its own */
			const char *dot = strchr(name, '.');
			CHECK_MSG(dot != NULL, "row `%s` under two services names neither", name);
			snprintf(r->service, sizeof(r->service), "%.*s", (int)(dot - name), name);
			CHECK_MSG(strcmp(r->service, cur[0]) == 0 || strcmp(r->service, cur[1]) == 0,
				  "row `%s` is under services %s and %s", name, cur[0], cur[1]);
			method = dot + 1;
		}
		CHECK_MSG(r->service[0] != '\0', "row `%s` is under no \"Service `x`\" line", name);
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->req, sizeof(r->req), "%s", req);
		snprintf(r->rep, sizeof(r->rep), "%s", rep);
	}
	fclose(f);
	return n;
}

TEST(the_protocol_document_lists_every_method_as_declared)
{
	doc_row_t rows[128];
	size_t n = s_doc_rows(rows, 128), declared = 0;
	char svc[64], method[64];
	for (size_t i = 0; i < sizeof(s_wire) / sizeof(s_wire[0]); i++) {
		const ProtobufCServiceDescriptor *sd = s_wire[i].sd;
		trc_service_wire_name(sd->short_name, svc, sizeof(svc));
		for (unsigned m = 0; m < sd->n_methods; m++, declared++) {
			const ProtobufCMethodDescriptor *md = &sd->methods[m];
			trc_method_wire_name(md->name, method, sizeof(method));
			doc_row_t *r = NULL;
			for (size_t k = 0; k < n && r == NULL; k++)
				if (strcmp(rows[k].service, svc) == 0 &&
				    strcmp(rows[k].method, method) == 0)
					r = &rows[k];
			CHECK_MSG(r != NULL, "docs/protocol.md has no row for %s.%s", svc, method);
			CHECK_MSG(!r->seen, "docs/protocol.md lists %s.%s twice", svc, method);
			r->seen = true;
			CHECK_MSG(strcmp(r->req, md->input->short_name) == 0 &&
					  strcmp(r->rep, md->output->short_name) == 0,
				  "docs/protocol.md: %s.%s is `%s` → `%s`, proto/ says %s → %s", svc,
				  method, r->req, r->rep, md->input->short_name,
				  md->output->short_name);
		}
	}
	for (size_t k = 0; k < n; k++)
		CHECK_MSG(rows[k].seen, "docs/protocol.md lists %s.%s, which proto/ does not declare",
			  rows[k].service, rows[k].method);
	CHECK_EQ_INT(n, declared);
}

/* Consumers subscribe to a source's events by topic prefix and must see
 * every one of them to notice a gap: each daemon's declaration of a
 * source it consumes names exactly the topics that source declares. */
static const struct {
	const char *source;
	const char *const *topics;
} s_sources[] = {
	{ "supply", supplyd_event_topics },
	{ "scenario", scenariod_event_topics },
	{ "feedback", feedbackd_event_topics },
	{ "iteration", iterationd_event_topics },
};

TEST(every_consumer_declares_its_sources_topics)
{
	const trc_consume_t *consumers[] = { scenariod_consumes, feedbackd_consumes,
					     iterationd_consumes, notifyd_consumes };
	/* how many sources each consumes: the three others; notifyd feedback */
	const size_t n_consumed[] = { 3, 3, 3, 1 };
	size_t n_sources = sizeof(s_sources) / sizeof(s_sources[0]);
	for (size_t d = 0; d < sizeof(consumers) / sizeof(consumers[0]); d++) {
		size_t n = 0;
		for (const trc_consume_t *c = consumers[d]; c->source != NULL; c++, n++) {
			const char *const *want = NULL;
			for (size_t s = 0; s < n_sources; s++)
				if (strcmp(s_sources[s].source, c->source) == 0)
					want = s_sources[s].topics;
			CHECK_MSG(want != NULL, "no daemon writes source %s", c->source);
			size_t t = 0;
			for (; want[t] != NULL; t++)
				CHECK_MSG(c->topics[t] != NULL && strcmp(c->topics[t], want[t]) == 0,
					  "%s's topics[%zu]: a consumer says %s, the source %s",
					  c->source, t, c->topics[t] != NULL ? c->topics[t] : "(end)",
					  want[t]);
			CHECK_MSG(c->topics[t] == NULL, "%s: a consumer declares more topics",
				  c->source);
		}
		CHECK_EQ_INT(n, n_consumed[d]);
	}
}

/* Read-your-writes across daemons: each daemon's catch_up names its own
 * methods and sources it consumes (else it would not start), and
 * docs/protocol.md's table of who catches up with whom has a row naming
 * the method and each source, for the daemon. */
static const struct {
	const char *program;
	const trc_catch_up_t *catch_up;
	const trc_consume_t *consumes;
	const trc_method_t *const methods[2];
	const size_t *n_methods[2];
} s_catch_ups[] = {
	{ "traction-iterationd", iterationd_catch_up, iterationd_consumes,
	  { iterationd_iteration_methods, iterationd_deployment_methods },
	  { &iterationd_n_iteration_methods, &iterationd_n_deployment_methods } },
	{ "traction-scenariod", scenariod_catch_up, scenariod_consumes, { scenariod_methods, NULL },
	  { &scenariod_n_methods, NULL } },
};

/* The line of docs/protocol.md's catch-up table for program and the
 * method `service.method` (NULL if none), into line. */
static const char *s_catch_up_row(const char *program, const char *service, const char *method,
				  char *line, size_t len)
{
	char want[128], prog[64];
	snprintf(want, sizeof(want), "`%s.%s`", service, method);
	snprintf(prog, sizeof(prog), "| %s |", program);
	FILE *f = fopen(TRC_SOURCE_DIR "/docs/protocol.md", "r");
	const char *found = NULL;
	while (f != NULL && found == NULL && fgets(line, (int)len, f) != NULL)
		if (strncmp(line, prog, strlen(prog)) == 0 && strstr(line, want) != NULL)
			found = line;
	if (f != NULL)
		fclose(f);
	return found;
}

TEST(every_catch_up_names_a_method_and_a_consumed_source_as_documented)
{
	for (size_t d = 0; d < sizeof(s_catch_ups) / sizeof(s_catch_ups[0]); d++) {
		for (const trc_catch_up_t *cu = s_catch_ups[d].catch_up; cu->service != NULL; cu++) {
			bool known = false;
			for (int t = 0; t < 2 && s_catch_ups[d].methods[t] != NULL; t++)
				for (size_t j = 0; j < *s_catch_ups[d].n_methods[t]; j++)
					known |= strcmp(s_catch_ups[d].methods[t][j].name, cu->method) == 0;
			CHECK_MSG(known, "%s: catch_up names no method %s.%s", s_catch_ups[d].program,
				  cu->service, cu->method);
			char line[512];
			const char *row = s_catch_up_row(s_catch_ups[d].program, cu->service, cu->method,
							 line, sizeof(line));
			CHECK_MSG(row != NULL, "docs/protocol.md: no catch-up row of %s for %s.%s",
				  s_catch_ups[d].program, cu->service, cu->method);
			for (const char *const *src = cu->sources; *src != NULL; src++) {
				bool consumed = false;
				for (const trc_consume_t *c = s_catch_ups[d].consumes; c->source != NULL; c++)
					consumed |= strcmp(c->source, *src) == 0;
				CHECK_MSG(consumed, "%s.%s catches up with %s, not consumed", cu->service,
					  cu->method, *src);
				char quoted[64];
				snprintf(quoted, sizeof(quoted), "`%s`", *src);
				CHECK_MSG(row != NULL && strstr(strchr(row + 2, '|') + 1, quoted) != NULL,
					  "docs/protocol.md: %s.%s's row does not name %s", cu->service,
					  cu->method, *src);
			}
		}
	}
}

int main(void)
{
	RUN(the_rule_gives_the_first_waves_names);
	RUN(every_daemon_table_agrees_with_its_block);
	RUN(the_protocol_document_lists_every_method_as_declared);
	RUN(every_consumer_declares_its_sources_topics);
	RUN(every_catch_up_names_a_method_and_a_consumed_source_as_documented);
	DONE();
}
