/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What test_raft.c's stages share with its power-cut mode
 * (raft_powercut.c): three replicas of traction-testd's "kv" in cluster
 * mode behind one broker, replica i's state in H.dir/n<i+1>.
 */
#ifndef TRC_TEST_RAFT_H
#define TRC_TEST_RAFT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"
#include "storecopy.h"

#define N 3
#define S_BUS "[bus]\nheartbeat_ms = 100\n"

extern harness_t H;
extern int rt_port[N];
extern pid_t rt_pid[N];   /* 0: not running */
extern char rt_security[1536];
extern const char *rt_snapshots; /* [cluster] snapshot_threshold, _trailing */

int64_t rt_mono_ms(void);
/* Replica i started (join: added to a running cluster, no bootstrap). */
void rt_start_as(int i, bool join);
void rt_start(int i);
void rt_kill(int i);
/* The live replica that leads, waiting up to 5 s; -1 if none does. */
int rt_leader(void);
/* Whether replica i's last log has a line with text. */
bool rt_logged(int i, const char *text);
/* One put of key (its value the key): the status code. */
int rt_put_once(traction_client_t *c, const char *key, traction_status_t *st);
/* The digest of replica i's store (hex); its event log's head. */
uint64_t rt_digest(int i, char hex[TRC_SHA256_HEX]);
/* Replica i's store's last entry (meta.raft_applied); 0 if a read torn
 * by its writes failed. */
uint64_t rt_applied(int i);
/* Whether the live replicas' stores are alike, waiting up to ms. */
bool rt_converged(int ms);

/* The power-cut mode: `test_raft powercut` (raft_powercut.c). */
int rt_powercut(void);

#endif
