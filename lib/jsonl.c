/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Feedback records in the JSON Lines format of docs/cli.md, and the times
 * they carry: one reader for tractionctl's --file and the gateway's
 * application/x-ndjson bodies. See jsonl.h.
 */
#include "jsonl.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h> /* strptime, timegm: _GNU_SOURCE, from CMake */

#include "pbjson.h"

int trc_time_parse(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (*end == '\0' && end != s && !isspace((unsigned char)s[0])) {
		if (errno == ERANGE)
			return -1; /* not LLONG_MAX for a number too large */
		*ms = n;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	/* the fraction is digits only (RFC 3339): strtod would take an
	 * exponent too, and ".5e25700" is inf, no number of milliseconds */
	double frac = 0, place = 0.1;
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		for (end++; isdigit((unsigned char)*end); end++, place /= 10)
			frac += (*end - '0') * place;
	}
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
		return -1;
	/* rounded: ".345" is 0.34499... as a double, and a time printed to
	 * the millisecond (pbjson_time) must read back as itself */
	*ms = (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000.0 + 0.5);
	return 0;
}

/* A string field straight into the record (malloc'd, freed by pbjson_free). */
static int s_str(json_t *v, const char *name, char **out, char *err, size_t elen)
{
	if (!json_is_string(v)) {
		snprintf(err, elen, "%s: expected a string", name);
		return -1;
	}
	*out = strdup(json_string_value(v));
	return *out != NULL ? 0 : (snprintf(err, elen, "out of memory"), -1);
}

static const struct {
	const char *key;
	Traction__V1__FeedbackRecord__BodyCase body;
	const ProtobufCMessageDescriptor *desc;
	size_t offset;
} s_bodies[] = {
	{ "metric", TRACTION__V1__FEEDBACK_RECORD__BODY_METRIC, &traction__v1__metric__descriptor,
	  offsetof(Traction__V1__FeedbackRecord, metric) },
	{ "problem", TRACTION__V1__FEEDBACK_RECORD__BODY_PROBLEM, &traction__v1__problem__descriptor,
	  offsetof(Traction__V1__FeedbackRecord, problem) },
	{ "value", TRACTION__V1__FEEDBACK_RECORD__BODY_VALUE,
	  &traction__v1__value_verification__descriptor,
	  offsetof(Traction__V1__FeedbackRecord, value) },
	{ "demand", TRACTION__V1__FEEDBACK_RECORD__BODY_DEMAND, &traction__v1__demand_signal__descriptor,
	  offsetof(Traction__V1__FeedbackRecord, demand) },
};

static int s_observed_at(json_t *v, Traction__V1__FeedbackRecord *r, char *err, size_t elen)
{
	if (json_is_integer(v)) {
		r->observed_at_ms = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && trc_time_parse(json_string_value(v), &r->observed_at_ms) == 0)
		return 0;
	snprintf(err, elen, "observed_at: expected 2026-11-28T10:15:00Z or ms");
	return -1;
}

static int s_labels(json_t *v, Traction__V1__FeedbackRecord *r, char *err, size_t elen)
{
	if (!json_is_object(v)) {
		snprintf(err, elen, "labels: expected an object");
		return -1;
	}
	size_t n = json_object_size(v), i = 0;
	r->labels = calloc(n > 0 ? n : 1, sizeof(*r->labels));
	const char *lk;
	json_t *lv;
	json_object_foreach(v, lk, lv) {
		Traction__V1__KeyValue *kv = calloc(1, sizeof(*kv));
		if (r->labels == NULL || kv == NULL) {
			free(kv);
			snprintf(err, elen, "out of memory");
			return -1;
		}
		traction__v1__key_value__init(kv);
		r->labels[i++] = kv;
		r->n_labels = i;
		kv->key = strdup(lk);
		char name[80];
		snprintf(name, sizeof(name), "labels.%.64s", lk);
		if (s_str(lv, name, &kv->value, err, elen) != 0)
			return -1;
	}
	return 0;
}

/* The body field k (metric, problem, value, demand): the one a record has. */
static int s_body(const char *k, json_t *v, Traction__V1__FeedbackRecord *r, char *err,
		  size_t elen)
{
	size_t b = 0, n = sizeof(s_bodies) / sizeof(s_bodies[0]);
	while (b < n && strcmp(k, s_bodies[b].key) != 0)
		b++;
	if (b == n) {
		snprintf(err, elen, "unknown field '%s'", k);
		return -1;
	}
	if (r->body_case != TRACTION__V1__FEEDBACK_RECORD__BODY__NOT_SET) {
		snprintf(err, elen, "one of metric, problem, value or demand, not two");
		return -1;
	}
	ProtobufCMessage *m = calloc(1, s_bodies[b].desc->sizeof_message);
	if (m == NULL) {
		snprintf(err, elen, "out of memory");
		return -1;
	}
	protobuf_c_message_init(s_bodies[b].desc, m);
	r->body_case = s_bodies[b].body;
	*(ProtobufCMessage **)(void *)((char *)r + s_bodies[b].offset) = m;
	char inner[200];
	if (pbjson_to_message(v, m, inner, sizeof(inner)) != 0) {
		snprintf(err, elen, "%s: %s", k, inner);
		return -1;
	}
	return 0;
}

/* The record's fields are set directly, and only its body goes through
 * pbjson: a line of JSON Lines costs one parse, no intermediate object
 * (which was a third of tractionctl --file's time). */
int trc_record_from_json(json_t *o, Traction__V1__FeedbackRecord *r, char *err, size_t elen)
{
	const char *k;
	json_t *v;
	int rc = 0;
	if (!json_is_object(o)) {
		snprintf(err, elen, "expected a JSON object");
		return -1;
	}
	json_object_foreach(o, k, v) {
		if (strcmp(k, "scenario") == 0)
			rc = s_str(v, k, &r->scenario_id, err, elen);
		else if (strcmp(k, "supply") == 0)
			rc = s_str(v, k, &r->supply_id, err, elen);
		else if (strcmp(k, "version") == 0)
			rc = s_str(v, k, &r->version, err, elen);
		else if (strcmp(k, "key") == 0)
			rc = s_str(v, k, &r->idempotency_key, err, elen);
		else if (strcmp(k, "observed_at") == 0)
			rc = s_observed_at(v, r, err, elen);
		else if (strcmp(k, "labels") == 0)
			rc = s_labels(v, r, err, elen);
		else
			rc = s_body(k, v, r, err, elen);
		if (rc != 0)
			break;
	}
	if (rc == 0 && r->body_case == TRACTION__V1__FEEDBACK_RECORD__BODY__NOT_SET) {
		snprintf(err, elen, "one of metric, problem, value or demand is required");
		rc = -1;
	}
	return rc;
}

