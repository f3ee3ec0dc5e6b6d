/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bare C-Raft nodes in one process on one libuv loop, for the transport's
 * test and bench (transport-only: no service, no cluster mode, so Debian's
 * libraft 0.15 is fine here, lib/cluster.h's gate is for cluster mode).
 * A node's FSM is canonical/raft's example/server.c's in spirit: it counts
 * the entries it applies, and those that hold a marker string.
 */
#ifndef TRC_TEST_RAFTNODES_H
#define TRC_TEST_RAFTNODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "keys.h"
#include "ports.h"

typedef struct {
	/* set before rn_start */
	unsigned id;
	char address[64];          /* its raft address, "127.0.0.1:PORT" */
	char bind[64];             /* where it listens, "" for its address */
	char pub[TRC_Z85_KEY + 1], sec[TRC_Z85_KEY + 1];
	bool curve;                /* raft_curve.h; else raft_uv_tcp */
	const char *keys_dir;      /* with curve */
	const char *marker;        /* counted in applied entries (NULL: none) */
	/* its own */
	char dir[512];
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport t;
	struct raft_fsm fsm;
	bool started, closed;      /* raft_init'ed (to close), closed */
	uint64_t applied, marked;  /* entries applied, of which held the marker */
	uint64_t acked;            /* raft_apply callbacks with status 0 (as leader) */
	uint64_t inflight, proposed, total;  /* rn_propose's */
	unsigned window;
	size_t size;
} rn_node_t;

/* A fresh CurveZMQ key pair. */
void rn_keypair(char pub[TRC_Z85_KEY + 1], char sec[TRC_Z85_KEY + 1]);
/* dir/NAME.key naming pub with this role. */
void rn_key_file(const char *dir, const char *name, const char *pub, const char *role);

/* Starts n in base/n<ID> on loop: bootstraps conf (the members, voters
 * but those listed in standby) unless conf is NULL. Returns 0 or prints
 * why not. */
int rn_start(rn_node_t *n, uv_loop_t *loop, const char *base, const rn_node_t *conf,
	     size_t n_conf, const unsigned *standby, size_t n_standby);
/* raft_close, then the transport's and io's; n->closed once done. */
void rn_stop(rn_node_t *n);
/* Stops every node of nodes[0..n) (those never started count as closed)
 * and turns the loop until all are closed, ms at most; whether they are. */
bool rn_stop_all(uv_loop_t *loop, rn_node_t *nodes, size_t n, int ms);
/* rm -r dir. */
void rn_rmtree(const char *dir);
/* Turns of the loop, hosted as a service hosts it (hosted_uv.h), until
 * cond(ud) or ms passed; whether cond held. */
bool rn_run_until(uv_loop_t *loop, bool (*cond)(void *), void *ud, int ms);
/* The running node that is leader, or NULL. */
rn_node_t *rn_leader(rn_node_t *nodes, size_t n);
/* Proposes count more entries of `size` bytes (with n->marker in each)
 * on leader, `window` in flight at most. */
void rn_propose(rn_node_t *leader, uint64_t count, unsigned window, size_t size);

#endif
