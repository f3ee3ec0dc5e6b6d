/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dispatch of one request [Route][Header][body] from the broker: decode
 * it, find its method (the daemon's tables, then the built-ins), check the
 * caller's role, hold it back while it waits (Header.after not applied
 * yet, an events.read long poll with nothing new, the position of a
 * source its handler judges on not applied here yet, in cluster mode the
 * leader's confirmation that it still leads), and then answer a read at
 * once or queue it, or queue a write for the group commit. Also what a
 * handler's call is made of, for reads (svc_reads.c) and writes
 * (svc_writer.c). It calls the built-ins, the consumers (positions,
 * queries), the raft node (svc_raft.c) and the frames layer.
 */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fault.h"
#include "log.h"
#include "traction/v1/events.pb-c.h"

/* ---- a handler's call ------------------------------------------------------ */

void svc_call_init(trc_service_t *svc, batch_t *b, trc_call_t *call, trc_txn_t *txn,
		   const Traction__V1__Route *rt)
{
	memset(call, 0, sizeof(*call));
	call->txn = txn;
	call->arena = b->arena;
	call->user = svc->def->user;
	call->now_ms = b->now_ms;
	if (rt != NULL) {
		call->client_id = rt->client_id != NULL && rt->client_id[0] ? rt->client_id
									      : "anonymous";
		call->role = rt->role;
		call->scenarios = rt->scenarios;
		call->n_scenarios = rt->n_scenarios;
		call->enterprises = rt->enterprises;
		call->n_enterprises = rt->n_enterprises;
		call->providers = rt->providers;
		call->n_providers = rt->n_providers;
		call->edge = rt->edge != NULL && rt->edge[0] != '\0' ? rt->edge : NULL;
	} else {
		call->client_id = "internal";
		call->role = TRACTION__V1__ROLE__ROLE_SERVICE;
	}
}

/* The message of a failed call: the handler's, or what the error means
 * here (a full store or disk says what to do about it). */
const char *svc_status_message(trc_service_t *svc, trc_arena_t *arena, int err,
			       const trc_call_t *call)
{
	if (call != NULL && call->message != NULL)
		return call->message;
	const char *m = NULL;
	if (err == TRC_ENOSPC)
		m = trc_arena_printf(arena,
				     "the store is full (map_size_mb=%u): writes are refused, "
				     "reads still work; raise [store] map_size_mb and restart",
				     svc->cfg.map_size_mb);
	if (err == TRC_EDISKFULL)
		m = trc_arena_printf(arena,
				     "the disk under the store (%s) is full: writes are refused, "
				     "reads still work; free space and send again",
				     svc->state_path);
	return m != NULL ? m : trc_strerror(err);
}

/* A call's outcome once it has run: rc, or TRC_ENOMEM if an allocation
 * from the arena failed meanwhile (failures: trc_arena_failures before
 * it ran). The failure is sticky: whatever the handler (or hook) made of
 * the NULL it got, even an OK with a short reply, it is answered
 * RESOURCE_EXHAUSTED, and a write's nested transaction is dropped. So
 * handlers stay pure and need not be right about every NULL. */
int svc_sticky(const trc_arena_t *arena, size_t failures, int rc, trc_call_t *call)
{
	if (trc_arena_failures(arena) == failures)
		return rc;
	call->code = 0;
	call->message = NULL; /* trc_strerror's: no memory needed */
	call->details = NULL;
	call->n_details = 0;
	return TRC_ENOMEM;
}

/* ---- requests that wait ------------------------------------------------------ */

/* What this daemon has of a source: its own head, or what it applied of a
 * source it consumes; false if it neither writes nor consumes it. */
static bool s_position_of(trc_service_t *svc, const char *source, uint64_t *seq)
{
	if (svc->evlog != NULL && strcmp(source, trc_evlog_source(svc->evlog)) == 0) {
		*seq = svc->head;
		return true;
	}
	const consumer_t *c = svc_consumer(svc, source);
	if (c != NULL)
		*seq = c->applied;
	return c != NULL;
}

/* How long a request may wait here: its timeout (the broker's bound),
 * less a margin for the reply to travel back before the broker gives up. */
int64_t svc_wait_budget(const trc_service_t *svc, const Traction__V1__Header *h)
{
	int64_t t = h->timeout_ms == 0 || h->timeout_ms > svc->cfg.request_timeout_ms
			    ? svc->cfg.request_timeout_ms
			    : h->timeout_ms;
	int64_t margin = t / 4 < 500 ? t / 4 : 500;
	return t - margin;
}

/* Keeps the request's frames to handle again later (svc_unpark) with
 * what it waits for, until deadline: 0, or TRC_EBUSY if too many wait
 * already, TRC_ENOMEM if out of memory; then it is answered now. */
int svc_park(trc_service_t *svc, zmq_msg_t part[3], const wait_t *ws, int64_t deadline)
{
	if (svc->nparked >= TRC_PARKED_MAX)
		return TRC_EBUSY;
	parked_t *p = trc_fault() ? NULL : calloc(1, sizeof(*p));
	if (p == NULL)
		return TRC_ENOMEM;
	for (int i = 0; i < 3; i++) {
		zmq_msg_init(&p->part[i]);
		zmq_msg_copy(&p->part[i], &part[i]); /* shares the data */
	}
	p->wait = *ws;
	p->wait.deadline = deadline;
	p->next = svc->parked;
	svc->parked = p;
	svc->nparked++;
	return 0;
}

static void s_parked_close(parked_t *p)
{
	for (int i = 0; i < 3; i++)
		zmq_msg_close(&p->part[i]);
	free(p);
}

int64_t svc_parked_next(const trc_service_t *svc)
{
	int64_t next = INT64_MAX;
	for (const parked_t *p = svc->parked; p != NULL; p = p->next)
		if (p->wait.deadline < next)
			next = p->wait.deadline;
	return next;
}

/* At shutdown, what still waits is dropped unanswered (svc_unpark with
 * all_expired has answered what it could). */
void svc_parked_free(trc_service_t *svc)
{
	while (svc->parked != NULL) {
		parked_t *p = svc->parked;
		svc->parked = p->next;
		s_parked_close(p);
	}
	svc->nparked = 0;
}

/* Header.after: 1 if every position is applied here, 0 if some is not yet,
 * -1 if one names a source this daemon neither writes nor consumes (the
 * reply then says which, in details). */
static int s_after_met(trc_service_t *svc, const Traction__V1__Header *h, trc_call_t *call,
		       bool report)
{
	int met = 1;
	for (size_t i = 0; i < h->n_after; i++) {
		const Traction__V1__EventPosition *p = h->after[i];
		uint64_t have;
		const char *src = p->source != NULL ? p->source : "";
		if (!s_position_of(svc, src, &have)) {
			trc_call_detail(call, src, "unknown_source", "", "");
			return -1;
		}
		if (have >= p->applied_seq)
			continue;
		met = 0;
		if (report)
			trc_call_detail(call, src, "not_applied",
					trc_arena_printf(call->arena, "%llu", (unsigned long long)have),
					trc_arena_printf(call->arena, "%llu",
							 (unsigned long long)p->applied_seq));
	}
	return met;
}

/* ---- one request, step by step ------------------------------------------------- */

/* A request as it is decoded, step by step; each step answers (or drops)
 * the request itself and returns false when it goes no further. */
typedef struct {
	Traction__V1__Route *rt;
	void *route;             /* the Route frame, copied to the arena */
	size_t rlen;
	unsigned broker;         /* it came through */
	Traction__V1__Header *h;
	uint32_t ver;
	const trc_method_t *method;
	ProtobufCMessage *req;
	size_t failures;         /* the arena's, when the request came */
} request_t;

/* Whether an allocation failed while this request was decoded. */
static bool s_oom(const trc_service_t *svc, const request_t *r)
{
	return trc_arena_failures(svc->fill->arena) != r->failures;
}

/* The answer when memory ran out at any step: it needs none (the Route
 * frame as it came, the id and version read from the header's bytes, the
 * reply built on the stack), so no request goes unanswered for want of
 * memory. Returns false: the request goes no further. */
static bool s_out_of_memory(trc_service_t *svc, trc_msg_t *m)
{
	const void *hdata = trc_msg_data(m, 1);
	size_t hlen = trc_msg_size(m, 1);
	svc_reply(svc, (unsigned)m->from, trc_msg_data(m, 0), trc_msg_size(m, 0),
		  trc_header_version(hdata, hlen),
		  trc_header_request_id(hdata, hlen), TRACTION__V1__CODE__RESOURCE_EXHAUSTED,
		  "out of memory", NULL);
	return false;
}

static bool s_route(trc_service_t *svc, trc_msg_t *m, request_t *r)
{
	const void *rdata = trc_msg_data(m, 0);
	r->rlen = trc_msg_size(m, 0);
	r->broker = (unsigned)m->from;
	r->rt = traction__v1__route__unpack(&svc->fill->al, r->rlen, rdata);
	if (r->rt == NULL && s_oom(svc, r))
		return s_out_of_memory(svc, m);
	if (r->rt == NULL) {
		svc->dropped++;
		trc_warn("dropped a request with a malformed route frame (%zu bytes)", r->rlen);
		return false;
	}
	/* The route must outlive the message: it is echoed after the commit. */
	r->route = trc_arena_alloc(svc->fill->arena, r->rlen > 0 ? r->rlen : 1);
	if (r->route == NULL)
		return s_out_of_memory(svc, m);
	memcpy(r->route, rdata, r->rlen);
	return true;
}

static const trc_method_t *s_find_method(trc_service_t *svc, const char *service,
					 const char *method, bool *service_known)
{
	*service_known = false;
	for (size_t i = 0; i < svc->def->n_services; i++) {
		const trc_service_table_t *t = &svc->def->services[i];
		if (strcmp(t->name, service) != 0)
			continue;
		*service_known = true;
		for (size_t j = 0; j < t->n_methods; j++)
			if (strcmp(t->methods[j].name, method) == 0)
				return &t->methods[j];
	}
	if (!*service_known)
		return NULL;
	return svc_builtin_find(method, svc->evlog != NULL);
}

const trc_method_t *svc_method_find(trc_service_t *svc, const char *service, const char *method)
{
	bool known;
	return s_find_method(svc, service, method, &known);
}

bool svc_method_writes(trc_service_t *svc, const char *service, const char *method)
{
	bool known;
	const trc_method_t *m = s_find_method(svc, service, method, &known);
	return m != NULL && (m->flags & TRC_METHOD_WRITE) != 0;
}

/* Who may call what: the broker says who the client is (Route.role). */
static const char *s_forbidden(const trc_method_t *m, int role)
{
	switch (role) {
	case TRACTION__V1__ROLE__ROLE_ADMIN:
	case TRACTION__V1__ROLE__ROLE_SERVICE:
		return NULL;
	case TRACTION__V1__ROLE__ROLE_READER:
		if (m->flags & TRC_METHOD_WRITE)
			return "the reader role may only query";
		if (m->flags & TRC_METHOD_ADMIN)
			return "for the admin role only";
		if (m->flags & TRC_METHOD_SERVICE)
			return "for daemons only; readers follow events with events.read";
		return NULL;
	case TRACTION__V1__ROLE__ROLE_PUBLISHER:
		if (!(m->flags & TRC_METHOD_PUBLISH))
			return "the publisher role may only publish feedback";
		return NULL;
	default:
		return "no role";
	}
}

/* A refusal at one of the steps; if memory ran out on the way (its
 * message, its details), out of memory is the answer. Returns false. */
static bool s_refuse(trc_service_t *svc, trc_msg_t *m, const request_t *r, const reply_t *rep)
{
	svc_metrics_unrouted(svc);
	if (s_oom(svc, r))
		return s_out_of_memory(svc, m);
	svc_reply_full(svc, r->broker, r->route, r->rlen, rep);
	return false;
}

/* The header, the method it names, and whether the caller may call it. */
static bool s_method(trc_service_t *svc, trc_msg_t *m, request_t *r)
{
	const char *why = NULL;
	const void *hdata = trc_msg_data(m, 1);
	size_t hlen = trc_msg_size(m, 1);
	Traction__V1__Header *h = trc_header_unpack(&svc->fill->al, hdata, hlen, &why);
	/* the bytes are walked for it only when the header does not decode */
	r->ver = h != NULL ? h->version : trc_header_version(hdata, hlen);
	r->h = h;
	reply_t rep = { .version = r->ver, .request_id = h != NULL ? h->request_id : 0 };
	if (h == NULL || h->kind != TRACTION__V1__FRAME_KIND__FRAME_REQUEST) {
		rep.request_id = trc_header_request_id(hdata, hlen);
		rep.code = TRACTION__V1__CODE__INVALID_ARGUMENT;
		rep.message = why != NULL ? why : "expected a request";
		return s_refuse(svc, m, r, &rep);
	}
	bool known;
	r->method = s_find_method(svc, h->service, h->method, &known);
	if (r->method == NULL) {
		rep.code = known ? TRACTION__V1__CODE__UNIMPLEMENTED : TRACTION__V1__CODE__NOT_FOUND;
		rep.message = trc_arena_printf(svc->fill->arena, "unknown method '%s' of service '%s'",
					       h->method, h->service);
		return s_refuse(svc, m, r, &rep);
	}
	const char *denied = s_forbidden(r->method, r->rt->role);
	if (denied != NULL) {
		rep.code = TRACTION__V1__CODE__PERMISSION_DENIED;
		rep.message = trc_arena_printf(svc->fill->arena, "%s.%s: %s", h->service, h->method,
					       denied);
		return s_refuse(svc, m, r, &rep);
	}
	return true;
}

static bool s_body(trc_service_t *svc, trc_msg_t *m, request_t *r)
{
	const trc_method_t *mt = r->method;
	/* strings first, in the bytes: a decoded string ends at its first NUL,
	 * and protobuf-c refuses some bad strings without naming the field */
	char bad[256];
	int sc = trc_wire_check_strings(mt->request, trc_msg_data(m, 2), trc_msg_size(m, 2), bad,
					sizeof(bad));
	r->req = sc != TRC_EINVAL ? protobuf_c_message_unpack(mt->request, &svc->fill->al,
							       trc_msg_size(m, 2), trc_msg_data(m, 2))
				  : NULL;
	if (r->req != NULL)
		return true;
	/* out of memory in the unpacking is not a bad body (s_refuse) */
	reply_t rep = {
		.version = r->ver, .request_id = r->h->request_id,
		.code = TRACTION__V1__CODE__INVALID_ARGUMENT,
		.message = sc == TRC_EINVAL /* the field's path, as handlers name fields */
				   ? trc_arena_printf(svc->fill->arena, "%s", bad)
				   : trc_arena_printf(svc->fill->arena,
						      "%s.%s: the body is not a valid %s",
						      r->h->service, r->h->method, mt->request->name)
	};
	return s_refuse(svc, m, r, &rep);
}

/* Header.after (read-your-writes, the client's token): true if the
 * request waits (parked) or was answered, false if it may go on. */
static bool s_after_waits(trc_service_t *svc, trc_msg_t *m, const request_t *r, wait_t *ws,
			  bool expired)
{
	const Traction__V1__Header *h = r->h;
	if (h->n_after == 0)
		return false;
	trc_call_t c = { .arena = svc->fill->arena };
	int met = s_after_met(svc, h, &c, expired);
	int parked = met == 0 && !expired
			     ? svc_park(svc, m->part, ws, ws->arrived + svc_wait_budget(svc, h))
			     : TRC_EBUSY;
	if (parked == 0)
		return true;
	if (met > 0)
		return false;
	if (parked == TRC_ENOMEM) {
		s_out_of_memory(svc, m);
		return true;
	}
	if (met == 0 && c.n_details == 0) /* could not park: say why */
		s_after_met(svc, h, &c, true);
	reply_t rep = { .version = r->ver, .request_id = h->request_id,
			.code = met < 0 ? TRACTION__V1__CODE__INVALID_ARGUMENT
					: TRACTION__V1__CODE__UNAVAILABLE,
			.message = met < 0 ? "after: this daemon neither writes nor "
					     "consumes that source"
					   : "after: not yet applied here; try again",
			.details = c.details, .n_details = c.n_details };
	s_refuse(svc, m, r, &rep);
	return true;
}

/* The sources a request catches up with (bit i: svc->cons[i]): its
 * method's, and those its handler asked for on an earlier run. */
static uint32_t s_catch_up_sources(const trc_service_t *svc, const trc_method_t *mt,
				   const wait_t *ws)
{
	uint32_t bits = ws->rerun ? ws->sources : 0;
	for (size_t k = 0; k < svc->n_catch_up; k++)
		if (svc->catch_up[k].method == mt)
			bits |= svc->catch_up[k].sources;
	return bits;
}

/* Where a source we are behind in stands against what it said: a
 * not_applied detail (what we have applied, or of the events it owed
 * what they cover, against its head). */
static void s_behind_detail(trc_call_t *c, const consumer_t *cons, const wait_src_t *w)
{
	uint64_t have = cons->applied < w->head ? cons->applied : cons->covered;
	trc_call_detail(c, cons->source, "not_applied",
			trc_arena_printf(c->arena, "%llu", (unsigned long long)have),
			trc_arena_printf(c->arena, "%llu", (unsigned long long)w->head));
}

/* Read-your-writes across daemons, the daemon's own doing: true if the
 * request waits (parked) for a source it judges on, or was answered;
 * false if it may go on. Each source is asked where it stands after the
 * request came (a query already in flight does not count: it may have
 * left before the write the caller saw acknowledged); the request goes
 * on once this daemon has applied that, with the events the source still
 * owed for it. At the deadline a source that never answered is taken as
 * it is here (down or stuck: there is nothing better to know), and one
 * that answered but is not applied yet makes it UNAVAILABLE with
 * not_applied, as Header.after does. */
static bool s_catch_up_waits(trc_service_t *svc, trc_msg_t *m, const request_t *r, wait_t *ws,
			     bool expired)
{
	uint32_t bits = s_catch_up_sources(svc, r->method, ws);
	if (bits == 0)
		return false;
	trc_call_t c = { .arena = svc->fill->arena };
	bool waits = false;
	for (size_t i = 0; i < svc->ncons; i++) {
		if (!(bits & (1u << i)))
			continue;
		consumer_t *cons = &svc->cons[i];
		wait_src_t *w = &ws->src[i];
		if (w->need == 0)
			w->need = svc_catch_up_ask(svc, cons);
		svc_catch_up_t st = svc_catch_up_state(cons, w);
		if (st == SVC_CAUGHT_UP || (st == SVC_ASKING && expired))
			continue;
		waits = true;
		if (st == SVC_BEHIND)
			s_behind_detail(&c, cons, w);
	}
	if (!waits)
		return false;
	int parked = expired ? TRC_EBUSY
			     : svc_park(svc, m->part, ws, ws->arrived + svc_wait_budget(svc, r->h));
	if (parked == 0)
		return true;
	if (parked == TRC_ENOMEM) { /* out of memory is said as such (one convention) */
		s_out_of_memory(svc, m);
		return true;
	}
	reply_t rep = { .version = r->ver, .request_id = r->h->request_id,
			.code = TRACTION__V1__CODE__UNAVAILABLE,
			.message = expired ? "not yet applied here what another daemon had "
					     "committed; try again"
					   : "too many requests wait here for other daemons; "
					     "try again",
			.details = c.details, .n_details = c.n_details };
	svc_reply_full(svc, r->broker, r->route, r->rlen, &rep);
	return true;
}

/* events.read's long poll: true if it parked, nothing at or after
 * from_seq being there yet. */
static bool s_long_poll_waits(trc_service_t *svc, trc_msg_t *m, const request_t *r, wait_t *ws,
			      bool expired)
{
	if (expired || !svc_builtin_long_poll(r->method))
		return false;
	const Traction__V1__EventsReadRequest *er =
		(const Traction__V1__EventsReadRequest *)r->req;
	int64_t budget = svc_wait_budget(svc, r->h);
	if (er->wait_ms < budget)
		budget = er->wait_ms;
	uint64_t from = er->from_seq > 0 ? er->from_seq : 1;
	/* could it not park, it is answered now with what there is */
	return budget > 0 && svc->head < from && trc_mono_ms() < ws->arrived + budget &&
	       svc_park(svc, m->part, ws, ws->arrived + budget) == 0;
}

/* Cluster mode: a read of the daemon's (not a built-in: ping, the event
 * log's reads and backups answer on any replica) is the leader's, once a
 * barrier proposed after it came is applied here, so that it sees every
 * write acknowledged before it (docs/scale-out.md, "Reads"). True if it
 * waits (parked) or was answered. */
static bool s_linear_waits(trc_service_t *svc, trc_msg_t *m, const request_t *r, wait_t *ws,
			   bool expired)
{
	if (svc->raft == NULL || (r->method->flags & TRC_METHOD_WRITE) ||
	    svc_builtin_has(r->method) ||
	    r->h->consistency == TRACTION__V1__CONSISTENCY__CONSISTENCY_STALE)
		return false; /* STALE: this replica's store, as of what it applied */
	const char *why = NULL;
	svc_lin_t st = svc_raft_read(svc, &ws->barrier, &why);
	if (st == SVC_LIN_GO)
		return false;
	int parked = st == SVC_LIN_WAIT && !expired
			     ? svc_park(svc, m->part, ws, ws->arrived + svc_wait_budget(svc, r->h))
			     : TRC_EBUSY;
	if (parked == 0)
		return true;
	if (parked == TRC_ENOMEM)
		return !s_out_of_memory(svc, m);
	reply_t rep = { .version = r->ver, .request_id = r->h->request_id,
			.code = TRACTION__V1__CODE__UNAVAILABLE,
			.message = why != NULL ? why
			: expired ? "the leader could not confirm in time that it still leads (no "
				    "majority?); try again"
				  : "too many requests wait here; try again",
			.details = why != NULL ? svc_raft_lost() : NULL,
			.n_details = why != NULL ? 1 : 0 };
	s_refuse(svc, m, r, &rep);
	return true;
}

/* Writes wait for the group commit; reads are answered at once, from a
 * read snapshot of the store, whether or not the writer is committing
 * (handlers keep no state that writes change: docs/architecture.md). */
static void s_queue(trc_service_t *svc, trc_msg_t *m, const request_t *r, const wait_t *ws)
{
	const trc_method_t *mt = r->method;
	ProtobufCMessage *rep = trc_arena_alloc(svc->fill->arena, mt->reply->sizeof_message);
	if (rep == NULL) {
		s_out_of_memory(svc, m);
		return;
	}
	protobuf_c_message_init(mt->reply, rep);
	bool write = (mt->flags & TRC_METHOD_WRITE) != 0;
	size_t blen = trc_msg_size(m, 2);
	work_t one = { 0 }, *w = &one;
	/* The bytes outlive m: a write's handler may store them as they came,
	 * and a request whose handler asks to catch up is parked from them. */
	uint8_t *body = trc_arena_alloc(svc->fill->arena, blen > 0 ? blen : 1);
	if (body == NULL || (write && svc_work_push(&svc->fill->writes, &w) != 0)) {
		s_out_of_memory(svc, m);
		return;
	}
	if (write)
		svc->fill->bytes += blen;
	memcpy(body, trc_msg_data(m, 2), blen);
	w->body = body;
	w->body_len = blen;
	w->kind = WORK_REQUEST;
	w->method = mt;
	w->route = r->route;
	w->route_len = r->rlen;
	w->broker = r->broker;
	w->rt = r->rt;
	w->version = r->ver;
	w->request_id = r->h->request_id;
	w->req = r->req;
	w->rep = rep;
	w->h = r->h;
	w->arrived = ws->arrived;
	w->arrived_us = ws->arrived_us;
	w->may_wait = !ws->rerun && trc_mono_ms() < ws->arrived + svc_wait_budget(svc, r->h);
	if (!write)
		svc_read(svc, w);
}

/* One request [Route][Header][body] from the broker, with what it has
 * waited for so far; expired: it has waited (parked) as long as it may,
 * and is answered now whatever. */
static void s_handle_request_at(trc_service_t *svc, trc_msg_t *m, wait_t *ws, bool expired)
{
	request_t r = { .failures = trc_arena_failures(svc->fill->arena) };
	ws->broker = (unsigned)m->from; /* carried while it is parked */
	if (!s_route(svc, m, &r) || !s_method(svc, m, &r) || !s_body(svc, m, &r))
		return;
	if (s_after_waits(svc, m, &r, ws, expired) || s_catch_up_waits(svc, m, &r, ws, expired) ||
	    s_long_poll_waits(svc, m, &r, ws, expired) || s_linear_waits(svc, m, &r, ws, expired))
		return;
	s_queue(svc, m, &r, ws);
}

/* s_handle_request_at, and the memory of the turn it took back unless it
 * queued a write: a request answered (or refused, or parked: its frames
 * are copied) needs none of it any more, and reads answered while the
 * writer commits would otherwise fill the loop's batch. */
static void s_handle_request_once(trc_service_t *svc, trc_msg_t *m, wait_t *ws, bool expired)
{
	trc_arena_mark_t mark = trc_arena_mark(svc->fill->arena);
	size_t writes = svc->fill->writes.n;
	s_handle_request_at(svc, m, ws, expired);
	if (svc->fill->writes.n == writes)
		trc_arena_rewind(svc->fill->arena, mark);
}

void svc_handle_request(trc_service_t *svc, trc_msg_t *m)
{
	wait_t ws = { .arrived = trc_mono_ms(), .arrived_us = svc_now_us() };
	s_handle_request_once(svc, m, &ws, false);
}

/* Hands waiting requests back to dispatch: all of them when what they wait
 * for may have come (a commit, an applied event, a source's answer), else
 * those past their deadline (expired: answered with what there is). A
 * request still not ready parks itself again. */
void svc_unpark(trc_service_t *svc, bool progress, bool all_expired)
{
	int64_t now = trc_mono_ms();
	parked_t *list = svc->parked, *keep = NULL;
	svc->parked = NULL;
	svc->nparked = 0;
	while (list != NULL) {
		parked_t *p = list;
		list = p->next;
		bool expired = all_expired || now >= p->wait.deadline;
		if (!expired && !progress) {
			p->next = keep;
			keep = p;
			continue;
		}
		trc_msg_t m = { .n = 3, .total = 3, .from = (int)p->wait.broker };
		for (int i = 0; i < 3; i++) {
			zmq_msg_init(&m.part[i]);
			zmq_msg_move(&m.part[i], &p->part[i]);
		}
		s_handle_request_once(svc, &m, &p->wait, expired);
		trc_msg_close(&m);
		s_parked_close(p);
	}
	/* those kept go back in front of any that parked again just now */
	while (keep != NULL) {
		parked_t *p = keep;
		keep = p->next;
		p->next = svc->parked;
		svc->parked = p;
		svc->nparked++;
	}
}
