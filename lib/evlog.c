/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log: append in the writer's transaction, publish after commit,
 * read for replay, and consumers' positions. See evlog.h.
 */
#include "evlog.h"

#include <stdlib.h>
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "fault.h"
#include "util.h"

typedef struct {
	char *topic;
	uint8_t *data;
	size_t len;
} pending_t;

struct trc_evlog {
	char *source;
	const char *const *topics; /* NULL: any type */
	trc_evlog_keys_fn keys;    /* NULL: never trimmed */
	pending_t *q;
	size_t n, cap;
};

trc_evlog_t *trc_evlog_new(const char *source)
{
	trc_evlog_t *log = calloc(1, sizeof(*log));
	if (log == NULL)
		return NULL;
	log->source = strdup(source);
	if (log->source == NULL) {
		free(log);
		return NULL;
	}
	return log;
}

void trc_evlog_set_topics(trc_evlog_t *log, const char *const *topics)
{
	log->topics = topics;
}

void trc_evlog_set_keys(trc_evlog_t *log, trc_evlog_keys_fn keys)
{
	log->keys = keys;
}

bool trc_evlog_keyed(const trc_evlog_t *log)
{
	return log->keys != NULL;
}

int trc_evlog_emitn(trc_evlog_key_fn emit, void *ud, const char *const *parts, size_t n)
{
	trc_dbkey_t k;
	trc_dbkey_init(&k);
	for (size_t i = 0; i < n; i++)
		trc_dbkey_str(&k, parts[i] != NULL ? parts[i] : "");
	return trc_dbkey_ok(&k) ? emit(ud, k.buf, k.len) : 0;
}

int trc_evlog_keys_of(const trc_evlog_t *log, const Traction__V1__Event *ev,
		      trc_evlog_key_fn emit, void *ud)
{
	return log->keys != NULL ? log->keys(ev, emit, ud) : 0;
}

static bool s_type_declared(const trc_evlog_t *log, const char *type)
{
	if (log->topics == NULL)
		return true;
	for (size_t i = 0; log->topics[i] != NULL; i++)
		if (strncmp(type, log->topics[i], strlen(log->topics[i])) == 0)
			return true;
	return false;
}

void trc_evlog_destroy(trc_evlog_t **log_p)
{
	if (log_p == NULL || *log_p == NULL)
		return;
	trc_evlog_t *log = *log_p;
	trc_evlog_rollback(log, 0);
	free(log->q);
	free(log->source);
	free(log);
	*log_p = NULL;
}

const char *trc_evlog_source(const trc_evlog_t *log)
{
	return log->source;
}

static const trc_db_t *s_db(const trc_txn_t *txn, unsigned i)
{
	return trc_store_sysdb(txn->store, i);
}

uint64_t trc_evlog_head(trc_txn_t *txn)
{
	MDB_val k;
	if (trc_txn_last(txn, s_db(txn, TRC_SYSDB_EVENTS), &k, NULL) != 0)
		return 0;
	trc_dbsplit_t sp; /* be64 seq */
	trc_dbsplit_init(&sp, &k);
	uint64_t seq = trc_dbsplit_be64(&sp);
	return trc_dbsplit_done(&sp) ? seq : 0;
}

int trc_evlog_append(trc_evlog_t *log, trc_txn_t *txn, Traction__V1__Event *ev, int64_t now_ms,
		     uint64_t *seq)
{
	if (txn->err != 0)
		return txn->err;
	ev->source = log->source;
	ev->seq = trc_evlog_head(txn) + 1;
	if (txn->err != 0)
		return txn->err;
	ev->time_ms = now_ms;
	if (ev->type == NULL || ev->type[0] == '\0' || !s_type_declared(log, ev->type))
		return trc_txn_fail(txn, TRC_EINTERNAL);

	if (log->n == log->cap) {
		size_t ncap = log->cap == 0 ? 64 : log->cap * 2;
		pending_t *nq = trc_fault() ? NULL : realloc(log->q, ncap * sizeof(*nq));
		if (nq == NULL)
			return trc_txn_fail(txn, TRC_ENOMEM);
		log->q = nq;
		log->cap = ncap;
	}
	size_t len = traction__v1__event__get_packed_size(ev);
	pending_t *p = &log->q[log->n];
	p->topic = trc_fault() ? NULL : strdup(ev->type);
	p->data = trc_fault() ? NULL : malloc(len > 0 ? len : 1);
	if (p->topic == NULL || p->data == NULL) {
		free(p->topic);
		free(p->data);
		return trc_txn_fail(txn, TRC_ENOMEM);
	}
	p->len = traction__v1__event__pack(ev, p->data);

	trc_dbkey_t k;
	trc_dbkey_init(&k);
	trc_dbkey_be64(&k, ev->seq);
	int rc = trc_txn_put(txn, s_db(txn, TRC_SYSDB_EVENTS), k.buf, k.len, p->data, p->len,
			     MDB_APPEND);
	if (rc == 0 && log->keys != NULL)
		rc = trc_evlog_index_append(log, txn, ev);
	if (rc != 0) {
		free(p->topic);
		free(p->data);
		return rc;
	}
	log->n++;
	if (seq != NULL)
		*seq = ev->seq;
	return TRC_OK;
}

size_t trc_evlog_mark(const trc_evlog_t *log)
{
	return log->n;
}

void trc_evlog_rollback(trc_evlog_t *log, size_t mark)
{
	while (log->n > mark) {
		log->n--;
		free(log->q[log->n].topic);
		free(log->q[log->n].data);
	}
}

size_t trc_evlog_pending(const trc_evlog_t *log)
{
	return log->n;
}

void trc_evlog_flush(trc_evlog_t *log, trc_evlog_publish_fn publish, void *ud)
{
	for (size_t i = 0; i < log->n; i++)
		publish(ud, log->q[i].topic, log->q[i].data, log->q[i].len);
	trc_evlog_rollback(log, 0);
}

int trc_evlog_read(trc_txn_t *txn, uint64_t from, size_t max, size_t max_bytes,
		   ProtobufCAllocator *al, Traction__V1__Event **out, size_t *n)
{
	size_t bytes = 0;
	trc_dbkey_t lo;
	trc_iter_t it;
	*n = 0;
	if (from == 0)
		from = 1;
	trc_dbkey_init(&lo);
	trc_dbkey_be64(&lo, from);
	int rc = trc_iter_begin(txn, s_db(txn, TRC_SYSDB_EVENTS), &it, lo.buf, lo.len, NULL, 0,
				false);
	if (rc != 0)
		return rc;
	/* below the floor, what compaction kept; from it on, no hole */
	uint64_t floor = trc_evlog_floor(txn);
	uint64_t expect = from;
	while (*n < max && trc_iter_next(&it)) {
		trc_dbsplit_t sp;
		trc_dbsplit_init(&sp, &it.key);
		uint64_t seq = trc_dbsplit_be64(&sp);
		if (!trc_dbsplit_done(&sp) || seq < expect ||
		    (seq >= floor && seq != (expect > floor ? expect : floor)))
			break; /* a hole would be a bug; never hand out a gap */
		bytes += it.val.mv_size + 16;
		if (*n > 0 && bytes > max_bytes)
			break;
		Traction__V1__Event *ev =
			traction__v1__event__unpack(al, it.val.mv_size, it.val.mv_data);
		if (ev == NULL) {
			trc_iter_end(&it);
			return TRC_ECORRUPT;
		}
		out[(*n)++] = ev;
		expect = seq + 1;
	}
	trc_iter_end(&it);
	return txn->err;
}

int trc_position_get(trc_txn_t *txn, const char *source, uint64_t *seq)
{
	MDB_val v;
	*seq = 0;
	int rc = trc_txn_get(txn, s_db(txn, TRC_SYSDB_POSITIONS), source, strlen(source), &v);
	if (rc == TRC_ENOENT)
		return TRC_OK;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return TRC_ECORRUPT;
	*seq = trc_be64_get(v.mv_data);
	return TRC_OK;
}

int trc_position_set(trc_txn_t *txn, const char *source, uint64_t seq)
{
	uint8_t be[8];
	trc_be64_put(be, seq);
	return trc_txn_put(txn, s_db(txn, TRC_SYSDB_POSITIONS), source, strlen(source), be, 8, 0);
}
