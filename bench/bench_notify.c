/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_notify: webhook delivery of alerts by traction-notifyd, against
 * a bare libcurl loop posting to the same receiver in the same
 * invocation.
 *
 *   traction   the set (broker, supplyd, scenariod, feedbackd) and
 *              notifyd; a critical-problem alert rule and one webhook
 *              (max_in_flight W) to a receiver on a loopback port; then
 *              N problem records of critical severity, each of its own
 *              signature, published in requests of 100: N alerts fired
 *              (alert.fired events), each delivered once. A delivery's
 *              latency runs from the alert's event (the body's time_ms,
 *              feedbackd's clock, in ms) to the receipt of its POST; the
 *              rate is N over the time from the first alert's event to
 *              the last receipt.
 *   baseline   the same receiver, N POSTs of a body of the same size
 *              and as many headers from a bare libcurl multi loop with W
 *              transfers at once (as notifyd's sender does): latency from
 *              handing a transfer to libcurl to its receipt.
 *
 * A burst of N alerts measures the rate, and its latencies are mostly
 * the wait in the queue; then N/10 alerts paced one every PACE_MS (well
 * below either rate) measure the latency of one delivery, against as
 * many bare POSTs paced the same.
 *
 * The receiver (a thread here: HTTP/1.1, keep-alive, 200 with an empty
 * body) counts a delivery once by its Traction-Delivery id; the rows stand
 * only if every alert was received (a duplicate, which at-least-once
 * delivery allows, is counted apart and said).
 *   bench_notify [N [W]]      (default 2000 alerts, 16 in flight)
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_util.h"
#include "harness.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/notify.pb-c.h"

#define SECRET "a-bench-secret-of-32-bytes-long!"
#define CONNS_MAX 256
#define REQ_MAX 65536 /* a request's head and body, at most */
#define PUBLISH_BATCH 100
#define PACE_MS 20

static harness_t H;

static double s_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- the receiver ---------------------------------------------------------------- */

typedef struct {
	int fd;
	size_t len;
	char buf[REQ_MAX];
} conn_t;

typedef struct {
	int lfd;
	unsigned port;
	volatile int stop;
	pthread_mutex_t mu;
	/* /hook: by delivery, in order of receipt */
	size_t n_hook, dup_hook, cap;
	char (*ids)[96];
	double *hook_lat_us;   /* receipt - the event's time_ms */
	double first_event_us, last_hook_us;
	size_t body_len;       /* the first delivery's body: the baseline's size */
	/* /raw/<i>: receipt time of POST i */
	double *raw_at;
	size_t n_raw;
} receiver_t;

static const char *s_find(const char *hay, size_t n, const char *needle)
{
	size_t l = strlen(needle);
	for (size_t i = 0; i + l <= n; i++)
		if (strncasecmp(hay + i, needle, l) == 0)
			return hay + i;
	return NULL;
}

/* One whole request (head + body of Content-Length) taken in. */
static void s_took(receiver_t *r, const char *req, size_t head, size_t len)
{
	double now = s_wall_us();
	pthread_mutex_lock(&r->mu);
	if (strncmp(req, "POST /raw/", 10) == 0) {
		size_t i = strtoull(req + 10, NULL, 10);
		if (i < r->cap && r->raw_at[i] == 0) {
			r->raw_at[i] = now;
			r->n_raw++;
		}
	} else if (strncmp(req, "POST /hook", 10) == 0) {
		const char *d = s_find(req, head, "\r\nTraction-Delivery: ");
		const char *t = s_find(req + head, len - head, "\"time_ms\":");
		char id[96] = "";
		if (d != NULL)
			sscanf(d + 21, "%95[^\r]", id);
		bool seen = false;
		for (size_t i = r->n_hook; i-- > 0 && !seen;)
			seen = strcmp(r->ids[i], id) == 0;
		if (seen || id[0] == '\0' || t == NULL || r->n_hook == r->cap) {
			r->dup_hook++;
		} else {
			double ev_us = strtod(t + 10, NULL) * 1e3;
			snprintf(r->ids[r->n_hook], sizeof(r->ids[0]), "%s", id);
			r->hook_lat_us[r->n_hook++] = now - ev_us;
			if (r->body_len == 0)
				r->body_len = len - head;
			if (r->first_event_us == 0 || ev_us < r->first_event_us)
				r->first_event_us = ev_us;
			r->last_hook_us = now;
		}
	}
	pthread_mutex_unlock(&r->mu);
}

/* Takes every whole request in c's buffer and answers each: 0, or -1
 * when the connection is to be closed. */
static int s_serve(receiver_t *r, conn_t *c)
{
	for (;;) {
		const char *end = s_find(c->buf, c->len, "\r\n\r\n");
		if (end == NULL)
			return c->len < sizeof(c->buf) ? 0 : -1;
		size_t head = (size_t)(end - c->buf) + 4, body = 0;
		const char *cl = s_find(c->buf, head, "\r\nContent-Length:");
		if (cl != NULL)
			body = strtoull(cl + 17, NULL, 10);
		if (head + body > sizeof(c->buf))
			return -1;
		if (c->len < head + body)
			return 0;
		s_took(r, c->buf, head, head + body);
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		if (write(c->fd, ok, sizeof(ok) - 1) != (ssize_t)sizeof(ok) - 1)
			return -1;
		memmove(c->buf, c->buf + head + body, c->len - head - body);
		c->len -= head + body;
	}
}

static void *s_receive(void *arg)
{
	receiver_t *r = arg;
	static conn_t conns[CONNS_MAX];
	struct pollfd pf[CONNS_MAX + 1];
	size_t n = 0;
	while (!r->stop) {
		pf[0] = (struct pollfd){ .fd = r->lfd, .events = POLLIN };
		for (size_t i = 0; i < n; i++)
			pf[i + 1] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(pf, n + 1, 50) <= 0)
			continue;
		if ((pf[0].revents & POLLIN) && n < CONNS_MAX) {
			int fd = accept(r->lfd, NULL, NULL);
			if (fd >= 0) {
				conns[n].fd = fd;
				conns[n].len = 0;
				n++;
			}
		}
		for (size_t i = n; i-- > 0;) {
			if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			conn_t *c = &conns[i];
			ssize_t got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (got > 0)
				c->len += (size_t)got;
			if (got <= 0 || s_serve(r, c) != 0) {
				close(c->fd);
				conns[i] = conns[--n];
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		close(conns[i].fd);
	return NULL;
}

static void s_receiver_start(receiver_t *r, size_t cap, pthread_t *t)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->cap = cap;
	r->ids = calloc(cap, sizeof(*r->ids));
	r->hook_lat_us = calloc(cap, sizeof(double));
	r->raw_at = calloc(cap, sizeof(double));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->ids == NULL || r->hook_lat_us == NULL || r->raw_at == NULL || r->lfd < 0 ||
	    bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(r->lfd, 256) != 0 ||
	    getsockname(r->lfd, (struct sockaddr *)&sa, &len) != 0 ||
	    pthread_create(t, NULL, s_receive, r) != 0) {
		fprintf(stderr, "bench_notify: the receiver: %s\n", strerror(errno));
		exit(1);
	}
	r->port = ntohs(sa.sin_port);
}

/* ---- the baseline: a bare libcurl multi loop -------------------------------------- */

static size_t s_discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* POSTs from..to-1 of body with headers to /raw/<i>, W at once, or
 * (pace_ms > 0) one every pace_ms; the time each was handed to libcurl
 * into sent_at[i]. The transfers that failed: how many. */
static size_t s_bare_curl(unsigned port, size_t from, size_t to, int w, int pace_ms,
			  const char *body, struct curl_slist *hdrs, double *sent_at)
{
	CURLM *m = curl_multi_init();
	size_t next = from, failed = 0;
	int running = 0;
	char url[96];
	double due = bench_now_us();
	while (next < to || running > 0) {
		while (next < to && running < w && (pace_ms == 0 || bench_now_us() >= due)) {
			due += pace_ms * 1e3;
			CURL *e = curl_easy_init();
			snprintf(url, sizeof(url), "http://127.0.0.1:%u/raw/%zu", port, next);
			curl_easy_setopt(e, CURLOPT_URL, url);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
			curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
			sent_at[next++] = s_wall_us();
			curl_multi_add_handle(m, e);
			running++;
		}
		int still;
		curl_multi_perform(m, &still);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			long status = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			failed += msg->data.result != CURLE_OK || status != 200;
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			running--;
		}
		if (running > 0)
			curl_multi_poll(m, NULL, 0, pace_ms > 0 ? 1 : 100, NULL);
		else if (next < to) /* paced: until the next one is due */
			usleep(200);
	}
	curl_multi_cleanup(m);
	return failed;
}

/* ---- traction: alerts fired by feedbackd, delivered by notifyd -------------------- */

static void s_call(traction_client_t *c, const char *service, const char *method,
		   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	int code = -1;
	for (int i = 0; i < 100 && code != 0; i++) /* a daemon still coming up */
		if ((code = traction_call(c, service, method, req, d, &rep, &st)) != 0)
			usleep(50000);
	if (code != 0) {
		fprintf(stderr, "bench_notify: %s %s: %s\n", service, method, st.message);
		exit(1);
	}
	traction_reply_free(rep);
}

static void s_rule_and_hook(traction_client_t *c, unsigned port, int w)
{
	Traction__V1__AlertRule r = TRACTION__V1__ALERT_RULE__INIT;
	Traction__V1__AlertAddRequest ra = TRACTION__V1__ALERT_ADD_REQUEST__INIT;
	r.id = (char *)"critical";
	r.kind = TRACTION__V1__ALERT_KIND__ALERT_CRITICAL_PROBLEM;
	ra.rule = &r;
	s_call(c, "feedback", "alert.add", &ra.base, &traction__v1__alert_rule_reply__descriptor);
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	Traction__V1__Webhook h = TRACTION__V1__WEBHOOK__INIT;
	Traction__V1__WebhookAddRequest wa = TRACTION__V1__WEBHOOK_ADD_REQUEST__INIT;
	h.name = (char *)"bench";
	h.url = url;
	h.secret = (ProtobufCBinaryData){ strlen(SECRET), (uint8_t *)SECRET };
	h.max_in_flight = (uint32_t)w;
	wa.webhook = &h;
	s_call(c, "notify", "webhook.add", &wa.base, &traction__v1__webhook_reply__descriptor);
}

/* Problem records from..to-1 of critical severity, each a problem of its
 * own (its signature), in requests of `batch` (at most PUBLISH_BATCH), a
 * request every pace_ms (0: at once); every one must be stored. */
static void s_problems(traction_client_t *c, size_t from, size_t to, size_t batch, int pace_ms)
{
	Traction__V1__FeedbackRecord r[PUBLISH_BATCH], *rp[PUBLISH_BATCH];
	Traction__V1__Problem p[PUBLISH_BATCH];
	char sig[PUBLISH_BATCH][32], key[PUBLISH_BATCH][32];
	double due = bench_now_us();
	for (size_t at = from; at < to; at += batch) {
		size_t k = to - at < batch ? to - at : batch;
		while (pace_ms > 0 && bench_now_us() < due)
			usleep(200);
		due += pace_ms * 1e3;
		for (size_t i = 0; i < k; i++) {
			traction__v1__feedback_record__init(&r[i]);
			traction__v1__problem__init(&p[i]);
			snprintf(sig[i], sizeof(sig[i]), "bench-%zu", at + i);
			snprintf(key[i], sizeof(key[i]), "notify-%zu", at + i);
			p[i].severity = TRACTION__V1__SEVERITY__SEVERITY_CRITICAL;
			p[i].title = (char *)"a weld seam missed";
			p[i].signature = sig[i];
			r[i].scenario_id = (char *)"weld-line-3";
			r[i].supply_id = (char *)"defect-vision";
			r[i].version = (char *)"1.0";
			r[i].idempotency_key = key[i];
			r[i].body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM;
			r[i].problem = &p[i];
			rp[i] = &r[i];
		}
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		req.records = rp;
		req.n_records = k;
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		if (traction_call(c, "feedback", "publish", &req.base,
				  &traction__v1__publish_reply__descriptor, (ProtobufCMessage **)&rep,
				  &st) != 0) {
			fprintf(stderr, "bench_notify: publish: %s\n", st.message);
			exit(1);
		}
		for (size_t i = 0; i < rep->n_results; i++)
			if (rep->results[i]->status->code != 0) {
				fprintf(stderr, "bench_notify: problem record %zu refused: %s\n", at + i,
					rep->results[i]->status->message);
				exit(1);
			}
		traction_reply_free(&rep->base);
	}
}

/* Until the receiver has n deliveries; no figure if they take 120 s. */
static void s_wait_hooks(receiver_t *r, size_t n, double t0)
{
	for (;;) {
		pthread_mutex_lock(&r->mu);
		size_t got = r->n_hook;
		pthread_mutex_unlock(&r->mu);
		if (got >= n)
			return;
		if (bench_now_us() - t0 > 120e6) {
			fprintf(stderr, "bench_notify: %zu of %zu alerts delivered in 120 s; no figure\n",
				got, n);
			exit(1);
		}
		usleep(1000);
	}
}

/* rate: deliveries/s, or -1 (paced: not a rate) */
static void s_row(const char *name, double rate, double *lat, size_t nlat)
{
	double p50 = bench_quantile(lat, nlat, 0.5), p99 = bench_quantile(lat, nlat, 0.99);
	if (rate >= 0)
		printf("%-96s %8.0f deliveries/s", name, rate);
	else
		printf("%-96s %8s deliveries/s", name, "-");
	printf("   p50 %10.1f us   p99 %10.1f us\n", p50, p99);
	bench_row(name, rate, p50, p99);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
	int w = argc > 2 ? atoi(argv[2]) : 16;
	if (n == 0 || w < 1 || w > 64)
		return 2;
	bench_section = "notify";
	curl_global_init(CURL_GLOBAL_DEFAULT);
	receiver_t rcv;
	pthread_t rt;
	s_receiver_start(&rcv, n + (n / 10 > 0 ? n / 10 : 1), &rt);
	h_init(&H, "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 1024\n"
		   "[log]\nlevel = warning\n");
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-scenariod", NULL);
	h_start(&H, "traction-feedbackd", NULL);
	h_start(&H, "traction-notifyd", "notifyd");
	if (!h_wait_live(&H, "feedback", 1, 5000) || !h_wait_live(&H, "notify", 1, 5000))
		return 1;
	traction_client_t *c = h_client(&H);
	bench_catalogue(c, true);
	s_rule_and_hook(c, rcv.port, w);

	/* traction: a burst of N alerts, then N/10 paced */
	size_t paced = n / 10 > 0 ? n / 10 : 1;
	double t0 = bench_now_us();
	s_problems(c, 0, n, PUBLISH_BATCH, 0);
	double published = bench_now_us();
	s_wait_hooks(&rcv, n, t0);
	pthread_mutex_lock(&rcv.mu);
	double elapsed = rcv.last_hook_us - rcv.first_event_us;
	pthread_mutex_unlock(&rcv.mu);
	s_problems(c, n, n + paced, 1, PACE_MS);
	s_wait_hooks(&rcv, n + paced, t0);
	usleep(300000); /* a duplicate would come now */
	pthread_mutex_lock(&rcv.mu);
	size_t dups = rcv.dup_hook;
	pthread_mutex_unlock(&rcv.mu);
	printf("%zu problem records published in %.0f ms, then %zu one every %d ms; every alert "
	       "fired and delivered, once each (%zu requests more: duplicates); bodies of %zu "
	       "bytes\n",
	       n, (published - t0) / 1e3, paced, PACE_MS, dups, rcv.body_len);
	traction_client_destroy(&c);

	/* the baseline: as many POSTs of a body of the same size, as many headers */
	size_t blen = rcv.body_len > 2 ? rcv.body_len : 2;
	char *body = malloc(blen + 1);
	memset(body, 'x', blen);
	body[0] = '{';
	body[blen - 1] = '}';
	body[blen] = '\0';
	struct curl_slist *hdrs = NULL;
	const char *hv[] = { "Content-Type: application/json", "Traction-Event: alert.fired",
			     "Traction-Delivery: 1-bench", "Traction-Attempt: 1",
			     "Traction-Signature: t=1,v1=00", "Expect:" };
	for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++)
		hdrs = curl_slist_append(hdrs, hv[i]);
	double *sent_at = calloc(n + paced, sizeof(double)),
	       *lat = calloc(n + paced, sizeof(double));
	double b0 = s_wall_us();
	size_t failed = s_bare_curl(rcv.port, 0, n, w, 0, body, hdrs, sent_at);
	usleep(100000);
	double b_last = 0;
	pthread_mutex_lock(&rcv.mu);
	for (size_t i = 0; i < n; i++)
		b_last = rcv.raw_at[i] > b_last ? rcv.raw_at[i] : b_last;
	pthread_mutex_unlock(&rcv.mu);
	failed += s_bare_curl(rcv.port, n, n + paced, 1, PACE_MS, body, hdrs, sent_at);
	usleep(100000);
	pthread_mutex_lock(&rcv.mu);
	size_t nraw = rcv.n_raw;
	for (size_t i = 0; i < n + paced; i++)
		lat[i] = rcv.raw_at[i] - sent_at[i];
	pthread_mutex_unlock(&rcv.mu);
	if (failed != 0 || nraw != n + paced) {
		fprintf(stderr, "bench_notify: the bare loop: %zu of %zu received, %zu failed\n", nraw,
			n + paced, failed);
		return 1;
	}

	char name[160];
	snprintf(name, sizeof(name), "baseline: bare libcurl multi, %zu POSTs, %d in flight", n, w);
	s_row(name, (double)n / ((b_last - b0) / 1e6), lat, n);
	snprintf(name, sizeof(name), "traction-notifyd, a burst of %zu alerts, max_in_flight %d "
		 "(latency: fired to POST received)", n, w);
	s_row(name, (double)n / (elapsed / 1e6), rcv.hook_lat_us, n);
	snprintf(name, sizeof(name), "baseline: bare libcurl, one POST every %d ms", PACE_MS);
	s_row(name, -1, lat + n, paced);
	snprintf(name, sizeof(name), "traction-notifyd, one alert every %d ms (latency: fired to "
		 "POST received)", PACE_MS);
	s_row(name, -1, rcv.hook_lat_us + n, paced);
	printf("ratio: deliveries/s of notifyd / of the bare loop = %.3f\n",
	       ((double)n / (elapsed / 1e6)) / ((double)n / ((b_last - b0) / 1e6)));

	rcv.stop = 1;
	pthread_join(rt, NULL);
	close(rcv.lfd);
	curl_slist_free_all(hdrs);
	free(body);
	free(sent_at);
	free(lat);
	free(rcv.ids);
	free(rcv.hook_lat_us);
	free(rcv.raw_at);
	curl_global_cleanup();
	h_done(&H);
	return 0;
}
