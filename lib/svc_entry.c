/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entries (docs/architecture.md, "Entries"): a batch encoded as the entry
 * a replica applies (proto/traction/v1/cluster.proto), and an entry
 * decoded into a batch again and applied to this store as a replica does:
 * the leader's clock, each request's caller (its Route) and bytes, the
 * events of other sources, the tick, in the batch's order; and where the
 * log stands, meta "raft_applied", in the batch's own transaction. It
 * calls the dispatch layer (a method by name), the consumers and the
 * writer.
 */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "log.h"
#include "traction/v1/cluster.pb-c.h"

/* meta's key of the last entry applied: be64 index (absent: 0) */
#define S_APPLIED "raft_applied"

int svc_applied_get(trc_txn_t *txn, uint64_t *index)
{
	MDB_val v;
	*index = 0;
	int rc = trc_txn_get(txn, trc_store_sysdb(txn->store, TRC_SYSDB_META), S_APPLIED,
			     strlen(S_APPLIED), &v);
	if (rc == TRC_ENOENT)
		return 0;
	if (rc == 0 && v.mv_size == 8)
		*index = trc_be64_get(v.mv_data);
	return rc == 0 && v.mv_size != 8 ? trc_txn_fail(txn, TRC_ECORRUPT) : rc;
}

int svc_applied_read(trc_service_t *svc, uint64_t *index)
{
	trc_txn_t txn;
	*index = 0;
	int rc = trc_txn_begin(svc->store, &txn, false);
	if (rc == 0) {
		rc = svc_applied_get(&txn, index);
		trc_txn_abort(&txn);
	}
	return rc;
}

int svc_applied_put(trc_txn_t *txn, uint64_t index)
{
	uint8_t be[8];
	trc_be64_put(be, index);
	return trc_txn_put(txn, trc_store_sysdb(txn->store, TRC_SYSDB_META), S_APPLIED,
			   strlen(S_APPLIED), be, sizeof(be), 0);
}

/* ---- a batch as an entry --------------------------------------------------- */

static int s_item_of(trc_service_t *svc, batch_t *b, const work_t *w, Traction__V1__EntryItem *it)
{
	traction__v1__entry_item__init(it);
	if (w->kind == WORK_TICK) {
		it->kind = TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK;
		return 0;
	}
	if (w->kind == WORK_EVENT) {
		size_t len = traction__v1__event__get_packed_size(w->ev);
		uint8_t *buf = trc_arena_alloc(b->arena, len > 0 ? len : 1);
		if (buf == NULL)
			return TRC_ENOMEM;
		it->kind = TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT;
		it->event = (ProtobufCBinaryData){ traction__v1__event__pack(w->ev, buf), buf };
		it->compacted = w->compacted;
		return 0;
	}
	it->kind = TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST;
	it->service = w->h->service;
	it->method = w->h->method;
	it->version = w->version;
	it->route = (ProtobufCBinaryData){ w->route_len, (uint8_t *)w->route };
	it->body = (ProtobufCBinaryData){ w->body_len, (uint8_t *)w->body };
	/* as the writer will run it (svc_writer.c) */
	it->may_wait = w->may_wait && !svc->stopping;
	return 0;
}

int svc_entry_pack(trc_service_t *svc, batch_t *b, void *(*alloc)(size_t), uint8_t **buf,
		   size_t *len)
{
	Traction__V1__Entry e = TRACTION__V1__ENTRY__INIT;
	size_t n = b->writes.n;
	Traction__V1__EntryItem *items = trc_arena_alloc(b->arena, (n > 0 ? n : 1) * sizeof(*items));
	Traction__V1__EntryItem **v = trc_arena_alloc(b->arena, (n > 0 ? n : 1) * sizeof(*v));
	if (items == NULL || v == NULL)
		return TRC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = s_item_of(svc, b, &b->writes.v[i], &items[i]);
		if (rc != 0)
			return rc;
		v[i] = &items[i];
	}
	e.format = TRC_ENTRY_FORMAT;
	e.now_ms = b->now_ms;
	e.config_digest = svc->config_digest;
	e.items = v;
	e.n_items = n;
	*len = traction__v1__entry__get_packed_size(&e);
	*buf = alloc(*len > 0 ? *len : 1);
	if (*buf == NULL)
		return TRC_ENOMEM;
	traction__v1__entry__pack(&e, *buf);
	return 0;
}

void svc_entry_emit(trc_service_t *svc, batch_t *b)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = svc_entry_pack(svc, b, malloc, &buf, &len);
	if (rc != 0) {
		/* no entry, no index: a replica fed from here would miss this
		 * batch, and its store would say so (its digest) */
		trc_err("batch of %zu writes not made an entry: %s", b->writes.n, trc_strerror(rc));
		return;
	}
	b->index = ++svc->entry_index;
	svc->on_entry(svc->on_entry_ud, b->index, buf, len);
	free(buf);
}

int trc_service_on_entry(trc_service_t *svc, trc_entry_fn fn, void *ud)
{
	int rc = svc_applied_read(svc, &svc->entry_index);
	if (rc == 0) {
		svc->on_entry = fn;
		svc->on_entry_ud = ud;
	}
	return rc;
}

/* ---- an entry as a batch --------------------------------------------------- */

static int s_refuse(char *why, size_t len, size_t i, const char *what, const char *name)
{
	snprintf(why, len, "item %zu: %s%s", i, what, name != NULL ? name : "");
	return TRC_EPROTO;
}

/* Item i, a request, as the work w of b: its method (one of our writes),
 * its body decoded as the method's message. Nobody is answered. */
static int s_request(trc_service_t *svc, batch_t *b, const trc_entry_t *e, size_t i, work_t *w,
		     char *why, size_t len)
{
	const Traction__V1__EntryItem *it = e->entry->items[i];
	const trc_method_t *mt = svc_method_find(svc, it->service, it->method);
	if (mt == NULL || !(mt->flags & TRC_METHOD_WRITE))
		return s_refuse(why, len, i, "no write of ours: ", it->method);
	if (trc_wire_check_strings(mt->request, it->body.data, it->body.len, why, len) != 0)
		return TRC_EPROTO;
	w->req = protobuf_c_message_unpack(mt->request, &b->al, it->body.len, it->body.data);
	w->rep = trc_arena_alloc(b->arena, mt->reply->sizeof_message);
	if (w->req == NULL || w->rep == NULL)
		return trc_arena_failures(b->arena) > 0 ? TRC_ENOMEM
							: s_refuse(why, len, i, "not a request of ",
								   it->method);
	protobuf_c_message_init(mt->reply, w->rep);
	w->kind = WORK_REQUEST;
	w->method = mt;
	w->route = it->route.data;
	w->route_len = it->route.len;
	w->rt = e->routes[i];
	w->version = it->version;
	w->body = it->body.data;
	w->body_len = it->body.len;
	w->may_wait = it->may_wait;
	return 0;
}

/* Entry e's items as the works of batch b (empty; all in its arena). */
static int s_batch_of(trc_service_t *svc, batch_t *b, const trc_entry_t *e, char *why, size_t len)
{
	b->now_ms = e->entry->now_ms;
	for (size_t i = 0; i < e->entry->n_items; i++) {
		work_t *w;
		if (svc_work_push(&b->writes, &w) != 0)
			return TRC_ENOMEM;
		switch (e->entry->items[i]->kind) {
		case TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST: {
			int rc = s_request(svc, b, e, i, w, why, len);
			if (rc != 0)
				return rc;
			break;
		}
		case TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT:
			w->kind = WORK_EVENT;
			w->ev = e->events[i];
			w->cons = svc_consumer(svc, w->ev->source);
			w->compacted = e->entry->items[i]->compacted;
			if (w->cons == NULL)
				return s_refuse(why, len, i, "an event of a source we do not consume: ",
						w->ev->source);
			break;
		default: /* trc_entry_decode let no other kind through */
			w->kind = WORK_TICK;
			b->ticked = true;
			break;
		}
	}
	return 0;
}

int svc_entry_batch(trc_service_t *svc, batch_t *b, uint64_t index, const uint8_t *buf,
		    size_t len)
{
	char why[256] = "";
	trc_entry_t e;
	int rc = trc_entry_decode(buf, len, &b->al, &e, why, sizeof(why));
	if (rc == 0 && e.entry->config_digest != svc->config_digest) {
		snprintf(why, sizeof(why),
			 "made with another apply-affecting configuration ([events] keep_days, "
			 "keep_max, trim_per_tick, the daemon's own sections) than this one's");
		rc = TRC_ECONFIG;
	}
	if (rc == 0)
		rc = s_batch_of(svc, b, &e, why, sizeof(why));
	if (rc != 0) {
		trc_err("entry %llu not applied: %s", (unsigned long long)index,
			why[0] != '\0' ? why : trc_strerror(rc));
		b->writes.n = 0;
		b->ticked = false;
		trc_arena_reset(b->arena);
		return rc;
	}
	b->index = index;
	return 0;
}

int trc_service_apply_entry(trc_service_t *svc, uint64_t index, const uint8_t *buf, size_t len)
{
	batch_t *b = &svc->entry;
	uint64_t applied = 0;
	int rc = svc_applied_read(svc, &applied);
	if (rc != 0 || index <= applied)
		return rc; /* in the store already: a replay after a restart */
	rc = svc_entry_batch(svc, b, index, buf, len);
	return rc != 0 ? rc : svc_writer_apply(svc, b);
}
