/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's tables: services by name, their live instances (workers) by
 * ZeroMQ routing id, the requests in flight by ticket, and clients by
 * routing id while they have requests in flight. Pure bookkeeping: no
 * sockets here.
 */
#ifndef TRC_BROKER_REGISTRY_H
#define TRC_BROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#define TRC_ROUTING_ID_MAX 256
#define TRC_SERVICE_NAME_MAX 64
#define TRC_WORKER_SERVICES_MAX 8
#define TRC_SERVICES_MAX 256       /* names the broker keeps */

typedef struct trc_bservice trc_bservice_t;

typedef struct trc_worker {
	UT_hash_handle hh;
	uint8_t id[TRC_ROUTING_ID_MAX];
	size_t idlen;
	char hex[16];                 /* short name for logs */
	trc_bservice_t *services[TRC_WORKER_SERVICES_MAX];
	size_t nservices;
	int64_t last_seen;            /* monotonic ms */
	uint32_t in_flight;
	uint64_t served;
	/* v1.1: what it is in its daemon's raft group, as its last READY or
	 * HEARTBEAT said (a Traction__V1__ReplicaRole; SINGLE without one) */
	int role;
	uint64_t term;
} trc_worker_t;

struct trc_bservice {
	UT_hash_handle hh;
	char name[TRC_SERVICE_NAME_MAX];
	trc_worker_t **workers;
	size_t nworkers, cap;
	size_t next;                  /* where the next least-loaded search starts */
	uint64_t requests, replies, errors;
	uint32_t in_flight;
	void *user;                   /* the broker's metrics of it (freed by them) */
};

/* A client's budget key: its routing id, and for a request an edge makes
 * for a user, the user's name and then one byte, the routing id's length
 * (so that the edge's users each have a budget of their own, and no
 * routing id can pass for another's user). */
#define TRC_CLIENT_KEY_MAX (TRC_ROUTING_ID_MAX + 65 + 1)

typedef struct trc_bclient {
	UT_hash_handle hh;
	uint8_t id[TRC_CLIENT_KEY_MAX];
	size_t idlen;
	size_t ridlen;                /* id[0..ridlen): where replies go */
	uint32_t in_flight;
	uint64_t bytes;               /* of its requests in flight */
} trc_bclient_t;

typedef struct trc_ticket {
	UT_hash_handle hh;
	uint64_t ticket;
	uint64_t request_id;
	uint32_t version;             /* the request's: its refusals use it */
	trc_bclient_t *client;
	bool from_service_socket;     /* a service asked; answer on that socket */
	trc_worker_t *worker;
	trc_bservice_t *service;
	int64_t deadline;             /* monotonic ms */
	size_t bytes;                 /* the request's, as forwarded */
} trc_ticket_t;

typedef struct trc_registry {
	trc_bservice_t *services;
	trc_worker_t *workers;
	trc_bclient_t *clients;
	trc_ticket_t *tickets;
	uint64_t next_ticket;
	uint32_t in_flight;
	uint64_t bytes;               /* of all requests in flight */
} trc_registry_t;

void trc_registry_init(trc_registry_t *r);
void trc_registry_clear(trc_registry_t *r);

trc_bservice_t *trc_registry_service(trc_registry_t *r, const char *name, bool create);
trc_worker_t *trc_registry_worker(trc_registry_t *r, const void *id, size_t idlen);
/* Adds (or finds) a worker and attaches it to service; NULL on error. */
trc_worker_t *trc_registry_attach(trc_registry_t *r, const void *id, size_t idlen,
				  trc_bservice_t *svc, int64_t now);
/* What an instance says it is (READY, HEARTBEAT): its role and term. */
void trc_registry_role(trc_worker_t *w, int role, uint64_t term);
/* Where a request goes: the live instance of svc with the fewest requests
 * in flight (ties round-robin) among, for a STALE one, all of them; for
 * any other, those that lead: the LEADERs of the highest term a LEADER
 * claims, a SINGLE counting as a LEADER of term 0 (two claims: the lower
 * term is a deposed leader that has not heard yet). NULL if none: with
 * live instances, none leads (an election). With instance (not NULL or
 * empty: a request's Header.instance), only that one of them. */
trc_worker_t *trc_registry_pick(trc_bservice_t *svc, bool stale, const char *instance);

/* A request of `bytes` from client_id forwarded to w. */
trc_ticket_t *trc_registry_ticket_new(trc_registry_t *r, const void *client_id,
				      size_t client_idlen, size_t ridlen, bool from_service,
				      uint64_t request_id, trc_bservice_t *svc,
				      trc_worker_t *w, int64_t deadline, size_t bytes);
trc_ticket_t *trc_registry_ticket(trc_registry_t *r, uint64_t ticket);
void trc_registry_ticket_done(trc_registry_t *r, trc_ticket_t *t);

/* One client's requests in flight, and their bytes (0 if unknown). */
uint32_t trc_registry_client_in_flight(trc_registry_t *r, const void *id, size_t idlen,
				       uint64_t *bytes);

/* Removes a worker from its services. Its tickets are left: the caller
 * answers them (UNAVAILABLE) first, with trc_registry_ticket_done. */
void trc_registry_worker_remove(trc_registry_t *r, trc_worker_t *w);

#endif
