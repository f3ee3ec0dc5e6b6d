/* SPDX-License-Identifier: Apache-2.0 */
/*
 * When the daemon's tick is queued: at its interval (tick_ms) when it has
 * a tick of its own, or the event log's trim when that may have work; and
 * at once when the daemon asks through its tick_fd (service.h), so that
 * work finished off the loop is taken up in the next group commit.
 */
#include "service_int.h"

#include <unistd.h>

#include "evlog.h"

/* A tick is queued at the daemon's interval when it has a tick of its
 * own, or when its event log may have something to trim: its head moved,
 * the last trim stopped at its bound, or a while has passed (events age
 * out of keep_days with no write at all). */
#define S_TRIM_IDLE_MS 60000
/* The trim's interval in a daemon without a tick of its own: the log
 * holds at most what comes in this long past its bound (an empty tick
 * costs no disk write). */
#define S_TRIM_TICK_MS 250
/* Whether the daemon's tick has work (its tick_due, in a read txn). */
static bool s_due(const trc_service_t *svc)
{
	if (svc->def->tick_due == NULL)
		return true;
	trc_txn_t txn;
	if (trc_txn_begin(svc->store, &txn, false) != 0)
		return true; /* cannot tell: tick */
	trc_call_t c = { .txn = &txn, .user = svc->def->user, .now_ms = trc_now_ms() };
	bool due = svc->def->tick_due(&c);
	trc_txn_abort(&txn);
	return due;
}

/* Whether the event log may have something to trim. */
static bool s_trim_wanted(const trc_service_t *svc, int64_t now)
{
	if (svc->evlog == NULL || !trc_evlog_keyed(svc->evlog))
		return false;
	return svc->head != svc->trim_head || svc->trim_more ||
	       now - svc->trim_last >= S_TRIM_IDLE_MS;
}

/* The daemon's tick_fd was written: a tick goes into the next batch. */
void svc_tick_asked(trc_service_t *svc)
{
	uint64_t n;
	if (read(svc->tick_fd, &n, sizeof(n)) == sizeof(n))
		svc->tick_asked = true;
}

void svc_tick_timer(trc_service_t *svc, int64_t now)
{
	if (now < svc->next_tick && !svc->tick_asked)
		return;
	/* the daemon's tick when it has work (or asked for one), else the
	 * event log's trim when that may have some */
	bool wanted = (svc->def->tick != NULL && (svc->tick_asked || s_due(svc))) ||
		      s_trim_wanted(svc, now);
	/* one tick a batch: while the writer is stuck on the disk, ticks
	 * would otherwise pile up in the batch, taking its room. One the
	 * daemon asked for waits for the next batch; a timed one is enough
	 * once a batch. */
	work_t *w;
	if (wanted && !svc->fill->ticked && svc_work_push(&svc->fill->writes, &w) == 0) {
		w->kind = WORK_TICK;
		svc->fill->ticked = true;
		svc->trim_head = svc->head;
		svc->trim_last = now;
		svc->tick_asked = false;
	}
	if (now >= svc->next_tick)
		svc->next_tick = now + (svc->def->tick == NULL ? S_TRIM_TICK_MS
				       : svc->def->tick_ms > 0 ? svc->def->tick_ms
							       : 1000);
}

int64_t svc_tick_next(const trc_service_t *svc, int64_t now, int64_t next)
{
	if ((svc->def->tick != NULL || s_trim_wanted(svc, now)) && svc->next_tick < next)
		next = svc->next_tick;
	if (svc->tick_asked && !svc->fill->ticked)
		next = now; /* else the writer's done_fd brings the next batch */
	return next;
}
