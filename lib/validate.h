/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of untrusted request fields, with an error message that names
 * the field and says why (INVALID_ARGUMENT through trc_call_fail). Each
 * returns 0 when the value is acceptable.
 */
#ifndef TRC_VALIDATE_H
#define TRC_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "call.h"
#include "traction/v1/common.pb-c.h"

/* Limits shared by every service (documented in docs/protocol.md). */
#define TRC_NAME_MAX 200
#define TRC_TEXT_MAX 4000
#define TRC_LIST_MAX 64       /* tags, properties, constraints ... per record */

/* A required slug (see trc_is_slug). */
int trc_check_slug(trc_call_t *call, const char *field, const char *value);
/* Loads the record of id from db (a slug, checked as field): 0 and *out,
 * or NOT_FOUND "FIELD: no WHAT 'ID'", or a store error. */
int trc_check_load(trc_call_t *call, const trc_db_t *db, const char *field, const char *id,
		   const char *what, void **out);
/* A slug, or empty. */
int trc_check_slug_opt(trc_call_t *call, const char *field, const char *value);
/* UTF-8 text of min..max bytes. */
int trc_check_text(trc_call_t *call, const char *field, const char *value, size_t min,
		   size_t max);
/* A value of the enum, not its UNSPECIFIED 0 (unless allow_zero). */
int trc_check_enum(trc_call_t *call, const char *field, int value,
		   const ProtobufCEnumDescriptor *desc, bool allow_zero);
/* A list of distinct slugs, at most max of them. */
int trc_check_slugs(trc_call_t *call, const char *field, char **values, size_t n, size_t max);
/* Key/value pairs: keys distinct slugs, values text up to vmax bytes. */
int trc_check_pairs(trc_call_t *call, const char *field, Traction__V1__KeyValue **kv, size_t n,
		    size_t max, size_t vmax);
/* A measured or target value: finite, |value| <= TRC_VALUE_MAX. Within
 * that range the aggregates stay exact to a double's precision; beyond it
 * a sum of squares reaches infinity (1e154) and soon the sum (1e308). */
#define TRC_VALUE_MAX 1e15
int trc_check_value(trc_call_t *call, const char *field, double value);

/* Every entry of an update mask must name one of the known fields
 * (NULL-terminated); an empty mask is refused too. */
int trc_check_mask(trc_call_t *call, char **mask, size_t n, const char *const *known);
bool trc_mask_has(char **mask, size_t n, const char *field);

/* The page size asked for, defaulted and capped. */
size_t trc_page_limit(const Traction__V1__PageRequest *page, size_t def, size_t max);
/* The cursor of a page ("" when none). */
const char *trc_page_cursor(const Traction__V1__PageRequest *page);

/* A page of a log of records under be64 sequence numbers (an alert
 * history, an audit log), newest first: from just below the page's cursor
 * (the decimal sequence where the page before ended) down, each record
 * decoded into the call's arena and kept in out (room for the page's
 * limit, default 100, at most 1000) when take says so (take may change
 * it). A page ends full, or after scan_max records not taken; either way
 * *next_cursor says where the next begins. 0, TRC_EINVAL (a cursor not
 * of this list, said in call), or a store error. */
int trc_page_newest(trc_call_t *call, const trc_db_t *db, const Traction__V1__PageRequest *page,
		    size_t scan_max, bool (*take)(trc_call_t *call, void *rec, void *arg),
		    void *arg, void ***out, size_t *n, char **next_cursor);

/* The name of an enum value in lower case with its prefix dropped:
 * SUPPLY_INDUSTRIAL_ALGORITHM -> "industrial-algorithm" (arena). */
const char *trc_enum_label(trc_arena_t *arena, const ProtobufCEnumDescriptor *desc, int value);

/* A threshold's comparison (traction.v1.Comparison): its symbol ("<=";
 * "?" for none), and whether "v cmp t" holds (equality within 1e-9 of t's
 * magnitude; false for none). A scenario's targets and alert rules judge
 * with it. */
const char *trc_cmp_symbol(int cmp);
bool trc_cmp_holds(int cmp, double v, double t);

#endif
