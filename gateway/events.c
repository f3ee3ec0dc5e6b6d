/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/events: the readers' feed (events.read) as Server-Sent Events.
 *
 * Query: source (repeatable; default supply, scenario, feedback and
 * iteration), topic (repeatable prefix). Every event's `id:` holds one
 * position per source ("supply:12,feedback:40"), so a browser's reconnect
 * (Last-Event-ID) or ?last_event_id= resumes each source exactly where it
 * was: nothing missed, nothing twice; ?tail=N begins N events before each
 * source's head (a dashboard wants the latest and what happens next, not
 * the whole history). The stream has a bus client of its
 * own and asks each source in turn; when none has anything new it
 * long-polls one of them, so an event is on the wire within about a
 * second of its commit, and a comment line every 15 s keeps proxies (and
 * the check for a gone client) awake.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pbjson.h"
#include "util.h"
#include "traction/v1/events.pb-c.h"

#define SOURCES_MAX 4
#define TOPICS_MAX 16
#define POLL_MS 1000
#define KEEPALIVE_MS 15000

static const char *const s_all[] = { "supply", "scenario", "feedback", "iteration" };

typedef struct {
	traction_client_t *client;
	char user[65];
	char *source[SOURCES_MAX];
	uint64_t pos[SOURCES_MAX];     /* the last sequence passed, per source */
	size_t nsources;
	char *topics[TOPICS_MAX];
	size_t ntopics;
	size_t turn;                   /* the source the next long poll asks */
	bool tail;                     /* ?tail=N: the first round begins N before each head */
	uint64_t backlog;              /* that N */
	int64_t last_sent;
	char *out;                     /* what is ready to send */
	size_t len, off, cap;
	bool failed;
	int code;                      /* the bus error that ended it */
	char why[300];
} stream_t;

int gw_stopping; /* atomic */

static void s_free(void *ctx)
{
	stream_t *s = ctx;
	traction_client_destroy(&s->client);
	for (size_t i = 0; i < s->nsources; i++)
		free(s->source[i]);
	for (size_t i = 0; i < s->ntopics; i++)
		free(s->topics[i]);
	free(s->out);
	free(s);
}

static void s_put(stream_t *s, const char *text, size_t n)
{
	if (s->len + n > s->cap) {
		size_t ncap = s->cap ? s->cap : 8192;
		while (ncap < s->len + n)
			ncap *= 2;
		char *no = realloc(s->out, ncap);
		if (no == NULL) {
			s->failed = true;
			return;
		}
		s->out = no;
		s->cap = ncap;
	}
	memcpy(s->out + s->len, text, n);
	s->len += n;
}

static void s_id(const stream_t *s, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->nsources && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s:%llu", i ? "," : "", s->source[i],
				      (unsigned long long)s->pos[i]);
}

static void s_event(stream_t *s, size_t src, const Traction__V1__Event *ev)
{
	s->pos[src] = ev->seq;
	json_t *j = pbjson_from_message(&ev->base);
	char *data = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	char head[512], id[256];
	s_id(s, id, sizeof(id));
	int n = snprintf(head, sizeof(head), "id: %s\nevent: %s\ndata: ", id, ev->type);
	s_put(s, head, (size_t)n);
	if (data != NULL)
		s_put(s, data, strlen(data));
	s_put(s, "\n\n", 2);
	free(data);
}

/* One events.read of source i; 1 if it sent something, 0 if not, -1 on a
 * bus error (said on the stream as an `error` event, then the end; its
 * code and message in s->code and s->why). */
static int s_read(stream_t *s, size_t i, uint32_t wait_ms)
{
	Traction__V1__EventsReadRequest req = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	Traction__V1__EventsReadReply *rep = NULL;
	traction_status_t st;
	/* past every head: nothing comes back but where the head is */
	req.from_seq = s->tail ? UINT64_MAX : s->pos[i] + 1;
	req.topics = s->topics;
	req.n_topics = s->ntopics;
	req.max = 200;
	req.wait_ms = wait_ms;
	traction_client_set_timeout(s->client, (int)wait_ms + 5000);
	int code = traction_call(s->client, s->source[i], "events.read", &req.base,
				 &traction__v1__events_read_reply__descriptor,
				 (ProtobufCMessage **)&rep, &st);
	if (code != 0) {
		s->code = code;
		snprintf(s->why, sizeof(s->why), "%s: %.200s", s->source[i], st.message);
		json_t *e = pbjson_error(traction_code_name(code), s->why, NULL);
		char *data = json_dumps(e, JSON_COMPACT);
		json_decref(e);
		s_put(s, "event: error\ndata: ", 19);
		if (data != NULL)
			s_put(s, data, strlen(data));
		s_put(s, "\n\n", 2);
		free(data);
		s->failed = true;
		return -1;
	}
	if (s->tail) {
		s->pos[i] = rep->head_seq > s->backlog ? rep->head_seq - s->backlog : 0;
		traction_reply_free(&rep->base);
		return 0;
	}
	for (size_t k = 0; k < rep->n_events; k++)
		s_event(s, i, rep->events[k]);
	if (rep->next_seq > 0 && rep->next_seq - 1 > s->pos[i])
		s->pos[i] = rep->next_seq - 1; /* past what the filters left out */
	int any = rep->n_events > 0;
	traction_reply_free(&rep->base);
	return any;
}

/* Fills the buffer: each source once, and a long poll when none had news. */
static void s_fill(stream_t *s)
{
	while (s->len == 0 && !s->failed && !__atomic_load_n(&gw_stopping, __ATOMIC_RELAXED)) {
		int any = 0;
		for (size_t i = 0; i < s->nsources && any >= 0; i++) {
			int r = s_read(s, i, 0);
			any = r < 0 ? -1 : any + r;
		}
		if (any < 0 || any > 0)
			break;
		size_t i = s->turn++ % s->nsources;
		if (s_read(s, i, POLL_MS) != 0)
			break;
		if (trc_mono_ms() - s->last_sent >= KEEPALIVE_MS)
			s_put(s, ": keep-alive\n\n", 14);
	}
}

static long s_next(void *ctx, char *buf, size_t max)
{
	stream_t *s = ctx;
	if (s->off == s->len) {
		s->off = s->len = 0;
		if (s->failed || __atomic_load_n(&gw_stopping, __ATOMIC_RELAXED))
			return -1;
		s_fill(s);
		if (s->len == 0)
			return -1;
	}
	size_t n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->out + s->off, n);
	s->off += n;
	s->last_sent = trc_mono_ms();
	return (long)n;
}

/* One SOURCE:SEQ of a Last-Event-ID: the position of that source, if
 * the stream follows it. */
static int s_resume_one(void *ud, const char *source, uint64_t seq)
{
	stream_t *s = ud;
	for (size_t i = 0; i < s->nsources; i++)
		if (strcmp(s->source[i], source) == 0)
			s->pos[i] = seq;
	return 0;
}

/* One query parameter of the stream into s: 0, or -1 with the 400 in an. */
static int s_param(stream_t *s, const char *k, const char *v, const char **resume,
		   gw_answer_t *an)
{
	if (strcmp(k, "source") == 0) {
		bool known = false;
		for (size_t a = 0; a < SOURCES_MAX; a++)
			known = known || strcmp(v, s_all[a]) == 0;
		for (size_t a = 0; a < s->nsources; a++)
			known = known && strcmp(v, s->source[a]) != 0;
		if (!known || s->nsources == SOURCES_MAX) {
			gw_error(an, 400, "INVALID_ARGUMENT",
				 "source: '%.64s' is not supply, scenario, feedback or iteration (or "
				 "is given twice)",
				 v);
			return -1;
		}
		s->source[s->nsources++] = strdup(v);
	} else if (strcmp(k, "topic") == 0 && s->ntopics < TOPICS_MAX) {
		if (!trc_topic_prefix_ok(v, strlen(v))) {
			gw_error(an, 400, "INVALID_ARGUMENT",
				 "topic: not a topic prefix ([A-Za-z0-9._-], at most 128)");
			return -1;
		}
		s->topics[s->ntopics++] = strdup(v);
	} else if (strcmp(k, "last_event_id") == 0) {
		*resume = v;
	} else if (strcmp(k, "tail") == 0) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || n > 10000) {
			gw_error(an, 400, "INVALID_ARGUMENT",
				 "tail: expected 0..10000, the events before each head to begin with");
			return -1;
		}
		s->tail = true;
		s->backlog = n;
	} else {
		gw_error(an, 400, "INVALID_ARGUMENT",
			 "query %.64s: the parameters are source, topic, last_event_id and tail", k);
		return -1;
	}
	return 0;
}

/* The first round, answered now: a role that may not read, a source down,
 * is an HTTP error rather than a stream that ends at once. 0, or -1 with
 * the error in an. */
static int s_first_round(stream_t *s, gw_answer_t *an)
{
	s_put(s, "retry: 2000\n\n", 13);
	for (size_t i = 0; i < s->nsources; i++)
		if (s_read(s, i, 0) < 0) {
			an->status = gw_http_status(s->code);
			an->doc = pbjson_error(
				traction_code_name(s->code), s->why,
				(const ProtobufCMessage *)traction_last_details(s->client));
			return -1;
		}
	if (s->tail) { /* an id of its own: a reconnect before any event resumes there */
		char id[256], line[300];
		s_id(s, id, sizeof(id));
		int n = snprintf(line, sizeof(line), "id: %s\n\n", id);
		s_put(s, line, (size_t)n);
	}
	s->tail = false;
	return 0;
}

void gw_events(gw_request_t *rq, gw_answer_t *an)
{
	stream_t *s = calloc(1, sizeof(*s));
	const char *resume = rq->last_event_id;
	if (s == NULL) {
		gw_error(an, 500, "RESOURCE_EXHAUSTED", "out of memory");
		return;
	}
	for (size_t i = 0; i < rq->nquery; i++)
		if (s_param(s, rq->query[i].key, rq->query[i].value, &resume, an) != 0) {
			s_free(s);
			return;
		}
	if (s->nsources == 0)
		for (size_t a = 0; a < SOURCES_MAX; a++)
			s->source[s->nsources++] = strdup(s_all[a]);
	if (resume != NULL)
		s->tail = false; /* a reconnect resumes where it was, whatever it began with */
	if (resume != NULL && gw_positions_each(resume, s_resume_one, s) != 0) {
		s_free(s);
		gw_error(an, 400, "INVALID_ARGUMENT",
			 "Last-Event-ID: expected SOURCE:SEQ,SOURCE:SEQ as this stream's ids");
		return;
	}
	if (gw_client_new(&s->client, rq->user) != 0) {
		s_free(s);
		gw_error(an, 503, "UNAVAILABLE", "cannot reach the broker");
		return;
	}
	if (s_first_round(s, an) != 0) {
		s_free(s);
		return;
	}
	s->last_sent = trc_mono_ms();
	an->status = 200;
	an->next = s_next;
	an->free_ctx = s_free;
	an->ctx = s;
}
