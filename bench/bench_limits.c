/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_limits: what the disk and LMDB alone can do on this machine, the
 * floor under every durable figure of the report:
 *   - fdatasync rate: overwrite 4 KiB and fdatasync, as fast as it goes
 *     (an LMDB durable commit costs two); the same appending a page each
 *     time, writing it into zeros written ahead (lib/store.h), and into
 *     space reserved by fallocate;
 *   - the shape of a commit: 1 page, 16 adjacent pages, or 16 pages in 9
 *     runs, each then fdatasync and the meta page written O_DSYNC, as
 *     LMDB commits (s_commit_shapes);
 *   - bare LMDB durable puts: one write transaction of B 256-byte records,
 *     committed durably, for B = 1, 32, 1000 (records per second);
 *   - buffered writes into a new file: MiB/s of the first and of the last
 *     256 MiB of 1.5 GiB. On the VMs this was measured on, page-cache pages
 *     that land on guest memory never touched before cost about four times
 *     as much as reused ones; a growing store pays that, and so does the
 *     growth figure of the report.
 *   bench_limits DIR
 *   bench_limits growth DIR M    the bare limit of the growth figure: M
 *        million 450-byte values (a little more than a traction record
 *        costs in its store) appended by durable transactions of 1,000,
 *        the rate of each million
 */
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_util.h"
#include "util.h"

/* What one durable page costs: FS_SAME rewrites the same page (the
 * figure an LMDB commit pays twice), FS_APPEND extends the file by a page
 * (a growing store's commit: the file's size and allocation too), FS_AHEAD
 * writes the next page into zeros written ahead of it, as lib/store.h's
 * write-ahead has LMDB do, FS_FALLOC into space reserved by fallocate
 * (the cheaper way to reserve, were it as good). */
enum { FS_SAME, FS_APPEND, FS_AHEAD, FS_FALLOC };

static void s_fdatasync(const char *dir, int mode)
{
	static const char *const names[] = { "fdatasync of 4 KiB (ops/s)",
					     "fdatasync of 4 KiB appended (ops/s)",
					     "fdatasync of 4 KiB into zeros written ahead (ops/s)",
					     "fdatasync of 4 KiB into space from fallocate (ops/s)" };
	static char zeros[256 << 10];
	char path[600], buf[4096];
	snprintf(path, sizeof(path), "%s/fdatasync.bin", dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	memset(buf, 'x', sizeof(buf));
	double *lat = calloc(100000, sizeof(double));
	size_t n = 0;
	off_t zeros_end = 0;
	double t0 = bench_now_us(), now = t0;
	while (now - t0 < 2e6 && n < 100000) {
		off_t at = mode == FS_SAME ? 0 : (off_t)n * (off_t)sizeof(buf);
		/* keep 2 MiB reserved ahead: zeros written, or fallocate's */
		if ((mode == FS_AHEAD || mode == FS_FALLOC) && zeros_end < at + (2 << 20)) {
			if (mode == FS_AHEAD
				    ? pwrite(fd, zeros, sizeof(zeros), zeros_end) != (ssize_t)sizeof(zeros)
				    : fallocate(fd, 0, zeros_end, sizeof(zeros)) != 0) {
				perror("reserving ahead");
				exit(1);
			}
			if (mode == FS_AHEAD)
				sync_file_range(fd, zeros_end, sizeof(zeros), SYNC_FILE_RANGE_WRITE);
			zeros_end += (off_t)sizeof(zeros);
			now = bench_now_us(); /* reserving is not the page's cost */
		}
		if (pwrite(fd, buf, sizeof(buf), at) != (ssize_t)sizeof(buf) || fdatasync(fd) != 0) {
			perror("fdatasync");
			exit(1);
		}
		double t = bench_now_us();
		lat[n++] = t - now;
		now = t;
	}
	double rate = (double)n / ((now - t0) / 1e6);
	double p50 = bench_quantile(lat, n, 0.5), p99 = bench_quantile(lat, n, 0.99);
	printf("%-52s %10.0f ops/s   p50 %8.1f us   p99 %8.1f us\n", names[mode], rate, p50, p99);
	bench_row(names[mode], rate, p50, p99);
	free(lat);
	close(fd);
	unlink(path);
}

/* What the shape of a commit costs: an LMDB commit writes its dirty
 * pages (one write per run of adjacent pages), fdatasyncs, then writes
 * the meta page through a descriptor opened O_DSYNC. Three shapes, in
 * turns so that all see the same seconds of the disk: one page (the bare
 * loop's commit of a record or two), 16 adjacent pages, and 16 pages in
 * 9 runs of which 4 lie far from the rest (what a block trace showed of
 * feedbackd's commits at 10,000 records/s: docs/performance.md). The file
 * is written in full first, so no commit extends it. Also printed: the
 * commits slower than 1 ms, per thousand. */
static void s_commit_shapes(const char *dir)
{
	static const char *const names[] = {
		"commit of 1 page + meta page (ops/s)",
		"commit of 16 adjacent pages + meta page (ops/s)",
		"commit of 16 pages in 9 runs + meta page (ops/s)",
	};
	/* runs as { first page, pages }, relative to a base that alternates
	 * between two regions as LMDB's copy-on-write does */
	static const int runs[3][10][2] = {
		{ { 0, 1 } },
		{ { 0, 16 } },
		{ { -2990, 1 }, { -900, 1 }, { -420, 1 }, { -100, 1 }, { 3, 2 }, { 7, 3 }, { 12, 1 },
		  { 14, 1 }, { 16, 4 } },
	};
	static const int nruns[3] = { 1, 1, 9 };
	enum { SHAPES = 3, PAGES = 8192, PER_SHAPE = 3000 };
	static char page[16 * 4096];
	char path[600];
	snprintf(path, sizeof(path), "%s/shapes.bin", dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	int mfd = fd < 0 ? -1 : open(path, O_RDWR | O_DSYNC);
	if (fd < 0 || mfd < 0) {
		perror(path);
		exit(1);
	}
	memset(page, 'x', sizeof(page));
	for (off_t at = 0; at < (off_t)PAGES * 4096; at += (off_t)sizeof(page))
		if (pwrite(fd, page, sizeof(page), at) != (ssize_t)sizeof(page))
			exit(1);
	if (fsync(fd) != 0)
		exit(1);
	double *lat[SHAPES], busy[SHAPES] = { 0 };
	size_t slow[SHAPES] = { 0 };
	for (int k = 0; k < SHAPES; k++)
		lat[k] = calloc(PER_SHAPE, sizeof(double));
	for (int i = 0; i < SHAPES * PER_SHAPE; i++) {
		int k = i % SHAPES, base = 4000 + (i / SHAPES % 2) * 40;
		double t0 = bench_now_us();
		for (int r = 0; r < nruns[k]; r++) {
			size_t len = (size_t)runs[k][r][1] * 4096;
			if (pwrite(fd, page, len, (off_t)(base + runs[k][r][0]) * 4096) != (ssize_t)len)
				exit(1);
		}
		if (fdatasync(fd) != 0 || pwrite(mfd, page, 128, (off_t)(i % 2) * 4096 + 16) != 128) {
			perror("commit shape");
			exit(1);
		}
		double t = bench_now_us() - t0;
		lat[k][i / SHAPES] = t;
		busy[k] += t;
		slow[k] += t > 1000;
	}
	for (int k = 0; k < SHAPES; k++) {
		double rate = PER_SHAPE / (busy[k] / 1e6);
		double p50 = bench_quantile(lat[k], PER_SHAPE, 0.5);
		double p99 = bench_quantile(lat[k], PER_SHAPE, 0.99);
		printf("%-52s %10.0f ops/s   p50 %8.1f us   p99 %8.1f us   over 1 ms: %.1f per 1,000\n",
		       names[k], rate, p50, p99, 1000.0 * (double)slow[k] / PER_SHAPE);
		bench_row(names[k], rate, p50, p99);
		free(lat[k]);
	}
	close(mfd);
	close(fd);
	unlink(path);
}

/* A fresh LMDB environment in dir/name (one unnamed database), and its
 * removal. */
static MDB_env *s_env(const char *dir, const char *name, size_t mapsize, MDB_dbi *dbi,
		      char *path, size_t pathcap)
{
	MDB_env *env;
	MDB_txn *t;
	snprintf(path, pathcap, "%s/%s", dir, name);
	if (trc_mkdir_p(path) != 0 || mdb_env_create(&env) != 0)
		exit(1);
	mdb_env_set_mapsize(env, mapsize);
	if (mdb_env_open(env, path, 0, 0600) != 0)
		exit(1);
	mdb_txn_begin(env, NULL, 0, &t);
	mdb_dbi_open(t, NULL, 0, dbi);
	mdb_txn_commit(t);
	return env;
}

static void s_env_remove(MDB_env *env, const char *path)
{
	char f[700];
	mdb_env_close(env);
	snprintf(f, sizeof(f), "%s/data.mdb", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s/lock.mdb", path);
	unlink(f);
	rmdir(path);
}

/* Appends records seq+1 .. upto of vlen bytes, `batch` per durable
 * transaction; seq ends at upto. */
static void s_append(MDB_env *env, MDB_dbi dbi, uint64_t *seq, uint64_t upto, int batch,
		     size_t vlen)
{
	static uint8_t val[4096];
	memset(val, 'x', vlen);
	while (*seq < upto) {
		MDB_txn *t;
		mdb_txn_begin(env, NULL, 0, &t);
		for (int i = 0; i < batch; i++) {
			uint8_t k[8];
			trc_be64_put(k, ++*seq);
			MDB_val kv = { 8, k }, vv = { vlen, val };
			mdb_put(t, dbi, &kv, &vv, MDB_APPEND);
		}
		if (mdb_txn_commit(t) != 0)
			exit(1);
	}
}

static void s_lmdb(const char *dir, int batch)
{
	char path[600], name[96];
	MDB_dbi dbi;
	snprintf(name, sizeof(name), "lmdb-%d", batch);
	MDB_env *env = s_env(dir, name, 1ull << 30, &dbi, path, sizeof(path));
	uint64_t seq = 0, records = batch == 1 ? 2000 : (uint64_t)batch * 400;
	double t0 = bench_now_us();
	s_append(env, dbi, &seq, records, batch, 256);
	double rate = (double)records / ((bench_now_us() - t0) / 1e6);
	snprintf(name, sizeof(name), "bare LMDB durable puts, %d per transaction", batch);
	printf("%-52s %10.0f rec/s\n", name, rate);
	bench_row(name, rate, -1, -1);
	s_env_remove(env, path);
}

static void s_growth(const char *dir, int millions)
{
	char path[600];
	MDB_dbi dbi;
	MDB_env *env = s_env(dir, "lmdb-growth", (size_t)millions * 1000000 * 600 + (1ull << 30),
			     &dbi, path, sizeof(path));
	uint64_t seq = 0;
	double first = 0;
	for (int m = 1; m <= millions; m++) {
		double t0 = bench_now_us();
		s_append(env, dbi, &seq, (uint64_t)m * 1000000, 1000, 450);
		double rate = 1e6 / ((bench_now_us() - t0) / 1e6);
		if (m == 1)
			first = rate;
		char name[96];
		snprintf(name, sizeof(name), "bare LMDB growth, million %d", m);
		printf("%-52s %10.0f rec/s (%.2f of the first)\n", name, rate, rate / first);
		bench_row(name, rate, -1, -1);
	}
	s_env_remove(env, path);
}

static void s_page_cache(const char *dir)
{
	enum { MB = 1 << 20, SEG = 256, TOTAL = 1536 };
	char path[600];
	snprintf(path, sizeof(path), "%s/pagecache.bin", dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	char *buf = malloc(MB);
	if (fd < 0 || buf == NULL)
		exit(1);
	memset(buf, 'x', MB);
	double first = 0, last = 0;
	for (int seg = 0; seg < TOTAL / SEG; seg++) {
		double t0 = bench_now_us();
		for (int i = 0; i < SEG; i++)
			if (write(fd, buf, MB) != MB)
				exit(1);
		fdatasync(fd);
		double r = SEG / ((bench_now_us() - t0) / 1e6);
		if (seg == 0)
			first = r;
		last = r;
	}
	printf("%-52s %10.0f MiB/s first 256 MiB, %.0f MiB/s last\n",
	       "buffered writes into a new file", first, last);
	bench_row("new file, first 256 MiB (MiB/s)", first, -1, -1);
	bench_row("new file, last of 1.5 GiB (MiB/s)", last, -1, -1);
	free(buf);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_limits DIR | growth DIR MILLIONS\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[1], "growth") == 0) {
		/* under the same bound as traction's growth run (bench_publish) */
		static bench_memcg_t g;
		int bounded = bench_memcg_enter(&g, "trc-bench-lmdb", (long)getpid(), BENCH_GROWTH_MEMORY);
		printf("bare LMDB's memory bound: %zu MiB (%s)\n",
		       bounded == 0 ? BENCH_GROWTH_MEMORY >> 20 : 0, g.how);
		bench_section = "growth";
		s_growth(argv[2], atoi(argv[3]));
		bench_memcg_remove(&g);
		return 0;
	}
	bench_section = "limits";
	s_fdatasync(argv[1], FS_SAME);
	s_fdatasync(argv[1], FS_APPEND);
	s_fdatasync(argv[1], FS_AHEAD);
	s_fdatasync(argv[1], FS_FALLOC);
	s_commit_shapes(argv[1]);
	s_lmdb(argv[1], 1);
	s_lmdb(argv[1], 32);
	s_lmdb(argv[1], 1000);
	s_page_cache(argv[1]);
	return 0;
}
