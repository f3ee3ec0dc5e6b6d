/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtraction's synchronous client: a DEALER socket to each broker of its
 * endpoint list (brokers.c), a request id per call, replies matched by id
 * (late replies of calls that already timed out are dropped). A call
 * caught in its broker's death goes again, same id, through the next
 * broker: reads and keyed feedback are safe to repeat; another write may
 * find its own effect (docs/operations.md, "Two brokers"). So does a call
 * refused UNAVAILABLE, within its deadline. One refused during an
 * election (a detail no_leader or leadership_changed) goes again, same
 * id, through the same broker after a backoff: not the broker's fault.
 */
#include "traction/traction.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "util.h"
#include "wire.h"

#define AFTER_MAX 8
/* With several brokers, a call refused UNAVAILABLE by one goes again
 * through the next after this long (ms), within its deadline. */
#define RETRY_MS 50
/* During an election, the first wait before the call goes again, and the
 * longest (it doubles in between): an election takes a timeout or two
 * (1-2 s with [cluster]'s defaults). */
#define ELECTION_RETRY_MS 20
#define ELECTION_RETRY_MAX_MS 250

struct traction_client {
	void *zctx;
	bool own_ctx;                 /* made here (else the caller's: not ended here) */
	lt_brokers_t *brokers;
	int timeout_ms;
	uint64_t next_id;
	char *name;
	char *on_behalf_of;
	bool stale;                   /* traction_client_stale */
	Traction__V1__EventPosition after[AFTER_MAX];
	Traction__V1__EventPosition *afterp[AFTER_MAX];
	size_t n_after;
	/* the last reply's */
	Traction__V1__Header *last;
	Traction__V1__ErrorDetails *details;
};

static void s_forget_last(traction_client_t *c)
{
	if (c->last != NULL)
		protobuf_c_message_free_unpacked(&c->last->base, NULL);
	if (c->details != NULL)
		protobuf_c_message_free_unpacked(&c->details->base, NULL);
	c->last = NULL;
	c->details = NULL;
}

static void s_status(traction_status_t *st, int code, const char *msg)
{
	if (st == NULL)
		return;
	st->code = code;
	snprintf(st->message, sizeof(st->message), "%s", msg != NULL ? msg : "");
}

static bool s_key_ok(const char *key)
{
	return key != NULL && strlen(key) == 40;
}

int lt_connect(void *sock, const char *endpoint, const char *server_public_key,
	       const char *public_key, const char *secret_key, int hwm)
{
	int linger = 0;
	if (endpoint == NULL)
		return -EINVAL;
	if (server_public_key != NULL &&
	    (!s_key_ok(server_public_key) || !s_key_ok(public_key) || !s_key_ok(secret_key)))
		return -EINVAL;
	if (server_public_key != NULL &&
	    (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_key, 40) != 0 ||
	     zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0 ||
	     zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, 40) != 0))
		return -errno;
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_connect(sock, endpoint) != 0)
		return -errno;
	return 0;
}

static void *s_alloc(void *data, size_t size)
{
	void *p = malloc(size);
	if (p == NULL)
		((lt_alloc_t *)data)->failed = true;
	return p;
}

static void s_free(void *data, void *p)
{
	(void)data;
	free(p);
}

void lt_alloc_init(lt_alloc_t *a)
{
	a->al = (ProtobufCAllocator){ .alloc = s_alloc, .free = s_free, .allocator_data = a };
	a->failed = false;
}

int traction_client_new(traction_client_t **client_p, const char *endpoint,
			const traction_options_t *opts)
{
	return traction_client_new_in(client_p, endpoint, opts, NULL);
}

int traction_client_new_in(traction_client_t **client_p, const char *endpoint,
			   const traction_options_t *opts, void *zmq_context)
{
	if (client_p == NULL)
		return -EINVAL;
	*client_p = NULL;
	traction_client_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->timeout_ms = opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
	c->next_id = 1;
	c->own_ctx = zmq_context == NULL;
	c->zctx = c->own_ctx ? zmq_ctx_new() : zmq_context;
	int rc = c->zctx != NULL ? 0 : -ENOMEM;
	if (rc == 0 && opts != NULL && opts->client_name != NULL &&
	    (c->name = strdup(opts->client_name)) == NULL)
		rc = -ENOMEM;
	lt_keys_t keys = { opts != NULL ? opts->server_public_key : NULL,
			   opts != NULL ? opts->public_key : NULL,
			   opts != NULL ? opts->secret_key : NULL };
	if (rc == 0)
		rc = lt_brokers_new(&c->brokers, c->zctx, endpoint, &keys, 100000);
	if (rc != 0) {
		traction_client_destroy(&c);
		return rc;
	}
	*client_p = c;
	return 0;
}

void traction_client_destroy(traction_client_t **client_p)
{
	if (client_p == NULL || *client_p == NULL)
		return;
	traction_client_t *c = *client_p;
	s_forget_last(c);
	traction_client_after(c, NULL, 0);
	free(c->on_behalf_of);
	lt_brokers_destroy(&c->brokers);
	if (c->own_ctx && c->zctx != NULL)
		zmq_ctx_term(c->zctx);
	free(c->name);
	free(c);
	*client_p = NULL;
}

void traction_client_set_timeout(traction_client_t *c, int timeout_ms)
{
	if (c != NULL)
		c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
}

/* The request, sent to the current broker or, with several, the next
 * that takes it (*via: which): 0, or a status code (st says why;
 * UNAVAILABLE with several brokers: none is connected now). */
static int s_send_request(traction_client_t *c, Traction__V1__Header *h,
			  const ProtobufCMessage *request, traction_status_t *st, size_t *via)
{
	uint8_t hbuf[TRC_HEADER_MAX];
	uint8_t small[4096];
	size_t hlen = trc_header_pack(h, hbuf, sizeof(hbuf));
	if (hlen == 0) {
		s_status(st, TRACTION__V1__CODE__INVALID_ARGUMENT, "service or method name too long");
		return TRACTION__V1__CODE__INVALID_ARGUMENT;
	}
	size_t blen = request != NULL ? protobuf_c_message_get_packed_size(request) : 0;
	uint8_t *body = blen <= sizeof(small) ? small : malloc(blen);
	if (body == NULL) {
		s_status(st, TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "out of memory");
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	}
	if (request != NULL)
		protobuf_c_message_pack(request, body);
	trc_frame_t f[2] = { { hbuf, hlen }, { body, blen } };
	/* one broker: its DEALER queues until it is there (the first wave's
	 * behaviour); several: only a connected one takes it (ZMQ_IMMEDIATE) */
	size_t n = lt_brokers_n(c->brokers);
	int rc = -1;
	for (size_t k = 0; k < n && rc != 0; k++) {
		*via = lt_brokers_current(c->brokers);
		rc = trc_send(lt_brokers_sock(c->brokers, *via), f, 2, n > 1 ? ZMQ_DONTWAIT : 0);
		if (rc != 0)
			lt_brokers_suspect(c->brokers, *via);
	}
	if (body != small)
		free(body);
	if (rc != 0) {
		s_status(st, TRACTION__V1__CODE__UNAVAILABLE, "cannot send to the broker");
		return TRACTION__V1__CODE__UNAVAILABLE;
	}
	return 0;
}

/* A first-wave broker (or daemon, behind a new broker) refuses our
 * version without the request id (it could not read it): with one call
 * in flight, that refusal is ours. */
static bool s_old_refusal(const Traction__V1__Header *rh, traction_status_t *st)
{
	if (rh == NULL || rh->version != 1 || rh->request_id != 0 || rh->status == NULL ||
	    rh->status->code != TRACTION__V1__CODE__INVALID_ARGUMENT)
		return false;
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "a first-wave broker or daemon (protocol version 1) refused this client's "
		 "version %d: upgrade the set (it said: %.300s)",
		 TRC_PROTOCOL_VERSION, rh->status->message);
	s_status(st, TRACTION__V1__CODE__FAILED_PRECONDITION, msg);
	return true;
}

/* A message m that came: -1 if it is not the reply to request id (a late
 * reply to an earlier call, or noise), else the call's status code, with
 * *reply decoded on OK. Decoding that runs out of memory is
 * RESOURCE_EXHAUSTED (the reply was there), never a short result. */
static int s_take_reply(traction_client_t *c, trc_msg_t *m, uint64_t id,
			const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply,
			traction_status_t *st)
{
	const char *why;
	lt_alloc_t a;
	lt_alloc_init(&a);
	const void *hdata = m->n >= 1 ? trc_msg_data(m, 0) : NULL;
	size_t hlen = m->n >= 1 ? trc_msg_size(m, 0) : 0;
	Traction__V1__Header *rh = m->n >= 1 ? trc_header_unpack(&a.al, hdata, hlen, &why) : NULL;
	int code = -1;
	if (rh == NULL && a.failed && trc_header_request_id(hdata, hlen) == id)
		code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	else if (s_old_refusal(rh, st))
		code = TRACTION__V1__CODE__FAILED_PRECONDITION;
	if (code >= 0 || rh == NULL || rh->kind != TRACTION__V1__FRAME_KIND__FRAME_REPLY ||
	    rh->request_id != id) {
		if (rh != NULL)
			protobuf_c_message_free_unpacked(&rh->base, NULL);
		if (code == TRACTION__V1__CODE__RESOURCE_EXHAUSTED)
			s_status(st, code, "out of memory decoding the reply");
		return code;
	}
	code = rh->status != NULL ? rh->status->code : 0;
	const char *said = rh->status != NULL ? rh->status->message : "";
	s_status(st, code, said);
	c->last = rh; /* kept: traction_last_header */
	if (code != 0 && m->n >= 2 && trc_msg_size(m, 1) > 0) {
		c->details = traction__v1__error_details__unpack(&a.al, trc_msg_size(m, 1),
								 trc_msg_data(m, 1));
		if (c->details == NULL && a.failed) {
			/* without its details, the caller would act on less */
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "out of memory decoding the reply's details (it said %s: %.300s)",
				 traction_code_name(code), said);
			code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
			s_status(st, code, msg);
		}
	} else if (code == 0 && m->n < 2) {
		code = TRACTION__V1__CODE__INTERNAL;
		s_status(st, code, "reply without a body");
	} else if (code == 0) {
		bool oom;
		*reply = lt_reply_unpack(reply_type, trc_msg_data(m, 1), trc_msg_size(m, 1), &oom);
		if (*reply == NULL) {
			code = oom ? TRACTION__V1__CODE__RESOURCE_EXHAUSTED
				   : TRACTION__V1__CODE__INTERNAL;
			s_status(st, code, oom ? "out of memory decoding the reply"
					       : "the reply does not decode");
		}
	}
	return code;
}

/* What s_read_replies says of a call refused UNAVAILABLE that may go again
 * through another broker; and of one refused during an election, which
 * goes again through the same one. */
#define REFUSED (-2)
#define ELECTION (-3)

/* Whether the last reply's details say an election (wire.h). */
static bool s_election(const traction_client_t *c)
{
	for (size_t i = 0; c->details != NULL && i < c->details->n_details; i++) {
		const char *why = c->details->details[i]->reason;
		if (strcmp(why, TRC_REASON_NO_LEADER) == 0 ||
		    strcmp(why, TRC_REASON_LEADERSHIP_CHANGED) == 0)
			return true;
	}
	return false;
}

/* The messages that came on the brokers' sockets (it: as polled): the
 * call's status code once its reply came, else -1; or with may_retry,
 * ELECTION when it was refused during an election (its details kept
 * until it goes again), REFUSED when, with several brokers, its broker
 * answered UNAVAILABLE (no live instance behind it: one that has just
 * restarted has not yet heard the services register), the broker then
 * suspected. */
static int s_read_replies(traction_client_t *c, const zmq_pollitem_t *it, uint64_t id,
			  const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply,
			  traction_status_t *st, bool may_retry)
{
	size_t n = lt_brokers_n(c->brokers);
	for (size_t i = 0; i < n; i++) {
		trc_msg_t m;
		if (!(it[i].revents & ZMQ_POLLIN) ||
		    trc_msg_recv(lt_brokers_sock(c->brokers, i), &m, ZMQ_DONTWAIT) != 0)
			continue;
		int code = s_take_reply(c, &m, id, reply_type, reply, st);
		trc_msg_close(&m);
		if (code == TRACTION__V1__CODE__UNAVAILABLE && may_retry && s_election(c))
			return ELECTION;
		if (code == TRACTION__V1__CODE__UNAVAILABLE && n > 1 && may_retry) {
			s_forget_last(c);
			lt_brokers_suspect(c->brokers, i);
			return REFUSED;
		}
		if (code >= 0)
			return code;
	}
	return -1;
}

/* The header of a call's request, under a new request id. */
static void s_request_header(traction_client_t *c, Traction__V1__Header *h, const char *service,
			     const char *method)
{
	traction__v1__header__init(h);
	h->version = TRC_PROTOCOL_VERSION;
	h->on_behalf_of = c->on_behalf_of;
	h->after = c->afterp;
	h->n_after = c->n_after;
	h->kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h->service = (char *)service;
	h->method = (char *)method;
	h->request_id = c->next_id++;
	h->timeout_ms = (uint32_t)c->timeout_ms;
	h->client_name = c->name;
	h->consistency = c->stale ? TRACTION__V1__CONSISTENCY__CONSISTENCY_STALE
				  : TRACTION__V1__CONSISTENCY__CONSISTENCY_LINEARIZABLE;
}

int traction_call(traction_client_t *c, const char *service, const char *method,
		  const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
		  ProtobufCMessage **reply, traction_status_t *st)
{
	Traction__V1__Header h;
	if (reply != NULL)
		*reply = NULL;
	if (c == NULL || service == NULL || method == NULL || reply_type == NULL || reply == NULL) {
		s_status(st, TRACTION__V1__CODE__INVALID_ARGUMENT,
			 "traction_call: client, service, method, reply_type and reply are required");
		return TRACTION__V1__CODE__INVALID_ARGUMENT;
	}
	s_forget_last(c);
	s_request_header(c, &h, service, method);
	size_t n = lt_brokers_n(c->brokers), via = 0;
	int code = s_send_request(c, &h, request, st, &via);
	if (code != 0 && (n == 1 || code != TRACTION__V1__CODE__UNAVAILABLE))
		return code;
	bool sent = code == 0, refused = false;
	int64_t deadline = trc_mono_ms() + c->timeout_ms, again_at = 0;
	int64_t backoff = ELECTION_RETRY_MS;
	for (;;) {
		int64_t now = trc_mono_ms(), left = deadline - now;
		if (left <= 0)
			break;
		if (!sent && now >= again_at) { /* no broker connected yet, or ours died */
			s_forget_last(c);
			code = s_send_request(c, &h, request, st, &via);
			if (code != 0 && code != TRACTION__V1__CODE__UNAVAILABLE)
				return code;
			sent = code == 0;
		}
		zmq_pollitem_t it[2 * TRC_BROKERS_MAX];
		size_t nit = lt_brokers_items(c->brokers, it, ZMQ_POLLIN);
		/* unsent: look again soon (a connection completing says so too) */
		if (zmq_poll(it, (int)nit, (long)(sent || left < 10 ? left : 10)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n > 1 && (lt_brokers_events(c->brokers) & (1u << via)) && sent)
			sent = false; /* caught in its broker's death: through another */
		code = s_read_replies(c, it, h.request_id, reply_type, reply, st,
				      deadline - trc_mono_ms() > RETRY_MS);
		if (code == ELECTION) { /* again through the same broker, a little later */
			/* unless its answer could not come before the deadline:
			 * then the refusal stands, details and all (the call was
			 * refused, so not done), rather than a resend ending in
			 * DEADLINE_EXCEEDED, which would leave that open */
			if (trc_mono_ms() + backoff > deadline - RETRY_MS)
				return TRACTION__V1__CODE__UNAVAILABLE;
			sent = false;
			refused = true;
			again_at = trc_mono_ms() + backoff;
			backoff = backoff * 2 > ELECTION_RETRY_MAX_MS ? ELECTION_RETRY_MAX_MS
								       : backoff * 2;
		} else if (code == REFUSED) {
			sent = false;
			refused = true;
			again_at = trc_mono_ms() + RETRY_MS;
		} else if (code >= 0) {
			return code;
		}
	}
	if (!sent) { /* st says the last refusal's why, if there was one */
		if (!refused)
			s_status(st, TRACTION__V1__CODE__UNAVAILABLE,
				 "no broker of the list is reachable");
		return TRACTION__V1__CODE__UNAVAILABLE;
	}
	lt_brokers_suspect(c->brokers, via); /* the next call tries another */
	s_status(st, TRACTION__V1__CODE__DEADLINE_EXCEEDED, "no reply within the timeout");
	return TRACTION__V1__CODE__DEADLINE_EXCEEDED;
}

void traction_client_stale(traction_client_t *c, bool stale)
{
	if (c != NULL)
		c->stale = stale;
}

const struct Traction__V1__ErrorDetails *traction_last_details(const traction_client_t *c)
{
	return c != NULL && c->details != NULL && c->details->n_details > 0 ? c->details : NULL;
}

const struct Traction__V1__Header *traction_last_header(const traction_client_t *c)
{
	return c != NULL ? c->last : NULL;
}

int traction_client_after(traction_client_t *c, const char *source, uint64_t seq)
{
	if (c == NULL)
		return -EINVAL;
	if (source == NULL) {
		for (size_t i = 0; i < c->n_after; i++)
			free(c->after[i].source);
		c->n_after = 0;
		return 0;
	}
	for (size_t i = 0; i < c->n_after; i++)
		if (strcmp(c->after[i].source, source) == 0) {
			if (seq > c->after[i].applied_seq)
				c->after[i].applied_seq = seq;
			return 0;
		}
	if (c->n_after == AFTER_MAX)
		return -ENOSPC;
	Traction__V1__EventPosition *p = &c->after[c->n_after];
	traction__v1__event_position__init(p);
	p->source = strdup(source);
	if (p->source == NULL)
		return -ENOMEM;
	p->applied_seq = seq;
	c->afterp[c->n_after++] = p;
	return 0;
}

int traction_client_on_behalf_of(traction_client_t *c, const char *user)
{
	char *u = NULL;
	if (c == NULL)
		return -EINVAL;
	if (user != NULL && (u = strdup(user)) == NULL)
		return -ENOMEM;
	free(c->on_behalf_of);
	c->on_behalf_of = u;
	return 0;
}

void traction_reply_free(ProtobufCMessage *reply)
{
	lt_reply_free(reply);
}

const char *traction_code_name(int code)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&traction__v1__code__descriptor, code);
	return v != NULL ? v->name : "UNKNOWN";
}

const char *traction_version(void)
{
	return TRACTION_VERSION;
}
