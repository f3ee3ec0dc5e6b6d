/*
 * Hostile input to every socket of the running set: well-framed requests
 * whose bodies carry out-of-range enums, NaN and infinities, huge repeated
 * fields, very long strings and invalid UTF-8 (each gets INVALID_ARGUMENT
 * naming the field); garbage and forged events on the event bus (dropped);
 * junk to the service endpoint (dropped and counted). Afterwards every
 * daemon is up and the stores are unchanged: the same event heads, the
 * same records.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <zmq.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;
static const char *const s_services[] = { "supply", "scenario", "feedback" };

static uint64_t head(const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	CHECK_MSG(traction_call(C, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				(ProtobufCMessage **)&p, &st) == 0,
		  "%s is down: %s", service, st.message);
	uint64_t h = p->event_head;
	traction_reply_free(&p->base);
	return h;
}

static size_t records(void)
{
	Traction__V1__FeedbackListRequest q = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *r = NULL;
	traction_status_t st;
	CHECK_EQ_INT(traction_call(C, "feedback", "list", &q.base,
				   &traction__v1__feedback_list_reply__descriptor, (ProtobufCMessage **)&r,
				   &st),
		     0);
	size_t n = r->n_records;
	traction_reply_free(&r->base);
	return n;
}

/* Sends service.method with body msg on a raw socket; expects an error
 * reply whose status (or, for publish, first record's status) is
 * INVALID_ARGUMENT and whose message contains `why`. */
static void expect_refused(raw_t *r, const char *service, const char *method,
			   const ProtobufCMessage *msg, const char *why)
{
	static uint64_t id = 1000;
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len + 1);
	protobuf_c_message_pack(msg, buf);
	raw_request(r, service, method, ++id, buf, len);
	free(buf);
	void *body = NULL;
	size_t blen = 0;
	Traction__V1__Header *h = raw_reply(r, 5000, &body, &blen);
	CHECK_MSG(h != NULL, "%s.%s: no reply", service, method);
	CHECK_EQ_INT(h->request_id, id);
	int code = h->status != NULL ? h->status->code : 0;
	const char *message = h->status != NULL ? h->status->message : "";
	Traction__V1__PublishReply *pr = NULL;
	if (code == 0 && strcmp(method, "publish") == 0) {
		pr = traction__v1__publish_reply__unpack(NULL, blen, body);
		CHECK(pr != NULL && pr->n_results >= 1);
		code = pr->results[0]->status->code;
		message = pr->results[0]->status->message;
	}
	CHECK_MSG(code == TRACTION__V1__CODE__INVALID_ARGUMENT, "%s.%s: code %d (%s), wanted %s",
		  service, method, code, message, why);
	CHECK_CONTAINS(message, why);
	if (pr != NULL)
		traction__v1__publish_reply__free_unpacked(pr, NULL);
	protobuf_c_message_free_unpacked(&h->base, NULL);
	free(body);
}

static void record(Traction__V1__FeedbackRecord *r, Traction__V1__Metric *m)
{
	traction__v1__feedback_record__init(r);
	traction__v1__metric__init(m);
	r->scenario_id = (char *)"weld-line-3";
	r->supply_id = (char *)"defect-vision";
	r->version = (char *)"1.0";
	m->name = (char *)"defect_rate";
	m->value = 0.03;
	r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r->metric = m;
}

TEST(hostile_bodies_refused_by_field)
{
	raw_t r;
	raw_open(&r, H.client_ep);
	Traction__V1__FeedbackRecord rec, *rp = &rec;
	Traction__V1__Metric m;
	Traction__V1__PublishRequest pub = TRACTION__V1__PUBLISH_REQUEST__INIT;
	pub.records = &rp;
	pub.n_records = 1;

	record(&rec, &m);
	m.value = NAN;
	expect_refused(&r, "feedback", "publish", &pub.base, "metric.value: must be a finite number");
	m.value = INFINITY;
	expect_refused(&r, "feedback", "publish", &pub.base, "metric.value");
	m.value = -INFINITY;
	expect_refused(&r, "feedback", "publish", &pub.base, "metric.value");
	m.value = 0.03;

	Traction__V1__Problem p = TRACTION__V1__PROBLEM__INIT;
	rec.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
	rec.problem = &p;
	p.severity = 99; /* out of range */
	p.title = (char *)"x";
	expect_refused(&r, "feedback", "publish", &pub.base, "problem.severity: 99 is not");
	p.severity = -5;
	expect_refused(&r, "feedback", "publish", &pub.base, "problem.severity");
	p.severity = 4;
	p.title = (char *)"bad \xc3\x28 utf8";
	expect_refused(&r, "feedback", "publish", &pub.base, "problem.title: not valid UTF-8");
	char *longs = malloc(200001);
	memset(longs, 'a', 200000);
	longs[200000] = '\0';
	p.title = longs;
	expect_refused(&r, "feedback", "publish", &pub.base, "problem.title: at most 200 bytes");

	/* huge repeated fields */
	enum { MANY = 20000 };
	Traction__V1__FeedbackRecord **many = calloc(MANY, sizeof(*many));
	record(&rec, &m);
	for (int i = 0; i < MANY; i++)
		many[i] = &rec;
	pub.records = many;
	pub.n_records = MANY;
	expect_refused(&r, "feedback", "publish", &pub.base, "records: at most 10000 in one request");
	pub.records = &rp;
	pub.n_records = 1;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	char **caps = calloc(MANY, sizeof(char *));
	for (int i = 0; i < MANY; i++)
		caps[i] = (char *)"cap";
	s.id = (char *)"big";
	s.provider_id = (char *)"acme";
	s.kind = 3;
	s.name = (char *)"Big";
	s.initial_version = (char *)"1.0";
	s.capabilities = caps;
	s.n_capabilities = MANY;
	sr.supply = &s;
	expect_refused(&r, "supply", "register", &sr.base, "supply.capabilities: at most 64 entries");
	s.n_capabilities = 0;
	s.kind = 1000;
	expect_refused(&r, "supply", "register", &sr.base, "supply.kind: 1000 is not");
	s.kind = 3;
	s.name = longs;
	expect_refused(&r, "supply", "register", &sr.base, "supply.name: at most 200 bytes");
	s.name = (char *)"\xff\xfe";
	expect_refused(&r, "supply", "register", &sr.base, "supply.name: not valid UTF-8");

	Traction__V1__Scenario sc = TRACTION__V1__SCENARIO__INIT;
	Traction__V1__ScenarioSubmitRequest ss = TRACTION__V1__SCENARIO_SUBMIT_REQUEST__INIT;
	Traction__V1__Demand d = TRACTION__V1__DEMAND__INIT, *dp = &d;
	Traction__V1__TargetMetric t = TRACTION__V1__TARGET_METRIC__INIT, *tp = &t;
	t.metric = (char *)"defect_rate";
	t.comparison = 3;
	t.threshold = NAN;
	d.targets = &tp;
	d.n_targets = 1;
	sc.id = (char *)"evil";
	sc.enterprise = (char *)"E";
	sc.domain = 2;
	sc.name = (char *)"n";
	sc.demands = &dp;
	sc.n_demands = 1;
	ss.scenario = &sc;
	expect_refused(&r, "scenario", "submit", &ss.base,
		       "scenario.demands[0].targets[0].threshold: must be a finite number");
	t.threshold = 0.1;
	t.comparison = 77;
	expect_refused(&r, "scenario", "submit", &ss.base, "comparison: 77 is not");
	raw_close(&r);
	free(longs);
	free(many);
	free(caps);
}

TEST(garbage_and_forged_events_dropped)
{
	void *ctx = zmq_ctx_new();
	void *pub = zmq_socket(ctx, ZMQ_PUB);
	int linger = 0;
	zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof(linger));
	CHECK(zmq_connect(pub, H.pub_ep) == 0);
	h_sleep_ms(300); /* let the connection come up */
	const char *topics[] = { "supply.registered", "scenario.submitted", "iteration.recorded",
				 "feedback.evidence" };
	for (int i = 0; i < 200; i++) {
		const char *topic = topics[i % 4];
		uint8_t junk[128];
		size_t n = (size_t)(rand() % (int)sizeof(junk));
		for (size_t k = 0; k < n; k++)
			junk[k] = (uint8_t)rand();
		zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE);
		zmq_send(pub, junk, n, 0);
		zmq_send(pub, topic, strlen(topic), 0); /* one frame only */
	}
	/* well-formed but forged: far ahead of any real sequence (a gap the
	 * consumers check with the source, which has no such event) */
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = (char *)"forged";
	s.initial_version = (char *)"6.6";
	s.status = 1;
	ev.source = (char *)"supply";
	ev.seq = 1000000;
	ev.type = (char *)"supply.registered";
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	uint8_t buf[512];
	size_t len = traction__v1__event__pack(&ev, buf);
	zmq_send(pub, "supply.registered", 17, ZMQ_SNDMORE);
	zmq_send(pub, buf, len, 0);
	h_sleep_ms(500);
	zmq_close(pub);
	zmq_ctx_term(ctx);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nmax_message_kb = 8192\n"
		   "[events]\nreplay_interval_ms = 200\n");
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd" };
	for (int i = 0; i < 3; i++)
		h_start(&H, d[i], NULL);
	for (int i = 0; i < 3; i++)
		CHECK(h_wait_live(&H, s_services[i], 1, 5000));
	C = h_client(&H);
	h_catalogue(C, NULL);
	h_wait_feedback_ready(C, "weld-line-3");
	h_sleep_ms(600); /* the evidence event of the good record goes out */
	uint64_t heads[3];
	for (int i = 0; i < 3; i++)
		heads[i] = head(s_services[i]);
	size_t n = records();

	RUN(hostile_bodies_refused_by_field);
	RUN(garbage_and_forged_events_dropped);

	/* everyone up, nothing changed */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(head(s_services[i]), heads[i]);
	CHECK_EQ_INT(records(), n);
	for (int i = 1; i < H.n; i++)
		CHECK_MSG(kill(H.pids[i], 0) == 0, "%s died", H.names[i]);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
