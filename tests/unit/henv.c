/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The handler test environment. See henv.h.
 */
#include "henv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "traction/v1/bus.pb-c.h"

void henv_open(henv_t *e, const char *dir, const trc_dbs_t *dbs, const char *source)
{
	memset(e, 0, sizeof(*e));
	if (trc_store_open(&e->store, dir, 256u << 20, dbs, 1) != 0) {
		fprintf(stderr, "henv: cannot open a store in %s\n", dir);
		exit(1);
	}
	e->evlog = source != NULL ? trc_evlog_new(source) : NULL;
	e->arena = trc_arena_new();
	e->now_ms = 1764325000000; /* 2025-11-28, any fixed time */
	e->role = TRACTION__V1__ROLE__ROLE_ADMIN;
}

void henv_clear_events(henv_t *e)
{
	for (size_t i = 0; i < e->nevents; i++) {
		free(e->events[i]);
		free(e->event_type[i]);
	}
	e->nevents = 0;
}

void henv_close(henv_t *e)
{
	henv_clear_events(e);
	trc_evlog_destroy(&e->evlog);
	trc_arena_destroy(&e->arena);
	trc_store_destroy(&e->store);
}

void henv_reset(henv_t *e)
{
	trc_arena_reset(e->arena);
}

static void s_keep(void *ud, const char *topic, const void *data, size_t len)
{
	henv_t *e = ud;
	if (e->nevents == HENV_EVENTS_MAX) {
		fprintf(stderr, "henv: too many events\n");
		exit(1);
	}
	e->events[e->nevents] = malloc(len + 1);
	memcpy(e->events[e->nevents], data, len);
	e->event_len[e->nevents] = len;
	e->event_type[e->nevents] = strdup(topic);
	e->nevents++;
}

int henv_call(henv_t *e, trc_handler_fn fn, bool write, const void *req, void *rep,
	      const ProtobufCMessageDescriptor *rep_desc)
{
	trc_txn_t txn;
	protobuf_c_message_init(rep_desc, rep);
	if (trc_txn_begin(e->store, &txn, write) != 0) {
		fprintf(stderr, "henv: cannot begin a transaction\n");
		exit(1);
	}
	memset(&e->call, 0, sizeof(e->call));
	e->call.txn = &txn;
	e->call.arena = e->arena;
	e->call.evlog = write ? e->evlog : NULL;
	e->call.client_id = e->client_id != NULL ? e->client_id : "test";
	e->call.role = e->role;
	e->call.scenarios = e->scenarios;
	e->call.n_scenarios = e->n_scenarios;
	e->call.enterprises = e->enterprises;
	e->call.n_enterprises = e->n_enterprises;
	e->call.providers = e->providers;
	e->call.n_providers = e->n_providers;
	e->call.now_ms = e->now_ms;
	e->call.user = e->user;
	/* as the runtime does: the handler gets a request decoded from bytes
	 * (not the caller's structs, which it may change), and a write the
	 * bytes themselves */
	const ProtobufCMessage *in = req;
	size_t len = protobuf_c_message_get_packed_size(in);
	uint8_t *bytes = trc_arena_alloc(e->arena, len > 0 ? len : 1);
	ProtobufCAllocator al = trc_arena_allocator(e->arena);
	protobuf_c_message_pack(in, bytes);
	ProtobufCMessage *copy = protobuf_c_message_unpack(in->descriptor, &al, len, bytes);
	if (copy == NULL) {
		fprintf(stderr, "henv: the request does not decode\n");
		exit(1);
	}
	if (write) {
		e->call.body = bytes;
		e->call.body_len = len;
	}
	int rc = fn(&e->call, copy, rep);
	if (rc == 0 && write && e->batch_end != NULL)
		rc = e->batch_end(&e->call);
	if (rc == 0 && write) {
		rc = trc_txn_commit(&txn);
		if (rc == 0 && e->evlog != NULL)
			trc_evlog_flush(e->evlog, s_keep, e);
	} else {
		trc_txn_abort(&txn);
	}
	if (write && e->batch_done != NULL)
		e->batch_done(e->user, rc == 0);
	if (rc != 0 && e->evlog != NULL)
		trc_evlog_rollback(e->evlog, 0);
	if (rc != 0 && e->call.message == NULL)
		e->call.message = trc_strerror(rc);
	return rc;
}

void henv_feed_to(henv_t *src, henv_t *const *dst, const henv_apply_fn *apply, size_t ndst)
{
	for (size_t i = 0; i < src->nevents; i++) {
		Traction__V1__Event *ev =
			traction__v1__event__unpack(NULL, src->event_len[i], src->events[i]);
		for (size_t d = 0; d < ndst; d++) {
			trc_txn_t txn;
			trc_txn_begin(dst[d]->store, &txn, true);
			trc_call_t call = { .txn = &txn, .arena = dst[d]->arena,
					    .evlog = dst[d]->evlog, .client_id = "internal",
					    .role = TRACTION__V1__ROLE__ROLE_SERVICE,
					    .now_ms = dst[d]->now_ms, .user = dst[d]->user };
			int rc = apply[d](&call, ev);
			if (rc == 0)
				rc = trc_position_set(&txn, ev->source, ev->seq);
			if (rc != 0 || trc_txn_commit(&txn) != 0) {
				fprintf(stderr, "henv: event %s seq %llu not applied: %s\n",
					ev->type, (unsigned long long)ev->seq,
					call.message != NULL ? call.message : trc_strerror(rc));
				exit(1);
			}
			/* what applying emitted is in the store, not fed on */
			if (dst[d]->evlog != NULL)
				trc_evlog_rollback(dst[d]->evlog, 0);
		}
		traction__v1__event__free_unpacked(ev, NULL);
		free(src->events[i]);
		free(src->event_type[i]);
	}
	src->nevents = 0;
}

void henv_feed(henv_t *dst, henv_t *src, henv_apply_fn apply)
{
	henv_feed_to(src, &dst, &apply, 1);
}
