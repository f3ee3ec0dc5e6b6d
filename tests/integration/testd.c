/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-testd: a small real daemon on the real service runtime
 * (lib/service.c), for testing what the runtime promises independently of
 * any one service: group commit, nested rollback, events written with the
 * change and published after the commit, replay on start and on a gap.
 *
 * TESTD_MODE=producer (default): service "kv", writes events as source
 * "supply" (topic "supply.registered", payload Supply{id=key,
 * description=value}).
 * TESTD_MODE=consumer: service "mirror" (or TESTD_SERVICE, also its state
 * directory's name), applies the producer's events into its own store, and
 * with TESTD_SERVICE notes each sequence it applied: one applied twice is
 * counted (method "dups"). The producer's events are keyed by their key (evlog.h), so its
 * log is compacted past [events] keep_max (method "log": its size).
 * TESTD_MODE=alerts: stands in for feedbackd as the source of alerts
 * (until its rule evaluation lands): service "feedback", method "alert"
 * (an Alert: FIRING writes alert.fired, RESOLVED alert.resolved, any
 * other state a feedback.problem without payload, which consumers of
 * alerts must pass over), events of source "feedback" on its topics.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"
#include "service.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/supply.pb-c.h"

enum { DB_KV, DB_SEEN, DB_DUPS, DB_COUNT };
static const trc_db_decl_t s_decl[DB_COUNT] = {
	[DB_KV] = { "kv", "key -> value", NULL },
	[DB_SEEN] = { "seen", "be64 seq -> \"\": events applied (consumer)", NULL },
	[DB_DUPS] = { "dups", "be64 seq -> \"\": events applied twice (consumer)", NULL },
};
static const trc_dbs_t s_dbs = TRC_DBS(s_decl);

/* Puts in the group commit under way, and the most in one so far (method
 * "batches": the runtime's bounds on a batch, test_pipeline). Counted by
 * whichever thread commits, read by the loop while none does. */
static long s_batch_puts, s_largest_batch;

static void s_batch_done(void *user, bool committed)
{
	(void)user;
	(void)committed;
	if (s_batch_puts > s_largest_batch)
		s_largest_batch = s_batch_puts;
	s_batch_puts = 0;
}

static int s_batches(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	(void)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	rep->key = (char *)"largest";
	rep->value = trc_arena_printf(call->arena, "%ld", s_largest_batch);
	return 0;
}

static int s_put(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__KeyValue *req = (const Traction__V1__KeyValue *)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	s_batch_puts++;
	if (req->key == NULL || req->key[0] == '\0')
		return trc_call_fail(call, TRC_EINVAL, "key: must not be empty");
	const trc_db_t *db = trc_call_db(call, DB_KV);
	int rc = trc_txn_put(call->txn, db, req->key, strlen(req->key), req->value,
			     strlen(req->value), 0);
	if (rc != 0)
		return rc;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	s.id = req->key;
	s.description = req->value;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = &s;
	rc = trc_call_emit(call, "supply.registered", &ev);
	if (rc != 0)
		return rc;
	/* "fail:" keys write, emit, then fail: nothing of it may survive. */
	if (strncmp(req->key, "fail:", 5) == 0)
		return trc_call_fail(call, TRC_EPRECOND, "key: asked to fail after writing");
	rep->key = req->key;
	rep->value = req->value;
	return 0;
}

static int s_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const Traction__V1__IdRequest *)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	MDB_val v;
	int rc = trc_txn_get(call->txn, trc_call_db(call, DB_KV), req->id, strlen(req->id), &v);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "id: no key '%s'", req->id);
	if (rc != 0)
		return rc;
	rep->key = req->id;
	rep->value = trc_arena_alloc(call->arena, v.mv_size + 1);
	memcpy(rep->value, v.mv_data, v.mv_size);
	return 0;
}

static int s_count(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	size_t n;
	trc_txn_entries(call->txn, trc_call_db(call, DB_KV), &n);
	rep->key = (char *)"count";
	rep->value = trc_arena_printf(call->arena, "%zu", n);
	return 0;
}

/* TESTD_SERVICE given: note each sequence applied (not in the tests of a
 * store filling up, whose room they would take). */
static bool s_note_seqs;

static int s_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	if (ev->payload_case != TRACTION__V1__EVENT__PAYLOAD_SUPPLY)
		return trc_call_fail(call, TRC_EINVAL, "unexpected payload");
	uint8_t be[8];
	MDB_val found;
	trc_be64_put(be, ev->seq);
	if (s_note_seqs &&
	    trc_txn_insert(call->txn, trc_call_db(call, DB_SEEN), be, 8, "", 0, &found) ==
		    TRC_EEXIST)
		trc_txn_put(call->txn, trc_call_db(call, DB_DUPS), be, 8, "", 0, 0);
	const char *v = ev->supply->description != NULL ? ev->supply->description : "";
	return trc_txn_put(call->txn, trc_call_db(call, DB_KV), ev->supply->id,
			   strlen(ev->supply->id), v, strlen(v), 0);
}

/* The events applied twice (consumer). */
static int s_dups(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	(void)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	size_t n = 0;
	trc_txn_entries(call->txn, trc_call_db(call, DB_DUPS), &n);
	rep->key = (char *)"dups";
	rep->value = trc_arena_printf(call->arena, "%zu", n);
	return 0;
}

/* The producer's event log: "ENTRIES FLOOR HEAD". */
static int s_log(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	(void)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	size_t n = 0;
	trc_txn_entries(call->txn, trc_store_sysdb(call->txn->store, TRC_SYSDB_EVENTS), &n);
	rep->key = (char *)"log";
	rep->value = trc_arena_printf(call->arena, "%zu %llu %llu", n,
				      (unsigned long long)trc_evlog_floor(call->txn),
				      (unsigned long long)trc_evlog_head(call->txn));
	return 0;
}

/* A put's event is the whole state of its key. */
static int s_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	if (ev->payload_case != TRACTION__V1__EVENT__PAYLOAD_SUPPLY)
		return 0;
	return trc_evlog_emit(emit, ud, "kv", ev->supply->id);
}

/* alerts: the event of an Alert, by its state; answers its sequence. */
static int s_alert(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__Alert *a = (const Traction__V1__Alert *)req_;
	Traction__V1__KeyValue *rep = (Traction__V1__KeyValue *)rep_;
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	const char *type = "feedback.problem";
	if (a->state == TRACTION__V1__ALERT_STATE__ALERT_FIRING ||
	    a->state == TRACTION__V1__ALERT_STATE__ALERT_RESOLVED) {
		type = a->state == TRACTION__V1__ALERT_STATE__ALERT_FIRING ? "alert.fired"
									   : "alert.resolved";
		ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_ALERT;
		ev.alert = (Traction__V1__Alert *)a;
	}
	rep->key = (char *)"seq";
	rep->value = trc_arena_printf(call->arena, "%llu",
				      (unsigned long long)trc_evlog_head(call->txn) + 1);
	return trc_call_emit(call, type, &ev);
}

static const trc_method_t s_alerts[] = {
	{ "alert", &traction__v1__alert__descriptor, &traction__v1__key_value__descriptor,
	  s_alert, TRC_METHOD_WRITE, "emit an alert's event" },
};
static const trc_service_table_t s_alert_services[] = { { "feedback", s_alerts, 1, NULL } };
static const char *const s_feedback_topics[] = { "feedback.", "alert.", NULL };

/* The producer's methods are the first five (put, log and the reads), a
 * consumer's the last four (the reads and dups). */
static const trc_method_t s_kv[] = {
	{ "put", &traction__v1__key_value__descriptor, &traction__v1__key_value__descriptor,
	  s_put, TRC_METHOD_WRITE, "store a key" },
	{ "log", &traction__v1__empty__descriptor, &traction__v1__key_value__descriptor, s_log, 0,
	  "the event log's entries, floor and head" },
	{ "get", &traction__v1__id_request__descriptor, &traction__v1__key_value__descriptor,
	  s_get, 0, "read a key" },
	{ "count", &traction__v1__empty__descriptor, &traction__v1__key_value__descriptor,
	  s_count, 0, "how many keys" },
	{ "batches", &traction__v1__empty__descriptor, &traction__v1__key_value__descriptor,
	  s_batches, 0, "the most puts one group commit held" },
	{ "dups", &traction__v1__empty__descriptor, &traction__v1__key_value__descriptor, s_dups,
	  0, "how many events were applied twice" },
};

static const trc_service_table_t s_producer_services[] = { { "kv", s_kv, 5, NULL },
								{ "supply", NULL, 0, NULL } };
static trc_service_table_t s_consumer_services[] = { { "mirror", s_kv + 2, 4, NULL } };
/* It stands in for supplyd: its events are the supply source's, with its
 * topics, so that the real consumers of supply take them too. */
static const char *const s_supply_topics[] = { "provider.", "supply.", NULL };
static const trc_consume_t s_consumes[] = { { "supply", s_supply_topics }, { NULL, NULL } };

int main(int argc, char **argv)
{
	const char *mode = getenv("TESTD_MODE");
	bool consumer = mode != NULL && strcmp(mode, "consumer") == 0;
	trc_daemon_def_t def = {
		.daemon = consumer ? "mirror" : "kv",
		.program = "traction-testd",
		.summary = "test daemon on the real runtime",
		.dbs = &s_dbs,
		.schema_version = 1,
		.batch_done = s_batch_done,
	};
	if (mode != NULL && strcmp(mode, "alerts") == 0) {
		def.daemon = "feedback";
		def.services = s_alert_services;
		def.n_services = 1;
		def.event_source = "feedback";
		def.event_topics = s_feedback_topics;
	} else if (consumer) {
		const char *name = getenv("TESTD_SERVICE");
		if (name != NULL && name[0] != '\0') {
			def.daemon = s_consumer_services[0].name = name;
			s_note_seqs = true;
		}
		def.services = s_consumer_services;
		def.n_services = 1;
		def.consumes = s_consumes;
		def.apply_event = s_apply;
	} else {
		/* Its service is "kv", but its events are the supply source's. */
		def.services = s_producer_services;
		def.n_services = 2;
		def.event_source = "supply";
		/* TESTD_MODE=untopical: without them, which must not start */
		if (mode == NULL || strcmp(mode, "untopical") != 0)
			def.event_topics = s_supply_topics;
		def.event_keys = s_keys;
	}
	return trc_service_main(argc, argv, &def);
}
