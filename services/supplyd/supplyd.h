/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-supplyd's handlers: providers and supplies (service "supply").
 * Each is a pure function of (call, request) -> reply; see lib/call.h.
 */
#ifndef TRC_SUPPLYD_H
#define TRC_SUPPLYD_H

#include "call.h"
#include "service.h"

/* Its databases, by index (methods.c declares each one's keys and values). */
enum {
	SUPPLYD_DB_PROVIDERS,
	SUPPLYD_DB_SUPPLIES,
	SUPPLYD_DB_BY_PROVIDER,
	SUPPLYD_DB_BY_CAP,
	SUPPLYD_DB_COUNT
};

extern const trc_dbs_t supplyd_dbs;
extern const char *const supplyd_event_topics[];
/* The records each of our events is the whole state of (evlog.h). */
int supplyd_event_keys(const Traction__V1__Event *ev, trc_evlog_key_fn emit, void *ud);
extern const trc_method_t supplyd_methods[];
extern const size_t supplyd_n_methods;

int supplyd_provider_register(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_provider_update(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_provider_get(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_provider_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_supply_register(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_supply_update(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_supply_retire(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_supply_get(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);
int supplyd_supply_list(trc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage *rep);

#endif
