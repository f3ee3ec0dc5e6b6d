/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the broker's files share: the broker's state, and the replies it
 * makes itself. broker.c has the sockets, the loop and the broker's own
 * service; route.c requests from clients to services and replies back.
 * Not a public API: broker.h is.
 */
#ifndef TRC_BROKER_INT_H
#define TRC_BROKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth.h"
#include "call.h"
#include "broker.h"
#include "registry.h"
#include "store.h"
#include "subs.h"
#include "wire.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"

typedef struct broker_metrics broker_metrics_t;
typedef struct broker_backup broker_backup_t;

struct trc_broker {
	trc_config_t cfg;
	trc_broker_conf_t conf; /* [broker]; its budgets as reloaded */
	char name[24];    /* "broker", or "broker@N" for instance N > 1: its audit log's
			   * state directory and daemon name */
	void *zctx;
	void *client;     /* ROUTER: clients */
	void *service;    /* ROUTER: services */
	void *xsub;       /* events in */
	void *xpub;       /* events out */
	trc_auth_t *auth; /* who may connect, and whose rights a request has */
	trc_registry_t reg;
	trc_subs_t *subs;  /* what subscribers of the event feed hold */
	Traction__V1__BrokerCounters counters;
	int64_t started;
	int64_t next_heartbeat;
	int64_t next_expiry;
	broker_metrics_t *metrics; /* NULL: none ([metrics] base_port 0) */
	trc_store_t *audit;        /* the audit log (keyaudit.c); NULL: none kept */
	trc_arena_t *audit_arena;  /* its requests' and records' memory */
	broker_backup_t *backup;   /* a copy of it for a backup (backup.c); NULL: no log */
	unsigned hup_uid;          /* who sent the SIGHUP being applied */
	int hup_pid;
};

/* Who asks for a change of the broker's: as a service would see them
 * (the Route frame's client id, role and edge). */
typedef struct {
	const char *actor;
	const char *edge; /* NULL: not through an edge */
	int role;         /* Traction__V1__Role */
} broker_caller_t;

/* Sends [rid][Header REPLY][body] with a status of its own on sock. */
void broker_answer(trc_broker_t *b, void *sock, const void *rid, size_t ridlen, uint32_t ver,
		   uint64_t request_id, int code, const char *message,
		   const ProtobufCMessage *body);
/* A control frame (HEARTBEAT, DISCONNECT) to the service instance wid. */
void broker_control(trc_broker_t *b, const void *wid, size_t widlen,
		    Traction__V1__FrameKind kind);
/* Answers a request in flight with an error of the broker's own. */
void broker_fail_ticket(trc_broker_t *b, trc_ticket_t *t, int code, const char *msg);
/* Drops an instance, its requests in flight answered UNAVAILABLE. */
void broker_drop_worker(trc_broker_t *b, trc_worker_t *w, const char *why);
/* A request to the service "broker" (ping, status, audit.list,
 * keys.reload) from who, with key's rights (NULL: no key), its body
 * body[0..blen). */
void broker_own_request(trc_broker_t *b, void *sock, const void *rid, size_t ridlen,
			const Traction__V1__Header *h, const trc_key_t *key,
			const broker_caller_t *who, const void *body, size_t blen);

/* keyaudit.c: the audit log of the key set. Opens state_dir/broker when
 * keys are in force and state_dir is set, and records what changed since
 * it last recorded; 0, or an error (the broker does not start). */
int broker_audit_open(trc_broker_t *b);
void broker_audit_close(trc_broker_t *b);
/* Reads dir and puts it in force, each difference from the keys in force
 * recorded as who's, for reason, with extra (pairs, NULL-ended; may be
 * NULL) in every entry, before it is: 0 and rep; TRC_EPRECOND with err
 * when dir does not parse (one keys.reload_refused entry) or no keys were
 * loaded at start; another error with err when it cannot be recorded. In
 * the last two cases the keys in force stay. */
int broker_keys_reload(trc_broker_t *b, const char *dir, const broker_caller_t *who,
		       const char *reason, const char *const *extra, char *err, size_t errlen,
		       Traction__V1__KeysReloadReply *rep);
/* The audit log's store: its schema version (keyaudit.c's databases). */
#define BROKER_SCHEMA 1

/* A method of the broker's own that needs the admin role (or a daemon's
 * service key): req decoded, rep initialised, both in call's arena; 0, or
 * an error (with trc_call_fail's message, or none). */
typedef struct {
	const char *name;
	const ProtobufCMessageDescriptor *req, *rep;
	int (*fn)(trc_broker_t *b, const ProtobufCMessage *req, const broker_caller_t *who,
		  ProtobufCMessage *rep, trc_call_t *call);
} broker_method_t;

/* backup.c: backup.begin|resume|read|end of the audit log's store, in
 * state directory dir (NULL-ended table); set up by broker_audit_open. */
extern const broker_method_t broker_backup_methods[];
int broker_backup_open(trc_broker_t *b, const char *dir);
void broker_backup_close(trc_broker_t *b);

/* Whether method is one of broker_audit_request's. */
bool broker_audit_method(const char *method);
/* The methods audit.list, keys.reload and backup.* (admin), answered. */
void broker_audit_request(trc_broker_t *b, void *sock, const void *rid, size_t ridlen,
			  const Traction__V1__Header *h, const broker_caller_t *who,
			  const void *body, size_t blen);

/* metrics.c: the broker's metrics, set up, stored once a turn, closed. */
void broker_metrics_open(trc_broker_t *b);
void broker_metrics_turn(trc_broker_t *b);
void broker_metrics_close(trc_broker_t *b);

/* A message on the client endpoint: a request. */
void broker_client_message(trc_broker_t *b, trc_msg_t *m);
/* A message on the service endpoint: a reply, a request a service makes,
 * or a control frame (READY, HEARTBEAT, DISCONNECT). */
void broker_service_message(trc_broker_t *b, trc_msg_t *m);

#endif
