/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker and the daemon set over real sockets: all four daemons come up
 * and answer ping; routing errors are answered by the broker; many requests
 * in flight on one connection; balancing over several instances; an
 * instance that stops answering is dropped and its requests answered
 * UNAVAILABLE; a restarted broker is found again by services and clients
 * without restarting them; malformed frames get an error reply or a
 * counted drop and the broker stays up; SIGTERM stops every daemon cleanly.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

static harness_t H;
static const char *const s_daemons[] = { "traction-supplyd", "traction-scenariod",
					 "traction-feedbackd", "traction-iterationd" };
static const char *const s_services[] = { "supply", "scenario", "feedback", "iteration",
					  "deployment" };
static pid_t s_pids[4];

static Traction__V1__PingReply *ping(traction_client_t *c, const char *service, int *code)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__PingReply *rep = NULL;
	traction_status_t st;
	*code = traction_call(c, service, "ping", &req.base, &traction__v1__ping_reply__descriptor,
			      (ProtobufCMessage **)&rep, &st);
	return rep;
}

static Traction__V1__BrokerStatusReply *status(traction_client_t *c)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "broker", "status", &req.base,
				 &traction__v1__broker_status_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	CHECK_MSG(code == 0, "broker status: %s", st.message);
	return rep;
}

TEST(set_comes_up_and_answers)
{
	h_start_broker(&H, false);
	for (int i = 0; i < 4; i++)
		s_pids[i] = h_start(&H, s_daemons[i], NULL);
	for (int i = 0; i < 5; i++)
		CHECK_MSG(h_wait_live(&H, s_services[i], 1, 5000), "%s not live", s_services[i]);

	traction_client_t *c = h_client(&H);
	for (int i = 0; i < 5; i++) {
		int code;
		Traction__V1__PingReply *p = ping(c, s_services[i], &code);
		CHECK_EQ_INT(code, 0);
		CHECK_CONTAINS(p->daemon, "traction-");
		CHECK(p->pid > 0);
		traction_reply_free(&p->base);
	}
	/* iterationd serves two services from one process */
	int code;
	Traction__V1__PingReply *a = ping(c, "iteration", &code);
	Traction__V1__PingReply *b = ping(c, "deployment", &code);
	CHECK_EQ_INT(a->pid, b->pid);
	CHECK_STR(a->daemon, "traction-iterationd");
	/* scenariod consumes supply, iteration and feedback events */
	Traction__V1__PingReply *s = ping(c, "scenario", &code);
	CHECK_EQ_INT(s->n_positions, 3);
	traction_reply_free(&a->base);
	traction_reply_free(&b->base);
	traction_reply_free(&s->base);

	Traction__V1__BrokerStatusReply *st = status(c);
	CHECK_EQ_INT(st->n_services, 5);
	for (size_t i = 0; i < st->n_services; i++)
		CHECK_EQ_INT(st->services[i]->n_instances, 1);
	traction_reply_free(&st->base);
	traction_client_destroy(&c);
}

TEST(broker_answers_what_it_cannot_route)
{
	traction_client_t *c = h_client(&H);
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	CHECK_EQ_INT(traction_call(c, "nosuch", "ping", &req.base,
				   &traction__v1__ping_reply__descriptor, &rep, &st),
		     TRACTION__V1__CODE__NOT_FOUND);
	CHECK_CONTAINS(st.message, "no service named 'nosuch'");
	CHECK(rep == NULL);
	CHECK_EQ_INT(traction_call(c, "supply", "frobnicate", &req.base,
				   &traction__v1__ping_reply__descriptor, &rep, &st),
		     TRACTION__V1__CODE__UNIMPLEMENTED);
	CHECK_CONTAINS(st.message, "frobnicate");
	CHECK_EQ_INT(traction_call(c, "broker", "frobnicate", &req.base,
				   &traction__v1__ping_reply__descriptor, &rep, &st),
		     TRACTION__V1__CODE__UNIMPLEMENTED);
	int code;
	Traction__V1__PingReply *p = ping(c, "broker", &code);
	CHECK_EQ_INT(code, 0);
	CHECK_STR(p->daemon, "traction-broker");
	traction_reply_free(&p->base);
	traction_client_destroy(&c);
}

TEST(many_in_flight_on_one_connection)
{
	raw_t r;
	enum { N = 2000 };
	static bool seen[N + 1];
	raw_open(&r, H.client_ep);
	for (uint64_t id = 1; id <= N; id++)
		raw_request(&r, s_services[id % 5], "ping", id, NULL, 0);
	for (int i = 0; i < N; i++) {
		Traction__V1__Header *h = raw_reply(&r, 5000, NULL, NULL);
		CHECK_MSG(h != NULL, "reply %d of %d missing", i, N);
		CHECK_EQ_INT(h->status != NULL ? h->status->code : 0, 0);
		CHECK(h->request_id >= 1 && h->request_id <= N);
		CHECK_MSG(!seen[h->request_id], "id %llu answered twice",
			  (unsigned long long)h->request_id);
		seen[h->request_id] = true;
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	raw_close(&r);
}

static int count_pids(traction_client_t *c, uint32_t *pids, int max, int calls)
{
	int n = 0;
	for (int i = 0; i < calls; i++) {
		int code;
		Traction__V1__PingReply *p = ping(c, "supply", &code);
		CHECK_EQ_INT(code, 0);
		bool known = false;
		for (int j = 0; j < n; j++)
			known |= pids[j] == p->pid;
		if (!known && n < max)
			pids[n++] = p->pid;
		traction_reply_free(&p->base);
	}
	return n;
}

TEST(balances_and_drops_a_dead_instance)
{
	pid_t extra1 = h_start(&H, "traction-supplyd", "supply2");
	pid_t extra2 = h_start(&H, "traction-supplyd", "supply3");
	CHECK(h_wait_live(&H, "supply", 3, 5000));
	traction_client_t *c = h_client(&H);
	uint32_t pids[8];
	CHECK_EQ_INT(count_pids(c, pids, 8, 60), 3);

	/* A stopped instance holds requests; the broker must answer them
	 * UNAVAILABLE once it misses its heartbeats, not leave them hanging. */
	raw_t r;
	raw_open(&r, H.client_ep);
	/* connected before the stop: the 30 must reach the broker well
	 * within the 300 ms it gives the stopped instance */
	raw_request(&r, "supply", "ping", 100, NULL, 0);
	Traction__V1__Header *first = raw_reply(&r, 3000, NULL, NULL);
	CHECK(first != NULL);
	protobuf_c_message_free_unpacked(&first->base, NULL);
	kill(extra1, SIGSTOP);
	for (uint64_t id = 1; id <= 30; id++)
		raw_request(&r, "supply", "ping", id, NULL, 0);
	int ok = 0, unavailable = 0;
	for (int i = 0; i < 30; i++) {
		Traction__V1__Header *h = raw_reply(&r, 3000, NULL, NULL);
		CHECK_MSG(h != NULL, "request %d left hanging", i);
		int code = h->status != NULL ? h->status->code : 0;
		if (code == 0)
			ok++;
		else if (code == TRACTION__V1__CODE__UNAVAILABLE)
			unavailable++;
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	raw_close(&r);
	CHECK_EQ_INT(ok + unavailable, 30);
	CHECK(unavailable > 0 && ok > 0);
	CHECK(h_wait_live(&H, "supply", 2, 3000));
	h_kill(&H, extra1, SIGKILL);
	Traction__V1__BrokerStatusReply *st = status(c);
	CHECK(st->counters->instances_expired >= 1);
	traction_reply_free(&st->base);

	/* the survivors serve everything */
	CHECK_EQ_INT(count_pids(c, pids, 8, 20), 2);

	/* killed outright: its connection is gone before any heartbeat is
	 * missed; the broker notices on the next send and routes elsewhere,
	 * so not one request fails */
	pid_t extra3 = h_start(&H, "traction-supplyd", "supply4");
	CHECK(h_wait_live(&H, "supply", 3, 5000));
	h_kill(&H, extra3, SIGKILL);
	h_sleep_ms(150); /* ZeroMQ has seen the close; the 300 ms expiry has not come */
	for (int i = 0; i < 10; i++) {
		int code;
		Traction__V1__PingReply *p = ping(c, "supply", &code);
		CHECK_MSG(code == 0, "request %d after the kill: code %d", i, code);
		traction_reply_free(&p->base);
	}
	CHECK(h_wait_live(&H, "supply", 2, 1000));
	CHECK_EQ_INT(WEXITSTATUS(h_kill(&H, extra2, SIGTERM)), 0);
	CHECK(h_wait_live(&H, "supply", 1, 3000)); /* said goodbye: gone at once */
	traction_client_destroy(&c);
}

TEST(restarted_broker_is_found_again)
{
	traction_client_t *c = h_client(&H);
	int code;
	Traction__V1__PingReply *p = ping(c, "feedback", &code);
	CHECK_EQ_INT(code, 0);
	uint32_t pid_before = p->pid;
	traction_reply_free(&p->base);

	h_kill(&H, H.pids[0], SIGKILL);
	h_start_broker(&H, true);
	for (int i = 0; i < 5; i++)
		CHECK_MSG(h_wait_live(&H, s_services[i], 1, 5000), "%s did not come back",
			  s_services[i]);
	/* the same client, the same service processes */
	traction_client_set_timeout(c, 3000);
	p = NULL;
	for (int tries = 0; tries < 3 && p == NULL; tries++)
		p = ping(c, "feedback", &code);
	CHECK_EQ_INT(code, 0);
	CHECK_EQ_INT(p->pid, pid_before);
	traction_reply_free(&p->base);
	traction_client_destroy(&c);
}

static uint64_t malformed_count(void)
{
	traction_client_t *c = h_client(&H);
	Traction__V1__BrokerStatusReply *st = status(c);
	uint64_t n = st->counters->dropped_malformed;
	traction_reply_free(&st->base);
	traction_client_destroy(&c);
	return n;
}

static void expect_invalid(raw_t *r, const char *why)
{
	Traction__V1__Header *h = raw_reply(r, 2000, NULL, NULL);
	CHECK_MSG(h != NULL, "no error reply");
	CHECK_EQ_INT(h->kind, TRACTION__V1__FRAME_KIND__FRAME_REPLY);
	CHECK(h->status != NULL);
	CHECK_EQ_INT(h->status->code, TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(h->status->message, why);
	protobuf_c_message_free_unpacked(&h->base, NULL);
}

TEST(malformed_frames)
{
	uint64_t before = malformed_count();
	raw_t r;
	raw_open(&r, H.client_ep);

	zmq_send(r.sock, "garbage", 7, 0); /* one frame */
	expect_invalid(&r, "two frames");
	zmq_send(r.sock, "", 0, 0); /* empty */
	expect_invalid(&r, "two frames");

	zmq_send(r.sock, "\xff\xfe\xfd", 3, ZMQ_SNDMORE); /* not a Header */
	zmq_send(r.sock, "", 0, 0);
	expect_invalid(&r, "not a traction.v1.Header");

	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hb[256];
	h.version = 7;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"supply";
	h.method = (char *)"ping";
	h.request_id = 42;
	size_t hl = trc_header_pack(&h, hb, sizeof(hb));
	zmq_send(r.sock, hb, hl, ZMQ_SNDMORE);
	zmq_send(r.sock, "", 0, 0);
	expect_invalid(&r, "unsupported protocol version");

	h.version = 1;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REPLY; /* clients do not send replies */
	hl = trc_header_pack(&h, hb, sizeof(hb));
	zmq_send(r.sock, hb, hl, ZMQ_SNDMORE);
	zmq_send(r.sock, "", 0, 0);
	expect_invalid(&r, "expected a request header");

	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	hl = trc_header_pack(&h, hb, sizeof(hb));
	for (int i = 0; i < 4; i++)
		zmq_send(r.sock, hb, hl, ZMQ_SNDMORE);
	zmq_send(r.sock, "", 0, 0); /* five frames */
	expect_invalid(&r, "two frames");

	/* a good header with a body that is not the method's message: the
	 * service answers, naming the type it wanted */
	zmq_send(r.sock, hb, hl, ZMQ_SNDMORE);
	zmq_send(r.sock, "\x0a\xff\xff\xff\xff\x0f", 6, 0);
	Traction__V1__Header *rh = raw_reply(&r, 2000, NULL, NULL);
	CHECK(rh != NULL && rh->status != NULL);
	CHECK_EQ_INT(rh->request_id, 42);
	CHECK_EQ_INT(rh->status->code, TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(rh->status->message, "traction.v1.Empty");
	protobuf_c_message_free_unpacked(&rh->base, NULL);

	/* random frames in random numbers */
	srand(7);
	for (int i = 0; i < 200; i++) {
		int nf = 1 + rand() % 5;
		for (int f = 0; f < nf; f++) {
			uint8_t junk[64];
			size_t len = (size_t)(rand() % 64);
			for (size_t k = 0; k < len; k++)
				junk[k] = (uint8_t)rand();
			zmq_send(r.sock, junk, len, f + 1 < nf ? ZMQ_SNDMORE : 0);
		}
	}
	/* an oversized message: libzmq drops the connection, no reply */
	raw_t big;
	raw_open(&big, H.client_ep);
	size_t blen = 200 * 1024; /* max_message_kb is 128 in this test */
	char *blob = calloc(1, blen);
	raw_request(&big, "supply", "ping", 9, blob, blen);
	free(blob);
	CHECK(raw_reply(&big, 500, NULL, NULL) == NULL);
	raw_close(&big);

	/* service endpoint: garbage from a would-be service is dropped, counted */
	raw_t svc;
	raw_open(&svc, H.service_ep);
	zmq_send(svc.sock, "x", 1, 0);
	zmq_send(svc.sock, "\x01\x02", 2, ZMQ_SNDMORE);
	zmq_send(svc.sock, "y", 1, 0);
	for (int i = 0; i < 5; i++)
		zmq_send(svc.sock, "z", 1, i < 4 ? ZMQ_SNDMORE : 0);
	h_sleep_ms(200);
	raw_close(&svc);

	/* still routing; the drops were counted */
	raw_request(&r, "scenario", "ping", 77, NULL, 0);
	for (;;) {
		Traction__V1__Header *ok = raw_reply(&r, 3000, NULL, NULL);
		CHECK_MSG(ok != NULL, "no reply after the junk");
		uint64_t id = ok->request_id;
		int code = ok->status != NULL ? ok->status->code : 0;
		protobuf_c_message_free_unpacked(&ok->base, NULL);
		if (id == 77) {
			CHECK_EQ_INT(code, 0);
			break;
		}
	}
	raw_close(&r);
	CHECK(malformed_count() >= before + 6);
	for (int i = 0; i < 5; i++)
		CHECK(h_wait_live(&H, s_services[i], 1, 1000));
}

TEST(sigterm_stops_cleanly)
{
	for (int i = 0; i < 4; i++) {
		int st = h_kill(&H, s_pids[i], SIGTERM);
		CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exit status %d", s_daemons[i],
			  st);
	}
	int st = h_kill(&H, H.pids[H.n - 1], SIGINT); /* the restarted broker, Ctrl-C */
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "broker exit status %d", st);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 3\nmax_message_kb = 128\n"
		   "[log]\nlevel = debug\n");
	RUN(set_comes_up_and_answers);
	RUN(broker_answers_what_it_cannot_route);
	RUN(many_in_flight_on_one_connection);
	RUN(balances_and_drops_a_dead_instance);
	RUN(restarted_broker_is_found_again);
	RUN(malformed_frames);
	RUN(sigterm_stops_cleanly);
	h_done(&H);
	DONE();
}
