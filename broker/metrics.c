/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's metrics (docs/operations.md): what it routed, refused and
 * dropped (its BrokerCounters, as `broker status` shows them), requests in
 * flight and their bytes against the budgets, each service's requests,
 * replies, errors, in flight and live instances, connections refused by
 * authentication, and the process. The loop stores its counters into the
 * series once a turn; the listener's thread renders them.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker_int.h"
#include "log.h"
#include "metrics.h"

typedef struct {
	trc_series_t *requests, *replies, *errors, *in_flight, *instances;
} svc_series_t;

/* The counters of BrokerCounters, by their field: name and help. */
static const struct {
	size_t offset;
	const char *name, *help;
} s_counters[] = {
#define C(f, n, h) { offsetof(Traction__V1__BrokerCounters, f), n, h }
	C(requests_routed, "traction_broker_requests_routed_total",
	  "Requests forwarded to a service instance"),
	C(replies_routed, "traction_broker_replies_routed_total", "Replies returned to a client"),
	C(errors_replied, "traction_broker_errors_replied_total",
	  "Requests the broker answered with an error of its own (unknown or unavailable "
	  "service, a budget, no rights)"),
	C(dropped_malformed, "traction_broker_dropped_malformed_total",
	  "Frames dropped as malformed (no reply possible)"),
	C(dropped_unroutable, "traction_broker_dropped_unroutable_total",
	  "Replies whose client had gone"),
	C(dropped_late, "traction_broker_dropped_late_total",
	  "Replies that came after the broker had given up on the request"),
	C(events_relayed, "traction_broker_events_relayed_total", "Events relayed to subscribers"),
	C(instances_expired, "traction_broker_instances_expired_total",
	  "Service instances dropped for missed heartbeats"),
	C(subscriptions_refused, "traction_broker_subscriptions_refused_total",
	  "Subscriptions refused (not a topic prefix, or past a bound)"),
#undef C
};
#define N_COUNTERS (sizeof(s_counters) / sizeof(s_counters[0]))

struct broker_metrics {
	trc_metrics_t *m;
	trc_series_t *counters[N_COUNTERS];
	trc_series_t *in_flight, *bytes, *auth_refused;
};

void broker_metrics_open(trc_broker_t *b)
{
	if (b->cfg.metrics_base_port == 0)
		return;
	broker_metrics_t *bm = calloc(1, sizeof(*bm));
	if (bm == NULL || (bm->m = trc_metrics_new("traction-broker", TRACTION_VERSION)) == NULL) {
		free(bm);
		trc_err("metrics: out of memory; the broker runs without them");
		return;
	}
	for (size_t i = 0; i < N_COUNTERS; i++)
		bm->counters[i] = trc_metrics_counter(bm->m, s_counters[i].name, s_counters[i].help, "");
	bm->in_flight = trc_metrics_gauge(bm->m, "traction_broker_in_flight_requests",
					  "Requests forwarded and not yet answered", "");
	bm->bytes = trc_metrics_gauge(bm->m, "traction_broker_in_flight_bytes",
				      "Bytes of the requests in flight (max_mb_in_flight bounds it)",
				      "");
	bm->auth_refused = trc_metrics_counter(
		bm->m, "traction_broker_auth_refused_total",
		"Connections refused by CurveZMQ authentication (unknown key, not a service key)",
		"");
	b->metrics = bm;
	/* the broker's offset is 0; a second broker's on the same host 10, a
	 * third's 11 ... (past the daemons' offsets) */
	unsigned port = b->cfg.metrics_base_port + (b->conf.instance > 1 ? 8 + b->conf.instance : 0);
	if (trc_metrics_listen(bm->m, b->cfg.metrics_address, port) != 0)
		trc_err("metrics: no listener on %s:%u; the broker runs without one",
			b->cfg.metrics_address, port);
}

void broker_metrics_close(trc_broker_t *b)
{
	broker_metrics_t *bm = b->metrics;
	if (bm == NULL)
		return;
	trc_metrics_destroy(&bm->m);
	trc_bservice_t *s, *st;
	HASH_ITER(hh, b->reg.services, s, st) {
		free(s->user);
		s->user = NULL;
	}
	free(bm);
	b->metrics = NULL;
}

static svc_series_t *s_service(broker_metrics_t *bm, trc_bservice_t *s)
{
	if (s->user != NULL)
		return s->user;
	svc_series_t *ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		return NULL;
	char l[TRC_SERVICE_NAME_MAX + 16];
	snprintf(l, sizeof(l), "service=\"%s\"", s->name);
	ss->requests = trc_metrics_counter(bm->m, "traction_broker_service_requests_total",
					   "Requests for a service", l);
	ss->replies = trc_metrics_counter(bm->m, "traction_broker_service_replies_total",
					  "Replies of a service's instances", l);
	ss->errors = trc_metrics_counter(bm->m, "traction_broker_service_errors_total",
					 "Requests for a service the broker answered with an error",
					 l);
	ss->in_flight = trc_metrics_gauge(bm->m, "traction_broker_service_in_flight_requests",
					  "A service's requests in flight", l);
	ss->instances = trc_metrics_gauge(bm->m, "traction_broker_service_instances",
					  "A service's live instances", l);
	s->user = ss;
	return ss;
}

void broker_metrics_turn(trc_broker_t *b)
{
	broker_metrics_t *bm = b->metrics;
	if (bm == NULL)
		return;
	for (size_t i = 0; i < N_COUNTERS; i++)
		trc_metric_store(bm->counters[i],
				 *(const uint64_t *)((const char *)&b->counters + s_counters[i].offset));
	trc_metric_set(bm->in_flight, b->reg.in_flight);
	trc_metric_set(bm->bytes, (double)b->reg.bytes);
	trc_metric_store(bm->auth_refused, trc_auth_refused(b->auth));
	trc_bservice_t *s, *st;
	HASH_ITER(hh, b->reg.services, s, st) {
		svc_series_t *ss = s_service(bm, s);
		if (ss == NULL)
			continue;
		trc_metric_store(ss->requests, s->requests);
		trc_metric_store(ss->replies, s->replies);
		trc_metric_store(ss->errors, s->errors);
		trc_metric_set(ss->in_flight, s->in_flight);
		trc_metric_set(ss->instances, (double)s->nworkers);
	}
}
