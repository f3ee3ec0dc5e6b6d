/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deterministic apply (docs/architecture.md, "Entries"), with no raft yet:
 * feedbackd and iterationd, each the real daemon (its definition, its
 * handlers and hooks) on the real runtime in this process, behind a real
 * broker with supplyd and scenariod as processes, hand every batch they
 * commit over as an entry (trc_service_on_entry). After a story of writes
 * (the catalogue, publishes with duplicates, alert rules, retention and
 * holds, ticks, iterations, a deployment adopted, advanced and upgraded on
 * the evidence feedback's events bring), each entry, decoded, is applied
 * to a fresh store of a second instance of the same daemon
 * (trc_service_apply_entry), as a replica will. The two stores must hold
 * the same records, byte for byte: a digest over every named database in
 * key order (trc_storecopy_digest), meta.raft_applied included. An entry
 * applied again changes nothing; one made with another apply-affecting
 * configuration is refused.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "blocks.h"
#include "check.h"
#include "error.h"
#include "harness.h"
#include "pbjson.h"
#include "service.h"
#include "storecopy.h"
#include "traction/v1/cluster.pb-c.h"
#include "traction/v1/feedback.pb-c.h"

static harness_t H;

/* ---- the daemons, as their main.c defines them --------------------------------- */

/* feedbackd's and iterationd's main.c are compiled again for this test,
 * twice each (a leader, a replica: each copy with its own state), main
 * renamed entries_main_<daemon>_<copy> and trc_service_main renamed
 * entries_capture: calling it hands over the definition the daemon runs
 * with (tests/CMakeLists.txt; as test_fault does). */
int entries_capture(int argc, char **argv, const trc_daemon_def_t *def);
int entries_main_feedbackd_0(int argc, char **argv);
int entries_main_feedbackd_1(int argc, char **argv);
int entries_main_iterationd_0(int argc, char **argv);
int entries_main_iterationd_1(int argc, char **argv);

static const trc_daemon_def_t *s_captured;

int entries_capture(int argc, char **argv, const trc_daemon_def_t *def)
{
	(void)argc;
	(void)argv;
	s_captured = def;
	return 0;
}

static const trc_daemon_def_t *s_def_of(int (*main_of)(int, char **))
{
	char *argv[] = { (char *)"test_entries", NULL };
	s_captured = NULL;
	CHECK_EQ_INT(main_of(1, argv), 0);
	CHECK(s_captured != NULL);
	return s_captured;
}

/* ---- an instance of a daemon in this process ----------------------------------- */

typedef struct {
	uint8_t *buf;
	size_t len;
	uint64_t index;
} entry_t;

typedef struct {
	const char *name;           /* "feedbackd" */
	const trc_daemon_def_t *def;
	trc_config_t cfg;
	trc_service_t *svc;
	int stop[2];                /* what its loop takes for its signalfd */
	pthread_t thread;
	entry_t *entries;           /* what it committed, in order */
	size_t n;
} inst_t;

static void on_entry(void *ud, uint64_t index, const uint8_t *buf, size_t len)
{
	inst_t *in = ud;
	in->entries = realloc(in->entries, (in->n + 1) * sizeof(*in->entries));
	CHECK(in->entries != NULL);
	entry_t *e = &in->entries[in->n++];
	e->buf = malloc(len > 0 ? len : 1);
	CHECK(e->buf != NULL);
	memcpy(e->buf, buf, len);
	e->len = len;
	e->index = index;
}

static void *run(void *arg)
{
	inst_t *in = arg;
	CHECK_EQ_INT(trc_service_run(in->svc, in->stop[0], NULL), 0);
	return NULL;
}

/* in's configuration: the harness's file, a state dir of its own; with
 * bus false, a bus nobody serves (a replica fed only by entries). */
static void s_config(inst_t *in, const char *state, bool bus)
{
	char err[512];
	CHECK_MSG(trc_config_init(&in->cfg, in->def->config, NULL, err, sizeof(err)) == 0, "%s",
		  err);
	CHECK_MSG(trc_config_read(&in->cfg, H.conf, err, sizeof(err)) == 0, "%s", err);
	snprintf(in->cfg.state_dir, sizeof(in->cfg.state_dir), "%s/%s", H.dir, state);
	in->cfg.metrics_base_port = 0;
	if (!bus) {
		char none[200];
		CHECK((size_t)snprintf(none, sizeof(none), "ipc://%s/none-%s", H.dir, state) <
		      sizeof(none));
		snprintf(in->cfg.service_endpoint, sizeof(in->cfg.service_endpoint), "%s", none);
		snprintf(in->cfg.client_endpoint, sizeof(in->cfg.client_endpoint), "%s", none);
		snprintf(in->cfg.event_publish_endpoint, sizeof(in->cfg.event_publish_endpoint),
			 "%s-pub", none);
		snprintf(in->cfg.event_subscribe_endpoint,
			 sizeof(in->cfg.event_subscribe_endpoint), "%s-sub", none);
	}
}

/* Stops a running instance as SIGTERM would: what its loop reads from
 * its "signalfd" is a signalfd_siginfo. */
static void s_stop(inst_t *in)
{
	struct signalfd_siginfo si = { .ssi_signo = SIGTERM };
	CHECK(write(in->stop[1], &si, sizeof(si)) == (ssize_t)sizeof(si));
	pthread_join(in->thread, NULL);
	trc_service_destroy(&in->svc);
	close(in->stop[0]);
	close(in->stop[1]);
}

static void s_start(inst_t *in)
{
	CHECK_EQ_INT(trc_service_new(&in->svc, in->def, &in->cfg), 0);
	CHECK_EQ_INT(trc_service_on_entry(in->svc, on_entry, in), 0);
	CHECK(pipe(in->stop) == 0);
	CHECK(pthread_create(&in->thread, NULL, run, in) == 0);
}

/* The digest of what the store of in's daemon under state holds. */
static void s_digest(const char *state, const char *daemon, char hex[TRC_SHA256_HEX],
		     uint64_t *events)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s/data.mdb", H.dir, state, daemon);
	trc_storecopy_info_t info;
	int rc = trc_storecopy_digest(path, &info, hex);
	CHECK_MSG(rc == 0, "%s: %s", path, info.why);
	*events = info.event_head;
	trc_storecopy_info_free(&info);
}

/* ---- the story ----------------------------------------------------------------- */

/* A call of a method of the set, its request in JSON; the status code. */
static int s_call(traction_client_t *c, const char *service, const char *method,
		  const char *json)
{
	const ProtobufCMethodDescriptor *md = trc_method_lookup(service, method);
	CHECK_MSG(md != NULL, "%s.%s", service, method);
	ProtobufCMessage *msg = calloc(1, md->input->sizeof_message);
	protobuf_c_message_init(md->input, msg);
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	char err[256] = "";
	CHECK_MSG(doc != NULL, "%s", jerr.text);
	CHECK_MSG(pbjson_to_message(doc, msg, err, sizeof(err)) == 0, "%s.%s: %s", service, method,
		  err);
	json_decref(doc);
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, service, method, msg, md->output, &rep, &st);
	traction_reply_free(rep);
	pbjson_free(msg);
	free(msg);
	return code;
}

#define REC(key, body)                                                                      \
	"{\"scenario_id\": \"weld-line-3\", \"supply_id\": \"defect-vision\", \"version\": " \
	"\"1.0\", \"idempotency_key\": \"" key "\", " body "}"

/* The story's writes, in order; after a step, a pause for what follows
 * from it (feedbackd's ticks: the evidence events and the alerts;
 * iterationd applying what feedback sent). The publishes come after the
 * first four. */
static const struct {
	const char *service, *method, *json;
	int pause_ms;
} s_steps[] = {
	{ "iteration", "record",
	  "{\"iteration\": {\"supply_id\": \"defect-vision\", \"version\": \"1.1\", "
	  "\"parent_version\": \"1.0\", \"addresses\": [\"sig-glare\"]}}", 0 },
	{ "deployment", "adopt",
	  "{\"scenario_id\": \"weld-line-3\", \"supply_id\": \"defect-vision\", "
	  "\"version\": \"1.0\"}", 0 },
	{ "feedback", "alert.add",
	  "{\"rule\": {\"id\": \"rate\", \"kind\": \"ALERT_METRIC\", \"supply_id\": "
	  "\"defect-vision\", \"metric\": \"defect_rate\", \"quantile\": 0.9, "
	  "\"comparison\": \"CMP_GT\", \"threshold\": 0.01, \"window_s\": 60}}", 0 },
	{ "feedback", "alert.add", "{\"rule\": {\"id\": \"crit\", \"kind\": "
				   "\"ALERT_CRITICAL_PROBLEM\"}}", 0 },
	{ "feedback", "publish",
	  "{\"records\": [" REC("p1", "\"problem\": {\"severity\": \"SEVERITY_CRITICAL\", "
				      "\"title\": \"glare\", \"signature\": \"sig-glare\"}") ", " REC(
		  "v1", "\"value\": {\"kpi\": \"scrap\", \"baseline\": 10, \"achieved\": 8, "
			"\"unit\": \"%\"}") ", " REC("d1", "\"demand\": {\"text\": \"at the edge\", "
						       "\"capabilities\": [\"edge-deployment\"]}") "]}",
	  0 },
	{ "feedback", "retention.set",
	  "{\"scenario_id\": \"weld-line-3\", \"kind\": \"FEEDBACK_PROBLEM\", \"days\": 2}", 0 },
	{ "feedback", "hold.add",
	  "{\"hold\": {\"scenario_id\": \"weld-line-3\", \"reason\": \"an audit\"}}", 0 },
	{ "feedback", "alert.remove", "{\"id\": \"crit\"}", 700 },
	{ "deployment", "advance",
	  "{\"deployment_id\": \"dep-1\", \"to\": \"STAGE_REFINEMENT\", \"force\": true, "
	  "\"reason\": \"the pilot is agreed\"}", 0 },
	{ "deployment", "upgrade",
	  "{\"deployment_id\": \"dep-1\", \"version\": \"1.1\", \"reason\": \"less glare\"}",
	  700 },
};

static void s_story(traction_client_t *c)
{
	char json[2048];
	for (size_t i = 0; i < sizeof(s_steps) / sizeof(s_steps[0]); i++) {
		CHECK_MSG(s_call(c, s_steps[i].service, s_steps[i].method, s_steps[i].json) == 0,
			  "step %zu: %s.%s", i, s_steps[i].service, s_steps[i].method);
		h_sleep_ms(s_steps[i].pause_ms);
		for (int k = 0; i == 3 && k < 40; k++) { /* batches, duplicates among them */
			snprintf(json, sizeof(json),
				 "{\"records\": [" REC("m%d", "\"metric\": {\"name\": "
							      "\"defect_rate\", \"value\": 0.0%d}") ", " REC(
					 "m%d", "\"metric\": {\"name\": \"defect_rate\", \"value\": "
						"0.5}") "]}",
				 k, k % 10, k / 2);
			CHECK_EQ_INT(s_call(c, "feedback", "publish", json), 0);
		}
	}
}

/* ---- the replicas ---------------------------------------------------------------- */

/* in's entries applied to a fresh store of its daemon (def: another copy
 * of it) under state: the same digest as in's own store under leader. */
static void s_replay(inst_t *in, const trc_daemon_def_t *def, const char *state,
		     const char *leader)
{
	static inst_t rep;
	rep = (inst_t){ .name = in->name, .def = def };
	s_config(&rep, state, false);
	CHECK_EQ_INT(trc_service_new(&rep.svc, rep.def, &rep.cfg), 0);
	for (size_t i = 0; i < in->n; i++) {
		int rc = trc_service_apply_entry(rep.svc, in->entries[i].index, in->entries[i].buf,
						 in->entries[i].len);
		CHECK_MSG(rc == 0, "%s: entry %zu: %s", in->name, i, trc_strerror(rc));
	}
	/* again: in the store already, skipped */
	CHECK_EQ_INT(trc_service_apply_entry(rep.svc, in->entries[0].index, in->entries[0].buf,
					     in->entries[0].len),
		     0);
	/* made with another configuration: refused, nothing written */
	Traction__V1__Entry *e =
		traction__v1__entry__unpack(NULL, in->entries[0].len, in->entries[0].buf);
	CHECK(e != NULL);
	e->config_digest ^= 1;
	uint8_t *buf = malloc(traction__v1__entry__get_packed_size(e));
	size_t len = traction__v1__entry__pack(e, buf);
	CHECK_EQ_INT(trc_service_apply_entry(rep.svc, in->entries[in->n - 1].index + 1, buf, len),
		     TRC_ECONFIG);
	free(buf);
	traction__v1__entry__free_unpacked(e, NULL);
	trc_service_destroy(&rep.svc);

	char a[TRC_SHA256_HEX], b[TRC_SHA256_HEX];
	uint64_t ea, eb;
	s_digest(leader, in->name, a, &ea);
	s_digest(state, in->name, b, &eb);
	size_t kinds[4] = { 0 };
	for (size_t i = 0; i < in->n; i++) {
		Traction__V1__Entry *x =
			traction__v1__entry__unpack(NULL, in->entries[i].len, in->entries[i].buf);
		CHECK(x != NULL);
		for (size_t j = 0; j < x->n_items; j++)
			kinds[x->items[j]->kind & 3]++;
		traction__v1__entry__free_unpacked(x, NULL);
	}
	printf("%s: %zu entries (%zu requests, %zu events of other sources, %zu ticks), %llu "
	       "events of its own; leader %.16s, replica %.16s\n",
	       in->name, in->n, kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST],
	       kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT],
	       kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK], (unsigned long long)ea, a, b);
	/* every kind of item went through */
	CHECK(kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST] > 0);
	CHECK(kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT] > 0);
	CHECK(strcmp(in->name, "feedbackd") != 0 || kinds[TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK] > 0);
	CHECK_MSG(ea > 0, "%s wrote no events", in->name);
	CHECK_EQ_INT(ea, eb);
	CHECK_STR(a, b);
}

TEST(entries_applied_elsewhere_give_the_same_store)
{
	h_init(&H, "[bus]\nheartbeat_ms = 200\n");
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);

	static inst_t F = { .name = "feedbackd" }, I = { .name = "iterationd" };
	F.def = s_def_of(entries_main_feedbackd_0);
	I.def = s_def_of(entries_main_iterationd_0);
	s_config(&F, "leader", true);
	s_config(&I, "leader", true);
	s_start(&F);
	s_start(&I);
	CHECK(h_wait_live(&H, "feedback", 1, 10000));
	CHECK(h_wait_live(&H, "iteration", 1, 10000));

	traction_client_t *c = h_client(&H);
	h_catalogue(c, NULL);
	h_wait_feedback_ready(c, "weld-line-3");
	s_story(c);
	traction_client_destroy(&c);
	s_stop(&F);
	s_stop(&I);
	CHECK(F.n > 20 && I.n > 3);

	s_replay(&F, s_def_of(entries_main_feedbackd_1), "replica", "leader");
	s_replay(&I, s_def_of(entries_main_iterationd_1), "replica", "leader");
	for (size_t i = 0; i < F.n; i++)
		free(F.entries[i].buf);
	for (size_t i = 0; i < I.n; i++)
		free(I.entries[i].buf);
	free(F.entries);
	free(I.entries);
	h_done(&H);
}

int main(void)
{
	RUN(entries_applied_elsewhere_give_the_same_store);
	DONE();
}
