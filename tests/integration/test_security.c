/*
 * Who gets in, over real CurveZMQ: only keys listed in the keys directory
 * connect; each key's role bounds what it may call (a publisher writes only
 * to its scenarios, a reader only queries); the identity is recorded with
 * each feedback record and scopes idempotency keys; unknown keys and plain
 * clients never get a reply; adding and removing a key takes effect on
 * SIGHUP, without a restart. The daemons themselves connect with a key of
 * role = service (service_curve = 1): on the service and event endpoints
 * a plain peer, or one with a client's key, registers nothing and hears no
 * event, while the service key does both.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zmq.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static char s_server_pub[41];

typedef struct {
	char pub[41], sec[41];
} pair_t;

static pair_t s_admin, s_site7, s_site8, s_auditor, s_stranger, s_late, s_svc;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
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

/* Publishes one metric; returns the record's status code (or the call's). */
static int publish(traction_client_t *c, const char *scenario, const char *key, uint64_t *id,
		   bool *dup, char *msg)
{
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
	Traction__V1__PublishReply *rep = NULL;
	traction_status_t st;
	m.name = (char *)"defect_rate";
	m.value = 0.03;
	r.scenario_id = (char *)scenario;
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.idempotency_key = (char *)key;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
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

static size_t instances(traction_client_t *admin, const char *service)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *sr = NULL;
	traction_status_t st;
	size_t n = 0;
	CHECK_EQ_INT(traction_call(admin, "broker", "status", &e.base,
				   &traction__v1__broker_status_reply__descriptor,
				   (ProtobufCMessage **)&sr, &st),
		     0);
	for (size_t k = 0; k < sr->n_services; k++)
		if (strcmp(sr->services[k]->name, service) == 0)
			n = sr->services[k]->n_instances;
	traction_reply_free(&sr->base);
	return n;
}

TEST(only_listed_keys_and_their_roles)
{
	char path[512], text[256], server_sec[41];
	CHECK_EQ_INT(zmq_curve_keypair(s_server_pub, server_sec), 0);
	pair_t *all[] = { &s_admin, &s_site7, &s_site8, &s_auditor, &s_stranger, &s_late, &s_svc };
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
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd" };
	for (int i = 0; i < 3; i++)
		h_start(&H, d[i], NULL);
	/* (h_wait_live's plain client cannot get in: ask as the admin) */
	traction_client_t *admin = client(&s_admin, 5000);
	size_t live = 0;
	for (int i = 0; i < 250 && live < 3; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__BrokerStatusReply *sr = NULL;
		traction_status_t st0;
		live = 0;
		if (traction_call(admin, "broker", "status", &e.base,
				  &traction__v1__broker_status_reply__descriptor, (ProtobufCMessage **)&sr,
				  &st0) == 0) {
			for (size_t k = 0; k < sr->n_services; k++)
				live += sr->services[k]->n_instances > 0;
			traction_reply_free(&sr->base);
		}
		if (live < 3)
			h_sleep_ms(20);
	}
	CHECK_EQ_INT(live, 3);
	static const char *const scenarios[] = { "weld-line-3", "paint-shop", NULL };
	h_catalogue(admin, scenarios);

	/* a publisher writes to its scenario, and only there */
	traction_client_t *site7 = client(&s_site7, 5000);
	char msg[512];
	uint64_t id7 = 0, id8 = 0;
	bool dup = false;
	int code = -1;
	for (int i = 0; i < 200 && code != 0; i++) {
		code = publish(site7, "weld-line-3", "k1", &id7, &dup, msg);
		if (code != 0)
			h_sleep_ms(25); /* until feedbackd knows the scenario */
	}
	CHECK_MSG(code == 0, "%s", msg);
	CHECK_EQ_INT(publish(site7, "paint-shop", "k2", NULL, NULL, msg),
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
	CHECK_EQ_INT(traction_call(site7, "supply", "provider.register", &pr.base,
				   &traction__v1__provider_reply__descriptor, &rep, &st),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(st.message, "the publisher role may only publish feedback");

	/* idempotency keys are per client: site8's "k1" is its own record */
	traction_client_t *site8 = client(&s_site8, 5000);
	CHECK_EQ_INT(publish(site8, "weld-line-3", "k1", &id8, &dup, msg), 0);
	CHECK(!dup && id8 != id7);
	CHECK_EQ_INT(publish(site7, "weld-line-3", "k1", &id8, &dup, msg), 0);
	CHECK(dup && id8 == id7);

	/* the identity is recorded with the record */
	traction_client_t *auditor = client(&s_auditor, 5000);
	Traction__V1__FeedbackListRequest lq = TRACTION__V1__FEEDBACK_LIST_REQUEST__INIT;
	Traction__V1__FeedbackListReply *lr = NULL;
	CHECK_EQ_INT(traction_call(auditor, "feedback", "list", &lq.base,
				   &traction__v1__feedback_list_reply__descriptor,
				   (ProtobufCMessage **)&lr, &st),
		     0);
	CHECK_EQ_INT(lr->n_records, 2);
	CHECK_STR(lr->records[0]->client_id, "site7");
	CHECK_STR(lr->records[1]->client_id, "site8");
	traction_reply_free(&lr->base);

	/* a reader only reads */
	CHECK_EQ_INT(publish(auditor, "weld-line-3", "k9", NULL, NULL, msg),
		     TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_CONTAINS(msg, "the reader role may only query");

	/* unknown keys, and plain clients, never get a reply */
	traction_client_t *stranger = client(&s_stranger, 500);
	CHECK_EQ_INT(ping(stranger), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	traction_client_t *plain = client(NULL, 500);
	CHECK_EQ_INT(ping(plain), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	traction_client_destroy(&plain);

	/* SIGHUP: a key added gets in, a key removed is out, no restart */
	key_file("late", &s_late, "reader", NULL);
	snprintf(path, sizeof(path), "%s/keys/site8.key", H.dir);
	CHECK(unlink(path) == 0);
	kill(H.pids[0], SIGHUP);
	h_sleep_ms(300);
	traction_client_t *late = client(&s_late, 2000);
	CHECK_EQ_INT(ping(late), 0);
	traction_client_set_timeout(site8, 500);
	CHECK_EQ_INT(ping(site8), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK_EQ_INT(ping(site7), 0);

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
	CHECK_EQ_INT(publish(site7, "weld-line-3", "k-events", NULL, NULL, msg), 0);
	h_sleep_ms(800); /* the evidence roll-up goes out every 250 ms */
	for (int i = 0; i < 3; i++) {
		char buf[64];
		int got = zmq_recv(rogue[i].sub, buf, sizeof(buf), ZMQ_DONTWAIT);
		if (rogue[i].key == &s_svc)
			CHECK_MSG(got >= 0, "%s heard no event", rogue[i].what);
		else
			CHECK_MSG(got < 0, "%s heard an event", rogue[i].what);
	}
	/* only the service key's READY makes an instance (which, sending no
	 * heartbeats, the broker drops again after 300 ms: look at once) */
	size_t before = instances(admin, "supply"), most = 0;
	CHECK_EQ_INT(before, 1);
	for (int i = 0; i < 3; i++)
		send_ready(rogue[i].dealer, "supply");
	for (int i = 0; i < 10; i++) {
		size_t n = instances(admin, "supply");
		most = n > most ? n : most;
		h_sleep_ms(10);
	}
	CHECK_EQ_INT(most, before + 1);
	for (int i = 0; i < 3; i++) {
		zmq_close(rogue[i].dealer);
		zmq_close(rogue[i].sub);
	}
	zmq_ctx_term(zctx);

	traction_client_t *cs[] = { admin, site7, site8, auditor, stranger, late };
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		traction_client_destroy(&cs[i]);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	RUN(only_listed_keys_and_their_roles);
	h_done(&H);
	DONE();
}
