/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who gets in, over real CurveZMQ: only keys listed in the keys directory
 * connect; each key's role bounds what it may call, method by method, as
 * the table "What each role may call" in docs/security.md says (a
 * publisher writes only to its scenarios and reads nothing, a reader only
 * queries, a forced advance needs an admin); the identity is recorded with
 * each feedback record and scopes idempotency keys; unknown keys and plain
 * clients never get a reply and reach no service; adding and removing a
 * key takes effect on SIGHUP, without a restart. The daemons themselves
 * connect with a key of role = service (service_curve = 1): on the service
 * and event endpoints a plain peer, or one with a client's key, registers
 * nothing and hears no event, while the service key does both.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zmq.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static char s_server_pub[41];

typedef struct {
	char pub[41], sec[41];
} pair_t;

static pair_t s_admin, s_site7, s_site8, s_auditor, s_stranger, s_late, s_svc, s_gateway,
	s_northern;

/* Clients of the listed keys, connected once the set is up. */
static traction_client_t *s_as_admin, *s_as_site7, *s_as_site8, *s_as_auditor, *s_as_daemons;
static char s_dep[64]; /* a deployment of defect-vision@1.0 in weld-line-3 */

/* Who may call what: the table "What each role may call" in
 * docs/security.md, with its rows for "each of the five" spelled out
 * (change one, change the other). Every method of every service is here,
 * so a role widened or narrowed anywhere shows up as a row whose answer
 * no longer matches. */
enum { MAY_PUBLISHER = 1, MAY_READER = 2, MAY_SERVICE = 4, MAY_ADMIN = 8 };
#define ANYONE (MAY_PUBLISHER | MAY_READER | MAY_SERVICE | MAY_ADMIN)
#define QUERY (MAY_READER | MAY_SERVICE | MAY_ADMIN)
#define WRITE (MAY_SERVICE | MAY_ADMIN)

typedef struct {
	const char *service, *method;
	unsigned may;
	bool force; /* deployment.advance with force, on a real deployment */
} row_t;

static const row_t s_table[] = {
	{ "supply", "provider.register", WRITE, false },
	{ "supply", "provider.update", WRITE, false },
	{ "supply", "provider.get", QUERY, false },
	{ "supply", "provider.list", QUERY, false },
	{ "supply", "register", WRITE, false },
	{ "supply", "update", WRITE, false },
	{ "supply", "retire", WRITE, false },
	{ "supply", "get", QUERY, false },
	{ "supply", "list", QUERY, false },
	{ "scenario", "submit", WRITE, false },
	{ "scenario", "update", WRITE, false },
	{ "scenario", "close", WRITE, false },
	{ "scenario", "get", QUERY, false },
	{ "scenario", "list", QUERY, false },
	{ "scenario", "match", QUERY, false },
	{ "scenario", "gaps", QUERY, false },
	{ "feedback", "publish", MAY_PUBLISHER | WRITE, false },
	{ "feedback", "list", QUERY, false },
	{ "feedback", "stats", QUERY, false },
	{ "feedback", "problems", QUERY, false },
	{ "feedback", "regressions", QUERY, false },
	{ "feedback", "demands", QUERY, false },
	{ "feedback", "alert.add", WRITE, false },
	{ "feedback", "alert.list", QUERY, false },
	{ "feedback", "alert.remove", WRITE, false },
	{ "feedback", "alert.history", QUERY, false },
	{ "feedback", "retention.set", WRITE, false },
	{ "feedback", "retention.list", WRITE, false },
	{ "feedback", "hold.add", WRITE, false },
	{ "feedback", "hold.remove", WRITE, false },
	{ "feedback", "hold.list", WRITE, false },
	{ "iteration", "record", WRITE, false },
	{ "iteration", "get", QUERY, false },
	{ "iteration", "list", QUERY, false },
	{ "iteration", "history", QUERY, false },
	{ "iteration", "diff", QUERY, false },
	{ "deployment", "adopt", WRITE, false },
	{ "deployment", "upgrade", WRITE, false },
	{ "deployment", "advance", WRITE, false },
	{ "deployment", "advance", MAY_ADMIN, true },
	{ "deployment", "retire", WRITE, false },
	{ "deployment", "get", QUERY, false },
	{ "deployment", "list", QUERY, false },
	{ "deployment", "history", QUERY, false },
	{ "supply", "ping", ANYONE, false },
	{ "supply", "events.replay", MAY_SERVICE | MAY_ADMIN, false },
	{ "supply", "events.read", QUERY, false },
	{ "supply", "audit.list", WRITE, false },
	{ "supply", "backup.end", WRITE, false },
	{ "scenario", "ping", ANYONE, false },
	{ "scenario", "events.replay", MAY_SERVICE | MAY_ADMIN, false },
	{ "scenario", "events.read", QUERY, false },
	{ "scenario", "audit.list", WRITE, false },
	{ "scenario", "backup.end", WRITE, false },
	{ "feedback", "ping", ANYONE, false },
	{ "feedback", "events.replay", MAY_SERVICE | MAY_ADMIN, false },
	{ "feedback", "events.read", QUERY, false },
	{ "feedback", "audit.list", WRITE, false },
	{ "feedback", "backup.end", WRITE, false },
	{ "iteration", "ping", ANYONE, false },
	{ "iteration", "events.replay", MAY_SERVICE | MAY_ADMIN, false },
	{ "iteration", "events.read", QUERY, false },
	{ "iteration", "audit.list", WRITE, false },
	{ "iteration", "backup.end", WRITE, false },
	{ "deployment", "ping", ANYONE, false },
	{ "deployment", "events.replay", MAY_SERVICE | MAY_ADMIN, false },
	{ "deployment", "events.read", QUERY, false },
	{ "deployment", "audit.list", WRITE, false },
	{ "deployment", "backup.end", WRITE, false },
	{ "broker", "ping", ANYONE, false },
	{ "broker", "status", QUERY, false },
	{ "broker", "audit.list", WRITE, false },  /* v1.1 */
	{ "broker", "keys.reload", WRITE, false }, /* v1.1: an empty reason is refused */
	{ "broker", "backup.end", WRITE, false },  /* v1.1: its audit log's copy */
};
#define N_ROWS (sizeof(s_table) / sizeof(s_table[0]))

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void appendf(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;
	va_start(ap, fmt);
	if (n < cap)
		vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
}

static void key_file(const char *name, const pair_t *k, const char *role, const char *scenarios)
{
	char path[512], text[512];
	snprintf(path, sizeof(path), "%s/keys/%s.key", H.dir, name);
	snprintf(text, sizeof(text), "; %s\npublic = %s\nrole = %s\n%s%s\n", name, k->pub, role,
		 scenarios ? "scenarios = " : "", scenarios ? scenarios : "");
	write_file(path, text);
}

static traction_client_t *client(const pair_t *k, int timeout_ms)
{
	traction_client_t *c = NULL;
	traction_options_t o = { .timeout_ms = timeout_ms, .client_name = "sec-test" };
	if (k != NULL) {
		o.server_public_key = s_server_pub;
		o.public_key = k->pub;
		o.secret_key = k->sec;
	}
	CHECK_EQ_INT(traction_client_new(&c, H.client_ep, &o), 0);
	return c;
}

static int ping(traction_client_t *c)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "broker", "ping", &e.base, &traction__v1__ping_reply__descriptor,
				 &rep, &st);
	traction_reply_free(rep);
	return code;
}

/* A call whose reply body does not matter, only its status: Empty keeps
 * whatever fields a reply has as unknown ones, so every reply decodes. */
static int call_code(traction_client_t *c, const char *service, const char *method,
		     const ProtobufCMessage *req, traction_status_t *st)
{
	ProtobufCMessage *rep = NULL;
	int code = traction_call(c, service, method, req, &traction__v1__empty__descriptor, &rep, st);
	traction_reply_free(rep);
	return code;
}

static void metric_record(Traction__V1__FeedbackRecord *r, Traction__V1__Metric *m,
			  const char *scenario, const char *key)
{
	traction__v1__feedback_record__init(r);
	traction__v1__metric__init(m);
	m->name = (char *)"defect_rate";
	m->value = 0.03;
	r->scenario_id = (char *)scenario;
	r->supply_id = (char *)"defect-vision";
	r->version = (char *)"1.0";
	r->idempotency_key = (char *)key;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
}

/* Publishes one metric; returns the record's status code (or the call's). */
static int publish(traction_client_t *c, const char *scenario, const char *key, uint64_t *id,
		   bool *dup, char *msg)
{
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	metric_record(&r, &m, scenario, key);
	req.records = &rp;
	req.n_records = 1;
	int code = traction_call(c, "feedback", "publish", &req.base,
				 &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep, &st);
	if (code != 0) {
		snprintf(msg, 512, "%s", st.message);
		return code;
	}
	code = rep->results[0]->status->code;
	snprintf(msg, 512, "%s", rep->results[0]->status->message);
	if (id != NULL)
		*id = rep->results[0]->record_id;
	if (dup != NULL)
		*dup = rep->results[0]->duplicate;
	traction_reply_free(&rep->base);
	return code;
}

typedef struct {
	const pair_t *key;
	const char *what;
	void *dealer, *sub;
} peer_t;

/* A raw peer of the daemons' endpoints: with key, CurveZMQ as it. */
static void *peer_socket(void *zctx, int type, const pair_t *key, const char *endpoint)
{
	void *s = zmq_socket(zctx, type);
	int zero = 0;
	CHECK(s != NULL);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (key != NULL) {
		CHECK(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, s_server_pub, 40) == 0);
		CHECK(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, key->pub, 40) == 0);
		CHECK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key->sec, 40) == 0);
	}
	CHECK(zmq_connect(s, endpoint) == 0);
	return s;
}

/* What a daemon sends to offer a service. */
static void send_ready(void *dealer, const char *service)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t buf[128];
	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_READY;
	h.service = (char *)service;
	size_t n = traction__v1__header__pack(&h, buf);
	zmq_send(dealer, buf, n, ZMQ_DONTWAIT);
}

/* What a client sends: [Header][body], as docs/protocol.md says. */
static void send_request(void *dealer, const char *service, const char *method, uint64_t id,
			 const ProtobufCMessage *body)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hb[256], bb[1024];
	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)service;
	h.method = (char *)method;
	h.request_id = id;
	h.timeout_ms = 5000;
	size_t hn = traction__v1__header__pack(&h, hb);
	size_t bn = body != NULL ? protobuf_c_message_pack(body, bb) : 0;
	CHECK(zmq_send(dealer, hb, hn, ZMQ_SNDMORE | ZMQ_DONTWAIT) == (int)hn);
	CHECK(zmq_send(dealer, bb, bn, ZMQ_DONTWAIT) == (int)bn);
}

static Traction__V1__BrokerStatusReply *broker_status(traction_client_t *c)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *sr = NULL;
	traction_status_t st;
	CHECK_EQ_INT(traction_call(c, "broker", "status", &e.base,
				   &traction__v1__broker_status_reply__descriptor,
				   (ProtobufCMessage **)&sr, &st),
		     0);
	return sr;
}

static size_t instances(traction_client_t *admin, const char *service)
{
	Traction__V1__BrokerStatusReply *sr = broker_status(admin);
	size_t n = 0;
	for (size_t k = 0; k < sr->n_services; k++)
		if (strcmp(sr->services[k]->name, service) == 0)
			n = sr->services[k]->n_instances;
	traction_reply_free(&sr->base);
	return n;
}

/* What the broker has passed on: its counters (not instances_expired,
 * which heartbeats move) and what each service was sent. Asking is not
 * routed, so asking twice in a row gives the same answer. */
static void broker_state(char *out, size_t cap)
{
	Traction__V1__BrokerStatusReply *sr = broker_status(s_as_admin);
	const Traction__V1__BrokerCounters *k = sr->counters;
	out[0] = '\0';
	appendf(out, cap, "requests_routed=%llu replies_routed=%llu errors_replied=%llu "
		"dropped_malformed=%llu events_relayed=%llu",
		(unsigned long long)k->requests_routed, (unsigned long long)k->replies_routed,
		(unsigned long long)k->errors_replied, (unsigned long long)k->dropped_malformed,
		(unsigned long long)k->events_relayed);
	for (size_t i = 0; i < sr->n_services; i++)
		appendf(out, cap, "; %s requests=%llu", sr->services[i]->name,
			(unsigned long long)sr->services[i]->requests);
	traction_reply_free(&sr->base);
}

/* What the daemons have written and applied, from their pings: the head
 * of each one's event log and its consumers' positions. */
static void daemons_state(char *out, size_t cap)
{
	static const char *const daemons[] = { "supply", "scenario", "feedback", "iteration" };
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__PingReply *p = NULL;
		traction_status_t st;
		CHECK_EQ_INT(traction_call(s_as_admin, daemons[i], "ping", &e.base,
					   &traction__v1__ping_reply__descriptor,
					   (ProtobufCMessage **)&p, &st),
			     0);
		appendf(out, cap, "%s%s head=%llu", i > 0 ? "; " : "", daemons[i],
			(unsigned long long)p->event_head);
		for (size_t k = 0; k < p->n_positions; k++)
			appendf(out, cap, " %s=%llu", p->positions[k]->source,
				(unsigned long long)p->positions[k]->applied_seq);
		traction_reply_free(&p->base);
	}
}

TEST(start_the_set_with_keys)
{
	char path[512], text[256], server_sec[41];
	CHECK_EQ_INT(zmq_curve_keypair(s_server_pub, server_sec), 0);
	pair_t *all[] = { &s_admin, &s_site7, &s_site8, &s_auditor, &s_stranger,
			  &s_late,  &s_svc,   &s_gateway, &s_northern };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK_EQ_INT(zmq_curve_keypair(all[i]->pub, all[i]->sec), 0);
	snprintf(path, sizeof(path), "%s/server.key", H.dir);
	snprintf(text, sizeof(text), "public = %s\nsecret = %s\n", s_server_pub, server_sec);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/keys", H.dir);
	CHECK(mkdir(path, 0700) == 0);
	key_file("admin", &s_admin, "admin", NULL);
	key_file("site7", &s_site7, "publisher", "weld-line-3");
	key_file("site8", &s_site8, "publisher", "weld-line-3");
	key_file("auditor", &s_auditor, "reader", NULL);
	key_file("daemons", &s_svc, "service", NULL);
	/* v1.1: an edge, the users it may act for, and a scoped reader key */
	key_file("gateway", &s_gateway, "edge", NULL);
	snprintf(path, sizeof(path), "%s/keys/northern-qa.key", H.dir);
	snprintf(text, sizeof(text), "public = %s\nrole = reader\nenterprises = Northern Steel\n",
		 s_northern.pub);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/keys/alice.user", H.dir);
	write_file(path, "; a Southern Glass engineer, through the gateway\nrole = reader\n"
			 "enterprises = Southern Glass\n");
	snprintf(path, sizeof(path), "%s/keys/line3.user", H.dir);
	write_file(path, "role = publisher\nscenarios = weld-line-3\n");
	snprintf(path, sizeof(path), "%s/keys/acme-eng.user", H.dir);
	write_file(path, "role = reader\nproviders = acme\n");
	snprintf(path, sizeof(path), "%s/service.key", H.dir);
	snprintf(text, sizeof(text), "public = %s\nsecret = %s\n", s_svc.pub, s_svc.sec);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/server.pub", H.dir);
	snprintf(text, sizeof(text), "public = %s\n", s_server_pub);
	write_file(path, text);
	snprintf(H.extra + strlen(H.extra), sizeof(H.extra) - strlen(H.extra),
		 "[security]\ncurve = 1\nserver_key_file = %s/server.key\nkeys_dir = %s/keys\n"
		 "service_curve = 1\nservice_key_file = %s/service.key\n"
		 "server_public_key_file = %s/server.pub\n",
		 H.dir, H.dir, H.dir, H.dir);

	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < 4; i++)
		h_start(&H, d[i], NULL);
	/* (h_wait_live's plain client cannot get in: ask as the admin) */
	s_as_admin = client(&s_admin, 5000);
	size_t live = 0; /* supply, scenario, feedback, iteration, deployment */
	for (int i = 0; i < 250 && live < 5; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__BrokerStatusReply *sr = NULL;
		traction_status_t st0;
		live = 0;
		if (traction_call(s_as_admin, "broker", "status", &e.base,
				  &traction__v1__broker_status_reply__descriptor, (ProtobufCMessage **)&sr,
				  &st0) == 0) {
			for (size_t k = 0; k < sr->n_services; k++)
				live += sr->services[k]->n_instances > 0;
			traction_reply_free(&sr->base);
		}
		if (live < 5)
			h_sleep_ms(20);
	}
	CHECK_EQ_INT(live, 5);
	static const char *const scenarios[] = { "weld-line-3", "paint-shop", NULL };
	h_catalogue(s_as_admin, scenarios);
	s_as_site7 = client(&s_site7, 5000);
	s_as_site8 = client(&s_site8, 5000);
	s_as_auditor = client(&s_auditor, 5000);
	/* the daemons' key is listed, so it gets in on the client endpoint too,
	 * with the service role */
	s_as_daemons = client(&s_svc, 5000);

	/* a real deployment, so that a forced advance reaches its check */
	Traction__V1__DeploymentAdoptRequest ar = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	Traction__V1__DeploymentReply *dr = NULL;
	traction_status_t st;
	ar.scenario_id = (char *)"weld-line-3";
	ar.supply_id = (char *)"defect-vision";
	ar.version = (char *)"1.0";
	int code = -1;
	for (int i = 0; i < 200 && code != 0; i++) {
		code = traction_call(s_as_admin, "deployment", "adopt", &ar.base,
				     &traction__v1__deployment_reply__descriptor,
				     (ProtobufCMessage **)&dr, &st);
		if (code != 0)
			h_sleep_ms(25); /* until iterationd knows the supply and scenario */
	}
	CHECK_MSG(code == 0, "%s", st.message);
	snprintf(s_dep, sizeof(s_dep), "%s", dr->deployment->id);
	traction_reply_free(&dr->base);
}

/* Every method of every service, as every role with a key: allowed means
 * answered by the service with anything but PERMISSION_DENIED (an empty
 * body is mostly INVALID_ARGUMENT or NOT_FOUND, and that is fine), denied
 * means exactly PERMISSION_DENIED. */
TEST(each_role_may_call_what_the_table_says)
{
	/* the admin last: its forced advance moves the deployment, and the
	 * service key's forced advance to the same stage would then be
	 * refused as "already there" before its role is looked at */
	const struct {
		const char *name;
		unsigned bit;
		traction_client_t *c;
	} roles[] = {
		{ "publisher", MAY_PUBLISHER, s_as_site7 },
		{ "reader", MAY_READER, s_as_auditor },
		{ "service key", MAY_SERVICE, s_as_daemons },
		{ "admin", MAY_ADMIN, s_as_admin },
	};
	Traction__V1__Empty empty = TRACTION__V1__EMPTY__INIT;
	Traction__V1__DeploymentAdvanceRequest force =
		TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	force.deployment_id = s_dep;
	force.to = TRACTION__V1__STAGE__STAGE_PILOT;
	force.force = true;
	force.reason = (char *)"role test";
	int wrong = 0;
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		for (size_t i = 0; i < N_ROWS; i++) {
			const row_t *row = &s_table[i];
			traction_status_t st;
			int code = call_code(roles[r].c, row->service, row->method,
					     row->force ? &force.base : &empty.base, &st);
			bool may = (row->may & roles[r].bit) != 0;
			bool ok = may ? code != TRACTION__V1__CODE__PERMISSION_DENIED &&
						code != TRACTION__V1__CODE__DEADLINE_EXCEEDED &&
						code != TRACTION__V1__CODE__UNAVAILABLE
				      : code == TRACTION__V1__CODE__PERMISSION_DENIED;
			if (!ok) {
				fprintf(stderr, "  %s.%s%s as %s: %s \"%s\"; the table says %s\n",
					row->service, row->method, row->force ? " (force)" : "",
					roles[r].name, traction_code_name(code), st.message,
					may ? "allowed" : "PERMISSION_DENIED");
				wrong++;
			}
		}
	}
	CHECK_MSG(wrong == 0, "%d answers differ from the table of who may call what", wrong);
}

TEST(only_listed_keys_and_their_roles)
{
	/* a publisher writes to its scenario, and only there */
	char msg[512];
	uint64_t id7 = 0, id8 = 0;
	bool dup = false;
	int code = -1;
	for (int i = 0; i < 200 && code != 0; i++) {
		code = publish(s_as_site7, "weld-line-3", "k1", &id7, &dup, msg);
		if (code != 0)
			h_sleep_ms(25); /* until feedbackd knows the scenario */
	}
	CHECK_MSG(code == 0, "%s", msg);
	CHECK_EQ_INT(publish(s_as_site7, "paint-shop", "k2", NULL, NULL, msg),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_STR(msg, "scenario_id: this publisher may not write to 'paint-shop'");
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	p.id = (char *)"evil";
	p.name = (char *)"Evil";
	p.kind = 1;
	pr.provider = &p;
	CHECK_EQ_INT(traction_call(s_as_site7, "supply", "provider.register", &pr.base,
				   &traction__v1__provider_reply__descriptor, &rep, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(st.message, "the publisher role may only publish feedback");

	/* idempotency keys are per client: site8's "k1" is its own record */
	CHECK_EQ_INT(publish(s_as_site8, "weld-line-3", "k1", &id8, &dup, msg), 0);
	CHECK(!dup && id8 != id7);
	CHECK_EQ_INT(publish(s_as_site7, "weld-line-3", "k1", &id8, &dup, msg), 0);
	CHECK(dup && id8 == id7);

	/* the identity is recorded with the record */
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *lr = NULL;
	CHECK_EQ_INT(traction_call(s_as_auditor, "feedback", "list", &lq.base,
				   &traction__v1__feedback_list_reply__descriptor,
				   (ProtobufCMessage **)&lr, &st),
		     0);
	CHECK_EQ_INT(lr->n_records, 2);
	CHECK_STR(lr->records[0]->client_id, "site7");
	CHECK_STR(lr->records[1]->client_id, "site8");
	traction_reply_free(&lr->base);

	/* a reader only reads */
	CHECK_EQ_INT(publish(s_as_auditor, "weld-line-3", "k9", NULL, NULL, msg),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(msg, "the reader role may only query");

	/* unknown keys, and plain clients, never get a reply */
	traction_client_t *stranger = client(&s_stranger, 500);
	CHECK_EQ_INT(ping(stranger), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	traction_client_destroy(&stranger);
	traction_client_t *plain = client(NULL, 500);
	CHECK_EQ_INT(ping(plain), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	traction_client_destroy(&plain);
}

/* A publisher reads nothing, not even its own scenarios' feedback (a site
 * gateway has no use for it, and a stolen gateway key should not read out
 * the plant), and what it publishes outside its scenarios is refused
 * record by record while the rest of the batch goes on. */
TEST(a_publisher_reads_nothing_and_writes_only_its_scenarios)
{
	char msg[512];
	traction_status_t st;
	/* another site's feedback, there to be read */
	CHECK_EQ_INT(publish(s_as_admin, "paint-shop", "paint-1", NULL, NULL, msg), 0);

	const char *where[] = { "paint-shop", "weld-line-3" };
	for (size_t i = 0; i < 2; i++) {
		Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
		Traction__V1__StatsRequest sq = TRACTION__V1__STATS_REQUEST__INIT;
		lq.scenario_id = (char *)where[i];
		sq.supply_id = (char *)"defect-vision";
		sq.scenario_id = (char *)where[i];
		CHECK_EQ_INT(call_code(s_as_site7, "feedback", "list", &lq.base, &st),
			     TRACTION__V1__CODE__PERMISSION_DENIED);
		CHECK_CONTAINS(st.message, "the publisher role may only publish feedback");
		CHECK_EQ_INT(call_code(s_as_site7, "feedback", "stats", &sq.base, &st),
			     TRACTION__V1__CODE__PERMISSION_DENIED);
		CHECK_CONTAINS(st.message, "the publisher role may only publish feedback");
		/* the same questions are good ones: a reader gets answers */
		CHECK_EQ_INT(call_code(s_as_auditor, "feedback", "list", &lq.base, &st), 0);
		CHECK_EQ_INT(call_code(s_as_auditor, "feedback", "stats", &sq.base, &st), 0);
	}

	/* one batch, one record in scope and one outside it */
	Traction__V1__FeedbackRecord r[2], *rp[2] = { &r[0], &r[1] };
	Traction__V1__Metric m[2];
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	metric_record(&r[0], &m[0], "weld-line-3", "batch-in");
	metric_record(&r[1], &m[1], "paint-shop", "batch-out");
	req.records = rp;
	req.n_records = 2;
	CHECK_EQ_INT(traction_call(s_as_site7, "feedback", "publish", &req.base,
				   &traction__v1__publish_reply__descriptor,
				   (ProtobufCMessage **)&rep, &st),
		     0);
	CHECK_EQ_INT(rep->n_results, 2);
	CHECK_EQ_INT(rep->results[0]->status->code, 0);
	CHECK(rep->results[0]->record_id > 0);
	CHECK_EQ_INT(rep->results[1]->status->code, TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_STR(rep->results[1]->status->message,
		  "scenario_id: this publisher may not write to 'paint-shop'");
	CHECK_EQ_INT(rep->results[1]->record_id, 0);
	traction_reply_free(&rep->base);

	/* paint-shop holds the admin's record and nothing of site7's */
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *lr = NULL;
	lq.scenario_id = (char *)"paint-shop";
	CHECK_EQ_INT(traction_call(s_as_auditor, "feedback", "list", &lq.base,
				   &traction__v1__feedback_list_reply__descriptor,
				   (ProtobufCMessage **)&lr, &st),
		     0);
	CHECK_EQ_INT(lr->n_records, 1);
	CHECK_STR(lr->records[0]->client_id, "admin");
	traction_reply_free(&lr->base);
}

/* An unknown key and a plain connection are dropped in the handshake,
 * silently: whatever they send, no reply comes and nothing reaches a
 * service. The proof is in the broker's counters and the daemons' event
 * logs and positions, the same before and after (this test runs with
 * replay_interval_ms = 1 h, so no daemon's own polling moves them). */
TEST(unknown_keys_and_plain_clients_reach_nothing)
{
	char d1[2048], d2[2048], b1[2048], b2[2048];
	/* feedbackd's evidence goes out up to 250 ms after a publish, and its
	 * consumers apply it: wait until nothing moves */
	daemons_state(d1, sizeof(d1));
	for (int i = 0; i < 50; i++) {
		h_sleep_ms(600);
		daemons_state(d2, sizeof(d2));
		if (strcmp(d1, d2) == 0)
			break;
		memcpy(d1, d2, sizeof(d1));
	}
	CHECK_MSG(strcmp(d1, d2) == 0, "the daemons never went quiet: %s", d2);
	broker_state(b1, sizeof(b1));

	/* every method of the table, and a record that would be stored if it
	 * got through (without keys, the broker would make it an admin's) */
	Traction__V1__Empty empty = TRACTION__V1__EMPTY__INIT;
	Traction__V1__DeploymentAdvanceRequest force =
		TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m;
	Traction__V1__PublishRequest pub = TRACTION__V1__PUBLISH_REQUEST__INIT;
	force.deployment_id = s_dep;
	force.to = TRACTION__V1__STAGE__STAGE_SOLUTION;
	force.force = true;
	force.reason = (char *)"intruder";
	metric_record(&r, &m, "weld-line-3", "intruder");
	pub.records = &rp;
	pub.n_records = 1;
	void *zctx = zmq_ctx_new();
	peer_t intruders[2] = { { .key = &s_stranger, .what = "an unknown key" },
				{ .key = NULL, .what = "a plain connection" } };
	for (int p = 0; p < 2; p++) {
		intruders[p].dealer = peer_socket(zctx, ZMQ_DEALER, intruders[p].key, H.client_ep);
		for (size_t i = 0; i < N_ROWS; i++)
			send_request(intruders[p].dealer, s_table[i].service, s_table[i].method,
				     i + 1, s_table[i].force ? &force.base : &empty.base);
		send_request(intruders[p].dealer, "feedback", "publish", N_ROWS + 1, &pub.base);
	}
	zmq_pollitem_t items[2] = { { intruders[0].dealer, 0, ZMQ_POLLIN, 0 },
				    { intruders[1].dealer, 0, ZMQ_POLLIN, 0 } };
	/* a reply on loopback takes milliseconds; meanwhile the refused
	 * handshake is tried again and again */
	for (int waited = 0; waited < 2000; waited += 100) {
		CHECK(zmq_poll(items, 2, 100) >= 0);
		for (int p = 0; p < 2; p++)
			CHECK_MSG(!(items[p].revents & ZMQ_POLLIN), "%s got a reply",
				  intruders[p].what);
	}
	for (int p = 0; p < 2; p++)
		zmq_close(intruders[p].dealer);
	zmq_ctx_term(zctx);

	broker_state(b2, sizeof(b2));
	daemons_state(d2, sizeof(d2));
	CHECK_MSG(strcmp(b1, b2) == 0, "the broker passed something on:\n  before: %s\n  after:  %s",
		  b1, b2);
	CHECK_MSG(strcmp(d1, d2) == 0, "a daemon changed:\n  before: %s\n  after:  %s", d1, d2);
}

TEST(keys_added_and_removed_on_sighup)
{
	char path[512];
	/* SIGHUP: a key added gets in, a key removed is out, no restart */
	key_file("late", &s_late, "reader", NULL);
	snprintf(path, sizeof(path), "%s/keys/site8.key", H.dir);
	CHECK(unlink(path) == 0);
	kill(H.pids[0], SIGHUP);
	h_sleep_ms(300);
	traction_client_t *late = client(&s_late, 2000);
	CHECK_EQ_INT(ping(late), 0);
	traction_client_destroy(&late);
	traction_client_set_timeout(s_as_site8, 500);
	CHECK_EQ_INT(ping(s_as_site8), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK_EQ_INT(ping(s_as_site7), 0);
}

TEST(service_endpoints_take_only_service_keys)
{
	char msg[512];
	/* the service and event endpoints: only role = service keys */
	peer_t rogue[3] = { { .key = NULL, .what = "plain" },
			    { .key = &s_site7, .what = "a client's key" },
			    { .key = &s_svc, .what = "the service key" } };
	void *zctx = zmq_ctx_new();
	for (int i = 0; i < 3; i++) {
		rogue[i].dealer = peer_socket(zctx, ZMQ_DEALER, rogue[i].key, H.service_ep);
		rogue[i].sub = peer_socket(zctx, ZMQ_SUB, rogue[i].key, H.sub_ep);
		zmq_setsockopt(rogue[i].sub, ZMQ_SUBSCRIBE, "", 0);
	}
	h_sleep_ms(300); /* handshakes, and subscriptions up */
	/* a record a second until the service key's SUB hears the evidence
	 * roll-up (every 250 ms), for 10 s: a subscription reaches the broker
	 * some time after its handshake (the slow joiner); the others were
	 * given the same time and must have heard nothing */
	char buf[64];
	bool heard = false;
	for (int attempt = 0; attempt < 10 && !heard; attempt++) {
		char key[32];
		snprintf(key, sizeof(key), "k-events-%d", attempt);
		CHECK_EQ_INT(publish(s_as_site7, "weld-line-3", key, NULL, NULL, msg), 0);
		for (int w = 0; w < 20 && !heard; w++) {
			h_sleep_ms(50);
			heard = zmq_recv(rogue[2].sub, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0;
		}
	}
	CHECK_MSG(heard, "%s heard no event", rogue[2].what);
	for (int i = 0; i < 2; i++)
		CHECK_MSG(zmq_recv(rogue[i].sub, buf, sizeof(buf), ZMQ_DONTWAIT) < 0,
			  "%s heard an event", rogue[i].what);
	/* only the service key's READY makes an instance (which, sending no
	 * heartbeats, the broker drops again after 300 ms: look at once) */
	size_t before = instances(s_as_admin, "supply"), most = 0;
	CHECK_EQ_INT(before, 1);
	for (int i = 0; i < 3; i++)
		send_ready(rogue[i].dealer, "supply");
	for (int i = 0; i < 10; i++) {
		size_t n = instances(s_as_admin, "supply");
		most = n > most ? n : most;
		h_sleep_ms(10);
	}
	CHECK_EQ_INT(most, before + 1);
	for (int i = 0; i < 3; i++) {
		zmq_close(rogue[i].dealer);
		zmq_close(rogue[i].sub);
	}
	zmq_ctx_term(zctx);
}

/* ---- v1.1: edges and scoped readers ------------------------------------------ */

/* The ids a scenario.list answers, space-separated, or the error code. */
static int scenario_ids(traction_client_t *c, char *out, size_t cap)
{
	Traction__V1__ScenarioListRequest req = TRACTION__V1__SCENARIO_LIST_REQUEST__INIT;
	Traction__V1__ScenarioListReply *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "scenario", "list", &req.base,
				 &traction__v1__scenario_list_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	out[0] = '\0';
	for (size_t i = 0; code == 0 && i < rep->n_scenarios; i++)
		appendf(out, cap, "%s%s", i ? " " : "", rep->scenarios[i]->id);
	traction_reply_free(rep != NULL ? &rep->base : NULL);
	return code;
}

/* The scenarios of feedback.list's records (of supply, if not NULL), each
 * once, space-separated. */
static int feedback_scenarios_of(traction_client_t *c, const char *supply, char *out, size_t cap)
{
	Traction__V1__FeedbackListRequest req = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	req.supply_id = (char *)supply;
	Traction__V1__FeedbackListReply *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "feedback", "list", &req.base,
				 &traction__v1__feedback_list_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	out[0] = '\0';
	for (size_t i = 0; code == 0 && i < rep->n_records; i++)
		if (strstr(out, rep->records[i]->scenario_id) == NULL)
			appendf(out, cap, "%s%s", out[0] ? " " : "", rep->records[i]->scenario_id);
	traction_reply_free(rep != NULL ? &rep->base : NULL);
	return code;
}

static int feedback_scenarios(traction_client_t *c, char *out, size_t cap)
{
	return feedback_scenarios_of(c, NULL, out, cap);
}

TEST(an_edge_acts_for_its_users_and_for_nobody_else)
{
	char ids[512], msg[512];
	traction_status_t st;
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	CHECK_EQ_INT(h_scenario(s_as_admin, "glass-line", "Southern Glass"), 0);
	traction_client_t *gw = client(&s_gateway, 5000);
	/* on its own an edge may only ping the broker */
	CHECK_EQ_INT(ping(gw), 0);
	CHECK_EQ_INT(scenario_ids(gw, ids, sizeof(ids)), TRACTION__V1__CODE__PERMISSION_DENIED);
	/* for alice (Southern Glass): her scenarios, and nobody else's */
	CHECK_EQ_INT(traction_client_on_behalf_of(gw, "alice"), 0);
	CHECK_EQ_INT(scenario_ids(gw, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "glass-line");
	Traction__V1__IdRequest get = TRACTION__V1__ID_REQUEST__INIT;
	get.id = (char *)"weld-line-3";
	CHECK_EQ_INT(call_code(gw, "scenario", "get", &get.base, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	const Traction__V1__ErrorDetails *d = traction_last_details(gw);
	CHECK(d != NULL && d->n_details == 1);
	CHECK_STR(d->details[0]->reason, "out_of_scope");
	CHECK_STR(d->details[0]->current, "weld-line-3");
	/* alice is a reader: no writes through the edge either */
	CHECK_EQ_INT(h_scenario(gw, "alice-line", "Southern Glass"),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	/* a user the broker does not know */
	CHECK_EQ_INT(traction_client_on_behalf_of(gw, "mallory"), 0);
	CHECK_EQ_INT(call_code(gw, "scenario", "list", &e.base, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(st.message, "no such user");
	/* a key naming a user: only an edge may */
	traction_client_t *adm = client(&s_admin, 5000);
	CHECK_EQ_INT(traction_client_on_behalf_of(adm, "alice"), 0);
	CHECK_EQ_INT(call_code(adm, "scenario", "list", &e.base, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(st.message, "only an edge key may act for a user");
	traction_client_destroy(&adm);

	/* a publisher user: its identity is its own, not the edge's, and so
	 * are its idempotency keys (site7's "k1" is another record) */
	CHECK_EQ_INT(traction_client_on_behalf_of(gw, "line3"), 0);
	uint64_t id_user = 0, id_site = 0;
	bool dup = true;
	CHECK_EQ_INT(publish(gw, "weld-line-3", "k1", &id_user, &dup, msg), 0);
	CHECK(!dup);
	CHECK_EQ_INT(publish(s_as_site7, "weld-line-3", "k1", &id_site, &dup, msg), 0);
	CHECK(dup && id_site != id_user);
	CHECK_EQ_INT(publish(gw, "paint-shop", "k2", NULL, NULL, msg),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *lr = NULL;
	CHECK_EQ_INT(traction_call(s_as_admin, "feedback", "list", &lq.base,
				   &traction__v1__feedback_list_reply__descriptor,
				   (ProtobufCMessage **)&lr, &st),
		     0);
	bool found = false;
	for (size_t i = 0; i < lr->n_records; i++)
		if (lr->records[i]->id == id_user) {
			CHECK_STR(lr->records[i]->client_id, "line3");
			found = true;
		}
	CHECK(found);
	traction_reply_free(&lr->base);
	traction_client_destroy(&gw);
}

TEST(a_scoped_reader_sees_its_enterprises_part)
{
	char ids[512], msg[512];
	traction_status_t st;
	/* feedback in Southern Glass's scenario too (the admin may write to any) */
	CHECK_EQ_INT(publish(s_as_admin, "glass-line", "g1", NULL, NULL, msg), 0);
	traction_client_t *qa = client(&s_northern, 5000);
	CHECK_EQ_INT(scenario_ids(qa, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "paint-shop weld-line-3");
	CHECK_EQ_INT(feedback_scenarios(qa, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "weld-line-3 paint-shop"); /* the admin's paint-1 too, not glass-line */
	/* the unscoped reader sees both enterprises' */
	CHECK_EQ_INT(scenario_ids(s_as_auditor, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "glass-line paint-shop weld-line-3");
	CHECK_EQ_INT(feedback_scenarios(s_as_auditor, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "weld-line-3 paint-shop glass-line");
	/* the readers' feed: Northern Steel's scenario events, not Southern
	 * Glass's; the unscoped reader gets all three */
	Traction__V1__EventsReadRequest er = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	traction_client_t *who[2] = { qa, s_as_auditor };
	const char *want[2] = { "paint-shop weld-line-3", "glass-line paint-shop weld-line-3" };
	for (int k = 0; k < 2; k++) {
		Traction__V1__EventsReadReply *rr = NULL;
		CHECK_EQ_INT(traction_call(who[k], "scenario", "events.read", &er.base,
					   &traction__v1__events_read_reply__descriptor,
					   (ProtobufCMessage **)&rr, &st),
			     0);
		char seen[512] = "";
		for (size_t i = 0; i < rr->n_events; i++)
			appendf(seen, sizeof(seen), "%s ", rr->events[i]->scenario->id);
		/* sorted by the submit order: weld-line-3, paint-shop, glass-line */
		bool has[3] = { strstr(seen, "glass-line") != NULL, strstr(seen, "paint-shop") != NULL,
				strstr(seen, "weld-line-3") != NULL };
		char got[128] = "";
		const char *names[3] = { "glass-line", "paint-shop", "weld-line-3" };
		for (int i = 0; i < 3; i++)
			if (has[i])
				appendf(got, sizeof(got), "%s%s", got[0] ? " " : "", names[i]);
		CHECK_STR(got, want[k]);
		CHECK_EQ_INT(rr->next_seq, rr->head_seq + 1);
		traction_reply_free(&rr->base);
	}
	/* a provider-scoped user sees every scenario (demand is shown to
	 * providers) but only its own supplies' feedback: another provider's
	 * supply in weld-line-3 is Northern Steel's to see, not acme's */
	Traction__V1__Provider pv = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest pr = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	pv.id = (char *)"zeta";
	pv.name = (char *)"Zeta";
	pv.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	pr.provider = &pv;
	CHECK_EQ_INT(call_code(s_as_admin, "supply", "provider.register", &pr.base, &st), 0);
	char *caps[] = { (char *)"defect-detection" };
	Traction__V1__Supply su = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	su.id = (char *)"zeta-model";
	su.provider_id = (char *)"zeta";
	su.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	su.name = (char *)"Zeta";
	su.capabilities = caps;
	su.n_capabilities = 1;
	su.initial_version = (char *)"1.0";
	sr.supply = &su;
	CHECK_EQ_INT(call_code(s_as_admin, "supply", "register", &sr.base, &st), 0);
	const Traction__V1__Header *wh = traction_last_header(s_as_admin);
	CHECK(wh != NULL && wh->committed != NULL);
	/* read-your-writes: the record waits until feedbackd knows the supply */
	traction_client_t *adm = client(&s_admin, 5000);
	CHECK_EQ_INT(traction_client_after(adm, "supply", wh->committed->applied_seq), 0);
	Traction__V1__FeedbackRecord r, *rp = &r;
	Traction__V1__Metric m;
	Traction__V1__PublishRequest preq = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *prep = NULL;
	metric_record(&r, &m, "weld-line-3", "z1");
	r.supply_id = (char *)"zeta-model";
	preq.records = &rp;
	preq.n_records = 1;
	CHECK_EQ_INT(traction_call(adm, "feedback", "publish", &preq.base,
				   &traction__v1__publish_reply__descriptor,
				   (ProtobufCMessage **)&prep, &st),
		     0);
	CHECK_MSG(prep->results[0]->status == NULL || prep->results[0]->status->code == 0, "%s",
		  prep->results[0]->status->message);
	traction_reply_free(&prep->base);
	traction_client_destroy(&adm);
	traction_client_t *gw = client(&s_gateway, 5000);
	CHECK_EQ_INT(traction_client_on_behalf_of(gw, "acme-eng"), 0);
	CHECK_EQ_INT(scenario_ids(gw, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "glass-line paint-shop weld-line-3");
	CHECK_EQ_INT(feedback_scenarios(gw, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "weld-line-3 paint-shop glass-line"); /* defect-vision's, all of them */
	CHECK_EQ_INT(feedback_scenarios_of(gw, "zeta-model", ids, sizeof(ids)), 0);
	CHECK_STR(ids, ""); /* zeta's record: not acme's to see */
	CHECK_EQ_INT(feedback_scenarios_of(qa, "zeta-model", ids, sizeof(ids)), 0);
	CHECK_STR(ids, "weld-line-3"); /* but Northern Steel's */
	/* stats summed over every scenario of a supply: its provider's only */
	Traction__V1__StatsRequest sq = TRACTION__V1__STATS_REQUEST__INIT;
	sq.supply_id = (char *)"defect-vision";
	CHECK_EQ_INT(call_code(gw, "feedback", "stats", &sq.base, &st), 0);
	CHECK_EQ_INT(call_code(qa, "feedback", "stats", &sq.base, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	sq.scenario_id = (char *)"weld-line-3";
	CHECK_EQ_INT(call_code(qa, "feedback", "stats", &sq.base, &st), 0);
	traction_client_destroy(&gw);
	traction_client_destroy(&qa);
}

int main(void)
{
	/* No periodic replay: a daemon's own events.replay requests go through
	 * the broker's counters, which must stand still while the unknown key
	 * and the plain client try their luck (a consumer still asks on start
	 * and on a gap). */
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n"
		   "[events]\nreplay_interval_ms = 3600000\n");
	RUN(start_the_set_with_keys);
	RUN(each_role_may_call_what_the_table_says);
	RUN(only_listed_keys_and_their_roles);
	RUN(a_publisher_reads_nothing_and_writes_only_its_scenarios);
	RUN(unknown_keys_and_plain_clients_reach_nothing);
	RUN(keys_added_and_removed_on_sighup);
	RUN(service_endpoints_take_only_service_keys);
	RUN(an_edge_acts_for_its_users_and_for_nobody_else);
	RUN(a_scoped_reader_sees_its_enterprises_part);
	traction_client_t *cs[] = { s_as_admin, s_as_site7, s_as_site8, s_as_auditor,
				    s_as_daemons };
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		traction_client_destroy(&cs[i]);
	h_done(&H);
	DONE();
}
