/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/feedback: records in the JSON Lines format of docs/cli.md, as
 * one JSON object, a JSON array of them, or application/x-ndjson lines;
 * sent to feedback.publish in requests of up to CHUNK records. The answer
 * holds a result per record (its line: the array index + 1, or the line
 * number), each saying whether it is on disk; a line that is not a record
 * is that record's error, and never sent.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "pbjson.h"
#include "traction/v1/feedback.pb-c.h"

/* Records per feedback.publish: large enough that the bus's group commit
 * takes them in one go, small enough that one request stays far below
 * max_message_kb. */
#define CHUNK 1000

typedef struct {
	Traction__V1__FeedbackRecord rec;
	long line;
	bool ok;                   /* parsed: to be sent */
	json_t *result;            /* its result, once known */
} item_t;

typedef struct {
	item_t *v;
	size_t n, cap;
	long accepted, duplicates, refused;
} batch_t;

static item_t *s_push(batch_t *b)
{
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		item_t *nv = realloc(b->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		b->v = nv;
		b->cap = ncap;
	}
	item_t *it = &b->v[b->n++];
	memset(it, 0, sizeof(*it));
	traction__v1__feedback_record__init(&it->rec);
	return it;
}

static json_t *s_refusal(long line, const char *code, const char *msg)
{
	return json_pack("{s:I, s:s, s:s}", "line", (json_int_t)line, "code", code, "message", msg);
}

static void s_add(batch_t *b, json_t *o, long line, const char *idem)
{
	item_t *it = s_push(b);
	char err[256];
	if (it == NULL)
		return;
	it->line = line;
	if (!json_is_object(o)) {
		it->result = s_refusal(line, "INVALID_ARGUMENT", "not a JSON object");
		b->refused++;
		return;
	}
	if (trc_record_from_json(o, &it->rec, err, sizeof(err)) != 0) {
		it->result = s_refusal(line, "INVALID_ARGUMENT", err);
		b->refused++;
		return;
	}
	if (idem != NULL && (it->rec.idempotency_key == NULL || it->rec.idempotency_key[0] == '\0')) {
		if (it->rec.idempotency_key != protobuf_c_empty_string)
			free(it->rec.idempotency_key);
		it->rec.idempotency_key = strdup(idem);
	}
	it->ok = true;
}

/* The body into items: an object, an array, or JSON Lines. */
static int s_parse(gw_request_t *rq, batch_t *b, char *err, size_t errlen)
{
	bool lines = strncmp(rq->content_type, "application/x-ndjson", 20) == 0 ||
		     strncmp(rq->content_type, "application/jsonl", 17) == 0;
	if (!lines) {
		json_error_t je;
		json_t *doc = json_loadb(rq->body, rq->body_len, 0, &je);
		if (doc == NULL) {
			snprintf(err, errlen, "the body is not JSON (line %d: %s); JSON Lines need "
					      "Content-Type: application/x-ndjson",
				 je.line, je.text);
			return -1;
		}
		if (json_is_array(doc)) {
			size_t i;
			json_t *o;
			json_array_foreach(doc, i, o) {
				s_add(b, o, (long)i + 1, NULL);
			}
		} else {
			s_add(b, doc, 1, rq->idempotency_key);
		}
		json_decref(doc);
		return 0;
	}
	const char *p = rq->body, *end = rq->body + rq->body_len;
	long line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		size_t m = n;
		while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' '))
			m--;
		if (m > 0) {
			json_error_t je;
			json_t *o = json_loadb(p, m, 0, &je);
			if (o == NULL) {
				item_t *it = s_push(b);
				if (it != NULL) {
					char msg[200];
					snprintf(msg, sizeof(msg), "not JSON: %s", je.text);
					it->line = line;
					it->result = s_refusal(line, "INVALID_ARGUMENT", msg);
					b->refused++;
				}
			} else {
				s_add(b, o, line, NULL);
				json_decref(o);
			}
		}
		p += n + 1;
	}
	return 0;
}

/* One feedback.publish of the items [from, to) that parsed. */
static int s_send(gw_request_t *rq, batch_t *b, size_t from, size_t to, gw_answer_t *an)
{
	Traction__V1__FeedbackRecord **recs = calloc(to - from, sizeof(*recs));
	size_t *idx = calloc(to - from, sizeof(*idx));
	size_t n = 0;
	if (recs == NULL || idx == NULL) {
		free(recs);
		free(idx);
		return -1;
	}
	for (size_t i = from; i < to; i++)
		if (b->v[i].ok) {
			idx[n] = i;
			recs[n++] = &b->v[i].rec;
		}
	int code = 0;
	if (n > 0) {
		Traction__V1__PublishRequest req = TRACTION__V1__PUBLISH_REQUEST__INIT;
		Traction__V1__PublishReply *rep = NULL;
		traction_status_t st;
		req.records = recs;
		req.n_records = n;
		code = traction_call(rq->client, "feedback", "publish", &req.base,
				     &traction__v1__publish_reply__descriptor,
				     (ProtobufCMessage **)&rep, &st);
		for (size_t k = 0; k < n; k++) {
			item_t *it = &b->v[idx[k]];
			const Traction__V1__RecordResult *r =
				code == 0 && k < rep->n_results ? rep->results[k] : NULL;
			int rc = code != 0 ? code : (int)TRACTION__V1__CODE__INTERNAL;
			if (r != NULL)
				rc = r->status != NULL ? (int)r->status->code : 0;
			if (rc == 0) {
				it->result = json_pack("{s:I, s:I, s:b}", "line", (json_int_t)it->line,
						       "record_id", (json_int_t)r->record_id,
						       "duplicate", r->duplicate);
				if (r->duplicate)
					b->duplicates++;
				else
					b->accepted++;
			} else {
				it->result = s_refusal(it->line, traction_code_name(rc),
						       r != NULL && r->status != NULL ? r->status->message
										  : st.message);
				b->refused++;
			}
		}
		if (code != 0 && from == 0) /* the whole call refused: its error is the answer */
			gw_bus_error(rq, an, code, st.message);
		else if (code == 0)
			gw_positions(rq, an); /* the last chunk's: at or after every other's */
		traction_reply_free(rep != NULL ? &rep->base : NULL);
	}
	free(recs);
	free(idx);
	return code;
}

void gw_feedback_post(gw_request_t *rq, gw_answer_t *an)
{
	batch_t b = { 0 };
	char err[256];
	if (s_parse(rq, &b, err, sizeof(err)) != 0) {
		gw_error(an, 400, "INVALID_ARGUMENT", "%s", err);
		free(b.v);
		return;
	}
	if (b.n == 0) {
		gw_error(an, 400, "INVALID_ARGUMENT", "no records in the body");
		free(b.v);
		return;
	}
	bool single = b.n == 1 && strncmp(rq->content_type, "application/x-ndjson", 20) != 0 &&
		      rq->body_len > 0 && rq->body[strspn(rq->body, " \t\r\n")] == '{';
	int code = 0;
	for (size_t from = 0; from < b.n && code == 0; from += CHUNK) {
		size_t to = from + CHUNK < b.n ? from + CHUNK : b.n;
		code = s_send(rq, &b, from, to, an);
	}
	if (an->doc == NULL) { /* not refused as a whole */
		json_t *results = json_array();
		for (size_t i = 0; i < b.n; i++) {
			json_t *r = b.v[i].result;
			if (r == NULL) /* after a chunk the bus refused: not sent */
				r = s_refusal(b.v[i].line, "ABORTED",
					      "not sent: an earlier part of the body was refused");
			json_array_append_new(results, r);
			b.v[i].result = NULL;
		}
		if (single && b.refused == 1) {
			/* one record: its own status, as any single call */
			json_t *r0 = json_array_get(results, 0);
			const char *c = json_string_value(json_object_get(r0, "code"));
			an->status = 400;
			for (int k = 0; k <= 16; k++)
				if (strcmp(traction_code_name(k), c) == 0)
					an->status = gw_http_status(k);
			an->doc = pbjson_error(c, json_string_value(json_object_get(r0, "message")),
					       NULL);
			json_decref(results);
		} else {
			an->status = 200;
			an->doc = json_pack("{s:I, s:I, s:I, s:o}", "accepted", (json_int_t)b.accepted,
					    "duplicates", (json_int_t)b.duplicates, "refused",
					    (json_int_t)b.refused, "results", results);
		}
	}
	for (size_t i = 0; i < b.n; i++) {
		json_decref(b.v[i].result);
		pbjson_free(&b.v[i].rec.base);
	}
	free(b.v);
}
