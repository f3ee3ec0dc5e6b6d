/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster mode (docs/scale-out.md, docs/raft-plan.md): the daemon's store
 * replicated by a C-Raft group of its own across the hosts of [cluster].
 * The raft node's libuv loop is hosted in the service loop (hosted.h), so
 * every raft callback runs on the loop thread, which owns the batches.
 *
 * The leader's batch, at the end of a turn, becomes one raft entry
 * (svc_entry_pack); once raft has it on a majority it calls apply, which
 * queues that very batch for the writer thread (svc_apply.c), whose
 * commit records the entry's index (meta.raft_applied) in the same
 * transaction. A write's reply leaves once both have happened: committed
 * on a majority (raft's callback) and committed here (the writer settled
 * it), whichever comes last. A follower's apply queues the entries it is
 * sent, decoded, for its writer the same way, and it answers no write:
 * those get UNAVAILABLE, as do the writes of a proposal raft drops with
 * the leadership; clients retry them with the same key.
 *
 * Only the leader ticks, consumes other sources and publishes events; on
 * a follower they come inside the leader's entries, with its clock.
 *
 * The store is log-backed (trc_store_log_backed): an acknowledged write
 * is on disk in raft's log on a majority, and the store's commits skip
 * LMDB's meta page sync; a snapshot syncs the store first.
 *
 * A store or memory failure in apply is not a reply: it stops the replica
 * (the loop exits non-zero; systemd restarts it and raft applies again
 * from the store's index). The raft snapshot is a small descriptor (the
 * index the store holds), taken once the writer is idle, so the log
 * behind it is never needed again by this store.
 */
#include "service_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"
#include "error.h"
#include "log.h"

#if defined(TRC_RAFT) && defined(TRC_UV)

#include <dirent.h>

#include "hosted_uv.h"
#include "raft_curve.h"
#include "svc_raft_int.h"

/* An entry in raft's log: be32 length, the entry (entry.h), zeros to a
 * multiple of 8 bytes. libraft 0.15 reads back a segment wrongly, after a
 * restart, when an entry's length is not one (canonical/raft#304, the
 * TODO of src/uv_segment.c it points to; a restart in test_raft met it). */
#define S_FRAME 4

static void *s_frame_alloc(size_t len)
{
	size_t n = (S_FRAME + len + 7) & ~(size_t)7;
	uint8_t *p = raft_malloc(n);
	if (p == NULL)
		return NULL;
	memset(p, 0, n);
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return p + S_FRAME;
}

/* The snapshot's descriptor: a magic word and the store's applied index. */
#define S_SNAP_MAGIC "TRCSNAP1"
#define S_SNAP_LEN 16


static trc_service_t *s_svc(struct raft_fsm *fsm)
{
	return ((struct svc_raft *)fsm->data)->svc;
}

/* ---- batches, replies -------------------------------------------------------------- */

/* Nothing of batch b will be committed by us: every write in it hears
 * why (UNAVAILABLE: retry, with the same key, where the broker sends it
 * next); the events in it come again from their source's replay. */
Traction__V1__ErrorDetail **svc_raft_lost(void)
{
	static Traction__V1__ErrorDetail d = TRACTION__V1__ERROR_DETAIL__INIT;
	static Traction__V1__ErrorDetail *dv[1] = { &d };
	d.subject = (char *)"leader";
	d.reason = (char *)TRC_REASON_LEADERSHIP_CHANGED;
	return dv;
}

static void s_refuse(trc_service_t *svc, batch_t *b, const char *why)
{
	for (size_t i = 0; i < b->writes.n; i++) {
		work_t *w = &b->writes.v[i];
		if (w->kind == WORK_REQUEST) {
			w->code = trc_err_to_code(TRC_EUNAVAIL);
			w->message = why;
			w->details = svc_raft_lost(); /* clients send it again (libtraction) */
			w->n_details = 1;
			w->packed = NULL;
			w->packed_len = 0;
			w->rep = NULL;
			svc_reply_work(svc, w);
		} else if (w->kind == WORK_EVENT) {
			w->cons->queued = w->cons->applied;
		}
	}
	b->raft_held = false;
	svc_writer_reset(b);
}

/* ---- the state machine ---------------------------------------------------------------- */

static int s_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct svc_raft *r = fsm->data;
	raft_index index = raft_last_applied(&r->raft) + 1; /* 0.15: apply gets no index */
	*result = NULL;
	batch_t *b = r->proposed;
	if (r->fatal != 0) {
		/* stopping: the store is behind, and raft applies it again at
		 * start; our own batch hears UNAVAILABLE (the others have it) */
		if (b != NULL && r->req.index == index) {
			r->proposed = NULL;
			s_refuse(r->svc, b, "this replica is stopping; retry with the same key");
		}
		return 0;
	}
	if (b != NULL && r->req.index == index) {
		/* ours: the batch as it was proposed, to the writer */
		r->proposed = NULL;
		b->index = index;
		svc_apply_queue(r, b);
		return 0;
	}
	const uint8_t *p = buf->base;
	size_t len = buf->len >= S_FRAME ? (size_t)p[0] << 24 | (size_t)p[1] << 16 |
						   (size_t)p[2] << 8 | p[3]
					 : SIZE_MAX;
	int rc = len <= buf->len - S_FRAME ? svc_apply_entry(r, index, p + S_FRAME, len)
					   : TRC_EPROTO;
	if (rc != 0) {
		trc_err("entry %llu not applied (%s): this replica stops; its store holds "
			"the entries before it, and raft applies it again at the next start",
			(unsigned long long)index, trc_strerror(rc));
		r->fatal = rc;
	}
	return 0;
}

/* Raft's word on our proposal: committed on a majority (status 0, after
 * apply took it), or dropped with the leadership before it was. */
static void s_applied_cb(struct raft_apply *req, int status, void *result)
{
	(void)result;
	batch_t *b = req->data;
	struct svc_raft *r = (struct svc_raft *)((char *)req - offsetof(struct svc_raft, req));
	trc_service_t *svc = r->svc;
	if (status != 0 && b->index == 0) {
		if (r->proposed == b)
			r->proposed = NULL;
		trc_info("a batch of %zu writes was not committed: %s", b->writes.n,
			 raft_strerror(status));
		s_refuse(svc, b,
			 "the leadership changed before the write was committed; retry it with the "
			 "same key");
		return;
	}
	/* applied (an entry raft applied is committed, whatever it says now) */
	b->committed = true;
	if (b->settled)
		svc_writer_replies(svc, b);
}

/* The store is durable up to raft's last applied entry once the writer is
 * idle: the descriptor says so, and the log behind it can go. */
static int s_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	trc_service_t *svc = s_svc(fsm);
	svc_apply_drain(svc->raft);
	/* a replica stopping on an entry it could not apply: raft counts
	 * those after it applied, the store does not hold them; a snapshot
	 * now would make raft skip them at the next start */
	if (svc->raft->fatal != 0)
		return RAFT_IOERR;
	uint64_t applied = 0;
	/* the store's last commits may not be on disk yet (log-backed) */
	if (trc_store_sync(svc->store) != 0 || svc_applied_read(svc, &applied) != 0)
		return RAFT_IOERR;
	*bufs = raft_malloc(sizeof(**bufs));
	uint8_t *d = raft_malloc(S_SNAP_LEN);
	if (*bufs == NULL || d == NULL) {
		raft_free(*bufs);
		raft_free(d);
		return RAFT_NOMEM;
	}
	memcpy(d, S_SNAP_MAGIC, 8);
	trc_be64_put(d + 8, applied);
	(*bufs)[0] = (struct raft_buffer){ d, S_SNAP_LEN };
	*n_bufs = 1;
	return 0;
}

/* A snapshot, at start (the newest one here) or from the leader (this
 * replica was too far behind for the log): the store must hold what it
 * describes. One that does not stops the replica, which fetches another
 * replica's store before it starts again (svc_fetch.c). */
static int s_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct svc_raft *r = fsm->data;
	trc_service_t *svc = r->svc;
	if (buf->len != S_SNAP_LEN || memcmp(buf->base, S_SNAP_MAGIC, 8) != 0) {
		trc_err("a raft snapshot that is not ours (%zu bytes)", buf->len);
		return RAFT_MALFORMED;
	}
	uint64_t want = trc_be64_get((const uint8_t *)buf->base + 8), applied = 0;
	svc_apply_drain(svc->raft);
	int rc = svc_applied_read(svc, &applied);
	if (rc != 0 || applied < want) {
		/* raft persisted the snapshot before this: the next start
		 * fetches another replica's store, then restores it again */
		trc_err("this store holds entries up to %llu, the raft snapshot to %llu: it stops "
			"to fetch another replica's store (docs/scale-out.md, \"A replica "
			"behind\")",
			(unsigned long long)applied, (unsigned long long)want);
		rc = rc != 0 ? rc : svc_fetch_mark(svc->state_path, want);
		r->fatal = rc != 0 ? rc : TRC_EUNAVAIL;
		return RAFT_IOERR;
	}
	/* raft drops its log behind the snapshot now: what the store holds
	 * of it must not be undone by a power cut (log-backed) */
	if (trc_store_sync(svc->store) != 0)
		return RAFT_IOERR;
	raft_free(buf->base);
	return 0;
}

/* ---- linearizable reads ---------------------------------------------------------------- */

svc_lin_t svc_raft_read(trc_service_t *svc, uint64_t *barrier, const char **why)
{
	struct svc_raft *r = svc->raft;
	if (r->state != RAFT_LEADER) {
		*why = "not the leader of this daemon's cluster: a read is the leader's (an "
		       "election, or a route to a follower); try again";
		return SVC_LIN_REFUSE;
	}
	if (*barrier == 0)
		*barrier = r->barrier_issued + 1;
	if (*barrier <= r->barrier_done)
		return SVC_LIN_GO;
	if (*barrier <= r->barrier_failed) {
		*why = "the leadership changed before the read was confirmed; try again";
		return SVC_LIN_REFUSE;
	}
	if (*barrier > r->barrier_want)
		r->barrier_want = *barrier;
	return SVC_LIN_WAIT;
}

/* The barrier applied here (status 0): everything before it was handed
 * over, so with the writer idle the store holds every write acknowledged
 * before the reads that wait for it came. The reads run again. */
static void s_barrier_cb(struct raft_barrier *req, int status)
{
	struct svc_raft *r = req->data;
	r->barrier_flying = false;
	if (status == 0)
		svc_apply_drain(r);
	if (status == 0 && r->fatal == 0) {
		r->barrier_done = r->barrier_issued;
	} else { /* (a store without every entry applied serves no read) */
		r->barrier_failed = r->barrier_issued;
	}
	r->svc->gen++;
}

/* A barrier for the reads that wait, if none flies. */
static void s_barrier(struct svc_raft *r)
{
	if (r->barrier_flying || r->barrier_want <= r->barrier_issued)
		return;
	r->barrier_issued = r->barrier_want;
	r->breq.data = r;
	int rc = raft_barrier(&r->raft, &r->breq, s_barrier_cb);
	if (rc != 0) {
		r->barrier_failed = r->barrier_issued;
		r->svc->gen++;
		return;
	}
	r->barrier_flying = true;
}

/* ---- proposals ------------------------------------------------------------------------- */

/* The loop's batch as a proposal, and a fresh batch for the loop. */
static void s_propose(struct svc_raft *r, batch_t *b)
{
	trc_service_t *svc = r->svc;
	batch_t *next = svc_apply_free(svc);
	if (next == NULL)
		return; /* the batches are all owed: it waits a turn */
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = svc_entry_pack(svc, b, s_frame_alloc, &buf, &len);
	if (rc != 0) {
		trc_err("batch of %zu writes not made an entry: %s", b->writes.n, trc_strerror(rc));
		s_refuse(svc, b, "no memory to make the writes an entry");
		return;
	}
	buf -= S_FRAME;
	struct raft_buffer rb = { buf, (S_FRAME + len + 7) & ~(size_t)7 };
	r->req.data = b;
	b->index = 0;
	b->committed = b->settled = false;
	rc = raft_apply(&r->raft, &r->req, &rb, 1, s_applied_cb);
	if (rc != 0) {
		raft_free(buf);
		s_refuse(svc, b, raft_strerror(rc));
		return;
	}
	b->raft_held = true;
	r->proposed = b;
	trc_metric_add(r->m_entries, 1);
	trc_metric_add(r->m_bytes, rb.len);
	next->now_ms = b->now_ms;
	svc->fill = next;
}

/* What raft says of us, when it changed: logged. */
static void s_watch(struct svc_raft *r)
{
	int state = raft_state(&r->raft);
	raft_id id = 0;
	const char *address = NULL;
	raft_leader(&r->raft, &id, &address);
	trc_metric_set(r->m_commit, (double)r->raft.commit_index);
	trc_metric_set(r->m_applied, (double)raft_last_applied(&r->raft));
	if (state == r->state && id == r->leader_seen && r->raft.current_term == r->term_seen)
		return;
	if (id != r->leader_seen)
		trc_metric_add(r->m_changes, 1);
	trc_metric_set(r->m_term, (double)r->raft.current_term);
	trc_metric_set(r->m_leader, state == RAFT_LEADER);
	r->term_seen = r->raft.current_term;
	const char *names[] = { "unavailable", "follower", "candidate", "leader" };
	const char *leader = "none";
	for (size_t i = 0; i < r->members.n; i++)
		if (r->members.m[i].id == id)
			leader = r->members.m[i].name;
	trc_notice("raft: %s of term %llu; the leader: %s",
		   state >= 0 && state <= 3 ? names[state] : "?",
		   (unsigned long long)r->raft.current_term, leader);
	r->state = state;
	r->leader_seen = id;
	/* the broker sends writes and linearizable reads to the leader of
	 * the highest term (broker/registry.c) */
	int role = state == RAFT_LEADER	   ? TRACTION__V1__REPLICA_ROLE__REPLICA_LEADER
		   : state == RAFT_CANDIDATE ? TRACTION__V1__REPLICA_ROLE__REPLICA_CANDIDATE
					     : TRACTION__V1__REPLICA_ROLE__REPLICA_FOLLOWER;
	(void)trc_service_set_replica(r->svc, role, r->raft.current_term);
}

void svc_raft_turn_end(trc_service_t *svc, bool stopping)
{
	struct svc_raft *r = svc->raft;
	batch_t *b = svc->fill;
	svc_reads_close(svc);
	s_watch(r);
	if (r->state == RAFT_LEADER && !stopping)
		s_barrier(r);
	if (b->writes.n == 0) {
		trc_arena_reset(b->arena);
		return;
	}
	if (stopping || r->fatal != 0) {
		s_refuse(svc, b, "this replica is stopping; retry with the same key");
		return;
	}
	if (r->state != RAFT_LEADER) {
		s_refuse(svc, b,
			 "not the leader of this daemon's cluster (an election, or a route to a "
			 "follower); retry with the same key");
		return;
	}
	if (r->proposed != NULL || svc_backup_paused(svc))
		return; /* one entry in flight at a time: the writes wait in the batch */
	s_propose(r, b);
}

bool svc_raft_leads(const trc_service_t *svc)
{
	return svc->raft == NULL || svc->raft->state == RAFT_LEADER;
}

int svc_raft_failed(const trc_service_t *svc)
{
	return svc->raft != NULL ? svc->raft->fatal : 0;
}

/* ---- life cycle ---------------------------------------------------------------------- */

/* Whether dir holds nothing: a raft that never started here. */
static bool s_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return true;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* The first start of the cluster's first members: raft's configuration
 * from [cluster] members, on each of them alike (raft_bootstrap refuses
 * where there is state already, which is not an error). */
static int s_bootstrap(struct svc_raft *r)
{
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->members.n; i++)
		rc = raft_configuration_add(&conf, r->members.m[i].id, r->members.m[i].address,
					    RAFT_VOTER);
	if (rc == 0)
		rc = raft_bootstrap(&r->raft, &conf);
	raft_configuration_close(&conf);
	return rc == RAFT_CANTBOOTSTRAP ? 0 : rc;
}

static void s_tune(struct svc_raft *r, const trc_config_t *cfg)
{
	raft_set_election_timeout(&r->raft, cfg->cluster_election_ms);
	raft_set_heartbeat_timeout(&r->raft, cfg->cluster_heartbeat_ms);
	raft_set_pre_vote(&r->raft, cfg->cluster_pre_vote != 0);
	raft_set_snapshot_threshold(&r->raft, cfg->cluster_snapshot_threshold);
	raft_set_snapshot_trailing(&r->raft, cfg->cluster_snapshot_trailing);
	/* A leader that sent a snapshot sends that replica nothing else until
	 * it answers or this runs out (libraft: 30 s). Ours is 16 bytes, but
	 * a replica may drop it unanswered (busy with a snapshot of its own,
	 * or stopping to fetch a store: svc_fetch.c), and the group would then
	 * wait the 30 s without a majority if it needs that one. */
	raft_set_install_snapshot_timeout(&r->raft, cfg->cluster_election_ms);
}

/* Raft's transport: with [security] service_curve, over CurveZMQ with the
 * daemon's service key, letting in only role = service keys
 * (raft_curve.h); else C-Raft's plain TCP (loopback, or plain_ok). */
static int s_transport(struct svc_raft *r)
{
	trc_service_t *svc = r->svc;
	if (!svc->cfg.service_curve) {
		r->curve = false;
		return raft_uv_tcp_init(&r->transport, &r->loop) == 0 ? 0 : TRC_EIO;
	}
	char err[512];
	trc_raft_curve_options_t o = { .keys_dir = svc->cfg.keys_dir,
				       .public_key = svc->curve_pub,
				       .secret_key = svc->curve_sec };
	if (trc_raft_curve_init(&r->transport, &r->loop, &o, err, sizeof(err)) != 0) {
		trc_err("raft: %s", err);
		return TRC_ECONFIG;
	}
	r->curve = true;
	/* a key per host: the role = service key of keys_dir named after the
	 * member, where there is one (else the daemons' shared pair) */
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->members.n; i++)
		rc = trc_raft_curve_peer_name(&r->transport, r->members.m[i].id,
					      r->members.m[i].name);
	if (rc != 0)
		trc_raft_curve_close(&r->transport); /* not up: s_start returns */
	return rc;
}

/* What s_start set up, in its order (svc_raft_close undoes as much). */
enum { S_UP_NONE, S_UP_LOOP, S_UP_TRANSPORT, S_UP_IO, S_UP_RAFT };

/* The node on its loop: raft's directory, transport, I/O, state machine. */
static int s_start(struct svc_raft *r, bool fresh)
{
	const trc_member_t *me = &r->members.m[r->members.self];
	int rc = uv_loop_init(&r->loop);
	if (rc != 0)
		return TRC_ENOMEM;
	r->up = S_UP_LOOP;
	rc = s_transport(r);
	if (rc != 0)
		return rc;
	r->up = S_UP_TRANSPORT;
	rc = raft_uv_init(&r->io, &r->loop, r->dir, &r->transport);
	if (rc == 0)
		r->up = S_UP_IO;
	r->fsm = (struct raft_fsm){ .version = 1, .data = r, .apply = s_apply,
				    .snapshot = s_snapshot, .restore = s_restore };
	if (rc == 0)
		rc = raft_init(&r->raft, &r->io, &r->fsm, me->id, me->address);
	if (rc != 0) {
		trc_err("raft: cannot set up %s: %s (%s)", r->dir, raft_strerror(rc),
			r->up == S_UP_IO ? raft_errmsg(&r->raft) : "its I/O");
		return TRC_EIO;
	}
	r->up = S_UP_RAFT;
	s_tune(r, &r->svc->cfg);
	if (fresh)
		rc = s_bootstrap(r);
	if (rc == 0)
		rc = raft_start(&r->raft);
	if (rc != 0) {
		trc_err("raft: cannot start: %s (%s)", raft_strerror(rc), raft_errmsg(&r->raft));
		return r->fatal != 0 ? r->fatal : TRC_EIO;
	}
	trc_info("raft: node %s (id %u) at %s, %zu members, raft over %s, %s", me->name, me->id,
		 me->address, r->members.n, r->curve ? "CurveZMQ" : "plain TCP",
		 fresh		       ? "bootstrapped"
		 : r->svc->cfg.cluster_join ? "joining (cluster add)"
					    : "from its log");
	return 0;
}

/* The raft node's series, beside the daemon's (docs/operations.md). */
static void s_metrics(struct svc_raft *r, trc_metrics_t *m)
{
	if (m == NULL)
		return;
	r->m_term = trc_metrics_gauge(m, "traction_raft_term", "The raft term this replica is in",
				      "");
	r->m_leader = trc_metrics_gauge(m, "traction_raft_leader",
					"1 while this replica leads its daemon's raft group", "");
	r->m_changes = trc_metrics_counter(m, "traction_raft_leader_changes_total",
					   "Times this replica saw the leader change (or go)", "");
	r->m_entries = trc_metrics_counter(m, "traction_raft_entries_proposed_total",
					   "Entries this replica proposed as leader (a batch each)",
					   "");
	r->m_bytes = trc_metrics_counter(m, "traction_raft_entry_bytes_proposed_total",
					 "Bytes of the entries this replica proposed as leader", "");
	r->m_commit = trc_metrics_gauge(m, "traction_raft_commit_index",
					"The last entry this replica knows committed", "");
	r->m_applied = trc_metrics_gauge(m, "traction_raft_applied_index",
					 "The last entry applied to this replica's store", "");
}

int svc_raft_open(trc_service_t *svc)
{
	if (!trc_cluster_on(&svc->cfg))
		return 0;
	const char *refused = trc_cluster_refused();
	if (refused != NULL) {
		trc_err("[cluster] node is set, but %s", refused);
		return TRC_ECONFIG;
	}
	struct svc_raft *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return TRC_ENOMEM;
	r->svc = svc;
	r->state = -1;
	s_metrics(r, svc->metrics.m);
	char err[512];
	if (trc_cluster_members(&svc->cfg, svc->def->metrics_offset, &r->members, err,
				sizeof(err)) != 0) {
		trc_err("%s", err);
		free(r);
		return TRC_ECONFIG;
	}
	snprintf(r->dir, sizeof(r->dir), "%s/raft", svc->state_path);
	if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
		trc_err("raft: cannot make %s: %s", r->dir, strerror(errno));
		free(r);
		return TRC_EIO;
	}
	uint64_t applied = 0;
	int rc = svc_applied_read(svc, &applied);
	/* Raft's log on a majority makes a write durable: the store's commits
	 * need not sync LMDB's meta page too (a power cut may undo the last
	 * one; raft applies it again from meta.raft_applied). Snapshots sync
	 * the store before the log behind them goes (s_snapshot). */
	if (rc == 0)
		rc = trc_store_log_backed(svc->store);
	svc->raft = r; /* the state machine's callbacks need it from raft_start on */
	if (rc == 0)
		rc = s_start(r, s_empty_dir(r->dir) && applied == 0 && !svc->cfg.cluster_join);
	if (rc == 0) {
		trc_hosted_t h;
		trc_hosted_uv(&h, &r->loop);
		rc = trc_hosts_add(&svc->hosts, &h);
	}
	return rc;
}

static void s_closed(struct raft *raft)
{
	struct svc_raft *r = (struct svc_raft *)((char *)raft - offsetof(struct svc_raft, raft));
	r->closed = true;
}

void svc_raft_close(trc_service_t *svc)
{
	struct svc_raft *r = svc->raft;
	if (r == NULL)
		return;
	svc_apply_drain(r); /* the entries applied so far, into the store */
	/* only what was set up (a raft_init that failed has freed its own,
	 * but leaves raft.io set: raft_close then would free it twice) */
	if (r->up >= S_UP_RAFT) {
		/* a proposal in flight hears RAFT_SHUTDOWN: its writes UNAVAILABLE */
		raft_close(&r->raft, s_closed);
		while (!r->closed)
			uv_run(&r->loop, UV_RUN_ONCE);
	}
	if (r->up >= S_UP_IO)
		raft_uv_close(&r->io);
	if (r->up >= S_UP_TRANSPORT && r->curve)
		trc_raft_curve_close(&r->transport);
	else if (r->up >= S_UP_TRANSPORT)
		raft_uv_tcp_close(&r->transport);
	if (r->up >= S_UP_LOOP) {
		uv_run(&r->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&r->loop);
	}
	free(r);
	svc->raft = NULL;
}

#else /* no libraft or no libuv: a single host only */

void svc_raft_drain(trc_service_t *svc)
{
	(void)svc;
}

Traction__V1__ErrorDetail **svc_raft_lost(void)
{
	return NULL;
}

void svc_raft_settled(trc_service_t *svc, batch_t *b)
{
	(void)svc;
	(void)b;
}

svc_lin_t svc_raft_read(trc_service_t *svc, uint64_t *barrier, const char **why)
{
	(void)svc;
	(void)barrier;
	(void)why;
	return SVC_LIN_GO;
}

int svc_raft_open(trc_service_t *svc)
{
	if (!trc_cluster_on(&svc->cfg))
		return 0;
	trc_err("[cluster] node is set, but %s", trc_cluster_refused());
	return TRC_ECONFIG;
}

void svc_raft_close(trc_service_t *svc)
{
	(void)svc;
}

void svc_raft_turn_end(trc_service_t *svc, bool stopping)
{
	(void)svc;
	(void)stopping;
}

bool svc_raft_leads(const trc_service_t *svc)
{
	(void)svc;
	return true;
}

int svc_raft_failed(const trc_service_t *svc)
{
	(void)svc;
	return 0;
}

#endif
