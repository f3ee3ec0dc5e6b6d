/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster mode's raft node, shared by its two files and nothing else:
 * svc_raft.c (the node, proposals, apply, reads) and svc_members.c (the
 * cluster.* methods: status and membership). Only where libraft and libuv
 * are found.
 */
#ifndef TRC_SVC_RAFT_INT_H
#define TRC_SVC_RAFT_INT_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "cluster.h"
#include "service_int.h"

struct svc_raft {
	trc_service_t *svc;
	uv_loop_t loop;
	struct raft_uv_transport transport;
	bool curve;              /* transport: raft_curve.h's, else raft_uv_tcp's */
	struct raft_io io;
	struct raft_fsm fsm;
	struct raft raft;
	trc_members_t members;
	char dir[TRC_CONFIG_PATH + 80];
	struct raft_apply req;   /* the proposal in flight */
	batch_t *proposed;       /* its batch, until apply takes it; NULL: none */
	/* Entries applied, waiting for the writer, in the log's order
	 * (svc_apply.c): the writer's own is svc->run. */
	batch_t *queue[TRC_BATCHES];
	size_t nq;
	int state;               /* raft_state at the last turn */
	raft_id leader_seen;     /* and the leader then */
	raft_term term_seen;     /* and the term */
	/* Linearizable reads: each waits for a barrier proposed after it
	 * came; one in flight at a time (those that come while it flies wait
	 * for the next: joining it would not be linearizable). Barriers are
	 * numbered 1, 2, ...: issued, the last proposed; done, the last
	 * applied here with the writer idle; failed, the last dropped. */
	struct raft_barrier breq;
	uint64_t barrier_want, barrier_issued, barrier_done, barrier_failed;
	bool barrier_flying;
	/* Membership (svc_members.c): one change at a time, and what the
	 * last one asked came to. */
	struct raft_change creq;
	struct raft_transfer treq;
	bool changing;
	raft_id change_id;       /* cluster.add: the member to make a voter next */
	char change[256];
	/* Its metrics (NULL without [metrics]): set on the loop thread */
	trc_series_t *m_term, *m_leader, *m_changes, *m_entries, *m_bytes, *m_commit, *m_applied;
	int up;                  /* what is set up (svc_raft.c's S_UP_*) */
	bool closed;
	int fatal;               /* apply failed here: the replica stops */
};

/* ---- svc_apply.c: entries to the writer ---- */

/* A batch the loop may fill: not the one it fills, and not held by a
 * proposal, the queue, the writer or replies still owed; NULL if none. */
batch_t *svc_apply_free(trc_service_t *svc);
/* Batch b, raft's entry b->index, to the writer: now if it is idle, else
 * after those waiting. */
void svc_apply_queue(struct svc_raft *r, batch_t *b);
/* A follower's entry (raft's buffer, our frame taken off) decoded and
 * queued; one the store holds already (a replay after a restart) is
 * skipped. Non-zero: it is not ours to apply, and the replica stops. */
int svc_apply_entry(struct svc_raft *r, uint64_t index, const uint8_t *buf, size_t len);
/* Every entry applied so far committed here (or, once apply failed,
 * dropped): the store holds raft's last applied index. */
void svc_apply_drain(struct svc_raft *r);

/* The member's name in [cluster] members (by its address), or NULL. */
const char *svc_raft_name(const struct svc_raft *r, raft_id id, const char *address);

#endif
