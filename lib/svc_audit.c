/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log of a service daemon (docs/operations.md, "Audit log"):
 * every administrative change a handler makes (a forced or backward stage
 * move, a retire, an alert rule, a hold, a retention policy) is one
 * AuditEntry in the store's "audit" database, written by trc_call_audit
 * in the transaction of the change itself, so a change and its record
 * commit or fail together. Entries are appended under increasing
 * sequence numbers; no method changes or deletes one, and "audit.list"
 * (admin only) reads them, newest first. The broker keeps a log of the
 * same shape for the key set's changes (broker/keyaudit.c), written and
 * read with the same two functions.
 */
#include "service_int.h"

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

typedef struct {
	const Traction__V1__AuditListRequest *q;
	const char *daemon;
} wanted_t;

/* An entry the request asks for: named by the daemon that answers. */
static bool s_wanted(trc_call_t *call, void *rec, void *arg)
{
	(void)call;
	const wanted_t *w = arg;
	const Traction__V1__AuditListRequest *q = w->q;
	Traction__V1__AuditEntry *e = rec;
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
	e->daemon = (char *)w->daemon;
	return true;
}

int trc_call_audit_list(trc_call_t *call, const char *daemon, const ProtobufCMessage *req,
			ProtobufCMessage *rep_)
{
	Traction__V1__AuditListReply *rep = (void *)rep_;
	wanted_t w = { (const Traction__V1__AuditListRequest *)req, daemon };
	rep->daemon = (char *)daemon;
	return trc_page_newest(call, trc_store_sysdb(call->txn->store, TRC_SYSDB_AUDIT),
			       w.q->page, AUDIT_SCAN_MAX, s_wanted, &w, (void ***)&rep->entries,
			       &rep->n_entries, &rep->next_cursor);
}

int svc_audit_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep)
{
	trc_service_t *svc = call->user;
	return trc_call_audit_list(call, svc->def->daemon, req, rep);
}
