/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protobuf-c messages to JSON and back, generically, from the message
 * descriptors: every reply of every command prints with --json without a
 * printer of its own, and JSON Lines feedback records parse the same way.
 * Enums are written as their lower-case label without the enum's prefix
 * ("industrial-algorithm", "critical"); times stay milliseconds (the
 * human form prints them as ISO 8601 UTC).
 */
#ifndef TRC_PBJSON_H
#define TRC_PBJSON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

json_t *pbjson_from_message(const ProtobufCMessage *msg);

/* The label of an enum value ("ai-company"); "unknown" if out of range. */
const char *pbjson_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf,
			      size_t len);
/* The value of a label (also accepts the proto name, "PROVIDER_AI_COMPANY",
 * and the number); -1 if none matches. */
int pbjson_enum_value(const ProtobufCEnumDescriptor *desc, const char *label);
/* "a, b, c": every label of an enum but UNSPECIFIED, for help and errors. */
const char *pbjson_enum_labels(const ProtobufCEnumDescriptor *desc, char *buf, size_t len);

/* Fills msg (initialised, of desc) from a JSON object: known fields only;
 * an unknown field or a wrong type is an error written to err. Strings and
 * arrays are allocated with malloc; free with pbjson_free. */
int pbjson_to_message(json_t *obj, ProtobufCMessage *msg, char *err, size_t errlen);
void pbjson_free(ProtobufCMessage *msg);

/* The error document of tractionctl --json and the HTTP API:
 * {"error": {"code": "NOT_FOUND", "message": ..., "details": [...]}}, the
 * details from an ErrorDetails message (may be NULL: none). */
json_t *pbjson_error(const char *code, const char *message, const ProtobufCMessage *details);

/* The JSON Schema (OpenAPI 3.0 dialect) of messages of type d as this
 * module writes and reads them: adds it, and those of the messages it
 * holds, to defs (name -> schema) and returns {"$ref": prefix + name}. */
json_t *pbjson_schema(const ProtobufCMessageDescriptor *d, json_t *defs, const char *prefix);
/* The schema of one value of field f (an element, if it is repeated). */
json_t *pbjson_field_schema(const ProtobufCFieldDescriptor *f, json_t *defs, const char *prefix);

/* Whether a field named name is an instant: a name ending in _ms that is
 * not one of the durations (timeout_ms, wait_ms, lease_ms, idle_ms,
 * uptime_ms). JSON keeps them as numbers; people read them as times. */
bool pbjson_is_instant(const char *name);
/* ms since the epoch as ISO 8601 UTC to the millisecond,
 * "2026-12-04T05:30:12.345Z" (25 bytes with its NUL), into buf; "-" for
 * 0 (not set). */
const char *pbjson_time(int64_t ms, char *buf, size_t len);

/* Prints a message as indented "key: value" lines (the human form): an
 * instant as "created: 2026-12-04T05:30:12.345Z". */
void pbjson_print_human(const ProtobufCMessage *msg, int indent);

#endif
