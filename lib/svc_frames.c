/*
 * The bottom layer of the service runtime: every frame a service sends
 * (replies with where the daemon stands, control frames, requests of its
 * own, its events after a commit) and the work list the layers above
 * queue requests and events to. It calls nothing of the runtime above it.
 */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
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

void svc_send_header(trc_service_t *svc, Traction__V1__Header *h, const void *route,
		     size_t route_len, const ProtobufCMessage *body)
{
	trc_frame_t f[3];
	int n = 0;
	size_t hlen, blen = 0;
	void *hbuf = s_pack(svc, &h->base, &hlen);
	void *bbuf = body != NULL ? s_pack(svc, body, &blen) : NULL;
	if (hbuf == NULL || (body != NULL && bbuf == NULL)) {
		trc_err("out of memory packing a reply");
		return;
	}
	if (blen > (size_t)svc->cfg.max_message_kb * 1024 &&
	    h->kind == TRACTION__V1__FRAME_KIND__FRAME_REPLY) {
		/* The broker would cut our connection for it: say so instead. */
		Traction__V1__Status st = TRACTION__V1__STATUS__INIT;
		st.code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
		st.message = trc_arena_printf(svc->fill->arena,
					      "the reply (%zu bytes) is larger than max_message_kb=%u; "
					      "ask for a smaller page",
					      blen, svc->cfg.max_message_kb);
		h->status = &st;
		hbuf = s_pack(svc, &h->base, &hlen);
		bbuf = NULL;
		blen = 0;
		if (hbuf == NULL)
			return;
	}
	if (route != NULL)
		f[n++] = (trc_frame_t){ route, route_len };
	f[n++] = (trc_frame_t){ hbuf, hlen };
	if (h->kind == TRACTION__V1__FRAME_KIND__FRAME_REQUEST ||
	    h->kind == TRACTION__V1__FRAME_KIND__FRAME_REPLY)
		f[n++] = (trc_frame_t){ bbuf != NULL ? bbuf : "", blen };
	int rc = trc_send(svc->dealer, f, n, ZMQ_DONTWAIT);
	if (rc != 0) {
		svc->dropped++;
		trc_warn("send to broker failed: %s", trc_strerror(rc));
	}
}

void svc_send_control(trc_service_t *svc, Traction__V1__FrameKind kind, const char *service)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = kind;
	h.service = (char *)(service != NULL ? service : "");
	svc_send_header(svc, &h, NULL, 0, NULL);
}

/* Where the daemon stands: (with own) its own head, and what it applied
 * of each source it consumes; for Header.applied and ping. */
Traction__V1__EventPosition **svc_positions(trc_service_t *svc, bool own, size_t *n)
{
	trc_arena_t *a = svc->fill->arena;
	size_t cap = svc->ncons + 1;
	Traction__V1__EventPosition **v = trc_arena_alloc(a, sizeof(*v) * cap);
	Traction__V1__EventPosition *p = trc_arena_alloc(a, sizeof(*p) * cap);
	*n = 0;
	if (v == NULL || p == NULL)
		return NULL;
	if (own && svc->evlog != NULL) {
		traction__v1__event_position__init(&p[*n]);
		p[*n].source = (char *)trc_evlog_source(svc->evlog);
		p[*n].applied_seq = svc->head;
		v[*n] = &p[*n];
		(*n)++;
	}
	for (size_t i = 0; i < svc->ncons; i++) {
		traction__v1__event_position__init(&p[*n]);
		p[*n].source = (char *)svc->cons[i].source;
		p[*n].applied_seq = svc->cons[i].applied;
		v[*n] = &p[*n];
		(*n)++;
	}
	return v;
}

void svc_reply_full(trc_service_t *svc, const void *route, size_t route_len, const reply_t *r)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__Status st = TRACTION__V1__STATUS__INIT;
	Traction__V1__EventPosition committed = TRACTION__V1__EVENT_POSITION__INIT;
	Traction__V1__ErrorDetails det = TRACTION__V1__ERROR_DETAILS__INIT;
	uint64_t request_id = r->request_id;
	int code = r->code;
	const char *message = r->message;
	const ProtobufCMessage *body = code == 0 ? r->body : NULL;
	h.version = r->version >= TRC_PROTOCOL_MIN ? r->version : TRC_PROTOCOL_MIN;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REPLY;
	h.request_id = request_id;
	if (h.version >= 2) { /* v1.1: where we stand, what went wrong */
		h.applied = svc_positions(svc, true, &h.n_applied);
		if (r->committed && code == 0 && svc->evlog != NULL) {
			committed.source = (char *)trc_evlog_source(svc->evlog);
			committed.applied_seq = svc->head;
			h.committed = &committed;
		}
		if (code != 0 && r->n_details > 0) {
			det.details = r->details;
			det.n_details = r->n_details;
			body = &det.base;
		}
	}
	st.code = code;
	st.message = (char *)"";
	if (message != NULL && message[0] != '\0') {
		/* every string we send is well-formed UTF-8 (trc_escape) */
		size_t len = strlen(message);
		char *esc = trc_arena_alloc(svc->fill->arena, 4 * len + 1);
		if (esc != NULL)
			trc_escape(esc, 4 * len + 1, message, len);
		st.message = esc != NULL ? esc : (char *)"(out of memory)";
	}
	h.status = &st;
	svc_send_header(svc, &h, route, route_len, body);
}

/* A reply with no more than a code and a message (and a body when OK). */
void svc_reply(trc_service_t *svc, const void *route, size_t route_len, uint32_t version,
	       uint64_t request_id, int code, const char *message, const ProtobufCMessage *body)
{
	reply_t r = { .version = version, .request_id = request_id, .code = code,
		      .message = message, .body = body };
	svc_reply_full(svc, route, route_len, &r);
}

/* The reply to a request that ran. */
void svc_reply_work(trc_service_t *svc, const work_t *w)
{
	reply_t r = { .version = w->version, .request_id = w->request_id, .code = w->code,
		      .message = w->message, .details = w->details, .n_details = w->n_details,
		      .body = w->rep, .committed = (w->method->flags & TRC_METHOD_WRITE) != 0 };
	svc_reply_full(svc, w->route, w->route_len, &r);
}

/* One event of ours, after its commit (a trc_evlog_publish_fn). */
void svc_publish(void *ud, const char *topic, const void *data, size_t len)
{
	trc_service_t *svc = ud;
	trc_frame_t f[2] = { { topic, strlen(topic) }, { data, len } };
	if (trc_send(svc->pub, f, 2, ZMQ_DONTWAIT) != 0)
		svc->dropped++; /* consumers find the gap and replay */
}

int svc_work_push(worklist_t *l, work_t **w)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 256 : l->cap * 2;
		work_t *nw = realloc(l->v, ncap * sizeof(*nw));
		if (nw == NULL)
			return TRC_ENOMEM;
		l->v = nw;
		l->cap = ncap;
	}
	*w = &l->v[l->n++];
	memset(*w, 0, sizeof(**w));
	return 0;
}
