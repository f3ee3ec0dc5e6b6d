/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster mode's apply queue (docs/architecture.md, "Cluster mode"): the
 * entries raft applies go to the writer thread in the log's order, each a
 * batch, one at a time; those that come while it commits wait here.
 *
 * Why raft's apply callback never waits for a commit: it runs on the loop
 * thread, which is also where this replica's raft node reads the next
 * entries and acknowledges them. A follower that committed each entry
 * before returning held every acknowledgement behind a durable LMDB commit
 * (1.5 ms for an entry of 400 records), and the leader's commit on a
 * majority waited for it (docs/performance.md, "Cluster mode"). Until the
 * writer has it, an entry is durable in raft's log: after a crash raft
 * applies again from the index the store holds (meta.raft_applied), and a
 * snapshot, which lets the log behind it go, is taken only with the queue
 * empty (svc_apply_drain).
 *
 * A leader's own entry is its batch as proposed; a follower's is decoded
 * here into a free batch, answered to nobody. An entry the store could not
 * take stops the replica, and those queued behind it are dropped unapplied
 * (the store must not skip one): raft applies them again at the next start.
 */
#include "service_int.h"

#if defined(TRC_RAFT) && defined(TRC_UV)

#include <string.h>

#include "error.h"
#include "log.h"
#include "svc_raft_int.h"

batch_t *svc_apply_free(trc_service_t *svc)
{
	for (size_t i = 0; i < TRC_BATCHES; i++) {
		batch_t *b = &svc->batches[i];
		if (b != svc->fill && !b->raft_held && b != svc->run)
			return b;
	}
	return NULL;
}

void svc_apply_queue(struct svc_raft *r, batch_t *b)
{
	b->raft_held = true;
	if (r->svc->run == NULL && r->nq == 0)
		svc_writer_hand(r->svc, b);
	else
		r->queue[r->nq++] = b;
}

/* A batch of ours this store does not hold, though raft committed it (so
 * the other replicas do): its writes are not lost, and this replica stops
 * to apply it again at its next start. Its callers hear UNAVAILABLE once
 * raft's word is in, and retry with the same key. */
static void s_not_stored(batch_t *b, const char *why)
{
	for (size_t i = 0; i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		w->code = trc_err_to_code(TRC_EUNAVAIL);
		w->message = why;
		w->packed = NULL;
		w->packed_len = 0;
	}
}

/* Batch b is done with: a follower's is free again; a leader's answers
 * once raft has committed it too (s_applied_cb, svc_raft.c). */
static void s_done(trc_service_t *svc, batch_t *b)
{
	b->settled = true;
	if (b->replica) {
		b->raft_held = false;
		svc_writer_reset(b);
	} else if (b->committed) {
		svc_writer_replies(svc, b);
	}
}

/* The entries waiting, after one that failed here: not applied. */
static void s_drop(struct svc_raft *r)
{
	for (size_t i = 0; i < r->nq; i++) {
		s_not_stored(r->queue[i], "this replica stopped before it stored the write (the "
					  "others did); retry with the same key");
		s_done(r->svc, r->queue[i]);
	}
	r->nq = 0;
}

void svc_raft_settled(trc_service_t *svc, batch_t *b)
{
	struct svc_raft *r = svc->raft;
	if (b->rc != 0) {
		trc_err("entry %llu could not be committed here (%s): this replica stops",
			(unsigned long long)b->index, trc_strerror(b->rc));
		r->fatal = b->rc;
		s_not_stored(b, "this replica could not store the write (the others did); retry "
				"with the same key");
	}
	s_done(svc, b);
	if (r->fatal != 0) {
		s_drop(r);
	} else if (r->nq > 0) {
		batch_t *next = r->queue[0];
		memmove(r->queue, r->queue + 1, --r->nq * sizeof(*r->queue));
		svc_writer_hand(svc, next);
	}
}

void svc_apply_drain(struct svc_raft *r)
{
	while (r->svc->run != NULL)
		svc_writer_done(r->svc, true, false); /* settles, hands the next */
	s_drop(r); /* none, unless apply failed with the writer idle */
}

void svc_raft_drain(trc_service_t *svc)
{
	if (svc->raft != NULL)
		svc_apply_drain(svc->raft);
}

int svc_apply_entry(struct svc_raft *r, uint64_t index, const uint8_t *buf, size_t len)
{
	trc_service_t *svc = r->svc;
	uint64_t applied = 0;
	int rc = svc_applied_read(svc, &applied);
	if (rc != 0 || index <= applied)
		return rc; /* in the store already: a replay after a restart */
	batch_t *b;
	while ((b = svc_apply_free(svc)) == NULL && svc->run != NULL)
		svc_writer_done(svc, true, false); /* the queue is full: it waits */
	if (b == NULL)
		return TRC_ENOMEM; /* not reached: only the writer holds batches here */
	rc = svc_entry_batch(svc, b, index, buf, len);
	if (rc != 0)
		return rc;
	b->replica = true;
	svc_apply_queue(r, b);
	return 0;
}

#endif
