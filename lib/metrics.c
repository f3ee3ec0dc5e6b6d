/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of a daemon's metrics and their exposition. See metrics.h;
 * the listener is metrics_http.c.
 */
#include "metrics_int.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

const double trc_metrics_seconds[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
				       0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
				       0.5,     1,      2.5,     10 };
const size_t trc_metrics_n_seconds = sizeof(trc_metrics_seconds) / sizeof(double);
const double trc_metrics_sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384,
				     65536 };
const size_t trc_metrics_n_sizes = sizeof(trc_metrics_sizes) / sizeof(double);

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype_t;

struct trc_series {
	trc_series_t *next;
	char *name, *help, *labels;
	mtype_t type;
	uint64_t count;          /* counter; histogram: observations */
	uint64_t bits;           /* gauge: the double's bits; histogram: the sum's */
	trc_metric_fn fn;
	void *ud;
	size_t nb;
	double *bounds;
	uint64_t *buckets;       /* per bound (not cumulative) and one for +Inf */
};

static uint64_t s_bits(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	return b;
}

static double s_double(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof(v));
	return v;
}

static void s_free(trc_series_t *s)
{
	free(s->name);
	free(s->help);
	free(s->labels);
	free(s->bounds);
	free(s->buckets);
	free(s);
}

/* A series, not yet listed. */
static trc_series_t *s_new(mtype_t type, const char *name, const char *help, const char *labels)
{
	trc_series_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->type = type;
	s->name = strdup(name);
	s->help = strdup(help);
	s->labels = strdup(labels != NULL ? labels : "");
	if (s->name == NULL || s->help == NULL || s->labels == NULL) {
		s_free(s);
		return NULL;
	}
	return s;
}

/* Lists s, made in full: the listener renders it from now on. */
static trc_series_t *s_link(trc_metrics_t *m, trc_series_t *s)
{
	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&m->mu);
	if (m->tail != NULL)
		m->tail->next = s;
	else
		m->head = s;
	m->tail = s;
	pthread_mutex_unlock(&m->mu);
	return s;
}

trc_series_t *trc_metrics_counter(trc_metrics_t *m, const char *name, const char *help,
				  const char *labels)
{
	return m != NULL ? s_link(m, s_new(M_COUNTER, name, help, labels)) : NULL;
}

trc_series_t *trc_metrics_gauge(trc_metrics_t *m, const char *name, const char *help,
				const char *labels)
{
	return m != NULL ? s_link(m, s_new(M_GAUGE, name, help, labels)) : NULL;
}

trc_series_t *trc_metrics_func(trc_metrics_t *m, const char *name, const char *help,
			       const char *labels, bool counter, trc_metric_fn fn, void *ud)
{
	trc_series_t *s = m != NULL ? s_new(counter ? M_COUNTER : M_GAUGE, name, help, labels) : NULL;
	if (s != NULL) {
		s->fn = fn;
		s->ud = ud;
	}
	return m != NULL ? s_link(m, s) : NULL;
}

trc_series_t *trc_metrics_histogram(trc_metrics_t *m, const char *name, const char *help,
				    const char *labels, const double *bounds, size_t n)
{
	trc_series_t *s = m != NULL ? s_new(M_HISTOGRAM, name, help, labels) : NULL;
	if (s == NULL)
		return NULL;
	s->bounds = malloc(sizeof(double) * (n > 0 ? n : 1));
	s->buckets = calloc(n + 1, sizeof(uint64_t));
	if (s->bounds == NULL || s->buckets == NULL) {
		s_free(s);
		return NULL;
	}
	memcpy(s->bounds, bounds, sizeof(double) * n);
	s->nb = n;
	return s_link(m, s);
}

void trc_metric_add(trc_series_t *s, uint64_t n)
{
	if (s != NULL)
		__atomic_fetch_add(&s->count, n, __ATOMIC_RELAXED);
}

void trc_metric_store(trc_series_t *s, uint64_t v)
{
	if (s != NULL)
		__atomic_store_n(&s->count, v, __ATOMIC_RELAXED);
}

void trc_metric_set(trc_series_t *s, double v)
{
	if (s != NULL)
		__atomic_store_n(&s->bits, s_bits(v), __ATOMIC_RELAXED);
}

void trc_metric_observe(trc_series_t *s, double v)
{
	if (s == NULL)
		return;
	size_t i = 0;
	while (i < s->nb && v > s->bounds[i])
		i++;
	__atomic_fetch_add(&s->buckets[i], 1, __ATOMIC_RELAXED);
	uint64_t old = __atomic_load_n(&s->bits, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&s->bits, &old, s_bits(s_double(old) + v), true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
}

/* ---- the process -------------------------------------------------------------- */

/* Field k (1-based, after the command's closing parenthesis: 3 is the
 * state) of /proc/self/stat; 0 if unreadable. */
static double s_stat_field(int k)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	for (int i = 2; i < k && p != NULL; i++)
		p = strchr(p + 1, ' ');
	return p != NULL ? strtod(p + 1, NULL) : 0;
}

static double s_cpu_seconds(void *ud)
{
	(void)ud;
	return (s_stat_field(14) + s_stat_field(15)) / (double)sysconf(_SC_CLK_TCK);
}

static double s_rss_bytes(void *ud)
{
	(void)ud;
	return s_stat_field(24) * (double)sysconf(_SC_PAGESIZE);
}

static double s_vm_bytes(void *ud)
{
	(void)ud;
	return s_stat_field(23);
}

static double s_open_fds(void *ud)
{
	(void)ud;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	double n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static double s_max_fds(void *ud)
{
	(void)ud;
	struct rlimit rl;
	return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : 0;
}

static void s_process(trc_metrics_t *m, const char *daemon, const char *version)
{
	trc_metrics_func(m, "process_cpu_seconds_total", "User and system CPU time spent, seconds",
			 "", true, s_cpu_seconds, NULL);
	trc_metrics_func(m, "process_resident_memory_bytes", "Resident memory size, bytes", "",
			 false, s_rss_bytes, NULL);
	trc_metrics_func(m, "process_virtual_memory_bytes", "Virtual memory size, bytes", "",
			 false, s_vm_bytes, NULL);
	trc_metrics_func(m, "process_open_fds", "Open file descriptors", "", false, s_open_fds,
			 NULL);
	trc_metrics_func(m, "process_max_fds", "The most file descriptors the process may open",
			 "", false, s_max_fds, NULL);
	trc_metric_set(trc_metrics_gauge(m, "process_start_time_seconds",
					 "When the process started, seconds since the epoch", ""),
		       (double)time(NULL));
	char labels[256];
	snprintf(labels, sizeof(labels), "daemon=\"%s\",version=\"%s\"", daemon, version);
	trc_metric_set(trc_metrics_gauge(m, "traction_build_info",
					 "The daemon and its version (always 1)", labels),
		       1);
}

trc_metrics_t *trc_metrics_new(const char *daemon, const char *version)
{
	trc_metrics_t *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	s_process(m, daemon, version);
	return m;
}

void trc_metrics_destroy(trc_metrics_t **m_p)
{
	trc_metrics_t *m = *m_p;
	if (m == NULL)
		return;
	trc_metrics_http_stop(m);
	for (trc_series_t *s = m->head, *next; s != NULL; s = next) {
		next = s->next;
		s_free(s);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
	*m_p = NULL;
}

/* ---- the exposition ------------------------------------------------------------ */

typedef struct {
	char *p;
	size_t n, cap;
	bool oom;
} buf_t;

__attribute__((format(printf, 2, 3))) static void s_put(buf_t *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		size_t ncap = (b->cap + (size_t)k + 1) * 2;
		char *np = b->oom ? NULL : realloc(b->p, ncap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* A sample's labels: the series', and one more (le) if given. */
static void s_labels(buf_t *b, const trc_series_t *s, const char *le)
{
	if (s->labels[0] == '\0' && le == NULL)
		return;
	s_put(b, "{%s%s%s%s%s}", s->labels, s->labels[0] != '\0' && le != NULL ? "," : "",
	      le != NULL ? "le=\"" : "", le != NULL ? le : "", le != NULL ? "\"" : "");
}

static void s_value(buf_t *b, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		s_put(b, " %lld\n", (long long)v);
	else
		s_put(b, " %.17g\n", v);
}

static void s_histogram(buf_t *b, const trc_series_t *s)
{
	uint64_t cum = 0;
	char le[32];
	for (size_t i = 0; i <= s->nb; i++) {
		cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
		if (i < s->nb)
			snprintf(le, sizeof(le), "%.17g", s->bounds[i]);
		s_put(b, "%s_bucket", s->name);
		s_labels(b, s, i < s->nb ? le : "+Inf");
		s_value(b, (double)cum);
	}
	s_put(b, "%s_sum", s->name);
	s_labels(b, s, NULL);
	s_value(b, s_double(__atomic_load_n(&s->bits, __ATOMIC_RELAXED)));
	/* the count is the +Inf bucket's, read once: the two never disagree */
	s_put(b, "%s_count", s->name);
	s_labels(b, s, NULL);
	s_value(b, (double)cum);
}

static void s_sample(buf_t *b, const trc_series_t *s)
{
	if (s->type == M_HISTOGRAM) {
		s_histogram(b, s);
		return;
	}
	trc_metric_fn fn = s->fn;
	double v = fn != NULL		 ? fn(s->ud)
		   : s->type == M_COUNTER ? (double)__atomic_load_n(&s->count, __ATOMIC_RELAXED)
					  : s_double(__atomic_load_n(&s->bits, __ATOMIC_RELAXED));
	s_put(b, "%s", s->name);
	s_labels(b, s, NULL);
	s_value(b, v);
}

static const char *s_type(mtype_t t)
{
	return t == M_COUNTER ? "counter" : t == M_GAUGE ? "gauge" : "histogram";
}

static bool s_seen_before(const trc_metrics_t *m, const trc_series_t *s)
{
	for (const trc_series_t *o = m->head; o != s; o = o->next)
		if (strcmp(o->name, s->name) == 0)
			return true;
	return false;
}

char *trc_metrics_render(trc_metrics_t *m, bool openmetrics, size_t *len)
{
	buf_t b = { malloc(16384), 0, 16384, false };
	if (b.p == NULL)
		return NULL;
	pthread_mutex_lock(&m->mu);
	for (const trc_series_t *f = m->head; f != NULL; f = f->next) {
		if (s_seen_before(m, f))
			continue;
		/* OpenMetrics names a counter's family without _total */
		size_t nl = strlen(f->name);
		int fam = (int)(openmetrics && f->type == M_COUNTER && nl > 6 &&
						strcmp(f->name + nl - 6, "_total") == 0
					? nl - 6
					: nl);
		s_put(&b, "# HELP %.*s %s\n# TYPE %.*s %s\n", fam, f->name, f->help, fam, f->name,
		      s_type(f->type));
		for (const trc_series_t *s = f; s != NULL; s = s->next)
			if (strcmp(s->name, f->name) == 0)
				s_sample(&b, s);
	}
	pthread_mutex_unlock(&m->mu);
	if (openmetrics)
		s_put(&b, "# EOF\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}
