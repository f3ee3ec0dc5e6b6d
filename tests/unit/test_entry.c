/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The entry decoder (lib/entry.h; proto/traction/v1/cluster.proto): an
 * entry as svc_entry.c packs it decodes back item for item, with its
 * routes and events; a later version's additions (an unknown field) are
 * passed over, a format it does not read is refused; so are an item of no
 * known kind, a request without its service, method or a Route that
 * decodes, an event without its source, and a string that is not UTF-8:
 * each saying which item and why.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "entry.h"
#include "error.h"

static uint8_t s_route[64], s_event[128];
static size_t s_route_len, s_event_len;

/* An entry of a request, an event and a tick, packed into buf. */
static size_t s_pack(uint8_t *buf, uint32_t format, int kind0, const char *service)
{
	Traction__V1__Route rt = TRACTION__V1__ROUTE__INIT;
	rt.ticket = 9;
	rt.client_id = (char *)"site7";
	rt.role = TRACTION__V1__ROLE__ROLE_PUBLISHER;
	s_route_len = traction__v1__route__pack(&rt, s_route);
	Traction__V1__Event ev = TRACTION__V1__EVENT__INIT;
	ev.source = (char *)"supply";
	ev.seq = 3;
	ev.type = (char *)"supply.registered";
	s_event_len = traction__v1__event__pack(&ev, s_event);

	Traction__V1__EntryItem it[3], *v[3] = { &it[0], &it[1], &it[2] };
	for (int i = 0; i < 3; i++)
		traction__v1__entry_item__init(&it[i]);
	it[0].kind = (Traction__V1__EntryItemKind)kind0;
	it[0].service = (char *)service;
	it[0].method = (char *)"publish";
	it[0].version = 2;
	it[0].route = (ProtobufCBinaryData){ s_route_len, s_route };
	it[0].body = (ProtobufCBinaryData){ 3, (uint8_t *)"\x0a\x01\x00" };
	it[0].may_wait = true;
	it[1].kind = TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT;
	it[1].event = (ProtobufCBinaryData){ s_event_len, s_event };
	it[1].compacted = true;
	it[2].kind = TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK;
	Traction__V1__Entry e = TRACTION__V1__ENTRY__INIT;
	e.format = format;
	e.now_ms = 1764806400123;
	e.config_digest = 0xfeedULL;
	e.items = v;
	e.n_items = 3;
	return traction__v1__entry__pack(&e, buf);
}

static int s_decode(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	trc_entry_t e;
	int rc = trc_entry_decode(buf, len, NULL, &e, why, whylen);
	CHECK(rc == 0 || e.entry == NULL); /* nothing left on a refusal */
	trc_entry_free(&e);
	return rc;
}

TEST(round_trip)
{
	uint8_t buf[512];
	size_t len = s_pack(buf, TRC_ENTRY_FORMAT, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST,
			    "feedback");
	trc_entry_t e;
	char why[256] = "";
	CHECK_MSG(trc_entry_decode(buf, len, NULL, &e, why, sizeof(why)) == 0, "%s", why);
	CHECK(e.entry->now_ms == 1764806400123);
	CHECK(e.entry->config_digest == 0xfeedULL);
	CHECK_EQ_INT(e.entry->n_items, 3);
	CHECK_STR(e.entry->items[0]->service, "feedback");
	CHECK_STR(e.entry->items[0]->method, "publish");
	CHECK(e.entry->items[0]->may_wait && e.entry->items[0]->version == 2);
	CHECK(e.routes[0] != NULL && e.routes[0]->ticket == 9);
	CHECK_STR(e.routes[0]->client_id, "site7");
	CHECK(e.events[0] == NULL && e.routes[1] == NULL);
	CHECK(e.events[1] != NULL && e.events[1]->seq == 3 && e.entry->items[1]->compacted);
	CHECK_STR(e.events[1]->source, "supply");
	CHECK(e.entry->items[2]->kind == TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK);
	trc_entry_free(&e);
	CHECK(e.entry == NULL);

	/* a later version's field 15 (varint 1), passed over */
	buf[len] = 15 << 3;
	buf[len + 1] = 1;
	CHECK_MSG(s_decode(buf, len + 2, why, sizeof(why)) == 0, "%s", why);
}

TEST(refusals)
{
	uint8_t buf[512];
	char why[256];
	size_t len = s_pack(buf, 2, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST, "feedback");
	CHECK_EQ_INT(s_decode(buf, len, why, sizeof(why)), TRC_EPROTO);
	CHECK_CONTAINS(why, "entry format 2");
	len = s_pack(buf, TRC_ENTRY_FORMAT, 7, "feedback");
	CHECK_EQ_INT(s_decode(buf, len, why, sizeof(why)), TRC_EPROTO);
	CHECK_CONTAINS(why, "item 0: an item of no kind");
	len = s_pack(buf, TRC_ENTRY_FORMAT, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST, "");
	CHECK_EQ_INT(s_decode(buf, len, why, sizeof(why)), TRC_EPROTO);
	CHECK_CONTAINS(why, "item 0: a request without its service");
	len = s_pack(buf, TRC_ENTRY_FORMAT, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST,
		     "feed\xff");
	CHECK_EQ_INT(s_decode(buf, len, why, sizeof(why)), TRC_EPROTO);
	CHECK_CONTAINS(why, "UTF-8");
	/* the event's bytes spoiled: its source's length past its end */
	len = s_pack(buf, TRC_ENTRY_FORMAT, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST,
		     "feedback");
	uint8_t *ev = memmem(buf, len, s_event, s_event_len);
	CHECK(ev != NULL);
	ev[1] = 0x7f;
	CHECK_EQ_INT(s_decode(buf, len, why, sizeof(why)), TRC_EPROTO);
	CHECK_CONTAINS(why, "item 1:");
	/* a truncated entry */
	len = s_pack(buf, TRC_ENTRY_FORMAT, TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST,
		     "feedback");
	CHECK_EQ_INT(s_decode(buf, len - 1, why, sizeof(why)), TRC_EPROTO);
}

int main(void)
{
	RUN(round_trip);
	RUN(refusals);
	DONE();
}
