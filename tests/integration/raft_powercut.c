/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster mode through power cuts (issue #30, docs/scale-out.md): each of
 * the three replicas keeps its state, store and raft log, on a trc-cutfs
 * of its own (tests/powercut/cutfs.c). Each cycle two writers put keys;
 * at a random moment one replica (the leader, then a follower, in turn)
 * is SIGKILLed and its power cut: its files are rebuilt from what was
 * synced plus a random part of the rest, torn at sectors. The two others
 * go on (the writers retry through the election); the victim starts again
 * on that image and must catch up from its own log, without fetching a
 * store; then the three stores are alike byte for byte and every key
 * acknowledged is there.
 *
 * A replica's store is log-backed (trc_store_log_backed): its commits do
 * not sync LMDB's meta page, and a cut may undo the last one, which raft's
 * log gives again. The last stage cuts a follower of an idle cluster just
 * after its snapshot: the store's last commit is then the one the
 * snapshot describes, and only the snapshot's sync of the store
 * (s_snapshot, lib/svc_raft.c) keeps the replica from finding its store
 * behind its snapshot when it starts.
 *
 *   test_raft powercut; TRACTION_POWERCUT_CYCLES (default 6),
 *   TRACTION_POWERCUT_SEED (default: the clock; printed to replay).
 * Needs root and /dev/fuse: exits 77 (skipped) without them.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ports.h"
#include "test_raft.h"
#include "traction/v1/common.pb-c.h"

#define WRITERS 2
#define MAX_KEYS 100000 /* a writer's, in a cycle */

static char s_backing[N][400], s_mnt[N][400];
static pid_t s_fs[N];

static void s_fs_start(int i, uint64_t seed)
{
	s_fs[i] = h_cutfs_start(&H, s_backing[i], s_mnt[i], seed);
}

static void s_unmount_all(void)
{
	for (int i = 0; i < N; i++)
		h_cutfs_stop(&H, &s_fs[i], s_mnt[i]);
}

/* Replica i SIGKILLed and its power cut; its file system back up on the
 * image the cut left (another seed for the next cut). What the cut did. */
static void s_cut(int i, uint64_t seed, char *what, size_t len)
{
	rt_kill(i);
	kill(s_fs[i], SIGUSR1); /* the power goes */
	char done[450];
	snprintf(done, sizeof(done), "%s/.cut-done", s_backing[i]);
	for (int k = 0; k < 1000 && access(done, F_OK) != 0; k++)
		h_sleep_ms(5);
	CHECK_MSG(access(done, F_OK) == 0, "the power cut of h%d did not finish", i + 1);
	FILE *f = fopen(done, "r");
	what[0] = '\0';
	if (f != NULL && fgets(what, (int)len, f) != NULL)
		what[strcspn(what, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
	unlink(done);
	h_cutfs_stop(&H, &s_fs[i], s_mnt[i]);
	s_fs_start(i, seed + 1);
}

/* ---- the writers ------------------------------------------------------------------ */

typedef struct {
	int cycle, id;
	atomic_bool stop;
	atomic_uint sent;          /* keys 0..sent-1 were sent (the last maybe not acked) */
	atomic_uint nacked;
	unsigned char acked[MAX_KEYS];
} writer_t;

static void s_key(char *key, size_t len, int cycle, int id, unsigned n)
{
	snprintf(key, len, "c%d-w%d-%u", cycle, id, n);
}

/* Puts its keys one after another; each is sent again (same key) while
 * an election or a leader without a majority answers, as a client does. */
static void *s_writer(void *arg)
{
	writer_t *w = arg;
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 2000);
	for (unsigned n = 0; n < MAX_KEYS && !atomic_load(&w->stop); n++) {
		char key[48];
		s_key(key, sizeof(key), w->cycle, w->id, n);
		atomic_store(&w->sent, n + 1);
		traction_status_t st;
		int code;
		while ((code = rt_put_once(c, key, &st)) != 0 && !atomic_load(&w->stop)) {
			CHECK_MSG(code == TRACTION__V1__CODE__UNAVAILABLE ||
					  code == TRACTION__V1__CODE__DEADLINE_EXCEEDED,
				  "put %s: %s %s", key, traction_code_name(code), st.message);
			h_sleep_ms(20);
		}
		if (code == 0) {
			w->acked[n] = 1;
			atomic_fetch_add(&w->nacked, 1);
		}
	}
	traction_client_destroy(&c);
	return NULL;
}

/* ---- checks ------------------------------------------------------------------------- */

/* Replica i runs still (a replica whose store is behind its snapshot
 * stops to fetch another's: exits). */
static void s_alive(int i, const char *when)
{
	int status;
	CHECK_MSG(waitpid(rt_pid[i], &status, WNOHANG) == 0,
		  "%s: h%d exited (see its log: behind its snapshot, it stops to fetch)", when,
		  i + 1);
	CHECK_MSG(!rt_logged(i, "stops to fetch another replica's store"),
		  "%s: h%d's store is behind its raft snapshot after the cut", when, i + 1);
}

/* Every key acknowledged is stored (a linearizable get, the leader's),
 * and the stores hold no more keys than were sent. */
static void s_check_keys(traction_client_t *c, writer_t **ws, long *total_sent)
{
	unsigned acked = 0;
	for (int k = 0; k < WRITERS; k++) {
		writer_t *w = ws[k];
		*total_sent += atomic_load(&w->sent);
		for (unsigned n = 0; n < atomic_load(&w->sent); n++) {
			if (!w->acked[n])
				continue;
			acked++;
			char key[48];
			s_key(key, sizeof(key), w->cycle, w->id, n);
			Traction__V1__IdRequest req = TRACTION__V1__ID_REQUEST__INIT;
			req.id = key;
			ProtobufCMessage *rep = NULL;
			traction_status_t st;
			int code = traction_call(c, "kv", "get", &req.base,
						 &traction__v1__key_value__descriptor, &rep, &st);
			traction_reply_free(rep);
			CHECK_MSG(code == 0, "cycle %d: key %s was acknowledged, now: %s %s",
				  w->cycle, key, traction_code_name(code), st.message);
		}
	}
	long n = h_testd_count(c, "kv");
	CHECK_MSG(n <= *total_sent, "%ld keys stored, %ld sent", n, *total_sent);
	CHECK_MSG(acked > 0, "nothing was acknowledged");
}

/* ---- the stages ---------------------------------------------------------------------- */

static void s_cycle(traction_client_t *c, int cycle, uint64_t rnd, long *total_sent)
{
	writer_t *ws[WRITERS];
	pthread_t t[WRITERS];
	for (int k = 0; k < WRITERS; k++) {
		ws[k] = calloc(1, sizeof(*ws[k]));
		CHECK(ws[k] != NULL);
		ws[k]->cycle = cycle;
		ws[k]->id = k;
		CHECK(pthread_create(&t[k], NULL, s_writer, ws[k]) == 0);
	}
	for (int k = 0; k < 5000 && atomic_load(&ws[0]->nacked) < 20; k++)
		h_sleep_ms(1);
	CHECK_MSG(atomic_load(&ws[0]->nacked) >= 20, "cycle %d: the writers are stuck", cycle);
	h_sleep_ms(20 + (int)(rnd % 300));
	int lead = rt_leader();
	CHECK_MSG(lead >= 0, "cycle %d: no leader", cycle);
	int victim = cycle % 2 == 0 ? lead : (lead + 1 + (int)(rnd >> 20) % 2) % N;
	char what[200];
	s_cut(victim, rnd, what, sizeof(what));
	h_sleep_ms(300); /* the two others go on meanwhile */
	rt_start(victim);
	h_sleep_ms(300);
	for (int k = 0; k < WRITERS; k++)
		atomic_store(&ws[k]->stop, true);
	for (int k = 0; k < WRITERS; k++)
		pthread_join(t[k], NULL);
	CHECK_MSG(rt_converged(20000), "cycle %d: the replicas differ after h%d's power cut",
		  cycle, victim + 1);
	s_alive(victim, "after its power cut");
	s_check_keys(c, ws, total_sent);
	printf("cycle %d: h%d (%s) cut, %u + %u acknowledged (%s); stores alike\n", cycle,
	       victim + 1, victim == lead ? "leader" : "follower", atomic_load(&ws[0]->nacked),
	       atomic_load(&ws[1]->nacked), what);
	fflush(stdout);
	for (int k = 0; k < WRITERS; k++)
		free(ws[k]);
}

/* The index of replica i's newest raft snapshot (0: none). */
static uint64_t s_snapshot_index(int i)
{
	char dir[500];
	snprintf(dir, sizeof(dir), "%s/kv/raft", s_mnt[i]);
	DIR *d = opendir(dir);
	uint64_t best = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		unsigned long long term, index, ts;
		if (sscanf(e->d_name, "snapshot-%llu-%llu-%llu.meta", &term, &index, &ts) == 3 &&
		    index > best)
			best = index;
	}
	if (d != NULL)
		closedir(d);
	return best;
}

/* A follower cut while the cluster is idle, its store's last commit the
 * entry its newest snapshot describes. */
static void s_idle_cut(traction_client_t *c, uint64_t rnd, int round)
{
	int lead = rt_leader();
	CHECK_MSG(lead >= 0, "idle cut: no leader");
	int victim = (lead + 1) % N;
	bool there = false;
	for (int n = 0; n < 400 && !there; n++) {
		char key[48];
		snprintf(key, sizeof(key), "idle%d-%d", round, n);
		traction_status_t st;
		int code = -1;
		for (int k = 0; k < 250 && code != 0; k++) { /* an election: again */
			code = rt_put_once(c, key, &st);
			if (code != 0)
				h_sleep_ms(20);
		}
		CHECK_MSG(code == 0, "put %s: %s", key, st.message);
		/* the entry applied there (the leader's store has it: it
		 * answered), and maybe a snapshot taken of it */
		uint64_t want = rt_applied(lead), applied = 0;
		for (int k = 0; k < 200 && applied < want; k++) {
			applied = rt_applied(victim);
			if (applied < want)
				h_sleep_ms(5);
		}
		/* raft's index counts entries that are not the store's too
		 * (barriers, configurations): a snapshot at or past it */
		/* near the threshold (128 entries past the last snapshot,
		 * counting raft's own), wait for the snapshot's files */
		uint64_t snap = s_snapshot_index(victim);
		int wait = applied == want && applied + 12 >= snap + 128 ? 150 : 0;
		for (int k = 0; k <= wait && !there; k++) {
			there = applied == want && s_snapshot_index(victim) >= applied;
			if (!there && k < wait)
				h_sleep_ms(2);
		}
	}
	CHECK_MSG(there, "idle cut: h%d took no snapshot of its last entry (store %llu, leader's %llu, snapshot %llu)", victim + 1, (unsigned long long)rt_applied(victim), (unsigned long long)rt_applied(lead), (unsigned long long)s_snapshot_index(victim));
	/* nothing unsynced survives this cut: the meta page of the store's
	 * last commit is gone unless the snapshot synced it */
	char what[200], keep[450];
	snprintf(keep, sizeof(keep), "%s/.cut-keep", s_backing[victim]);
	FILE *f = fopen(keep, "w");
	CHECK(f != NULL && fputs("0\n", f) >= 0 && fclose(f) == 0);
	s_cut(victim, rnd, what, sizeof(what));
	CHECK(unlink(keep) == 0);
	rt_start(victim);
	CHECK_MSG(rt_converged(20000), "idle cut: the replicas differ after h%d's", victim + 1);
	s_alive(victim, "after a cut just past its snapshot");
	printf("idle cut %d: follower h%d cut at its snapshot (%s); stores alike\n", round,
	       victim + 1, what);
	fflush(stdout);
}

int rt_powercut(void)
{
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("skipped: needs root and /dev/fuse to mount trc-cutfs\n");
		return 77;
	}
	const char *env = getenv("TRACTION_POWERCUT_CYCLES");
	int cycles = env != NULL ? atoi(env) : 6;
	env = getenv("TRACTION_POWERCUT_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
	printf("raft power cuts: %d cycles, seed %llu (TRACTION_POWERCUT_SEED replays it)\n",
	       cycles, (unsigned long long)seed);
	fflush(stdout);
	h_init(&H, S_BUS);
	/* a replica down for a second (a thousand entries) catches up from
	 * the log, not a fetched store: what a power cut is to prove; the
	 * idle cuts need a snapshot soon */
	rt_snapshots = "snapshot_threshold = 128\nsnapshot_trailing = 16384\n";
	for (int i = 0; i < N; i++) {
		snprintf(s_backing[i], sizeof(s_backing[i]), "%s/b%d", H.dir, i + 1);
		snprintf(s_mnt[i], sizeof(s_mnt[i]), "%s/n%d", H.dir, i + 1);
		CHECK(mkdir(s_backing[i], 0755) == 0 && mkdir(s_mnt[i], 0755) == 0);
	}
	atexit(s_unmount_all); /* before the harness removes its dir */
	tp_free_ports(rt_port, N);
	h_start_broker(&H, false);
	for (int i = 0; i < N; i++) {
		s_fs_start(i, seed + 1000u * (unsigned)i);
		rt_start(i);
	}
	CHECK(h_wait_live(&H, "kv", N, 10000));
	traction_client_t *c = h_client(&H);
	traction_client_set_timeout(c, 5000);
	uint64_t rng = seed;
	long sent = 0;
	for (int cycle = 0; cycle < cycles; cycle++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s_cycle(c, cycle, rng >> 16, &sent);
	}
	for (int round = 0; round < 3; round++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s_idle_cut(c, rng >> 16, round);
	}
	traction_client_destroy(&c);
	for (int i = 0; i < N; i++)
		rt_kill(i);
	s_unmount_all();
	h_done(&H);
	printf("raft power cuts: %d cycles and 3 idle cuts, every acknowledged key kept\n",
	       cycles);
	return 0;
}
