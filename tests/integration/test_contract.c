/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The v1.1 contract over the wire (docs/protocol.md), against the real set
 * without CurveZMQ: where a write committed and what a reply had applied,
 * Header.after (a request that waits for a position, and one that cannot),
 * events.read (topic prefixes, paging past what it filters, the long poll),
 * version 1 requests answered in version 1, the broker's audit.list and
 * keys.reload, and a client that names a user
 * getting that user's rights and nothing more.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "harness.h"
#include "rawsock.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static harness_t H;
static traction_client_t *C;

/* ---- helpers ------------------------------------------------------------------ */

static int register_provider(traction_client_t *c, const char *id)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest req = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	p.id = (char *)id;
	p.name = (char *)id;
	p.kind = TRACTION__V1__PROVIDER_KIND__PROVIDER_AI_COMPANY;
	req.provider = &p;
	int code = traction_call(c, "supply", "provider.register", &req.base,
				 &traction__v1__provider_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	return code;
}

static int register_supply(traction_client_t *c, const char *id)
{
	char *caps[] = { (char *)"defect-detection" };
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	s.id = (char *)id;
	s.provider_id = (char *)"acme";
	s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM;
	s.name = (char *)id;
	s.capabilities = caps;
	s.n_capabilities = 1;
	s.initial_version = (char *)"1.0";
	req.supply = &s;
	int code = traction_call(c, "supply", "register", &req.base,
				 &traction__v1__supply_reply__descriptor, &rep, &st);
	traction_reply_free(rep);
	return code;
}

/* The position the last reply named for source (committed, or applied). */
static uint64_t last_position(traction_client_t *c, const char *source, bool committed)
{
	const Traction__V1__Header *h = traction_last_header(c);
	if (h == NULL)
		return 0;
	if (committed)
		return h->committed != NULL && strcmp(h->committed->source, source) == 0
			       ? h->committed->applied_seq
			       : 0;
	for (size_t i = 0; i < h->n_applied; i++)
		if (strcmp(h->applied[i]->source, source) == 0)
			return h->applied[i]->applied_seq;
	return 0;
}

static int list_versions(traction_client_t *c, const char *supply, size_t *n)
{
	Traction__V1__IterationListRequest req = TRACTION__V1__ITERATION_LIST_REQUEST__INIT;
	Traction__V1__IterationListReply *rep = NULL;
	traction_status_t st;
	req.supply_id = (char *)supply;
	int code = traction_call(c, "iteration", "list", &req.base,
				 &traction__v1__iteration_list_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	*n = code == 0 ? rep->n_iterations : 0;
	traction_reply_free(rep != NULL ? &rep->base : NULL);
	return code;
}

/* One events.read call, on its own client (it may wait). */
typedef struct {
	const char *service;
	uint64_t from;
	const char *topic;
	uint32_t wait_ms, max;
	int code;
	int64_t took_ms;
	size_t n;
	char types[16][64];
	uint64_t seqs[16];
	uint64_t next, head;
	traction_client_t *c; /* made on the test's thread: CHECK is not thread-safe */
} feed_t;

/* Runs on a thread of its own: no CHECK here, the test checks after. */
static void *s_read_feed_on(void *arg)
{
	feed_t *f = arg;
	traction_client_t *c = f->c;
	Traction__V1__EventsReadRequest req = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	Traction__V1__EventsReadReply *rep = NULL;
	traction_status_t st;
	char *topics[1] = { (char *)f->topic };
	req.from_seq = f->from;
	req.wait_ms = f->wait_ms;
	req.max = f->max;
	if (f->topic != NULL) {
		req.topics = topics;
		req.n_topics = 1;
	}
	int64_t t0 = trc_mono_ms();
	f->code = traction_call(c, f->service, "events.read", &req.base,
				&traction__v1__events_read_reply__descriptor,
				(ProtobufCMessage **)&rep, &st);
	f->took_ms = trc_mono_ms() - t0;
	if (f->code == 0) {
		f->n = rep->n_events;
		for (size_t i = 0; i < rep->n_events && i < 16; i++) {
			snprintf(f->types[i], sizeof(f->types[i]), "%s", rep->events[i]->type);
			f->seqs[i] = rep->events[i]->seq;
		}
		f->next = rep->next_seq;
		f->head = rep->head_seq;
	}
	traction_reply_free(rep != NULL ? &rep->base : NULL);
	return NULL;
}

/* events.read, on a client of its own (made and destroyed here) */
static void s_read_feed(feed_t *f)
{
	f->c = h_client(&H);
	s_read_feed_on(f);
	traction_client_destroy(&f->c);
}

/* ---- tests -------------------------------------------------------------------- */

TEST(start_the_set)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/keys", H.dir);
	CHECK(mkdir(path, 0700) == 0);
	/* users an edge may act for; without CurveZMQ any client may name one,
	 * which only narrows what it may do */
	snprintf(path, sizeof(path), "%s/keys/viewer.user", H.dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("; a reader an edge acts for\nrole = reader\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/keys/viewer2.user", H.dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("role = reader\n", f);
	fclose(f);
	snprintf(H.extra + strlen(H.extra), sizeof(H.extra) - strlen(H.extra),
		 "[security]\nkeys_dir = %s/keys\n", H.dir);
	h_start_broker(&H, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < 4; i++)
		h_start(&H, d[i], NULL);
	CHECK(h_wait_live(&H, "supply", 1, 10000));
	CHECK(h_wait_live(&H, "iteration", 1, 10000));
	CHECK(h_wait_live(&H, "feedback", 1, 10000));
	C = h_client(&H);
	static const char *const scenarios[] = { "weld-line-3", NULL };
	h_catalogue(C, scenarios);
}

TEST(writes_say_where_they_committed_and_replies_what_was_applied)
{
	CHECK_EQ_INT(register_provider(C, "p-one"), 0);
	uint64_t a = last_position(C, "supply", true);
	CHECK_MSG(a >= 3, "committed supply@%llu after three catalogue writes",
		  (unsigned long long)a);
	CHECK_EQ_INT(last_position(C, "supply", false), a); /* its own head, applied */
	CHECK_EQ_INT(register_provider(C, "p-two"), 0);
	CHECK_EQ_INT(last_position(C, "supply", true), a + 1); /* one event: one more */
	/* a refused write commits nothing and names no position */
	CHECK_EQ_INT(register_provider(C, "p-two"), TRACTION__V1__CODE__ALREADY_EXISTS);
	CHECK(traction_last_header(C)->committed == NULL);
	/* a read says what it had applied of each source it consumes */
	size_t n;
	int code = TRACTION__V1__CODE__NOT_FOUND;
	for (int i = 0; i < 200 && code != 0; i++, h_sleep_ms(20))
		code = list_versions(C, "defect-vision", &n);
	CHECK_EQ_INT(code, 0);
	CHECK(last_position(C, "supply", false) >= 2); /* iterationd applied the supply */
	CHECK(traction_last_header(C)->committed == NULL);
}

/* iteration.list of a supply on a client of its own that asks for after. */
typedef struct {
	const char *supply;
	uint64_t after;
	int timeout_ms;
	int code;
	size_t n;
	int64_t took_ms;
	char detail[256];
	traction_client_t *c; /* made on the test's thread */
} waiter_t;

/* Runs on a thread of its own: no CHECK here, the test checks after. */
static void *s_wait_versions_on(void *arg)
{
	waiter_t *w = arg;
	traction_client_t *c = w->c;
	traction_client_set_timeout(c, w->timeout_ms);
	if (traction_client_after(c, "supply", w->after) != 0) {
		w->code = -1;
		return NULL;
	}
	int64_t t0 = trc_mono_ms();
	w->code = list_versions(c, w->supply, &w->n);
	w->took_ms = trc_mono_ms() - t0;
	const Traction__V1__ErrorDetails *d = traction_last_details(c);
	if (d != NULL)
		snprintf(w->detail, sizeof(w->detail), "%s %s %s %s", d->details[0]->subject,
			 d->details[0]->reason, d->details[0]->current, d->details[0]->required);
	return NULL;
}

TEST(a_read_waits_for_the_position_it_names)
{
	CHECK_EQ_INT(register_provider(C, "p-three"), 0);
	uint64_t head = last_position(C, "supply", true);
	/* a read of a supply not registered yet, after the event that will
	 * register it: iterationd holds it until it has applied that event */
	waiter_t w = { .supply = "late-vision", .after = head + 1, .timeout_ms = 8000 };
	pthread_t t;
	w.c = h_client(&H);
	CHECK_EQ_INT(pthread_create(&t, NULL, s_wait_versions_on, &w), 0);
	h_sleep_ms(400);
	CHECK_EQ_INT(register_supply(C, "late-vision"), 0);
	CHECK_EQ_INT(last_position(C, "supply", true), head + 1);
	pthread_join(t, NULL);
	traction_client_destroy(&w.c);
	CHECK_MSG(w.code == 0, "code %d", w.code);
	CHECK_EQ_INT(w.n, 1); /* its initial version: the read saw the write */
	CHECK_MSG(w.took_ms >= 350 && w.took_ms < 6000, "took %lld ms",
		  (long long)w.took_ms);

	/* a position that never comes: UNAVAILABLE within the timeout, naming
	 * the source, what was applied and what was asked */
	waiter_t never = { .supply = "late-vision", .after = head + 1000, .timeout_ms = 1500 };
	never.c = h_client(&H);
	s_wait_versions_on(&never);
	traction_client_destroy(&never.c);
	CHECK_EQ_INT(never.code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_MSG(never.took_ms >= 1000 && never.took_ms < 1500, "took %lld ms",
		  (long long)never.took_ms);
	char want[128];
	snprintf(want, sizeof(want), "supply not_applied %llu %llu", (unsigned long long)head + 1,
		 (unsigned long long)head + 1000);
	CHECK_STR(never.detail, want);
}

TEST(a_source_the_daemon_does_not_have_is_refused)
{
	traction_client_t *c = h_client(&H);
	size_t n;
	CHECK_EQ_INT(traction_client_after(c, "nosuch", 1), 0);
	CHECK_EQ_INT(list_versions(c, "defect-vision", &n), TRACTION__V1__CODE__INVALID_ARGUMENT);
	const Traction__V1__ErrorDetails *d = traction_last_details(c);
	CHECK(d != NULL && d->n_details == 1);
	CHECK_STR(d->details[0]->subject, "nosuch");
	CHECK_STR(d->details[0]->reason, "unknown_source");
	traction_client_destroy(&c);
}

TEST(a_write_after_a_write_elsewhere_sees_it)
{
	/* feedback to a scenario submitted a moment ago: feedbackd knows it
	 * only once it has applied the scenario event; with after = the
	 * submit's committed position, the publish waits for that and is
	 * accepted, every time, with no retry loop */
	for (int round = 0; round < 5; round++) {
		char id[32], key[32];
		snprintf(id, sizeof(id), "fresh-line-%d", round);
		snprintf(key, sizeof(key), "fresh-%d", round);
		CHECK_EQ_INT(h_scenario(C, id, "Northern Steel"), 0);
		uint64_t at = last_position(C, "scenario", true);
		CHECK(at > 0);
		traction_client_t *p = h_client(&H);
		CHECK_EQ_INT(traction_client_after(p, "scenario", at), 0);
		Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT, *rp = &r;
		Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		m.name = (char *)"defect_rate";
		m.value = 0.02;
		r.scenario_id = id;
		r.supply_id = (char *)"defect-vision";
		r.version = (char *)"1.0";
		r.idempotency_key = key;
		r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
		r.metric = &m;
		req.records = &rp;
		req.n_records = 1;
		CHECK_EQ_INT(traction_call(p, "feedback", "publish", &req.base,
					   &traction__v1__publish_reply__descriptor,
					   (ProtobufCMessage **)&rep, &st),
			     0);
		CHECK_MSG(rep->results[0]->status == NULL || rep->results[0]->status->code == 0,
			  "round %d: %s", round, rep->results[0]->status->message);
		CHECK(last_position(p, "scenario", false) >= at);
		/* a write's reply names where it committed (feedback's events are
		 * coalesced later, so its log may still be empty: seq 0) */
		const Traction__V1__Header *h = traction_last_header(p);
		CHECK(h->committed != NULL && strcmp(h->committed->source, "feedback") == 0);
		traction_reply_free(&rep->base);
		traction_client_destroy(&p);
	}
}

TEST(events_read_filters_pages_and_waits)
{
	/* supply's log: provider and supply events; a "supply." prefix skips
	 * the providers and still resumes past them */
	feed_t all = { .service = "supply", .from = 1, .max = 16 };
	s_read_feed(&all);
	CHECK_EQ_INT(all.code, 0);
	CHECK(all.n >= 6);
	CHECK_EQ_INT(all.next, all.head + 1);
	feed_t sup = { .service = "supply", .from = 1, .topic = "supply.", .max = 16 };
	s_read_feed(&sup);
	CHECK_EQ_INT(sup.code, 0);
	CHECK_EQ_INT(sup.n, 2); /* defect-vision and late-vision */
	for (size_t i = 0; i < sup.n; i++)
		CHECK_CONTAINS(sup.types[i], "supply.registered");
	CHECK(sup.seqs[0] < sup.seqs[1]);
	CHECK_EQ_INT(sup.next, sup.head + 1);
	/* a page of one: it resumes right after what it returned */
	feed_t one = { .service = "supply", .from = 1, .max = 1 };
	s_read_feed(&one);
	CHECK_EQ_INT(one.n, 1);
	CHECK_EQ_INT(one.next, one.seqs[0] + 1);
	feed_t bad = { .service = "supply", .from = 1, .topic = "supply\n" };
	s_read_feed(&bad);
	CHECK_EQ_INT(bad.code, TRACTION__V1__CODE__INVALID_ARGUMENT);

	/* the long poll: nothing after the head yet; it answers when the next
	 * event is committed, not at its wait */
	feed_t wait = { .service = "supply", .from = all.head + 1, .wait_ms = 5000, .max = 16 };
	pthread_t t;
	wait.c = h_client(&H);
	CHECK_EQ_INT(pthread_create(&t, NULL, s_read_feed_on, &wait), 0);
	h_sleep_ms(400);
	CHECK_EQ_INT(register_provider(C, "p-four"), 0);
	pthread_join(t, NULL);
	traction_client_destroy(&wait.c);
	CHECK_EQ_INT(wait.code, 0);
	CHECK_EQ_INT(wait.n, 1);
	CHECK_STR(wait.types[0], "provider.registered");
	CHECK_EQ_INT(wait.seqs[0], all.head + 1);
	CHECK_MSG(wait.took_ms >= 350 && wait.took_ms < 4000, "took %lld ms",
		  (long long)wait.took_ms);
	/* and when nothing comes: an empty page at the end of its wait */
	feed_t idle = { .service = "supply", .from = wait.head + 1, .wait_ms = 600 };
	s_read_feed(&idle);
	CHECK_EQ_INT(idle.code, 0);
	CHECK_EQ_INT(idle.n, 0);
	CHECK_EQ_INT(idle.next, wait.head + 1);
	CHECK_MSG(idle.took_ms >= 550 && idle.took_ms < 3000, "took %lld ms",
		  (long long)idle.took_ms);
}

TEST(version_1_is_answered_in_version_1)
{
	raw_t r;
	raw_open(&r, H.client_ep);
	Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
	uint8_t body[64];
	req.id = (char *)"acme";
	size_t bl = traction__v1__id_request__pack(&req, body);
	for (uint32_t v = 1; v <= 2; v++) {
		raw_request_v(&r, v, "supply", "provider.get", 40 + v, body, bl);
		void *rb = NULL;
		size_t rbl = 0;
		Traction__V1__Header *h = raw_reply(&r, 5000, &rb, &rbl);
		CHECK(h != NULL);
		CHECK_EQ_INT(h->version, v);
		CHECK_EQ_INT(h->request_id, 40 + v);
		CHECK_EQ_INT(h->status != NULL ? h->status->code : 0, 0);
		/* positions are v1.1's: a version 1 reply is as it always was */
		CHECK_EQ_INT(h->n_applied > 0, v == 2);
		protobuf_c_message_free_unpacked(&h->base, NULL);
		free(rb);
	}
	/* a broker refusal too (no such service) */
	raw_request_v(&r, 1, "nosuch", "get", 43, body, bl);
	Traction__V1__Header *h = raw_reply(&r, 5000, NULL, NULL);
	CHECK(h != NULL && h->version == 1 && h->request_id == 43);
	protobuf_c_message_free_unpacked(&h->base, NULL);
	raw_close(&r);
}

/* v1.1's broker methods (docs/protocol.md): audit.list answers the
 * daemons' AuditListReply, named "broker" (this set's users, recorded at
 * the broker's first start), in the request's version; keys.reload wants
 * a reason, and a reload that changes nothing records nothing. */
static size_t s_broker_log(raw_t *r, uint32_t v)
{
	raw_request_v(r, v, "broker", "audit.list", 50 + v, "", 0);
	void *rb = NULL;
	size_t rbl = 0, n = 0;
	Traction__V1__Header *h = raw_reply(r, 5000, &rb, &rbl);
	CHECK(h != NULL && h->version == v && h->request_id == 50 + v);
	CHECK_EQ_INT(h->status != NULL ? h->status->code : 0, 0);
	Traction__V1__AuditListReply *al = traction__v1__audit_list_reply__unpack(NULL, rbl, rb);
	CHECK(al != NULL);
	CHECK_STR(al->daemon, "broker");
	for (size_t i = 0; i < al->n_entries; i++, n++) {
		CHECK_STR(al->entries[i]->daemon, "broker");
		CHECK_STR(al->entries[i]->action, "user.added");
	}
	traction__v1__audit_list_reply__free_unpacked(al, NULL);
	protobuf_c_message_free_unpacked(&h->base, NULL);
	free(rb);
	return n;
}

TEST(the_brokers_audit_list_and_keys_reload)
{
	raw_t r;
	raw_open(&r, H.client_ep);
	CHECK_EQ_INT(s_broker_log(&r, 1), 2); /* viewer, viewer2 */
	CHECK_EQ_INT(s_broker_log(&r, 2), 2);
	Traction__V1__KeysReloadRequest kr = TRACTION__V1__KEYS_RELOAD_REQUEST__INIT;
	uint8_t body[64];
	const char *reasons[] = { "", "nothing changed" };
	for (int i = 0; i < 2; i++) {
		kr.reason = (char *)reasons[i];
		size_t bl = traction__v1__keys_reload_request__pack(&kr, body);
		raw_request_v(&r, 2, "broker", "keys.reload", 60 + i, body, bl);
		void *rb = NULL;
		size_t rbl = 0;
		Traction__V1__Header *h = raw_reply(&r, 5000, &rb, &rbl);
		CHECK(h != NULL && h->request_id == 60 + (uint64_t)i);
		if (i == 0) {
			CHECK_EQ_INT(h->status != NULL ? h->status->code : 0,
				     TRACTION__V1__CODE__INVALID_ARGUMENT);
			CHECK_CONTAINS(h->status->message, "reason");
		} else {
			CHECK_EQ_INT(h->status != NULL ? h->status->code : 0, 0);
			Traction__V1__KeysReloadReply *rep =
				traction__v1__keys_reload_reply__unpack(NULL, rbl, rb);
			CHECK(rep != NULL && rep->keys == 2 && rep->changes == 0 && rep->audited);
			traction__v1__keys_reload_reply__free_unpacked(rep, NULL);
		}
		protobuf_c_message_free_unpacked(&h->base, NULL);
		free(rb);
	}
	CHECK_EQ_INT(s_broker_log(&r, 2), 2);
	raw_close(&r);
}

TEST(naming_a_user_gives_that_users_rights)
{
	traction_client_t *c = h_client(&H);
	CHECK_EQ_INT(traction_client_on_behalf_of(c, "viewer"), 0);
	size_t n;
	CHECK_EQ_INT(list_versions(c, "defect-vision", &n), 0);
	CHECK_EQ_INT(register_provider(c, "p-viewer"), TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_EQ_INT(traction_client_on_behalf_of(c, "nobody"), 0);
	CHECK_EQ_INT(list_versions(c, "defect-vision", &n), TRACTION__V1__CODE__PERMISSION_DENIED);
	CHECK_EQ_INT(traction_client_on_behalf_of(c, NULL), 0);
	CHECK_EQ_INT(register_provider(c, "p-viewer"), 0); /* itself again: an admin */
	traction_client_destroy(&c);
}

/* A long-polling events.read for user, on the raw socket r. */
static void s_poll_as(raw_t *r, const char *user, uint64_t id, uint64_t from)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__EventsReadRequest req = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	uint8_t hb[TRC_HEADER_MAX], bb[64];
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"supply";
	h.method = (char *)"events.read";
	h.request_id = id;
	h.timeout_ms = 5000;
	h.on_behalf_of = (char *)user;
	req.from_seq = from;
	req.wait_ms = 1500;
	trc_frame_t f[2] = { { hb, trc_header_pack(&h, hb, sizeof(hb)) },
			     { bb, traction__v1__events_read_request__pack(&req, bb) } };
	trc_send(r->sock, f, 2, 0);
}

TEST(each_user_of_an_edge_has_a_clients_budget)
{
	/* max_in_flight_per_client = 4 (main): one connection acting for two
	 * users holds four waiting requests for each; a fifth for the first
	 * user is refused, while the second user's still go */
	feed_t head = { .service = "supply", .from = 1, .max = 1 };
	s_read_feed(&head);
	raw_t r;
	raw_open(&r, H.client_ep);
	for (uint64_t i = 1; i <= 4; i++)
		s_poll_as(&r, "viewer", i, head.head + 1);
	h_sleep_ms(200);
	s_poll_as(&r, "viewer", 5, head.head + 1);
	Traction__V1__Header *h = raw_reply(&r, 1000, NULL, NULL);
	CHECK(h != NULL && h->request_id == 5);
	CHECK_EQ_INT(h->status->code, TRACTION__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK_CONTAINS(h->status->message, "too many requests in flight");
	protobuf_c_message_free_unpacked(&h->base, NULL);
	for (uint64_t i = 6; i <= 9; i++)
		s_poll_as(&r, "viewer2", i, head.head + 1);
	/* all eight wait out their 1.5 s and answer empty: none refused */
	int answered = 0;
	for (int k = 0; k < 8; k++) {
		h = raw_reply(&r, 4000, NULL, NULL);
		CHECK(h != NULL);
		CHECK_MSG(h->status == NULL || h->status->code == 0, "request %llu: %s",
			  (unsigned long long)h->request_id, h->status->message);
		answered++;
		protobuf_c_message_free_unpacked(&h->base, NULL);
	}
	CHECK_EQ_INT(answered, 8);
	raw_close(&r);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\nheartbeat_liveness = 10\n"
		   "[events]\nreplay_interval_ms = 200\n"
		   "[broker]\nmax_in_flight_per_client = 4\n");
	RUN(start_the_set);
	RUN(writes_say_where_they_committed_and_replies_what_was_applied);
	RUN(a_read_waits_for_the_position_it_names);
	RUN(a_source_the_daemon_does_not_have_is_refused);
	RUN(a_write_after_a_write_elsewhere_sees_it);
	RUN(events_read_filters_pages_and_waits);
	RUN(version_1_is_answered_in_version_1);
	RUN(the_brokers_audit_list_and_keys_reload);
	RUN(naming_a_user_gives_that_users_rights);
	RUN(each_user_of_an_edge_has_a_clients_budget);
	traction_client_destroy(&C);
	h_done(&H);
	DONE();
}
