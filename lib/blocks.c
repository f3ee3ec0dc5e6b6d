/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service blocks of proto/ and their wire names. See blocks.h.
 */
#include "blocks.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/notify.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

size_t trc_method_wire_name(const char *camel, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = camel; *p != '\0'; p++) {
		bool upper = isupper((unsigned char)*p);
		if (upper && p != camel) {
			if (n + 1 >= cap)
				return 0;
			out[n++] = '.';
		}
		if (n + 1 >= cap)
			return 0;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	if (n >= cap)
		return 0;
	out[n] = '\0';
	return n;
}

size_t trc_service_wire_name(const char *name, char *out, size_t cap)
{
	size_t len = strlen(name);
	static const char suffix[] = "Service";
	if (len > sizeof(suffix) - 1 && strcmp(name + len - (sizeof(suffix) - 1), suffix) == 0)
		len -= sizeof(suffix) - 1;
	if (len + 1 > cap)
		return 0;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return len;
}

const ProtobufCServiceDescriptor *const trc_blocks[] = {
	&traction__v1__supply_service__descriptor,
	&traction__v1__scenario_service__descriptor,
	&traction__v1__feedback_service__descriptor,
	&traction__v1__iteration_service__descriptor,
	&traction__v1__deployment_service__descriptor,
	&traction__v1__notify_service__descriptor,
	&traction__v1__daemon_service__descriptor,
	&traction__v1__broker_service__descriptor,
};
const size_t trc_n_blocks = sizeof(trc_blocks) / sizeof(trc_blocks[0]);

static const ProtobufCMethodDescriptor *s_in(const ProtobufCServiceDescriptor *sd,
					     const char *method)
{
	char wire[128];
	for (unsigned i = 0; i < sd->n_methods; i++)
		if (trc_method_wire_name(sd->methods[i].name, wire, sizeof(wire)) > 0 &&
		    strcmp(wire, method) == 0)
			return &sd->methods[i];
	return NULL;
}

const ProtobufCMethodDescriptor *trc_method_lookup(const char *service, const char *method)
{
	char wire[64];
	for (size_t i = 0; i < trc_n_blocks; i++) {
		const ProtobufCServiceDescriptor *sd = trc_blocks[i];
		if (sd == &traction__v1__daemon_service__descriptor ||
		    trc_service_wire_name(sd->short_name, wire, sizeof(wire)) == 0 ||
		    strcmp(wire, service) != 0)
			continue;
		const ProtobufCMethodDescriptor *md = s_in(sd, method);
		if (md == NULL && sd != &traction__v1__broker_service__descriptor)
			md = s_in(&traction__v1__daemon_service__descriptor, method);
		return md;
	}
	return NULL;
}
