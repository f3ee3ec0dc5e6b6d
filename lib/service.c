/*
 * The service daemon runtime: broker connection, dispatch, group commit,
 * event publishing and event consumption. See service.h for the shape of
 * one turn of the loop.
 */
#include "service.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon.h"
#include "error.h"
#include "keys.h"
#include "log.h"
#include "methods.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/events.pb-c.h"

/* A source we consume, and where we are in it. The writer sets wpos and
 * wgap while it has a batch; the loop reads them once it is done, and
 * owns the rest (changing `applied` only while the writer is idle). */
typedef struct {
	const char *source;
	uint64_t applied;        /* committed in our store */
	uint64_t queued;         /* applied + what is queued to apply */
	uint64_t wpos;           /* writer: the last seq applied in its batch */
	bool wgap;               /* writer: its batch skipped an event it needs */
	uint64_t replay_id;      /* request id of the replay in flight, 0: none */
	int64_t replay_sent;
	int64_t next_poll;
} consumer_t;

typedef enum { WORK_REQUEST, WORK_EVENT, WORK_TICK } work_kind_t;

typedef struct {
	work_kind_t kind;
	/* request */
	const trc_method_t *method;
	const void *route;       /* the Route frame to echo, in the arena */
	size_t route_len;
	Traction__V1__Route *rt;
	uint32_t version;        /* the request's, and so its reply's */
	uint64_t request_id;
	ProtobufCMessage *req;
	const uint8_t *body;     /* the request's bytes, in the arena */
	size_t body_len;
	ProtobufCMessage *rep;
	int code;
	const char *message;
	Traction__V1__ErrorDetail **details;
	size_t n_details;
	/* event */
	consumer_t *cons;
	Traction__V1__Event *ev;
} work_t;

typedef struct {
	work_t *v;
	size_t n, cap;
} worklist_t;

/* What the loop collects for one group commit: the writes and events, the
 * reads that wait for the writer to be idle (handlers share caches with
 * the writes), and the arena all of it, and its replies, live in. */
typedef struct {
	trc_arena_t *arena;
	ProtobufCAllocator al;
	worklist_t writes;
	worklist_t reads;
	size_t bytes;            /* of the writes' requests */
	int64_t now_ms;
	int rc;                  /* the group commit's outcome */
	uint64_t head;           /* our event log's head once it committed */
} batch_t;

/* A request that waits to be served (Header.after not yet applied, or an
 * events.read long poll with nothing new): its frames, copied, handled
 * again when what it waits for is there or at its deadline. */
typedef struct parked {
	struct parked *next;
	int64_t deadline;        /* monotonic ms */
	zmq_msg_t part[3];       /* Route, Header, body */
} parked_t;

/* Requests that may wait at once; past it they are answered at once. */
#define TRC_PARKED_MAX 1024

struct trc_service {
	const trc_daemon_def_t *def;
	trc_config_t cfg;
	trc_store_t *store;
	trc_evlog_t *evlog;
	/* Two batches take turns: the loop fills one while the writer thread
	 * applies and commits the other (docs/architecture.md). */
	batch_t batches[2];
	batch_t *fill;           /* the loop's */
	batch_t *run;            /* the writer's, NULL while it is idle */
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t mu;      /* guards todo and quit */
	pthread_cond_t cv;
	batch_t *todo;           /* handed to the writer */
	batch_t *done;           /* the writer finished it (atomic access) */
	bool quit;
	int64_t run_since;       /* when the writer got its batch (mono ms) */
	bool loaded;             /* the writer has just finished a full batch */
	int done_fd;             /* eventfd: the writer finished a batch */
	pthread_mutex_t ahead_mu; /* one trc_store_write_ahead at a time */
	void *zctx;
	void *dealer;
	void *pub;
	void *sub;
	/* with service_curve: our key pair and the broker's public key */
	char curve_pub[TRC_Z85_KEY + 1];
	char curve_sec[TRC_Z85_KEY + 1];
	char server_pub[TRC_Z85_KEY + 1];
	int64_t started_mono;
	int64_t last_broker;
	int64_t next_heartbeat;
	int64_t next_tick;
	uint64_t next_request_id;
	consumer_t *cons;
	size_t ncons;
	uint64_t head;           /* our event log's committed head */
	parked_t *parked;
	size_t nparked;
	uint64_t gen, gen_seen;  /* commits settled; of them, seen by parked */
	trc_txn_t rtxn;          /* this turn's read transaction, if open */
	bool rtxn_open;
	uint64_t dropped;
	char state_path[TRC_CONFIG_PATH + 64];
};

static const char *const s_topics_supply[] = { "provider.", "supply.", NULL };
static const char *const s_topics_scenario[] = { "scenario.", NULL };
static const char *const s_topics_feedback[] = { "feedback.", NULL };
static const char *const s_topics_iteration[] = { "iteration.", "deployment.", NULL };

const char *const *trc_event_topics(const char *source)
{
	if (strcmp(source, "supply") == 0)
		return s_topics_supply;
	if (strcmp(source, "scenario") == 0)
		return s_topics_scenario;
	if (strcmp(source, "feedback") == 0)
		return s_topics_feedback;
	if (strcmp(source, "iteration") == 0)
		return s_topics_iteration;
	return NULL;
}

/* ---- sending ------------------------------------------------------------ */

static void *s_pack(trc_service_t *svc, const ProtobufCMessage *msg, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = trc_arena_alloc(svc->fill->arena, *len > 0 ? *len : 1);
	if (buf == NULL)
		return NULL;
	protobuf_c_message_pack(msg, buf);
	return buf;
}

static void s_send_header(trc_service_t *svc, Traction__V1__Header *h, const void *route,
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

static void s_send_control(trc_service_t *svc, Traction__V1__FrameKind kind,
			   const char *service)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = kind;
	h.service = (char *)(service != NULL ? service : "");
	s_send_header(svc, &h, NULL, 0, NULL);
}

/* Where the daemon stands: (with own) its own head, and what it applied
 * of each source it consumes; for Header.applied and ping. */
static Traction__V1__EventPosition **s_positions(trc_service_t *svc, bool own, size_t *n)
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

typedef struct {
	uint32_t version;
	uint64_t request_id;
	int code;
	const char *message;
	Traction__V1__ErrorDetail **details; /* sent as the error's body */
	size_t n_details;
	const ProtobufCMessage *body;
	bool committed;          /* a write that committed: say where */
} reply_t;

static void s_reply_full(trc_service_t *svc, const void *route, size_t route_len,
			 const reply_t *r)
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
		h.applied = s_positions(svc, true, &h.n_applied);
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
	s_send_header(svc, &h, route, route_len, body);
}

/* A reply with no more than a code and a message (and a body when OK). */
static void s_reply(trc_service_t *svc, const void *route, size_t route_len, uint32_t version,
		    uint64_t request_id, int code, const char *message,
		    const ProtobufCMessage *body)
{
	reply_t r = { .version = version, .request_id = request_id, .code = code,
		      .message = message, .body = body };
	s_reply_full(svc, route, route_len, &r);
}

/* The reply to a request that ran. */
static void s_reply_work(trc_service_t *svc, const work_t *w)
{
	reply_t r = { .version = w->version, .request_id = w->request_id, .code = w->code,
		      .message = w->message, .details = w->details, .n_details = w->n_details,
		      .body = w->rep, .committed = (w->method->flags & TRC_METHOD_WRITE) != 0 };
	s_reply_full(svc, w->route, w->route_len, &r);
}

static void s_register(trc_service_t *svc)
{
	for (size_t i = 0; i < svc->def->n_services; i++)
		s_send_control(svc, TRACTION__V1__FRAME_KIND__FRAME_READY,
			       svc->def->services[i].name);
}

/* A socket of ours towards the broker: the common options and, with
 * service_curve, CurveZMQ as a client with our key. */
static int s_broker_socket(trc_service_t *svc, void **sock, int type)
{
	*sock = zmq_socket(svc->zctx, type);
	if (*sock == NULL)
		return trc_err_from_errno(errno);
	int rc = trc_socket_setup(*sock, &svc->cfg);
	/* a PUB only ever receives subscriptions (the broker forwards the
	 * ones it vetted): anything larger is not one */
	int64_t submax = TRC_SUBSCRIPTION_MAX;
	if (rc == 0 && type == ZMQ_PUB &&
	    zmq_setsockopt(*sock, ZMQ_MAXMSGSIZE, &submax, sizeof(submax)) != 0)
		rc = trc_err_from_errno(errno);
	if (rc == 0 && svc->cfg.service_curve &&
	    (zmq_setsockopt(*sock, ZMQ_CURVE_SERVERKEY, svc->server_pub, TRC_Z85_KEY) != 0 ||
	     zmq_setsockopt(*sock, ZMQ_CURVE_PUBLICKEY, svc->curve_pub, TRC_Z85_KEY) != 0 ||
	     zmq_setsockopt(*sock, ZMQ_CURVE_SECRETKEY, svc->curve_sec, TRC_Z85_KEY) != 0))
		rc = trc_err_from_errno(errno);
	return rc;
}

static int s_connect_dealer(trc_service_t *svc)
{
	int rc = s_broker_socket(svc, &svc->dealer, ZMQ_DEALER);
	if (rc == 0 && zmq_connect(svc->dealer, svc->cfg.service_endpoint) != 0)
		rc = trc_err_from_errno(errno);
	if (rc != 0) {
		trc_err("cannot connect to the broker at %s: %s", svc->cfg.service_endpoint,
			trc_strerror(rc));
		return rc;
	}
	svc->last_broker = trc_mono_ms();
	s_register(svc);
	return 0;
}

/* ---- built-in methods: ping and events.replay ---------------------------- */

static int s_ping(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	Traction__V1__PingReply *rep = (Traction__V1__PingReply *)rep_;
	rep->daemon = (char *)svc->def->program;
	rep->version = (char *)TRACTION_VERSION;
	rep->uptime_ms = trc_mono_ms() - svc->started_mono;
	rep->pid = (uint32_t)getpid();
	rep->event_head = svc->evlog != NULL ? trc_evlog_head(call->txn) : 0;
	rep->positions = s_positions(svc, false, &rep->n_positions);
	return rep->positions != NULL ? 0 : trc_call_fail(call, TRC_ENOMEM, "out of memory");
}

static int s_replay(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	const Traction__V1__ReplayRequest *req = (const Traction__V1__ReplayRequest *)req_;
	Traction__V1__ReplayReply *rep = (Traction__V1__ReplayReply *)rep_;
	size_t max = req->max == 0 || req->max > svc->cfg.replay_batch ? svc->cfg.replay_batch
								       : req->max;
	rep->head_seq = trc_evlog_head(call->txn);
	rep->events = trc_arena_alloc(call->arena, sizeof(void *) * max);
	if (rep->events == NULL)
		return trc_call_fail(call, TRC_ENOMEM, "out of memory");
	/* Half the largest message leaves room for framing and for a
	 * consumer whose limit is a little lower. */
	size_t max_bytes = (size_t)svc->cfg.max_message_kb * 512;
	int rc = trc_evlog_read(call->txn, req->from_seq, max, max_bytes, &svc->fill->al,
				rep->events, &rep->n_events);
	if (rc != 0)
		return trc_call_fail(call, rc, "cannot read the event log: %s", trc_strerror(rc));
	return 0;
}

static bool s_topic_wanted(const Traction__V1__EventsReadRequest *req, const char *type)
{
	if (req->n_topics == 0)
		return true;
	for (size_t i = 0; i < req->n_topics; i++)
		if (strncmp(type, req->topics[i], strlen(req->topics[i])) == 0)
			return true;
	return false;
}

/* The readers' feed: a page of the event log from from_seq on, filtered by
 * topic prefix and by what the caller's scope may see (the daemon's
 * event_visible; without one its events are public). The page ends where
 * the scan stopped, so next_seq resumes after events filtered out too. */
static int s_events_read(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	const Traction__V1__EventsReadRequest *req =
		(const Traction__V1__EventsReadRequest *)req_;
	Traction__V1__EventsReadReply *rep = (Traction__V1__EventsReadReply *)rep_;
	for (size_t i = 0; i < req->n_topics; i++)
		if (!trc_topic_prefix_ok(req->topics[i], strlen(req->topics[i])))
			return trc_call_fail(call, TRC_EINVAL,
					     "topics[%zu]: not a topic prefix ([A-Za-z0-9._-], "
					     "at most 128 bytes)",
					     i);
	size_t max = req->max == 0 || req->max > svc->cfg.replay_batch ? svc->cfg.replay_batch
								       : req->max;
	uint64_t from = req->from_seq > 0 ? req->from_seq : 1;
	rep->head_seq = trc_evlog_head(call->txn);
	rep->events = trc_arena_alloc(call->arena, sizeof(void *) * max);
	if (rep->events == NULL)
		return trc_call_fail(call, TRC_ENOMEM, "out of memory");
	size_t max_bytes = (size_t)svc->cfg.max_message_kb * 512, bytes = 0;
	/* scan at most a few pages of filtered-out events per call */
	uint64_t seq = from;
	for (int pass = 0; pass < 8 && rep->n_events < max && seq <= rep->head_seq; pass++) {
		Traction__V1__Event **page = trc_arena_alloc(call->arena, sizeof(void *) * max);
		size_t n = 0;
		if (page == NULL)
			return trc_call_fail(call, TRC_ENOMEM, "out of memory");
		int rc = trc_evlog_read(call->txn, seq, max, max_bytes, &svc->fill->al, page, &n);
		if (rc != 0)
			return trc_call_fail(call, rc, "cannot read the event log: %s",
					     trc_strerror(rc));
		if (n == 0)
			break;
		size_t i = 0;
		for (; i < n && rep->n_events < max; i++) {
			Traction__V1__Event *ev = page[i];
			if (!s_topic_wanted(req, ev->type))
				continue;
			if (svc->def->event_visible != NULL && trc_scope_on(call)) {
				trc_call_t inner = *call;
				inner.user = svc->def->user;
				if (!svc->def->event_visible(&inner, ev))
					continue;
			}
			size_t sz = protobuf_c_message_get_packed_size(&ev->base);
			if (rep->n_events > 0 && bytes + sz > max_bytes)
				break;
			bytes += sz;
			rep->events[rep->n_events++] = ev;
		}
		seq = i > 0 ? page[i - 1]->seq + 1 : seq;
		if (i < n)
			break;
	}
	rep->next_seq = seq;
	return 0;
}

static const trc_method_t s_builtin[] = {
	{ "ping", &traction__v1__empty__descriptor, &traction__v1__ping_reply__descriptor,
	  s_ping, TRC_METHOD_PUBLISH, "health, version and event positions" },
	{ "events.replay", &traction__v1__replay_request__descriptor,
	  &traction__v1__replay_reply__descriptor, s_replay, TRC_METHOD_SERVICE,
	  "events from a sequence on, for consumers catching up" },
	{ "events.read", &traction__v1__events_read_request__descriptor,
	  &traction__v1__events_read_reply__descriptor, s_events_read, 0,
	  "events from a sequence on, by topic prefix and scope, waiting up to wait_ms" },
};

static bool s_builtin_method(const trc_method_t *m)
{
	return m >= s_builtin && m < s_builtin + sizeof(s_builtin) / sizeof(s_builtin[0]);
}

/* ---- dispatch --------------------------------------------------------------- */

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
	for (size_t j = 0; j < sizeof(s_builtin) / sizeof(s_builtin[0]); j++) {
		if (strcmp(s_builtin[j].name, method) != 0)
			continue;
		if (s_builtin[j].handler != s_ping && svc->evlog == NULL)
			return NULL;
		return &s_builtin[j];
	}
	return NULL;
}

/* Who may call what: the broker says who the client is (Route.role). */
static const char *s_forbidden(const trc_method_t *m, int role)
{
	switch (role) {
	case TRACTION__V1__ROLE__ROLE_ADMIN:
	case TRACTION__V1__ROLE__ROLE_SERVICE:
		return NULL;
	case TRACTION__V1__ROLE__ROLE_READER:
		if (m->flags & (TRC_METHOD_WRITE | TRC_METHOD_ADMIN))
			return "the reader role may only query";
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

static void s_call_init(trc_service_t *svc, batch_t *b, trc_call_t *call, trc_txn_t *txn,
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

static const char *s_status_message(trc_service_t *svc, trc_arena_t *arena, int err,
				    const trc_call_t *call)
{
	if (call != NULL && call->message != NULL)
		return call->message;
	if (err == TRC_ENOSPC)
		return trc_arena_printf(arena,
					"the store is full (map_size_mb=%u): writes are refused, "
					"reads still work; raise [store] map_size_mb and restart",
					svc->cfg.map_size_mb);
	if (err == TRC_EDISKFULL)
		return trc_arena_printf(arena,
					"the disk under the store (%s) is full: writes are refused, "
					"reads still work; free space and send again",
					svc->state_path);
	return trc_strerror(err);
}

static int s_work_push(worklist_t *l, work_t **w)
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

/* A read, on the loop thread while the writer is idle, from a read
 * transaction of the turn (opened at the first read, closed before the
 * writer gets the next batch). */
static void s_read(trc_service_t *svc, work_t *w)
{
	if (!svc->rtxn_open) {
		if (trc_txn_begin(svc->store, &svc->rtxn, false) != 0) {
			s_reply(svc, w->route, w->route_len, w->version, w->request_id,
				TRACTION__V1__CODE__INTERNAL, "cannot open a read transaction",
				NULL);
			return;
		}
		svc->rtxn_open = true;
	}
	trc_call_t call;
	s_call_init(svc, svc->fill, &call, &svc->rtxn, w->rt);
	if (s_builtin_method(w->method))
		call.user = svc;
	int rc = w->method->handler(&call, w->req, w->rep);
	w->code = rc == 0 ? 0 : (call.code != 0 ? call.code : trc_err_to_code(rc));
	w->message = rc == 0 ? NULL : s_status_message(svc, svc->fill->arena, rc, &call);
	w->details = call.details;
	w->n_details = call.n_details;
	s_reply_work(svc, w);
}

static void s_reads_close(trc_service_t *svc)
{
	if (svc->rtxn_open) {
		trc_txn_abort(&svc->rtxn);
		svc->rtxn_open = false;
	}
}

/* ---- requests that wait ------------------------------------------------------ */

/* What this daemon has of a source: its own head, or what it applied of a
 * source it consumes; false if it neither writes nor consumes it. */
static bool s_position_of(const trc_service_t *svc, const char *source, uint64_t *seq)
{
	if (svc->evlog != NULL && strcmp(source, trc_evlog_source(svc->evlog)) == 0) {
		*seq = svc->head;
		return true;
	}
	for (size_t i = 0; i < svc->ncons; i++)
		if (strcmp(svc->cons[i].source, source) == 0) {
			*seq = svc->cons[i].applied;
			return true;
		}
	return false;
}

/* How long a request may wait here: its timeout (the broker's bound),
 * less a margin for the reply to travel back before the broker gives up. */
static int64_t s_wait_budget(const trc_service_t *svc, const Traction__V1__Header *h)
{
	int64_t t = h->timeout_ms == 0 || h->timeout_ms > svc->cfg.request_timeout_ms
			    ? svc->cfg.request_timeout_ms
			    : h->timeout_ms;
	int64_t margin = t / 4 < 500 ? t / 4 : 500;
	return t - margin;
}

/* Keeps the request's frames to handle again later (s_unpark). false if
 * too many wait already, or out of memory: then it is answered now. */
static bool s_park(trc_service_t *svc, trc_msg_t *m, int64_t deadline)
{
	if (svc->nparked >= TRC_PARKED_MAX)
		return false;
	parked_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return false;
	for (int i = 0; i < 3; i++) {
		zmq_msg_init(&p->part[i]);
		zmq_msg_copy(&p->part[i], &m->part[i]); /* shares the data */
	}
	p->deadline = deadline;
	p->next = svc->parked;
	svc->parked = p;
	svc->nparked++;
	return true;
}

static void s_handle_request_at(trc_service_t *svc, trc_msg_t *m, bool expired);

/* Hands waiting requests back to dispatch: all of them when what they wait
 * for may have come (a commit, an applied event), else those past their
 * deadline (expired: answered with what there is). A request still not
 * ready parks itself again. */
static void s_unpark(trc_service_t *svc, bool progress, bool all_expired)
{
	int64_t now = trc_mono_ms();
	parked_t *list = svc->parked, *keep = NULL;
	svc->parked = NULL;
	svc->nparked = 0;
	while (list != NULL) {
		parked_t *p = list;
		list = p->next;
		bool expired = all_expired || now >= p->deadline;
		if (!expired && !progress) {
			p->next = keep;
			keep = p;
			continue;
		}
		trc_msg_t m = { .n = 3, .total = 3 };
		for (int i = 0; i < 3; i++) {
			zmq_msg_init(&m.part[i]);
			zmq_msg_move(&m.part[i], &p->part[i]);
			zmq_msg_close(&p->part[i]);
		}
		s_handle_request_at(svc, &m, expired);
		trc_msg_close(&m);
		free(p);
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

static int64_t s_parked_next(const trc_service_t *svc)
{
	int64_t next = INT64_MAX;
	for (const parked_t *p = svc->parked; p != NULL; p = p->next)
		if (p->deadline < next)
			next = p->deadline;
	return next;
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

/* ---- requests ------------------------------------------------------------------ */

static void s_handle_request(trc_service_t *svc, trc_msg_t *m)
{
	s_handle_request_at(svc, m, false);
}

/* One request [Route][Header][body] from the broker; expired: it has
 * waited (parked) as long as it may, and is answered now whatever. */
static void s_handle_request_at(trc_service_t *svc, trc_msg_t *m, bool expired)
{
	const void *rdata = trc_msg_data(m, 0);
	size_t rlen = trc_msg_size(m, 0);
	Traction__V1__Route *rt = traction__v1__route__unpack(&svc->fill->al, rlen, rdata);
	if (rt == NULL) {
		svc->dropped++;
		trc_warn("dropped a request with a malformed route frame (%zu bytes)", rlen);
		return;
	}
	/* The route must outlive the message: it is echoed after the commit. */
	void *route = trc_arena_alloc(svc->fill->arena, rlen > 0 ? rlen : 1);
	if (route == NULL)
		return;
	memcpy(route, rdata, rlen);

	const char *why = NULL;
	const void *hdata = trc_msg_data(m, 1);
	size_t hlen = trc_msg_size(m, 1);
	Traction__V1__Header *h = trc_header_unpack(&svc->fill->al, hdata, hlen, &why);
	/* the bytes are walked for it only when the header does not decode */
	uint32_t ver = h != NULL ? h->version : trc_header_version(hdata, hlen);
	if (h == NULL || h->kind != TRACTION__V1__FRAME_KIND__FRAME_REQUEST) {
		s_reply(svc, route, rlen, ver, trc_header_request_id(hdata, hlen),
			TRACTION__V1__CODE__INVALID_ARGUMENT,
			why != NULL ? why : "expected a request", NULL);
		return;
	}
	bool known;
	const trc_method_t *m_ = s_find_method(svc, h->service, h->method, &known);
	if (m_ == NULL) {
		s_reply(svc, route, rlen, ver, h->request_id,
			known ? TRACTION__V1__CODE__UNIMPLEMENTED : TRACTION__V1__CODE__NOT_FOUND,
			trc_arena_printf(svc->fill->arena, "unknown method '%s' of service '%s'",
					 h->method, h->service),
			NULL);
		return;
	}
	const char *denied = s_forbidden(m_, rt->role);
	if (denied != NULL) {
		s_reply(svc, route, rlen, ver, h->request_id, TRACTION__V1__CODE__PERMISSION_DENIED,
			trc_arena_printf(svc->fill->arena, "%s.%s: %s", h->service, h->method, denied),
			NULL);
		return;
	}
	/* strings first, in the bytes: a decoded string ends at its first NUL,
	 * and protobuf-c refuses some bad strings without naming the field */
	char bad[256];
	int sc = trc_wire_check_strings(m_->request, trc_msg_data(m, 2), trc_msg_size(m, 2), bad,
					sizeof(bad));
	ProtobufCMessage *req = sc != TRC_EINVAL ? protobuf_c_message_unpack(
							   m_->request, &svc->fill->al,
							   trc_msg_size(m, 2), trc_msg_data(m, 2))
						 : NULL;
	if (req == NULL) {
		s_reply(svc, route, rlen, ver, h->request_id, TRACTION__V1__CODE__INVALID_ARGUMENT,
			sc == TRC_EINVAL /* the field's path, as handlers name fields */
				? trc_arena_printf(svc->fill->arena, "%s", bad)
				: trc_arena_printf(svc->fill->arena, "%s.%s: the body is not a valid %s",
						   h->service, h->method, m_->request->name),
			NULL);
		return;
	}

	/* Header.after (read-your-writes across daemons): wait until applied. */
	if (h->n_after > 0) {
		trc_call_t c = { .arena = svc->fill->arena };
		int met = s_after_met(svc, h, &c, expired);
		if (met == 0 && !expired && s_park(svc, m, trc_mono_ms() + s_wait_budget(svc, h)))
			return;
		if (met <= 0) {
			if (met == 0 && c.n_details == 0) /* could not park: say why */
				s_after_met(svc, h, &c, true);
			reply_t r = { .version = ver, .request_id = h->request_id,
				      .code = met < 0 ? TRACTION__V1__CODE__INVALID_ARGUMENT
						      : TRACTION__V1__CODE__UNAVAILABLE,
				      .message = met < 0 ? "after: this daemon neither writes nor "
							   "consumes that source"
							 : "after: not yet applied here; try again",
				      .details = c.details, .n_details = c.n_details };
			s_reply_full(svc, route, rlen, &r);
			return;
		}
	}
	/* events.read's long poll: nothing at or after from_seq yet */
	if (m_->handler == s_events_read && !expired) {
		const Traction__V1__EventsReadRequest *er =
			(const Traction__V1__EventsReadRequest *)req;
		int64_t budget = s_wait_budget(svc, h);
		if (er->wait_ms < budget)
			budget = er->wait_ms;
		uint64_t from = er->from_seq > 0 ? er->from_seq : 1;
		if (budget > 0 && svc->head < from && s_park(svc, m, trc_mono_ms() + budget))
			return;
	}

	ProtobufCMessage *rep = trc_arena_alloc(svc->fill->arena, m_->reply->sizeof_message);
	if (rep == NULL)
		return;
	protobuf_c_message_init(m_->reply, rep);

	/* Writes wait for the group commit; reads are answered at once unless
	 * the writer is busy (they share the daemon's caches with writes). */
	bool write = (m_->flags & TRC_METHOD_WRITE) != 0;
	bool later = write || svc->run != NULL;
	size_t blen = trc_msg_size(m, 2);
	uint8_t *body = NULL;
	work_t one = { 0 }, *w = &one;
	if (write) /* a handler may store the bytes as they came: they outlive m */
		body = trc_arena_alloc(svc->fill->arena, blen > 0 ? blen : 1);
	if ((write && body == NULL) ||
	    (later && s_work_push(write ? &svc->fill->writes : &svc->fill->reads, &w) != 0)) {
		s_reply(svc, route, rlen, ver, h->request_id, TRACTION__V1__CODE__RESOURCE_EXHAUSTED,
			"out of memory", NULL);
		return;
	}
	if (body != NULL) {
		svc->fill->bytes += blen;
		memcpy(body, trc_msg_data(m, 2), blen);
		w->body = body;
		w->body_len = blen;
	}
	w->kind = WORK_REQUEST;
	w->method = m_;
	w->route = route;
	w->route_len = rlen;
	w->rt = rt;
	w->version = ver;
	w->request_id = h->request_id;
	w->req = req;
	w->rep = rep;
	if (!later)
		s_read(svc, w);
}

/* ---- event consumption ---------------------------------------------------------- */

static consumer_t *s_consumer(trc_service_t *svc, const char *source)
{
	for (size_t i = 0; i < svc->ncons; i++)
		if (strcmp(svc->cons[i].source, source) == 0)
			return &svc->cons[i];
	return NULL;
}

static void s_request_replay(trc_service_t *svc, consumer_t *c)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	Traction__V1__ReplayRequest rr = TRACTION__V1__REPLAY_REQUEST__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)c->source;
	h.method = (char *)"events.replay";
	h.request_id = ++svc->next_request_id;
	h.timeout_ms = svc->cfg.request_timeout_ms;
	rr.from_seq = c->queued + 1;
	rr.max = svc->cfg.replay_batch;
	s_send_header(svc, &h, NULL, 0, &rr.base);
	c->replay_id = h.request_id;
	c->replay_sent = trc_mono_ms();
	c->next_poll = c->replay_sent + svc->cfg.replay_interval_ms;
	trc_debug("replay requested source=%s from=%llu", c->source,
		  (unsigned long long)rr.from_seq);
}

static void s_queue_event(trc_service_t *svc, consumer_t *c, Traction__V1__Event *ev)
{
	work_t *w;
	if (s_work_push(&svc->fill->writes, &w) != 0)
		return; /* not applied; the next replay brings it back */
	w->kind = WORK_EVENT;
	w->cons = c;
	w->ev = ev;
	c->queued = ev->seq;
}

static void s_handle_event(trc_service_t *svc, trc_msg_t *m)
{
	if (m->n != 2) {
		svc->dropped++;
		return;
	}
	Traction__V1__Event *ev = traction__v1__event__unpack(&svc->fill->al, trc_msg_size(m, 1),
							      trc_msg_data(m, 1));
	char bad[256] = "";
	if (ev == NULL || ev->source == NULL ||
	    trc_wire_check_strings(&traction__v1__event__descriptor, trc_msg_data(m, 1),
				   trc_msg_size(m, 1), bad, sizeof(bad)) != 0) {
		svc->dropped++;
		trc_warn("dropped an event that does not decode%s%s", ev != NULL ? ": " : "",
			 ev != NULL ? bad : "");
		return;
	}
	consumer_t *c = s_consumer(svc, ev->source);
	if (c == NULL)
		return;
	switch (trc_event_verdict(c->queued, ev->seq)) {
	case TRC_EVENT_APPLY:
		s_queue_event(svc, c, ev);
		break;
	case TRC_EVENT_OLD:
		break;
	case TRC_EVENT_GAP:
		trc_info("event gap source=%s have=%llu got=%llu: replaying", c->source,
			 (unsigned long long)c->queued, (unsigned long long)ev->seq);
		if (c->replay_id == 0)
			s_request_replay(svc, c);
		break;
	}
}

/* A reply to a request of ours (only events.replay for now). */
static void s_handle_reply(trc_service_t *svc, trc_msg_t *m)
{
	const char *why;
	Traction__V1__Header *h =
		trc_header_unpack(&svc->fill->al, trc_msg_data(m, 0), trc_msg_size(m, 0), &why);
	if (h == NULL || h->kind != TRACTION__V1__FRAME_KIND__FRAME_REPLY) {
		svc->dropped++;
		return;
	}
	consumer_t *c = NULL;
	for (size_t i = 0; i < svc->ncons; i++)
		if (svc->cons[i].replay_id == h->request_id)
			c = &svc->cons[i];
	if (c == NULL)
		return; /* late reply to a replay we gave up on */
	c->replay_id = 0;
	if (h->status != NULL && h->status->code != 0) {
		/* The source may be down or not registered yet: try again soon,
		 * whatever the polling interval. */
		trc_debug("replay source=%s failed: %s", c->source,
			  h->status->message != NULL ? h->status->message : "");
		int64_t retry = trc_mono_ms() + (int64_t)svc->cfg.heartbeat_ms;
		if (retry < c->next_poll)
			c->next_poll = retry;
		return;
	}
	Traction__V1__ReplayReply *rr = traction__v1__replay_reply__unpack(
		&svc->fill->al, trc_msg_size(m, 1), trc_msg_data(m, 1));
	char bad[256] = "";
	if (rr == NULL || trc_wire_check_strings(&traction__v1__replay_reply__descriptor,
						 trc_msg_data(m, 1), trc_msg_size(m, 1), bad,
						 sizeof(bad)) != 0) {
		svc->dropped++;
		return;
	}
	size_t applied = 0;
	for (size_t i = 0; i < rr->n_events; i++) {
		Traction__V1__Event *ev = rr->events[i];
		if (ev->source == NULL || strcmp(ev->source, c->source) != 0)
			break;
		if (trc_event_verdict(c->queued, ev->seq) != TRC_EVENT_APPLY)
			continue;
		s_queue_event(svc, c, ev);
		applied++;
	}
	if (applied > 0)
		trc_debug("replay source=%s queued=%zu now=%llu head=%llu", c->source, applied,
			  (unsigned long long)c->queued, (unsigned long long)rr->head_seq);
	/* More behind: ask again at once rather than at the next poll. */
	if (rr->head_seq > c->queued && applied > 0)
		s_request_replay(svc, c);
}

/* ---- group commit ---------------------------------------------------------------- */

static bool s_is_store_error(int err)
{
	return err == TRC_ENOSPC || err == TRC_EDISKFULL || err == TRC_EIO ||
	       err == TRC_ECORRUPT || err == TRC_ENOMEM || err == TRC_EINTERNAL;
}

/* LMDB reports a write cut short by a full disk as EIO: tell the two apart
 * by looking at the disk, so the client hears what is wrong. */
static int s_disk_or_io(trc_service_t *svc, int rc)
{
	struct statvfs vfs;
	if (rc != TRC_EIO || svc->state_path[0] == '\0' || statvfs(svc->state_path, &vfs) != 0)
		return rc;
	uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	return free_bytes < (4u << 20) ? TRC_EDISKFULL : rc;
}

static void s_publish(void *ud, const char *topic, const void *data, size_t len)
{
	trc_service_t *svc = ud;
	trc_frame_t f[2] = { { topic, strlen(topic) }, { data, len } };
	if (trc_send(svc->pub, f, 2, ZMQ_DONTWAIT) != 0)
		svc->dropped++; /* consumers find the gap and replay */
}

static int s_apply_flat(trc_service_t *svc, batch_t *b, trc_txn_t *txn, work_t *w)
{
	trc_call_t call;
	size_t mark = svc->evlog != NULL ? trc_evlog_mark(svc->evlog) : 0;
	s_call_init(svc, b, &call, txn, w->rt);
	call.evlog = svc->evlog;
	call.body = w->body;
	call.body_len = w->body_len;
	int rc = w->method->handler(&call, w->req, w->rep);
	if (rc != 0) {
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, mark);
		if (txn->err != 0 || s_is_store_error(rc))
			trc_txn_fail(txn, rc); /* it may have written: fail the batch */
		w->code = call.code != 0 && !s_is_store_error(rc) ? call.code : trc_err_to_code(rc);
		w->message = s_status_message(svc, b->arena, rc, &call);
		w->details = call.details;
		w->n_details = call.n_details;
	}
	return rc;
}

static int s_apply_one(trc_service_t *svc, batch_t *b, trc_txn_t *parent, work_t *w)
{
	trc_txn_t child;
	trc_call_t call;
	if (w->kind == WORK_REQUEST && (w->method->flags & TRC_METHOD_FLAT))
		return s_apply_flat(svc, b, parent, w);
	size_t mark = svc->evlog != NULL ? trc_evlog_mark(svc->evlog) : 0;
	int rc = trc_txn_begin_nested(parent, &child);
	if (rc != 0) {
		w->code = trc_err_to_code(rc);
		w->message = trc_strerror(rc);
		return rc;
	}
	s_call_init(svc, b, &call, &child, w->kind == WORK_REQUEST ? w->rt : NULL);
	call.evlog = svc->evlog;

	if (w->kind == WORK_REQUEST) {
		call.body = w->body;
		call.body_len = w->body_len;
		rc = w->method->handler(&call, w->req, w->rep);
	} else if (w->kind == WORK_TICK) {
		rc = svc->def->tick(&call);
		if (rc != 0 && !s_is_store_error(rc))
			trc_warn("tick failed: %s",
				 call.message != NULL ? call.message : trc_strerror(rc));
	} else {
		rc = svc->def->apply_event != NULL ? svc->def->apply_event(&call, w->ev) : 0;
		if (rc != 0 && child.err == 0) {
			/* The event itself is bad (a bug at the source, or a schema we
			 * do not know): skip it rather than stall on it forever. */
			trc_warn("event source=%s seq=%llu type=%s not applied: %s",
				 w->ev->source, (unsigned long long)w->ev->seq, w->ev->type,
				 call.message != NULL ? call.message : trc_strerror(rc));
			trc_txn_abort(&child);
			if (svc->evlog != NULL)
				trc_evlog_rollback(svc->evlog, mark);
			rc = trc_txn_begin_nested(parent, &child);
			if (rc != 0)
				return rc;
		}
		if (child.err == 0)
			rc = trc_position_set(&child, w->cons->source, w->ev->seq);
		else
			rc = child.err;
	}
	if (rc == 0)
		rc = trc_txn_commit(&child);
	else
		trc_txn_abort(&child);
	if (rc != 0) {
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, mark);
		w->code = call.code != 0 && !s_is_store_error(rc) ? call.code : trc_err_to_code(rc);
		w->message = s_status_message(svc, b->arena, rc, &call);
		w->details = call.details;
		w->n_details = call.n_details;
		if (child.err != 0 && child.err != rc)
			w->message = s_status_message(svc, b->arena, child.err, &call);
	}
	return rc;
}

/* The writer's part of a group commit: every write and event of the batch
 * in one durable transaction (see service.h). It touches the store, the
 * event log's pending events, the daemon's state through its handlers and
 * the consumers' writer fields; the loop thread sends the replies. */
static void s_commit(trc_service_t *svc, batch_t *b)
{
	trc_txn_t txn;
	int rc = trc_txn_begin(svc->store, &txn, true);
	size_t ok = 0;

	for (size_t i = 0; i < svc->ncons; i++) {
		svc->cons[i].wpos = svc->cons[i].applied;
		svc->cons[i].wgap = false;
	}
	for (size_t i = 0; rc == 0 && txn.err == 0 && i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		consumer_t *c = w->cons;
		/* Events apply in order and once: the loop may have queued one
		 * behind an event that failed, or one a replay brings again. */
		if (w->kind == WORK_EVENT && w->ev->seq <= c->wpos)
			continue;
		if (w->kind == WORK_EVENT && (c->wgap || w->ev->seq != c->wpos + 1)) {
			c->wgap = true;
			continue;
		}
		int r = s_apply_one(svc, b, &txn, w);
		if (r == 0) {
			ok++;
			if (w->kind == WORK_EVENT)
				c->wpos = w->ev->seq;
			continue;
		}
		if (w->kind == WORK_EVENT)
			c->wgap = true; /* store trouble: stop this source; replay brings the rest */
		if (s_is_store_error(r))
			trc_warn("write failed: %s", trc_strerror(r));
	}
	if (rc == 0 && ok > 0 && svc->def->batch_end != NULL) {
		trc_call_t call;
		s_call_init(svc, b, &call, &txn, NULL);
		call.evlog = svc->evlog;
		int r = svc->def->batch_end(&call);
		if (r != 0)
			trc_txn_fail(&txn, r);
	}
	if (rc == 0 && ok > 0 && svc->evlog != NULL)
		b->head = trc_evlog_head(&txn);
	if (rc == 0 && ok > 0)
		rc = trc_txn_commit(&txn);
	else {
		if (rc == 0 && txn.err != 0)
			rc = txn.err; /* a flat handler's store error: nothing commits */
		trc_txn_abort(&txn);
	}
	if (svc->def->batch_done != NULL)
		svc->def->batch_done(svc->def->user);

	if (rc != 0) {
		rc = s_disk_or_io(svc, rc);
		trc_err("group commit of %zu writes failed: %s", b->writes.n, trc_strerror(rc));
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, 0);
		const char *msg = s_status_message(svc, b->arena, rc, NULL);
		for (size_t i = 0; i < b->writes.n; i++) {
			b->writes.v[i].code = trc_err_to_code(rc);
			b->writes.v[i].message = msg;
		}
	}
	b->rc = rc;
}

/* The loop's part, once the batch is committed (or failed), in two steps
 * around handing the writer its next batch: where each source now stands
 * and the batch's events, which must go first; then the replies. */
static void s_settle(trc_service_t *svc, batch_t *b)
{
	for (size_t i = 0; i < svc->ncons; i++) {
		consumer_t *c = &svc->cons[i];
		if (b->rc == 0 && c->wpos > c->applied)
			c->applied = c->wpos;
		if (b->rc != 0 || c->wgap)
			c->queued = c->applied; /* the next replay or gap asks again */
		if (c->queued < c->applied)
			c->queued = c->applied;
	}
	if (b->rc == 0 && svc->evlog != NULL) {
		trc_evlog_flush(svc->evlog, s_publish, svc);
		if (b->head > svc->head)
			svc->head = b->head;
	}
	b->head = 0;
	if (b->rc == 0)
		svc->gen++; /* parked requests look again */
}

static void s_replies(trc_service_t *svc, batch_t *b)
{
	/* Only now, after the durable commit, do replies go out. */
	for (size_t i = 0; i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		if (w->kind == WORK_REQUEST)
			s_reply_work(svc, w);
	}
	b->writes.n = 0;
	b->bytes = 0;
	trc_arena_reset(b->arena);
}

/* ---- the writer thread ------------------------------------------------------------ */

/* One piece of the file's margin (see store.h), by whichever thread has
 * just committed; if the other is at it already, that is enough. */
static void s_write_ahead(trc_service_t *svc)
{
	if (pthread_mutex_trylock(&svc->ahead_mu) != 0)
		return;
	(void)trc_store_write_ahead(svc->store, 1);
	pthread_mutex_unlock(&svc->ahead_mu);
}

static void *s_writer(void *arg)
{
	trc_service_t *svc = arg;
	for (;;) {
		pthread_mutex_lock(&svc->mu);
		while (svc->todo == NULL && !svc->quit)
			pthread_cond_wait(&svc->cv, &svc->mu);
		batch_t *b = svc->todo;
		svc->todo = NULL;
		pthread_mutex_unlock(&svc->mu);
		if (b == NULL)
			return NULL;
		s_commit(svc, b);
		__atomic_store_n(&svc->done, b, __ATOMIC_RELEASE);
		uint64_t one = 1;
		if (write(svc->done_fd, &one, sizeof(one)) != sizeof(one))
			trc_err("cannot wake the loop: %s", strerror(errno));
		/* between transactions, while the loop sends the replies */
		if (b->rc == 0)
			s_write_ahead(svc);
	}
}

/* A batch smaller than both the loop writes itself: handing it to the
 * writer costs two thread wake-ups (~0.1 ms together on the 2-core VM of
 * docs/performance.md; at 10,000 records/s they put ~0.2 ms on the ack's
 * p50), which pay only when the loop has a next batch to read meanwhile.
 * The bytes count too: a few large requests are a lot to decode. */
#define TRC_PIPELINE_MIN 8
#define TRC_PIPELINE_MIN_BYTES (16u << 10)

static void s_turn_end(trc_service_t *svc, bool stopping);

static bool s_pipelined(const batch_t *b)
{
	return b->writes.n >= TRC_PIPELINE_MIN || b->bytes >= TRC_PIPELINE_MIN_BYTES;
}

/* Whether the loop writes batch b itself: when stopping, and a small batch
 * unless the writer has just finished a full one. Under load the batch
 * waiting when the writer finishes is now and then a request or two (the
 * replies that bring the next requests have not gone out yet): written
 * here, it kept the loop from reading for a whole commit while the writer
 * sat idle, 10-18% of the batches at 32 x 32 (counted with a temporary
 * hook). One small batch after a full one goes to the writer; the next
 * small one stays here again, so a spell of load does not leave the
 * quiet traffic after it paying for the hand-over. */
static bool s_writes_here(const trc_service_t *svc, const batch_t *b, bool stopping)
{
	return stopping || (!s_pipelined(b) && !svc->loaded);
}

/* Whether the writer has finished its batch (the loop checks between
 * messages, so that a long drain does not keep the writer waiting). */
static bool s_writer_finished(trc_service_t *svc)
{
	return svc->run != NULL && __atomic_load_n(&svc->done, __ATOMIC_ACQUIRE) != NULL;
}

/* The writer's batch is done (the eventfd said so; with wait, block until
 * it is): settle it, give the writer the next batch at once, and then
 * send the replies while it works (or, if the loop is to write the next
 * batch itself, the replies first). */
static void s_writer_done(trc_service_t *svc, bool wait, bool stopping)
{
	uint64_t n;
	if (svc->run == NULL)
		return;
	if (wait) {
		struct pollfd pfd = { svc->done_fd, POLLIN, 0 };
		while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			;
	}
	if (read(svc->done_fd, &n, sizeof(n)) != sizeof(n))
		return; /* not yet */
	batch_t *b = __atomic_exchange_n(&svc->done, NULL, __ATOMIC_ACQ_REL);
	if (b == NULL)
		return;
	svc->run = NULL;
	s_settle(svc, b);
	svc->loaded = s_pipelined(b);
	if (s_writes_here(svc, svc->fill, stopping)) {
		s_replies(svc, b); /* first: what follows may be a commit here */
		s_turn_end(svc, stopping);
		return;
	}
	s_turn_end(svc, false);
	s_replies(svc, b);
}

/* ---- the loop ---------------------------------------------------------------------- */

static void s_handle_dealer(trc_service_t *svc, trc_msg_t *m)
{
	svc->last_broker = trc_mono_ms();
	if (m->total != m->n || m->n == 0) {
		svc->dropped++;
		return;
	}
	if (m->n == 3) {
		s_handle_request(svc, m);
		return;
	}
	if (m->n == 2) {
		s_handle_reply(svc, m);
		return;
	}
	const char *why;
	Traction__V1__Header *h =
		trc_header_unpack(&svc->fill->al, trc_msg_data(m, 0), trc_msg_size(m, 0), &why);
	if (h == NULL) {
		svc->dropped++;
		return;
	}
	if (h->kind == TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT) {
		trc_info("the broker does not know us (restarted?): registering again");
		/* A restarted broker forgot every request in flight, our replays
		 * too: without this a consumer would wait out the full request
		 * timeout before asking again. */
		for (size_t i = 0; i < svc->ncons; i++) {
			svc->cons[i].replay_id = 0;
			svc->cons[i].next_poll = 0;
		}
		s_register(svc);
	}
}

/* Whether a message waits on sock: while its batch is full the loop
 * stops reading (s_room), and what waits unread still shows the broker
 * is alive. */
static bool s_unread(void *sock)
{
	int events = 0;
	size_t len = sizeof(events);
	return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

static void s_timers(trc_service_t *svc)
{
	int64_t now = trc_mono_ms();
	if (now >= svc->next_heartbeat) {
		s_send_control(svc, TRACTION__V1__FRAME_KIND__FRAME_HEARTBEAT, NULL);
		svc->next_heartbeat = now + svc->cfg.heartbeat_ms;
	}
	if (now - svc->last_broker > (int64_t)svc->cfg.heartbeat_ms * svc->cfg.heartbeat_liveness &&
	    !s_unread(svc->dealer)) {
		/* Paranoid Pirate: a silent broker may be a dead TCP peer that
		 * ZeroMQ has not noticed; start over with a fresh socket. */
		trc_warn("no word from the broker for %lld ms: reconnecting",
			 (long long)(now - svc->last_broker));
		zmq_close(svc->dealer);
		svc->dealer = NULL;
		for (size_t i = 0; i < svc->ncons; i++)
			svc->cons[i].replay_id = 0;
		if (s_connect_dealer(svc) != 0)
			svc->last_broker = now; /* try again after another interval */
	}
	if (svc->def->tick != NULL && now >= svc->next_tick) {
		work_t *w;
		if (s_work_push(&svc->fill->writes, &w) == 0)
			w->kind = WORK_TICK;
		svc->next_tick = now + (svc->def->tick_ms > 0 ? svc->def->tick_ms : 1000);
	}
	for (size_t i = 0; i < svc->ncons; i++) {
		consumer_t *c = &svc->cons[i];
		if (c->replay_id != 0 && now - c->replay_sent > (int64_t)svc->cfg.request_timeout_ms)
			c->replay_id = 0;
		if (c->replay_id == 0 && now >= c->next_poll)
			s_request_replay(svc, c);
	}
}

static int64_t s_timeout(trc_service_t *svc)
{
	int64_t now = trc_mono_ms();
	int64_t next = svc->next_heartbeat;
	if (svc->def->tick != NULL && svc->next_tick < next)
		next = svc->next_tick;
	for (size_t i = 0; i < svc->ncons; i++)
		if (svc->cons[i].replay_id == 0 && svc->cons[i].next_poll < next)
			next = svc->cons[i].next_poll;
	int64_t wd = trc_daemon_watchdog_ms();
	if (wd > 0 && now + wd / 2 < next)
		next = now + wd / 2;
	if (svc->parked != NULL) {
		int64_t p = svc->gen != svc->gen_seen ? now : s_parked_next(svc);
		if (p < next)
			next = p;
	}
	return next > now ? next - now : 0;
}

/* The end of a turn. While the writer is busy, what arrived waits in the
 * loop's batch; once it is idle, the waiting reads are answered and the
 * batch goes to the writer (or, when stopping, is written here). */
static void s_turn_end(trc_service_t *svc, bool stopping)
{
	batch_t *b = svc->fill;
	if (svc->run != NULL)
		return;
	bool here = s_writes_here(svc, b, stopping);
	svc->loaded = false;
	for (size_t i = 0; i < b->reads.n; i++)
		s_read(svc, &b->reads.v[i]);
	b->reads.n = 0;
	s_reads_close(svc);
	if (b->writes.n == 0) {
		trc_arena_reset(b->arena);
		return;
	}
	if (here) {
		s_commit(svc, b);
		s_settle(svc, b);
		s_replies(svc, b);
		if (b->rc == 0)
			s_write_ahead(svc);
		return;
	}
	svc->fill = b == &svc->batches[0] ? &svc->batches[1] : &svc->batches[0];
	svc->fill->now_ms = b->now_ms;
	svc->run = b;
	svc->run_since = trc_mono_ms();
	pthread_mutex_lock(&svc->mu);
	svc->todo = b;
	pthread_cond_signal(&svc->cv);
	pthread_mutex_unlock(&svc->mu);
}

/* Room in the loop's batch: while the writer is busy the loop stops
 * reading at batch_max requests or batch_max_mb of memory (the requests
 * as they came and decoded, in the batch's arena), and ZeroMQ's queues
 * hold the rest. So a daemon holds at most two batches of that, plus one
 * message each, whatever size the requests are. */
static bool s_room(const trc_service_t *svc)
{
	return svc->fill->writes.n + svc->fill->reads.n < svc->cfg.batch_max &&
	       trc_arena_used(svc->fill->arena) < (size_t)svc->cfg.batch_max_mb << 20;
}

/* What a service takes from a reloaded configuration: its log level. */
static void s_reload(void *ud, const trc_config_t *ncfg)
{
	trc_service_t *svc = ud;
	svc->cfg.log_level = ncfg->log_level;
}

int trc_service_run(trc_service_t *svc, int sigfd, const char *config_path)
{
	bool stop = false;
	trc_msg_t m;
	while (!stop) {
		short in = s_room(svc) ? ZMQ_POLLIN : 0;
		zmq_pollitem_t items[4] = {
			{ NULL, svc->done_fd, ZMQ_POLLIN, 0 },
			{ NULL, sigfd, ZMQ_POLLIN, 0 },
			{ svc->dealer, 0, in, 0 },
			{ svc->sub, 0, in, 0 },
		};
		int nitems = svc->sub != NULL ? 4 : 3;
		if (zmq_poll(items, nitems, (long)s_timeout(svc)) < 0 && errno != EINTR) {
			trc_err("poll failed: %s", zmq_strerror(errno));
			return TRC_EIO;
		}
		svc->fill->now_ms = trc_now_ms();
		if (items[0].revents & ZMQ_POLLIN)
			s_writer_done(svc, false, false);
		if (items[1].revents & ZMQ_POLLIN) {
			int sig = trc_daemon_signal_read(sigfd);
			if (sig == SIGINT || sig == SIGTERM) {
				trc_info("signal %d: finishing in-flight work and stopping", sig);
				stop = true;
			} else if (sig == SIGHUP) {
				trc_daemon_reload(config_path, s_reload, svc);
			}
		}
		/* Drain what has arrived, up to one batch. */
		for (unsigned n = 0; n < svc->cfg.batch_max && s_room(svc) && !s_writer_finished(svc);
		     n++) {
			if (trc_msg_recv(svc->dealer, &m, ZMQ_DONTWAIT) != 0)
				break;
			s_handle_dealer(svc, &m);
			trc_msg_close(&m);
		}
		for (unsigned n = 0; svc->sub != NULL && n < svc->cfg.batch_max && s_room(svc); n++) {
			if (trc_msg_recv(svc->sub, &m, ZMQ_DONTWAIT) != 0)
				break;
			s_handle_event(svc, &m);
			trc_msg_close(&m);
		}
		s_timers(svc); /* may queue a tick for the next commit */
		if (svc->parked != NULL)
			s_unpark(svc, svc->gen != svc->gen_seen, false);
		svc->gen_seen = svc->gen;
		s_turn_end(svc, false);
		/* A writer stuck on the disk for a watchdog interval stops the
		 * pings, so that systemd restarts us as when the loop itself
		 * stalled in a commit. */
		int64_t wd = trc_daemon_watchdog_ms();
		if (svc->run == NULL || wd == 0 || trc_mono_ms() - svc->run_since < wd)
			trc_daemon_watchdog();
	}
	/* Finish in-flight work: the writer's batch, then what is waiting
	 * (parked requests get their answer as of now). */
	s_writer_done(svc, true, true);
	s_unpark(svc, false, true);
	s_turn_end(svc, true);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------------ */

int trc_service_new(trc_service_t **svc_p, const trc_daemon_def_t *def,
		    const trc_config_t *cfg)
{
	trc_service_t *svc = calloc(1, sizeof(*svc));
	char path[TRC_CONFIG_PATH + 64];
	int rc;
	if (svc == NULL)
		return TRC_ENOMEM;
	svc->def = def;
	svc->cfg = *cfg;
	/* the methods are declared in proto/: a table that says otherwise is
	 * a build that must not serve */
	char why[256];
	int mc = trc_methods_check(&traction__v1__daemon_service__descriptor, s_builtin,
				   sizeof(s_builtin) / sizeof(s_builtin[0]), why, sizeof(why));
	for (size_t i = 0; mc == 0 && i < def->n_services; i++)
		if (def->services[i].proto != NULL)
			mc = trc_methods_check(def->services[i].proto, def->services[i].methods,
					       def->services[i].n_methods, why, sizeof(why));
	if (mc != 0) {
		trc_err("the method tables disagree with proto/: %s", why);
		free(svc);
		return TRC_ECONFIG;
	}
	svc->started_mono = trc_mono_ms();
	svc->done_fd = -1;
	svc->fill = &svc->batches[0];
	for (int i = 0; i < 2; i++) {
		batch_t *b = &svc->batches[i];
		b->arena = trc_arena_new();
		if (b->arena == NULL) {
			trc_service_destroy(&svc);
			return TRC_ENOMEM;
		}
		b->al = trc_arena_allocator(b->arena);
	}

	rc = trc_daemon_state_path(cfg, def->daemon, path, sizeof(path));
	snprintf(svc->state_path, sizeof(svc->state_path), "%s", path);
	if (rc == 0)
		rc = trc_store_open_migrate(&svc->store, path, (size_t)cfg->map_size_mb << 20,
					    def->dbs, def->schema_version, def->migrate);
	if (rc == 0) /* the margin, before serving: see store.h */
		(void)trc_store_write_ahead(svc->store, TRC_STORE_AHEAD / TRC_STORE_AHEAD_PIECE);
	if (rc == 0 && def->open != NULL)
		rc = def->open(def->user, svc->store, cfg);
	if (rc == 0 && def->event_source != NULL) {
		svc->evlog = trc_evlog_new(def->event_source);
		if (svc->evlog == NULL)
			rc = TRC_ENOMEM;
	}
	size_t ncons = 0;
	while (rc == 0 && def->consumes != NULL && def->consumes[ncons] != NULL)
		ncons++;
	if (rc == 0 && ncons > 0) {
		svc->cons = calloc(ncons, sizeof(*svc->cons));
		if (svc->cons == NULL)
			rc = TRC_ENOMEM;
		trc_txn_t txn;
		if (rc == 0)
			rc = trc_txn_begin(svc->store, &txn, false);
		for (size_t i = 0; rc == 0 && i < ncons; i++) {
			consumer_t *c = &svc->cons[i];
			c->source = def->consumes[i];
			rc = trc_position_get(&txn, c->source, &c->applied);
			c->queued = c->applied;
			svc->ncons++;
		}
		if (svc->cons != NULL && txn.txn != NULL)
			trc_txn_abort(&txn);
	}
	if (rc == 0 && svc->evlog != NULL) {
		trc_txn_t txn;
		rc = trc_txn_begin(svc->store, &txn, false);
		if (rc == 0) {
			svc->head = trc_evlog_head(&txn);
			trc_txn_abort(&txn);
		}
	}
	if (rc != 0) {
		trc_service_destroy(&svc);
		return rc;
	}

	svc->zctx = zmq_ctx_new();
	if (svc->zctx == NULL) {
		trc_service_destroy(&svc);
		return TRC_ENOMEM;
	}
	if (cfg->service_curve) {
		char err[512];
		if (trc_keypair_load(cfg->service_key_file, svc->curve_pub, svc->curve_sec, err,
				     sizeof(err)) != 0 ||
		    trc_keypair_load(cfg->server_public_key_file, svc->server_pub, NULL, err,
				     sizeof(err)) != 0) {
			trc_err("%s", err);
			trc_service_destroy(&svc);
			return TRC_ECONFIG;
		}
	}
	rc = s_connect_dealer(svc);
	if (rc == 0 && svc->evlog != NULL &&
	    (s_broker_socket(svc, &svc->pub, ZMQ_PUB) != 0 ||
	     zmq_connect(svc->pub, cfg->event_publish_endpoint) != 0))
		rc = TRC_ECONFIG;
	if (rc == 0 && svc->ncons > 0) {
		if (s_broker_socket(svc, &svc->sub, ZMQ_SUB) != 0 ||
		    zmq_connect(svc->sub, cfg->event_subscribe_endpoint) != 0)
			rc = TRC_ECONFIG;
		for (size_t i = 0; rc == 0 && i < svc->ncons; i++) {
			const char *const *topics = trc_event_topics(svc->cons[i].source);
			for (size_t t = 0; topics != NULL && topics[t] != NULL; t++)
				zmq_setsockopt(svc->sub, ZMQ_SUBSCRIBE, topics[t], strlen(topics[t]));
		}
	}
	if (rc != 0) {
		trc_err("cannot set up the sockets: %s", trc_strerror(rc));
		trc_service_destroy(&svc);
		return rc;
	}
	/* The writer inherits the signal mask: signals stay with the loop. */
	svc->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (svc->done_fd < 0 || pthread_mutex_init(&svc->mu, NULL) != 0 ||
	    pthread_mutex_init(&svc->ahead_mu, NULL) != 0 ||
	    pthread_cond_init(&svc->cv, NULL) != 0 ||
	    pthread_create(&svc->writer, NULL, s_writer, svc) != 0) {
		trc_err("cannot start the writer thread: %s", strerror(errno));
		trc_service_destroy(&svc);
		return TRC_ENOMEM;
	}
	svc->writer_started = true;
	*svc_p = svc;
	return 0;
}

void trc_service_destroy(trc_service_t **svc_p)
{
	if (svc_p == NULL || *svc_p == NULL)
		return;
	trc_service_t *svc = *svc_p;
	if (svc->writer_started) {
		pthread_mutex_lock(&svc->mu);
		svc->quit = true;
		pthread_cond_signal(&svc->cv);
		pthread_mutex_unlock(&svc->mu);
		pthread_join(svc->writer, NULL);
		pthread_cond_destroy(&svc->cv);
		pthread_mutex_destroy(&svc->mu);
		pthread_mutex_destroy(&svc->ahead_mu);
	}
	if (svc->done_fd >= 0)
		close(svc->done_fd);
	if (svc->dealer != NULL) {
		/* Tell the broker at once rather than let it wait for heartbeats. */
		s_send_control(svc, TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT, NULL);
		zmq_close(svc->dealer);
	}
	if (svc->pub != NULL)
		zmq_close(svc->pub);
	if (svc->sub != NULL)
		zmq_close(svc->sub);
	if (svc->zctx != NULL)
		zmq_ctx_term(svc->zctx);
	if (svc->def->close != NULL && svc->store != NULL)
		svc->def->close(svc->def->user);
	trc_evlog_destroy(&svc->evlog);
	trc_store_destroy(&svc->store);
	for (int i = 0; i < 2; i++) {
		trc_arena_destroy(&svc->batches[i].arena);
		free(svc->batches[i].writes.v);
		free(svc->batches[i].reads.v);
	}
	while (svc->parked != NULL) {
		parked_t *p = svc->parked;
		svc->parked = p->next;
		for (int i = 0; i < 3; i++)
			zmq_msg_close(&p->part[i]);
		free(p);
	}
	free(svc->cons);
	free(svc);
	*svc_p = NULL;
}

trc_store_t *trc_service_store(trc_service_t *svc)
{
	return svc->store;
}

int trc_service_main(int argc, char **argv, const trc_daemon_def_t *def)
{
	trc_daemon_info_t info = { def->program, def->summary };
	trc_config_t cfg;
	const char *config_path = NULL;
	int rc = trc_daemon_args(argc, argv, &info, &cfg, &config_path);
	if (rc != 0)
		return rc > 0 ? 0 : 1;
	trc_log_init(def->daemon, (trc_log_level_t)cfg.log_level);
	int sigfd = trc_daemon_signals();
	if (sigfd < 0) {
		trc_err("cannot set up signal handling");
		return 1;
	}
	trc_service_t *svc = NULL;
	rc = trc_service_new(&svc, def, &cfg);
	if (rc != 0) {
		trc_err("cannot start: %s", trc_strerror(rc));
		close(sigfd);
		return 1;
	}
	trc_info("started pid=%d broker=%s state=%s/%s", (int)getpid(), cfg.service_endpoint,
		 cfg.state_dir, def->daemon);
	trc_daemon_ready("serving");
	rc = trc_service_run(svc, sigfd, config_path);
	trc_daemon_stopping();
	trc_service_destroy(&svc);
	close(sigfd);
	trc_info("stopped");
	return rc == 0 ? 0 : 1;
}
