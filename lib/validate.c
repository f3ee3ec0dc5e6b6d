/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field validation with messages that name the field. See validate.h.
 */
#include "validate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "util.h"
#include "traction/v1/scenario.pb-c.h"

/* The checks alone, so that a list's element names ("labels[3].key") are
 * formatted only for the message of a failure, not for every element. */
static bool s_slug_ok(const char *value)
{
	return value != NULL && value[0] != '\0' && trc_is_slug(value);
}

static bool s_text_ok(const char *value, size_t min, size_t max)
{
	size_t n = value != NULL ? strlen(value) : 0;
	return n >= min && n <= max && trc_is_text(value, max);
}

int trc_check_slug(trc_call_t *call, const char *field, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return trc_call_fail(call, TRC_EINVAL, "%s: required", field);
	if (!trc_is_slug(value))
		return trc_call_fail(call, TRC_EINVAL,
				     "%s: must be 1-%d characters of [A-Za-z0-9._-] starting with "
				     "a letter or digit, got '%.80s'",
				     field, TRC_SLUG_MAX, value);
	return 0;
}

int trc_check_slug_opt(trc_call_t *call, const char *field, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	return trc_check_slug(call, field, value);
}

int trc_check_text(trc_call_t *call, const char *field, const char *value, size_t min,
		   size_t max)
{
	size_t n = value != NULL ? strlen(value) : 0;
	if (n < min)
		return trc_call_fail(call, TRC_EINVAL, "%s: required", field);
	if (n > max)
		return trc_call_fail(call, TRC_EINVAL, "%s: at most %zu bytes, got %zu", field, max,
				     n);
	if (!trc_is_text(value, max))
		return trc_call_fail(call, TRC_EINVAL, "%s: not valid UTF-8", field);
	return 0;
}

int trc_check_enum(trc_call_t *call, const char *field, int value,
		   const ProtobufCEnumDescriptor *desc, bool allow_zero)
{
	if (value == 0 && allow_zero)
		return 0;
	if (value == 0)
		return trc_call_fail(call, TRC_EINVAL, "%s: required", field);
	if (protobuf_c_enum_descriptor_get_value(desc, value) == NULL)
		return trc_call_fail(call, TRC_EINVAL, "%s: %d is not a %s", field, value,
				     desc->name);
	return 0;
}

int trc_check_slugs(trc_call_t *call, const char *field, char **values, size_t n, size_t max)
{
	if (n > max)
		return trc_call_fail(call, TRC_EINVAL, "%s: at most %zu entries, got %zu", field, max,
				     n);
	for (size_t i = 0; i < n; i++) {
		if (!s_slug_ok(values[i])) {
			char name[96];
			snprintf(name, sizeof(name), "%s[%zu]", field, i);
			return trc_check_slug(call, name, values[i]);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(values[i], values[j]) == 0)
				return trc_call_fail(call, TRC_EINVAL, "%s: '%s' appears twice", field,
						     values[i]);
	}
	return 0;
}

int trc_check_pairs(trc_call_t *call, const char *field, Traction__V1__KeyValue **kv, size_t n,
		    size_t max, size_t vmax)
{
	if (n > max)
		return trc_call_fail(call, TRC_EINVAL, "%s: at most %zu entries, got %zu", field, max,
				     n);
	for (size_t i = 0; i < n; i++) {
		char name[96];
		if (!s_slug_ok(kv[i]->key)) {
			snprintf(name, sizeof(name), "%s[%zu].key", field, i);
			return trc_check_slug(call, name, kv[i]->key);
		}
		if (!s_text_ok(kv[i]->value, 0, vmax)) {
			snprintf(name, sizeof(name), "%s[%zu].value", field, i);
			return trc_check_text(call, name, kv[i]->value, 0, vmax);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(kv[i]->key, kv[j]->key) == 0)
				return trc_call_fail(call, TRC_EINVAL, "%s: key '%s' appears twice",
						     field, kv[i]->key);
	}
	return 0;
}

int trc_check_value(trc_call_t *call, const char *field, double value)
{
	if (!isfinite(value) || fabs(value) > TRC_VALUE_MAX)
		return trc_call_fail(call, TRC_EINVAL,
				     "%s: must be a finite number of magnitude at most %g, got %g",
				     field, TRC_VALUE_MAX, value);
	return 0;
}

bool trc_mask_has(char **mask, size_t n, const char *field)
{
	for (size_t i = 0; i < n; i++)
		if (mask[i] != NULL && strcmp(mask[i], field) == 0)
			return true;
	return false;
}

int trc_check_mask(trc_call_t *call, char **mask, size_t n, const char *const *known)
{
	char list[256] = "";
	size_t len = 0;
	for (size_t k = 0; known[k] != NULL; k++)
		len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0, "%s%s",
					k > 0 ? ", " : "", known[k]);
	if (n == 0)
		return trc_call_fail(call, TRC_EINVAL,
				     "update_mask: name the fields to change (%s)", list);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (size_t k = 0; known[k] != NULL; k++)
			ok |= mask[i] != NULL && strcmp(mask[i], known[k]) == 0;
		if (!ok)
			return trc_call_fail(call, TRC_EINVAL,
					     "update_mask: unknown field '%.64s' (known: %s)",
					     mask[i] != NULL ? mask[i] : "", list);
	}
	return 0;
}

size_t trc_page_limit(const Traction__V1__PageRequest *page, size_t def, size_t max)
{
	if (page == NULL || page->limit == 0)
		return def;
	return page->limit > max ? max : page->limit;
}

const char *trc_page_cursor(const Traction__V1__PageRequest *page)
{
	return page != NULL && page->cursor != NULL ? page->cursor : "";
}

const char *trc_enum_label(trc_arena_t *arena, const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
	if (v == NULL)
		return "unknown";
	/* Every value carries its enum's prefix (SUPPLY_, PROVIDER_, DOMAIN_,
	 * CMP_, ...): drop it. */
	const char *name = v->name;
	const char *us = strchr(name, '_');
	if (us != NULL)
		name = us + 1;
	char *out = trc_arena_strdup(arena, name);
	if (out == NULL)
		return "unknown";
	for (char *p = out; *p != '\0'; p++)
		*p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
	return out;
}

int trc_check_load(trc_call_t *call, const trc_db_t *db, const char *field, const char *id,
		   const char *what, void **out)
{
	int rc = trc_check_slug(call, field, id);
	if (rc != 0)
		return rc;
	rc = trc_rec_get(call->txn, db, id, strlen(id), call->arena, out);
	if (rc == TRC_ENOENT)
		return trc_call_fail(call, rc, "%s: no %s '%s'", field, what, id);
	return rc;
}

int trc_page_newest(trc_call_t *call, const trc_db_t *db, const Traction__V1__PageRequest *page,
		    size_t scan_max, bool (*take)(trc_call_t *call, void *rec, void *arg),
		    void *arg, void ***out, size_t *n, char **next_cursor)
{
	size_t limit = trc_page_limit(page, 100, 1000), passed = 0;
	const char *cursor = trc_page_cursor(page);
	unsigned long long c = 0;
	char tail;
	if (cursor[0] != '\0' && (sscanf(cursor, "%llu%c", &c, &tail) != 1 || c == 0))
		return trc_call_fail(call, TRC_EINVAL, "page.cursor: not a cursor of this list");
	uint8_t before[8];
	trc_be64_put(before, c);
	*n = 0;
	if ((*out = trc_arena_alloc(call->arena, sizeof(void *) * limit)) == NULL)
		return TRC_ENOMEM;
	trc_iter_t it;
	int rc = trc_iter_begin(call->txn, db, &it, NULL, 0, c ? before : NULL, c ? 8 : 0, true);
	uint64_t last = 0;
	while (rc == 0 && trc_iter_next(&it)) {
		if (it.key.mv_size != 8)
			continue;
		uint64_t seq = trc_be64_get(it.key.mv_data);
		if (*n == limit || passed >= scan_max) {
			/* a full page, or a long run filtered out: the cursor goes on */
			*next_cursor = trc_arena_printf(call->arena, "%llu",
							(unsigned long long)(*n == limit ? last : seq + 1));
			break;
		}
		void *rec;
		if ((rc = trc_iter_rec(&it, call->arena, &rec)) != 0)
			break;
		if (!take(call, rec, arg)) {
			passed++;
			continue;
		}
		(*out)[(*n)++] = rec;
		last = seq;
	}
	trc_iter_end(&it);
	return rc != 0 ? rc : call->txn->err;
}

const char *trc_cmp_symbol(int cmp)
{
	switch (cmp) {
	case TRACTION__V1__COMPARISON__CMP_LT: return "<";
	case TRACTION__V1__COMPARISON__CMP_LE: return "<=";
	case TRACTION__V1__COMPARISON__CMP_GT: return ">";
	case TRACTION__V1__COMPARISON__CMP_GE: return ">=";
	case TRACTION__V1__COMPARISON__CMP_EQ: return "==";
	}
	return "?";
}

bool trc_cmp_holds(int cmp, double v, double t)
{
	switch (cmp) {
	case TRACTION__V1__COMPARISON__CMP_LT: return v < t;
	case TRACTION__V1__COMPARISON__CMP_LE: return v <= t;
	case TRACTION__V1__COMPARISON__CMP_GT: return v > t;
	case TRACTION__V1__COMPARISON__CMP_GE: return v >= t;
	case TRACTION__V1__COMPARISON__CMP_EQ: return fabs(v - t) <= 1e-9 * fmax(1.0, fabs(t));
	}
	return false;
}
