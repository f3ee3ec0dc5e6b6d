/*
 * Feedback records in the JSON Lines format of docs/cli.md, and the times
 * they carry: one reader for tractionctl's --file and the gateway's
 * application/x-ndjson bodies. See jsonl.h.
 */
#include "jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h> /* strptime, timegm: _GNU_SOURCE, from CMake */

#include "pbjson.h"

int trc_time_parse(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	char *end;
	long long n = strtoll(s, &end, 10);
	if (*end == '\0' && end != s) {
		*ms = n;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	double frac = 0;
	if (*end == '.') {
		char *e2;
		frac = strtod(end, &e2);
		end = e2;
	}
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
		return -1;
	*ms = (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000.0);
	return 0;
}

uint64_t trc_fnv64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

int trc_record_from_json(json_t *o, Traction__V1__FeedbackRecord *r, char *err, size_t elen)
{
	const char *k;
	json_t *v;
	json_t *body = json_object();
	json_t *flat = json_object();
	int rc = 0;
	json_object_foreach(o, k, v) {
		if (strcmp(k, "scenario") == 0)
			json_object_set(flat, "scenario_id", v);
		else if (strcmp(k, "supply") == 0)
			json_object_set(flat, "supply_id", v);
		else if (strcmp(k, "version") == 0)
			json_object_set(flat, "version", v);
		else if (strcmp(k, "key") == 0)
			json_object_set(flat, "idempotency_key", v);
		else if (strcmp(k, "observed_at") == 0) {
			int64_t ms;
			if (json_is_integer(v))
				json_object_set(flat, "observed_at_ms", v);
			else if (json_is_string(v) && trc_time_parse(json_string_value(v), &ms) == 0)
				json_object_set_new(flat, "observed_at_ms", json_integer(ms));
			else {
				snprintf(err, elen, "observed_at: expected 2026-11-28T10:15:00Z or ms");
				rc = -1;
			}
		} else if (strcmp(k, "labels") == 0) {
			json_t *arr = json_array();
			const char *lk;
			json_t *lv;
			if (!json_is_object(v)) {
				snprintf(err, elen, "labels: expected an object");
				rc = -1;
			}
			json_object_foreach(v, lk, lv) {
				if (!json_is_string(lv)) {
					snprintf(err, elen, "labels.%s: expected a string", lk);
					rc = -1;
					break;
				}
				json_array_append_new(arr, json_pack("{s:s, s:O}", "key", lk, "value", lv));
			}
			json_object_set_new(flat, "labels", arr);
		} else if (strcmp(k, "metric") == 0 || strcmp(k, "problem") == 0 ||
			   strcmp(k, "value") == 0 || strcmp(k, "demand") == 0) {
			json_object_set(flat, k, v);
			json_object_set(body, k, v);
		} else {
			snprintf(err, elen, "unknown field '%s'", k);
			rc = -1;
		}
		if (rc != 0)
			break;
	}
	if (rc == 0 && json_object_size(body) != 1) {
		snprintf(err, elen, "one of metric, problem, value or demand is required");
		rc = -1;
	}
	if (rc == 0)
		rc = pbjson_to_message(flat, &r->base, err, elen);
	json_decref(flat);
	json_decref(body);
	return rc;
}

