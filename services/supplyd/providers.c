/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Providers: the entities that offer supply. Register, update, get, list.
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

static const trc_db_t *s_db(trc_call_t *call)
{
	return trc_call_db(call, SUPPLYD_DB_PROVIDERS);
}

static int s_validate(trc_call_t *call, const Traction__V1__Provider *p)
{
	int rc = trc_check_slug(call, "provider.id", p->id);
	if (rc == 0)
		rc = trc_check_text(call, "provider.name", p->name, 1, TRC_NAME_MAX);
	if (rc == 0)
		rc = trc_check_enum(call, "provider.kind", p->kind,
				    &traction__v1__provider_kind__descriptor, false);
	if (rc == 0)
		rc = trc_check_text(call, "provider.description", p->description, 0, TRC_TEXT_MAX);
	if (rc == 0)
		rc = trc_check_text(call, "provider.contact", p->contact, 0, TRC_NAME_MAX);
	return rc;
}

static int s_emit(trc_call_t *call, const char *type, Traction__V1__Provider *p)
{
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_PROVIDER;
	ev.provider = p;
	return trc_call_emit(call, type, &ev);
}

int supplyd_provider_register(trc_call_t *call, const ProtobufCMessage *req_,
			      ProtobufCMessage *rep_)
{
	const Traction__V1__ProviderRegisterRequest *req = (const void *)req_;
	Traction__V1__ProviderReply *rep = (void *)rep_;
	if (req->provider == NULL)
		return trc_call_fail(call, TRC_EINVAL, "provider: required");
	Traction__V1__Provider *p = req->provider;
	int rc = s_validate(call, p);
	if (rc != 0)
		return rc;
	MDB_val v;
	rc = trc_txn_get(call->txn, s_db(call), p->id, strlen(p->id), &v);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "provider.id: '%s' is already registered", p->id);
	if (rc != TRC_ENOENT)
		return rc;
	p->created_ms = p->updated_ms = call->now_ms;
	rc = trc_rec_put(call->txn, s_db(call), p->id, strlen(p->id), &p->base);
	if (rc == 0)
		rc = s_emit(call, "provider.registered", p);
	rep->provider = p;
	return rc;
}

static const char *const s_fields[] = { "name", "kind", "description", "contact", NULL };

int supplyd_provider_update(trc_call_t *call, const ProtobufCMessage *req_,
			    ProtobufCMessage *rep_)
{
	const Traction__V1__ProviderUpdateRequest *req = (const void *)req_;
	Traction__V1__ProviderReply *rep = (void *)rep_;
	Traction__V1__Provider *cur = NULL;
	if (req->provider == NULL)
		return trc_call_fail(call, TRC_EINVAL, "provider: required");
	const Traction__V1__Provider *in = req->provider;
	int rc = trc_check_slug(call, "provider.id", in->id);
	if (rc == 0)
		rc = trc_check_mask(call, req->update_mask, req->n_update_mask, s_fields);
	if (rc == 0)
		rc = trc_check_load(call, s_db(call), "provider.id", in->id, "provider",
				    (void **)&cur);
	if (rc != 0)
		return rc;
	char **m = req->update_mask;
	size_t n = req->n_update_mask;
	if (trc_mask_has(m, n, "name"))
		cur->name = in->name;
	if (trc_mask_has(m, n, "kind"))
		cur->kind = in->kind;
	if (trc_mask_has(m, n, "description"))
		cur->description = in->description;
	if (trc_mask_has(m, n, "contact"))
		cur->contact = in->contact;
	rc = s_validate(call, cur);
	if (rc != 0)
		return rc;
	cur->updated_ms = call->now_ms;
	rc = trc_rec_put(call->txn, s_db(call), cur->id, strlen(cur->id), &cur->base);
	if (rc == 0)
		rc = s_emit(call, "provider.updated", cur);
	rep->provider = cur;
	return rc;
}

int supplyd_provider_get(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__ProviderReply *rep = (void *)rep_;
	return trc_check_load(call, s_db(call), "id", req->id, "provider", (void **)&rep->provider);
}

int supplyd_provider_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__ProviderListRequest *req = (const void *)req_;
	Traction__V1__ProviderListReply *rep = (void *)rep_;
	int rc = trc_check_enum(call, "kind", req->kind, &traction__v1__provider_kind__descriptor,
				true);
	if (rc != 0)
		return rc;
	size_t limit = trc_page_limit(req->page, 100, 1000);
	const char *cursor = trc_page_cursor(req->page);
	rep->providers = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->providers == NULL)
		return TRC_ENOMEM;
	trc_iter_t it;
	/* The cursor is the last id returned: start just after it. */
	trc_dbkey_t from;
	trc_dbkey_init(&from);
	if (cursor[0] != '\0') {
		if (strlen(cursor) > TRC_SLUG_MAX)
			return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
		trc_dbkey_str(&from, cursor);
		trc_dbkey_sep(&from);
	}
	rc = trc_iter_begin(call->txn, s_db(call), &it, from.len ? from.buf : NULL, from.len, NULL,
			    0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Provider *p;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&p)) != 0)
			break;
		if (req->kind != 0 && p->kind != req->kind)
			continue;
		if (rep->n_providers == limit) {
			rep->next_cursor = trc_arena_strdup(call->arena,
							    rep->providers[limit - 1]->id);
			break;
		}
		rep->providers[rep->n_providers++] = p;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}
