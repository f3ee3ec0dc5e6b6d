/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the daemon benchmarks. See bench_common.h.
 */
#include "bench_common.h"

#include <dirent.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_util.h"
#include "traction/publisher.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

const char *bench_section = "traction";

static void s_fig(double v)
{
	if (v < 0)
		printf("\t-");
	else
		printf("\t%.1f", v);
}

void bench_row(const char *name, double rate, double p50, double p99)
{
	printf("=row\t%s\t%s", bench_section, name);
	s_fig(rate);
	s_fig(p50);
	s_fig(p99);
	printf("\n");
	fflush(stdout);
}

/* The run time of every thread of pid so far, ns; -1 if unreadable. */
static double s_cpu_ns(long pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	double ns = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[96];
		unsigned long long run = 0;
		snprintf(p, sizeof(p), "/proc/%ld/task/%.20s/schedstat", pid, e->d_name);
		FILE *f = fopen(p, "r");
		if (f != NULL && fscanf(f, "%llu", &run) == 1)
			ns += (double)run;
		if (f != NULL)
			fclose(f);
	}
	closedir(d);
	return ns;
}

/* The user time of pid (every thread, live or gone) so far, ns; -1 if
 * unreadable. */
static double s_user_ns(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after the name in parentheses: state is field 3, utime field 14 */
	const char *p = strrchr(buf, ')');
	unsigned long long ut = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu", &ut) != 1)
		return -1;
	return (double)ut * 1e9 / (double)sysconf(_SC_CLK_TCK);
}

void bench_cpu_begin(bench_cpu_t *c, long pid)
{
	c->pid = pid;
	c->nfd = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL && c->nfd < BENCH_CPU_THREADS) {
		if (e->d_name[0] == '.')
			continue;
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_HARDWARE;
		a.size = sizeof(a);
		a.config = PERF_COUNT_HW_INSTRUCTIONS;
		a.exclude_kernel = 1; /* what perf_event_paranoid 2 allows */
		a.exclude_hv = 1;
		int fd = (int)syscall(SYS_perf_event_open, &a, atoi(e->d_name), -1, -1, 0);
		if (fd < 0) { /* no counter here (a VM): none at all, not a part */
			for (int i = 0; i < c->nfd; i++)
				close(c->fd[i]);
			c->nfd = -1;
			break;
		}
		c->fd[c->nfd++] = fd;
	}
	if (d != NULL)
		closedir(d);
	c->cpu_ns = s_cpu_ns(pid);
	c->user_ns = s_user_ns(pid);
}

bench_spent_t bench_cpu_end(bench_cpu_t *c)
{
	double cpu = s_cpu_ns(c->pid), user = s_user_ns(c->pid);
	bench_spent_t s = { cpu >= 0 && c->cpu_ns >= 0 ? cpu - c->cpu_ns : -1,
			    user >= 0 && c->user_ns >= 0 ? user - c->user_ns : -1,
			    c->nfd > 0 ? 0 : -1 };
	for (int i = 0; i < c->nfd; i++) {
		long long v = 0;
		if (read(c->fd[i], &v, sizeof(v)) == (ssize_t)sizeof(v))
			s.instructions += (double)v;
		close(c->fd[i]);
	}
	c->nfd = 0;
	return s;
}

void bench_measure(const char *name, bench_op_fn op, int calls, double *p50, double *p99)
{
	bench_measure_after(name, NULL, op, calls, p50, p99);
}

void bench_measure_after(const char *name, bench_op_fn pre, bench_op_fn op, int calls,
			 double *p50, double *p99)
{
	double *v = malloc(sizeof(double) * (size_t)calls);
	for (int i = 0; i < 5; i++)
		op();
	for (int i = 0; i < calls; i++) {
		if (pre != NULL)
			pre();
		double t0 = bench_now_us();
		op();
		v[i] = bench_now_us() - t0;
	}
	*p50 = bench_quantile(v, (size_t)calls, 0.50);
	*p99 = bench_quantile(v, (size_t)calls, 0.99);
	printf("%-40s p50 %9.1f us   p99 %9.1f us\n", name, *p50, *p99);
	bench_row(name, -1, *p50, *p99);
	free(v);
}

void bench_wait_applied(traction_client_t *c, const char *service, const char *source,
			uint64_t seq)
{
	for (int i = 0; i < 12000; i++) {
		Traction__V1__Empty e = TRACTION__V1__EMPTY__INIT;
		Traction__V1__PingReply *p = NULL;
		traction_status_t st;
		if (traction_call(c, service, "ping", &e.base, &traction__v1__ping_reply__descriptor,
				  (ProtobufCMessage **)&p, &st) == 0) {
			uint64_t applied = 0;
			for (size_t k = 0; k < p->n_positions; k++)
				if (strcmp(p->positions[k]->source, source) == 0)
					applied = p->positions[k]->applied_seq;
			traction_reply_free(&p->base);
			if (applied >= seq)
				return;
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "bench: %s did not catch up with %s\n", service, source);
	exit(1);
}

void bench_wait_feedback(traction_client_t *c)
{
	bench_wait_applied(c, "feedback", "supply", 2);
	bench_wait_applied(c, "feedback", "scenario", 1);
}

void bench_catalogue(traction_client_t *c, bool wait_feedback)
{
	h_catalogue(c, NULL);
	if (wait_feedback)
		bench_wait_feedback(c);
}

static void s_must(int code, const traction_status_t *st, const char *what)
{
	if (code != 0) {
		fprintf(stderr, "bench: %s: %s\n", what, st->message);
		exit(1);
	}
}

char *bench_versions(traction_client_t *c, int n)
{
	traction_status_t st;
	char *vers = calloc((size_t)n, 32);
	if (vers == NULL)
		exit(1);
	snprintf(vers, 32, "1.0");
	for (int i = 1; i < n; i++) {
		Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
		Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
		ProtobufCMessage *rep = NULL;
		char *ver = vers + (size_t)i * 32;
		snprintf(ver, 32, "v%d", i);
		it.supply_id = (char *)"defect-vision";
		it.version = ver;
		it.parent_version = vers + (size_t)(i - 1) * 32;
		it.notes = (char *)"release notes";
		req.iteration = &it;
		s_must(traction_call(c, "iteration", "record", &req.base,
				     &traction__v1__iteration_reply__descriptor, &rep, &st),
		       &st, "iteration.record");
		traction_reply_free(rep);
	}
	/* iterationd announces the registered 1.0 too: n events */
	bench_wait_applied(c, "feedback", "iteration", (uint64_t)n);
	return vers;
}

int bench_tally_result(bench_tally_t *t, int code, const char *message, bool duplicate,
		       bool own_retry)
{
	if (code == 0 && (!duplicate || own_retry)) {
		t->ok++;
		return 1;
	}
	if (t->refused + t->foreign == 0)
		snprintf(t->why, sizeof(t->why), "%s", code != 0 ? message : "a duplicate of a record "
					      "this row did not send");
	if (code != 0)
		t->refused++;
	else
		t->foreign++;
	return 0;
}

uint64_t bench_stored(traction_client_t *c, const char *version, const char *metric)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	Traction__V1__StatsReply *rep = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)version;
	q.scenario_id = (char *)"weld-line-3";
	q.metric = (char *)metric;
	int code = traction_call(c, "feedback", "stats", &q.base,
				 &traction__v1__stats_reply__descriptor, (ProtobufCMessage **)&rep, &st);
	if (code == TRACTION__V1__CODE__NOT_FOUND)
		return 0;
	s_must(code, &st, "feedback.stats");
	uint64_t n = rep->n_metrics == 1 && rep->metrics[0]->stats != NULL
			     ? rep->metrics[0]->stats->count
			     : 0;
	traction_reply_free(&rep->base);
	return n;
}

void bench_tally_check(traction_client_t *c, const bench_tally_t *t)
{
	uint64_t sent = t->ok + t->refused + t->foreign;
	if (t->refused + t->foreign > 0) {
		fprintf(stderr,
			"bench: row \"%s\": %llu of %llu records not stored by it (%llu refused, "
			"%llu duplicates of records it did not send; first: %s): the row would "
			"measure refusals, not storing; no figure\n",
			t->row, (unsigned long long)(t->refused + t->foreign), (unsigned long long)sent,
			(unsigned long long)t->refused, (unsigned long long)t->foreign, t->why);
		exit(1);
	}
	if (t->ok == 0) {
		fprintf(stderr, "bench: row \"%s\": no record stored; no figure\n", t->row);
		exit(1);
	}
	uint64_t stored = bench_stored(c, t->version, t->metric);
	if (stored != t->ok) {
		fprintf(stderr,
			"bench: row \"%s\" counts %llu records stored, but feedback.stats of its "
			"metric %s (version '%s') counts %llu; no figure\n",
			t->row, (unsigned long long)t->ok, t->metric, t->version,
			(unsigned long long)stored);
		exit(1);
	}
	printf("  checked: the store holds the %llu records of \"%s\" (metric %s)\n",
	       (unsigned long long)stored, t->row, t->metric);
}

static traction_client_t *s_qc;
static size_t s_history_bytes, s_history_versions;

/* history as timed: the reply's size is taken once, after (packing 44 KB
 * again to count it is the bench's work, not the call's) */
static bool s_history_size;

static void s_op_history(void)
{
	Traction__V1__SupplyHistoryRequest q = TRACTION__V1__SUPPLY_HISTORY_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	page.limit = 1000;
	q.supply_id = (char *)"defect-vision";
	q.page = &page;
	s_must(traction_call(s_qc, "iteration", "history", &q.base,
			     &traction__v1__supply_history_reply__descriptor, &rep, &st),
	       &st, "iteration.history");
	if (s_history_size)
		s_history_bytes = protobuf_c_message_get_packed_size(rep);
	s_history_versions = ((Traction__V1__SupplyHistoryReply *)rep)->n_versions;
	traction_reply_free(rep);
}

static void s_op_stats(void)
{
	Traction__V1__StatsRequest q = TRACTION__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	traction_status_t st;
	q.supply_id = (char *)"defect-vision";
	q.version = (char *)"1.0";
	q.scenario_id = (char *)"weld-line-3";
	s_must(traction_call(s_qc, "feedback", "stats", &q.base,
			     &traction__v1__stats_reply__descriptor, &rep, &st),
	       &st, "feedback.stats");
	traction_reply_free(rep);
}

/* A write to iterationd's store that history does not read: a version of
 * another supply (registered on first use). */
static void s_op_write(void)
{
	static int n;
	traction_status_t st;
	ProtobufCMessage *rep = NULL;
	char ver[32], parent[32];
	if (n == 0) {
		Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
		Traction__V1__SupplyRegisterRequest sr = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
		s.id = (char *)"bench-writes";
		s.provider_id = (char *)"acme";
		s.kind = TRACTION__V1__SUPPLY_KIND__SUPPLY_TOOLCHAIN;
		s.name = (char *)"Writes between history calls";
		s.initial_version = (char *)"w0";
		sr.supply = &s;
		s_must(traction_call(s_qc, "supply", "register", &sr.base,
				     &traction__v1__supply_reply__descriptor, &rep, &st),
		       &st, "supply.register");
		traction_reply_free(rep);
		/* iterationd learns of it from supplyd's events */
		for (int i = 0; i < 500; i++) {
			Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
			Traction__V1__IterationRecordRequest req =
				TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
			it.supply_id = (char *)"bench-writes";
			it.version = (char *)"w1";
			it.parent_version = (char *)"w0";
			req.iteration = &it;
			if (traction_call(s_qc, "iteration", "record", &req.base,
					  &traction__v1__iteration_reply__descriptor, &rep, &st) == 0)
				break;
			h_sleep_ms(10);
		}
		traction_reply_free(rep);
		n = 1;
	}
	Traction__V1__Iteration it = TRACTION__V1__ITERATION__INIT;
	Traction__V1__IterationRecordRequest req = TRACTION__V1__ITERATION_RECORD_REQUEST__INIT;
	snprintf(parent, sizeof(parent), "w%d", n);
	snprintf(ver, sizeof(ver), "w%d", ++n);
	it.supply_id = (char *)"bench-writes";
	it.version = ver;
	it.parent_version = parent;
	req.iteration = &it;
	s_must(traction_call(s_qc, "iteration", "record", &req.base,
			     &traction__v1__iteration_reply__descriptor, &rep, &st),
	       &st, "iteration.record");
	traction_reply_free(rep);
}

void bench_queries(traction_client_t *c, const char *suffix, int calls)
{
	char name[128];
	double p50, p99;
	s_qc = c;
	snprintf(name, sizeof(name), "iteration.history%s", suffix);
	bench_measure(name, s_op_history, calls, &p50, &p99);
	s_history_size = true;
	s_op_history();
	s_history_size = false;
	printf("  (each reply: %zu versions, %zu bytes)\n", s_history_versions, s_history_bytes);
	snprintf(name, sizeof(name), "iteration.history after a write%s", suffix);
	bench_measure_after(name, s_op_write, s_op_history, calls, &p50, &p99);
	snprintf(name, sizeof(name), "feedback.stats%s", suffix);
	bench_measure(name, s_op_stats, calls, &p50, &p99);
}

/* ---- a memory cgroup ------------------------------------------------------ */

static int s_write_file(const char *dir, const char *file, const char *text)
{
	char path[320];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) != 0 ? -1 : rc;
}

static bool s_has_memory_controller(const char *root)
{
	char path[320], line[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool yes = fgets(line, sizeof(line), f) != NULL && strstr(line, "memory") != NULL;
	fclose(f);
	return yes;
}

static bench_memcg_t *s_memcgs[4];

static void s_memcg_atexit(void)
{
	for (size_t i = 0; i < sizeof(s_memcgs) / sizeof(s_memcgs[0]); i++)
		if (s_memcgs[i] != NULL)
			bench_memcg_remove(s_memcgs[i]);
}

int bench_memcg_enter(bench_memcg_t *g, const char *name, long pid, size_t bytes)
{
	static const char v1[] = "/sys/fs/cgroup/memory", v2[] = "/sys/fs/cgroup";
	char bound[32], who[32];
	const char *root, *file;
	snprintf(bound, sizeof(bound), "%zu", bytes);
	snprintf(who, sizeof(who), "%ld", pid);
	g->path[0] = '\0';
	if (s_has_memory_controller(v2)) {
		root = v2;
		file = "memory.high";
		g->how = "cgroup v2 memory.high";
		s_write_file(v2, "cgroup.subtree_control", "+memory"); /* may be on already */
	} else if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", W_OK) == 0) {
		root = v1;
		file = "memory.limit_in_bytes";
		g->how = "cgroup v1 memory.limit_in_bytes";
	} else {
		g->how = "no writable memory cgroup: not bounded";
		return -1;
	}
	snprintf(g->path, sizeof(g->path), "%s/%s-%ld", root, name, (long)getpid());
	static bool registered;
	for (size_t i = 0; i < sizeof(s_memcgs) / sizeof(s_memcgs[0]); i++)
		if (s_memcgs[i] == NULL || s_memcgs[i] == g) {
			s_memcgs[i] = g;
			break;
		}
	if (!registered)
		registered = atexit(s_memcg_atexit) == 0;
	if ((mkdir(g->path, 0755) != 0 && access(g->path, F_OK) != 0) ||
	    s_write_file(g->path, file, bound) != 0 || s_write_file(g->path, "cgroup.procs", who) != 0) {
		g->how = "the memory cgroup refused us: not bounded";
		bench_memcg_remove(g);
		return -1;
	}
	return 0;
}

void bench_memcg_remove(bench_memcg_t *g)
{
	if (g->path[0] == '\0')
		return;
	char path[320], line[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", g->path);
	char *root = strdup(g->path);
	FILE *f = fopen(path, "r");
	if (root != NULL && f != NULL) {
		*strrchr(root, '/') = '\0';
		while (fgets(line, sizeof(line), f) != NULL)
			s_write_file(root, "cgroup.procs", line);
	}
	if (f != NULL)
		fclose(f);
	free(root);
	rmdir(g->path);
	g->path[0] = '\0';
	for (size_t i = 0; i < sizeof(s_memcgs) / sizeof(s_memcgs[0]); i++)
		if (s_memcgs[i] == g)
			s_memcgs[i] = NULL;
}

/* ---- libtraction's asynchronous publisher -------------------------------- */

typedef struct {
	double *queued_at;        /* by tag */
	double *lat;
	uint64_t nlat, acks;      /* records counted; acknowledgements of any kind */
	bench_tally_t *tally;
} pubacks_t;

/* The publisher resends only its own records, under their keys (unique
 * to it): a duplicate is a retry of a record of this row, stored once. */
static void s_pub_on_ack(void *ud, const traction_ack_t *ack)
{
	pubacks_t *a = ud;
	a->acks++;
	if (bench_tally_result(a->tally, ack->code, ack->message, ack->duplicate, true))
		a->lat[a->nlat++] = bench_now_us() - a->queued_at[ack->tag];
}

void bench_publisher_drive(const char *endpoint, uint64_t records, size_t batch, size_t in_flight,
			   bench_tally_t *tally, bench_pub_t *out)
{
	pubacks_t a = { calloc(records, sizeof(double)), calloc(records, sizeof(double)), 0, 0,
			tally };
	traction_publisher_options_t o = { .batch = batch, .max_in_flight = in_flight,
					   .max_queued = 2 * batch * in_flight, .on_ack = s_pub_on_ack,
					   .ud = &a, .timeout_ms = 30000 };
	traction_publisher_t *p = NULL;
	if (a.queued_at == NULL || a.lat == NULL || traction_publisher_new(&p, endpoint, &o) != 0) {
		fprintf(stderr, "bench: no publisher\n");
		exit(1);
	}
	static char pad[160];
	if (pad[0] == '\0')
		memset(pad, 'p', sizeof(pad) - 1);
	Traction__V1__KeyValue lab = TRACTION__V1__KEY_VALUE__INIT, *labp = &lab;
	lab.key = (char *)"site";
	lab.value = pad;
	Traction__V1__Metric m = TRACTION__V1__METRIC__INIT;
	m.name = (char *)tally->metric;
	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	r.scenario_id = (char *)"weld-line-3";
	r.supply_id = (char *)"defect-vision";
	r.version = (char *)"1.0";
	r.labels = &labp;
	r.n_labels = 1;
	r.body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
	r.metric = &m;
	double t0 = bench_now_us();
	uint64_t next = 0;
	while (a.acks < records) {
		while (next < records) {
			m.value = 0.01 + (double)(next % 100) / 1000.0;
			a.queued_at[next] = bench_now_us();
			if (traction_publish(p, &r, next) != 0)
				break; /* queue full: poll first */
			next++;
		}
		traction_publisher_poll(p, 1);
	}
	double t1 = bench_now_us();
	traction_publisher_destroy(&p);
	free(a.queued_at);
	*out = (bench_pub_t){ (double)a.nlat / ((t1 - t0) / 1e6), t1 - t0, a.lat, a.nlat };
}

traction_client_t *bench_set_start(harness_t *h)
{
	h_init(h, "[bus]\nheartbeat_ms = 1000\n[store]\nmap_size_mb = 4096\n[log]\nlevel = warning\n");
	h_start_broker(h, false);
	const char *d[] = { "traction-supplyd", "traction-scenariod", "traction-feedbackd",
			    "traction-iterationd" };
	for (int i = 0; i < 4; i++)
		h_start(h, d[i], NULL);
	if (!h_wait_live(h, "feedback", 1, 5000) || !h_wait_live(h, "iteration", 1, 5000)) {
		fprintf(stderr, "bench: the daemon set did not come up\n");
		exit(1);
	}
	traction_client_t *c = h_client(h);
	traction_client_set_timeout(c, 30000);
	return c;
}
