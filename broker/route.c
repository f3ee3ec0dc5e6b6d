/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's routing: a request from a client (or a service acting as
 * one) identified, admitted and forwarded to the least loaded live
 * instance of its service that may take it (its leader, unless the
 * request is STALE) behind a Route frame; the reply routed back by its
 * ticket; the control frames of services (READY registers an instance
 * and, with HEARTBEAT, says its role). The broker never decodes a
 * request body.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "admit.h"
#include "broker_int.h"
#include "log.h"
#include "util.h"
#include "traction/v1/common.pb-c.h"

/* ---- routing: identify, admit, forward ------------------------------------------- */

/* A request on its way: where its answer goes, who it acts as, and the
 * key of its client's budget. */
typedef struct {
	void *sock;
	const void *rid;
	size_t ridlen;
	bool from_service;      /* a service acting as a client */
	uint32_t version;       /* the request's: its refusals use it */
	uint64_t request_id;
	bool stale;             /* Header.consistency STALE: any replica may answer */
	char instance[2 * TRC_ROUTING_ID_MAX + 1]; /* Header.instance: that one only */
	const trc_key_t *as;    /* whose rights it has; NULL: no key (see s_route_frame) */
	const char *edge;       /* the edge acting for the user `as`, if one is */
	uint8_t ckey[TRC_CLIENT_KEY_MAX];
	size_t ckeylen;
} route_t;

/* A refusal, with (reason not NULL, in a version 2 reply) one
 * ErrorDetail about the service's leader. */
static void s_refuse_why(trc_broker_t *b, const route_t *r, int code, const char *msg,
			 const char *reason)
{
	Traction__V1__ErrorDetail d = TRACTION__V1__ERROR_DETAIL__INIT;
	Traction__V1__ErrorDetail *dv[1] = { &d };
	Traction__V1__ErrorDetails det = TRACTION__V1__ERROR_DETAILS__INIT;
	d.subject = (char *)"leader";
	d.reason = (char *)reason;
	det.details = dv;
	det.n_details = 1;
	broker_answer(b, r->sock, r->rid, r->ridlen, r->version, r->request_id, code, msg,
		      reason != NULL && r->version >= 2 ? &det.base : NULL);
}

static void s_refuse(trc_broker_t *b, const route_t *r, int code, const char *msg)
{
	s_refuse_why(b, r, code, msg, NULL);
}

/* An edge's users each have the budget of a client. */
static void s_client_key(route_t *r)
{
	memcpy(r->ckey, r->rid, r->ridlen);
	r->ckeylen = r->ridlen;
	if (r->edge != NULL) {
		size_t ulen = strlen(r->as->name);
		memcpy(r->ckey + r->ridlen, r->as->name, ulen);
		r->ckey[r->ridlen + ulen] = (uint8_t)r->ridlen;
		r->ckeylen = r->ridlen + ulen + 1;
	}
}

/* Who a request [rid][Header][body] is from, and whose rights it has:
 * its decoded Header (the caller frees it), or NULL once it has been
 * answered or dropped. */
static Traction__V1__Header *s_identify(trc_broker_t *b, trc_msg_t *m, bool from_service,
					route_t *r)
{
	const char *why = NULL;
	r->sock = from_service ? b->service : b->client;
	r->rid = trc_msg_data(m, 0);
	r->ridlen = trc_msg_size(m, 0);
	r->from_service = from_service;
	/* With CurveZMQ, who this is: the ZAP handler named the key it used.
	 * A key removed since the connection was made gets nothing back. */
	const trc_key_t *key = NULL;
	if (!from_service && b->cfg.curve && m->n >= 2) {
		key = trc_auth_identify(b->auth, &m->part[1]);
		if (key == NULL) {
			b->counters.dropped_malformed++;
			return NULL;
		}
	}
	/* A refusal echoes the request id whenever the first frame has one,
	 * however wrong the rest is (0 only when none can be read). */
	r->request_id = m->n >= 2 ? trc_header_request_id(trc_msg_data(m, 1), trc_msg_size(m, 1))
				  : 0;
	r->version = m->n >= 2 ? trc_header_version(trc_msg_data(m, 1), trc_msg_size(m, 1))
			       : TRC_PROTOCOL_MIN;
	if (m->total != 3 || m->n != 3) {
		b->counters.dropped_malformed++;
		s_refuse(b, r, TRACTION__V1__CODE__INVALID_ARGUMENT,
			 "a request is two frames: a traction.v1.Header, then the body");
		return NULL;
	}
	Traction__V1__Header *h = trc_header_unpack(NULL, trc_msg_data(m, 1), trc_msg_size(m, 1),
						    &why);
	if (h == NULL || h->kind != TRACTION__V1__FRAME_KIND__FRAME_REQUEST) {
		b->counters.dropped_malformed++;
		s_refuse(b, r, TRACTION__V1__CODE__INVALID_ARGUMENT,
			 why != NULL ? why : "expected a request header");
		if (h != NULL)
			protobuf_c_message_free_unpacked(&h->base, NULL);
		return NULL;
	}
	r->request_id = h->request_id;
	r->stale = h->consistency == TRACTION__V1__CONSISTENCY__CONSISTENCY_STALE;
	/* a name longer than any routing id's hex names no instance ("-" is
	 * no hex either) */
	if (strlen(h->instance) < sizeof(r->instance))
		memcpy(r->instance, h->instance, strlen(h->instance) + 1);
	else
		memcpy(r->instance, "-", 2);
	/* Whose rights the request has: the key's, or with on_behalf_of the
	 * user's an edge acts for (docs/security.md). */
	const char *refusal = trc_auth_acting_for(b->auth, key, h, &r->as, &r->edge);
	if (refusal != NULL) {
		s_refuse(b, r, TRACTION__V1__CODE__PERMISSION_DENIED, refusal);
		protobuf_c_message_free_unpacked(&h->base, NULL);
		return NULL;
	}
	s_client_key(r);
	return h;
}

/* The Route frame a service gets before the request: the ticket, and
 * whose rights the request has. Without CurveZMQ on the client endpoint
 * every client is trusted as an admin: the endpoint is loopback-only by
 * default (docs/security.md). */
static Traction__V1__Route s_route_frame(const route_t *r, uint64_t ticket)
{
	Traction__V1__Route route = TRACTION__V1__ROUTE__INIT;
	route.ticket = ticket;
	route.client_id = (char *)(r->from_service ? "service" : "anonymous");
	route.role = r->from_service ? TRACTION__V1__ROLE__ROLE_SERVICE
				     : TRACTION__V1__ROLE__ROLE_ADMIN;
	if (r->as != NULL) {
		route.client_id = (char *)r->as->name;
		route.role = r->as->role;
		route.scenarios = r->as->scenarios;
		route.n_scenarios = r->as->n_scenarios;
		route.enterprises = r->as->enterprises;
		route.n_enterprises = r->as->n_enterprises;
		route.providers = r->as->providers;
		route.n_providers = r->as->n_providers;
		route.edge = (char *)r->edge;
	}
	return route;
}

/* Sends [wid][Route][Header][body] to w under a new ticket; the Header and
 * body frames go as they came. Returns false, having answered nothing,
 * when w's connection is gone (EHOSTUNREACH) and the caller may try
 * another instance; true once the request is forwarded or answered. */
static bool s_forward_to(trc_broker_t *b, trc_msg_t *m, const route_t *r, trc_bservice_t *svc,
			 trc_worker_t *w, int64_t deadline, size_t bytes, bool may_retry)
{
	trc_ticket_t *t = trc_registry_ticket_new(&b->reg, r->ckey, r->ckeylen, r->ridlen,
						  r->from_service, r->request_id, svc, w, deadline,
						  bytes);
	if (t == NULL) {
		s_refuse(b, r, TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "out of memory");
		return true;
	}
	t->version = r->version;
	Traction__V1__Route route = s_route_frame(r, t->ticket);
	uint8_t rbuf[4096];
	if (traction__v1__route__get_packed_size(&route) > sizeof(rbuf)) {
		trc_registry_ticket_done(&b->reg, t);
		s_refuse(b, r, TRACTION__V1__CODE__INTERNAL,
			 "this client's key names too many scenarios");
		return true;
	}
	size_t rlen = traction__v1__route__pack(&route, rbuf);
	if (zmq_send(b->service, w->id, w->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		int e = errno;
		trc_registry_ticket_done(&b->reg, t);
		if (e == EHOSTUNREACH && may_retry)
			return false;
		svc->errors++;
		s_refuse(b, r,
			 e == EAGAIN ? TRACTION__V1__CODE__RESOURCE_EXHAUSTED
				     : TRACTION__V1__CODE__UNAVAILABLE,
			 e == EAGAIN ? "the service's queue is full, try again"
				     : "the service instance is unreachable");
		return true;
	}
	/* the rest of a message whose first frame went cannot be refused */
	if (zmq_send(b->service, rbuf, rlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&m->part[1], b->service, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&m->part[2], b->service, ZMQ_DONTWAIT) < 0) {
		broker_fail_ticket(b, t, TRACTION__V1__CODE__UNAVAILABLE,
			      "the service instance is unreachable");
		return true;
	}
	b->counters.requests_routed++;
	return true;
}

/* To the least loaded live instance of svc that may take it. An instance
 * whose connection is gone (killed, not yet missed its heartbeats)
 * refuses the first frame: drop it and try the next one. */
static void s_forward(trc_broker_t *b, trc_msg_t *m, const route_t *r, trc_bservice_t *svc,
		      trc_worker_t *w, unsigned timeout_ms, size_t bytes)
{
	for (int attempt = 0; w != NULL; attempt++) {
		if (s_forward_to(b, m, r, svc, w, trc_mono_ms() + timeout_ms, bytes, attempt < 8))
			return;
		broker_drop_worker(b, w, "its connection is gone");
		w = trc_registry_pick(svc, r->stale, r->instance);
	}
	svc->errors++;
	if (svc->nworkers > 0) /* the leader was the one that went */
		s_refuse_why(b, r, TRACTION__V1__CODE__UNAVAILABLE,
			     "service has no leader: an election is under way; retry",
			     TRC_REASON_NO_LEADER);
	else
		s_refuse(b, r, TRACTION__V1__CODE__UNAVAILABLE, "service has no live instance");
}

/* A request [rid][Header][body] from a client, or from a service acting as
 * one (from_service): who it is from, whether it may go now, and where. */
static void s_route_request(trc_broker_t *b, trc_msg_t *m, bool from_service)
{
	route_t r;
	Traction__V1__Header *h = s_identify(b, m, from_service, &r);
	if (h == NULL)
		return;
	if (strcmp(h->service, "broker") == 0) {
		/* who, as s_route_frame names them to a service */
		broker_caller_t who = { r.from_service ? "service" : "anonymous", r.edge,
					r.from_service ? TRACTION__V1__ROLE__ROLE_SERVICE
						       : TRACTION__V1__ROLE__ROLE_ADMIN };
		if (r.as != NULL) {
			who.actor = r.as->name;
			who.role = r.as->role;
		}
		broker_own_request(b, r.sock, r.rid, r.ridlen, h, r.as, &who, trc_msg_data(m, 2),
				   trc_msg_size(m, 2));
		protobuf_c_message_free_unpacked(&h->base, NULL);
		return;
	}
	trc_bservice_t *svc = trc_registry_service(&b->reg, h->service, false);
	trc_worker_t *w = svc != NULL ? trc_registry_pick(svc, r.stale, r.instance) : NULL;
	/* what the request holds of the broker's and the service's queues
	 * until it is answered */
	trc_admit_request_t rq = {
		.service = h->service,
		.known = svc != NULL,
		.live = svc != NULL && svc->nworkers > 0,
		.leader = w != NULL,
		.instance = r.instance,
		.bytes = trc_msg_size(m, 1) + trc_msg_size(m, 2),
		.broker_in_flight = b->reg.in_flight,
		.broker_bytes = b->reg.bytes,
	};
	rq.client_in_flight = trc_registry_client_in_flight(&b->reg, r.ckey, r.ckeylen,
							    &rq.client_bytes);
	trc_admit_limits_t lim = { b->conf.max_in_flight_per_client,
				   b->conf.max_mb_in_flight_per_client, b->conf.max_mb_in_flight };
	trc_admit_t a = trc_admit(&rq, &lim);
	unsigned timeout = h->timeout_ms == 0 || h->timeout_ms > b->cfg.request_timeout_ms
				   ? b->cfg.request_timeout_ms
				   : h->timeout_ms;
	protobuf_c_message_free_unpacked(&h->base, NULL);
	if (a.code != 0) {
		if (svc != NULL)
			svc->errors++;
		s_refuse_why(b, &r, a.code, a.message, a.reason);
		return;
	}
	s_forward(b, m, &r, svc, w, timeout, rq.bytes);
}

/* A reply [wid][Route][Header][body] from a service. */
static void s_route_reply(trc_broker_t *b, trc_worker_t *w, trc_msg_t *m)
{
	Traction__V1__Route *rt = traction__v1__route__unpack(NULL, trc_msg_size(m, 1),
							      trc_msg_data(m, 1));
	if (rt == NULL) {
		b->counters.dropped_malformed++;
		return;
	}
	trc_ticket_t *t = trc_registry_ticket(&b->reg, rt->ticket);
	protobuf_c_message_free_unpacked(&rt->base, NULL);
	if (t == NULL) {
		b->counters.dropped_late++;
		return;
	}
	void *sock = t->from_service_socket ? b->service : b->client;
	if (w != NULL)
		w->served++;
	t->service->replies++;
	if (zmq_send(sock, t->client->id, t->client->ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&m->part[2], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&m->part[3], sock, ZMQ_DONTWAIT) < 0)
		b->counters.dropped_unroutable++;
	else
		b->counters.replies_routed++;
	trc_registry_ticket_done(&b->reg, t);
}

/* What an instance says it is in its READY or HEARTBEAT (v1.1; none:
 * SINGLE), logged when it changes. */
static void s_role(trc_worker_t *w, const Traction__V1__Header *h)
{
	if ((int)h->replica_role == w->role && h->term == w->term)
		return;
	trc_info("instance=%s role=%s term=%llu (was %s at term %llu)", w->hex,
		 trc_replica_role_name((int)h->replica_role), (unsigned long long)h->term,
		 trc_replica_role_name(w->role), (unsigned long long)w->term);
	trc_registry_role(w, (int)h->replica_role, h->term);
}

void broker_service_message(trc_broker_t *b, trc_msg_t *m)
{
	const void *wid = trc_msg_data(m, 0);
	size_t widlen = trc_msg_size(m, 0);
	trc_worker_t *w = trc_registry_worker(&b->reg, wid, widlen);
	int64_t now = trc_mono_ms();

	if (w != NULL)
		w->last_seen = now; /* any traffic counts as a heartbeat */
	if (m->total == 4 && m->n == 4) {
		s_route_reply(b, w, m);
		return;
	}
	if (m->total == 3 && m->n == 3) {
		s_route_request(b, m, true);
		return;
	}
	if (m->total != 2 || m->n != 2) {
		b->counters.dropped_malformed++;
		return;
	}
	const char *why;
	Traction__V1__Header *h = trc_header_unpack(NULL, trc_msg_data(m, 1),
						    trc_msg_size(m, 1), &why);
	if (h == NULL) {
		b->counters.dropped_malformed++;
		trc_debug("dropped a control frame from a service: %s", why);
		return;
	}
	switch (h->kind) {
	case TRACTION__V1__FRAME_KIND__FRAME_READY: {
		trc_bservice_t *svc = trc_registry_service(&b->reg, h->service, true);
		trc_worker_t *nw = svc != NULL ? trc_registry_attach(&b->reg, wid, widlen, svc, now)
					       : NULL;
		if (nw == NULL) {
			b->counters.dropped_malformed++;
			trc_warn("refused a registration for service '%.64s'", h->service);
		} else {
			trc_info("instance=%s service=%s registered (%zu live)", nw->hex,
				 svc->name, svc->nworkers);
			s_role(nw, h);
		}
		break;
	}
	case TRACTION__V1__FRAME_KIND__FRAME_HEARTBEAT:
		if (w == NULL)
			broker_control(b, wid, widlen, TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT);
		else
			s_role(w, h);
		break;
	case TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT:
		if (w != NULL)
			broker_drop_worker(b, w, "it said goodbye");
		break;
	default:
		b->counters.dropped_malformed++;
		break;
	}
	protobuf_c_message_free_unpacked(&h->base, NULL);
}

void broker_client_message(trc_broker_t *b, trc_msg_t *m)
{
	if (m->n < 1) {
		b->counters.dropped_malformed++;
		return;
	}
	s_route_request(b, m, false);
}
