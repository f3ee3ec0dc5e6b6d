/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the entry decoder (lib/entry.h), what a replica decodes from
 * bytes another host sent: whatever it is given, it accepts a checked
 * entry (every request with its decoded Route, every event decoded with
 * its source, type and sequence) or refuses it saying why, and leaves
 * nothing allocated either way (ASan's leak check).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	trc_entry_t e;
	char why[256];
	memset(why, 'x', sizeof(why));
	int rc = trc_entry_decode(data, size, NULL, &e, why, sizeof(why));
	if (rc != 0) {
		if (e.entry != NULL || memchr(why, '\0', sizeof(why)) == NULL)
			__builtin_trap(); /* freed, and a C string saying why */
		return 0;
	}
	for (size_t i = 0; i < e.entry->n_items; i++) {
		const Traction__V1__EntryItem *it = e.entry->items[i];
		if (it->kind == TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_REQUEST &&
		    (e.routes[i] == NULL || it->service[0] == '\0' || it->method[0] == '\0'))
			__builtin_trap();
		if (it->kind == TRACTION__V1__ENTRY_ITEM_KIND__ENTRY_EVENT &&
		    (e.events[i] == NULL || e.events[i]->source[0] == '\0' || e.events[i]->seq == 0))
			__builtin_trap();
	}
	trc_entry_free(&e);
	return 0;
}
