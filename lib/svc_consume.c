/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Other daemons' events, as this daemon consumes them: where it stands in
 * each source (read from its store at start), the topics it subscribes to
 * (the ones its definition declares for the source), the events it queues
 * for the writer in order and once, and the replays it asks for on start,
 * on a gap and on a poll. And where each source stands: the position
 * queries that read-your-writes across daemons waits on (one in flight
 * per source, shared by every request waiting for it). It calls only the
 * frames layer.
 */
#include "service_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"

/* A position query unanswered this long is given up on: the requests
 * that waited for it are served with what is applied (the source is as
 * good as down), and the next one is asked. */
#define S_ASK_TIMEOUT_MS 2000
/* Events the source said it had that have not come this long after its
 * answer are asked for at once rather than at the next replay poll. */
#define S_ASK_REPLAY_MS 50

/* The consumers of the definition's sources, at the positions the store
 * has for them. */
int svc_consumers_open(trc_service_t *svc)
{
	const trc_consume_t *cs = svc->def->consumes;
	size_t n = 0;
	while (cs != NULL && cs[n].source != NULL)
		n++;
	if (n == 0)
		return 0;
	svc->cons = calloc(n, sizeof(*svc->cons));
	if (svc->cons == NULL)
		return TRC_ENOMEM;
	trc_txn_t txn;
	int rc = trc_txn_begin(svc->store, &txn, false);
	if (rc != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		consumer_t *c = &svc->cons[i];
		c->source = cs[i].source;
		c->topics = cs[i].topics;
		rc = trc_position_get(&txn, c->source, &c->applied);
		c->queued = c->applied;
		svc->ncons++;
	}
	trc_txn_abort(&txn);
	return rc;
}

/* On the connected SUB socket: every topic of every source we consume. */
int svc_consumers_subscribe(trc_service_t *svc)
{
	for (size_t i = 0; i < svc->ncons; i++) {
		const char *const *topics = svc->cons[i].topics;
		for (size_t t = 0; topics != NULL && topics[t] != NULL; t++)
			if (zmq_setsockopt(svc->sub, ZMQ_SUBSCRIBE, topics[t], strlen(topics[t])) != 0)
				return trc_err_from_errno(errno);
	}
	return 0;
}

consumer_t *svc_consumer(trc_service_t *svc, const char *source)
{
	for (size_t i = 0; i < svc->ncons; i++)
		if (strcmp(svc->cons[i].source, source) == 0)
			return &svc->cons[i];
	return NULL;
}

/* A request of ours to the service of a source (its events.replay, its
 * ping), through the broker; its request id. */
static uint64_t s_request(trc_service_t *svc, const consumer_t *c, const char *method,
			  uint32_t timeout_ms, const ProtobufCMessage *body)
{
	Traction__V1__Header h = TRACTION__V1__HEADER__INIT;
	h.version = TRC_PROTOCOL_VERSION;
	h.kind = TRACTION__V1__FRAME_KIND__FRAME_REQUEST;
	h.service = (char *)c->source;
	h.method = (char *)method;
	h.request_id = ++svc->next_request_id;
	h.timeout_ms = timeout_ms;
	svc_send_header(svc, svc->out, &h, NULL, 0, body);
	return h.request_id;
}

static void s_request_replay(trc_service_t *svc, consumer_t *c)
{
	Traction__V1__ReplayRequest rr = TRACTION__V1__REPLAY_REQUEST__INIT;
	rr.from_seq = c->queued + 1;
	rr.max = svc->cfg.replay_batch;
	c->replay_id = s_request(svc, c, "events.replay", svc->cfg.request_timeout_ms, &rr.base);
	c->replay_sent = trc_mono_ms();
	svc_metrics_replay(svc, c);
	c->next_poll = c->replay_sent + svc->cfg.replay_interval_ms;
	trc_debug("replay requested source=%s from=%llu", c->source,
		  (unsigned long long)rr.from_seq);
}

/* ---- where the source stands: position queries ----------------------------- */

/* Asks the source for its committed position: its ping, which every
 * daemon answers (event_head, events_owed) once what it had committed
 * before is settled. */
static void s_ask(trc_service_t *svc, consumer_t *c)
{
	Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
	uint32_t t = svc->cfg.request_timeout_ms < S_ASK_TIMEOUT_MS ? svc->cfg.request_timeout_ms
								     : S_ASK_TIMEOUT_MS;
	c->ask_id = s_request(svc, c, "ping", t, &e.base);
	c->ask_sent = trc_mono_ms();
	c->asked++;
	c->ask_again = false;
}

uint64_t svc_catch_up_ask(trc_service_t *svc, consumer_t *c)
{
	if (c->ask_id == 0) {
		s_ask(svc, c);
		return c->asked;
	}
	/* the one in flight may have left before this request came */
	c->ask_again = true;
	return c->asked + 1;
}

svc_catch_up_t svc_catch_up_state(const consumer_t *c, wait_src_t *w)
{
	if (!w->answered) {
		if (c->answered < w->need)
			return SVC_ASKING;
		w->answered = true;
		w->heard = c->heard;
		w->head = c->head;
		w->owed = c->owed;
	}
	if (!w->heard)
		return SVC_CAUGHT_UP; /* we cannot know more than we have */
	/* owed: the writes committed while the source's head was w->head are
	 * in an event that says covers > w->head (events.proto) */
	if (c->applied < w->head || (w->owed && c->covered <= w->head))
		return SVC_BEHIND;
	return SVC_CAUGHT_UP;
}

/* The query in flight is answered (heard: by the source, with its head and
 * whether it owes events) or given up on: the waiting requests look again,
 * and those that came meanwhile get their query. */
static void s_answered(trc_service_t *svc, consumer_t *c, bool heard, uint64_t head, bool owed)
{
	c->ask_id = 0;
	c->answered = c->asked;
	c->heard = heard;
	c->head = head;
	c->owed = owed;
	svc->gen++;
	int64_t now = trc_mono_ms();
	if (heard && c->queued < head && c->next_poll > now + S_ASK_REPLAY_MS)
		c->next_poll = now + S_ASK_REPLAY_MS;
	if (c->ask_again)
		s_ask(svc, c);
}

static void s_ask_reply(trc_service_t *svc, consumer_t *c, const Traction__V1__Header *h,
			trc_msg_t *m)
{
	Traction__V1__PingReply *p = NULL;
	if (h->status == NULL || h->status->code == 0)
		p = traction__v1__ping_reply__unpack(&svc->fill->al, trc_msg_size(m, 1),
						     trc_msg_data(m, 1));
	if (p == NULL)
		trc_info("source=%s did not say where it stands (%s): serving as of what is "
			 "applied here",
			 c->source,
			 h->status != NULL && h->status->message != NULL ? h->status->message
									  : "no answer");
	s_answered(svc, c, p != NULL, p != NULL ? p->event_head : 0,
		   p != NULL && p->events_owed);
}

/* The replays in flight are lost (the broker restarted, or we reconnect):
 * stop waiting for them; with poll_now, ask again at the next turn. The
 * position queries too: each is asked again at once. */
void svc_consumers_forget_replays(trc_service_t *svc, bool poll_now)
{
	for (size_t i = 0; i < svc->ncons; i++) {
		consumer_t *c = &svc->cons[i];
		c->replay_id = 0;
		if (poll_now)
			c->next_poll = 0;
		if (c->ask_id != 0) {
			c->ask_id = 0;
			c->ask_again = true;
		}
	}
}

/* The timer's part: a replay that timed out is given up, and a consumer
 * with none in flight polls its source at its interval. */
void svc_consumers_poll(trc_service_t *svc, int64_t now)
{
	for (size_t i = 0; i < svc->ncons; i++) {
		consumer_t *c = &svc->cons[i];
		if (c->replay_id != 0 && now - c->replay_sent > (int64_t)svc->cfg.request_timeout_ms)
			c->replay_id = 0;
		if (c->replay_id == 0 && now >= c->next_poll)
			s_request_replay(svc, c);
		if (c->ask_id != 0 && now - c->ask_sent > S_ASK_TIMEOUT_MS) {
			trc_info("source=%s did not say where it stands in %d ms: serving as of "
				 "what is applied here",
				 c->source, S_ASK_TIMEOUT_MS);
			s_answered(svc, c, false, 0, false);
		} else if (c->ask_id == 0 && c->ask_again) {
			s_ask(svc, c);
		}
	}
}

/* The earlier of next and the next poll of a consumer (or the timeout of
 * its position query). */
int64_t svc_consumers_next(const trc_service_t *svc, int64_t next)
{
	for (size_t i = 0; i < svc->ncons; i++) {
		const consumer_t *c = &svc->cons[i];
		if (c->replay_id == 0 && c->next_poll < next)
			next = c->next_poll;
		if (c->ask_id != 0 && c->ask_sent + S_ASK_TIMEOUT_MS + 1 < next)
			next = c->ask_sent + S_ASK_TIMEOUT_MS + 1;
		if (c->ask_id == 0 && c->ask_again)
			next = 0; /* a query lost with the broker: ask again now */
	}
	return next;
}

/* compacted: the events between the one queued and ev were compacted
 * away at the source (ev->seq <= its ReplayReply.compacted_below). */
static void s_queue_event(trc_service_t *svc, consumer_t *c, Traction__V1__Event *ev,
			  bool compacted)
{
	work_t *w;
	if (svc_work_push(&svc->fill->writes, &w) != 0)
		return; /* not applied; the next replay brings it back */
	w->kind = WORK_EVENT;
	w->cons = c;
	w->ev = ev;
	w->compacted = compacted;
	c->queued = ev->seq;
}

/* One event [topic][Event] from the bus. */
void svc_handle_event(trc_service_t *svc, trc_msg_t *m)
{
	if (!svc_raft_leads(svc))
		return; /* a follower's events come in the leader's entries */
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
	consumer_t *c = svc_consumer(svc, ev->source);
	if (c == NULL)
		return;
	switch (trc_event_verdict(c->queued, ev->seq)) {
	case TRC_EVENT_APPLY:
		s_queue_event(svc, c, ev, false);
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

/* A replay's events, queued from where the consumer is; asks for more at
 * once while the source has more behind. Below the source's floor
 * (compacted_below) a gap is the source's compaction, not a loss: the
 * events missing there were superseded by later ones of their records. */
static void s_replayed(trc_service_t *svc, consumer_t *c, const Traction__V1__ReplayReply *rr)
{
	size_t applied = 0;
	for (size_t i = 0; i < rr->n_events; i++) {
		Traction__V1__Event *ev = rr->events[i];
		if (ev->source == NULL || strcmp(ev->source, c->source) != 0)
			break;
		trc_event_verdict_t v = trc_event_verdict(c->queued, ev->seq);
		bool compacted = v == TRC_EVENT_GAP && ev->seq <= rr->compacted_below;
		if (v != TRC_EVENT_APPLY && !compacted)
			continue;
		if (compacted)
			trc_debug("replay source=%s compacted below %llu: %llu to %llu", c->source,
				  (unsigned long long)rr->compacted_below,
				  (unsigned long long)c->queued, (unsigned long long)ev->seq);
		s_queue_event(svc, c, ev, compacted);
		applied++;
	}
	if (applied > 0)
		trc_debug("replay source=%s queued=%zu now=%llu head=%llu", c->source, applied,
			  (unsigned long long)c->queued, (unsigned long long)rr->head_seq);
	/* More behind: ask again at once rather than at the next poll. */
	if (rr->head_seq > c->queued && applied > 0)
		s_request_replay(svc, c);
}

/* A reply [Header][body] to a request of ours: a replay or a position
 * query. */
void svc_handle_reply(trc_service_t *svc, trc_msg_t *m)
{
	const char *why;
	Traction__V1__Header *h =
		trc_header_unpack(&svc->fill->al, trc_msg_data(m, 0), trc_msg_size(m, 0), &why);
	if (h == NULL || h->kind != TRACTION__V1__FRAME_KIND__FRAME_REPLY) {
		svc->dropped++;
		return;
	}
	consumer_t *c = NULL;
	for (size_t i = 0; i < svc->ncons; i++) {
		if (svc->cons[i].ask_id == h->request_id) {
			s_ask_reply(svc, &svc->cons[i], h, m);
			return;
		}
		if (svc->cons[i].replay_id == h->request_id)
			c = &svc->cons[i];
	}
	if (c == NULL)
		return; /* late reply to a replay or query we gave up on */
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
	s_replayed(svc, c, rr);
}
