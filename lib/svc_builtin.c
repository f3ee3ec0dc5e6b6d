/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods every service daemon answers besides its own (the "daemon"
 * block of proto/): ping, the event log's two feeds, events.replay for
 * consuming daemons and events.read for readers, and online backup
 * (backup.*, whose handlers are svc_backup.c's). Pure handlers of
 * (call, request) -> reply like a daemon's, with the service as call->user.
 */
#include "service_int.h"

#include <string.h>
#include <unistd.h>

#include "error.h"
#include "methods.h"
#include "traction/v1/cluster.pb-c.h"
#include "traction/v1/events.pb-c.h"

static int s_ping(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	Traction__V1__PingReply *rep = (Traction__V1__PingReply *)rep_;
	rep->daemon = (char *)svc->def->program;
	rep->version = (char *)TRACTION_VERSION;
	rep->uptime_ms = trc_mono_ms() - svc->started_mono;
	rep->pid = (uint32_t)getpid();
	rep->event_head = svc->evlog != NULL ? trc_evlog_head(call->txn) : 0;
	if (svc->def->events_owed != NULL) {
		trc_call_t inner = *call;
		inner.user = svc->def->user;
		rep->events_owed = svc->def->events_owed(&inner);
	}
	size_t n;
	Traction__V1__EventPosition **positions = svc_positions(svc, false, &n);
	if (positions == NULL)
		return TRC_ENOMEM;
	rep->positions = positions;
	rep->n_positions = n;
	return 0;
}

/* A page of events at most: the request's max, capped by replay_batch. */
static size_t s_page_max(const trc_service_t *svc, uint32_t max)
{
	return max == 0 || max > svc->cfg.replay_batch ? svc->cfg.replay_batch : max;
}

static int s_replay(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	const Traction__V1__ReplayRequest *req = (const Traction__V1__ReplayRequest *)req_;
	Traction__V1__ReplayReply *rep = (Traction__V1__ReplayReply *)rep_;
	size_t max = s_page_max(svc, req->max);
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
	/* below the floor, the gaps are compaction's (docs/protocol.md) */
	uint64_t floor = trc_evlog_floor(call->txn);
	if ((req->from_seq > 0 ? req->from_seq : 1) < floor)
		rep->compacted_below = floor;
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
	size_t max = s_page_max(svc, req->max);
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
	{ "backup.begin", &traction__v1__backup_begin_request__descriptor,
	  &traction__v1__backup_begin_reply__descriptor, svc_backup_begin, TRC_METHOD_ADMIN,
	  "pause writes under a lease, take the cut, start a compacted copy of the store" },
	{ "backup.resume", &traction__v1__backup_id_request__descriptor,
	  &traction__v1__empty__descriptor, svc_backup_resume, TRC_METHOD_ADMIN,
	  "writes go on (the cut is taken)" },
	{ "backup.read", &traction__v1__backup_read_request__descriptor,
	  &traction__v1__backup_read_reply__descriptor, svc_backup_read, TRC_METHOD_ADMIN,
	  "a piece of the copy, its size and SHA-256" },
	{ "backup.end", &traction__v1__backup_id_request__descriptor,
	  &traction__v1__empty__descriptor, svc_backup_end, TRC_METHOD_ADMIN,
	  "drop the copy" },
	{ "audit.list", &traction__v1__audit_list_request__descriptor,
	  &traction__v1__audit_list_reply__descriptor, svc_audit_list, TRC_METHOD_ADMIN,
	  "the administrative changes this daemon made, newest first" },
	{ "cluster.status", &traction__v1__empty__descriptor,
	  &traction__v1__cluster_status_reply__descriptor, svc_cluster_status, TRC_METHOD_ADMIN,
	  "where this replica stands in its cluster: state, term, leader, log, members" },
	{ "cluster.add", &traction__v1__cluster_change_request__descriptor,
	  &traction__v1__cluster_change_reply__descriptor, svc_cluster_add, TRC_METHOD_ADMIN,
	  "a member joins (a spare that catches up, then a voter); on the leader" },
	{ "cluster.remove", &traction__v1__cluster_change_request__descriptor,
	  &traction__v1__cluster_change_reply__descriptor, svc_cluster_remove, TRC_METHOD_ADMIN,
	  "a member leaves; on the leader" },
	{ "cluster.transfer", &traction__v1__cluster_change_request__descriptor,
	  &traction__v1__cluster_change_reply__descriptor, svc_cluster_transfer,
	  TRC_METHOD_ADMIN, "the leadership to a member (or any voter); on the leader" },
};

#define S_N_BUILTIN (sizeof(s_builtin) / sizeof(s_builtin[0]))

/* The table against the daemon block of proto/ (trc_methods_check). */
int svc_builtin_check(char *why, size_t len)
{
	return trc_methods_check(&traction__v1__daemon_service__descriptor, s_builtin, S_N_BUILTIN,
				 why, len);
}

/* The built-in method of that name; those of the event log only for a
 * daemon that writes events (has_events). */
const trc_method_t *svc_builtin_find(const char *method, bool has_events)
{
	for (size_t j = 0; j < S_N_BUILTIN; j++) {
		if (strcmp(s_builtin[j].name, method) != 0)
			continue;
		if ((s_builtin[j].handler == s_replay || s_builtin[j].handler == s_events_read) &&
		    !has_events)
			return NULL;
		return &s_builtin[j];
	}
	return NULL;
}

/* Whether m is one of ours: its handler takes the service as call->user. */
bool svc_builtin_has(const trc_method_t *m)
{
	return m >= s_builtin && m < s_builtin + S_N_BUILTIN;
}

/* Whether m is events.read, whose request may wait for the next event. */
bool svc_builtin_long_poll(const trc_method_t *m)
{
	return m->handler == s_events_read;
}
