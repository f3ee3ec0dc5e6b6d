/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Method names from the proto service descriptors. See methods.h.
 */
#include "methods.h"

#include <stdio.h>
#include <string.h>

#include "service.h"

int trc_methods_check(const ProtobufCServiceDescriptor *sd, const trc_method_t *t, size_t n,
		      char *err, size_t errlen)
{
	for (unsigned i = 0; i < sd->n_methods; i++) {
		const ProtobufCMethodDescriptor *md = &sd->methods[i];
		char wire[128];
		trc_method_wire_name(md->name, wire, sizeof(wire));
		const trc_method_t *found = NULL;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(t[j].name, wire) != 0)
				continue;
			if (found != NULL) {
				snprintf(err, errlen, "%s: '%s' is in the table twice", sd->name, wire);
				return -1;
			}
			found = &t[j];
		}
		if (found == NULL) {
			snprintf(err, errlen, "%s: rpc %s ('%s') has no entry in the table", sd->name,
				 md->name, wire);
			return -1;
		}
		if (found->request != md->input || found->reply != md->output) {
			snprintf(err, errlen,
				 "%s: '%s' takes %s and answers %s in the table, %s and %s in the "
				 "proto",
				 sd->name, wire, found->request->name, found->reply->name,
				 md->input->name, md->output->name);
			return -1;
		}
	}
	for (size_t j = 0; j < n; j++) {
		bool known = false;
		for (unsigned i = 0; i < sd->n_methods && !known; i++) {
			char wire[128];
			trc_method_wire_name(sd->methods[i].name, wire, sizeof(wire));
			known = strcmp(t[j].name, wire) == 0;
		}
		if (!known) {
			snprintf(err, errlen, "%s: the table's '%s' is no rpc of the proto", sd->name,
				 t[j].name);
			return -1;
		}
	}
	return 0;
}
