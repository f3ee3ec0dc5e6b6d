/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A request whose handler asked to catch up with a source first
 * (trc_call_catch_up): marked, then parked from what its work kept, to run
 * again once this daemon has applied what the source had. Beside
 * dispatch, whose parking it uses (svc_park).
 */
#include "service_int.h"

#include <string.h>

#include "error.h"
#include "log.h"

/* ---- a handler that asked to catch up ------------------------------------------ */

/* Whether the handler of w, which failed with rc, asked to catch up with
 * a source first (trc_call_catch_up): then w is marked to be parked
 * rather than answered. A source it names that we do not consume is a
 * bug of the daemon's: logged, and the request runs again at once. */
bool svc_call_caught(trc_service_t *svc, const trc_call_t *call, int rc, work_t *w)
{
	if (rc == 0 || !call->may_wait || call->n_catch_up == 0)
		return false;
	w->catch_up = 0;
	for (size_t k = 0; k < call->n_catch_up; k++) {
		size_t i = 0;
		while (i < svc->ncons && strcmp(svc->cons[i].source, call->catch_up[k]) != 0)
			i++;
		if (i < svc->ncons)
			w->catch_up |= 1u << i;
		else
			trc_warn("%s: asked to catch up with '%s', a source this daemon does "
				 "not consume",
				 w->method->name, call->catch_up[k]);
	}
	w->rerun = true;
	return true;
}

/* A message of len bytes (from data, if not NULL); false if there is no
 * memory for it (it is then an empty one, to close all the same). */
static bool s_msg_of(zmq_msg_t *msg, const void *data, size_t len)
{
	if (zmq_msg_init_size(msg, len) != 0) {
		zmq_msg_init(msg);
		return false;
	}
	if (data != NULL && len > 0)
		memcpy(zmq_msg_data(msg), data, len);
	return true;
}

/* Parks w, whose handler asked to catch up, to run again (without
 * may_wait) once this daemon has applied what each source it named had
 * committed when asked now, or at its deadline. Its frames are made again
 * from what the work kept; if it cannot wait, it is UNAVAILABLE (try
 * again). */
void svc_park_work(trc_service_t *svc, work_t *w)
{
	wait_t ws = { .broker = w->broker, .arrived = w->arrived, .arrived_us = w->arrived_us,
		      .rerun = true, .sources = w->catch_up };
	for (size_t i = 0; i < svc->ncons; i++)
		if (w->catch_up & (1u << i))
			ws.src[i].need = svc_catch_up_ask(svc, &svc->cons[i]);
	zmq_msg_t part[3];
	bool ok = s_msg_of(&part[0], w->route, w->route_len);
	if (s_msg_of(&part[1], NULL, protobuf_c_message_get_packed_size(&w->h->base)))
		protobuf_c_message_pack(&w->h->base, zmq_msg_data(&part[1]));
	else
		ok = false;
	ok = s_msg_of(&part[2], w->body, w->body_len) && ok;
	int parked = ok ? svc_park(svc, part, &ws, w->arrived + svc_wait_budget(svc, w->h)) : TRC_ENOMEM;
	if (parked == TRC_ENOMEM) {
		w->code = TRACTION__V1__CODE__RESOURCE_EXHAUSTED;
		w->message = "out of memory";
		w->details = NULL;
		w->n_details = 0;
		svc_reply_work(svc, w);
	} else if (parked != 0) {
		w->code = TRACTION__V1__CODE__UNAVAILABLE;
		w->message = "too many requests wait here for other daemons; try again";
		w->details = NULL;
		w->n_details = 0;
		svc_reply_work(svc, w);
	}
	for (int i = 0; i < 3; i++)
		zmq_msg_close(&part[i]);
	svc->gen++; /* a request that named no source we know runs again at once */
}
