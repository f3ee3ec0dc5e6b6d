/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's audit log (docs/operations.md, "Audit log"; docs/security.md,
 * "Changing keys"): the keys and users of keys_dir are the broker's to put
 * in force, so each change of them is recorded here, as the daemons record
 * theirs: an AuditEntry in the "audit" database of a store of its own
 * (state_dir/broker), written by trc_call_audit and read by audit.list
 * through trc_call_audit_list, the daemons' own two functions.
 *
 * The store also holds the key set as it was last put in force ("keys":
 * one text per key or user, its fields in a fixed order), so a reload, a
 * restart and the first start are one case: the set read from keys_dir
 * against the set last recorded, each difference one entry, in the
 * transaction that records the new set; the new set is put in force only
 * once that has committed (a change that cannot be recorded is not made).
 * A user's tokens are kept as their count and a digest of the set, never
 * a token's hash: an entry says only that they changed.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "call.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "record.h"
#include "util.h"
#include "traction/v1/events.pb-c.h"

enum { BK_DB_KEYS, BK_DB_COUNT };
static const trc_db_decl_t s_dbs[BK_DB_COUNT] = {
	[BK_DB_KEYS] = { "keys",
			 "name -> text: the key or user as last put in force (kind, role, public, "
			 "scenarios, enterprises, providers; tokens as count and digest)",
			 NULL },
};
static const trc_dbs_t s_broker_dbs = TRC_DBS(s_dbs);
#define BROKER_MAP_MB 64u /* a few hundred bytes an entry: millions of changes */

/* ---- a key as the log compares it ------------------------------------------------ */

/* A key's fields, as text, in the order they are stored. */
enum { F_KIND, F_ROLE, F_PUBLIC, F_SCENARIOS, F_ENTERPRISES, F_PROVIDERS, F_TOKENS, F_COUNT };
static const char *const s_field[F_COUNT] = { "kind",	     "role",	  "public", "scenarios",
					      "enterprises", "providers", "tokens" };

typedef struct {
	char *f[F_COUNT]; /* in the arena */
} summary_t;

static const char *s_role(int role)
{
	switch (role) {
	case TRACTION__V1__ROLE__ROLE_PUBLISHER: return "publisher";
	case TRACTION__V1__ROLE__ROLE_READER: return "reader";
	case TRACTION__V1__ROLE__ROLE_ADMIN: return "admin";
	case TRACTION__V1__ROLE__ROLE_SERVICE: return "service";
	case TRACTION__V1__ROLE__ROLE_EDGE: return "edge";
	}
	return "?";
}

static int s_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list sorted and joined with ", " (the order of a file's line is not a
 * change); NULL when out of memory. */
static char *s_join(trc_arena_t *arena, char **v, size_t n)
{
	char **s = trc_arena_alloc(arena, sizeof(*s) * (n + 1));
	size_t len = 1;
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[i] = v[i];
		len += strlen(v[i]) + 2;
	}
	qsort(s, n, sizeof(*s), s_cmp_str);
	char *out = trc_arena_alloc(arena, len);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, s[i]);
	}
	return out;
}

/* "N" and a digest of the sorted set, so a replaced token is a change. */
static char *s_tokens(trc_arena_t *arena, char **v, size_t n)
{
	char *all = s_join(arena, v, n);
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[sizeof(h) * 2 + 1];
	if (all == NULL)
		return NULL;
	if (n == 0)
		return trc_arena_strdup(arena, "0");
	crypto_hash_sha256(h, (const unsigned char *)all, strlen(all));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return trc_arena_printf(arena, "%zu %s", n, hex);
}

static int s_summary(trc_arena_t *arena, const trc_key_t *k, summary_t *s)
{
	s->f[F_KIND] = (char *)(k->user ? "user" : "key");
	s->f[F_ROLE] = (char *)s_role(k->role);
	s->f[F_PUBLIC] = (char *)k->public_key;
	s->f[F_SCENARIOS] = s_join(arena, k->scenarios, k->n_scenarios);
	s->f[F_ENTERPRISES] = s_join(arena, k->enterprises, k->n_enterprises);
	s->f[F_PROVIDERS] = s_join(arena, k->providers, k->n_providers);
	s->f[F_TOKENS] = s_tokens(arena, k->tokens, k->n_tokens);
	for (int i = 0; i < F_COUNT; i++)
		if (s->f[i] == NULL)
			return TRC_ENOMEM;
	return 0;
}

/* "field=value\n" for each field, in order (no value holds a newline). */
static char *s_text(trc_arena_t *arena, const summary_t *s)
{
	size_t len = 1;
	for (int i = 0; i < F_COUNT; i++)
		len += strlen(s_field[i]) + strlen(s->f[i]) + 2;
	char *out = trc_arena_alloc(arena, len), *p = out;
	for (int i = 0; out != NULL && i < F_COUNT; i++)
		p += sprintf(p, "%s=%s\n", s_field[i], s->f[i]);
	return out;
}

/* The stored text back into fields: TRC_ECORRUPT if it is not one. */
static int s_parse(trc_arena_t *arena, const MDB_val *v, summary_t *s)
{
	char *text = trc_arena_alloc(arena, v->mv_size + 1), *p = text;
	if (text == NULL)
		return TRC_ENOMEM;
	memcpy(text, v->mv_data, v->mv_size);
	for (int i = 0; i < F_COUNT; i++) {
		size_t flen = strlen(s_field[i]);
		char *nl = strchr(p, '\n');
		if (nl == NULL || strncmp(p, s_field[i], flen) != 0 || p[flen] != '=')
			return TRC_ECORRUPT;
		*nl = '\0';
		s->f[i] = p + flen + 1;
		p = nl + 1;
	}
	return *p == '\0' ? 0 : TRC_ECORRUPT;
}

/* ---- the difference, entry by entry --------------------------------------------- */

typedef struct {
	trc_call_t *call;
	const char *reason;
	const char *const *extra; /* pairs added to every entry (a signal's sender) */
	unsigned changes;
} diff_t;

/* One entry: "<kind>.<what>" on name, with details (pairs, NULL-ended)
 * and the diff's extra pairs after them. */
static int s_entry(diff_t *d, const char *kind, const char *what, const char *name,
		   const char *const *details)
{
	const char *all[2 * 16 + 1];
	size_t n = 0;
	for (size_t i = 0; details != NULL && details[i] != NULL && n < 2 * 12; i += 2) {
		all[n++] = details[i];
		all[n++] = details[i + 1];
	}
	for (size_t i = 0; d->extra != NULL && d->extra[i] != NULL && n < 2 * 16; i += 2) {
		all[n++] = d->extra[i];
		all[n++] = d->extra[i + 1];
	}
	all[n] = NULL;
	char action[32];
	snprintf(action, sizeof(action), "%s.%s", kind, what);
	d->changes++;
	trc_info("keys: %s %s (%s)", action, name, d->reason);
	return trc_call_audit(d->call, action, name, d->reason, all);
}

static const char *s_shown(const char *v)
{
	return v[0] != '\0' ? v : "(none)";
}

/* "old -> new" of field i, in the arena. */
static char *s_change(trc_arena_t *arena, const summary_t *o, const summary_t *n, int i)
{
	if (i == F_TOKENS) /* the count only: the digest says nothing to a reader */
		return trc_arena_printf(arena, "%.*s -> %.*s", (int)strcspn(o->f[i], " "),
					o->f[i], (int)strcspn(n->f[i], " "), n->f[i]);
	return trc_arena_printf(arena, "%s -> %s", s_shown(o->f[i]), s_shown(n->f[i]));
}

/* What a key or user holds, for its added or removed entry. */
static int s_whole(diff_t *d, const char *what, const char *name, const summary_t *s)
{
	const char *det[2 * F_COUNT + 1];
	size_t n = 0;
	for (int i = F_ROLE; i < F_COUNT; i++) {
		if (s->f[i][0] == '\0' || (i == F_TOKENS && strcmp(s->f[i], "0") == 0))
			continue;
		det[n++] = s_field[i];
		det[n++] = i == F_TOKENS ? trc_arena_printf(d->call->arena, "%.*s",
							     (int)strcspn(s->f[i], " "), s->f[i])
					 : s->f[i];
	}
	det[n] = NULL;
	return s_entry(d, s->f[F_KIND], what, name, det);
}

/* The entries of one name present before (o, may be NULL) and now (n, may
 * be NULL). */
static int s_compare(diff_t *d, const char *name, const summary_t *o, const summary_t *n)
{
	trc_arena_t *arena = d->call->arena;
	int rc = 0;
	if (o != NULL && (n == NULL || strcmp(o->f[F_KIND], n->f[F_KIND]) != 0))
		rc = s_whole(d, "removed", name, o);
	if (rc == 0 && n != NULL && (o == NULL || strcmp(o->f[F_KIND], n->f[F_KIND]) != 0))
		return s_whole(d, "added", name, n);
	if (rc != 0 || n == NULL)
		return rc;
	/* the same name and kind: what changed, one entry per concern */
	static const struct {
		const char *what;
		int fields[3];
		int nfields;
	} concern[] = {
		{ "role", { F_ROLE }, 1 },
		{ "scope", { F_SCENARIOS, F_ENTERPRISES, F_PROVIDERS }, 3 },
		{ "rotated", { F_PUBLIC }, 1 },
		{ "tokens", { F_TOKENS }, 1 },
	};
	for (size_t c = 0; rc == 0 && c < sizeof(concern) / sizeof(concern[0]); c++) {
		const char *det[7];
		size_t k = 0;
		for (int j = 0; j < concern[c].nfields; j++) {
			int i = concern[c].fields[j];
			if (strcmp(o->f[i], n->f[i]) == 0)
				continue;
			det[k++] = s_field[i];
			if ((det[k++] = s_change(arena, o, n, i)) == NULL)
				return TRC_ENOMEM;
		}
		det[k] = NULL;
		if (k > 0)
			rc = s_entry(d, o->f[F_KIND], concern[c].what, name, det);
	}
	return rc;
}

static int s_cmp_key(const void *a, const void *b)
{
	return strcmp((*(const trc_key_t *const *)a)->name, (*(const trc_key_t *const *)b)->name);
}

/* Records the difference between the set last recorded and keys, and
 * records keys as the set in force, in the call's transaction. */
static int s_record(diff_t *d, const trc_keys_t *keys)
{
	trc_call_t *call = d->call;
	trc_txn_t *txn = call->txn;
	const trc_db_t *db = trc_call_db(call, BK_DB_KEYS);
	size_t n = trc_keys_count(keys);
	const trc_key_t **v = trc_arena_alloc(call->arena, sizeof(*v) * (n + 1));
	if (v == NULL)
		return TRC_ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = trc_keys_at(keys, i);
	qsort(v, n, sizeof(*v), s_cmp_key);
	/* gone: those recorded that keys does not name (collected first: the
	 * iteration's cursor does not outlive a delete) */
	const char **gone = NULL;
	size_t ngone = 0, cap = 0;
	trc_iter_t it;
	int rc = trc_iter_begin(txn, db, &it, NULL, 0, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		char *name = trc_arena_printf(call->arena, "%.*s", (int)it.key.mv_size,
					      (const char *)it.key.mv_data);
		if (name == NULL ||
		    (gone = trc_arena_grow(call->arena, gone, ngone, &cap, sizeof(*gone))) == NULL)
			rc = TRC_ENOMEM;
		else if (trc_keys_by_name(keys, name) == NULL)
			gone[ngone++] = name;
	}
	trc_iter_end(&it);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		summary_t now, before;
		MDB_val val;
		const char *name = v[i]->name;
		if ((rc = s_summary(call->arena, v[i], &now)) != 0)
			break;
		int got = trc_txn_get(txn, db, name, strlen(name), &val);
		if (got != 0 && got != TRC_ENOENT)
			return got;
		if (got == 0 && (rc = s_parse(call->arena, &val, &before)) != 0)
			return trc_txn_fail(txn, rc);
		rc = s_compare(d, name, got == 0 ? &before : NULL, &now);
		char *text = rc == 0 ? s_text(call->arena, &now) : NULL;
		if (rc == 0 && text == NULL)
			rc = TRC_ENOMEM;
		if (rc == 0)
			rc = trc_txn_put(txn, db, name, strlen(name), text, strlen(text), 0);
	}
	for (size_t i = 0; rc == 0 && i < ngone; i++) {
		summary_t before;
		MDB_val val;
		if ((rc = trc_txn_get(txn, db, gone[i], strlen(gone[i]), &val)) != 0 ||
		    (rc = s_parse(call->arena, &val, &before)) != 0)
			break;
		rc = s_compare(d, gone[i], &before, NULL);
		if (rc == 0)
			rc = trc_txn_del(txn, db, gone[i], strlen(gone[i]));
	}
	return rc != 0 ? trc_txn_fail(txn, rc) : txn->err;
}

/* One write transaction of the broker's store: the difference to keys
 * (or, with refused, one keys.reload_refused entry saying why) as `who`,
 * committed. */
static int s_write(trc_broker_t *b, const trc_keys_t *keys, const char *refused,
		   const broker_caller_t *who, const char *reason, const char *const *extra,
		   unsigned *changes)
{
	trc_txn_t txn;
	trc_call_t call = { 0 };
	diff_t d = { &call, reason, extra, 0 };
	trc_arena_reset(b->audit_arena);
	call.txn = &txn;
	call.arena = b->audit_arena;
	call.client_id = who->actor;
	call.edge = who->edge;
	call.role = who->role;
	call.now_ms = trc_now_ms();
	int rc = trc_txn_begin(b->audit, &txn, true);
	if (rc != 0)
		return rc;
	if (refused != NULL) {
		const char *det[] = { "error", refused, NULL };
		rc = trc_call_audit(&call, "keys.reload_refused", trc_auth_keys_dir(b->auth),
				    reason, det);
	} else {
		rc = s_record(&d, keys);
	}
	if (rc != 0) {
		trc_txn_abort(&txn);
		return rc;
	}
	rc = trc_txn_commit(&txn);
	if (rc == 0 && changes != NULL)
		*changes = d.changes;
	return rc;
}

/* ---- the broker's side ---------------------------------------------------------- */

int broker_audit_open(trc_broker_t *b)
{
	if (trc_auth_keys(b->auth) == NULL)
		return 0; /* no keys in force, none to record */
	if (b->cfg.state_dir[0] == '\0') {
		trc_notice("[store] state_dir is empty: the broker keeps no audit log of key "
			   "changes (docs/operations.md, \"Audit log\")");
		return 0;
	}
	char dir[TRC_CONFIG_PATH + 16] = "";
	int rc = trc_daemon_state_path(&b->cfg, b->name, dir, sizeof(dir));
	if (rc == 0)
		rc = trc_mkdir_p(dir);
	if (rc == 0)
		rc = trc_store_open(&b->audit, dir, (size_t)BROKER_MAP_MB << 20, &s_broker_dbs,
				    BROKER_SCHEMA);
	if (rc == 0 && (b->audit_arena = trc_arena_new()) == NULL)
		rc = TRC_ENOMEM;
	if (rc == 0)
		rc = broker_backup_open(b, dir);
	if (rc != 0) {
		trc_err("cannot open the broker's audit log in %s: %s", dir, trc_strerror(rc));
		return rc;
	}
	/* what changed while the broker was stopped (at first: the whole set) */
	trc_txn_t txn;
	size_t recorded = 1;
	if (trc_txn_begin(b->audit, &txn, false) == 0) {
		trc_txn_entries(&txn, trc_store_db(b->audit, BK_DB_KEYS), &recorded);
		trc_txn_abort(&txn);
	}
	static const broker_caller_t start = { "traction-broker", NULL, 0 };
	unsigned changes = 0;
	rc = s_write(b, trc_auth_keys(b->auth), NULL, &start,
		     recorded == 0 ? "start: the keys in force when the log began"
				   : "start: changed while the broker was stopped",
		     NULL, &changes);
	if (rc != 0)
		trc_err("cannot record the keys in force in the audit log: %s", trc_strerror(rc));
	else
		trc_info("audit log in %s; %u key changes recorded at start", dir, changes);
	return rc;
}

void broker_audit_close(trc_broker_t *b)
{
	broker_backup_close(b);
	trc_store_destroy(&b->audit);
	trc_arena_destroy(&b->audit_arena);
}

int broker_keys_reload(trc_broker_t *b, const char *dir, const broker_caller_t *who,
		       const char *reason, const char *const *extra, char *err, size_t errlen,
		       Traction__V1__KeysReloadReply *rep)
{
	trc_keys_t *keys = NULL;
	unsigned changes = 0;
	if (trc_auth_keys(b->auth) == NULL)
		return trc_errf(TRC_EPRECOND, err, errlen,
				"the broker loaded no keys at start (no curve and no keys_dir): "
				"there are none to reload");
	int rc = trc_keys_load(&keys, dir, err, errlen);
	if (rc != 0) {
		/* refused: the keys in force stay, and the attempt is recorded */
		trc_err("keys: reload refused, the keys in force stay: %s", err);
		if (b->audit != NULL) {
			char why[600];
			snprintf(why, sizeof(why), "%s", err);
			int wrc = s_write(b, NULL, why, who, reason, extra, NULL);
			if (wrc != 0)
				trc_err("cannot record the refused reload: %s", trc_strerror(wrc));
		}
		return TRC_EPRECOND;
	}
	if (b->audit != NULL) {
		rc = s_write(b, keys, NULL, who, reason, extra, &changes);
		if (rc != 0) {
			trc_keys_destroy(&keys);
			trc_err("keys: cannot record the reload, the keys in force stay: %s",
				trc_strerror(rc));
			return trc_errf(rc, err, errlen,
					"the change cannot be recorded in the audit log (%s): "
					"the keys in force stay",
					trc_strerror(rc));
		}
	}
	rep->keys = (uint32_t)trc_keys_count(keys);
	rep->changes = changes;
	rep->audited = b->audit != NULL;
	trc_auth_keys_set(b->auth, keys, dir);
	return 0;
}

/* ---- the broker's methods audit.list, keys.reload (and backup.c's) -------------- */

static int s_audit_list(trc_broker_t *b, const ProtobufCMessage *req, const broker_caller_t *who,
			ProtobufCMessage *rep_, trc_call_t *call)
{
	(void)who;
	if (b->audit == NULL) /* no log: an empty one, named */
		return ((Traction__V1__AuditListReply *)rep_)->daemon = b->name, 0;
	trc_txn_t txn;
	int rc = trc_txn_begin(b->audit, &txn, false);
	if (rc != 0)
		return rc;
	call->txn = &txn;
	rc = trc_call_audit_list(call, b->name, req, rep_);
	trc_txn_abort(&txn);
	call->txn = NULL;
	return rc;
}

static int s_keys_reload(trc_broker_t *b, const ProtobufCMessage *req_,
			 const broker_caller_t *who, ProtobufCMessage *rep, trc_call_t *call)
{
	const Traction__V1__KeysReloadRequest *req = (const Traction__V1__KeysReloadRequest *)req_;
	size_t rlen = strlen(req->reason);
	if (rlen == 0 || rlen > 1000 || !trc_is_utf8(req->reason, rlen))
		return trc_call_fail(call, TRC_EINVAL,
				     "reason: 1-1000 bytes of UTF-8 saying why (it is recorded)");
	/* the reason outlives the arena's reset in s_write */
	char reason[1001], err[512] = "";
	memcpy(reason, req->reason, rlen + 1);
	int rc = broker_keys_reload(b, trc_auth_keys_dir(b->auth), who, reason, NULL, err,
				    sizeof(err), (Traction__V1__KeysReloadReply *)rep);
	if (rc != 0)
		return trc_call_fail(call, rc, "%s", err[0] ? err : trc_strerror(rc));
	return 0;
}

static const broker_method_t s_methods[] = {
	{ "audit.list", &traction__v1__audit_list_request__descriptor,
	  &traction__v1__audit_list_reply__descriptor, s_audit_list },
	{ "keys.reload", &traction__v1__keys_reload_request__descriptor,
	  &traction__v1__keys_reload_reply__descriptor, s_keys_reload },
	{ NULL, NULL, NULL, NULL },
};

static const broker_method_t *s_method(const char *name)
{
	const broker_method_t *const tables[] = { s_methods, broker_backup_methods };
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const broker_method_t *m = tables[t]; m->name != NULL; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

bool broker_audit_method(const char *method)
{
	return s_method(method) != NULL;
}

/* The method m of body[0..blen) as who, into a reply of the arena. */
static int s_run(trc_broker_t *b, const broker_method_t *m, const void *body, size_t blen,
		 const broker_caller_t *who, ProtobufCMessage **rep, trc_call_t *call)
{
	ProtobufCAllocator al = trc_arena_allocator(b->audit_arena);
	ProtobufCMessage *req = protobuf_c_message_unpack(m->req, &al, blen, body);
	if (req == NULL)
		return trc_call_fail(call, TRC_EPROTO, "the body is not a %s", m->req->short_name);
	/* not in the arena: keys.reload resets it (s_write) */
	if ((*rep = calloc(1, m->rep->sizeof_message)) == NULL)
		return TRC_ENOMEM;
	protobuf_c_message_init(m->rep, *rep);
	return m->fn(b, req, who, *rep, call);
}

void broker_audit_request(trc_broker_t *b, void *sock, const void *rid, size_t ridlen,
			  const Traction__V1__Header *h, const broker_caller_t *who,
			  const void *body, size_t blen)
{
	const broker_method_t *m = s_method(h->method);
	ProtobufCMessage *rep = NULL;
	trc_arena_t *own = NULL;
	if (b->audit_arena == NULL && (b->audit_arena = own = trc_arena_new()) == NULL) {
		broker_answer(b, sock, rid, ridlen, h->version, h->request_id,
			      TRACTION__V1__CODE__RESOURCE_EXHAUSTED, "out of memory", NULL);
		return;
	}
	trc_arena_reset(b->audit_arena);
	trc_call_t call = { 0 };
	call.arena = b->audit_arena;
	call.client_id = who->actor;
	call.now_ms = trc_now_ms();
	int rc;
	/* as the daemons' writes: admin, and the daemons' own service key */
	if (who->role != TRACTION__V1__ROLE__ROLE_ADMIN &&
	    who->role != TRACTION__V1__ROLE__ROLE_SERVICE)
		rc = trc_call_fail(&call, TRC_EPERM, "broker: %s needs the admin role", h->method);
	else if (m == NULL)
		rc = trc_call_fail(&call, TRC_EINVAL, "broker: no method %s here", h->method);
	else
		rc = s_run(b, m, body, blen, who, &rep, &call);
	if (rc != 0 && call.message == NULL)
		trc_call_fail(&call, rc, "%s", trc_strerror(rc));
	if (rc == 0 && trc_arena_failures(b->audit_arena) > 0) /* never a short reply */
		rc = trc_call_fail(&call, TRC_ENOMEM, "out of memory");
	broker_answer(b, sock, rid, ridlen, h->version, h->request_id, rc != 0 ? call.code : 0,
		      rc != 0 ? call.message : "", rc != 0 ? NULL : rep);
	free(rep);
	trc_arena_reset(b->audit_arena);
	if (own != NULL)
		trc_arena_destroy(&b->audit_arena);
}
