/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tractionctl audit: the administrative changes of the whole set, from the
 * audit log of every daemon (audit.list of the broker, and of each service
 * it knows, once per daemon), merged newest first (docs/operations.md,
 * "Audit log"); tractionctl keys reload, whose changes the broker records
 * there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "ctl.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"

typedef struct {
	Traction__V1__AuditListReply *reps[16];
	size_t n;
	Traction__V1__AuditEntry **all;
	size_t n_all;
} merged_t;

static int s_newest_first(const void *a_, const void *b_)
{
	const Traction__V1__AuditEntry *a = *(Traction__V1__AuditEntry *const *)a_;
	const Traction__V1__AuditEntry *b = *(Traction__V1__AuditEntry *const *)b_;
	if (a->time_ms != b->time_ms)
		return a->time_ms > b->time_ms ? -1 : 1;
	int d = strcmp(a->daemon, b->daemon);
	return d != 0 ? d : (a->seq > b->seq ? -1 : a->seq < b->seq);
}

static bool s_answered(const merged_t *m, const char *daemon)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->reps[i]->daemon, daemon) == 0)
			return true;
	return false;
}

static void s_print(const Traction__V1__AuditEntry *e)
{
	char when[32];
	ctl_when(e->time_ms, when, sizeof(when));
	printf("%s %-11s %-20s %-16s %s", when, e->daemon, e->action, e->subject, e->actor);
	if (e->edge[0] != '\0')
		printf(" (via %s)", e->edge);
	for (size_t i = 0; i < e->n_details; i++)
		printf(" %s=%s", e->details[i]->key, e->details[i]->value);
	if (e->reason[0] != '\0')
		printf(" \"%s\"", e->reason);
	printf("\n");
}

/* The log of the daemon behind service into m, unless it is there already
 * (one daemon serves several services) or is not the one asked for. */
static int s_gather(ctl_t *ctl, merged_t *m, const char *service,
		    const Traction__V1__AuditListRequest *req, const char *only)
{
	traction_status_t st;
	Traction__V1__AuditListReply *rep = NULL;
	if (strcmp(service, "broker") == 0 && only != NULL && strcmp(only, "broker") != 0)
		return 0;
	if (traction_call(ctl->client, service, "audit.list", &req->base,
			  &traction__v1__audit_list_reply__descriptor, (ProtobufCMessage **)&rep,
			  &st) != 0) {
		if (strcmp(service, "broker") == 0 && st.code == TRACTION__V1__CODE__UNIMPLEMENTED) {
			fprintf(stderr, "tractionctl: audit: the broker keeps no audit log (a broker "
					"of before v1.1): key changes are not in this list\n");
			return 0;
		}
		return ctl_fail("audit.list of %s: %s: %s", service, traction_code_name(st.code),
				st.message);
	}
	if (s_answered(m, rep->daemon) || (only != NULL && strcmp(only, rep->daemon) != 0)) {
		traction_reply_free(&rep->base);
		return 0;
	}
	m->reps[m->n++] = rep;
	m->n_all += rep->n_entries;
	return 0;
}

static int cmd_audit(ctl_t *ctl, args_t *a)
{
	Traction__V1__AuditListRequest req = TRACTION__V1__AUDIT_LIST_REQUEST__INIT;
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__TimeRange range = TRACTION__V1__TIME_RANGE__INIT;
	req.action = (char *)arg(a, "action");
	req.subject = (char *)arg(a, "subject");
	req.actor = (char *)arg(a, "actor");
	page.limit = 100;
	if (ctl_arg_u32(a, "limit", &page.limit) != 0 || ctl_arg_time(a, "from", &range.from_ms) != 0 ||
	    ctl_arg_time(a, "to", &range.to_ms) != 0)
		return 1;
	req.page = &page;
	req.range = &range;
	const char *only = arg(a, "daemon");

	traction_status_t st;
	Traction__V1__Empty empty = TRACTION__V1__EMPTY__INIT;
	Traction__V1__BrokerStatusReply *bs = NULL;
	if (traction_call(ctl->client, "broker", "status", &empty.base,
			  &traction__v1__broker_status_reply__descriptor, (ProtobufCMessage **)&bs,
			  &st) != 0)
		return ctl_fail("status of broker: %s: %s", traction_code_name(st.code), st.message);
	merged_t m = { .n = 0 };
	/* the broker's own log first: the key set's changes (v1.1) */
	int rc = s_gather(ctl, &m, "broker", &req, only);
	for (size_t i = 0; rc == 0 && i < bs->n_services && m.n < 16; i++) {
		const Traction__V1__ServiceStatus *s = bs->services[i];
		if (s->n_instances == 0) {
			fprintf(stderr, "tractionctl: audit: service %s has no live instance: its "
					"daemon's log is not in this list\n",
				s->name);
			continue;
		}
		rc = s_gather(ctl, &m, s->name, &req, only);
	}
	traction_reply_free(&bs->base);
	m.all = calloc(m.n_all > 0 ? m.n_all : 1, sizeof(*m.all));
	size_t k = 0;
	for (size_t i = 0; m.all != NULL && i < m.n; i++)
		for (size_t j = 0; j < m.reps[i]->n_entries; j++)
			m.all[k++] = m.reps[i]->entries[j];
	if (rc == 0 && m.all == NULL)
		rc = ctl_fail("out of memory");
	if (rc == 0) {
		qsort(m.all, k, sizeof(*m.all), s_newest_first);
		if (k > page.limit) /* each daemon gave its newest: the merge keeps as many */
			k = page.limit;
		if (ctl->json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < k; i++)
				json_array_append_new(arr, pbjson_from_message(&m.all[i]->base));
			json_t *doc = json_object();
			json_object_set_new(doc, "entries", arr);
			ctl_print_json(doc); /* it takes doc */
		} else {
			for (size_t i = 0; i < k; i++)
				s_print(m.all[i]);
		}
	}
	free(m.all);
	for (size_t i = 0; i < m.n; i++)
		traction_reply_free(&m.reps[i]->base);
	return rc;
}

/* The restore in the restored store's own audit log (docs/operations.md,
 * "Audit log"), as its next entry, before any daemon opens it: who (the
 * user running tractionctl), when, from which backup taken when. 0 or an
 * LMDB error. */
int ctl_audit_restore(const char *target, const char *dir, int64_t taken_ms)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 64);
	if (rc == 0)
		rc = mdb_env_open(env, target, MDB_NOTLS, 0640);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "audit", MDB_CREATE, &dbi);
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 1;
	if (rc == 0 && (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8) {
			const uint8_t *b = k.mv_data;
			seq = 0;
			for (int i = 0; i < 8; i++)
				seq = seq << 8 | b[i];
			seq++;
		}
		mdb_cursor_close(cur);
	}
	char taken[32], user[64];
	snprintf(taken, sizeof(taken), "%lld", (long long)taken_ms);
	const char *login = getenv("USER");
	snprintf(user, sizeof(user), "%s (uid %u)", login != NULL ? login : "?", (unsigned)getuid());
	Traction__V1__AuditEntry e = TRACTION__V1__AUDIT_ENTRY__INIT;
	Traction__V1__KeyValue kv[2] = { TRACTION__V1__KEY_VALUE__INIT, TRACTION__V1__KEY_VALUE__INIT };
	Traction__V1__KeyValue *kvp[2] = { &kv[0], &kv[1] };
	kv[0].key = (char *)"taken_ms";
	kv[0].value = taken;
	kv[1].key = (char *)"tool";
	kv[1].value = (char *)"tractionctl restore";
	e.seq = seq;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e.actor = user;
	e.action = (char *)"store.restore";
	e.subject = (char *)dir;
	e.details = kvp;
	e.n_details = 2;
	uint8_t key[8], buf[2048];
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	size_t len = traction__v1__audit_entry__get_packed_size(&e);
	if (rc == 0 && len > sizeof(buf))
		rc = MDB_BAD_VALSIZE;
	if (rc == 0) {
		traction__v1__audit_entry__pack(&e, buf);
		k = (MDB_val){ 8, key };
		v = (MDB_val){ len, buf };
		rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static void s_print_reload(const ProtobufCMessage *rep_)
{
	const Traction__V1__KeysReloadReply *rep = (const void *)rep_;
	printf("keys: %u in force, %u change%s%s\n", rep->keys, rep->changes,
	       rep->changes == 1 ? "" : "s",
	       rep->audited ? " recorded in the broker's audit log"
			    : " (the broker keeps no audit log: [store] state_dir is empty)");
}

static int keys_reload(ctl_t *ctl, args_t *a)
{
	Traction__V1__KeysReloadRequest req = TRACTION__V1__KEYS_RELOAD_REQUEST__INIT;
	if ((req.reason = (char *)arg_req(a, "reason")) == NULL)
		return 1;
	return ctl_call(ctl, "broker", "keys.reload", &req.base,
			&traction__v1__keys_reload_reply__descriptor, s_print_reload);
}

const cmd_t ctl_audit_cmds[] = {
	{ "audit", NULL, cmd_audit, "daemon,action,subject,actor,from,to,limit", 0, 0,
	  "audit [--daemon D] [--action PREFIX] [--subject ID] [--actor WHO] [--from T] [--to T]\n"
	  "             [--limit N]",
	  "The administrative changes of the set, newest first (admin): forced and backward\n"
	  "stage moves, retires, closed scenarios, alert rules, holds, retention policies,\n"
	  "restores, and the broker's key and scope changes (--daemon broker), from every\n"
	  "daemon's append-only audit log. --limit (default 100) caps the list;\n"
	  "--to the time of the last entry shown pages back.",
	  "tractionctl audit --action deployment. --from 2026-12-01T00:00:00Z" },
	{ "keys", "reload", keys_reload, "reason", 0, 0, "keys reload --reason TEXT",
	  "The broker reads keys_dir again and puts it in force (admin): each key or user\n"
	  "added, removed, or with another role, scope, public key or tokens is one entry of\n"
	  "its audit log, with you as the actor and this reason. A keys_dir that does not\n"
	  "parse is refused and the keys in force stay (docs/security.md).",
	  "tractionctl keys reload --reason \"site7 joins weld-line-4 (ticket 4411)\"" },
};
const int ctl_n_audit_cmds = sizeof(ctl_audit_cmds) / sizeof(ctl_audit_cmds[0]);
