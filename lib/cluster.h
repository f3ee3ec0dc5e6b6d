/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether this build may run cluster mode: replicated state on C-Raft
 * (docs/scale-out.md). Cluster mode needs libraft (pkg-config raft, which
 * defines TRC_RAFT) and libuv, and a libraft with the safety fixes it
 * depends on: canonical/raft PR #321 (v0.16.0: a leader whose disk write
 * fails steps down, so no follower applies another entry than the one
 * committed, issue #320) and PR #336 (v0.17.1: a leader commits entries
 * of earlier terms only through one of its own term, the Raft paper's
 * Figure 8, issue #220). Debian 12's libraft-dev is 0.15.0, which has
 * neither, and its raft.h does not even define RAFT_VERSION_NUMBER: it
 * builds, for development, and cluster mode refuses it, unless the build
 * says -DTRC_RAFT_UNSAFE_015=ON (never for production).
 */
#ifndef TRC_CLUSTER_H
#define TRC_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The first libraft with both fixes, as RAFT_VERSION_NUMBER counts
 * (major * 10000 + minor * 100 + release): 0.17.1. */
#define TRC_RAFT_VERSION_MIN 1701

/* Whether a libraft of version number v (0: a raft.h without
 * RAFT_VERSION_NUMBER, 0.15 and before) has the fixes. */
#define TRC_RAFT_VERSION_OK(v) ((v) >= TRC_RAFT_VERSION_MIN)

/* NULL when this build may run cluster mode; else why not, one line. */
const char *trc_cluster_refused(void);

/* The libraft this build was compiled against, e.g. "0.15 (no
 * RAFT_VERSION_NUMBER)" or "0.18.1"; "none" without libraft. */
const char *trc_cluster_raft_version(void);

/* Whether the build took the unsafe 0.15 for cluster mode on purpose. */
bool trc_cluster_unsafe(void);

/* A cluster's hosts as [cluster] members names them: raft id = position
 * (1..n), the same on every host since the list is. */
#define TRC_MEMBERS_MAX 9
#define TRC_MEMBER_NAME 64
#define TRC_MEMBER_ADDR 128

typedef struct {
	unsigned id;
	char name[TRC_MEMBER_NAME];
	char address[TRC_MEMBER_ADDR]; /* host:port, raft's form */
} trc_member_t;

typedef struct {
	trc_member_t m[TRC_MEMBERS_MAX];
	size_t n;
	size_t self;             /* [cluster] node's index in m */
} trc_members_t;

/* The keys of [cluster], a shared section of the config file. */
#define TRC_CLUSTER_NKEYS 10
extern const trc_conf_key_t trc_cluster_keys[TRC_CLUSTER_NKEYS];

/* Whether cfg asks for cluster mode ([cluster] node set). */
bool trc_cluster_on(const trc_config_t *cfg);

/* [cluster] of cfg for a daemon whose ports are offset from base_port
 * (a member without its own port): TRC_ECONFIG with why in err if the
 * list is malformed, a name or address repeats, node is not in it, a
 * host is not on loopback while plain_ok and service_curve are 0 (raft's
 * plain TCP), or heartbeat_ms is not
 * below election_timeout_ms. */
int trc_cluster_members(const trc_config_t *cfg, unsigned offset, trc_members_t *ms, char *err,
			size_t errlen);

#endif
