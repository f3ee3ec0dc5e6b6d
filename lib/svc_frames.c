/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bottom layer of the service runtime: every frame a service sends
 * (replies with where the daemon stands, control frames, requests of its
 * own, its events after a commit) and the work list the layers above
 * queue requests and events to. It calls nothing of the runtime above it.
 */
#include "service_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fault.h"
#include "log.h"

static void *s_pack(trc_service_t *svc, const ProtobufCMessage *msg, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = trc_arena_alloc(svc->fill->arena, *len > 0 ? *len : 1);
	if (buf == NULL)
		return NULL;
	protobuf_c_message_pack(msg, buf);
	return buf;
}

/* [route][header][body] to the broker (the body only for a request or a
 * reply). A header that fits in TRC_HEADER_MAX (a reply's always does) is
 * packed on the stack: it needs no memory of the turn. */
static void s_send(trc_service_t *svc, unsigned broker, const Traction__V1__Header *h,
		   const void *route, size_t route_len, const void *body, size_t blen)
{
	void *dealer = broker < svc->nbrokers ? svc->brokers[broker].dealer : NULL;
	if (dealer == NULL) { /* being reconnected: its client retries */
		svc->dropped++;
		return;
	}
	uint8_t stack[TRC_HEADER_MAX];
	size_t hlen = protobuf_c_message_get_packed_size(&h->base);
	uint8_t *hbuf = hlen <= sizeof(stack) ? stack : trc_arena_alloc(svc->fill->arena, hlen);
	if (hbuf == NULL) {
		svc->dropped++;
		trc_err("out of memory packing a frame's header");
		return;
	}
	protobuf_c_message_pack(&h->base, hbuf);
	trc_frame_t f[3];
	int n = 0;
	if (route != NULL)
		f[n++] = (trc_frame_t){ route, route_len };
	f[n++] = (trc_frame_t){ hbuf, hlen };
	if (h->kind == TRACTION__V1__FRAME_KIND__FRAME_REQUEST ||
	    h->kind == TRACTION__V1__FRAME_KIND__FRAME_REPLY)
		f[n++] = (trc_frame_t){ body != NULL ? body : "", blen };
	int rc = trc_send(dealer, f, n, ZMQ_DONTWAIT);
	if (rc != 0) {
		svc->dropped++;
		trc_warn("send to broker failed: %s", trc_strerror(rc));
	}
}

/* A frame of our own: a control frame, or a request (events.replay). */
void svc_send_header(trc_service_t *svc, unsigned broker, Traction__V1__Header *h,
		     const void *route, size_t route_len, const ProtobufCMessage *body)
{
	size_t blen = 0;
	void *bbuf = body != NULL ? s_pack(svc, body, &blen) : NULL;
	if (body != NULL && bbuf == NULL) {
		svc->dropped++; /* a replay asked again at the next poll */
		trc_err("out of memory packing a request");
		return;
	}
	s_send(svc, broker, h, route, route_len, bbuf, blen);
}

void svc_send_control(trc_service_t *svc, unsigned broker, Traction__V1__FrameKind kind,
		      const char *service)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = kind;
	h.service = (char *)(service != NULL ? service : "");
	if (kind == TRACTION__V1__FRAME_KIND__FRAME_READY ||
	    kind == TRACTION__V1__FRAME_KIND__FRAME_HEARTBEAT) {
		/* v1.1; SINGLE and 0 are not sent at all: a first wave's frame */
		h.replica_role = (Traction__V1__ReplicaRole)svc->replica_role;
		h.term = svc->replica_term;
	}
	svc_send_header(svc, broker, &h, NULL, 0, NULL);
}

int trc_service_set_replica(trc_service_t *svc, int role, uint64_t term)
{
	if (svc == NULL || role < TRACTION__V1__REPLICA_ROLE__REPLICA_SINGLE ||
	    role > TRACTION__V1__REPLICA_ROLE__REPLICA_CANDIDATE)
		return TRC_EINVAL;
	if (role != svc->replica_role || term != svc->replica_term)
		trc_info("replica role=%s term=%llu (was %s at term %llu)",
			 trc_replica_role_name(role), (unsigned long long)term,
			 trc_replica_role_name(svc->replica_role),
			 (unsigned long long)svc->replica_term);
	svc->replica_role = role;
	svc->replica_term = term;
	/* a broker not linked now hears it when it registers us again */
	for (unsigned b = 0; b < svc->nbrokers; b++)
		for (size_t i = 0; i < svc->def->n_services; i++)
			svc_send_control(svc, b, TRACTION__V1__FRAME_KIND__FRAME_READY,
					 svc->def->services[i].name);
	return 0;
}

/* Where the daemon stands, into v and p (room for every source and our
 * own head): (with own) its own head, and what it applied of each
 * source it consumes. How many. */
static size_t s_positions_into(trc_service_t *svc, bool own, Traction__V1__EventPosition **v,
			       Traction__V1__EventPosition *p)
{
	size_t n = 0;
	if (own && svc->evlog != NULL) {
		traction__v1__event_position__init(&p[n]);
		p[n].source = (char *)trc_evlog_source(svc->evlog);
		p[n].applied_seq = svc->head;
		v[n] = &p[n];
		n++;
	}
	for (size_t i = 0; i < svc->ncons; i++) {
		traction__v1__event_position__init(&p[n]);
		p[n].source = (char *)svc->cons[i].source;
		p[n].applied_seq = svc->cons[i].applied;
		v[n] = &p[n];
		n++;
	}
	return n;
}

/* The room of the reply headers' positions (once the consumers are
 * known). */
int svc_positions_new(trc_service_t *svc)
{
	svc->hpos = calloc(svc->ncons + 1, sizeof(*svc->hpos));
	svc->hposv = calloc(svc->ncons + 1, sizeof(*svc->hposv));
	return svc->hpos != NULL && svc->hposv != NULL ? 0 : TRC_ENOMEM;
}

/* The same, in the arena (ping's reply); NULL if out of memory. */
Traction__V1__EventPosition **svc_positions(trc_service_t *svc, bool own, size_t *n)
{
	trc_arena_t *a = svc->fill->arena;
	size_t cap = svc->ncons + 1;
	Traction__V1__EventPosition **v = trc_arena_alloc(a, sizeof(*v) * cap);
	Traction__V1__EventPosition *p = trc_arena_alloc(a, sizeof(*p) * cap);
	*n = 0;
	if (v == NULL || p == NULL)
		return NULL;
	*n = s_positions_into(svc, own, v, p);
	return v;
}

/* The body of a reply, packed (in *body, *blen); or, when it cannot be
 * sent in full, the status that replaces it in msg. A reply that cannot
 * be built is RESOURCE_EXHAUSTED, never an OK (or an error) with less
 * than it says. */
static int s_reply_body(trc_service_t *svc, const reply_t *r, uint32_t version, const void **body,
			size_t *blen, char *msg, size_t msglen)
{
	Traction__V1__ErrorDetails det = TRACTION__V1__ERROR_DETAILS__INIT;
	const ProtobufCMessage *m = r->code == 0 ? r->body : NULL;
	*body = r->code == 0 ? r->packed : NULL;
	*blen = r->code == 0 ? r->packed_len : 0;
	if (r->code != 0 && version >= 2 && r->n_details > 0) { /* v1.1: what went wrong */
		det.details = r->details;
		det.n_details = r->n_details;
		m = &det.base;
	}
	if (*body == NULL && m != NULL && (*body = s_pack(svc, m, blen)) == NULL) {
		snprintf(msg, msglen, "out of memory building the reply");
		*blen = 0;
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	}
	if (r->code == 0 && *blen > (size_t)svc->cfg.max_message_kb * 1024) {
		/* The broker would cut our connection for it: say so instead. */
		snprintf(msg, msglen,
			 "the reply (%zu bytes) is larger than max_message_kb=%u; ask for a "
			 "smaller page",
			 *blen, svc->cfg.max_message_kb);
		*body = NULL;
		*blen = 0;
		return TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
	}
	return r->code;
}

/* A reply: its status, where we stand (v1.1), and its body. Only the
 * body of a read (or an error's details) takes memory of the turn: a
 * write's comes packed, the header goes on the stack. */
void svc_reply_full(trc_service_t *svc, unsigned broker, const void *route, size_t route_len,
		    const reply_t *r)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__Status st = TRACTION__V1__STATUS__INIT;
	Traction__V1__EventPosition committed = TRACTION__V1__EVENT_POSITION__INIT;
	char why[TRC_REPLY_MESSAGE_MAX] = "";
	char esc[TRC_REPLY_MESSAGE_MAX];
	const void *body;
	size_t blen;
	h.version = r->version >= TRC_PROTOCOL_MIN ? r->version : TRC_PROTOCOL_MIN;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REPLY;
	h.request_id = r->request_id;
	int code = s_reply_body(svc, r, h.version, &body, &blen, why, sizeof(why));
	const char *message = code == r->code ? r->message : why;
	if (h.version >= 2) { /* v1.1: where we stand */
		h.n_applied = s_positions_into(svc, true, svc->hposv, svc->hpos);
		h.applied = svc->hposv;
		if (r->committed && code == 0 && svc->evlog != NULL) {
			committed.source = (char *)trc_evlog_source(svc->evlog);
			committed.applied_seq = svc->head;
			h.committed = &committed;
		}
	}
	/* every string we send is well-formed UTF-8 (trc_escape) */
	esc[0] = '\0';
	if (message != NULL)
		trc_escape(esc, sizeof(esc), message, strlen(message));
	st.code = code;
	st.message = esc;
	h.status = &st;
	if (protobuf_c_message_get_packed_size(&h.base) > TRC_HEADER_MAX) {
		h.applied = NULL; /* so many sources that the header would not fit */
		h.n_applied = 0;
	}
	s_send(svc, broker, &h, route, route_len, body, blen);
}

/* A reply with no more than a code and a message (and a body when OK). */
void svc_reply(trc_service_t *svc, unsigned broker, const void *route, size_t route_len,
	       uint32_t version, uint64_t request_id, int code, const char *message,
	       const ProtobufCMessage *body)
{
	reply_t r = { .version = version, .request_id = request_id, .code = code,
		      .message = message, .body = body };
	svc_reply_full(svc, broker, route, route_len, &r);
}

/* The reply to a request that ran. */
void svc_reply_work(trc_service_t *svc, const work_t *w)
{
	reply_t r = { .version = w->version, .request_id = w->request_id, .code = w->code,
		      .message = w->message, .details = w->details, .n_details = w->n_details,
		      .body = w->rep, .packed = w->packed, .packed_len = w->packed_len,
		      .committed = (w->method->flags & TRC_METHOD_WRITE) != 0 };
	svc_reply_full(svc, w->broker, w->route, w->route_len, &r);
	svc_metrics_request(svc, w);
}

/* One event of ours, after its commit (a trc_evlog_publish_fn). */
void svc_publish(void *ud, const char *topic, const void *data, size_t len)
{
	trc_service_t *svc = ud;
	trc_frame_t f[2] = { { topic, strlen(topic) }, { data, len } };
	if (!svc_raft_leads(svc))
		return; /* the same events are the leader's to publish */
	if (trc_send(svc->pub, f, 2, ZMQ_DONTWAIT) != 0)
		svc->dropped++; /* consumers find the gap and replay */
}

int svc_work_push(worklist_t *l, work_t **w)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 256 : l->cap * 2;
		work_t *nw = trc_fault() ? NULL : realloc(l->v, ncap * sizeof(*nw));
		if (nw == NULL)
			return TRC_ENOMEM;
		l->v = nw;
		l->cap = ncap;
	}
	*w = &l->v[l->n++];
	memset(*w, 0, sizeof(**w));
	return 0;
}
