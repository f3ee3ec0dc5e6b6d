/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service runtime's insides, shared by its files and by nothing else
 * (daemons see service.h only). The runtime is layered; each file calls
 * only those below it:
 *
 *   service.c       the loop, its timers, the broker connection, life cycle
 *   svc_raft.c      cluster mode: the raft node, proposals, apply, snapshots
 *   svc_members.c   cluster mode: cluster.status and membership changes
 *   svc_fetch.c     cluster mode: a store behind the snapshot, fetched at start
 *   svc_tick.c      when the daemon's tick is queued (its interval, the
 *                   trim's, the daemon's tick_fd)
 *   svc_writer.c    the batch: apply, group commit, settle, replies, writer
 *   svc_dispatch.c  a request: decode, method, role, Header.after, parking
 *   svc_park.c      a request whose handler asked to catch up, parked again
 *   svc_consume.c   other sources' events: positions, replay, queueing
 *   svc_builtin.c   the methods every daemon answers: ping, events.*,
 *                   backup.*, audit.list
 *   svc_backup.c    online backup: the writer's pause, the cut, the copy
 *   svc_def.c       the definition checked before anything opens
 *   svc_entry.c     a batch as an entry, an entry applied as a batch
 *   svc_audit.c     the audit log: trc_call_audit, audit.list
 *   svc_frames.c    what goes out: replies, control frames, events; the
 *                   work list every layer queues to
 *
 * Functions shared between the files are svc_*: trc is a static library and
 * libtraction exports only traction_* (its version script), so they leave
 * no binary's interface.
 */
#ifndef TRC_SERVICE_INT_H
#define TRC_SERVICE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "arena.h"
#include "evlog.h"
#include "hosted.h"
#include "keys.h"
#include "metrics.h"
#include "service.h"
#include "util.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"

/* A source we consume, and where we are in it. The writer sets wpos and
 * wgap while it has a batch; the loop reads them once it is done, and
 * owns the rest (changing `applied` only while the writer is idle). */
typedef struct {
	const char *source;
	const char *const *topics; /* its topic prefixes, from the definition */
	uint64_t applied;        /* committed in our store */
	uint64_t queued;         /* applied + what is queued to apply */
	uint64_t wpos;           /* writer: the last seq applied in its batch */
	bool wgap;               /* writer: its batch skipped an event it needs */
	uint64_t replay_id;      /* request id of the replay in flight, 0: none */
	int64_t replay_sent;
	int64_t next_poll;
	/* The source's deferred events applied: every write it committed at
	 * or before `covered` is reflected here (Event.covers); wcovered is
	 * the writer's, as wpos. */
	uint64_t covered;
	uint64_t wcovered;
	/* Read-your-writes across daemons: the position queries (the
	 * source's ping) asked on behalf of waiting requests, one in flight
	 * at a time. A request needs the answer to a query sent after it
	 * came: the one in flight, if none was; else the next, sent when the
	 * one in flight is answered (ask_again), for all that came meanwhile. */
	uint64_t ask_id;         /* request id of the query in flight, 0: none */
	int64_t ask_sent;
	uint64_t asked;          /* queries sent */
	uint64_t answered;       /* the last query answered, or given up on */
	bool ask_again;
	bool heard;              /* the last answered one came from the source */
	uint64_t head;           /* then: its committed head */
	bool owed;               /* and whether it still owed events for it */
} consumer_t;

/* Our connection to one broker. */
typedef struct {
	void *dealer;
	void *mon;               /* PAIR: the dealer's monitor (handshakes done) */
	char endpoint[TRC_CONFIG_STR];
	int64_t last_heard;      /* monotonic ms: its last word */
} broker_link_t;

/* Sources a daemon may consume at most (a request's catch-up is a mask). */
#define TRC_SOURCES_MAX 16

typedef enum { WORK_REQUEST, WORK_EVENT, WORK_TICK } work_kind_t;

typedef struct {
	work_kind_t kind;
	/* request */
	const trc_method_t *method;
	const void *route;       /* the Route frame to echo, in the arena */
	size_t route_len;
	unsigned broker;         /* the one it came through: its reply goes back there */
	Traction__V1__Route *rt;
	uint32_t version;        /* the request's, and so its reply's */
	uint64_t request_id;
	ProtobufCMessage *req;
	const uint8_t *body;     /* the request's bytes, in the arena */
	size_t body_len;
	ProtobufCMessage *rep;
	/* a write's reply, packed before its commit (svc_writer.c): once the
	 * write is committed its reply needs no memory to go out; or a read's
	 * as its handler kept it packed (trc_call_reply_packed) */
	const uint8_t *packed;
	size_t packed_len;
	Traction__V1__Header *h; /* decoded, in the arena: to park it again */
	int64_t arrived;         /* monotonic ms, for its deadline */
	int64_t arrived_us;      /* monotonic us, for its latency (svc_metrics.c) */
	bool may_wait;           /* its handler may ask to catch up */
	bool rerun;              /* it asked to: park it, run it again later */
	uint32_t catch_up;       /* with these sources (bit i: cons[i]) */
	int code;
	const char *message;
	Traction__V1__ErrorDetail **details;
	size_t n_details;
	/* event */
	consumer_t *cons;
	Traction__V1__Event *ev;
	bool compacted;          /* after a gap the source compacted away */
} work_t;

typedef struct {
	work_t *v;
	size_t n, cap;
} worklist_t;

/* What the loop collects for one group commit: the writes and events, and
 * the arena all of it, and its replies, live in (reads answered meanwhile
 * borrow it and give it back at once: svc_dispatch.c). */
typedef struct {
	trc_arena_t *arena;
	ProtobufCAllocator al;
	worklist_t writes;
	size_t bytes;            /* of the writes' requests */
	bool ticked;             /* holds the daemon's tick (one is enough) */
	int64_t now_ms;
	int rc;                  /* the group commit's outcome */
	int64_t apply_us, commit_us; /* how long its apply and LMDB's commit took */
	uint64_t head;           /* our event log's head once it committed */
	bool trim_more;          /* its tick's trim stopped at its bound */
	size_t trimmed;          /* events its tick's trim deleted */
	/* The entry it is (docs/architecture.md, "Entries"): its commit
	 * writes meta.raft_applied = index. 0: none (a single host). */
	uint64_t index;
	/* In cluster mode (svc_raft.c): held from its proposal until its
	 * replies went out, which wait for both raft's commit on a majority
	 * and the writer's here. */
	bool raft_held, committed, settled;
	bool replica;            /* a follower's entry: nobody to answer */
} batch_t;

/* The batches a service has: two take turns on a single host; in cluster
 * mode the loop's, the proposals in flight, and the entries raft applied
 * that wait for the writer or are its (svc_apply.c). */
#define TRC_BATCHES 6

/* One source a request catches up with: the position query whose answer
 * it needs, and then that answer, which it is held to (a later answer
 * would move the goal on while the source keeps writing). */
typedef struct {
	uint64_t need;           /* 0: none asked (the source is not one of its) */
	uint64_t head;           /* answered: the source's committed head */
	bool answered;
	bool heard;              /* answered by the source (else: serve as is) */
	bool owed;               /* it still owed events for head */
} wait_src_t;

/* What a request waits for, carried from one dispatch of it to the next
 * while it is parked: when it came, its deadline while parked, and the
 * sources it catches up with (read-your-writes across daemons). */
typedef struct {
	unsigned broker;         /* it came through (svc->brokers[broker]) */
	int64_t arrived;         /* monotonic ms */
	int64_t arrived_us;      /* the same in us, for its latency */
	int64_t deadline;        /* while parked */
	bool rerun;              /* its handler asked to catch up: run it again,
				  * without may_wait */
	uint32_t sources;        /* the handler's sources (bit i: cons[i]) */
	wait_src_t src[TRC_SOURCES_MAX];
	uint64_t barrier;        /* cluster mode: the barrier a read waits for (svc_raft.c) */
} wait_t;

/* A request that waits to be served (Header.after not yet applied, an
 * events.read long poll with nothing new, another daemon's position to
 * catch up with): its frames, copied, handled again when what it waits
 * for may be there, or at its deadline. */
typedef struct parked {
	struct parked *next;
	wait_t wait;
	zmq_msg_t part[3];       /* Route, Header, body */
} parked_t;

/* A method that catches up with sources before it runs (the definition's
 * catch_up, resolved at start). */
typedef struct {
	const trc_method_t *method;
	uint32_t sources;        /* bit i: cons[i] */
} catch_up_method_t;

/* A write read past a full batch (svc_lane.c): its frames as they came. */
typedef struct held {
	struct held *next;
	trc_msg_t m;
	size_t bytes;
} held_t;

/* The series of a service daemon's metrics (svc_metrics.c). */
typedef struct {
	const trc_method_t *mt;  /* NULL: a free slot */
	int code;
	trc_series_t *count;
	trc_series_t *latency;   /* in the code 0 slot of a method */
} req_series_t;

typedef struct {
	trc_series_t *applied, *lag, *replays;
} cons_series_t;

typedef struct {
	trc_metrics_t *m;        /* NULL: no metrics ([metrics] base_port 0) */
	trc_series_t *apply, *commit, *batch, *failed, *queued, *held, *parked, *busy,
		*refused, *head, *trimmed;
	cons_series_t *cons;     /* by consumer */
	void *dbs;               /* what each database's series reads */
	req_series_t *req;       /* by (method, code): open addressing */
	size_t nreq, capreq;
} svc_metrics_t;

/* Requests that may wait at once; past it they are answered at once. */
#define TRC_PARKED_MAX 1024

struct trc_service {
	const trc_daemon_def_t *def;
	trc_config_t cfg;
	trc_store_t *store;
	trc_evlog_t *evlog;
	trc_evlog_retention_t evret; /* [events] keep_days, keep_max, trim_per_tick */
	uint64_t trim_head;      /* the head when the last trim was queued */
	bool trim_more;          /* the last trim left work for the next */
	int64_t trim_last;       /* when it was queued (mono ms) */
	/* Two batches take turns: the loop fills one while the writer thread
	 * applies and commits the other (docs/architecture.md); cluster mode
	 * has more in flight (svc_raft.c). */
	batch_t batches[TRC_BATCHES];
	struct svc_raft *raft;   /* cluster mode's raft node; NULL: a single host */
	batch_t *fill;           /* the loop's */
	batch_t *run;            /* the writer's, NULL while it is idle */
	batch_t entry;           /* an entry being applied (svc_entry.c) */
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t mu;      /* guards todo and quit */
	pthread_cond_t cv;
	batch_t *todo;           /* handed to the writer */
	batch_t *done;           /* the writer finished it (atomic access) */
	bool quit;
	int64_t run_since;       /* when the writer got its batch (mono ms) */
	bool loaded;             /* the writer has just finished a full batch */
	int done_fd;             /* eventfd: the writer finished a batch */
	int tick_fd;             /* the daemon's eventfd: a tick now (or -1) */
	trc_hosts_t hosts;       /* other libraries' loops in ours (trc_service_host) */
	/* entries (svc_entry.c): who is handed each batch as one, the last
	 * index given, and the digest of the apply-affecting configuration */
	trc_entry_fn on_entry;
	void *on_entry_ud;
	uint64_t entry_index;
	uint64_t config_digest;
	bool tick_asked;         /* it was written: a tick in the next batch */
	pthread_mutex_t ahead_mu; /* one trc_store_write_ahead at a time */
	void *zctx;
	/* Every broker of the set ([bus] service_endpoint lists one each): we
	 * register with each, answer a request through the one it came by,
	 * and send our own requests through the one we last heard from. */
	broker_link_t brokers[TRC_BROKERS_MAX];
	size_t nbrokers;
	unsigned out;            /* our own requests' broker */
	void *pub;
	void *sub;
	/* with service_curve: our key pair and the broker's public key */
	char curve_pub[TRC_Z85_KEY + 1];
	char curve_sec[TRC_Z85_KEY + 1];
	char server_pub[TRC_Z85_KEY + 1];
	int64_t started_mono;
	int64_t next_heartbeat;
	int64_t next_tick;
	uint64_t next_request_id;
	consumer_t *cons;
	size_t ncons;
	/* where we stand, for reply headers: room for our own head and every
	 * source, made once, so that a reply needs no memory of its turn */
	Traction__V1__EventPosition *hpos;
	Traction__V1__EventPosition **hposv;
	catch_up_method_t *catch_up;
	size_t n_catch_up;
	uint64_t head;           /* our event log's committed head */
	parked_t *parked;
	size_t nparked;
	/* writes set aside while the batch is full, oldest first (svc_lane.c) */
	held_t *held, *held_tail;
	size_t nheld, held_bytes;
	bool stopping;           /* the last turn: no request may park any more */
	/* news for parked requests (a commit settled, a source's position
	 * answered); of them, what they have seen */
	uint64_t gen, gen_seen;
	trc_txn_t rtxn;          /* this turn's read transaction, if open */
	bool rtxn_open;
	uint64_t dropped;
	svc_metrics_t metrics;
	struct svc_backup *backup; /* svc_backup.c's: the backup under way */
	char state_path[TRC_CONFIG_PATH + 64];
	/* what we are in our raft group, as READY and HEARTBEAT say
	 * (trc_service_set_replica; SINGLE 0 and term 0 without a cluster) */
	int replica_role;
	uint64_t replica_term;
};

/* ---- svc_def.c: the definition --------------------------------------- */

/* Checks def before anything opens: TRC_ECONFIG (logged) if it must not
 * serve. */
int svc_def_check(const trc_daemon_def_t *def);
/* svc->catch_up from the definition's, resolved. */
int svc_catch_up_open(trc_service_t *svc);

/* ---- svc_frames.c: what goes out, and the work list -------------------- */

/* A reply as the runtime sends it. */
typedef struct {
	uint32_t version;
	uint64_t request_id;
	int code;
	const char *message;
	Traction__V1__ErrorDetail **details; /* sent as the error's body */
	size_t n_details;
	const ProtobufCMessage *body;
	const uint8_t *packed;   /* or the body, packed already */
	size_t packed_len;
	bool committed;          /* a write that committed: say where */
} reply_t;

/* The longest status message a reply carries, escaped (and the most
 * libtraction's traction_status_t keeps): a reply's header then always
 * fits in TRC_HEADER_MAX, which clients hold headers to. */
#define TRC_REPLY_MESSAGE_MAX 512

void svc_send_header(trc_service_t *svc, unsigned broker, Traction__V1__Header *h,
		     const void *route, size_t route_len, const ProtobufCMessage *body);
void svc_send_control(trc_service_t *svc, unsigned broker, Traction__V1__FrameKind kind,
		      const char *service);
int svc_positions_new(trc_service_t *svc);
Traction__V1__EventPosition **svc_positions(trc_service_t *svc, bool own, size_t *n);
void svc_reply_full(trc_service_t *svc, unsigned broker, const void *route, size_t route_len,
		    const reply_t *r);
void svc_reply(trc_service_t *svc, unsigned broker, const void *route, size_t route_len,
	       uint32_t version, uint64_t request_id, int code, const char *message,
	       const ProtobufCMessage *body);
void svc_reply_work(trc_service_t *svc, const work_t *w);
void svc_publish(void *ud, const char *topic, const void *data, size_t len);
int svc_work_push(worklist_t *l, work_t **w);

/* ---- svc_builtin.c: ping, events.replay, events.read -------------------- */

int svc_builtin_check(char *why, size_t len);
const trc_method_t *svc_builtin_find(const char *method, bool has_events);
bool svc_builtin_has(const trc_method_t *m);
bool svc_builtin_long_poll(const trc_method_t *m);

/* ---- svc_backup.c: online backup (docs/operations.md) ------------------- */

/* Its state, and a copy a crash left behind removed. */
int svc_backup_open(trc_service_t *svc);
/* Stops a copy under way and removes it (at shutdown). */
void svc_backup_close(trc_service_t *svc);
/* Whether a backup's cut holds the writer: no batch starts meanwhile. A
 * lease that ran out lets it go (logged). */
bool svc_backup_paused(trc_service_t *svc);
/* The lease's end and the copy's idle end, for the loop's timeout. */
int64_t svc_backup_next(const trc_service_t *svc, int64_t next);
/* A copy unread for its idle time, or ended while it was being written,
 * removed once its thread is done. */
void svc_backup_timers(trc_service_t *svc, int64_t now);
/* The handlers of backup.begin, .resume, .read, .end (call->user: svc). */
int svc_backup_begin(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_backup_resume(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_backup_read(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_backup_end(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* ---- svc_members.c: the cluster.* built-ins (call->user: svc) ----------- */

int svc_cluster_status(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_cluster_add(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_cluster_remove(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int svc_cluster_transfer(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* ---- svc_audit.c: the audit log (trc_call_audit in call.h) --------------- */

/* audit.list: the entries, newest first, filtered (admin). */
int svc_audit_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

/* ---- svc_consume.c: the sources we consume ------------------------------ */

int svc_consumers_open(trc_service_t *svc);
int svc_consumers_subscribe(trc_service_t *svc);
consumer_t *svc_consumer(trc_service_t *svc, const char *source);
void svc_consumers_forget_replays(trc_service_t *svc, bool poll_now);
void svc_consumers_poll(trc_service_t *svc, int64_t now);
int64_t svc_consumers_next(const trc_service_t *svc, int64_t next);
void svc_handle_event(trc_service_t *svc, trc_msg_t *m);
void svc_handle_reply(trc_service_t *svc, trc_msg_t *m);

/* Catching up with a source (read-your-writes across daemons): the
 * number of the position query whose answer a request arriving now
 * needs (asking now if none is in flight); and, once w has its answer
 * (taken from the consumer when it comes), where we stand against it. */
typedef enum {
	SVC_CAUGHT_UP,           /* applied what the source had (or it did not answer) */
	SVC_ASKING,              /* the answer has not come yet */
	SVC_BEHIND,              /* answered; not applied here yet */
} svc_catch_up_t;
uint64_t svc_catch_up_ask(trc_service_t *svc, consumer_t *c);
svc_catch_up_t svc_catch_up_state(const consumer_t *c, wait_src_t *w);

/* ---- svc_dispatch.c: requests ------------------------------------------- */

void svc_call_init(trc_service_t *svc, batch_t *b, trc_call_t *call, trc_txn_t *txn,
		   const Traction__V1__Route *rt);
const char *svc_status_message(trc_service_t *svc, trc_arena_t *arena, int err,
			       const trc_call_t *call);
int svc_sticky(const trc_arena_t *arena, size_t failures, int rc, trc_call_t *call);
void svc_handle_request(trc_service_t *svc, trc_msg_t *m);
void svc_read(trc_service_t *svc, work_t *w);
bool svc_call_caught(trc_service_t *svc, const trc_call_t *call, int rc, work_t *w);
void svc_park_work(trc_service_t *svc, work_t *w);
/* How long a request with header h may wait here (parked). */
int64_t svc_wait_budget(const trc_service_t *svc, const Traction__V1__Header *h);
/* Keeps a request's frames (copied) to handle again with what it waits
 * for (ws), until deadline: 0, TRC_EBUSY (too many wait), TRC_ENOMEM. */
int svc_park(trc_service_t *svc, zmq_msg_t part[3], const wait_t *ws, int64_t deadline);
void svc_reads_close(trc_service_t *svc);
void svc_unpark(trc_service_t *svc, bool progress, bool all_expired);
int64_t svc_parked_next(const trc_service_t *svc);
void svc_parked_free(trc_service_t *svc);

/* The daemon's method (or built-in) of service by name, or NULL. */
const trc_method_t *svc_method_find(trc_service_t *svc, const char *service, const char *method);

/* Whether method of service is one of the daemon's writes. */
bool svc_method_writes(trc_service_t *svc, const char *service, const char *method);

/* ---- svc_lane.c: reads past a full batch -------------------------------- */

/* Room to set more writes aside. */
bool svc_lane_open(const trc_service_t *svc);
/* Whether m is a request for one of our writes (its header looked at). */
bool svc_lane_writes(trc_service_t *svc, trc_msg_t *m);
/* Sets m aside (its frames moved out) if it is a write: true; else false
 * (not a write, or no memory), and the caller dispatches it now. */
bool svc_lane_hold(trc_service_t *svc, trc_msg_t *m);
bool svc_lane_pending(const trc_service_t *svc);
/* Dispatches what was set aside, oldest first, while room(svc) says the
 * batch has room (all: every one, when stopping). */
void svc_lane_release(trc_service_t *svc, bool (*room)(const trc_service_t *), bool all);
void svc_lane_free(trc_service_t *svc);

/* ---- svc_metrics.c: the daemon's metrics (a leaf) ----------------------- */

int64_t svc_now_us(void);
int svc_metrics_open(trc_service_t *svc);
void svc_metrics_close(trc_service_t *svc);
void svc_metrics_request(trc_service_t *svc, const work_t *w);
void svc_metrics_unrouted(trc_service_t *svc);
void svc_metrics_batch(trc_service_t *svc, const batch_t *b);
void svc_metrics_turn(trc_service_t *svc);
void svc_metrics_replay(trc_service_t *svc, const consumer_t *c);
void svc_metrics_trimmed(trc_service_t *svc, size_t n);

/* ---- svc_tick.c: when a tick is queued ----------------------------------- */

/* The daemon's tick_fd was written: a tick goes into the next batch. */
void svc_tick_asked(trc_service_t *svc);
/* A tick into the loop's batch if one is due (one a batch). */
void svc_tick_timer(trc_service_t *svc, int64_t now);
/* The earlier of next and when a tick is due. */
int64_t svc_tick_next(const trc_service_t *svc, int64_t now, int64_t next);

/* ---- svc_writer.c: the batch and the writer thread ---------------------- */

int svc_writer_start(trc_service_t *svc);
void svc_writer_stop(trc_service_t *svc);
bool svc_writer_finished(trc_service_t *svc);
void svc_writer_done(trc_service_t *svc, bool wait, bool stopping);
void svc_turn_end(trc_service_t *svc, bool stopping);
/* An entry's batch (b->index set) committed here once the writer is idle,
 * settled, answered to nobody: its outcome. */
int svc_writer_apply(trc_service_t *svc, batch_t *b);
/* Batch b to the idle writer (cluster mode: an entry raft applies). */
void svc_writer_hand(trc_service_t *svc, batch_t *b);
/* Batch b's replies (or parked reruns) sent, and b empty again. */
void svc_writer_replies(trc_service_t *svc, batch_t *b);
/* Batch b empty again, its arena reset. */
void svc_writer_reset(batch_t *b);

/* ---- svc_raft.c: cluster mode (calls the writer, entries, frames) -------- */

/* The raft node when [cluster] node is set (TRC_ECONFIG if this build
 * refuses cluster mode, or [cluster] is wrong); nothing otherwise. */
int svc_raft_open(trc_service_t *svc);
/* Stops it: a proposal in flight answers UNAVAILABLE. */
void svc_raft_close(trc_service_t *svc);
/* svc_turn_end in cluster mode: the leader proposes the loop's batch; a
 * follower refuses its writes. */
void svc_raft_turn_end(trc_service_t *svc, bool stopping);
/* Whether this replica leads (always, on a single host): only the leader
 * ticks, consumes and publishes. */
bool svc_raft_leads(const trc_service_t *svc);
/* The writer committed an entry's batch (svc_apply.c): a leader's replies
 * go once raft has committed it too; a batch that failed here stops the
 * replica; the next entry waiting goes to the writer. */
void svc_raft_settled(trc_service_t *svc, batch_t *b);
/* ---- svc_fetch.c: a replica behind its group's snapshot ------------------- */

/* The marker that the store in state_path must be fetched (it holds less
 * than raft's snapshot, up to want): written and synced. */
int svc_fetch_mark(const char *state_path, uint64_t want);
/* At start, before the store opens: with the marker, another replica's
 * store (the leader's, if one leads) fetched over the bus and put in
 * place (0), or why not. */
int svc_fetch_if_needed(const trc_daemon_def_t *def, const trc_config_t *cfg);

/* Whether the marker is there (the replica stopped to fetch its store). */
bool svc_fetch_marked(const trc_daemon_def_t *def, const trc_config_t *cfg);

/* Every entry raft applied so far committed here and its replies sent
 * (svc_apply.c; nothing on a single host): before the loop stops, while
 * a write that asks to catch up can still be parked and answered. */
void svc_raft_drain(trc_service_t *svc);
/* Non-zero once an entry could not be applied here: the replica stops. */
int svc_raft_failed(const trc_service_t *svc);
/* Where a linearizable read stands: *barrier (0 when it came) is the
 * barrier it waits for, given at its first look. */
typedef enum {
	SVC_LIN_GO,              /* it may be answered now */
	SVC_LIN_WAIT,            /* its barrier is not applied yet */
	SVC_LIN_REFUSE,          /* not here (a follower, the leadership lost): *why */
} svc_lin_t;
svc_lin_t svc_raft_read(trc_service_t *svc, uint64_t *barrier, const char **why);
/* The detail of a refusal for want of the leader (leadership_changed):
 * libtraction and the Python client send such a request again. */
Traction__V1__ErrorDetail **svc_raft_lost(void);

/* ---- svc_entry.c: entries (calls dispatch, consumers, writer) ------------ */

/* meta.raft_applied: the last entry the store holds (0: none). */
int svc_applied_get(trc_txn_t *txn, uint64_t *index);
/* The same, in a read transaction of its own. */
int svc_applied_read(trc_service_t *svc, uint64_t *index);
int svc_applied_put(trc_txn_t *txn, uint64_t index);
/* Batch b, before it commits, numbered (b->index) and handed to
 * svc->on_entry encoded as an entry. */
void svc_entry_emit(trc_service_t *svc, batch_t *b);
/* Batch b as an entry, into a buffer of alloc's (*buf, *len). */
int svc_entry_pack(trc_service_t *svc, batch_t *b, void *(*alloc)(size_t), uint8_t **buf,
		   size_t *len);
/* Entry index (buf, len) decoded into batch b (empty) as the writer will
 * apply it, everything in b's arena; TRC_EPROTO or TRC_ECONFIG (logged)
 * for one that is not ours to apply. */
int svc_entry_batch(trc_service_t *svc, batch_t *b, uint64_t index, const uint8_t *buf,
		    size_t len);

#endif
