/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The direct scan of a JSON record payload (docs/mqtt.md, "Speed"): the
 * common form of docs/cli.md's record format (a metric record, or an
 * array of them, with scenario, supply, version, key, observed_at and
 * labels) read straight into the records, all of them and their strings in
 * one allocation. Making a record through jansson and the generic
 * converter was the largest share of traction-mqttd's CPU a record.
 *
 * The scan only ever says yes or "not mine": anything it does not know
 * for certain (an escape, a number it would have to round twice, another
 * body, a duplicate or unknown field, a field that disagrees with the
 * topic, anything malformed) sends the payload to the jansson path
 * (ingest.c), whose records or refusal are then the answer. So a payload
 * is answered the same either way; tests/unit/test_mqtt_codec.c and
 * tests/fuzz/fuzz_mqtt.c hold the two paths to it.
 *
 * Two passes over the payload with the same code: the first checks it and
 * counts the records, labels and string bytes, the second fills the
 * block sized by the first.
 */
#include "mqttd.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "util.h"

#define LABELS_MAX 32 /* labels a record: more go to jansson */
#define NUM_MAX 64    /* the text of a number or an observed_at string */

typedef struct {
	const uint8_t *p, *end;
	bool fill;                          /* the second pass: write */
	const char *parts[3];               /* the topic's scenario, supply, version */
	const char *key_base;
	bool array;
	/* counted by the first pass, the cursors of the second */
	size_t n_recs, n_labels, n_bytes;
	Traction__V1__FeedbackRecord *recs;
	Traction__V1__Metric *mets;
	Traction__V1__KeyValue *kvs;
	Traction__V1__KeyValue **kvp;
	char *str;
} scan_t;

/* A string's bytes in the payload, quotes left out. */
typedef struct {
	const uint8_t *p;
	size_t n;
} span_t;

static void s_ws(scan_t *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* The next non-blank byte is c: taken. */
static bool s_eat(scan_t *s, uint8_t c)
{
	s_ws(s);
	if (s->p == s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether none of the 8 bytes at p ends a string, starts an escape, is a
 * control byte or is past ASCII: a byte that is (v - ONES) & ~v & HIGHS
 * finds a zero byte of v; a false alarm only sends the word byte by byte. */
static bool s_plain8(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	uint64_t quote = v ^ (ONES * '"'), bslash = v ^ (ONES * '\\');
	uint64_t zero = ((quote - ONES) & ~quote) | ((bslash - ONES) & ~bslash);
	uint64_t control = v - ONES * 0x20; /* a byte below 0x20 borrows */
	return ((zero | (control & ~v) | v) & HIGHS) == 0;
}

/* A string without escapes or control bytes, of well-formed UTF-8 (as
 * jansson requires it). */
static bool s_string(scan_t *s, span_t *out)
{
	if (!s_eat(s, '"'))
		return false;
	const uint8_t *start = s->p;
	while (s->p < s->end) {
		if (s->end - s->p >= 8 && s_plain8(s->p)) {
			s->p += 8;
			continue;
		}
		uint8_t c = *s->p;
		if (c == '"') {
			*out = (span_t){ start, (size_t)(s->p - start) };
			s->p++;
			return true;
		}
		if (c < 0x20 || c == '\\')
			return false;
		if (c < 0x80) {
			s->p++;
			continue;
		}
		size_t n = trc_utf8_seq(s->p, (size_t)(s->end - s->p));
		if (n == 0)
			return false;
		s->p += n;
	}
	return false;
}

static bool s_is(span_t k, const char *name)
{
	return k.n == strlen(name) && memcmp(k.p, name, k.n) == 0;
}

/* A string of the block (NULL in the first pass, which counts it). */
static char *s_put(scan_t *s, const void *p, size_t n)
{
	if (!s->fill) {
		s->n_bytes += n + 1;
		return NULL;
	}
	char *out = s->str;
	memcpy(out, p, n);
	out[n] = '\0';
	s->str += n + 1;
	return out;
}

static bool s_digits(scan_t *s)
{
	const uint8_t *start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

/* A number as jansson reads it: an integer (no fraction, no exponent)
 * into *iv, else a real (strtod) into *dv; *is_int says which. Integers of
 * more than 18 digits and reals out of strtod's range go to jansson. */
static bool s_number(scan_t *s, bool *is_int, int64_t *iv, double *dv)
{
	s_ws(s);
	const uint8_t *start = s->p;
	if (s->p < s->end && *s->p == '-')
		s->p++;
	const uint8_t *digits = s->p;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!s_digits(s))
		return false;
	if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		return false; /* a leading zero */
	size_t nd = (size_t)(s->p - digits);
	*is_int = true;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!s_digits(s))
			return false;
		*is_int = false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!s_digits(s))
			return false;
		*is_int = false;
	}
	size_t len = (size_t)(s->p - start);
	if (*is_int) {
		if (nd > 18)
			return false;
		int64_t v = 0;
		for (const uint8_t *d = digits; d < digits + nd; d++)
			v = v * 10 + (*d - '0');
		*iv = *start == '-' ? -v : v;
		return true;
	}
	char text[NUM_MAX];
	if (len >= sizeof(text))
		return false;
	memcpy(text, start, len);
	text[len] = '\0';
	errno = 0;
	*dv = strtod(text, NULL);
	return errno == 0;
}

/* The topic's field f (0 scenario, 1 supply, 2 version) given as v: the
 * same or empty, else jansson's path refuses it. */
static bool s_topic_field(scan_t *s, span_t v, int f, const char **out)
{
	const char *t = s->parts[f];
	if (v.n > 0 && (v.n != strlen(t) || memcmp(v.p, t, v.n) != 0))
		return false;
	*out = t;
	return true;
}

static bool s_observed_at(scan_t *s, int64_t *ms)
{
	s_ws(s);
	if (s->p < s->end && *s->p == '"') {
		span_t v;
		char text[NUM_MAX];
		if (!s_string(s, &v) || v.n >= sizeof(text))
			return false;
		memcpy(text, v.p, v.n);
		text[v.n] = '\0';
		return trc_time_parse(text, ms) == 0;
	}
	bool is_int;
	double dv;
	return s_number(s, &is_int, ms, &dv) && is_int;
}

static bool s_labels(scan_t *s, Traction__V1__FeedbackRecord *r)
{
	span_t keys[LABELS_MAX];
	size_t n = 0;
	if (!s_eat(s, '{'))
		return false;
	if (r != NULL)
		r->labels = &s->kvp[s->n_labels];
	s_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return true; /* no labels, and a pointer to none, as jansson's path has */
	}
	for (;;) {
		span_t k, v;
		if (n == LABELS_MAX || !s_string(s, &k) || !s_eat(s, ':') || !s_string(s, &v))
			return false;
		for (size_t i = 0; i < n; i++)
			if (keys[i].n == k.n && memcmp(keys[i].p, k.p, k.n) == 0)
				return false; /* a duplicate: jansson refuses it */
		keys[n++] = k;
		char *ks = s_put(s, k.p, k.n), *vs = s_put(s, v.p, v.n);
		if (r != NULL) {
			Traction__V1__KeyValue *kv = &s->kvs[s->n_labels];
			traction__v1__key_value__init(kv);
			kv->key = ks;
			kv->value = vs;
			s->kvp[s->n_labels] = kv;
			r->n_labels = n;
		}
		s->n_labels++;
		if (s_eat(s, '}'))
			return true;
		if (!s_eat(s, ','))
			return false;
	}
}

static bool s_metric(scan_t *s, Traction__V1__Metric *m)
{
	bool has_name = false, has_value = false;
	if (!s_eat(s, '{'))
		return false;
	s_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return true;
	}
	for (;;) {
		span_t k;
		if (!s_string(s, &k) || !s_eat(s, ':'))
			return false;
		if (s_is(k, "name") && !has_name) {
			span_t v;
			if (!s_string(s, &v))
				return false;
			char *name = s_put(s, v.p, v.n);
			if (m != NULL)
				m->name = name;
			has_name = true;
		} else if (s_is(k, "value") && !has_value) {
			bool is_int;
			int64_t iv;
			double dv;
			if (!s_number(s, &is_int, &iv, &dv))
				return false;
			if (m != NULL)
				m->value = is_int ? (double)iv : dv;
			has_value = true;
		} else {
			return false; /* another field, or one twice */
		}
		if (s_eat(s, '}'))
			return true;
		if (!s_eat(s, ','))
			return false;
	}
}

enum { F_SCENARIO = 1, F_SUPPLY = 2, F_VERSION = 4, F_KEY = 8, F_OBSERVED = 16, F_LABELS = 32,
       F_METRIC = 64 };

/* One field of a record: its name k, its value next. */
static bool s_field(scan_t *s, span_t k, unsigned *seen, Traction__V1__FeedbackRecord *r,
		    Traction__V1__Metric *m, bool *has_key)
{
	static const struct {
		const char *name;
		unsigned bit;
	} fields[] = { { "scenario", F_SCENARIO }, { "supply", F_SUPPLY }, { "version", F_VERSION },
		       { "key", F_KEY },	   { "observed_at", F_OBSERVED },
		       { "labels", F_LABELS },     { "metric", F_METRIC } };
	unsigned bit = 0;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && bit == 0; i++)
		if (s_is(k, fields[i].name))
			bit = fields[i].bit;
	if (bit == 0 || (*seen & bit) != 0)
		return false; /* another body, an unknown field, or one twice */
	*seen |= bit;
	span_t v;
	const char *t = NULL;
	int64_t ms = 0;
	switch (bit) {
	case F_SCENARIO:
	case F_SUPPLY:
	case F_VERSION: {
		int f = bit == F_SCENARIO ? 0 : bit == F_SUPPLY ? 1 : 2;
		if (!s_string(s, &v) || !s_topic_field(s, v, f, &t))
			return false;
		if (r != NULL)
			*(f == 0 ? &r->scenario_id : f == 1 ? &r->supply_id : &r->version) = (char *)t;
		return true;
	}
	case F_KEY:
		if (!s_string(s, &v))
			return false;
		*has_key = v.n > 0;
		if (v.n > 0) {
			char *key = s_put(s, v.p, v.n);
			if (r != NULL)
				r->idempotency_key = key;
		}
		return true;
	case F_OBSERVED:
		if (!s_observed_at(s, &ms))
			return false;
		if (r != NULL)
			r->observed_at_ms = ms;
		return true;
	case F_LABELS:
		return s_labels(s, r);
	default:
		if (r != NULL) {
			r->body_case = TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC;
			r->metric = m;
		}
		return s_metric(s, m);
	}
}

/* The key of a record without one: key_base, or key_base/INDEX in an
 * array (as ingest.c makes it, no longer than its buffer). */
static bool s_key(scan_t *s, size_t i, Traction__V1__FeedbackRecord *r)
{
	char key[MQD_KEY_MAX + 16];
	int n = s->array ? snprintf(key, sizeof(key), "%s/%zu", s->key_base, i)
			 : snprintf(key, sizeof(key), "%s", s->key_base);
	if (n < 0 || (size_t)n >= sizeof(key))
		return false; /* cut short there: jansson's path has the cut one */
	char *k = s_put(s, key, (size_t)n);
	if (r != NULL)
		r->idempotency_key = k;
	return true;
}

static bool s_record(scan_t *s)
{
	size_t i = s->n_recs;
	Traction__V1__FeedbackRecord *r = s->fill ? &s->recs[i] : NULL;
	Traction__V1__Metric *m = s->fill ? &s->mets[i] : NULL;
	if (r != NULL) {
		traction__v1__feedback_record__init(r);
		traction__v1__metric__init(m);
		r->scenario_id = (char *)s->parts[0];
		r->supply_id = (char *)s->parts[1];
		r->version = (char *)s->parts[2];
	}
	unsigned seen = 0;
	bool has_key = false;
	if (!s_eat(s, '{'))
		return false;
	for (;;) {
		span_t k;
		if (!s_string(s, &k) || !s_eat(s, ':') || !s_field(s, k, &seen, r, m, &has_key))
			return false;
		if (s_eat(s, '}'))
			break;
		if (!s_eat(s, ','))
			return false;
	}
	if ((seen & F_METRIC) == 0 || (!has_key && !s_key(s, i, r)))
		return false;
	s->n_recs++;
	return true;
}

/* One pass over the payload: the whole of it a record or an array of 1 to
 * MQD_RECORDS_MAX of them. */
static bool s_pass(scan_t *s, const uint8_t *payload, size_t plen)
{
	s->p = payload;
	s->end = payload + plen;
	s->n_recs = s->n_labels = 0;
	for (int f = 0; f < 3; f++) { /* the topic's fields, once for all records */
		char *copy = s_put(s, s->parts[f], strlen(s->parts[f]));
		if (copy != NULL)
			s->parts[f] = copy;
	}
	s_ws(s);
	s->array = s->p < s->end && *s->p == '[';
	if (!s->array) {
		if (!s_record(s))
			return false;
	} else {
		s->p++;
		for (;;) {
			if (s->n_recs == MQD_RECORDS_MAX || !s_record(s))
				return false;
			if (s_eat(s, ']'))
				break;
			if (!s_eat(s, ','))
				return false;
		}
	}
	s_ws(s);
	return s->p == s->end;
}

static size_t s_align(size_t n)
{
	return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

int mqd_scan(const uint8_t *payload, size_t plen, const char *const parts[3],
	     const char *key_base, mqd_records_t *rs)
{
	scan_t s = { .parts = { parts[0], parts[1], parts[2] }, .key_base = key_base };
	if (!s_pass(&s, payload, plen))
		return 1;
	size_t n = s.n_recs, nl = s.n_labels;
	size_t at_mets = s_align(n * sizeof(*s.recs));
	size_t at_kvs = at_mets + s_align(n * sizeof(*s.mets));
	size_t at_kvp = at_kvs + s_align(nl * sizeof(*s.kvs));
	size_t at_str = at_kvp + nl * sizeof(*s.kvp);
	char *block = malloc(at_str + s.n_bytes);
	if (block == NULL)
		return 1; /* jansson's path says out of memory, or has it */
	s = (scan_t){ .parts = { parts[0], parts[1], parts[2] }, .key_base = key_base,
		      .fill = true };
	s.recs = (Traction__V1__FeedbackRecord *)(void *)block;
	s.mets = (Traction__V1__Metric *)(void *)(block + at_mets);
	s.kvs = (Traction__V1__KeyValue *)(void *)(block + at_kvs);
	s.kvp = (Traction__V1__KeyValue **)(void *)(block + at_kvp);
	s.str = block + at_str;
	if (!s_pass(&s, payload, plen)) { /* cannot be: the first pass took it */
		free(block);
		return 1;
	}
	memset(rs, 0, sizeof(*rs));
	rs->v = s.recs;
	rs->n = n;
	rs->array = s.array;
	rs->block = block;
	return 0;
}
