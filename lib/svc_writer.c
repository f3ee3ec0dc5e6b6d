/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group commit: a batch of writes and events applied in one durable LMDB
 * write transaction (each in a nested one of its own, so one failing
 * request does not take the others with it), then settled on the loop
 * thread (positions, our events published) before any of its replies go
 * out. The writer thread commits one batch while the loop fills the next;
 * this file holds both threads' parts of the hand-over and decides when a
 * small batch is better written on the loop thread itself. It calls the
 * dispatch layer (a handler's call, the reads that waited) and the frames.
 */
#include "service_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

/* ---- applying ---------------------------------------------------------------- */

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

/* What the reply of a work that failed with rc says. */
static void s_work_failed(trc_service_t *svc, batch_t *b, work_t *w, int rc,
			  const trc_call_t *call)
{
	w->code = call->code != 0 && !s_is_store_error(rc) ? call->code : trc_err_to_code(rc);
	w->message = svc_status_message(svc, b->arena, rc, call);
	w->details = call->details;
	w->n_details = call->n_details;
}

/* A write's reply, packed now, before its transaction commits: once the
 * write is committed it must be answered OK, and a reply that could not
 * be built then would say it failed (svc_reply_full sends it as it is). */
static int s_pack_reply(trc_service_t *svc, batch_t *b, trc_call_t *call, work_t *w)
{
	size_t len = protobuf_c_message_get_packed_size(w->rep);
	if (len > (size_t)svc->cfg.max_message_kb * 1024)
		return trc_call_fail(call, TRC_EBUSY,
				     "the reply (%zu bytes) would be larger than max_message_kb=%u: "
				     "nothing was written",
				     len, svc->cfg.max_message_kb);
	uint8_t *buf = trc_arena_alloc(b->arena, len > 0 ? len : 1);
	if (buf == NULL)
		return TRC_ENOMEM;
	w->packed_len = protobuf_c_message_pack(w->rep, buf);
	w->packed = buf;
	return 0;
}

/* A write's handler and its reply: 0, or why it failed (svc_sticky: an
 * allocation that failed under it fails it); *ran: the handler itself
 * succeeded (and may have written). */
static int s_handle_write(trc_service_t *svc, batch_t *b, trc_call_t *call, work_t *w,
			  bool *ran)
{
	size_t failures = trc_arena_failures(b->arena);
	int rc = w->method->handler(call, w->req, w->rep);
	*ran = rc == 0;
	/* before the packing: a reply short of memory may not even pack */
	rc = svc_sticky(b->arena, failures, rc, call);
	return rc == 0 ? s_pack_reply(svc, b, call, w) : rc;
}

static int s_apply_flat(trc_service_t *svc, batch_t *b, trc_txn_t *txn, work_t *w)
{
	trc_call_t call;
	size_t mark = svc->evlog != NULL ? trc_evlog_mark(svc->evlog) : 0;
	svc_call_init(svc, b, &call, txn, w->rt);
	call.evlog = svc->evlog;
	call.body = w->body;
	call.body_len = w->body_len;
	call.may_wait = w->may_wait && !svc->stopping;
	bool wrote;
	int rc = s_handle_write(svc, b, &call, w, &wrote);
	if (rc != 0) {
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, mark);
		/* it may have written (a handler that succeeded has: its reply
		 * failing too): fail the batch */
		if (wrote || txn->err != 0 || s_is_store_error(rc))
			trc_txn_fail(txn, rc);
		s_work_failed(svc, b, w, rc, &call);
		svc_call_caught(svc, &call, rc, w);
	}
	return rc;
}

/* An event of a source we consume, and the source's new position, in the
 * nested transaction child (of parent; mark: our event log's queue when
 * it began). */
static int s_apply_event(trc_service_t *svc, trc_txn_t *parent, trc_txn_t *child,
			 trc_call_t *call, const work_t *w, size_t mark)
{
	size_t failures = trc_arena_failures(call->arena);
	int rc = svc->def->apply_event != NULL ? svc->def->apply_event(call, w->ev) : 0;
	rc = svc_sticky(call->arena, failures, rc, call);
	if (rc == TRC_ENOMEM)
		return rc; /* not the event's fault: not applied, a replay brings it again */
	if (rc != 0 && child->err == 0) {
		/* The event itself is bad (a bug at the source, or a schema we
		 * do not know): skip it rather than stall on it forever. */
		trc_warn("event source=%s seq=%llu type=%s not applied: %s", w->ev->source,
			 (unsigned long long)w->ev->seq, w->ev->type,
			 call->message != NULL ? call->message : trc_strerror(rc));
		trc_txn_abort(child);
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, mark);
		rc = trc_txn_begin_nested(parent, child);
		if (rc != 0)
			return rc;
	}
	return child->err == 0 ? trc_position_set(child, w->cons->source, w->ev->seq)
			       : child->err;
}

/* The event log's background trim, in the tick's transaction. */
static int s_trim(trc_service_t *svc, batch_t *b, trc_txn_t *txn, int64_t now_ms)
{
	size_t trimmed = 0;
	int rc = trc_evlog_trim(svc->evlog, txn, &svc->evret, now_ms, &trimmed, &b->trim_more);
	if (rc != 0)
		trc_warn("event log trim failed: %s", trc_strerror(rc));
	else if (trimmed > 0)
		trc_debug("event log: %zu events trimmed", trimmed);
	b->trimmed += trimmed;
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
	svc_call_init(svc, b, &call, &child, w->kind == WORK_REQUEST ? w->rt : NULL);
	call.evlog = svc->evlog;

	if (w->kind == WORK_REQUEST) {
		call.body = w->body;
		call.body_len = w->body_len;
		call.may_wait = w->may_wait && !svc->stopping;
		bool ran;
		rc = s_handle_write(svc, b, &call, w, &ran);
		if (rc != 0)
			svc_call_caught(svc, &call, rc, w);
	} else if (w->kind == WORK_TICK) {
		size_t failures = trc_arena_failures(b->arena);
		if (svc->def->tick != NULL)
			rc = svc_sticky(b->arena, failures, svc->def->tick(&call), &call);
		if (rc != 0 && !s_is_store_error(rc))
			trc_warn("tick failed: %s",
				 call.message != NULL ? call.message : trc_strerror(rc));
		if (rc == 0 && svc->evlog != NULL)
			rc = s_trim(svc, b, &child, call.now_ms);
	} else {
		rc = s_apply_event(svc, parent, &child, &call, w, mark);
		if (child.txn == NULL)
			return rc; /* skipping it, the nested transaction did not reopen */
	}
	if (rc == 0)
		rc = trc_txn_commit(&child);
	else
		trc_txn_abort(&child);
	if (rc != 0) {
		if (svc->evlog != NULL)
			trc_evlog_rollback(svc->evlog, mark);
		s_work_failed(svc, b, w, rc, &call);
		if (child.err != 0 && child.err != rc)
			w->message = svc_status_message(svc, b->arena, child.err, &call);
	}
	return rc;
}

/* ---- the group commit ---------------------------------------------------------- */

/* Every write and event of the batch in txn, until the first store error;
 * how many applied. */
static size_t s_apply_batch(trc_service_t *svc, batch_t *b, trc_txn_t *txn)
{
	size_t ok = 0;
	for (size_t i = 0; i < svc->ncons; i++) {
		svc->cons[i].wpos = svc->cons[i].applied;
		svc->cons[i].wcovered = svc->cons[i].covered;
		svc->cons[i].wgap = false;
	}
	for (size_t i = 0; txn->err == 0 && i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		consumer_t *c = w->cons;
		/* Events apply in order and once: the loop may have queued one
		 * behind an event that failed, or one a replay brings again. */
		if (w->kind == WORK_EVENT && w->ev->seq <= c->wpos)
			continue;
		if (w->kind == WORK_EVENT &&
		    (c->wgap || (w->ev->seq != c->wpos + 1 && !w->compacted))) {
			c->wgap = true;
			continue;
		}
		int r = s_apply_one(svc, b, txn, w);
		if (r == 0) {
			ok++;
			if (w->kind == WORK_EVENT) {
				c->wpos = w->ev->seq;
				if (w->ev->covers > c->wcovered)
					c->wcovered = w->ev->covers;
			}
			continue;
		}
		if (w->kind == WORK_EVENT)
			c->wgap = true; /* store trouble: stop this source; replay brings the rest */
		if (s_is_store_error(r))
			trc_warn("write failed: %s", trc_strerror(r));
	}
	return ok;
}

/* The daemon's batch_end hook, our event log's new head, and the commit. */
static int s_commit_end(trc_service_t *svc, batch_t *b, trc_txn_t *txn)
{
	if (svc->def->batch_end != NULL) {
		trc_call_t call;
		svc_call_init(svc, b, &call, txn, NULL);
		call.evlog = svc->evlog;
		size_t failures = trc_arena_failures(b->arena);
		int r = svc_sticky(b->arena, failures, svc->def->batch_end(&call), &call);
		if (r != 0)
			trc_txn_fail(txn, r);
	}
	if (svc->evlog != NULL)
		b->head = trc_evlog_head(txn);
	if (b->index != 0)
		(void)svc_applied_put(txn, b->index); /* sticky on failure */
	int64_t t0 = svc_now_us();
	int rc = trc_txn_commit(txn);
	b->commit_us = svc_now_us() - t0;
	return rc;
}

/* Nothing of the batch committed: every write is answered with why. */
static int s_commit_failed(trc_service_t *svc, batch_t *b, int rc)
{
	rc = s_disk_or_io(svc, rc);
	trc_err("group commit of %zu writes failed: %s", b->writes.n, trc_strerror(rc));
	if (svc->evlog != NULL)
		trc_evlog_rollback(svc->evlog, 0);
	const char *msg = svc_status_message(svc, b->arena, rc, NULL);
	for (size_t i = 0; i < b->writes.n; i++) {
		b->writes.v[i].code = trc_err_to_code(rc);
		b->writes.v[i].message = msg;
		b->writes.v[i].rerun = false; /* the failure is the answer */
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
	int64_t t0 = svc_now_us();
	b->commit_us = 0;
	int rc = trc_txn_begin(svc->store, &txn, true);
	size_t ok = s_apply_batch(svc, b, &txn);
	b->apply_us = svc_now_us() - t0;
	bool committed = false;
	if (rc == 0 && ok > 0) {
		rc = s_commit_end(svc, b, &txn);
		committed = rc == 0;
	} else if (rc == 0 && txn.err == 0 && b->index != 0) {
		/* an entry none of whose writes applied (each failed alike
		 * everywhere): no hook runs, only where the log stands moves */
		rc = svc_applied_put(&txn, b->index);
		rc = rc == 0 ? trc_txn_commit(&txn) : (trc_txn_abort(&txn), rc);
	} else {
		if (rc == 0 && txn.err != 0)
			rc = txn.err; /* a flat handler's store error: nothing commits */
		trc_txn_abort(&txn);
	}
	if (svc->def->batch_done != NULL)
		svc->def->batch_done(svc->def->user, committed);
	if (rc != 0)
		rc = s_commit_failed(svc, b, rc);
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
		if (b->rc == 0 && c->wcovered > c->covered)
			c->covered = c->wcovered;
		if (b->rc != 0 || c->wgap)
			c->queued = c->applied; /* the next replay or gap asks again */
		if (c->queued < c->applied)
			c->queued = c->applied;
	}
	if (b->ticked)
		svc->trim_more = b->rc == 0 && b->trim_more;
	/* a trim behind the retention goes on at the next turn, a bounded
	 * step per commit, rather than at the next interval */
	if (svc->trim_more && svc->def->tick == NULL)
		svc->next_tick = 0;
	if (b->rc == 0)
		svc_metrics_trimmed(svc, b->trimmed);
	b->trim_more = false;
	b->trimmed = 0;
	if (b->rc == 0 && svc->evlog != NULL) {
		trc_evlog_flush(svc->evlog, svc_publish, svc);
		if (b->head > svc->head)
			svc->head = b->head;
	}
	b->head = 0;
	if (b->rc == 0)
		svc->gen++; /* parked requests look again */
	svc_metrics_batch(svc, b);
}

/* A batch settled and answered: empty again. */
void svc_writer_reset(batch_t *b)
{
	b->writes.n = 0;
	b->bytes = 0;
	b->ticked = false;
	b->index = 0;
	b->replica = false;
	trc_arena_reset(b->arena);
}

void svc_writer_replies(trc_service_t *svc, batch_t *b)
{
	/* Only now, after the durable commit, do replies go out. */
	for (size_t i = 0; i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		if (w->kind == WORK_REQUEST && w->rerun)
			svc_park_work(svc, w); /* it asked to catch up first */
		else if (w->kind == WORK_REQUEST)
			svc_reply_work(svc, w);
	}
	b->raft_held = false;
	svc_writer_reset(b);
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

/* The writer runs at a lower priority than the loop (nice + this): on a
 * busy machine the loop, which answers pings and reads, takes the CPU
 * back from a bulk commit at once (docs/performance.md, "Reads beside
 * ingest"). */
#define TRC_WRITER_NICE 5

static void s_lower_priority(void)
{
	/* Linux: PRIO_PROCESS of a thread id is that thread alone */
	id_t tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, tid);
	if (errno == 0 && nice + TRC_WRITER_NICE <= 19)
		(void)setpriority(PRIO_PROCESS, tid, nice + TRC_WRITER_NICE);
}

static void *s_writer(void *arg)
{
	trc_service_t *svc = arg;
	s_lower_priority();
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

/* The writer's thread and what the two threads hand over with. It inherits
 * the signal mask: signals stay with the loop. */
int svc_writer_start(trc_service_t *svc)
{
	svc->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (svc->done_fd < 0 || pthread_mutex_init(&svc->mu, NULL) != 0 ||
	    pthread_mutex_init(&svc->ahead_mu, NULL) != 0 ||
	    pthread_cond_init(&svc->cv, NULL) != 0 ||
	    pthread_create(&svc->writer, NULL, s_writer, svc) != 0) {
		trc_err("cannot start the writer thread: %s", strerror(errno));
		return TRC_ENOMEM;
	}
	svc->writer_started = true;
	return 0;
}

void svc_writer_stop(trc_service_t *svc)
{
	if (svc->writer_started) {
		pthread_mutex_lock(&svc->mu);
		svc->quit = true;
		pthread_cond_signal(&svc->cv);
		pthread_mutex_unlock(&svc->mu);
		pthread_join(svc->writer, NULL);
		pthread_cond_destroy(&svc->cv);
		pthread_mutex_destroy(&svc->mu);
		pthread_mutex_destroy(&svc->ahead_mu);
		svc->writer_started = false;
	}
	if (svc->done_fd >= 0)
		close(svc->done_fd);
	svc->done_fd = -1;
}

/* ---- handing batches over ------------------------------------------------------------ */

/* A batch smaller than both the loop writes itself: handing it to the
 * writer costs two thread wake-ups, which pay only when the loop has a
 * next batch to read meanwhile (what they cost: docs/performance.md,
 * "Measurements behind the code"). The bytes count too: a few large
 * requests are a lot to decode. */
#define TRC_PIPELINE_MIN 8
#define TRC_PIPELINE_MIN_BYTES (16u << 10)

static bool s_pipelined(const batch_t *b)
{
	return b->writes.n >= TRC_PIPELINE_MIN || b->bytes >= TRC_PIPELINE_MIN_BYTES;
}

/* Whether the loop writes batch b itself: when stopping, and a small batch
 * unless the writer has just finished a full one. Under load the batch
 * waiting when the writer finishes is now and then a request or two (the
 * replies that bring the next requests have not gone out yet): written
 * here, it kept the loop from reading for a whole commit while the writer
 * sat idle (how often: docs/performance.md, "Measurements behind the
 * code"). One small batch after a full one goes to the writer; the next
 * small one stays here again, so a spell of load does not leave the
 * quiet traffic after it paying for the hand-over. */
static bool s_writes_here(const trc_service_t *svc, const batch_t *b, bool stopping)
{
	return stopping || (!s_pipelined(b) && !svc->loaded);
}

/* Whether the writer has finished its batch (the loop checks between
 * messages, so that a long drain does not keep the writer waiting). */
bool svc_writer_finished(trc_service_t *svc)
{
	return svc->run != NULL && __atomic_load_n(&svc->done, __ATOMIC_ACQUIRE) != NULL;
}

/* The end of a turn. The turn's read snapshot ends (a later read must
 * see what a reply acknowledges from now on). While the writer is busy
 * (or a backup's cut holds it), the writes that arrived wait in the
 * loop's batch; once it is idle, the
 * batch goes to the writer (or a small one, or when stopping, is written
 * here). */
void svc_turn_end(trc_service_t *svc, bool stopping)
{
	batch_t *b = svc->fill;
	if (svc->raft != NULL) {
		svc_raft_turn_end(svc, stopping);
		return;
	}
	svc_reads_close(svc);
	if (svc->run != NULL)
		return;
	/* An online backup's cut holds the writer (svc_backup.c): the writes
	 * wait in the loop's batch as they do behind a long commit. */
	if (!stopping && svc_backup_paused(svc)) {
		if (b->writes.n == 0)
			trc_arena_reset(b->arena);
		return;
	}
	bool here = s_writes_here(svc, b, stopping);
	svc->loaded = false;
	if (b->writes.n == 0) {
		trc_arena_reset(b->arena);
		return;
	}
	if (svc->on_entry != NULL)
		svc_entry_emit(svc, b); /* numbered before it commits, as raft would */
	if (here) {
		s_commit(svc, b);
		s_settle(svc, b);
		svc_writer_replies(svc, b);
		if (b->rc == 0)
			s_write_ahead(svc);
		return;
	}
	svc->fill = b == &svc->batches[0] ? &svc->batches[1] : &svc->batches[0];
	svc->fill->now_ms = b->now_ms;
	svc_writer_hand(svc, b);
}

void svc_writer_hand(trc_service_t *svc, batch_t *b)
{
	svc->run = b;
	svc->run_since = trc_mono_ms();
	pthread_mutex_lock(&svc->mu);
	svc->todo = b;
	pthread_cond_signal(&svc->cv);
	pthread_mutex_unlock(&svc->mu);
}

/* The writer's batch is done (the eventfd said so; with wait, block until
 * it is): settle it, give the writer the next batch at once, and then
 * send the replies while it works (or, if the loop is to write the next
 * batch itself, the replies first). */
void svc_writer_done(trc_service_t *svc, bool wait, bool stopping)
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
	if (svc->raft != NULL) {
		/* cluster mode: its replies wait for raft's commit too, and the
		 * loop's batch goes to raft, not here (svc_raft.c) */
		svc_raft_settled(svc, b);
		return;
	}
	svc->loaded = s_pipelined(b);
	if (s_writes_here(svc, svc->fill, stopping)) {
		svc_writer_replies(svc, b); /* first: what follows may be a commit here */
		svc_turn_end(svc, stopping);
		return;
	}
	svc_turn_end(svc, false);
	svc_writer_replies(svc, b);
}

/* An entry's batch on a replica (b->index set): committed on this thread
 * once the writer is idle, and settled (positions, events); nobody is
 * answered, the leader answers its callers. Its outcome. */
int svc_writer_apply(trc_service_t *svc, batch_t *b)
{
	while (svc->run != NULL)
		svc_writer_done(svc, true, false);
	s_commit(svc, b);
	s_settle(svc, b);
	int rc = b->rc;
	svc_writer_reset(b);
	return rc;
}
