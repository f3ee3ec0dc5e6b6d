/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The entry decoder: see entry.h. Everything an entry holds is checked
 * here or where it is used, never trusted: it comes from another host.
 */
#include "entry.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"
#include "wire.h"

static void *s_alloc(ProtobufCAllocator *al, size_t n)
{
	return al != NULL ? al->alloc(al->allocator_data, n) : calloc(1, n);
}

static int s_bad(char *why, size_t whylen, size_t item, const char *what)
{
	snprintf(why, whylen, "item %zu: %s", item, what);
	return TRC_EPROTO;
}

/* A message packed in bytes b: its strings checked, decoded in al. */
static ProtobufCMessage *s_nested(const ProtobufCMessageDescriptor *d, ProtobufCBinaryData b,
				  ProtobufCAllocator *al, char *why, size_t whylen)
{
	if (trc_wire_check_strings(d, b.data, b.len, why, whylen) != 0)
		return NULL;
	ProtobufCMessage *m = protobuf_c_message_unpack(d, al, b.len, b.data);
	if (m == NULL)
		snprintf(why, whylen, "not a %s", d->short_name);
	return m;
}

static int s_item(trc_entry_t *e, size_t i, ProtobufCAllocator *al, char *why, size_t whylen)
{
	const Traction__V1__EntryItem *it = e->entry->items[i];
	char inner[200] = "";
	switch (it->kind) {
	case TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST:
		if (it->service[0] == '\0' || it->method[0] == '\0')
			return s_bad(why, whylen, i, "a request without its service and method");
		e->routes[i] = (Traction__V1__Route *)s_nested(&traction__v1__route__descriptor,
							       it->route, al, inner, sizeof(inner));
		if (e->routes[i] == NULL)
			return s_bad(why, whylen, i, inner);
		return 0;
	case TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT:
		e->events[i] = (Traction__V1__Event *)s_nested(&traction__v1__event__descriptor,
							       it->event, al, inner, sizeof(inner));
		if (e->events[i] == NULL)
			return s_bad(why, whylen, i, inner);
		if (e->events[i]->source[0] == '\0' || e->events[i]->type[0] == '\0' ||
		    e->events[i]->seq == 0)
			return s_bad(why, whylen, i, "an event without its source, type or sequence");
		return 0;
	case TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_TICK:
		return 0;
	default:
		return s_bad(why, whylen, i, "an item of no kind this version knows");
	}
}

int trc_entry_decode(const uint8_t *buf, size_t len, ProtobufCAllocator *al, trc_entry_t *e,
		     char *why, size_t whylen)
{
	memset(e, 0, sizeof(*e));
	if (trc_wire_check_strings(&traction__v1__entry__descriptor, buf, len, why, whylen) != 0)
		return TRC_EPROTO;
	e->entry = traction__v1__entry__unpack(al, len, buf);
	if (e->entry == NULL) {
		snprintf(why, whylen, "not an Entry");
		return TRC_EPROTO;
	}
	int rc = 0;
	if (e->entry->format != TRC_ENTRY_FORMAT) {
		snprintf(why, whylen, "entry format %u (this version reads %d)", e->entry->format,
			 TRC_ENTRY_FORMAT);
		rc = TRC_EPROTO;
	}
	size_t n = e->entry->n_items;
	if (rc == 0) {
		e->routes = s_alloc(al, (n > 0 ? n : 1) * sizeof(*e->routes));
		e->events = s_alloc(al, (n > 0 ? n : 1) * sizeof(*e->events));
		if (e->routes == NULL || e->events == NULL) {
			snprintf(why, whylen, "out of memory");
			rc = TRC_ENOMEM;
		} else {
			memset(e->routes, 0, (n > 0 ? n : 1) * sizeof(*e->routes));
			memset(e->events, 0, (n > 0 ? n : 1) * sizeof(*e->events));
		}
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = s_item(e, i, al, why, whylen);
	if (rc != 0 && al == NULL)
		trc_entry_free(e);
	return rc;
}

void trc_entry_free(trc_entry_t *e)
{
	if (e->entry == NULL)
		return;
	for (size_t i = 0; (e->routes != NULL || e->events != NULL) && i < e->entry->n_items; i++) {
		if (e->routes != NULL && e->routes[i] != NULL)
			traction__v1__route__free_unpacked(e->routes[i], NULL);
		if (e->events != NULL && e->events[i] != NULL)
			traction__v1__event__free_unpacked(e->events[i], NULL);
	}
	free(e->routes);
	free(e->events);
	traction__v1__entry__free_unpacked(e->entry, NULL);
	memset(e, 0, sizeof(*e));
}
