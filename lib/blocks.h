/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service blocks of proto/ (one ProtobufCServiceDescriptor each, from
 * protoc-c), the one rule between their CamelCase names and the wire's,
 * and the lookup of a wire method in them: what every list of methods
 * (daemon tables, tractionctl, the protocol document's tables) derives
 * from. Needs only the generated code, so clients compile it in too.
 */
#ifndef TRC_BLOCKS_H
#define TRC_BLOCKS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The wire name of a method: its words (split before each capital)
 * lower-cased and joined with dots. "ProviderRegister" ->
 * "provider.register", "EventsReplay" -> "events.replay". Returns the
 * length, 0 if out (cap bytes) is too small. */
size_t trc_method_wire_name(const char *camel, char *out, size_t cap);

/* The wire name of a service: the block's name without its "Service"
 * suffix, lower-cased. "SupplyService" -> "supply". */
size_t trc_service_wire_name(const char *name, char *out, size_t cap);

/* Every service block, in the order of docs/protocol.md: supply,
 * scenario, feedback, iteration, deployment, notify, daemon (the methods every
 * service of a daemon answers), broker. */
extern const ProtobufCServiceDescriptor *const trc_blocks[];
extern const size_t trc_n_blocks;

/* The rpc a request to service.method reaches: in the service's own
 * block, else (for any service but the broker) in DaemonService. NULL if
 * the wire has no such method. */
const ProtobufCMethodDescriptor *trc_method_lookup(const char *service, const char *method);

#endif
