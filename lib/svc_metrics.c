/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A service daemon's metrics (docs/operations.md lists them): requests by
 * service, method and code and their latency from arrival to reply; the
 * group commit (apply, LMDB's commit with its fdatasync, batch sizes);
 * what waits in the loop; the store's map; its event log's head and each
 * source's position and lag; replays. The loop counts (requests, the
 * settled batch, the turn's gauges); the listener's thread renders. A
 * leaf of the runtime: it calls nothing above it.
 */
#include "service_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "traction/v1/common.pb-c.h"

int64_t svc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the store, at each scrape ------------------------------------------------------ */

static double s_map_bytes(void *ud)
{
	MDB_envinfo info;
	return mdb_env_info(trc_store_env(ud), &info) == 0 ? (double)info.me_mapsize : 0;
}

static double s_used_bytes(void *ud)
{
	MDB_envinfo info;
	MDB_stat st;
	MDB_env *env = trc_store_env(ud);
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0)
		return 0;
	return (double)(info.me_last_pgno + 1) * st.ms_psize;
}

static double s_readers(void *ud)
{
	MDB_envinfo info;
	return mdb_env_info(trc_store_env(ud), &info) == 0 ? (double)info.me_numreaders : 0;
}

/* Entries of one database (feedbackd's records: the records stored), from
 * a read transaction of the listener's thread (MDB_NOTLS). */
typedef struct {
	trc_store_t *store;
	const trc_db_t *db;
} db_ref_t;

static double s_entries(void *ud)
{
	const db_ref_t *r = ud;
	trc_txn_t txn;
	size_t n = 0;
	if (trc_txn_begin(r->store, &txn, false) != 0)
		return 0;
	int rc = trc_txn_entries(&txn, r->db, &n);
	trc_txn_abort(&txn);
	return rc == 0 ? (double)n : 0;
}

/* ---- setting up ---------------------------------------------------------------------- */

static void s_databases(trc_service_t *svc, svc_metrics_t *sm)
{
	size_t n = svc->def->dbs != NULL ? svc->def->dbs->n : 0;
	sm->dbs = calloc(n > 0 ? n : 1, sizeof(db_ref_t));
	db_ref_t *refs = sm->dbs;
	for (size_t i = 0; refs != NULL && i < n; i++) {
		char l[128];
		refs[i] = (db_ref_t){ svc->store, trc_store_db(svc->store, (unsigned)i) };
		snprintf(l, sizeof(l), "db=\"%s\"", trc_db_name(refs[i].db));
		trc_metrics_func(sm->m, "traction_store_entries",
				 "Entries of one of the store's databases (feedbackd's records: "
				 "the feedback records stored)",
				 l, false, s_entries, &refs[i]);
	}
}


static void s_consumers(trc_service_t *svc, svc_metrics_t *sm)
{
	sm->cons = calloc(svc->ncons > 0 ? svc->ncons : 1, sizeof(*sm->cons));
	if (sm->cons == NULL)
		return;
	for (size_t i = 0; i < svc->ncons; i++) {
		char l[128];
		snprintf(l, sizeof(l), "source=\"%s\"", svc->cons[i].source);
		sm->cons[i].applied = trc_metrics_gauge(
			sm->m, "traction_consumer_applied_seq",
			"The last event of a consumed source applied to this daemon's store", l);
		sm->cons[i].lag = trc_metrics_gauge(
			sm->m, "traction_consumer_lag_events",
			"Events of a consumed source seen or announced but not applied here yet", l);
		sm->cons[i].replays = trc_metrics_counter(
			sm->m, "traction_consumer_replays_total",
			"Replays asked of a consumed source (a gap, a poll, a restart)", l);
	}
}

static void s_runtime(trc_service_t *svc, svc_metrics_t *sm)
{
	trc_metrics_t *m = sm->m;
	sm->apply = trc_metrics_histogram(m, "traction_batch_apply_seconds",
					  "Applying a batch's writes and events, before the commit",
					  "", trc_metrics_seconds, trc_metrics_n_seconds);
	sm->commit = trc_metrics_histogram(
		m, "traction_store_commit_seconds",
		"LMDB's commit of a batch: its pages written and the fdatasync", "",
		trc_metrics_seconds, trc_metrics_n_seconds);
	sm->batch = trc_metrics_histogram(m, "traction_batch_requests",
					  "Write requests and events in one group commit", "",
					  trc_metrics_sizes, trc_metrics_n_sizes);
	sm->failed = trc_metrics_counter(m, "traction_commits_failed_total",
					 "Group commits that failed (every write refused)", "");
	sm->queued = trc_metrics_gauge(m, "traction_queue_requests",
				       "Writes waiting in the loop's batch for the next commit", "");
	sm->held = trc_metrics_gauge(m, "traction_set_aside_requests",
				     "Writes set aside past a full batch (reads go first)", "");
	sm->parked = trc_metrics_gauge(
		m, "traction_waiting_requests",
		"Requests waiting to be served (Header.after, a long poll, catching up)", "");
	sm->busy = trc_metrics_gauge(m, "traction_writer_busy",
				     "1 while the writer thread commits a batch", "");
	sm->refused = trc_metrics_counter(
		m, "traction_requests_unrouted_total",
		"Requests answered before a method was known (malformed, unknown, no memory)", "");
	trc_metrics_func(m, "traction_store_map_bytes", "The store's LMDB map size", "", false,
			 s_map_bytes, svc->store);
	trc_metrics_func(m, "traction_store_used_bytes", "The store's pages in use, bytes", "",
			 false, s_used_bytes, svc->store);
	trc_metrics_func(m, "traction_store_readers", "LMDB reader slots in use", "", false,
			 s_readers, svc->store);
	if (svc->evlog != NULL) {
		char l[128];
		snprintf(l, sizeof(l), "source=\"%s\"", trc_evlog_source(svc->evlog));
		sm->head = trc_metrics_gauge(m, "traction_event_head_seq",
					     "The last event this daemon's event log committed", l);
		sm->trimmed = trc_metrics_counter(
			m, "traction_events_trimmed_total",
			"Events the event log's trim deleted (past the retention, not the newest "
			"of a record)",
			l);
	}
	s_consumers(svc, sm);
}

int svc_metrics_open(trc_service_t *svc)
{
	if (svc->cfg.metrics_base_port == 0)
		return 0;
	svc_metrics_t *sm = &svc->metrics;
	sm->m = trc_metrics_new(svc->def->program, TRACTION_VERSION);
	if (sm->m == NULL)
		return TRC_ENOMEM;
	s_runtime(svc, sm);
	s_databases(svc, sm);
	if (svc->def->metrics != NULL)
		svc->def->metrics(svc->def->user, sm->m);
	unsigned port = svc->cfg.metrics_base_port + svc->def->metrics_offset;
	/* metrics are not worth stopping the daemon for: said, and left out */
	if (trc_metrics_listen(sm->m, svc->cfg.metrics_address, port) != 0)
		trc_err("metrics: no listener on %s:%u; this daemon runs without one",
			svc->cfg.metrics_address, port);
	return 0;
}

void svc_metrics_close(trc_service_t *svc)
{
	svc_metrics_t *sm = &svc->metrics;
	trc_metrics_destroy(&sm->m);
	free(sm->cons);
	free(sm->req);
	free(sm->dbs);
	memset(sm, 0, sizeof(*sm));
}

/* ---- counting ------------------------------------------------------------------------- */

/* The series of (method, code), made at its first use. Open addressing
 * keyed by the method's entry and the code; grown at half full. */
static req_series_t *s_req(svc_metrics_t *sm, const trc_method_t *mt, int code)
{
	if (sm->nreq * 2 >= sm->capreq) {
		size_t ncap = sm->capreq > 0 ? sm->capreq * 2 : 64;
		req_series_t *nv = calloc(ncap, sizeof(*nv));
		if (nv == NULL)
			return NULL;
		for (size_t i = 0; i < sm->capreq; i++) {
			req_series_t *e = &sm->req[i];
			if (e->mt == NULL)
				continue;
			size_t h = ((uintptr_t)e->mt / 8 + (size_t)e->code * 31) & (ncap - 1);
			while (nv[h].mt != NULL)
				h = (h + 1) & (ncap - 1);
			nv[h] = *e;
		}
		free(sm->req);
		sm->req = nv;
		sm->capreq = ncap;
	}
	size_t h = ((uintptr_t)mt / 8 + (size_t)code * 31) & (sm->capreq - 1);
	while (sm->req[h].mt != NULL && (sm->req[h].mt != mt || sm->req[h].code != code))
		h = (h + 1) & (sm->capreq - 1);
	if (sm->req[h].mt == NULL) {
		sm->req[h].mt = mt;
		sm->req[h].code = code;
		sm->nreq++;
	}
	return &sm->req[h];
}

void svc_metrics_request(trc_service_t *svc, const work_t *w)
{
	svc_metrics_t *sm = &svc->metrics;
	if (sm->m == NULL || w->method == NULL || w->h == NULL)
		return;
	int code = w->code >= 0 && w->code <= 16 ? w->code : 2; /* UNKNOWN */
	req_series_t *e = s_req(sm, w->method, code);
	if (e == NULL)
		return;
	if (e->count == NULL) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(&traction__v1__code__descriptor, code);
		char l[256];
		snprintf(l, sizeof(l), "service=\"%s\",method=\"%s\",code=\"%s\"", w->h->service,
			 w->h->method, v != NULL ? v->name : "UNKNOWN");
		e->count = trc_metrics_counter(sm->m, "traction_requests_total",
					       "Requests answered, by service, method and code", l);
		/* one latency histogram a method: that of its code OK entry */
		req_series_t *ok = code == 0 ? e : s_req(sm, w->method, 0);
		if (ok != NULL && ok->latency == NULL) {
			snprintf(l, sizeof(l), "service=\"%s\",method=\"%s\"", w->h->service,
				 w->h->method);
			ok->latency = trc_metrics_histogram(
				sm->m, "traction_request_seconds",
				"From a request's arrival in the daemon to its reply", l,
				trc_metrics_seconds, trc_metrics_n_seconds);
		}
		e = s_req(sm, w->method, code); /* the table may have grown */
		if (e == NULL)
			return;
	}
	trc_metric_add(e->count, 1);
	req_series_t *ok = code == 0 ? e : s_req(sm, w->method, 0);
	if (ok != NULL && w->arrived_us > 0)
		trc_metric_observe(ok->latency, (double)(svc_now_us() - w->arrived_us) / 1e6);
}

void svc_metrics_unrouted(trc_service_t *svc)
{
	trc_metric_add(svc->metrics.refused, 1);
}

void svc_metrics_batch(trc_service_t *svc, const batch_t *b)
{
	svc_metrics_t *sm = &svc->metrics;
	if (sm->m == NULL)
		return;
	trc_metric_observe(sm->batch, (double)b->writes.n);
	trc_metric_observe(sm->apply, (double)b->apply_us / 1e6);
	if (b->commit_us > 0)
		trc_metric_observe(sm->commit, (double)b->commit_us / 1e6);
	if (b->rc != 0)
		trc_metric_add(sm->failed, 1);
}

void svc_metrics_turn(trc_service_t *svc)
{
	svc_metrics_t *sm = &svc->metrics;
	if (sm->m == NULL)
		return;
	trc_metric_set(sm->queued, (double)svc->fill->writes.n);
	trc_metric_set(sm->held, (double)svc->nheld);
	trc_metric_set(sm->parked, (double)svc->nparked);
	trc_metric_set(sm->busy, svc->run != NULL ? 1 : 0);
	trc_metric_set(sm->head, (double)svc->head);
	for (size_t i = 0; sm->cons != NULL && i < svc->ncons; i++) {
		const consumer_t *c = &svc->cons[i];
		uint64_t seen = c->queued > c->head ? c->queued : c->head;
		trc_metric_set(sm->cons[i].applied, (double)c->applied);
		trc_metric_set(sm->cons[i].lag, seen > c->applied ? (double)(seen - c->applied) : 0);
	}
}

void svc_metrics_trimmed(trc_service_t *svc, size_t n)
{
	if (svc->metrics.trimmed != NULL && n > 0)
		trc_metric_add(svc->metrics.trimmed, n);
}

void svc_metrics_replay(trc_service_t *svc, const consumer_t *c)
{
	if (svc->metrics.cons != NULL)
		trc_metric_add(svc->metrics.cons[c - svc->cons].replays, 1);
}
