/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Webhooks: added, listed and removed by an admin. A webhook's secret is
 * kept in our store only: a reply carries its fingerprint, never the
 * secret (nor does any log line), except the one webhook.add made.
 */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "dbkey.h"
#include "error.h"
#include "notifyd.h"
#include "record.h"
#include "util.h"
#include "validate.h"

/* A copy of h for a reply: the same, less its secret. */
static Traction__V1__Webhook *s_public(trc_call_t *call, const Traction__V1__Webhook *h)
{
	Traction__V1__Webhook *p = trc_arena_alloc(call->arena, sizeof(*p));
	if (p == NULL)
		return NULL;
	*p = *h;
	p->secret = (ProtobufCBinaryData){ 0, NULL };
	return p;
}

/* http:// or https://, a host, printable ASCII without blanks (libcurl
 * takes it as it is: no quoting of ours to get wrong). */
static bool s_url_ok(const char *url)
{
	size_t len = strlen(url), skip;
	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	if (len > NT_URL_MAX || len == skip || url[skip] == '/' || url[skip] == ':')
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return false;
	return true;
}

static int s_check(trc_call_t *call, Traction__V1__Webhook *h)
{
	int rc = trc_check_slug(call, "webhook.name", h->name);
	if (rc != 0)
		return rc;
	if (h->url == NULL || !s_url_ok(h->url))
		return trc_call_fail(call, TRC_EINVAL,
				     "webhook.url: expected http:// or https:// and a host, at most %d "
				     "printable bytes without blanks",
				     NT_URL_MAX);
	if (h->secret.len != 0 && (h->secret.len < NT_SECRET_MIN || h->secret.len > NT_SECRET_MAX))
		return trc_call_fail(call, TRC_EINVAL,
				     "webhook.secret: %d to %d bytes (or none: one is made)",
				     NT_SECRET_MIN, NT_SECRET_MAX);
	rc = trc_check_slugs(call, "webhook.rule_ids", h->rule_ids, h->n_rule_ids, NT_RULES_MAX);
	if (rc == 0)
		rc = trc_check_enum(call, "webhook.min_severity", h->min_severity,
				    &traction__v1__severity__descriptor, true);
	if (rc != 0)
		return rc;
	if (h->max_in_flight > NT_IN_FLIGHT_MAX)
		return trc_call_fail(call, TRC_EINVAL, "webhook.max_in_flight: at most %d",
				     NT_IN_FLIGHT_MAX);
	return 0;
}

int notifyd_webhook_add(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__WebhookAddRequest *req = (const void *)req_;
	Traction__V1__WebhookReply *rep = (void *)rep_;
	if (req->webhook == NULL)
		return trc_call_fail(call, TRC_EINVAL, "webhook: required");
	Traction__V1__Webhook h = *req->webhook;
	int rc = s_check(call, &h);
	if (rc != 0)
		return rc;
	if (h.secret.len == 0) {
		/* 32 random bytes as hex: the key is those 64 characters, so
		 * that it can be pasted into a receiver's configuration */
		uint8_t raw[32];
		char *hex = trc_arena_alloc(call->arena, 2 * sizeof(raw) + 1);
		if (hex == NULL)
			return TRC_ENOMEM;
		randombytes_buf(raw, sizeof(raw));
		trc_hex(hex, raw, sizeof(raw));
		sodium_memzero(raw, sizeof(raw));
		h.secret = (ProtobufCBinaryData){ 2 * sizeof(raw), (uint8_t *)hex };
		rep->generated_secret = hex;
	}
	char fp[24];
	nt_fingerprint(h.secret.data, h.secret.len, fp);
	h.secret_fingerprint = trc_arena_strdup(call->arena, fp);
	if (h.max_in_flight == 0)
		h.max_in_flight = NT_IN_FLIGHT_DEFAULT;
	h.created_ms = call->now_ms;
	h.created_by = (char *)call->client_id;
	if (h.secret_fingerprint == NULL)
		return TRC_ENOMEM;
	const trc_db_t *db = trc_call_db(call, NT_DB_HOOKS);
	MDB_val v;
	rc = trc_txn_get(call->txn, db, h.name, strlen(h.name), &v);
	if (rc == 0)
		return trc_call_fail(call, TRC_EEXIST, "webhook.name: '%s' exists", h.name);
	if (rc != TRC_ENOENT)
		return rc;
	rc = trc_rec_put(call->txn, db, h.name, strlen(h.name), &h.base);
	if (rc != 0)
		return rc;
	rep->webhook = s_public(call, &h);
	return rep->webhook != NULL ? 0 : TRC_ENOMEM;
}

int notifyd_webhook_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__V1__WebhookListRequest *req = (const void *)req_;
	Traction__V1__WebhookListReply *rep = (void *)rep_;
	size_t limit = trc_page_limit(req->page, NT_LIST_DEFAULT, NT_LIST_MAX);
	const char *cursor = trc_page_cursor(req->page);
	if (cursor[0] != '\0' && !trc_is_slug(cursor))
		return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	rep->webhooks = trc_arena_alloc(call->arena, sizeof(void *) * limit);
	if (rep->webhooks == NULL)
		return TRC_ENOMEM;
	trc_dbkey_t from; /* the cursor is the last name returned: just after it */
	trc_dbkey_init(&from);
	if (cursor[0] != '\0') {
		trc_dbkey_str(&from, cursor);
		trc_dbkey_sep(&from);
	}
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, trc_call_db(call, NT_DB_HOOKS), &it,
				from.len ? from.buf : NULL, from.len, NULL, 0, false);
	while (rc == 0 && trc_iter_next(&it)) {
		Traction__V1__Webhook *h;
		if ((rc = trc_iter_rec(&it, call->arena, (void **)&h)) != 0)
			break;
		if (rep->n_webhooks == limit) {
			rep->next_cursor = trc_arena_strdup(call->arena, rep->webhooks[limit - 1]->name);
			break;
		}
		h->secret = (ProtobufCBinaryData){ 0, NULL };
		rep->webhooks[rep->n_webhooks++] = h;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

int notifyd_webhook_remove(trc_call_t *call, const ProtobufCMessage *req_,
			   ProtobufCMessage *rep_)
{
	const Traction__V1__IdRequest *req = (const void *)req_;
	Traction__V1__WebhookReply *rep = (void *)rep_;
	Traction__V1__Webhook *h;
	const trc_db_t *db = trc_call_db(call, NT_DB_HOOKS);
	int rc = trc_check_load(call, db, "id", req->id, "webhook", (void **)&h);
	if (rc == 0)
		rc = nt_deliveries_drop(call, h->name);
	if (rc == 0)
		rc = trc_txn_del(call->txn, db, h->name, strlen(h->name));
	if (rc != 0)
		return rc;
	rep->webhook = s_public(call, h);
	return rep->webhook != NULL ? 0 : TRC_ENOMEM;
}

bool nt_webhook_takes(const Traction__V1__Webhook *h, const Traction__V1__Alert *a)
{
	/* a rule's severity left at 0 means high (feedback.proto) */
	int sev = a->severity != 0 ? (int)a->severity : TRACTION__V1__SEVERITY__SEVERITY_HIGH;
	if (h->min_severity != 0 && sev < (int)h->min_severity)
		return false;
	if (h->n_rule_ids == 0)
		return true;
	for (size_t i = 0; i < h->n_rule_ids; i++)
		if (a->rule_id != NULL && strcmp(h->rule_ids[i], a->rule_id) == 0)
			return true;
	return false;
}
