/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reads of a turn: answered on the loop thread as they come, from one
 * read transaction of the turn, while the writer thread may be committing
 * the previous batch (LMDB's readers never wait for its writer). A read
 * sees what was committed when the turn's first read came; the turn ends
 * the snapshot (svc_turn_end), before any reply acknowledges a write the
 * snapshot may lack. A read whose handler asked to catch up with a source
 * is held (svc_park_work) and runs again later. It calls dispatch (the
 * call, catching up) and the frames layer.
 */
#include "service_int.h"

#include "error.h"

/* A read, on the loop thread, from the turn's read transaction (opened at
 * its first read). */
void svc_read(trc_service_t *svc, work_t *w)
{
	if (!svc->rtxn_open) {
		if (trc_txn_begin(svc->store, &svc->rtxn, false) != 0) {
			svc_reply(svc, w->broker, w->route, w->route_len, w->version, w->request_id,
				  TRACTION__V1__CODE__INTERNAL, "cannot open a read transaction",
				  NULL);
			return;
		}
		svc->rtxn_open = true;
	}
	trc_call_t call;
	svc_call_init(svc, svc->fill, &call, &svc->rtxn, w->rt);
	call.may_wait = w->may_wait && !svc->stopping;
	if (svc_builtin_has(w->method))
		call.user = svc;
	size_t failures = trc_arena_failures(svc->fill->arena);
	int rc = w->method->handler(&call, w->req, w->rep);
	rc = svc_sticky(svc->fill->arena, failures, rc, &call);
	w->code = rc == 0 ? 0 : (call.code != 0 ? call.code : trc_err_to_code(rc));
	w->message = rc == 0 ? NULL : svc_status_message(svc, svc->fill->arena, rc, &call);
	w->details = call.details;
	w->n_details = call.n_details;
	if (rc == 0 && call.packed != NULL) { /* sent below, while it still holds */
		w->packed = call.packed;
		w->packed_len = call.packed_len;
	}
	if (svc_call_caught(svc, &call, rc, w))
		svc_park_work(svc, w);
	else
		svc_reply_work(svc, w);
}

void svc_reads_close(trc_service_t *svc)
{
	if (svc->rtxn_open) {
		trc_txn_abort(&svc->rtxn);
		svc->rtxn_open = false;
	}
}

