/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime of a service daemon: its LMDB store, its connection to the
 * broker (registration, heartbeats both ways, reconnection), dispatch of
 * requests to handlers by method name, group commit, the event log
 * published after each commit, and consumption of other daemons' events
 * with replay on start and on a gap.
 *
 * Two threads (docs/architecture.md): the loop drains what has arrived,
 * answers reads from a read transaction and queues writes; the writer
 * applies a batch of writes in one write transaction (each in a nested
 * transaction of its own, so one failing request does not take the others
 * with it) and commits it durably while the loop reads the next; only then
 * does the loop send the writes' replies and publish events. Handlers and
 * hooks run on either thread but never at the same time: reads wait while
 * the writer works, so a daemon's state needs no locks.
 */
#ifndef TRC_SERVICE_H
#define TRC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "config.h"
#include "evlog.h"
#include "hosted.h"
#include "metrics.h"
#include "scope.h"
#include "store.h"
#include "traction/v1/events.pb-c.h"

#define TRC_METHOD_WRITE 0x1u    /* runs in the group-commit write transaction */
#define TRC_METHOD_ADMIN 0x2u    /* needs the admin role */
#define TRC_METHOD_PUBLISH 0x4u  /* the publisher role may call it */
/* The handler fails only before it writes anything, or with a store error
 * (which then fails the whole group commit): it runs without a nested
 * transaction of its own. LMDB's nested transactions each allocate a few
 * MiB of page lists, so the hottest write path avoids them. */
#define TRC_METHOD_FLAT 0x8u
/* Daemons' own (events.replay: unfiltered): service and admin roles only. */
#define TRC_METHOD_SERVICE 0x10u

typedef struct trc_method {
	const char *name;                          /* "supply.register" */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply;
	trc_handler_fn handler;
	unsigned flags;
	const char *summary;
} trc_method_t;

typedef struct {
	const char *name;            /* the service name clients address */
	const trc_method_t *methods;
	size_t n_methods;
	/* its service block in proto/ (NULL for a test's own service): the
	 * runtime refuses to start if the table and the block disagree */
	const ProtobufCServiceDescriptor *proto;
} trc_service_table_t;

/* A source a daemon consumes: its name (Event.source, and the service that
 * answers its events.replay) and the topic prefixes the source publishes
 * its events under, as the source declares them in its event_topics (a
 * consumer subscribes to all of them: it must see every sequence number
 * to notice a gap). */
typedef struct {
	const char *source;
	const char *const *topics;   /* NULL-terminated */
} trc_consume_t;

/* Read-your-writes across daemons: a method whose handler judges on the
 * data of other sources (consumed), and which. Before it runs, the
 * runtime asks each source for its committed position and waits, within
 * the request's deadline, until it has applied it here (and the events
 * the source still owed for it; docs/protocol.md, "Positions"). A handler
 * that needs a source only now and then (a name it does not know) asks
 * itself instead: trc_call_catch_up (call.h). */
typedef struct {
	const char *service;         /* "iteration" */
	const char *method;          /* "history" */
	const char *const *sources;  /* NULL-terminated: { "feedback", NULL } */
} trc_catch_up_t;

typedef struct {
	const char *daemon;          /* "supplyd": state_dir/supplyd, log name */
	const char *program;         /* "traction-supplyd" */
	const char *summary;         /* one line for --help */
	/* Its metrics listener's port: [metrics] base_port plus this, one
	 * offset a daemon of the set (docs/operations.md has the table). */
	unsigned metrics_offset;
	const char *event_source;    /* NULL, or the source name of its events */
	/* With event_source: the topic prefixes of its events, NULL-terminated
	 * (an event of another type is refused: no consumer would see it as
	 * it happens). Those who consume it declare the same. */
	const char *const *event_topics;
	/* With event_source: the keys of each event, the records whose whole
	 * state it carries (evlog.h), by which the log is compacted once its
	 * events are past [events] keep_days or keep_max. NULL: the log is
	 * never trimmed. */
	trc_evlog_keys_fn event_keys;
	const trc_service_table_t *services;
	size_t n_services;
	const trc_dbs_t *dbs;        /* its databases, declared once (store.h) */
	uint32_t schema_version;
	/* Upgrades a store of an older schema version (may be NULL: refused). */
	trc_migrate_fn migrate;
	const trc_consume_t *consumes; /* sources it applies, ended by { NULL } */
	const trc_catch_up_t *catch_up; /* may be NULL; else ended by { NULL } */
	/* Applies one event of another source, in a nested write transaction;
	 * the runtime advances the position. A negative return that is not a
	 * store error is logged and the event skipped. */
	int (*apply_event)(trc_call_t *call, const Traction__V1__Event *ev);
	/* Whether a scoped caller may see one of our events (events.read; may
	 * be NULL: our events concern no enterprise or provider, they are the
	 * public catalogue). Runs in a read transaction, call->user is ours. */
	bool (*event_visible)(trc_call_t *call, const Traction__V1__Event *ev);
	/* Called every tick_ms in the group-commit write transaction (may be
	 * NULL): deferred work such as coalesced events. */
	int (*tick)(trc_call_t *call);
	unsigned tick_ms;
	/* Whether the tick has work now (may be NULL: always), in a read
	 * transaction on the loop thread, call->user ours, call->now_ms the
	 * clock; it decides alone, so it must not say no to work owed. A tick
	 * without work is left out: in cluster mode each one is a raft entry
	 * every host writes (four a second, idle, at feedbackd's 250 ms). */
	bool (*tick_due)(trc_call_t *call);
	/* Whether writes already committed still owe events that a later tick
	 * sends (may be NULL: never), in a read transaction, call->user ours.
	 * The last event of the tick that pays them says so in Event.covers;
	 * ping tells whoever catches up with us (PingReply.events_owed). */
	bool (*events_owed)(trc_call_t *call);
	/* Asks for a tick now rather than at the next tick_ms (may be NULL):
	 * called once after open, it returns an eventfd of the daemon's (or
	 * -1: none), which the loop polls beside its own descriptors. Any
	 * thread of the daemon writes it when work waits for a tick (an HTTP
	 * transfer that finished, a row queued to be sent); the loop reads it
	 * and queues a tick for the next group commit at once, one a batch as
	 * always. The daemon closes it in close. */
	int (*tick_fd)(void *user);
	/* Group commit hooks (may be NULL): batch_end runs in the batch's
	 * write transaction after every request and event of the turn, before
	 * the commit (to write state a daemon accumulated over the batch);
	 * batch_done runs after the commit, whether it succeeded or not, and
	 * says which (committed: something of the batch is on disk; false:
	 * nothing of it is, the writes of every hook included). */
	int (*batch_end)(trc_call_t *call);
	void (*batch_done)(void *user, bool committed);
	/* Its own sections of the config file (NULL-terminated; may be NULL):
	 * checked by lib/config, their values read with trc_config_section
	 * from the configuration open gets. */
	const trc_conf_section_t *const *config;
	/* Called once the store is open (may be NULL): set up user state. */
	int (*open)(void *user, trc_store_t *store, const trc_config_t *cfg);
	/* Called once the metrics registry is made, after open and before
	 * its listener serves (may be NULL; not called without metrics): the
	 * daemon's own series. The registry goes before close is called:
	 * count on them only from hooks and handlers. */
	void (*metrics)(void *user, trc_metrics_t *m);
	/* Called once at shutdown, before the store closes (may be NULL). */
	void (*close)(void *user);
	void *user;
} trc_daemon_def_t;

typedef struct trc_service trc_service_t;

int trc_service_new(trc_service_t **svc_p, const trc_daemon_def_t *def,
		    const trc_config_t *cfg);
void trc_service_destroy(trc_service_t **svc_p);

/* Hosts another library's event loop in the service's loop (hosted.h;
 * libuv: hosted_uv.h): its fd polled beside the sockets, its timeout
 * folded into the wait, its turn taken on the loop thread before the
 * turn's drain. Before trc_service_run, or on the loop thread. TRC_EINVAL
 * without a run or past TRC_HOSTED_MAX. */
int trc_service_host(trc_service_t *svc, const trc_hosted_t *h);

/* ---- entries: deterministic apply (docs/architecture.md, "Entries") ---- */

/* Handed each batch as an entry: its index (meta.raft_applied once it
 * commits) and its bytes (proto/traction/v1/cluster.proto), valid during
 * the call. */
typedef void (*trc_entry_fn)(void *ud, uint64_t index, const uint8_t *buf, size_t len);

/* From now on every batch, before it commits, is numbered (the next index
 * after the store's meta.raft_applied) and handed to fn, on the loop
 * thread: what a leader proposes to its raft group. 0 or a store error. */
int trc_service_on_entry(trc_service_t *svc, trc_entry_fn fn, void *ud);

/* Applies entry index (buf, len bytes) to this store as a replica does:
 * the batch it holds, with the leader's clock, callers and events, in one
 * transaction that also writes meta.raft_applied = index; nobody is
 * answered. An index the store holds already is skipped (0). Refused: an
 * entry that does not decode, names a method or source this daemon does
 * not have (TRC_EPROTO), or was made with another apply-affecting
 * configuration (trc_config_digest: TRC_ECONFIG); a store error. Called
 * while the service's loop is not running, or on its thread. */
int trc_service_apply_entry(trc_service_t *svc, uint64_t index, const uint8_t *buf, size_t len);

/* ---- replicas: the broker routes by role (docs/architecture.md) ------- */

/* What this instance is in its daemon's raft group, a
 * Traction__V1__ReplicaRole (SINGLE, LEADER, FOLLOWER, CANDIDATE), and
 * the term it is that in. Recorded, sent at once to every broker linked
 * in a READY for each service (READY is idempotent there), and in every
 * HEARTBEAT from then on; the broker sends writes and linearizable reads
 * to the LEADER of the highest term only. Never called: SINGLE, term 0,
 * which the wire does not even carry (a first-wave service's frames).
 * On the loop thread, or before trc_service_run. TRC_EINVAL for a role
 * that is not one. */
int trc_service_set_replica(trc_service_t *svc, int role, uint64_t term);

/* Runs until SIGINT/SIGTERM arrives on sigfd (SIGHUP: reload log level). */
int trc_service_run(trc_service_t *svc, int sigfd, const char *config_path);

trc_store_t *trc_service_store(trc_service_t *svc);

/* The whole main() of a service daemon. */
int trc_service_main(int argc, char **argv, const trc_daemon_def_t *def);

#endif
