/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lane that keeps reads moving past bulk writes. Two things would
 * make a ping or a query wait behind a burst of publishes: the decoding
 * of every request ahead of it in the drain, and, once the loop's batch
 * is full (batch_max requests or batch_max_mb, s_room in service.c) while
 * the writer commits the previous one, ZeroMQ's queue, where it would sit
 * for whole commits if the loop stopped reading. So the loop reads on and
 * sets each write aside as it came (its frames, not decoded: no memory of
 * the batch's), answering anything else at once; the writes join the
 * batch after the drain, oldest first, as far as it has room, and the
 * rest go first into the next one. What is set aside is bounded like a
 * batch (batch_max requests, batch_max_mb of frames); past that the loop
 * stops reading, as before. It calls dispatch (what a method is, a
 * request).
 */
#include "service_int.h"

#include <stdlib.h>

#include "fault.h"

/* Names longer than any method or service are no write we know. */
#define LANE_NAME_MAX 64

bool svc_lane_open(const trc_service_t *svc)
{
	return svc->nheld < svc->cfg.batch_max &&
	       svc->held_bytes < (size_t)svc->cfg.batch_max_mb << 20;
}

static size_t s_msg_bytes(trc_msg_t *m)
{
	size_t n = 0;
	for (int i = 0; i < m->n; i++)
		n += trc_msg_size(m, i);
	return n;
}

/* Whether m is a request for one of our write methods (anything else,
 * malformed frames included, is dispatched now and answered there). */
bool svc_lane_writes(trc_service_t *svc, trc_msg_t *m)
{
	char service[LANE_NAME_MAX], method[LANE_NAME_MAX];
	if (m->n != 3 || m->total != 3 ||
	    !trc_header_names(trc_msg_data(m, 1), trc_msg_size(m, 1), service, sizeof(service),
			      method, sizeof(method)))
		return false;
	return svc_method_writes(svc, service, method);
}

bool svc_lane_hold(trc_service_t *svc, trc_msg_t *m)
{
	if (!svc_lane_writes(svc, m))
		return false;
	held_t *h = trc_fault() ? NULL : calloc(1, sizeof(*h));
	if (h == NULL)
		return false; /* into the batch after all: it is answered either way */
	svc->brokers[m->from].last_heard = trc_mono_ms();
	h->m.n = h->m.total = m->n;
	h->m.from = m->from;
	for (int i = 0; i < m->n; i++) {
		zmq_msg_init(&h->m.part[i]);
		zmq_msg_move(&h->m.part[i], &m->part[i]);
	}
	h->bytes = s_msg_bytes(&h->m);
	if (svc->held_tail != NULL)
		svc->held_tail->next = h;
	else
		svc->held = h;
	svc->held_tail = h;
	svc->nheld++;
	svc->held_bytes += h->bytes;
	return true;
}

bool svc_lane_pending(const trc_service_t *svc)
{
	return svc->held != NULL;
}

void svc_lane_release(trc_service_t *svc, bool (*room)(const trc_service_t *), bool all)
{
	while (svc->held != NULL && (all || room(svc))) {
		held_t *h = svc->held;
		svc->held = h->next;
		if (svc->held == NULL)
			svc->held_tail = NULL;
		svc->nheld--;
		svc->held_bytes -= h->bytes;
		svc_handle_request(svc, &h->m);
		trc_msg_close(&h->m);
		free(h);
	}
}

void svc_lane_free(trc_service_t *svc)
{
	while (svc->held != NULL) {
		held_t *h = svc->held;
		svc->held = h->next;
		trc_msg_close(&h->m);
		free(h);
	}
	svc->held_tail = NULL;
	svc->nheld = 0;
	svc->held_bytes = 0;
}
