/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hooks the runtime calls around traction-notifyd's handlers: open
 * (its [notify] values, libcurl, the sender thread and the eventfd it
 * wakes the loop with), close, and its
 * metrics: deliveries by webhook and outcome, attempts, the queue, what
 * is in flight, and how long an attempt takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uthash.h>

#include "error.h"
#include "log.h"
#include "notifyd.h"

struct nt_series {
	char key[128];       /* family, webhook, outcome */
	trc_series_t *s;
	UT_hash_handle hh;
};

int notifyd_open(void *user, trc_store_t *store, const trc_config_t *cfg)
{
	(void)store;
	nt_state_t *st = user;
	const nt_conf_t *conf = trc_config_section(cfg, &nt_conf_section);
	if (conf == NULL)
		return TRC_EINTERNAL;
	st->conf = *conf;
	/* before any other thread exists: it is not thread-safe */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		trc_err("libcurl: global init failed");
		return TRC_EINTERNAL;
	}
	st->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->wake_fd < 0) {
		trc_err("eventfd: %s", strerror(errno));
		curl_global_cleanup();
		return TRC_ENOMEM;
	}
	int rc = nt_sender_new(&st->sender, st->wake_fd);
	if (rc != 0) {
		close(st->wake_fd);
		st->wake_fd = -1;
		curl_global_cleanup();
	}
	return rc;
}

int notifyd_tick_fd(void *user)
{
	return ((nt_state_t *)user)->wake_fd;
}

void notifyd_close(void *user)
{
	nt_state_t *st = user;
	nt_sender_destroy(&st->sender);
	nt_flights_free(st);
	if (st->wake_fd >= 0)
		close(st->wake_fd);
	st->wake_fd = -1;
	nt_series_t *e, *t;
	HASH_ITER(hh, st->series, e, t)
	{
		HASH_DEL(st->series, e);
		free(e);
	}
	st->m = NULL; /* the runtime's, gone with it */
	st->queue = st->in_flight = st->latency = NULL;
	curl_global_cleanup();
}

void notifyd_metrics(void *user, trc_metrics_t *m)
{
	nt_state_t *st = user;
	st->m = m;
	st->queue = trc_metrics_gauge(m, "traction_notify_queue_deliveries",
				      "Deliveries pending: due now, waiting for a retry, or in flight",
				      "");
	st->in_flight = trc_metrics_gauge(m, "traction_notify_in_flight_deliveries",
					  "Deliveries being sent now (all webhooks)", "");
	st->latency = trc_metrics_histogram(m, "traction_notify_attempt_seconds",
					    "One attempt of a delivery, from hand-over to the "
					    "receiver's answer or the failure",
					    "", trc_metrics_seconds, trc_metrics_n_seconds);
}

/* The counter of (family, webhook, outcome), made at its first use. */
static trc_series_t *s_counter(nt_state_t *st, const char *family, const char *help,
			       const char *webhook, const char *outcome)
{
	if (st->m == NULL)
		return NULL;
	char key[128];
	snprintf(key, sizeof(key), "%s/%s/%s", family, webhook, outcome);
	nt_series_t *e = NULL;
	HASH_FIND_STR(st->series, key, e);
	if (e != NULL)
		return e->s;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	/* a webhook's name is a slug: nothing in it needs escaping */
	char labels[160];
	snprintf(labels, sizeof(labels), "webhook=\"%s\",outcome=\"%s\"", webhook, outcome);
	e->s = trc_metrics_counter(st->m, family, help, labels);
	HASH_ADD_STR(st->series, key, e);
	return e->s;
}

void nt_count_attempt(nt_state_t *st, const char *webhook, nt_outcome_t o, double seconds)
{
	trc_metric_add(s_counter(st, "traction_notify_attempts_total",
				 "Attempts of deliveries, by webhook and outcome (delivered: a 2xx; "
				 "retry: 5xx, 408, 429, timeout, no connection; rejected: another "
				 "answer)",
				 webhook, nt_outcome_name(o)),
		       1);
	trc_metric_observe(st->latency, seconds);
}

void nt_count_final(nt_state_t *st, const char *webhook, bool delivered)
{
	trc_metric_add(s_counter(st, "traction_notify_deliveries_total",
				 "Deliveries finished, by webhook and outcome (delivered, or dead: "
				 "refused, or out of attempts or age)",
				 webhook, delivered ? "delivered" : "dead"),
		       1);
}
