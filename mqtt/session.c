/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's own store (LMDB through lib/store.h, in state_dir/mqttd):
 * the persistent sessions (their key epoch, the counters reserved, their
 * expiry), the QoS 2 packet ids each has received and not yet released,
 * and the records refused for good (the list `traction-mqttd refusals`
 * prints). One write transaction per turn of the loop, committed before
 * any acknowledgement of the turn is written (mqttd.h).
 *
 *   sessions   client id -> mqd_session_rec_t (fixed layout, big-endian)
 *   qos2       client id \0 be16 pid -> be64 counter
 *   refusals   be64 seq -> JSON text
 */
#include "mqttd.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "util.h"

#define SCHEMA 1
#define REC_LEN 28

enum { DB_SESSIONS, DB_QOS2, DB_REFUSALS, DB_COUNT };
static const trc_db_decl_t s_dbs[DB_COUNT] = {
	[DB_SESSIONS] = { "sessions", "client id -> mqd_session_rec_t", NULL },
	[DB_QOS2] = { "qos2", "client id, be16 pid -> be64 counter", NULL },
	[DB_REFUSALS] = { "refusals", "be64 seq -> JSON text", NULL },
};

struct mqd_store {
	trc_store_t *store;
	const trc_db_t *sessions, *qos2, *refusals;
	trc_txn_t txn;
	bool open;
};

int mqd_store_open(mqd_store_t **st_p, const char *dir, size_t map_size)
{
	static const trc_dbs_t dbs = TRC_DBS(s_dbs);
	mqd_store_t *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return TRC_ENOMEM;
	int rc = trc_store_open(&st->store, dir, map_size, &dbs, SCHEMA);
	if (rc != 0) {
		free(st);
		return rc;
	}
	st->sessions = trc_store_db(st->store, DB_SESSIONS);
	st->qos2 = trc_store_db(st->store, DB_QOS2);
	st->refusals = trc_store_db(st->store, DB_REFUSALS);
	*st_p = st;
	return 0;
}

void mqd_store_destroy(mqd_store_t **st_p)
{
	mqd_store_t *st = *st_p;
	if (st == NULL)
		return;
	if (st->open)
		trc_txn_abort(&st->txn);
	trc_store_destroy(&st->store);
	free(st);
	*st_p = NULL;
}

static trc_txn_t *s_txn(mqd_store_t *st)
{
	if (!st->open) {
		if (trc_txn_begin(st->store, &st->txn, true) != 0)
			return NULL;
		st->open = true;
	}
	return &st->txn;
}

int mqd_store_commit(mqd_store_t *st)
{
	if (!st->open)
		return 0;
	st->open = false;
	return trc_txn_commit(&st->txn);
}

bool mqd_store_dirty(const mqd_store_t *st)
{
	return st->open;
}

int mqd_session_get(mqd_store_t *st, const char *client, mqd_session_rec_t *rec)
{
	trc_txn_t *t = s_txn(st);
	MDB_val v;
	if (t == NULL)
		return TRC_EIO;
	int rc = trc_txn_get(t, st->sessions, client, strlen(client), &v);
	if (rc != 0)
		return rc;
	if (v.mv_size != REC_LEN)
		return TRC_ECORRUPT;
	const uint8_t *p = v.mv_data;
	rec->epoch = trc_be64_get(p);
	rec->reserved = trc_be64_get(p + 8);
	rec->expiry_s = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
	rec->ended_ms = (int64_t)trc_be64_get(p + 20);
	return 0;
}

int mqd_session_put(mqd_store_t *st, const char *client, const mqd_session_rec_t *rec)
{
	trc_txn_t *t = s_txn(st);
	uint8_t p[REC_LEN];
	if (t == NULL)
		return TRC_EIO;
	trc_be64_put(p, rec->epoch);
	trc_be64_put(p + 8, rec->reserved);
	p[16] = (uint8_t)(rec->expiry_s >> 24);
	p[17] = (uint8_t)(rec->expiry_s >> 16);
	p[18] = (uint8_t)(rec->expiry_s >> 8);
	p[19] = (uint8_t)rec->expiry_s;
	trc_be64_put(p + 20, (uint64_t)rec->ended_ms);
	return trc_txn_put(t, st->sessions, client, strlen(client), p, sizeof(p), 0);
}

static size_t s_qkey(uint8_t *k, const char *client, uint16_t pid)
{
	size_t n = strlen(client);
	memcpy(k, client, n);
	k[n] = 0;
	k[n + 1] = (uint8_t)(pid >> 8);
	k[n + 2] = (uint8_t)pid;
	return n + 3;
}

int mqd_qos2_put(mqd_store_t *st, const char *client, uint16_t pid, uint64_t counter)
{
	trc_txn_t *t = s_txn(st);
	uint8_t k[MQD_CLIENT_ID_MAX + 4], v[8];
	if (t == NULL)
		return TRC_EIO;
	trc_be64_put(v, counter);
	return trc_txn_put(t, st->qos2, k, s_qkey(k, client, pid), v, 8, 0);
}

int mqd_qos2_del(mqd_store_t *st, const char *client, uint16_t pid)
{
	trc_txn_t *t = s_txn(st);
	uint8_t k[MQD_CLIENT_ID_MAX + 4];
	if (t == NULL)
		return TRC_EIO;
	int rc = trc_txn_del(t, st->qos2, k, s_qkey(k, client, pid));
	return rc == TRC_ENOENT ? 0 : rc;
}

int mqd_qos2_each(mqd_store_t *st, const char *client,
		  void (*each)(void *ud, uint16_t pid, uint64_t counter), void *ud)
{
	trc_txn_t *t = s_txn(st);
	trc_iter_t it;
	if (t == NULL)
		return TRC_EIO;
	int rc = trc_iter_prefix(t, st->qos2, &it, client, strlen(client), false);
	if (rc != 0)
		return rc;
	while (trc_iter_next(&it)) {
		const uint8_t *k = it.key.mv_data;
		if (it.key.mv_size != strlen(client) + 3 || it.val.mv_size != 8)
			continue;
		each(ud, (uint16_t)(k[it.key.mv_size - 2] << 8 | k[it.key.mv_size - 1]),
		     trc_be64_get(it.val.mv_data));
	}
	trc_iter_end(&it);
	return t->err;
}

static void s_collect(void *ud, uint16_t pid, uint64_t counter)
{
	(void)counter;
	uint16_t *v = ud;
	if (v[0] < 0xffff)
		v[1 + v[0]++] = pid;
}

int mqd_session_del(mqd_store_t *st, const char *client)
{
	trc_txn_t *t = s_txn(st);
	if (t == NULL)
		return TRC_EIO;
	uint16_t *pids = calloc(0x10001, sizeof(*pids));
	if (pids == NULL)
		return TRC_ENOMEM;
	int rc = mqd_qos2_each(st, client, s_collect, pids);
	for (unsigned i = 0; rc == 0 && i < pids[0]; i++)
		rc = mqd_qos2_del(st, client, pids[1 + i]);
	free(pids);
	if (rc == 0) {
		rc = trc_txn_del(t, st->sessions, client, strlen(client));
		rc = rc == TRC_ENOENT ? 0 : rc;
	}
	return rc;
}

int mqd_sessions_expire(mqd_store_t *st, int64_t now_ms)
{
	trc_txn_t *t = s_txn(st);
	trc_iter_t it;
	char (*gone)[MQD_CLIENT_ID_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	if (t == NULL || trc_iter_begin(t, st->sessions, &it, NULL, 0, NULL, 0, false) != 0)
		return -1;
	while (trc_iter_next(&it)) {
		char client[MQD_CLIENT_ID_MAX + 1];
		mqd_session_rec_t rec;
		if (it.key.mv_size > MQD_CLIENT_ID_MAX)
			continue;
		memcpy(client, it.key.mv_data, it.key.mv_size);
		client[it.key.mv_size] = '\0';
		if (mqd_session_get(st, client, &rec) != 0 || rec.ended_ms == 0 ||
		    rec.ended_ms + (int64_t)rec.expiry_s * 1000 > now_ms)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			void *nv = realloc(gone, cap * sizeof(*gone));
			if (nv == NULL)
				break;
			gone = nv;
		}
		memcpy(gone[n++], client, sizeof(client));
	}
	trc_iter_end(&it);
	for (size_t i = 0; i < n; i++)
		mqd_session_del(st, gone[i]);
	free(gone);
	return (int)n;
}

int mqd_refusal_add(mqd_store_t *st, const char *json, unsigned max)
{
	trc_txn_t *t = s_txn(st);
	MDB_val k, v;
	uint8_t key[8];
	if (t == NULL)
		return TRC_EIO;
	uint64_t seq = 1;
	if (trc_txn_last(t, st->refusals, &k, &v) == 0 && k.mv_size == 8)
		seq = trc_be64_get(k.mv_data) + 1;
	trc_be64_put(key, seq);
	int rc = trc_txn_put(t, st->refusals, key, 8, json, strlen(json), MDB_APPEND);
	if (rc == 0 && seq > max) { /* the oldest beyond max go */
		trc_be64_put(key, seq - max);
		trc_txn_del(t, st->refusals, key, 8);
	}
	return rc;
}

int mqd_refusals_print(mqd_store_t *st, FILE *out)
{
	trc_txn_t t;
	trc_iter_t it;
	int rc = trc_txn_begin(st->store, &t, false);
	if (rc != 0)
		return rc;
	rc = trc_iter_begin(&t, st->refusals, &it, NULL, 0, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it))
		fprintf(out, "%.*s\n", (int)it.val.mv_size, (const char *)it.val.mv_data);
	if (rc == 0)
		trc_iter_end(&it);
	trc_txn_abort(&t);
	return rc;
}
