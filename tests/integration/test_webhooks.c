/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-notifyd's promises, on real parts: a broker, notifyd, a daemon
 * that is the "feedback" source of alert events on the real runtime
 * (traction-testd in TESTD_MODE=alerts, until feedbackd's rule evaluation
 * lands), and a real HTTP receiver (tests/integration/webhook_receiver.py)
 * on a loopback port, which fails (500s), then is gone (a closed port),
 * then recovers, slowly. With notifyd SIGKILLed while deliveries are
 * pending and in flight, and started again:
 *
 *   - every alert is delivered to every webhook whose filter takes it
 *     (none of the feedback.* events is), and its delivery ends DONE;
 *   - every request's Traction-Signature verifies with the secret, by the
 *     receiver's own HMAC (Python's), and its time is fresh;
 *   - Traction-Delivery is the same on every attempt of a delivery (the
 *     receiver sees retries and the resends after the kill under one id),
 *     and the body says the same id, event and alert;
 *   - retries are spaced by the backoff: attempt k+1 comes at least the
 *     fixed half of base * 2^(k-1) after attempt k;
 *   - the webhook's max_in_flight is never exceeded, and is reached;
 *   - a 4xx is not retried: the delivery is dead after one attempt, and
 *     webhook.retry gives it new ones;
 *   - the SIGKILL loses nothing: what was pending or in flight is sent
 *     after the restart;
 *   - a burst of BURST alerts to a fast receiver is delivered far faster
 *     than the old ceiling of max_in_flight deliveries a 100 ms tick
 *     (BURST / (10 * max_in_flight) seconds): an attempt that finishes is
 *     settled and the next one handed out at once, and the limit holds;
 *   - a SIGKILL in the middle of such a burst loses none of it: every
 *     alert is delivered (at least once), each request signed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/notify.pb-c.h"

#define SECRET "it-is-a-test-secret-of-32-bytes!"
#define BASE_MS 300     /* [notify] backoff_base_ms */
#define OPS_LIMIT 2     /* ops's max_in_flight */
#define N_ALERTS 12
#define BURST 400       /* alerts of a burst */
#define BURST_LIMIT 4   /* the burst webhook's max_in_flight */

static harness_t H;
static pid_t s_receiver;
static char s_rdir[512];
static unsigned s_port;

/* ---- the receiver ------------------------------------------------------------- */

static void s_receiver_stop(void)
{
	if (s_receiver > 0) {
		kill(s_receiver, SIGKILL);
		waitpid(s_receiver, NULL, 0);
		s_receiver = 0;
	}
}

static void s_write(const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", s_rdir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Starts it on port (0: any), and waits until it listens. */
static void s_receiver_start(unsigned port)
{
	char path[600], portarg[16];
	snprintf(path, sizeof(path), "%s/port", s_rdir);
	unlink(path);
	snprintf(portarg, sizeof(portarg), "%u", port);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/python3", "python3", TRACTION_SOURCE_DIR
		      "/tests/integration/webhook_receiver.py", s_rdir, SECRET, portarg, (char *)NULL);
		_exit(127);
	}
	s_receiver = pid;
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		if (f != NULL) {
			CHECK(fscanf(f, "%u", &s_port) == 1);
			fclose(f);
			return;
		}
		CHECK_MSG(waitpid(pid, NULL, WNOHANG) == 0, "the receiver exited at start");
		h_sleep_ms(20);
	}
	CHECK_MSG(false, "the receiver did not listen within 10 s");
}

/* Every line of its log (a JSON array, to json_decref). */
static json_t *s_log(void)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/log", s_rdir);
	json_t *all = json_array();
	FILE *f = fopen(path, "r");
	char line[65536];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			break; /* the line the receiver is writing now: the next look has it */
		json_t *j = json_loads(line, 0, NULL);
		CHECK_MSG(j != NULL, "a log line that is not JSON: %s", line);
		json_array_append_new(all, j);
	}
	if (f != NULL)
		fclose(f);
	return all;
}

static const char *s_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "";
}

/* Ends (phase "end") of path with the given status (0: any). */
static int s_count_ends(json_t *log, const char *path, int status)
{
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "phase"), "end") == 0 && strcmp(s_str(r, "path"), path) == 0 &&
		    (status == 0 || json_integer_value(json_object_get(r, "status")) == status))
			n++;
	}
	return n;
}

/* Lines of the log that end a request with status (cheap: no JSON), for
 * waiting on many. */
static int s_count_lines(int status)
{
	char path[600], want[32], line[65536];
	snprintf(path, sizeof(path), "%s/log", s_rdir);
	snprintf(want, sizeof(want), "\"status\": %d", status);
	FILE *f = fopen(path, "r");
	int n = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, want) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

/* ---- calls -------------------------------------------------------------------------- */

static void add_hook(traction_client_t *c, const char *name, const char *path, int min_sev,
		     unsigned limit)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s_port, path);
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__WebhookAddRequest rq = TRACTION__V1__WEBHOOK_ADD_REQUEST__INIT;
	h.name = (char *)name;
	h.url = url;
	h.secret = (ProtobufCBinaryData){ strlen(SECRET), (uint8_t *)SECRET };
	h.min_severity = min_sev;
	h.max_in_flight = limit;
	rq.webhook = &h;
	Traction__V1__WebhookReply *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "notify", "webhook.add", &rq.base,
				 &traction__v1__webhook_reply__descriptor, (ProtobufCMessage **)&rep,
				 &st);
	CHECK_MSG(code == 0, "webhook.add %s: %s", name, st.message);
	CHECK_EQ_INT(rep->webhook->secret.len, 0);
	traction_reply_free(&rep->base);
}

static void fire(traction_client_t *c, uint64_t id, int state, int severity)
{
	Traction__V1__Alert a = TRACTION__V1__ALERT__INIT;
	a.id = id;
	a.rule_id = (char *)(id % 2 ? "defect-rate" : "hairline");
	a.kind = TRACTION__V1__ALERT_KIND__ALERT_METRIC;
	a.state = state;
	a.severity = severity;
	a.summary = (char *)"defect_rate above 0.02 on weld-line-3";
	Traction__V1__KeyValue *rep = NULL;
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 100 && code != 0; i++) {
		code = traction_call(c, "feedback", "alert", &a.base,
				     &traction__v1__key_value__descriptor, (ProtobufCMessage **)&rep,
				     &st);
		if (code != 0)
			h_sleep_ms(50);
	}
	CHECK_MSG(code == 0, "alert: %s", st.message);
	traction_reply_free(&rep->base);
}

/* The deliveries of a webhook in a state (0: any), the first page of
 * NT_LIST_MAX (1000). */
static size_t deliveries(traction_client_t *c, const char *webhook, int state,
			 Traction__V1__WebhookDeliveriesReply **out)
{
	Traction__V1__WebhookDeliveriesRequest rq = TRACTION__V1__WEBHOOK_DELIVERIES_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.limit = 1000;
	rq.page = &page;
	rq.webhook = (char *)webhook;
	rq.state = state;
	Traction__V1__WebhookDeliveriesReply *rep = NULL;
	traction_status_t st;
	int code = traction_call(c, "notify", "webhook.deliveries", &rq.base,
				 &traction__v1__webhook_deliveries_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	CHECK_MSG(code == 0, "webhook.deliveries: %s", st.message);
	size_t n = rep->n_deliveries;
	if (out != NULL)
		*out = rep;
	else
		traction_reply_free(&rep->base);
	return n;
}

/* Waits until webhook has want deliveries in state; false after timeout_ms. */
static bool wait_state(traction_client_t *c, const char *webhook, int state, size_t want,
		       int timeout_ms)
{
	size_t n = 0;
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		if ((n = deliveries(c, webhook, state, NULL)) == want)
			return true;
		h_sleep_ms(100);
	}
	fprintf(stderr, "%s: %zu deliveries in state %d, expected %zu\n", webhook, n, state, want);
	return false;
}

static traction_client_t *s_client_wait(void)
{
	traction_client_t *c = h_client(&H);
	CHECK(h_wait_live(&H, "notify", 1, 10000));
	return c;
}

/* ---- the checks on what the receiver saw -------------------------------------------- */

/* Every request: signed with the secret, fresh, JSON of the delivery its
 * headers name. */
static void check_requests(json_t *log)
{
	size_t i;
	json_t *r;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "phase"), "start") != 0)
			continue;
		const char *id = s_str(r, "delivery");
		CHECK_MSG(json_is_true(json_object_get(r, "sig_ok")), "%s: bad signature", id);
		CHECK_MSG(json_is_true(json_object_get(r, "fresh")), "%s: stale signature time", id);
		CHECK_STR(s_str(r, "content_type"), "application/json");
		json_t *body = json_object_get(r, "body");
		CHECK_MSG(json_is_object(body), "%s: no JSON body", id);
		CHECK_STR(s_str(body, "delivery"), id);
		CHECK_STR(s_str(body, "type"), s_str(r, "event"));
		CHECK_STR(s_str(body, "source"), "feedback");
		/* the id is the event's seq and the webhook: stable by construction
		 * of nothing but what the delivery is */
		char want[128];
		const char *path = s_str(r, "path");
		snprintf(want, sizeof(want), "%lld-%s",
			 (long long)json_integer_value(json_object_get(body, "seq")),
			 strcmp(path, "/ops") == 0 ? "ops" : path[1] == 'r' ? "reject" : "crit");
		CHECK_STR(id, want);
		json_t *alert = json_object_get(body, "alert");
		CHECK_MSG(json_is_object(alert) && s_str(alert, "rule_id")[0] != '\0',
			  "%s: no alert in the body", id);
	}
}

/* Attempts of one delivery during the 500s: spaced by the backoff's
 * fixed half (less a tick's slack for the clocks); returns the most
 * attempts one delivery had. */
static int check_spacing(json_t *log)
{
	int most = 0;
	size_t i, j;
	json_t *r, *s;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "phase"), "end") != 0 ||
		    json_integer_value(json_object_get(r, "status")) != 500)
			continue;
		int k = atoi(s_str(r, "attempt"));
		if (k > most)
			most = k;
		/* the next attempt of the same delivery */
		json_array_foreach(log, j, s)
		{
			if (strcmp(s_str(s, "phase"), "start") != 0 ||
			    strcmp(s_str(s, "delivery"), s_str(r, "delivery")) != 0 ||
			    atoi(s_str(s, "attempt")) != k + 1)
				continue;
			double gap_ms = (json_real_value(json_object_get(s, "start")) -
					 json_real_value(json_object_get(r, "end"))) * 1000;
			double floor_ms = (double)(BASE_MS << (k - 1)) / 2 - 20;
			CHECK_MSG(gap_ms >= floor_ms,
				  "%s: attempt %d came %.0f ms after attempt %d, backoff says >= %.0f",
				  s_str(r, "delivery"), k + 1, gap_ms, k, floor_ms);
		}
	}
	return most;
}

static int s_most_in_flight(json_t *log, const char *path)
{
	int most = 0;
	size_t i;
	json_t *r;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "path"), path) == 0 &&
		    json_integer_value(json_object_get(r, "inflight")) > most)
			most = (int)json_integer_value(json_object_get(r, "inflight"));
	}
	return most;
}

static void remove_hook(traction_client_t *c, const char *name)
{
	Traction__V1__IdRequest rq = TRACTION__V1__ID_REQUEST__INIT;
	rq.id = (char *)name;
	Traction__V1__WebhookReply *rep = NULL;
	traction_status_t st;
	CHECK_MSG(traction_call(c, "notify", "webhook.remove", &rq.base,
				&traction__v1__webhook_reply__descriptor, (ProtobufCMessage **)&rep,
				&st) == 0,
		  "webhook.remove %s: %s", name, st.message);
	traction_reply_free(&rep->base);
}

/* The burst's alerts (ids from..from+BURST-1) delivered to /burst, each
 * answered 200 at least once: how many are; every request to /burst is
 * signed and fresh; *first and *last: the first request's start and the
 * last answer's end (unix s). */
static int s_burst_seen(json_t *log, uint64_t from, double *first, double *last)
{
	static bool seen[BURST];
	memset(seen, 0, sizeof(seen));
	int n = 0;
	*first = 1e18;
	*last = 0;
	size_t i;
	json_t *r;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "path"), "/burst") != 0)
			continue;
		json_t *a = json_object_get(json_object_get(r, "body"), "alert");
		json_int_t id = json_integer_value(json_object_get(a, "id"));
		if (id < (json_int_t)from || id >= (json_int_t)(from + BURST))
			continue;
		CHECK_MSG(json_is_true(json_object_get(r, "sig_ok")), "%s: bad signature",
			  s_str(r, "delivery"));
		CHECK_MSG(json_is_true(json_object_get(r, "fresh")), "%s: stale signature time",
			  s_str(r, "delivery"));
		double start = json_real_value(json_object_get(r, "start"));
		if (start < *first)
			*first = start;
		if (strcmp(s_str(r, "phase"), "end") != 0 ||
		    json_integer_value(json_object_get(r, "status")) != 200)
			continue;
		double end = json_real_value(json_object_get(r, "end"));
		if (end > *last)
			*last = end;
		if (!seen[id - (json_int_t)from]) {
			seen[id - (json_int_t)from] = true;
			n++;
		}
	}
	return n;
}

/* Fires a burst of BURST alerts while notifyd is stopped, so that they
 * are all queued at once when it starts (it replays them). */
static void s_burst_fire(traction_client_t **c, pid_t *notifyd, uint64_t from)
{
	int status = h_kill(&H, *notifyd, SIGTERM);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "notifyd's stop: %d", status);
	for (uint64_t id = from; id < from + BURST; id++)
		fire(*c, id, TRACTION__V1__ALERT_STATE__ALERT_FIRING,
		     TRACTION__V1__SEVERITY__SEVERITY_MEDIUM);
	*notifyd = h_start(&H, "traction-notifyd", "notifyd");
	traction_client_destroy(c);
	*c = s_client_wait();
}

/* Waits until every alert of the burst from `from` was answered 200. */
static void s_burst_wait(uint64_t from, int timeout_ms, double *first, double *last)
{
	int n = 0;
	for (int waited = 0; n < BURST && waited < timeout_ms; waited += 200) {
		h_sleep_ms(200);
		json_t *log = s_log();
		n = s_burst_seen(log, from, first, last);
		json_decref(log);
	}
	CHECK_MSG(n == BURST, "%d of the %d alerts of the burst from %llu delivered", n, BURST,
		  (unsigned long long)from);
}

/* A burst to a fast receiver: no tick's wait between one delivery and the
 * next; then another, with notifyd SIGKILLed in its middle. */
static void s_bursts(traction_client_t **c, pid_t *notifyd)
{
	remove_hook(*c, "ops");
	remove_hook(*c, "reject");
	remove_hook(*c, "crit");
	add_hook(*c, "burst", "/burst", 0, BURST_LIMIT);
	s_write("mode", "ok 0");

	double first, last;
	s_burst_fire(c, notifyd, 1000);
	s_burst_wait(1000, 60000, &first, &last);
	json_t *log = s_log();
	int most = s_most_in_flight(log, "/burst");
	json_decref(log);
	/* the old design handed out max_in_flight a 100 ms tick: this many
	 * seconds at least, from the first request to the last answer */
	double ceiling = (double)BURST / (10.0 * BURST_LIMIT);
	printf("burst: %d alerts in %.3f s (%.0f/s), at most %d in flight (limit %d); "
	       "the old ceiling: %.1f s\n",
	       BURST, last - first, BURST / (last - first), most, BURST_LIMIT, ceiling);
	/* 0.6 of it: the old design could not go under the ceiling at all,
	 * and a TSan notifyd on a loaded 2-core machine needs the room */
	CHECK_MSG(last - first < ceiling * 0.6, "the burst took %.3f s: not well under %.1f s",
		  last - first, ceiling);
	CHECK_MSG(most <= BURST_LIMIT, "%d in flight to /burst at once, limit %d", most,
		  BURST_LIMIT);

	/* killed a third of the way through the next */
	int before = s_count_lines(200);
	s_burst_fire(c, notifyd, 2000);
	int cut = 0;
	for (int waited = 0; waited < 30000; waited += 5) {
		cut = s_count_lines(200) - before;
		if (cut >= BURST / 3)
			break;
		h_sleep_ms(5);
	}
	CHECK_MSG(cut >= BURST / 3 && cut < BURST, "%d of %d delivered at the kill", cut, BURST);
	h_kill(&H, *notifyd, SIGKILL);
	*notifyd = h_start(&H, "traction-notifyd", "notifyd");
	traction_client_destroy(c);
	*c = s_client_wait();
	s_burst_wait(2000, 60000, &first, &last);
	/* and notifyd's queue knows it: none left pending for ever (a
	 * delivery that went out just before the kill is sent again, and
	 * its second answer marks it done) */
	CHECK(wait_state(*c, "burst", TRACTION__V1__DELIVERY_STATE__DELIVERY_DONE, 2 * BURST,
			 30000));
	printf("burst killed after %d of %d deliveries: all %d delivered after the restart, "
	       "and done in notifyd's queue\n",
	       cut, BURST, BURST);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n"
		   "[notify]\nbackoff_base_ms = 300\nbackoff_cap_ms = 2400\nmax_attempts = 100\n"
		   "timeout_ms = 5000\n");
	snprintf(s_rdir, sizeof(s_rdir), "%s/receiver", H.dir);
	CHECK(mkdir(s_rdir, 0700) == 0);
	atexit(s_receiver_stop); /* before the harness's own, which removes the dir */
	s_write("mode", "500");
	s_receiver_start(0);

	h_start_broker(&H, false);
	setenv("TESTD_MODE", "alerts", 1);
	h_start(&H, "traction-testd", "feedback");
	unsetenv("TESTD_MODE");
	pid_t notifyd = h_start(&H, "traction-notifyd", "notifyd");
	CHECK(h_wait_live(&H, "feedback", 1, 10000));
	traction_client_t *c = s_client_wait();

	add_hook(c, "ops", "/ops", 0, OPS_LIMIT);
	add_hook(c, "reject", "/reject", 0, 0);
	add_hook(c, "crit", "/crit", TRACTION__V1__SEVERITY__SEVERITY_CRITICAL, 0);

	/* alerts, and feedback.* events between them (passed over) */
	int crit = 0;
	for (uint64_t id = 1; id <= N_ALERTS; id++) {
		int sev = id % 3 == 0 ? TRACTION__V1__SEVERITY__SEVERITY_CRITICAL
				      : TRACTION__V1__SEVERITY__SEVERITY_MEDIUM;
		crit += sev == TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
		fire(c, id, id % 4 == 0 ? TRACTION__V1__ALERT_STATE__ALERT_RESOLVED
					: TRACTION__V1__ALERT_STATE__ALERT_FIRING,
		     sev);
		if (id % 5 == 0)
			fire(c, 100 + id, TRACTION__V1__ALERT_STATE__ALERT_STATE_UNSPECIFIED, 0);
	}
	CHECK(wait_state(c, "ops", 0, N_ALERTS, 10000));
	CHECK(wait_state(c, "crit", 0, (size_t)crit, 10000));

	/* 500s: retried with backoff, under one id; a 400 is not retried */
	CHECK(wait_state(c, "reject", TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD, N_ALERTS, 10000));
	int most = 0;
	for (int waited = 0; most < 4 && waited < 20000; waited += 200) {
		h_sleep_ms(200);
		json_t *log = s_log();
		most = check_spacing(log);
		json_decref(log);
	}
	CHECK_MSG(most >= 4, "no delivery reached its 4th attempt in 20 s (%d)", most);
	printf("500s: a delivery reached attempt %d, each spaced by the backoff\n", most);
	Traction__V1__WebhookDeliveriesReply *dl;
	CHECK_EQ_INT(deliveries(c, "reject", 0, &dl), N_ALERTS);
	for (size_t i = 0; i < dl->n_deliveries; i++) {
		CHECK_EQ_INT(dl->deliveries[i]->attempts, 1);
		CHECK_EQ_INT(dl->deliveries[i]->last_status, 400);
	}
	traction_reply_free(&dl->base);

	/* the receiver gone: no connection, retried the same */
	s_receiver_stop();
	bool refused = false;
	for (int waited = 0; !refused && waited < 15000; waited += 200) {
		h_sleep_ms(200);
		CHECK(deliveries(c, "ops", TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING, &dl) ==
		      N_ALERTS);
		for (size_t i = 0; i < dl->n_deliveries; i++)
			refused |= dl->deliveries[i]->last_status == 0 &&
				   dl->deliveries[i]->attempts > 1;
		traction_reply_free(&dl->base);
	}
	CHECK_MSG(refused, "no attempt met the closed port");

	/* back, slowly: notifyd SIGKILLed while deliveries are in flight and
	 * pending, and started again */
	json_t *log = s_log();
	size_t before = json_array_size(log);
	json_decref(log);
	s_write("mode", "ok 0.4");
	s_receiver_start(s_port);
	bool flying = false;
	for (int waited = 0; !flying && waited < 15000; waited += 10) {
		h_sleep_ms(10);
		log = s_log();
		for (size_t i = before; i < json_array_size(log); i++)
			flying |= strcmp(s_str(json_array_get(log, i), "path"), "/ops") == 0;
		json_decref(log);
	}
	CHECK_MSG(flying, "no delivery to ops after the receiver came back");
	h_kill(&H, notifyd, SIGKILL);
	h_sleep_ms(600); /* the receiver answers the ones cut short: 200 to no one */
	log = s_log();
	int answered_before = s_count_ends(log, "/ops", 200);
	json_decref(log);
	CHECK_MSG(answered_before > 0, "nothing was in flight at the kill");
	notifyd = h_start(&H, "traction-notifyd", "notifyd");
	traction_client_destroy(&c);
	c = s_client_wait();

	/* everything delivered, once at least */
	CHECK(wait_state(c, "ops", TRACTION__V1__DELIVERY_STATE__DELIVERY_DONE, N_ALERTS, 30000));
	CHECK(wait_state(c, "crit", TRACTION__V1__DELIVERY_STATE__DELIVERY_DONE, (size_t)crit,
			 30000));
	log = s_log();
	check_requests(log);
	/* each delivery id answered 200 at least once; the ones cut short by
	 * the kill twice (at least once is the promise, and the id says so) */
	int ok_ops = s_count_ends(log, "/ops", 200);
	CHECK_MSG(ok_ops >= N_ALERTS + answered_before,
		  "%d answers 200 to /ops; %d alerts and %d answered to a killed notifyd", ok_ops,
		  N_ALERTS, answered_before);
	for (uint64_t id = 1; id <= N_ALERTS; id++) {
		/* seq of alert id: the feedback.problem events are seqs too */
		bool seen = false;
		size_t i;
		json_t *r;
		json_array_foreach(log, i, r)
		{
			json_t *a = json_object_get(json_object_get(r, "body"), "alert");
			seen |= strcmp(s_str(r, "phase"), "end") == 0 &&
				strcmp(s_str(r, "path"), "/ops") == 0 &&
				json_integer_value(json_object_get(r, "status")) == 200 &&
				json_integer_value(json_object_get(a, "id")) == (json_int_t)id;
		}
		CHECK_MSG(seen, "alert %llu never delivered to ops", (unsigned long long)id);
	}
	int most_ops = s_most_in_flight(log, "/ops");
	printf("ops: %d answers 200 for %d alerts (%d answered to the killed notifyd, sent "
	       "again); at most %d in flight (limit %d)\n",
	       ok_ops, N_ALERTS, answered_before, most_ops, OPS_LIMIT);
	CHECK_MSG(most_ops <= OPS_LIMIT, "%d in flight to ops at once, limit %d", most_ops, OPS_LIMIT);
	CHECK_MSG(most_ops == OPS_LIMIT, "ops never had %d in flight (%d)", OPS_LIMIT, most_ops);
	CHECK_MSG(s_most_in_flight(log, "/crit") <= 4, "crit: over its default 4 in flight");
	/* the crit webhook got the critical alerts only */
	size_t i;
	json_t *r;
	json_array_foreach(log, i, r)
	{
		if (strcmp(s_str(r, "path"), "/crit") == 0)
			CHECK_STR(s_str(json_object_get(json_object_get(r, "body"), "alert"), "severity"),
				  "critical");
	}
	json_decref(log);

	/* a dead delivery brought back by an admin: one more attempt */
	Traction__V1__IdRequest rq = TRACTION__V1__ID_REQUEST__INIT;
	CHECK_EQ_INT(deliveries(c, "reject", 0, &dl), N_ALERTS);
	rq.id = dl->deliveries[0]->id;
	Traction__V1__DeliveryReply *rr = NULL;
	traction_status_t st;
	CHECK_EQ_INT(traction_call(c, "notify", "webhook.retry", &rq.base,
				   &traction__v1__delivery_reply__descriptor,
				   (ProtobufCMessage **)&rr, &st),
		     0);
	CHECK_EQ_INT(rr->delivery->state, TRACTION__V1__DELIVERY_STATE__DELIVERY_PENDING);
	traction_reply_free(&rr->base);
	traction_reply_free(&dl->base);
	CHECK(wait_state(c, "reject", TRACTION__V1__DELIVERY_STATE__DELIVERY_DEAD, N_ALERTS, 10000));
	log = s_log();
	CHECK_EQ_INT(s_count_ends(log, "/reject", 400), N_ALERTS + 1);
	json_decref(log);

	/* tractionctl webhook: the same through the command line, no secret */
	char ctl[512], cmd[2400], out[65536];
	h_bin("tractionctl", ctl, sizeof(ctl));
	snprintf(cmd, sizeof(cmd),
		 "'%s' --endpoint %s webhook list && '%s' --endpoint %s --json webhook deliveries "
		 "reject --state dead && '%s' --endpoint %s webhook add x ftp://x 2>&1; true",
		 ctl, H.client_ep, ctl, H.client_ep, ctl, H.client_ep);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	CHECK_CONTAINS(out, "ops ");
	CHECK_CONTAINS(out, "sha256:");
	CHECK_MSG(strstr(out, SECRET) == NULL, "tractionctl shows the secret: %s", out);
	CHECK_CONTAINS(out, "\"state\": \"dead\"");
	CHECK_CONTAINS(out, "INVALID_ARGUMENT: webhook.url");

	s_bursts(&c, &notifyd);

	/* a clean stop with a delivery in flight to a slow receiver: the
	 * transfer is dropped (the delivery stays pending on disk), nothing
	 * leaks (the sanitizer build exits non-zero if it does) */
	log = s_log();
	size_t seen = json_array_size(log);
	json_decref(log);
	s_write("mode", "ok 3");
	fire(c, 99, TRACTION__V1__ALERT_STATE__ALERT_FIRING, 0);
	flying = false;
	for (int waited = 0; !flying && waited < 10000; waited += 20) {
		h_sleep_ms(20);
		log = s_log();
		flying = json_array_size(log) > seen;
		json_decref(log);
	}
	CHECK_MSG(flying, "the last alert was not sent");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int status = h_kill(&H, notifyd, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "notifyd's stop: status %d",
		  status);
	CHECK_MSG(t1.tv_sec - t0.tv_sec < 3, "notifyd took %lds to stop",
		  (long)(t1.tv_sec - t0.tv_sec));

	traction_client_destroy(&c);
	h_done(&H);
	printf("ok: %d checks\n", check_count_);
	return 0;
}
