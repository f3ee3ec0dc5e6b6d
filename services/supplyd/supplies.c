/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Supplies: units of AI technical supply offered by a provider. Register,
 * update, retire, get, and list with filters (kind, provider, capability,
 * status) by cursor. Two indexes keep the filtered lists cheap:
 * by_provider (provider\0supply) and by_capability (capability\0supply).
 */
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "record.h"
#include "supplyd.h"
#include "util.h"
#include "validate.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/supply.pb-c.h"

#define PROPERTY_VALUE_MAX 1000

static int s_validate(trc_call_t *call, const Traction__V1__Supply *s)
{
	int rc = trc_check_slug(call, "supply.id", s->id);
	if (rc == 0)
		rc = trc_check_slug(call, "supply.provider_id", s->provider_id);
	if (rc == 0)
		rc = trc_check_enum(call, "supply.kind", s->kind, &traction__v1__supply_kind__descriptor,
				    false);
	if (rc == 0)
		rc = trc_check_text(call, "supply.name", s->name, 1, TRC_NAME_MAX);
	if (rc == 0)
		rc = trc_check_text(call, "supply.description", s->description, 0, TRC_TEXT_MAX);
	if (rc == 0)
		rc = trc_check_slugs(call, "supply.capabilities", s->capabilities, s->n_capabilities,
				     TRC_LIST_MAX);
	if (rc == 0)
		rc = trc_check_pairs(call, "supply.properties", s->properties, s->n_properties,
				     TRC_LIST_MAX, PROPERTY_VALUE_MAX);
	if (rc == 0)
		rc = trc_check_slug(call, "supply.initial_version", s->initial_version);
	return rc;
}

static int s_index(trc_call_t *call, const Traction__V1__Supply *s, bool add)
{
	trc_dbkey_t k;
	trc_dbkey_of(&k, s->provider_id, s->id);
	int rc = 0;
	const trc_db_t *byp = trc_call_db(call, SUPPLYD_DB_BY_PROVIDER);
	const trc_db_t *byc = trc_call_db(call, SUPPLYD_DB_BY_CAP);
	/* A missing entry on removal is fine; store errors stick to the txn. */
	if (add)
		rc = trc_txn_put(call->txn, byp, k.buf, k.len, "", 0, 0);
	else
		trc_txn_del(call->txn, byp, k.buf, k.len);
	for (size_t i = 0; rc == 0 && i < s->n_capabilities; i++) {
		trc_dbkey_of(&k, s->capabilities[i], s->id);
		if (add)
			rc = trc_txn_put(call->txn, byc, k.buf, k.len, "", 0, 0);
		else
			trc_txn_del(call->txn, byc, k.buf, k.len);
	}
	return rc != 0 ? rc : call->txn->err;
}

static int s_emit(trc_call_t *call, const char *type, Traction__V1__Supply *s)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_SUPPLY;
	ev.supply = s;
	return trc_call_emit(call, type, &ev);
}

static int s_load(trc_call_t *call, const char *field, const char *id,
		  Traction__V1__Supply **out)
{
	return trc_check_load(call, trc_call_db(call, SUPPLYD_DB_SUPPLIES), field, id, "supply",
			      (void **)out);
}

int supplyd_supply_register(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyRegisterRequest *req = (const void *)req_;
	Traction__V1__SupplyReply *rep = (void *)rep_;
	if (req->supply == NULL)
		return trc_call_fail(call, TRC_EINVAL, "supply: required");
	Traction__V1__Supply *s = req->supply;
	int rc = s_validate(call, s);
	if (rc != 0)
		return rc;
	MDB_val v;
	rc = trc_txn_get(call->txn, trc_call_db(call, SUPPLYD_DB_PROVIDERS), s->provider_id,
			 strlen(s->provider_id), &v);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "supply.provider_id: no provider '%s'", s->provider_id);
	if (rc != 0)
		return rc;
	rc = trc_txn_get(call->txn, trc_call_db(call, SUPPLYD_DB_SUPPLIES), s->id, strlen(s->id),
			 &v);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "supply.id: '%s' is already registered", s->id);
	if (rc != TRC_ENOENT)
		return rc;
	s->status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE;
	s->created_ms = s->updated_ms = call->now_ms;
	s->retired_reason = NULL;
	rc = trc_rec_put(call->txn, trc_call_db(call, SUPPLYD_DB_SUPPLIES), s->id, strlen(s->id),
			 &s->base);
	if (rc == 0)
		rc = s_index(call, s, true);
	if (rc == 0)
		rc = s_emit(call, "supply.registered", s);
	rep->supply = s;
	return rc;
}

static const char *const s_fields[] = { "name", "description", "kind", "capabilities",
					"properties", NULL };

int supplyd_supply_update(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyUpdateRequest *req = (const void *)req_;
	Traction__V1__SupplyReply *rep = (void *)rep_;
	Traction__V1__Supply *cur = NULL;
	if (req->supply == NULL)
		return trc_call_fail(call, TRC_EINVAL, "supply: required");
	const Traction__V1__Supply *in = req->supply;
	int rc = trc_check_mask(call, req->update_mask, req->n_update_mask, s_fields);
	if (rc == 0)
		rc = s_load(call, "supply.id", in->id, &cur);
	if (rc != 0)
		return rc;
	if (cur->status == TRACTION__V1__SUPPLY_STATUS__SUPPLY_RETIRED)
		return trc_call_fail(call, TRC_EPRECOND, "supply.id: '%s' is retired", cur->id);
	rc = s_index(call, cur, false);
	if (rc != 0)
		return rc;
	char **m = req->update_mask;
	size_t n = req->n_update_mask;
	if (trc_mask_has(m, n, "name"))
		cur->name = in->name;
	if (trc_mask_has(m, n, "description"))
		cur->description = in->description;
	if (trc_mask_has(m, n, "kind"))
		cur->kind = in->kind;
	if (trc_mask_has(m, n, "capabilities")) {
		cur->capabilities = in->capabilities;
		cur->n_capabilities = in->n_capabilities;
	}
	if (trc_mask_has(m, n, "properties")) {
		cur->properties = in->properties;
		cur->n_properties = in->n_properties;
	}
	rc = s_validate(call, cur);
	if (rc != 0)
		return rc; /* the nested transaction drops the index removal too */
	cur->updated_ms = call->now_ms;
	rc = trc_rec_put(call->txn, trc_call_db(call, SUPPLYD_DB_SUPPLIES), cur->id,
			 strlen(cur->id), &cur->base);
	if (rc == 0)
		rc = s_index(call, cur, true);
	if (rc == 0)
		rc = s_emit(call, "supply.updated", cur);
	rep->supply = cur;
	return rc;
}

int supplyd_supply_retire(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyRetireRequest *req = (const void *)req_;
	Traction__V1__SupplyReply *rep = (void *)rep_;
	Traction__V1__Supply *cur = NULL;
	int rc = s_load(call, "id", req->id, &cur);
	if (rc == 0)
		rc = trc_check_text(call, "reason", req->reason, 0, TRC_TEXT_MAX);
	if (rc != 0)
		return rc;
	if (cur->status == TRACTION__V1__SUPPLY_STATUS__SUPPLY_RETIRED)
		return trc_call_fail(call, TRC_EPRECOND, "id: '%s' is already retired", cur->id);
	if ((rc = trc_call_audit(call, "supply.retire", cur->id, req->reason, NULL)) != 0)
		return rc;
	cur->status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_RETIRED;
	cur->retired_reason = req->reason;
	cur->updated_ms = call->now_ms;
	rc = trc_rec_put(call->txn, trc_call_db(call, SUPPLYD_DB_SUPPLIES), cur->id,
			 strlen(cur->id), &cur->base);
	if (rc == 0)
		rc = s_emit(call, "supply.retired", cur);
	rep->supply = cur;
	return rc;
}

int supplyd_supply_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__SupplyReply *rep = (void *)rep_;
	return s_load(call, "id", req->id, &rep->supply);
}

static bool s_matches(const Traction__V1__SupplyListRequest *req, const Traction__V1__Supply *s)
{
	if (req->kind != 0 && s->kind != req->kind)
		return false;
	if (req->status != 0 && s->status != req->status)
		return false;
	if (req->provider_id != NULL && req->provider_id[0] != '\0' &&
	    strcmp(s->provider_id, req->provider_id) != 0)
		return false;
	if (req->capability != NULL && req->capability[0] != '\0') {
		bool has = false;
		for (size_t i = 0; i < s->n_capabilities && !has; i++)
			has = strcmp(s->capabilities[i], req->capability) == 0;
		if (!has)
			return false;
	}
	return true;
}

/* The supply of a list's index entry: the record itself, or (an index by
 * capability or provider) the one its key's tail names. */
static int s_list_entry(trc_call_t *call, const trc_iter_t *it, bool indexed,
			Traction__V1__Supply **s)
{
	if (!indexed)
		return trc_iter_rec(it, call->arena, (void **)s);
	trc_dbsplit_t sp; /* capability or provider, supply */
	size_t idlen;
	trc_dbsplit_init(&sp, &it->key);
	trc_dbsplit_str(&sp, &idlen);
	const char *id = trc_dbsplit_str(&sp, &idlen);
	if (!trc_dbsplit_done(&sp) || idlen > TRC_SLUG_MAX)
		return TRC_ECORRUPT;
	return trc_rec_get(call->txn, trc_call_db(call, SUPPLYD_DB_SUPPLIES), id, idlen,
			   call->arena, (void **)s);
}

int supplyd_supply_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__SupplyListRequest *req = (const void *)req_;
	Traction__V1__SupplyListReply *rep = (void *)rep_;
	int rc = trc_check_enum(call, "kind", req->kind, &traction__v1__supply_kind__descriptor, true);
	if (rc == 0)
		rc = trc_check_enum(call, "status", req->status,
				    &traction__v1__supply_status__descriptor, true);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "provider_id", req->provider_id);
	if (rc == 0)
		rc = trc_check_slug_opt(call, "capability", req->capability);
	const char *cursor = trc_page_cursor(req->page);
	if (rc == 0 && cursor[0] != '\0' && !trc_is_slug(cursor))
		rc = trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	if (rc != 0)
		return rc;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	rep->supplies = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->supplies == NULL)
		return TRC_ENOMEM;

	/* Walk the narrowest index that the filters allow, in supply id order
	 * within it; the cursor is the last supply id returned. */
	const char *prefix = NULL;
	const trc_db_t *db = trc_call_db(call, SUPPLYD_DB_SUPPLIES);
	if (req->capability != NULL && req->capability[0] != '\0') {
		prefix = req->capability;
		db = trc_call_db(call, SUPPLYD_DB_BY_CAP);
	} else if (req->provider_id != NULL && req->provider_id[0] != '\0') {
		prefix = req->provider_id;
		db = trc_call_db(call, SUPPLYD_DB_BY_PROVIDER);
	}
	trc_dbkey_t lo, hi;
	trc_dbkey_init(&lo);
	trc_dbkey_init(&hi);
	if (prefix != NULL) {
		trc_dbkey_of(&lo, prefix, cursor);
		trc_dbkey_of(&hi, prefix);
		trc_dbkey_past(&hi); /* every "prefix\0..." sorts below "prefix\1" */
	} else if (cursor[0] != '\0') {
		trc_dbkey_str(&lo, cursor);
	}
	if (cursor[0] != '\0')
		trc_dbkey_sep(&lo); /* strictly after the cursor */

	trc_iter_t it;
	rc = trc_iter_begin(call->txn, db, &it, lo.len ? lo.buf : NULL, lo.len,
			    hi.len ? hi.buf : NULL, hi.len, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Supply *s = NULL;
		rc = s_list_entry(call, &it, prefix != NULL, &s);
		if (rc != 0)
			break;
		if (!s_matches(req, s))
			continue;
		if (rep->n_supplies == limit) {
			rep->next_cursor = trc_arena_strdup(call->arena, rep->supplies[limit - 1]->id);
			break;
		}
		rep->supplies[rep->n_supplies++] = s;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}
