/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store keys: the builder and the splitter. See dbkey.h.
 */
#include "dbkey.h"

#include <string.h>

#include "util.h"

void trc_dbkey_init(trc_dbkey_t *k)
{
	k->len = 0;
	k->overflow = false;
	k->sep = false;
}

/* Makes room for n more bytes after the separator a string part owes, and
 * writes that separator: false (and the key bad, emptied) if they do not
 * fit. */
static bool s_room(trc_dbkey_t *k, size_t n)
{
	if (k->overflow)
		return false;
	size_t sep = k->sep ? 1 : 0;
	if (n > TRC_DBKEY_MAX || k->len + sep + n > TRC_DBKEY_MAX) {
		k->overflow = true;
		k->len = 0;
		k->sep = false;
		return false;
	}
	if (sep != 0)
		k->buf[k->len++] = '\0';
	k->sep = false;
	return true;
}

bool trc_dbkey_raw(trc_dbkey_t *k, const void *p, size_t n)
{
	if (!s_room(k, n))
		return false;
	if (n > 0)
		memcpy(k->buf + k->len, p, n);
	k->len += n;
	return true;
}

bool trc_dbkey_strn(trc_dbkey_t *k, const char *s, size_t n)
{
	if (!trc_dbkey_raw(k, s, n))
		return false;
	k->sep = true;
	return true;
}

bool trc_dbkey_str(trc_dbkey_t *k, const char *s)
{
	return trc_dbkey_strn(k, s, strlen(s));
}

bool trc_dbkey_be64(trc_dbkey_t *k, uint64_t v)
{
	uint8_t be[8];
	trc_be64_put(be, v);
	return trc_dbkey_raw(k, be, 8);
}

bool trc_dbkey_u8(trc_dbkey_t *k, uint8_t b)
{
	return trc_dbkey_raw(k, &b, 1);
}

bool trc_dbkey_sep(trc_dbkey_t *k)
{
	return k->sep ? s_room(k, 0) : trc_dbkey_u8(k, '\0');
}

bool trc_dbkey_past(trc_dbkey_t *k)
{
	k->sep = false; /* the '\x01' stands where the '\0' would */
	return trc_dbkey_u8(k, '\x01');
}

bool trc_dbkey_strv(trc_dbkey_t *k, const char *const *parts)
{
	trc_dbkey_init(k);
	for (size_t i = 0; parts[i] != NULL; i++)
		trc_dbkey_str(k, parts[i]);
	return trc_dbkey_ok(k);
}

void trc_dbsplit_bytes(trc_dbsplit_t *sp, const void *key, size_t len)
{
	sp->p = key != NULL ? key : (const void *)""; /* no arithmetic on NULL */
	sp->end = sp->p + (key != NULL ? len : 0);
	sp->part = false;
	sp->bad = false;
}

void trc_dbsplit_init(trc_dbsplit_t *sp, const MDB_val *key)
{
	trc_dbsplit_bytes(sp, key->mv_data, key->mv_size);
}

const char *trc_dbsplit_str(trc_dbsplit_t *sp, size_t *len)
{
	*len = 0;
	if (sp->bad || (sp->p == sp->end && !sp->part)) {
		sp->bad = true;
		return "";
	}
	const char *s = (const char *)sp->p;
	size_t left = (size_t)(sp->end - sp->p);
	const uint8_t *nul = left > 0 ? memchr(sp->p, '\0', left) : NULL;
	const uint8_t *stop = nul != NULL ? nul : sp->end;
	*len = (size_t)(stop - sp->p);
	sp->p = nul != NULL ? nul + 1 : sp->end;
	sp->part = nul != NULL;
	return s;
}

bool trc_dbsplit_cstr(trc_dbsplit_t *sp, char *out, size_t cap)
{
	size_t n;
	const char *s = trc_dbsplit_str(sp, &n);
	if (sp->bad || n >= cap) {
		sp->bad = true;
		if (cap > 0)
			out[0] = '\0';
		return false;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* The next n bytes, or NULL (and bad) if fewer are left. */
static const uint8_t *s_take(trc_dbsplit_t *sp, size_t n)
{
	if (sp->bad || (size_t)(sp->end - sp->p) < n) {
		sp->bad = true;
		return NULL;
	}
	const uint8_t *p = sp->p;
	sp->p += n;
	sp->part = false;
	return p;
}

uint64_t trc_dbsplit_be64(trc_dbsplit_t *sp)
{
	const uint8_t *p = s_take(sp, 8);
	return p != NULL ? trc_be64_get(p) : 0;
}

uint8_t trc_dbsplit_u8(trc_dbsplit_t *sp)
{
	const uint8_t *p = s_take(sp, 1);
	return p != NULL ? *p : 0;
}
