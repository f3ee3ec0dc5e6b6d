/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers every part needs: clocks, big-endian keys, and the
 * validation of untrusted strings (slugs, UTF-8, lengths).
 */
#ifndef TRC_UTIL_H
#define TRC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRC_SLUG_MAX 64   /* ids, versions, capability tags */

/* Milliseconds of the wall clock (for records) and of a monotonic clock
 * (for timers and heartbeats). */
int64_t trc_now_ms(void);
int64_t trc_mono_ms(void);

static inline void trc_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t trc_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A slug: 1..TRC_SLUG_MAX bytes of [A-Za-z0-9._-], starting with a letter
 * or a digit. Ids, versions and capability tags are slugs. */
bool trc_is_slug(const char *s);

/* Well-formed UTF-8 with no NUL, at most max bytes. */
bool trc_is_text(const char *s, size_t max);
/* len bytes of well-formed UTF-8 (NUL is a character here). */
bool trc_is_utf8(const void *data, size_t len);
/* The length of the well-formed UTF-8 character at p[0..n), or 0 if none
 * starts there (overlong forms and surrogates are not well-formed). */
size_t trc_utf8_seq(const uint8_t *p, size_t n);

/* Copies src[0..len) into dst as a NUL-terminated string of well-formed
 * UTF-8 without control characters: each byte that is not part of a
 * well-formed character, and each control byte (NUL and newline among
 * them), becomes "\xNN". Cut at a whole character if it does not fit in
 * cap. Returns the length written. For text from the wire that goes into
 * a log line or a status message: a reader can trust both. */
size_t trc_escape(char *dst, size_t cap, const void *src, size_t len);

/* s without the blanks (space, tab, CR, LF) it starts and ends with: a
 * pointer into s, whose end is cut in place. */
char *trc_trim(char *s);

/* Hex of n bytes into out (2n+1 bytes). */
void trc_hex(char *out, const void *data, size_t n);

/* mkdir -p with mode 0750; 0 or a negative trc_err. */
int trc_mkdir_p(const char *path);

/* Formats a message into err[0..len) (when err is not NULL) and returns
 * rc: the "fail with a reason for the caller" of the config, key and JSON
 * readers. */
int trc_errf(int rc, char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Brokers a set may have at most: each [bus] endpoint key holds one
 * endpoint per broker, separated by commas (docs/operations.md, "Two
 * brokers"). */
#define TRC_BROKERS_MAX 8

/* The endpoints of a list (one, or several separated by commas and
 * blanks): how many; and the i-th into out (false when there is no i-th
 * or it does not fit). */
size_t trc_endpoints_count(const char *list);
bool trc_endpoint_at(const char *list, size_t i, char *out, size_t len);

/* The longest topic prefix a subscriber or reader may ask for (event
 * types are 64). */
#define TRC_TOPIC_MAX 128

/* 0..TRC_TOPIC_MAX bytes of [A-Za-z0-9._-] ("" is every topic). */
bool trc_topic_prefix_ok(const void *prefix, size_t len);

/* Writes text to path whole or not at all (a temp file renamed over it),
 * so a reader never sees half of it (an endpoints or address file a test
 * or run-local.sh waits for): 0, or -1 with errno. */
int trc_write_file_atomic(const char *path, const char *text);

/* Past the file limit (accept() said EMFILE or ENFILE): the spare
 * descriptor *spare (a /dev/null held for this) closed, one connection
 * waiting on the listener lfd taken with the room it leaves and closed, the
 * spare opened again. 1: one closed; 0: none was waiting; -1: none could
 * be taken (no spare, or another thread took the room first): the caller
 * stops polling lfd for a while, or it spins on a backlog it cannot take. */
int trc_accept_refuse(int lfd, int *spare);

/* FNV-1a, 64 bits, of s[0..n): stable across builds and machines (the
 * keys tractionctl makes for records without one; feedbackd's idempotency
 * digests of schemas 2-4). Not for hashing many bytes fast. */
uint64_t trc_fnv64(const void *s, size_t n);

#endif
