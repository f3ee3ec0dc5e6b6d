/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-exampled's handlers and what it takes from the supply
 * registry's events: a note is added only about a supply it has seen
 * registered, stored with the event that says so.
 */
#include <string.h>

#include "dbkey.h"
#include "error.h"
#include "exampled.h"
#include "record.h"
#include "util.h"

static const trc_db_decl_t s_dbs[EX_DB_COUNT] = {
	[EX_DB_NOTES] = { "notes", "supply, be64 seq -> Note",
			  &traction__example__v1__note__descriptor },
	[EX_DB_SUPPLIES] = { "supplies", "supply -> \"\" (from supply events)", NULL },
};
const trc_dbs_t exampled_dbs = TRC_DBS(s_dbs);
const char *const exampled_event_topics[] = { "note.", NULL };

/* A note is added once and never changes, and no daemon consumes notes:
 * its event is news, not a record's state, so it names no key and goes
 * with the retention (the note itself stays in our store). */
int exampled_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud)
{
	(void)ev;
	(void)emit;
	(void)ud;
	return 0;
}
/* supplyd's topics, as it declares them: a consumer must see every one of
 * a source's sequence numbers to notice a gap */
static const char *const s_supply_topics[] = { "provider.", "supply.", NULL };
const trc_consume_t exampled_consumes[] = { { "supply", s_supply_topics }, { NULL, NULL } };

int exampled_apply(trc_call_t *call, const Traction__V1__Event *ev)
{
	if (ev->payload_case != TRACTION__V1__EVENT__PAYLOAD_SUPPLY || ev->supply->id == NULL)
		return 0; /* providers: nothing of ours */
	const char *id = ev->supply->id;
	return trc_txn_put(call->txn, trc_call_db(call, EX_DB_SUPPLIES), id, strlen(id), "", 0, 0);
}

/* add: the note under (supply, the seq of its event), and the event. */
static int s_add(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__Example__V1__NoteAddRequest *req = (const void *)req_;
	Traction__Example__V1__Note *note = (void *)rep_;
	if (!trc_is_slug(req->supply) || strlen(req->supply) >= TRC_SLUG_MAX)
		return trc_call_fail(call, TRC_EINVAL, "supply: expected an id of [A-Za-z0-9._-]");
	size_t len = strlen(req->text);
	if (len == 0 || len > EX_TEXT_MAX || !trc_is_text(req->text, EX_TEXT_MAX + 1))
		return trc_call_fail(call, TRC_EINVAL, "text: 1 to %d bytes of UTF-8", EX_TEXT_MAX);
	MDB_val v;
	int rc = trc_txn_get(call->txn, trc_call_db(call, EX_DB_SUPPLIES), req->supply,
			     strlen(req->supply), &v);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "supply: no supply '%s' (yet)", req->supply);
	if (rc != 0)
		return rc;
	note->supply = req->supply;
	note->text = req->text;
	note->seq = trc_evlog_head(call->txn) + 1; /* the event below */
	trc_dbkey_t k;
	trc_dbkey_init(&k);
	trc_dbkey_str(&k, req->supply);
	trc_dbkey_be64(&k, note->seq);
	rc = trc_rec_put(call->txn, trc_call_db(call, EX_DB_NOTES), k.buf, k.len, &note->base);
	if (rc != 0)
		return rc;
	size_t n = protobuf_c_message_get_packed_size(&note->base);
	uint8_t *packed = trc_arena_alloc(call->arena, n + 1);
	if (packed == NULL)
		return TRC_ENOMEM;
	protobuf_c_message_pack(&note->base, packed);
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.payload_case = TRACTION__V1__EVENT__PAYLOAD_DATA;
	ev.data = (ProtobufCBinaryData){ n, packed };
	return trc_call_emit(call, "note.added", &ev);
}

/* list: a supply's notes, oldest first (the first EX_LIST_MAX). */
static int s_list(trc_call_t *call, const ProtobufCMessage *req_, ProtobufCMessage *rep_)
{
	const Traction__Example__V1__NoteListRequest *req = (const void *)req_;
	Traction__Example__V1__NoteListReply *rep = (void *)rep_;
	if (!trc_is_slug(req->supply) || strlen(req->supply) >= TRC_SLUG_MAX)
		return trc_call_fail(call, TRC_EINVAL, "supply: expected an id of [A-Za-z0-9._-]");
	trc_iter_t it;
	int rc = trc_iter_prefix(call->txn, trc_call_db(call, EX_DB_NOTES), &it, req->supply,
				 strlen(req->supply), false);
	if (rc != 0)
		return rc;
	rep->notes = trc_arena_alloc(call->arena, EX_LIST_MAX * sizeof(*rep->notes));
	if (rep->notes == NULL)
		rc = TRC_ENOMEM;
	while (rc == 0 && rep->n_notes < EX_LIST_MAX && trc_iter_next(&it))
		rc = trc_iter_rec(&it, call->arena, (void **)&rep->notes[rep->n_notes++]);
	trc_iter_end(&it);
	return rc;
}

const trc_method_t exampled_methods[] = {
	{ "add", &traction__example__v1__note_add_request__descriptor,
	  &traction__example__v1__note__descriptor, s_add, TRC_METHOD_WRITE,
	  "add a note about a supply the registry has" },
	{ "list", &traction__example__v1__note_list_request__descriptor,
	  &traction__example__v1__note_list_reply__descriptor, s_list, 0,
	  "a supply's first notes" },
};
const size_t exampled_n_methods = sizeof(exampled_methods) / sizeof(exampled_methods[0]);
