/*
 * The audit log of a service daemon (docs/operations.md, "Audit log"):
 * every administrative change a handler makes (a forced or backward stage
 * move, a retire, an alert rule, a hold, a retention policy) is one
 * AuditEntry in the store's "audit" database, written by trc_call_audit
 * in the transaction of the change itself, so a change and its record
 * commit or fail together. Entries are appended under increasing
 * sequence numbers; no method changes or deletes one, and "audit.list"
 * (admin only) reads them, newest first.
 */
#include "service_int.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "validate.h"
#include "traction/v1/events.pb-c.h"

#define AUDIT_SCAN_MAX 10000 /* entries a filtered page passes over */

int trc_call_audit(trc_call_t *call, const char *action, const char *subject,
		   const char *reason, const char *const *details)
{
	trc_txn_t *txn = call->txn;
	const trc_db_t *db = trc_store_sysdb(txn->store, TRC_SYSDB_AUDIT);
	Traction__V1__AuditEntry e = TRACTION__V1__AUDIT_ENTRY__INIT;
	MDB_val k;
	e.seq = trc_txn_last(txn, db, &k, NULL) == 0 && k.mv_size == 8 ? trc_be64_get(k.mv_data) + 1
								       : 1;
	e.time_ms = call->now_ms;
	e.actor = (char *)(call->client_id != NULL ? call->client_id : "");
	e.edge = (char *)(call->edge != NULL ? call->edge : "");
	e.role = call->role;
	e.action = (char *)action;
	e.subject = (char *)(subject != NULL ? subject : "");
	e.reason = (char *)(reason != NULL ? reason : "");
	size_t n = 0;
	while (details != NULL && details[2 * n] != NULL)
		n++;
	Traction__V1__KeyValue kv[16], *kvp[16];
	for (size_t i = 0; i < n && i < 16; i++) {
		traction__v1__key_value__init(&kv[i]);
		kv[i].key = (char *)details[2 * i];
		kv[i].value = (char *)(details[2 * i + 1] != NULL ? details[2 * i + 1] : "");
		kvp[i] = &kv[i];
	}
	e.details = kvp;
	e.n_details = n < 16 ? n : 16;
	uint8_t be[8];
	trc_be64_put(be, e.seq);
	return trc_rec_put(txn, db, be, 8, &e.base);
}

static bool s_wanted(const Traction__V1__AuditListRequest *q, const Traction__V1__AuditEntry *e)
{
	if (q->action != NULL && q->action[0] != '\0' &&
	    strncmp(e->action, q->action, strlen(q->action)) != 0)
		return false;
	if (q->subject != NULL && q->subject[0] != '\0' && strcmp(e->subject, q->subject) != 0)
		return false;
	if (q->actor != NULL && q->actor[0] != '\0' && strcmp(e->actor, q->actor) != 0)
		return false;
	if (q->range != NULL && q->range->from_ms != 0 && e->time_ms < q->range->from_ms)
		return false;
	if (q->range != NULL && q->range->to_ms != 0 && e->time_ms >= q->range->to_ms)
		return false;
	return true;
}

int svc_audit_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep_)
{
	trc_service_t *svc = call->user;
	const Traction__V1__AuditListRequest *q = (const void *)req;
	Traction__V1__AuditListReply *rep = (void *)rep_;
	rep->daemon = (char *)svc->def->daemon;
	size_t limit = trc_page_limit(q->page, 100, 1000), passed = 0;
	const char *cursor = trc_page_cursor(q->page);
	unsigned long long c = 0;
	char tail;
	if (cursor[0] != '\0' && (sscanf(cursor, "%llu%c", &c, &tail) != 1 || c == 0))
		return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	uint8_t before[8];
	trc_be64_put(before, c);
	rep->entries = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->entries == NULL)
		return TRC_ENOMEM;
	/* newest first: down from just below the cursor */
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_store_sysdb(call->txn->store, TRC_SYSDB_AUDIT), &it, NULL, 0,
				c ? before : NULL, c ? 8 : 0, true);
	uint64_t last = 0;
	while (rc == 0 && trc_iter_next(&it)) {
		if (it.key.mv_size != 8)
			continue;
		uint64_t n = trc_be64_get(it.key.mv_data);
		if (rep->n_entries == limit || passed >= AUDIT_SCAN_MAX) {
			/* a full page, or a long run filtered out: the cursor goes on */
			rep->next_cursor = trc_arena_printf(
				call->arena, "%llu",
				(unsigned long long)(rep->n_entries == limit ? last : n + 1));
			break;
		}
		Traction__V1__AuditEntry *e;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&e)) != 0)
			break;
		if (!s_wanted(q, e)) {
			passed++;
			continue;
		}
		e->daemon = (char *)svc->def->daemon;
		rep->entries[rep->n_entries++] = e;
		last = n;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}
