/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trc-raft-bare: a bare 3-node C-Raft loop, the baseline that cluster
 * mode's publish rate is compared with (issue #30), and the nodes the
 * network-namespace harness's test runs (tests/cluster/). Not cluster
 * mode: no traction code, C-Raft's own uv I/O and TCP transport, and
 * whatever libraft is installed -- Debian 12's 0.15 lacks safety fixes
 * that cluster mode depends on (lib/cluster.h, docs/scale-out.md), which
 * a baseline and a harness test can live with.
 *
 * raft_bare.c is a node (one process, its own data directory, answering
 * on DIR/ctl.sock); raft_bare_drive.c is what talks to nodes: the ctl
 * command and the benchmark driver, which starts three nodes and prints
 * bench/compare.sh's =row lines.
 */
#ifndef TRC_RAFT_BARE_H
#define TRC_RAFT_BARE_H

#include <stddef.h>
#include <stdint.h>

#define BARE_NODES_MAX 7
#define BARE_LINE 512

/* "1=127.0.0.1:9001,2=...": ids 1..n in that order, addresses copied into
 * addr[i] (id i+1). Returns n, or -1 (with a message) if malformed. */
int bare_members(const char *list, char addr[][64], int max);

/* The control socket of the node whose data directory is dir. */
void bare_ctl_path(const char *dir, char *out, size_t cap);

/* Sends one line to the node of dir and reads one line back within
 * timeout_ms. 0 with the reply in out (no newline), -1 if the node does
 * not answer. */
int bare_ctl_call(const char *dir, const char *line, int timeout_ms, char *out, size_t cap);

/* The unsigned decimal number after "key=" in a reply; def if absent. */
uint64_t bare_field(const char *reply, const char *key, uint64_t def);

/* The modes of raft_bare_drive.c: argv starts after the mode's name. */
int bare_ctl_main(int argc, char **argv);
int bare_bench_main(int argc, char **argv, const char *self);

#endif
