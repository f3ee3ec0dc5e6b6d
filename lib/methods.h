/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods of a service are declared once, in its .proto's service
 * block (proto/traction/v1/). protoc-c turns a block into a
 * ProtobufCServiceDescriptor whose names are CamelCase and carry no
 * options; this module holds the one rule between those names and the
 * wire's, and checks a daemon's table of what the proto cannot say
 * (handler, read or write, who may call) against the descriptor.
 */
#ifndef TRC_METHODS_H
#define TRC_METHODS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "blocks.h"

struct trc_method;
/* Whether table t[0..n) and the descriptor agree: each rpc has exactly one
 * entry of its wire name, with its request and reply types, and each
 * entry is an rpc. 0, or -1 with err saying where they differ. */
int trc_methods_check(const ProtobufCServiceDescriptor *sd, const struct trc_method *t,
		      size_t n, char *err, size_t errlen);

#endif
