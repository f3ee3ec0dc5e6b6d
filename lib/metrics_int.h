/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's insides, shared by metrics.c (series, exposition) and
 * metrics_http.c (the listener).
 */
#ifndef TRC_METRICS_INT_H
#define TRC_METRICS_INT_H

#include <pthread.h>

#include "metrics.h"

struct MHD_Daemon;

struct trc_metrics {
	pthread_mutex_t mu;      /* the list; values are atomics */
	trc_series_t *head, *tail;
	struct MHD_Daemon *mhd;
	unsigned port;
	trc_series_t *scrapes;   /* traction_metrics_scrapes_total */
};

void trc_metrics_http_stop(trc_metrics_t *m);

#endif
