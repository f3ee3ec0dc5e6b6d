/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus metrics of one daemon: a registry of series (counters,
 * gauges, histograms), rendered in the text exposition format 0.0.4, or
 * OpenMetrics 1.0 when a scraper asks for it, and served on a small HTTP
 * listener of the daemon's own ([metrics] in the config: address, and
 * base_port plus the daemon's offset), so that a daemon's metrics do not
 * depend on the broker or the gateway being up.
 *
 * Values are atomics (relaxed): any thread may count, and the listener's
 * thread renders while they do. Adding a series takes the registry's lock;
 * counting does not. A gauge may instead be a function, called at each
 * scrape on the listener's thread (it must be safe there: the process's
 * /proc figures, LMDB's environment info). Label sets are written by the
 * caller as `key="value",...` from names the daemon controls (services,
 * methods, codes, sources: slugs), so nothing here escapes them.
 *
 * The exposition is our own (~300 lines) rather than a client library:
 * Debian has no C client for Prometheus (prometheus-client-c is not
 * packaged), and the format is a page of text.
 */
#ifndef TRC_METRICS_H
#define TRC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct trc_metrics trc_metrics_t;
typedef struct trc_series trc_series_t;

/* A registry with the process's own series (process_*) and
 * traction_build_info{daemon, version}; NULL if out of memory. */
trc_metrics_t *trc_metrics_new(const char *daemon, const char *version);
/* Stops the listener, if any, and frees everything. */
void trc_metrics_destroy(trc_metrics_t **m_p);

/* Series of one family share a name (its help and type: the first's).
 * A counter's name ends in "_total". NULL if out of memory (counting on a
 * NULL series does nothing, so a daemon runs on without that series). */
trc_series_t *trc_metrics_counter(trc_metrics_t *m, const char *name, const char *help,
				  const char *labels);
trc_series_t *trc_metrics_gauge(trc_metrics_t *m, const char *name, const char *help,
				const char *labels);
typedef double (*trc_metric_fn)(void *ud);
/* A gauge, or with counter a counter, whose value fn gives at each scrape. */
trc_series_t *trc_metrics_func(trc_metrics_t *m, const char *name, const char *help,
			       const char *labels, bool counter, trc_metric_fn fn, void *ud);
/* A histogram with the upper bounds bounds[0..n) (increasing; +Inf is
 * added), in the unit its name says (seconds, requests). */
trc_series_t *trc_metrics_histogram(trc_metrics_t *m, const char *name, const char *help,
				    const char *labels, const double *bounds, size_t n);

/* Bounds for latencies, 50 us to 10 s, and for batch sizes, 1 to 65536. */
extern const double trc_metrics_seconds[];
extern const size_t trc_metrics_n_seconds;
extern const double trc_metrics_sizes[];
extern const size_t trc_metrics_n_sizes;

void trc_metric_add(trc_series_t *s, uint64_t n);    /* counter */
void trc_metric_store(trc_series_t *s, uint64_t v);  /* counter kept elsewhere: its value */
void trc_metric_set(trc_series_t *s, double v);      /* gauge */
void trc_metric_observe(trc_series_t *s, double v);  /* histogram */

/* The exposition, malloc'd (*len bytes, NUL-terminated); NULL if out of
 * memory. openmetrics: OpenMetrics 1.0 (counter families without _total,
 * "# EOF"), else text 0.0.4. */
char *trc_metrics_render(trc_metrics_t *m, bool openmetrics, size_t *len);

/* Serves GET /metrics on address:port (port 0: one the kernel picks) on a
 * thread of its own: 0, or a trc_err (the address cannot be bound). */
int trc_metrics_listen(trc_metrics_t *m, const char *address, unsigned port);
/* The port it listens on, 0 if none. */
unsigned trc_metrics_port(const trc_metrics_t *m);

#endif
