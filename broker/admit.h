/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether the broker forwards a request now: a pure function of what the
 * request asks for and what the broker's queues hold, so that every
 * refusal is unit-tested without sockets (tests/unit/test_admit.c).
 */
#ifndef TRC_BROKER_ADMIT_H
#define TRC_BROKER_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request, as admit weighs it. */
typedef struct {
	const char *service;         /* the name it asks for */
	bool known;                  /* named in the config, or registered since the start */
	bool live;                   /* with an instance alive now */
	bool leader;                 /* with one alive now that may take it (registry.h:
				      * trc_registry_pick; a STALE read: any) */
	const char *instance;        /* NULL, or the one it names (Header.instance) */
	size_t bytes;                /* its Header and body */
	uint32_t client_in_flight;   /* what its client (an edge's user: the user) holds */
	uint64_t client_bytes;
	uint32_t broker_in_flight;   /* what every client holds together */
	uint64_t broker_bytes;
} trc_admit_request_t;

/* The budgets, as [broker] in the config sets them. */
typedef struct {
	unsigned max_in_flight_per_client;
	unsigned max_mb_in_flight_per_client;
	unsigned max_mb_in_flight;
} trc_admit_limits_t;

/* code 0: forward it; else the traction.v1.Code to answer with, and why. */
typedef struct {
	int code;
	char message[160];
	const char *reason;          /* NULL, or its ErrorDetail's (wire.h: TRC_REASON_*) */
} trc_admit_t;

/* An unknown name is NOT_FOUND; a known one with no live instance
 * UNAVAILABLE (clients retry it); with live instances but no leader
 * UNAVAILABLE, reason no_leader (an election: clients send it again
 * through the same broker); past a budget RESOURCE_EXHAUSTED. One request
 * alone always goes, whatever its size (max_message_kb bounds it). */
trc_admit_t trc_admit(const trc_admit_request_t *rq, const trc_admit_limits_t *lim);

#endif
