/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous publisher. See traction/publisher.h.
 *
 * Records are packed once, when queued; a publish request is built by
 * concatenating them as field 1 of PublishRequest, so a retry resends the
 * same bytes (with the same idempotency keys) under a new request id.
 * Replies to a request id that was given up on are ignored: the records'
 * keys make the retry's answer the right one either way. With several
 * brokers (brokers.c) a batch goes through the current one; when that
 * one's connection drops, every batch in flight through it goes again at
 * once through the next, and a batch that timed out moves the publisher
 * off its broker too.
 */
#include "traction/publisher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "arena.h"
#include "lt.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "util.h"
#include "wire.h"

/* A queued record: one allocation, the packed bytes inline. */
typedef struct {
	size_t len;
	uint64_t tag;
	uint8_t data[];          /* packed FeedbackRecord */
} rec_t;

typedef struct {
	bool used;
	uint64_t request_id;
	rec_t **recs;
	size_t n;
	int64_t sent_ms;
	size_t via;              /* the broker it went through */
} slot_t;

struct traction_publisher {
	void *zctx;
	lt_brokers_t *brokers;
	traction_publisher_options_t o;
	char *name;
	/* the queue: a ring of records waiting to be sent */
	rec_t **ring;
	size_t cap, head, count;
	slot_t *slots;
	size_t in_flight;        /* slots used */
	size_t queued;           /* records in the ring and in slots */
	uint64_t next_request_id;
	uint64_t next_key;
	char key_prefix[24];
	size_t key_prefix_len;
	trc_arena_t *arena;      /* a reply's decoding, reset after each */
	int64_t resume_ms;       /* after a refusal by the service: wait till then */
	int backoff_ms;          /* the next wait: 100 ms, doubling to 2 s */
	int election_ms;         /* the next wait in an election: 20 ms, doubling to 250 */
	int64_t refused_at[TRC_BROKERS_MAX]; /* each broker's last UNAVAILABLE (mono ms) */
	uint8_t *body;
	size_t body_cap;
};

static int s_code_retryable(int code)
{
	return code == TRACTION__V1__CODE__UNAVAILABLE ||
	       code == TRACTION__V1__CODE__DEADLINE_EXCEEDED ||
	       code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
}

int traction_publisher_new(traction_publisher_t **pub_p, const char *endpoint,
			   const traction_publisher_options_t *opts)
{
	if (pub_p == NULL)
		return -EINVAL;
	*pub_p = NULL;
	traction_publisher_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	if (opts != NULL)
		p->o = *opts;
	if (p->o.timeout_ms <= 0)
		p->o.timeout_ms = 5000;
	if (p->o.max_queued == 0)
		p->o.max_queued = 100000;
	if (p->o.batch == 0)
		p->o.batch = 64;
	if (p->o.max_in_flight == 0)
		p->o.max_in_flight = 32;
	p->cap = p->o.max_queued;
	p->ring = calloc(p->cap, sizeof(*p->ring));
	p->slots = calloc(p->o.max_in_flight, sizeof(*p->slots));
	p->next_request_id = 1;
	p->backoff_ms = 100;
	p->election_ms = 20;
	/* keys unique to this publisher: pid, time and a counter */
	snprintf(p->key_prefix, sizeof(p->key_prefix), "p%x%llx", (unsigned)getpid(),
		 (unsigned long long)trc_now_ms());
	p->key_prefix_len = strlen(p->key_prefix);
	p->arena = trc_arena_new();
	p->zctx = zmq_ctx_new();
	int rc = p->ring != NULL && p->slots != NULL && p->zctx != NULL && p->arena != NULL
			 ? 0
			 : -ENOMEM;
	lt_keys_t keys = { p->o.server_public_key, p->o.public_key, p->o.secret_key };
	if (rc == 0)
		rc = lt_brokers_new(&p->brokers, p->zctx, endpoint, &keys, 0);
	if (rc == 0 && p->o.client_name != NULL && (p->name = strdup(p->o.client_name)) == NULL)
		rc = -ENOMEM;
	/* the caller's strings are not kept (only the name, copied) */
	p->o.client_name = p->o.server_public_key = p->o.public_key = p->o.secret_key = NULL;
	if (rc != 0) {
		traction_publisher_destroy(&p);
		return rc;
	}
	*pub_p = p;
	return 0;
}

static void s_free_rec(rec_t *r)
{
	free(r);
}

void traction_publisher_destroy(traction_publisher_t **pub_p)
{
	if (pub_p == NULL || *pub_p == NULL)
		return;
	traction_publisher_t *p = *pub_p;
	for (size_t i = 0; p->ring != NULL && i < p->count; i++)
		s_free_rec(p->ring[(p->head + i) % p->cap]);
	for (size_t s = 0; p->slots != NULL && s < p->o.max_in_flight; s++) {
		for (size_t i = 0; p->slots[s].used && i < p->slots[s].n; i++)
			s_free_rec(p->slots[s].recs[i]);
		free(p->slots[s].recs);
	}
	lt_brokers_destroy(&p->brokers);
	if (p->zctx != NULL)
		zmq_ctx_term(p->zctx);
	free(p->ring);
	free(p->slots);
	free(p->body);
	free(p->name);
	trc_arena_destroy(&p->arena);
	free(p);
	*pub_p = NULL;
}

size_t traction_publisher_pending(const traction_publisher_t *p)
{
	return p != NULL ? p->queued : 0;
}

int traction_publish(traction_publisher_t *p, const Traction__V1__FeedbackRecord *record,
		     uint64_t tag)
{
	if (p == NULL || record == NULL)
		return TRACTION__V1__CODE__INVALID_ARGUMENT;
	if (p->queued >= p->o.max_queued)
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	Traction__V1__FeedbackRecord r = *record;
	char key[sizeof(p->key_prefix) + 1 + 16 + 1];
	if (r.idempotency_key == NULL || r.idempotency_key[0] == '\0') {
		/* fixed width: keys sort in publish order, so feedbackd's key
		 * index grows at its right edge (a few pages per commit)
		 * instead of touching a random page per record. Formatted by
		 * hand: snprintf was a twentieth of a publishing thread's time. */
		static const char hex[] = "0123456789abcdef";
		uint64_t n = ++p->next_key;
		memcpy(key, p->key_prefix, p->key_prefix_len);
		char *d = key + p->key_prefix_len;
		*d++ = '-';
		int width = 12; /* as "%012llx": at least 12 digits */
		while (width < 16 && n >> (4 * width) != 0)
			width++;
		for (int i = width - 1; i >= 0; i--, n >>= 4)
			d[i] = hex[n & 15];
		d[width] = '\0';
		r.idempotency_key = key;
	}
	size_t len = traction__v1__feedback_record__get_packed_size(&r);
	rec_t *x = malloc(sizeof(*x) + (len > 0 ? len : 1));
	if (x == NULL)
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	x->len = len;
	traction__v1__feedback_record__pack(&r, x->data);
	x->tag = tag;
	p->ring[(p->head + p->count) % p->cap] = x;
	p->count++;
	p->queued++;
	return 0;
}

static void s_ack(traction_publisher_t *p, rec_t *r, int code, const char *msg, uint64_t id,
		  bool dup)
{
	traction_ack_t ack = { .tag = r->tag, .code = code, .message = msg != NULL ? msg : "",
			       .record_id = id, .duplicate = dup };
	if (p->o.on_ack != NULL)
		p->o.on_ack(p->o.ud, &ack);
	s_free_rec(r);
	p->queued--;
}

/* Puts a slot's records back at the front of the queue, in order. */
static void s_requeue(traction_publisher_t *p, slot_t *s)
{
	for (size_t i = s->n; i-- > 0;) {
		p->head = (p->head + p->cap - 1) % p->cap;
		p->ring[p->head] = s->recs[i];
		p->count++;
	}
	s->used = false;
	s->n = 0;
	p->in_flight--;
}

static int s_send(traction_publisher_t *p, slot_t *s)
{
	size_t need = 0;
	for (size_t i = 0; i < s->n; i++)
		need += 1 + 10 + s->recs[i]->len;
	if (need > p->body_cap) {
		uint8_t *nb = realloc(p->body, need);
		if (nb == NULL)
			return -1;
		p->body = nb;
		p->body_cap = need;
	}
	size_t off = 0;
	for (size_t i = 0; i < s->n; i++) {
		p->body[off++] = 0x0a; /* field 1, length-delimited: PublishRequest.records */
		off += trc_varint_put(p->body + off, s->recs[i]->len);
		memcpy(p->body + off, s->recs[i]->data, s->recs[i]->len);
		off += s->recs[i]->len;
	}
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	uint8_t hbuf[TRC_HEADER_MAX];
	s->request_id = p->next_request_id++;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)"feedback";
	h.method = (char *)"publish";
	h.request_id = s->request_id;
	h.timeout_ms = (uint32_t)p->o.timeout_ms;
	h.client_name = p->name;
	size_t hlen = trc_header_pack(&h, hbuf, sizeof(hbuf));
	trc_frame_t f[2] = { { hbuf, hlen }, { p->body, off } };
	s->sent_ms = trc_mono_ms();
	size_t n = lt_brokers_n(p->brokers);
	for (size_t k = 0; k < n; k++) {
		s->via = lt_brokers_current(p->brokers);
		if (trc_send(lt_brokers_sock(p->brokers, s->via), f, 2, ZMQ_DONTWAIT) == 0)
			return 0;
		if (n > 1 && lt_brokers_up(p->brokers, s->via))
			return -1; /* full, not gone: later */
		lt_brokers_suspect(p->brokers, s->via);
	}
	return -1;
}

/* Fills free slots from the queue. */
static void s_fill(traction_publisher_t *p)
{
	if (trc_mono_ms() < p->resume_ms)
		return;
	for (size_t k = 0; k < p->o.max_in_flight && p->count > 0; k++) {
		slot_t *s = &p->slots[k];
		if (s->used)
			continue;
		size_t n = p->count < p->o.batch ? p->count : p->o.batch;
		if (s->recs == NULL)
			s->recs = calloc(p->o.batch, sizeof(*s->recs));
		if (s->recs == NULL)
			return;
		for (size_t i = 0; i < n; i++) {
			s->recs[i] = p->ring[p->head];
			p->head = (p->head + 1) % p->cap;
			p->count--;
		}
		s->n = n;
		s->used = true;
		p->in_flight++;
		if (s_send(p, s) != 0) {
			s_requeue(p, s); /* the socket is full: later */
			return;
		}
	}
}

static slot_t *s_slot(traction_publisher_t *p, uint64_t request_id)
{
	for (size_t k = 0; k < p->o.max_in_flight; k++)
		if (p->slots[k].used && p->slots[k].request_id == request_id)
			return &p->slots[k];
	return NULL;
}

/* Whether an error reply's details (its body, v1.1) say an election is
 * under way (wire.h's reasons), as traction_call reads them. */
static bool s_election(trc_msg_t *m, ProtobufCAllocator *al)
{
	Traction__V1__ErrorDetails *d =
		m->n >= 2 ? traction__v1__error_details__unpack(al, trc_msg_size(m, 1),
								 trc_msg_data(m, 1))
			  : NULL;
	for (size_t i = 0; d != NULL && i < d->n_details; i++)
		if (strcmp(d->details[i]->reason, TRC_REASON_NO_LEADER) == 0 ||
		    strcmp(d->details[i]->reason, TRC_REASON_LEADERSHIP_CHANGED) == 0)
			return true;
	return false;
}

/* With several brokers, an UNAVAILABLE from broker `via` (one that has
 * just restarted has not yet heard the services register) moves the
 * publisher to the next broker: true when that one has not refused within
 * the current backoff, so the batch may go again at once. When every
 * broker refuses, the service is down: the caller backs off. */
static bool s_other_broker(traction_publisher_t *p, size_t via, int code, bool election)
{
	/* an election (no_leader, leadership_changed) is not the broker's
	 * doing: the others would say the same, or be the one that is gone */
	if (lt_brokers_n(p->brokers) == 1 || code != TRACTION__V1__CODE__UNAVAILABLE || election)
		return false;
	int64_t now = trc_mono_ms();
	p->refused_at[via] = now;
	lt_brokers_suspect(p->brokers, via);
	size_t next = lt_brokers_current(p->brokers);
	return next != via && now - p->refused_at[next] >= p->backoff_ms;
}

/* The service is down or full, or electing a leader: wait, then send
 * again. One wait for the refusals of one moment: the batches in flight
 * all come back refused together, and each doubling the wait would make
 * it 2 s at once. An election waits as traction_call does (20 ms, twice as
 * long each time up to 250: a leader is back within the election timeout
 * or so); anything else from 100 ms up to 2 s. */
static void s_back_off(traction_publisher_t *p, bool election)
{
	int64_t now = trc_mono_ms();
	if (now < p->resume_ms)
		return; /* waiting already: this refusal came with the others */
	int *next = election ? &p->election_ms : &p->backoff_ms, cap = election ? 250 : 2000;
	p->resume_ms = now + *next;
	*next = *next < cap / 2 ? *next * 2 : cap;
}

/* Decodes into the publisher's arena (one reset per reply, not a free per
 * record's result). */
static int s_reply(traction_publisher_t *p, trc_msg_t *m)
{
	const char *why;
	int acked = 0;
	ProtobufCAllocator al = trc_arena_allocator(p->arena);
	Traction__V1__Header *h =
		m->n >= 1 ? trc_header_unpack(&al, trc_msg_data(m, 0), trc_msg_size(m, 0), &why) : NULL;
	slot_t *s = h != NULL ? s_slot(p, h->request_id) : NULL;
	if (h == NULL && m->n >= 1 && trc_arena_failures(p->arena) > 0 &&
	    (s = s_slot(p, trc_header_request_id(trc_msg_data(m, 0), trc_msg_size(m, 0)))) != NULL) {
		s_requeue(p, s); /* out of memory: sent again (see below) */
		return 0;
	}
	if (s == NULL)
		return 0; /* late, or noise */
	int code = h->status != NULL ? h->status->code : 0;
	if (code != 0) {
		if (s_code_retryable(code)) {
			s_requeue(p, s);
			bool election = s_election(m, &al);
			if (s_other_broker(p, s->via, code, election))
				return 0; /* at once, through a broker that has not refused */
			s_back_off(p, election);
		} else {
			for (size_t i = 0; i < s->n; i++, acked++)
				s_ack(p, s->recs[i], code, h->status->message, 0, false);
			s->used = false;
			s->n = 0;
			p->in_flight--;
		}
		return acked;
	}
	size_t failures = trc_arena_failures(p->arena);
	Traction__V1__PublishReply *rep =
		m->n >= 2 ? traction__v1__publish_reply__unpack(&al, trc_msg_size(m, 1),
								trc_msg_data(m, 1))
			  : NULL;
	if (rep == NULL && trc_arena_failures(p->arena) != failures) {
		/* out of memory, not a reply without results: the records are
		 * stored, and sent again their keys make the answer right */
		s_requeue(p, s);
		return 0;
	}
	p->backoff_ms = 100;
	p->election_ms = 20;
	for (size_t i = 0; i < s->n; i++, acked++) {
		if (rep == NULL || i >= rep->n_results) {
			s_ack(p, s->recs[i], TRACTION__V1__CODE__INTERNAL, "reply without a result", 0,
			      false);
			continue;
		}
		const Traction__V1__RecordResult *res = rep->results[i];
		int rc = res->status != NULL ? res->status->code : 0;
		s_ack(p, s->recs[i], rc, res->status != NULL ? res->status->message : "", res->record_id,
		      res->duplicate);
	}
	s->used = false;
	s->n = 0;
	p->in_flight--;
	return acked;
}

/* The batches in flight through a broker whose connection dropped (bit i
 * of dropped: broker i) go again, now: that broker will never answer. */
static void s_dropped(traction_publisher_t *p, uint32_t dropped)
{
	for (size_t k = 0; dropped != 0 && k < p->o.max_in_flight; k++) {
		slot_t *s = &p->slots[k];
		if (s->used && (dropped & (1u << s->via)))
			s_requeue(p, s);
	}
}

int traction_publisher_poll(traction_publisher_t *p, int timeout_ms)
{
	int acked = 0;
	if (p == NULL)
		return 0;
	int64_t now = trc_mono_ms();
	/* what timed out goes again, same bytes, new request id, and (with
	 * several brokers) through another broker */
	for (size_t k = 0; k < p->o.max_in_flight; k++) {
		slot_t *s = &p->slots[k];
		if (s->used && now - s->sent_ms >= p->o.timeout_ms) {
			lt_brokers_suspect(p->brokers, s->via);
			s_requeue(p, s);
		}
	}
	s_fill(p);
	int64_t deadline = now + (timeout_ms > 0 ? timeout_ms : 0);
	size_t n = lt_brokers_n(p->brokers);
	for (;;) {
		int64_t left = deadline - trc_mono_ms();
		zmq_pollitem_t it[2 * TRC_BROKERS_MAX];
		size_t nit = lt_brokers_items(p->brokers, it, ZMQ_POLLIN);
		int wait = p->in_flight > 0 || p->count > 0 ? (int)(left > 0 ? left : 0) : 0;
		if (p->count > 0 && p->resume_ms > trc_mono_ms() && wait > p->resume_ms - trc_mono_ms())
			wait = (int)(p->resume_ms - trc_mono_ms());
		/* records waiting with no broker connected: look again soon */
		if (n > 1 && p->count > 0 && p->in_flight < p->o.max_in_flight && wait > 10)
			wait = 10;
		int ready = zmq_poll(it, (int)nit, wait);
		if (ready < 0 || (ready == 0 && n == 1))
			break;
		if (n > 1)
			s_dropped(p, lt_brokers_events(p->brokers));
		for (size_t i = 0; i < n; i++) {
			trc_msg_t m;
			while ((it[i].revents & ZMQ_POLLIN) &&
			       trc_msg_recv(lt_brokers_sock(p->brokers, i), &m, ZMQ_DONTWAIT) == 0) {
				acked += s_reply(p, &m);
				trc_arena_reset(p->arena);
				trc_msg_close(&m);
			}
		}
		s_fill(p);
		if (acked > 0 || trc_mono_ms() >= deadline)
			break;
	}
	s_fill(p);
	return acked;
}

int traction_publisher_flush(traction_publisher_t *p, int timeout_ms)
{
	if (p == NULL)
		return TRACTION__V1__CODE__INVALID_ARGUMENT;
	int64_t deadline = trc_mono_ms() + timeout_ms;
	while (p->queued > 0) {
		int64_t left = deadline - trc_mono_ms();
		if (left <= 0)
			return TRACTION__V1__CODE__DEADLINE_EXCEEDED;
		traction_publisher_poll(p, (int)(left < 100 ? left : 100));
	}
	return 0;
}
