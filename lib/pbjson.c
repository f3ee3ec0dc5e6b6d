/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Generic protobuf-c <-> JSON. See pbjson.h.
 */
#include "pbjson.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "figures.h"

/* Fields named *_ms that are durations; every other one is an instant. */
static const char *const s_durations[] = { "timeout_ms", "wait_ms", "lease_ms", "idle_ms",
					   "uptime_ms" };

bool pbjson_is_instant(const char *name)
{
	size_t n = strlen(name);
	if (n < 3 || strcmp(name + n - 3, "_ms") != 0)
		return false;
	for (size_t i = 0; i < sizeof(s_durations) / sizeof(s_durations[0]); i++)
		if (strcmp(name, s_durations[i]) == 0)
			return false;
	return true;
}

const char *pbjson_time(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ms % 1000));
	return buf;
}

const char *pbjson_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf,
			      size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
	if (v == NULL) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	const char *name = v->name;
	const char *us = strchr(name, '_');
	if (us != NULL)
		name = us + 1;
	size_t i = 0;
	for (; name[i] != '\0' && i + 1 < len; i++)
		buf[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
	buf[i] = '\0';
	return buf;
}

int pbjson_enum_value(const ProtobufCEnumDescriptor *desc, const char *label)
{
	char buf[96];
	for (unsigned i = 0; i < desc->n_values; i++) {
		const ProtobufCEnumValue *v = &desc->values[i];
		if (v->value == 0)
			continue;
		if (strcmp(pbjson_enum_label(desc, v->value, buf, sizeof(buf)), label) == 0 ||
		    strcmp(v->name, label) == 0)
			return v->value;
	}
	char *end;
	long n = strtol(label, &end, 10);
	if (*end == '\0' && end != label && protobuf_c_enum_descriptor_get_value(desc, (int)n))
		return (int)n;
	return -1;
}

const char *pbjson_enum_labels(const ProtobufCEnumDescriptor *desc, char *buf, size_t len)
{
	char one[96];
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < desc->n_values; i++) {
		if (desc->values[i].value == 0)
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
				 pbjson_enum_label(desc, desc->values[i].value, one, sizeof(one)));
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

static bool s_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	/* a figure with no data behind it is absent, never a zero (figures.h) */
	if (trc_figure_absent(msg, f))
		return false;
	/* an unset message field is left out, as in protobuf's JSON mapping
	 * (never null: the documented schema says object) */
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
	    *(ProtobufCMessage *const *)(const void *)((const char *)msg + f->offset) == NULL)
		return false;
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	uint32_t which = *(const uint32_t *)(const void *)((const char *)msg + f->quantifier_offset);
	return which == f->id;
}

static json_t *s_scalar(const ProtobufCFieldDescriptor *f, const void *p)
{
	char buf[96];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer((json_int_t) * (const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return json_string(pbjson_enum_label(f->descriptor, *(const int *)p, buf, sizeof(buf)));
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return json_integer((json_int_t)((const ProtobufCBinaryData *)p)->len);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m != NULL ? pbjson_from_message(m) : json_null();
	}
	}
	return json_null();
}

static size_t s_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 8;
	}
}

json_t *pbjson_from_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)msg;
		if (!s_present(msg, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(const void *)(base + f->offset);
			json_t *a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, s_scalar(f, arr + k * s_size(f)));
			json_object_set_new(o, f->name, a);
		} else {
			json_object_set_new(o, f->name, s_scalar(f, base + f->offset));
		}
	}
	return o;
}

/* ---- JSON to message ------------------------------------------------------------- */

static int s_fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int s_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* An integer field, if n fits it: not negative for an unsigned one, and
 * within 32 bits for a 32-bit one (rather than wrapped into a number the
 * caller never wrote). */
static int s_set_integer(const ProtobufCFieldDescriptor *f, void *p, json_int_t n, char *err,
			 size_t len)
{
	bool is_unsigned = f->type == PROTOBUF_C_TYPE_UINT32 || f->type == PROTOBUF_C_TYPE_FIXED32 ||
			   f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64;
	if (is_unsigned && n < 0)
		return s_fail(err, len, "%s: %lld is negative", f->name, (long long)n);
	if (s_size(f) == 4 && (is_unsigned ? n > (json_int_t)UINT32_MAX
					   : n < INT32_MIN || n > INT32_MAX))
		return s_fail(err, len, "%s: %lld is out of range (%s)", f->name, (long long)n,
			      is_unsigned ? "at most 4294967295" : "32 bits");
	if (s_size(f) == 4)
		*(int32_t *)p = (int32_t)n;
	else
		*(int64_t *)p = (int64_t)n;
	return 0;
}

static int s_set_scalar(const ProtobufCFieldDescriptor *f, void *p, json_t *v, char *err,
			size_t len)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return s_fail(err, len, "%s: expected a string%s", f->name, "");
		*(char **)p = strdup(json_string_value(v));
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_FLOAT:
		if (!json_is_number(v))
			return s_fail(err, len, "%s: expected a number%s", f->name, "");
		if (f->type == PROTOBUF_C_TYPE_DOUBLE)
			*(double *)p = json_number_value(v);
		else
			*(float *)p = (float)json_number_value(v);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return s_fail(err, len, "%s: expected true or false%s", f->name, "");
		*(protobuf_c_boolean *)p = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		int val = -1;
		if (json_is_string(v))
			val = pbjson_enum_value(f->descriptor, json_string_value(v));
		else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			 json_integer_value(v) <= INT32_MAX)
			val = (int)json_integer_value(v);
		if (val < 0) {
			char labels[512];
			return s_fail(err, len, "%s: expected one of %s", f->name,
				      pbjson_enum_labels(f->descriptor, labels, sizeof(labels)));
		}
		*(int *)p = val;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		if (!json_is_object(v))
			return s_fail(err, len, "%s: expected an object%s", f->name, "");
		const ProtobufCMessageDescriptor *md = f->descriptor;
		ProtobufCMessage *m = calloc(1, md->sizeof_message);
		protobuf_c_message_init(md, m);
		*(ProtobufCMessage **)p = m;
		return pbjson_to_message(v, m, err, len);
	}
	default:
		if (!json_is_integer(v))
			return s_fail(err, len, "%s: expected an integer%s", f->name, "");
		return s_set_integer(f, p, json_integer_value(v), err, len);
	}
}

int pbjson_to_message(json_t *obj, ProtobufCMessage *msg, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *key;
	json_t *v;
	if (!json_is_object(obj))
		return s_fail(err, errlen, "expected a JSON object%s%s", "", "");
	json_object_foreach(obj, key, v) {
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
		if (f == NULL)
			return s_fail(err, errlen, "unknown field '%s' in %s", key, d->name);
		char *base = (char *)msg;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!json_is_array(v))
				return s_fail(err, errlen, "%s: expected an array%s", key, "");
			size_t n = json_array_size(v);
			char *arr = calloc(n > 0 ? n : 1, s_size(f));
			*(char **)(void *)(base + f->offset) = arr;
			*(size_t *)(void *)(base + f->quantifier_offset) = n;
			for (size_t k = 0; k < n; k++)
				if (s_set_scalar(f, arr + k * s_size(f), json_array_get(v, k), err, errlen) != 0)
					return -1;
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(void *)(base + f->quantifier_offset) = f->id;
		if (s_set_scalar(f, base + f->offset, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}

void pbjson_free(ProtobufCMessage *msg)
{
	if (msg == NULL)
		return;
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	char *base = (char *)msg;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(void *)(base + f->quantifier_offset);
			char *arr = *(char **)(void *)(base + f->offset);
			for (size_t k = 0; arr != NULL && k < n; k++) {
				if (f->type == PROTOBUF_C_TYPE_STRING)
					free(*(char **)(void *)(arr + k * s_size(f)));
				else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
					ProtobufCMessage *m = *(ProtobufCMessage **)(void *)(arr + k * s_size(f));
					pbjson_free(m);
					free(m);
				}
			}
			free(arr);
			continue;
		}
		if (!s_present(msg, f))
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			char *s = *(char **)(void *)(base + f->offset);
			if (s != NULL && s != (char *)f->default_value && s != protobuf_c_empty_string)
				free(s);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			ProtobufCMessage *m = *(ProtobufCMessage **)(void *)(base + f->offset);
			pbjson_free(m);
			free(m);
		}
	}
}

/* ---- the human form ------------------------------------------------------------- */

static void s_print_json(json_t *v, int indent, const char *key)
{
	if (json_is_object(v)) {
		if (key != NULL)
			printf("%*s%s:\n", indent, "", key);
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) s_print_json(x, indent + (key != NULL ? 2 : 0), k);
		return;
	}
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return;
		bool simple = true;
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) simple &= !json_is_object(x) && !json_is_array(x);
		if (simple) {
			printf("%*s%s: ", indent, "", key);
			json_array_foreach(v, i, x) {
				char *s = json_dumps(x, JSON_ENCODE_ANY);
				printf("%s%s", i ? ", " : "", s != NULL && s[0] == '"' ? json_string_value(x) : s);
				free(s);
			}
			printf("\n");
			return;
		}
		json_array_foreach(v, i, x) {
			char label[128];
			snprintf(label, sizeof(label), "%s[%zu]", key, i);
			s_print_json(x, indent, label);
		}
		return;
	}
	if (json_is_null(v))
		return;
	if (json_is_string(v) && json_string_length(v) == 0)
		return; /* empty strings say nothing to a reader */
	if (json_is_integer(v) && json_integer_value(v) == 0)
		return;
	if (json_is_integer(v) && pbjson_is_instant(key)) {
		/* people read a time, not milliseconds since the epoch */
		char when[40];
		printf("%*s%.*s: %s\n", indent, "", (int)(strlen(key) - 3), key,
		       pbjson_time(json_integer_value(v), when, sizeof(when)));
		return;
	}
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
	printf("%*s%s: %s\n", indent, "", key, json_is_string(v) ? json_string_value(v) : s);
	free(s);
}

void pbjson_print_human(const ProtobufCMessage *msg, int indent)
{
	json_t *j = pbjson_from_message(msg);
	const char *k;
	json_t *x;
	json_object_foreach(j, k, x) s_print_json(x, indent, k);
	json_decref(j);
}

json_t *pbjson_error(const char *code, const char *message, const ProtobufCMessage *details)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", json_string(message != NULL ? message : ""));
	json_t *dj = details != NULL ? pbjson_from_message(details) : NULL;
	json_t *list = dj != NULL ? json_object_get(dj, "details") : NULL;
	json_object_set_new(err, "details", list != NULL ? json_incref(list) : json_array());
	json_decref(dj);
	return json_pack("{s:o}", "error", err);
}

/* ---- schemas ------------------------------------------------------------------ */

json_t *pbjson_field_schema(const ProtobufCFieldDescriptor *f, json_t *defs, const char *prefix)
{
	char buf[64];
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_pack("{s:s}", "type", "string");
	case PROTOBUF_C_TYPE_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_pack("{s:s}", "type", "number");
	case PROTOBUF_C_TYPE_BYTES: /* written as its length */
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_pack("{s:s, s:i}", "type", "integer", "minimum", 0);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		json_t *vals = json_array();
		for (unsigned i = 0; i < e->n_values; i++)
			json_array_append_new(
				vals, json_string(pbjson_enum_label(e, e->values[i].value, buf,
								    sizeof(buf))));
		return json_pack("{s:s, s:o}", "type", "string", "enum", vals);
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return pbjson_schema(f->descriptor, defs, prefix);
	default:
		return json_pack("{s:s}", "type", "integer");
	}
}

json_t *pbjson_schema(const ProtobufCMessageDescriptor *d, json_t *defs, const char *prefix)
{
	char ref[256];
	snprintf(ref, sizeof(ref), "%s%s", prefix, d->short_name);
	if (json_object_get(defs, d->short_name) == NULL) {
		json_t *props = json_object();
		/* placed first: a message that holds itself refers to it */
		json_object_set_new(defs, d->short_name,
				    json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
					      "additionalProperties", 0));
		for (unsigned i = 0; i < d->n_fields; i++) {
			const ProtobufCFieldDescriptor *f = &d->fields[i];
			json_t *fs = pbjson_field_schema(f, defs, prefix);
			if (f->label == PROTOBUF_C_LABEL_REPEATED)
				fs = json_pack("{s:s, s:o}", "type", "array", "items", fs);
			json_object_set_new(props, f->name, fs);
		}
	}
	return json_pack("{s:s}", "$ref", ref);
}
