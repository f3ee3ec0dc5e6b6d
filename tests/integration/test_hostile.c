/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile input to every socket of the running set: well-framed requests
 * whose bodies carry out-of-range enums, NaN and infinities, huge repeated
 * fields, very long strings and invalid UTF-8 (each gets INVALID_ARGUMENT
 * naming the field); garbage and forged events on the event bus (dropped);
 * junk to the service endpoint (dropped and counted). Afterwards every
 * daemon is up and the stores are unchanged: the same event heads, the
 * same records. Subscriptions no subscriber should send (a prefix of
 * 200 KB once crashed the broker in libzmq's trie; junk and endless new
 * prefixes) are cut off or refused, and the feed still carries events.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <zmq.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;
static const char *const s_services[] = { "supply", "scenario", "feedback", "iteration" };
#define NSERVICES 4

/* Alive means running — a zombie has died, though kill(pid, 0) says yes —
 * and answering: a ping of its service comes back OK. */
static bool alive(int i, const char *service)
{
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)H.pids[i]);
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	stat[n] = '\0';
	const char *close_paren = strrchr(stat, ')');
	if (close_paren == NULL || close_paren[1] != ' ' || close_paren[2] == 'Z' ||
	    close_paren[2] == 'X')
		return false;
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	if (traction_call(C, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
			  (ProtobufCMessage **)&p, &st) != 0)
		return false;
	traction_reply_free(&p->base);
	return true;
}

/* service's committed event head; *owed (may be NULL): whether writes
 * committed up to there still owe events (feedbackd's evidence tick) */
static uint64_t head_owed(const char *service, bool *owed)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *p = NULL;
	traction_status_t st;
	CHECK_MSG(traction_call(C, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				(ProtobufCMessage **)&p, &st) == 0,
		  "%s is down: %s", service, st.message);
	uint64_t h = p->event_head;
	if (owed != NULL)
		*owed = p->events_owed;
	traction_reply_free(&p->base);
	return h;
}

static uint64_t head(const char *service)
{
	return head_owed(service, NULL);
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

	/* iterationd's services too */
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest ir = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	it.supply_id = (char *)"defect-vision";
	it.version = (char *)"1.1";
	it.parent_version = (char *)"1.0";
	it.notes = longs;
	ir.iteration = &it;
	expect_refused(&r, "iteration", "record", &ir.base, "iteration.notes: at most 8000 bytes");
	it.notes = (char *)"ok";
	it.addresses = caps;
	it.n_addresses = MANY;
	expect_refused(&r, "iteration", "record", &ir.base, "iteration.addresses: at most 64");
	it.n_addresses = 0;
	it.version = (char *)"1.1 beta";
	expect_refused(&r, "iteration", "record", &ir.base, "iteration.version: must be");
	Traction__V1__DeploymentAdvanceRequest da = TRACTION__V1__DEPLOYMENT_ADVANCE_REQUEST__INIT;
	da.deployment_id = (char *)"dep-1";
	da.to = 42;
	expect_refused(&r, "deployment", "advance", &da.base, "to: 42 is not");
	Traction__V1__DeploymentAdoptRequest ad = TRACTION__V1__DEPLOYMENT_ADOPT_REQUEST__INIT;
	ad.scenario_id = (char *)"weld-line-3";
	ad.supply_id = (char *)"\xc3\x28";
	ad.version = (char *)"1.0";
	expect_refused(&r, "deployment", "adopt", &ad.base, "supply_id");
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
	/* in sequence, but with a NUL inside a string: the consumers' string
	 * check drops it (decoded, "forged\0x" would be supply "forged") */
	s.id = (char *)"forged#x";
	ev.seq = head("supply") + 1;
	len = traction__v1__event__pack(&ev, buf);
	*(uint8_t *)memchr(buf, '#', len) = '\0';
	zmq_send(pub, "supply.registered", 17, ZMQ_SNDMORE);
	zmq_send(pub, buf, len, 0);
	h_sleep_ms(500);
	zmq_close(pub);
	zmq_ctx_term(ctx);

	Traction__V1__FeedbackRecord rec, *rp = &rec;
	Traction__V1__Metric m;
	Traction__V1__PublishRequest pr = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	record(&rec, &m);
	rec.supply_id = (char *)"forged";
	rec.version = (char *)"6.6";
	pr.records = &rp;
	pr.n_records = 1;
	CHECK_EQ_INT(traction_call(C, "feedback", "publish", &pr.base,
				   &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep,
				   &st),
		     0);
	CHECK_MSG(rep->results[0]->status->code == TRACTION__V1__CODE__NOT_FOUND,
		  "a forged event's supply is known to feedbackd: code %d",
		  rep->results[0]->status->code);
	traction_reply_free(&rep->base);
}

/* A Header built by hand, so that its strings may hold what protobuf-c's
 * packer cannot (a NUL): version, kind REQUEST, service, method, id, and
 * client_name as filler. */
static size_t raw_header(uint8_t *buf, uint32_t version, const void *service, size_t slen,
			 const char *method, uint64_t id, size_t filler)
{
	size_t n = 0;
	buf[n++] = 1 << 3;
	n += trc_varint_put(buf + n, version);
	buf[n++] = 2 << 3;
	buf[n++] = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	buf[n++] = 3 << 3 | 2;
	n += trc_varint_put(buf + n, slen);
	memcpy(buf + n, service, slen);
	n += slen;
	buf[n++] = 4 << 3 | 2;
	n += trc_varint_put(buf + n, strlen(method));
	memcpy(buf + n, method, strlen(method));
	n += strlen(method);
	buf[n++] = 5 << 3;
	n += trc_varint_put(buf + n, id);
	if (filler > 0) {
		buf[n++] = 8 << 3 | 2;
		n += trc_varint_put(buf + n, filler);
		memset(buf + n, 'f', filler);
		n += filler;
	}
	return n;
}

/* Sends frames as they are and reads the reply's header: its request id
 * and status must be `id` and `code`, its message well-formed UTF-8
 * containing `why`. */
static void expect_reply(raw_t *r, const trc_frame_t *f, int nf, uint64_t id, int code,
			 const char *why)
{
	trc_send(r->sock, f, nf, 0);
	void *body = NULL;
	size_t blen = 0;
	Traction__V1__Header *h = raw_reply(r, 5000, &body, &blen);
	CHECK_MSG(h != NULL, "no reply, or one whose header a strict parser refuses (%s)", why);
	CHECK(h->status != NULL);
	CHECK_MSG(h->request_id == id, "request id %llu, wanted %llu (%s)",
		  (unsigned long long)h->request_id, (unsigned long long)id, h->status->message);
	CHECK_MSG((int)h->status->code == code, "code %d (%s), wanted %d", h->status->code,
		  h->status->message, code);
	CHECK(trc_is_utf8(h->status->message, strlen(h->status->message)));
	CHECK_CONTAINS(h->status->message, why);
	protobuf_c_message_free_unpacked(&h->base, NULL);
	free(body);
}

/* protobuf-c decodes a string up to its first NUL: "feedback\0x" used to
 * reach feedbackd, "K\0a" and "K\0b" both became key "K". Every string
 * of every message is checked in its bytes, and what a reply quotes is
 * well-formed UTF-8. */
TEST(strings_checked_in_their_bytes)
{
	raw_t r;
	raw_open(&r, H.client_ep);
	uint8_t hb[4096];
	size_t hl = raw_header(hb, 1, "feedback\0x", 10, "list", 71, 0);
	trc_frame_t f[3] = { { hb, hl }, { "", 0 }, { "", 0 } };
	expect_reply(&r, f, 2, 71, TRACTION__V1__CODE__INVALID_ARGUMENT,
		     "header.service: contains a NUL byte");
	f[0].len = hl = raw_header(hb, 1, "supply", 6, "get", 72, 0);
	hb[hl - 3] = 0xff; /* "g\xfft" as the method */
	expect_reply(&r, f, 2, 72, TRACTION__V1__CODE__INVALID_ARGUMENT,
		     "header.method: not valid UTF-8");
	/* a name cut at 64 bytes in the middle of a character: the reply
	 * still parses */
	char svc[81];
	for (int i = 0; i < 40; i++)
		memcpy(svc + 2 * i, "\xc3\xa9", 2);
	svc[80] = '\0';
	f[0].len = hl = raw_header(hb, 1, svc + 1, 79, "get", 73, 0);
	expect_reply(&r, f, 2, 73, TRACTION__V1__CODE__INVALID_ARGUMENT, "not valid UTF-8");
	f[0].len = hl = raw_header(hb, 1, "\xc3\xa9\xc3\xa9", 4, "get", 74, 0);
	expect_reply(&r, f, 2, 74, TRACTION__V1__CODE__NOT_FOUND, "no service named");
	svc[1] = 'a'; /* "a" and 39 of them: 64 bytes end mid-character */
	f[0].len = hl = raw_header(hb, 1, svc + 1, 79, "get", 75, 0);
	expect_reply(&r, f, 2, 75, TRACTION__V1__CODE__NOT_FOUND, "no service named");

	/* the request id is echoed whenever the header has one */
	f[0].len = hl = raw_header(hb, 1, "supply", 6, "get", 76, 0);
	expect_reply(&r, f, 3, 76, TRACTION__V1__CODE__INVALID_ARGUMENT, "two frames");
	f[0].len = hl = raw_header(hb, 3, "supply", 6, "get", 77, 0);
	expect_reply(&r, f, 2, 77, TRACTION__V1__CODE__INVALID_ARGUMENT, "version");
	f[0].len = hl = raw_header(hb, 1, "supply", 6, "get", 78, 2000);
	expect_reply(&r, f, 2, 78, TRACTION__V1__CODE__INVALID_ARGUMENT, "too large");

	/* strings inside the body, named by their path */
	Traction__V1__FeedbackRecord rec, *rp = &rec;
	Traction__V1__Metric m;
	Traction__V1__KeyValue l0 = TRACTION__V1__KEY_VALUE__INIT, l1 = l0, *ls[2] = { &l0, &l1 };
	Traction__V1__PublishRequest pub = TRACTION__V1__PUBLISH_REQUEST__INIT;
	record(&rec, &m);
	rec.idempotency_key = (char *)"K#a";
	pub.records = &rp;
	pub.n_records = 1;
	uint8_t body[512];
	size_t bl = traction__v1__publish_request__pack(&pub, body);
	*(uint8_t *)memchr(body, '#', bl) = '\0';
	f[0].len = hl = raw_header(hb, 1, "feedback", 8, "publish", 79, 0);
	f[1] = (trc_frame_t){ body, bl };
	expect_reply(&r, f, 2, 79, TRACTION__V1__CODE__INVALID_ARGUMENT,
		     "records[0].idempotency_key: contains a NUL byte");
	rec.idempotency_key = (char *)"";
	rec.scenario_id = (char *)"weld-line-3#junk";
	bl = traction__v1__publish_request__pack(&pub, body);
	*(uint8_t *)memchr(body, '#', bl) = '\0';
	f[1] = (trc_frame_t){ body, bl };
	expect_reply(&r, f, 2, 79, TRACTION__V1__CODE__INVALID_ARGUMENT,
		     "records[0].scenario_id: contains a NUL byte");
	rec.scenario_id = (char *)"weld-line-3";
	l0.key = (char *)"line";
	l0.value = (char *)"3";
	l1.key = (char *)"shift";
	l1.value = (char *)"night#";
	rec.labels = ls;
	rec.n_labels = 2;
	bl = traction__v1__publish_request__pack(&pub, body);
	*(uint8_t *)memchr(body, '#', bl) = 0xc3; /* a character cut short */
	f[1] = (trc_frame_t){ body, bl };
	expect_reply(&r, f, 2, 79, TRACTION__V1__CODE__INVALID_ARGUMENT,
		     "records[0].labels[1].value: not valid UTF-8");
	raw_close(&r);
}

/* A READY whose name holds a newline does not forge a line of the
 * broker's log (names from the wire are escaped). */
TEST(log_lines_cannot_be_forged)
{
	raw_t r;
	raw_open(&r, H.service_ep);
	uint8_t hb[256];
	size_t n = 0;
	const char name[] = "evil\n2026-01-01T00:00:00.000Z broker info: forged";
	hb[n++] = 1 << 3;
	hb[n++] = 1;
	hb[n++] = 2 << 3;
	hb[n++] = TRACTION__V1__FRAME_KIND__FRAME_READY;
	hb[n++] = 3 << 3 | 2;
	hb[n++] = (uint8_t)(sizeof(name) - 1);
	memcpy(hb + n, name, sizeof(name) - 1);
	n += sizeof(name) - 1;
	trc_frame_t f[1] = { { hb, n } };
	trc_send(r.sock, f, 1, 0);
	char path[512], line[2048];
	snprintf(path, sizeof(path), "%s/broker.0.log", H.dir);
	bool refused = false;
	/* until the broker has logged the refusal (5 s), every line read */
	for (int waited = 0; !refused && waited < 5000; waited += 50) {
		h_sleep_ms(50);
		FILE *log = fopen(path, "r");
		CHECK(log != NULL);
		while (fgets(line, sizeof(line), log) != NULL) {
			CHECK_MSG(strstr(line, "forged") == NULL || strstr(line, "evil\\x0a") != NULL,
				  "a forged log line: %s", line);
			refused |= strstr(line, "refused a registration for service 'evil\\x0a") != NULL;
		}
		fclose(log);
	}
	raw_close(&r);
	CHECK_MSG(refused, "the refusal was not logged");
}

static Traction__V1__BrokerCounters *counters(Traction__V1__BrokerStatusReply **rep)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	traction_status_t st;
	CHECK_MSG(traction_call(C, "broker", "status", &e.base,
				&traction__v1__broker_status_reply__descriptor,
				(ProtobufCMessage **)rep, &st) == 0,
		  "broker status: %s", st.message);
	return (*rep)->counters;
}

static uint64_t refused_subscriptions(void)
{
	Traction__V1__BrokerStatusReply *rep = NULL;
	uint64_t n = counters(&rep)->subscriptions_refused;
	traction_reply_free(&rep->base);
	return n;
}

TEST(hostile_subscriptions)
{
	/* 200 KB: libzmq cuts the peer off at the message size bound, before
	 * its subscription trie sees it (the broker once died of this) */
	size_t big = 200 * 1024;
	char *p = malloc(big);
	memset(p, 'a', big);
	CHECK_EQ_INT(raw_zmtp_subscribe(H.sub_ep, p, big, 2000), 1);
	CHECK_MSG(alive(0, "broker"), "the broker died of a long subscription");
	/* 1000 bytes of a topic's letters pass the size bound, not the
	 * broker's: a topic prefix is at most 128 bytes */
	uint64_t before = refused_subscriptions();
	CHECK_EQ_INT(raw_zmtp_subscribe(H.sub_ep, p, 1000, 500), 0);
	CHECK_EQ_INT(raw_zmtp_subscribe(H.sub_ep, "supply.\n", 8, 500), 0);
	CHECK_EQ_INT(refused_subscriptions(), before + 2);
	free(p);

	/* endless new prefixes: past max_subscriptions_per_peer (32 here;
	 * the daemons hold a few as the same anonymous peer) each is refused */
	void *ctx = zmq_ctx_new();
	void *sub = zmq_socket(ctx, ZMQ_SUB);
	int linger = 0;
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	CHECK(zmq_connect(sub, H.sub_ep) == 0);
	for (int i = 0; i < 100; i++) {
		char t[16];
		int n = snprintf(t, sizeof(t), "x%d", i);
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, t, (size_t)n);
	}
	uint64_t refused = 0;
	for (int i = 0; i < 50 && refused < 68; i++) {
		h_sleep_ms(50);
		refused = refused_subscriptions() - before - 2;
	}
	CHECK_MSG(refused >= 68 && refused < 100, "%llu of 100 refused",
		  (unsigned long long)refused);
	Traction__V1__BrokerStatusReply *rep = NULL;
	counters(&rep);
	CHECK(rep->subscriptions <= 32);
	traction_reply_free(&rep->base);
	zmq_close(sub);
	zmq_ctx_term(ctx);
}

/* After everything: a prefix the daemons hold still gets its events. A
 * SUB's subscription reaches the broker some time after its connect (the
 * slow joiner), so a provider is registered each second until one's event
 * comes, for 10 s. */
static void feed_still_carries_events(void)
{
	void *ctx = zmq_ctx_new();
	void *sub = zmq_socket(ctx, ZMQ_SUB);
	int linger = 0, rcvtimeo = 1000;
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sub, ZMQ_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "provider.", 9);
	CHECK(zmq_connect(sub, H.sub_ep) == 0);
	char topic[64];
	int n = -1;
	for (int attempt = 0; attempt < 10 && n <= 0; attempt++) {
		Traction__V1__Provider pv = TRACTION__V1__PROVIDER__INIT;
		Traction__V1__ProviderRegisterRequest rq = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
		Traction__V1__ProviderReply *pr = NULL;
		traction_status_t st;
		char id[32];
		snprintf(id, sizeof(id), "after-the-storm-%d", attempt);
		pv.id = id;
		pv.name = (char *)"After";
		pv.kind = 1;
		rq.provider = &pv;
		CHECK_MSG(traction_call(C, "supply", "provider.register", &rq.base,
					&traction__v1__provider_reply__descriptor,
					(ProtobufCMessage **)&pr, &st) == 0,
			  "%s", st.message);
		traction_reply_free(&pr->base);
		n = zmq_recv(sub, topic, sizeof(topic) - 1, 0);
	}
	CHECK_MSG(n > 0, "no event on the feed after the hostile subscribers");
	topic[n] = '\0';
	CHECK_STR(topic, "provider.registered");
	zmq_close(sub);
	zmq_ctx_term(ctx);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\nmax_message_kb = 8192\n"
		   "[broker]\nmax_subscriptions_per_peer = 32\n"
		   "[events]\nreplay_interval_ms = 200\n");
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < NSERVICES; i++)
		h_start(&H, d[i], NULL);
	for (int i = 0; i < NSERVICES; i++)
		CHECK(h_wait_live(&H, s_services[i], 1, 5000));
	C = h_client(&H);
	h_catalogue(C, NULL);
	h_wait_feedback_ready(C, "weld-line-3");
	/* the evidence event of the good record goes out (at feedbackd's
	 * next tick): nothing owed, or a later event would move its head */
	bool owed = true;
	for (int i = 0; i < 400 && owed; i++) {
		head_owed("feedback", &owed);
		if (owed)
			h_sleep_ms(25);
	}
	CHECK_MSG(!owed, "feedbackd still owes its evidence after 10 s");
	uint64_t heads[NSERVICES];
	for (int i = 0; i < NSERVICES; i++)
		heads[i] = head(s_services[i]);
	size_t n = records();

	RUN(hostile_bodies_refused_by_field);
	RUN(garbage_and_forged_events_dropped);
	RUN(hostile_subscriptions);
	RUN(strings_checked_in_their_bytes);
	RUN(log_lines_cannot_be_forged);

	/* everyone up, nothing changed */
	for (int i = 0; i < NSERVICES; i++)
		CHECK_EQ_INT(head(s_services[i]), heads[i]);
	CHECK_EQ_INT(records(), n);
	CHECK_MSG(alive(0, "broker"), "the broker died");
	for (int i = 0; i < NSERVICES; i++)
		CHECK_MSG(alive(i + 1, s_services[i]), "%s died or does not answer", H.names[i + 1]);
	feed_still_carries_events();
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
