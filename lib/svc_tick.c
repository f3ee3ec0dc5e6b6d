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
static bool s_wanted(const trc_service_t *svc, int64_t now)
{
	if (svc->def->tick != NULL)
		return true;
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
	if (s_wanted(svc, now) && (now >= svc->next_tick || svc->tick_asked)) {
		/* one tick a batch: while the writer is stuck on the disk, ticks
		 * would otherwise pile up in the batch, taking its room. One the
		 * daemon asked for waits for the next batch; a timed one is
		 * enough once a batch. */
		work_t *w;
		if (!svc->fill->ticked && svc_work_push(&svc->fill->writes, &w) == 0) {
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
}

int64_t svc_tick_next(const trc_service_t *svc, int64_t now, int64_t next)
{
	if (s_wanted(svc, now) && svc->next_tick < next)
		next = svc->next_tick;
	if (svc->tick_asked && !svc->fill->ticked)
		next = now; /* else the writer's done_fd brings the next batch */
	return next;
}
