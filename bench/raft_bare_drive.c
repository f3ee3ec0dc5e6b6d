/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What talks to bare C-Raft nodes (raft_bare.h): the control client, the
 * `ctl` mode the harness's test uses, and the benchmark driver (`bench`),
 * which starts three nodes -- on loopback, or each in a network namespace
 * through `ip netns exec` -- and prints for bench/compare.sh:
 *   entries/s (and MB/s) with K entries of S bytes in flight on the leader,
 *   with the p50/p99 of an entry from raft_apply to applied on the leader;
 *   the time from SIGKILL of the leader to an entry applied through a new
 *   leader, p50/p99 over N kills (each killed node restarted from its
 *   data directory and caught up before the next kill).
 * Nodes are stopped by their pids however the driver ends.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft_bare.h"

int bare_members(const char *list, char addr[][64], int max)
{
	int n = 0;
	const char *p = list;
	while (p != NULL && *p != '\0') {
		int id, len;
		if (n == max || sscanf(p, "%d=%n", &id, &len) != 1 || id != n + 1)
			goto bad;
		p += len;
		size_t a = strcspn(p, ",");
		if (a == 0 || a >= 64 || memchr(p, ':', a) == NULL)
			goto bad;
		memcpy(addr[n], p, a);
		addr[n++][a] = '\0';
		p += a;
		if (*p == ',')
			p++;
	}
	if (n > 0)
		return n;
bad:
	fprintf(stderr, "raft-bare: members \"%s\": want 1=HOST:PORT,2=HOST:PORT,... in id order\n",
		list);
	return -1;
}

void bare_ctl_path(const char *dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/ctl.sock", dir);
}

static uint64_t s_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int bare_ctl_call(const char *dir, const char *line, int timeout_ms, char *out, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bare_ctl_path(dir, sa.sun_path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	size_t len = 0, n = strlen(line);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || write(fd, line, n) != (ssize_t)n ||
	    write(fd, "\n", 1) != 1)
		goto fail;
	uint64_t end = s_now_ms() + (uint64_t)timeout_ms;
	while (len + 1 < cap) {
		uint64_t now = s_now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			goto fail;
		ssize_t r = read(fd, out + len, cap - 1 - len);
		if (r <= 0)
			goto fail;
		len += (size_t)r;
		out[len] = '\0';
		char *nl = strchr(out, '\n');
		if (nl != NULL) {
			*nl = '\0';
			close(fd);
			return 0;
		}
	}
fail:
	close(fd);
	if (cap > 0)
		out[0] = '\0';
	return -1;
}

uint64_t bare_field(const char *reply, const char *key, uint64_t def)
{
	size_t k = strlen(key);
	for (const char *p = reply; (p = strstr(p, key)) != NULL; p += k) {
		if ((p == reply || p[-1] == ' ') && p[k] == '=')
			return strtoull(p + k + 1, NULL, 10);
	}
	return def;
}

/* trc-raft-bare ctl DIR [--timeout MS] WORD...: one command, its reply on
 * stdout; exit 1 if the node did not answer. */
int bare_ctl_main(int argc, char **argv)
{
	int timeout = 5000, i = 1;
	if (argc > 2 && strcmp(argv[1], "--timeout") == 0) {
		timeout = atoi(argv[2]);
		i = 3;
	}
	if (argc <= i) {
		fprintf(stderr, "usage: trc-raft-bare ctl DIR [--timeout MS] status | apply SIZE MS | "
			"load K SIZE MS\n");
		return 2;
	}
	char line[BARE_LINE] = "", reply[BARE_LINE];
	for (; i < argc; i++) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, "%s%s", l ? " " : "", argv[i]);
	}
	if (bare_ctl_call(argv[0], line, timeout, reply, sizeof(reply)) != 0) {
		fprintf(stderr, "raft-bare ctl: %s: no answer to \"%s\"\n", argv[0], line);
		return 1;
	}
	printf("%s\n", reply);
	return 0;
}

/* ---- the benchmark driver ------------------------------------------------- */

typedef struct {
	const char *base, *members, *label;
	char netns[BARE_NODES_MAX][64];
	char loads[8][32];
	int nloads, secs, kills, n;
	const char *election_ms, *heartbeat_ms;
	char self[4096];
	char dir[BARE_NODES_MAX][300];
	pid_t pid[BARE_NODES_MAX];
} drive_t;

static drive_t D;

static void s_kill_all(int sig)
{
	for (int i = 0; i < D.n; i++)
		if (D.pid[i] > 0)
			kill(D.pid[i], sig);
	for (int i = 0; i < D.n; i++)
		if (D.pid[i] > 0)
			waitpid(D.pid[i], NULL, 0);
}

static void s_on_signal(int sig)
{
	s_kill_all(SIGKILL);
	_exit(128 + sig);
}

static void s_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void s_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "raft-bare bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (node logs: %s/n*.log)\n", D.base);
	s_kill_all(SIGKILL);
	exit(1);
}

/* Node i (0-based) from its data directory, in its namespace if any. */
static void s_spawn(int i)
{
	char id[16], log[320];
	snprintf(id, sizeof(id), "%d", i + 1);
	snprintf(log, sizeof(log), "%s/n%d.log", D.base, i + 1);
	pid_t p = fork();
	if (p < 0)
		s_die("fork: %s", strerror(errno));
	if (p == 0) {
		FILE *f = fopen(log, "a");
		if (f != NULL)
			dup2(fileno(f), 2);
		const char *argv[20] = {"ip", "netns", "exec", D.netns[i]};
		int a = D.netns[i][0] ? 4 : 0;
		const char *rest[] = {D.self, "node", "--id", id, "--dir", D.dir[i], "--members",
				      D.members, "--election-ms", D.election_ms, "--heartbeat-ms",
				      D.heartbeat_ms, NULL};
		memcpy(argv + a, rest, sizeof(rest));
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	D.pid[i] = p;
}

/* The leader's index once it has applied an entry of its own term (so it
 * can commit), within ms; -1 if none. */
static int s_leader(uint64_t ms)
{
	char r[BARE_LINE];
	for (uint64_t end = s_now_ms() + ms; s_now_ms() < end; usleep(10000)) {
		for (int i = 0; i < D.n; i++) {
			if (D.pid[i] <= 0 || bare_ctl_call(D.dir[i], "status", 500, r, sizeof(r)) != 0 ||
			    strstr(r, " state=leader ") == NULL)
				continue;
			if (bare_ctl_call(D.dir[i], "apply 8 1000", 1500, r, sizeof(r)) == 0 &&
			    strncmp(r, "applied ", 8) == 0)
				return i;
		}
	}
	return -1;
}

/* Until every node has applied what node i has, within ms. */
static int s_caught_up(int i, uint64_t ms)
{
	char r[BARE_LINE];
	if (bare_ctl_call(D.dir[i], "status", 1000, r, sizeof(r)) != 0)
		return -1;
	uint64_t want = bare_field(r, "count", 0);
	for (uint64_t end = s_now_ms() + ms; s_now_ms() < end; usleep(10000)) {
		int behind = 0;
		for (int j = 0; j < D.n; j++)
			if (bare_ctl_call(D.dir[j], "status", 1000, r, sizeof(r)) != 0 ||
			    bare_field(r, "count", 0) < want)
				behind++;
		if (behind == 0)
			return 0;
	}
	return -1;
}

static void s_row(const char *name, double v, double p50, double p99)
{
	printf("=row\traft\t%s", name);
	double f[3] = {v, p50, p99};
	for (int i = 0; i < 3; i++) {
		if (f[i] < 0)
			printf("\t-");
		else
			printf("\t%.1f", f[i]);
	}
	printf("\n");
	fflush(stdout);
}

/* One load K:S on the leader for D.secs; its rows. */
static void s_load(const char *spec)
{
	int k, size, leader = s_leader(10000);
	char cmd[64], r[BARE_LINE], name[256];
	if (sscanf(spec, "%d:%d", &k, &size) != 2 || leader < 0)
		s_die("load %s: no leader (or not K:SIZE, SIZE a multiple of 8)", spec);
	snprintf(cmd, sizeof(cmd), "load %d %d %d", k, size, D.secs * 1000);
	if (bare_ctl_call(D.dir[leader], cmd, D.secs * 1000 + 30000, r, sizeof(r)) != 0 ||
	    strncmp(r, "load ", 5) != 0 || bare_field(r, "failed", 1) != 0)
		s_die("load: %s", r[0] ? r : "no answer");
	double rate = strtod(strstr(r, " rate=") + 6, NULL), mbps = strtod(strstr(r, " mbps=") + 6, NULL);
	double p50 = strtod(strstr(r, " p50_us=") + 8, NULL), p99 = strtod(strstr(r, " p99_us=") + 8, NULL);
	printf("# %s: %d x %d B in flight for %d s: %.0f entries/s, %.2f MB/s, entry p50 %.0f us, "
	       "p99 %.0f us\n", D.label, k, size, D.secs, rate, mbps, p50, p99);
	snprintf(name, sizeof(name), "bare C-Raft, 3 nodes (%s), %d-byte entries, %d in flight "
		 "(entries/s; an entry, raft_apply to applied on the leader)", D.label, size, k);
	s_row(name, rate, p50, p99);
	snprintf(name, sizeof(name), "bare C-Raft, 3 nodes (%s), %d-byte entries, %d in flight, kB/s "
		 "of entries", D.label, size, k);
	s_row(name, mbps * 1000, -1, -1);
}

static int s_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* From SIGKILL of node i (the leader) to an entry applied through another. */
static uint64_t s_kill_one(int i)
{
	char r[BARE_LINE];
	uint64_t t0 = s_now_ms();
	kill(D.pid[i], SIGKILL);
	waitpid(D.pid[i], NULL, 0);
	D.pid[i] = 0;
	for (uint64_t end = t0 + 30000; s_now_ms() < end; usleep(5000)) {
		for (int j = 0; j < D.n; j++) {
			if (j == i || bare_ctl_call(D.dir[j], "status", 500, r, sizeof(r)) != 0 ||
			    strstr(r, " state=leader ") == NULL)
				continue;
			if (bare_ctl_call(D.dir[j], "apply 8 3000", 3500, r, sizeof(r)) == 0 &&
			    strncmp(r, "applied ", 8) == 0)
				return s_now_ms() - t0;
		}
	}
	s_die("no entry applied within 30 s of killing node %d (the leader)", i + 1);
}

static void s_kills(void)
{
	uint64_t *gap = calloc((size_t)D.kills, sizeof(*gap));
	char name[256];
	if (gap == NULL)
		s_die("out of memory");
	printf("# %s: writes resume after a leader SIGKILL (ms):", D.label);
	for (int k = 0; k < D.kills; k++) {
		int leader = s_leader(10000);
		if (leader < 0 || s_caught_up(leader, 10000) != 0)
			s_die("kill %d: no leader, or a node behind", k + 1);
		gap[k] = s_kill_one(leader);
		printf(" %llu", (unsigned long long)gap[k]);
		fflush(stdout);
		s_spawn(leader);
	}
	printf("\n");
	qsort(gap, (size_t)D.kills, sizeof(*gap), s_cmp_u64);
	snprintf(name, sizeof(name), "bare C-Raft, 3 nodes (%s): writes resume after a leader SIGKILL, "
		 "%d kills (p50, p99: kill to an entry applied through a new leader)", D.label, D.kills);
	size_t p99 = (size_t)(D.kills * 99) / 100;
	s_row(name, -1, (double)gap[D.kills / 2] * 1000, (double)gap[p99] * 1000);
	free(gap);
}

static int s_bench_args(int argc, char **argv)
{
	D = (drive_t){.label = "loopback", .secs = 5, .election_ms = "1000", .heartbeat_ms = "100"};
	const char *netns = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--dir") == 0)
			D.base = v;
		else if (strcmp(k, "--members") == 0)
			D.members = v;
		else if (strcmp(k, "--netns") == 0)
			netns = v;
		else if (strcmp(k, "--label") == 0)
			D.label = v;
		else if (strcmp(k, "--load") == 0 && D.nloads < 8)
			snprintf(D.loads[D.nloads++], sizeof(D.loads[0]), "%s", v);
		else if (strcmp(k, "--secs") == 0)
			D.secs = atoi(v);
		else if (strcmp(k, "--kills") == 0)
			D.kills = atoi(v);
		else if (strcmp(k, "--election-ms") == 0)
			D.election_ms = v;
		else if (strcmp(k, "--heartbeat-ms") == 0)
			D.heartbeat_ms = v;
		else
			return -1;
	}
	char addr[BARE_NODES_MAX][64];
	if (argc % 2 != 0 || D.base == NULL || D.members == NULL || D.secs < 1 || D.kills < 0 ||
	    (D.n = bare_members(D.members, addr, BARE_NODES_MAX)) < 3)
		return -1;
	for (int i = 0; netns != NULL && i < D.n; i++) {
		size_t a = strcspn(netns, ",");
		if (a == 0 || a >= sizeof(D.netns[i]))
			return -1;
		memcpy(D.netns[i], netns, a);
		netns += a + (netns[a] == ',');
	}
	return 0;
}

/* trc-raft-bare bench --dir BASE --members 1=H:P,2=H:P,3=H:P [--netns NS1,NS2,NS3]
 * [--label TEXT] [--load K:SIZE]... [--secs S] [--kills N] */
int bare_bench_main(int argc, char **argv, const char *self)
{
	if (s_bench_args(argc, argv) != 0) {
		fprintf(stderr, "usage: trc-raft-bare bench --dir BASE --members 1=HOST:PORT,2=...,3=... "
			"[--netns NS1,NS2,NS3] [--label TEXT] [--load K:SIZE]... [--secs 5] [--kills N] "
			"[--election-ms 1000] [--heartbeat-ms 100]\n");
		return 2;
	}
	ssize_t l = readlink("/proc/self/exe", D.self, sizeof(D.self) - 1);
	if (l <= 0)
		snprintf(D.self, sizeof(D.self), "%s", self);
	signal(SIGINT, s_on_signal);
	signal(SIGTERM, s_on_signal);
	for (int i = 0; i < D.n; i++) {
		snprintf(D.dir[i], sizeof(D.dir[i]), "%s/n%d", D.base, i + 1);
		s_spawn(i);
	}
	if (D.nloads == 0 && D.kills == 0)
		snprintf(D.loads[D.nloads++], sizeof(D.loads[0]), "1:256");
	for (int i = 0; i < D.nloads; i++)
		s_load(D.loads[i]);
	if (D.kills > 0)
		s_kills();
	s_kill_all(SIGTERM);
	return 0;
}
