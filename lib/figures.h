/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Figures without data: a mean, an extreme or a delta of no records is no
 * figure, and is absent, never a zero (docs/protocol.md, "Figures without
 * data"). On the wire such a field is left unset (proto3 sends no zero
 * double), and the count beside it in the same message says that it
 * stands on nothing. This module holds which count says so for which
 * field; the JSON dialect (pbjson) leaves those fields out and
 * tractionctl prints no number for them.
 */
#ifndef TRC_FIGURES_H
#define TRC_FIGURES_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

/* Whether field f of msg is a figure with no data behind it. */
bool trc_figure_absent(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* The same by the field's name ("to_mean"); false for a name msg lacks. */
bool trc_figure_absent_named(const ProtobufCMessage *msg, const char *field);

#endif
