/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-notifyd's pure parts and handlers on a real store, without
 * sockets: the signature (against Python's hmac), the retry policy (what
 * is retried, the backoff's bounds), delivery ids, webhooks (a secret is
 * never answered), the queue written by apply_event (alert events only,
 * each matching webhook once, again-applied events change nothing), an
 * attempt's result (done, due again later, dead), webhook.retry and
 * webhook.remove; and the tick with its real HTTP client against a closed
 * port: a batch that fails sends nothing and loses no result.
 */
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "error.h"
#include "henv.h"
#include "notifyd.h"
#include "record.h"

static henv_t N, F; /* notifyd's store; a "feedback" source beside it */

/* ---- pure ------------------------------------------------------------------- */

TEST(signature_is_hmac_sha256_of_time_dot_body)
{
	static const char secret[] = "0123456789abcdef-secret";
	static const char body[] = "{\"type\":\"alert.fired\"}";
	char sig[NT_SIG_MAX];
	nt_sign((const uint8_t *)secret, strlen(secret), 1700000000, body, strlen(body), sig);
	/* python3: hmac.new(secret, b"1700000000." + body, hashlib.sha256).hexdigest() */
	CHECK_STR(sig, "t=1700000000,v1="
		       "7444d01c89cb0cccc99157e49520f57235f506433f6622ab599edf65e311caf5");
	char fp[24];
	nt_fingerprint((const uint8_t *)secret, strlen(secret), fp);
	CHECK_STR(fp, "sha256:850ae3f423335b60");
}

TEST(what_is_retried)
{
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 200), NT_DELIVERED);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 204), NT_DELIVERED);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 500), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 503), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 408), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 429), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_TIMEOUT, 0), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_CONNECT, 0), NT_RETRY);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 400), NT_REJECTED);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 401), NT_REJECTED);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 404), NT_REJECTED);
	CHECK_EQ_INT(nt_outcome(NT_NET_OK, 301), NT_REJECTED);
	CHECK_EQ_INT(nt_outcome(NT_NET_BAD, 0), NT_REJECTED);
}

TEST(backoff_doubles_to_its_cap_with_half_jitter)
{
	/* after attempt n: base * 2^(n-1), at most cap; in [d/2, d] */
	const uint32_t lo = 0, hi = UINT32_MAX;
	for (unsigned n = 1; n <= 12; n++) {
		uint64_t d = 1000ull << (n - 1);
		if (d > 60000)
			d = 60000;
		CHECK_EQ_INT(nt_backoff_ms(1000, 60000, n, lo), d - d / 2);
		CHECK(nt_backoff_ms(1000, 60000, n, hi) <= d);
		CHECK(nt_backoff_ms(1000, 60000, n, hi) >= d / 2);
		for (uint32_t r = 1; r < 2000000000u; r += 123456789u) {
			uint64_t w = nt_backoff_ms(1000, 60000, n, r);
			CHECK_MSG(w >= d - d / 2 && w <= d, "attempt %u: %llu not in [%llu, %llu]", n,
				  (unsigned long long)w, (unsigned long long)(d - d / 2),
				  (unsigned long long)d);
		}
	}
	CHECK_EQ_INT(nt_backoff_ms(1000, 60000, 1, (uint32_t)500), 1000); /* 500 + 500 % 501 */
	CHECK_EQ_INT(nt_backoff_ms(1000, 60000, 1000, 0), 30000);         /* no overflow */
}

TEST(delivery_ids_round_trip)
{
	char id[NT_ID_MAX], hook[72];
	uint64_t seq = 0;
	nt_delivery_id(42, "ops-pager.v2", id);
	CHECK_STR(id, "42-ops-pager.v2");
	CHECK(nt_delivery_id_parse(id, &seq, hook, sizeof(hook)));
	CHECK_EQ_INT(seq, 42);
	CHECK_STR(hook, "ops-pager.v2");
	CHECK(!nt_delivery_id_parse("-ops", &seq, hook, sizeof(hook)));
	CHECK(!nt_delivery_id_parse("4x-ops", &seq, hook, sizeof(hook)));
	CHECK(!nt_delivery_id_parse("42-", &seq, hook, sizeof(hook)));
	CHECK(!nt_delivery_id_parse("42-a b", &seq, hook, sizeof(hook)));
	CHECK(!nt_delivery_id_parse("99999999999999999999999-ops", &seq, hook, sizeof(hook)));
}

/* ---- webhooks ----------------------------------------------------------------- */

static int add_hook(const char *name, const char *url, const char *secret, char **rules,
		    size_t n_rules, int min_sev, Traction__V1__WebhookReply *rep)
{
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__WebhookAddRequest rq = TRACTION__V1__WEBHOOK_ADD_REQUEST__INIT;
	h.name = (char *)name;
	h.url = (char *)url;
	if (secret != NULL)
		h.secret = (ProtobufCBinaryData){ strlen(secret), (uint8_t *)secret };
	h.rule_ids = rules;
	h.n_rule_ids = n_rules;
	h.min_severity = min_sev;
	rq.webhook = &h;
	return henv_call(&N, notifyd_webhook_add, true, &rq, rep,
			 &traction__v1__webhook_reply__descriptor);
}

TEST(webhooks_keep_their_secrets)
{
	Traction__V1__WebhookReply rep;
	const char *secret = "0123456789abcdef-secret";
	CHECK_EQ_INT(add_hook("all", "http://127.0.0.1:1/hook", secret, NULL, 0, 0, &rep), 0);
	CHECK_EQ_INT(rep.webhook->secret.len, 0);
	CHECK_STR(rep.webhook->secret_fingerprint, "sha256:850ae3f423335b60");
	CHECK_EQ_INT(rep.webhook->max_in_flight, NT_IN_FLIGHT_DEFAULT);
	CHECK_STR(rep.generated_secret, "");
	char *rules[] = { (char *)"slow-line" };
	CHECK_EQ_INT(add_hook("slow", "https://example.com/x?y=1", secret, rules, 1, 0, &rep), 0);
	CHECK_EQ_INT(add_hook("crit", "https://example.com/c", NULL, NULL, 0,
			      TRACTION__V1__SEVERITY__SEVERITY_CRITICAL, &rep),
		     0);
	CHECK_EQ_INT(strlen(rep.generated_secret), 64); /* made, and answered once */
	henv_reset(&N);
	/* refused */
	CHECK_EQ_INT(add_hook("all", "http://127.0.0.1:1/", secret, NULL, 0, 0, &rep), TRC_EEXIST);
	CHECK_EQ_INT(add_hook("bad", "ftp://x/", secret, NULL, 0, 0, &rep), TRC_EINVAL);
	CHECK_CONTAINS(N.call.message, "webhook.url");
	CHECK_EQ_INT(add_hook("bad", "http://", secret, NULL, 0, 0, &rep), TRC_EINVAL);
	CHECK_EQ_INT(add_hook("bad", "http://a b/", secret, NULL, 0, 0, &rep), TRC_EINVAL);
	CHECK_EQ_INT(add_hook("bad", "http://x/", "short", NULL, 0, 0, &rep), TRC_EINVAL);
	CHECK_CONTAINS(N.call.message, "webhook.secret");
	CHECK_EQ_INT(add_hook("bad name", "http://x/", secret, NULL, 0, 0, &rep), TRC_EINVAL);
	CHECK_EQ_INT(add_hook("bad", "http://x/", secret, NULL, 0, 9, &rep), TRC_EINVAL);
	/* listed by name, without a secret */
	Traction__V1__WebhookListRequest lr = TRACTION__V1__WEBHOOK_LIST_REQUEST__INIT;
	Traction__V1__WebhookListReply list;
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_list, false, &lr, &list,
			       &traction__v1__webhook_list_reply__descriptor),
		     0);
	CHECK_EQ_INT(list.n_webhooks, 3);
	CHECK_STR(list.webhooks[0]->name, "all");
	CHECK_STR(list.webhooks[1]->name, "crit");
	for (size_t i = 0; i < list.n_webhooks; i++)
		CHECK_EQ_INT(list.webhooks[i]->secret.len, 0);
	henv_reset(&N);
}

/* ---- the queue ------------------------------------------------------------------- */

/* feedback's side: emits the alert it is given, as type (KeyValue.key is
 * not used: the Alert is the request). */
static const char *s_emit_type;
static int s_emit(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	(void)rep;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	if (strncmp(s_emit_type, "alert.", 6) == 0) {
		ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ALERT;
		ev.alert = (Traction__V1__Alert *)req;
	}
	return trc_call_emit(call, s_emit_type, &ev);
}

static void emit(const char *type, const char *rule, int severity)
{
	Traction__V1__Alert a = TRACTION__V1__ALERT__INIT;
	a.id = 1;
	a.rule_id = (char *)rule;
	a.state = TRACTION__V1__ALERT_STATE__ALERT_FIRING;
	a.severity = severity;
	a.summary = (char *)"defect_rate above 0.02";
	Traction__V1__Empty rep;
	s_emit_type = type;
	CHECK_EQ_INT(henv_call(&F, s_emit, true, &a, &rep, &traction__v1__empty__descriptor), 0);
}

static Traction__V1__WebhookDeliveriesReply *deliveries(const char *webhook, int state)
{
	static Traction__V1__WebhookDeliveriesReply rep;
	Traction__V1__WebhookDeliveriesRequest rq = TRACTION__V1__WEBHOOK_DELIVERIES_REQUEST__INIT;
	rq.webhook = (char *)webhook;
	rq.state = state;
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_deliveries, false, &rq, &rep,
			       &traction__v1__webhook_deliveries_reply__descriptor),
		     0);
	return &rep;
}

/* Runs fn in a write transaction of e's as the tick would (call->user:
 * user), committed if fn succeeds and commit says so, else dropped as a
 * failed group commit would be. */
static int in_txn_of(henv_t *e, void *user, bool commit, int (*fn)(trc_call_t *call, void *ud),
		     void *ud)
{
	trc_txn_t txn;
	CHECK_EQ_INT(trc_txn_begin(e->store, &txn, true), 0);
	trc_call_t call;
	memset(&call, 0, sizeof(call));
	call.txn = &txn;
	call.arena = e->arena;
	call.now_ms = e->now_ms;
	call.client_id = "test";
	call.user = user;
	int rc = fn(&call, ud);
	if (rc == 0 && commit)
		rc = trc_txn_commit(&txn);
	else
		trc_txn_abort(&txn);
	return rc;
}

static int in_txn(int (*fn)(trc_call_t *call, void *ud), void *ud)
{
	return in_txn_of(&N, NULL, true, fn, ud);
}

TEST(alert_events_queue_a_delivery_per_matching_webhook)
{
	emit("feedback.evidence", NULL, 0);                         /* passed over */
	emit("alert.fired", "slow-line", 0);                        /* all, slow */
	emit("alert.fired", "other", TRACTION__V1__SEVERITY__SEVERITY_CRITICAL); /* all, crit */
	emit("alert.resolved", "other", TRACTION__V1__SEVERITY__SEVERITY_LOW);   /* all */
	henv_feed(&N, &F, notifyd_apply);
	Traction__V1__WebhookDeliveriesReply *r = deliveries("all", 0);
	CHECK_EQ_INT(r->n_deliveries, 3);
	CHECK_STR(r->deliveries[0]->id, "4-all"); /* newest first */
	CHECK_STR(r->deliveries[0]->event_type, "alert.resolved");
	CHECK_STR(r->deliveries[2]->id, "2-all");
	CHECK_EQ_INT(r->deliveries[2]->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING);
	CHECK_EQ_INT(r->deliveries[2]->next_ms, N.now_ms);
	CHECK_STR(r->deliveries[2]->alert->rule_id, "slow-line");
	henv_reset(&N);
	r = deliveries("slow", 0);
	CHECK_EQ_INT(r->n_deliveries, 1);
	CHECK_STR(r->deliveries[0]->id, "2-slow");
	henv_reset(&N);
	r = deliveries("crit", 0);
	CHECK_EQ_INT(r->n_deliveries, 1);
	CHECK_STR(r->deliveries[0]->id, "3-crit");
	henv_reset(&N);
	r = deliveries("", 0); /* every webhook: all, crit, slow */
	CHECK_EQ_INT(r->n_deliveries, 5);
	CHECK_STR(r->deliveries[3]->id, "3-crit");
	CHECK_STR(r->deliveries[4]->id, "2-slow");
	henv_reset(&N);
	/* paging: a cursor goes on where the page stopped, across webhooks */
	Traction__V1__PageRequest pg = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__WebhookDeliveriesRequest rq = TRACTION__V1__WEBHOOK_DELIVERIES_REQUEST__INIT;
	Traction__V1__WebhookDeliveriesReply rep;
	rq.page = &pg;
	pg.limit = 3;
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_deliveries, false, &rq, &rep,
			       &traction__v1__webhook_deliveries_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_deliveries, 3);
	CHECK_STR(rep.next_cursor, "2-all");
	pg.cursor = trc_arena_strdup(N.arena, rep.next_cursor);
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_deliveries, false, &rq, &rep,
			       &traction__v1__webhook_deliveries_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_deliveries, 2);
	CHECK_STR(rep.deliveries[0]->id, "3-crit");
	CHECK_STR(rep.next_cursor, "");
	henv_reset(&N);
}

/* ---- an attempt's result -------------------------------------------------------------- */

typedef struct {
	const char *webhook;
	uint64_t seq;
	nt_result_t r;
	nt_conf_t conf;
	nt_outcome_t o;
	Traction__V1__Delivery *d;
} result_t;

static int s_result(trc_call_t *call, void *ud)
{
	result_t *x = ud;
	int rc = nt_delivery_get(call, x->webhook, x->seq, &x->d);
	if (rc != 0)
		return rc;
	Traction__V1__Delivery was = *x->d;
	x->o = nt_delivery_result(x->d, &x->conf, &x->r, call->now_ms, 0, call->arena);
	return nt_delivery_put(call, x->d, &was);
}

static size_t entries(unsigned db)
{
	trc_txn_t txn;
	size_t n = 0;
	CHECK_EQ_INT(trc_txn_begin(N.store, &txn, false), 0);
	CHECK_EQ_INT(trc_txn_entries(&txn, trc_store_db(N.store, db), &n), 0);
	trc_txn_abort(&txn);
	return n;
}

TEST(results_move_a_delivery_on)
{
	result_t x = { .webhook = "all", .seq = 2,
		       .conf = { .backoff_base_ms = 1000, .backoff_cap_ms = 8000, .max_attempts = 3,
				 .max_age_s = 3600 } };
	CHECK_EQ_INT(entries(NT_DB_DUE), 5);
	/* a 500: due again after the backoff's fixed half at least */
	x.r = (nt_result_t){ .net = NT_NET_OK, .status = 500 };
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.o, NT_RETRY);
	CHECK_EQ_INT(x.d->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING);
	CHECK_EQ_INT(x.d->attempts, 1);
	CHECK_EQ_INT(x.d->last_status, 500);
	CHECK_STR(x.d->last_error, "HTTP 500");
	CHECK_EQ_INT(x.d->next_ms, N.now_ms + 500);
	CHECK_EQ_INT(entries(NT_DB_DUE), 5); /* moved, not added */
	/* refused by the connection twice more: out of attempts, dead */
	x.r = (nt_result_t){ .net = NT_NET_CONNECT, .error = "Connection refused" };
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.d->next_ms, N.now_ms + 1000);
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.d->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD);
	CHECK_EQ_INT(x.d->attempts, 3);
	CHECK_STR(x.d->last_error, "Connection refused");
	CHECK_EQ_INT(entries(NT_DB_DUE), 4);
	CHECK_EQ_INT(entries(NT_DB_FINISHED), 1);
	/* a 404 is not retried; a 200 is done */
	x.seq = 3;
	x.r = (nt_result_t){ .net = NT_NET_OK, .status = 404 };
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.o, NT_REJECTED);
	CHECK_EQ_INT(x.d->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD);
	CHECK_EQ_INT(x.d->attempts, 1);
	x.seq = 4;
	x.r = (nt_result_t){ .net = NT_NET_OK, .status = 204 };
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.d->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_DONE);
	CHECK_EQ_INT(x.d->finished_ms, N.now_ms);
	CHECK_EQ_INT(entries(NT_DB_DUE), 2);
	CHECK_EQ_INT(entries(NT_DB_FINISHED), 3);
	/* past max_age_s a failure is final, whatever the attempts left */
	x.webhook = "slow";
	x.seq = 2;
	x.conf.max_age_s = 1;
	N.now_ms += 1000;
	x.r = (nt_result_t){ .net = NT_NET_TIMEOUT, .error = "timed out" };
	CHECK_EQ_INT(in_txn(s_result, &x), 0);
	CHECK_EQ_INT(x.d->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD);
	N.now_ms -= 1000;
	henv_reset(&N);
}

TEST(retry_brings_a_dead_delivery_back_and_remove_drops_them)
{
	Traction__V1__IdRequest rq = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__DeliveryReply rep;
	rq.id = (char *)"2-all";
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_retry, true, &rq, &rep,
			       &traction__v1__delivery_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.delivery->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING);
	CHECK_EQ_INT(rep.delivery->attempts, 0);
	CHECK_EQ_INT(rep.delivery->next_ms, N.now_ms);
	CHECK_EQ_INT(entries(NT_DB_DUE), 2);      /* 2-all, 3-crit */
	CHECK_EQ_INT(entries(NT_DB_FINISHED), 3); /* 3-all, 4-all, 2-slow */
	/* not dead: refused */
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_retry, true, &rq, &rep,
			       &traction__v1__delivery_reply__descriptor),
		     TRC_EPRECOND);
	rq.id = (char *)"9-all";
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_retry, true, &rq, &rep,
			       &traction__v1__delivery_reply__descriptor),
		     TRC_ENOENT);
	rq.id = (char *)"all";
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_retry, true, &rq, &rep,
			       &traction__v1__delivery_reply__descriptor),
		     TRC_EINVAL);
	/* remove: the webhook, its rows, its due and finished keys */
	Traction__V1__WebhookReply wr;
	rq.id = (char *)"all";
	CHECK_EQ_INT(henv_call(&N, notifyd_webhook_remove, true, &rq, &wr,
			       &traction__v1__webhook_reply__descriptor),
		     0);
	CHECK_EQ_INT(wr.webhook->secret.len, 0);
	CHECK_EQ_INT(entries(NT_DB_HOOKS), 2);
	CHECK_EQ_INT(entries(NT_DB_DELIVERIES), 2);
	CHECK_EQ_INT(entries(NT_DB_DUE), 1);      /* 3-crit */
	CHECK_EQ_INT(entries(NT_DB_FINISHED), 1); /* 2-slow, dead */
	henv_reset(&N);
}

TEST(a_webhook_takes_its_rules_and_severities)
{
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__Alert a = TRACTION__V1__ALERT__INIT;
	a.rule_id = (char *)"r1";
	CHECK(nt_webhook_takes(&h, &a));
	h.min_severity = TRACTION__V1__SEVERITY__SEVERITY_HIGH;
	CHECK(nt_webhook_takes(&h, &a)); /* a rule's 0 is high */
	a.severity = TRACTION__V1__SEVERITY__SEVERITY_MEDIUM;
	CHECK(!nt_webhook_takes(&h, &a));
	a.severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
	char *rules[] = { (char *)"r2", (char *)"r1" };
	h.rule_ids = rules;
	h.n_rule_ids = 2;
	CHECK(nt_webhook_takes(&h, &a));
	a.rule_id = (char *)"r3";
	CHECK(!nt_webhook_takes(&h, &a));
}

/* ---- the tick and its batch ------------------------------------------------------- */

static henv_t M; /* a store of its own: only the "fast" webhook's deliveries */

static int s_tick_fn(trc_call_t *call, void *ud)
{
	(void)ud;
	return notifyd_tick(call);
}

/* A tick of st in a write transaction of M's, committed or (commit false)
 * dropped as a failed group commit would, then batch_done. */
static void s_tick(nt_state_t *st, bool commit)
{
	CHECK_EQ_INT(in_txn_of(&M, st, commit, s_tick_fn, NULL), 0);
	nt_batch_done(st, commit);
	trc_arena_reset(M.arena);
}

/* Whether the sender wrote its eventfd within ms (and it is read). */
static bool s_woken(const nt_state_t *st, int ms)
{
	struct pollfd p = { st->wake_fd, POLLIN, 0 };
	uint64_t n;
	return poll(&p, 1, ms) == 1 && read(st->wake_fd, &n, sizeof(n)) == sizeof(n);
}

/* The attempts of each of the "fast" webhook's deliveries. */
static void s_attempts(unsigned *v, size_t n)
{
	Traction__V1__WebhookDeliveriesReply rep;
	Traction__V1__WebhookDeliveriesRequest rq = TRACTION__V1__WEBHOOK_DELIVERIES_REQUEST__INIT;
	rq.webhook = (char *)"fast";
	CHECK_EQ_INT(henv_call(&M, notifyd_webhook_deliveries, false, &rq, &rep,
			       &traction__v1__webhook_deliveries_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.n_deliveries, n);
	for (size_t i = 0; i < n && i < rep.n_deliveries; i++) {
		v[i] = rep.deliveries[i]->attempts;
		CHECK_EQ_INT(rep.deliveries[i]->state,
			     TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING);
	}
	henv_reset(&M);
}

TEST(a_failed_batch_sends_nothing_and_writes_its_results_again)
{
	henv_open(&M, check_tmpdir("trc-notifyd-m"), &notifyd_dbs, NULL);
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__WebhookAddRequest rq = TRACTION__V1__WEBHOOK_ADD_REQUEST__INIT;
	char *rules[] = { (char *)"fast-rule" };
	h.name = (char *)"fast";
	h.url = (char *)"http://127.0.0.1:1/fast"; /* a closed port: refused at once */
	h.rule_ids = rules;
	h.n_rule_ids = 1;
	h.max_in_flight = 2;
	rq.webhook = &h;
	Traction__V1__WebhookReply wr;
	CHECK_EQ_INT(henv_call(&M, notifyd_webhook_add, true, &rq, &wr,
			       &traction__v1__webhook_reply__descriptor),
		     0);
	henv_reset(&M);
	emit("alert.fired", "fast-rule", 0);
	emit("alert.fired", "fast-rule", 0);
	henv_feed(&M, &F, notifyd_apply);

	nt_state_t st;
	memset(&st, 0, sizeof(st));
	st.conf = (nt_conf_t){ .backoff_base_ms = 1000, .backoff_cap_ms = 60000,
			       .max_attempts = 12, .max_age_s = 86400, .timeout_ms = 2000,
			       .keep_s = 3600, .dispatch_max = 256 };
	CHECK_EQ_INT(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	st.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(st.wake_fd >= 0);
	CHECK_EQ_INT(nt_sender_new(&st.sender, st.wake_fd), 0);

	/* picked, but the batch failed: nothing is sent, the slots are free,
	 * and another tick is asked for at once */
	s_tick(&st, false);
	CHECK_EQ_INT(nt_load_of(&st, "fast"), 0);
	CHECK(s_woken(&st, 0));
	CHECK(!s_woken(&st, 300));
	/* picked and committed: sent, both refused, the sender says so */
	s_tick(&st, true);
	CHECK_EQ_INT(nt_load_of(&st, "fast"), 2);
	bool woken = s_woken(&st, 5000);
	CHECK(woken);
	usleep(100 * 1000); /* the second, if the first woke us alone */
	(void)s_woken(&st, 0);
	/* the results written in a batch that failed: taken back, still in
	 * flight (not sent again), written by the next tick, once */
	s_tick(&st, false);
	CHECK(s_woken(&st, 0));
	unsigned at[2];
	s_attempts(at, 2);
	CHECK_EQ_INT(at[0], 0);
	CHECK_EQ_INT(at[1], 0);
	CHECK_EQ_INT(nt_load_of(&st, "fast"), 2);
	s_tick(&st, true);
	s_attempts(at, 2);
	CHECK_EQ_INT(at[0], 1);
	CHECK_EQ_INT(at[1], 1);
	CHECK_EQ_INT(nt_load_of(&st, "fast"), 0);
	CHECK(!s_woken(&st, 300)); /* nothing was sent again meanwhile */

	nt_sender_destroy(&st.sender);
	nt_flights_free(&st);
	close(st.wake_fd);
	curl_global_cleanup();
	henv_close(&M);
}

int main(void)
{
	RUN(signature_is_hmac_sha256_of_time_dot_body);
	RUN(what_is_retried);
	RUN(backoff_doubles_to_its_cap_with_half_jitter);
	RUN(delivery_ids_round_trip);
	RUN(a_webhook_takes_its_rules_and_severities);
	henv_open(&N, check_tmpdir("trc-notifyd"), &notifyd_dbs, NULL);
	henv_open(&F, check_tmpdir("trc-notifyd-fb"), NULL, "feedback");
	RUN(webhooks_keep_their_secrets);
	RUN(alert_events_queue_a_delivery_per_matching_webhook);
	RUN(results_move_a_delivery_on);
	RUN(retry_brings_a_dead_delivery_back_and_remove_drops_them);
	RUN(a_failed_batch_sends_nothing_and_writes_its_results_again);
	henv_close(&F);
	henv_close(&N);
	DONE();
}
