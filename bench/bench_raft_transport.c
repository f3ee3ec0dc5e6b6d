/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C-Raft's own TCP transport against ours over CurveZMQ (lib/raft_curve.h),
 * in the same invocation: three bare raft nodes on one libuv loop on
 * loopback (tests/integration/raftnodes.h, transport-only), the leader
 * keeping WINDOW entries of SIZE bytes in flight until N are applied on
 * all three; entries per second, each transport in turn, ROUNDS times.
 *
 *   bench_raft_transport [N [SIZE [WINDOW [ROUNDS]]]]   (20000 1024 256 3)
 *
 * Figures go to docs/performance.md ("Raft between hosts over CurveZMQ").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "raft_curve.h"
#include "raftnodes.h"
#include "util.h"

#define NODES 3

static rn_node_t s_nodes[NODES];
static uint64_t s_want;

static bool s_has_leader(void *ud)
{
	(void)ud;
	return rn_leader(s_nodes, NODES) != NULL;
}

static bool s_applied(void *ud)
{
	(void)ud;
	for (int i = 0; i < NODES; i++)
		if (s_nodes[i].applied < s_want)
			return false;
	return true;
}

/* One run: entries per second applied on all three, or -1. */
static double s_run(uv_loop_t *loop, bool curve, uint64_t n, size_t size, unsigned window)
{
	char base[] = "/tmp/bench_raft_transport.XXXXXX", keys[300];
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(keys, sizeof(keys), "%s/keys", base);
	mkdir(keys, 0700);
	memset(s_nodes, 0, sizeof(s_nodes));
	for (int i = 0; i < NODES; i++) {
		rn_node_t *nd = &s_nodes[i];
		char name[8];
		nd->id = (unsigned)i + 1;
		nd->curve = curve;
		nd->keys_dir = keys;
		snprintf(nd->address, sizeof(nd->address), "127.0.0.1:%d", tp_free_port());
		rn_keypair(nd->pub, nd->sec);
		snprintf(name, sizeof(name), "n%d", i + 1);
		rn_key_file(keys, name, nd->pub, "service");
	}
	double rate = -1;
	int started = 0;
	for (; started < NODES; started++) {
		if (rn_start(&s_nodes[started], loop, base, s_nodes, NODES, NULL, 0) != 0)
			break;
		for (int j = 0; curve && j < NODES; j++)
			trc_raft_curve_peer_key(&s_nodes[started].t, s_nodes[j].id, s_nodes[j].pub);
	}
	if (started == NODES && rn_run_until(loop, s_has_leader, NULL, 20000)) {
		rn_node_t *leader = rn_leader(s_nodes, NODES);
		s_want = n;
		int64_t t0 = trc_mono_ms();
		rn_propose(leader, n, window, size);
		if (rn_run_until(loop, s_applied, NULL, 300000))
			rate = (double)n * 1000.0 / (double)(trc_mono_ms() - t0 + 1);
	}
	rn_stop_all(loop, s_nodes, NODES, 10000);
	rn_rmtree(base);
	return rate;
}

static int s_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
	size_t size = argc > 2 ? strtoull(argv[2], NULL, 10) : 1024;
	unsigned window = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 256;
	int rounds = argc > 4 ? atoi(argv[4]) : 3;
	if (n == 0 || size < 8 || window == 0 || rounds < 1 || rounds > 50) {
		fprintf(stderr, "usage: %s [N [SIZE [WINDOW [ROUNDS]]]]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	trc_log_set_level(TRC_LOG_WARNING);
	uv_loop_t loop;
	uv_loop_init(&loop);
	double plain[50], curve[50];
	for (int r = 0; r < rounds; r++) {
		plain[r] = s_run(&loop, false, n, size, window);
		curve[r] = s_run(&loop, true, n, size, window);
		printf("round %d: raft_uv_tcp %.0f entries/s, CurveZMQ %.0f entries/s\n", r + 1,
		       plain[r], curve[r]);
		fflush(stdout);
		if (plain[r] < 0 || curve[r] < 0)
			return 1;
	}
	qsort(plain, (size_t)rounds, sizeof(double), s_cmp);
	qsort(curve, (size_t)rounds, sizeof(double), s_cmp);
	double p = plain[rounds / 2], c = curve[rounds / 2];
	printf("3 nodes, %llu entries of %zu bytes, %u in flight: median raft_uv_tcp %.0f/s "
	       "(%.1f MB/s), CurveZMQ %.0f/s (%.1f MB/s): %.2fx\n",
	       (unsigned long long)n, size, window, p, p * (double)size / 1e6, c,
	       c * (double)size / 1e6, c / p);
	uv_loop_close(&loop);
	return 0;
}
